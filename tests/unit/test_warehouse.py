"""The DuckDB warehouse: one slice per wave, replaced whole, never duplicated, owner-only file."""

from __future__ import annotations

import stat

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines import warehouse
from pipelines.errors import WarehouseError


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


def test_a_wave_can_be_read_with_only_the_columns_an_asset_uses(tmp_path):
    db = tmp_path / "c.duckdb"
    warehouse.replace_wave(db, "t", "2015", wave_rows("2015", 3, text=["a", "b", "c"]))
    narrow = warehouse.read_wave(db, "t", "2015", columns=["text", "wave", "not_stored"])
    assert list(narrow.columns) == ["wave", "text"] and narrow["text"].tolist() == ["a", "b", "c"]
    assert list(warehouse.read_wave(db, "t", "2015").columns) == ["wave", "respondent", "score", "text"]


def test_the_io_manager_reads_the_columns_named_by_an_inputs_role(tmp_path):
    import dagster as dg

    from pipelines.resources import AssessmentSettings, WarehouseIOManager

    db = tmp_path / "r.duckdb"
    warehouse.replace_wave(db, "accepted_officer_responses", "2015",
                           wave_rows("2015", 2, respondent_id=["a", "b"], source_row=[3, 4], county=["York", None],
                                     comments=["x", "y"]))
    manager = WarehouseIOManager(settings=AssessmentSettings(warehouse=str(db)))
    context = dg.build_input_context(asset_key=dg.AssetKey("accepted_officer_responses"), partition_key="2015",
                                     definition_metadata={"htna/columns": "weighting"})
    frame = manager.load_input(context)
    assert list(frame.columns) == ["wave", "respondent_id", "source_row", "county"]
    warehouse.replace_wave(db, "officer_weights", "2015",
                           wave_rows("2015", 2, respondent_id=["a", "b"], source_row=[3, 4], weight=[1.5, 2.5]))
    context = dg.build_input_context(asset_key=dg.AssetKey("officer_weights"), partition_key="2015",
                                     definition_metadata={"htna/columns": "weights"})
    assert list(manager.load_input(context).columns) == ["respondent_id", "weight"]


