"""A synthetic stakeholder survey export, calibrated loosely to the 2015 assessment's stakeholder work.

The 2015 assessment interviewed 46 stakeholders from every sector that meets victims; a coalition's
survey reaches more of them. The generator writes about 120 respondents in SurveyMonkey's "all
individual responses" layout (:func:`assets.ingest.synthetic.write_surveymonkey_csv`), from the
stakeholder codebook the config names (``instruments:``), with the structure that report describes:
victim-service, law-enforcement and health respondents more often served a victim in the year; housing
and transportation the barriers rated highest, transportation more so outside the first county group
(the urban south in the demo state); training received by fewer than half. Nothing here is a finding.

Rates are keyed by the codebook's variable names and option codes (or answer positions), never by its
answer wording; a variable the rates do not know is answered evenly (single choice) or ticked at 30%
(multi-select), so another state's questionnaire still gets a plausible export. Its own random stream
(``[seed, wave, 11]``) leaves every other demo file unchanged.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from assets.ingest.synthetic_platform import PlatformMetadata, with_platform_metadata
from pipelines.config import Assessment, Option

#: respondents of the demo's stakeholder survey (2015: 46 stakeholders interviewed)
STAKEHOLDER_RESPONDENTS = 120
STAKEHOLDER_INSTRUMENT = "stakeholder_survey"

#: sector shares by the position of the codebook's answers (law enforcement, prosecution, victim services,
#: health, mental health and substance use, social services, housing, education, faith/community)
SECTOR_WEIGHTS = (0.14, 0.06, 0.2, 0.12, 0.12, 0.12, 0.08, 0.08, 0.08)
#: the sectors (by position) that meet victims most: more served one in the year, more were trained
FRONT_LINE = (0, 2, 3)
#: share rating each barrier "major" (the last answer of its scale), and its extra outside the first group
BARRIER_MAJOR = {"barrier_housing": (0.55, 0.05), "barrier_transportation": (0.35, 0.25),
                 "barrier_insurance": (0.3, 0.1), "barrier_waitlists": (0.4, 0.05),
                 "barrier_legal_record": (0.35, 0.0), "barrier_self_identify": (0.3, 0.0)}
SERVICE_TICKS = {"emergency_response": 0.35, "basic_needs": 0.4, "shelter_housing": 0.2, "medical": 0.18,
                 "legal": 0.2, "mental_health": 0.3, "substance_use": 0.15, "mentorship": 0.18}
TRAINING_TICKS = {"identification": 0.62, "trauma_informed": 0.5, "labor_trafficking": 0.45, "minors": 0.4,
                  "legal_options": 0.35, "referral_protocol": 0.48}
REFERRAL_TICKS = {"law_enforcement": 0.55, "prosecution": 0.2, "victim_services": 0.6, "health": 0.35,
                  "mental_health": 0.4, "housing": 0.3, "legal_aid": 0.25, "hotline": 0.3}
#: hours answers by position (business hours, after hours, around the clock), in and outside the first group
HOURS_WEIGHTS = ((0.5, 0.25, 0.25), (0.7, 0.2, 0.1))

SYNTHETIC_GAPS = [
    "There is no emergency housing or shelter beds for victims in our county.",
    "Nobody to call after hours or on weekends.",
    "Substance use treatment has long waits; detox beds are full.",
    "Transportation to services is the biggest problem in rural areas.",
    "Victims need a lawyer, especially for immigration cases.",
    "Agencies do not communicate; we never know who to call.",
]
SYNTHETIC_HELP = [
    "More training for staff on how to identify victims.",
    "Funding for another advocate; we are short staffed.",
    "Safe housing, and more shelter beds.",
    "A shared protocol and a regional task force.",
    "Public awareness and community education.",
]


def _weights(rng: np.random.Generator, k: int, known: tuple[float, ...] | None) -> np.ndarray:
    w = np.array(known[:k] if known and len(known) >= k else np.ones(k), dtype=float)
    return w / w.sum()


def generate_stakeholder_answers(assessment: Assessment, wave: str, seed: int,
                                 n: int = STAKEHOLDER_RESPONDENTS) -> pd.DataFrame:
    """One row per synthetic stakeholder, in the stakeholder codebook's variable names and answer labels
    (a multi-select as one True/False/None column per option), with platform metadata."""
    if n < 1:
        raise ValueError("the number of respondents must be at least 1")
    view = assessment.for_instrument(STAKEHOLDER_INSTRUMENT)
    rng = np.random.default_rng([seed, int(wave), 11])
    years = int(wave) - 2015
    counties = assessment.county_names
    population = np.array([c.population_2020 for c in assessment.config.counties], dtype=float)
    first_group = assessment.config.county_groups[0].name
    out: dict[str, np.ndarray] = {}
    sector_pos = np.zeros(n, dtype=int)
    urban = np.zeros(n, dtype=bool)
    answered = rng.random(n) > 0.02  # item nonresponse of about 2% on every optional question
    for v in view.codebook.variables:
        if v.type == "single":
            labels = view.options(v)
            if v.options_from == "counties":
                # respondents by county, more in the populous ones (population to the power 0.75: every county has services)
                p = population ** 0.75 / (population ** 0.75).sum()
                county = np.array(counties, dtype=object)[rng.choice(len(counties), n, p=p)]
                out[v.name] = county
                urban = np.array([assessment.county_group_of[c] == first_group for c in county])
                continue
            if v.required:  # the sector (every required single choice besides the county)
                sector_pos = rng.choice(len(labels), n, p=_weights(rng, len(labels), SECTOR_WEIGHTS))
                out[v.name] = np.array(labels, dtype=object)[sector_pos]
                continue
            front = np.isin(sector_pos, FRONT_LINE)
            if v.name == "served_victim":
                p_yes = np.clip(0.3 + 0.3 * front + 0.1 * urban + 0.02 * years, 0, 0.95)
                u = rng.random(n)
                pos = np.where(u < p_yes, 0, np.where(u < p_yes + (1 - p_yes) * 0.6, 1, min(2, len(labels) - 1)))
            elif v.name in BARRIER_MAJOR:
                base, rural = BARRIER_MAJOR[v.name]
                major = rng.random(n) < base + rural * ~urban
                pos = np.where(major, len(labels) - 1, rng.choice(len(labels) - 1, n, p=[0.15, 0.35, 0.5][:len(labels) - 1]
                                                                   if len(labels) == 4 else None))
            elif v.name == "training_received":
                pos = np.where(rng.random(n) < 0.3 + 0.3 * front + 0.04 * years, 0, 1)
            elif v.name == "service_hours" and len(labels) == 3:
                pos = np.where(urban, rng.choice(3, n, p=HOURS_WEIGHTS[0]), rng.choice(3, n, p=HOURS_WEIGHTS[1]))
            else:
                pos = rng.integers(0, len(labels), n)
            out[v.name] = np.where(answered, np.array(labels, dtype=object)[pos], None)
        elif v.type == "multi":
            options = [o for o in v.options or [] if isinstance(o, Option)]
            rates = {"services_provided": SERVICE_TICKS, "training_wanted": TRAINING_TICKS,
                     "referral_partners": REFERRAL_TICKS}.get(v.name, {})
            ticks = {o.code: rng.random(n) < rates.get(o.code, 0.3) for o in options[:-1]}
            if options and options[-1].code not in rates:  # the last option: "none of these", alone
                ticks[options[-1].code] = ~np.logical_or.reduce(list(ticks.values())) if ticks else np.ones(n, bool)
            else:
                ticks[options[-1].code] = rng.random(n) < rates.get(options[-1].code, 0.3)
            for o in options:
                out[f"{v.name}__{o.code}"] = np.where(answered, ticks[o.code], None).astype(object)
            if v.other_specify:
                out[f"{v.name}__other_text"] = np.where(answered & (rng.random(n) < 0.04),
                                                        "Working with interpreters", None).astype(object)
        else:
            texts = SYNTHETIC_GAPS if v.name == "biggest_gap" else SYNTHETIC_HELP
            wrote = answered & (rng.random(n) < 0.55)
            out[v.name] = np.where(wrote, rng.choice(texts, n), None).astype(object)
    return with_platform_metadata(pd.DataFrame(out), rng, PlatformMetadata(
        id_base=20_000_000_000, id_step_offset=5, fielding_start=datetime(int(wave), 10, 5, 8, 0, 0),
        fielding_days=30, median_seconds=480, spread=0.35, shortest_seconds=120,
        collectors=("341907712", "341907713"), first_collector_share=0.6, ip_prefix="203.0.113."))
