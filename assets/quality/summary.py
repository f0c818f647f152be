"""Aggregate quality tables for the published quality page: counts and shares only, never a row.

:func:`quality_summary_tables` gives four tables (the report renders them):

``status``
    Per dataset: rows read, accepted, quarantined, checks run / passed / failed, and whether the
    wave can be estimated from it (and, if not, which checks hold it back).
``checks``
    Per check: what it expects, severity, passed, rows evaluated, rows failing and their share,
    rows quarantined, and a message in words. No row numbers (those stay in the internal
    ``quality_check_results`` table).
``quarantine_by_reason``
    Rows held back per dataset, stage (ingestion or checks), check and reason, with the share of
    rows read.
``completeness``
    Per question of the survey (the officer survey's, or another instrument's: its codebook):
    respondents asked (by the codebook's skip logic), respondents who answered, the share, and the
    completeness threshold of the suite.

They are stored together as the ``data_quality_summary`` asset (and, for every further survey
instrument, its ``<id>_quality_summary``), one row per table row with a ``section`` column
(:func:`summary_frame`); :func:`split_summary` gives the tables back.
"""

from __future__ import annotations

import pandas as pd

from assets.quality.screening import WaveScreening
from assets.quality.suites import answer_column, asked_if_condition
from pipelines.config import Assessment

SCHEMA: dict[str, str] = {
    "wave": "object", "section": "object", "dataset": "object", "check": "object", "question": "object",
    "stage": "object", "reason": "object", "label": "object", "severity": "object", "status": "object",
    "passed": "boolean", "rows_read": "Int64", "accepted": "Int64", "quarantined": "Int64",
    "checks_run": "Int64", "checks_passed": "Int64", "blocking_failed": "Int64", "row_checks_failed": "Int64",
    "evaluated": "Int64", "unexpected": "Int64", "rows": "Int64", "asked": "Int64", "answered": "Int64",
    "percent": "float64", "threshold": "object", "message": "object", "held_back_by": "object",
}
SECTIONS: dict[str, list[str]] = {
    "status": ["dataset", "status", "passed", "rows_read", "accepted", "quarantined", "checks_run",
               "checks_passed", "blocking_failed", "row_checks_failed", "held_back_by"],
    "checks": ["dataset", "check", "label", "severity", "passed", "evaluated", "unexpected", "percent",
               "quarantined", "threshold", "message"],
    "quarantine_by_reason": ["dataset", "stage", "check", "reason", "rows", "percent"],
    "completeness": ["dataset", "question", "label", "asked", "answered", "percent", "threshold"],
}
# How a column reads in each table (stored under the shared name on the left).
RENAME = {"status": {"passed": "estimable"}, "checks": {"label": "expects"}, "completeness": {"label": "question_text"}}


def _status(s: WaveScreening) -> pd.DataFrame:
    rows = []
    for name, d in s.datasets.items():
        results = d.results
        blocking = [r.check for r in results if r.blocking_failure]
        rows.append({
            "dataset": name, "status": "held back" if blocking else "accepted for estimation",
            "passed": not blocking, "rows_read": d.rows_read, "accepted": len(d.accepted),
            "quarantined": d.rows_quarantined + d.ingest_quarantined, "checks_run": len(results),
            "checks_passed": sum(r.passed for r in results), "blocking_failed": len(blocking),
            "row_checks_failed": sum(1 for r in results if r.severity == "row" and not r.passed),
            "held_back_by": ", ".join(blocking) or None,
        })
    return pd.DataFrame(rows)


def _checks(s: WaveScreening) -> pd.DataFrame:
    rows = []
    for r in s.results():
        pct = r.outcome.percent()
        rows.append({
            "dataset": r.dataset, "check": r.check, "label": r.description, "severity": r.severity,
            "passed": r.passed, "evaluated": r.outcome.evaluated, "unexpected": r.outcome.unexpected,
            "percent": None if pct is None else round(pct, 2), "quarantined": r.rows_quarantined,
            "threshold": None if r.outcome.threshold is None else str(r.outcome.threshold),
            "message": r.outcome.message,
        })
    return pd.DataFrame(rows)


