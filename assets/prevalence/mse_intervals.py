"""Intervals for the population size N from a multiple systems estimation fit.

* Wald on the log scale of the unseen count (SparseMSE ``estimatepopulation.0``): an interval for the
  *expected* unseen count, kept for agreement with SparseMSE.
* Chao's log-normal interval (Rcapture ``closedp.t``), which includes the Poisson variation of the
  unseen count and so behaves at small counts.
* Profile likelihood (Rcapture's multinomial profile of ``closedpCI.t``, or a Poisson profile of the
  intercept).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .mse import MSEError, MSEFit, _irls, gammaln, optimize, stats, xlogy

__all__ = ["ProfileInterval", "lognormal_interval", "profile_interval", "wald_interval"]


def wald_interval(fit: MSEFit, level: float = 0.95) -> tuple[float, float]:
    """Wald interval on the log of the unseen count, plus the observed count (SparseMSE)."""
    if not fit.exists or fit.estimate is None:
        raise MSEError(fit.message or "the estimate does not exist")
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    b0, s0 = fit.coefficients["(Intercept)"], fit.se["(Intercept)"]
    return (fit.observed + math.exp(b0 - z * s0), fit.observed + math.exp(b0 + z * s0))


def lognormal_interval(fit: MSEFit, level: float = 0.95) -> tuple[float, float]:
    """Chao (1987) log-normal interval, as Rcapture ``closedp.t``: ``observed + unseen / C`` to
    ``observed + unseen * C`` with ``C = exp(z sqrt(log(1 + SE^2 / unseen^2)))`` and Rcapture's
    ``SE = sqrt(unseen + unseen^2 var(intercept))``.

    Unlike :func:`wald_interval` (an interval for the *expected* unseen count), the SE includes
    the Poisson variation of the unseen count itself, so the interval covers N at close to the
    nominal rate when N is fixed (see ``tests/unit/test_prevalence_simulate.py``).
    """
    if not fit.exists or fit.unseen is None or fit.se_estimate is None:
        raise MSEError(fit.message or "the estimate does not exist")
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    m0 = fit.unseen
    c = math.exp(z * math.sqrt(math.log1p(fit.se_estimate**2 / m0**2)))
    return (fit.observed + m0 / c, fit.observed + m0 * c)


# ----------------------------------------------------------------------------- profile likelihood


@dataclass(frozen=True)
class ProfileInterval:
    """Profile-likelihood interval for N.

    ``estimate`` is the maximiser of the profiled likelihood (for ``"multinomial"`` this is the
    multinomial MLE of N, slightly below the Poisson ``observed + exp(intercept)``).
    ``ci_high`` is ``inf`` if the likelihood did not drop enough below ``fmax`` times the estimate;
    ``ci_low`` equals ``observed`` (``low_at_observed``) if it did not drop enough above it.
    """

    estimate: float
    ci_low: float
    ci_high: float
    level: float
    method: str
    low_at_observed: bool = False


def _multinomial_profile(fit: MSEFit, level: float, fmax: float) -> ProfileInterval:
    # Rcapture closedpCI.t: for each N, refit the Poisson model to the table augmented with the
    # unseen cell n0 = N - n (design row: intercept only); the profile multinomial log-likelihood
    # is -(deviance - 2 ct)/2 with ct = log(n0^n0 N! / (N^N n0!)) (Cormack 1992).
    X, y = fit._X, fit._y
    n = float(y.sum())
    e0 = np.zeros(X.shape[1])
    e0[0] = 1.0
    Xa = np.vstack([X, e0])

    def loglik(N: float) -> float:
        n0 = max(N - n, 0.0)
        ya = np.append(y, n0)
        _, _, dev, _, _ = _irls(Xa, ya[None, :])
        ct = float(xlogy(n0, n0) + gammaln(N + 1.0) - xlogy(N, N) - gammaln(n0 + 1.0))
        return float(-(dev[0] - 2.0 * ct) / 2.0)

    assert fit.estimate is not None
    upper = fmax * fit.estimate
    opt = optimize.minimize_scalar(
        lambda N: -loglik(N), bounds=(n, 3.0 * fit.estimate), method="bounded",
        options={"xatol": 1e-7 * fit.estimate},
    )
    n_max, l_max = float(opt.x), -float(opt.fun)
    cut = l_max - stats.chi2.ppf(level, 1) / 2.0

    def f(N: float) -> float:
        return loglik(N) - cut

    low_at_n = f(n) >= 0
    lo = n if low_at_n else optimize.brentq(f, n, n_max, xtol=1e-8, rtol=1e-12)
    hi = optimize.brentq(f, n_max, upper, xtol=1e-8, rtol=1e-12) if f(upper) < 0 else math.inf
    return ProfileInterval(n_max, float(lo), float(hi), level, "multinomial", bool(low_at_n))


def _poisson_profile(fit: MSEFit, level: float) -> ProfileInterval:
    # Profile the Poisson likelihood over the intercept b0 (log unseen count): for fixed b0 refit
    # the other coefficients with b0 as offset; the interval is {b0: dev(b0) - dev_min <= chi2}.
    X, y = fit._X, fit._y
    Xo = X[:, 1:]
    target = fit.deviance + stats.chi2.ppf(level, 1)

    def g(b0: float) -> float:
        _, _, dev, _, _ = _irls(Xo, y[None, :], offset=np.full(len(y), b0))
        return float(dev[0]) - target

    b_hat, s_hat = fit.coefficients["(Intercept)"], fit.se["(Intercept)"]
    step = max(s_hat, 0.05)

    def bracket(direction: float) -> float | None:
        a = b_hat
        for _ in range(60):
            b = a + direction * step
            if g(b) > 0:
                return float(optimize.brentq(g, min(a, b), max(a, b), xtol=1e-12))
            a = b
        return None

    lo_b, hi_b = bracket(-1.0), bracket(+1.0)
    n = fit.observed
    lo = n + math.exp(lo_b) if lo_b is not None else float(n)
    hi = n + math.exp(hi_b) if hi_b is not None else math.inf
    assert fit.estimate is not None
    return ProfileInterval(fit.estimate, lo, hi, level, "poisson", lo_b is None)


def profile_interval(
    fit: MSEFit,
    level: float = 0.95,
    method: Literal["multinomial", "poisson"] = "multinomial",
    fmax: float = 3.0,
) -> ProfileInterval:
    """Profile-likelihood interval for N for a fitted model.

    ``"multinomial"`` reproduces Rcapture's ``closedpCI.t`` CI (upper search limit
    ``fmax`` × Poisson estimate, ``fmaxSupCL``); ``"poisson"`` profiles the Poisson likelihood
    over the intercept, giving an interval for ``observed + exp(intercept)``.
    """
    if not fit.exists or fit.estimate is None:
        raise MSEError(fit.message or "the estimate does not exist")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if method == "multinomial":
        return _multinomial_profile(fit, level, fmax)
    if method == "poisson":
        return _poisson_profile(fit, level)
    raise ValueError(f"unknown profile method {method!r}")
