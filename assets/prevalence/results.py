"""The reportable result of a prevalence (population size) estimate."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PrevalenceEstimate"]


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class PrevalenceEstimate:
    """Estimated total number of cases (seen + unseen) with an interval.

    ``estimate``/``ci_low``/``ci_high`` are ``None`` when the estimate does not exist (e.g. the
    maximum-likelihood estimate is infinite for sparse data) or the bound could not be found;
    ``note`` then says why. ``model`` lists the two-way interaction terms kept, e.g. ``["A:E"]``
    (main effects are always in the model).
    """

    observed: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    model: tuple[str, ...]
    method: str
    level: float = 0.95
    lists: tuple[str, ...] = ()
    exists: bool = True
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self, details: bool = False) -> dict[str, Any]:
        """JSON-ready dict with keys ``observed, estimate, ci_low, ci_high, model, method``.

        Non-finite numbers become ``None``. With ``details=True`` also ``level, lists, exists,
        note`` and any ``extra`` entries.
        """
        out: dict[str, Any] = {
            "observed": int(self.observed),
            "estimate": _num(self.estimate),
            "ci_low": _num(self.ci_low),
            "ci_high": _num(self.ci_high),
            "model": list(self.model),
            "method": self.method,
        }
        if details:
            out.update(
                level=float(self.level),
                lists=list(self.lists),
                exists=bool(self.exists),
                note=self.note,
            )
            out.update(self.extra)
        return out
