"""Design-based estimators against further R survey 4.1-1 results (domains, deff, small n, ...).

Reference: tests/fixtures/survey/r_survey_extra.R, run with R 4.2.2 / survey 4.1-1 (Debian
r-cran-survey); its output tests/fixtures/survey/r_survey_extra_output.txt prints every number
with 12 significant digits as ``key<TAB>value`` lines, parsed here (R is not needed at test time).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assets.estimates.calibration import post_stratify, rake, trim_weights
from assets.estimates.design import SurveyDesign, degf, weight_diagnostics
from assets.estimates.domains import svyby
from assets.estimates.estimators import svymean, svytotal
from assets.estimates.proportions import CIPROP_METHODS, svyciprop, svyprop
from assets.estimates.glm import svyglm

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "survey"
POP_TYPES = {"E": 4421, "H": 755, "M": 1018}
POP_SCHWIDE = {"No": 1072, "Yes": 5122}
REL = 1e-8  # R printed 12 significant digits


def _load_reference() -> dict[str, float | str]:
    out: dict[str, float | str] = {}
    for line in (FIXTURES / "r_survey_extra_output.txt").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        key, value = line.split("\t")
        out[key] = value.strip() if value.strip() == "ERROR" else float(value)
    return out


R = _load_reference()


def ref(key: str) -> float:
    return float(R[key])


def refs(key: str) -> list[float]:
    values = []
    i = 1
    while f"{key}[{i}]" in R:
        values.append(float(R[f"{key}[{i}]"]))
        i += 1
    assert values, f"no reference values for {key}"
    return values


def close(value: float, expected: float, rel: float = REL, abs_: float = 1e-12) -> bool:
    return math.isclose(value, expected, rel_tol=rel, abs_tol=abs_)


@pytest.fixture(scope="module")
def apistrat() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "apistrat.csv")


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "apiclus1.csv")


@pytest.fixture(scope="module")
def designs(apistrat, apiclus1) -> dict[str, SurveyDesign]:
    dstrat = SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    dclus1 = SurveyDesign(apiclus1, weights="pw", ids="dnum", fpc="fpc")
    return {
        "A": dstrat,
        "B": dclus1,
        "C": post_stratify(dclus1, "stype", POP_TYPES),
        "D": rake(dclus1, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE}, epsilon=1, maxit=10),
    }


def test_reference_file_is_complete():
    assert R["degf.dclus1"] == 14 and len(R) > 350


def test_degrees_of_freedom(designs):
    assert degf(designs["A"]) == ref("degf.dstrat") == 197
    assert degf(designs["B"]) == ref("degf.dclus1")
    assert degf(designs["C"]) == ref("degf.rclus1")


@pytest.mark.parametrize(
    "key, design, fn, var, kind",
    [
        ("A.mean", "A", svymean, "api00", "srswor"),
        ("A.mean.repl", "A", svymean, "api00", "replace"),
        ("A.total", "A", svytotal, "enroll", "srswor"),
        ("A.total.repl", "A", svytotal, "enroll", "replace"),
        ("B.mean", "B", svymean, "api00", "srswor"),
        ("B.mean.repl", "B", svymean, "api00", "replace"),
        ("B.total", "B", svytotal, "enroll", "srswor"),
        ("C.mean", "C", svymean, "api00", "srswor"),
        ("C.total", "C", svytotal, "enroll", "srswor"),
    ],
)
def test_estimate_se_and_design_effect(designs, key, design, fn, var, kind):
    e = fn(designs[design], var, deff=kind)
    assert close(e.estimate, ref(f"{key}.est"))
    assert close(e.se, ref(f"{key}.se"))
    assert close(e.deff, ref(f"{key}.deff"), rel=1e-7)


def test_fpc_as_sampling_fraction_is_the_same_design(apistrat):
    frac = apistrat.groupby("stype")["stype"].transform("size") / apistrat["fpc"]
    d = SurveyDesign(apistrat, weights="pw", strata="stype", fpc=frac)
    e = svymean(d, "api00")
    assert close(e.estimate, ref("A.frac.mean.est"))
    assert close(e.se, ref("A.frac.mean.se"))


def test_categorical_proportions_match_svymean_of_factor(designs):
    table = svyprop(designs["B"], "stype")
    assert list(table["level"]) == ["E", "H", "M"]
    for got, exp in zip(table["estimate"], refs("B.stype.est")):
        assert close(got, exp)
    for got, exp in zip(table["se"], refs("B.stype.se")):
        assert close(got, exp)
    for got, exp in zip(table["deff"], refs("B.stype.deff")):
        assert close(got, exp, rel=1e-7)
    assert list(table["count"]) == [144, 14, 25]


def test_post_stratified_variable_has_no_variance(designs):
    table = svyprop(designs["C"], "stype")
    for got, exp in zip(table["estimate"], refs("C.stype.est")):
        assert close(got, exp)
    assert (table["se"] < 1e-12).all()


@pytest.mark.parametrize(
    "key, design, outcome, by, statistic, has_deff",
    [
        ("by.B.api00.stype", "B", "api00", "stype", "mean", True),
        ("by.A.api00.stype", "A", "api00", "stype", "mean", True),
        ("by.C.api00.compimp", "C", "api00", "comp.imp", "mean", True),
        ("by.B.enroll.stype", "B", "enroll", "stype", "total", True),
        ("by.D.api00.compimp", "D", "api00", "comp.imp", "mean", False),
        ("by.B.api00.stype_awards", "B", "api00", ["stype", "awards"], "mean", False),
    ],
)
def test_svyby_domains_use_full_design(designs, key, design, outcome, by, statistic, has_deff):
    table = svyby(designs[design], outcome, by, statistic=statistic)
    if isinstance(by, list):
        # R orders the interaction stype.awards with the first factor varying fastest
        table = table.sort_values(by[::-1], kind="stable").reset_index(drop=True)
    assert len(table) == len(refs(f"{key}.est"))
    for got, exp in zip(table["estimate"], refs(f"{key}.est")):
        assert close(got, exp)
    for got, exp in zip(table["se"], refs(f"{key}.se")):
        assert close(got, exp)
    if has_deff:
        for got, exp in zip(table["deff"], refs(f"{key}.deff")):
            assert close(got, exp, rel=1e-7)


def test_domain_se_differs_from_naive_subsetting(designs, apiclus1):
    """A subset analysed as if it were the whole sample (R's wrong way) gives another SE."""
    h = apiclus1[apiclus1["stype"] == "H"]
    naive = svymean(SurveyDesign(h, weights="pw", ids="dnum", fpc="fpc"), "api00").se
    full = svymean(designs["B"], "api00", domain={"stype": "H"}).se
    assert close(full, refs("by.B.api00.stype.se")[1])
    assert not close(naive, full, rel=1e-3)


CIPROP_CASES = [
    ("E.level90", "B", lambda d: d["ell"] == 0, None, 0.90),
    ("A.both", "A", lambda d: d["both"] == "Yes", None, 0.95),
    ("C.ell0", "C", lambda d: d["ell"] == 0, None, 0.95),
    ("D.ell0", "D", lambda d: d["ell"] == 0, None, 0.95),
    ("B.H.api700", "B", lambda d: d["api00"] > 700, {"stype": "H"}, 0.95),
    ("C.H.api700", "C", lambda d: d["api00"] > 700, {"stype": "H"}, 0.95),
    ("A.H.awards", "A", lambda d: d["awards"] == "Yes", {"stype": "H"}, 0.95),
]


@pytest.mark.parametrize("method", CIPROP_METHODS)
@pytest.mark.parametrize("key, design, var, domain, level", CIPROP_CASES, ids=[c[0] for c in CIPROP_CASES])
def test_svyciprop_designs_domains_levels(designs, method, key, design, var, domain, level):
    d = designs[design]
    e = svyciprop(d, var(d.data), method=method, domain=domain, level=level)
    # R's logit/likelihood estimate is expit(coef) of a glm stopped at R's tolerance
    assert close(e.estimate, ref(f"{key}.{method}.est"), rel=1e-8)
    lo, hi = refs(f"{key}.{method}.ci")
    assert close(e.ci_low, lo, rel=1e-7)
    assert close(e.ci_high, hi, rel=1e-7)


def test_small_domain_degrees_of_freedom(designs, apiclus1):
    mask = (apiclus1["stype"] == "H").to_numpy()
    assert degf(designs["B"], mask) == ref("degf.B.H") == 7
    e = svyciprop(designs["B"], apiclus1["api00"] > 700, domain=mask)
    assert e.df == 7 and e.n == ref("nrow.B.H") == 14


def test_zero_successes_gives_a_proper_interval_where_r_does_not(designs, apiclus1):
    """R's svyciprop for 0 of 14 returns a degenerate logit interval around 8e-12, fails for
    likelihood and gives NaN for beta; ours falls back to Clopper-Pearson with n_eff = n."""
    assert R["B.H.api800.zero.likelihood"] == "ERROR"
    assert math.isnan(refs("B.H.api800.zero.beta.ci")[0])
    for method in CIPROP_METHODS:
        e = svyciprop(designs["B"], apiclus1["api00"] > 800, method=method, domain={"stype": "H"})
        assert e.estimate == 0 and e.ci_low == 0
        assert 0.1 < e.ci_high < 0.5  # roughly Clopper-Pearson 0/14 (0.23), df-adjusted
        assert e.ci_method.startswith("beta")


@pytest.mark.parametrize("method", CIPROP_METHODS)
def test_svyby_proportions_by_domain(designs, method):
    table = svyby(designs["B"], designs["B"].data["sch.wide"] == "Yes", "stype",
                  statistic="proportion", method=method)
    key = f"by.B.schwide.stype.{method}"
    for col, suffix in [("estimate", "est"), ("ci_low", "lo"), ("ci_high", "hi")]:
        for got, exp in zip(table[col], refs(f"{key}.{suffix}")):
            assert close(got, exp, rel=1e-7)
    assert list(table["n"]) == [144, 14, 25]
    assert list(table["count"]) == [132, 11, 17]


def test_rake_to_tight_tolerance(designs):
    d = rake(designs["B"], {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE})
    assert d.raking.converged and d.raking.max_margin_error < 1e-6
    for fn, var, key in [(svymean, "api00", "Dtight.mean"), (svytotal, "enroll", "Dtight.total")]:
        e = fn(d, var)
        assert close(e.estimate, ref(f"{key}.est"), rel=1e-9)
        assert close(e.se, ref(f"{key}.se"), rel=1e-8)
    lo, hi = refs("Dtight.w.range")
    assert close(d.weights.min(), lo, rel=1e-9) and close(d.weights.max(), hi, rel=1e-9)
    for level, pop in POP_TYPES.items():
        t = svytotal(d, d.data["stype"] == level)
        assert abs(t.estimate - pop) < 1e-6 and t.se < 1e-6


def test_rake_r_defaults_weights_and_margins(designs):
    d = designs["D"]
    q = np.quantile(d.weights, [0, 0.25, 0.5, 0.75, 1])
    for got, exp in zip(q, refs("D.w.quantile")):
        assert close(got, exp, rel=1e-9)
    for level, est in zip(["No", "Yes"], refs("D.schwide.est")):
        assert close(svytotal(d, d.data["sch.wide"] == level).estimate, est, rel=1e-9)
    assert d.raking.iterations == 4 and d.raking.converged and d.raking.delta < 1


def test_rake_stratified_design_with_fpc(designs):
    d = rake(designs["A"], {"sch.wide": POP_SCHWIDE, "awards": {"No": 2400, "Yes": 3794}})
    m, t = svymean(d, "api00"), svytotal(d, "enroll")
    assert close(m.estimate, ref("Astrat.rake.mean.est")) and close(m.se, ref("Astrat.rake.mean.se"))
    assert close(t.estimate, ref("Astrat.rake.total.est")) and close(t.se, ref("Astrat.rake.total.se"))


def test_post_stratify_crossed_variables(designs):
    pop = {("E", "No"): 600, ("H", "No"): 250, ("M", "No"): 222,
           ("E", "Yes"): 3821, ("H", "Yes"): 505, ("M", "Yes"): 796}
    d = post_stratify(designs["B"], ["stype", "sch.wide"], pop)
    m, t = svymean(d, "api00"), svytotal(d, "enroll")
    assert close(m.estimate, ref("PSjoint.mean.est")) and close(m.se, ref("PSjoint.mean.se"))
    assert close(t.estimate, ref("PSjoint.total.est")) and close(t.se, ref("PSjoint.total.se"))
    # an R-style population data frame gives the same design
    frame = pd.DataFrame([(a, b, n) for (a, b), n in pop.items()], columns=["stype", "sch.wide", "Freq"])
    assert np.allclose(post_stratify(designs["B"], ["stype", "sch.wide"], frame).weights, d.weights)


def test_post_stratify_across_design_strata(designs):
    d = post_stratify(designs["A"], "sch.wide", POP_SCHWIDE)
    m = svymean(d, "api00")
    assert close(m.estimate, ref("PSstrat.mean.est")) and close(m.se, ref("PSstrat.mean.se"))
    assert close(m.deff, ref("PSstrat.mean.deff"), rel=1e-7)


def test_trim_weights_like_r(designs):
    d = trim_weights(designs["D"], upper=50)
    lo, hi = refs("trim.w.range")
    assert close(d.weights.min(), lo) and close(d.weights.max(), hi)
    assert close(d.weights.sum(), ref("trim.w.sum"))
    m = svymean(d, "api00")
    assert close(m.estimate, ref("trim.mean.est")) and close(m.se, ref("trim.mean.se"))
    assert weight_diagnostics(d).max == pytest.approx(50)


@pytest.mark.parametrize(
    "key, design, formula, family, subset",
    [
        ("glm.rclus1.qb", "C", "sch.wide ~ ell + mobility", "quasibinomial", None),
        ("glm.dclus1r.gauss", "D", "api00 ~ ell + meals + mobility", "gaussian", None),
        ("glm.dclus1.qb.stype", "B", "sch.wide ~ ell + stype", "quasibinomial", None),
        ("glm.dstrat.qb.H", "A", "sch.wide ~ ell + mobility", "quasibinomial", ("stype", "H")),
    ],
)
def test_svyglm_further_designs(designs, key, design, formula, family, subset):
    d = designs[design]
    mask = None if subset is None else (d.data[subset[0]] != subset[1]).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = svyglm(d, formula, family=family, subset=mask)
    assert fit.reliable and not fit.separation
    for got, exp in zip(fit.coef, refs(f"{key}.coef")):
        assert close(got, exp, rel=1e-8)
    for got, exp in zip(fit.se, refs(f"{key}.se")):
        assert close(got, exp, rel=1e-8)
    for got, exp in zip(fit.p, refs(f"{key}.p")):
        assert close(got, exp, rel=1e-6)
    assert fit.df == ref(f"{key}.df")
    ci = refs(f"{key}.ci")
    k = len(fit.terms)
    table = fit.confint()
    for got, exp in zip(list(table["ci_low"]) + list(table["ci_high"]), ci[:k] + ci[k:]):
        assert close(got, exp, rel=1e-8)


def test_calibrated_simple_random_sample(apistrat):
    srs = SurveyDesign(apistrat, weights="pw")
    ps = post_stratify(srs, "stype", POP_TYPES)
    m = svymean(ps, "api00")
    assert close(m.estimate, ref("SRSps.mean.est")) and close(m.se, ref("SRSps.mean.se"))
    assert close(m.deff, ref("SRSps.mean.deff"), rel=1e-7)
    raked = rake(srs, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE})
    m = svymean(raked, "api00")
    assert close(m.estimate, ref("SRSrake.mean.est")) and close(m.se, ref("SRSrake.mean.se"))
    for key, design in [("glm.srsps.qb", ps), ("glm.srsrake.qb", raked)]:
        fit = svyglm(design, "sch.wide ~ ell + mobility")
        for got, exp in zip(fit.coef, refs(f"{key}.coef")):
            assert close(got, exp)
        for got, exp in zip(fit.se, refs(f"{key}.se")):
            assert close(got, exp)
        assert fit.df == ref(f"{key}.df") == 200 - 1 + 1 - 3
    for method in CIPROP_METHODS:
        e = svyciprop(raked, raked.data["awards"] == "Yes", method=method)
        lo, hi = refs(f"SRSrake.awards.{method}.ci")
        assert close(e.ci_low, lo, rel=1e-7) and close(e.ci_high, hi, rel=1e-7)


@pytest.mark.parametrize("option", ["remove", "certainty", "average", "adjust"])
def test_lonely_psu_options(apistrat, option):
    data = apistrat.assign(stype2=apistrat["stype"].astype(str))
    data.loc[0, "stype2"] = "X"
    d = SurveyDesign(data, weights="pw", strata="stype2", lonely_psu=option)
    for fn, var, stat in [(svymean, "api00", "mean"), (svytotal, "enroll", "total")]:
        e = fn(d, var)
        assert close(e.estimate, ref(f"lonely.{option}.{stat}.est"))
        assert close(e.se, ref(f"lonely.{option}.{stat}.se"))


def test_lonely_psu_fails_by_default(apistrat):
    data = apistrat.assign(stype2=apistrat["stype"].astype(str))
    data.loc[0, "stype2"] = "X"
    d = SurveyDesign(data, weights="pw", strata="stype2")
    with pytest.raises(ValueError, match="only one PSU"):
        svymean(d, "api00")
