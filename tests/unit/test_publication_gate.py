"""The publication gate's tables: what each may show of the wave's internal tables.

The intruder suite (tests/intruder) attacks the published tables; these tests pin the rules that
make them what they are, on the demo's officers and on crafted tables.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from assets.publication.audit import LinkedCounts, Secrets, violations
from assets.publication.gate import PUBLISHED_TABLES
from assets.publication.measures import Measure, Nesting, equations
from assets.publication.policy import THRESHOLD_ONLY, DisclosurePolicy, round_half_up
from tests.intruder import waves

POLICY = DisclosurePolicy()


@pytest.fixture(scope="module")
def demo(assessment):
    return waves.build(assessment, waves.demo_answers(assessment), DisclosurePolicy.from_assessment(assessment), 2015)


def test_round_half_up_rounds_as_readers_do():
    assert round_half_up(0.125, 2) == 0.13 and round_half_up(0.135, 2) == 0.14  # not to even
    assert round_half_up(-0.004, 2) == 0.0 and str(round_half_up(-0.004, 2)) == "0.0"  # no "-0"
    assert np.isnan(round_half_up(float("nan"), 2))


def test_published_cells_rest_on_enough_people_and_are_rounded(demo):
    ind = demo.published["published_indicators"]
    shown = ind[~ind["suppressed"].astype(bool) & ~ind["weighted"].astype(bool)]
    assert (shown["n"] >= 6).all() and (shown["successes"] >= 6).all() and (shown["n"] - shown["successes"] >= 6).all()
    for col in ("estimate", "ci_low", "ci_high"):
        values = ind[col].dropna().to_numpy()
        assert np.allclose(values * 100, np.round(values * 100))
    assert set(ind.columns) == set(PUBLISHED_TABLES["published_indicators"].columns)
    assert "se" not in ind.columns and "deff" not in ind.columns


def test_the_2015_figures_survive_the_gate(demo, assessment):
    """Nothing the 2015 assessment published is lost: every indicator with a published 2015 figure
    shows that cell this wave (unweighted, as 2015 computed it)."""
    ind = demo.published["published_indicators"]
    for spec in assessment.indicators.indicators:
        published = spec.published.get("2015")
        if published is None:
            continue
        levels = list(published) if isinstance(published, dict) else [None]
        rows = ind[(ind["indicator"] == spec.id) & ~ind["weighted"].astype(bool)]
        for level in levels:
            cell = rows[rows["domain"] == "all"] if level is None else rows[rows["level"] == level]
            assert len(cell) == 1 and not cell["suppressed"].iloc[0], (spec.id, level)


def test_every_hidden_primary_cell_is_small_and_every_reason_is_known(demo):
    ind = demo.published["published_indicators"]
    truth = demo.truth.headline
    merged = ind.merge(truth[["indicator", "domain", "level", "weighted", "n", "successes"]],
                       on=["indicator", "domain", "level", "weighted"], suffixes=("", "_true"))
    primary = merged[merged["suppression_reason"] == "primary"]
    small = POLICY.small(primary["n_true"].to_numpy(float), primary["successes_true"].to_numpy(float))
    assert small.all()
    assert set(merged["suppression_reason"]) <= {"", "primary", "complementary", "weighted figure withheld"}
    # both rows of a hidden cell are hidden together
    hidden = merged[merged["suppression_reason"].isin(["primary", "complementary"])]
    assert (hidden.groupby(["indicator", "domain", "level"]).size() == 2).all()


def test_indicators_on_the_same_question_share_one_pattern(demo, assessment):
    ind = demo.published["published_indicators"]
    a = ind[ind["indicator"] == "not_familiar_organisations"].set_index(["domain", "level", "weighted"])
    b = ind[ind["indicator"] == "not_familiar_by_experience"].set_index(["domain", "level", "weighted"])
    common = a.index.intersection(b.index)
    assert len(common) > 20
    assert (a.loc[common, "suppressed"] == b.loc[common, "suppressed"]).all()


def test_a_subgroup_indicator_hides_every_cell_its_defining_indicator_hides(demo):
    """Officers who handled a case are the successes of handled_case_past_year: the subgroup's n
    is that indicator's numerator, so what one hides the other must hide."""
    ind = demo.published["published_indicators"]
    u = ind[~ind["weighted"].astype(bool)]
    defining = u[u["indicator"] == "handled_case_past_year"].set_index(["domain", "level"])["suppressed"]
    for sub in ("determined_minor", "called_advocate"):
        part = u[u["indicator"] == sub].set_index(["domain", "level"])["suppressed"]
        common = part.index.intersection(defining.index)
        assert not (defining.loc[common] & ~part.loc[common]).any(), sub


