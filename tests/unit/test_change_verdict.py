"""A change's interval, p-value and verdict come from one rule and never disagree; p and signs print cleanly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assets.estimates.trends import change_between
from assets.publication.trends import published_p_values
from assets.report.site import _p_value, _points


def _wave(estimate: float, n: int) -> dict:
    """A wave's share with its Wilson interval and the binomial SE."""
    z = 1.959964
    centre = (estimate + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(estimate * (1 - estimate) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"estimate": estimate, "ci_low": centre - half, "ci_high": centre + half,
            "se": math.sqrt(estimate * (1 - estimate) / n)}


def test_the_verdict_is_called_exactly_when_p_is_below_the_level():
    rng = np.random.default_rng(19)
    disagreements_before = 0
    for _ in range(2000):
        n1, n2 = (int(x) for x in rng.integers(20, 400, 2))
        p1, p2 = (float(x) for x in rng.uniform(0.02, 0.98, 2))
        earlier, later = _wave(round(p1 * n1) / n1, n1), _wave(round(p2 * n2) / n2, n2)
        ch = change_between(later, earlier)
        called = ch["direction"] != "no clear change"
        assert called == (ch["p_value"] < 0.05), ch
        assert called == (ch["ci_low"] > 0 or ch["ci_high"] < 0), ch
        if called:
            assert (ch["direction"] == "up") == (ch["change"] > 0)
        # the Wald test the p-value used to come from disagrees with the interval on some of these
        from scipy.stats import norm

        wald = 2 * norm.sf(abs(ch["change"]) / ch["se"])
        disagreements_before += (wald < 0.05) != called
    assert disagreements_before > 0  # the case the issue reported ("-9 (-17 to +0), p = 0.046: no clear change")


def test_published_p_is_not_rounded_across_the_threshold():
    p = np.array([0.0496, 0.0496, 0.0004, 0.2345])
    direction = np.array(["down", "no clear change", "up", "no clear change"])
    out = published_p_values(p, direction)
    assert list(out) == [0.049, 0.05, 0.0, 0.235]


def test_p_values_and_signed_points_print_cleanly():
    assert _p_value(0.0) == "p < 0.001" and _p_value(0.0004) == "p < 0.001"
    assert _p_value(0.046) == "p = 0.046" and _p_value(float("nan")) == ""
    assert _points(-0.004) == "0" and _points(0.004) == "0" and _points(-0.09) == "-9" and _points(0.12) == "+12"
