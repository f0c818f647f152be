"""Synthetic agency case lists for the prevalence demo, drawn from a known population.

Nothing here is a finding. For each demo wave a population of ``N`` trafficking victims is drawn
(``N`` is written to the wave's ``SYNTHETIC.json`` as ``prevalence_truth``) and each of five
agency lists sees each victim independently with a fixed probability (child welfare sees minors
only), so the log-linear model's assumptions hold and the estimate can be checked against the
truth. The lists are written as case-level
records in ``case_lists.csv`` — list, fake name, date of birth, age group — so the demo exercises
the keyed linkage path: the same person is spelled differently on different lists (capitals,
accents, spacing, date formats) and some people appear twice on one list.

The names are obviously made up ("Synthia Notreal", "Fictiona Fakerson", ...). The 2015 sizes are
near those the 2015 assessment cites (11 cases known to Polaris's hotline, 48 to MECASA), with a
true population in the low hundreds; later waves drift modestly.

Linkage secret: real case lists are keyed under ``HTNA_LINKAGE_SECRET`` and there is no default.
So that ``htna demo`` runs with one command and no setup, a wave whose ``SYNTHETIC.json`` says
``"synthetic": true`` may instead be keyed with :data:`DEMO_LINKAGE_SECRET` below — a published,
clearly labelled key that protects nothing and is never used for a folder without that manifest
(see :func:`assets.prevalence.inputs.linkage_secret_for`).
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .simulate import simulate_records

__all__ = [
    "CASE_LISTS_FILE",
    "DEMO_LINKAGE_SECRET",
    "DemoCaseLists",
    "DemoPopulation",
    "demo_population",
    "generate_case_lists",
    "write_demo_case_lists",
]

#: The demo-only linkage key. PUBLIC, NOT SECRET: used only for folders whose SYNTHETIC.json says
#: they hold synthetic demonstration data, never for real case lists.
DEMO_LINKAGE_SECRET = b"htna-SYNTHETIC-DEMO-DATA-ONLY-public-linkage-key-never-for-real-case-lists"

CASE_LISTS_FILE = "case_lists.csv"

# The assessment's five agency lists (names as in config/maine/assessment.yaml, prevalence.lists).
DEMO_LISTS = ("hotline", "advocates", "law_enforcement", "health", "child_welfare")

# Obviously invented names; a few carry accents and apostrophes so normalisation is exercised.
FIRST_NAMES = (
    "Synthia", "Fictiona", "Testina", "Placeholda", "Samplette", "Mockie", "Dummina", "Exemplia",
    "Pseudonyma", "Madeupa", "Demoette", "Zoë-Fictive", "Józefa-Fake", "Notarealia", "Inventa",
    "Fakely", "Imaginaria", "Noname",
)
LAST_NAMES = (
    "Notreal", "Fakerson", "Syntheticson", "Examplesby", "Placeholder", "Madeup", "Demodata",
    "Fictional", "Testcase", "O'Notreal", "Núñez-Fake", "Samplesworth", "Nobody", "Inventedly",
)

# Lists that see minors only; their capture probability is the probability for a minor.
MINORS_ONLY = ("child_welfare",)

# How each agency writes dates of birth (all are read by the linkage normaliser).
DATE_STYLE = {
    "hotline": "%m/%d/%Y",
    "advocates": "%Y-%m-%d",
    "law_enforcement": "%m/%d/%Y",
    "health": "%Y-%m-%d",
    "child_welfare": "%d %b %Y",
}


@dataclass(frozen=True)
class DemoPopulation:
    """The known truth behind one demo wave's case lists."""

    wave: str
    size: int
    capture: dict[str, float]
    dependence: dict[str, float]
    minor_share: float


def demo_population(wave: str) -> DemoPopulation:
    """Population size and capture probabilities of a demo wave (2015 near the cited list sizes)."""
    years = max(0, int(wave) - 2015)
    size = 260 + 12 * years
    base = {"hotline": 0.042, "advocates": 0.18, "law_enforcement": 0.11, "health": 0.075,
            "child_welfare": 0.2}
    growth = {"hotline": 0.012, "advocates": 0.01, "law_enforcement": 0.01, "health": 0.005,
              "child_welfare": 0.01}
    capture = {k: round(v + growth[k] * years, 4) for k, v in base.items()}
    return DemoPopulation(wave, size, capture, {}, 0.3)


def _variant(rng: np.random.Generator, text: str) -> str:
    """The same name as another agency might type it: capitals, accents, spacing, punctuation."""
    r = rng.random()
    if r < 0.2:
        text = text.upper()
    elif r < 0.3:
        text = text.lower()
    if rng.random() < 0.3:
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    if rng.random() < 0.2:
        text = text.replace("'", "").replace("-", " ")
    if rng.random() < 0.1:
        text = f" {text}  "
    return text


