"""The benchmark's DuckDB floors on a small export: both read every row; the load floor leaves no file behind."""

from __future__ import annotations

import duckdb

from pipelines import bench


def _export(tmp_path):
    export = tmp_path / "officer_survey.csv"
    header = ",".join(f"Q{i}" for i in range(35))
    rows = "\n".join(",".join(f"r{r}c{c}" for c in range(35)) for r in range(500))
    export.write_text(f"{header}\n{header}\n{rows}\n", encoding="utf-8")  # SurveyMonkey: two header rows
    return export


def test_scan_and_load_floors(tmp_path, monkeypatch):
    export = _export(tmp_path)
    assert bench.duckdb_scan_floor(export) > 0
    where = tmp_path / "work"
    where.mkdir()
    loaded = {}
    real_connect = duckdb.connect

    def spy_connect(database=":memory:", *args, **kwargs):
        con = real_connect(database, *args, **kwargs)
        loaded["path"] = database
        return con

    monkeypatch.setattr(duckdb, "connect", spy_connect)
    assert bench.duckdb_load_floor(export, where) > 0
    monkeypatch.undo()
    assert loaded["path"].startswith(str(where)) and loaded["path"].endswith(".duckdb")
    assert list(where.iterdir()) == []  # the temporary folder and its DuckDB file are gone


def test_load_floor_loads_every_row_and_column(tmp_path, monkeypatch):
    export = _export(tmp_path)
    kept = tmp_path / "kept.duckdb"
    real_connect = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda database=":memory:", *a, **k: real_connect(str(kept), *a, **k))
    bench.duckdb_load_floor(export, tmp_path)
    monkeypatch.undo()
    con = duckdb.connect(str(kept), read_only=True)
    assert con.execute("SELECT count(*) FROM export").fetchone() == (500,)
    assert len(con.execute("SELECT * FROM export LIMIT 1").fetchone()) == 35
    assert {t for (t,) in con.execute("SELECT DISTINCT data_type FROM information_schema.columns").fetchall()} == {"VARCHAR"}
    con.close()
