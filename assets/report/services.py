"""The services-and-gaps page: the county × service matrix of the provider inventory and, where the inventory
lists no provider, what a survey's respondents say their organisations provide (``services.survey_evidence``;
the gate's ``published_<stem>_services``), always labelled as theirs and never added to the inventory's
counts. Built from published tables only: a survey figure the gate hid prints as hidden, a cell neither
source speaks to as "no information", never as zero.
"""

from __future__ import annotations

import pandas as pd

from assets.report.cells import HIDDEN, _records, is_missing
from assets.report.style import FONT_SIZE, TEMPLATE, chart_html

#: Coverage levels of the services heatmap (value, meaning), lowest first.
COVER_LEVELS = [(0, "no provider"), (1, "business hours only"), (2, "reachable after hours")]
#: a cell neither the inventory nor the survey speaks to (with survey evidence in the wave)
NO_INFORMATION = "no information"
#: the mark of a survey-sourced figure in the chart and the table
SURVEY_MARK = "*"
_COLOURS = ["#f0f0f0", "#5a9ad0", "#08519c", "#e8a33d"]  # none is the light "absence"; survey in amber


def survey_context(assessment, pub: dict[str, pd.DataFrame], missing: set[str]) -> tuple[pd.DataFrame | None,
                                                                                         dict | None]:
    """(the published survey evidence, what the page says of the survey: its name, its label for the evidence,
    whether the wave received it), or (None, None) when the config names no survey evidence."""
    from assets.publication.gate import evidence_instrument
    from assets.publication.instruments import evidence_source

    iid = evidence_instrument(assessment)
    if iid is None:
        return None, None
    inst = assessment.instrument(iid)
    return pub.get(inst.published_evidence_table), {
        "name": inst.label.lower(), "source": evidence_source(inst), "received": iid not in missing,
        "unit": inst.disclosure_unit}


def _survey_cell(provides: dict | None, after: dict | None, policy) -> dict:
    """What the survey says of one county × service the inventory is silent on."""
    if provides is None or provides.get("suppressed") or is_missing(provides.get("organisations")):
        reason = policy.reason_text(str(provides.get("suppression_reason") or "")) if provides else ""
        return {"shown": False, "hidden": bool(provides and provides.get("suppressed")), "reason": reason}
    k = int(provides["organisations"])
    if k == 0:  # none of the respondents' organisations: not evidence that nobody provides it
        return {"shown": False, "hidden": False, "reason": ""}
    # after hours: a count, hidden, or None where the survey does not ask the hours
    ah = None if after is None else HIDDEN if after.get("suppressed") or is_missing(after.get("organisations")) \
        else int(after["organisations"])
    return {"shown": True, "organisations": k, "after_hours": ah}