@dataclass(frozen=True)
class DemoCaseLists:
    """What :func:`write_demo_case_lists` wrote: the files and the manifest entries."""

    files: list[Path]
    manifest: dict[str, Any] = field(default_factory=dict)


def generate_case_lists(wave: str, seed: int) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Case-level records of the five demo lists for ``wave`` and the truth they were drawn from.

    Returns the records (columns ``list, first_name, last_name, date_of_birth, age_group``; one
    row per appearance of a person on a list, within-list repeats included) and the manifest
    entries (``prevalence_truth`` etc.).
    """
    pop = demo_population(wave)
    rng = np.random.default_rng([seed, int(wave), 8])
    minor = rng.random(pop.size) < pop.minor_share
    # Child welfare sees minors only (its capture probability is for minors); the other lists see
    # adults and minors alike. Each group is drawn with simulate_records; people are numbered
    # minors first.
    parts, offset = [], 0
    for group in (minor, ~minor):
        lists = [k for k in pop.capture if group is minor or k not in MINORS_ONLY]
        recs = simulate_records(int(group.sum()), [pop.capture[k] for k in lists],
                                dependence={t: v for t, v in pop.dependence.items()
                                            if all(x in lists for x in t.split(":"))},
                                seed=rng, names=lists)
        recs["person"] = recs["key"].str[1:].astype(int) + offset
        parts.append(recs)
        offset += int(group.sum())
    records = pd.concat(parts, ignore_index=True)
    minor = np.r_[np.ones(int(minor.sum()), bool), np.zeros(int((~minor).sum()), bool)]

    # Every member of the population gets a distinct fake identity and an age (minors are under 18
    # on 1 July of the wave's year), whether or not any list saw them.
    ref = _dt.date(int(wave), 7, 1)
    ages = np.where(minor, rng.integers(12, 18, pop.size), rng.integers(18, 46, pop.size))
    people: list[tuple[str, str, _dt.date]] = []
    seen: set[tuple[str, str, _dt.date]] = set()
    for i in range(pop.size):
        while True:
            days = int(rng.integers(1, 365))
            dob = _dt.date(ref.year - int(ages[i]) - 1, ref.month, ref.day) + _dt.timedelta(days=days)
            who = (str(rng.choice(FIRST_NAMES)), str(rng.choice(LAST_NAMES)), dob)
            if who not in seen:
                seen.add(who)
                people.append(who)
                break
    age_group = np.where(minor, "minor", "adult")

    # Some people appear twice on one list (e.g. two hotline calls): the linkage deduplicates them.
    index = records["person"].to_numpy()
    lst = records["list"].to_numpy()
    repeat = rng.random(len(records)) < 0.08
    index = np.concatenate([index, index[repeat]])
    lst = np.concatenate([lst, lst[repeat]])
    order = rng.permutation(len(index))
    rows = []
    for i, name in zip(index[order], lst[order]):
        first, last, dob = people[int(i)]
        rows.append({
            "list": name,
            "first_name": _variant(rng, first),
            "last_name": _variant(rng, last),
            "date_of_birth": dob.strftime(DATE_STYLE.get(name, "%Y-%m-%d")),
            "age_group": age_group[int(i)],
        })
    frame = pd.DataFrame(rows, columns=["list", "first_name", "last_name", "date_of_birth", "age_group"])
    manifest = {
        "prevalence_truth": int(pop.size),
        "prevalence_truth_by_stratum": {g: int((age_group == g).sum()) for g in ("adult", "minor")},
        "prevalence_capture_probabilities": pop.capture,
        "prevalence_lists_of_minors_only": list(MINORS_ONLY),
        "prevalence_dependence_odds_ratios": pop.dependence,
        "prevalence_note": "Agency case lists drawn from a known synthetic population of "
                           f"{pop.size}; names and dates of birth are invented. Keyed with the "
                           "public demo linkage key (assets/prevalence/demo.py), which is never "
                           "used for real data.",
    }
    return frame, manifest


def write_demo_case_lists(assessment: Any, wave: str, seed: int, out_dir: Path) -> DemoCaseLists:
    """Write ``case_lists.csv`` for a demo wave into ``out_dir``; return files and manifest entries.

    ``assessment`` is accepted for symmetry with the other demo writers (list names are the
    Maine config's).
    """
    frame, manifest = generate_case_lists(wave, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / CASE_LISTS_FILE
    frame.to_csv(path, index=False, lineterminator="\n")
    return DemoCaseLists([path], manifest)