def _mixed_frame(wave: str, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    text = np.array(["Agree", "Disagree", None, "Ça va", ""], dtype=object)
    counts = rng.integers(0, 5, n).astype(float)
    counts[rng.random(n) < 0.2] = np.nan
    return pd.DataFrame({
        "wave": wave, "source_row": np.arange(2, 2 + n, dtype="int64"),
        "respondent_id": [f"r{i}" for i in rng.permutation(n)],
        "answer": text[rng.integers(0, len(text), n)], "count": counts,
        "score": rng.normal(size=n), "flag": rng.random(n) < 0.5,
        "started": pd.Timestamp("2015-03-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
    })


def test_rows_copied_inside_the_warehouse_equal_the_frame_written_from_pandas(tmp_path, monkeypatch):
    """RowsOf (accepted = a stored table minus quarantined rows, copied by INSERT ... SELECT) stores
    exactly what writing the same rows from pandas stores: values, order, column types, other waves."""
    for seed in range(3):
        a, b = tmp_path / f"a{seed}.duckdb", tmp_path / f"b{seed}.duckdb"
        for db in (a, b):
            warehouse.replace_wave(db, "source", "2015", _mixed_frame("2015", 500, seed))
            warehouse.replace_wave(db, "source", "2016", _mixed_frame("2016", 50, seed + 10))
            warehouse.replace_wave(db, "accepted", "2016", wave_rows("2016", 3, source_row=[1, 2, 3]))
        read = warehouse.read_wave(a, "source", "2015")
        rng = np.random.default_rng(seed)
        excluded = np.unique(rng.choice(read["source_row"].to_numpy(), 40))
        kept = read[~read["source_row"].isin(excluded)].reset_index(drop=True)
        for _ in range(2):  # the second time replaces the wave
            assert warehouse.replace_wave(a, "accepted", "2015", kept) == len(kept)
            with monkeypatch.context() as m:  # copied, not written from the frame
                m.setattr(warehouse, "replace_wave", lambda *a: pytest.fail("fell back to writing the frame"))
                assert warehouse.replace_wave_from(
                    b, "accepted", "2015", warehouse.RowsOf("source", "source_row", excluded, kept)) == len(kept)
        with duckdb.connect(str(a)) as ca, duckdb.connect(str(b)) as cb:
            q = ("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'accepted' "
                 "ORDER BY ordinal_position")
            assert ca.execute(q).fetchall() == cb.execute(q).fetchall()
            q = f"SELECT * FROM {warehouse.SCHEMA}.accepted"
            assert ca.execute(q).fetchall() == cb.execute(q).fetchall()
        for wave in ("2015", "2016"):
            pd.testing.assert_frame_equal(warehouse.read_wave(a, "accepted", wave),
                                          warehouse.read_wave(b, "accepted", wave))


def test_rows_of_falls_back_to_the_frame_when_a_copy_would_differ(tmp_path):
    db = tmp_path / "w.duckdb"
    warehouse.replace_wave(db, "source", "2015", _mixed_frame("2015", 20, 1))
    read = warehouse.read_wave(db, "source", "2015")
    # the frame no longer matches the stored rows (a row more, a column of another type, excluded rows kept)
    for frame, excluded in [(read.iloc[:10], np.array([], dtype="int64")),
                            (read.assign(score=read["score"].astype(str)), np.array([3])),
                            (read, np.array([3]))]:
        frame = frame.reset_index(drop=True)
        assert warehouse.replace_wave_from(db, "accepted", "2015",
                                           warehouse.RowsOf("source", "source_row", excluded, frame)) == len(frame)
        pd.testing.assert_frame_equal(warehouse.read_wave(db, "accepted", "2015"), _as_written(tmp_path, frame))


def _as_written(tmp_path, frame):
    ref = tmp_path / "ref.duckdb"
    warehouse.replace_wave(ref, "accepted", "2015", frame)
    return warehouse.read_wave(ref, "accepted", "2015")


def test_a_held_warehouse_is_opened_once_and_released_at_the_end(tmp_path, monkeypatch):
    db = tmp_path / "a.duckdb"
    warehouse.replace_wave(db, "t", "2015", wave_rows("2015", 2))
    opened: list[str] = []
    real_connect = duckdb.connect
    monkeypatch.setattr(warehouse.duckdb, "connect", lambda *a, **k: opened.append(a[0]) or real_connect(*a, **k))
    with warehouse.held_open(db):
        with warehouse.held_open(tmp_path / "." / "a.duckdb"):  # the same file by another spelling: re-entrant
            warehouse.replace_wave(db, "t", "2016", wave_rows("2016", 4))
            assert len(warehouse.read_wave(db, "t", "2016")) == 4  # a write is seen by the next connection
            with warehouse.connect(db, read_only=True) as con:
                assert con.execute(f"SELECT count(*) FROM {warehouse.SCHEMA}.t").fetchone()[0] == 6
            bad = wave_rows("2015", 1)
            bad["score"] = ["not a number"]
            with pytest.raises(duckdb.Error):  # a failed write inside the block rolls back as outside it
                warehouse.replace_wave(db, "t", "2015", bad)
            assert len(warehouse.read_wave(db, "t", "2015")) == 2
        assert warehouse.list_tables(db) == ["t"]
        assert opened == [str(db)]  # one database for the whole block
    assert warehouse._HELD == {}
    # released: the file can be opened read-only again, which a held read-write database would refuse
    with real_connect(str(db), read_only=True) as con:
        assert con.execute(f"SELECT count(*) FROM {warehouse.SCHEMA}.t").fetchone()[0] == 6


def test_a_held_warehouse_is_released_when_the_run_fails(tmp_path):
    db = tmp_path / "a.duckdb"
    with pytest.raises(RuntimeError):
        with warehouse.held_open(db):
            warehouse.replace_wave(db, "t", "2015", wave_rows("2015", 2))
            raise RuntimeError("a step failed")
    assert warehouse._HELD == {}
    assert count(db, "t") == 2


def test_runs_on_one_warehouse_queue_behind_the_one_holding_it(tmp_path):
    import subprocess
    import sys
    import time

    db = tmp_path / "a.duckdb"
    warehouse.replace_wave(db, "t", "2015", wave_rows("2015", 2))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pipelines import warehouse\n"
        f"with warehouse.held_open({str(db)!r}):\n"
        "    print('held', flush=True); time.sleep(4)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.IOException):  # a plain connection gives up after its timeout
            with warehouse.connect(db, timeout_s=0.5):
                pass
        with pytest.raises(WarehouseError, match="another process kept the warehouse open"):
            with warehouse.held_open(db, timeout_s=0.5):  # a run that cannot wait that long: a clear error
                pass
        start = time.monotonic()
        waits: list[str] = []
        with warehouse.held_open(db, timeout_s=120, on_wait=lambda: waits.append("waiting")):  # a run waits
            assert len(warehouse.read_wave(db, "t", "2015")) == 2
        assert time.monotonic() - start > 1  # the holder kept the file about 4 s after saying so
        assert waits == ["waiting"]  # said once
    finally:
        holder.wait(timeout=60)
    assert holder.returncode == 0


def test_a_warehouse_that_cannot_be_opened_is_a_clear_error(tmp_path):
    not_a_folder = tmp_path / "a-file"
    not_a_folder.write_text("x")
    with pytest.raises(WarehouseError, match="a-file/w.duckdb: cannot be opened") as err:
        with warehouse.held_open(not_a_folder / "w.duckdb"):
            pass
    assert "fix:" in str(err.value)
    not_duckdb = tmp_path / "notes.duckdb"
    not_duckdb.write_text("these are notes, not a database\n" * 100)
    with pytest.raises(WarehouseError, match="notes.duckdb: cannot be opened"):
        with warehouse.held_open(not_duckdb):
            pass
    assert warehouse._HELD == {}


def test_few_valued_text_columns_are_stored_as_the_plain_text_write_would(tmp_path, monkeypatch):
    """Object columns with few distinct values go to DuckDB as Categoricals: the stored values are
    exactly those of the plain write (text, missing as NULL, non-text values as their str())."""
    n = 3 * warehouse.FEW_TEXTS
    rng = np.random.default_rng(7)
    answers = np.array(["Agree", " Agree", "agree", "", "Strongly agree", None, float("nan"), pd.NA], dtype=object)
    frame = pd.DataFrame({
        "wave": ["2015"] * n,
        "respondent": [f"r{i}" for i in range(n)],  # many values: stays text
        "answer": answers[rng.integers(0, len(answers), n)],
        "mixed": np.array([1, 2.5, "2.5", None, True], dtype=object)[rng.integers(0, 5, n)],  # 2.5 and "2.5" meet
        "number": rng.integers(0, 9, n),
        "flag": pd.array(rng.integers(0, 2, n).astype(bool), dtype="boolean"),
        "when": pd.Timestamp("2015-03-01") + pd.to_timedelta(rng.integers(0, 10**15, n), unit="ns"),  # ns: cut to us
    })
    frame.loc[::7, "when"] = pd.NaT
    # a frame with a Categorical goes through a DuckDB table of its own first (staged), the other directly
    assert isinstance(warehouse._for_duckdb(frame["answer"]).dtype, pd.CategoricalDtype)  # the fast path
    assert warehouse._for_duckdb(frame["mixed"]).dtype == object  # 2.5 and "2.5": one text, so plain
    assert warehouse._for_duckdb(frame["respondent"]).dtype == object
    fast, plain = tmp_path / "fast.duckdb", tmp_path / "plain.duckdb"
    warehouse.replace_wave(fast, "t", "2015", frame)
    monkeypatch.setattr(warehouse, "FEW_TEXTS", 0)  # every object column written as plain text
    warehouse.replace_wave(plain, "t", "2015", frame)
    stored = warehouse.read_wave(fast, "t", "2015")
    pd.testing.assert_frame_equal(stored, warehouse.read_wave(plain, "t", "2015"), check_exact=True)
    assert stored["answer"].isna().sum() == (pd.isna(frame["answer"])).sum()
    assert set(stored["mixed"].dropna()) == {"1", "2.5", "True"}
    with duckdb.connect(str(fast)) as con:  # column types as before: text stays VARCHAR
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 't'").fetchall())
    assert types["answer"] == types["mixed"] == "VARCHAR"
