"""Simulation study of the county estimators (``htna simulate-sae``).

Many synthetic states, each with 16 counties (Maine's number) whose true share ``p_i`` is known:
``logit p_i = -0.4 + 0.5 x_i + u_i`` with a county covariate ``x_i ~ N(0, 1)`` and a county effect
``u_i ~ N(0, sigma_u^2)``, ``sigma_u`` drawn per state from U(0.1, 0.5) (from counties barely
different to very different). Each county's respondent count is drawn from one of the bands
0, 1–5, 6–20, 21–50, 51–100 (equally likely, then uniformly within the band), independently of
``x``; answers are Bernoulli(``p_i``); a county's officer headcount is ``(n_i + 3)`` times U(4, 12)
(response rates of roughly 8–25%: counties with few respondents are small counties). The state's
direct share is post-stratified to the headcounts with counties under 6 respondents pooled into one
weighting cell, as the pipeline weights. The truth is
generated on the logit scale, so the arcsine models are (slightly) misspecified, as in life.

Estimators compared, each with its 95% interval:

``direct``
    the county's sample share with a Wald interval (none for counties without respondents);
``fh_old``
    the previous default: arcsine Fay–Herriot, REML, ``D = 1 / (4 n)`` for every county with a
    respondent, naive back-transform, no benchmarking;
``default``
    :func:`assets.models.county_estimator.estimate_counties` (GVF, counties under 6 respondents
    synthetic, adjusted likelihood, bias-corrected back-transform, benchmarked to the state share);
``unit_level``
    :func:`assets.models.unit_level.unit_level_counties` (logistic mixed model, EBP, parametric
    bootstrap MSE), on the first ``unit_level_states`` states only (it refits the model ``B`` times
    per state, so it is by far the slowest).

For each estimator and respondent band: bias, RMSE, coverage of the 95% interval and mean width,
over all simulated counties in the band.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["BANDS", "ESTIMATORS", "run_study", "simulate_state", "study_svg", "summarise", "write_study"]

BANDS: tuple[tuple[str, int, int], ...] = (("0", 0, 0), ("1-5", 1, 5), ("6-20", 6, 20), ("21-50", 21, 50),
                                           ("51-100", 51, 100))
ESTIMATORS = ("direct", "fh_old", "default", "unit_level")
N_COUNTIES = 16
LEVEL = 0.95
TARGETS = {"coverage_low": 0.93, "coverage_high": 0.97}


def simulate_state(rng: np.random.Generator, n_counties: int = N_COUNTIES) -> pd.DataFrame:
    """One synthetic state (see the module docstring)."""
    band = rng.integers(0, len(BANDS), n_counties)
    n = np.array([rng.integers(BANDS[b][1], BANDS[b][2] + 1) for b in band])
    x = rng.standard_normal(n_counties)
    sigma_u = rng.uniform(0.1, 0.5)
    p = 1.0 / (1.0 + np.exp(-(-0.4 + 0.5 * x + rng.normal(0.0, sigma_u, n_counties))))
    y = rng.binomial(n, p)
    # bigger counties have more officers and more respondents (response rates of roughly 8-25%)
    headcount = np.round((n + 3) * rng.uniform(4.0, 12.0, n_counties))
    return pd.DataFrame({"county": [f"C{i + 1:02d}" for i in range(n_counties)], "x": x, "true_p": p, "n": n,
                         "successes": y, "headcount": headcount, "band": [BANDS[b][0] for b in band]})


def _state_direct(n: np.ndarray, y: np.ndarray, H: np.ndarray, min_cell: int = 6) -> float:
    """The state's direct share as the pipeline weights it: post-stratified to county headcounts, counties
    with fewer than ``min_cell`` respondents (and those without any) pooled into one weighting cell."""
    own = n >= min_cell
    total = float(H[own] @ (y[own] / n[own])) if own.any() else 0.0
    if (~own).any():
        if n[~own].sum() > 0:
            total += H[~own].sum() * y[~own].sum() / n[~own].sum()
        else:  # no respondents at all outside the own cells: they take the sampled counties' share
            return total / H[own].sum() if own.any() else math.nan
    return total / H.sum()


def _estimate_state(state: pd.DataFrame, unit_level_B: int = 0) -> list[dict]:
    from scipy import stats

    from assets.models import county_estimator as ce
    from assets.models.small_area import design_matrix
    from assets.models.small_area_proportions import fit_proportions

    z = float(stats.norm.ppf(0.5 + LEVEL / 2))
    n = state["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_hat = np.where(n > 0, state["successes"].to_numpy() / n, np.nan)
        se = np.sqrt(p_hat * (1 - p_hat) / n)
    X = design_matrix(state, numeric=["x"])
    H = state["headcount"].to_numpy()
    sampled = n > 0
    state_share = _state_direct(n, state["successes"].to_numpy(dtype=float), H)
    out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {
        "direct": (p_hat, p_hat - z * se, p_hat + z * se)}
    nan = np.full(len(n), np.nan)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = fit_proportions(p_hat, n, X, transform="arcsine", method="REML", level=LEVEL, warn=False).table
        out["fh_old"] = (t["eblup"].to_numpy(), t["ci_low"].to_numpy(), t["ci_high"].to_numpy())
    except (ValueError, np.linalg.LinAlgError):
        out["fh_old"] = (nan, nan, nan)
    try:
        gvf = ce.fit_gvf(p_hat, se, n)
        r = ce.estimate_counties(p_hat, n, X, gvf=gvf, headcount=H, state_share=state_share, level=LEVEL).table
        out["default"] = (r["estimate"].to_numpy(), r["ci_low"].to_numpy(), r["ci_high"].to_numpy())
    except (ValueError, np.linalg.LinAlgError):
        out["default"] = (nan, nan, nan)
    if unit_level_B > 0:
        from assets.models.unit_level import unit_level_counties

        try:
            u = unit_level_counties(state["successes"].to_numpy(), n, X, B=unit_level_B, level=LEVEL,
                                    seed=int(state.attrs.get("seed", 0)), nodes=20)
            out["unit_level"] = (u["estimate"].to_numpy(), u["ci_low"].to_numpy(), u["ci_high"].to_numpy())
        except (ValueError, np.linalg.LinAlgError):
            out["unit_level"] = (nan, nan, nan)
    rows = []
    truth = state["true_p"].to_numpy()
    for name, (est, lo, hi) in out.items():
        for i in range(len(n)):
            rows.append({"estimator": name, "band": state["band"].iloc[i], "true_p": truth[i], "estimate": est[i],
                         "ci_low": lo[i], "ci_high": hi[i]})
    return rows


def _run_chunk(args: tuple[int, int, int, int, int]) -> list[dict]:
    seed, start, stop, unit_states, unit_B = args
    rows: list[dict] = []
    for s in range(start, stop):
        rng = np.random.default_rng([seed, s])
        state = simulate_state(rng)
        state.attrs["seed"] = s
        rows.extend(_estimate_state(state, unit_B if s < unit_states else 0))
    return rows


def run_study(states: int, seed: int = 2015, processes: int = 1, unit_level_states: int = 0,
              unit_level_B: int = 20) -> pd.DataFrame:
    """Every simulated county's estimates (long table: estimator, band, true_p, estimate, ci_low, ci_high)."""
    if states < 1:
        raise ValueError("states must be at least 1")
    processes = max(1, min(int(processes), 2, states))
    bounds = np.linspace(0, states, processes * 4 + 1 if states >= processes * 4 else processes + 1).astype(int)
    chunks = [(seed, int(a), int(b), unit_level_states, unit_level_B) for a, b in zip(bounds[:-1], bounds[1:])
              if b > a]
    if processes == 1:
        parts = [_run_chunk(c) for c in chunks]
    else:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=processes) as pool:
            parts = list(pool.map(_run_chunk, chunks))
    return pd.DataFrame([r for part in parts for r in part])


