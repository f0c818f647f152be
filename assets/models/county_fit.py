"""One outcome's county model, by the estimator the config chooses (``small_area.estimator``).

Plain functions between :func:`assets.models.training_gap_county.county_table` and the estimators:
``benchmarked`` (:mod:`assets.models.county_estimator`, the default) or ``fay_herriot`` (the earlier
model, :func:`assets.models.small_area_proportions.fit_proportions`). Both return the same
:class:`CountyFit`; a wave too thin to fit returns a fit whose estimates are blank and whose note says
"not estimable" (never an exception).
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assets.models import county_estimator as ce
from assets.models.small_area import FayHerriotWarning
from assets.models.small_area_proportions import fit_proportions

__all__ = ["CountyFit", "NOT_ESTIMABLE", "fit_county_outcome", "pooled_gvf"]

NOT_ESTIMABLE = "not estimable"


@dataclass
class CountyFit:
    #: indexed by county: eblup, eblup_rmse, ci_low, ci_high, shrinkage, cv, synthetic
    table: pd.DataFrame
    #: the fh_* columns of the county table
    fh: dict
    notes: list[str] = field(default_factory=list)
    estimable: bool = True


def pooled_gvf(directs: Sequence[pd.DataFrame]) -> ce.Gvf:
    """The generalised variance function fitted across the counties of every outcome."""
    frame = pd.concat(list(directs)) if directs else pd.DataFrame(columns=["direct", "direct_se", "respondents"])
    return ce.fit_gvf(frame["direct"], frame["direct_se"], frame["respondents"])


def _coef_json(beta: pd.Series, cov: pd.DataFrame) -> str:
    from scipy import stats

    se = np.sqrt(np.diag(cov.to_numpy()))
    return json.dumps({k: {"beta": round(float(b), 6), "se": round(float(s), 6),
                           "p": round(float(2 * stats.norm.sf(abs(b / s))), 6) if s > 0 else None}
                       for k, b, s in zip(beta.index, beta.to_numpy(), se)})


def _blank(counties: Sequence[str], method: str, reason: str) -> CountyFit:
    t = pd.DataFrame({"eblup": math.nan, "eblup_rmse": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                      "shrinkage": math.nan, "cv": math.nan, "synthetic": False}, index=pd.Index(counties))
    fh = {"fh_method": method, "fh_variance": math.nan, "fh_truncated": False, "fh_converged": False,
          "fh_loglike": math.nan, "fh_aic": math.nan, "fh_areas": 0.0, "fh_coefficients": "{}",
          "fh_variance_ml": math.nan, "fh_variance_moment": math.nan, "fh_selection": "{}"}
    return CountyFit(t, fh, [f"{NOT_ESTIMABLE}: {reason}"], estimable=False)


def _alternatives(direct: pd.DataFrame, X: pd.DataFrame, counties: Sequence[str], level: float) -> dict[str, float]:
    """ML and FH-moment variances of the earlier model, beside the chosen one (a sensitivity check)."""
    out = {}
    for alt in ("ML", "FH"):
        try:
            out[alt] = float(fit_proportions(direct["direct"].to_numpy(), direct["n_eff"].to_numpy(), X, area=counties,
                                             transform="arcsine", method=alt, level=level, warn=False).model.A)
        except (ValueError, np.linalg.LinAlgError):
            out[alt] = math.nan
    return out


def _residual_check(r: ce.CountyEstimate) -> dict:
    """Standardised residuals of the linking model (direct minus regression, over sqrt(A + D)):
    Shapiro–Wilk p-value, largest absolute value, how many beyond 2."""
    from scipy import stats

    z = r.table["standardised_residual"].dropna().to_numpy()
    return {"shapiro_wilk_p": round(float(stats.shapiro(z).pvalue), 4) if len(z) >= 3 else None,
            "max_abs": round(float(np.max(np.abs(z))), 3) if len(z) else None,
            "beyond_2": int(np.sum(np.abs(z) > 2)), "counties": int(len(z))}


def fit_county_outcome(direct: pd.DataFrame, X: pd.DataFrame, headcount: np.ndarray, state_share: float,
                       gvf: ce.Gvf, settings, level: float, counties: Sequence[str],
                       candidates: dict[tuple[str, ...], pd.DataFrame] | None = None) -> CountyFit:
    """Fit one outcome's county model (``settings`` is the config's ``small_area`` section). With
    ``candidates`` (covariate sets beyond the base one, by name), the set is chosen by
    ``settings.selection`` (BIC or AIC of the fitted model; ``none`` takes the largest)."""
    if settings.estimator == "fay_herriot":
        return _fay_herriot(direct, X, level, counties)
    if settings.estimator == "unit_level":
        return _unit_level(direct, X, level, counties, settings)
    candidates = candidates or {(): X}

    def fit(Xc: pd.DataFrame) -> ce.CountyEstimate:
        # the GVF gives the variance for a number of respondents (its design effect is in the fit), so the
        # county's respondents, not its own noisy effective sample size, go in
        return ce.estimate_counties(direct["direct"].to_numpy(), direct["respondents"].to_numpy(), Xc, gvf=gvf,
                                    headcount=headcount, state_share=state_share, method=settings.variance,
                                    bench=settings.benchmark, min_effective_sample=settings.min_effective_sample,
                                    level=level, area=counties)

    fits: dict[tuple[str, ...], ce.CountyEstimate] = {}
    error = ""
    for name, Xc in candidates.items():
        try:
            fits[name] = fit(Xc)
        except (ValueError, np.linalg.LinAlgError) as e:
            error = error or str(e)
    if not fits:
        return _blank(counties, settings.variance, error)
    if settings.selection == "none":
        chosen = max(fits, key=len)
    else:
        chosen = min(fits, key=lambda k: (getattr(fits[k], settings.selection), len(k)))
    r = fits[chosen]
    selection = {"criterion": settings.selection, "chosen": list(chosen),
                 "candidates": [{"covariates": list(k), "aic": round(f.aic, 3), "bic": round(f.bic, 3)}
                                for k, f in fits.items()],
                 "residuals": _residual_check(r)}
    t = r.table.set_index("area")
    table = pd.DataFrame({"eblup": t["estimate"], "eblup_rmse": t["rmse"], "ci_low": t["ci_low"],
                          "ci_high": t["ci_high"], "shrinkage": t["shrinkage"],
                          "cv": t["rmse"] / t["estimate"], "synthetic": t["synthetic"]})
    alt = _alternatives(direct, X, counties, level)
    fh = {"fh_method": settings.variance, "fh_variance": r.A, "fh_truncated": False, "fh_converged": True,
          "fh_loglike": r.loglike, "fh_aic": r.aic, "fh_areas": float(r.n_fit),
          "fh_coefficients": _coef_json(r.beta, r.cov_beta), "fh_variance_ml": alt["ML"],
          "fh_variance_moment": alt["FH"], "fh_selection": json.dumps(selection)}
    notes = [*r.notes, r.gvf.describe()]
    return CountyFit(table, fh, notes)


def _fay_herriot(direct: pd.DataFrame, X: pd.DataFrame, level: float, counties: Sequence[str]) -> CountyFit:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FayHerriotWarning)
            fit = fit_proportions(direct["direct"].to_numpy(), direct["n_eff"].to_numpy(), X, area=counties,
                                  transform="arcsine", method="REML", level=level, warn=True)
    except (ValueError, np.linalg.LinAlgError) as e:
        return _blank(counties, "REML", str(e))
    t = fit.table.set_index("area")
    m = fit.model
    alt = _alternatives(direct, X, counties, level)
    fh = {"fh_method": "REML", "fh_variance": float(m.A), "fh_truncated": bool(m.truncated),
          "fh_converged": bool(m.converged), "fh_loglike": float(m.loglike), "fh_aic": float(m.aic),
          "fh_areas": float(m.n_fit), "fh_coefficients": _coef_json(m.coefficients["beta"], m.cov_beta),
          "fh_variance_ml": alt["ML"], "fh_variance_moment": alt["FH"], "fh_selection": "{}"}
    notes = [str(c.message) for c in caught if issubclass(c.category, FayHerriotWarning)]
    return CountyFit(t[["eblup", "eblup_rmse", "ci_low", "ci_high", "shrinkage", "cv", "synthetic"]], fh, notes)


def _unit_level(direct: pd.DataFrame, X: pd.DataFrame, level: float, counties: Sequence[str], settings) -> CountyFit:
    """The unit-level alternative (:mod:`assets.models.unit_level`) on the respondents' unweighted answers."""
    from assets.models.unit_level import unit_level_counties

    try:
        u = unit_level_counties(direct["gap_count"].to_numpy(), direct["respondents"].to_numpy(), X,
                                B=settings.bootstrap_replicates, level=level, seed=settings.seed)
    except (ValueError, np.linalg.LinAlgError) as e:
        return _blank(counties, "EBP", str(e))
    t = u.set_index("area")
    table = pd.DataFrame({"eblup": t["estimate"], "eblup_rmse": t["rmse"], "ci_low": t["ci_low"],
                          "ci_high": t["ci_high"], "shrinkage": math.nan, "cv": t["rmse"] / t["estimate"],
                          "synthetic": t["synthetic"]})
    sigma = float(t["sigma_u"].iloc[0])
    fh = {"fh_method": "EBP", "fh_variance": sigma**2, "fh_truncated": False, "fh_converged": True,
          "fh_loglike": math.nan, "fh_aic": math.nan, "fh_areas": float((direct["respondents"] > 0).sum()),
          "fh_coefficients": "{}", "fh_variance_ml": math.nan, "fh_variance_moment": math.nan, "fh_selection": "{}"}
    return CountyFit(table, fh, [f"unit-level EBP, bootstrap MSE ({int(t['bootstrap_replicates'].iloc[0])} "
                                 "replicates)"])
