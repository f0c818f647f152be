"""`htna simulate-sae`: runs at a tiny size and writes the table and plot; the shipped study meets the targets."""

import json
from pathlib import Path

import pandas as pd

from assets.models.sae_study import BANDS, ESTIMATORS, TARGETS
from pipelines.cli import main

SHIPPED = Path(__file__).parents[2] / "docs" / "benchmarks" / "sae-simulation.json"


def test_command_writes_table_and_plot(tmp_path, capsys):
    assert main(["simulate-sae", "--states", "6", "--seed", "3", "--unit-level-states", "1",
                 "--unit-level-bootstrap", "3", "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "sae-simulation.json").read_text())
    table = pd.read_csv(tmp_path / "sae-simulation.csv")
    assert len(table) == len(ESTIMATORS) * len(BANDS)
    assert set(table["estimator"]) == set(ESTIMATORS)
    assert list(table["band"].astype(str).unique()) == [b for b, *_ in BANDS]
    per = table.groupby("estimator")["counties"].sum()
    assert per.drop("unit_level").eq(6 * 16).all() and per["unit_level"] == 16
    # the direct estimate exists only where there are respondents
    assert table.loc[(table["estimator"] == "direct") & (table["band"].astype(str) == "0"), "estimated"].iloc[0] == 0
    svg = (tmp_path / "sae-simulation.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<circle") >= 3 * 4 + 4
    assert doc["states"] == 6 and "targets met" in capsys.readouterr().out


def test_bad_arguments_are_refused_without_traceback(tmp_path, capsys):
    assert main(["simulate-sae", "--states", "0", "--out", str(tmp_path)]) == 2
    assert "--states" in capsys.readouterr().err


def test_shipped_study_meets_the_targets():
    doc = json.loads(SHIPPED.read_text())
    assert doc["states"] >= 1000 and doc["unit_level_states"] >= 100
    rows = pd.DataFrame(doc["summary"])
    for band, *_ in BANDS:
        d = rows[(rows["estimator"] == "default") & (rows["band"] == band)].iloc[0]
        r = rows[(rows["estimator"] == "direct") & (rows["band"] == band)].iloc[0]
        assert d["estimated"] > 0.95 * d["counties"]
        assert TARGETS["coverage_low"] <= d["coverage"] <= TARGETS["coverage_high"], band
        if r["estimated"] > 0:
            assert d["rmse"] <= r["rmse"], band
    assert (SHIPPED.parent / "sae-simulation.svg").exists()
    assert "sae-simulation" in (SHIPPED.parents[2] / "BENCHMARKS.md").read_text()
