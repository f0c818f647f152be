"""The services page's survey evidence (services.survey_evidence): the mapping from the stakeholder codebook to
the service types (config), the counts per county and service type, their protection by the publication gate
with the instrument's indicators, and what the page shows of them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assets.estimates.instrument_indicators import instrument_indicators
from assets.estimates.service_evidence import evidence_measures, evidence_nesting, service_evidence
from assets.publication.instruments import (evidence_source, publish_instrument_indicators,
                                            publish_instrument_tables)
from assets.publication.policy import DisclosurePolicy
from assets.report.services import NO_INFORMATION, services
from pipelines.config import Option, load_assessment
from pipelines.config.evidence import evidence_mapping
from pipelines.errors import ConfigError
from tests.unit.test_config import copy_config, edit


@pytest.fixture(scope="module")
def setup(assessment):
    mapping, problems = evidence_mapping(assessment)
    assert problems == [] and mapping is not None
    inst = assessment.instrument(mapping.instrument)
    return assessment, mapping, inst, assessment.for_instrument(inst.id)


def _responses(setup, sizes: dict[str, int], seed: int = 7) -> pd.DataFrame:
    """Synthetic accepted responses: ``sizes`` respondents per county, services ticked at random."""
    a, mapping, inst, view = setup
    rng = np.random.default_rng(seed)
    hours = view.options(next(v for v in view.codebook.variables if v.name == mapping.hours))
    sectors = view.options(next(v for v in view.codebook.variables if v.name == "sector"))
    rows = []
    for county, n in sizes.items():
        for _ in range(n):
            row = {mapping.county: county, "region": a.county_group_of[county], "sector": rng.choice(sectors),
                   mapping.hours: rng.choice(hours)}
            for columns in mapping.columns.values():
                for c in columns:
                    row[c] = bool(rng.random() < 0.6)
            rows.append(row)
    return pd.DataFrame(rows)


def test_the_mapping_is_the_configs_vocabulary(setup):
    a, mapping, inst, view = setup
    services = a.config.services
    provided = next(v for v in view.codebook.variables if v.name == a.config.services.survey_evidence.services)
    options = [o for o in provided.options if isinstance(o, Option)]
    expected: dict[str, list[str]] = {}
    for o in options:
        if o.code not in services.survey_evidence.not_services:
            expected.setdefault(services.type_of(o.code) or services.type_of(o.label), []).append(
                f"{provided.name}__{o.code}")
    assert {t: list(c) for t, c in mapping.columns.items()} == expected and None not in expected
    answers = view.options(next(v for v in view.codebook.variables if v.name == mapping.hours))
    assert set(mapping.after_hours) == {x for x in answers if services.hours_of(x).after_hours}
    assert 0 < len(mapping.after_hours) < len(answers)


def test_an_option_naming_no_service_type_is_a_config_error(tmp_path):
    cfg = copy_config(tmp_path)

    def add_option(d):
        for v in d["variables"]:
            if v["name"] == "services_provided":
                v["options"].insert(0, {"code": "interpreting", "label": "Interpreting"})

    edit(cfg / "stakeholder_codebook.yaml", add_option)
    with pytest.raises(ConfigError) as err:
        load_assessment(cfg / "assessment.yaml")
    assert "services.survey_evidence.services" in str(err.value) and "'interpreting'" in str(err.value)
    # named in the config's vocabulary (an alias of a service type), it is accepted
    edit(cfg / "assessment.yaml", lambda d: d["services"]["types"][4]["aliases"].append("interpreting"))
    mapping, _ = evidence_mapping(load_assessment(cfg / "assessment.yaml"))
    assert "services_provided__interpreting" in mapping.columns[
        load_assessment(cfg / "assessment.yaml").config.services.types[4].id]


def test_counts_per_county_and_service_type(setup):
    a, mapping, inst, view = setup
    counties = a.county_names
    responses = _responses(setup, {counties[0]: 9, counties[2]: 14, counties[5]: 3})
    table = service_evidence(responses, view, inst, mapping, "2015")
    after = responses[mapping.hours].isin(mapping.after_hours)
    for t, columns in mapping.columns.items():
        ticked = responses[list(columns)].any(axis=1)
        provides = table[(table["indicator"] == f"service:{t}") & (table["domain"] == mapping.county)]
        got = provides.set_index("level")["successes"]
        assert got.to_dict() == {c: float(ticked[responses[mapping.county] == c].sum()) for c in counties}
        late = table[(table["indicator"] == f"service_after_hours:{t}") & (table["domain"] == mapping.county)]
        late = late.set_index("level")
        for c in counties:
            here = (responses[mapping.county] == c) & ticked
            assert late.loc[c, "respondents"] == here.sum() and late.loc[c, "successes"] == (here & after).sum()
    # every indicator by county too (the county frame is shared by every measure of these respondents)
    indicators = table[table["kind"] == "indicator"]
    assert set(indicators["indicator"]) == {i.id for i in view.indicators.indicators}
    assert set(indicators["domain"]) == {mapping.county}


def _published(setup, responses, policy):
    a, mapping, inst, view = setup
    ind = instrument_indicators(responses, view, inst, "2015")
    ev = service_evidence(responses, view, inst, mapping, "2015")
    return ind, ev, publish_instrument_tables(ind, view.indicators.indicators, policy, ev,
                                              evidence_measures(mapping, a.config.services),
                                              evidence_nesting(view, inst, mapping), mapping.county,
                                              evidence_source(inst))


def test_thin_counties_are_hidden_with_their_complements(setup):
    a, mapping, inst, view = setup
    policy = DisclosurePolicy(min_cell_count=3)
    groups = {}
    for c in a.county_names:
        groups.setdefault(a.county_group_of[c], []).append(c)
    big, other = sorted(groups.values(), key=len)[-1], sorted(groups.values(), key=len)[0]
    sizes = {big[0]: 30, big[1]: 25, big[2]: 2, other[0]: 28, other[1]: 1}  # two thin counties
    responses = _responses(setup, sizes, seed=3)
    ind, ev, (pub_ind, pub_ev) = _published(setup, responses, policy)
    assert len(pub_ev) == 2 * len(mapping.columns) * len(a.county_names)
    thin = {c for c in a.county_names if sizes.get(c, 0) < policy.min_cell_count}
    assert pub_ev.loc[pub_ev["county"].isin(thin), "suppressed"].all()  # in every measure
    # shown counts are the true ones and none is small; hidden ones are blank
    truth = ev[ev["domain"] == mapping.county].set_index(["indicator", "level"])["successes"]
    shown = pub_ev[~pub_ev["suppressed"]]
    assert len(shown) > 0
    for r in shown.itertuples():
        key = (f"service:{r.service_type}" if r.measure == "provides" else f"service_after_hours:{r.service_type}",
               r.county)
        assert r.organisations == truth[key] and r.organisations >= policy.min_cell_count
    assert pub_ev.loc[pub_ev["suppressed"], "organisations"].isna().all()
    assert (pub_ev["source"] == evidence_source(inst)).all()
    # a county's count can't be had by differencing: where a region's count of the same answer is published
    # (an indicator of that option), never exactly one county hidden below it
    for ind_def in view.indicators.indicators:
        t = next((t for t, cols in mapping.columns.items() if cols == (ind_def.variable,)), None)
        if t is None:
            continue
        for region, members in groups.items():
            cell = pub_ind[(pub_ind["indicator"] == ind_def.id) & (pub_ind["level"] == region)]
            if cell.empty or bool(cell["suppressed"].iloc[0]):
                continue
            below = pub_ev[(pub_ev["service_type"] == t) & (pub_ev["measure"] == "provides")
                           & pub_ev["county"].isin(members)]
            hidden = below.loc[below["suppressed"], "county"]
            hidden_with_people = [c for c in hidden if sizes.get(c, 0) > 0]
            assert len(hidden_with_people) != 1, (ind_def.id, region, list(hidden))


def test_without_evidence_the_indicators_are_published_as_before(setup):
    a, mapping, inst, view = setup
    responses = _responses(setup, {c: 8 for c in a.county_names[:6]})
    ind = instrument_indicators(responses, view, inst, "2015")
    policy = DisclosurePolicy()
    alone, none = publish_instrument_tables(ind, view.indicators.indicators, policy)
    pd.testing.assert_frame_equal(alone, publish_instrument_indicators(ind, view.indicators.indicators, policy))
    assert none.empty


def _coverage(counties, types, listed):
    rows = [{"county": c, "service_type": t, "service_label": t.title(), "providers": int((c, t) in listed),
             "after_hours_providers": 0, "providers_24_7": 0, "covered": (c, t) in listed,
             "after_hours_cover": False} for c in counties for t in types]
    return pd.DataFrame(rows)


def test_the_page_shows_survey_evidence_only_where_the_inventory_is_silent():
    counties, types = ["A", "B", "C"], ["shelter", "legal"]
    coverage = _coverage(counties, types, {("A", "shelter"), ("A", "legal"), ("B", "legal")})
    source = "reported by demo survey respondents"
    evidence = pd.DataFrame([
        {"county": c, "service_type": t, "service_label": t.title(), "measure": m, "source": source,
         "organisations": org, "suppressed": org is None, "suppression_reason": "primary" if org is None else ""}
        for c, t, m, org in [("A", "shelter", "provides", 9), ("A", "shelter", "after_hours", 7),
                             ("B", "shelter", "provides", 8), ("B", "shelter", "after_hours", None),
                             ("C", "shelter", "provides", None), ("C", "shelter", "after_hours", None),
                             ("C", "legal", "provides", 0), ("C", "legal", "after_hours", None)]])
    survey = {"name": "demo survey", "source": source, "received": True, "unit": "respondents"}
    page = services(coverage, None, evidence, survey, DisclosurePolicy())
    cells = {(r["county"], c["label"]): c for r in page["rows"] for c in r["cells"]}
    assert cells[("A", "Shelter")]["source"] == "inventory" and cells[("A", "Shelter")]["providers"] == 1
    assert cells[("B", "Shelter")]["source"] == "survey"
    assert cells[("B", "Shelter")]["organisations"] == 8 and cells[("B", "Shelter")]["survey_after_hours"] == "hidden"
    assert cells[("C", "Shelter")]["source"] == "none" and cells[("C", "Shelter")]["hidden"]  # hidden: no information
    assert cells[("C", "Legal")]["source"] == "none"  # none of the respondents: not shown as 0
    assert page["levels"][0] == NO_INFORMATION and source in page["levels"][-1]
    assert {(s["county"], s["service"]) for s in page["silent"]} == {("B", "Shelter"), ("C", "Shelter"),
                                                                     ("C", "Legal")}
    # the survey not received: the inventory's matrix as before
    before = services(coverage, None)
    without = services(coverage, None, evidence, {**survey, "received": False}, DisclosurePolicy())
    assert [[c["source"] for c in r["cells"]] for r in without["rows"]] == [["inventory"] * 2] * 3
    assert without["rows"] == before["rows"] and without["levels"] == before["levels"] and not without["silent"]


def test_without_an_inventory_every_cell_is_the_surveys_or_no_information():
    source = "reported by demo survey respondents"
    evidence = pd.DataFrame([
        {"county": c, "service_type": "shelter", "service_label": "Shelter", "measure": m, "source": source,
         "organisations": org, "suppressed": org is None, "suppression_reason": "primary" if org is None else ""}
        for c, m, org in [("A", "provides", 7), ("A", "after_hours", 6), ("B", "provides", None),
                          ("B", "after_hours", None)]])
    survey = {"name": "demo survey", "source": source, "received": True, "unit": "respondents"}
    page = services(None, None, evidence, survey, DisclosurePolicy())
    assert page["available"] and not page["inventory"] and page["gaps"] == []
    cells = {r["county"]: r["cells"][0] for r in page["rows"]}
    assert cells["A"]["source"] == "survey" and (cells["A"]["organisations"], cells["A"]["survey_after_hours"]) == (7, 6)
    assert cells["B"]["source"] == "none"
    # neither an inventory nor the survey: nothing to show, and the page says why
    assert services(None, None, evidence, {**survey, "received": False}, DisclosurePolicy())["available"] is False


def test_a_survey_without_an_hours_question_gives_no_after_hours_figure():
    source = "reported by demo survey respondents"
    evidence = pd.DataFrame([{"county": "A", "service_type": "shelter", "service_label": "Shelter",
                              "measure": "provides", "source": source, "organisations": 7, "suppressed": False,
                              "suppression_reason": ""}])
    survey = {"name": "demo survey", "source": source, "received": True, "unit": "respondents"}
    page = services(None, None, evidence, survey, DisclosurePolicy())
    cell = page["rows"][0]["cells"][0]
    assert cell["organisations"] == 7 and cell["survey_after_hours"] is None  # not asked, not "hidden"
