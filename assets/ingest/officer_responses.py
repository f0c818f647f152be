"""From a survey export to the canonical ``officer_responses`` table.

Each canonical variable of the codebook is found in the export by its question text (or an alias),
tolerant of case, white space, smart quotes and trailing punctuation; answers are normalised to the
codebook's labels. Nothing is dropped silently: export questions that match no variable, variables
the export lacks and answers that are not among the options are all reported, and rows that cannot
be used are quarantined with a reason, so rows read = rows accepted + rows quarantined.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assets.ingest.surveymonkey import RawExport, parse_timestamp
from pipelines.config import Assessment, Option, Variable
from pipelines.errors import InputError

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                         "\u2014": "-", "\u00a0": " "})


def normalise_text(text: str) -> str:
    """Fold a question or answer label for matching: case, spacing, quotes, trailing punctuation."""
    t = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES).casefold()
    t = re.sub(r"\s+", " ", t).strip()
    return t.rstrip(" .:?!*").strip()


@dataclass
class IngestReport:
    """What ingestion found, for the user and for asset metadata (no respondent data)."""

    rows_read: int = 0
    rows_accepted: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    matched: list[str] = field(default_factory=list)
    missing_variables: list[str] = field(default_factory=list)
    unmatched_questions: list[str] = field(default_factory=list)
    value_problems: list[str] = field(default_factory=list)

    def reconciles(self) -> bool:
        return self.rows_read == self.rows_accepted + sum(self.quarantined.values())


def _match_questions(raw: RawExport, variables: list[Variable]) -> tuple[dict[str, str], list[str]]:
    """Map each variable name to the export's question text; list export questions left over."""
    export_questions: dict[str, str] = {}
    for col in raw.columns:
        export_questions.setdefault(normalise_text(col.question), col.question)
    found: dict[str, str] = {}
    for v in variables:
        for wording in [v.question, *v.aliases]:
            key = normalise_text(wording)
            if key in export_questions:
                found[v.name] = export_questions[key]
                break
    used = {normalise_text(q) for q in found.values()}
    unmatched = [q for k, q in export_questions.items() if k not in used]
    return found, unmatched


