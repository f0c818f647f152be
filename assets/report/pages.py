"""The site's pages beyond the executive summary, built from aggregate tables only.

Each function turns the stored aggregate tables into what a template prints. Disclosure control:
indicator and theme tables go through :func:`assets.estimates.publish.publishable` (in
``site.build_site``); the other tables are aggregates with their own suppression flag
(``direct_publishable`` in ``training_gap_by_county``, ``publishable`` in ``case_list_overlap``),
and every other count shown here is printed through :func:`count_cell`, which prints
"suppressed" for any count below the minimum. Model estimates (shares, officers needing training)
are not respondent counts and are shown with their intervals.
"""

from __future__ import annotations

import json

import pandas as pd

from assets.estimates.publish import (DisclosureRules, is_missing, json_dict, protect_case_list_counts,
                                      protect_overlap_counts)

SUPPRESSED = "suppressed"


def count_cell(x: object, min_count: int) -> str:
    """A count as printed: 'suppressed' below the minimum, '—' when missing."""
    if is_missing(x):
        return "—"
    v = int(x)
    return SUPPRESSED if v < min_count else str(v)


def _records(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


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


def _fig_html(fig, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


# --- law enforcement ------------------------------------------------------------------------------


def county_ranking(county: pd.DataFrame | None, min_count: int) -> list[dict]:
    """Per training-gap measure: its counties ranked (model share, interval, officers needing
    training); the direct survey share only where ``direct_publishable``."""
    if county is None or county.empty:
        return []
    from assets.report.site import PALETTE

    import plotly.graph_objects as go

    out = []
    part = county[county["breakdown"] == "county"]
    for i, (measure, rows) in enumerate(part.groupby("measure", sort=False)):
        rows = rows.sort_values("rank")
        records = []
        for r in rows.to_dict("records"):
            ok = bool(r.get("direct_publishable")) and not is_missing(r.get("direct"))
            records.append({**r, "direct_shown": r["direct"] if ok else None, "direct_suppressed": not ok})
        label = str(rows["measure_label"].iloc[0])
        chart_rows = rows.iloc[::-1]
        fig = go.Figure(go.Scatter(
            x=chart_rows["officers_needing_training"], y=chart_rows["county"], mode="markers",
            marker=dict(color=PALETTE[0], size=9), name="Officers needing training (95% range)",
            error_x=dict(type="data", symmetric=False,
                         array=chart_rows["officers_high"] - chart_rows["officers_needing_training"],
                         arrayminus=chart_rows["officers_needing_training"] - chart_rows["officers_low"],
                         color=PALETTE[0]),
            customdata=chart_rows["eblup"],
            hovertemplate="%{y}: %{x:.0f} officers (share %{customdata:.0%})<extra></extra>"))
        fig.update_layout(height=120 + 24 * len(rows), margin=dict(l=10, r=10, t=20, b=40), showlegend=False,
                          xaxis=dict(title="Estimated officers needing training", rangemode="tozero"),
                          yaxis=dict(automargin=True), template="plotly_white", font=dict(size=12))
        out.append({"measure": measure, "label": label, "rows": records, "chart_id": f"county-chart-{i}",
                    "chart": _fig_html(fig, f"county-chart-{i}")})
    return out


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


def model_card_rows(cards: pd.DataFrame | None) -> list[dict]:
    if cards is None or cards.empty:
        return []
    out = []
    for r in _records(cards):
        caveats = r.get("caveats") or ""
        r["caveat_list"] = [c.strip() for c in _split_sentences(caveats)]
        out.append(r)
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


def prevalence(estimate: pd.DataFrame | None, overlap: pd.DataFrame | None, sensitivity: pd.DataFrame | None,
               min_count: int) -> dict:
    from assets.report.site import PALETTE

    import plotly.graph_objects as go

    if estimate is None or estimate.empty:
        return {"available": False}
    strata = []
    for r in _records(estimate):
        r["caveat_list"] = [str(c) for c in _json_list(r.get("caveats"))]
        strata.append(r)
    protect_case_list_counts(strata, min_count)
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
            hovertemplate="%{x}: %{y:.0f} estimated<extra></extra>"))
        obs = [(str(r["stratum"]), int(r["observed"])) for r in shown
               if not is_missing(r.get("observed")) and int(r["observed"]) >= min_count]
        fig.add_trace(go.Bar(x=[o[0] for o in obs], y=[o[1] for o in obs], name="Distinct cases on the lists",
                             marker_color=PALETTE[1], hovertemplate="%{x}: %{y} on the lists<extra></extra>"))
        fig.update_layout(barmode="group", height=380, margin=dict(l=10, r=10, t=30, b=40),
                          yaxis=dict(title="People", rangemode="tozero"), template="plotly_white",
                          legend=dict(orientation="h", y=1.02, yanchor="bottom"), font=dict(size=12))
        chart = _fig_html(fig, "prevalence-chart")
    overlap_rows = []
    upset = overlap_chart(overlap, min_count)
    rows = _records(overlap)
    hidden = protect_overlap_counts(rows, min_count)
    for r, h in zip(rows, hidden):
        r["count_shown"] = SUPPRESSED if h else str(int(r["count"]))
        overlap_rows.append(r)
    return {"available": True, "strata": strata, "chart": chart, "overlap": overlap_rows, "upset": upset,
            "sensitivity": _records(sensitivity)}


