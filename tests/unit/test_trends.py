"""Change between waves: the interval is Newcombe's for unweighted shares; known changes are found."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from assets.estimates.intervals import wilson_interval
from assets.estimates.trends import indicator_trends


def row(wave, x, n, indicator="trained_sex", suppressed=False):
    p = x / n
    lo, hi = wilson_interval(x, n)
    return {"wave": wave, "indicator": indicator, "label": indicator, "domain": "all", "level": "All officers",
            "weighted": False, "n": n, "estimate": p, "se": math.sqrt(p * (1 - p) / n), "ci_low": lo,
            "ci_high": hi, "suppressed": suppressed}


def test_interval_is_newcombes_hybrid_score_interval():
    table = pd.DataFrame([row("2015", 92, 180), row("2016", 70, 175)])
    t = indicator_trends(table).iloc[0]
    ref_low, ref_high = confint_proportions_2indep(70, 175, 92, 180, method="newcomb", compare="diff")
    assert t["ci_low"] == pytest.approx(ref_low, abs=1e-10)
    assert t["ci_high"] == pytest.approx(ref_high, abs=1e-10)
    assert t["change"] == pytest.approx(70 / 175 - 92 / 180)


def test_known_change_is_detected_and_no_change_is_not_flagged():
    rng = np.random.default_rng(20151)
    n = 1500
    rows = []
    for wave, p_changed in [("2015", 0.51), ("2016", 0.51), ("2017", 0.60)]:
        rows.append(row(wave, int(rng.binomial(n, p_changed)), n, "trained_sex"))
        rows.append(row(wave, int(rng.binomial(n, 0.39)), n, "trained_labor"))
    trends = indicator_trends(pd.DataFrame(rows)).set_index(["indicator", "wave", "comparison"])
    assert trends.loc[("trained_sex", "2017", "previous wave"), "direction"] == "up"
    assert trends.loc[("trained_sex", "2017", "first wave"), "direction"] == "up"
    assert trends.loc[("trained_sex", "2016", "previous wave"), "direction"] == "no clear change"
    labor = trends.loc["trained_labor"]
    assert (labor["direction"] == "no clear change").all()
    assert len(trends) == 6  # 2016 vs 2015; 2017 vs 2016 and vs 2015; for two indicators


def test_suppressed_cells_are_never_compared_and_later_waves_are_ignored():
    table = pd.DataFrame([row("2015", 3, 5, suppressed=True), row("2016", 40, 80), row("2017", 50, 80)])
    trends = indicator_trends(table, up_to_wave="2016")
    assert trends.empty  # 2015 suppressed, 2017 is after the wave being reported
    trends = indicator_trends(table, up_to_wave="2017")
    assert list(trends["compared_with"]) == ["2016"]
