"""The training-gap models are specified in the config (models.yaml), validated on load, and change by
editing YAML only: outcomes, success answers, labels, reference levels, county estimates."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from assets.models import training_gap as tg
from assets.models.small_area_simulation import simulate_areas
from assets.models.specs import Outcome
from pipelines.config import REPO_ROOT, load_assessment
from pipelines.errors import ConfigError
from tests.unit.test_models_training_gap import WAVE, _respondents

MAINE = REPO_ROOT / "config" / "maine"

# What assets/models/training_gap.py hard-coded before the models moved to the config (OUTCOMES,
# PREDICTORS): the demo's published model and county numbers rest on exactly these.
_AGREE = ("Agree", "Strongly agree")
_FORMER_REGRESSORS = ("experience_band", "handled_case", "county_group", "agency_type")
_FORMER_OUTCOMES = (
    ("trained_sex", "Agency adequately trained to handle sex trafficking cases", _AGREE,
     "not_trained_sex", "Share of officers not adequately trained for sex trafficking cases"),
    ("trained_labor", "Agency adequately trained to handle labor trafficking cases", _AGREE,
     "not_trained_labor", "Share of officers not adequately trained for labor trafficking cases"),
    ("prepared_minors", "Department prepared for trafficking cases involving minors", _AGREE,
     "not_prepared_minors", "Share of officers whose department is not prepared for cases involving minors"),
    ("familiar_organisations", "Familiar with Maine organisations that address trafficking", ("Yes",),
     "not_familiar_organisations", "Share of officers not familiar with Maine anti-trafficking organisations"),
)


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "state"
    shutil.copytree(MAINE, dest)
    return dest


def _edit(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _tables(assessment, outcomes=None, seed=5):
    sim = simulate_areas(seed, n_areas=16, beta=(0.4, 0.5))
    responses = _respondents(assessment, sim.n.to_numpy() + 6, sim.successes.to_numpy(), seed)
    # every other officer who agrees agrees strongly (so that "Strongly agree" alone is a narrower success)
    agree = responses.index[responses["trained_sex"] == "Agree"]
    responses.loc[agree[::2], "trained_sex"] = "Strongly agree"
    design = tg.model_design(responses, assessment, WAVE).design
    outcomes = tg.outcomes_of(assessment) if outcomes is None else outcomes
    reg = tg.regression_table(design, tg.fit_outcome_models(design, outcomes), WAVE, assessment, outcomes=outcomes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        county = tg.county_table(design, reg, WAVE, assessment, outcomes=outcomes)
    return reg, county


def test_the_config_gives_the_former_specifications_and_the_same_fitted_tables(assessment):
    former = tuple(Outcome(*o, regressors=_FORMER_REGRESSORS) for o in _FORMER_OUTCOMES)
    assert tg.outcomes_of(assessment) == former
    assert tg.regressors_of(assessment) == _FORMER_REGRESSORS
    reg_config, county_config = _tables(assessment)
    reg_former, county_former = _tables(assessment, former)
    assert reg_config.equals(reg_former) and county_config.equals(county_former)
    assert set(county_config.measure) == {o[3] for o in _FORMER_OUTCOMES}
    # the reference levels the config names are the ones the odds ratios compare against
    refs = reg_config[reg_config.kind == "odds_ratio"].groupby("variable")["reference"].first().to_dict()
    assert refs["experience_band"] == "10 years or less" and refs["handled_case"] == "No"
    assert refs["county_group"] == assessment.config.county_groups[0].name


def test_labels_take_the_state_name_from_the_config(tmp_path):
    cfg = _copy(tmp_path)
    _edit(cfg / "assessment.yaml", lambda d: d["state"].update(name="Vermont"))
    labels = [o.gap_label for o in tg.outcomes_of(load_assessment(cfg / "assessment.yaml"))]
    assert "Share of officers not familiar with Vermont anti-trafficking organisations" in labels
    assert not any("Maine" in label for label in labels)


def test_a_reference_level_set_in_yaml_inverts_the_odds_ratio(assessment, tmp_path):
    cfg = _copy(tmp_path)
    first, second = (g.name for g in assessment.config.county_groups)
    _edit(cfg / "models.yaml", lambda d: d["training_gap"]["regressors"][2].update(reference=second))
    other = load_assessment(cfg / "assessment.yaml")
    before, _ = _tables(assessment)
    after, _ = _tables(other)

    def odds(table, level):
        row = table[(table.outcome == "trained_sex") & (table.kind == "odds_ratio")
                    & (table.variable == "county_group") & (table.level == level)]
        assert len(row) == 1
        return row.iloc[0]

    a, b = odds(before, second), odds(after, first)
    assert a.reference == first and b.reference == second
    assert b.estimate == pytest.approx(1 / a.estimate, rel=1e-8)
    assert b.p_value == pytest.approx(a.p_value, rel=1e-6)


def test_outcomes_regressors_and_county_estimates_change_by_editing_yaml(tmp_path):
    cfg = _copy(tmp_path)

    def edit(d):
        tg_ = d["training_gap"]
        tg_["outcomes"] = tg_["outcomes"][:2]
        tg_["outcomes"][0]["success"] = ["Strongly agree"]  # a stricter definition of "trained"
        tg_["outcomes"][1]["county_estimates"] = False
        tg_["regressors"] = [r for r in tg_["regressors"] if r["variable"] != "agency_type"]

    _edit(cfg / "models.yaml", edit)
    a = load_assessment(cfg / "assessment.yaml")
    reg, county = _tables(a)
    assert set(reg.outcome) == {"trained_sex", "trained_labor"}
    assert "agency_type" not in set(reg.variable)
    assert set(county.measure) == {"not_trained_sex"}
    cards = tg.model_cards(reg, county, a, WAVE)
    assert "I(trained_sex %in% c('Strongly agree')) ~ experience_band + handled_case + county_group" in \
        set(cards.specification)
    # with only "Strongly agree" a success, fewer officers are prepared: a larger gap than the demo's
    _, county_demo = _tables(load_assessment(MAINE / "assessment.yaml"))
    def state(c):
        t = c[(c.breakdown == "county") & (c.measure == "not_trained_sex")]
        assert t.eblup.notna().all()
        return t.officers_needing_training.sum() / t.headcount.sum()

    assert state(county) > state(county_demo) + 0.1


@pytest.mark.parametrize("edit, where, says", [
    (lambda m: m["outcomes"][0].update(variable="trained_boats"), "training_gap.outcomes.0.variable",
     "'trained_boats' is not a single-choice question"),
    (lambda m: m["outcomes"][3].update(success=["Yes", "Maybe"]), "training_gap.outcomes.3.success",
     "has no answer ['Maybe']"),
    (lambda m: m["outcomes"][3].update(success=["Yes", "No"]), "training_gap.outcomes.3.success",
     "nothing is left to model"),
    (lambda m: m["regressors"][1].update(reference="Sometimes"), "training_gap.regressors.1.reference",
     "handled_case has no level 'Sometimes'"),
    (lambda m: m["regressors"].pop(0), "training_gap", "experience_band is needed"),
    (lambda m: m["outcomes"][1].update(gap="not_trained_sex"), "training_gap",
     "outcomes gap listed twice: not_trained_sex"),
    (lambda m: m["outcomes"][0].update(label="Trained in {county}"), "training_gap",
     "may use only the placeholder {state}"),
    (lambda m: m["outcomes"][0].update(gap_label="Not trained in {state.foo}"), "training_gap",
     "gap_label may use only the placeholder {state}"),
    (lambda m: m["outcomes"][0].update(label="Trained in {state"), "training_gap",
     "label may use only the placeholder {state}"),
])
def test_a_bad_model_specification_names_the_file_and_key(tmp_path, edit, where, says):
    cfg = _copy(tmp_path)
    _edit(cfg / "models.yaml", lambda d: edit(d["training_gap"]))
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    msg = str(err.value)
    assert "models.yaml" in msg and where in msg and says in msg, msg
