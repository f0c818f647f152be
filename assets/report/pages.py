"""The site's pages beyond the executive summary, built from the publication gate's tables only.

Each function turns published tables (:mod:`assets.publication.gate`) into what a template prints;
nothing here decides what may be shown or computes a number readers could not read off the
published tables. A hidden figure prints as "hidden" with its reason (see
:data:`assets.publication.policy.REASON_TEXT`), never as zero.
"""

from __future__ import annotations

import json

import pandas as pd

from assets.report import tracking
from assets.report.coding import coded_questions, coding_quality, open_ended_themes
from assets.report.cells import HIDDEN, _records, _without, is_missing, shown_count  # noqa: F401 - the pages' cells
from assets.report.county_map import county_map
from assets.report.glossary import glossary
from assets.report.quality_page import data_quality
from assets.report.services import services, survey_context
from assets.report.style import FONT_SIZE, MUTED, NOTE, PALETTE, TEMPLATE, chart_html


def _json_list(value: object) -> list:
    if isinstance(value, list):
        return value
    if is_missing(value) or value == "":
        return []
    try:
        out = json.loads(value)
    except (TypeError, ValueError):
        return [str(value)]
    return out if isinstance(out, list) else [out]


# --- law enforcement ------------------------------------------------------------------------------


def county_ranking(county: pd.DataFrame | None) -> list[dict]:
    """Per training-gap measure: the counties shown (model estimate, ranked by officers needing
    training) and the rows of counties shown combined, as published."""
    if county is None or county.empty:
        return []

    import plotly.graph_objects as go

    out = []
    part = county[county["breakdown"] == "county"]
    for i, (measure, rows) in enumerate(part.groupby("measure", sort=False)):
        model = rows[rows["shown_as"] == "model estimate"].sort_values("rank")
        combined = rows[rows["shown_as"] != "model estimate"]
        ordered = pd.concat([model, combined])
        label = str(rows["measure_label"].iloc[0])
        chart_rows = ordered[ordered["officers_needing_training"].notna()].iloc[::-1]
        fig = go.Figure(go.Scatter(
            x=chart_rows["officers_needing_training"], y=chart_rows["county"], mode="markers",
            marker=dict(color=PALETTE[0], size=9), name="Officers needing training (95% range)",
            error_x=dict(type="data", symmetric=False,
                         array=chart_rows["officers_high"] - chart_rows["officers_needing_training"],
                         arrayminus=chart_rows["officers_needing_training"] - chart_rows["officers_low"],
                         color=PALETTE[0]),
            customdata=chart_rows["estimate"],
            hovertemplate="%{y}: about %{x:.0f} officers (share %{customdata:.0%})<extra></extra>"))
        fig.update_layout(height=120 + 24 * max(len(chart_rows), 1), margin=dict(l=10, r=10, t=20, b=40),
                          showlegend=False, xaxis=dict(title="Estimated officers needing training", rangemode="tozero"),
                          yaxis=dict(automargin=True), template=TEMPLATE, font=dict(size=FONT_SIZE))
        out.append({"measure": measure, "label": label, "rows": _records(ordered), "chart_id": f"county-chart-{i}",
                    "chart": chart_html(fig, f"county-chart-{i}", f"Dot chart: {label}, officers by county",
                                        _ranking_summary(model, label)), "combined": len(combined)})
    return out


def _ranking_summary(model: pd.DataFrame, label: str) -> str:
    if model.empty or model["officers_needing_training"].isna().all():
        return f"{label}: no county is shown on its own. The table below gives the combined figures."
    top = model.dropna(subset=["officers_needing_training"]).sort_values("officers_needing_training").iloc[-1]
    return (f"{label}: {len(model)} counties shown on their own; the most officers are in {top['county']}, about "
            f"{top['officers_needing_training']:.0f} (95% range {top['officers_low']:.0f} to "
            f"{top['officers_high']:.0f}). The table below gives every county.")


def model_predictions(model: pd.DataFrame | None) -> list[dict]:
    """Per outcome: the model's predicted shares by group, and its adjusted differences."""
    if model is None or model.empty:
        return []
    out = []
    for outcome, rows in model.groupby("outcome", sort=False):
        pred = rows[rows["kind"] == "predicted_probability"]
        eff = rows[rows["kind"] == "marginal_effect"]
        out.append({"outcome": outcome, "label": str(rows["outcome_label"].iloc[0]),
                    "reliable": bool(rows["reliable"].all()), "predicted": _records(pred), "effects": _records(eff)})
    return out


