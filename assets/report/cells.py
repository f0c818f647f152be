"""What every page prints of a published cell: a value, or "hidden" (never zero), and the rows of a
published table as records for a template."""

from __future__ import annotations

import pandas as pd

HIDDEN = "hidden"


def is_missing(x: object) -> bool:
    """None, pd.NA or a float NaN: a cell with no value."""
    import math

    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _records(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def shown_count(x: object) -> str:
    """A published count as printed: '—' when missing (hidden counts are blank in the tables)."""
    return HIDDEN if is_missing(x) else str(int(x))


def _without(frame: pd.DataFrame | None, missing: set[str]) -> pd.DataFrame | None:
    """The rows of datasets the wave did receive (a dataset not received has no rows to report: no "rows read 0")."""
    if frame is None or frame.empty or not missing or "dataset" not in frame.columns:
        return frame
    return frame[~frame["dataset"].astype(str).isin(missing)]
