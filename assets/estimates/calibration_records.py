"""What a calibration did to a design, recorded on it (R: the elements of ``design$postStrata``).

:mod:`assets.estimates.calibration` takes the steps (``postStratify``, ``rake``); the design keeps
their records so its variances carry the calibration exactly as R's ``svyrecvar`` does: residuals
from post-stratum means, or the raking residualisation iterated over the final pass's margins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from assets.estimates.group_codes import _rowsum

__all__ = ["CalibrationStep", "PostStratumStep", "RAKE_VARIANCE_ITERATIONS", "RakingStep"]

#: R's ``rake()`` runs the variance residualisation this many times over the raking margins.
RAKE_VARIANCE_ITERATIONS = 10


@dataclass(frozen=True, eq=False)
class PostStratumStep:
    """One post-stratification (an element of R's ``design$postStrata``).

    ``codes`` gives each row's post-stratum (an index into ``levels``); ``weights`` are the
    weights right after this adjustment and ``oldweights`` those right before it (R's attributes
    ``weights`` and ``oldweights``).  ``collapsed`` maps original levels to collapsed post-strata
    when small post-strata were merged (see :func:`collapse_poststrata`).
    """

    variables: tuple[str, ...]
    codes: np.ndarray = field(repr=False)
    levels: tuple
    population: np.ndarray
    weights: np.ndarray = field(repr=False)
    oldweights: np.ndarray = field(repr=False)
    collapsed: Mapping | None = None

    @property
    def n_levels(self) -> int:
        return len(self.levels)


@dataclass(frozen=True, eq=False)
class RakingStep:
    """A raking (R class ``"raking"``): the margins' post-stratifications of the final IPF pass.

    ``iterations`` counts the full IPF passes done, ``converged`` says whether the largest change in
    the weighted cross-classification of all margin variables between successive passes fell below
    ``epsilon`` (in weight units), ``delta`` is that last change and ``max_margin_error`` the largest
    absolute difference between a calibrated margin total and its population total.
    """

    margins: tuple[PostStratumStep, ...] = field(repr=False)
    iterations: int
    converged: bool
    delta: float
    epsilon: float
    max_margin_error: float
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def _cross_sums(self) -> tuple[list[np.ndarray], list[np.ndarray], dict]:
        """Per-margin ``1 / weights``, level counts and cross-margin sums (computed once).

        ``cross[(m, j)][k, l]`` is the sum over rows in level ``k`` of margin ``m`` and level ``l``
        of margin ``j`` of ``w_j / w_m``: it lets the variance residualisation run its ten IPF
        iterations on per-level constants instead of on ``n``-vectors.
        """
        if "cross" not in self._cache:
            freq = self._cache.get("freq")  # rows of a collapsed design stand for freq rows each
            f = 1.0 if freq is None else freq
            inv = []
            counts = []
            cross = {}
            for a, m in enumerate(self.margins):
                with np.errstate(divide="ignore"):
                    inv.append(np.where(m.weights > 0, 1.0 / m.weights, 0.0))
                counts.append(np.bincount(m.codes, weights=freq, minlength=m.n_levels).astype(float))
                cross[(a, a)] = np.bincount(m.codes, weights=(m.weights > 0) * f, minlength=m.n_levels)
            for a, ma in enumerate(self.margins):
                for b, mb in enumerate(self.margins):
                    if a == b:
                        continue
                    idx = ma.codes * mb.n_levels + mb.codes
                    sums = np.bincount(idx, weights=mb.weights * inv[a] * f, minlength=ma.n_levels * mb.n_levels)
                    cross[(a, b)] = sums.reshape(ma.n_levels, mb.n_levels)
            self._cache["cross"] = (inv, counts, cross)
        return self._cache["cross"]

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """R's raking residualisation of influence values ``x`` (n x p).

        Equivalent to ``for 10 iterations: for each margin m: x -= w_m * ave(x / w_m, margin m)``
        (R's ``svyrecvar``), computed exactly through the per-level sums of :meth:`_cross_sums`.
        """
        inv, counts, cross = self._cross_sums()
        margins = self.margins
        freq = self._cache.get("freq")
        xf = x if freq is None else x * freq[:, None]
        b = [_rowsum(xf * inv[a][:, None], m.codes, m.n_levels) for a, m in enumerate(margins)]
        c = [np.zeros((m.n_levels, x.shape[1])) for m in margins]
        safe = [np.where(cnt > 0, cnt, 1.0)[:, None] for cnt in counts]
        for _ in range(RAKE_VARIANCE_ITERATIONS):
            for a in range(len(margins)):
                total = b[a] - cross[(a, a)][:, None] * c[a]
                for j in range(len(margins)):
                    if j != a:
                        total = total - cross[(a, j)] @ c[j]
                c[a] = c[a] + total / safe[a]
        out = x.copy()
        for a, m in enumerate(margins):
            out -= m.weights[:, None] * c[a][m.codes]
        return out


CalibrationStep = Union[PostStratumStep, RakingStep]
