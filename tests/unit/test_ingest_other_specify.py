"""'Other (please specify)' in every platform layout: recognised as the question's "Other" answer,
kept as ``<question>__other`` (yes/no), its text never in the table (issue 21: coded, never published)."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.ingest import layouts
from assets.ingest.layouts import LAYOUTS, SUFFIX, write_layout
from assets.ingest.officer_responses import to_officer_responses
from assets.ingest.readers import read_export
from assets.ingest.synthetic import generate_officer_answers

ACTION, HELP = "CanaryActionOtherQx17", "CanaryHelpOtherWp22"
EXTRA = {  # layouts of the platforms beside the ten of LAYOUTS
    "surveymonkey_condensed_csv": lambda a, ans, p: layouts.write_delimited(
        layouts.surveymonkey_rows(a, ans, condensed=True), p),
    "qualtrics_split_multi_csv": lambda a, ans, p: layouts.write_delimited(
        layouts.qualtrics_rows(a, ans, split_multi=True), p, ",", "utf-8-sig"),
}


@pytest.fixture(scope="module")
def answers(assessment) -> pd.DataFrame:
    ans = generate_officer_answers(assessment, "2015", 21, 12)
    ans["actions_taken__other_text"] = None
    ans["help_wanted__other_text"] = None
    handled = ans.index[ans["actions_taken__determined_minor"].notna()]
    asked = ans.index[ans["help_wanted__clear_definitions"].notna()]
    assert len(handled) and len(asked) >= 2
    ans.loc[handled[0], "actions_taken__other_text"] = ACTION
    ans.loc[asked[:2], "help_wanted__other_text"] = HELP
    return ans


@pytest.mark.parametrize("layout", [*LAYOUTS, *EXTRA])
def test_other_specify_is_recognised_and_kept_as_yes_no_only(layout, assessment, answers, tmp_path):
    path = tmp_path / f"officer_survey{SUFFIX.get(layout, '.csv')}"
    if layout in EXTRA:
        EXTRA[layout](assessment, answers, path)
    else:
        write_layout(layout, assessment, answers, path)
    accepted, quarantine, report = to_officer_responses(read_export(path), assessment, "2015")
    assert quarantine.empty and not report.unmatched_questions, report.unmatched_questions
    assert "actions_taken__other" not in report.not_collected and "help_wanted__other" not in report.not_collected
    by_id = accepted.set_index("respondent_id")
    ids = answers["respondent_id"].astype(str)
    for name in ("actions_taken", "help_wanted"):
        wrote = answers[f"{name}__other_text"].notna().to_numpy()
        got = by_id.loc[ids, f"{name}__other"]
        assert got[wrote].tolist() == [True] * int(wrote.sum()), layout
        assert not got[~wrote].fillna(False).any(), layout
    cells = set(accepted.astype(str).to_numpy().ravel()) | set(quarantine.astype(str).to_numpy().ravel())
    assert not {c for c in cells if ACTION in c or HELP in c}
    assert not [c for c in accepted.columns if "other_text" in c]
