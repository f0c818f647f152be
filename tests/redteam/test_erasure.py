"""Erasure and retention: no byte of a removed respondent is left, and the archive forgets old waves.

Attacks: a respondent removed from the export and the wave re-run stayed in the DuckDB file's freed
pages; the raw archive kept every export for ever. Now a re-run that replaced rows compacts the
warehouse (copies it into a fresh file), ``htna erase`` removes a respondent from the warehouse, the
drop folder's export and every archived copy, and the archive keeps only the configured number of
recent waves. Every check here reads the files' bytes, after making sure the same scan finds the
canary before the erasure (so a scan that sees nothing proves something).
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from assets.ingest.archive import apply_retention, archive_export, read_records, rewrite_wave_exports
from assets.ingest.erase_export import remove_respondent
from assets.ingest.readers import read_export
from pipelines import warehouse
from pipelines.config import REPO_ROOT
from tests.conftest import cli_env

DEMO = REPO_ROOT / "data" / "demo" / "incoming" / "2015"
FORMATS = REPO_ROOT / "tests" / "fixtures" / "exports" / "formats"
ERASED_ID, ERASED_TEXT = "CanaryEraseRid5521", "CanaryEraseCommentZq81"
REMOVED_ID, REMOVED_TEXT = "CanaryRemovedRid7730", "CanaryRemovedCommentWx42"
STAKEHOLDER_ID, STAKEHOLDER_TEXT = "CanaryStakeholderRid3391", "CanaryStakeholderGapQv57"


def _bytes_hold(paths, needle: str) -> list[Path]:
    """Files among ``paths`` (folders searched) whose bytes hold ``needle`` (UTF-8 or UTF-16)."""
    found = []
    forms = [needle.encode(), needle.encode("utf-16-le")]
    for p in paths:
        for f in ([p] if p.is_file() else [x for x in p.rglob("*") if x.is_file()]):
            data = f.read_bytes()
            if any(form in data for form in forms):
                found.append(f)
    return found


def _warehouse_files(wh: Path) -> list[Path]:
    return [p for p in wh.parent.iterdir() if p.is_file() and p.name.startswith(wh.name)]


# --------------------------------------------------------------------------- end to end


def _plant(folder: Path) -> None:
    path = folder / "officer_survey.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    comment = rows[1].index("Open-Ended Response")
    rows[4][0], rows[4][comment] = ERASED_ID, ERASED_TEXT + " my chief said so"
    rows[9][0], rows[9][comment] = REMOVED_ID, REMOVED_TEXT + " and the sergeant"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    stakeholders = folder / "stakeholder_survey.csv"  # a respondent of the second instrument, with an open answer
    rows = list(csv.reader(io.StringIO(stakeholders.read_text(encoding="utf-8-sig"), newline="")))
    gap = rows[1].index("Open-Ended Response")
    rows[6][0], rows[6][gap] = STAKEHOLDER_ID, STAKEHOLDER_TEXT + " no beds at night"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    stakeholders.write_text(buf.getvalue(), encoding="utf-8")
    for name in ("officer_comments_coded.csv", "officer_comments_coder2.csv"):  # hand codes of the comment
        matrix = folder / name
        width = matrix.read_text(encoding="utf-8").splitlines()[0].count(",")
        with matrix.open("a", encoding="utf-8") as fh:
            fh.write(ERASED_ID + ",1" + ",0" * (width - 1) + "\n")


def _remove_by_hand(folder: Path, respondent: str) -> None:
    path = folder / "officer_survey.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    rows = [r for r in rows if not r or r[0] != respondent]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module")
def wave(tmp_path_factory):
    root = tmp_path_factory.mktemp("erase")
    folder = root / "data" / "incoming" / "2015"
    shutil.copytree(DEMO, folder)
    _plant(folder)
    wh = root / "private" / "htna.duckdb"
    env = cli_env(root / "dagster")

    def htna(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pipelines.cli", *args, "--data", str(root / "data"),
                               "--warehouse", str(wh), "--output", str(root / "site")], cwd=REPO_ROOT, env=env,
                              capture_output=True, text=True, timeout=900)

    first = htna("run", "--wave", "2015")
    assert first.returncode == 0, first.stderr[-3000:]
    return root, folder, wh, htna


pytestmark = pytest.mark.slow


def test_the_planted_respondents_are_in_the_files_bytes_to_begin_with(wave) -> None:
    root, folder, wh, _ = wave
    for needle in (ERASED_ID, REMOVED_ID):
        assert _bytes_hold(_warehouse_files(wh), needle), needle  # the scan below can see them
    for needle in (ERASED_ID, ERASED_TEXT, REMOVED_ID, REMOVED_TEXT):
        assert _bytes_hold([wh.parent / "raw_archive"], needle), needle
    for needle in (ERASED_TEXT, REMOVED_TEXT):  # a comment is coded at ingest: its text only in the raw archive
        assert not _bytes_hold(_warehouse_files(wh), needle), needle


def test_a_rerun_after_removal_leaves_no_byte_of_them_in_the_warehouse(wave) -> None:
    root, folder, wh, htna = wave
    _remove_by_hand(folder, REMOVED_ID)
    proc = htna("run", "--wave", "2015")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for needle in (REMOVED_ID, REMOVED_TEXT):
        assert not _bytes_hold(_warehouse_files(wh), needle), needle
    assert _bytes_hold(_warehouse_files(wh), ERASED_ID)  # the others are all still there
    assert not warehouse.compaction_marker(wh).exists()
    # the archive keeps the earlier version of the export (lineage) until erasure or retention
    assert _bytes_hold([wh.parent / "raw_archive"], REMOVED_ID)


def test_erase_leaves_no_byte_of_them_anywhere_htna_keeps_data(wave) -> None:
    root, folder, wh, htna = wave
    before = warehouse.read_wave(wh, "officer_responses", "2015")
    proc = htna("erase", "--wave", "2015", "--respondent", ERASED_ID)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ERASED_ID not in proc.stdout + proc.stderr
    assert "re-run without them" in proc.stdout
    assert "hand-coded matrices rewritten: officer_comments_coded.csv, officer_comments_coder2.csv" in proc.stdout
    places = [*_warehouse_files(wh), wh.parent / "raw_archive", folder]  # the folder's hand-coded matrices too
    for needle in (ERASED_ID, ERASED_TEXT):
        assert not _bytes_hold(places, needle), needle
    after = warehouse.read_wave(wh, "officer_responses", "2015")
    assert len(after) == len(before) - 1 and set(after["respondent_id"]) == set(before["respondent_id"]) - {ERASED_ID}
    records = [r for r in read_records(wh.parent / "raw_archive") if r.dataset == "officer_survey"]
    assert any(r.erased == 1 for r in records) and all(ERASED_ID not in str(r) for r in records)
    # the drop folder's export lost exactly the respondent's line and nothing else
    assert read_export(folder / "officer_survey.csv").n_rows == len(after)


def test_erase_reaches_an_archived_earlier_version(wave) -> None:
    root, folder, wh, htna = wave
    proc = htna("erase", "--wave", "2015", "--respondent", REMOVED_ID, "--no-run")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 archived export(s) rewritten" in proc.stdout
    for needle in (REMOVED_ID, REMOVED_TEXT):
        assert not _bytes_hold([wh.parent / "raw_archive", *_warehouse_files(wh), folder], needle), needle
    records = read_records(wh.parent / "raw_archive")
    current = {r.sha256 for r in records}
    assert all(r.superseded_by in current for r in records if r.superseded_by)  # the history follows the new bytes


def test_erase_removes_a_stakeholder_survey_respondent_the_same_way(wave) -> None:
    root, folder, wh, htna = wave
    places = [*_warehouse_files(wh), wh.parent / "raw_archive", folder]
    assert _bytes_hold(_warehouse_files(wh), STAKEHOLDER_ID)  # the scan sees them before
    assert _bytes_hold([wh.parent / "raw_archive"], STAKEHOLDER_TEXT) and _bytes_hold([folder], STAKEHOLDER_TEXT)
    before = warehouse.read_wave(wh, "stakeholder_survey_responses", "2015")
    officers = warehouse.read_wave(wh, "officer_responses", "2015")
    exported = read_export(folder / "stakeholder_survey.csv").n_rows
    proc = htna("erase", "--wave", "2015", "--respondent", STAKEHOLDER_ID, "--no-run")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert STAKEHOLDER_ID not in proc.stdout + proc.stderr
    assert "1 archived export(s) rewritten, stakeholder_survey.csv in the drop folder rewritten" in proc.stdout
    for needle in (STAKEHOLDER_ID, STAKEHOLDER_TEXT):
        assert not _bytes_hold(places, needle), needle
    after = warehouse.read_wave(wh, "stakeholder_survey_responses", "2015")
    assert len(after) == len(before) - 1 and STAKEHOLDER_ID in set(before["respondent_id"])
    assert set(after["respondent_id"]) == set(before["respondent_id"]) - {STAKEHOLDER_ID}
    assert len(warehouse.read_wave(wh, "officer_responses", "2015")) == len(officers)  # the officers untouched
    records = [r for r in read_records(wh.parent / "raw_archive") if r.dataset == "stakeholder_survey"]
    assert any(r.erased == 1 for r in records)
    assert read_export(folder / "stakeholder_survey.csv").n_rows == exported - 1  # just their record went


def test_erase_of_someone_not_there_says_so(wave) -> None:
    _, _, _, htna = wave
    proc = htna("erase", "--wave", "2015", "--respondent", "NobodyWithThisId", "--no-run")
    assert proc.returncode == 1 and "no respondent with that id in wave 2015" in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- the pieces


def test_deleted_rows_stay_in_the_file_until_it_is_compacted(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    frame = pd.DataFrame({"wave": "2015", "respondent_id": [f"R{i:04d}" for i in range(2000)] + [ERASED_ID],
                          "comment": ["no comment"] * 2000 + [ERASED_TEXT]})
    warehouse.replace_wave(db, "answers", "2015", frame)
    warehouse.replace_wave(db, "answers", "2015", frame.iloc[:2000])  # a plain connect: no compaction
    assert _bytes_hold(_warehouse_files(db), ERASED_ID)  # the deleted row's bytes are still in the file
    assert warehouse.compaction_marker(db).exists()
    warehouse.compact(db)
    assert not _bytes_hold(_warehouse_files(db), ERASED_ID) and not _bytes_hold(_warehouse_files(db), ERASED_TEXT)
    assert warehouse.read_wave(db, "answers", "2015").equals(warehouse.read_wave(db, "answers", "2015"))
    assert len(warehouse.read_wave(db, "answers", "2015")) == 2000
    assert not warehouse.compaction_marker(db).exists()
    assert not os.stat(db).st_mode & 0o077


def test_a_compaction_killed_before_the_swap_leaves_the_warehouse_whole(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    frame = pd.DataFrame({"wave": "2015", "respondent_id": ["A", ERASED_ID], "comment": ["x", ERASED_TEXT]})
    warehouse.replace_wave(db, "answers", "2015", frame)
    warehouse.replace_wave(db, "answers", "2015", frame.iloc[:1])
    code = f"from pipelines import warehouse\nwarehouse.compact({str(db)!r})\n"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, "HTNA_CRASH_AT": "warehouse:compact:before-replace"}, timeout=120)
    assert proc.returncode == 137
    leftovers = list(tmp_path.glob(".w.duckdb.compacting-*"))
    assert leftovers  # the fresh copy, killed before it took the warehouse's place
    assert warehouse.read_wave(db, "answers", "2015")["respondent_id"].tolist() == ["A"]  # the old file: whole
    warehouse.compact(db)
    assert not list(tmp_path.glob(".w.duckdb.compacting-*"))  # the killed copy is gone with its bytes
    assert not _bytes_hold(_warehouse_files(db), ERASED_ID)


def test_text_exports_lose_exactly_the_respondents_lines(tmp_path: Path) -> None:
    for name in ("surveymonkey_csv.csv", "qualtrics_csv.csv", "qualtrics_tsv.tsv", "redcap_raw.csv", "plain_csv.csv"):
        source = FORMATS / name
        raw = read_export(source)
        rid = str(raw.cells(raw.ids["respondent_id"]).iloc[2]).strip()
        out = tmp_path / name
        assert remove_respondent(source, rid, out) == 1
        again = read_export(out)
        assert again.n_rows == raw.n_rows - 1
        kept = raw.table.drop(index=2).reset_index(drop=True)
        assert again.table.astype(str).equals(kept.astype(str)), name  # every other answer as it was
        if raw.encoding.startswith("UTF-8"):  # byte for byte: the file minus the respondent's one line
            lines = source.read_bytes().splitlines(keepends=True)
            gone = [i for i, line in enumerate(lines) if lines[:i] + lines[i + 1:] == out.read_bytes().splitlines(keepends=True)]
            assert len(gone) >= 1 and rid.encode() in lines[gone[0]], name


@pytest.mark.parametrize("name", ["surveymonkey_xlsx.xlsx", "plain_xlsx.xlsx", "spss.sav"])
def test_workbooks_and_spss_files_lose_the_respondent(name: str, tmp_path: Path) -> None:
    source = FORMATS / name
    raw = read_export(source)
    rid = str(raw.cells(raw.ids["respondent_id"]).iloc[1]).strip()
    out = tmp_path / name
    assert remove_respondent(source, rid, out) == 1
    again = read_export(out)
    assert again.n_rows == raw.n_rows - 1
    assert rid not in set(again.cells(again.ids["respondent_id"]).astype(str).str.strip())


def test_the_archive_keeps_the_configured_number_of_recent_waves(tmp_path: Path) -> None:
    archive = tmp_path / "raw_archive"
    for wave in ("2015", "2016", "2017"):
        export = tmp_path / wave / "officer_survey.csv"
        export.parent.mkdir()
        export.write_text(f"respondent_id,q\nCanaryWave{wave}Rid,1\n")
        archive_export(export, wave, archive)
    assert _bytes_hold([archive], "CanaryWave2015Rid")
    removed = apply_retention(archive, keep_waves=2)  # the default: the current wave and the one before
    assert [r.wave for r in removed] == ["2015"]
    assert not _bytes_hold([archive], "CanaryWave2015Rid")
    assert _bytes_hold([archive], "CanaryWave2016Rid") and _bytes_hold([archive], "CanaryWave2017Rid")
    records = read_records(archive)
    assert len(records) == 3 and [r.removed_at is not None for r in records] == [True, False, False]
    assert apply_retention(archive, keep_waves=2) == []  # nothing more to do
    assert [r.wave for r in apply_retention(archive, keep_waves=1)] == ["2016"]


def test_rewriting_archived_exports_follows_the_new_bytes(tmp_path: Path) -> None:
    archive = tmp_path / "raw_archive"
    export = tmp_path / "officer_survey.csv"
    for version in (1, 2):
        export.write_text(f"respondent_id,q\n{ERASED_ID},{version}\nOther{version},1\n")
        archive_export(export, "2015", archive)
    assert rewrite_wave_exports(archive, "2015", "officer_survey",
                                lambda s, t: remove_respondent(s, ERASED_ID, t)) == 2
    assert not _bytes_hold([archive], ERASED_ID)
    old, new = read_records(archive)
    assert old.superseded_by == new.sha256 and old.erased == new.erased == 1
    assert (archive / new.archive_path).read_text() == "respondent_id,q\nOther2,1\n"
