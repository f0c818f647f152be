"""Erasing one respondent from a wave: the warehouse, the raw archive and the drop folder.

A respondent who withdraws (or whose data must go) is removed everywhere htna keeps them, for every
survey instrument of the config (the officer survey, the stakeholder survey: :class:`SurveyExport`, one
per instrument, and one code path for all of them):

* every warehouse table with a ``respondent_id`` column loses the respondent's rows of the wave, and
  the quarantine tables of the instrument their rows (by the line numbers those rows came from);
* the wave's export of each instrument in the drop folder and every archived version of it are
  rewritten without the respondent's record (:mod:`assets.ingest.erase_export`), so a re-run cannot
  bring them back and the archive holds no copy;
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

#: the quality stage's quarantine table (every dataset, by its rows' lines in the export)
STAGE_QUARANTINE = "quarantine"


@dataclass(frozen=True)
class SurveyExport:
    """One survey instrument's export as erasure sees it: its wave input (the drop folder's file names
    and the raw archive's dataset) and the table of its responses (``<table>_quarantine`` holds the rows
    ingestion held back, and ``dataset`` names the table in the quarantine rows)."""

    input: str     # officer_survey, stakeholder_survey
    table: str     # officer_responses, stakeholder_survey_responses

    @classmethod
    def of(cls, instrument) -> "SurveyExport":
        """The export of an :class:`~pipelines.config.Instrument` of the config."""
        return cls(input=instrument.id, table=instrument.responses_asset)

    @property
    def quarantine_tables(self) -> tuple[str, ...]:
        return (f"{self.table}_quarantine", STAGE_QUARANTINE)


#: the officer survey alone (an assessment without an ``instruments:`` block)
OFFICER_EXPORT = SurveyExport(input="officer_survey", table="officer_responses")


@dataclass
class Erasure:
    """What was removed: rows per table, files rewritten (counts only)."""

    rows: dict[str, int] = field(default_factory=dict)
    archived_files: int = 0
    drop_folder_files: list[str] = field(default_factory=list)
    code_matrices: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(sum(self.rows.values()) or self.archived_files or self.drop_folder_files or self.code_matrices)


def _columns(con, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [warehouse.SCHEMA, table]).fetchall()}


def erase_from_warehouse(path: Path | str, wave: str, respondent_id: str,
                         exports: tuple[SurveyExport, ...] = (OFFICER_EXPORT,)) -> dict[str, int]:
    """Delete the respondent's rows of ``wave`` from every table, and from each instrument's quarantine
    tables the rows of the lines they had in its export (one transaction); rows per table."""
    wanted = _id_text(respondent_id)
    removed: dict[str, int] = {}
    with warehouse.connect(path) as con:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1",
            [warehouse.SCHEMA]).fetchall()]
        con.execute("BEGIN TRANSACTION")
        try:
            lines: dict[SurveyExport, list[int]] = {}  # the respondent's lines in each instrument's export
            for export in exports:
                if export.table in tables and {"respondent_id", "source_row"} <= _columns(con, export.table):
                    lines[export] = [r[0] for r in con.execute(
                        f"SELECT source_row FROM {warehouse._qualified(con, export.table)} WHERE wave = ? AND "
                        "trim(respondent_id) = ?", [wave, wanted]).fetchall()]
            for table in tables:
                columns = _columns(con, table)
                t = warehouse._qualified(con, table)
                n = 0
                if "respondent_id" in columns and "wave" in columns:
                    n += con.execute(f"DELETE FROM {t} WHERE wave = ? AND trim(respondent_id) = ?",
                                     [wave, wanted]).fetchone()[0]
                for export, rows in lines.items():
                    if table in export.quarantine_tables and rows and {"dataset", "source_row"} <= columns:
                        marks = ", ".join("?" for _ in rows)
                        n += con.execute(f"DELETE FROM {t} WHERE wave = ? AND dataset = ? AND source_row IN "
                                         f"({marks})", [wave, export.table, *rows]).fetchone()[0]
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


def _drop_folder_export(folder: Path, export: SurveyExport) -> Path | None:
    """The instrument's export in the wave's folder (as the run finds it), or None."""
    return next((folder / n for n in DATASET_FILES.get(export.input, ()) if os.path.lexists(folder / n)), None)


def erase_respondent(*, warehouse_path: Path, data_dir: Path, wave: str, respondent_id: str,
                     code_matrices: list[tuple[str, str]] = (),
                     exports: tuple[SurveyExport, ...] = (OFFICER_EXPORT,)) -> Erasure:
    """Remove the respondent from the warehouse, the raw archive and the drop folder's export of every
    instrument in ``exports`` (:meth:`SurveyExport.of` each instrument of the config), and from the
    hand-coded matrices (``code_matrices``: file name and respondent id column), then compact the
    warehouse. Raises HtnaError when the respondent is nowhere to be found."""
    if not _id_text(respondent_id):
        raise HtnaError("--respondent is blank: give the respondent's id as the export has it")
    result = Erasure()
    with ExitStack() as stack:
        if warehouse_path.exists():  # held for the whole erasure: no run reads a half-erased wave
            stack.enter_context(warehouse.held_open(warehouse_path))
            result.rows = erase_from_warehouse(warehouse_path, wave, respondent_id, exports)
        folder = data_dir / "incoming" / wave
        for export in exports:
            path = _drop_folder_export(folder, export)
            if path is not None:
                check_input_file(path, folder)
                if _rewrite_in_place(path, respondent_id):
                    result.drop_folder_files.append(path.name)
        for name, id_column in code_matrices:
            matrix = folder / name
            if os.path.lexists(matrix):
                check_input_file(matrix, folder)
                if remove_from_code_matrix(matrix, id_column, respondent_id):
                    result.code_matrices.append(name)
        for export in exports:
            result.archived_files += rewrite_wave_exports(
                warehouse_path.parent / "raw_archive", wave, export.input,
                lambda source, target: remove_respondent(source, respondent_id, target))
    # held_open compacts the warehouse as it ends (rows were deleted); compact anyway if none were
    if warehouse_path.exists() and warehouse.compaction_marker(warehouse_path).exists():
        warehouse.compact(warehouse_path)
    if not result.found:
        raise HtnaError(f"no respondent with that id in wave {wave}: not in the warehouse, the raw archive or "
                        f"{data_dir / 'incoming' / wave}\n  fix: check the id (as the export's respondent id column "
                        "has it) and the wave")
    return result


def still_present(*, warehouse_path: Path, data_dir: Path, wave: str, respondent_id: str,
                  exports: tuple[SurveyExport, ...] = (OFFICER_EXPORT,)) -> list[str]:
    """Where the respondent's id is still found after an erasure (the tables' rows, the wave's exports
    of every instrument in ``exports``)."""
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
    inputs = {e.input for e in exports}
    files = [archive / r.archive_path for r in read_records(archive)
             if r.wave == wave and r.dataset in inputs and r.removed_at is None]
    folder = data_dir / "incoming" / wave
    files += [folder / n for e in exports for n in DATASET_FILES.get(e.input, ()) if (folder / n).is_file()]
    for f in files:
        if f.is_file() and len(matching_records(read_export(f), respondent_id)):
            places.append(str(f))
    return places
