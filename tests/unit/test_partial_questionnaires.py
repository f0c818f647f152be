"""Issue #18: a question missing from a wave's export blocks only what needs it.

The rest of the wave is estimated exactly as if the question had never been asked: the other
indicators, domains, models and checks give the numbers they give on the full export, and what
needs the missing question says "not collected in this wave" instead of a number."""

from __future__ import annotations

import csv
import functools
import io

import numpy as np
import pandas as pd
import pytest

from assets.estimates.headline import headline_indicators
from assets.ingest.officer_responses import NOT_COLLECTED, not_collected_in, survey_questions, to_officer_responses
from assets.ingest.readers import read_bytes_as_export
from assets.ingest.synthetic import generate_officer_answers
from assets.models import training_gap as tg
from assets.quality.stage import quality_stage
from pipelines.errors import InputError


@functools.lru_cache(maxsize=1)
def _answers():
    from pipelines.config import REPO_ROOT, load_assessment

    a = load_assessment(REPO_ROOT / "config" / "maine" / "assessment.yaml")
    return generate_officer_answers(a, "2015", 2015, 182)


def _export(assessment, drop: str | None = None) -> bytes:
    """The wave's SurveyMonkey export, with one question's columns removed."""
    from assets.ingest.layouts import surveymonkey_rows

    rows = surveymonkey_rows(assessment, _answers())
    if drop:
        question = next(v.question for v in assessment.codebook.variables if v.name == drop)
        keep = [i for i, h in enumerate(rows[0]) if h != question]
        rows = [[r[i] for i in keep] for r in rows]
    buf = io.StringIO()
    csv.writer(buf).writerows([[c.strftime("%m/%d/%Y %I:%M:%S %p") if hasattr(c, "strftime") else c for c in r]
                               for r in rows])
    return buf.getvalue().encode()


def _ingest(assessment, drop=None):
    raw = read_bytes_as_export(_export(assessment, drop))
    accepted, quarantine, report = to_officer_responses(raw, assessment, "2015")
    return accepted, quarantine, report, survey_questions(report, assessment, "2015")


def test_a_dropped_question_is_not_collected_and_named(assessment):
    accepted, _q, report, questions = _ingest(assessment, "trained_labor")
    assert report.not_collected == ["trained_labor"] and report.missing_variables == ["trained_labor"]
    assert accepted["trained_labor"].isna().all()
    assert not_collected_in(questions) == {"trained_labor"}
    row = questions.set_index("variable").loc["trained_labor"]
    assert not row["collected"] and row["status"] == NOT_COLLECTED
    assert "trained_labor" in report.not_collected_message() and "aliases" in report.not_collected_message()
    # derived domains follow their question
    _a, _q, report, questions = _ingest(assessment, "years_of_service")
    assert {"years_of_service", "experience_band"} <= not_collected_in(questions)


def test_a_required_question_still_stops_the_wave(assessment):
    with pytest.raises(InputError) as err:
        _ingest(assessment, "county")
    assert "county" in err.value.problem and err.value.path.name.startswith("export")


def _full_and_partial(assessment, drop):
    full, _q, _r, _ = _ingest(assessment, None)
    part, _q, _r, questions = _ingest(assessment, drop)
    return full, part, not_collected_in(questions)


def test_headline_marks_only_the_indicators_that_need_the_question(assessment):
    full, part, missing = _full_and_partial(assessment, "trained_labor")
    want = headline_indicators(full, assessment, "2015")
    got = headline_indicators(part, assessment, "2015", not_collected=missing)
    gone = got[got["indicator"] == "trained_labor"]
    assert len(gone) == 2 and not gone["collected"].any()
    assert gone[["n", "successes", "estimate", "ci_low", "ci_high"]].isna().all(axis=None)
    assert gone["domain"].eq("all").all() and gone["featured"].all()
    keep = got[got["indicator"] != "trained_labor"].reset_index(drop=True)
    expected = want[want["indicator"] != "trained_labor"].reset_index(drop=True)
    assert keep["collected"].all()
    pd.testing.assert_frame_equal(keep, expected)  # every other figure exactly as on the full export