def test_no_published_indicator_leaves_a_hidden_count_narrower_than_the_policy(demo, assessment):
    """The gate's own audit, run again on its output, per indicator (the intruder suite attacks the
    same output with its own program)."""
    ind = demo.published["published_indicators"]
    truth = demo.truth.headline
    for spec in assessment.indicators.indicators:
        cells = truth[(truth["indicator"] == spec.id) & ~truth["weighted"].astype(bool)].reset_index(drop=True)
        pub = ind[(ind["indicator"] == spec.id) & ~ind["weighted"].astype(bool)].reset_index(drop=True)
        eqs = equations(cells, Nesting({"county": ("county_group", dict(assessment.county_group_of))}))
        n, k = cells["n"].to_numpy(float), cells["successes"].to_numpy(float)
        counts = LinkedCounts(n, k, eqs)  # no n printed elsewhere: the weakest intruder of all
        secrets = Secrets.of(counts, 6, sensitive=POLICY.small(n, k))
        assert not violations(counts, pub["suppressed"].to_numpy(bool), secrets, 6), spec.id


def test_county_estimates_are_published_only_where_the_county_cell_is(demo, assessment):
    county = demo.published["published_county_estimates"]
    ind = demo.published["published_indicators"]
    u = ind[~ind["weighted"].astype(bool) & (ind["domain"] == "county")]
    model = county[(county["shown_as"] == "model estimate") & (county["breakdown"] == "county")]
    for r in model.itertuples():
        indicator = {"not_trained_sex": "trained_sex", "not_trained_labor": "trained_labor",
                     "not_prepared_minors": "prepared_minors",
                     "not_familiar_organisations": "not_familiar_organisations"}[r.measure]
        cell = u[(u["indicator"] == indicator) & (u["level"] == r.county)]
        assert not cell["suppressed"].iloc[0], (r.measure, r.county)
    combined = county[county["shown_as"] != "model estimate"]
    assert len(combined) and combined["county"].str.startswith("Other counties of").all()
    # the combined share is what the group minus the counties shown implies
    for r in combined.itertuples():
        if pd.isna(r.estimate):
            continue
        indicator = {"not_trained_sex": "trained_sex"}.get(r.measure)
        if indicator is None:
            continue
        group = u.iloc[0:0]
        cells = ind[(ind["indicator"] == indicator) & ~ind["weighted"].astype(bool)]
        g = cells[(cells["domain"] == "county_group") & (cells["level"] == r.county_group)].iloc[0]
        members = [c for c, gg in assessment.county_group_of.items() if gg == r.county_group]
        shown = cells[(cells["domain"] == "county") & cells["level"].isin(members) & ~cells["suppressed"]]
        n = g["n"] - shown["n"].sum()
        k = g["successes"] - shown["successes"].sum()
        assert r.respondents == n and r.estimate == pytest.approx(round_half_up(1 - k / n, 2))
        assert group.empty
    ranks = model["rank"].dropna()
    for measure, part in model.groupby("measure"):
        assert sorted(part["rank"]) == list(range(1, len(part) + 1))  # ranked among the counties shown only
    assert np.allclose(model["officers_needing_training"] % 10, 0)  # to the nearest 10
    assert len(ranks) == len(model)


def test_model_terms_of_hidden_groups_are_hidden(demo):
    model = demo.published["published_model_results"]
    other = model[model["level"].astype(str).str.startswith("Other (e.g.")]
    assert len(other) and other["suppressed"].all() and other["estimate"].isna().all()
    shown = model[~model["suppressed"].astype(bool)]
    ratios = shown[shown["kind"] == "odds_ratio"]["estimate"].dropna().to_numpy()
    assert np.allclose(ratios * 100, np.round(ratios * 100))
    cards = demo.published["published_model_cards"]
    assert not {"deviance", "aic", "loglike", "fh_variance", "diagnostics"} & set(cards.columns)


