"""Committed exports of every layout still read into the committed canonical table."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from assets.ingest.layouts import LAYOUTS, SUFFIX
from assets.ingest.officer_responses import to_officer_responses
from assets.ingest.readers import read_export
from pipelines.config import REPO_ROOT

FORMATS = REPO_ROOT / "tests" / "fixtures" / "exports" / "formats"
PLATFORM_ONLY = ["source_row", "collector_id", "finished", "progress"]


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """As text, the way expected.csv stores it (blank = missing)."""
    buf = io.StringIO()
    frame.drop(columns=PLATFORM_ONLY).to_csv(buf, index=False, lineterminator="\n")
    return pd.read_csv(io.StringIO(buf.getvalue()), dtype=str, keep_default_na=False)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_fixture_reads_to_expected_table(layout, assessment):
    expected = pd.read_csv(FORMATS / "expected.csv", dtype=str, keep_default_na=False)
    accepted, quarantine, report = to_officer_responses(read_export(FORMATS / f"{layout}{SUFFIX[layout]}"),
                                                        assessment, "2015")
    assert quarantine.empty and not report.unmatched_questions and not report.missing_variables
    got = _canonical(accepted)
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False, obj=layout)
