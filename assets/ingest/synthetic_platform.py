"""The survey platform's own columns on a synthetic export: respondent and collector ids, start and end
times within the fielding window, an IP address from the documentation ranges (RFC 5737).

Shared by the synthetic officer and stakeholder exports, so both look like one platform's files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PlatformMetadata:
    """How a synthetic survey platform stamps its rows: id range, fielding window, durations, collectors."""

    id_base: int
    id_step_offset: int
    fielding_start: datetime
    fielding_days: int
    median_seconds: float
    spread: float
    shortest_seconds: float
    collectors: tuple[str, str]
    first_collector_share: float
    ip_prefix: str


def with_platform_metadata(frame: pd.DataFrame, rng: np.random.Generator, meta: PlatformMetadata,
                           duration_scale: np.ndarray | float = 1.0) -> pd.DataFrame:
    """Prefix SurveyMonkey's metadata columns: unique ids, start times within the fielding window,
    end times after a plausible duration, the collector, a documentation-range IP address."""
    n = len(frame)
    ids = meta.id_base + rng.choice(900_000_000, size=n, replace=False) * 7 + meta.id_step_offset
    starts = [meta.fielding_start + timedelta(seconds=int(s)) for s in rng.integers(0, meta.fielding_days * 86400, n)]
    duration = np.clip(rng.lognormal(np.log(meta.median_seconds), meta.spread, n), meta.shortest_seconds, 3600) \
        * duration_scale
    frame.insert(0, "respondent_id", ids.astype(str))
    frame.insert(1, "collector_id", np.where(rng.random(n) < meta.first_collector_share, *meta.collectors))
    frame.insert(2, "start_date", starts)
    frame.insert(3, "end_date", [s + timedelta(seconds=int(d)) for s, d in zip(starts, duration)])
    frame.insert(4, "ip_address", [f"{meta.ip_prefix}{int(i)}" for i in rng.integers(1, 255, n)])
    return frame
