"""Erasing one officer respondent from a wave: the warehouse, the raw archive and the drop folder.

A respondent who withdraws (or whose data must go) is removed everywhere htna keeps them:

* every warehouse table with a ``respondent_id`` column loses the respondent's rows of the wave, and
  the quarantine tables their rows (by the line numbers those rows came from);
* the wave's officer export in the drop folder and every archived version of it are rewritten
  without the respondent's record (:mod:`assets.ingest.erase_export`), so a re-run cannot bring them
  back and the archive holds no copy;
* the wave's hand-coded matrices of open-ended answers (a coding frame's ``hand_coded_file`` and
  ``second_coder_file`` in the drop folder, keyed by respondent id) lose the respondent's row;
* the warehouse is then compacted (copied into a fresh file: :func:`pipelines.warehouse.compact`),
  since deleted rows' bytes otherwise stay in the file.

The CLI (``htna erase``) then re-runs the wave, so the published figures no longer count them.
Nothing here names the respondent in a message or a record. Plain code, no Dagster.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from assets.ingest.archive import rewrite_wave_exports
from assets.ingest.erase_export import _id_text, remove_respondent
from assets.ingest.exports import DATASET_FILES
from pipelines import warehouse
from pipelines.errors import HtnaError
from pipelines.input_files import check_input_file

#: the tables that hold the officer survey's rows by their line in the export
QUARANTINE_TABLES = ("officer_responses_quarantine", "quarantine")
DATASET = "officer_responses"


@dataclass
class Erasure:
    """What was removed: rows per table, files rewritten (counts only)."""

    rows: dict[str, int] = field(default_factory=dict)
    archived_files: int = 0
    drop_folder_file: str | None = None
    code_matrices: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(sum(self.rows.values()) or self.archived_files or self.drop_folder_file or self.code_matrices)


def _columns(con, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [warehouse.SCHEMA, table]).fetchall()}


def erase_from_warehouse(path: Path | str, wave: str, respondent_id: str) -> dict[str, int]:
    """Delete the respondent's rows of ``wave`` from every table (one transaction); rows per table."""
    wanted = _id_text(respondent_id)
    removed: dict[str, int] = {}
    with warehouse.connect(path) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1",
            [warehouse.SCHEMA]).fetchall()]
        con.execute("BEGIN TRANSACTION")
        try:
            lines: list[int] = []
            if DATASET in tables and {"respondent_id", "source_row"} <= _columns(con, DATASET):
                lines = [r[0] for r in con.execute(
                    f"SELECT source_row FROM {warehouse._qualified(con, DATASET)} WHERE wave = ? AND "
                    "trim(respondent_id) = ?", [wave, wanted]).fetchall()]
            for table in tables:
                columns = _columns(con, table)
                t = warehouse._qualified(con, table)
                n = 0
                if "respondent_id" in columns and "wave" in columns:
                    n += con.execute(f"DELETE FROM {t} WHERE wave = ? AND trim(respondent_id) = ?",
                                     [wave, wanted]).fetchone()[0]
                if table in QUARANTINE_TABLES and lines and {"dataset", "source_row"} <= columns:
                    marks = ", ".join("?" for _ in lines)
                    n += con.execute(f"DELETE FROM {t} WHERE wave = ? AND dataset = ? AND source_row IN ({marks})",
                                     [wave, DATASET, *lines]).fetchone()[0]
                if n:
                    removed[table] = int(n)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        warehouse._mark_for_compacting(con)
    return removed