def test_small_case_counts_are_hidden_with_complements(assessment):
    from assets.publication.prevalence import publish_prevalence

    est, overlap, truth = waves.case_lists(assessment, 5)
    out = publish_prevalence(est, overlap, None, assessment, POLICY, "2015")
    cases, ov = out["case_counts"], out["overlap"]
    for frame, col, kind in ((cases, "cases", "list"), (ov, "count", "overlap")):
        for r in frame.itertuples():
            true = truth[(r.stratum, kind, r.list if kind == "list" else r.history)]
            if 0 < true < 6:
                assert r.suppressed and r.suppression_reason == "primary"
            if not r.suppressed:
                assert getattr(r, col) == true
    assert (out["estimate"]["estimate"] % 10 == 0).all()  # rounded to the nearest 10 people
    bare = publish_prevalence(est, overlap, None, assessment, THRESHOLD_ONLY, "2015")
    assert bare["overlap"]["suppressed"].sum() < ov["suppressed"].sum()  # the complements are the gate's


def test_quarantine_counts_and_the_rows_they_follow_from(assessment):
    from assets.publication.quality import publish_quality

    status = pd.DataFrame([{"dataset": "officer_responses", "status": "accepted", "estimable": True,
                            "rows_read": 184, "accepted": 183, "quarantined": 1, "checks_run": 50,
                            "checks_passed": 49, "blocking_failed": 0, "row_checks_failed": 1, "held_back_by": None}])
    checks = pd.DataFrame([{"dataset": "officer_responses", "check": "unique_respondent_id", "expects": "no repeats",
                            "severity": "row", "passed": False, "unexpected": 1, "percent": 0.5, "quarantined": 1,
                            "threshold": None, "message": "1 of 184 rows fail"}])
    reasons = pd.DataFrame([{"dataset": "officer_responses", "stage": "checks", "check": "unique_respondent_id",
                             "reason": "duplicate id", "rows": 1, "percent": 0.5}])
    completeness = pd.DataFrame([{"dataset": "officer_responses", "question": "gender", "question_text": "Gender",
                                  "asked": 183, "answered": 181, "percent": 98.9, "threshold": None},
                                 {"dataset": "officer_responses", "question": "x", "question_text": "X",
                                  "asked": 183, "answered": 4, "percent": 2.2, "threshold": None}])
    out = publish_quality({"status": status, "checks": checks, "quarantine_by_reason": reasons,
                           "completeness": completeness}, POLICY)
    s = out["status"].iloc[0]
    assert pd.isna(s["quarantined"]) and pd.isna(s["rows_read"]) and s["accepted"] == 183  # 184 - 183 = 1 is gone
    assert pd.isna(out["checks"].iloc[0]["unexpected"]) and "message" not in out["checks"].columns
    assert out["quarantine_by_reason"].iloc[0]["suppressed"]
    c = out["completeness"].set_index("question")
    assert c.loc["gender", "answered"] == 181 and c.loc["x", "suppressed"] and c.loc["x", "answered"] is None
    assert list(out["hidden_rows_read"]["dataset"]) == ["officer_responses"]


def test_interview_themes_hide_small_groups_in_every_theme(demo):
    themes = demo.published["published_interview_themes"]
    truth = demo.truth.themes
    merged = themes.merge(truth, on=["dataset", "theme", "domain", "level"], suffixes=("", "_true"))
    small = (merged["respondents"] > 0) & (merged["respondents"] < 6)
    assert merged.loc[small, "suppressed"].all()
    # a group whose interviews are too few is hidden in every theme of its set (the same frame)
    for (dataset, domain, level), part in merged[merged["domain"] != "all"].groupby(["dataset", "domain", "level"]):
        if part["respondents"].iloc[0] < 6:
            assert part["suppressed"].all()
    shown = merged[~merged["suppressed"]]
    assert (shown["mentioned"] >= 6).all() and (shown["interviews"] - shown["mentioned"] >= 6).all()


def test_weighting_cells_may_not_be_smaller_than_the_publication_minimum(tmp_path):
    import shutil

    import yaml

    from pipelines.config import REPO_ROOT, load_assessment
    from pipelines.errors import ConfigError

    folder = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config" / "maine", folder)
    path = folder / "assessment.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["weighting"]["min_respondents_per_cell"] = 3
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="min_respondents_per_cell"):
        load_assessment(path)


def test_every_gate_table_has_its_declared_columns(demo):
    for name, frame in demo.published.items():
        assert list(frame.columns) == list(PUBLISHED_TABLES[name].columns), name
    assert set(demo.published) == set(PUBLISHED_TABLES) - {"published_indicator_history", "published_changes"}
    assert json.dumps({k: len(v) for k, v in demo.published.items()})
