"""Where to send training: who is less prepared, in which counties, and how many officers that is.

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

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from assets.estimates.estimators import svymean
from assets.estimates.glm import SvyGLMResult, svyglm
from assets.estimates.weighting import WeightingResult, officer_design
from assets.models.small_area import design_matrix
from assets.models.county_card import county_model_card
from assets.models.county_fit import fit_county_outcome, pooled_gvf
from assets.models.specs import (EXPERIENCE, GROUP, Outcome, fitted_outcomes, outcomes_of, references_of,
                                  regressors_of)
from pipelines.config import Assessment

__all__ = [
    "COUNTY_COLUMNS",
    "MODEL_CARD_COLUMNS",
    "REGRESSION_COLUMNS",
    "Outcome",
    "TrainingGap",
    "county_covariates",
    "county_table",
    "fit_outcome_models",
    "fit_training_gap",
    "fitted_outcomes",
    "model_cards",
    "model_design",
    "outcomes_of",
    "regression_table",
    "regressors_of",
]

NO_RESPONDENTS = "no respondents at this level (term dropped)"


NOT_COLLECTED = "not collected in this wave"

REGRESSION_COLUMNS = [
    "wave", "outcome", "outcome_label", "kind", "term", "variable", "level", "reference", "county_group",
    "experience_band", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "df", "deviance",
    "null_deviance", "estimator", "converged", "separation", "reliable", "note",
]
COUNTY_COLUMNS = [
    "wave", "outcome", "measure", "measure_label", "breakdown", "county", "county_group", "experience_band",
    "respondents", "n_eff", "direct", "direct_se", "direct_publishable", "eblup", "rmse", "ci_low", "ci_high",
    "shrinkage", "cv", "synthetic", "headcount", "band_share", "officers_needing_training", "officers_low",
    "officers_high", "rank", "fh_method", "fh_variance", "fh_variance_ml", "fh_variance_moment", "fh_truncated", "fh_converged", "fh_loglike", "fh_aic",
    "fh_areas", "fh_coefficients", "fh_selection", "note",
]
MODEL_CARD_COLUMNS = [
    "wave", "model", "asset", "model_type", "outcome", "specification", "estimation", "n", "n_areas",
    "n_parameters", "deviance", "null_deviance", "aic", "loglike", "fh_variance", "converged", "separation",
    "reliable", "diagnostics", "caveats",
]


# --------------------------------------------------------------------------------------------
# data and design
# --------------------------------------------------------------------------------------------


def _levels(assessment: Assessment, var: str, values: pd.Series) -> list[str]:
    """Levels of a regressor: the config's reference level first, then the codebook's order (without a
    reference in the config, the codebook's first level is the reference)."""
    from assets.estimates.headline import domain_levels

    levels = domain_levels(assessment, var, values)
    seen = set(levels)
    extra = sorted(str(v) for v in pd.unique(values.dropna()) if str(v) not in seen)
    levels = levels + extra
    reference = references_of(assessment).get(var)
    if reference is not None and reference in levels:
        levels.remove(reference)
        levels.insert(0, reference)
    return levels


def _prepared(data: pd.DataFrame, assessment: Assessment) -> dict[str, pd.Series]:
    """The model columns: 0/1 outcomes (NaN if unanswered) and ordered factors for the regressors."""
    cols: dict[str, pd.Series] = {}
    n = len(data)
    for o in outcomes_of(assessment):
        raw = data[o.column] if o.column in data.columns else pd.Series([None] * n, index=data.index)
        # each distinct answer looked up once (missing: code -1, not answered)
        codes, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
        hit = np.append(pd.Series(uniques, dtype=object).isin(list(o.success)).to_numpy(dtype=float), np.nan)
        cols[o.y] = pd.Series(hit[codes], index=data.index)
    for var in regressors_of(assessment):
        raw = data[var] if var in data.columns else pd.Series([None] * n, index=data.index)
        codes, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
        if all(isinstance(u, str) for u in uniques):
            # text answers (as the warehouse stores them): each distinct one looked up once
            texts = list(uniques)
            levels = _levels(assessment, var, pd.Series(texts, dtype=object))
            index = {level: i for i, level in enumerate(levels)}
            per_value = np.array([index.get(t, -1) for t in texts] + [-1], dtype=np.int64)
            cols[var] = pd.Series(pd.Categorical.from_codes(per_value[codes], categories=levels), index=data.index)
            continue
        # other values (1 and 1.0 are one distinct value but different text): row by row
        text = raw.astype(object).where(raw.notna(), None).map(lambda v: None if v is None else str(v))
        cols[var] = pd.Series(pd.Categorical(text, categories=_levels(assessment, var, text)), index=data.index)
    return cols


def model_columns(assessment: Assessment) -> list[str]:
    """The response columns the training-gap models read (the rest need not be loaded)."""
    from assets.estimates.weighting import weighting_columns

    return list(dict.fromkeys([*weighting_columns(assessment), *(o.column for o in outcomes_of(assessment)),
                                *regressors_of(assessment)]))


def model_design(responses: pd.DataFrame, assessment: Assessment, wave: str,
                 weights: pd.DataFrame | None = None) -> WeightingResult:
    """The calibrated design of the wave (checked against ``officer_weights`` when given), with
    the model columns added: ``y_<outcome>`` (1 prepared, 0 not, NaN unanswered) and the regressors
    as ordered categoricals (first level = reference)."""
    if not responses.index.equals(pd.RangeIndex(len(responses))):  # (no copy of a million rows otherwise)
        responses = responses.reset_index(drop=True)
    result = officer_design(responses, assessment, weights, wave)
    data = result.design.data
    for name, col in _prepared(data, assessment).items():
        data[name] = col.to_numpy() if not isinstance(col.dtype, pd.CategoricalDtype) else col.values
    return result


#: estimate from cell totals (False: row by row, the straightforward computation, for tests)
COLLAPSE = True


def _outcome_key(y: np.ndarray) -> tuple[np.ndarray, int | None]:
    """An outcome as a collapse key: codes 0 (missing), 1 (0) and 2 (1) when it is 0/1/missing (the
    same cells as factorising it), else the values themselves."""
    missing = np.isnan(y)
    if bool((missing | (y == 0) | (y == 1)).all()):
        return np.where(missing, 0, np.where(y == 1, 2, 1)).astype(np.int64), 3
    return y, None


def collapsed(design, y: str, *columns: str, codes: dict[str, tuple[np.ndarray, int]] | None = None):
    """The design with rows alike in design pattern, outcome ``y`` and ``columns`` merged into cells
    with frequencies (:meth:`~assets.estimates.design.SurveyDesign.collapse`): the estimators and
    ``svyglm`` give exactly the row-level results from these cell totals
    (tests/unit/test_estimates_collapsed.py, tests/unit/test_models_training_gap.py). ``codes``:
    a column's codes (0..size-1) and size worked out already, for a column used by several outcomes."""
    if not COLLAPSE or design.freq is not None or not design._psu_is_row:
        return design
    data = design.data
    y_key, y_size = _outcome_key(data[y].to_numpy(dtype=float))
    keys: list[np.ndarray] = [y_key]
    sizes: list[int | None] = [y_size]
    for c in columns:
        col = data[c]
        if codes is not None and c in codes:
            keys.append(codes[c][0])
            sizes.append(codes[c][1])
        elif isinstance(col.dtype, pd.CategoricalDtype):
            keys.append(col.cat.codes.to_numpy().astype(np.int64) + 1)
            sizes.append(len(col.cat.categories) + 1)
        else:
            keys.append(col.to_numpy())
            sizes.append(None)
    return design.collapse(keys, sizes)[0]


def _freq(design) -> np.ndarray:
    return np.ones(design.n) if design.freq is None else design.freq


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


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))