def model_card_rows(cards: pd.DataFrame | None, labels: dict[str, str] | None = None) -> list[dict]:
    """Model cards as the pages print them: a title in words (the outcome's published label, never its
    id), the plain-words description of the model (reports/glossary.yaml), caveats, then the formulas."""
    from assets.report.glossary import glossary

    if cards is None or cards.empty:
        return []
    plain = glossary().get("models", {})
    labels = labels or {}
    out = []
    for r in _records(cards):
        caveats = r.get("caveats") or ""
        r["caveat_list"] = [c.strip() for c in _split_sentences(caveats)]
        outcome = str(r.get("outcome") or "")
        r["title"] = f"{str(r.get('model_type') or 'Model').split(' (')[0].capitalize()}: " \
                     f"{labels.get(outcome, outcome.replace('_', ' '))}"
        r["plain"] = plain.get(str(r.get("asset") or ""), "")
        out.append(r)
    return out


def outcome_labels(pub: dict[str, pd.DataFrame]) -> dict[str, str]:
    """Outcome id -> its published label (model results and county estimates)."""
    out: dict[str, str] = {}
    results = pub.get("published_model_results")
    if results is not None and not results.empty:
        out.update(dict(zip(results["outcome"].astype(str), results["outcome_label"].astype(str))))
    county = pub.get("published_county_estimates")
    if county is not None and not county.empty:
        out.update(dict(zip(county["measure"].astype(str), county["measure_label"].astype(str))))
    return out


def _split_sentences(text: str) -> list[str]:
    parts, buf = [], ""
    for piece in str(text).split(". "):
        buf = piece if not buf else buf + ". " + piece
        if piece and piece[-1:] not in (".",):
            parts.append(buf + ("" if buf.endswith(".") else "."))
            buf = ""
    if buf:
        parts.append(buf)
    return [p for p in parts if p.strip(". ")]


# --- prevalence -----------------------------------------------------------------------------------


def prevalence(estimate: pd.DataFrame | None, case_counts: pd.DataFrame | None, overlap: pd.DataFrame | None,
               sensitivity: pd.DataFrame | None, list_labels: dict[str, str] | None = None) -> dict:
    """The prevalence page from the published prevalence tables (list ids in their texts replaced by
    the config's ``list_labels``)."""

    import plotly.graph_objects as go

    if estimate is None or estimate.empty:
        return {"available": False}
    strata = []
    counts = _records(case_counts)
    for r in _records(estimate):
        r["caveat_list"] = [with_list_labels(str(c), list_labels or {}) for c in _json_list(r.get("caveats"))]
        r["message"] = with_list_labels(r.get("message"), list_labels or {})
        r["model"] = with_list_labels(r.get("model"), list_labels or {})
        r["observed_shown"] = shown_count(r.get("observed"))
        r["per_list"] = [{"list": c["list_label"], "cases": shown_count(c["cases"])} for c in counts
                         if c["stratum"] == r["stratum"]]
        strata.append(r)
    shown = [r for r in strata if r["exists"] and not is_missing(r.get("estimate"))]
    chart = ""
    if shown:
        names = [str(r["stratum"]) for r in shown]
        est = [float(r["estimate"]) for r in shown]
        fig = go.Figure()
        fig.add_trace(go.Bar(
            x=names, y=est, name="Estimated victims (95% interval)", marker_color=PALETTE[0],
            error_y=dict(type="data", symmetric=False, array=[float(r["ci_high"]) - e for r, e in zip(shown, est)],
                         arrayminus=[e - float(r["ci_low"]) for r, e in zip(shown, est)], color="#000000"),
            hovertemplate="%{x}: about %{y:.0f} estimated<extra></extra>"))
        obs = [(str(r["stratum"]), int(r["observed"])) for r in shown if not is_missing(r.get("observed"))]
        fig.add_trace(go.Bar(x=[o[0] for o in obs], y=[o[1] for o in obs], name="Distinct cases on the lists",
                             marker_color=PALETTE[1], hovertemplate="%{x}: %{y} on the lists<extra></extra>"))
        fig.update_layout(barmode="group", height=380, margin=dict(l=10, r=10, t=30, b=40),
                          yaxis=dict(title="People", rangemode="tozero"), template=TEMPLATE,
                          legend=dict(orientation="h", y=1.02, yanchor="bottom"), font=dict(size=FONT_SIZE))
        chart = chart_html(fig, "prevalence-chart", "Bar chart of estimated victims and cases on the lists",
                           "; ".join(f"{n}: about {e:.0f} estimated" for n, e in zip(names, est))
                           + ". Beside each, the distinct cases on the agencies' lists. The table below gives the figures.")
    rows = _records(overlap)
    for r in rows:
        r["count_shown"] = shown_count(r.get("count"))
    return {"available": True, "strata": strata, "chart": chart, "overlap": rows, "upset": overlap_chart(overlap),
            "sensitivity": [dict(r, scenario=scenario_words(r.get("scenario")),
                                 model=with_list_labels(r.get("model"), list_labels or {}),
                                 note=with_list_labels(r.get("note"), list_labels or {}))
                            for r in _records(sensitivity)]}


