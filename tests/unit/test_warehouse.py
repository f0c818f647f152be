"""The DuckDB warehouse: one slice per wave, replaced whole, never duplicated, owner-only file."""

from __future__ import annotations

import stat

import duckdb
import pandas as pd
import pytest

from pipelines import warehouse


def wave_rows(wave: str, n: int, **extra) -> pd.DataFrame:
    return pd.DataFrame({"wave": wave, "respondent": range(n), "score": [0.5] * n, **extra})


def count(path, table, wave=None):
    with duckdb.connect(str(path)) as con:
        q = f"SELECT count(*) FROM {warehouse.SCHEMA}.{table}" + (f" WHERE wave = '{wave}'" if wave else "")
        return con.execute(q).fetchone()[0]


def test_rewriting_a_wave_replaces_it_and_leaves_other_waves(tmp_path):
    db = tmp_path / "a.duckdb"
    warehouse.replace_wave(db, "officer_responses", "2015", wave_rows("2015", 5))
    warehouse.replace_wave(db, "officer_responses", "2016", wave_rows("2016", 7))
    warehouse.replace_wave(db, "officer_responses", "2015", wave_rows("2015", 3))
    warehouse.replace_wave(db, "officer_responses", "2015", wave_rows("2015", 3))
    assert count(db, "officer_responses", "2015") == 3
    assert count(db, "officer_responses", "2016") == 7
    assert len(warehouse.read_wave(db, "officer_responses", "2016")) == 7


def test_a_later_wave_may_add_columns(tmp_path):
    db = tmp_path / "a.duckdb"
    warehouse.replace_wave(db, "t", "2015", wave_rows("2015", 2))
    warehouse.replace_wave(db, "t", "2016", wave_rows("2016", 2, new_item=["x", "y"]))
    old = warehouse.read_wave(db, "t", "2015")
    assert old["new_item"].isna().all()
    assert list(warehouse.read_wave(db, "t", "2016")["new_item"]) == ["x", "y"]


def test_a_failed_write_leaves_the_previous_wave_intact(tmp_path):
    db = tmp_path / "a.duckdb"
    warehouse.replace_wave(db, "t", "2015", wave_rows("2015", 4))
    bad = wave_rows("2015", 2)
    bad["score"] = ["not a number", "x"]  # cannot go into the DOUBLE column
    with pytest.raises(duckdb.Error):
        warehouse.replace_wave(db, "t", "2015", bad)
    assert count(db, "t", "2015") == 4


def test_rows_of_another_wave_are_refused(tmp_path):
    with pytest.raises(ValueError, match="another wave"):
        warehouse.replace_wave(tmp_path / "a.duckdb", "t", "2015", wave_rows("2016", 1))


def test_file_is_readable_by_owner_only(tmp_path):
    db = tmp_path / "a.duckdb"
    warehouse.replace_wave(db, "t", "2015", wave_rows("2015", 1))
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_table_names_are_checked(tmp_path):
    with pytest.raises(ValueError):
        warehouse.replace_wave(tmp_path / "a.duckdb", "t; DROP TABLE x", "2015", wave_rows("2015", 1))


def test_several_waves_are_read_in_one_query_as_wave_by_wave_reads(tmp_path):
    db = tmp_path / "w.duckdb"
    warehouse.replace_wave(db, "t", "2016", wave_rows("2016", 3))
    warehouse.replace_wave(db, "t", "2015", wave_rows("2015", 4))
    both = warehouse.read_waves(db, "t", ["2015", "2016", "2017"])
    one_by_one = pd.concat([warehouse.read_wave(db, "t", w) for w in ["2015", "2016"]], ignore_index=True)
    pd.testing.assert_frame_equal(both, one_by_one)
    assert warehouse.read_waves(db, "missing", ["2015"]).empty


def test_text_columns_are_stored_with_missing_values_as_null(tmp_path):
    db = tmp_path / "x.duckdb"
    frame = wave_rows("2015", 4, text=["a", None, float("nan"), "d"], mixed=[1, "b", None, True])
    warehouse.replace_wave(db, "t", "2015", frame)
    back = warehouse.read_wave(db, "t", "2015")
    assert back["text"].tolist() == ["a", None, None, "d"]
    assert back["mixed"].tolist() == ["1", "b", None, "True"]