def _t_quantile(level: float, df: float) -> float:
    from scipy import special

    if not math.isfinite(df) or df <= 0:
        return float(special.ndtri(0.5 + level / 2))
    return float(special.stdtrit(df, 0.5 + level / 2))


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


def _typed(frame: pd.DataFrame, floats: Sequence[str], bools: Sequence[str]) -> pd.DataFrame:
    """Stable column types for the warehouse (a table's schema is fixed by its first wave)."""
    for c in floats:
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    for c in bools:
        frame[c] = frame[c].fillna(False).astype(bool)
    for c in frame.columns:
        if c not in floats and c not in bools:
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame


# --------------------------------------------------------------------------------------------
# county estimates
# --------------------------------------------------------------------------------------------


def county_covariates(assessment: Assessment) -> pd.DataFrame:
    """Area-level covariates of the Fay–Herriot model, one row per county (config order):
    intercept, county-group indicator(s), centred log population, officers per 1,000 residents, and the
    columns of the county covariates file (``small_area.covariates``) when one is given."""
    counties = assessment.config.counties
    heads = assessment.config.officer_headcounts.by_county
    frame = pd.DataFrame({
        "county": [c.name for c in counties],
        "county_group": [assessment.county_group_of.get(c.name, "") for c in counties],
        "population": [float(c.population_2020) for c in counties],
        "headcount": [float(heads.get(c.name, math.nan)) for c in counties],
    }).set_index("county", drop=False)
    frame["log_population"] = np.log(frame["population"]) - np.log(frame["population"]).mean()
    frame["officers_per_1000"] = 1000.0 * frame["headcount"] / frame["population"]
    groups = [g.name for g in assessment.config.county_groups]
    frame["group"] = pd.Categorical(frame["county_group"], categories=groups)
    extra = getattr(assessment, "county_covariate_values", None) or {}
    frame.attrs["extra_covariates"] = []
    if extra:
        names = list(next(iter(extra.values())).keys())
        for n in names:
            frame[n] = [extra[c][n] for c in frame.index]
        frame.attrs["extra_covariates"] = names
    return frame


