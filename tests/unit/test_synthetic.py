"""The synthetic generator writes real SurveyMonkey layouts, deterministically, with the survey's skip logic."""

from __future__ import annotations

import csv
import json

import numpy as np

from assets.ingest.synthetic import INVENTORY_EXPORT, generate_officer_answers, generate_provider_inventory, \
    write_demo_wave
from pipelines.config import REPO_ROOT


def test_same_seed_same_bytes_other_seed_other_bytes(assessment, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_demo_wave(assessment, "2015", 7, 182, a)
    write_demo_wave(assessment, "2015", 7, 182, b)
    write_demo_wave(assessment, "2015", 8, 182, c)
    for name in ("officer_survey.csv", "stakeholder_interviews.csv", "survivor_interviews.csv", INVENTORY_EXPORT):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / "officer_survey.csv").read_bytes() != (c / "officer_survey.csv").read_bytes()
    assert (a / INVENTORY_EXPORT).read_bytes() != (c / INVENTORY_EXPORT).read_bytes()
    assert INVENTORY_EXPORT in json.loads((a / "SYNTHETIC.json").read_text())["files"]


def test_bundled_demo_data_is_what_the_generator_writes(assessment, tmp_path):
    for wave in assessment.config.waves:
        out = tmp_path / wave
        write_demo_wave(assessment, wave, 2015, 182, out)
        bundled = REPO_ROOT / "data" / "demo" / "incoming" / wave
        for f in sorted(out.iterdir()):
            assert (bundled / f.name).read_bytes() == f.read_bytes(), f"{wave}/{f.name} is stale: regenerate it"
        assert json.loads((bundled / "SYNTHETIC.json").read_text())["synthetic"] is True


def test_surveymonkey_layout(assessment, tmp_path):
    write_demo_wave(assessment, "2015", 1, 50, tmp_path)
    rows = list(csv.reader((tmp_path / "officer_survey.csv").open(encoding="utf-8")))
    h1, h2 = rows[0], rows[1]
    assert h1[:4] == ["Respondent ID", "Collector ID", "Start Date", "End Date"]
    assert all(x == "" for x in h2[:9])
    actions = next(v for v in assessment.codebook.variables if v.name == "actions_taken")
    i = h1.index(actions.question)
    n_opts = len(actions.options)
    assert h1[i + 1:i + n_opts + 1] == [""] * n_opts  # continuation columns are blank on row 1
    assert h2[i] == "Determined whether the victim was a minor"
    assert h2[i + n_opts] == "Other (please specify)"
    assert "Open-Ended Response" in h2 and "Response" in h2
    assert len(rows) == 52 and all(len(r) == len(h1) for r in rows)
    # dates in SurveyMonkey's 12-hour format
    assert rows[2][2].endswith(("AM", "PM")) and rows[2][2][2] == "/"


def test_skip_logic_and_partial_responses(assessment):
    ans = generate_officer_answers(assessment, "2015", 2015, 182)
    no_case = ans["cases_past_year"] == "None"
    action_cols = [c for c in ans.columns if c.startswith("actions_taken__") and c != "actions_taken__other_text"]
    assert ans.loc[no_case, action_cols].isna().all().all()
    handled = ans["cases_past_year"].isin(["1 to 5", "More than 5"])
    assert ans.loc[handled, "actions_taken__determined_minor"].notna().sum() > 0.9 * handled.sum()
    # some respondents broke off part-way: later items missing, county always present
    assert ans["county"].notna().all()
    assert ans["familiar_organisations"].isna().sum() >= 3
    assert ans["respondent_id"].is_unique


def test_relationships_the_2015_report_describes_are_in_the_data(assessment):
    ans = generate_officer_answers(assessment, "2015", 2015, 182)
    urban = ans["county"].isin(["Cumberland", "York"])
    senior = ans["years_of_service"].isin(["11 to 20 years", "More than 20 years"])
    agree = ans["trained_sex"].isin(["Agree", "Strongly agree"])
    answered = ans["trained_sex"].notna()
    assert agree[urban & answered].mean() > agree[~urban & answered].mean()
    fam = ans["familiar_organisations"]
    assert (fam[senior] == "Yes").mean() > (fam[~senior & ans["years_of_service"].notna()] == "Yes").mean()


def test_later_waves_drift_modestly(assessment):
    a15 = generate_officer_answers(assessment, "2015", 2015, 182)
    a17 = generate_officer_answers(assessment, "2017", 2015, 182)
    share = lambda a: a["trained_sex"].dropna().isin(["Agree", "Strongly agree"]).mean()  # noqa: E731
    assert 0.03 < share(a17) - share(a15) < 0.15


