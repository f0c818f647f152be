"""Finding a wave's exports in the drop folder, fingerprinting them, and reading the interview codes.

A wave's inputs are the files in ``<data_dir>/incoming/<wave>/``: the officer survey export, the
coded stakeholder and survivor interview matrices, optionally the service-provider inventory, and
— for generated demo data only — a ``SYNTHETIC.json`` manifest that makes every published page
carry the synthetic-data banner.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from pipelines.config import InputLimits, InterviewFrame
from assets.ingest.code_matrix import read_code_matrix_table
from pipelines.errors import InputError
from pipelines.input_files import check_input_file, read_regular

DATASET_FILES = {
    "officer_survey": ("officer_survey.csv", "officer_survey.xlsx", "officer_survey.tsv", "officer_survey.txt",
                       "officer_survey.sav"),
    "stakeholder_survey": ("stakeholder_survey.csv", "stakeholder_survey.xlsx", "stakeholder_survey.tsv",
                           "stakeholder_survey.txt", "stakeholder_survey.sav"),  # optional (instruments: in the config)
    "stakeholder_interviews": ("stakeholder_interviews.csv",),
    "survivor_interviews": ("survivor_interviews.csv",),
    "provider_inventory": ("provider_inventory.csv", "provider_inventory.xlsx"),  # optional (service_inventory.py)
}
#: the survey instruments' exports (read by the export readers in any supported layout)
SURVEY_EXPORTS = ("officer_survey", "stakeholder_survey")
SYNTHETIC_MANIFEST = "SYNTHETIC.json"
EXPORT_COLUMNS = ["wave", "dataset", "file_name", "sha256", "bytes", "rows", "synthetic"]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def wave_folder(data_dir: Path, wave: str) -> Path:
    folder = data_dir / "incoming" / wave
    if not folder.is_dir():
        raise InputError(folder, f"no folder of exports for wave {wave}",
                         fix=f"put the wave's exports in {folder} (or pass --data to the data folder)")
    return folder


#: the synthetic-data manifest is a few lines of JSON
MANIFEST_MAX_BYTES = 64 * 1024


def is_synthetic(folder: Path) -> bool:
    """True when the folder holds generated demonstration data (its manifest says so). A manifest
    that is not a regular file of the folder is refused (:mod:`pipelines.input_files`)."""
    manifest = folder / SYNTHETIC_MANIFEST
    if not os.path.lexists(manifest):
        return False
    data = read_regular(manifest, folder, max_bytes=MANIFEST_MAX_BYTES)
    try:
        return bool(json.loads(data.decode("utf-8")).get("synthetic", True))
    except (ValueError, AttributeError):
        return True  # an unreadable manifest still marks the folder as not real data


def _count_rows(path: Path, header_rows: int) -> int:
    from assets.ingest.raw import decode_text

    text, _, _ = decode_text(path, read_regular(path))
    import csv
    import io

    return max(0, sum(1 for r in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in r)) - header_rows)


def find_exports(data_dir: Path, wave: str, limits: InputLimits | None = None) -> pd.DataFrame:
    """One row per input file of the wave: dataset, file name, SHA-256, size, respondent rows.

    Each file is checked before it is read: a regular file of the wave folder within ``limits``."""
    folder = wave_folder(data_dir, wave)
    synthetic = is_synthetic(folder)
    paths: dict[str, Path] = {}
    for dataset, names in DATASET_FILES.items():  # every file checked first, in the inputs' order
        path = next((folder / n for n in names if os.path.lexists(folder / n)), None)  # a link too: refused
        if path is not None:
            check_input_file(path, folder, limits)
            paths[dataset] = path
        elif dataset == "officer_survey":
            raise InputError(folder / names[0], "the officer survey export is missing",
                             fix=f"save the survey export in {folder} as one of: {', '.join(names)}")
    found: dict[str, dict] = {}
    # the officer export is read last: its read is kept for officer_responses (any other read drops it)
    for dataset in sorted(paths, key=lambda d: d == "officer_survey"):
        path = paths[dataset]
        if dataset in SURVEY_EXPORTS:  # any supported layout; its header rows are the format's own
            from assets.ingest.readers import read_export, read_export_kept

            # kept: officer_responses maps it without reading it again
            n = (read_export_kept(path) if dataset == "officer_survey" else read_export(path)).n_rows
        elif dataset == "provider_inventory":  # CSV or XLSX; provider rows below the header
            from assets.ingest.service_inventory import count_inventory_rows

            n = count_inventory_rows(path)
        else:
            try:
                n = _count_rows(path, 1)
            except InputError:
                raise
            except Exception as exc:  # noqa: BLE001 - malformed text is reported when the file is read properly
                raise InputError(path, f"cannot read the file as CSV ({type(exc).__name__})",
                                 fix="re-export the file as CSV") from None
        found[dataset] = {"wave": wave, "dataset": dataset, "file_name": path.name, "sha256": sha256_of(path),
                          "bytes": path.stat().st_size, "rows": n, "synthetic": synthetic}
    rows = [found[d] for d in DATASET_FILES if d in found]
    for path in answer_code_files(folder):  # what declares the officer export's answer codes is part of it
        rows.append({"wave": wave, "dataset": "officer_survey_codes", "file_name": path.name,
                     "sha256": sha256_of(path), "bytes": path.stat().st_size, "rows": 0, "synthetic": synthetic})
    return pd.DataFrame(rows, columns=EXPORT_COLUMNS)


def answer_code_files(folder: Path) -> list[Path]:
    """The files in a wave's folder that declare the officer export's answer codes: a REDCap data
    dictionary (``*dictionary*.csv``) or a Qualtrics survey file (``*.qsf``); see assets.ingest.metadata."""
    return sorted(p for p in folder.iterdir() if p.is_file() and (
        p.name.casefold().endswith(".qsf") or (p.name.casefold().endswith(".csv") and "dictionary" in p.name.casefold())))


def read_interviews(path: Path, frame: InterviewFrame, dataset: str, wave: str) -> pd.DataFrame:
    """Read a coded interview matrix and check it against the coding frame.

    Messages name the row, the column and the rule, never a cell's content (an interview id or a
    code could identify the person interviewed)."""
    table = read_code_matrix_table(path, frame.id_column, [t.code for t in frame.themes], "interview")
    ids = table[frame.id_column].str.strip()
    # a blank id is missing (the quality checks hold the interview back), not an id shared by the blank rows
    out = pd.DataFrame({"wave": wave, "interview_id": ids.where(ids != "", None)})
    for attr, levels in frame.attributes.items():
        if attr in table.columns:
            vals = table[attr].str.strip()
            bad = vals[(vals != "") & ~vals.isin(levels)]
            if len(bad):
                i = int(bad.index[0])
                raise InputError(path, f"not a {attr} of the coding frame", row=i + 2, column=attr,
                                 value=bad.iloc[0], fix=f"use one of: {', '.join(levels)}")
            out[attr] = vals.replace("", None)
        else:
            out[attr] = None
    for t in frame.themes:
        vals = table[t.code].str.strip()
        bad = vals[~vals.isin(["0", "1", ""])]
        if len(bad):
            i = int(bad.index[0])
            raise InputError(path, "a theme cell is not 0 or 1", row=i + 2, column=t.code, value=bad.iloc[0],
                             fix="code each theme 1 if it came up in the interview, else 0")
        out[t.code] = vals.map({"1": True, "0": False, "": None}).astype("boolean")
    dup = out["interview_id"].duplicated() & out["interview_id"].notna()
    if dup.any():
        i = int(dup.idxmax())
        first = int((out["interview_id"] == out["interview_id"][i]).idxmax())
        raise InputError(path, f"the interview id of this row is also the id of row {first + 2}", row=i + 2,
                         column=frame.id_column, fix="each interview must have its own row and id")
    return out
