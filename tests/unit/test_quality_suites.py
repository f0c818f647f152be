"""Expectation suites as JSON: loading, placeholders filled from the config, clear errors when malformed."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from assets.quality import gx_runner
from assets.quality.rules import RULES
from assets.quality.suites import (
    DATASETS,
    PLACEHOLDERS,
    RECONCILIATION,
    SUITE_DIR,
    canonical_columns,
    check_names,
    load_suite,
    load_suites,
)
from pipelines.config import REPO_ROOT, load_assessment
from pipelines.errors import ConfigError


def officer_suite_json() -> dict:
    return json.loads((SUITE_DIR / "officer_responses.json").read_text(encoding="utf-8"))


def write_suite(directory: Path, data: dict | str, dataset: str = "officer_responses") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{dataset}.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2), encoding="utf-8")
    return path


def test_every_shipped_suite_loads_and_great_expectations_accepts_every_entry(assessment):
    suites = load_suites(assessment)
    assert set(suites) == set(DATASETS)
    for suite in suites.values():
        gx_runner.validate_suite_with_gx(suite)  # unknown types or bad kwargs would raise ConfigError
    officer = suites["officer_responses"]
    names = [c.name for c in officer.checks]
    assert len(names) == len(set(names))
    severities = {c.name: c.severity for c in officer.checks}
    assert severities["required_columns"] == severities["sample_size"] == "blocking"
    assert severities["speeders"] == severities["skip_logic"] == severities["eligible_county_in_state"] == "row"
    assert (RECONCILIATION, True) in [(n, b) for n, b, _ in check_names(officer)]


def test_allowed_values_come_from_the_codebook_and_the_state(assessment):
    suite = load_suite("officer_responses", assessment)
    by_name = {c.name: c for c in suite.checks}
    assert by_name["eligible_county_in_state"].kwargs["value_set"] == assessment.county_names
    assert by_name["allowed_answers__trained_sex"].kwargs["value_set"] == list(assessment.codebook.scales["agreement5"])
    # every single-choice question but county (checked as eligibility) has an allowed-answers check
    singles = {v.name for v in assessment.codebook.variables if v.type == "single"} - {"county"}
    assert {n.split("__", 1)[1] for n in by_name if n.startswith("allowed_answers__")} == singles
    assert by_name["straight_lining"].kwargs == {
        "columns": ["trained_sex", "trained_labor", "prepared_minors", "more_laws_needed"],
        "flag_answers": ["Strongly disagree", "Strongly agree"]}
    # skip logic from the codebook becomes the completeness check's row condition
    actions = by_name["completeness__actions_taken"].kwargs
    assert actions["column"] == "actions_taken__determined_minor"
    assert actions["row_condition"] == '`cases_past_year` in ["1 to 5", "More than 5"]'
    assert "row_condition" not in by_name["completeness__gender"].kwargs
    assert by_name["completeness__cases_past_year"].kwargs["mostly"] == 0.8  # the per-question override
    assert "completeness__comments" not in by_name and "completeness__county" not in by_name  # excluded
    assert by_name["required_columns"].kwargs["column_set"] == canonical_columns(assessment)


def test_a_new_state_needs_no_json_edit(tmp_path, assessment):
    """Rename a county in a copy of the config: the suite's eligibility set follows."""
    src = REPO_ROOT / "config" / "maine"
    dst = tmp_path / "config"
    shutil.copytree(src, dst)
    cfg = yaml.safe_load((dst / "assessment.yaml").read_text())
    cfg["state"]["name"] = "Newstate"
    for c in cfg["counties"]:
        if c["name"] == "York":
            c["name"] = "Yorkshire"
    for g in cfg["county_groups"]:
        g["counties"] = ["Yorkshire" if c == "York" else c for c in g["counties"]]
    cfg["officer_headcounts"]["by_county"]["Yorkshire"] = cfg["officer_headcounts"]["by_county"].pop("York")
    (dst / "assessment.yaml").write_text(yaml.safe_dump(cfg))
    covariates = dst / "county_covariates.csv"  # the county model's covariates name counties too
    if covariates.exists():
        covariates.write_text(re.sub(r"^York,", "Yorkshire,", covariates.read_text(), flags=re.M))
    other = load_assessment(dst / "assessment.yaml")
    suite = load_suite("officer_responses", other)
    allowed = next(c for c in suite.checks if c.name == "eligible_county_in_state").kwargs["value_set"]
    assert "Yorkshire" in allowed and "York" not in allowed


