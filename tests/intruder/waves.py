"""Synthetic waves for the intruder suite: the internal tables of a wave (as the pipeline's plain
functions compute them) and what the gate publishes of them, in process.

:func:`random_wave` varies what matters to an intruder: how many officers answer, which counties
answer much more than others (so the county weights differ a lot), and counties of 1 to 5
respondents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from assets.publication.gate import WaveTables, publish_wave
from assets.publication.policy import DisclosurePolicy


@dataclass
class Wave:
    truth: WaveTables
    published: dict[str, pd.DataFrame]
    weights: dict[str, float]        # each county's respondents' weight (the oracle's)
    case_truth: dict[tuple, float]


def with_derived(assessment, frame: pd.DataFrame) -> pd.DataFrame:
    """The derived columns as ingestion adds them (county group, experience band, handled a case)."""
    frame = frame.reset_index(drop=True)
    for d in assessment.codebook.derived:
        mapping = assessment.derived_map(d)
        frame[d.name] = [mapping.get(v) if isinstance(v, str) else None for v in frame[d.from_]]
    return frame


def demo_answers(assessment, wave: str = "2015") -> pd.DataFrame:
    """The demo wave's officers as the generator makes them (the demo's seed and size)."""
    from assets.ingest.synthetic import generate_officer_answers

    return with_derived(assessment, generate_officer_answers(assessment, wave, 2015, 182))


def answers(assessment, seed: int, respondents: int, wave: str = "2015") -> pd.DataFrame:
    """A synthetic wave with uneven response by county and some tiny counties."""
    from assets.ingest.synthetic import generate_officer_answers

    rng = np.random.default_rng(seed)
    full = generate_officer_answers(assessment, wave, seed, respondents * 3)
    keep_rate = {c: rng.choice([0.02, 0.05, 0.1, 0.3, 0.6, 1.0]) for c in assessment.county_names}
    keep = np.array([rng.random() < keep_rate[c] for c in full["county"]])
    kept = full[keep]
    if len(kept) > respondents:
        kept = kept.sample(respondents, random_state=seed)
    return with_derived(assessment, kept)


def case_lists(assessment, seed: int, wave: str = "2015") -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """A small overlap table by age group (prevalence tables as the stage stores them), counts as
    they are, and the true counts by (stratum, kind, name)."""
    rng = np.random.default_rng(seed + 7)
    lists = [x.name for x in assessment.config.prevalence.lists][:4]
    strata = ["adult", "minor"]
    rows, est_rows, truth = [], [], {}
    histories = [h for h in range(1, 2 ** len(lists))]
    per = {}
    for s in strata:
        counts = rng.poisson(rng.choice([1.5, 4, 12], size=len(histories)))
        per[s] = dict(zip(histories, counts))
    per["all"] = {h: per["adult"][h] + per["minor"][h] for h in histories}
    for s in ["all", *strata]:
        cases = {name: 0 for name in lists}
        for h in histories:
            on = [lists[i] for i in range(len(lists)) if h >> i & 1]
            name = "+".join(on)
            rows.append({"wave": wave, "stratum": s, "source": "synthetic", "lists": ",".join(lists), "history": name,
                         "n_lists": len(on), **{x: int(x in on) for x in lists}, "count": int(per[s][h]),
                         "publishable": True})
            truth[(s, "overlap", name)] = float(per[s][h])
            for x in on:
                cases[x] += int(per[s][h])
        observed = sum(per[s].values())
        truth[(s, "observed", "")] = float(observed)
        truth.update({(s, "list", x): float(v) for x, v in cases.items()})
        est_rows.append({"wave": wave, "stratum": s, "lists": ",".join(lists), "n_lists": len(lists),
                         "observed": observed, "estimate": observed * 1.8, "ci_low": observed * 1.3,
                         "ci_high": observed * 2.6, "level": 0.95, "interval": "lognormal", "model": "(main effects)",
                         "method": "synthetic", "exists": True, "identifiable": True, "message": "",
                         "boot_low": np.nan, "boot_high": np.nan, "cases_per_list": json.dumps(cases),
                         "caveats": "[]"})
    return pd.DataFrame(est_rows), pd.DataFrame(rows), truth


def build(assessment, frame: pd.DataFrame, policy: DisclosurePolicy, seed: int = 1, wave: str = "2015",
          with_cases: bool = True, with_models: bool = True) -> Wave:
    """The wave's internal tables from ``frame`` (accepted officer responses) and the gate's output."""
    from assets.estimates.headline import headline_indicators
    from assets.estimates.interview_themes import theme_counts
    from assets.estimates.weighting import weight_officers
    from assets.ingest.synthetic import generate_interviews
    from assets.models.training_gap import fit_training_gap

    weighting = weight_officers(frame, assessment, wave)
    headline = headline_indicators(frame, assessment, wave, weights=weighting.table)
    county = model = cards = None
    if with_models:
        try:
            gap = fit_training_gap(frame, assessment, wave, weighting.table)
            county, model, cards = gap.county, gap.regression, gap.cards
        except ValueError:  # a wave too small for the models: they have nothing to publish
            pass
    themes = pd.concat([theme_counts(generate_interviews(assessment, d, wave, seed), getattr(assessment.frames, d), d,
                                     wave) for d in ("stakeholder_interviews", "survivor_interviews")],
                       ignore_index=True)
    est, overlap, case_truth = case_lists(assessment, seed, wave) if with_cases else (None, None, {})
    tables = WaveTables(wave=wave, headline=headline, weights=weighting.table, themes=themes, quality=None,
                        county=county, model=model, cards=cards, prevalence=est, overlap=overlap,
                        sensitivity=None, coverage=None, after_hours=None, sources=None)
    published = publish_wave(tables, assessment, policy)
    weights = {}
    cells = weighting.table.assign(county=frame["county"].to_numpy())
    for county, part in cells.groupby("county"):
        values = part["weight"].to_numpy(dtype=float)
        if np.allclose(values, values[0]):
            weights[str(county)] = float(values[0])
    return Wave(tables, published, weights, case_truth)