def with_list_labels(text: object, labels: dict[str, str]) -> object:
    """A published text with the case lists' ids (e.g. ``child_welfare``) replaced by their config labels."""
    if not isinstance(text, str) or not labels:
        return text
    import re

    for name, label in sorted(labels.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])", label, text)
    return text


def scenario_words(scenario: object) -> object:
    """A sensitivity scenario in words: 'stepwise PVALUE, p < 0.02' -> 'stepwise (p-value), p < 0.02'."""
    if not isinstance(scenario, str):
        return scenario
    return scenario.replace("PVALUE", "(p-value)").replace("AIC", "(AIC)").replace("BIC", "(BIC)")


def published_context(assessment) -> dict:
    """For the prevalence page: what the earlier assessment published (config data, never recomputed),
    with its case counts by list label."""
    if assessment is None or assessment.context is None:
        return {}
    labels = {li.name: li.label for li in assessment.config.prevalence.lists}
    ctx = assessment.context
    return {"context": ctx, "counts_by_label": {labels[c.list]: c for c in ctx.case_counts}}


def overlap_chart(overlap: pd.DataFrame | None) -> str:
    """UpSet-style chart of the pooled overlap: cases per combination of lists (bars) above the
    combination itself (dots). Only published combinations are drawn."""
    from plotly.subplots import make_subplots

    import plotly.graph_objects as go

    if overlap is None or overlap.empty:
        return ""
    pooled = overlap[(overlap["stratum"].astype(str) == "all") & ~overlap["suppressed"].astype(bool)]
    pooled = pooled[pooled["count"] > 0].sort_values(["count", "n_lists"], ascending=[False, True])
    if pooled.empty:
        return ""
    lists = list(dict.fromkeys(x for h in pooled["lists_in_history"] for x in str(h).split(" + ")))
    labels = [str(h) for h in pooled["lists_in_history"]]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.04)
    fig.add_trace(go.Bar(x=labels, y=pooled["count"], marker_color=PALETTE[0], name="Cases",
                         hovertemplate="%{x}: %{y} cases<extra></extra>"), row=1, col=1)
    for name in lists:
        member = [name in str(h).split(" + ") for h in pooled["lists_in_history"]]
        fig.add_trace(go.Scatter(
            x=labels, y=[name] * len(labels), mode="markers", showlegend=False,
            marker=dict(size=12, color=[PALETTE[7] if m else MUTED for m in member],
                        symbol=["circle" if m else "circle-open" for m in member], line=dict(width=2)),
            hovertemplate="%{x}<extra></extra>"), row=2, col=1)
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=20, b=20), template=TEMPLATE,
                      showlegend=False, font=dict(size=FONT_SIZE))
    fig.update_xaxes(showticklabels=False, row=2, col=1)
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    fig.update_yaxes(title="Cases", row=1, col=1)
    return chart_html(fig, "overlap-chart", "Bar chart of cases on each combination of lists",
                      f"{len(labels)} published combinations of lists; the largest is {labels[0]} with "
                      f"{int(pooled['count'].iloc[0])} cases. The table below gives every combination.")


#: the inputs each page is built from (besides the officer survey, which every wave has): a page says so
#: when one of them is missing from the wave
PAGE_INPUTS: dict[str, tuple[str, ...]] = {
    "index.html": ("stakeholder_interviews", "survivor_interviews", "provider_inventory", "case_lists"),
    "voices.html": ("stakeholder_interviews", "survivor_interviews"),
    "services.html": ("provider_inventory",),
    "prevalence.html": ("case_lists",),
    "recommendations.html": ("stakeholder_interviews", "survivor_interviews", "provider_inventory"),
    "data-quality.html": ("stakeholder_survey", "stakeholder_interviews", "survivor_interviews", "provider_inventory",
                          "case_lists"),
    "downloads.html": ("stakeholder_interviews", "survivor_interviews", "provider_inventory", "case_lists"),
}