def overlap_chart(overlap: pd.DataFrame | None, min_count: int) -> str:
    """UpSet-style chart of the pooled overlap: cases per combination of lists (bars) above the
    combination itself (dots). Only publishable combinations with at least the minimum are drawn."""
    from plotly.subplots import make_subplots

    import plotly.graph_objects as go
    from assets.report.site import PALETTE

    if overlap is None or overlap.empty:
        return ""
    pooled = overlap[overlap["stratum"].astype(str) == "all"]
    if pooled.empty:
        return ""
    lists = [x for x in str(pooled["lists"].iloc[0]).split(",") if x]
    shown = pooled[pooled["publishable"].astype(bool) & (pooled["count"] >= min_count)]
    shown = shown.sort_values(["count", "n_lists"], ascending=[False, True])
    if shown.empty:
        return ""
    labels = [str(h).replace("_", " ").replace("+", " + ") for h in shown["history"]]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.04)
    fig.add_trace(go.Bar(x=labels, y=shown["count"], marker_color=PALETTE[0], name="Cases",
                         hovertemplate="%{x}: %{y} cases<extra></extra>"), row=1, col=1)
    for i, name in enumerate(lists):
        member = shown[name].astype(int) == 1 if name in shown else pd.Series(False, index=shown.index)
        fig.add_trace(go.Scatter(
            x=labels, y=[name.replace("_", " ")] * len(labels), mode="markers", showlegend=False,
            marker=dict(size=12, color=[PALETTE[7] if m else "#d8dde3" for m in member]),
            hovertemplate="%{x}<extra></extra>"), row=2, col=1)
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=20, b=20), template="plotly_white",
                      showlegend=False, font=dict(size=12))
    fig.update_xaxes(showticklabels=False, row=2, col=1)
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    fig.update_yaxes(title="Cases", row=1, col=1)
    return _fig_html(fig, "overlap-chart")


# --- data quality ---------------------------------------------------------------------------------


def data_quality(summary: pd.DataFrame | None, min_count: int) -> dict:
    if summary is None or summary.empty:
        return {"available": False}
    from assets.quality.summary import split_summary

    t = split_summary(summary)
    status = []
    for r in _records(t["status"]):
        for col in ("rows_read", "accepted", "quarantined"):
            r[col + "_shown"] = count_cell(r.get(col), min_count) if (r.get(col) or 0) > 0 else "0"
        status.append(r)
    checks = _records(t["checks"])
    quarantine = []
    for r in _records(t["quarantine_by_reason"]):
        r["rows_shown"] = count_cell(r.get("rows"), min_count)
        quarantine.append(r)
    completeness = []
    for r in _records(t["completeness"]):
        asked, answered = r.get("asked"), r.get("answered")
        small = (not is_missing(asked) and not is_missing(answered)
                 and (0 < answered < min_count or 0 < asked - answered < min_count))
        r["percent_shown"] = SUPPRESSED if small or is_missing(r.get("percent")) else f"{float(r['percent']):.1f}%"
        r["asked_shown"] = count_cell(asked, min_count)
        completeness.append(r)
    return {"available": True, "status": status, "checks": checks,
            "checks_failed": [c for c in checks if c.get("passed") is False],
            "quarantine": quarantine, "completeness": completeness}


