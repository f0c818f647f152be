"""Survey design, calibration and weight tools (assets/estimates/design.py and calibration.py): properties and rules.

R reference numbers for these functions are in test_estimates_reference.py and
test_estimates_extra_reference.py; this file checks invariants on synthetic data and the
documented rules (collapsing small post-strata, trimming, diagnostics, input validation).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.estimates.calibration import collapse_poststrata, post_stratify, rake, trim_weights
from assets.estimates.design import SurveyDesign, degf, svydesign, svyrecvar, weight_diagnostics
from assets.estimates.estimators import svymean, svytotal


def synthetic(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "region": rng.choice(["north", "south", "east", "west"], size=n, p=[0.4, 0.3, 0.2, 0.1]),
        "agency": rng.choice(["state", "county", "municipal"], size=n),
        "psu": rng.integers(0, 40, size=n),
        "w": rng.uniform(1, 5, size=n),
        "y": rng.normal(10, 3, size=n),
        "b": rng.random(size=n) < 0.3,
    })


# ---------------------------------------------------------------------------------------------
# post-stratification and raking properties
# ---------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    pops=st.lists(st.floats(min_value=1, max_value=1e6), min_size=4, max_size=4),
)
def test_post_stratified_weights_sum_to_population(seed, pops):
    data = synthetic(300, seed)
    population = dict(zip(["north", "south", "east", "west"], pops))
    d = post_stratify(SurveyDesign(data, weights="w"), "region", population)
    sums = pd.Series(d.weights).groupby(data["region"].to_numpy()).sum()
    for level, pop in population.items():
        assert sums[level] == pytest.approx(pop, rel=1e-12)
    # the estimated total of each post-stratum indicator has (numerically) zero variance
    for level in population:
        assert svytotal(d, data["region"] == level).se < 1e-7 * max(pops)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    region=st.lists(st.integers(50, 5000), min_size=4, max_size=4),
    agency=st.lists(st.floats(0.1, 1.0), min_size=3, max_size=3),
)
def test_rake_converges_to_margins(seed, region, agency):
    data = synthetic(400, seed)
    total = sum(region)
    pop_region = dict(zip(["north", "south", "east", "west"], region))
    pop_agency = dict(zip(["state", "county", "municipal"], np.array(agency) / sum(agency) * total))
    d = rake(SurveyDesign(data, weights="w", ids="psu"), {"region": pop_region, "agency": pop_agency})
    report = d.raking
    assert report.converged
    assert report.max_margin_error < 1e-6 * total
    for var, pop in [("region", pop_region), ("agency", pop_agency)]:
        sums = pd.Series(d.weights).groupby(data[var].to_numpy()).sum()
        for level, value in pop.items():
            assert sums[level] == pytest.approx(value, rel=1e-8)


def test_rake_reports_non_convergence():
    data = synthetic(400)
    margins = {"region": {"north": 100, "south": 200, "east": 300, "west": 400},
               "agency": {"state": 700, "county": 200, "municipal": 100}}
    with pytest.warns(RuntimeWarning, match="did not converge"):
        d = rake(SurveyDesign(data, weights="w"), margins, maxit=1)
    assert not d.raking.converged and d.raking.iterations == 1 and d.raking.max_margin_error > 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rake(SurveyDesign(data, weights="w"), margins, maxit=1, warn=False)


def test_rake_epsilon_semantics_follow_r():
    data = synthetic(400)
    margins = {"region": {"north": 100, "south": 200, "east": 300, "west": 400},
               "agency": {"state": 700, "county": 200, "municipal": 100}}
    base = SurveyDesign(data, weights="w")
    loose = rake(base, margins, epsilon=1, maxit=10)  # absolute, in weight units
    tight = rake(base, margins)  # 1e-10 of the total weight
    assert loose.raking.epsilon == 1 and tight.raking.epsilon == pytest.approx(1e-10 * data["w"].sum())
    assert tight.raking.iterations > loose.raking.iterations
    assert tight.raking.max_margin_error < 1e-6 < loose.raking.max_margin_error


def test_single_margin_rake_equals_post_stratification():
    data = synthetic(500)
    pop = {"north": 1000, "south": 800, "east": 600, "west": 100}
    base = SurveyDesign(data, weights="w", ids="psu")
    assert np.allclose(post_stratify(base, "region", pop).weights, rake(base, {"region": pop}).weights)
    # R's raking variance residualises with unweighted post-stratum means of x / w and its
    # post-stratification variance with old-weight-weighted ones: identical for equal base weights
    equal = SurveyDesign(data, ids="psu")
    ps, rk = post_stratify(equal, "region", pop), rake(equal, {"region": pop})
    assert svymean(ps, "y").se == pytest.approx(svymean(rk, "y").se, rel=1e-10)


def test_post_stratify_errors_and_partial():
    data = synthetic(200)
    d = SurveyDesign(data, weights="w")
    with pytest.raises(ValueError, match="absent from the population"):
        post_stratify(d, "region", {"north": 1, "south": 1, "east": 1})
    pop = {"north": 1, "south": 1, "east": 1, "west": 1, "island": 5}
    with pytest.raises(ValueError, match="absent from the sample"):
        post_stratify(d, "region", pop)
    with pytest.warns(UserWarning, match="ignored"):
        ps = post_stratify(d, "region", pop, partial=True)
    assert ps.weights.sum() == pytest.approx(4)


# ---------------------------------------------------------------------------------------------
# collapsing small post-strata
# ---------------------------------------------------------------------------------------------


def test_collapse_ordered_merges_with_smaller_neighbour():
    counts = {"18-24": 2, "25-34": 40, "35-44": 30, "45-54": 3, "55-64": 9, "65+": 1}
    pop = {k: 100.0 for k in counts}
    order = list(counts)
    res = collapse_poststrata(counts, pop, 5, order=order)
    # 65+ (1) merges with its only neighbour 55-64; then 18-24 (2) with 25-34; then 45-54 (3)
    # with its smaller neighbour, 55-64+65+ (10 respondents) rather than 35-44 (30)
    assert res.mapping["65+"] == res.mapping["55-64"]
    assert res.mapping["18-24"] == res.mapping["25-34"] == "18-24+25-34"
    assert res.mapping["45-54"] == res.mapping["55-64"] == "45-54+55-64+65+"
    assert res.mapping["35-44"] == "35-44"
    assert all(v >= 5 for v in res.sample_counts.values())
    assert sum(res.population.values()) == pytest.approx(600)


def test_collapse_unordered_pools_into_other():
    counts = {"a": 50, "b": 40, "c": 2, "d": 1, "e": 10}
    res = collapse_poststrata(counts, {k: 1.0 for k in counts}, 5)
    assert res.mapping == {"a": "a", "b": "b", "c": "Other", "d": "Other", "e": "Other"}
    assert res.sample_counts == {"a": 50, "b": 40, "Other": 13}
    res = collapse_poststrata({"a": 50, "b": 40, "c": 7, "d": 1}, {k: 1.0 for k in "abcd"}, 5)
    assert res.mapping["d"] == res.mapping["c"] == "Other" and res.mapping["a"] == "a"


def test_collapse_level_missing_from_sample():
    res = collapse_poststrata({"a": 50, "b": 40}, {"a": 1.0, "b": 1.0, "c": 2.0}, 5, other_label="rest")
    assert res.mapping["c"] == res.mapping["b"] == "rest"
    assert res.population["rest"] == 3.0


def test_post_stratify_with_min_n_collapses_and_calibrates():
    data = synthetic(120, seed=3)
    counts = data["region"].value_counts()
    assert counts.min() < 20
    pop = {"north": 4000, "south": 3000, "east": 2000, "west": 1000}
    d = post_stratify(SurveyDesign(data, weights="w"), "region", pop, min_n=20)
    step = d.calibration[-1]
    assert step.collapsed is not None and len(step.levels) < 4
    group_sums = pd.Series(d.weights).groupby(data["region"].map(step.collapsed).to_numpy()).sum()
    for label, total in group_sums.items():
        assert total == pytest.approx(sum(pop[k] for k, v in step.collapsed.items() if v == label))


# ---------------------------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------------------------


def test_weight_diagnostics_kish():
    d = SurveyDesign(pd.DataFrame({"w": [1.0, 1.0, 2.0, 4.0, 0.0]}), weights="w")
    wd = weight_diagnostics(d)
    assert wd.n == 4 and wd.n_zero == 1 and wd.total == 8
    assert wd.kish_deff == pytest.approx(4 * 22 / 64)
    assert wd.kish_deff == pytest.approx(1 + wd.cv**2)
    assert wd.n_effective == pytest.approx(64 / 22)
    assert wd.ratio_max_min == 4 and wd.min == 1 and wd.max == 4


def test_trim_weights_strict_and_total_preserved():
    rng = np.random.default_rng(5)
    w = rng.lognormal(0, 1, size=500)
    d = SurveyDesign(pd.DataFrame({"w": w}), weights="w")
    t = trim_weights(d, upper=5, strict=True)
    assert t.weights.max() <= 5 + 1e-12
    assert t.weights.sum() == pytest.approx(w.sum())
    once = trim_weights(d, upper=5)
    assert once.weights.sum() == pytest.approx(w.sum())
    assert np.array_equal(trim_weights(d, upper=1e9).weights, w)


# ---------------------------------------------------------------------------------------------
# design construction and variance
# ---------------------------------------------------------------------------------------------


def test_srs_variance_matches_textbook_formula():
    rng = np.random.default_rng(9)
    y = rng.normal(size=50)
    data = pd.DataFrame({"y": y, "fpc": 500})
    d = svydesign(data, fpc="fpc")  # weights N/n from the fpc, as R
    assert np.allclose(d.weights, 10)
    e = svymean(d, "y")
    assert e.se == pytest.approx(math.sqrt((1 - 50 / 500) * y.var(ddof=1) / 50), rel=1e-12)
    assert svymean(SurveyDesign(data), "y").se == pytest.approx(y.std(ddof=1) / math.sqrt(50))


def test_clusters_must_nest_in_strata_unless_nest():
    data = pd.DataFrame({"s": [1, 1, 2, 2], "c": [1, 2, 1, 2], "y": [1.0, 2, 3, 4]})
    with pytest.raises(ValueError, match="not nested"):
        SurveyDesign(data, strata="s", ids="c")
    d = SurveyDesign(data, strata="s", ids="c", nest=True)
    assert d.n_psu_total == 4 and degf(d) == 2


def test_input_validation():
    data = pd.DataFrame({"w": [1.0, -1.0], "f": [0.5, 10]})
    with pytest.raises(ValueError, match="non-negative"):
        SurveyDesign(data, weights="w")
    with pytest.raises(ValueError, match="fpc"):
        SurveyDesign(data.assign(w=1.0), weights="w", fpc="f")
    with pytest.raises(KeyError):
        SurveyDesign(data, weights="nope")
    with pytest.raises(ValueError, match="missing"):
        SurveyDesign(pd.DataFrame({"s": ["a", None]}), strata="s")


def test_svyrecvar_is_vectorised_over_columns():
    data = synthetic(300)
    d = post_stratify(SurveyDesign(data, weights="w", ids="psu"), "region",
                      {"north": 40, "south": 30, "east": 20, "west": 10})
    x = np.column_stack([d.weights * data["y"], d.weights * data["b"]])
    v = svyrecvar(d, x)
    assert v.shape == (2, 2) and np.allclose(v, v.T)
    assert v[0, 0] == pytest.approx(svytotal(d, "y").se ** 2)
    assert v[1, 1] == pytest.approx(svytotal(d, "b").se ** 2)
