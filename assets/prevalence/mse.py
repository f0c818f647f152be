"""Multiple systems estimation (capture–recapture) with Poisson log-linear models.

The completed overlap table (all ``2**k - 1`` observable capture histories, zeros kept) is fitted
with a Poisson log-linear model: main effects for every list plus chosen two-way interactions.
The unseen cell (on no list) has design row ``(1, 0, ..., 0)``, so its expected count is
``exp(intercept)`` and the population estimate is ``N = observed + exp(intercept)``.

Conventions (checked against the reference numbers in ``tests/fixtures/mse/README.md``):

* Fit: Newton/IRLS as R's ``glm(family=poisson)``, started from ``mu = y + 0.1``.
* ``deviance``/``df``: Poisson deviance and residual degrees of freedom (cells − parameters).
* ``aic = -2 log L + 2 p`` and ``bic = -2 log L + p log(n)`` with the *full* Poisson
  log-likelihood (including ``-log y!``), ``p`` the number of parameters and ``n`` the number of
  cases observed — Rcapture's ``closedpCI.t`` / ``closedp.t`` conventions (R's ``glm`` AIC).
* Pairs of lists with no case in common (*empty overlaps*) whose interaction is in the model are
  handled as SparseMSE does: that interaction's extended-MLE value is −∞, so the cells containing
  both lists are removed from the fit and the parameter still counts in AIC/BIC.
* Existence and identifiability are checked as SparseMSE's ``checkident``: the Fienberg & Rinaldo
  (2012) linear program (is there a strictly positive table with the observed sufficient
  statistics?) and the rank of the design. If either fails there is no estimate (``None``),
  even though the Newton iterations may appear to "converge" to huge coefficients.
* Intervals for N from a fit (Wald, log-normal, profile likelihood) are in
  :mod:`assets.prevalence.mse_intervals`.

Choosing the interactions (stepwise selection) and the bootstrap that repeats that choice are in
:mod:`assets.prevalence.mse_selection`, which builds on the fits here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .overlap import COUNT_COLUMN, complete_overlap_table, list_columns


class _LazyModule:
    """A scipy module imported on first use, not when the Dagster definitions load (about a second)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str):
        import importlib

        return getattr(importlib.import_module(self._name), attr)


optimize = _LazyModule("scipy.optimize")
stats = _LazyModule("scipy.stats")


def gammaln(x):
    from scipy.special import gammaln as f

    return f(x)


def xlogy(x, y):
    from scipy.special import xlogy as f

    return f(x, y)

Criterion = Literal["aic", "bic", "pvalue"]
Pair = tuple[int, int]
Interactions = Iterable[str | tuple[str, str]]

__all__ = [
    "MSEError",
    "MSEFit",
    "check_existence",
    "fit_model",
]

_TOL = 1e-10  # relative deviance change for convergence (R's glm uses 1e-8)
_MAXIT = 100
# Batched fits run the (slower) LP existence check only on fits showing the numerical symptoms of
# a non-existent MLE: no convergence, a huge coefficient or a huge standard error (along the
# direction in which the likelihood keeps increasing the information tends to zero).
_FLAG_BETA = 30.0
_FLAG_SE = 20.0
_LP_TOL = 1e-6


class MSEError(ValueError):
    """An MSE quantity cannot be computed (e.g. the estimate does not exist)."""


# ----------------------------------------------------------------------------- data and design


@dataclass(frozen=True)
class _Data:
    lists: tuple[str, ...]
    H: np.ndarray  # (cells, k) 0/1 capture histories
    y: np.ndarray  # (cells,) counts

    @property
    def observed(self) -> int:
        return int(round(float(self.y.sum())))

    @property
    def k(self) -> int:
        return len(self.lists)


def _prepare(table: pd.DataFrame | _Data) -> _Data:
    if isinstance(table, _Data):
        return table
    full = complete_overlap_table(table)
    names = list_columns(full, exclude=())
    return _Data(
        tuple(names),
        full[names].to_numpy(dtype=np.int64),
        full[COUNT_COLUMN].to_numpy(dtype=float),
    )


def _all_pairs(k: int) -> list[Pair]:
    return [(i, j) for i in range(k) for j in range(i + 1, k)]


def _pair_name(lists: Sequence[str], pair: Pair) -> str:
    return f"{lists[pair[0]]}:{lists[pair[1]]}"


