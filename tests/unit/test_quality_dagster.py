"""The quality stage in Dagster: asset checks with severities and metadata, quarantine, and estimates
that use only accepted rows — materialised for wave 2015 into a temporary warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from assets.estimates import assets as estimates
from assets.ingest import assets as ingest
from assets.ingest.synthetic import OFFICER_EXPORT, generate_officer_answers, write_demo_wave, write_surveymonkey_csv
from assets.quality import assets as quality
from assets.quality.summary import split_summary
from assets.quality.suites import check_names, load_suite
from pipelines.config import DEFAULT_CONFIG, load_assessment
from pipelines.resources import AssessmentSettings, WarehouseIOManager
from tests.conftest import wave_instance

WAVE = "2015"
SEED = 2015

ASSETS = [ingest.survey_exports, ingest.officer_responses, ingest.stakeholder_interviews, ingest.survivor_interviews,
          quality.quality_screening, *quality.dataset_checks(load_assessment(DEFAULT_CONFIG)),
          estimates.officer_weights, estimates.headline_indicators]


@dataclass
class Run:
    result: dg.ExecuteInProcessResult
    warehouse: Path
    answers: pd.DataFrame
    faults: dict[str, list[int]]  # fault -> positions in the export

    def table(self, name: str) -> pd.DataFrame:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(f"SELECT * FROM assessment.{name} WHERE wave = ?", [WAVE]).df()

    def checks(self) -> dict[str, dg.AssetCheckEvaluation]:
        return {e.event_specific_data.check_name: e.event_specific_data for e in self.result.all_events
                if e.event_type_value == "ASSET_CHECK_EVALUATION"
                and e.event_specific_data.asset_key.to_user_string() == "accepted_officer_responses"}

    def source_rows(self, fault: str) -> set[int]:
        """Source rows (export lines) of the rows with a fault: line = position + first data line."""
        accepted = self.table("officer_responses")[["respondent_id", "source_row"]]
        pos = pd.Series(np.arange(len(self.answers)), index=self.answers["respondent_id"])
        pos = pos[~pos.index.duplicated()]
        offset = int((accepted["source_row"] - accepted["respondent_id"].map(pos)).mode().iloc[0])
        return {p + offset for p in self.faults[fault]}


def run_wave(assessment, root: Path, respondents: int, faults: bool) -> Run:
    """Write a synthetic wave (with faults injected into the officer export), then materialise it."""
    folder = root / "data" / "incoming" / WAVE
    write_demo_wave(assessment, WAVE, SEED, respondents, folder)
    answers = generate_officer_answers(assessment, WAVE, SEED, respondents)
    injected: dict[str, list[int]] = {}
    if faults:
        rng = np.random.default_rng(4)
        order = list(rng.permutation(respondents))
        none = [i for i in order if answers.loc[i, "cases_past_year"] == "None"]
        injected["inconsistent"] = [none[0]]
        rest = [i for i in order if i != none[0]]
        injected["impossible"], injected["duplicate"] = [rest[0]], [rest[1]]
        injected["speeders"] = rest[2:2 + int(0.2 * respondents)]
        for i in injected["speeders"]:
            answers.loc[i, "end_date"] = answers.loc[i, "start_date"] + pd.Timedelta(seconds=20)
        for c in [c for c in answers.columns if c.startswith("actions_taken__") and not c.endswith("other_text")]:
            answers.loc[none[0], c] = c == "actions_taken__called_advocate"
        answers.loc[rest[0], "county"] = "Boston"
        answers.loc[rest[1], "respondent_id"] = answers.loc[rest[5], "respondent_id"]
        write_surveymonkey_csv(assessment, answers, folder / OFFICER_EXPORT)
    settings = AssessmentSettings(config_path=str(DEFAULT_CONFIG), data_dir=str(root / "data"),
                                  warehouse=str(root / "htna.duckdb"), output_dir=str(root / "site"))
    result = dg.materialize(ASSETS, partition_key=WAVE, raise_on_error=False, instance=wave_instance(),
                            resources={"settings": settings, "io_manager": WarehouseIOManager(settings=settings)})
    return Run(result, root / "htna.duckdb", answers, injected)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory, assessment) -> Run:
    """182 officers: 20% speeders, one inconsistent answer, one county outside Maine, one repeated id."""
    return run_wave(assessment, tmp_path_factory.mktemp("faulty"), 182, faults=True)


@pytest.fixture(scope="module")
def too_small(tmp_path_factory, assessment) -> Run:
    """20 officers: too few to estimate the wave."""
    return run_wave(assessment, tmp_path_factory.mktemp("small"), 20, faults=False)


def test_row_faults_are_quarantined_and_the_run_goes_on(faulty):
    assert faulty.result.success
    q = faulty.table("quarantine")
    assert list(q.columns) == ["dataset", "wave", "source_row", "check", "reason"]
    held = set(q["source_row"])
    assert faulty.source_rows("speeders") <= set(q.loc[q["check"] == "speeders", "source_row"])
    assert faulty.source_rows("inconsistent") <= set(q.loc[q["check"] == "skip_logic", "source_row"])
    assert faulty.source_rows("impossible") <= held  # Boston: at ingestion or by the eligibility checks
    assert faulty.source_rows("duplicate") <= held
    # rows read = accepted + quarantined, ingestion's quarantine included
    exports = faulty.table("survey_exports").set_index("dataset")
    accepted = faulty.table("accepted_officer_responses")
    assert int(exports.loc["officer_survey", "rows"]) == 182 == len(accepted) + q.loc[
        q["dataset"] == "officer_responses", "source_row"].nunique()
    assert not accepted["source_row"].isin(held).any()


def test_every_expectation_is_an_asset_check_with_severity_and_metadata(faulty, assessment):
    checks = faulty.checks()
    declared = {n: b for n, b, _ in check_names(load_suite("officer_responses", assessment))}
    assert set(checks) == set(declared)
    for name, ev in checks.items():
        assert ev.severity == (dg.AssetCheckSeverity.ERROR if declared[name] else dg.AssetCheckSeverity.WARN)
        assert {"severity", "unexpected_count", "rows_evaluated", "example_source_rows"} <= set(ev.metadata)
        if declared[name]:
            assert ev.passed, (name, ev.description)
    speeders = checks["speeders"]
    n_speeders = len(faulty.source_rows("speeders"))
    assert not speeders.passed and speeders.metadata["unexpected_count"].value >= n_speeders == 36
    assert speeders.metadata["unexpected_percent"].value == pytest.approx(
        100 * speeders.metadata["unexpected_count"].value / speeders.metadata["rows_evaluated"].value, abs=0.001)
    examples = [int(x) for x in speeders.metadata["example_source_rows"].value.split(", ")]
    assert len(examples) == 5 and set(examples) <= faulty.source_rows("speeders")
    everything = " ".join(str(ev.description) + " " + " ".join(str(m.value) for m in ev.metadata.values())
                          for ev in checks.values())
    assert "Boston" not in everything and "Boston" not in faulty.table("quarantine").to_csv()


def test_estimates_use_only_accepted_rows(faulty):
    accepted = faulty.table("accepted_officer_responses")
    everyone = faulty.table("officer_responses")
    assert len(accepted) < len(everyone)
    head = faulty.table("headline_indicators")
    male = head[(head["indicator"] == "male") & (head["domain"] == "all")]
    assert set(male["n"].dropna().astype(int)) == {int(accepted["gender"].notna().sum())}
    assert int(accepted["gender"].notna().sum()) < int(everyone["gender"].notna().sum())
    weights = faulty.table("officer_weights")
    assert len(weights) == len(accepted)


def test_a_blocking_failure_stops_the_estimates_and_says_what_to_fix(too_small):
    r = too_small.result
    assert not r.success
    materialized = {e.asset_key.to_user_string() for e in r.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    assert {"accepted_officer_responses", "quarantine", "data_quality_summary"} <= materialized
    assert "headline_indicators" not in materialized and "officer_weights" not in materialized
    failures = [e for e in r.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["officer_responses_checks"]
    text = failures[0].step_failure_data.user_failure_data.description
    assert "officer_responses, wave 2015: held back" in text and "sample_size" in text and "fix:" in text
    assert not too_small.checks()["sample_size"].passed
    status = split_summary(too_small.table("data_quality_summary"))["status"].set_index("dataset")
    assert status.loc["officer_responses", "status"] == "held back"
    assert "sample_size" in status.loc["officer_responses", "held_back_by"]
    assert bool(status.loc["stakeholder_interviews", "estimable"])


def test_the_code_location_declares_every_expectation_as_a_check(assessment):
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for dataset in ("officer_responses", "stakeholder_interviews", "survivor_interviews"):
        key = dg.AssetKey(f"accepted_{dataset}")
        specs = {k.name: graph.get_check_spec(k) for k in graph.asset_check_keys if k.asset_key == key}
        declared = check_names(load_suite(dataset, assessment))
        assert {n: b for n, b, _ in declared} == {n: s.blocking for n, s in specs.items()}
        assert all(s.description for s in specs.values())
    node = graph.get(dg.AssetKey("headline_indicators"))
    assert dg.AssetKey("accepted_officer_responses") in node.parent_keys
    assert dg.AssetKey("officer_responses") not in node.parent_keys
    for name in ("quarantine", "data_quality_summary", "quality_check_results", "accepted_officer_responses"):
        assert graph.get(dg.AssetKey(name)).group_name == "quality"
