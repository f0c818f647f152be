"""The disclosure policy of an assessment (config ``disclosure:``) and the one home of its rules:
what makes a cell too small to show, how published numbers are rounded, and how a hidden figure
is described to readers.

Plain functions and a frozen dataclass; nothing here knows of pages, tables or Dagster.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DisclosurePolicy", "REASON_TEXT", "THRESHOLD_ONLY", "round_half_up"]

#: What a reader is told about a hidden figure, by reason (the data-quality page lists them).
REASON_TEXT = {
    "primary": "fewer than {m} people, or fewer than {m} answering one way",
    "complementary": "hidden so that another hidden figure cannot be worked out from it",
    "not collected": "question not asked in this wave",
}


def round_half_up(x, decimals: int):
    """``x`` rounded to ``decimals`` places, halves away from zero (as readers round); NaN stays."""
    arr = np.asarray(x, dtype=float)
    scale = 10.0 ** decimals
    out = np.sign(arr) * np.floor(np.abs(arr) * scale + 0.5 + 1e-9) / scale
    out = np.where(out == 0, 0.0, out)  # no "-0"
    return float(out) if np.ndim(out) == 0 else out


@dataclass(frozen=True)
class DisclosurePolicy:
    """How the publication gate protects respondents (see ``config/<state>/assessment.yaml``).

    ``min_cell_count``: no published figure rests on fewer people, and no hidden count may be
    narrowed by an intruder to fewer than ``min_values`` possible values (default the same number).
    ``protect_numerators``: a share also reveals how many answered each way; those counts must
    reach the minimum too. ``share_decimals``: published shares and their intervals are rounded to
    this many decimals (2: whole percent). ``people_step``: model-based numbers of people (officers
    needing training, victims) are rounded to this step. ``mostly_hidden``: a breakdown table with a
    larger share of hidden cells is replaced on the page by a sentence. ``linked`` false turns the
    gate into a plain threshold: every table on its own, small cells blanked, no complementary
    suppression, nothing rounded, every county's model estimate shown. That is what a pipeline
    without the gate publishes; it exists only so the intruder tests can show what they catch (the
    config cannot set it).
    """

    min_cell_count: int = 6
    protect_numerators: bool = True
    min_values: int | None = None
    share_decimals: int = 2
    people_step: int = 10
    mostly_hidden: float = 0.5
    linked: bool = True

    @classmethod
    def from_assessment(cls, assessment) -> DisclosurePolicy:
        d = assessment.config.disclosure
        return cls(min_cell_count=d.min_cell_count, protect_numerators=d.protect_numerators,
                   min_values=d.min_possible_values, share_decimals=d.share_decimals,
                   people_step=d.people_step, mostly_hidden=d.mostly_hidden_share)

    @property
    def protection_values(self) -> int:
        """How many whole numbers a hidden small count must stay compatible with."""
        return self.min_values if self.min_values is not None else self.min_cell_count

    @property
    def share_step(self) -> float:
        return 10.0 ** -self.share_decimals

    def small(self, n, k=None) -> np.ndarray:
        """Cells too small to publish: fewer than the minimum people, or (numerators protected)
        fewer than the minimum answering either way. Missing counts count as small."""
        n = np.asarray(n, dtype=float)
        out = np.isnan(n) | (n < self.min_cell_count)
        if k is not None and self.protect_numerators:
            k = np.asarray(k, dtype=float)
            with np.errstate(invalid="ignore"):
                out |= np.isnan(k) | (k < self.min_cell_count) | (n - k < self.min_cell_count)
        return out

    def share(self, x):
        """A share as published (rounded to ``share_decimals``)."""
        return round_half_up(x, self.share_decimals) if self.linked else x

    def share_interval(self, published: float) -> tuple[float, float]:
        """The values a published (rounded) share can stand for."""
        if not self.linked or math.isnan(published):
            return (published, published)
        half = self.share_step / 2
        return (published - half - 1e-12, published + half + 1e-12)

    def people(self, x):
        """A model-based number of people as published (rounded to ``people_step``)."""
        if not self.linked:
            return x
        arr = np.asarray(x, dtype=float)
        out = np.floor(arr / self.people_step + 0.5) * self.people_step
        return float(out) if np.ndim(out) == 0 else out

    def reason_text(self, reason: str) -> str:
        return REASON_TEXT.get(reason, reason).format(m=self.min_cell_count)


#: The gate bypassed: a plain per-table threshold, for showing what the intruder tests catch.
THRESHOLD_ONLY = DisclosurePolicy(linked=False)
