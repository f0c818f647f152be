"""Open-ended answers coded, never kept: the coding frame's rules, its validation, hand-coded matrices and
the rules' precision against them, Cohen's kappa (against statsmodels) and the gate on theme counts."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from statsmodels.stats.inter_rater import cohens_kappa as statsmodels_kappa

from assets.estimates.interview_themes import open_ended_theme_counts
from assets.estimates.intervals import wilson_interval
from assets.ingest.officer_responses import to_officer_responses
from assets.ingest.open_ended import (CODED_BY_HAND, CODED_BY_RULES, code_open_ended, read_code_matrix,
                                      rule_pattern, themes_by_rules)
from assets.ingest.readers import read_export
from assets.publication.coding import publish_agreement, publish_rule_precision
from assets.publication.policy import DisclosurePolicy
from assets.publication.themes import publish_themes
from assets.quality.agreement import (KAPPA_UNDEFINED, agreement_rows, cohens_kappa, kappa_interval, rule_precision,
                                      wave_agreement)
from pipelines.config import Agreement, OpenEndedCoding, OpenEndedTheme, REPO_ROOT, Variable, load_assessment
from pipelines.errors import ConfigError, InputError

DEMO = REPO_ROOT / "data" / "demo" / "incoming" / "2015"


def _coding(**kw) -> OpenEndedCoding:
    themes = [OpenEndedTheme(code="hours", label="After hours", rules=["after hours", "overnight"]),
              OpenEndedTheme(code="drugs", label="Drugs", rules=["drug", "opioids"]),
              OpenEndedTheme(code="help", label="Help", rules=["who to call"])]
    return OpenEndedCoding(themes=themes, **kw)


def _variable(coding: OpenEndedCoding) -> Variable:
    return Variable(name="comments", type="text", free_text=True, question="Anything else?", coding=coding)


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize("rule,text,hit", [
    ("after hours", "Nobody answers AFTER HOURS.", True),
    ("after hours", "no after-hours line", True),
    ("after hours", "after \n  hours", True),
    ("after hours", "afterhours", False),
    ("after hours", "hours after", False),
    ("drug", "a drug case", True),
    ("drug", "drugs everywhere", False),
    ("drug", "Drug.", True),
    ("drug", "bedrug", False),
    ("24/7", "we need 24/7 help", True),
    ("24/7", "open 24 hours, 7 days", False),
    ("don't know", "I dont know", False),
    ("don't know", "I DON'T know who", True),
])
def test_a_rule_matches_whole_words_in_any_case(rule, text, hit):
    assert bool(rule_pattern(rule).search(text)) is hit


def test_themes_by_rules_per_answer():
    got = themes_by_rules(["Drug cases overnight", "", None, "who to call? no idea", "nothing"], _coding())
    assert got["hours"].tolist() == [True, False, False, False, False]
    assert got["drugs"].tolist() == [True, False, False, False, False]
    assert got["help"].tolist() == [False, False, False, True, False]


# --------------------------------------------------------------------------- config


def test_coding_frame_is_validated():
    with pytest.raises(ValidationError, match="no word"):
        OpenEndedTheme(code="x", label="X", rules=["--"])
    with pytest.raises(ValidationError, match="listed twice"):
        OpenEndedTheme(code="x", label="X", rules=["Shelter", "shelter"])
    with pytest.raises(ValidationError):
        OpenEndedTheme(code="x", label="X", rules=[])
    with pytest.raises(ValidationError, match="theme codes listed twice"):
        OpenEndedCoding(themes=[OpenEndedTheme(code="a", label="A", rules=["a"])] * 2)
    with pytest.raises(ValidationError, match="needs hand_coded_file"):
        _coding(second_coder_file="b.csv")
    with pytest.raises(ValidationError):
        _coding(hand_coded_file="../elsewhere/codes.csv")
    with pytest.raises(ValidationError, match="open-ended question"):
        Variable(name="gender", type="single", options=["A", "B"], question="?", coding=_coding())
    with pytest.raises(ValidationError):
        Agreement(min_kappa=1.5)


def _multi(**kw) -> Variable:
    options = kw.pop("options", [{"code": "maps", "label": "Maps"}, {"code": "training", "label": "Training"}])
    return Variable(name="help_wanted", type="multi", question="What would help?", options=options, **kw)


def test_an_other_specify_coding_frame_is_validated():
    v = _multi(other_specify=True, coding=_coding())
    assert v.other_column == "help_wanted__other" == v.coded_column
    assert v.theme_columns() == {"help_wanted__other__hours": "hours", "help_wanted__other__drugs": "drugs",
                                 "help_wanted__other__help": "help"}
    assert _variable(_coding()).theme_columns()["comments__hours"] == "hours"
    with pytest.raises(ValidationError, match="other_specify"):  # a multi-select without "Other" has no text
        _multi(coding=_coding())
    with pytest.raises(ValidationError, match="help_wanted__other"):  # its yes/no column would be the option's
        _multi(other_specify=True, options=[{"code": "other", "label": "Something else"}])
    with pytest.raises(ValidationError, match="multi-select"):
        Variable(name="gender", type="single", options=["A", "B"], question="?", other_specify=True)


def test_a_bad_coding_frame_stops_loading_with_the_file_named(tmp_path):
    folder = tmp_path / "cfg"
    shutil.copytree(REPO_ROOT / "config" / "maine", folder)
    codebook = folder / "officer_codebook.yaml"
    text = codebook.read_text(encoding="utf-8")
    assert "rules: [shelter, shelters, housing, beds]" in text
    codebook.write_text(text.replace("rules: [shelter, shelters, housing, beds]", "rules: []"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_assessment(folder / "assessment.yaml")
    assert "officer_codebook.yaml" in str(err.value) and "rules" in str(err.value)
    frames = folder / "interview_frames.yaml"
    codebook.write_text(text, encoding="utf-8")
    frames.write_text(frames.read_text(encoding="utf-8").replace("min_kappa: 0.6", "min_kappa: 2"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_assessment(folder / "assessment.yaml")
    assert "interview_frames.yaml" in str(err.value) and "min_kappa" in str(err.value)


# --------------------------------------------------------------------------- hand-coded matrices


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_hand_codes_replace_the_rules_and_measure_them(tmp_path):
    coding = _coding(hand_coded_file="codes.csv")
    _write(tmp_path / "codes.csv", "respondent_id,hours,drugs,help\n1,1,0,0\n2,0,0,1\n3,1,1,0\n4,0,0,0\n99,1,1,1\n")
    answers = np.array(["Overnight calls go nowhere", "who to call", "drug houses", None, "After hours"], dtype=object)
    ids = np.array(["1", "2", "3", "4", "5"], dtype=object)
    coded = code_open_ended(_variable(coding), answers, ids, tmp_path)
    assert list(coded.columns["comments"]) == [CODED_BY_HAND] * 3 + [None, CODED_BY_RULES]
    hours = coded.columns["comments__hours"]
    assert list(hours.to_numpy(dtype=object, na_value=None)) == [True, False, True, None, True]  # 3: by hand
    assert coded.hand_coded == 3  # respondent 4 gave no answer: nothing to code; 99 is not in the export
    assert any("not in this wave's export" in n for n in coded.notes)
    check = {r["theme"]: r for r in coded.rule_check}
    # rules on the hand-coded answers 1-3: hours [T,F,F] vs hand [T,F,T]; drugs [F,F,T] vs [F,F,T]
    assert (check["hours"]["true_positives"], check["hours"]["false_positives"],
            check["hours"]["false_negatives"]) == (1, 0, 1)
    assert (check["drugs"]["true_positives"], check["drugs"]["false_positives"]) == (1, 0)
    table = rule_precision(coded.rule_check, "2015")
    hours_row = table.set_index("theme").loc["hours"]
    assert hours_row["precision"] == 1.0 and hours_row["recall"] == 0.5
    assert (hours_row["recall_low"], hours_row["recall_high"]) == pytest.approx(wilson_interval(1, 2))


def test_without_a_hand_coded_file_the_rules_code_everything(tmp_path):
    coded = code_open_ended(_variable(_coding(hand_coded_file="codes.csv")), np.array(["opioids", ""], dtype=object),
                            np.array(["1", "2"], dtype=object), tmp_path)
    assert list(coded.columns["comments"]) == [CODED_BY_RULES, None] and not coded.rule_check


@pytest.mark.parametrize("content,row,column,problem", [
    ("id,hours,drugs,help\n1,0,0,0\n", 1, None, "no 'respondent_id' column"),
    ("respondent_id,hours,help\n1,0,0\n", 1, None, "theme codes missing from the matrix: drugs"),
    ("respondent_id,hours,drugs,help\n1,0,0,0\n2,0,SecretWord,0\n", 3, "drugs", "not 0 or 1"),
    ("respondent_id,hours,drugs,help\n1,0,0,0\n2,-1,0,0\n", 3, "hours", "not 0 or 1"),
    ("respondent_id,hours,drugs,help\n1,0,0,0\n,1,0,0\n", 3, "respondent_id", "no respondent id"),
    ("respondent_id,hours,drugs,help\n7,0,0,0\n8,0,0,0\n7,1,0,0\n", 4, "respondent_id", "also the id of row 2"),
    ("respondent_id,hours,drugs,help\n1,0,0,0,5\n", None, None, "more cells than the header"),
])
def test_a_bad_hand_coded_file_names_file_row_and_column_never_the_value(tmp_path, content, row, column, problem):
    path = _write(tmp_path / "codes.csv", content)
    with pytest.raises(InputError) as err:
        read_code_matrix(path, _coding(hand_coded_file="codes.csv"), tmp_path)
    e = err.value
    assert e.path == path and e.row == row and e.column == column and problem in str(e) and e.fix
    assert "SecretWord" not in str(e)


def test_a_nvivo_count_matrix_counts_as_raised(tmp_path):
    path = _write(tmp_path / "codes.csv", "respondent_id,hours,drugs,help,Other column\n1.0,3,0,,x\n2,0,1,0,y\n")
    with pytest.raises(InputError):  # a blank theme cell is not a code
        read_code_matrix(path, _coding(), tmp_path)
    _write(path, "respondent_id,hours,drugs,help,Other column\n1.0,3,0,0,x\n2,0,1,0,y\n")
    m = read_code_matrix(path, _coding(), tmp_path)
    assert m.loc["1", "hours"] and not m.loc["2", "hours"] and m.loc["2", "drugs"]


# --------------------------------------------------------------------------- ingest: coded, then dropped


def test_ingest_keeps_the_coding_never_the_text(assessment, tmp_path):
    folder = tmp_path / "2015"
    folder.mkdir()
    shutil.copy(DEMO / "officer_survey.csv", folder)
    raw = read_export(folder / "officer_survey.csv")
    accepted, quarantine, report = to_officer_responses(raw, assessment, "2015")
    comment = next(v for v in assessment.codebook.variables if v.name == "comments")
    texts = {c for row in raw.rows for c in row if isinstance(c, str) and len(c) > 30 and c.endswith(".")}
    assert texts, "the demo export has comments"
    for table in (accepted, quarantine):
        cells = set(table.astype(str).to_numpy().ravel())
        assert not texts & cells
    assert set(accepted["comments"].dropna()) == {CODED_BY_RULES} and not report.rule_check
    theme_cols = [f"comments__{t.code}" for t in comment.coding.themes]
    assert (accepted[theme_cols].notna().all(axis=1) == accepted["comments"].notna()).all()
    # with the demo's hand-coded matrix beside the export, its respondents are coded by hand
    shutil.copy(DEMO / comment.coding.hand_coded_file, folder)
    accepted, _, report = to_officer_responses(read_export(folder / "officer_survey.csv"), assessment, "2015")
    hand = pd.read_csv(folder / comment.coding.hand_coded_file, dtype=str)
    by_hand = accepted["comments"] == CODED_BY_HAND
    assert by_hand.sum() == len(hand) == report.hand_coded["comments"]
    assert set(accepted.loc[by_hand, "respondent_id"]) == set(hand["respondent_id"])
    first = hand.iloc[0]
    row = accepted[accepted["respondent_id"] == first["respondent_id"]].iloc[0]
    assert all(bool(row[f"comments__{t.code}"]) == (first[t.code] == "1") for t in comment.coding.themes)
    assert {r["theme"] for r in report.rule_check} == {t.code for t in comment.coding.themes}


OTHER_FRAMES = {
    "actions_taken": "      themes:\n        - {code: school, label: Schools, rules: [school]}\n"
                     "        - {code: shelter, label: Shelter, rules: [shelter]}\n",
    "help_wanted": "      hand_coded_file: help_other_coded.csv\n      themes:\n"
                   "        - {code: language, label: Languages, rules: [spanish, interpreter]}\n"
                   "        - {code: maps, label: Maps, rules: [map, maps]}\n",
}


def _with_other_frames(tmp_path: Path):
    """Maine's config with a coding frame on both multi-selects' "Other (please specify)"."""
    folder = tmp_path / "cfg"
    shutil.copytree(REPO_ROOT / "config" / "maine", folder)
    codebook = folder / "officer_codebook.yaml"
    lines, out, current = codebook.read_text(encoding="utf-8").splitlines(keepends=True), [], None
    for line in lines:
        if line.startswith("  - name: "):
            current = line.split(":", 1)[1].strip()
        out.append(line)
        if line.strip() == "other_specify: true" and current in OTHER_FRAMES:
            out.append("    coding:\n" + OTHER_FRAMES[current])
    codebook.write_text("".join(out), encoding="utf-8")
    return load_assessment(folder / "assessment.yaml")


def test_other_specify_texts_are_coded_then_dropped(assessment, tmp_path):
    folder = tmp_path / "2015"
    folder.mkdir()
    shutil.copy(DEMO / "officer_survey.csv", folder)
    raw = read_export(folder / "officer_survey.csv")
    others = [c for c in raw.columns if c.kind == "other_text"]
    assert len(others) == 2, "both multi-selects' 'Other (please specify)' columns are recognised as such"
    texts = {t for c in others for t in raw.column(c.position).dropna() if str(t).strip()}
    assert {"Contacted the school resource officer", "Spanish-language materials"} <= texts
    given = [raw.column(c.position).fillna("").astype(str).str.strip().ne("").to_numpy() for c in others]

    def check_dropped(accepted, quarantine):
        for table in (accepted, quarantine):
            assert not texts & set(table.astype(str).to_numpy().ravel())
        assert not [c for c in accepted.columns if "other_text" in c]

    # without a coding frame: only whether an "other" answer was given (missing where the question was skipped)
    accepted, quarantine, report = to_officer_responses(raw, assessment, "2015")
    check_dropped(accepted, quarantine)
    for name, first_option in (("actions_taken", "determined_minor"), ("help_wanted", "clear_definitions")):
        col = accepted[f"{name}__other"]
        assert str(col.dtype) == "boolean" and col.sum() > 0
        assert not [c for c in accepted.columns if c.startswith(f"{name}__other__")]
        assert (col.isna() == accepted[f"{name}__{first_option}"].isna()).all()
    assert int(accepted["actions_taken__other"].sum()) == 3 and int(accepted["help_wanted__other"].sum()) == 5
    assert [int(g.sum()) for g in given] == [3, 5]  # every text given is counted, none invented

    # with coding frames: their themes too, by the rules or the hand codes beside the export
    coded_config = _with_other_frames(tmp_path)
    help_ids = accepted.loc[accepted["help_wanted__other"].fillna(False).astype(bool), "respondent_id"].tolist()
    _write(folder / "help_other_coded.csv", "respondent_id,language,maps\n" + f"{help_ids[0]},0,1\n")
    accepted, quarantine, report = to_officer_responses(read_export(folder / "officer_survey.csv"), coded_config,
                                                        "2015")
    check_dropped(accepted, quarantine)
    school, shelter = accepted["actions_taken__other__school"], accepted["actions_taken__other__shelter"]
    other = accepted["actions_taken__other"].fillna(False).astype(bool)
    assert (school.fillna(False).astype(bool) == other).all() and school[~other].isna().all()
    assert not shelter.fillna(False).any()
    language = accepted["help_wanted__other__language"]
    by_hand = accepted["respondent_id"] == help_ids[0]
    assert not language[by_hand].iloc[0] and accepted.loc[by_hand, "help_wanted__other__maps"].iloc[0]
    assert language.fillna(False).sum() == 4  # the other four by the rules ("Spanish-language materials")
    assert report.hand_coded == {"help_wanted": 1}
    assert {(r["variable"], r["theme"]) for r in report.rule_check} == {("help_wanted", "language"),
                                                                       ("help_wanted", "maps")}
    counts = open_ended_theme_counts(accepted, coded_config, "2015", "officer_survey").set_index(["dataset", "theme"])
    row = counts.loc[("officer_survey.actions_taken", "school")]
    assert (row["n"], row["successes"]) == (3, 3)
    assert ("officer_survey.comments", "training_need") in counts.index


# --------------------------------------------------------------------------- kappa


def _table(a, b):
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    return np.array([[(a & b).sum(), (a & ~b).sum()], [(~a & b).sum(), (~a & ~b).sum()]])


@pytest.mark.parametrize("a,b", [
    ([1, 1, 0, 0, 1, 0, 1, 1, 0, 1], [1, 0, 0, 0, 1, 0, 1, 1, 1, 1]),
    ([1, 0, 1, 0], [0, 1, 0, 1]),                      # complete disagreement: kappa -1
    ([1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0]),          # complete agreement with both codes: kappa 1
    ([1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 0, 1]),          # agreement high, kappa below 0 (prevalence paradox)
    ([0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0]),          # one coder never codes it: kappa 0
])
def test_kappa_equals_statsmodels(a, b):
    assert cohens_kappa(np.array(a, bool), np.array(b, bool)) == pytest.approx(statsmodels_kappa(_table(a, b)).kappa)


def test_kappa_equals_statsmodels_on_random_tables():
    rng = np.random.default_rng(3)
    for _ in range(25):
        n = int(rng.integers(5, 60))
        a = rng.random(n) < rng.random()
        b = np.where(rng.random(n) < 0.8, a, ~a)
        expected = statsmodels_kappa(_table(a, b)).kappa
        got = cohens_kappa(a, b)
        assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # statsmodels divides by zero on the degenerate table
def test_one_category_only_kappa_is_undefined_and_said():
    a = b = np.ones(8, bool)
    assert math.isnan(statsmodels_kappa(_table(a, b)).kappa) and math.isnan(cohens_kappa(a, b))
    first = pd.DataFrame({"t": [True] * 8, "u": [True, False] * 4}, index=[f"i{k}" for k in range(8)])
    rows = agreement_rows(first, first.copy(), [("t", "T"), ("u", "U")], "interviews", "2015", Agreement())
    t, u = rows.iloc[0], rows.iloc[1]
    assert not t["kappa_defined"] and t["flagged"] and t["note"] == KAPPA_UNDEFINED and t["agreement"] == 1.0
    assert math.isnan(t["kappa_low"]) and t["units"] == 8
    assert u["kappa_defined"] and u["kappa"] == 1.0 and not u["flagged"]
    assert (t["agreement_low"], t["agreement_high"]) == pytest.approx(wilson_interval(8, 8))


def test_agreement_over_units_both_coded_with_a_seeded_bootstrap():
    rng = np.random.default_rng(0)
    ids = [f"S-{k}" for k in range(40)]
    a = rng.random(40) < 0.5
    b = np.where(rng.random(40) < 0.85, a, ~a)
    first = pd.DataFrame({"t": a}, index=ids)
    second = pd.DataFrame({"t": b}, index=ids).iloc[5:]  # the second coder coded 35 of them
    second.loc["S-new"] = True                            # and one the first did not
    settings = Agreement(min_kappa=0.95)
    rows = agreement_rows(first, second, [("t", "T")], "interviews", "2015", settings)
    r = rows.iloc[0]
    assert r["units"] == 35 and r["kappa"] == pytest.approx(statsmodels_kappa(_table(a[5:], b[5:])).kappa)
    assert r["kappa_low"] <= r["kappa"] <= r["kappa_high"] and r["flagged"]  # below 0.95
    again = agreement_rows(first, second, [("t", "T")], "interviews", "2015", settings)
    assert again.equals(rows)  # seeded
    assert all(math.isnan(x) for x in kappa_interval(a[:1], b[:1], settings))  # one unit: no interval


def test_the_demo_wave_reports_agreement(assessment):
    table = wave_agreement(assessment, DEMO, "2015")
    assert set(table["source"]) == {"stakeholder_interviews", "officer_survey.comments"}
    stake = table[table["source"] == "stakeholder_interviews"]
    assert len(stake) == len(assessment.frames.stakeholder_interviews.themes)
    assert (stake["units"] == len(pd.read_csv(DEMO / "stakeholder_interviews_coder2.csv"))).all()
    assert stake["flagged"].any() and not stake["flagged"].all()


# --------------------------------------------------------------------------- the gate


def test_theme_counts_of_open_ended_answers_go_through_the_themes_rule(assessment):
    comment = next(v for v in assessment.codebook.variables if v.name == "comments")
    codes = [t.code for t in comment.coding.themes]
    n = 40
    frame = pd.DataFrame({"comments": ["coded by rules"] * 30 + [None] * 10})
    for k, code in enumerate(codes):
        raised = np.zeros(n, bool)
        raised[: (20 if k == 0 else 2)] = True
        frame[f"comments__{code}"] = pd.array(np.where(frame["comments"].notna(), raised, None), dtype="boolean")
    counts = open_ended_theme_counts(frame, assessment, "2015", "officer_survey")
    first = counts[counts["theme"] == codes[0]].iloc[0]
    assert (first["respondents"], first["n"], first["successes"]) == (40, 30, 20)
    policy = DisclosurePolicy.from_assessment(assessment)
    published = publish_themes(counts, policy)
    shown = published.set_index("theme")
    assert not shown.loc[codes[0], "suppressed"] and shown.loc[codes[0], "mentioned"] == 20
    assert shown.loc[codes[1], "suppressed"] and math.isnan(shown.loc[codes[1], "mentioned"])
    # the rules' precision and the coders' agreement of a hidden theme are hidden with it
    check = [{"variable": "comments", "theme": c, "label": c, "hand_coded": 10, "hand_yes": 8, "rules_yes": 8,
              "true_positives": 8, "false_positives": 0, "false_negatives": 0} for c in codes[:2]]
    precision = publish_rule_precision(rule_precision(check, "2015"), published, "officer_survey", policy)
    assert list(precision["suppressed"]) == [False, True] and math.isnan(precision["precision"].iloc[1])
    first_coder = pd.DataFrame({c: [True, False] * 5 for c in codes[:2]}, index=[str(i) for i in range(10)])
    agreement = agreement_rows(first_coder, first_coder, [(c, c) for c in codes[:2]], "officer_survey.comments",
                               "2015", Agreement())
    out = publish_agreement(agreement, [None, published], policy)
    assert list(out["suppressed"]) == [False, True] and math.isnan(out["kappa"].iloc[1]) and out["kappa"].iloc[0] == 1


def test_no_precision_recall_or_agreement_rests_on_fewer_than_the_minimum(assessment):
    """Maine's rule holds for coding statistics too: a precision over fewer than 6 answers coded by the
    rules, a recall over fewer than 6 coded by hand, an agreement over fewer than 6 units hides its row."""
    policy = DisclosurePolicy.from_assessment(assessment)
    m = policy.min_cell_count
    rows = [{"variable": "comments", "theme": f"t{i}", "label": f"t{i}", "hand_coded": 40, "hand_yes": hand,
             "rules_yes": rules, "true_positives": min(hand, rules), "false_positives": rules - min(hand, rules),
             "false_negatives": hand - min(hand, rules)}
            for i, (hand, rules) in enumerate([(m, m), (m, m - 1), (m - 1, m), (20, 12)])]
    out = publish_rule_precision(rule_precision(rows, "2015"), None, "officer_survey", policy)
    assert list(out["suppressed"]) == [False, True, True, False]
    assert out["precision"].iloc[1:3].isna().all() and out["recall"].iloc[1:3].isna().all()
    assert out["precision"].iloc[[0, 3]].notna().all()
    assert all(f"fewer than {m}" in r for r in out["suppression_reason"].iloc[1:3])
    codes = ["a", "b"]
    small = pd.DataFrame({c: [True, False] * 5 for c in codes}, index=[str(i) for i in range(10)])
    for units, hidden in [(m - 1, True), (m, False)]:
        coder = small.iloc[:units]
        agreement = agreement_rows(coder, coder, [(c, c) for c in codes], "officer_survey.comments", "2015",
                                   Agreement())
        published = publish_agreement(agreement, [None], policy)
        assert list(published["suppressed"]) == [hidden, hidden]
        assert published["kappa"].isna().all() == hidden


def test_the_gate_publishes_the_new_tables(assessment):
    from assets.publication.gate import PUBLISHED_TABLES

    for name in ("published_open_ended_themes", "published_rule_precision", "published_intercoder_agreement"):
        spec = PUBLISHED_TABLES[name]
        assert len(spec.title) <= 31 and "text" not in spec.columns


def test_a_comment_question_not_collected_has_empty_themes_and_no_counts(assessment, tmp_path):
    import csv
    import io

    rows = list(csv.reader(io.StringIO((DEMO / "officer_survey.csv").read_text(encoding="utf-8-sig"), newline="")))
    drop = rows[1].index("Open-Ended Response")
    path = tmp_path / "officer_survey.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([r[:drop] + r[drop + 1:] for r in rows])
    path.write_text(buf.getvalue(), encoding="utf-8")
    accepted, _, report = to_officer_responses(read_export(path), assessment, "2015")
    assert "comments" in report.not_collected
    comment = next(v for v in assessment.codebook.variables if v.name == "comments")
    cols = [f"comments__{t.code}" for t in comment.coding.themes]
    assert set(cols) <= set(accepted.columns) and accepted[cols].isna().all().all()
    assert open_ended_theme_counts(accepted, assessment, "2015", "officer_survey").empty