def _parse_interactions(interactions: Interactions | None, lists: Sequence[str]) -> tuple[Pair, ...]:
    """Canonical (sorted, de-duplicated) pairs of list indices from ``"A:B"`` or ``("A", "B")``."""
    if interactions is None:
        return ()
    if isinstance(interactions, str):
        interactions = [interactions]
    index = {name: i for i, name in enumerate(lists)}
    pairs: set[Pair] = set()
    for term in interactions:
        parts = term.split(":") if isinstance(term, str) else list(term)
        if len(parts) != 2:
            raise MSEError(f"interaction {term!r} must name exactly two lists, e.g. 'A:B'")
        a, b = (str(p).strip() for p in parts)
        if a not in index or b not in index:
            raise MSEError(f"interaction {term!r} names a list not in {list(lists)}")
        if a == b:
            raise MSEError(f"interaction {term!r} must name two different lists")
        i, j = sorted((index[a], index[b]))
        pairs.add((i, j))
    return tuple(sorted(pairs))


def _design(H: np.ndarray, pairs: Sequence[Pair]) -> np.ndarray:
    cols = [np.ones(H.shape[0]), *H.T.astype(float)]
    cols += [(H[:, i] * H[:, j]).astype(float) for i, j in pairs]
    return np.column_stack(cols)


# ----------------------------------------------------------------------------- batched IRLS


