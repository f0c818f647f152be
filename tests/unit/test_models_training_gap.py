"""The training-gap models: weighted regressions with separation handling, county small-area
estimates of the share not trained (checked against known truth on simulated respondents), the
county x experience split, model cards, and the three Dagster assets materialised for wave 2015."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from assets.estimates.glm import svyglm
from assets.models import training_gap as tg
from assets.models.small_area_simulation import simulate_areas
from pipelines.config import REPO_ROOT, Assessment
from pipelines.resources import AssessmentSettings, WarehouseIOManager
from tests.conftest import wave_instance

WAVE = "2015"
AGENCIES = ["Municipal police department", "County sheriff's office", "Maine State Police"]


def _respondents(assessment: Assessment, n: np.ndarray, not_trained: np.ndarray, seed: int) -> pd.DataFrame:
    """Respondent rows: county i gets n[i] officers, not_trained[i] of them answering Disagree."""
    rng = np.random.default_rng(seed)
    counties = assessment.county_names
    rows = []
    for i, c in enumerate(counties):
        for k in range(int(n[i])):
            gap = k < not_trained[i]
            rows.append({
                "wave": WAVE, "respondent_id": f"{c[:3]}{k}", "county": c,
                "county_group": assessment.county_group_of[c],
                "experience_band": "10 years or less" if rng.random() < 0.3 else "More than 10 years",
                "handled_case": "Yes" if rng.random() < 0.4 else "No",
                "agency_type": AGENCIES[int(rng.integers(0, 3))],
                "trained_sex": "Disagree" if gap else "Agree",
                "trained_labor": "Disagree" if rng.random() < 0.6 else "Strongly agree",
                "prepared_minors": "Neither agree nor disagree" if rng.random() < 0.5 else "Agree",
                "familiar_organisations": "No" if rng.random() < 0.6 else "Yes",
            })
    return pd.DataFrame(rows)


def _county_run(assessment: Assessment, seed: int) -> pd.DataFrame:
    """Simulated counties (known true share not trained) through the county model of the pipeline."""
    sim = simulate_areas(seed, n_areas=16, beta=(0.4, 0.5), sigma_u=0.4)
    responses = _respondents(assessment, sim.n.to_numpy(), sim.successes.to_numpy(), seed)
    design = tg.model_design(responses, assessment, WAVE).design
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = tg.county_table(design, pd.DataFrame(), WAVE, assessment, outcomes=tg.outcomes_of(assessment)[:1])
    county = table[table.breakdown == "county"].reset_index(drop=True)
    county["true_p"] = sim.true_p.to_numpy()
    county["seed"] = seed
    return county


@pytest.fixture(scope="module")
def simulated(assessment: Assessment) -> pd.DataFrame:
    return pd.concat([_county_run(assessment, seed) for seed in range(40)], ignore_index=True)


def test_county_estimates_beat_direct_on_simulated_counties(simulated: pd.DataFrame) -> None:
    s = simulated[~simulated.synthetic]
    mae_direct = (s.direct - s.true_p).abs().mean()
    mae_fh = (s.eblup - s.true_p).abs().mean()
    assert mae_fh < mae_direct, (mae_fh, mae_direct)
    one = simulated[(simulated.seed == 0) & ~simulated.synthetic]
    assert (one.eblup - one.true_p).abs().mean() < (one.direct - one.true_p).abs().mean()


def test_county_intervals_cover_truth_near_nominal(simulated: pd.DataFrame) -> None:
    covered = (simulated.ci_low <= simulated.true_p) & (simulated.true_p <= simulated.ci_high)
    assert 0.87 <= covered.mean() <= 0.995, covered.mean()
    assert simulated[["eblup", "ci_low", "ci_high"]].apply(lambda c: c.between(0, 1)).all().all()


def test_county_table_has_every_county_and_flags_synthetic(simulated: pd.DataFrame) -> None:
    one = simulated[simulated.seed == 0]
    assert len(one) == 16 and one.county.is_unique
    empty = one[one.respondents == 0]
    assert len(empty) == 1 and empty.synthetic.all() and empty.direct.isna().all() and (empty.shrinkage == 0).all()
    assert one.eblup.notna().all() and one.rmse.gt(0).all()
    assert sorted(one["rank"]) == list(range(1, 17))
    top = one.sort_values("rank").iloc[0]
    assert top.officers_needing_training == one.officers_needing_training.max()
    assert np.allclose(one.officers_needing_training, one.eblup * one.headcount)
    assert (one.officers_low <= one.officers_needing_training).all()
    assert (one.officers_needing_training <= one.officers_high).all()
    assert not one[one.respondents < 6].direct_publishable.any()


def test_band_split_averages_back_to_the_county_estimate(assessment: Assessment) -> None:
    sim = simulate_areas(3, n_areas=16, beta=(0.4, 0.5))
    responses = _respondents(assessment, sim.n.to_numpy() + 5, sim.successes.to_numpy(), 3)
    design = tg.model_design(responses, assessment, WAVE).design
    reg = tg.regression_table(design, tg.fit_outcome_models(design, tg.outcomes_of(assessment)[:1]), WAVE, assessment,
                              outcomes=tg.outcomes_of(assessment)[:1])
    table = tg.county_table(design, reg, WAVE, assessment, outcomes=tg.outcomes_of(assessment)[:1])
    county = table[table.breakdown == "county"].set_index("county")
    bands = table[table.breakdown != "county"]
    assert len(bands) == 32 and set(bands.experience_band) == {"10 years or less", "More than 10 years"}
    avg = (bands.eblup * bands.band_share).groupby(bands.county).sum()
    assert np.allclose(avg, county.eblup.reindex(avg.index), atol=1e-8)
    heads = bands.groupby("county").headcount.sum()
    assert np.allclose(heads, county.headcount.reindex(heads.index))
    # the regression's experience contrast is what separates the bands
    or_exp = reg[(reg.kind == "odds_ratio") & (reg.variable == "experience_band")].estimate.iloc[0]
    b = bands[bands.county == "Cumberland"].set_index("experience_band").eblup
    odds = b / (1 - b)
    assert np.isclose(odds["More than 10 years"] / odds["10 years or less"], 1 / or_exp)
    assert bands["note"].str.contains("headcount by band assumed").all()


def test_regression_table_is_the_svyglm_fit(assessment: Assessment) -> None:
    sim = simulate_areas(5, n_areas=16, beta=(0.4, 0.5))
    responses = _respondents(assessment, sim.n.to_numpy() + 6, sim.successes.to_numpy(), 5)
    design = tg.model_design(responses, assessment, WAVE).design
    fits = tg.fit_outcome_models(design, tg.outcomes_of(assessment))
    reg = tg.regression_table(design, fits, WAVE, assessment)
    fit = svyglm(design, tg.outcomes_of(assessment)[0].formula)
    ors = reg[(reg.outcome == "trained_sex") & (reg.kind == "odds_ratio")]
    assert list(ors.term) == list(fit.terms[1:])
    assert np.allclose(ors.estimate, np.exp(fit.coef[1:]), equal_nan=True)
    assert np.allclose(ors.p_value, fit.p[1:], equal_nan=True)
    assert set(reg.kind) == {"odds_ratio", "marginal_effect", "predicted_probability"}
    pred = reg[(reg.outcome == "trained_sex") & (reg.kind == "predicted_probability")]
    assert len(pred) == 4 and pred.estimate.between(0, 1).all() and (pred.ci_low < pred.estimate).all()
    # a marginal effect has the sign of its log odds ratio
    me = reg[(reg.outcome == "trained_sex") & (reg.kind == "marginal_effect")].set_index("term").estimate
    ok = ors.estimate.notna().to_numpy()
    assert (np.sign(me.reindex(ors.term).to_numpy()[ok]) == np.sign(np.log(ors.estimate.to_numpy()[ok]))).all()
    assert reg.reliable.all()


def _separated(assessment: Assessment):
    sim = simulate_areas(9, n_areas=16, beta=(0.4, 0.5))
    responses = _respondents(assessment, sim.n.to_numpy() + 6, sim.successes.to_numpy(), 9)
    state = responses.agency_type == "Maine State Police"
    responses.loc[state, "trained_sex"] = "Strongly agree"  # every state trooper agrees: separation
    return tg.model_design(responses, assessment, WAVE).design


def test_separation_without_firth_is_flagged_and_not_reported(assessment: Assessment) -> None:
    design = _separated(assessment)
    reg = tg.regression_table(design, tg.fit_outcome_models(design, tg.outcomes_of(assessment), firth=False), WAVE, assessment)
    sex = reg[reg.outcome == "trained_sex"]
    assert sex.separation.all() and not sex.reliable.any()
    assert sex.estimate.isna().all() and sex["note"].str.contains("NOT REPORTED").all()
    assert reg[reg.outcome == "trained_labor"].reliable.all()
    county = tg.county_table(design, reg, WAVE, assessment, outcomes=tg.outcomes_of(assessment)[:1])
    bands = county[county.breakdown != "county"]
    assert bands["note"].str.contains("no reliable experience contrast").all()  # no band split then
    cards = tg.model_cards(reg, county, assessment, WAVE)
    card = cards.set_index("model").loc["training_gap_model: trained_sex"]
    assert not card.reliable and card.caveats.startswith("THIS MODEL IS NOT REPORTED")


def test_separation_gets_a_flagged_firth_fit_with_finite_estimates(assessment: Assessment) -> None:
    design = _separated(assessment)
    ordinary = svyglm(design, tg.outcomes_of(assessment)[0].formula)
    assert ordinary.separation and np.isnan(ordinary.coef).all()
    fits = tg.fit_outcome_models(design, tg.outcomes_of(assessment))
    fit = fits["trained_sex"]
    assert fit.separation and fit.reliable and fit.converged
    state = fit.terms.index("agency_typeMaine State Police")
    # finite, large, and smaller than the divergent maximum-likelihood iterate
    assert 1.0 < fit.coef[state] < 10 and abs(fit.coef[state]) < abs(ordinary.raw_coef[state])
    others = [j for j, t in enumerate(fit.terms) if t not in fit.aliased and t not in fit.separation_terms]
    assert np.isfinite(fit.se[others]).all() and np.isnan(fit.se[state]) and np.isnan(fit.p[state])
    # terms not involved stay close to the ordinary fit without the separated group
    reg = tg.regression_table(design, fits, WAVE, assessment)
    sex = reg[reg.outcome == "trained_sex"]
    assert (sex.estimator == "firth").all() and sex.separation.all() and sex["note"].str.contains("Firth").all()
    assert sex[sex.kind == "predicted_probability"].estimate.between(0, 1).all()
    assert (reg[reg.outcome != "trained_sex"].estimator == "svyglm").all()
    county = tg.county_table(design, reg, WAVE, assessment, outcomes=tg.outcomes_of(assessment)[:1])
    cards = tg.model_cards(reg, county, assessment, WAVE).set_index("model")
    card = cards.loc["training_gap_model: trained_sex"]
    assert card.reliable and card.separation and "Firth" in card.caveats and "Firth" in card.estimation


# ----------------------------------------------------------------------------- the assets


@pytest.fixture(scope="module")
def materialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from assets.estimates import assets as estimates
    from assets.ingest import assets as ingest
    from assets.models import assets as models
    from assets.quality import assets as quality

    root = tmp_path_factory.mktemp("models")
    settings = AssessmentSettings(config_path=str(REPO_ROOT / "config" / "maine" / "assessment.yaml"),
                                  data_dir=str(REPO_ROOT / "data" / "demo"), warehouse=str(root / "htna.duckdb"),
                                  output_dir=str(root / "site"))
    result = dg.materialize(
        [ingest.survey_exports, ingest.officer_responses, ingest.stakeholder_interviews, ingest.survivor_interviews,
         quality.quality_screening, estimates.officer_weights, models.training_gap_model,
         models.training_gap_by_county, models.model_cards],
        partition_key=WAVE, instance=wave_instance(),
        resources={"settings": settings, "io_manager": WarehouseIOManager(settings=settings)})
    assert result.success
    return root / "htna.duckdb"


def _table(warehouse: Path, name: str) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"SELECT * FROM assessment.{name} WHERE wave = ?", [WAVE]).df()


def test_assets_materialise_wave_2015(materialised: Path, assessment: Assessment) -> None:
    county = _table(materialised, "training_gap_by_county")
    rows = county[(county.breakdown == "county") & (county.measure == "not_trained_sex")]
    assert sorted(rows.county) == sorted(assessment.county_names)
    for col in ["direct", "direct_se", "eblup", "rmse", "ci_low", "ci_high", "shrinkage", "cv", "synthetic",
                "officers_needing_training", "officers_low", "officers_high", "rank"]:
        assert col in county.columns
    assert rows.eblup.between(0, 1).all() and (rows.ci_low <= rows.eblup).all() and (rows.eblup <= rows.ci_high).all()
    assert set(county.measure) == {o.gap for o in tg.outcomes_of(assessment)}
    reg = _table(materialised, "training_gap_model")
    assert set(reg.outcome) == {o.column for o in tg.outcomes_of(assessment)}
    cards = _table(materialised, "model_cards")
    assert len(cards) == 2 * len(tg.outcomes_of(assessment)) and cards.caveats.str.contains("convenience sample").all()
    assert cards.caveats.str.contains("ILLUSTRATIVE").all()


def test_fitting_every_model_for_a_182_respondent_wave(materialised: Path, assessment: Assessment,
                                                                record_property) -> None:
    responses = _table(materialised, "accepted_officer_responses")
    weights = _table(materialised, "officer_weights")
    assert len(responses) == 182
    tg.fit_training_gap(responses, assessment, WAVE, weights)  # warm-up (first-call imports)
    start = time.perf_counter()
    out = tg.fit_training_gap(responses, assessment, WAVE, weights)
    elapsed = time.perf_counter() - start
    record_property("fit_seconds", elapsed)
    print(f"fitting every model for 182 respondents: {elapsed:.2f} s")
    assert len(out.cards) == 2 * len(tg.outcomes_of(assessment))


@pytest.mark.parametrize("seed,scale", [(3, 20), (4, 2)])
def test_model_tables_from_cell_totals_equal_the_row_by_row_tables(assessment: Assessment, monkeypatch,
                                                                   seed: int, scale: int) -> None:
    sim = simulate_areas(seed, n_areas=16, beta=(0.4, 0.5))
    answers = _respondents(assessment, sim.n.to_numpy() * scale + 6, sim.successes.to_numpy() * scale, seed)
    answers.loc[answers.index % 17 == 0, "county"] = None  # an unknown-county weighting cell

    def tables():
        design = tg.model_design(answers, assessment, WAVE).design
        reg = tg.regression_table(design, tg.fit_outcome_models(design, tg.outcomes_of(assessment)), WAVE, assessment)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            county = tg.county_table(tg.model_design(answers, assessment, WAVE).design, reg, WAVE, assessment)
        return reg, county

    grouped = tables()
    from assets.models import training_gap_design

    monkeypatch.setattr(training_gap_design, "COLLAPSE", False)  # (read by the regression and county tables)
    rowwise = tables()
    for a, b in zip(grouped, rowwise):
        assert list(a.columns) == list(b.columns) and len(a) == len(b)
        for col in a.columns:
            if a[col].dtype.kind == "f":
                np.testing.assert_allclose(a[col].to_numpy(), b[col].to_numpy(), rtol=1e-10, atol=1e-12, err_msg=col)
            else:
                assert a[col].tolist() == b[col].tolist(), col


def _prepared_row_by_row(data: pd.DataFrame, assessment: Assessment) -> dict[str, pd.Series]:
    """The regressors as the first version built them (str() of every row), for the test below."""
    out = {}
    for var in tg.regressors_of(assessment):
        raw = data[var] if var in data.columns else pd.Series([None] * len(data), index=data.index)
        text = raw.astype(object).where(raw.notna(), None).map(lambda v: None if v is None else str(v))
        out[var] = pd.Series(pd.Categorical(text, categories=tg._levels(assessment, var, text)), index=data.index)
    return out


def test_regressors_coded_per_distinct_answer_equal_row_by_row(assessment):
    rng = np.random.default_rng(11)
    n = 5_000
    values = {
        "experience_band": ["10 years or less", "More than 10 years", None, np.nan, "Unlisted band"],
        "handled_case": ["Yes", "No", None, 1, 1.0, "1"],
        "county_group": [*{g.name for g in assessment.config.county_groups}, None, "Elsewhere"],
        "agency_type": [*AGENCIES, None, pd.NA, "Tribal police"],
    }
    data = pd.DataFrame({k: pd.Series([v[i] for i in rng.integers(0, len(v), n)], dtype=object)
                         for k, v in values.items()})
    data = data.drop(columns=[c for c in data.columns if c not in tg.regressors_of(assessment)])
    text_only = data.assign(handled_case=data["handled_case"].map(
        lambda v: v if isinstance(v, str) or v is None or v is pd.NA or v != v else str(v)))
    for frame in (data, text_only):  # mixed values (1 and 1.0 are one distinct value) and text only
        got = tg._prepared(frame, assessment)
        want = _prepared_row_by_row(frame, assessment)
        for var in tg.regressors_of(assessment):
            pd.testing.assert_series_equal(got[var], want[var], check_names=False)


def test_collapse_keys_coded_once_give_the_cells_of_factorised_keys(assessment: Assessment) -> None:
    """collapsed() keys a 0/1 outcome by codes and a text column by codes worked out once for all
    outcomes: the same cells (inverse, first rows, frequencies) as factorising them each time, also
    for an outcome that is not 0/1 (factorised then), -0.0, missing outcomes and missing counties."""
    from assets.estimates.calibration import post_stratify
    from assets.estimates.design import SurveyDesign

    rng = np.random.default_rng(5)
    n = 2_000
    counties = np.array(["Knox", "York", None, "Waldo"], dtype=object)
    data = pd.DataFrame({
        "cell": rng.choice(["a", "b", "c"], n),
        "county": counties[rng.integers(0, 4, n)],
        "y01": rng.choice([0.0, 1.0, np.nan, -0.0], n),
        "y3": rng.choice([0.0, 0.5, 1.0, np.nan], n),
        "band": pd.Categorical(rng.choice(["x", "y", None], n), categories=["x", "y"]),
    })
    design = post_stratify(SurveyDesign(data, weights=np.ones(n)), "cell", {"a": 900.0, "b": 700.0, "c": 400.0})
    codes = tg._column_codes(design, "county")
    for y in ("y01", "y3"):
        got = tg.collapsed(design, y, "band", "county", codes=codes)
        want, _ = design.collapse([data[y].to_numpy(dtype=float), data["band"].cat.codes.to_numpy() + 1,
                                   data["county"].to_numpy()], [None, 3, None])
        assert np.array_equal(got.source_rows, want.source_rows) and np.array_equal(got.freq, want.freq)
        assert len(got.source_rows) < n


def test_outcomes_coded_per_distinct_answer_equal_row_by_row(assessment: Assessment) -> None:
    """The 0/1 outcomes (NaN when unanswered), looked up once per distinct answer, equal the row-by-row
    isin, with missing answers of every kind, answers outside the codebook and non-text values."""
    rng = np.random.default_rng(12)
    n = 4_000
    choices = np.array(["Agree", "Strongly agree", "Disagree", "Yes", "No", None, np.nan, pd.NA, "agree", 1, ""],
                       dtype=object)
    data = pd.DataFrame({o.column: choices[rng.integers(0, len(choices), n)] for o in tg.outcomes_of(assessment)})
    data = data.drop(columns=[tg.outcomes_of(assessment)[-1].column])  # a question the wave did not ask: all missing
    got = tg._prepared(data, assessment)
    for o in tg.outcomes_of(assessment):
        raw = data[o.column] if o.column in data.columns else pd.Series([None] * n)
        want = np.where(raw.notna().to_numpy(), raw.astype(object).isin(list(o.success)).to_numpy(dtype=float), np.nan)
        np.testing.assert_array_equal(got[o.y].to_numpy(), want)


def test_respondents_by_county_and_band_equal_value_counts() -> None:
    """Counts of (county, experience band) by codes equal DataFrame.value_counts of the pairs (rows
    with either missing left out), counties and bands without respondents absent."""
    rng = np.random.default_rng(13)
    n = 3_000
    bands = ["10 years or less", "More than 10 years"]
    data = pd.DataFrame({
        "county": np.array(["Knox", "York", None, np.nan, "Waldo"], dtype=object)[rng.integers(0, 5, n)],
        tg.EXPERIENCE: pd.Categorical(np.array([*bands, None], dtype=object)[rng.integers(0, 3, n)], categories=bands),
    })
    data.loc[data["county"] == "Waldo", tg.EXPERIENCE] = bands[0]  # a (county, band) pair with no one
    valid = rng.random(n) < 0.8
    want = pd.DataFrame({"county": data["county"].astype(object).to_numpy()[valid],
                         "band": data[tg.EXPERIENCE].astype(object).to_numpy()[valid]}).value_counts()
    got = tg._respondents_by_county_and_band(data, valid, bands)
    assert got == {k: int(v) for k, v in want.items()}
    assert ("Waldo", bands[1]) not in got
