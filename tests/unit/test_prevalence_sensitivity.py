"""Sensitivity table and the JSON result object."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from assets.prevalence.mse_selection import estimate_population
from assets.prevalence.overlap import read_overlap_csv
from assets.prevalence.results import PrevalenceEstimate
from assets.prevalence.sensitivity import sensitivity_table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "mse"


@pytest.fixture(scope="module")
def western_table() -> pd.DataFrame:
    return sensitivity_table(read_overlap_csv(FIXTURES / "western_5lists.csv"))


def test_sensitivity_rows(western_table: pd.DataFrame) -> None:
    t = western_table.set_index("scenario")
    for thr in ("0.001", "0.01", "0.02", "0.05"):
        row = t.loc[f"stepwise AIC, p < {thr}"]
        assert row["model"] == "A:E"
        assert row["estimate"] == pytest.approx(2483.384, abs=5e-4)
    assert t.loc["stepwise AIC, p < 0.02", "ci_low"] == pytest.approx(1657.094, abs=5e-4)
    assert t.loc["stepwise BIC", "model"] == "A:E"
    indep = t.loc["independence (main effects only)"]
    assert indep["model"] == "(main effects)"
    assert indep["estimate"] < 2483.384  # ignoring A:E dependence lowers the estimate
    assert indep["ci_low"] < indep["estimate"] < indep["ci_high"]


def test_leave_one_list_out(western_table: pd.DataFrame) -> None:
    t = western_table.set_index("scenario")
    only_on = {"A": 52, "B": 90, "C": 114, "D": 45, "E": 21}  # single-list counts in the CSV
    for name, n_only in only_on.items():
        row = t.loc[f"without list {name}"]
        assert row["observed"] == 345 - n_only
        assert name not in row["lists"].split(",")
        assert len(row["lists"].split(",")) == 4
        assert row["exists"] and row["estimate"] > row["observed"]
    assert len(western_table) == 4 + 1 + 1 + 1 + 5


def test_sensitivity_reports_nonexistence_without_a_number() -> None:
    # every case is on list A, so nothing estimates how many are missed by A; and without A,
    # lists B and C do not overlap (Lincoln-Petersen with m = 0)
    sparse = pd.DataFrame(
        {"A": [1, 1, 1], "B": [0, 1, 0], "C": [0, 0, 1], "count": [5, 3, 2]}
    )
    t = sensitivity_table(sparse)
    assert len(t) == 4 + 1 + 1 + 1 + 3
    assert set(t["exists"]) == {False}
    assert t["estimate"].isna().all()
    assert t["note"].str.contains("does not exist").all()


def test_result_to_dict_is_json_ready() -> None:
    est = PrevalenceEstimate(
        observed=10, estimate=12.5, ci_low=11.0, ci_high=math.inf, model=("A:B",), method="m"
    )
    d = est.to_dict()
    assert d == {"observed": 10, "estimate": 12.5, "ci_low": 11.0, "ci_high": None,
                 "model": ["A:B"], "method": "m"}
    assert json.loads(json.dumps(d)) == d
    assert set(est.to_dict(details=True)) >= {"level", "lists", "exists", "note"}


def test_estimate_population_interval_options() -> None:
    hiv = read_overlap_csv(FIXTURES / "hiv_4lists.csv")
    prof = estimate_population(hiv, selection="fixed", interactions=["c1:c2"],
                               interval="profile")
    assert prof.ci_low == pytest.approx(10266.0, abs=0.05)
    assert prof.ci_high == pytest.approx(14992.3, abs=0.05)
    assert prof.model == ("c1:c2",)
    assert prof.extra["multinomial_estimate"] == pytest.approx(12308.0, abs=0.05)
    boot = estimate_population(hiv, selection="independence", interval="bootstrap", n_boot=200,
                               seed=1)
    assert boot.model == () and boot.ci_low < boot.estimate < boot.ci_high
    assert "bootstrap" in boot.method
