"""Trends, changes and recommendation tracking on the report, from published cells only."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.estimates.trends import indicator_trends
from assets.publication.policy import DisclosurePolicy
from assets.publication.trends import publish_changes
from assets.report import tracking
from pipelines.errors import ConfigError

POLICY = DisclosurePolicy()


def _headline(wave: str, est: float, n: int = 100, indicator: str = "trained_sex") -> dict:
    se = (est * (1 - est) / n) ** 0.5
    return {"wave": wave, "indicator": indicator, "label": indicator.replace("_", " "), "domain": "all",
            "level": "All officers", "weighted": True, "featured": True, "n": n, "successes": round(est * n),
            "estimate": est, "se": se, "ci_low": est - 1.96 * se, "ci_high": est + 1.96 * se, "ci_method": "logit",
            "deff": 1.0, "published_2015": None}


def _history(headline: pd.DataFrame, hidden: set[tuple[str, str]] = frozenset()) -> pd.DataFrame:
    """The published history as the gate stores it: each figure rounded, the listed (wave,
    indicator) cells hidden."""
    out = headline.rename(columns={"wave": "survey_wave"}).copy()
    out["suppressed"] = [(w, i) in hidden for w, i in zip(out["survey_wave"], out["indicator"])]
    out["suppression_reason"] = ["primary" if s else "" for s in out["suppressed"]]
    for col in ("estimate", "ci_low", "ci_high"):
        out[col] = POLICY.share(out[col].to_numpy(dtype=float))
        out.loc[out["suppressed"], col] = float("nan")
    out["wave"] = "2016"
    return out


def test_progress_reads_direction_against_the_better_way():
    assert tracking.progress("up", "up") == "improved"
    assert tracking.progress("down", "up") == "worsened"
    assert tracking.progress("down", "down") == "improved"
    assert tracking.progress("no clear change", "up") == "no clear change"


def test_changes_are_shown_only_between_published_cells():
    headline = pd.DataFrame([_headline("2015", 0.40), _headline("2016", 0.60),
                             _headline("2015", 0.30, indicator="trained_labor"),
                             _headline("2016", 0.35, n=100, indicator="trained_labor")])
    trends = indicator_trends(headline, up_to_wave="2016")
    history = _history(headline)
    changes = publish_changes(trends, history, POLICY)
    assert set(changes["indicator"]) == {"trained_sex", "trained_labor"}
    by_key = tracking.change_since_previous(changes)
    sex = by_key[("trained_sex", "all", "All officers", True)]
    assert sex["direction"] == "up" and sex["change"] == pytest.approx(0.20)
    assert (changes["change"] * 100).round(6).mod(1).eq(0).all()  # whole points, as every share
    # the 2016 labour cell hidden: its change is not shown (it would give the cell back)
    history = _history(headline, hidden={("2016", "trained_labor")})
    changes = publish_changes(trends, history, POLICY)
    assert list(changes["indicator"]) == ["trained_sex"]
    rows = tracking.trend_rows(history, changes, "2016")
    labor = next(r for r in rows["rows"] if r["indicator"] == "trained_labor")
    assert labor["by_wave"]["2016"] is None and labor["changes"] == []
    assert rows["waves"] == ["2015", "2016"] and rows["previous"] == "2015"


def test_recommendations_page_rows_follow_the_config(assessment):
    headline = pd.DataFrame([_headline("2015", 0.40), _headline("2016", 0.60),
                             _headline("2015", 0.45, indicator="trained_labor"),
                             _headline("2016", 0.44, indicator="trained_labor")])
    history = _history(headline)
    changes = publish_changes(indicator_trends(headline, up_to_wave="2016"), history, POLICY)
    current = history[history["survey_wave"] == "2016"]
    rows = tracking.recommendation_rows(assessment, current, changes, None, None)
    assert [r["number"] for r in rows] == [1, 2, 3, 4, 5, 6, 7]
    one = next(m for m in rows[0]["measures"] if m["label"] == "trained sex")
    assert one["status"] == "improved" and one["better"] == "up"
    seven = rows[6]["measures"][0]
    assert seven["status"] == "no clear change"
    # an indicator without a cell this wave reads as hidden, never as a number
    missing = next(m for m in rows[0]["measures"] if m["label"] != "trained sex")
    assert missing["estimate"] is None and missing["status"] == "hidden this wave"
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


def test_a_wave_missing_from_the_history_is_named_on_the_trends_page():
    """2016 failed (no published figures): the 2017 page compares with 2015 and says why 2016 is absent."""
    from jinja2 import Environment, FileSystemLoader

    from assets.report.site import TEMPLATES, Provenance, _p_value, _pct, _points

    headline = pd.DataFrame([_headline("2015", 0.40), _headline("2017", 0.60)])
    history = _history(headline)
    changes = publish_changes(indicator_trends(headline, up_to_wave="2017"), history, POLICY)
    rows = tracking.trend_rows(history, changes, "2017", ["2015", "2016", "2017", "2018"])
    assert rows["missing"] == ["2016"] and rows["previous"] == "2015"
    assert tracking.trend_rows(history, changes, "2017", ["2015", "2017"])["missing"] == []
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)))
    env.filters.update(pct=_pct, points=_points, p_value=_p_value)
    prov = Provenance(wave="2017", code_version="test", built_at="now", synthetic=False, state="Maine", min_cell_count=6)
    html = env.get_template("trends.html.j2").render(prov=prov, pages=[], current="trends.html", trend=rows,
                                                     trend_chart="")
    note = html.split('id="missing-waves">')[1].split("</p>")[0]
    assert "Wave 2016" in " ".join(note.split()) and "compares 2017 with 2015" in " ".join(note.split())


def test_progress_at_a_glance_counts_each_direction_of_a_recommendations_measures():
    from assets.report.tracking import progress_at_a_glance

    def rec(*statuses, themes=(), services=()):
        return {"measures": [{"status": s} for s in statuses], "themes": list(themes), "services": list(services)}

    assert progress_at_a_glance(rec("improved", "no clear change", "improved")) == \
        "3 measures: 2 improved, 1 no clear change"
    assert progress_at_a_glance(rec("worsened")) == "1 measure: 1 worsened"
    assert progress_at_a_glance(rec("no earlier wave to compare", "no earlier wave to compare")).startswith("first wave")
    assert progress_at_a_glance(rec(themes=["x"])) == "followed by interviews and service cover"
    assert progress_at_a_glance(rec()) == "not measured by the survey"