def _fh_design(cov: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    numeric = ["log_population"]
    if cov["officers_per_1000"].notna().all() and cov["officers_per_1000"].std() > 1e-9:
        cov = cov.assign(officers_per_1000=cov["officers_per_1000"] - cov["officers_per_1000"].mean())
        numeric.append("officers_per_1000")
    for name in extra:  # centred and scaled: coefficients per standard deviation
        sd = float(cov[name].std())
        if sd > 1e-12:
            cov = cov.assign(**{name: (cov[name] - cov[name].mean()) / sd})
            numeric.append(name)
    X = design_matrix(cov, numeric=numeric, categorical=["group"] if cov["group"].nunique() > 1 else [])
    return X.rename(columns=lambda c: c.replace("group", "county_group: ", 1) if c.startswith("group") else c)


def _candidate_designs(cov: pd.DataFrame) -> dict[tuple[str, ...], pd.DataFrame]:
    """The covariate sets compared by model selection: the base set plus every subset of the file's
    columns (up to 4 columns; with more, each one alone and all of them)."""
    from itertools import combinations

    extra = list(cov.attrs.get("extra_covariates", []))
    if len(extra) <= 4:
        subsets = [c for k in range(len(extra) + 1) for c in combinations(extra, k)]
    else:
        subsets = [(), *((e,) for e in extra), tuple(extra)]
    return {tuple(sub): _fh_design(cov, sub) for sub in subsets}


def _column_codes(design, column: str) -> dict[str, tuple[np.ndarray, int]]:
    """A text column's codes for :func:`collapsed` (missing answers one more code), worked out once."""
    c, u = pd.factorize(design.data[column].to_numpy(), use_na_sentinel=False)
    return {column: (c.astype(np.int64), max(len(u), 1))}


def _respondents_by_county_and_band(data: pd.DataFrame, valid: np.ndarray, bands: Sequence[str]) -> dict[tuple, int]:
    """Respondents (rows where ``valid``) of each (county, experience band) with both answered."""
    county, counties = pd.factorize(data["county"].astype(object).to_numpy(), use_na_sentinel=True)
    band = data[EXPERIENCE].cat.codes.to_numpy().astype(np.int64)
    keep = valid & (county >= 0) & (band >= 0)
    counts = np.bincount(county[keep] * len(bands) + band[keep], minlength=len(counties) * len(bands))
    return {(c, b): int(counts[i * len(bands) + j]) for i, c in enumerate(counties) for j, b in enumerate(bands)
            if counts[i * len(bands) + j] > 0}


def _direct_by_county(design, y: str, counties: Sequence[str],
                      codes: dict[str, tuple[np.ndarray, int]] | None = None) -> pd.DataFrame:
    """Direct weighted share *not* prepared per county, design SE, respondents and n_eff."""
    design = collapsed(design, y, "county", codes=codes)  # cell totals: the same numbers as row by row
    data = design.data
    county = data["county"].astype(object)
    not_y = 1.0 - data[y].to_numpy(dtype=float)
    f = _freq(design)
    out = []
    for c in counties:
        mask = (county == c).to_numpy() & (design.weights > 0)
        n = int(round(float(f[mask & np.isfinite(not_y)].sum())))
        if n == 0:
            out.append({"county": c, "respondents": 0.0, "direct": math.nan, "direct_se": math.nan, "n_eff": 0.0,
                        "gap_count": 0.0})
            continue
        ok = mask & np.isfinite(not_y)
        gap_count = float(round(float(f[ok] @ not_y[ok])))
        e = svymean(design, not_y, domain=mask, na_rm=True, df=None)
        p, se = e.estimate, e.se
        if 0 < p < 1 and np.isfinite(se) and se > 0:
            n_eff = min(max(p * (1 - p) / se**2, 1.0), float(n))
        else:
            n_eff = float(n)
        out.append({"county": c, "respondents": float(n), "direct": p, "direct_se": se, "n_eff": n_eff,
                    "gap_count": gap_count})
    return pd.DataFrame(out).set_index("county", drop=False)


def _state_share(design, y: str) -> float:
    """The state's direct weighted share *not* prepared (the benchmark of the county estimates)."""
    not_y = 1.0 - design.data[y].to_numpy(dtype=float)
    if not np.isfinite(not_y).any():
        return math.nan
    return float(svymean(design, not_y, na_rm=True, df=None).estimate)


def _band_offset(p: float, shares: np.ndarray, delta: np.ndarray) -> float:
    """``k`` with ``sum_b shares_b expit(k + delta_b) = p`` (Newton from ``logit(p)``, then bisection)."""
    k = math.log(p / (1 - p)) - float(shares @ delta)
    for _ in range(50):
        q = _expit(k + delta)
        f = float(shares @ q) - p
        d = float(shares @ (q * (1 - q)))
        if abs(f) < 1e-12:
            return k
        if d <= 1e-300:
            break
        k -= f / d
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if float(shares @ _expit(mid + delta)) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _band_split(p: float, shares: np.ndarray, delta: np.ndarray) -> np.ndarray:
    if not np.isfinite(p):
        return np.full(len(shares), math.nan)
    if p <= 0 or p >= 1:
        return np.full(len(shares), float(p))
    return _expit(_band_offset(p, shares, delta) + delta)


def county_table(design, model_table: pd.DataFrame, wave: str, assessment: Assessment, level: float = 0.95,
                 outcomes: Sequence[Outcome] | None = None) -> pd.DataFrame:
    """The ``training_gap_by_county`` table (see the module docstring), for the ``outcomes`` fitted
    (default: every outcome of the config) that the config gives county estimates."""
    outcomes = [o for o in (outcomes_of(assessment) if outcomes is None else outcomes) if o.county_estimates]
    cov = county_covariates(assessment)
    X = _fh_design(cov)
    candidates = _candidate_designs(cov)
    counties = list(cov.index)
    data = design.data
    bands = [str(c) for c in data[EXPERIENCE].cat.categories]
    min_cell = assessment.min_cell_count
    heads = cov["headcount"].to_numpy()
    # weighted experience-band shares within each county group (headcount by band is unknown)
    band_share: dict[str, np.ndarray] = {}
    w = design.weights
    for g in cov["group"].cat.categories:
        m = (data[GROUP] == g).to_numpy() & data[EXPERIENCE].notna().to_numpy() & (w > 0)
        if not m.any():
            m = data[EXPERIENCE].notna().to_numpy() & (w > 0)
        tot = np.array([w[m & (data[EXPERIENCE] == b).to_numpy()].sum() for b in bands])
        band_share[str(g)] = tot / tot.sum() if tot.sum() > 0 else np.full(len(bands), 1 / len(bands))
    rows: list[dict] = []
    county_codes = _column_codes(design, "county") if COLLAPSE and design.freq is None else None
    settings = assessment.config.small_area
    directs = {o.y: _direct_by_county(design, o.y, counties, county_codes) for o in outcomes}
    gvf = pooled_gvf(list(directs.values()))
    for o in outcomes:
        direct = directs[o.y]
        fit = fit_county_outcome(direct, X, heads, _state_share(design, o.y), gvf, settings, level, counties,
                                 candidates=candidates)
        t, fh = fit.table, fit.fh
        fh_note = "; ".join(fit.notes)
        county_rows = []
        for i, c in enumerate(counties):
            r = t.loc[c]
            d = direct.loc[c]
            syn = bool(r["synthetic"])
            note = ("" if not fit.estimable else
                    "no respondents: synthetic (regression) estimate from similar counties" if syn and not
                    d["respondents"] else
                    f"fewer than {settings.min_effective_sample:g} effective respondents: the county's own answers "
                    "are left out of the model; synthetic (regression) estimate from similar counties" if syn
                    else "few respondents: mostly borrowed from similar counties" if r["shrinkage"] < 0.5 else "")
            county_rows.append({
                "wave": wave, "outcome": o.column, "measure": o.gap, "measure_label": o.gap_label,
                "breakdown": "county", "county": c, "county_group": cov.loc[c, "county_group"],
                "experience_band": "All", "respondents": d["respondents"], "n_eff": d["n_eff"],
                "direct": d["direct"], "direct_se": d["direct_se"],
                "direct_publishable": bool(d["respondents"] >= min_cell), "eblup": r["eblup"],
                "rmse": r["eblup_rmse"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "shrinkage": r["shrinkage"],
                "cv": r["cv"], "synthetic": syn, "headcount": heads[i], "band_share": 1.0,
                "officers_needing_training": r["eblup"] * heads[i], "officers_low": r["ci_low"] * heads[i],
                "officers_high": r["ci_high"] * heads[i], **fh,
                "note": "; ".join(x for x in (note, fh_note) if x),
            })
        ranked = pd.DataFrame(county_rows)
        ranked["rank"] = ranked["officers_needing_training"].rank(ascending=False, method="min")
        rows.extend(ranked.to_dict("records"))
        # county x experience band: the regression's band contrast around the county estimate
        delta, delta_se, band_note = _band_contrast(model_table, o, bands)
        zq = _t_quantile(level, math.inf)
        valid = np.isfinite(data[o.y].to_numpy(dtype=float)) & (w > 0)
        by_cell = _respondents_by_county_and_band(data, valid, bands)
        for rec in ranked.to_dict("records"):
            shares = band_share.get(rec["county_group"], np.full(len(bands), 1 / len(bands)))
            est = _band_split(rec["eblup"], shares, delta)
            lo, hi = _band_interval(est, _band_split(rec["ci_low"], shares, delta),
                                    _band_split(rec["ci_high"], shares, delta), zq * delta_se)
            for j, b in enumerate(bands):
                officers = rec["headcount"] * shares[j]
                rows.append({
                    **rec, "breakdown": "county x experience band", "experience_band": b,
                    "respondents": float(by_cell.get((rec["county"], b), 0)),
                    "n_eff": math.nan, "direct": math.nan, "direct_se": math.nan, "direct_publishable": False,
                    "eblup": est[j], "rmse": math.nan, "ci_low": lo[j], "ci_high": hi[j], "shrinkage": math.nan,
                    "cv": math.nan, "headcount": officers, "band_share": shares[j],
                    "officers_needing_training": est[j] * officers, "officers_low": lo[j] * officers,
                    "officers_high": hi[j] * officers, "rank": math.nan,
                    "note": "; ".join(x for x in (
                        f"headcount by band assumed: county headcount x weighted share of {b!r} among "
                        f"{rec['county_group']} respondents ({shares[j]:.0%})", band_note, rec["note"]) if x),
                })
        band_rows = [r for r in rows if r["measure"] == o.gap and r["breakdown"] != "county"]
        order = pd.Series([r["officers_needing_training"] for r in band_rows]).rank(ascending=False, method="min")
        for r, k in zip(band_rows, order):
            r["rank"] = float(k)
    return _typed(pd.DataFrame(rows, columns=COUNTY_COLUMNS),
                  floats=["respondents", "n_eff", "direct", "direct_se", "eblup", "rmse", "ci_low", "ci_high",
                          "shrinkage", "cv", "headcount", "band_share", "officers_needing_training", "officers_low",
                          "officers_high", "rank", "fh_variance", "fh_variance_ml", "fh_variance_moment", "fh_loglike",
                          "fh_aic", "fh_areas"],
                  bools=["direct_publishable", "synthetic", "fh_truncated", "fh_converged"])


def _band_contrast(model_table: pd.DataFrame, o: Outcome,
                   bands: Sequence[str]) -> tuple[np.ndarray, np.ndarray, str]:
    """Log-odds of being *not* prepared in each band relative to the first (from the regression), and
    the standard errors of those log odds ratios."""
    delta = np.zeros(len(bands))
    se = np.zeros(len(bands))
    rows = model_table[(model_table["outcome"] == o.column) & (model_table["kind"] == "odds_ratio")
                       & (model_table["variable"] == EXPERIENCE)] if len(model_table) else model_table
    if len(rows) == 0 or not rows["reliable"].all() or rows["estimate"].isna().any():
        return delta, se, "no reliable experience contrast from the regression: bands get the county estimate"
    for j, b in enumerate(bands[1:], start=1):
        hit = rows[rows["level"] == b]
        if len(hit):
            delta[j] = -math.log(float(hit["estimate"].iloc[0]))  # not prepared = 1 - prepared
            s = float(hit["se"].iloc[0]) if "se" in hit else math.nan
            se[j] = s if math.isfinite(s) else 0.0
    return delta, se, ("band split by the regression's experience odds ratio; the interval adds its uncertainty "
                       "(delta method on the logit scale)")


def _band_interval(est: np.ndarray, lo: np.ndarray, hi: np.ndarray, half: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Band interval: the county interval split like the estimate, widened on the logit scale by the
    regression's band-contrast half-width ``half`` (the two errors added in quadrature)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        def logit(p):
            p = np.clip(p, 1e-12, 1 - 1e-12)
            return np.log(p / (1 - p))
        c = logit(est)
        down = np.sqrt(np.maximum(c - logit(lo), 0.0) ** 2 + half**2)
        up = np.sqrt(np.maximum(logit(hi) - c, 0.0) ** 2 + half**2)
        return _expit(c - down), _expit(c + up)


# --------------------------------------------------------------------------------------------
# model cards
# --------------------------------------------------------------------------------------------

CONVENIENCE = ("The officer survey is a convenience sample (officers who chose to answer), weighted to county "
               "officer headcounts; officers who did not answer may differ in ways the weights cannot fix.")


def model_cards(model_table: pd.DataFrame, county: pd.DataFrame, assessment: Assessment, wave: str,
                not_collected: set[str] | None = None) -> pd.DataFrame:
    """One row per model of the wave: specification, n, fit statistics, diagnostics and caveats (a model
    resting on a question not collected in this wave: a card saying so, not reliable, no numbers)."""
    heads = assessment.config.officer_headcounts.status
    head_caveat = ("Officer headcounts are ILLUSTRATIVE, not a roster: weights and officer numbers are only "
                   "as good as these figures." if heads == "illustrative" else "Officer headcounts are roster counts.")
    cards: list[dict] = []
    outcomes = outcomes_of(assessment)
    for o in outcomes:
        t = model_table[model_table["outcome"] == o.column]
        if len(t) == 0:
            continue
        first = t.iloc[0]
        ors = t[t["kind"] == "odds_ratio"]
        pred = t[t["kind"] == "predicted_probability"]
        sig = ors[(ors["p_value"] < 0.05)]
        diag = {
            "df": float(first["df"]),
            "significant_at_5pct": [f"{r.variable}={r.level} (OR {r.estimate:.2f})" for r in sig.itertuples()],
            "terms_without_respondents": ors[ors["note"].astype(str).str.contains(NO_RESPONDENTS, regex=False)]["term"].tolist(),
            "predicted_range": [float(pred["estimate"].min()), float(pred["estimate"].max())] if len(pred) else [],
            "messages": first["note"] or "",
        }
        caveats = [CONVENIENCE, head_caveat,
                   "Associations, not causes: agencies differ in many ways the model does not measure.",
                   "Odds ratios compare each group with the reference group with the other factors held fixed."]
        if not first["reliable"]:
            caveats.insert(0, "THIS MODEL IS NOT REPORTED: some group answered all one way (separation) or the "
                              "fit failed, so its odds ratios would be meaningless.")
        elif first["estimator"] == "firth":
            caveats.insert(0, "Some group of officers answered all one way (separation), so this model uses a "
                              "bias-reduced (Firth) fit: that group's odds ratio is pulled towards 1 and its "
                              "interval is approximate; read it as 'very different', not as a precise number.")
        if first["n"] < 100:
            caveats.append(f"Only {int(first['n'])} respondents: intervals are wide.")
        dev, null = float(first["deviance"]), float(first["null_deviance"])
        cards.append({
            "wave": wave, "model": f"training_gap_model: {o.column}", "asset": "training_gap_model",
            "model_type": "survey-weighted logistic regression (quasibinomial svyglm)", "outcome": o.label,
            "specification": o.formula_text(),
            "estimation": ("weighted Firth (bias-reduced) likelihood because of separation"
                           if first["estimator"] == "firth" else "weighted quasi-likelihood")
                          + " on the post-stratified design; linearised (calibration-aware) standard errors; "
                          "t intervals on the design degrees of freedom",
            "n": float(first["n"]), "n_areas": math.nan, "n_parameters": float(len(ors) + 1),
            "deviance": dev, "null_deviance": null, "aic": math.nan, "loglike": math.nan, "fh_variance": math.nan,
            "converged": bool(first["converged"]), "separation": bool(first["separation"]),
            "reliable": bool(first["reliable"]),
            "diagnostics": json.dumps({**diag, "deviance_explained": (1 - dev / null) if null > 0 and
                                       math.isfinite(dev) else None}),
            "caveats": " ".join(caveats),
        })
    for o in outcomes:
        c = county[(county["measure"] == o.gap) & (county["breakdown"] == "county")]
        if len(c):
            cards.append(county_model_card(c, o, assessment, wave, [CONVENIENCE, head_caveat]))
    fitted = fitted_outcomes(assessment, not_collected)
    for o in (o for o in outcomes if o not in fitted):
        from assets.estimates.headline import needed_questions

        missing = sorted(needed_questions(assessment, o.column, *o.regressors) & set(not_collected or ()))
        for asset, model, label in (("training_gap_model", o.column, o.label),
                                    ("training_gap_by_county", o.gap, o.gap_label))[:2 if o.county_estimates else 1]:
            cards.append({
                "wave": wave, "model": f"{asset}: {model}", "asset": asset, "model_type": NOT_COLLECTED,
                "outcome": label, "specification": o.formula_text(), "estimation": NOT_COLLECTED,
                "n": math.nan, "n_areas": math.nan, "n_parameters": math.nan, "deviance": math.nan,
                "null_deviance": math.nan, "aic": math.nan, "loglike": math.nan, "fh_variance": math.nan,
                "converged": False, "separation": False, "reliable": False,
                "diagnostics": json.dumps({"not_collected": missing}),
                "caveats": f"THIS MODEL IS NOT FIT: {', '.join(missing)} not collected in this wave (the question "
                           "is not in the wave's export)."})
    return _typed(pd.DataFrame(cards, columns=MODEL_CARD_COLUMNS),
                  floats=["n", "n_areas", "n_parameters", "deviance", "null_deviance", "aic", "loglike", "fh_variance"],
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