def page_contexts(extra: dict[str, pd.DataFrame], rules: DisclosureRules, prov, assessment=None) -> dict[str, dict]:
    """Template context per page file (besides the summary, which ``site.build_site`` renders)."""
    from assets.report import tracking
    from assets.report.county_map import county_map

    m = rules.min_count
    geometry, fips_of = None, {}
    if assessment is not None:
        fips_of = {c.name: c.fips for c in assessment.config.counties}
        if assessment.config.report.county_geometry:
            from assets.report.geometry import load_county_geometry

            geometry = load_county_geometry(assessment.path.parent / assessment.config.report.county_geometry,
                                            list(fips_of.values()))
    history = extra.get("published_history", pd.DataFrame())
    changes = extra.get("published_changes", pd.DataFrame())
    headline = extra.get("published_headline", pd.DataFrame())
    return {
        "law-enforcement.html": {
            "county_map": county_map(extra.get("training_gap_by_county"), geometry, fips_of),
            "counties": county_ranking(extra.get("training_gap_by_county"), m),
            "models": model_predictions(extra.get("training_gap_model")),
            "cards": model_card_rows(extra.get("model_cards"))},
        "voices.html": {"voices": voices(extra.get("published_themes"), extra.get("interview_themes_by_group"))},
        "services.html": {"svc": services(extra.get("service_coverage_by_county"),
                                          extra.get("counties_without_after_hours"))},
        "prevalence.html": {"prev": prevalence(extra.get("prevalence_estimate"), extra.get("case_list_overlap"),
                                               extra.get("prevalence_sensitivity"), m)},
        "trends.html": {"trend": tracking.trend_rows(history, changes, prov.wave),
                        "trend_chart": tracking.trend_chart(history)},
        "recommendations.html": {"recs": tracking.recommendation_rows(
            assessment, headline, changes, extra.get("published_themes"),
            extra.get("service_coverage_by_county"), m) if assessment is not None else []},
        "data-quality.html": {"dq": data_quality(extra.get("data_quality_summary"), m)},
        "methods.html": {"cards": model_card_rows(extra.get("model_cards"))},
        "downloads.html": {},
    }


def voices_summary(themes: pd.DataFrame | None, top: int = 3) -> list[dict]:
    """For the summary page: per interview set, its most often mentioned published themes."""
    if themes is None or themes.empty:
        return []
    out = []
    for dataset, rows in themes.groupby("dataset", sort=True):
        shown = rows[~rows["suppressed"].astype(bool)].sort_values(["mentioned", "label"], ascending=[False, True])
        out.append({"title": str(dataset).replace("_", " ").capitalize(),
                    "interviews": next((r for r in rows["interviews"] if not is_missing(r)), None),
                    "top": _records(shown.head(top))})
    return out


# --- stakeholder and survivor voices --------------------------------------------------------------


def theme_breakdowns(by_group: pd.DataFrame | None, dataset: str) -> list[dict]:
    """Per attribute (sector, region) of one interview set: a theme × group table of counts, as
    protected in ``interview_themes_by_group`` (suppressed cells carry no number)."""
    if by_group is None or by_group.empty:
        return []
    part = by_group[by_group["dataset"] == dataset]
    out = []
    for attribute, rows in part.groupby("attribute", sort=False):
        groups = list(dict.fromkeys(rows["group"]))
        sizes = {g: rows.loc[rows["group"] == g, "interviews"].iloc[0] for g in groups}
        table = []
        for theme, trows in rows.groupby("theme", sort=False):
            cells = {r["group"]: r for r in _records(trows)}
            table.append({"label": str(trows["label"].iloc[0]),
                          "cells": [cells.get(g, {"suppressed": True}) for g in groups]})
        out.append({"attribute": str(attribute), "groups": [{"name": g, "interviews": None if is_missing(sizes[g])
                                                             else int(sizes[g])} for g in groups],
                    "rows": table, "suppressed": int(rows["suppressed"].sum()), "cells": len(rows)})
    return out