def _option_lookup(labels: list[str]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for code, label in enumerate(labels, start=1):
        n = normalise_text(label)
        lookup[n] = label
        lookup[str(code)] = label
        lookup[f"{code} - {n}"] = label
    return lookup


def to_officer_responses(raw: RawExport, assessment: Assessment, wave: str) -> tuple[pd.DataFrame, pd.DataFrame, IngestReport]:
    """Map a raw export onto the codebook.

    Returns (accepted rows in canonical form, quarantined rows with reasons, report).
    Raises InputError when a required variable is missing from the export.
    """
    cb = assessment.codebook
    report = IngestReport(rows_read=len(raw.rows))
    found, report.unmatched_questions = _match_questions(raw, cb.variables)
    report.matched = sorted(found)
    report.missing_variables = [v.name for v in cb.variables if v.name not in found]
    missing_required = [v.name for v in cb.variables if v.required and v.name not in found]
    if missing_required:
        v = next(x for x in cb.variables if x.name == missing_required[0])
        raise InputError(raw.path, f"required question not found: {v.question!r} ({v.name})", row=1,
                         fix="add the export's wording of this question to the codebook as an alias, "
                             "or export the survey with this question included")

    by_question: dict[str, list] = {}
    for col in raw.columns:
        by_question.setdefault(col.question, []).append(col)
    cells = np.array(raw.rows, dtype=object) if raw.rows else np.empty((0, len(raw.columns) + len(raw.ids)), object)
    strip = np.vectorize(lambda s: s.strip(), otypes=[object]) if cells.size else (lambda a: a)
    cells = strip(cells)

    def column(pos: int) -> np.ndarray:
        return cells[:, pos] if len(cells) else np.array([], dtype=object)

    out: dict[str, object] = {}
    rid_col = column(raw.ids["respondent_id"])
    out["respondent_id"] = rid_col
    for key in ("collector_id",):
        out[key] = column(raw.ids[key]) if key in raw.ids else np.full(len(cells), None, object)
    for key in ("start_date", "end_date"):
        out[key] = [parse_timestamp(s) for s in column(raw.ids[key])] if key in raw.ids else [None] * len(cells)

    problems_by_row: dict[int, list[str]] = {}
    for v in cb.variables:
        if v.name not in found:
            if v.type == "multi":
                for opt in v.options or []:
                    assert isinstance(opt, Option)
                    out[f"{v.name}__{opt.code}"] = pd.array([pd.NA] * len(cells), dtype="boolean")
            else:
                out[v.name] = np.full(len(cells), None, object)
            continue
        cols = by_question[found[v.name]]
        if v.type in ("single", "text"):
            main = next((c for c in cols if normalise_text(c.subheader) in ("response", "open-ended response", "")),
                        cols[0])
            values = column(main.position)
            if v.type == "text":
                out[v.name] = np.where(values == "", None, values)
                continue
            lookup = _option_lookup(assessment.options(v))
            mapped = np.full(len(values), None, object)
            for i, val in enumerate(values):
                if val == "":
                    continue
                label = lookup.get(normalise_text(val))
                if label is None:
                    problems_by_row.setdefault(i, []).append(f"{v.name}: answer not in codebook")
                    report.value_problems.append(
                        f"row {raw.first_data_line + i}, {v.name}: {val[:40]!r} is not one of the codebook's answers")
                mapped[i] = label
            out[v.name] = mapped
        else:  # multi-select: one column per option, a tick is a non-blank cell
            opt_cols = {normalise_text(c.subheader): c for c in cols}
            ticks = {}
            for opt in v.options or []:
                assert isinstance(opt, Option)
                c = opt_cols.get(normalise_text(opt.label))
                if c is None:
                    report.missing_variables.append(f"{v.name}__{opt.code}")
                    ticks[opt.code] = None
                else:
                    ticks[opt.code] = column(c.position) != ""
            other = next((c for k, c in opt_cols.items() if k.startswith("other")), None)
            other_vals = column(other.position) if other is not None else np.full(len(cells), "", object)
            present = [t for t in ticks.values() if t is not None]
            answered = np.logical_or.reduce(present + [other_vals != ""]) if present else np.zeros(len(cells), bool)
            for code, t in ticks.items():
                arr = pd.array(np.where(answered, t if t is not None else False, None), dtype="boolean")
                out[f"{v.name}__{code}"] = arr
            if v.other_specify:
                out[f"{v.name}__other_text"] = np.where(other_vals == "", None, other_vals)

    frame = pd.DataFrame(out)
    frame.insert(0, "wave", wave)
    frame.insert(1, "source_row", np.arange(raw.first_data_line, raw.first_data_line + len(frame)))
    start, end = pd.to_datetime(frame["start_date"]), pd.to_datetime(frame["end_date"])
    frame["duration_seconds"] = (end - start).dt.total_seconds()
    for d in cb.derived:
        mapping = assessment.derived_map(d)
        frame[d.name] = frame[d.from_].map(lambda x, m=mapping: m.get(x) if x is not None else None)

    # Rows that cannot be used: no answers at all, or a repeated respondent id.
    answer_cols = [c for c in frame.columns if c not in
                   {"wave", "source_row", "respondent_id", "collector_id", "start_date", "end_date",
                    "duration_seconds", *(d.name for d in cb.derived)}]
    blank = frame[answer_cols].isna().all(axis=1).to_numpy()
    no_id = (frame["respondent_id"].astype(str).str.strip() == "").to_numpy()
    dup = frame["respondent_id"].duplicated(keep="first").to_numpy() & ~no_id
    reasons = np.full(len(frame), "", object)
    reasons[dup] = "duplicate respondent id"
    reasons[no_id] = "no respondent id"
    reasons[blank] = "blank response"
    quarantine = pd.DataFrame({
        "dataset": "officer_responses", "wave": wave, "source_row": frame["source_row"],
        "check": np.where(reasons == "", "", np.where(blank, "not_blank",
                          np.where(no_id, "has_respondent_id", "unique_respondent_id"))),
        "reason": reasons,
    })[reasons != ""].reset_index(drop=True)
    accepted = frame[reasons == ""].reset_index(drop=True)
    report.rows_accepted = len(accepted)
    report.quarantined = quarantine["reason"].value_counts().to_dict()
    return accepted, quarantine, report
