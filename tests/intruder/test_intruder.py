"""The intruder suite: the published site attacked as an intruder would, on the demo and on 50
random synthetic waves (tiny counties, uneven response), and the same attacks shown to succeed on a
site built with the gate bypassed (each table thresholded on its own, full precision).

A breach is a hidden figure whose count the attacks narrow to fewer than the policy's number of
values (or an attack's range that misses the true count, which would be a bug of the attack).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from assets.publication.gate import PUBLISHED_TABLES
from assets.publication.indicators import PUBLISHED_INDICATOR_COLUMNS
from assets.publication.measures import Measure
from assets.publication.policy import THRESHOLD_ONLY, DisclosurePolicy
from tests.intruder import intruder as attack
from tests.intruder import waves

RANDOM_WAVES = 50
SIZES = [25, 40, 60, 90, 140, 220, 400]


def _covariates(assessment) -> pd.DataFrame:
    from assets.models.training_gap_county import _fh_design, county_covariates

    cov = county_covariates(assessment)
    # every public covariate the county model may choose from (the config's county covariates file too)
    return _fh_design(cov, cov.attrs.get("extra_covariates", [])).set_index(cov["county"])


def _population(assessment) -> dict[str, tuple]:
    return {ind.id: Measure.of_indicator(ind).among for ind in assessment.indicators.indicators}


def _same_question(assessment) -> list[tuple[str, str]]:
    seen: dict[tuple, str] = {}
    pairs = []
    for ind in assessment.indicators.indicators:
        m = Measure.of_indicator(ind)
        key = (m.variable, m.success, m.among)
        if key in seen:
            pairs.append((seen[key], ind.id))
        seen.setdefault(key, ind.id)
    return pairs


def attack_all(assessment, published, truth_headline, weights, case_truth, policy, whole: bool | None,
               inversion: bool = True) -> list[attack.Finding]:
    m = policy.min_cell_count
    step = policy.share_step if policy.linked else 1e-6  # full precision: a float's last digits
    group_of = dict(assessment.county_group_of)
    found = attack.differencing(published, truth_headline, group_of, m, _same_question(assessment))
    found += attack.weighted_split(published, truth_headline, group_of, weights, m, step, _population(assessment))
    if inversion:
        found += attack.model_inversion(published, truth_headline, _covariates(assessment), m)
    found += attack.lp_bounds(published, truth_headline, group_of, weights, m, step, _population(assessment),
                              whole=whole)
    found += attack.case_list_bounds(published, case_truth, m)
    return found


def _describe(breaches: list[attack.Finding]) -> str:
    return "\n".join(f"{b.attack}: {b.table} {b.cell} {b.count} in [{b.low}, {b.high}] (true {b.truth})"
                     for b in breaches[:20])


# --- random waves ---------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(RANDOM_WAVES))
def test_random_wave_resists_every_attack(assessment, seed):
    policy = DisclosurePolicy.from_assessment(assessment)
    frame = waves.answers(assessment, seed, SIZES[seed % len(SIZES)])
    wave = waves.build(assessment, frame, policy, seed, with_models=seed % 5 == 0)
    # every tenth wave over whole numbers where the relaxation comes close; the others by linear programming
    found = attack_all(assessment, wave.published, wave.truth.headline, wave.weights, wave.case_truth, policy,
                       whole=False if seed % 10 == 0 else None, inversion=seed % 5 == 0)
    assert found, "the attacks found nothing to attack: no hidden figure?"
    breaches = attack.breaches(found, policy.protection_values)
    assert not breaches, _describe(breaches)


def test_random_waves_include_tiny_counties(assessment):
    """The suite's waves are the hard case: counties of 1 to 5 respondents in most of them."""
    tiny = 0
    for seed in range(RANDOM_WAVES):
        counts = waves.answers(assessment, seed, SIZES[seed % len(SIZES)])["county"].value_counts()
        tiny += bool(((counts >= 1) & (counts <= 5)).any())
    assert tiny >= RANDOM_WAVES * 0.8


# --- the gate bypassed: the attacks work ----------------------------------------------------------