def voices(themes: pd.DataFrame | None, by_group: pd.DataFrame | None = None) -> dict:
    """Theme counts per interview set (already through the publication gate), as a chart and tables,
    with the breakdowns by sector and region. A suppressed theme gets no bar but the word
    "suppressed" where its bar would be."""
    if themes is None or themes.empty:
        return {"available": False, "sets": []}
    import plotly.graph_objects as go

    from assets.report.site import PALETTE

    sets = []
    for i, (dataset, rows) in enumerate(themes.groupby("dataset", sort=True)):
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
                fig.add_annotation(x=0, y=label, text="suppressed", showarrow=False, xanchor="left",
                                   font=dict(color="#555555", size=11))
        fig.update_layout(height=110 + 26 * len(rows), margin=dict(l=10, r=10, t=20, b=40), showlegend=False,
                          xaxis=dict(range=[0, 1], tickformat=".0%", title="Share of interviews mentioning the theme"),
                          yaxis=dict(automargin=True), template="plotly_white", font=dict(size=12))
        chart_id = f"voices-chart-{i}"
        interviews = next((r["interviews"] for r in recs if not is_missing(r.get("interviews"))), None)
        sets.append({"dataset": str(dataset), "title": title, "interviews": interviews, "rows": recs,
                     "chart_id": chart_id, "chart": _fig_html(fig, chart_id),
                     "breakdowns": theme_breakdowns(by_group, str(dataset))})
    return {"available": True, "sets": sets}


# --- services and gaps by county ------------------------------------------------------------------

#: Coverage levels of the services heatmap (value, meaning), lowest first.
COVER_LEVELS = [(0, "no provider"), (1, "business hours only"), (2, "reachable after hours")]


def services(coverage: pd.DataFrame | None, gaps: pd.DataFrame | None) -> dict:
    """The county × service coverage matrix (a heatmap and its table) and the counties with no
    after-hours response. Counts of organisations, not respondents (see assets/estimates/services.py).
    "Reachable after hours" is the table's ``after_hours_cover``: the config's rule, applied once in
    ``assets.estimates.services.after_hours_cover``."""
    if coverage is None or coverage.empty:
        return {"available": False}
    import plotly.graph_objects as go

    types = list(dict.fromkeys(coverage["service_type"]))
    labels = {r["service_type"]: r["service_label"] for r in _records(coverage)}
    counties = sorted(dict.fromkeys(coverage["county"].astype(str)))
    cell = {(r["county"], r["service_type"]): r for r in _records(coverage)}
    z, rows = [], []
    custom = []
    for c in counties:
        zr, cr, cells = [], [], []
        for t in types:
            r = cell.get((c, t)) or {"covered": False, "providers": 0, "after_hours_providers": 0,
                                      "providers_24_7": 0, "after_hours_cover": False}
            level = 0 if not r["covered"] else (2 if r["after_hours_cover"] else 1)
            zr.append(level)
            cr.append([COVER_LEVELS[level][1], int(r["providers"]), int(r["after_hours_providers"]),
                       int(r["providers_24_7"])])
            cells.append({"label": labels[t], "level": COVER_LEVELS[level][1], "providers": int(r["providers"]),
                          "after_hours": int(r["after_hours_providers"]), "round_the_clock": int(r["providers_24_7"])})
        z.append(zr)
        custom.append(cr)
        rows.append({"county": c, "cells": cells})
    scale = ["#f0f0f0", "#9ecae1", "#08519c"]
    colorscale = []
    for i, col in enumerate(scale):
        colorscale += [[i / len(scale), col], [(i + 1) / len(scale), col]]
    fig = go.Figure(go.Heatmap(
        z=z, x=[labels[t] for t in types], y=counties, zmin=-0.5, zmax=len(scale) - 0.5, colorscale=colorscale,
        text=[[str(v[1]) for v in r] for r in custom], texttemplate="%{text}", customdata=custom, xgap=2, ygap=2,
        colorbar=dict(tickvals=[v for v, _ in COVER_LEVELS], ticktext=[m for _, m in COVER_LEVELS],
                      title=dict(text="Cover")),
        hovertemplate=("<b>%{y}</b>, %{x}<br>%{customdata[0]}<br>providers %{customdata[1]}, after hours "
                       "%{customdata[2]}, 24/7 %{customdata[3]}<extra></extra>")))
    fig.update_layout(height=140 + 30 * len(counties), margin=dict(l=10, r=10, t=20, b=80), template="plotly_white",
                      yaxis=dict(autorange="reversed", automargin=True), xaxis=dict(tickangle=-30),
                      font=dict(size=12))
    gap_rows = _records(gaps) if gaps is not None else []
    for r in gap_rows:
        r["lacking"] = [x for x in str(r.get("service_labels_without_after_hours") or "").split("; ") if x]
    return {"available": True, "chart": _fig_html(fig, "services-chart"), "types": [labels[t] for t in types],
            "rows": rows, "gaps": gap_rows, "levels": [m for _, m in COVER_LEVELS]}