def test_published_indicators_say_not_collected_and_publish_the_rest(assessment):
    from assets.publication.indicators import NOT_COLLECTED as PUBLISHED_NOT_COLLECTED
    from assets.publication.indicators import publish_indicators
    from assets.publication.policy import DisclosurePolicy

    full, part, missing = _full_and_partial(assessment, "trained_labor")
    policy = DisclosurePolicy.from_assessment(assessment)
    want = publish_indicators(headline_indicators(full, assessment, "2015"), assessment, policy)
    got = publish_indicators(headline_indicators(part, assessment, "2015", not_collected=missing), assessment, policy)
    gone = got[got["indicator"] == "trained_labor"]
    assert PUBLISHED_NOT_COLLECTED == NOT_COLLECTED
    assert len(gone) == 2 and gone["suppressed"].all() and (gone["suppression_reason"] == NOT_COLLECTED).all()
    assert gone[["n", "successes", "estimate", "ci_low", "ci_high"]].isna().all(axis=None)
    keep = got[got["indicator"] != "trained_labor"].reset_index(drop=True)
    pd.testing.assert_frame_equal(keep, want[want["indicator"] != "trained_labor"].reset_index(drop=True))
    assert list(dict.fromkeys(got["indicator"])) == list(dict.fromkeys(want["indicator"]))  # in its place


def test_a_domain_not_collected_drops_only_its_breakdowns(assessment):
    full, part, missing = _full_and_partial(assessment, "agency_type")
    want = headline_indicators(full, assessment, "2015")
    got = headline_indicators(part, assessment, "2015", not_collected=missing)
    assert "agency_type" not in set(got["domain"]) and "agency_type" in set(want["domain"])
    expected = want[want["domain"] != "agency_type"]
    merged = expected.merge(got, on=["indicator", "domain", "level", "weighted"], suffixes=("", "_got"))
    assert len(merged) == len(got) == len(expected)
    assert (merged["n"].fillna(-1) == merged["n_got"].fillna(-1)).all()
    # the same sums in another order (the cells are collapsed by other domains): equal to rounding
    np.testing.assert_allclose(merged["estimate"].astype(float), merged["estimate_got"].astype(float), rtol=1e-12)


def test_quality_checks_of_the_question_are_not_run_and_the_rest_are(assessment):
    _full, part, missing = _full_and_partial(assessment, "trained_labor")
    tables = {"officer_responses": part, "stakeholder_interviews": pd.DataFrame(columns=["wave", "interview_id"]),
              "survivor_interviews": pd.DataFrame(columns=["wave", "interview_id"])}
    without, _t = quality_stage(assessment, "2015", dict(tables))
    officer = without.datasets["officer_responses"]
    assert "completeness__trained_labor" in {r.check for r in officer.blocking_failures()}  # blocks, unaware
    aware, out = quality_stage(assessment, "2015", dict(tables), not_collected=missing)
    officer = aware.datasets["officer_responses"]
    results = {r.check: r for r in officer.results}
    assert results["completeness__trained_labor"].outcome.passed
    assert "not collected" in results["completeness__trained_labor"].outcome.message
    assert "completeness__trained_labor" not in {r.check for r in officer.blocking_failures()}
    assert results["completeness__trained_sex"].outcome.evaluated > 0  # the others ran
    summary = out["data_quality_summary"]
    completeness = summary[(summary["section"] == "completeness")] if "section" in summary.columns else summary
    assert NOT_COLLECTED in completeness.to_string()


def test_models_needing_the_question_are_not_fit_the_others_are(assessment):
    assert tg.fitted_outcomes(assessment, {"trained_labor"}) == tuple(o for o in tg.outcomes_of(assessment)
                                                                      if o.column != "trained_labor")
    assert tg.fitted_outcomes(assessment, {"years_of_service", "experience_band"}) == ()  # a regressor
    assert tg.fitted_outcomes(assessment, set()) == tg.outcomes_of(assessment)
    empty = pd.DataFrame(columns=tg.REGRESSION_COLUMNS)
    county = pd.DataFrame(columns=tg.COUNTY_COLUMNS)
    cards = tg.model_cards(empty, county, assessment, "2015", {"trained_labor"})
    assert list(cards["model"]) == ["training_gap_model: trained_labor", "training_gap_by_county: not_trained_labor"]
    assert not cards["reliable"].any() and cards["caveats"].str.contains("not collected in this wave").all()