def _quarantine(s: WaveScreening) -> pd.DataFrame:
    q = s.quarantine()
    if not len(q):
        return pd.DataFrame(columns=SECTIONS["quarantine_by_reason"])
    ingest_keys = set(zip(s.ingest_quarantine["dataset"], s.ingest_quarantine["source_row"].astype("int64"),
                          s.ingest_quarantine["check"])) if len(s.ingest_quarantine) else set()
    q = q.assign(stage=["ingestion" if (d, int(r), c) in ingest_keys else "checks"
                        for d, r, c in zip(q["dataset"], q["source_row"], q["check"])])
    out = q.groupby(["dataset", "stage", "check", "reason"], sort=True).size().rename("rows").reset_index()
    read = {name: d.rows_read for name, d in s.datasets.items()}
    out["percent"] = [round(100 * n / read[d], 2) if read.get(d) else None for d, n in zip(out["dataset"], out["rows"])]
    return out


def completeness_table(frame: pd.DataFrame, assessment: Assessment, thresholds: dict[str, float] | None = None,
                       dataset: str = "officer_responses",
                       known: dict[str, pd.Categorical] | None = None,
                       not_collected: frozenset[str] | set[str] = frozenset()) -> pd.DataFrame:
    """Per codebook question: respondents asked (skip logic), respondents who answered, share.

    ``known``: text columns of ``frame`` already as categories (code -1 is exactly ``isna``), read
    instead of a million strings per column. A question in ``not_collected`` has no share: its
    threshold cell says "not collected in this wave"."""
    from assets.ingest.officer_responses import NOT_COLLECTED

    rows = []
    for v in assessment.codebook.variables:
        if v.name in not_collected:
            rows.append({"dataset": dataset, "question": v.name, "label": v.question, "asked": len(frame),
                         "answered": 0, "percent": None, "threshold": NOT_COLLECTED})
            continue
        col = answer_column(assessment, v.name)
        cond = asked_if_condition(assessment, v.name)
        if col not in frame.columns:
            asked, answered = len(frame), 0
        else:
            cat = (known or {}).get(col)
            filled = cat.codes >= 0 if cat is not None and len(cat) == len(frame) else frame[col].notna().to_numpy()
            asked, answered = len(frame), int(filled.sum())
            if cond:
                try:  # frame.query(cond)[col], without copying the other columns
                    keep = frame.eval(cond, target=None)
                    if isinstance(keep, pd.Series) and keep.dtype == bool and keep.index.equals(frame.index):
                        chosen = keep.to_numpy()
                        asked, answered = int(chosen.sum()), int(filled[chosen].sum())
                    else:
                        try:
                            values = frame[col].loc[keep]
                        except ValueError:
                            values = frame[col][keep]
                        asked, answered = len(values), int(values.notna().sum())
                except Exception:  # the condition's column is missing: everyone counts as asked
                    asked, answered = len(frame), int(filled.sum())
        rows.append({"dataset": dataset, "question": v.name, "label": v.question, "asked": asked,
                     "answered": answered, "percent": round(100 * answered / asked, 2) if asked else None,
                     "threshold": None if (thresholds or {}).get(v.name) is None else str(thresholds[v.name])})
    return pd.DataFrame(rows)


def quality_summary_tables(screening: WaveScreening, assessment: Assessment,
                           survey: str = "officer_responses") -> dict[str, pd.DataFrame]:
    """The quality page's tables for one wave (see the module docstring). ``survey``: the dataset whose
    questions the completeness table is of, by ``assessment``'s codebook (an instrument's view of it)."""
    tables = {"status": _status(screening), "checks": _checks(screening),
              "quarantine_by_reason": _quarantine(screening)}
    responses = screening.datasets.get(survey)
    if responses is not None:
        thresholds = {r.check.split("__", 1)[1]: r.outcome.threshold for r in responses.results
                      if r.check.startswith("completeness__")}
        tables["completeness"] = completeness_table(responses.accepted, assessment, thresholds, dataset=survey,
                                                    known=responses.known, not_collected=responses.not_collected)
    else:
        tables["completeness"] = pd.DataFrame(columns=SECTIONS["completeness"])
    return tables


def summary_frame(tables: dict[str, pd.DataFrame], wave: str) -> pd.DataFrame:
    """The tables stacked into one stored table with a ``section`` column (typed, for DuckDB)."""
    parts = [t.assign(section=name) for name, t in tables.items() if len(t)]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    frame = frame.reindex(columns=list(SCHEMA))
    frame["wave"] = wave
    for col, dtype in SCHEMA.items():
        if dtype == "object":
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        else:
            frame[col] = frame[col].astype(dtype)
    return frame


def split_summary(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The stored ``data_quality_summary`` (one wave) back as its tables, with their own column names."""
    out = {}
    for section, cols in SECTIONS.items():
        part = frame[frame["section"] == section] if "section" in frame.columns else frame.iloc[:0]
        out[section] = part.reindex(columns=cols).rename(columns=RENAME.get(section, {})).reset_index(drop=True)
    return out