def _poisson_deviance(Y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        term = xlogy(Y, Y) - xlogy(Y, mu)
    return 2.0 * np.sum(term - (Y - mu), axis=-1)


def _information(X: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Fisher information ``X' diag(mu_b) X`` for each row ``mu_b`` of ``mu``: ``(B, p, p)``."""
    return np.matmul(X.T[None, :, :] * mu[:, None, :], X)


def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(b)
        for i in range(A.shape[0]):
            out[i] = np.linalg.lstsq(A[i], b[i], rcond=None)[0]
        return out


def _inverse(A: np.ndarray) -> np.ndarray:
    try:
        with np.errstate(all="ignore"):
            return np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return np.stack([np.linalg.pinv(a) for a in A])


def _irls(
    X: np.ndarray,
    Y: np.ndarray,
    offset: np.ndarray | float | None = None,
    *,
    tol: float = _TOL,
    maxit: int = _MAXIT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Poisson log-link IRLS for a batch of count vectors sharing one design.

    ``X`` is ``(cells, p)``, ``Y`` is ``(batch, cells)``. Returns ``beta (batch, p)``,
    ``mu (batch, cells)``, ``deviance (batch,)``, ``converged (batch,)`` and the Fisher information
    ``X' diag(mu) X`` at the final fit ``(batch, p, p)``.
    """
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    B, C = Y.shape
    p = X.shape[1]
    off = np.broadcast_to(np.zeros(C) if offset is None else np.asarray(offset, float), (B, C))
    mu = Y + 0.1
    eta = np.log(mu)
    dev = _poisson_deviance(Y, mu)
    beta = np.zeros((B, p))
    converged = np.zeros(B, dtype=bool)
    active = np.arange(B)
    for it in range(1, maxit + 1):
        if active.size == 0:
            break
        Ya, mua, offa = Y[active], mu[active], off[active]
        z = eta[active] - offa + (Ya - mua) / mua
        A = _information(X, mua)
        rhs = (mua * z) @ X
        bnew = _solve(A, rhs)
        with np.errstate(over="ignore", invalid="ignore"):
            etanew = bnew @ X.T + offa
            munew = np.exp(etanew)
            devnew = _poisson_deviance(Ya, munew)
        if it > 1:  # step halving on divergence, as glm.fit
            bold = beta[active]
            bad = ~np.isfinite(devnew) | (devnew > dev[active] + 1e-9 * (np.abs(dev[active]) + 1))
            halvings = 0
            while bad.any() and halvings < 30:
                bnew[bad] = 0.5 * (bnew[bad] + bold[bad])
                with np.errstate(over="ignore", invalid="ignore"):
                    etanew[bad] = bnew[bad] @ X.T + offa[bad]
                    munew[bad] = np.exp(etanew[bad])
                    devnew[bad] = _poisson_deviance(Ya[bad], munew[bad])
                bad = ~np.isfinite(devnew) | (
                    devnew > dev[active] + 1e-9 * (np.abs(dev[active]) + 1)
                )
                halvings += 1
        done = np.abs(devnew - dev[active]) / (np.abs(devnew) + 0.1) < tol
        beta[active], eta[active], mu[active], dev[active] = bnew, etanew, munew, devnew
        converged[active[done]] = True
        active = active[~done]
    return beta, mu, dev, converged, _information(X, mu)


# ----------------------------------------------------------------------------- existence check


def _lp_mle_exists(X: np.ndarray, y: np.ndarray) -> bool:
    """Fienberg & Rinaldo (2012) linear program, as SparseMSE ``checkident``.

    The MLE exists iff some strictly positive table ``x`` has the observed sufficient statistics
    ``X' x = X' y``: maximise ``s`` subject to ``X' x = X' y``, ``x_i >= s``, ``x >= 0``.
    """
    C, P = X.shape
    t = X.T @ y
    c = np.zeros(C + 1)
    c[-1] = -1.0
    A_eq = np.hstack([X.T, np.zeros((P, 1))])
    A_ub = np.hstack([-np.eye(C), np.ones((C, 1))])
    res = optimize.linprog(
        c, A_ub=A_ub, b_ub=np.zeros(C), A_eq=A_eq, b_eq=t, bounds=[(0, None)] * (C + 1),
        method="highs",
    )
    if res.status != 0:  # pragma: no cover - x = y, s = 0 is always feasible
        return False
    return bool(-res.fun > _LP_TOL)


def _lp_mle_exists_many(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """:func:`_lp_mle_exists` for each row of ``Y`` (tables sharing the design ``X``), as one linear
    program: the tables' programs side by side, maximising the sum of their ``s``. They share no
    variable, so the sum is largest when each ``s`` is, and each table's ``s`` is its own program's
    optimum (tested equal, table by table). One solver call instead of one per table: a bootstrap
    checks hundreds of replicates, and each call to the solver costs milliseconds however small
    the program. Falls back to the table-by-table programs if the joint one does not solve."""
    from scipy import sparse

    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    B = Y.shape[0]
    if B == 1:
        return np.array([_lp_mle_exists(X, Y[0])])
    C, P = X.shape
    one = sparse.hstack([sparse.csr_matrix(X.T), sparse.csr_matrix((P, 1))])  # X' x (s not in it)
    bound = sparse.hstack([-sparse.identity(C), sparse.csr_matrix(np.ones((C, 1)))])  # s - x_i <= 0
    A_eq = sparse.block_diag([one] * B, format="csr")
    A_ub = sparse.block_diag([bound] * B, format="csr")
    c = np.zeros(B * (C + 1))
    c[C :: C + 1] = -1.0
    res = optimize.linprog(c, A_ub=A_ub, b_ub=np.zeros(B * C), A_eq=A_eq, b_eq=(Y @ X).ravel(),
                           bounds=[(0, None)] * (B * (C + 1)), method="highs")
    if res.status != 0:  # pragma: no cover - x = y, s = 0 is always feasible
        return np.array([_lp_mle_exists(X, y) for y in Y])
    return res.x[C :: C + 1] > _LP_TOL


@dataclass
class _Batch:
    """Fits of one model (``pairs``) to a batch of tables."""

    pairs: tuple[Pair, ...]
    beta: np.ndarray  # (B, p); -inf for interactions of empty overlaps, nan if not fitted
    se: np.ndarray  # (B, p)
    mu: np.ndarray  # (B, cells); 0 on cells removed for empty overlaps
    deviance: np.ndarray
    loglik: np.ndarray
    aic: np.ndarray
    bic: np.ndarray
    df: np.ndarray
    converged: np.ndarray
    exists: np.ndarray
    identifiable: np.ndarray
    dead: np.ndarray  # (B, len(pairs)) empty-overlap interactions
    observed: np.ndarray
    used: np.ndarray  # (B, cells) cells used in the fit


def _fit_batch(
    H: np.ndarray,
    Y: np.ndarray,
    pairs: Sequence[Pair],
    *,
    extended: bool = True,
    lp: Literal["always", "flagged"] = "flagged",
) -> _Batch:
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    B, C = Y.shape
    k = H.shape[1]
    pairs = tuple(pairs)
    T = len(pairs)
    X = _design(H, pairs)
    p = X.shape[1]
    pairprod = X[:, 1 + k :]
    dead = (Y @ pairprod == 0) if (extended and T) else np.zeros((B, T), dtype=bool)

    beta = np.full((B, p), np.nan)
    se = np.full((B, p), np.nan)
    mu = np.zeros((B, C))
    dev = np.full(B, np.nan)
    ll = np.full(B, np.nan)
    df = np.zeros(B, dtype=np.int64)
    conv = np.zeros(B, dtype=bool)
    exists = np.zeros(B, dtype=bool)
    ident = np.zeros(B, dtype=bool)
    used = np.zeros((B, C), dtype=bool)
    observed = Y.sum(axis=1)

    codes = dead.astype(np.int64) @ (1 << np.arange(T, dtype=np.int64)) if T else np.zeros(B, int)
    for code in np.unique(codes):
        idx = np.flatnonzero(codes == code)
        pat = dead[idx[0]]
        rows = ~np.any(pairprod[:, pat] > 0, axis=1) if pat.any() else np.ones(C, dtype=bool)
        cols = np.r_[np.arange(1 + k), 1 + k + np.flatnonzero(~pat)]
        dead_cols = 1 + k + np.flatnonzero(pat)
        Xr = X[np.ix_(rows, cols)]
        Yr = Y[np.ix_(idx, rows)]
        used[np.ix_(idx, rows)] = True
        df[idx] = int(rows.sum()) - len(cols)
        beta[np.ix_(idx, dead_cols)] = -np.inf
        if np.linalg.matrix_rank(Xr) < len(cols):
            continue  # not identifiable: no fit, no estimate
        ident[idx] = True
        b, m, d, c, info = _irls(Xr, Yr)
        cov = _inverse(info)
        with np.errstate(invalid="ignore"):
            s = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
        beta[np.ix_(idx, cols)] = b
        se[np.ix_(idx, cols)] = s
        mu[np.ix_(idx, rows)] = m
        dev[idx] = d
        ll[idx] = np.sum(xlogy(Yr, m) - m - gammaln(Yr + 1.0), axis=1)
        conv[idx] = c
        if lp == "always":
            check = np.ones(len(idx), dtype=bool)
        else:
            with np.errstate(invalid="ignore"):
                check = (
                    ~c
                    | (np.abs(b).max(axis=1) > _FLAG_BETA)
                    | ~np.all(np.isfinite(s) & (s < _FLAG_SE), axis=1)
                )
        exists[idx] = True
        flagged = np.flatnonzero(check)
        if flagged.size:
            exists[idx[flagged]] = _lp_mle_exists_many(Xr, Yr[flagged])
    with np.errstate(divide="ignore"):
        aic = -2.0 * ll + 2.0 * p
        bic = -2.0 * ll + p * np.log(observed)
    return _Batch(pairs, beta, se, mu, dev, ll, aic, bic, df, conv, exists, ident, dead,
                  observed, used)


# ----------------------------------------------------------------------------- single fits


@dataclass(frozen=True)
class MSEFit:
    """A fitted log-linear MSE model. ``estimate`` is ``None`` when the MLE does not exist."""

    lists: tuple[str, ...]
    interactions: tuple[str, ...]
    observed: int
    estimate: float | None
    unseen: float | None
    se_estimate: float | None  # Rcapture: sqrt(exp(b0) + exp(2 b0) var(b0))
    deviance: float
    df: int
    loglik: float
    aic: float
    bic: float
    coefficients: dict[str, float]
    se: dict[str, float]
    converged: bool
    exists: bool
    identifiable: bool
    empty_overlaps: tuple[str, ...]
    fitted: np.ndarray = field(repr=False)  # fitted means of the completed table's cells
    message: str = ""
    _X: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    _y: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def pvalue(self, term: str) -> float:
        """Two-sided Wald p-value of coefficient ``term`` (``nan`` if not estimable)."""
        b, s = self.coefficients.get(term, math.nan), self.se.get(term, math.nan)
        if not (math.isfinite(b) and math.isfinite(s)) or s <= 0:
            return math.nan
        return float(2.0 * stats.norm.sf(abs(b / s)))

    def summary(self) -> pd.DataFrame:
        """Coefficient table: estimate, SE, Wald z and p-value."""
        rows = []
        for name, b in self.coefficients.items():
            s = self.se.get(name, math.nan)
            z = b / s if (math.isfinite(b) and math.isfinite(s) and s > 0) else math.nan
            rows.append({"term": name, "estimate": b, "se": s, "z": z, "p": self.pvalue(name)})
        return pd.DataFrame(rows).set_index("term")


def _why_not(exists: bool, identifiable: bool, lists: Sequence[str], terms: Sequence[str]) -> str:
    model = "main effects" + ("" if not terms else " + " + " + ".join(terms))
    if not identifiable:
        return (f"model ({model}) is not identifiable from these lists (design rank deficient); "
                "no estimate")
    if not exists:
        return (f"maximum-likelihood estimate does not exist for model ({model}): the overlaps "
                "are too sparse (Fienberg-Rinaldo linear-programming check failed); the fit "
                "only 'converges' by sending coefficients to infinity, so no estimate is reported")
    return ""


def _fit_from_batch(data: _Data, batch: _Batch, row: int = 0) -> MSEFit:
    k = data.k
    names = ["(Intercept)", *data.lists, *(_pair_name(data.lists, p) for p in batch.pairs)]
    beta, se = batch.beta[row], batch.se[row]
    exists = bool(batch.exists[row] and batch.identifiable[row])
    terms = tuple(_pair_name(data.lists, p) for p in batch.pairs)
    message = _why_not(bool(batch.exists[row]), bool(batch.identifiable[row]), data.lists, terms)
    unseen = est = se_n = None
    if exists:
        b0, s0 = float(beta[0]), float(se[0])
        unseen = math.exp(b0)
        est = data.observed + unseen
        se_n = math.sqrt(unseen + unseen**2 * s0**2)
        big = [n for n, b, s in zip(names, beta, se, strict=True)
               if math.isfinite(b) and (abs(b) > 20 or s > 100)]
        if big:
            message = f"warning: very large coefficients or standard errors for {big}"
    used = batch.used[row]
    cols = [0, *range(1, 1 + k)] + [1 + k + t for t in range(len(batch.pairs))
                                    if not batch.dead[row, t]]
    X = _design(data.H, batch.pairs)[np.ix_(used, cols)]
    return MSEFit(
        lists=data.lists,
        interactions=terms,
        observed=data.observed,
        estimate=est,
        unseen=unseen,
        se_estimate=se_n,
        deviance=float(batch.deviance[row]),
        df=int(batch.df[row]),
        loglik=float(batch.loglik[row]),
        aic=float(batch.aic[row]),
        bic=float(batch.bic[row]),
        coefficients={n: float(b) for n, b in zip(names, beta, strict=True)},
        se={n: float(s) for n, s in zip(names, se, strict=True)},
        converged=bool(batch.converged[row]),
        exists=exists,
        identifiable=bool(batch.identifiable[row]),
        empty_overlaps=tuple(t for t, d in zip(terms, batch.dead[row], strict=True) if d),
        fitted=batch.mu[row].copy(),
        message=message,
        _X=X,
        _y=data.y[used].copy(),
    )


def fit_model(
    table: pd.DataFrame,
    interactions: Interactions | None = (),
    *,
    extended: bool = True,
) -> MSEFit:
    """Fit main effects plus the given two-way ``interactions`` (e.g. ``["A:E"]``).

    Parameters
    ----------
    table
        Aggregated overlap table (completed automatically).
    interactions
        Two-way terms as ``"A:B"`` strings or ``("A", "B")`` tuples; empty for independence.
    extended
        Treat an interaction between two lists with no case in common as −∞ (SparseMSE's
        extended MLE: drop the cells containing both lists). With ``False`` such a model is
        reported as having no MLE.

    Returns
    -------
    MSEFit with ``exists``/``identifiable`` from the linear-programming and rank checks; when
    either fails, ``estimate`` is ``None`` and ``message`` says why.
    """
    data = _prepare(table)
    pairs = _parse_interactions(interactions, data.lists)
    batch = _fit_batch(data.H, data.y[None, :], pairs, extended=extended, lp="always")
    return _fit_from_batch(data, batch)


def check_existence(
    table: pd.DataFrame, interactions: Interactions | None = (), *, extended: bool = True
) -> dict[str, bool]:
    """SparseMSE ``checkident`` equivalent for one model.

    Returns ``{"exists": ..., "identifiable": ...}``: whether the (extended) MLE exists by the
    Fienberg-Rinaldo linear program, and whether the design has full column rank.
    """
    data = _prepare(table)
    pairs = _parse_interactions(interactions, data.lists)
    k = data.k
    X = _design(data.H, pairs)
    rows = np.ones(len(data.y), dtype=bool)
    cols = list(range(1 + k))
    for t, (i, j) in enumerate(pairs):
        both = (data.H[:, i] * data.H[:, j]) > 0
        if extended and data.y[both].sum() == 0:
            rows &= ~both
        else:
            cols.append(1 + k + t)
    Xr = X[np.ix_(rows, cols)]
    return {
        "exists": _lp_mle_exists(Xr, data.y[rows]),
        "identifiable": bool(np.linalg.matrix_rank(Xr) == len(cols)),
    }
