"""A survey instrument's block of config becomes its own group of Dagster assets (the asset factory), whose
plain functions read its export, count its indicators and publish them through the gate's rule."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from assets.estimates.instrument_indicators import instrument_indicators
from assets.instruments import instrument_assets
from assets.publication.instruments import PUBLISHED_INSTRUMENT_COLUMNS, publish_instrument_indicators
from assets.publication.policy import DisclosurePolicy
from pipelines.config import REPO_ROOT


@pytest.fixture(scope="module")
def stakeholders(assessment):
    """The demo's 2015 stakeholder survey export read onto its codebook."""
    from assets.ingest.instrument_responses import read_instrument_export

    view = assessment.for_instrument("stakeholder_survey")
    path = REPO_ROOT / "data" / "demo" / "incoming" / "2015" / "stakeholder_survey.csv"
    accepted, quarantine, report = read_instrument_export(path, view, "2015", "stakeholder_survey_responses")
    return view, accepted, quarantine, report


def test_the_factory_builds_the_stakeholder_group_and_its_published_table(assessment):
    inst = assessment.instrument("stakeholder_survey")
    built = instrument_assets(inst, assessment)
    groups = {}
    for a in built.assets:
        for key in a.keys:
            groups[key.to_user_string()] = a.group_names_by_key[key]
    assert groups == {
        "stakeholder_survey_responses": "stakeholder_survey", "stakeholder_survey_responses_quarantine": "stakeholder_survey",
        "accepted_stakeholder_survey_responses": "stakeholder_survey", "stakeholder_survey_check_results": "stakeholder_survey",
        "stakeholder_survey_quality_summary": "stakeholder_survey",
        "stakeholder_indicators": "stakeholder_survey", "published_stakeholder_indicators": "publication",
        # the survey evidence of the services page (services.survey_evidence names this instrument)
        "stakeholder_service_evidence": "stakeholder_survey", "published_stakeholder_services": "publication"}
    checks = {k.name for c in built.asset_checks for k in c.check_keys}
    assert {"reconciliation", "sample_size", "allowed_answers__sector"} <= checks
    assert {k.asset_key.to_user_string() for c in built.asset_checks for k in c.check_keys} == \
        {"accepted_stakeholder_survey_responses"}


def test_definitions_hold_the_instrument_group_and_the_report_reads_its_published_table():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("stakeholder_indicators")).group_name == "stakeholder_survey"
    parents = {k.path[-1] for k in graph.get(dg.AssetKey("assessment_report")).parent_keys}
    assert "published_stakeholder_indicators" in parents and "stakeholder_indicators" not in parents
    assert "published_stakeholder_services" in parents and "stakeholder_service_evidence" not in parents
    # the gate publishes the stakeholder survey's data-quality tables beside the officer survey's
    gate = {k.path[-1] for k in graph.get(dg.AssetKey("published_quality_checks")).parent_keys}
    assert {"data_quality_summary", "stakeholder_survey_quality_summary"} <= gate


def test_the_reader_maps_the_synthetic_export_and_quarantines_like_the_officer_survey(stakeholders, tmp_path):
    from assets.ingest.instrument_responses import read_instrument_export

    view, accepted, quarantine, report = stakeholders
    assert report.rows_read == 120 == len(accepted) + len(quarantine) and report.unmatched_questions == []
    # a repeated respondent id and an answer no codebook declares: quarantined, never dropped silently
    src = (REPO_ROOT / "data" / "demo" / "incoming" / "2015" / "stakeholder_survey.csv").read_text().splitlines()
    bad = src[3].replace(",Yes,", ",Maybe so,", 1)
    (tmp_path / "stakeholder_survey.csv").write_text("\n".join([*src, src[2], bad]) + "\n")
    acc, q, rep = read_instrument_export(tmp_path / "stakeholder_survey.csv", view, "2015", "stakeholder_survey_responses")
    assert rep.rows_read == 122 == len(acc) + len(q)
    assert set(q["dataset"]) == {"stakeholder_survey_responses"}
    assert "duplicate respondent id" in set(q["reason"])
    assert any("not one of the codebook's answers" in r for r in q["reason"])


def test_indicators_are_unweighted_shares_with_wilson_intervals_by_sector_and_region(assessment, stakeholders):
    view, accepted, _, _ = stakeholders
    inst = assessment.instrument("stakeholder_survey")
    table = instrument_indicators(accepted, view, inst, "2015")
    row = table[(table["indicator"] == "served_victim") & (table["domain"] == "region")
                & (table["level"] == assessment.config.county_groups[0].name)].iloc[0]
    # by hand: respondents of the first county group who answered, and those who said Yes
    in_group = accepted[accepted["region"] == assessment.config.county_groups[0].name]
    n, k = int(in_group["served_victim"].notna().sum()), int((in_group["served_victim"] == "Yes").sum())
    assert (row["n"], row["successes"]) == (n, k) and row["estimate"] == pytest.approx(k / n)
    z = 1.959963984540054
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((centre - half, centre + half))
    # a multi-select option: ticked among those who answered the question
    tick = table[(table["indicator"] == "provides_shelter") & (table["domain"] == "all")].iloc[0]
    col = accepted["services_provided__shelter_housing"]
    assert (tick["n"], tick["successes"]) == (col.notna().sum(), (col == True).sum())  # noqa: E712
    # every sector of the codebook has its row, also one nobody answered in
    sectors = table[(table["indicator"] == "served_victim") & (table["domain"] == "sector")]
    assert len(sectors) == 9 and sectors["n"].sum() == table.loc[
        (table["indicator"] == "served_victim") & (table["domain"] == "all"), "n"].iloc[0]


