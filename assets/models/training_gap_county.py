"""The county tables of the training gap (asset ``training_gap_by_county``): for each outcome the
config gives county estimates, the share of officers not prepared in every county, the officers that
means, and the county x experience band split (see :mod:`assets.models.training_gap`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from assets.estimates.estimators import svymean
from assets.models import training_gap_design as tgd
from assets.models.county_fit import fit_county_outcome, pooled_gvf
from assets.models.small_area import design_matrix
from assets.models.specs import EXPERIENCE, GROUP, Outcome, outcomes_of
from assets.models.training_gap_design import COUNTY_COLUMNS, _expit, _freq, _t_quantile, _typed, collapsed
from pipelines.config import Assessment

__all__ = ["county_covariates", "county_table"]


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
    county_codes = _column_codes(design, "county") if tgd.COLLAPSE and design.freq is None else None
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