def test_every_rule_and_placeholder_is_documented_in_the_readme():
    readme = (SUITE_DIR / "README.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert f"`{rule}`" in readme, rule
    for name in PLACEHOLDERS:
        assert f"${name}" in readme, name


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["expectations"][3].update(severty="row"), ["expectations[3] (id 'has_respondent_id')",
                                                           "unknown key(s) severty"]),
    (lambda d: d["expectations"][0].update(severity="fatal"), ["expectations[0]", "'severity' must be"]),
    (lambda d: d["expectations"][4].pop("description"), ["expectations[4]", "'description' is required"]),
    (lambda d: d["expectations"][1].update(rule="speeders"), ["expectations[1]", "exactly one of"]),
    (lambda d: d["expectations"][2].update(id="required_columns"), ["expectations[2]", "used twice"]),
    (lambda d: d["expectations"][6]["kwargs"].update(value_set="$countys"), ["expectations[6]",
                                                                             "unknown placeholder '$countys'"]),
    (lambda d: d["expectations"][7].update(exclude=["county", "gendre"]), ["expectations[7]", "gendre"]),
    (lambda d: d["expectations"][11]["kwargs"].update(fraction=0.5), ["expectations[11]", "takes no kwarg(s) fraction"]),
    (lambda d: d["expectations"][12].update(rule="straightlining"), ["expectations[12]", "unknown rule"]),
    (lambda d: d.update(dataset="officers"), ["'dataset' must be 'officer_responses'"]),
])
def test_a_malformed_suite_names_the_file_and_the_entry(tmp_path, assessment, mutate, expected):
    data = officer_suite_json()
    mutate(data)
    path = write_suite(tmp_path, data)
    with pytest.raises(ConfigError) as err:
        load_suite("officer_responses", assessment, tmp_path)
    text = str(err.value)
    assert str(path) in text
    for part in expected:
        assert part in text, text


def test_invalid_json_gives_the_line(tmp_path, assessment):
    text = json.dumps(officer_suite_json(), indent=2)
    broken = text.replace('"exact_match": false', '"exact_match": false,', 1)
    path = write_suite(tmp_path, broken)
    with pytest.raises(ConfigError) as err:
        load_suite("officer_responses", assessment, tmp_path)
    line = broken[: broken.index('"exact_match": false,')].count("\n") + 2
    assert str(path) in str(err.value) and f"line {line}" in str(err.value)


def test_great_expectations_problems_name_the_entry(tmp_path, assessment):
    data = officer_suite_json()
    data["expectations"][3]["expectation"] = "expect_column_values_to_be_nul"
    write_suite(tmp_path, data)
    suite = load_suite("officer_responses", assessment, tmp_path)  # the name looks fine to the loader
    with pytest.raises(ConfigError, match=r"expectations\[3\] \(id 'has_respondent_id'\): Great Expectations has no"):
        gx_runner.validate_suite_with_gx(suite)
    data = officer_suite_json()
    data["expectations"][10]["kwargs"]["mostly"] = "most"
    write_suite(tmp_path, data)
    suite = load_suite("officer_responses", assessment, tmp_path)
    with pytest.raises(ConfigError, match=r"expectations\[10\] \(id 'duration_in_range'\): .*invalid kwargs"):
        gx_runner.validate_suite_with_gx(suite)


def test_a_missing_suite_says_where_to_look(tmp_path, assessment):
    with pytest.raises(ConfigError, match="expectation suite not found"):
        load_suite("officer_responses", assessment, tmp_path)
