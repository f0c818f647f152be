"""Published tables as the templates read them: rows as plain dicts, a missing cell as None."""

from __future__ import annotations

import pandas as pd

#: how a hidden figure prints
HIDDEN = "hidden"


def _records(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def is_missing(x: object) -> bool:
    """None, pd.NA or a float NaN: a cell with no value."""
    import math

    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))
