"""Synthetic demonstration exports, calibrated to the figures the 2015 assessment published.

Nothing here is a finding. The generator writes what an evaluator would receive from the survey
platform and the interview coders — an officer export in SurveyMonkey's "all individual
responses" CSV layout and coded interview matrices — so the whole pipeline can be shown and
tested without real respondents. Every folder it writes carries a ``SYNTHETIC.json`` manifest,
and every page built from it shows a "synthetic demonstration data" banner.

Calibration: for each published figure the generator fixes the exact number of respondents with
the trait among those who answered the question (largest-remainder rounding of target × answered),
then gives the trait to the respondents with the highest latent score. Scores carry the
relationships the 2015 report describes (Cumberland/York officers and more experienced officers
are better trained and more aware of resources), so models have real structure to find, while
the margins the pipeline computes round to the published percentages for any seed at n = 182.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from assets.ingest.synthetic_platform import PlatformMetadata, with_platform_metadata
from pipelines.config import Assessment, Option

SURVEYMONKEY_ID_COLUMNS = [
    "Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address",
    "Email Address", "First Name", "Last Name", "Custom Data 1",
]
SURVEYMONKEY_DATE_FORMAT = "%m/%d/%Y %I:%M:%S %p"
OFFICER_EXPORT = "officer_survey.csv"
STAKEHOLDER_EXPORT = "stakeholder_interviews.csv"
STAKEHOLDER_SURVEY_EXPORT = "stakeholder_survey.csv"
SURVIVOR_EXPORT = "survivor_interviews.csv"
INVENTORY_EXPORT = "provider_inventory.csv"
MANIFEST = "SYNTHETIC.json"

AGREE = ("Agree", "Strongly agree")


@dataclass(frozen=True)
class Targets:
    """Shares the generator calibrates to (2015 = the published figures)."""

    male: float = 0.89
    over_10_years: float = 0.76
    issue_cumberland_york: float = 0.76
    issue_elsewhere: float = 0.37
    handled_case: float = 0.40
    high_caseload_share_of_handled: float = 0.35
    trained_sex: float = 0.51
    trained_labor: float = 0.39
    prepared_minors: float = 0.44
    more_laws_high_caseload: float = 0.76
    more_laws_others: float = 0.58
    determined_minor: float = 0.86
    called_advocate: float = 0.81
    not_familiar: float = 0.71
    not_familiar_less_experienced: float = 0.78
    extra: dict[str, float] = field(default_factory=dict)

    def drifted(self, years: int) -> "Targets":
        """Modest, plausible change per year after 2015 (training spreads, awareness grows)."""
        if years <= 0:
            return self
        step = lambda v, d, hi=0.95: float(min(hi, max(0.05, v + d * years)))  # noqa: E731
        return Targets(
            male=step(self.male, -0.005),
            over_10_years=step(self.over_10_years, -0.005),
            issue_cumberland_york=step(self.issue_cumberland_york, 0.01),
            issue_elsewhere=step(self.issue_elsewhere, 0.03),
            handled_case=step(self.handled_case, 0.01),
            high_caseload_share_of_handled=self.high_caseload_share_of_handled,
            trained_sex=step(self.trained_sex, 0.04),
            trained_labor=step(self.trained_labor, 0.04),
            prepared_minors=step(self.prepared_minors, 0.03),
            more_laws_high_caseload=step(self.more_laws_high_caseload, -0.01),
            more_laws_others=step(self.more_laws_others, -0.01),
            determined_minor=step(self.determined_minor, 0.01),
            called_advocate=step(self.called_advocate, 0.01),
            not_familiar=step(self.not_familiar, -0.05),
            not_familiar_less_experienced=step(self.not_familiar_less_experienced, -0.05),
        )


def _percent(x: float) -> int:
    """A share as the whole percentage a report prints (half rounds up)."""
    return int(np.floor(100 * x + 0.5 + 1e-9))


def _exact_count(share: float, n: int) -> int:
    """The count out of n nearest to share × n whose percentage prints as share's does."""
    k0 = int(np.floor(share * n + 0.5))
    if n == 0:
        return 0
    fits = [k for k in range(max(0, k0 - 2), min(n, k0 + 2) + 1) if _percent(k / n) == _percent(share)]
    return min(fits, key=lambda k: abs(k / n - share)) if fits else k0


