"""The county table with the configured estimator: estimates add up to the state figure, a thin wave is
'not estimable' (no traceback), the model card says what was done for tiny counties without naming them,
and the config chooses (and checks) the estimator."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from assets.models import training_gap as tg
from assets.models.small_area_simulation import simulate_areas
from pipelines.config import ConfigError, load_assessment

sys.path.insert(0, str(Path(__file__).parent))
from test_models_training_gap import WAVE, _respondents  # noqa: E402


def _county(assessment, n, k, seed=1, model_table=None):
    design = tg.model_design(_respondents(assessment, np.asarray(n), np.asarray(k), seed), assessment, WAVE).design
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = tg.county_table(design, pd.DataFrame() if model_table is None else model_table, WAVE, assessment,
                                outcomes=tg.outcomes_of(assessment)[:1])
    return design, table


def test_county_estimates_add_up_to_the_state_direct_share(assessment):
    sim = simulate_areas(4, n_areas=16, beta=(0.4, 0.5), sigma_u=0.4)
    design, table = _county(assessment, sim.n.to_numpy(), sim.successes.to_numpy())
    county = table[table.breakdown == "county"]
    state = tg._state_share(design, tg.outcomes_of(assessment)[0].y)
    total = county["officers_needing_training"].sum() / county["headcount"].sum()
    assert total == pytest.approx(state, abs=1e-9)
    assert county["fh_method"].eq("ampl").all() and (county["fh_variance"] > 0).all()
    # tiny counties are predicted (synthetic), and say so; intervals never touch 0 or 1
    tiny = county[county.respondents < 6]
    assert tiny["synthetic"].all() and tiny["note"].str.contains("synthetic").all()
    assert ((county.ci_low > 0) & (county.ci_high < 1) & (county.ci_low < county.eblup)
            & (county.eblup < county.ci_high)).all()
    bands = table[table.breakdown != "county"]
    assert ((bands.ci_low > 0) & (bands.ci_high < 1)).all()


def test_band_intervals_carry_the_odds_ratio_uncertainty(assessment):
    sim = simulate_areas(5, n_areas=16, beta=(0.4, 0.5), sigma_u=0.4)
    responses = _respondents(assessment, sim.n.to_numpy(), sim.successes.to_numpy(), 5)
    design = tg.model_design(responses, assessment, WAVE).design
    reg = tg.regression_table(design, tg.fit_outcome_models(design, tg.outcomes_of(assessment)[:1]), WAVE, assessment, 0.95,
                              tg.outcomes_of(assessment)[:1])
    _, with_or = _county(assessment, sim.n.to_numpy(), sim.successes.to_numpy(), 5, reg)
    no_se = reg.assign(se=0.0)
    _, without = _county(assessment, sim.n.to_numpy(), sim.successes.to_numpy(), 5, no_se)
    a = with_or[with_or.breakdown != "county"].reset_index(drop=True)
    b = without[without.breakdown != "county"].reset_index(drop=True)
    np.testing.assert_allclose(a.eblup, b.eblup)
    wider = (a.ci_high - a.ci_low) > (b.ci_high - b.ci_low) + 1e-9
    assert wider.sum() >= len(a) // 2  # every band but the reference one


def test_thin_wave_is_not_estimable_without_a_traceback(assessment):
    n = np.zeros(16, dtype=int)
    n[:3] = (10, 8, 7)
    _, table = _county(assessment, n, n // 2)
    county = table[table.breakdown == "county"]
    assert county["eblup"].isna().all() and county["note"].str.contains("not estimable").all()
    cards = tg.model_cards(pd.DataFrame(columns=tg.REGRESSION_COLUMNS), table, assessment, WAVE)
    card = cards[cards.asset == "training_gap_by_county"].iloc[0]
    assert "NOT ESTIMABLE" in card["caveats"] and not card["reliable"]


def test_model_card_explains_tiny_counties_without_naming_them(assessment):
    sim = simulate_areas(6, n_areas=16, beta=(0.4, 0.5), sigma_u=0.4)
    _, table = _county(assessment, sim.n.to_numpy(), sim.successes.to_numpy())
    cards = tg.model_cards(pd.DataFrame(columns=tg.REGRESSION_COLUMNS), table, assessment, WAVE)
    card = cards[cards.asset == "training_gap_by_county"].iloc[0]
    assert "fewer than 6 officers" in card["caveats"] and "prediction from counties like it" in card["caveats"]
    assert "add up to the state figure" in card["caveats"]
    for c in assessment.county_names:
        assert c not in card["caveats"]


def _config_with(tmp_path, **small_area):
    src = Path(__file__).parents[2] / "config" / "maine"
    doc = yaml.safe_load((src / "assessment.yaml").read_text())
    doc["small_area"] = {**doc.get("small_area", {}), **small_area}
    for f in src.iterdir():
        if f.name != "assessment.yaml":
            (tmp_path / f.name).write_bytes(f.read_bytes())
    path = tmp_path / "assessment.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_config_selects_the_earlier_model(tmp_path):
    a = load_assessment(_config_with(tmp_path, estimator="fay_herriot", variance="reml"))
    sim = simulate_areas(4, n_areas=16, beta=(0.4, 0.5), sigma_u=0.4)
    _, table = _county(a, sim.n.to_numpy(), sim.successes.to_numpy())
    assert table["fh_method"].eq("REML").all()


@pytest.mark.parametrize("bad", [{"estimator": "fay_herriot", "variance": "ampl"}, {"benchmark": "sideways"},
                                 {"min_effective_sample": 0}])
def test_config_refuses_bad_small_area_settings(tmp_path, bad):
    with pytest.raises(ConfigError, match="small_area"):
        load_assessment(_config_with(tmp_path, **bad))


def test_covariates_file_drives_model_selection_reported_on_the_card(assessment):
    assert assessment.county_covariate_values is not None  # the Maine config ships one (illustrative)
    sim = simulate_areas(7, n_areas=16, beta=(0.4, 0.5), sigma_u=0.4)
    _, table = _county(assessment, sim.n.to_numpy(), sim.successes.to_numpy())
    cards = tg.model_cards(pd.DataFrame(columns=tg.REGRESSION_COLUMNS), table, assessment, WAVE)
    card = cards[cards.asset == "training_gap_by_county"].iloc[0]
    sel = __import__("json").loads(card["diagnostics"])["model_selection"]
    extra = list(next(iter(assessment.county_covariate_values.values())))
    assert len(sel["candidates"]) == 2 ** len(extra) and sel["criterion"] == "bic"
    best = min(sel["candidates"], key=lambda c: c["bic"])
    assert sel["chosen"] == best["covariates"]
    assert sel["residuals"]["counties"] >= 5 and 0 <= sel["residuals"]["shapiro_wilk_p"] <= 1
    assert "chosen by BIC" in card["caveats"] and "ILLUSTRATIVE" in card["caveats"]
    coef = __import__("json").loads(table["fh_coefficients"].iloc[0])
    assert all(x in coef for x in sel["chosen"])


def test_covariates_file_errors_name_row_and_column(tmp_path):
    path = _config_with(tmp_path)
    csv = tmp_path / "county_covariates.csv"
    text = csv.read_text().replace("Knox,10,75,0", "Knox,ten,75,0")
    csv.write_text(text)
    with pytest.raises(ConfigError, match=r"\(Knox\), column poverty_rate: not a number"):
        load_assessment(path)
    csv.write_text("\n".join(x for x in text.splitlines() if not x.startswith("York")))
    with pytest.raises(ConfigError, match="counties without a row: York"):
        load_assessment(path)


def test_config_selects_the_unit_level_model_and_the_card_says_so(tmp_path):
    a = load_assessment(_config_with(tmp_path, estimator="unit_level", bootstrap_replicates=10))
    sim = simulate_areas(4, n_areas=16, beta=(0.4, 0.5), sigma_u=0.4)
    _, table = _county(a, sim.n.to_numpy(), sim.successes.to_numpy())
    county = table[table.breakdown == "county"]
    assert county["fh_method"].eq("EBP").all() and county["eblup"].between(0, 1, inclusive="neither").all()
    assert ((county.ci_low < county.eblup) & (county.eblup < county.ci_high)).all()
    cards = tg.model_cards(pd.DataFrame(columns=tg.REGRESSION_COLUMNS), table, a, WAVE)
    card = cards[cards.asset == "training_gap_by_county"].iloc[0]
    assert "unit level" in card["model_type"] and "does not use the survey weights" in card["caveats"]
