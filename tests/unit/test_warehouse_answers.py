"""Answers read with DuckDB coding each text column (warehouse.read_answers) equal the plain read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines import warehouse


def awkward_wave(wave: str, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    answers = np.array(["Agree", "Strongly agree", "O'Brien's \"county\"", "Ünïcode, comma", "", " Agree", None],
                       dtype=object)
    return pd.DataFrame({
        "wave": wave,
        "respondent_id": [f"R{wave}-{i:06d}" for i in range(n)],  # one answer per respondent
        "source_row": np.arange(n, dtype="int64"),
        "county": rng.choice(np.array(["Knox", "York", None, "Not a county"], dtype=object), n),
        "trained_sex": rng.choice(answers, n),
        "never_answered": np.array([None] * n, dtype=object),
        "weight": rng.gamma(2.0, 3.0, n),
        "flag": pd.array(rng.choice([True, False, None], n), dtype="boolean"),
    })


def same_frame(x: pd.DataFrame, y: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(x, y, check_exact=True)
    for c in x.columns:
        if x[c].dtype == object:  # the same values, missing as None in both
            assert [None if v is None else (type(v), v) for v in x[c]] == \
                   [None if v is None else (type(v), v) for v in y[c]], c


@pytest.mark.parametrize("columns", [None, ["wave", "county", "trained_sex", "never_answered", "flag", "nope"],
                                     ["respondent_id", "weight"], ["nope"], ["source_row"]])
def test_read_answers_equals_the_plain_read_of_a_wave(tmp_path, columns, monkeypatch):
    db = tmp_path / "w.duckdb"
    warehouse.replace_wave(db, "responses", "2015", awkward_wave("2015", 3000, 1))
    warehouse.replace_wave(db, "responses", "2016", awkward_wave("2016", 500, 2))
    warehouse.replace_wave(db, "responses", "2017", awkward_wave("2017", 1, 3))  # one respondent
    for wave in ["2015", "2016", "2017", "2030"]:  # 2030: no rows
        same_frame(warehouse.read_wave(db, "responses", wave, columns), warehouse.read_answers(db, "responses", wave, columns))
    monkeypatch.setattr(warehouse, "SMALL_WAVE", 0)  # small waves coded too (by default they are read plainly)
    for wave in ["2016", "2017", "2030"]:
        same_frame(warehouse.read_wave(db, "responses", wave, columns), warehouse.read_answers(db, "responses", wave, columns))
    monkeypatch.setattr(warehouse, "MAX_CODED_ANSWERS", 10**9)  # the respondent ids coded as well (ENUM lookup)
    same_frame(warehouse.read_wave(db, "responses", "2015", columns), warehouse.read_answers(db, "responses", "2015", columns))
    monkeypatch.setattr(warehouse, "SCANNED_ANSWERS", 0)  # every column by ENUM lookup
    same_frame(warehouse.read_wave(db, "responses", "2015", columns), warehouse.read_answers(db, "responses", "2015", columns))
    assert warehouse.read_answers(db, "no_such_table", "2015", columns).empty


def test_every_respondent_with_the_same_answer_shares_one_string(tmp_path):
    db = tmp_path / "w.duckdb"
    warehouse.replace_wave(db, "responses", "2015", awkward_wave("2015", 2000, 4))
    frame = warehouse.read_answers(db, "responses", "2015", ["trained_sex"])
    agree = frame["trained_sex"][frame["trained_sex"] == "Agree"]
    assert len(agree) > 1 and len({id(v) for v in agree}) == 1


def test_a_small_wave_is_read_plainly_and_a_large_one_coded(tmp_path):
    """Under :data:`warehouse.SMALL_WAVE` rows coding costs more than it saves: each row has its own string
    object as the plain read gives it; from that size on, respondents with the same answer share one."""
    db = tmp_path / "w.duckdb"
    small, large = warehouse.SMALL_WAVE - 1, warehouse.SMALL_WAVE
    warehouse.replace_wave(db, "responses", "2015", awkward_wave("2015", small, 4))
    warehouse.replace_wave(db, "responses", "2016", awkward_wave("2016", large, 4))
    agreeing = {}
    for wave in ("2015", "2016"):
        answers = warehouse.read_answers(db, "responses", wave, ["trained_sex"])["trained_sex"]
        agree = answers[answers == "Agree"]
        assert len(agree) > 100
        agreeing[wave] = len({id(v) for v in agree})
    assert agreeing["2015"] > 1 and agreeing["2016"] == 1