def summarise(draws: pd.DataFrame) -> pd.DataFrame:
    """Bias, RMSE, coverage and mean interval width by estimator and respondent band."""
    rows = []
    for est in ESTIMATORS:
        for band, *_ in BANDS:
            d = draws[(draws["estimator"] == est) & (draws["band"] == band)]
            ok = d[np.isfinite(d["estimate"])]
            err = ok["estimate"] - ok["true_p"]
            cover = (ok["ci_low"] <= ok["true_p"]) & (ok["true_p"] <= ok["ci_high"])
            rows.append({"estimator": est, "band": band, "counties": int(len(d)), "estimated": int(len(ok)),
                         "bias": float(err.mean()) if len(ok) else None,
                         "rmse": float(np.sqrt((err**2).mean())) if len(ok) else None,
                         "coverage": float(cover.mean()) if len(ok) else None,
                         "mean_width": float((ok["ci_high"] - ok["ci_low"]).mean()) if len(ok) else None})
    return pd.DataFrame(rows)


def targets_met(summary: pd.DataFrame) -> dict[str, bool]:
    """Per band: the default's coverage within 93–97% and its RMSE no worse than the direct estimate's
    (a band without direct estimates, the empty counties, needs only the coverage)."""
    out = {}
    for band, *_ in BANDS:
        d = summary[(summary["estimator"] == "default") & (summary["band"] == band)].iloc[0]
        r = summary[(summary["estimator"] == "direct") & (summary["band"] == band)].iloc[0]
        cov_ok = d["coverage"] is not None and np.isfinite(d["coverage"]) and TARGETS["coverage_low"] <= d["coverage"] <= TARGETS["coverage_high"]
        rmse_ok = r["rmse"] is None or not np.isfinite(r["rmse"]) or (d["rmse"] is not None and d["rmse"] <= r["rmse"])
        out[band] = bool(cov_ok and rmse_ok)
    return out


