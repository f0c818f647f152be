"""Survey instruments are a block of config (``instruments:``), validated on load with errors naming file
and place: the officer survey as the stages read it today, the stakeholder survey beside it."""

from __future__ import annotations

import pytest

from pipelines.config import load_assessment
from pipelines.errors import ConfigError
from tests.unit.test_config import copy_config, edit


def test_the_demo_config_declares_the_officer_and_the_stakeholder_survey(assessment):
    officer, stakeholder = assessment.instruments
    assert (officer.id, officer.codebook, officer.indicators, officer.models, officer.weighting) == (
        "officer_survey", "officer_codebook.yaml", "indicators.yaml", "models.yaml", "officer_headcounts")
    assert stakeholder.id == "stakeholder_survey" and not stakeholder.weighted
    assert (stakeholder.responses_asset, stakeholder.indicators_asset, stakeholder.published_table) == (
        "stakeholder_survey_responses", "stakeholder_indicators", "published_stakeholder_indicators")
    view = assessment.for_instrument("stakeholder_survey")
    assert view.codebook.survey == "stakeholder_survey" and view.codebook is not assessment.codebook
    assert view.codebook_path.name == "stakeholder_codebook.yaml"
    assert {v.name for v in view.codebook.variables} >= {"sector", "county", "served_victim", "biggest_gap"}
    # the officer survey's view is the assessment itself: its numbers cannot move
    assert assessment.for_instrument("officer_survey") is assessment
    assert assessment.config.wave_inputs.status("2015")["stakeholder_survey"] == "optional"


def test_a_config_without_instruments_is_the_officer_survey_alone(tmp_path):
    cfg = copy_config(tmp_path)
    edit(cfg / "assessment.yaml", lambda d: d.pop("instruments"))
    with pytest.raises(ConfigError, match="services.survey_evidence.instrument: 'stakeholder_survey'"):
        load_assessment(cfg / "assessment.yaml")  # the services page's survey evidence names it
    edit(cfg / "assessment.yaml", lambda d: d["services"].pop("survey_evidence"))
    a = load_assessment(cfg / "assessment.yaml")
    assert [i.id for i in a.instruments] == ["officer_survey"] and a.other_instruments == []


@pytest.mark.parametrize("change, message", [
    (lambda d: d["instruments"][1].update(weighting="nurses"), "instruments.1.weighting"),
    (lambda d: d["instruments"].reverse(), "the first instrument must be officer_survey"),
    (lambda d: d["instruments"][0].update(codebook="stakeholder_codebook.yaml"), "instruments.0.codebook"),
    (lambda d: d["instruments"][1].update(weighting="officer_headcounts"), "only the officer survey is weighted"),
    (lambda d: d["instruments"][1].update(id="nurse_survey"), "is not a wave input"),
    (lambda d: d["instruments"][1].update(domains=["sector", "shoe_size"]), "domains ['shoe_size']"),
    (lambda d: d["instruments"][1].update(expectations="no_such_suite"), "no expectation suite"),
    (lambda d: d["instruments"][1].pop("disclosure_unit"), "instruments.1.disclosure_unit"),
])
def test_a_bad_instrument_is_reported_with_its_place(tmp_path, change, message):
    cfg = copy_config(tmp_path)
    edit(cfg / "assessment.yaml", change)
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    assert message in str(err.value)


def test_the_stakeholder_codebook_and_indicators_are_checked_like_the_officer_ones(tmp_path):
    cfg = copy_config(tmp_path)
    edit(cfg / "stakeholder_indicators.yaml",
         lambda d: d["indicators"][0].update(success=["Maybe"]))
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    assert "stakeholder_indicators.yaml" in str(err.value) and "served_victim has no answer ['Maybe']" in str(err.value)
    cfg = copy_config(tmp_path / "b")
    edit(cfg / "stakeholder_codebook.yaml", lambda d: d["variables"][2].update(scale="yes_maybe"))
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    assert "stakeholder_codebook.yaml" in str(err.value) and "unknown scale 'yes_maybe'" in str(err.value)