def test_the_gate_hides_small_cells_and_their_complement(assessment):
    inst = assessment.instrument("stakeholder_survey")
    view = assessment.for_instrument("stakeholder_survey")
    ind = next(i for i in view.indicators.indicators if i.id == "served_victim")
    # 40 respondents: 3 in the last region answered (hidden), so its sibling would give it away (hidden too)
    levels = [g.name for g in assessment.config.county_groups]
    rows = [("all", "All respondents", 40, 20), ("region", levels[0], 37, 18), ("region", levels[1], 3, 2)]
    table = pd.DataFrame([{"wave": "2015", "instrument": inst.id, "indicator": ind.id, "label": ind.label,
                           "population": ind.population, "domain": d, "level": lv, "respondents": n, "n": n,
                           "successes": k, "estimate": k / n, "ci_low": 0.1, "ci_high": 0.9} for d, lv, n, k in rows])
    out = publish_instrument_indicators(table, [ind], DisclosurePolicy.from_assessment(assessment))
    assert list(out.columns) == PUBLISHED_INSTRUMENT_COLUMNS and not out["weighted"].any()
    assert out["suppressed"].tolist() == [False, True, True]
    assert out["suppression_reason"].tolist()[1:] == ["complementary", "primary"]
    assert out.loc[1:, ["n", "successes", "share", "ci_low", "ci_high"]].isna().all().all()
    assert (out.loc[0, "n"], out.loc[0, "share"]) == (40, 0.5)


def test_the_stakeholder_checks_reach_the_data_quality_page_through_the_gate(assessment, tmp_path):
    """The stakeholder survey's quality tables are the officer survey's (status, checks, rows held back by
    reason, completeness), published by the same gate and shown in its own section of the page."""
    from dataclasses import replace

    from assets.ingest.instrument_responses import read_instrument_export
    from assets.publication.gate import publish_wave, stacked_quality
    from assets.quality.instrument_screening import screen_instrument
    from assets.quality.summary import split_summary
    from assets.report.quality_page import data_quality
    from tests.intruder import waves

    inst = assessment.instrument("stakeholder_survey")
    view = assessment.for_instrument(inst.id)
    # the demo export with a repeated respondent and an answer outside the codebook: 2 rows held back
    src = (REPO_ROOT / "data" / "demo" / "incoming" / "2015" / "stakeholder_survey.csv").read_text().splitlines()
    (tmp_path / "stakeholder_survey.csv").write_text("\n".join([*src, src[2], src[3].replace(",Yes,", ",Maybe so,", 1)])
                                                     + "\n")
    accepted, held, report = read_instrument_export(tmp_path / "stakeholder_survey.csv", view, "2015",
                                                    inst.responses_asset)
    screened = screen_instrument(accepted, held, view, inst, "2015", report.rows_read)
    tables = split_summary(screened.summary)
    status = tables["status"].set_index("dataset").loc[inst.expectations]
    assert status["rows_read"] == report.rows_read == status["accepted"] + status["quarantined"]
    assert status["quarantined"] == len(set(screened.quarantine["source_row"])) >= 2
    assert set(tables["checks"]["check"]) == set(screened.check_results["check"])  # every check of its suite
    assert list(tables["completeness"]["question"]) == [v.name for v in view.codebook.variables]
    assert set(tables["quarantine_by_reason"]["dataset"]) == {inst.expectations}

    # through the gate, beside the officer survey's tables: a quarantined count below the minimum is hidden,
    # with rows read and the export's row count it follows from; no check message (written from the data)
    policy = DisclosurePolicy.from_assessment(assessment)
    wave = waves.build(assessment, waves.demo_answers(assessment), policy, 2015)
    officers = len(waves.demo_answers(assessment))
    sources = pd.DataFrame([
        {"wave": "2015", "dataset": "officer_survey", "file_name": "officer_survey.csv", "sha256": "0" * 64,
         "rows": officers, "synthetic": True},
        {"wave": "2015", "dataset": "stakeholder_survey", "file_name": "stakeholder_survey.csv", "sha256": "1" * 64,
         "rows": report.rows_read, "synthetic": True}])
    published = publish_wave(replace(wave.truth, quality=stacked_quality([None, screened.summary]), sources=sources),
                             assessment, policy)
    shown = published["published_quality_status"].set_index("dataset").loc[inst.expectations]
    assert shown["accepted"] == status["accepted"] and pd.isna(shown["quarantined"]) and pd.isna(shown["rows_read"])
    rows = published["published_sources"].set_index("dataset")["rows"]
    assert pd.isna(rows["stakeholder_survey"]) and rows["officer_survey"] == officers
    held_back = published["published_quarantine"]
    assert len(held_back) and held_back["suppressed"].all() and held_back["rows"].isna().all()
    assert "message" not in published["published_quality_checks"].columns

    # the page: a section per instrument of the config, with its own checks and completeness
    page = data_quality(published, policy, set(), assessment.instruments)
    section = next(s for s in page["sections"] if s["id"] == inst.id)
    assert section["title"] == inst.label and section["unit"] == inst.disclosure_unit
    assert {c["check"] for c in section["checks"]} == set(tables["checks"]["check"])
    assert [r["question"] for r in section["completeness"]] == list(tables["completeness"]["question"])
    # a wave without the stakeholder export: no section and no row of it (no "rows read 0")
    absent = data_quality(published, policy, {inst.id}, assessment.instruments)
    assert inst.id not in {s["id"] for s in absent.get("sections", [])}
    assert inst.expectations not in {r["dataset"] for r in absent.get("status", [])}