def _documented_fay_herriot(assessment):
    """The assessment with the county model the inversion attack solves (arcsine Fay–Herriot, D = 1/(4n),
    every county with a respondent in the fit: ``small_area.estimator: fay_herriot``). Under the default
    estimator a county of 1–5 respondents is predicted from the others and its estimate carries nothing
    of its own answers, so there is nothing for that attack to invert; the bypassed site is built with the
    model the attack targets, so that the attack's correctness keeps being checked."""
    import copy

    from pipelines.config import SmallArea

    a = copy.copy(assessment)
    a.config = assessment.config.model_copy(
        update={"small_area": SmallArea(estimator="fay_herriot", variance="reml", covariates=None)})
    a.county_covariate_values = None
    return a


@pytest.fixture(scope="module")
def bypassed_demo(assessment):
    return waves.build(_documented_fay_herriot(assessment), waves.demo_answers(assessment), THRESHOLD_ONLY, 2015)


def test_attacks_catch_the_bypassed_gate_on_the_demo(assessment, bypassed_demo):
    w = bypassed_demo
    found = attack_all(assessment, w.published, w.truth.headline, w.weights, w.case_truth, THRESHOLD_ONLY,
                       whole=None)  # the relaxation is enough to break a site without the gate
    breaches = attack.breaches(found, THRESHOLD_ONLY.protection_values)
    kinds = {b.attack for b in breaches}
    assert {"differencing", "linear programming", "model inversion"} <= kinds, kinds
    assert all(b.contains_truth for b in breaches)  # every range holds the true count: the attacks are right
    exact = [b for b in breaches if b.low == b.high == b.truth]
    assert len(exact) >= 19  # many hidden counts given back exactly


def test_weighted_against_unweighted_catches_the_bypassed_gate(assessment):
    """Uneven response makes the county weights differ: a group's weighted share with its
    unweighted count then gives the split between its hidden counties away."""
    hits = []
    for seed in range(6):
        w = waves.build(assessment, waves.answers(assessment, seed, 220), THRESHOLD_ONLY, seed, with_models=False,
                        with_cases=False)
        group_of = dict(assessment.county_group_of)
        found = attack.weighted_split(w.published, w.truth.headline, group_of, w.weights, 6, 1e-6,
                                      _population(assessment))
        hits += attack.breaches(found, 6)
    assert hits and all(b.contains_truth for b in hits)


def test_case_list_counts_catch_the_bypassed_gate(assessment):
    est, overlap, truth = waves.case_lists(assessment, 3)
    from assets.publication.prevalence import publish_prevalence

    bare = publish_prevalence(est, overlap, None, assessment, THRESHOLD_ONLY, "2015")
    published = {"published_case_list_counts": bare["case_counts"], "published_case_list_overlap": bare["overlap"],
                 "published_prevalence": bare["estimate"]}
    assert attack.breaches(attack.case_list_bounds(published, truth, 6), 6)
    gated = publish_prevalence(est, overlap, None, assessment, DisclosurePolicy(), "2015")
    published = {"published_case_list_counts": gated["case_counts"], "published_case_list_overlap": gated["overlap"],
                 "published_prevalence": gated["estimate"]}
    assert not attack.breaches(attack.case_list_bounds(published, truth, 6), 6)


# --- the demo site, read from its files -----------------------------------------------------------


def site_tables(site: Path, tables=None) -> dict[str, pd.DataFrame]:
    """Every published table as the downloads carry it (the workbook's sheets, by title; ``tables``: the
    gate's tables and the further instruments' published indicators)."""
    from openpyxl import load_workbook

    by_title = {spec.title: name for name, spec in (tables or PUBLISHED_TABLES).items()}
    wb = load_workbook(site / "needs-assessment-tables.xlsx", read_only=True)
    out = {}
    for ws in wb.worksheets:
        if ws.title == "About":
            continue
        rows = list(ws.iter_rows(values_only=True))
        out[by_title[ws.title]] = pd.DataFrame(rows[1:], columns=rows[0])
    return out


