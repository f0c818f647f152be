"""The same synthetic wave, exported in every supported layout, gives identical canonical tables."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.ingest.layouts import LAYOUTS, SUFFIX, write_layout
from assets.ingest.officer_responses import to_officer_responses
from assets.ingest.readers import read_export

EXPECTED = {  # layout -> (detected format, container, encoding)
    "surveymonkey_csv": ("surveymonkey", "csv", "UTF-8"),
    "surveymonkey_xlsx": ("surveymonkey", "xlsx", "XLSX"),
    "qualtrics_csv": ("qualtrics", "csv", "UTF-8 with BOM"),
    "qualtrics_tsv": ("qualtrics", "tsv", "UTF-16"),
    "qualtrics_legacy_csv": ("qualtrics_legacy", "csv", "UTF-8"),
    "spss": ("spss", "sav", "SPSS"),
    "redcap_raw": ("redcap", "csv", "UTF-8"),
    "redcap_labels": ("redcap_labels", "csv", "UTF-8"),
    "plain_csv": ("plain", "csv", "UTF-8"),
    "plain_xlsx": ("plain", "xlsx", "XLSX"),
}
# platform-specific columns that not every layout carries
PLATFORM_ONLY = {"source_row", "collector_id", "finished", "progress"}


@pytest.fixture(scope="module")
def answers(assessment):
    from assets.ingest.synthetic import generate_officer_answers

    return generate_officer_answers(assessment, "2016", 11, 160)


@pytest.fixture(scope="module")
def loaded(assessment, answers, tmp_path_factory):
    out = tmp_path_factory.mktemp("layouts")
    tables = {}
    for layout in LAYOUTS:
        path = write_layout(layout, assessment, answers, out / f"{layout}{SUFFIX[layout]}")
        raw = read_export(path)
        accepted, quarantine, report = to_officer_responses(raw, assessment, "2016")
        tables[layout] = (raw, accepted, quarantine, report)
    return tables


def test_every_layout_is_detected(loaded):
    assert set(EXPECTED) == set(LAYOUTS)
    for layout, (raw, *_rest) in loaded.items():
        assert (raw.format, raw.container, raw.encoding) == EXPECTED[layout], layout


def test_every_layout_matches_every_question(loaded):
    for layout, (_raw, accepted, quarantine, report) in loaded.items():
        assert report.missing_variables == [], layout
        assert report.unmatched_questions == [], layout
        assert report.value_problems == [], layout
        assert len(accepted) == 160 and quarantine.empty and report.reconciles(), layout


def test_identical_canonical_tables(loaded):
    reference = loaded["surveymonkey_csv"][1]
    cols = [c for c in reference.columns if c not in PLATFORM_ONLY]
    assert len(cols) > 30
    for layout, (_raw, accepted, _q, _r) in loaded.items():
        assert list(accepted.columns) == list(reference.columns), layout
        pd.testing.assert_frame_equal(accepted[cols], reference[cols], check_dtype=False, obj=layout)


def test_canonical_table_carries_the_generated_answers(loaded, answers, assessment):
    accepted = loaded["qualtrics_tsv"][1]
    assert list(accepted["respondent_id"]) == list(answers["respondent_id"].astype(str))
    for v in assessment.codebook.variables:
        if v.type == "single":
            got = accepted[v.name].astype(object).where(accepted[v.name].notna(), None).tolist()
            assert got == answers[v.name].tolist(), v.name
    ticks = accepted["actions_taken__called_advocate"]
    assert ticks.notna().sum() > 10 and ticks.sum() > 5  # multi-selects really came through
    got = [None if pd.isna(x) else bool(x) for x in ticks]
    assert got == [None if x is None else bool(x) for x in answers["actions_taken__called_advocate"]]


def test_platform_fields_are_kept(loaded):
    qualtrics = loaded["qualtrics_csv"][1]
    assert qualtrics["finished"].all() and (qualtrics["progress"] == 100).all()
    redcap = loaded["redcap_raw"][1]
    assert redcap["finished"].all()  # <form>_complete == 2
    sm = loaded["surveymonkey_csv"][1]
    assert sm["collector_id"].notna().all() and sm["finished"].isna().all()
