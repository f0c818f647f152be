"""Fuzz targets over every reader: the officer export reader (CSV/TSV in several encodings and
delimiters, SurveyMonkey two-row and Qualtrics three-row headers, XLSX, SPSS .sav), the interview
code matrices and the agency case lists, fed random bytes and mutated real fixture files.

Contract (``harness.check``): each input is read normally or refused with an HtnaError; nothing
else. Deterministic (derandomized); the number of executed inputs is counted and
``test_fuzz_total`` asserts at least ``READER_TOTAL`` (10,000; more with HTNA_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assets.ingest.exports import read_interviews
from assets.ingest.officer_responses import to_officer_responses
from assets.ingest.readers import FORMATS, read_export
from assets.prevalence.inputs import read_overlap_file
from assets.prevalence.tables import case_list_overlap_table
from pipelines.config import REPO_ROOT, load_assessment
from pipelines.errors import HtnaError
from tests.fuzz.harness import (DEMO_WAVE, ENCODINGS, EXECUTED, FIXTURES, MUTATIONS, READER_TOTAL, budget, check,
                                encode, fuzz_settings, mutate, rezip, scaled, write_counts)

pytestmark = [pytest.mark.fuzz, pytest.mark.slow]

SUFFIXES = [".csv", ".tsv", ".txt", ".xlsx", ".sav"]
MAGIC = [b"", b"PK\x03\x04", b"$FL2", b"$FL3", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"\xd0\xcf\x11\xe0",
         b"\x89PNG\r\n\x1a\n"]
FORMAT_ARG = st.sampled_from([None, None, None, "auto", *FORMATS])
SHARES = {"readers-random-bytes": 0.22, "readers-delimited-tokens": 0.13, "readers-mutated-text-exports": 0.20,
          "readers-header-rows": 0.12, "readers-xlsx": 0.04, "readers-sav": 0.04, "readers-interviews": 0.12,
          "readers-case-lists": 0.13}


@functools.lru_cache(maxsize=1)
def _assessment():
    return load_assessment(REPO_ROOT / "config" / "maine" / "assessment.yaml")


def _fixture_bytes(folder: str, suffixes: tuple[str, ...], max_bytes: int = 64_000) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((FIXTURES / "exports" / folder).iterdir())
            if p.suffix in suffixes and p.stat().st_size <= max_bytes and p.name != "expected.csv"}


def _nested_bytes(folder: str, suffixes: tuple[str, ...], max_bytes: int = 64_000) -> dict[str, bytes]:
    """Exports one folder deeper (platforms/<layout>/, real/<project>/...), metadata files left out."""
    base = FIXTURES / "exports" / folder
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*"))
            if p.is_file() and p.suffix in suffixes and p.stat().st_size <= max_bytes
            and "dictionary" not in p.name.casefold() and p.name != "expected.csv"}


TEXT_EXPORTS = {**{f"formats/{k}": v for k, v in _fixture_bytes("formats", (".csv", ".tsv")).items()},
                **{f"bad/{k}": v for k, v in _fixture_bytes("bad", (".csv",)).items()},
                **{f"platforms/{k}": v for k, v in _nested_bytes("platforms", (".csv", ".tsv")).items()},
                **{f"real/{k}": v for k, v in _nested_bytes("real", (".csv",)).items()}}
XLSX = {**_fixture_bytes("formats", (".xlsx",)), **_fixture_bytes("bad", (".xlsx",))}
SAV = {**_fixture_bytes("formats", (".sav",)), **_fixture_bytes("bad", (".sav",))}
HEADERED = ["surveymonkey_csv.csv", "qualtrics_csv.csv", "qualtrics_legacy_csv.csv", "qualtrics_tsv.tsv",
            "redcap_labels.csv"]


def _text_of(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig", errors="replace")


def _read(target: str, tmp, data: bytes, suffix: str, fmt=None):
    path = tmp / f"officer_survey{suffix}"
    path.write_bytes(data)
    return check(target, data, suffix, lambda: read_export(path, fmt))


def _counted(target: str, run) -> None:
    before = EXECUTED[target]
    run()
    assert EXECUTED[target] - before >= budget(SHARES[target]), "hypothesis ran fewer inputs than the budget"


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-readers")


# --------------------------------------------------------------------------- the officer export


def test_random_bytes(tmp):
    @fuzz_settings(budget(SHARES["readers-random-bytes"]))
    @given(prefix=st.sampled_from(MAGIC), data=st.binary(max_size=2048), suffix=st.sampled_from(SUFFIXES),
           fmt=FORMAT_ARG)
    def run(prefix, data, suffix, fmt):
        _read("readers-random-bytes", tmp, prefix + data, suffix, fmt)

    _counted("readers-random-bytes", run)


TOKENS = (list(',;\t|"\r\n =-_.{}:[]\u00e9\u00a0\ufeff\x00') +
          ["Respondent ID", "ResponseId", "record_id", "Response", "Open-Ended Response", '{"ImportId":"QID1"}',
           '{"ImportId":"QID11_TEXT"}', "Q11_3", "Q11_8_TEXT", "StartDate", "Finished", "Status", "V1",
           "f___2", "form_complete", "Complete?", "Other (please specify)", "(choice=Yes)", "Selected Choice",
           "In which county is your agency located?", "Cumberland", "23005", "1", "0", "Yes", "NaN", "1e400"])


def test_delimited_tokens(tmp):
    @fuzz_settings(budget(SHARES["readers-delimited-tokens"]))
    @given(tokens=st.lists(st.sampled_from(TOKENS), max_size=150), encoding=st.sampled_from(ENCODINGS),
           suffix=st.sampled_from([".csv", ".tsv", ".txt"]), fmt=FORMAT_ARG)
    def run(tokens, encoding, suffix, fmt):
        _read("readers-delimited-tokens", tmp, encode("".join(tokens), encoding), suffix, fmt)

    _counted("readers-delimited-tokens", run)


def test_mutated_text_exports(tmp):
    @fuzz_settings(budget(SHARES["readers-mutated-text-exports"]))
    @given(name=st.sampled_from(sorted(TEXT_EXPORTS)), encoding=st.sampled_from([None, *ENCODINGS]),
           delimiter=st.sampled_from([None, ";", "\t", "|"]), mutations=st.none() | MUTATIONS, fmt=FORMAT_ARG)
    def run(name, encoding, delimiter, mutations, fmt):
        data = TEXT_EXPORTS[name]
        if encoding or delimiter:
            text = _text_of(data)
            if delimiter:
                rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t" if name.endswith(".tsv") else ","))
                buf = io.StringIO()
                csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
                text = buf.getvalue()
            data = encode(text, encoding or "utf-8")
        if mutations:
            data = mutate(data, mutations)
        _read("readers-mutated-text-exports", tmp, data, "." + name.rsplit(".", 1)[1], fmt)

    _counted("readers-mutated-text-exports", run)


HEADER_OPS = st.lists(st.tuples(st.sampled_from(["blank", "delete", "insert", "set", "drop_row", "dup_row",
                                                 "swap_rows", "dup_cell"]),
                                st.integers(0, 3), st.integers(0, 60),
                                st.text(max_size=25) | st.sampled_from(["", "Respondent ID", "ResponseId", "Response",
                                                                        '{"ImportId":"QID5"}', '{"ImportId":',
                                                                        "Other (please specify)", "Q5", "Q11_8_TEXT",
                                                                        "- Selected Choice", "V1", "Status"])),
                      min_size=1, max_size=4)


def test_header_rows(tmp):
    """SurveyMonkey's two header rows and Qualtrics' three edited cell by cell and row by row."""
    exports = {n: TEXT_EXPORTS[f"formats/{n}"] for n in HEADERED}

    @fuzz_settings(budget(SHARES["readers-header-rows"]))
    @given(name=st.sampled_from(HEADERED), ops=HEADER_OPS, encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
           fmt=FORMAT_ARG)
    def run(name, ops, encoding, fmt):
        delim = "\t" if name.endswith(".tsv") else ","
        rows = list(csv.reader(io.StringIO(_text_of(exports[name]), newline=""), delimiter=delim))
        for op, r, c, value in ops:
            r = min(r, len(rows) - 1)
            row = rows[r]
            c = min(c, max(len(row) - 1, 0))
            if op == "blank" and row:
                row[c] = ""
            elif op == "delete" and row:
                del row[c]
            elif op == "insert":
                row.insert(c, value)
            elif op == "set" and row:
                row[c] = value
            elif op == "drop_row" and len(rows) > 1:
                del rows[r]
            elif op == "dup_row":
                rows.insert(r, list(row))
            elif op == "swap_rows":
                rows[r], rows[(r + 1) % len(rows)] = rows[(r + 1) % len(rows)], rows[r]
            elif op == "dup_cell" and row:
                row.insert(c, row[c])
        buf = io.StringIO()
        csv.writer(buf, delimiter=delim, lineterminator="\r\n").writerows(rows)
        _read("readers-header-rows", tmp, encode(buf.getvalue(), encoding), "." + name.rsplit(".", 1)[1], fmt)

    _counted("readers-header-rows", run)


XML_EDITS = st.tuples(st.sampled_from(["sheet", "sharedStrings", "workbook", "styles", "[Content_Types]", "rels"]),
                      MUTATIONS)


def test_xlsx(tmp):
    @fuzz_settings(budget(SHARES["readers-xlsx"]))
    @given(name=st.sampled_from(sorted(XLSX)), edit=st.none() | XML_EDITS, raw=st.none() | MUTATIONS, fmt=FORMAT_ARG)
    def run(name, edit, raw, fmt):
        data = XLSX[name]
        if edit:
            part, mutations = edit
            data = rezip(data, lambda n, b: mutate(b, mutations) if part in n else b)
        if raw:
            data = mutate(data, raw)
        _read("readers-xlsx", tmp, data, ".xlsx", fmt)

    _counted("readers-xlsx", run)


def test_sav(tmp):
    header_heavy = st.lists(st.tuples(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate", "swap"]),
                                      st.floats(0, 0.3, allow_nan=False), st.integers(1, 64),
                                      st.sampled_from([b"\x00", b"\xff" * 4, b"\x7f\xff\xff\xff", b"$FL2", b"A" * 9])),
                            min_size=1, max_size=4)

    @fuzz_settings(budget(SHARES["readers-sav"]))
    @given(name=st.sampled_from(sorted(SAV)), mutations=header_heavy | MUTATIONS, fmt=st.sampled_from([None, "spss"]))
    def run(name, mutations, fmt):
        _read("readers-sav", tmp, mutate(SAV[name], mutations), ".sav", fmt)

    _counted("readers-sav", run)


def test_mutated_exports_map_to_officer_responses(tmp):
    """Mapping onto the codebook, after a successful read (not counted among the readers' inputs)."""
    formats = {n: v for n, v in TEXT_EXPORTS.items() if n.startswith("formats/")}

    @fuzz_settings(scaled(200))
    @given(name=st.sampled_from(sorted(formats)), mutations=MUTATIONS)
    def run(name, mutations):
        data = mutate(formats[name], mutations)
        suffix = "." + name.rsplit(".", 1)[1]
        path = tmp / f"mapped{suffix}"
        path.write_bytes(data)

        def call():
            raw = read_export(path)
            accepted, quarantine, report = to_officer_responses(raw, _assessment(), "2015")
            assert report.rows_read == len(accepted) + len(quarantine)

        check("mapping-officer-responses", data, suffix, call)

    run()


METADATA = {str(p.relative_to(FIXTURES / "exports")): p.read_bytes()
            for p in sorted((FIXTURES / "exports").rglob("*")) if p.is_file()
            and (p.suffix == ".qsf" or (p.suffix == ".csv" and "dictionary" in p.name.casefold()))}


def test_export_metadata(tmp):
    """REDCap data dictionaries and Qualtrics .qsf files, mutated or random, read beside an export and
    attached to it (not counted among the export readers' inputs)."""
    from assets.ingest.metadata import attach, wave_metadata

    export = TEXT_EXPORTS["formats/redcap_raw.csv"]
    folder = tmp / "metadata"
    folder.mkdir(exist_ok=True)

    @fuzz_settings(scaled(600))
    @given(name=st.sampled_from(sorted(METADATA)), mutations=st.none() | MUTATIONS,
           random=st.none() | st.binary(max_size=512), map_it=st.booleans())
    def run(name, mutations, random, map_it):
        data = METADATA[name] if random is None else random
        if mutations:
            data = mutate(data, mutations)
        for old in folder.iterdir():
            old.unlink()
        suffix = ".qsf" if name.endswith(".qsf") else "_DataDictionary.csv"
        (folder / f"survey{suffix}").write_bytes(data)
        (folder / "officer_survey.csv").write_bytes(export)

        def call():
            meta = wave_metadata(folder, export=folder / "officer_survey.csv")
            raw = read_export(folder / "officer_survey.csv")
            attach(raw, meta)
            if map_it:
                to_officer_responses(raw, _assessment(), "2015")

        check("export-metadata", data, suffix, call)

    run()


# --------------------------------------------------------------------------- interviews and case lists


def _head(path, lines: int) -> bytes:
    return b"".join(path.read_bytes().splitlines(keepends=True)[:lines])


INTERVIEWS = {d: _head(DEMO_WAVE / f"{d}.csv", 12) for d in ("stakeholder_interviews", "survivor_interviews")}


def _cell_edit(data: bytes, ops) -> bytes:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    for r, c, value in ops:
        row = rows[min(r, len(rows) - 1)]
        if row:
            row[min(c, len(row) - 1)] = value
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


CELL_OPS = st.lists(st.tuples(st.integers(0, 45), st.integers(0, 20),
                              st.text(max_size=12) | st.sampled_from(["", "0", "1", "2", "1.0", " 1 ", "yes", "NaN",
                                                                      "interview_id", "Cumberland and York", "S15-001",
                                                                      "hotline", "all", "1900-02-30", "count", "-3",
                                                                      "99999999999999999999"])),
                    min_size=1, max_size=4)


def test_interviews(tmp):
    frames = _assessment().frames

    @fuzz_settings(budget(SHARES["readers-interviews"]))
    @given(dataset=st.sampled_from(sorted(INTERVIEWS)), cells=st.none() | CELL_OPS, mutations=st.none() | MUTATIONS,
           random=st.none() | st.binary(max_size=512), encoding=st.sampled_from([None, "utf-16", "cp1252"]))
    def run(dataset, cells, mutations, random, encoding):
        data = INTERVIEWS[dataset]
        if cells:
            data = _cell_edit(data, cells)
        if encoding:
            data = encode(data.decode("utf-8"), encoding)
        if mutations:
            data = mutate(data, mutations)
        if random is not None:
            data = random
        path = tmp / f"{dataset}.csv"
        path.write_bytes(data)
        check("readers-interviews", data, ".csv",
              lambda: read_interviews(path, getattr(frames, dataset), dataset, "2015"))

    _counted("readers-interviews", run)


CASE_LISTS = _head(DEMO_WAVE / "case_lists.csv", 40)
OVERLAPS = {p.name: p.read_bytes() for p in sorted((FIXTURES / "mse").glob("*.csv"))}
OVERLAPS["configured.csv"] = (b"hotline,advocates,law_enforcement,health,child_welfare,age_group,count\n" +
                              b"".join(f"{i & 1},{i >> 1 & 1},{i >> 2 & 1},{i >> 3 & 1},{i >> 4 & 1},adult,{i % 7}\n"
                                       .encode() for i in range(1, 32)))


def test_case_lists(tmp):
    """Case-level lists (keyed with the demo key in a synthetic folder) and aggregated overlap tables."""
    folder = tmp / "data" / "incoming" / "2015"
    folder.mkdir(parents=True)
    (folder / "SYNTHETIC.json").write_text(json.dumps({"synthetic": True}))
    assessment = _assessment()

    @fuzz_settings(budget(SHARES["readers-case-lists"]))
    @given(kind=st.sampled_from(["case_lists.csv", *sorted(OVERLAPS)]), cells=st.none() | CELL_OPS,
           mutations=st.none() | MUTATIONS, random=st.none() | st.binary(max_size=512),
           encoding=st.sampled_from([None, "utf-16", "cp1252"]))
    def run(kind, cells, mutations, random, encoding):
        data = CASE_LISTS if kind == "case_lists.csv" else OVERLAPS[kind]
        if cells:
            data = _cell_edit(data, cells)
        if encoding:
            data = encode(data.decode("utf-8"), encoding)
        if mutations:
            data = mutate(data, mutations)
        if random is not None:
            data = random
        name = "case_lists.csv" if kind == "case_lists.csv" else "case_lists_overlap.csv"
        for old in ("case_lists.csv", "case_lists_overlap.csv"):
            (folder / old).unlink(missing_ok=True)
        (folder / name).write_bytes(data)

        def call():
            if name == "case_lists_overlap.csv":  # as `htna prevalence FILE` reads it: no configured lists
                try:
                    read_overlap_file(folder / name)
                except HtnaError:
                    pass
            return case_list_overlap_table(tmp / "data", "2015", assessment)

        check("readers-case-lists", data, f".{re.sub(r'[^a-z]', '', name[:-4])}.csv", call)

    _counted("readers-case-lists", run)


# --------------------------------------------------------------------------- the total


def test_fuzz_total():
    """At least READER_TOTAL inputs went through the readers in this run (counted, not assumed)."""
    write_counts()
    missing = [t for t in SHARES if t not in EXECUTED]
    if missing:
        pytest.skip(f"only part of the fuzz module ran (not: {', '.join(missing)})")
    total = sum(EXECUTED[t] for t in SHARES)
    assert total >= READER_TOTAL >= 10_000, dict(EXECUTED)