def test_other_sizes_work(assessment):
    for n in (1, 10, 1000):
        ans = generate_officer_answers(assessment, "2015", 3, n)
        assert len(ans) == n
        counts = ans["county"].value_counts()
        assert set(counts.index) <= set(assessment.county_names)
    big = generate_officer_answers(assessment, "2015", 3, 5000)["county"].value_counts(normalize=True)
    hc = assessment.config.officer_headcounts.by_county
    assert np.isclose(big["Cumberland"], hc["Cumberland"] / sum(hc.values()), atol=0.002)


def test_provider_inventory_is_plausible_and_reads_cleanly(assessment, tmp_path):
    from assets.estimates.services import counties_without_after_hours, service_coverage_by_county
    from assets.ingest.service_inventory import read_service_inventory

    for wave in assessment.config.waves:
        inv = generate_provider_inventory(assessment, wave, 2015)
        assert 40 <= len(inv) <= 70 and list(inv.columns) == ["provider", "counties_served", "service_types", "hours"]
        assert inv["provider"].str.endswith("(synthetic)").all() and inv["provider"].is_unique
        write_demo_wave(assessment, wave, 2015, 20, tmp_path / wave)
        accepted, quarantine, report = read_service_inventory(tmp_path / wave / INVENTORY_EXPORT, assessment, wave)
        assert report.reconciles() and report.quarantined == {"unknown service type": 1}  # the one planted row
        assert accepted["statewide"].sum() >= 3  # hotline, legal lines
        cov = service_coverage_by_county(accepted, assessment, wave)
        local = cov.groupby("county")["local_providers"].sum()
        hubs = ["Cumberland", "York", "Penobscot", "Kennebec", "Androscoggin"]
        assert local[hubs].mean() > 1.5 * local.drop(hubs).mean()  # the populous counties are well served
        types_served = cov[cov["local_providers"] > 0].groupby("county")["service_type"].nunique()
        assert types_served[hubs].min() >= 5
        gaps = set(counties_without_after_hours(cov, assessment, wave)["county"])
        assert {"Piscataquis", "Washington", "Aroostook"} <= gaps and not gaps & set(hubs)


def test_the_stakeholder_survey_export_is_a_surveymonkey_file_the_readers_map_onto_its_codebook(assessment, tmp_path):
    """The demo's stakeholder survey: listed in the manifest, SurveyMonkey's two header rows, ~120 respondents
    from every sector, read by the officer survey's export reader into the stakeholder codebook's columns
    with nothing unmatched, and its open-ended text reduced to theme columns."""
    from assets.ingest.officer_responses import to_officer_responses
    from assets.ingest.readers import read_export
    from assets.ingest.synthetic import STAKEHOLDER_SURVEY_EXPORT
    from assets.ingest.synthetic_stakeholders import STAKEHOLDER_RESPONDENTS

    write_demo_wave(assessment, "2016", 3, 40, tmp_path)
    manifest = json.loads((tmp_path / "SYNTHETIC.json").read_text())
    assert STAKEHOLDER_SURVEY_EXPORT in manifest["files"]
    assert manifest["stakeholder_survey_respondents"] == STAKEHOLDER_RESPONDENTS == 120
    rows = list(csv.reader((tmp_path / STAKEHOLDER_SURVEY_EXPORT).open(encoding="utf-8")))
    assert rows[0][0] == "Respondent ID" and rows[1][0] == "" and len(rows) == 2 + 120
    view = assessment.for_instrument("stakeholder_survey")
    raw = read_export(tmp_path / STAKEHOLDER_SURVEY_EXPORT)
    accepted, quarantine, report = to_officer_responses(raw, view, "2016", dataset="stakeholder_survey_responses")
    assert report.rows_read == 120 == len(accepted) + len(quarantine) and report.reconciles()
    assert report.unmatched_questions == [] and report.missing_variables == []
    sectors = view.options(next(v for v in view.codebook.variables if v.name == "sector"))
    assert set(accepted["sector"]) == set(sectors)
    assert set(accepted["region"]) == {g.name for g in assessment.config.county_groups}
    texts = {v.name for v in view.codebook.variables if v.free_text}
    for name in texts:  # only how each answer was coded, never its words
        assert not accepted[name].dropna().str.contains("housing|training", case=False).any()
        assert any(c.startswith(f"{name}__") for c in accepted.columns)
