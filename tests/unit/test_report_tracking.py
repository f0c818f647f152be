"""Trends, changes and recommendation tracking on the report, from published cells only."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.estimates.publish import DisclosureRules
from assets.estimates.trends import indicator_trends
from assets.report import tracking
from pipelines.errors import ConfigError


def _headline(wave: str, est: float, n: int = 100, suppressed: bool = False, indicator: str = "trained_sex") -> dict:
    se = (est * (1 - est) / n) ** 0.5
    return {"wave": wave, "indicator": indicator, "label": indicator.replace("_", " "), "domain": "all",
            "level": "All officers", "weighted": True, "featured": True, "n": n, "successes": round(est * n),
            "estimate": est, "se": se, "ci_low": est - 1.96 * se, "ci_high": est + 1.96 * se, "ci_method": "logit",
            "deff": 1.0, "published_2015": None, "suppressed": suppressed, "suppression_reason": ""}


def test_progress_reads_direction_against_the_better_way():
    assert tracking.progress("up", "up") == "improved"
    assert tracking.progress("down", "up") == "worsened"
    assert tracking.progress("down", "down") == "improved"
    assert tracking.progress("no clear change", "up") == "no clear change"


def test_changes_are_shown_only_between_published_cells():
    rules = DisclosureRules(min_count=6)
    headline = pd.DataFrame([_headline("2015", 0.40), _headline("2016", 0.60),
                             _headline("2015", 0.30, indicator="trained_labor"),
                             _headline("2016", 0.35, n=100, indicator="trained_labor")])
    trends = indicator_trends(headline, up_to_wave="2016")
    history = tracking.published_history(headline, "2016", rules)
    changes = tracking.published_changes(trends, history)
    assert set(changes["indicator"]) == {"trained_sex", "trained_labor"}
    by_key = tracking.change_since_previous(changes)
    sex = by_key[("trained_sex", "all", "All officers", True)]
    assert sex["direction"] == "up" and sex["change"] == pytest.approx(0.20)
    # the same 2016 cell published suppressed (here: resting on 5 respondents) drops the comparison
    small = headline.copy()
    small.loc[(small["wave"] == "2016") & (small["indicator"] == "trained_labor"), ["n", "successes"]] = [5, 2]
    history = tracking.published_history(small, "2016", rules)
    assert history.loc[(history["wave"] == "2016") & (history["indicator"] == "trained_labor"), "suppressed"].all()
    changes = tracking.published_changes(trends, history)
    assert list(changes["indicator"]) == ["trained_sex"]
    rows = tracking.trend_rows(history, changes, "2016")
    labor = next(r for r in rows["rows"] if r["indicator"] == "trained_labor")
    assert labor["by_wave"]["2016"] is None and labor["changes"] == []
    assert rows["waves"] == ["2015", "2016"] and rows["previous"] == "2015"


def test_recommendations_page_rows_follow_the_config(assessment):
    rules = DisclosureRules(min_count=6)
    headline = pd.DataFrame([_headline("2015", 0.40), _headline("2016", 0.60),
                             _headline("2015", 0.45, indicator="trained_labor"),
                             _headline("2016", 0.44, indicator="trained_labor")])
    history = tracking.published_history(headline, "2016", rules)
    changes = tracking.published_changes(indicator_trends(headline, up_to_wave="2016"), history)
    current = history[history["wave"] == "2016"]
    rows = tracking.recommendation_rows(assessment, current, changes, None, None, 6)
    assert [r["number"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    one = next(m for m in rows[0]["measures"] if m["label"] == "trained sex")
    assert one["status"] == "improved" and one["better"] == "up"
    seven = rows[6]["measures"][0]
    assert seven["status"] == "no clear change"
    # an indicator without a cell this wave reads as suppressed, never as a number
    missing = next(m for m in rows[0]["measures"] if m["label"] != "trained sex")
    assert missing["estimate"] is None and missing["status"] == "suppressed this wave"
    assert rows[5]["note"] and not rows[5]["measures"]


def test_recommendations_naming_unknown_measures_fail_on_load(tmp_path):
    import shutil

    from pipelines.config import REPO_ROOT, load_assessment

    config = tmp_path / "config"
    shutil.copytree(REPO_ROOT / "config" / "maine", config)
    recs = config / "recommendations.yaml"
    recs.write_text(recs.read_text(encoding="utf-8").replace("indicator: trained_labor", "indicator: nonesuch")
                    .replace("themes: [mentorship_support]", "themes: [no_theme]"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_assessment(config / "assessment.yaml")
    assert "unknown indicator 'nonesuch'" in str(err.value) and "unknown interview theme 'no_theme'" in str(err.value)
    (config / "counties.geojson").unlink()
    recs.unlink()
    with pytest.raises(ConfigError, match="county_geometry"):
        load_assessment(config / "assessment.yaml")