def services(coverage: pd.DataFrame | None, gaps: pd.DataFrame | None, evidence: pd.DataFrame | None = None,
             survey: dict | None = None, policy=None) -> dict:
    """The county × service coverage matrix (a heatmap and its table) and the counties with no after-hours
    response. Counts of organisations, not respondents (see assets/estimates/services.py). "Reachable after
    hours" is the table's ``after_hours_cover``: the config's rule, applied once in
    ``assets.estimates.services.after_hours_cover``.

    ``survey`` (:func:`survey_context`): with the survey received, a cell the inventory lists no provider for
    shows the survey's published count of organisations (``evidence``) marked as reported by its respondents,
    or "no information"; without it (or without survey evidence in the config) the matrix is the inventory's.
    """
    inventory = coverage is not None and not coverage.empty
    on = survey is not None and survey["received"]
    evidence = evidence if on and evidence is not None and not evidence.empty else None
    if not inventory and evidence is None:
        return {"available": False, "inventory": False, "survey": survey}
    import plotly.graph_objects as go

    frames = [f for f in (coverage if inventory else None, evidence) if f is not None]
    types = list(dict.fromkeys(t for f in frames for t in f["service_type"]))
    labels = {r["service_type"]: r["service_label"] for f in reversed(frames) for r in _records(f)}
    counties = sorted({str(c) for f in frames for c in f["county"]})
    cell = {(r["county"], r["service_type"]): r for r in _records(coverage)} if inventory else {}
    said = {(r["county"], r["service_type"], r["measure"]): r for r in _records(evidence)}
    levels = list(COVER_LEVELS) if not on else \
        [(0, NO_INFORMATION), *COVER_LEVELS[1:], (3, f"{SURVEY_MARK} {survey['source']}")]
    z, custom, rows, silent = [], [], [], []
    for c in counties:
        zr, cr, cells = [], [], []
        for t in types:
            r = cell.get((c, t)) or {"covered": False, "providers": 0, "after_hours_providers": 0,
                                      "providers_24_7": 0, "after_hours_cover": False}
            out = {"label": labels[t], "source": "inventory", "providers": int(r["providers"]),
                   "after_hours": int(r["after_hours_providers"]), "round_the_clock": int(r["providers_24_7"])}
            level, text = (0 if not r["covered"] else (2 if r["after_hours_cover"] else 1)), str(int(r["providers"]))
            if on and not r["covered"]:
                s = _survey_cell(said.get((c, t, "provides")), said.get((c, t, "after_hours")), policy)
                silent.append({"county": c, "service": labels[t], **s})
                if s["shown"]:
                    level, text = 3, f"{s['organisations']}{SURVEY_MARK}"
                    out.update(source="survey", organisations=s["organisations"], survey_after_hours=s["after_hours"])
                else:
                    level, text = 0, "–"
                    out.update(source="none", hidden=s["hidden"])
            out["level"] = levels[level][1]
            zr.append(level)
            cr.append([out["level"], text])
            cells.append(out)
        z.append(zr)
        custom.append(cr)
        rows.append({"county": c, "cells": cells})
    colorscale = []
    for i, col in enumerate(_COLOURS[:len(levels)]):
        colorscale += [[i / len(levels), col], [(i + 1) / len(levels), col]]
    fig = go.Figure(go.Heatmap(
        z=z, x=[labels[t] for t in types], y=counties, zmin=-0.5, zmax=len(levels) - 0.5, colorscale=colorscale,
        text=[[v[1] for v in r] for r in custom], texttemplate="%{text}", customdata=custom, xgap=2, ygap=2,
        colorbar=dict(tickvals=[v for v, _ in levels], ticktext=[m for _, m in levels], title=dict(text="Cover")),
        hovertemplate="<b>%{y}</b>, %{x}<br>%{customdata[0]}: %{customdata[1]}<extra></extra>"))
    fig.update_layout(height=140 + 30 * len(counties), margin=dict(l=10, r=10, t=20, b=80), template=TEMPLATE,
                      yaxis=dict(autorange="reversed", automargin=True), xaxis=dict(tickangle=-30),
                      font=dict(size=FONT_SIZE))
    gap_rows = _records(gaps) if inventory and gaps is not None else []
    for r in gap_rows:
        r["lacking"] = [x for x in str(r.get("service_labels_without_after_hours") or "").split("; ") if x]
    count = {v: sum(level == v for zr in z for level in zr) for v, _ in levels}
    summary = (f"{len(counties)} counties by {len(types)} service types: {count[2]} county-service pairs have a "
               f"provider reachable after hours, {count[0]} have {levels[0][1]}"
               + (f", {count.get(3, 0)} have organisations {survey['source']} where the inventory lists none" if on
                  else "") + ". The table below gives every county.")
    return {"available": True, "inventory": inventory, "survey": survey, "silent": silent,
            "chart": chart_html(fig, "services-chart", "Heatmap of service cover by county", summary),
            "types": [labels[t] for t in types], "rows": rows, "gaps": gap_rows, "levels": [m for _, m in levels],
            "mark": SURVEY_MARK, "no_information": NO_INFORMATION}
