"""Simulated areas with known true proportions, for checking the small-area models.

Each area (think: a Maine county) gets a covariate ``x``, a random area effect
``u ~ N(0, sigma_u^2)`` and a true proportion ``p = g^-1(beta0 + beta1 x + u)`` on the
logit or arcsine scale; a binomial sample of size ``n`` is drawn from it. Sample sizes vary from
0 (no respondents: no direct estimate) through tiny (2, 3) to large.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_SAMPLE_SIZES", "simulate_areas"]

#: Sample sizes of the 16 default areas (shuffled per seed): one empty area, several tiny ones.
DEFAULT_SAMPLE_SIZES: tuple[int, ...] = (0, 2, 3, 4, 6, 8, 10, 12, 15, 20, 25, 30, 40, 60, 80, 150)


def simulate_areas(
    seed: int,
    n_areas: int = 16,
    sample_sizes: Sequence[int] | None = None,
    beta: tuple[float, float] = (-1.4, 0.5),
    sigma_u: float = 0.35,
    scale: Literal["logit", "arcsine"] = "logit",
    shuffle: bool = True,
) -> pd.DataFrame:
    """Simulate ``n_areas`` areas with known true proportions and binomial samples.

    Parameters
    ----------
    seed:
        Seed for :func:`numpy.random.default_rng`; the same seed gives the same areas.
    n_areas:
        Number of areas.
    sample_sizes:
        Sample size per area (recycled to ``n_areas``); default :data:`DEFAULT_SAMPLE_SIZES`.
    beta:
        Intercept and slope of the covariate ``x ~ N(0, 1)`` on the ``scale``.
    sigma_u:
        Standard deviation of the area effects on the ``scale``.
    scale:
        ``"logit"``: ``p = expit(beta0 + beta1 x + u)``. ``"arcsine"``:
        ``p = sin(clip(beta0 + beta1 x + u, 0, pi/2))^2`` (the model :func:`fay_herriot_proportions`
        assumes; use e.g. ``beta=(0.55, 0.1), sigma_u=0.12`` there).
    shuffle:
        Randomly assign the sample sizes to areas (so size is unrelated to ``x``).

    Returns
    -------
    DataFrame with columns ``area`` (``"A01"``, ...), ``x``, ``u`` (true area effect), ``true_p``,
    ``n``, ``successes`` and ``p_hat`` (``NaN`` where ``n == 0``).
    """
    if n_areas < 1:
        raise ValueError("n_areas must be >= 1")
    if sigma_u < 0:
        raise ValueError("sigma_u must be >= 0")
    rng = np.random.default_rng(seed)
    pool = np.asarray(sample_sizes if sample_sizes is not None else DEFAULT_SAMPLE_SIZES, dtype=int)
    if pool.size == 0 or np.any(pool < 0):
        raise ValueError("sample_sizes must be non-empty and >= 0")
    n = np.resize(pool, n_areas)
    if shuffle:
        n = rng.permutation(n)

    x = rng.standard_normal(n_areas)
    u = rng.normal(0.0, sigma_u, n_areas)
    eta = beta[0] + beta[1] * x + u
    if scale == "logit":
        p = 1.0 / (1.0 + np.exp(-eta))
    elif scale == "arcsine":
        p = np.sin(np.clip(eta, 0.0, np.pi / 2.0)) ** 2
    else:
        raise ValueError('scale must be "logit" or "arcsine"')
    successes = rng.binomial(n, p)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_hat = np.where(n > 0, successes / np.maximum(n, 1), np.nan)
    width = max(2, len(str(n_areas)))
    return pd.DataFrame(
        {
            "area": [f"A{i + 1:0{width}d}" for i in range(n_areas)],
            "x": x,
            "u": u,
            "true_p": p,
            "n": n,
            "successes": successes,
            "p_hat": p_hat,
        }
    )
