"""End to end: the services page draws on the stakeholder survey where the provider inventory is silent.

The demo wave run with a state's rule of 3 (``disclosure.min_cell_count: 3``; at Maine's 6 every county count
of the demo's 120 stakeholder respondents is hidden): the counts the gate lets through are on the page, marked
as reported by the survey's respondents, only where the inventory lists no provider; the other silent cells
say "no information", never 0; the inventory's own counts are as published.
"""

from __future__ import annotations

import html as htmllib
import re
import shutil

import duckdb
import pytest

from pipelines.config import REPO_ROOT, load_assessment
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def rule_of_three(tmp_path_factory):
    root = tmp_path_factory.mktemp("evidence")
    config = root / "config"
    shutil.copytree(REPO_ROOT / "config" / "maine", config)
    text = (config / "assessment.yaml").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^  min_cell_count: 6$", "  min_cell_count: 3", text)
    assert n == 1
    (config / "assessment.yaml").write_text(text, encoding="utf-8")
    assessment = load_assessment(config / "assessment.yaml")
    data = root / "data"
    code, _, err = run_cli(["synth", "--wave", "2015", "--out", str(data / "incoming" / "2015")])
    assert code == 0, err
    code, out, err = run_cli(["run", "--wave", "2015", "--config", str(config / "assessment.yaml"), "--data",
                              str(data), "--warehouse", str(root / "htna.duckdb"), "--output", str(root / "site")])
    assert code == 0, err
    with duckdb.connect(str(root / "htna.duckdb"), read_only=True) as con:
        coverage = con.execute("SELECT * FROM assessment.published_service_coverage").df()
        evidence = con.execute("SELECT * FROM assessment.published_stakeholder_services").df()
    return assessment, (root / "site" / "2015" / "services.html").read_text(encoding="utf-8"), coverage, evidence


def _table(page: str, table_id: str) -> list[list[tuple[str, str]]]:
    """The rows of a table on the page: each cell as (its data-source, its text)."""
    body = page.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r'<t[hd]([^>]*)>(.*?)</t[hd]>', tr, flags=re.S)
        rows.append([((re.search(r'data-source="(\w+)"', a) or [None, ""])[1], htmllib.unescape(t).strip())
                     for a, t in cells])
    return rows


def test_the_page_shows_survey_counts_where_the_inventory_is_silent_labelled_as_such(rule_of_three):
    assessment, page, coverage, evidence = rule_of_three
    source = "reported by stakeholder survey respondents"
    assert (evidence["source"] == source).all()
    shown = evidence[(evidence["measure"] == "provides") & ~evidence["suppressed"].astype(bool)]
    silent = coverage[coverage["providers"] == 0]
    on_page = shown.merge(silent[["county", "service_type"]], on=["county", "service_type"])
    assert len(on_page) > 0  # the run has survey counts to show where the inventory lists none
    assert source in page and "no information" in page

    labels = [t.label for t in assessment.config.services.types]
    matrix = {row[0][1]: dict(zip(labels, row[1:])) for row in _table(page, "coverage-table")}
    for r in coverage.itertuples():
        label = r.service_label
        kind, text = matrix[r.county][label]
        if r.providers > 0:  # the inventory's count, as published, unmarked
            assert kind == "" and text.startswith(f"{int(r.providers)} (")
            continue
        said = on_page[(on_page["county"] == r.county) & (on_page["service_type"] == r.service_type)]
        if len(said):  # the survey's count, marked as the respondents'
            assert kind == "survey" and text.startswith(f"{int(said['organisations'].iloc[0])}*"), (r.county, label)
        else:  # neither source: no information, not 0
            assert kind == "none" and text == "no information", (r.county, label, text)

    listed = {(row[0][1], row[1][1]): [t for _, t in row[2:]] for row in _table(page, "survey-evidence-table")}
    assert set(listed) == {(r.county, r.service_label) for r in silent.itertuples()}
    for r in on_page.itertuples():
        organisations, _, said_by = listed[(r.county, r.service_label)]
        assert organisations == f"{int(r.organisations)}*" and said_by == source
