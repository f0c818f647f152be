"""Unit-level alternative for a yes/no outcome: a logistic mixed model with a county random effect,
empirical best prediction (EBP) of each county's share and a parametric-bootstrap MSE.

Model (Rao & Molina 2015, sec. 9.4; Jiang & Lahiri 2001): officer ``j`` of county ``i`` answers
``y_ij ~ Bernoulli(expit(x_i' beta + u_i))`` with ``u_i ~ N(0, sigma^2)``; with county-level
covariates only, a county's respondents are summarised by ``(y_i, n_i)``. The marginal likelihood
integrates ``u_i`` out by Gauss–Hermite quadrature (``nodes`` points) and is maximised over
``(beta, log sigma)``. The EBP of county ``i``'s share is ``E[expit(x_i' beta + u_i) | y_i]`` at the
estimates (the prior mean for a county without respondents). The MSE is estimated by a parametric
bootstrap (``B`` replicate populations from the fitted model, refitted each time; González-Manteiga
et al. 2007), and the interval is ``logit(EBP) -/+ z sqrt(MSE on the logit scale)``.

Survey weights are not used (a model-based estimator): it suits counties where respondents are like
the county's officers; the area-level default uses the design-based county shares instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

__all__ = ["UnitLevelFit", "ebp", "fit_logistic_mixed", "unit_level_counties"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class UnitLevelFit:
    beta: FloatArray
    sigma: float
    loglike: float
    converged: bool


def _nodes(k: int) -> tuple[FloatArray, FloatArray]:
    z, w = np.polynomial.hermite_e.hermegauss(k)  # weight exp(-z^2 / 2)
    return z, w / math.sqrt(2.0 * math.pi)


def _log_binom(y: FloatArray, n: FloatArray, eta: FloatArray) -> FloatArray:
    """log P(y | n, expit(eta)) without the binomial coefficient (constant in the parameters)."""
    return y * eta - n * np.logaddexp(0.0, eta)


def fit_logistic_mixed(y: ArrayLike, n: ArrayLike, X: ArrayLike, nodes: int = 30,
                       start: tuple[FloatArray, float] | None = None) -> UnitLevelFit:
    """Maximum (quadrature) likelihood fit of the binomial-logit model with a normal county effect."""
    from scipy import optimize
    from scipy.special import logsumexp

    y, n = np.asarray(y, dtype=float), np.asarray(n, dtype=float)
    X = np.asarray(X, dtype=float)
    has = n > 0
    y, n, Xs = y[has], n[has], X[has]
    if len(y) < X.shape[1] + 2:
        raise ValueError(f"only {len(y)} counties with respondents; the unit-level model needs {X.shape[1] + 2}")
    z, w = _nodes(nodes)
    logw = np.log(w)

    def negll(theta: FloatArray) -> float:
        beta, s = theta[:-1], math.exp(theta[-1])
        eta = (Xs @ beta)[:, None] + s * z[None, :]
        return -float(np.sum(logsumexp(_log_binom(y[:, None], n[:, None], eta) + logw[None, :], axis=1)))

    if start is None:
        p = (y.sum() + 0.5) / (n.sum() + 1.0)
        b0 = np.zeros(X.shape[1])
        b0[0] = math.log(p / (1 - p))
        theta0 = np.append(b0, math.log(0.3))
    else:
        theta0 = np.append(start[0], math.log(max(start[1], 1e-3)))
    res = optimize.minimize(negll, theta0, method="L-BFGS-B",
                            bounds=[(None, None)] * X.shape[1] + [(math.log(1e-3), math.log(5.0))])
    return UnitLevelFit(beta=res.x[:-1], sigma=float(math.exp(res.x[-1])), loglike=-float(res.fun),
                        converged=bool(res.success))


def ebp(fit: UnitLevelFit, y: ArrayLike, n: ArrayLike, X: ArrayLike, nodes: int = 30) -> FloatArray:
    """``E[expit(x_i' beta + u_i) | y_i, n_i]`` for every county (prior mean where ``n_i = 0``)."""
    from scipy.special import expit, logsumexp

    y, n, X = np.asarray(y, dtype=float), np.asarray(n, dtype=float), np.asarray(X, dtype=float)
    z, w = _nodes(nodes)
    eta = (X @ fit.beta)[:, None] + fit.sigma * z[None, :]
    logpost = _log_binom(y[:, None], n[:, None], eta) + np.log(w)[None, :]
    logpost -= logsumexp(logpost, axis=1, keepdims=True)
    return np.sum(np.exp(logpost) * expit(eta), axis=1)


def unit_level_counties(y: ArrayLike, n: ArrayLike, X: pd.DataFrame, *, B: int = 50, level: float = 0.95,
                        seed: int = 2015, nodes: int = 30) -> pd.DataFrame:
    """EBP of every county's share with parametric-bootstrap MSE and interval (see the module docstring)."""
    from scipy import stats
    from scipy.special import expit, logit

    y, n = np.asarray(y, dtype=float), np.asarray(n, dtype=float)
    Xm = X.to_numpy(dtype=float)
    fit = fit_logistic_mixed(y, n, Xm, nodes)
    est = ebp(fit, y, n, Xm, nodes)
    rng = np.random.default_rng(seed)
    err = np.zeros((B, len(y)))
    err_logit = np.zeros((B, len(y)))
    done = 0
    for b in range(B):
        p_star = expit(Xm @ fit.beta + rng.normal(0.0, fit.sigma, len(y)))
        y_star = rng.binomial(n.astype(int), p_star).astype(float)
        try:
            f_star = fit_logistic_mixed(y_star, n, Xm, nodes, start=(fit.beta, fit.sigma))
        except ValueError:
            continue
        e_star = ebp(f_star, y_star, n, Xm, nodes)
        err[done] = e_star - p_star
        err_logit[done] = logit(np.clip(e_star, 1e-9, 1 - 1e-9)) - logit(p_star)
        done += 1
    if done == 0:
        raise ValueError("the bootstrap could not refit the unit-level model")
    mse = np.mean(err[:done] ** 2, axis=0)
    mse_l = np.mean(err_logit[:done] ** 2, axis=0)
    zq = float(stats.norm.ppf(0.5 + level / 2))
    c = logit(np.clip(est, 1e-9, 1 - 1e-9))
    return pd.DataFrame({"area": list(X.index), "estimate": est, "mse": mse, "rmse": np.sqrt(mse),
                         "ci_low": expit(c - zq * np.sqrt(mse_l)), "ci_high": expit(c + zq * np.sqrt(mse_l)),
                         "synthetic": n == 0}).assign(sigma_u=fit.sigma, bootstrap_replicates=done)
