"""A big export's few-valued columns are held dictionary-encoded (pandas Categoricals built by
DuckDB) and mapped per distinct value: the canonical tables must equal those built from plain text
columns, cell by cell, whatever the cells hold."""

from __future__ import annotations

import csv
import io
import random

import numpy as np
import pandas as pd
import pytest

from assets.ingest import raw as raw_module
from assets.ingest import readers
from assets.ingest.layouts import SUFFIX, write_layout
from assets.ingest.officer_responses import _Distinct, _respondent_ids, to_officer_responses

ODD = ["garbage", "=SUM(A1)", "<b>x</b>", "2015-01-05 13:00:00", "2/30/2015 10:00:00 AM", "1/5/2015 1:02:03 pm",
       "1234.0", "5 - Strongly agree", "Strongly agree (5)", "3", "Checked", "a,b\nc", "Other: stuff", "TRUE",
       "01/05/2015 12:00:00 AM", "13/01/2015 10:00:00 AM", "2015-01-05", "yes", "Survey Preview", "spam", "0", "1",
       "Portland", "cumberland county", "  ", "\t", "x" * 300, "\u00e9 accent", "1,3", "Not selected", "\u00a0y\u00a0"]
HEADER_ROWS = {"surveymonkey_csv": 2, "qualtrics_csv": 3, "redcap_raw": 1, "plain_csv": 1}


def _awkward_export(assessment, layout: str, path, n: int = 600, seed: int = 11) -> None:
    """An export of ``layout`` whose cells are padded, re-cased, blanked or replaced by odd values,
    with blank rows, repeated and numeric-looking ids, whole duplicate rows and trailing empty lines."""
    from assets.ingest.synthetic import generate_officer_answers

    write_layout(layout, assessment, generate_officer_answers(assessment, "2015", seed, n), path)
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    head = HEADER_ROWS[layout]
    body = rows[head:]
    rng = random.Random(seed)
    for r in body:
        x = rng.random()
        if x < 0.03:
            r[1:] = [rng.choice(["", "", " "]) for _ in r[1:]]
        elif x < 0.06:
            r[0] = rng.choice(body)[0]
        elif x < 0.08:
            r[0] = r[0] + ".0" if r[0].isdigit() else f" {r[0]} "
        elif x < 0.09:
            r[0] = rng.choice(["", " "])
        for j in range(len(r)):
            y = rng.random()
            if y < 0.05:
                r[j] = f" {r[j]}  "
            elif y < 0.08:
                r[j] = r[j].upper()
            elif y < 0.11:
                r[j] = r[j].lower()
            elif y < 0.13:
                r[j] = ""
            elif y < 0.14:
                r[j] = rng.choice(ODD)
    body += [list(body[i]) for i in range(0, len(body), 37)]
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows(rows[:head] + body)
    path.write_bytes(("\ufeff" + buf.getvalue() + "\r\n\r\n").encode("utf-8"))


def _read(path, monkeypatch, *, sample: int, share: float, values: int):
    monkeypatch.setattr(readers, "BIG_FILE_BYTES", 0)  # the DuckDB path, whatever the size
    monkeypatch.setattr(raw_module, "_SAMPLE_ROWS", sample)
    monkeypatch.setattr(raw_module, "CATEGORICAL_MAX_SHARE", share)
    monkeypatch.setattr(raw_module, "CATEGORICAL_MAX_VALUES", values)
    return readers.read_export(path)


@pytest.mark.parametrize("layout", list(HEADER_ROWS))
@pytest.mark.parametrize("sample", [7, 400, 10**6])  # cells beyond the first rows (read again), none
def test_dictionary_columns_give_the_same_tables_as_text_columns(assessment, tmp_path, monkeypatch, layout, sample):
    path = tmp_path / f"{layout}{SUFFIX[layout]}"
    _awkward_export(assessment, layout, path)
    text = _read(path, monkeypatch, sample=10**6, share=-1.0, values=-1)  # every column as plain text
    assert all(text.table[c].dtype == object for c in text.table.columns)
    coded = _read(path, monkeypatch, sample=sample, share=0.5, values=64)
    if sample == 10**6:
        assert any(isinstance(coded.table[c].dtype, pd.CategoricalDtype) for c in coded.table.columns)
    assert coded.n_rows == text.n_rows and coded.columns == text.columns and coded.ids == text.ids
    assert list(coded.row_numbers) == list(text.row_numbers) and coded.notes == text.notes
    for c in text.table.columns:
        assert coded.cells(c).tolist() == text.cells(c).tolist()
    want = _mapped(text, assessment)
    got = _mapped(coded, assessment)
    if isinstance(want, str):  # too many odd cells in a column: both refuse, with the same message
        assert got == want and "answers to" in want
        return
    pd.testing.assert_frame_equal(got[0], want[0], check_exact=True)
    pd.testing.assert_frame_equal(got[1], want[1], check_exact=True)
    assert got[2].to_dict() == want[2].to_dict()
    assert len(want[1]) and want[2].value_problems  # the awkward cells did reach the checks


def _mapped(raw, assessment):
    """The canonical tables, or the message of the InputError the mapping stops with."""
    from pipelines.errors import InputError

    try:
        return to_officer_responses(raw, assessment, "2015")
    except InputError as exc:
        return str(exc)


def _ids_per_row(cells: pd.Series) -> np.ndarray:
    """Respondent ids the straightforward way: every row stripped, '1234.0' to '1234'."""
    ids = cells.fillna("").astype(str).str.strip()
    numeric = ids.str.endswith(".0").to_numpy(dtype=bool)
    ids[numeric] = ids[numeric].str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    return ids.to_numpy(dtype=object)


def test_respondent_ids_per_distinct_value_equal_the_per_row_computation():
    rng = np.random.default_rng(5)
    pool = ["17", " 17 ", "17.0", "17.00", " 18.0", "18.5", "1.0.0", "x.0", "", " ", "\u00a0", "A-1", "a-1 ", None,
            "\u0661\u0662.0", "0.0", ".0"]
    cells = pd.Series(rng.choice(np.array(pool, dtype=object), 5000), dtype=object)
    want = _ids_per_row(cells)
    assert _respondent_ids(cells).tolist() == want.tolist()
    coded = pd.Series(pd.Categorical(cells.fillna(""), categories=["unused", *dict.fromkeys(cells.fillna(""))]))
    assert _respondent_ids(coded).tolist() == _ids_per_row(coded.astype(object)).tolist()


def test_distinct_of_a_categorical_ignores_categories_no_row_holds():
    cells = pd.Series(pd.Categorical([" a", "b ", "a", "", " a"], categories=["header text", " a", "b ", "a", ""]))
    seen: list[str] = []
    col = _Distinct(cells)
    assert col.map(lambda s: seen.append(s) or s.upper() or None).tolist() == ["A", "B", "A", None, "A"]
    assert "header text" not in seen
    assert col.test(bool).tolist() == _Distinct(cells.astype(object)).test(bool).tolist()