def study_svg(summary: pd.DataFrame) -> str:
    """Two panels (coverage, RMSE by band), one marker per estimator, as a standalone SVG."""
    colours = {"direct": "#888888", "fh_old": "#d95f02", "default": "#1b9e77", "unit_level": "#7570b3"}
    w, h, left, top, pw, ph, gap = 760, 320, 60, 40, 300, 220, 80
    bands = [b for b, *_ in BANDS]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" '
             f'font-size="11"><rect width="{w}" height="{h}" fill="white"/>']
    panels = (("95% interval coverage", "coverage", 0.5, 1.0), ("RMSE (share)", "rmse", 0.0,
              max(0.05, float(np.nanmax(summary["rmse"].astype(float))) * 1.1)))
    for k, (title, col, lo, hi) in enumerate(panels):
        x0 = left + k * (pw + gap)
        parts.append(f'<text x="{x0 + pw / 2}" y="{top - 15}" text-anchor="middle" font-size="13">{title}</text>')
        parts.append(f'<rect x="{x0}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
        for j in range(5):
            v = lo + (hi - lo) * j / 4
            yy = top + ph - ph * j / 4
            parts.append(f'<text x="{x0 - 5}" y="{yy + 4}" text-anchor="end">{v:.2f}</text>'
                         f'<line x1="{x0}" x2="{x0 + pw}" y1="{yy}" y2="{yy}" stroke="#eee"/>')
        if col == "coverage":
            for target in (TARGETS["coverage_low"], TARGETS["coverage_high"]):
                yy = top + ph - ph * (target - lo) / (hi - lo)
                parts.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{yy}" y2="{yy}" stroke="#1b9e77" '
                             'stroke-dasharray="4 3"/>')
        for i, b in enumerate(bands):
            xx = x0 + pw * (i + 0.5) / len(bands)
            parts.append(f'<text x="{xx}" y="{top + ph + 15}" text-anchor="middle">{b}</text>')
            for e_i, est in enumerate(ESTIMATORS):
                row = summary[(summary["estimator"] == est) & (summary["band"] == b)]
                v = row[col].iloc[0] if len(row) else None
                if v is None or not np.isfinite(v):
                    continue
                yy = top + ph - ph * (min(max(float(v), lo), hi) - lo) / (hi - lo)
                parts.append(f'<circle cx="{xx + (e_i - 1.5) * 9}" cy="{yy:.1f}" r="4" fill="{colours[est]}"/>')
        parts.append(f'<text x="{x0 + pw / 2}" y="{top + ph + 32}" text-anchor="middle">respondents in the county'
                     '</text>')
    for e_i, est in enumerate(ESTIMATORS):
        parts.append(f'<circle cx="{left + e_i * 150}" cy="{h - 12}" r="4" fill="{colours[est]}"/>'
                     f'<text x="{left + e_i * 150 + 8}" y="{h - 8}">{est}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def write_study(out_dir: Path, states: int, seed: int = 2015, processes: int = 1,
                meta: dict | None = None, unit_level_states: int = 0, unit_level_B: int = 20) -> dict:
    """Run the study and write ``sae-simulation.json``, ``sae-simulation.csv`` and ``sae-simulation.svg``."""
    draws = run_study(states, seed, processes, unit_level_states, unit_level_B)
    summary = summarise(draws)
    met = targets_met(summary)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = {"states": states, "unit_level_states": min(unit_level_states, states),
           "unit_level_bootstrap_replicates": unit_level_B, "counties_per_state": N_COUNTIES, "seed": seed, "level": LEVEL,
           "bands": [b for b, *_ in BANDS], "estimators": list(ESTIMATORS), "targets": TARGETS,
           "targets_met_by_band": met, "all_targets_met": all(met.values()), **(meta or {}),
           "summary": summary.to_dict("records")}
    (out_dir / "sae-simulation.json").write_text(json.dumps(doc, indent=2) + "\n")
    summary.to_csv(out_dir / "sae-simulation.csv", index=False)
    (out_dir / "sae-simulation.svg").write_text(study_svg(summary) + "\n")
    return doc


def format_summary(summary: Sequence[dict]) -> str:
    lines = [f"{'estimator':<9} {'band':>7} {'n':>6} {'bias':>8} {'rmse':>7} {'cover':>6} {'width':>6}"]
    for r in summary:
        f = lambda v, p: "   n/a" if v is None else f"{v:{p}}"  # noqa: E731
        lines.append(f"{r['estimator']:<9} {r['band']:>7} {r['estimated']:>6} {f(r['bias'], '8.4f')} "
                     f"{f(r['rmse'], '7.4f')} {f(r['coverage'], '6.3f')} {f(r['mean_width'], '6.3f')}")
    return "\n".join(lines)
