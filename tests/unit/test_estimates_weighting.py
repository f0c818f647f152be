"""Weighting the officer survey: cells, merging of small counties, unknown county, raking, trimming."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from assets.estimates.estimators import svymean
from assets.estimates.weighting import (
    UNKNOWN_CELL,
    WEIGHT_COLUMNS,
    county_cells,
    officer_design,
    weight_officers,
)
from pipelines.config import Assessment, Margin, Trim, Weighting, load_assessment
from pipelines.errors import ConfigError, InputError
from tests.unit.test_config import copy_config, edit


def with_weighting(assessment: Assessment, **changes) -> Assessment:
    w = assessment.config.weighting.model_copy(update=changes)
    config = assessment.config.model_copy(update={"weighting": w})
    return Assessment(assessment.path, config, assessment.codebook, assessment.frames, assessment.indicators)


def respondents(counts: dict[str | None, int], seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for county, k in counts.items():
        for _ in range(k):
            rows.append({"county": county})
    df = pd.DataFrame(rows)
    n = len(df)
    df["respondent_id"] = [f"id{i}" for i in range(n)]
    df["source_row"] = np.arange(3, 3 + n)
    df["experience_band"] = rng.choice(["10 years or less", "More than 10 years"], n, p=[0.3, 0.7])
    df["agency_type"] = rng.choice(["Municipal police department", "County sheriff's office", "Maine State Police",
                                    "Other (e.g., campus, tribal, Marine Patrol, Warden Service)"], n)
    df["y"] = rng.random(n) < 0.4
    return df


GOOD = {"Androscoggin": 15, "Aroostook": 9, "Cumberland": 38, "Franklin": 4, "Hancock": 8, "Kennebec": 17,
        "Knox": 6, "Lincoln": 5, "Oxford": 8, "Penobscot": 20, "Piscataquis": 2, "Sagadahoc": 5, "Somerset": 7,
        "Waldo": 5, "Washington": 5, "York": 28}


def test_small_counties_merge_within_their_county_group(assessment):
    hc = assessment.config.officer_headcounts.by_county
    cells = county_cells(GOOD, hc, assessment.county_group_of, 3)
    assert cells.merged == {"Franklin+Piscataquis": ["Franklin", "Piscataquis"]}
    assert cells.population["Franklin+Piscataquis"] == hc["Franklin"] + hc["Piscataquis"]
    assert cells.respondents["Franklin+Piscataquis"] == 6
    # with a higher minimum, the small counties of "All other counties" pool together, never with York
    cells = county_cells(GOOD, hc, assessment.county_group_of, 6)
    for cell, members in cells.merged.items():
        groups = {assessment.county_group_of[c] for c in members}
        assert len(groups) == 1, cell
    assert all(k >= 6 for k in cells.respondents.values())
    assert sum(cells.population.values()) == sum(hc.values())


def test_a_whole_small_group_merges_across_groups(assessment):
    hc = assessment.config.officer_headcounts.by_county
    counts = dict(GOOD, Cumberland=1, York=1)
    cells = county_cells(counts, hc, assessment.county_group_of, 3)
    merged = [members for members in cells.merged.values() if "York" in members]
    assert merged and "Cumberland" in merged[0] and len(merged[0]) > 2
    assert all(k >= 3 for k in cells.respondents.values())


def test_poststratified_weights_add_up_to_every_county_cell(assessment):
    data = respondents(GOOD)
    result = weight_officers(data, assessment, "2015")
    t = result.table
    assert list(t.columns) == WEIGHT_COLUMNS and len(t) == len(data)
    assert (t["wave"] == "2015").all() and t["in_weighting"].all()
    hc = assessment.config.officer_headcounts.by_county
    totals = t.groupby("poststratum")["weight"].sum()
    assert totals["Cumberland"] == pytest.approx(hc["Cumberland"])
    # the Maine minimum (6 respondents) pools the small counties of "All other counties", never York
    pool = ["Franklin", "Lincoln", "Piscataquis", "Sagadahoc", "Waldo", "Washington"]
    assert totals["+".join(pool)] == pytest.approx(sum(hc[c] for c in pool))
    assert t.loc[t["poststratum"] == "York", "weight"].iloc[0] == pytest.approx(hc["York"] / 28)
    d = result.diagnostics
    assert d["method"] == "post-stratification" and d["converged"] and d["max_margin_error"] < 1e-9
    assert d["weight_total"] == pytest.approx(sum(hc.values()))
    w = t["weight"].to_numpy()
    assert d["kish_deff"] == pytest.approx(len(w) * (w**2).sum() / w.sum() ** 2)
    assert d["effective_n"] == pytest.approx(w.sum() ** 2 / (w**2).sum())
    assert d["weight_min"] == pytest.approx(w.min()) and d["weight_max"] == pytest.approx(w.max())
    assert d["merged_cells"] == {"+".join(pool): pool}
    # the design carries the calibration: the weighted county-cell totals have no sampling error
    design = result.design
    cum = (data["county"] == "Cumberland").astype(float).to_numpy()
    assert svymean(design, cum).se < 1e-12


def test_unknown_county_gets_its_own_cell_at_the_average_weight(assessment):
    data = respondents({**GOOD, None: 8, "Atlantis": 2})
    result = weight_officers(data, assessment, "2015")
    t = result.table
    n, total = len(data), float(sum(assessment.config.officer_headcounts.by_county.values()))
    unknown = t["poststratum"] == UNKNOWN_CELL
    assert unknown.sum() == 10
    assert np.allclose(t.loc[unknown, "weight"], total / n)
    assert t["weight"].sum() == pytest.approx(total)
    cum = t.loc[t["poststratum"] == "Cumberland", "weight"].sum()
    assert cum == pytest.approx(560 * (1 - 10 / n))
    assert result.diagnostics["unknown_county"] == {"respondents": 10, "not_a_county": 2, "handling": "own_cell"}


def test_unknown_county_excluded_gets_weight_zero_and_leaves_every_estimate(assessment):
    a = with_weighting(assessment, unknown_county="exclude")
    data = respondents({**GOOD, None: 8})
    result = weight_officers(data, a, "2015")
    t = result.table
    unknown = t["poststratum"] == UNKNOWN_CELL
    assert (t.loc[unknown, "weight"] == 0).all() and not t.loc[unknown, "in_weighting"].any()
    assert t["weight"].sum() == pytest.approx(sum(a.config.officer_headcounts.by_county.values()))
    with pytest.raises(InputError):
        weight_officers(respondents({None: 5}), a, "2015")


def test_raking_to_a_further_margin_converges_and_meets_every_margin(assessment):
    shares = {"Municipal police department": 0.55, "County sheriff's office": 0.2, "Maine State Police": 0.15,
              "Other (e.g., campus, tribal, Marine Patrol, Warden Service)": 0.10}
    a = with_weighting(assessment, margins=[Margin(variable="agency_type", shares=shares)])
    data = respondents(GOOD)
    data.loc[:4, "agency_type"] = None  # some did not answer: held at their post-stratified total
    result = weight_officers(data, a, "2015")
    d = result.diagnostics
    assert d["method"] == "raking" and d["converged"] and d["iterations"] > 1
    assert d["max_margin_error"] < 1e-6
    t = result.table
    total = float(sum(a.config.officer_headcounts.by_county.values()))
    by_cell = t.groupby("poststratum")["weight"].sum()
    assert by_cell["Cumberland"] == pytest.approx(560, rel=1e-8)
    agency = data["agency_type"].fillna("(not answered)").to_numpy()
    w = t["weight"].to_numpy()
    held = w[agency == "(not answered)"].sum()
    for level, share in shares.items():
        assert w[agency == level].sum() == pytest.approx(share * (total - held), rel=1e-8)


def test_raking_margin_level_without_respondents_is_a_clear_error(assessment):
    shares = {"Municipal police department": 0.55, "County sheriff's office": 0.2, "Maine State Police": 0.15,
              "Other (e.g., campus, tribal, Marine Patrol, Warden Service)": 0.10}
    a = with_weighting(assessment, margins=[Margin(variable="agency_type", shares=shares)])
    data = respondents(GOOD)
    data["agency_type"] = data["agency_type"].replace("Maine State Police", "County sheriff's office")
    with pytest.raises(ConfigError, match="absent from the sample"):
        weight_officers(data, a, "2015")


def test_trimming_bounds_the_weights_and_keeps_the_total(assessment):
    a = with_weighting(assessment, trim=Trim(max_ratio_to_mean=1.15))
    counts = dict(GOOD, Washington=3, Waldo=3)
    data = respondents(counts)
    before = weight_officers(data, assessment, "2015").table["weight"]
    result = weight_officers(data, a, "2015")
    w = result.table["weight"]
    assert w.max() <= 1.15 * before.mean() + 1e-9
    assert w.sum() == pytest.approx(before.sum())
    assert result.diagnostics["trimmed"] > 0


def test_stale_stored_weights_are_refused(assessment):
    data = respondents(GOOD)
    stored = weight_officers(data, assessment, "2015").table
    officer_design(data, assessment, stored)  # same weights: fine
    changed = stored.assign(weight=stored["weight"] * 1.01)
    with pytest.raises(ValueError, match="re-materialise"):
        officer_design(data, assessment, changed)
    with pytest.raises(ValueError, match="same respondents"):
        officer_design(data, assessment, stored.iloc[1:])


def test_weighting_config_is_validated(tmp_path):
    cfg = copy_config(tmp_path)

    def bad(d):
        d["weighting"]["margins"] = [{"variable": "experience_band", "shares": {"10 years or less": 0.3,
                                                                                "Over ten": 0.7}}]
        d["weighting"]["min_respondents_per_cell"] = 0
        d["estimates"]["domains"] = ["county", "shoe_size"]

    edit(cfg / "assessment.yaml", bad)
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    assert "weighting.min_respondents_per_cell" in str(err.value)

    def bad_levels(d):
        d["weighting"]["margins"] = [{"variable": "experience_band", "shares": {"10 years or less": 0.3,
                                                                                "Over ten": 0.7}}]
        d["estimates"]["domains"] = ["county", "shoe_size"]

    edit(cfg / "assessment.yaml", lambda d: d["weighting"].update(min_respondents_per_cell=6))
    edit(cfg / "assessment.yaml", bad_levels)
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    text = str(err.value)
    assert "shoe_size" in text and "Over ten" in text and "More than 10 years" in text

    def bad_sum(d):
        d["weighting"]["margins"] = [{"variable": "experience_band",
                                      "shares": {"10 years or less": 0.3, "More than 10 years": 0.6}}]
        d["estimates"]["domains"] = ["county"]

    edit(cfg / "assessment.yaml", bad_sum)
    with pytest.raises(ConfigError, match="sum to 0.9"):
        load_assessment(cfg / "assessment.yaml")


def test_maine_config_weights_by_county_only(assessment):
    w = assessment.config.weighting
    assert isinstance(w, Weighting) and w.margins == [] and w.min_respondents_per_cell >= 1
    assert w.unknown_county == "own_cell"
    raw = yaml.safe_load(assessment.path.read_text())
    assert "weighting" in raw and "estimates" in raw


def test_stored_weights_are_checked_in_any_order(assessment):
    """Stored in the responses' order (the fast, in-place comparison) or shuffled (matched by id),
    and with only the columns the check reads: the same verdicts."""
    data = respondents(GOOD)
    stored = weight_officers(data, assessment, "2015").table
    shuffled = stored.sample(frac=1.0, random_state=3).reset_index(drop=True)
    for table in (stored, shuffled, stored[["respondent_id", "weight"]]):
        officer_design(data, assessment, table)
        with pytest.raises(ValueError, match="re-materialise"):
            officer_design(data, assessment, table.assign(weight=table["weight"] * (1 + 1e-6)))
        with pytest.raises(ValueError, match="same respondents"):
            officer_design(data, assessment, table.iloc[1:])
    renamed = stored.assign(respondent_id=stored["respondent_id"].where(stored.index != 5, "someone else"))
    with pytest.raises(ValueError, match="same respondents"):
        officer_design(data, assessment, renamed)


def _straightforward_cells(responses: pd.DataFrame, assessment: Assessment, result) -> pd.DataFrame:
    """Cells and cell columns worked out row by row with pandas (how weight_officers did it before
    it looked each distinct county answer up once)."""
    headcounts = assessment.config.officer_headcounts.by_county
    raw = responses["county"]
    county = raw.where(raw.isin(set(headcounts)), None).astype(object)
    known = county.notna().to_numpy()
    cells = county_cells(county[known].value_counts().to_dict(), headcounts, assessment.county_group_of,
                         assessment.config.weighting.min_respondents_per_cell) if known.any() else None
    cell = county.map(cells.mapping) if cells is not None else pd.Series([None] * len(raw), dtype=object)
    cell = cell.where(known, UNKNOWN_CELL).astype(object)
    w = result.table["weight"].to_numpy()
    population = {p: o for p, o in zip(result.table["poststratum"], result.table["cell_officers"])}
    totals = pd.Series(w).groupby(cell.to_numpy()).sum()
    return pd.DataFrame({
        "poststratum": cell.astype(str),
        "cell_officers": cell.map(population).astype(float),
        "cell_respondents": cell.map(cell[w > 0].value_counts()).fillna(0).astype(int).astype("int64"),
    }), float(max(abs(totals.get(k, 0.0) - v) for k, v in population.items())), int((raw.notna() & county.isna()).sum())


@pytest.mark.parametrize("handling", ["own_cell", "exclude"])
@pytest.mark.parametrize("min_n", [3, 40])
def test_cells_looked_up_per_distinct_answer_equal_the_row_by_row_computation(assessment, handling, min_n):
    # awkward: missing and NaN counties, answers that are no county (text, a number), counties without
    # respondents, one-respondent counties, merged cells (within and, with min_n=40, across groups)
    counts = {**{c: k for c, k in GOOD.items() if c not in ("Knox", "Waldo")}, "Lincoln": 1, "Washington": 1,
              None: 4, "Nowhere": 3}
    df = respondents(counts, seed=5)
    county = df["county"].astype(object)
    county.iloc[[0, 7]] = np.nan
    county.iloc[9] = 12
    df["county"] = county
    a = with_weighting(assessment, unknown_county=handling, min_respondents_per_cell=min_n)
    result = weight_officers(df, a, "2015")
    expected, margin_error, unplaced = _straightforward_cells(df, a, result)
    pd.testing.assert_frame_equal(result.table[list(expected.columns)], expected, check_exact=True)
    assert result.design.data["poststratum"].tolist() == expected["poststratum"].tolist()
    assert result.diagnostics["max_margin_error"] == margin_error
    assert result.diagnostics["unknown_county"]["not_a_county"] == unplaced == 4


def test_joint_codes_by_hashing_equal_np_unique_numbering():
    from assets.estimates.group_codes import _joint_codes

    rng = np.random.default_rng(3)
    n = 5000
    data = pd.DataFrame({"a": rng.choice(["x", "y", "z", "Ü"], n), "b": rng.integers(0, 7, n),
                         "c": rng.choice([1.5, -2.0, 3.25], n)})
    data.loc[:10, "b"] = 99  # a level only at the top
    for variables in (["a"], ["b"], ["a", "b"], ["c", "a", "b"], []):
        dense, levels = _joint_codes(data, variables)
        # the straightforward numbering: mixed-radix codes of the sorted factorisations, np.unique
        codes = np.zeros(n, dtype=np.int64)
        for v in variables:
            c, u = pd.factorize(data[v].to_numpy(), sort=True)
            codes = codes * len(u) + c
        joint, first = np.unique(codes, return_index=True)
        assert np.array_equal(dense, np.searchsorted(joint, codes)) and dense.dtype == np.int64
        assert levels == [tuple(data[v].iloc[r] for v in variables) for r in first]