def test_demo_site_resists_every_attack(assessment, demo_run):
    import duckdb

    from assets.publication.gate import published_tables

    site = demo_run.index.parent
    published = site_tables(site, published_tables(assessment))
    csv = pd.read_csv(site / "indicators.csv", keep_default_na=True)
    csv["suppressed"] = csv["suppressed"].astype(bool)
    published["published_indicators"] = csv
    for name in PUBLISHED_TABLES:
        published.setdefault(name, pd.DataFrame(columns=[c for c in PUBLISHED_TABLES[name].columns if c != "wave"]))
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as con:
        truth = con.execute("from assessment.headline_indicators where wave = '2015'").df()
        weights = con.execute("from assessment.officer_weights where wave = '2015'").df()
        responses = con.execute("select source_row, county from assessment.accepted_officer_responses").df()
        overlap = con.execute("from assessment.case_list_overlap where wave = '2015'").df()
        estimate = con.execute("from assessment.prevalence_estimate where wave = '2015'").df()
    county_weight = {}
    merged = weights.merge(responses, on="source_row")
    for county, part in merged.groupby("county"):
        if np.allclose(part["weight"], part["weight"].iloc[0]):
            county_weight[county] = float(part["weight"].iloc[0])
    case_truth = {(r.stratum, "overlap", r.history): float(r.count) for r in overlap.itertuples()}
    for r in estimate.itertuples():
        case_truth[(r.stratum, "observed", "")] = float(r.observed)
        case_truth.update({(r.stratum, "list", k): float(v) for k, v in json.loads(r.cases_per_list).items()})
    policy = DisclosurePolicy.from_assessment(assessment)
    found = attack_all(assessment, published, truth, county_weight, case_truth, policy, whole=True)
    assert len(found) > 100  # the attacks ran on many hidden figures
    breaches = attack.breaches(found, policy.protection_values)
    assert not breaches, _describe(breaches)


def test_every_published_file_comes_through_the_gate(assessment, demo_run):
    """indicators.csv is the gate's indicator table; each workbook sheet is one gate table with its
    columns; every number in every chart of every page is a number of a gate table."""
    site = demo_run.index.parent
    assert list(pd.read_csv(site / "indicators.csv").columns) == PUBLISHED_INDICATOR_COLUMNS
    from assets.publication.gate import published_tables

    specs = published_tables(assessment)
    tables = site_tables(site, specs)
    assert "published_stakeholder_indicators" in tables  # the stakeholder survey's sheet, from its gate table
    for name, frame in tables.items():
        assert list(frame.columns) == [c for c in specs[name].columns if c != "wave"], name
    numbers: set[float] = {0.0, 1.0, 2.0, 3.0}  # the services heatmap's cover levels (3: the survey's evidence)
    for frame in [pd.read_csv(site / "indicators.csv"), *tables.values()]:
        for col in frame.columns:
            values = pd.to_numeric(frame[col], errors="coerce").dropna()
            numbers |= {round(float(v), 6) for v in values}
    charted = 0
    for page in site.glob("*.html"):
        for data in _figures(page.read_text(encoding="utf-8")):
            for trace in data:
                for key in ("x", "y", "z", "customdata"):
                    for v in _numbers(trace.get(key)):
                        charted += 1
                        assert round(v, 6) in numbers, f"{page.name}: {key} {v} is in no published table"
    assert charted > 100


def test_the_report_reads_only_gate_tables():
    import dagster as dg

    from pipelines.definitions import defs

    from assets.publication.gate import published_tables
    from pipelines.config import load_assessment

    graph = defs.resolve_asset_graph()
    parents = {k.path[-1] for k in graph.get(dg.AssetKey("assessment_report")).parent_keys}
    # the gate's tables, the further instruments' published indicators and the services page's survey evidence
    assert parents == set(published_tables(load_assessment()))
    assert parents - set(PUBLISHED_TABLES) == {"published_stakeholder_indicators", "published_stakeholder_services"}
    assert all(p.startswith("published_") for p in parents)


def _figures(html: str):
    """Every chart's traces: each chart is drawn by ``Plotly.newPlot(id, f.data, ...)`` from a figure
    ``var f = {...}`` written just before it; a page must not draw a chart some other way."""
    decoder = json.JSONDecoder()
    specs = list(re.finditer(r"\bvar f = ", html))
    assert len(specs) == len(re.findall(r"Plotly\.newPlot\(", html)), "a chart drawn from data the test cannot see"
    for match in specs:
        figure, _ = decoder.raw_decode(html, match.end())
        yield figure["data"]


def _numbers(value):
    if value is None:
        return
    if isinstance(value, dict):  # plotly's typed arrays: {"dtype": ..., "bdata": ...}
        if "bdata" in value:
            import base64

            arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
            yield from (float(v) for v in arr.ravel())
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _numbers(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield float(value)
