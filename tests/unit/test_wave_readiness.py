"""The readiness rule of a wave folder (assets/ingest/readiness.py): complete, settled, READY manifest."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from assets.ingest.readiness import READY_FILE, WaveNotReady, refusal, wave_readiness, write_manifest
from pipelines.config import REPO_ROOT, WaveInputs

DEMO = REPO_ROOT / "data" / "demo" / "incoming" / "2015"


def _with_rules(assessment, **rules):
    """The Maine assessment with other wave_inputs rules (validated as the config file would be)."""
    import copy

    a = copy.copy(assessment)
    a.config = assessment.config.model_copy(update={"wave_inputs": WaveInputs.model_validate(rules)})
    return a


def _copy(names: list[str], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(DEMO / name, folder / name)


def test_missing_required_inputs_are_named_and_refused(assessment, tmp_path):
    folder = tmp_path / "2016"
    _copy(["officer_survey.csv"], folder)
    r = wave_readiness(assessment, "2016", folder)
    assert r.missing_required == ["stakeholder_interviews", "survivor_interviews"]
    assert not r.complete and not r.ready
    err = refusal(r)
    assert isinstance(err, WaveNotReady)
    assert "stakeholder interview matrix is missing" in str(err) and "stakeholder_interviews.csv" in str(err)
    assert "fix:" in str(err)


def test_manifest_mode_waits_for_ready_and_then_for_a_matching_folder(assessment, tmp_path):
    folder = tmp_path / "2016"
    _copy(["officer_survey.csv", "stakeholder_interviews.csv", "survivor_interviews.csv"], folder)
    r = wave_readiness(assessment, "2016", folder)
    assert r.complete and not r.ready and r.manifest == "absent"
    assert r.absent_optional == ["stakeholder_survey", "provider_inventory", "case_lists"]
    assert refusal(r) is None  # a deliberate run may go ahead; the sensor waits
    path, after = write_manifest(assessment, "2016", folder)
    assert path.name == READY_FILE and after.ready and after.manifest == "matches"
    # a file copied in after the manifest was written: the folder no longer matches, and a run refuses
    _copy(["provider_inventory.csv"], folder)
    r = wave_readiness(assessment, "2016", folder)
    assert r.manifest == "differs" and not r.ready
    assert "not listed: provider_inventory.csv" in r.message()
    assert refusal(r) is not None
    # a listed file whose content changed
    write_manifest(assessment, "2016", folder)
    with (folder / "survivor_interviews.csv").open("a") as fh:
        fh.write("\n")
    r = wave_readiness(assessment, "2016", folder)
    assert r.manifest_problems == ["survivor_interviews.csv has changed since the manifest was written"]


def test_manifest_is_refused_while_a_required_input_is_missing(assessment, tmp_path):
    folder = tmp_path / "2016"
    _copy(["survivor_interviews.csv"], folder)
    with pytest.raises(WaveNotReady, match="officer survey export is missing"):
        write_manifest(assessment, "2016", folder)
    assert not (folder / READY_FILE).exists()


def test_settled_mode_waits_for_the_settle_period(assessment, tmp_path):
    a = _with_rules(assessment, ready_when="settled", settle_seconds=120)
    folder = tmp_path / "2016"
    _copy(["officer_survey.csv", "stakeholder_interviews.csv", "survivor_interviews.csv"], folder)
    # copy2 keeps the old modification time, but the copy's ctime is now: still changing
    r = wave_readiness(a, "2016", folder)
    assert r.changing == ["officer_survey.csv", "stakeholder_interviews.csv", "survivor_interviews.csv"]
    assert not r.ready
    assert wave_readiness(a, "2016", folder, now=time.time() + 121).ready


def test_absent_by_design_and_optional_per_wave(assessment, tmp_path):
    a = _with_rules(assessment, default={}, waves={"2016": {"survivor_interviews": "absent",
                                                             "stakeholder_interviews": "optional"}})
    folder = tmp_path / "2016"
    _copy(["officer_survey.csv"], folder)
    r = wave_readiness(a, "2016", folder)
    assert r.complete
    assert r.absent_by_design == ["survivor_interviews"]
    assert "stakeholder_interviews" in r.absent_optional
    _copy(["survivor_interviews.csv"], folder)
    r = wave_readiness(a, "2016", folder)
    assert r.unexpected == ["survivor_interviews"] and not r.complete


def test_officer_survey_cannot_be_optional():
    with pytest.raises(ValueError, match="officer_survey must be required"):
        WaveInputs.model_validate({"waves": {"2016": {"officer_survey": "optional"}}})


def test_a_file_htna_rewrote_is_redeclared_alone(assessment, tmp_path):
    from assets.ingest.readiness import redeclare_file

    folder = tmp_path / "2016"
    _copy(["officer_survey.csv", "stakeholder_interviews.csv", "survivor_interviews.csv"], folder)
    write_manifest(assessment, "2016", folder)
    export = folder / "officer_survey.csv"
    export.write_bytes(export.read_bytes().rsplit(b"\n", 2)[0] + b"\n")  # as `htna erase` drops a record
    assert wave_readiness(assessment, "2016", folder).manifest == "differs"
    assert redeclare_file(folder, "officer_survey.csv")
    assert wave_readiness(assessment, "2016", folder).ready
    # another file changed meanwhile still makes the manifest differ
    with (folder / "survivor_interviews.csv").open("a") as fh:
        fh.write("\n")
    redeclare_file(folder, "officer_survey.csv")
    assert wave_readiness(assessment, "2016", folder).manifest_problems == [
        "survivor_interviews.csv has changed since the manifest was written"]


def test_a_link_or_fifo_named_like_an_input_is_left_to_the_reader(assessment, tmp_path):
    """Present for completeness (the run's reader refuses it with its own message), never followed or hashed."""
    folder = tmp_path / "2016"
    _copy(["stakeholder_interviews.csv", "survivor_interviews.csv"], folder)
    os.mkfifo(folder / "officer_survey.csv")
    r = wave_readiness(assessment, "2016", folder)  # would block for ever if it opened the FIFO
    assert r.complete and r.present["officer_survey"] == "officer_survey.csv"
    with pytest.raises(Exception, match="not ordinary files: officer_survey.csv"):
        write_manifest(assessment, "2016", folder)
    (folder / "officer_survey.csv").unlink()
    os.symlink(DEMO / "officer_survey.csv", folder / "officer_survey.csv")
    assert wave_readiness(assessment, "2016", folder).complete


@pytest.mark.parametrize("replacement, message", [
    ('  waves: {"2031": {survivor_interviews: absent}}', "wave_inputs.waves names waves not in `waves`: 2031"),
    ('  waves: {"2016": {survivor_interviews: sometimes}}', "wave_inputs.waves.2016.survivor_interviews"),
    ('  waves: {"2016": {focus_groups: optional}}', "focus_groups"),
])
def test_wave_inputs_config_is_checked_on_load(tmp_path, replacement, message):
    import re

    from pipelines.config import load_assessment
    from pipelines.errors import ConfigError

    config = tmp_path / "maine"
    shutil.copytree(REPO_ROOT / "config" / "maine", config)
    text = (config / "assessment.yaml").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^  waves: \{\}.*$", replacement, text)
    assert n == 1
    (config / "assessment.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_assessment(config / "assessment.yaml")
    assert message in str(exc.value)


def test_a_wave_without_a_folder_gets_the_ingest_message(assessment, tmp_path):
    r = wave_readiness(assessment, "2016", tmp_path / "incoming" / "2016")
    assert not r.folder_exists and not r.ready
    assert "no folder of exports for wave 2016" in str(refusal(r))
