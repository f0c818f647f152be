"""Simulated multiple-list capture data from a known population (for demos and tests).

Each of ``N`` individuals independently falls into one of the ``2**k`` capture histories with
probabilities from a log-linear model on the *full* table (including "on no list"):

``P(h) ∝ prod_j p_j^h_j (1 - p_j)^(1 - h_j) * prod_{(i,j)} OR_ij^(h_i h_j)``

With no ``dependence`` the lists are independent and ``p_j`` is exactly each list's capture
probability. A pairwise odds ratio ``OR_ij > 1`` makes being on list i and list j positively
dependent (e.g. one agency refers cases to the other); ``< 1`` negatively. With dependence the
marginal capture probabilities move away from ``p``; :func:`history_probabilities` returns the
exact cell probabilities.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .overlap import COUNT_COLUMN, all_histories

__all__ = ["history_probabilities", "simulate_overlap", "simulate_records"]

Dependence = Mapping[str | tuple[str, str], float]


def _names(k: int, names: Sequence[str] | None) -> list[str]:
    if names is None:
        if k > 26:
            raise ValueError("give list names when simulating more than 26 lists")
        return list(string.ascii_uppercase[:k])
    names = [str(n) for n in names]
    if len(names) != k or len(set(names)) != k:
        raise ValueError(f"need {k} distinct list names, got {names}")
    return names


def history_probabilities(
    p: Sequence[float],
    dependence: Dependence | None = None,
    names: Sequence[str] | None = None,
) -> tuple[np.ndarray, float, list[str]]:
    """Cell probabilities of the ``2**k - 1`` observable histories (order of
    :func:`assets.prevalence.overlap.all_histories`), the probability of being on no list, and
    the list names."""
    probs = np.asarray(p, dtype=float)
    if probs.ndim != 1 or len(probs) < 2:
        raise ValueError("need capture probabilities for at least 2 lists")
    if not np.all((probs > 0) & (probs < 1)):
        raise ValueError(f"capture probabilities must be strictly between 0 and 1, got {p}")
    k = len(probs)
    lists = _names(k, names)
    H = np.vstack([np.zeros((1, k), dtype=np.int64), all_histories(k)])
    logw = H @ np.log(probs) + (1 - H) @ np.log1p(-probs)
    index = {n: i for i, n in enumerate(lists)}
    for term, odds_ratio in (dependence or {}).items():
        a, b = term.split(":") if isinstance(term, str) else term
        if a not in index or b not in index or a == b:
            raise ValueError(f"dependence term {term!r} must name two different lists of {lists}")
        if not odds_ratio > 0:
            raise ValueError(f"odds ratio for {term!r} must be positive, got {odds_ratio}")
        logw = logw + np.log(odds_ratio) * H[:, index[a]] * H[:, index[b]]
    w = np.exp(logw - logw.max())
    w /= w.sum()
    return w[1:], float(w[0]), lists


def simulate_overlap(
    N: int,
    p: Sequence[float],
    *,
    dependence: Dependence | None = None,
    seed: int | np.random.Generator | None = None,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Draw ``k`` lists from a population of ``N`` and return the completed overlap table.

    ``dependence`` maps a pair (``"A:B"`` or ``("A", "B")``) to an odds ratio. The number of
    unseen individuals is ``N - table["count"].sum()``.
    """
    if int(N) != N or N < 1:
        raise ValueError(f"N must be a positive integer, got {N}")
    cell_p, p0, lists = history_probabilities(p, dependence, names)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(int(N), np.append(cell_p, p0))[:-1]
    out = pd.DataFrame(all_histories(len(lists)), columns=lists)
    out[COUNT_COLUMN] = counts.astype(np.int64)
    return out


def simulate_records(
    N: int,
    p: Sequence[float],
    *,
    dependence: Dependence | None = None,
    seed: int | np.random.Generator | None = None,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Case-level records ``(list, key)`` for the same model: one row per appearance of a person
    on a list, keys ``"p000017"`` etc. (for :func:`assets.prevalence.linkage.overlap_from_records`
    demos). Unseen people have no rows."""
    if int(N) != N or N < 1:
        raise ValueError(f"N must be a positive integer, got {N}")
    cell_p, p0, lists = history_probabilities(p, dependence, names)
    rng = np.random.default_rng(seed)
    H = np.vstack([np.zeros((1, len(lists)), dtype=np.int64), all_histories(len(lists))])
    drawn = rng.choice(len(H), size=int(N), p=np.append(p0, cell_p))
    width = len(str(int(N)))
    person, lst = np.nonzero(H[drawn])
    return pd.DataFrame(
        {"list": [lists[j] for j in lst], "key": [f"p{i:0{width}d}" for i in person]}
    )