def absent_inputs(pub: dict[str, pd.DataFrame]) -> list[dict]:
    """The wave's inputs that were not received (optional and missing, or not collected by design)."""
    table = pub.get("published_wave_inputs")
    if table is None or table.empty:
        return []
    return _records(table[table["status"] != "received"])


def absent_on_page(absent: list[dict], page: str) -> list[dict]:
    """The missing inputs a page must state (it would have used them)."""
    return [a for a in absent if a["input"] in PAGE_INPUTS.get(page, ())]


def page_contexts(pub: dict[str, pd.DataFrame], policy, prov, assessment=None) -> dict[str, dict]:
    """Template context per page file (besides the summary, which ``site.build_site`` renders)."""

    geometry, fips_of = None, {}
    if assessment is not None:
        fips_of = {c.name: c.fips for c in assessment.config.counties}
        if assessment.config.report.county_geometry:
            from assets.report.geometry import load_county_geometry

            geometry = load_county_geometry(assessment.path.parent / assessment.config.report.county_geometry,
                                            list(fips_of.values()))
    history = pub["published_indicator_history"]
    changes = pub["published_changes"]
    headline = pub["published_indicators"]
    missing = {a["input"] for a in absent_inputs(pub)}
    themes = pub["published_interview_themes"]
    if themes is not None and len(themes) and missing:  # no sentence or chart from an interview set not received
        themes = themes[~themes["dataset"].astype(str).isin(missing)]
    county = pub["published_county_estimates"]
    groups = {g.name: list(g.counties) for g in assessment.config.county_groups} if assessment is not None else {}
    return {
        "law-enforcement.html": {
            "county_map": county_map(county, geometry, fips_of, groups),
            "counties": county_ranking(county),
            "models": model_predictions(pub["published_model_results"]),
            "cards": model_card_rows(pub["published_model_cards"], outcome_labels(pub)),
            "open_ended": open_ended_themes(pub.get("published_open_ended_themes"),
                                            coded_questions(assessment) if assessment is not None else None)},
        "voices.html": {"voices": voices(themes, policy.mostly_hidden)},
        "services.html": {"svc": services(pub["published_service_coverage"],
                                          pub["published_counties_without_after_hours"],
                                          *survey_context(assessment, pub, missing), policy)},
        "prevalence.html": {"prev": prevalence(pub["published_prevalence"], pub["published_case_list_counts"],
                                               pub["published_case_list_overlap"],
                                               pub["published_prevalence_sensitivity"],
                                               {li.name: li.label for li in assessment.config.prevalence.lists}
                                               if assessment is not None else None),
                             **published_context(assessment)},
        "trends.html": {"trend": tracking.trend_rows(history, changes, prov.wave,
                                                     list(assessment.config.waves) if assessment is not None else None),
                        "trend_chart": tracking.trend_chart(history)},
        "recommendations.html": {"recs": tracking.recommendation_rows(
            assessment, headline, changes, themes, pub["published_service_coverage"])
            if assessment is not None else []},
        "data-quality.html": {"dq": data_quality(pub, policy, missing,
                                                 assessment.instruments if assessment is not None else ()),
                              "coding": coding_quality(pub.get("published_rule_precision"),
                                                       pub.get("published_intercoder_agreement"),
                                                       assessment.frames.agreement.min_kappa
                                                       if assessment is not None else 0.6,
                                                       coded_questions(assessment)
                                                       if assessment is not None else None)},
        "methods.html": {"cards": model_card_rows(pub["published_model_cards"], outcome_labels(pub)),
                         "small_area": assessment.config.small_area if assessment is not None else None},
        "glossary.html": {"glossary": glossary()},
        "downloads.html": {},
    }


def voices_summary(themes: pd.DataFrame | None, top: int = 3, missing: set[str] | frozenset = frozenset()) -> list[dict]:
    """For the summary page: per interview set received, its most often mentioned published themes."""
    themes = _without(themes, set(missing))
    if themes is None or themes.empty:
        return []
    overall = themes[themes["domain"] == "all"]
    out = []
    for dataset, rows in overall.groupby("dataset", sort=True):
        shown = rows[~rows["suppressed"].astype(bool)].sort_values(["mentioned", "label"], ascending=[False, True])
        out.append({"title": str(dataset).replace("_", " ").capitalize(),
                    "interviews": next((r for r in rows["interviews"] if not is_missing(r)), None),
                    "top": _records(shown.head(top))})
    return out


