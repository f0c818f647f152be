"""The executive summary's findings: template + published figures, never a number of their own."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from assets.report.findings import (after_hours_finding, change_words, indicator_findings, prevalence_finding,
                                    summary_findings)
from pipelines.config import load_assessment


def _indicators(rng: np.random.Generator, ids: list[str], published: bool = True) -> pd.DataFrame:
    rows = []
    for i in ids:
        est = round(float(rng.uniform(0.2, 0.8)), 2)
        for weighted, shift in ((True, 0.0), (False, 0.01)):
            rows.append({"indicator": i, "label": f"Label of {i}", "domain": "all", "level": "all", "featured": True,
                         "weighted": weighted, "estimate": est + shift, "ci_low": est + shift - 0.07,
                         "ci_high": est + shift + 0.06, "published_2015": round(est - 0.03, 2) if published else np.nan,
                         "suppressed": False, "suppression_reason": ""})
    return pd.DataFrame(rows)


NO_CHANGES = pd.DataFrame(columns=["indicator", "domain", "level", "weighted", "compared_with", "comparison",
                                   "change", "ci_low", "ci_high", "direction"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_indicator_findings_carry_the_published_figures_and_intervals(seed):
    rng = np.random.default_rng(seed)
    ids = [f"ind{k}" for k in range(6)]
    table = _indicators(rng, ids)
    found = indicator_findings(table, NO_CHANGES, prefer=["ind4", "ind2"], limit=4)
    assert len(found) == 4
    assert found[0].text.startswith("Label of ind4") and found[1].text.startswith("Label of ind2")
    for f in found:
        ind = f.text.split(":")[0].removeprefix("Label of ")
        w = table[(table["indicator"] == ind) & table["weighted"]].iloc[0]  # the weighted figure is preferred
        assert f"{100 * w['estimate']:.0f}% (likely between {100 * w['ci_low']:.0f}% and {100 * w['ci_high']:.0f}%)" in f.text
        assert f"the 2015 assessment published {100 * w['published_2015']:.0f}%" in f.text


def test_hidden_cells_never_become_findings_and_withheld_weighted_falls_back_to_respondents():
    rng = np.random.default_rng(7)
    table = _indicators(rng, ["a", "b", "c"])
    table.loc[table["indicator"] == "a", "suppressed"] = True
    table.loc[table["indicator"] == "a", "estimate"] = np.nan
    table = table[~((table["indicator"] == "b") & table["weighted"])]  # weighted figure withheld
    found = indicator_findings(table, NO_CHANGES, prefer=["a", "b", "c"], limit=8)
    texts = [f.text for f in found]
    assert not any(t.startswith("Label of a:") for t in texts)
    b = next(t for t in texts if t.startswith("Label of b:"))
    u = table[(table["indicator"] == "b") & ~table["weighted"]].iloc[0]
    assert f"{100 * u['estimate']:.0f}%" in b and "share of respondents" in b


def test_change_since_previous_wave_is_called_only_when_its_interval_excludes_zero():
    up = {"change": 0.08, "ci_low": 0.02, "ci_high": 0.14, "direction": "up"}
    flat = {"change": 0.03, "ci_low": -0.04, "ci_high": 0.1, "direction": "no clear change"}
    assert change_words(up, "2016").startswith("up 8 points since 2016, a clear change")
    assert "likely between +2 and +14 points" in change_words(up, "2016")
    assert change_words(flat, "2016").startswith("no clear change since 2016")
    rng = np.random.default_rng(3)
    table = _indicators(rng, ["x", "y"])
    changes = pd.DataFrame([{"indicator": "x", "domain": "all", "level": "all", "weighted": True,
                             "compared_with": "2016", "comparison": "previous wave", **up}])
    found = indicator_findings(table, changes, prefer=["y", "x"], limit=2)
    x = next(f.text for f in found if f.text.startswith("Label of x"))
    assert "up 8 points since 2016" in x
    # and the earlier published figure is still given beside the change
    assert "the 2015 assessment published" in x


def test_prevalence_finding_puts_the_published_range_beside_the_estimate():
    a = load_assessment()
    prev = pd.DataFrame([{"stratum": "all", "estimate": 321.0, "ci_low": 250.0, "ci_high": 430.0, "observed": 111.0,
                          "suppressed": False}])
    f = prevalence_finding(prev, a.context)
    p = a.context.prevalence
    assert "estimated 321 victims" in f.text and "likely between 250 and 430" in f.text and "111 distinct" in f.text
    assert f"{p.likely_low}–{p.likely_high} {p.what}" in f.text
    assert f"from {p.range_low} to {p.range_high}" in f.text
    assert prevalence_finding(prev.assign(suppressed=True), a.context) is None


def test_after_hours_finding_counts_counties_from_the_published_tables():
    coverage = pd.DataFrame({"county": [f"C{k}" for k in range(9)], "service_type": "emergency_response",
                             "service_label": "Emergency response"})
    gaps = pd.DataFrame({"county": ["C2", "C5"], "required_without_after_hours": "emergency_response"})
    f = after_hours_finding(gaps, coverage)
    assert f.text == "2 of 9 counties have no emergency response reachable after hours: C2, C5."


def test_summary_has_at_most_eight_findings_each_with_a_number():
    rng = np.random.default_rng(11)
    pub = {"published_indicators": _indicators(rng, [f"i{k}" for k in range(12)]),
           "published_changes": NO_CHANGES,
           "published_prevalence": pd.DataFrame([{"stratum": "all", "estimate": 150.0, "ci_low": 120.0,
                                                  "ci_high": 200.0, "observed": 80.0, "suppressed": False}])}
    found = summary_findings(pub, prefer=[], context=load_assessment().context)
    assert 5 <= len(found) <= 8
    assert all(re.search(r"\d", f.text) for f in found)
    assert sum("victims" in f.text for f in found) == 1


def test_glossary_links_a_terms_first_use_in_text_only():
    from assets.report.glossary import glossary, link_terms

    ids = {t["id"] for t in glossary()["terms"]}
    assert {"wilson", "design-based", "eblup", "reml", "deff", "logit", "csv-columns"} <= ids
    html = ('<h2>REML</h2><p>Fitted by REML, then REML again; a <a href="x">Wilson interval</a> and a Wilson interval.</p>'
            '<script>var REML = 1;</script>')
    out = link_terms(html)
    assert out.count('href="glossary.html#reml"') == 1
    assert "<h2>REML</h2>" in out and "var REML = 1" in out  # headings and scripts untouched
    assert 'Fitted by <a class="term" href="glossary.html#reml">REML</a>' in out
    assert out.count('href="glossary.html#wilson"') == 1 and '<a href="x">Wilson interval</a>' in out
