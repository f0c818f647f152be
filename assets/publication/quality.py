"""Publishing the data-quality page's tables.

Counts of *records* that failed a row check (quarantined, by reason) are protected like any small
count: from 1 to the minimum minus one they are hidden, and so is what they could be worked out
from (rows read = accepted + quarantined; a reason's total in the checks table; the input file's
row count in the provenance), chosen by the same audit as every other table. A count of none is
shown (nothing failed). Questions answered by fewer than the minimum, or asked of fewer, are
hidden: that is an indicator's hidden ``n``. How many skipped a question (item non-response) is not
a secret (it follows from the published number of respondents and each indicator's ``n``).

Check messages are not published: they are written from the data ("184 rows read = 183 accepted +
1 quarantined"). The page says what each check expects, whether it passed and, where shown, how
many records failed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.publication.audit import COMPLEMENTARY, LinkedCounts, Secrets, protect
from assets.publication.policy import DisclosurePolicy

__all__ = ["QUALITY_SECTIONS", "publish_quality"]

QUALITY_SECTIONS = {
    "status": ["dataset", "status", "estimable", "rows_read", "accepted", "quarantined", "checks_run",
               "checks_passed", "blocking_failed", "row_checks_failed", "held_back_by", "suppressed_counts"],
    "checks": ["dataset", "check", "expects", "severity", "passed", "unexpected", "percent", "quarantined",
               "threshold", "suppressed_counts"],
    "quarantine_by_reason": ["dataset", "stage", "check", "reason", "rows", "percent", "suppressed",
                             "suppression_reason"],
    "completeness": ["dataset", "question", "question_text", "asked", "answered", "percent", "threshold",
                     "suppressed", "suppression_reason"],
}


def _small(x, m: int) -> bool:
    return x is not None and not pd.isna(x) and 0 < float(x) < m


def _dataset_pattern(status: pd.Series, reasons: pd.DataFrame, policy: DisclosurePolicy) -> tuple[bool, np.ndarray]:
    """Whether rows read must be hidden, and which reason rows are hidden (one dataset)."""
    m = policy.min_cell_count
    values = [float(status.get("rows_read") or 0), float(status.get("accepted") or 0),
              float(status.get("quarantined") or 0)] + [float(x or 0) for x in reasons["rows"]]
    counts = LinkedCounts(n=np.array(values), k=np.array(values),
                          equations=[(0, (1, 2)), (2, tuple(range(3, len(values))))] if len(reasons) else [(0, (1, 2))])
    secret = np.array([False, False] + [_small(v, m) for v in values[2:]])
    keep = np.array([False, True] + [False] * (len(values) - 2))
    cost = np.array([0.0, np.inf] + values[2:])  # rows read first: the accepted count is the survey's N
    hidden, _ = protect(counts, Secrets.frame(secret), policy.protection_values, keep=keep, cost=cost, min_count=m)
    return bool(hidden[0]) or bool(hidden[2]), (hidden[3:] != "")


def publish_quality(tables: dict[str, pd.DataFrame], policy: DisclosurePolicy) -> dict[str, pd.DataFrame]:
    """The data-quality tables as published (see the module docstring); ``tables`` from
    :func:`assets.quality.summary.split_summary`."""
    m = policy.min_cell_count
    status = tables["status"].copy()
    checks = tables["checks"].copy()
    reasons = tables["quarantine_by_reason"].copy()
    completeness = tables["completeness"].copy()
    status["suppressed_counts"] = ""
    checks["suppressed_counts"] = ""
    reasons["suppressed"] = False
    reasons["suppression_reason"] = ""
    hidden_read: set[str] = set()
    for i, s in status.iterrows():
        mine = reasons["dataset"] == s["dataset"]
        if policy.linked:
            read_hidden, reason_hidden = _dataset_pattern(s, reasons[mine], policy)
        else:  # the gate bypassed: every count on its own
            read_hidden, reason_hidden = False, np.array([_small(r, m) for r in reasons.loc[mine, "rows"]], dtype=bool)
        idx = reasons.index[mine]
        reasons.loc[idx, "suppressed"] = reason_hidden
        reasons.loc[idx, "suppression_reason"] = [
            ("primary" if _small(r, m) else COMPLEMENTARY) if h else "" for r, h in zip(reasons.loc[idx, "rows"],
                                                                                   reason_hidden)]
        hidden_cols = []
        if _small(s["quarantined"], m):
            status.loc[i, "quarantined"] = pd.NA
            hidden_cols.append("quarantined")
        if read_hidden:
            status.loc[i, "rows_read"] = pd.NA
            hidden_cols.append("rows_read")
            hidden_read.add(str(s["dataset"]))
        status.loc[i, "suppressed_counts"] = ", ".join(hidden_cols)
    for col in ("rows", "percent"):
        reasons[col] = reasons[col].astype(object).where(~reasons["suppressed"], None)
    # the checks that quarantine rows: their counts are the reasons' (hidden together)
    hidden_checks = set(zip(reasons["dataset"], reasons["check"], reasons["suppressed"]))
    if policy.linked:
        for i, c in checks.iterrows():
            row_check = str(c.get("severity")) == "row"
            secret = row_check and (_small(c.get("unexpected"), m) or _small(c.get("quarantined"), m)
                                    or (c["dataset"], c["check"], True) in hidden_checks)
            if secret:
                checks.loc[i, ["unexpected", "percent", "quarantined"]] = pd.NA
                checks.loc[i, "suppressed_counts"] = "unexpected, percent, quarantined"
    completeness["suppressed"] = False
    small = [(_small(a, m) or _small(b, m)) for a, b in zip(completeness["asked"], completeness["answered"])]
    completeness["suppressed"] = small
    completeness["suppression_reason"] = ["primary" if s else "" for s in small]
    for col in ("asked", "answered", "percent"):
        completeness[col] = completeness[col].astype(object).where(~completeness["suppressed"], None)
    out = {"status": status, "checks": checks, "quarantine_by_reason": reasons, "completeness": completeness}
    return {name: frame.reindex(columns=QUALITY_SECTIONS[name]).reset_index(drop=True) for name, frame in out.items()} \
        | {"hidden_rows_read": pd.DataFrame({"dataset": sorted(hidden_read)})}
