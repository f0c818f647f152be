"""A wave is published only when its folder is complete and settled (assets/ingest/readiness.py), however
the run is started; an optional input that is missing is said on the pages, never counted as zero records."""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest

from assets.ingest.readiness import READY_FILE, wave_readiness
from pipelines.config import REPO_ROOT, load_assessment
from tests.conftest import run_cli, wave_instance

DEMO = REPO_ROOT / "data" / "demo" / "incoming" / "2016"
FILES = sorted(p.name for p in DEMO.iterdir() if p.is_file())
REQUIRED = {"officer_survey.csv", "stakeholder_interviews.csv", "survivor_interviews.csv"}


def _paths(root: Path) -> list[str]:
    return ["--data", str(root / "data"), "--warehouse", str(root / "htna.duckdb"), "--output", str(root / "site")]


def test_copying_a_wave_in_file_by_file_never_publishes_until_it_is_ready(assessment, tmp_path):
    root = tmp_path
    orders = [FILES, FILES[::-1]] + [random.Random(seed).sample(FILES, len(FILES)) for seed in (1, 2)]
    for n, order in enumerate(orders):
        folder = root / "data" / "incoming" / "2016"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for i, name in enumerate(order):
            # a copy under way: the file is there, half written
            data = (DEMO / name).read_bytes()
            (folder / name).write_bytes(data[: len(data) // 2])
            assert not wave_readiness(assessment, "2016", folder).ready, (order, name)
            (folder / name).write_bytes(data)
            r = wave_readiness(assessment, "2016", folder)
            assert not r.ready, (order, i)  # manifest mode: never ready before `htna ready`
            if n == 0 and not REQUIRED <= set(order[: i + 1]):
                code, out, err = run_cli(["run", "--wave", "2016", *_paths(root)])
                assert code == 1 and "Traceback" not in err
                assert "is not ready to run" in err and "is missing" in err and "fix:" in err
                missing = sorted(REQUIRED - set(order[: i + 1]))
                assert all(m in err for m in missing)
                assert not (root / "site" / "2016").exists()
    # every file in: `htna ready` declares the folder, which is then ready
    code, out, err = run_cli(["ready", "2016", *_paths(root)])
    assert code == 0, err
    assert wave_readiness(assessment, "2016", root / "data" / "incoming" / "2016").ready
    code, _, _ = run_cli(["ready", "2016", "--check", *_paths(root)])
    assert code == 0
    # the export replaced by a copy that is not finished: the manifest no longer matches, the run refuses
    export = root / "data" / "incoming" / "2016" / "officer_survey.csv"
    export.write_bytes(export.read_bytes()[:1000])
    code, out, err = run_cli(["run", "--wave", "2016", *_paths(root)])
    assert code == 1 and "officer_survey.csv has changed since the manifest was written" in err
    assert "htna ready 2016" in err and not (root / "site" / "2016").exists()


def test_a_run_started_from_dagster_refuses_the_same_way(tmp_path):
    """The UI and the sensor launch the assessment job: its first asset applies the rule."""
    import dagster as dg

    from pipelines.definitions import build_definitions
    from pipelines.resources import AssessmentSettings

    folder = tmp_path / "data" / "incoming" / "2016"
    folder.mkdir(parents=True)
    shutil.copy(DEMO / "officer_survey.csv", folder)
    settings = AssessmentSettings(data_dir=str(tmp_path / "data"), warehouse=str(tmp_path / "htna.duckdb"),
                                  output_dir=str(tmp_path / "site"))
    with wave_instance() as instance:  # an instance that knows the waves (dynamic partitions)
        result = build_definitions(settings).resolve_job_def("assessment").execute_in_process(
            partition_key="2016", instance=instance, raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["survey_exports"]
    text = failures[0].step_failure_data.user_failure_data.description
    assert "stakeholder interview matrix is missing" in text and "survivor interview matrix is missing" in text
    assert not (tmp_path / "site" / "2016").exists()


@pytest.fixture(scope="module")
def without_stakeholders(tmp_path_factory) -> tuple[Path, str]:
    """Wave 2016 without stakeholder interviews (optional in this wave's config) nor provider inventory."""
    root = tmp_path_factory.mktemp("optional")
    config = root / "config"
    shutil.copytree(REPO_ROOT / "config" / "maine", config)
    text = (config / "assessment.yaml").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^  waves: \{\}.*$", '  waves: {"2016": {stakeholder_interviews: optional}}', text)
    assert n == 1
    (config / "assessment.yaml").write_text(text, encoding="utf-8")
    load_assessment(config / "assessment.yaml")
    folder = root / "data" / "incoming" / "2016"
    folder.mkdir(parents=True)
    for name in ("officer_survey.csv", "survivor_interviews.csv", "case_lists.csv", "SYNTHETIC.json"):
        shutil.copy(DEMO / name, folder)
    code, out, err = run_cli(["run", "--wave", "2016", "--config", str(config / "assessment.yaml"), *_paths(root)])
    assert code == 0, err
    return root / "site" / "2016", err


def test_a_missing_optional_input_is_stated_and_counts_nothing(without_stakeholders):
    site, err = without_stakeholders
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "No stakeholder interviews in this wave." in index
    assert "No service-provider inventory in this wave." in index
    assert "stakeholder interviews:" not in index.lower()  # no "most often in the stakeholder interviews: ..."
    assert "most often in the survivor interviews" in index  # the set received is summarised
    voices = (site / "voices.html").read_text(encoding="utf-8")
    assert "No stakeholder interviews in this wave." in voices
    assert 'id="stakeholder_interviews"' not in voices and 'id="survivor_interviews"' in voices
    quality = (site / "data-quality.html").read_text(encoding="utf-8")
    assert "No stakeholder interviews in this wave." in quality
    assert "stakeholder" not in quality.split('id="absent-inputs"')[1].split("</div>", 1)[1].lower()
    services = (site / "services.html").read_text(encoding="utf-8")
    assert "No service-provider inventory in this wave." in services
    # nor other evidence of services: the stakeholder survey (optional) was not received either
    assert "No stakeholder survey was received for this wave" in services and "survey-evidence-table" not in services
    assert "No stakeholder interviews" not in (site / "prevalence.html").read_text(encoding="utf-8")
    # the stakeholder survey (also optional, not in this folder) is named first, in the inputs' order
    assert "missing optional inputs: no stakeholder survey in this wave; no stakeholder interviews in this wave" in err
    assert "No stakeholder survey export was received for this wave." in voices
    assert re.search(r"cells suppressed by the publication gate: [1-9]\d*", err)  # the run summary
    assert len([line for line in err.splitlines() if line.startswith("htna: ")]) <= 5  # a few lines


def test_interview_matrices_are_archived_like_the_officer_export(without_stakeholders):
    from assets.ingest.archive import read_records
    from assets.ingest.exports import sha256_of

    site, _ = without_stakeholders
    records = [r for r in read_records(site.parent.parent / "raw_archive") if r.wave == "2016"]
    kept = {(r.dataset, r.sha256) for r in records}
    assert ("survivor_interviews", sha256_of(DEMO / "survivor_interviews.csv")) in kept
    assert ("officer_survey", sha256_of(DEMO / "officer_survey.csv")) in kept
    assert not any(r.dataset == "stakeholder_interviews" for r in records)
