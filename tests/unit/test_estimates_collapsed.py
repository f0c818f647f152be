"""A collapsed design (identical rows merged, with frequencies) gives the row-level estimates.

The headline table estimates every cell from cell totals (``SurveyDesign.collapse``); these tests
check on random data that every ``svyciprop`` method agrees with the straightforward row-level
computation to 1e-10, for post-stratified, raked, stratified and fpc designs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from assets.estimates.calibration import post_stratify, rake
from assets.estimates.design import SurveyDesign
from assets.estimates.proportions import CIPROP_METHODS, svyciprop


def _data(seed: int, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "cell": rng.choice(list("ABCDE"), n, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
        "band": rng.choice(["x", "y", "z"], n),
        "stratum": rng.choice(["s1", "s2"], n),
        "dom": rng.choice(["d1", "d2", "d3", "d4"], n, p=[0.5, 0.3, 0.15, 0.05]),
        "y": np.where(rng.random(n) < 0.1, np.nan, (rng.random(n) < 0.3).astype(float)),
        "base": rng.choice([1.0, 2.0, 0.0], n, p=[0.6, 0.35, 0.05]),
    })


def _designs(df: pd.DataFrame):
    pop = {"A": 4000.0, "B": 3000.0, "C": 2500.0, "D": 900.0, "E": 600.0}
    yield "post-stratified", post_stratify(SurveyDesign(df, weights=np.ones(len(df))), "cell", pop)
    ps = post_stratify(SurveyDesign(df, weights="base", strata="stratum"), "cell", pop)
    yield "stratified, zero weights", ps
    yield "fpc", SurveyDesign(df, strata="stratum", fpc=np.where(df["stratum"] == "s1", 9000.0, 5000.0))
    yield "raked", rake(SurveyDesign(df, weights=np.ones(len(df))),
                        {"cell": pop, "band": {"x": 3000.0, "y": 4000.0, "z": 4000.0}}, epsilon=1e-10, maxit=100)


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-10 * max(1.0, abs(a))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_collapsed_design_gives_the_row_level_svyciprop(seed):
    df = _data(seed)
    y = df["y"].to_numpy()
    ystate = np.where(np.isnan(y), 2, y).astype(np.int64)
    dom = pd.factorize(df["dom"])[0]
    for label, design in _designs(df):
        small, rows = design.collapse([ystate, dom])
        assert small.n < design.n / 10 and small.freq.sum() == design.n
        first = np.unique(rows, return_index=True)[1]
        yc = y[first]
        for method in CIPROP_METHODS:
            for level in (None, "d1", "d3", "d4"):
                mask = None if level is None else (df["dom"] == level).to_numpy()
                cmask = None if mask is None else mask[first]
                full = svyciprop(design, y, method=method, domain=mask, na_rm=True)
                grouped = svyciprop(small, yc, method=method, domain=cmask, na_rm=True)
                for field in ("estimate", "se", "ci_low", "ci_high", "deff", "df"):
                    assert _close(getattr(full, field), getattr(grouped, field)), (label, method, level, field)
                assert full.n == grouped.n and full.ci_method == grouped.ci_method


def test_a_domain_with_large_rescaled_weights_gets_the_converged_logit_fit():
    # a small domain of a large calibrated design: svyglm's rescaled weights are ~40, from where
    # the IRLS iteration overshoots; the interval is that of the converged (closed-form) fit
    n = 40_000
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"cell": rng.choice(list("AB"), n), "y": (rng.random(n) < 0.9).astype(float)})
    design = post_stratify(SurveyDesign(df, weights=np.ones(n)), "cell", {"A": 5e4, "B": 5e4})
    mask = np.zeros(n, bool)
    mask[:1000] = True
    est = svyciprop(design, "y", domain=mask)
    w = design.weights[:1000]
    p = float((w * df["y"][:1000]).sum() / w.sum())
    assert est.estimate == pytest.approx(p) and est.ci_low < p < est.ci_high


@pytest.mark.parametrize("seed", [4, 5])
def test_collapsed_design_gives_the_row_level_svymean_and_svyglm(seed):
    from assets.estimates.estimators import svymean, svytotal
    from assets.estimates.glm import svyglm

    df = _data(seed)
    df["band_cat"] = pd.Categorical(df["band"], categories=["z", "x", "y"])
    df["empty_cat"] = pd.Categorical(df["dom"].where(df["dom"] != "d4", "d1"), categories=["d1", "d2", "d3", "d4"])
    y = df["y"].to_numpy()
    ystate = np.where(np.isnan(y), 2, y).astype(np.int64)
    keys = [ystate, pd.factorize(df["dom"])[0], pd.factorize(df["band"])[0], pd.factorize(df["cell"])[0]]
    for label, design in _designs(df):
        small, rows = design.collapse(keys)
        first = small.source_rows
        for fn in (svymean, svytotal):
            for level in (None, "d2"):
                mask = None if level is None else (df["dom"] == level).to_numpy()
                full = fn(design, y, domain=mask, na_rm=True)
                grouped = fn(small, y[first], domain=None if mask is None else mask[first], na_rm=True)
                for field in ("estimate", "se", "ci_low", "ci_high", "deff", "df"):
                    assert _close(getattr(full, field), getattr(grouped, field)), (label, fn, level, field)
        for formula in ("y ~ band_cat + dom", "y ~ empty_cat + cell"):
            full = svyglm(design, formula)
            grouped = svyglm(small, formula)
            assert full.terms == grouped.terms and full.aliased == grouped.aliased and full.n == grouped.n
            assert full.iterations == grouped.iterations and full.reliable == grouped.reliable
            for field in ("raw_coef", "raw_se", "p"):
                np.testing.assert_allclose(getattr(grouped, field), getattr(full, field), rtol=1e-10, atol=1e-12)
            assert _close(full.deviance, grouped.deviance) and full.df == grouped.df


@pytest.mark.parametrize("direct", [True, False])
def test_combined_codes_are_numbered_as_pd_factorize_numbers_them(direct, monkeypatch):
    """combine_codes / collapse number cells by first appearance without hashing when the code space
    is small (an array over it), by pd.factorize otherwise: the same numbers and first rows."""
    from assets.estimates import group_codes

    if not direct:
        monkeypatch.setattr(group_codes, "_DIRECT_NUMBERING", 0)
    rng = np.random.default_rng(11)
    n = 4000
    a = rng.integers(0, 5, n)
    b = rng.choice([0.5, np.nan, 2.0], n)
    c = rng.integers(0, 1000, n)  # most combinations absent
    for arrays, sizes in [([a], [5]), ([a, b], [5, None]), ([b, c, a], [None, 1000, 5]), ([c], None),
                          ([a[:1]], [5]), ([a[:0]], [5]), ([a - 1], [5])]:  # codes below 0: hashed
        dense, k = group_codes.combine_codes(arrays, sizes)
        key = list(zip(*[np.asarray(x).tolist() for x in arrays])) if len(arrays[0]) else []
        expected, uniques = pd.factorize(pd.Series(key, dtype=object)) if key else (np.zeros(0, np.int64), [])
        assert np.array_equal(dense, expected) and k == len(uniques) and dense.dtype == np.int64
    df = _data(5)
    for _, d in _designs(df):
        keys = [df["y"].to_numpy(), pd.factorize(df["dom"])[0]]
        collapsed, inverse = d.collapse(keys, [None, 4])
        pattern, _ = d.pattern_codes()
        rows = pd.Series(list(zip(pattern.tolist(), *[pd.factorize(k, use_na_sentinel=False)[0].tolist() for k in keys])))
        expected, _ = pd.factorize(rows)
        assert np.array_equal(inverse, expected)
        assert np.array_equal(collapsed.source_rows, np.flatnonzero(~pd.Series(expected).duplicated().to_numpy()))
        assert np.array_equal(collapsed.freq, np.bincount(expected).astype(float))
