"""Where to send training: who is less prepared, in which counties, and how many officers that is.

The models are specified in the config (:mod:`assets.models.specs`); this module fits the
regressions and puts the three tables together; the data and design are in
:mod:`assets.models.training_gap_design`, the county tables in :mod:`assets.models.training_gap_county`
and the model cards in :mod:`assets.models.training_gap_cards`.

Three tables, each a plain function of the accepted officer responses of a wave and the calibrated
design of :mod:`assets.estimates.weighting` (post-stratified to the county officer headcounts):

:func:`regression_table` (asset ``training_gap_model``)
    For each preparedness outcome of the config's ``models`` file (:mod:`assets.models.specs`; in the
    demo: adequately trained for sex trafficking, for labor trafficking, prepared for cases involving
    minors, familiar with organisations; its success answers = 1) a survey-weighted quasibinomial logistic regression (R's
    ``svyglm``, :func:`assets.estimates.glm.svyglm`, linearised calibration-aware SEs, t
    intervals on the design degrees of freedom) on the config's regressors (in the demo: experience
    band, having handled a case, county group and agency type). One long table with

    * ``kind = "odds_ratio"``: odds ratio of each level against the reference level, 95% interval
      and p-value;
    * ``kind = "marginal_effect"``: average marginal effect (difference in the weighted average
      predicted probability when every respondent is set to the level rather than the reference;
      delta-method SE from the coefficient covariance, the respondents' covariates held fixed);
    * ``kind = "predicted_probability"``: predicted probability for each county group x
      experience band (the other covariates at each respondent's observed values, weighted average
      — "marginal standardisation"), interval on the logit scale.

    A fit with complete or quasi-complete separation (some group answered all one way) is never
    shown with its divergent coefficients: it is refitted by weighted Firth (bias-reduced)
    logistic regression (:func:`firth_svyglm`, ``estimator = "firth"``, ``separation = True``, a
    note on every row); a fit that still does not converge is flagged ``reliable = False`` and its
    numbers are blank.

:func:`county_table` (asset ``training_gap_by_county``)
    For each outcome, the share of officers *not* adequately trained (not familiar, for the
    resources question) in every county: direct weighted county estimate with its design-based
    SE, then the county model the config chooses (``small_area``; :mod:`assets.models.county_fit`).
    The default (:mod:`assets.models.county_estimator`) is an arcsine Fay–Herriot model with
    sampling variances from a variance function fitted across counties and outcomes, counties
    under ``min_effective_sample`` respondents predicted from the regression (synthetic, flagged),
    an adjusted-likelihood between-county variance (never 0), bias-corrected back-transformation,
    and benchmarking to the state's direct share (so shares x headcounts add up to it); the
    covariates (county group, log population, officers per 1,000 residents, plus the columns of the
    county covariates file when given) are chosen by BIC/AIC. ``fay_herriot`` is the earlier model
    (REML, ``1 / (4 n_eff)``) and ``unit_level`` a logistic mixed model with EBP. The ML and
    Fay–Herriot moment variances of the earlier model are kept beside as a sensitivity check
    (``fh_variance_ml``, ``fh_variance_moment``). Officers needing training = share x headcount,
    with the interval limits times the headcount. Counties are ranked by that number (``rank`` 1 =
    most officers needing training). A wave too thin to fit gives blank estimates, "not estimable".

    County x experience band rows: the band contrast of the regression (the experience-band log
    odds ratio of the outcome) is applied around the county's estimate, with an offset chosen so
    the band shares average back to the county estimate; the interval limits are split the same
    way and then widened on the logit scale by the band contrast's own interval (delta method, the
    two errors added in quadrature). Headcounts by
    band are unknown: each county's headcount is split by the weighted band shares of its county
    group's respondents (an assumption, stated in the ``note`` column).

:func:`model_cards` (asset ``model_cards``)
    One row per model: specification, n, fit statistics, diagnostics and plain-language caveats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from assets.estimates.glm import SvyGLMResult, svyglm
from assets.models.specs import EXPERIENCE, GROUP, Outcome, fitted_outcomes, outcomes_of, regressors_of
from assets.models.training_gap_cards import model_cards
from assets.models.training_gap_county import (_column_codes, _respondents_by_county_and_band, _state_share,
                                               county_covariates, county_table)
from assets.models.training_gap_design import (COUNTY_COLUMNS, MODEL_CARD_COLUMNS, NO_RESPONDENTS,
                                               REGRESSION_COLUMNS, _expit, _freq, _levels, _prepared,
                                               _t_quantile, _typed, collapsed, model_columns, model_design)
from pipelines.config import Assessment

__all__ = [
    "COUNTY_COLUMNS",
    "EXPERIENCE",
    "GROUP",
    "MODEL_CARD_COLUMNS",
    "REGRESSION_COLUMNS",
    "Outcome",
    "TrainingGap",
    "collapsed",
    "county_covariates",
    "county_table",
    "fit_outcome_models",
    "fit_training_gap",
    "fitted_outcomes",
    "model_cards",
    "model_columns",
    "model_design",
    "outcomes_of",
    "regression_table",
    "regressors_of",
]
# (_column_codes, _levels, _prepared, _respondents_by_county_and_band, _state_share: for the tests)


# --------------------------------------------------------------------------------------------
# regressions
# --------------------------------------------------------------------------------------------


FIRTH = "bias-reduced (Firth) fit"


def fit_outcome_models(design, outcomes: Sequence[Outcome], firth: bool = True) -> dict[str, SvyGLMResult]:
    """One quasibinomial ``svyglm`` per outcome on the calibrated design; a fit with separation is
    replaced by a bias-reduced (Firth) fit (``firth=True``), still flagged ``separation=True``."""
    fits = {}
    for o in outcomes:
        fit = svyglm(collapsed(design, o.y, *o.regressors), o.formula, family="quasibinomial")
        if firth and fit.separation:  # (on the respondents' rows)
            fit = firth_svyglm(design, fit, o.y)
        fits[o.column] = fit
    return fits


def firth_svyglm(design, fit: SvyGLMResult, y_col: str, maxit: int = 100, tol: float = 1e-8) -> SvyGLMResult:
    """Weighted Firth (bias-reduced) logistic regression for a fit with separation.

    Maximises the weighted log-likelihood plus ``log|X'WX| / 2`` (``W = w p (1 - p)``, weights
    rescaled to mean 1 as ``svyglm``) by the modified-score iteration
    ``beta += (X'WX)^-1 X'(w (y - p) + h (1/2 - p))`` (``h`` = leverages), which keeps every
    coefficient finite. Standard errors: the design (linearised, calibration-aware) sandwich of the
    modified score, as ``svyglm``'s; t tests on ``svyglm``'s degrees of freedom. An approximation
    (Firth's penalty is not a design-based method), which the note of every row states.
    """
    import dataclasses

    from scipy import special

    from assets.estimates.design import svyrecvar

    data = design.data
    try:
        x, xmiss = fit.model_matrix(data)
    except ValueError:  # other levels than the fit's
        return fit
    names = list(fit.terms)
    y = data[y_col].to_numpy(dtype=float)
    keep = ~xmiss & np.isfinite(y) & (design.weights > 0)
    w_all = np.where(keep, design.weights, 0.0) / design.weights.mean()
    use = [j for j, name in enumerate(names) if name not in fit.aliased]
    xu, yk, wk = x[keep][:, use], y[keep], w_all[keep]
    beta = np.zeros(len(use))
    converged = False
    it = 0
    for it in range(1, maxit + 1):
        p = _expit(xu @ beta)
        W = wk * p * (1 - p)
        inv = np.linalg.inv((xu * W[:, None]).T @ xu)
        h = W * np.einsum("ij,jk,ik->i", xu, inv, xu)
        step = inv @ (xu.T @ (wk * (yk - p) + h * (0.5 - p)))
        big = np.abs(step).max()
        if big > 5.0:
            step *= 5.0 / big
        beta = beta + step
        if big < tol:
            converged = True
            break
    p = _expit(xu @ beta)
    W = wk * p * (1 - p)
    inv = np.linalg.inv((xu * W[:, None]).T @ xu)
    h = W * np.einsum("ij,jk,ik->i", xu, inv, xu)
    estfun = np.zeros((design.n, len(use)))
    estfun[keep] = xu * (wk * (yk - p) + h * (0.5 - p))[:, None]
    v_u = svyrecvar(design, estfun @ inv)
    k = len(names)
    coef, se, vcov = np.full(k, np.nan), np.full(k, np.nan), np.full((k, k), np.nan)
    coef[use] = beta
    se[use] = np.sqrt(np.maximum(np.diag(v_u), 0.0))
    vcov[np.ix_(use, use)] = v_u
    # a separated term's linearised SE is near 0 (its fitted probabilities are near 0 or 1): no
    # Wald interval or p-value is given for it (profile-likelihood intervals would be needed)
    for j, name in enumerate(names):
        if name in fit.separation_terms:
            se[j] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        tval = coef / se
    pval = 2 * special.stdtr(fit.df, -np.abs(tval)) if fit.df > 0 else np.full(k, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = float(2 * np.sum(wk * (np.where(yk > 0, -np.log(p), 0) + np.where(yk < 1, -np.log(1 - p), 0))))
    messages = tuple(m for m in fit.messages if "estimates withheld" not in m) + (
        f"{FIRTH}: separation ({', '.join(fit.separation_terms)}) makes ordinary estimates infinite; "
        "these are penalised estimates, pulled towards no effect, with approximate intervals (none for the "
        "separated terms)",)
    if not converged:
        messages += (f"the Firth iteration did not converge in {maxit} steps",)
    return dataclasses.replace(fit, coef=coef, se=se, t=tval, p=pval, vcov=vcov, raw_coef=coef.copy(),
                               raw_se=se.copy(), converged=converged, iterations=it, reliable=converged,
                               messages=messages, deviance=dev)


@dataclass
class _Fit:
    """What prediction needs from a reliable fit: rows used, weights, model matrix and coefficients
    (aliased terms count as 0)."""

    fit: SvyGLMResult
    rows: np.ndarray
    w: np.ndarray
    x: np.ndarray
    columns: dict[str, dict[str, int]]  # variable -> level -> column of x (reference: absent)
    coef: np.ndarray
    vcov: np.ndarray

    @classmethod
    def of(cls, design, fit: SvyGLMResult, y: str, regressors: Sequence[str]) -> _Fit:
        data = design.data
        rows = data[y].notna().to_numpy() & (design.weights > 0)
        for v in regressors:
            rows &= data[v].notna().to_numpy()
        try:
            x, _ = fit.model_matrix(data.loc[rows, list(regressors)])
        except ValueError as exc:
            raise RuntimeError(f"model matrix does not match the fitted terms: {exc}") from None
        names = list(fit.terms)
        columns = {v: {str(lev): names.index(f"{v}{lev}") for lev in data[v].cat.categories[1:]}
                   for v in regressors}
        coef = np.nan_to_num(fit.raw_coef, nan=0.0)
        vcov = np.nan_to_num(fit.vcov, nan=0.0)
        w = design.weights[rows] * _freq(design)[rows]
        return cls(fit, rows, w / w.sum() if w.sum() > 0 else w, x, columns, coef, vcov)

    def average(self, **fixed: str) -> tuple[float, np.ndarray]:
        """Weighted average predicted probability with ``fixed`` regressors set for everyone, and its
        gradient with respect to the coefficients."""
        x = self.x.copy()
        for var, level in fixed.items():
            cols = self.columns[var]
            x[:, list(cols.values())] = 0.0
            if level in cols:
                x[:, cols[level]] = 1.0
        p = _expit(x @ self.coef)
        grad = (self.w * p * (1 - p)) @ x
        return float(self.w @ p), grad


def regression_table(design, fits: dict[str, SvyGLMResult], wave: str, assessment: Assessment,
                     level: float = 0.95, outcomes: Sequence[Outcome] | None = None) -> pd.DataFrame:
    """The long ``training_gap_model`` table (see the module docstring); ``outcomes``: those fitted
    (default: every outcome of the config)."""
    full = design
    rows: list[dict] = []
    for o in (outcomes_of(assessment) if outcomes is None else outcomes):
        design = collapsed(full, o.y, *o.regressors)  # cell totals: the same numbers as row by row
        data = design.data
        fit = fits[o.column]
        # R's null deviance of the weighted intercept-only fit (weights rescaled to mean 1)
        y = data[o.y].to_numpy(dtype=float)
        used = _Fit.of(design, fit, o.y, o.regressors)
        f = _freq(design)
        mean_w = float((design.weights * f).sum() / f.sum())
        w = design.weights[used.rows] * f[used.rows] / mean_w  # R rescales the weights to mean 1 over the design
        yy = y[used.rows]
        pbar = float(w @ yy / w.sum()) if len(w) else math.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            null_dev = float(-2 * np.sum(w * (yy * np.log(pbar) + (1 - yy) * np.log(1 - pbar)))) \
                if 0 < pbar < 1 else math.nan
        note = "; ".join(fit.messages)
        if not fit.reliable:
            note = ("NOT REPORTED: " + (note or "the fit did not converge")
                    + ". Merge sparse levels or collect more responses before reading this model.")
        firth = any(m.startswith(FIRTH) for m in fit.messages)
        head = {"wave": wave, "outcome": o.column, "outcome_label": o.label, "n": float(fit.n),
                "estimator": "firth" if firth else "svyglm",
                "df": float(fit.df), "deviance": float(fit.deviance) if fit.reliable else math.nan,
                "null_deviance": null_dev, "converged": bool(fit.converged), "separation": bool(fit.separation),
                "reliable": bool(fit.reliable), "note": note, "county_group": None, "experience_band": None}
        q = _t_quantile(level, fit.df)
        refs = {v: str(data[v].cat.categories[0]) for v in o.regressors}
        # odds ratios (and which variable / level each term is)
        term_of: dict[str, tuple[str, str]] = {}
        for v in o.regressors:
            for lev in data[v].cat.categories[1:]:
                term_of[f"{v}{lev}"] = (v, str(lev))
        for j, term in enumerate(fit.terms):
            if term == "(Intercept)":
                continue
            var, lev = term_of.get(term, (term, ""))
            b, se = fit.coef[j], fit.se[j]
            aliased = term in fit.aliased
            rows.append({**head, "kind": "odds_ratio", "term": term, "variable": var, "level": lev,
                         "reference": refs.get(var, ""), "estimate": math.exp(b) if np.isfinite(b) else math.nan,
                         "se": se, "ci_low": math.exp(b - q * se) if np.isfinite(b) and np.isfinite(se) else math.nan,
                         "ci_high": math.exp(b + q * se) if np.isfinite(b) and np.isfinite(se) else math.nan,
                         "p_value": fit.p[j],
                         "note": "; ".join(x for x in (NO_RESPONDENTS if aliased else "", head["note"]) if x)})
        reliable = fit.reliable and used.rows.any()
        # average marginal effects
        for v in o.regressors:
            cats = [str(c) for c in data[v].cat.categories]
            if reliable:
                p0, g0 = used.average(**{v: cats[0]})
            for lev in cats[1:]:
                est = se = math.nan
                term = f"{v}{lev}"
                if reliable and term not in fit.aliased:
                    p1, g1 = used.average(**{v: lev})
                    g = g1 - g0
                    est, se = p1 - p0, math.sqrt(max(float(g @ used.vcov @ g), 0.0))
                    if term in fit.separation_terms and fit.reliable:
                        se = math.nan  # Firth fit: no interval for a separated term
                z = est / se if se and np.isfinite(se) and se > 0 else math.nan
                from scipy import special
                pv = float(2 * special.stdtr(fit.df, -abs(z))) if np.isfinite(z) and fit.df > 0 else math.nan
                rows.append({**head, "kind": "marginal_effect", "term": term, "variable": v, "level": lev,
                             "reference": cats[0], "estimate": est, "se": se, "ci_low": est - q * se,
                             "ci_high": est + q * se, "p_value": pv})
        # predicted probabilities by county group x experience band
        for g_level in [str(c) for c in data[GROUP].cat.categories]:
            for b_level in [str(c) for c in data[EXPERIENCE].cat.categories]:
                est = se = lo = hi = math.nan
                if reliable:
                    est, grad = used.average(**{GROUP: g_level, EXPERIENCE: b_level})
                    se = math.sqrt(max(float(grad @ used.vcov @ grad), 0.0))
                    if 0 < est < 1:
                        eta, se_eta = math.log(est / (1 - est)), se / (est * (1 - est))
                        lo, hi = float(_expit(np.array(eta - q * se_eta))), float(_expit(np.array(eta + q * se_eta)))
                rows.append({**head, "kind": "predicted_probability", "term": f"{g_level} x {b_level}",
                             "variable": f"{GROUP} x {EXPERIENCE}", "level": f"{g_level} x {b_level}",
                             "reference": "", "county_group": g_level, "experience_band": b_level,
                             "estimate": est, "se": se, "ci_low": lo, "ci_high": hi, "p_value": math.nan})
    return _typed(pd.DataFrame(rows, columns=REGRESSION_COLUMNS),
                  floats=["estimate", "se", "ci_low", "ci_high", "p_value", "n", "df", "deviance", "null_deviance"],
                  bools=["converged", "separation", "reliable"])


# --------------------------------------------------------------------------------------------
# everything at once
# --------------------------------------------------------------------------------------------


@dataclass
class TrainingGap:
    regression: pd.DataFrame
    county: pd.DataFrame
    cards: pd.DataFrame


def fit_training_gap(responses: pd.DataFrame, assessment: Assessment, wave: str,
                     weights: pd.DataFrame | None = None, not_collected: set[str] | None = None) -> TrainingGap:
    """All three tables of a wave (what the three assets compute, in one call)."""
    level = assessment.config.estimates.level
    outcomes = fitted_outcomes(assessment, not_collected)
    design = model_design(responses, assessment, wave, weights).design
    reg = regression_table(design, fit_outcome_models(design, outcomes), wave, assessment, level, outcomes)
    county = county_table(design, reg, wave, assessment, level, outcomes=outcomes)
    return TrainingGap(reg, county, model_cards(reg, county, assessment, wave, not_collected))