def _allocate(weights: np.ndarray, n: int) -> np.ndarray:
    """Split n into integer counts proportional to weights (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    raw = w / w.sum() * n
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def _fit_mask(rng: np.random.Generator, mask: np.ndarray, *shares: float) -> np.ndarray:
    """Drop a few answerers (item nonresponse) until every share can print exactly at this n."""
    mask = mask.copy()
    while mask.sum() > 1 and not all(
            _percent(_exact_count(s, int(mask.sum())) / mask.sum()) == _percent(s) for s in shares):
        mask[rng.choice(np.flatnonzero(mask))] = False
    return mask


def _top_k(mask: np.ndarray, score: np.ndarray, share: float, k: int | None = None) -> np.ndarray:
    """Among rows in mask, mark the round(share × count) rows (or k rows) with the highest score."""
    idx = np.flatnonzero(mask)
    k = _exact_count(share, idx.size) if k is None else k
    chosen = np.zeros(mask.size, dtype=bool)
    if k:
        chosen[idx[np.argsort(-score[idx], kind="stable")[:k]]] = True
    return chosen


def _spread(rng: np.random.Generator, mask: np.ndarray, labels: list[str], weights: list[float],
            out: np.ndarray) -> None:
    idx = rng.permutation(np.flatnonzero(mask))
    counts = _allocate(np.array(weights), idx.size)
    start = 0
    for label, c in zip(labels, counts):
        out[idx[start:start + c]] = label
        start += c


SYNTHETIC_COMMENTS = [
    "We need more training on how to spot trafficking during routine traffic stops.",
    "Hard to get an advocate out here after hours.",
    "Most cases we see start as drug investigations.",
    "A statewide contact list would help a lot.",
    "Not sure this is a problem in our town, but I would like to know what to look for.",
    "The victims rarely see themselves as victims.",
    "We have no shelter beds in the county.",
]


def generate_officer_answers(assessment: Assessment, wave: str, seed: int, n: int) -> pd.DataFrame:
    """One row per synthetic officer, in canonical variable names with answer labels."""
    if n < 1:
        raise ValueError("the number of respondents must be at least 1")
    targets = Targets().drifted(int(wave) - 2015)
    rng = np.random.default_rng([seed, int(wave)])
    cb = {v.name: v for v in assessment.codebook.variables}
    counties = assessment.county_names
    headcount = np.array([assessment.config.officer_headcounts.by_county[c] for c in counties], float)

    county = np.repeat(np.array(counties, dtype=object), _allocate(headcount, n))
    county = county[rng.permutation(n)]
    group_of = assessment.county_group_of
    first_group = assessment.config.county_groups[0].name
    urban = np.array([group_of[c] == first_group for c in county])

    # Who answered what: a few break off part-way (SurveyMonkey keeps partial responses),
    # and every item has a little nonresponse. County is required and always answered.
    order = ["agency_type", "gender", "years_of_service", "trafficking_issue", "cases_past_year",
             "trained_sex", "trained_labor", "prepared_minors", "more_laws_needed",
             "actions_taken", "familiar_organisations", "help_wanted", "comments"]
    stop_at = np.full(n, len(order))
    breakoff = rng.random(n) < 0.03
    stop_at[breakoff] = rng.integers(5, len(order) - 1, breakoff.sum())
    answered = {q: (i < stop_at) & (rng.random(n) > 0.012) for i, q in enumerate(order)}

    out: dict[str, np.ndarray] = {"county": county}
    na = lambda: np.full(n, None, dtype=object)  # noqa: E731

    agency = na()
    _spread(rng, answered["agency_type"], [str(o) for o in cb["agency_type"].options or []],
            [0.58, 0.2, 0.16, 0.06], agency)
    out["agency_type"] = agency

    gender = na()
    answered["gender"] = _fit_mask(rng, answered["gender"], targets.male)
    male = _top_k(answered["gender"], rng.random(n), targets.male)
    gender[male] = "Male"
    _spread(rng, answered["gender"] & ~male, ["Female", "Prefer not to say"], [0.9, 0.1], gender)
    out["gender"] = gender

    years = na()
    answered["years_of_service"] = _fit_mask(rng, answered["years_of_service"], targets.over_10_years)
    senior = _top_k(answered["years_of_service"], rng.random(n), targets.over_10_years)
    _spread(rng, senior, ["11 to 20 years", "More than 20 years"], [0.55, 0.45], years)
    _spread(rng, answered["years_of_service"] & ~senior,
            ["Less than 1 year", "1 to 5 years", "6 to 10 years"], [0.1, 0.45, 0.45], years)
    out["years_of_service"] = years

    issue = na()
    a = _fit_mask(rng, answered["trafficking_issue"] & urban, targets.issue_cumberland_york) | \
        _fit_mask(rng, answered["trafficking_issue"] & ~urban, targets.issue_elsewhere)
    answered["trafficking_issue"] = a
    yes = _top_k(a & urban, rng.random(n), targets.issue_cumberland_york) | \
        _top_k(a & ~urban, rng.random(n), targets.issue_elsewhere)
    issue[yes] = "Yes"
    _spread(rng, a & ~yes, ["No", "Not sure"], [0.6, 0.4], issue)
    out["trafficking_issue"] = issue

    cases = na()
    a = answered["cases_past_year"] = _fit_mask(rng, answered["cases_past_year"], targets.handled_case)
    handled = _top_k(a, 1.0 * urban + 0.8 * yes + rng.gumbel(size=n), targets.handled_case)
    heavy = _top_k(handled, 0.8 * urban + rng.gumbel(size=n), targets.high_caseload_share_of_handled)
    cases[a] = "None"
    cases[handled] = "1 to 5"
    cases[heavy] = "More than 5"
    out["cases_past_year"] = cases

    # Preparedness: one latent trait per officer, higher in Cumberland/York, with experience and
    # with case experience; each item adds its own noise.
    prepared = 0.9 * urban + 0.7 * senior + 0.5 * handled + rng.normal(0, 1.0, n)
    scale = assessment.codebook.scales["agreement5"]
    for item, share in [("trained_sex", targets.trained_sex), ("trained_labor", targets.trained_labor),
                        ("prepared_minors", targets.prepared_minors)]:
        vals = na()
        a = answered[item] = _fit_mask(rng, answered[item], share)
        agree = _top_k(a, prepared + rng.normal(0, 0.7, n), share)
        _spread(rng, agree, [scale[3], scale[4]], [0.72, 0.28], vals)
        _spread(rng, a & ~agree, scale[:3], [0.18, 0.5, 0.32], vals)
        out[item] = vals

    laws = na()
    a = _fit_mask(rng, answered["more_laws_needed"] & heavy, targets.more_laws_high_caseload) | \
        (answered["more_laws_needed"] & ~heavy)
    answered["more_laws_needed"] = a
    agree = _top_k(a & heavy, rng.random(n), targets.more_laws_high_caseload) | \
        _top_k(a & ~heavy, rng.random(n), targets.more_laws_others)
    _spread(rng, agree, [scale[3], scale[4]], [0.6, 0.4], laws)
    _spread(rng, a & ~agree, scale[:3], [0.15, 0.35, 0.5], laws)
    out["more_laws_needed"] = laws

    # Actions taken: asked only of officers who handled a case (the survey's skip logic).
    a = _fit_mask(rng, answered["actions_taken"] & handled, targets.determined_minor, targets.called_advocate)
    action_share = {"determined_minor": targets.determined_minor, "called_advocate": targets.called_advocate,
                    "contacted_prosecutor": 0.55, "referred_services": 0.66, "contacted_federal": 0.22,
                    "arrested_suspect": 0.14}
    ticks = {code: _top_k(a, rng.random(n), share) for code, share in action_share.items()}
    ticks["none"] = a & ~np.logical_or.reduce(list(ticks.values()))
    for code, t in ticks.items():
        col = np.where(a, t, None).astype(object)
        out[f"actions_taken__{code}"] = col
    other_action = a & (rng.random(n) < 0.05)
    out["actions_taken__other_text"] = np.where(other_action, "Contacted the school resource officer", None)

    fam = na()
    # Less experienced officers are less familiar with resources (78% not familiar in 2015),
    # within an overall 71%: fix both counts, then place them by a score.
    junior = answered["years_of_service"] & ~senior
    a_junior = _fit_mask(rng, answered["familiar_organisations"] & junior, targets.not_familiar_less_experienced)
    a_rest = answered["familiar_organisations"] & ~junior
    while a_rest.sum() > 1 and _percent(_exact_count(targets.not_familiar, int(a_junior.sum() + a_rest.sum()))
                                        / (a_junior.sum() + a_rest.sum())) != _percent(targets.not_familiar):
        a_rest[rng.choice(np.flatnonzero(a_rest))] = False
    a = a_junior | a_rest
    k_all = _exact_count(targets.not_familiar, int(a.sum()))
    k_junior = _exact_count(targets.not_familiar_less_experienced, int(a_junior.sum()))
    score = -(0.5 * urban + 0.6 * handled + rng.gumbel(size=n))
    unfamiliar = _top_k(a_junior, score, 0.0, k_junior) | _top_k(a_rest, score, 0.0, k_all - k_junior)
    fam[a] = "Yes"
    fam[unfamiliar] = "No"
    out["familiar_organisations"] = fam

    a = answered["help_wanted"]
    help_share = {"clear_definitions": 0.46, "identification_training": 0.62, "response_protocol": 0.41,
                  "provider_contacts": 0.52, "legal_guidance": 0.33}
    any_tick = np.zeros(n, dtype=bool)
    wants_basics = {"clear_definitions", "identification_training"}
    for code, share in help_share.items():
        p = np.where(junior & (code in wants_basics), min(0.95, share + 0.25), share)
        t = a & (rng.random(n) < p)
        any_tick |= t
        out[f"help_wanted__{code}"] = np.where(a, t, None).astype(object)
    out["help_wanted__other_text"] = np.where(a & (rng.random(n) < 0.03), "Spanish-language materials", None)
    # a respondent who ticked nothing skipped the question
    for code in help_share:
        out[f"help_wanted__{code}"] = np.where(any_tick | ~a, out[f"help_wanted__{code}"], None).astype(object)

    comment = answered["comments"] & (rng.random(n) < 0.2)
    out["comments"] = np.where(comment, rng.choice(SYNTHETIC_COMMENTS, n), None).astype(object)

    return with_platform_metadata(
        pd.DataFrame(out), rng, PlatformMetadata(
            id_base=10_000_000_000, id_step_offset=3, fielding_start=datetime(int(wave), 9, 14, 8, 0, 0),
            fielding_days=40, median_seconds=420, spread=0.4, shortest_seconds=90,
            collectors=("231905771", "231905772"), first_collector_share=0.7, ip_prefix="198.51.100."),
        duration_scale=np.where(stop_at < len(order), 0.6, 1))




def write_surveymonkey_csv(assessment: Assessment, answers: pd.DataFrame, path: Path) -> None:
    """Write answers in SurveyMonkey's "all individual responses" CSV layout (two header rows)."""
    header1: list[str] = list(SURVEYMONKEY_ID_COLUMNS)
    header2: list[str] = [""] * len(SURVEYMONKEY_ID_COLUMNS)
    blank = np.full(len(answers), "", dtype=object)
    columns: list[np.ndarray] = [
        answers["respondent_id"].to_numpy(object), answers["collector_id"].to_numpy(object),
        pd.to_datetime(answers["start_date"]).dt.strftime(SURVEYMONKEY_DATE_FORMAT).to_numpy(object),
        pd.to_datetime(answers["end_date"]).dt.strftime(SURVEYMONKEY_DATE_FORMAT).to_numpy(object),
        answers["ip_address"].to_numpy(object), blank, blank, blank, blank,
    ]

    def text(col: str) -> np.ndarray:
        values = answers[col].to_numpy(object)
        return np.where(pd.isna(values), "", values)

    for v in assessment.codebook.variables:
        if v.type in ("single", "text"):
            header1.append(v.question)
            header2.append("Response" if v.type == "single" else "Open-Ended Response")
            columns.append(text(v.name))
            continue
        for i, opt in enumerate(v.options or []):
            assert isinstance(opt, Option)
            header1.append(v.question if i == 0 else "")
            header2.append(opt.label)
            ticked = answers[f"{v.name}__{opt.code}"].to_numpy(object) == True  # noqa: E712
            columns.append(np.where(ticked, opt.label, ""))
        if v.other_specify:
            header1.append("")
            header2.append("Other (please specify)")
            columns.append(text(f"{v.name}__other_text"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header1)
        w.writerow(header2)
        pd.DataFrame(dict(enumerate(columns))).to_csv(fh, header=False, index=False, lineterminator="\r\n")


def generate_interviews(assessment: Assessment, dataset: str, wave: str, seed: int) -> pd.DataFrame:
    """A coded interview matrix: one row per interview, attributes, one 0/1 column per theme."""
    frame = getattr(assessment.frames, dataset)
    n = frame.expected_n_2015 or 20
    rng = np.random.default_rng([seed, int(wave), 1 if dataset.startswith("stake") else 2])
    prefix = "S" if dataset.startswith("stake") else "V"
    rows = pd.DataFrame({frame.id_column: [f"{prefix}{wave[-2:]}-{i + 1:03d}" for i in range(n)]})
    for attr, levels in frame.attributes.items():
        w = np.array([3.0 if i == 0 else 1.0 for i in range(len(levels))]) if attr == "sector" else \
            np.linspace(1.2, 0.8, len(levels))
        rows[attr] = np.repeat(np.array(levels, dtype=object), _allocate(w, n))[rng.permutation(n)]
    # How often each theme came up (share of interviews), highest for the gaps the seed names first.
    base = np.linspace(0.7, 0.12, len(frame.themes))
    for theme, p in zip(frame.themes, base):
        rows[theme.code] = (rng.random(n) < p).astype(int)
    return rows


def generate_second_coder(assessment: Assessment, dataset: str, wave: str, seed: int,
                          first: pd.DataFrame) -> pd.DataFrame:
    """A second coder's matrix of about a third of the interviews of ``first`` (at least 10): the same
    codes but for disagreements, rare on most themes and frequent on the last (so the demo's quality
    page shows a theme flagged below the agreed kappa)."""
    frame = getattr(assessment.frames, dataset)
    rng = np.random.default_rng([seed, int(wave), 3 if dataset.startswith("stake") else 4])
    n = len(first)
    chosen = np.sort(rng.choice(n, size=min(n, max(10, n // 3)), replace=False))
    rows = first.iloc[chosen][[frame.id_column, *[t.code for t in frame.themes]]].reset_index(drop=True)
    flip_p = np.full(len(frame.themes), 0.06)
    flip_p[-1] = 0.35
    for theme, p in zip(frame.themes, flip_p):
        flip = rng.random(len(rows)) < p
        rows[theme.code] = np.where(flip, 1 - rows[theme.code].to_numpy(), rows[theme.code].to_numpy())
    return rows


def generate_comment_codes(assessment: Assessment, answers: pd.DataFrame, wave: str, seed: int
                           ) -> dict[str, pd.DataFrame]:
    """Hand-coded matrices of the synthetic open-ended answers, by file name: the first coder's for
    about two thirds of the answers, the second coder's for half of those. The first coder mostly
    agrees with the coding frame's rules (so the rules' precision and recall are high but not perfect);
    the second mostly with the first."""
    from assets.ingest.open_ended import themes_by_rules

    out: dict[str, pd.DataFrame] = {}
    for k, v in enumerate(assessment.codebook.variables):
        coding = v.coding
        source = f"{v.name}__other_text" if v.type == "multi" else v.name  # a multi-select's "Other" texts
        if coding is None or not coding.hand_coded_file or source not in answers.columns:
            continue
        rng = np.random.default_rng([seed, int(wave), 5, k])
        texts = answers[source]
        rows = np.flatnonzero(texts.notna().to_numpy())
        if len(rows) == 0:
            continue
        coded = np.sort(rng.choice(rows, size=max(1, (2 * len(rows)) // 3), replace=False))
        by_rules = themes_by_rules(texts.iloc[coded].to_numpy(dtype=object), coding)
        first = pd.DataFrame({coding.id_column: answers["respondent_id"].iloc[coded].to_numpy()})
        for t in coding.themes:
            flip = rng.random(len(coded)) < 0.08
            first[t.code] = np.where(flip, ~by_rules[t.code], by_rules[t.code]).astype(int)
        out[coding.hand_coded_file] = first
        if coding.second_coder_file:
            both = np.sort(rng.choice(len(first), size=max(1, len(first) // 2), replace=False))
            second = first.iloc[both].reset_index(drop=True)
            for t in coding.themes:
                flip = rng.random(len(second)) < 0.05
                second[t.code] = np.where(flip, 1 - second[t.code].to_numpy(), second[t.code].to_numpy())
            out[coding.second_coder_file] = second
    return out


# ----------------------------------------------------------------------- service-provider inventory

# Where services cluster in the synthetic inventory: the five most populous counties (Maine:
# Cumberland, York, Penobscot, Kennebec, Androscoggin) are well served; the rural counties below have
# no after-hours emergency response of their own (the gap the 2015 report describes).
INVENTORY_RURAL_GAPS = ("Piscataquis", "Washington", "Aroostook")
_PLACE_WORDS = ("Harbor", "Pine Tree", "Northern Lights", "Riverbend", "Granite", "Lighthouse", "Birchwood",
                "Seacoast", "Valley", "Summit", "Tidewater", "Evergreen", "Kestrel", "Juniper", "Meadowbrook",
                "Cedar Ridge", "Bayside", "Hillcrest", "Stonewall", "Willow")
# (kind of organisation, service types, hours in hubs; hours elsewhere)
_LOCAL_KINDS = (
    ("Sexual Assault Support Center", ("emergency_response", "mental_health", "legal"), "24_7", "after_hours"),
    ("Family Shelter", ("shelter_housing", "basic_needs"), "24_7", "after_hours"),
    ("Community Health Center", ("medical", "mental_health"), "after_hours", "business_hours"),
    ("Recovery Services", ("substance_use", "mental_health"), "business_hours", "business_hours"),
    ("Youth Mentoring Project", ("mentorship", "basic_needs"), "business_hours", "business_hours"),
    ("Legal Aid Office", ("legal",), "business_hours", "business_hours"),
    ("Food Pantry and Resource Center", ("basic_needs",), "business_hours", "business_hours"),
    ("Crisis Response Team", ("emergency_response", "mental_health"), "24_7", "after_hours"),
)
_STATEWIDE = (
    ("Human Trafficking Helpline", ("emergency_response", "mental_health", "basic_needs"), "24_7"),
    ("Statewide Legal Services Line", ("legal",), "business_hours"),
    ("Immigrant Legal Advocacy Network", ("legal",), "business_hours"),
    ("Recovery Support Line", ("substance_use", "mental_health"), "24_7"),
)


def generate_provider_inventory(assessment: Assessment, wave: str, seed: int) -> pd.DataFrame:
    """A synthetic service-provider inventory (provider, counties_served, service_types, hours).

    Deterministic from (seed, wave) through its own random stream, so it never changes the other
    exports. Organisation names are invented ("... (synthetic)"). Cells use the config's labels
    and aliases in varied spelling and one row carries a service type the config does not know, so
    the reader's matching and quarantine are exercised. Empty when the config has no ``services``.
    """
    services = assessment.config.services
    columns = ["provider", "counties_served", "service_types", "hours"]
    if services is None:
        return pd.DataFrame(columns=columns)
    rng = np.random.default_rng([seed, int(wave), 9])
    types = {t.id: t for t in services.types}
    hours = {h.id: h for h in services.hours}
    statewide_word = services.statewide[0]
    counties = sorted(assessment.config.counties, key=lambda c: -c.population_2020)
    hubs = [c.name for c in counties[:5]]
    gaps = [c for c in INVENTORY_RURAL_GAPS if c in {x.name for x in counties}] or [c.name for c in counties[-2:]]
    rest = [c.name for c in assessment.config.counties if c.name not in hubs and c.name not in gaps]
    places = list(rng.permutation(len(_PLACE_WORDS)))

    def name(kind: str, where: str) -> str:
        return f"{_PLACE_WORDS[places[len(rows) % len(places)]]} {kind} of {where} (synthetic)"

    def type_cell(ids: tuple[str, ...]) -> str:
        known = [types[i] for i in ids if i in types]
        words = [t.label if (not t.aliases or rng.random() < 0.7) else t.aliases[0] for t in known]
        return rng.choice(["; ", ";", " | ", ", "]).join(words)

    def hours_cell(hid: str) -> str:
        h = hours.get(hid) or next(iter(hours.values()))
        return h.label if (not h.aliases or rng.random() < 0.75) else h.aliases[int(rng.integers(len(h.aliases)))]

    def county_cell(names: list[str]) -> str:
        return "; ".join(n + (" County" if rng.random() < 0.2 else "") for n in names)

    rows: list[dict[str, str]] = []

    def add(kind: str, where: str, served: list[str], ids: tuple[str, ...], hid: str) -> None:
        if any(i in types for i in ids):
            rows.append({"provider": name(kind, where), "counties_served": county_cell(served),
                         "service_types": type_cell(ids), "hours": hours_cell(hid)})

    for kind, ids, hid in _STATEWIDE:
        rows.append({"provider": f"{assessment.config.state.name} {kind} (synthetic)",
                     "counties_served": statewide_word, "service_types": type_cell(ids), "hours": hours_cell(hid)})
    for hub in hubs:  # every kind of service, most of it around the clock; some shared with a neighbour
        for kind, ids, hub_hours, _ in _LOCAL_KINDS:
            if "emergency_response" in ids or rng.random() < 0.7:  # around-the-clock response in every hub
                served = [hub] + ([str(rng.choice(rest))] if rest and rng.random() < 0.25 else [])
                add(kind, hub, served, ids, hub_hours)
    for county in rest:  # two or three services, after-hours emergency response in most
        picks = rng.choice(len(_LOCAL_KINDS), size=int(rng.integers(2, 4)), replace=False)
        for k in sorted(picks):
            kind, ids, _, other_hours = _LOCAL_KINDS[k]
            hid = other_hours if rng.random() < 0.8 else "business_hours"
            add(kind, county, [county], ids, hid)
        if rng.random() < 0.7:
            add("Crisis Response Team", county, [county], ("emergency_response",), "after_hours")
    for county in gaps:  # daytime services only: no after-hours emergency response of their own
        add("Sexual Assault Support Center", county, [county], ("emergency_response", "mental_health"),
            "business_hours")
        if rng.random() < 0.6:
            add("Community Health Center", county, [county], ("medical", "substance_use"), "business_hours")
    # a row an evaluator would have to fix: a service type outside the config (quarantined on reading)
    rows.insert(int(rng.integers(1, len(rows))), {
        "provider": name("Wellness Collective", hubs[0]), "counties_served": hubs[0],
        "service_types": "Spiritual care", "hours": hours_cell("business_hours")})
    return pd.DataFrame(rows, columns=columns)


def write_demo_wave(assessment: Assessment, wave: str, seed: int, respondents: int, out_dir: Path) -> list[Path]:
    """Write one synthetic wave (officer export, interview exports, case lists, stakeholder survey export,
    provider inventory, manifest) into out_dir."""
    from assets.ingest.synthetic_stakeholders import (STAKEHOLDER_INSTRUMENT, STAKEHOLDER_RESPONDENTS,
                                                      generate_stakeholder_answers)

    out_dir.mkdir(parents=True, exist_ok=True)
    answers = generate_officer_answers(assessment, wave, seed, respondents)
    write_surveymonkey_csv(assessment, answers, out_dir / OFFICER_EXPORT)
    written = [out_dir / OFFICER_EXPORT]
    for dataset, name in [("stakeholder_interviews", STAKEHOLDER_EXPORT), ("survivor_interviews", SURVIVOR_EXPORT)]:
        interviews = generate_interviews(assessment, dataset, wave, seed)
        interviews.to_csv(out_dir / name, index=False, lineterminator="\n")
        written.append(out_dir / name)
        second = getattr(assessment.frames, dataset).second_coder_file
        if second:  # a second coder's matrix of some of the same interviews (intercoder agreement)
            generate_second_coder(assessment, dataset, wave, seed, interviews).to_csv(
                out_dir / second, index=False, lineterminator="\n")
            written.append(out_dir / second)
    for name, matrix in generate_comment_codes(assessment, answers, wave, seed).items():  # hand codes of comments
        matrix.to_csv(out_dir / name, index=False, lineterminator="\n")
        written.append(out_dir / name)
    from assets.prevalence.demo import write_demo_case_lists  # agency case lists from a known population

    case_lists = write_demo_case_lists(assessment, wave, seed, out_dir)
    written += case_lists.files
    if any(i.id == STAKEHOLDER_INSTRUMENT for i in assessment.other_instruments):  # its own random stream too
        stakeholders = generate_stakeholder_answers(assessment, wave, seed)
        write_surveymonkey_csv(assessment.for_instrument(STAKEHOLDER_INSTRUMENT), stakeholders,
                               out_dir / STAKEHOLDER_SURVEY_EXPORT)
        written.append(out_dir / STAKEHOLDER_SURVEY_EXPORT)
    inventory = generate_provider_inventory(assessment, wave, seed)  # its own random stream
    if len(inventory):
        inventory.to_csv(out_dir / INVENTORY_EXPORT, index=False, lineterminator="\n")
        written.append(out_dir / INVENTORY_EXPORT)
    manifest = {
        "synthetic": True,
        "notice": "SYNTHETIC DEMONSTRATION DATA generated by `htna synth`; calibrated to the figures "
                  "the 2015 assessment published. Not real respondents; not findings.",
        "wave": wave, "seed": seed, "respondents": respondents,
        **({"stakeholder_survey_respondents": STAKEHOLDER_RESPONDENTS}
           if out_dir.joinpath(STAKEHOLDER_SURVEY_EXPORT) in written else {}),
        "files": [p.name for p in written], **case_lists.manifest,
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return written + [out_dir / MANIFEST]