# --- stakeholder and survivor voices --------------------------------------------------------------


def theme_breakdowns(themes: pd.DataFrame, dataset: str, mostly_hidden: float) -> list[dict]:
    """Per attribute (sector, region) of one interview set: a theme x group table as published, or,
    when most of its cells are hidden, one sentence instead (``mostly_hidden``)."""
    part = themes[(themes["dataset"] == dataset) & (themes["domain"] != "all")]
    out = []
    for attribute, rows in part.groupby("domain", sort=False):
        groups = list(dict.fromkeys(rows["level"]))
        sizes = {}
        for g in groups:
            known = rows.loc[(rows["level"] == g) & rows["interviews"].notna(), "interviews"]
            sizes[g] = int(known.max()) if len(known) else None
        table = []
        for theme, trows in rows.groupby("theme", sort=False):
            cells = {r["level"]: r for r in _records(trows)}
            table.append({"label": str(trows["label"].iloc[0]),
                          "cells": [cells.get(g, {"suppressed": True}) for g in groups]})
        hidden = int(rows["suppressed"].sum())
        out.append({"attribute": str(attribute), "groups": [{"name": g, "interviews": sizes[g]} for g in groups],
                    "rows": table, "suppressed": hidden, "cells": len(rows),
                    "mostly_hidden": len(rows) > 0 and hidden / len(rows) > mostly_hidden})
    return out


def voices(themes: pd.DataFrame | None, mostly_hidden: float = 0.5) -> dict:
    """Theme counts per interview set (as published), as a chart and tables, with the breakdowns by
    sector and region. A hidden theme gets no bar but the word "hidden" where its bar would be."""
    if themes is None or themes.empty:
        return {"available": False, "sets": []}
    import plotly.graph_objects as go


    overall = themes[themes["domain"] == "all"]
    sets = []
    for i, (dataset, rows) in enumerate(overall.groupby("dataset", sort=True)):
        recs = _records(rows)
        title = str(dataset).replace("_", " ").capitalize()
        chart_rows = rows.iloc[::-1]
        shown = ~chart_rows["suppressed"].astype(bool)
        fig = go.Figure(go.Bar(
            x=[float(s) if ok else None for s, ok in zip(chart_rows["share"], shown)],
            y=chart_rows["label"].astype(str), orientation="h", marker_color=PALETTE[i % len(PALETTE)],
            customdata=[[int(m) if ok else 0] for m, ok in zip(chart_rows["mentioned"].fillna(0), shown)],
            hovertemplate="%{y}: %{x:.0%} of interviews (%{customdata[0]})<extra></extra>", name=title))
        for label, ok in zip(chart_rows["label"].astype(str), shown):
            if not ok:
                fig.add_annotation(x=0, y=label, text=HIDDEN, showarrow=False, xanchor="left",
                                   font=dict(color=NOTE, size=11))
        fig.update_layout(height=110 + 26 * len(rows), margin=dict(l=10, r=10, t=20, b=40), showlegend=False,
                          xaxis=dict(range=[0, 1], tickformat=".0%", title="Share of interviews mentioning the theme"),
                          yaxis=dict(automargin=True), template=TEMPLATE, font=dict(size=FONT_SIZE))
        chart_id = f"voices-chart-{i}"
        interviews = next((r["interviews"] for r in recs if not is_missing(r.get("interviews"))), None)
        sets.append({"dataset": str(dataset), "title": title, "interviews": interviews, "rows": recs,
                     "chart_id": chart_id, "chart": chart_html(fig, chart_id, f"Bar chart of themes: {title}",
                                                               _themes_summary(rows, title)),
                     "breakdowns": theme_breakdowns(themes, str(dataset), mostly_hidden)})
    return {"available": True, "sets": sets}


def _themes_summary(rows: pd.DataFrame, title: str) -> str:
    shown = rows[~rows["suppressed"].astype(bool)].sort_values("share")
    if shown.empty:
        return f"{title}: every theme is hidden. The table below says why."
    top = shown.iloc[-1]
    return (f"{title}: {len(rows)} themes; the most often mentioned is {top['label']}, in "
            f"{100 * float(top['share']):.0f}% of interviews. The table below gives every theme.")