def _rewrite_in_place(path: Path, respondent_id: str) -> bool:
    """Rewrite a drop-folder export without the respondent (atomically; its mode kept)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".erasing")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        if not remove_respondent(path, respondent_id, tmp_path):
            return False
        shutil.copymode(path, tmp_path)
        os.replace(tmp_path, path)
        return True
    finally:
        tmp_path.unlink(missing_ok=True)


def remove_from_code_matrix(path: Path, id_column: str, respondent_id: str) -> bool:
    """Rewrite a hand-coded matrix (CSV, one row per respondent) without the respondent's rows,
    atomically with its mode kept; False when it has none."""
    import csv
    import io

    from pipelines.input_files import read_regular

    text = read_regular(path).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or id_column not in [c.strip() for c in rows[0]]:
        return False
    at = [c.strip() for c in rows[0]].index(id_column)
    wanted = _id_text(respondent_id)
    kept = [rows[0]] + [r for r in rows[1:] if not (len(r) > at and _id_text(r[at]) == wanted)]
    if len(kept) == len(rows):
        return False
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(kept)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".erasing")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())
    try:
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return True


def erase_respondent(*, warehouse_path: Path, data_dir: Path, wave: str, respondent_id: str,
                     code_matrices: list[tuple[str, str]] = ()) -> Erasure:
    """Remove the respondent from the warehouse, the raw archive, the drop folder's export and its
    hand-coded matrices (``code_matrices``: file name and respondent id column), then compact the
    warehouse. Raises HtnaError when the respondent is nowhere to be found."""
    if not _id_text(respondent_id):
        raise HtnaError("--respondent is blank: give the respondent's id as the export has it")
    result = Erasure()
    with ExitStack() as stack:
        if warehouse_path.exists():  # held for the whole erasure: no run reads a half-erased wave
            stack.enter_context(warehouse.held_open(warehouse_path))
            result.rows = erase_from_warehouse(warehouse_path, wave, respondent_id)
        folder = data_dir / "incoming" / wave
        export = next((folder / n for n in DATASET_FILES["officer_survey"] if os.path.lexists(folder / n)), None)
        if export is not None:
            check_input_file(export, folder)
            if _rewrite_in_place(export, respondent_id):
                result.drop_folder_file = export.name
        for name, id_column in code_matrices:
            matrix = folder / name
            if os.path.lexists(matrix):
                check_input_file(matrix, folder)
                if remove_from_code_matrix(matrix, id_column, respondent_id):
                    result.code_matrices.append(name)
        result.archived_files = rewrite_wave_exports(
            warehouse_path.parent / "raw_archive", wave, "officer_survey",
            lambda source, target: remove_respondent(source, respondent_id, target))
    # held_open compacts the warehouse as it ends (rows were deleted); compact anyway if none were
    if warehouse_path.exists() and warehouse.compaction_marker(warehouse_path).exists():
        warehouse.compact(warehouse_path)
    if not result.found:
        raise HtnaError(f"no respondent with that id in wave {wave}: not in the warehouse, the raw archive or "
                        f"{data_dir / 'incoming' / wave}\n  fix: check the id (as the export's respondent id column "
                        "has it) and the wave")
    return result


def still_present(*, warehouse_path: Path, data_dir: Path, wave: str, respondent_id: str) -> list[str]:
    """Where the respondent's id is still found after an erasure (the tables' rows, the wave's exports)."""
    wanted = _id_text(respondent_id)
    places = []
    if warehouse_path.exists():
        with warehouse.connect(warehouse_path, read_only=True) as con:
            for (table,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                                        [warehouse.SCHEMA]).fetchall():
                if "respondent_id" in _columns(con, table):
                    n = con.execute(f"SELECT count(*) FROM {warehouse._qualified(con, table)} WHERE wave = ? AND "
                                    "trim(respondent_id) = ?", [wave, wanted]).fetchone()[0]
                    if n:
                        places.append(f"table {table}")
    from assets.ingest.archive import read_records
    from assets.ingest.erase_export import matching_records
    from assets.ingest.readers import read_export

    archive = warehouse_path.parent / "raw_archive"
    files = [archive / r.archive_path for r in read_records(archive)
             if r.wave == wave and r.dataset == "officer_survey" and r.removed_at is None]
    folder = data_dir / "incoming" / wave
    files += [folder / n for n in DATASET_FILES["officer_survey"] if (folder / n).is_file()]
    for f in files:
        if f.is_file() and len(matching_records(read_export(f), respondent_id)):
            places.append(str(f))
    return places
