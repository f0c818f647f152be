"""Which log-linear model to report, and how uncertain that choice makes the estimate.

Builds on the fits of :mod:`assets.prevalence.mse`:

* :func:`stepwise` chooses the two-way interactions as SparseMSE's ``estimatepopulation`` does
  (forward stepwise by AIC, BIC or the ``PVALUE`` rule, main effects always in);
* :func:`bootstrap` is a seeded parametric bootstrap that repeats the selection on every replicate,
  so its interval carries the uncertainty of choosing the model;
* :func:`estimate_population` selects, fits and returns a reportable
  :class:`~assets.prevalence.results.PrevalenceEstimate` with the chosen interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .mse import (
    Criterion,
    Interactions,
    MSEError,
    MSEFit,
    _all_pairs,
    _Batch,
    _Data,
    _fit_batch,
    _pair_name,
    _parse_interactions,
    _prepare,
    fit_model,
    stats,
)
from .mse_intervals import lognormal_interval, profile_interval, wald_interval
from .overlap import COUNT_COLUMN
from .results import PrevalenceEstimate

__all__ = ["BootstrapResult", "StepwiseResult", "StepwiseStep", "bootstrap", "data_to_table", "estimate_population",
           "stepwise"]


# ----------------------------------------------------------------------------- stepwise selection


@dataclass(frozen=True)
class StepwiseStep:
    """One cycle of forward selection: the best candidate and whether it was kept."""

    term: str
    aic: float
    bic: float
    pvalue: float
    accepted: bool


@dataclass(frozen=True)
class StepwiseResult:
    fit: MSEFit
    criterion: str
    threshold: float | None
    steps: tuple[StepwiseStep, ...]

    @property
    def interactions(self) -> tuple[str, ...]:
        return self.fit.interactions


@dataclass
class _Selection:
    terms: list[tuple[int, ...]]  # per table: indices into _all_pairs(k), in order added
    beta0: np.ndarray
    se0: np.ndarray
    exists: np.ndarray
    observed: np.ndarray
    steps: list[StepwiseStep]

    @property
    def estimates(self) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.where(self.exists, self.observed + np.exp(self.beta0), np.nan)


def _check_rule(criterion: str, threshold: float | None) -> None:
    if criterion not in ("aic", "bic", "pvalue"):
        raise ValueError(f"criterion must be 'aic', 'bic' or 'pvalue', got {criterion!r}")
    if criterion == "pvalue" and threshold is None:
        raise ValueError("criterion='pvalue' needs a threshold")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")


def _select(
    H: np.ndarray,
    Y: np.ndarray,
    *,
    threshold: float | None,
    criterion: str,
    extended: bool = True,
    lists: Sequence[str] = (),
    record: bool = False,
    lp: Literal["always", "flagged"] = "flagged",
) -> _Selection:
    """Forward stepwise selection of two-way interactions for a batch of tables.

    Tables that share the current model are fitted together (one batched IRLS per candidate).
    """
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    B = Y.shape[0]
    k = H.shape[1]
    pairs = _all_pairs(k)
    P = len(pairs)
    pairprod = np.column_stack([H[:, i] * H[:, j] for i, j in pairs]).astype(float)
    nstar = Y @ pairprod

    base = _fit_batch(H, Y, (), extended=extended, lp=lp)
    terms: list[tuple[int, ...]] = [()] * B
    cur_mu = base.mu.copy()
    cur_aic, cur_bic = base.aic.copy(), base.bic.copy()
    beta0, se0 = base.beta[:, 0].copy(), base.se[:, 0].copy()
    exists = base.exists & base.identifiable
    active = exists.copy() & ((threshold is None) or (threshold > 0) or criterion == "bic")
    steps: list[StepwiseStep] = []

    while active.any():
        groups: dict[tuple[int, ...], list[int]] = {}
        for b in np.flatnonzero(active):
            groups.setdefault(terms[b], []).append(int(b))
        for key, members in groups.items():
            idx = np.asarray(members)
            cands = [q for q in range(P) if q not in key]
            if not cands:
                active[idx] = False
                continue
            n_i, n_c = len(idx), len(cands)
            score = np.full((n_i, n_c), np.inf)
            pval = np.ones((n_i, n_c))
            fits: list[_Batch] = []
            for ci, q in enumerate(cands):
                f = _fit_batch(H, Y[idx], tuple(pairs[t] for t in (*key, q)), extended=extended,
                               lp=lp)
                ok = f.exists & f.identifiable
                pstar = cur_mu[idx] @ pairprod[:, q]  # expected overlap under current model
                if criterion == "pvalue":  # SparseMSE 2.0.1 stepwisefit: one-sided Poisson
                    ns = nstar[idx, q]
                    pv = np.minimum(stats.poisson.cdf(ns, pstar), stats.poisson.sf(ns - 1, pstar))
                    sc = pv
                else:
                    with np.errstate(invalid="ignore", divide="ignore"):
                        z = f.beta[:, -1] / f.se[:, -1]
                    pv = 2.0 * stats.norm.sf(np.abs(z))
                    # empty overlap: coefficient is -inf; use P(overlap = 0 | current model)
                    pv = np.where(f.dead[:, -1], np.exp(-pstar), pv)
                    sc = f.aic if criterion == "aic" else f.bic
                score[:, ci] = np.where(ok, sc, np.inf)
                pval[:, ci] = np.where(ok & np.isfinite(pv), pv, 1.0)
                fits.append(f)
            best = np.argmin(score, axis=1)  # ties → first candidate in list order
            rows = np.arange(n_i)
            bscore, bp = score[rows, best], pval[rows, best]
            if criterion == "bic":
                accept = bscore < cur_bic[idx]
            elif threshold is None:
                accept = bscore < cur_aic[idx]
            else:
                accept = bp < threshold
            accept &= np.isfinite(bscore)
            if record:
                f = fits[best[0]]
                steps.append(StepwiseStep(
                    _pair_name(lists, pairs[cands[best[0]]]) if lists else str(cands[best[0]]),
                    float(f.aic[0]), float(f.bic[0]), float(bp[0]), bool(accept[0]),
                ))
            for ci in np.unique(best[accept]):
                sel = np.flatnonzero(accept & (best == ci))
                f, g = fits[ci], idx[sel]
                q = cands[ci]
                for b in g:
                    terms[b] = (*terms[b], q)
                cur_mu[g] = f.mu[sel]
                cur_aic[g], cur_bic[g] = f.aic[sel], f.bic[sel]
                beta0[g], se0[g] = f.beta[sel, 0], f.se[sel, 0]
            active[idx[~accept]] = False
    return _Selection(terms, beta0, se0, exists, Y.sum(axis=1), steps)


def stepwise(
    table: pd.DataFrame,
    threshold: float | None = 0.02,
    criterion: Criterion = "aic",
    *,
    extended: bool = True,
) -> StepwiseResult:
    """Forward stepwise selection of two-way interactions, starting from main effects.

    At each cycle every not-yet-included interaction is tried (candidates whose MLE does not exist
    or is not identifiable are skipped, as SparseMSE does) and the best is added if it passes:

    * ``criterion="aic"`` (default, the rule described for SparseMSE ``estimatepopulation.0``):
      best = lowest AIC; kept if its Wald p-value is ``< threshold``. (``threshold=None``: kept
      if AIC improves.) For an empty-overlap pair the p-value is ``P(overlap = 0)`` under the
      current model.
    * ``criterion="bic"``: best = lowest BIC; kept if BIC improves (``threshold`` ignored).
    * ``criterion="pvalue"``: SparseMSE 2.0.1's ``stepwisefit`` as coded: best = lowest one-sided
      Poisson p-value of the pair's observed overlap given the current fit; kept if
      ``< threshold``.

    Selection stops when the best candidate fails.
    """
    _check_rule(criterion, threshold)
    data = _prepare(table)
    sel = _select(data.H, data.y[None, :], threshold=threshold, criterion=criterion,
                  extended=extended, lists=data.lists, record=True, lp="always")
    pairs = _all_pairs(data.k)
    chosen = [pairs[q] for q in sel.terms[0]]
    fit = fit_model(data_to_table(data), [(data.lists[i], data.lists[j]) for i, j in chosen],
                    extended=extended)
    return StepwiseResult(fit, criterion, threshold, tuple(sel.steps))


def data_to_table(data: _Data) -> pd.DataFrame:
    out = pd.DataFrame(data.H, columns=list(data.lists))
    out[COUNT_COLUMN] = data.y.astype(np.int64)
    return out


# ----------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class BootstrapResult:
    """Parametric bootstrap of N (percentile interval over replicates with an estimate)."""

    estimates: np.ndarray = field(repr=False)  # nan where the replicate's estimate does not exist
    ci_low: float
    ci_high: float
    level: float
    n_boot: int
    n_failed: int
    seed: int | None
    reselect: bool
    model_counts: dict[str, int]


def bootstrap(
    table: pd.DataFrame,
    *,
    interactions: Interactions | None = None,
    threshold: float | None = 0.02,
    criterion: Criterion = "aic",
    n_boot: int = 1000,
    seed: int | None = None,
    level: float = 0.95,
    reselect: bool = True,
    extended: bool = True,
) -> BootstrapResult:
    """Parametric bootstrap interval for N that repeats the model selection.

    The model is chosen by :func:`stepwise` (or fixed by ``interactions``); replicate tables are
    drawn as independent Poisson counts with the fitted cell means; each replicate is re-selected
    with the same rule (``reselect=True``) or refitted with the same model, and N re-estimated.
    Replicates whose estimate does not exist are counted in ``n_failed`` and left out of the
    percentile interval.
    """
    _check_rule(criterion, threshold)
    if n_boot < 1:
        raise ValueError("n_boot must be positive")
    data = _prepare(table)
    if interactions is None:
        fit = stepwise(data_to_table(data), threshold, criterion, extended=extended).fit
    else:
        fit = fit_model(data_to_table(data), interactions, extended=extended)
    if not fit.exists:
        raise MSEError(fit.message)
    rng = np.random.default_rng(seed)
    Ystar = rng.poisson(fit.fitted, size=(n_boot, len(fit.fitted))).astype(float)
    pairs = _all_pairs(data.k)
    if reselect:
        sel = _select(data.H, Ystar, threshold=threshold, criterion=criterion, extended=extended)
        est = sel.estimates
        labels = [
            ", ".join(_pair_name(data.lists, pairs[q]) for q in sorted(t)) or "(main effects)"
            for t in sel.terms
        ]
    else:
        model_pairs = _parse_interactions(fit.interactions, data.lists)
        bt = _fit_batch(data.H, Ystar, model_pairs, extended=extended)
        with np.errstate(over="ignore"):
            est = np.where(bt.exists & bt.identifiable, bt.observed + np.exp(bt.beta[:, 0]), np.nan)
        labels = [", ".join(fit.interactions) or "(main effects)"] * n_boot
    ok = np.isfinite(est)
    counts: dict[str, int] = {}
    for lab, good in zip(labels, ok, strict=True):
        if good:
            counts[lab] = counts.get(lab, 0) + 1
    if ok.any():
        lo, hi = np.quantile(est[ok], [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    else:
        lo = hi = math.nan
    return BootstrapResult(est, float(lo), float(hi), level, n_boot, int((~ok).sum()), seed,
                           reselect, dict(sorted(counts.items(), key=lambda kv: -kv[1])))


# ----------------------------------------------------------------------------- convenience


def estimate_population(
    table: pd.DataFrame,
    *,
    selection: Literal["stepwise", "fixed", "independence"] = "stepwise",
    interactions: Interactions | None = None,
    threshold: float | None = 0.02,
    criterion: Criterion = "aic",
    interval: Literal["wald", "lognormal", "profile", "profile-poisson", "bootstrap"] = "wald",
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int | None = None,
) -> PrevalenceEstimate:
    """Select/fit a model and return a reportable :class:`PrevalenceEstimate`.

    ``interval``: ``"wald"`` (SparseMSE: Wald on the log of the expected unseen count — note it
    under-covers N, see :func:`lognormal_interval`), ``"lognormal"`` (Chao/Rcapture),
    ``"profile"`` (Rcapture multinomial profile likelihood), ``"profile-poisson"``, or
    ``"bootstrap"`` (parametric, repeating the selection; ``n_boot``, ``seed``).

    When the MLE does not exist, the result has ``estimate=None`` and a ``note``; it never
    reports a number for a model that has no finite estimate.
    """
    data = _prepare(table)
    tbl = data_to_table(data)
    if selection == "stepwise":
        _check_rule(criterion, threshold)
        fit = stepwise(tbl, threshold, criterion).fit
        rule = {"aic": f"AIC, Wald p < {threshold}" if threshold is not None else "AIC",
                "bic": "BIC", "pvalue": f"Poisson p < {threshold}"}[criterion]
        sel_txt = f"stepwise ({rule})"
    elif selection == "fixed":
        fit = fit_model(tbl, interactions or ())
        sel_txt = "fixed model"
    elif selection == "independence":
        fit = fit_model(tbl, ())
        sel_txt = "independence"
    else:
        raise ValueError(f"unknown selection {selection!r}")
    pct = f"{100 * level:g}%"
    int_txt = {
        "wald": f"{pct} Wald interval on log unseen",
        "lognormal": f"{pct} log-normal (Chao) interval",
        "profile": f"{pct} multinomial profile-likelihood interval",
        "profile-poisson": f"{pct} Poisson profile-likelihood interval",
        "bootstrap": f"{pct} parametric bootstrap percentile interval ({n_boot} replicates, "
        f"seed {seed})",
    }.get(interval)
    if int_txt is None:
        raise ValueError(f"unknown interval {interval!r}")
    method = f"Poisson log-linear MSE, {sel_txt}; {int_txt}"
    common = dict(observed=data.observed, model=fit.interactions, method=method, level=level,
                  lists=data.lists)
    if not fit.exists:
        return PrevalenceEstimate(estimate=None, ci_low=None, ci_high=None, exists=False,
                                  note=fit.message, **common)  # type: ignore[arg-type]
    est = fit.estimate
    note = fit.message
    extra: dict[str, object] = {}
    if interval == "wald":
        lo, hi = wald_interval(fit, level)
    elif interval == "lognormal":
        lo, hi = lognormal_interval(fit, level)
    elif interval in ("profile", "profile-poisson"):
        pi = profile_interval(fit, level, "multinomial" if interval == "profile" else "poisson")
        lo, hi = pi.ci_low, pi.ci_high
        if interval == "profile":
            extra["multinomial_estimate"] = pi.estimate
        if not math.isfinite(hi):
            note = (note + "; " if note else "") + "upper profile bound not reached"
    else:
        if selection == "stepwise":
            bs = bootstrap(tbl, threshold=threshold, criterion=criterion, n_boot=n_boot,
                           seed=seed, level=level)
        else:
            bs = bootstrap(tbl, interactions=fit.interactions, n_boot=n_boot, seed=seed,
                           level=level, reselect=False)
        lo, hi = bs.ci_low, bs.ci_high
        extra.update(bootstrap_failed=bs.n_failed, bootstrap_models=bs.model_counts)
    return PrevalenceEstimate(estimate=est, ci_low=lo, ci_high=hi, exists=True, note=note,
                              extra=extra, **common)  # type: ignore[arg-type]
