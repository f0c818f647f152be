"""Following the assessment over the years: the trend page, the change column of the summary, and
the recommendations page (each recommendation, the measures that track it, and their direction).

Everything here is read off the publication gate's tables: ``published_indicator_history`` (every
wave's indicators as that wave published them, ``survey_wave`` naming the figure's wave) and
``published_changes`` (changes only between two published cells). A change is called only when
its 95% interval excludes zero (see :mod:`assets.estimates.trends`); everything else reads "no
clear change".
"""

from __future__ import annotations

import math

import pandas as pd

from assets.report.style import PALETTE, TEMPLATE, chart_html

KEY = ["indicator", "domain", "level", "weighted"]


def _nan(x: object) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def change_since_previous(changes: pd.DataFrame) -> dict[tuple, dict]:
    """(indicator, domain, level, weighted) -> the change since the previous wave."""
    if changes.empty:
        return {}
    prev = changes[changes["comparison"] == "previous wave"]
    return {(r["indicator"], r["domain"], r["level"], bool(r["weighted"])): r for r in prev.to_dict("records")}


def progress(direction: str, better: str) -> str:
    """'improved', 'worsened' or 'no clear change', from a change's direction and which way is better."""
    if direction not in ("up", "down"):
        return "no clear change"
    return "improved" if direction == better else "worsened"


# --- trend page -----------------------------------------------------------------------------------


def trend_chart(history: pd.DataFrame, div_id: str = "trend-chart") -> str:
    """Small multiples: each featured overall indicator's weighted share by wave, with 95% intervals.
    Suppressed cells are left out of the line (a gap), never drawn as zero."""
    if history.empty or history["survey_wave"].nunique() < 2:
        return ""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots


    t = history[(history["domain"] == "all") & history["weighted"].astype(bool)]
    if "featured" in t.columns:
        t = t[t["featured"].astype(bool)]
    indicators = list(dict.fromkeys(t["indicator"]))
    if not indicators:
        return ""
    waves = sorted(history["survey_wave"].astype(str).unique())
    cols = 3
    rows = math.ceil(len(indicators) / cols)
    labels = [str(t[t["indicator"] == i]["label"].iloc[0]) for i in indicators]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[_wrap(lbl) for lbl in labels],
                        shared_yaxes=True, vertical_spacing=0.5 / rows, horizontal_spacing=0.06)
    for k, ind in enumerate(indicators):
        s = t[t["indicator"] == ind].set_index(t[t["indicator"] == ind]["survey_wave"].astype(str))
        y, lo, hi = [], [], []
        for w in waves:
            r = s.loc[w] if w in s.index else None
            good = r is not None and not bool(r["suppressed"]) and not _nan(r["estimate"])
            y.append(float(r["estimate"]) if good else None)
            lo.append(float(r["estimate"] - r["ci_low"]) if good else None)
            hi.append(float(r["ci_high"] - r["estimate"]) if good else None)
        fig.add_trace(go.Scatter(
            x=waves, y=y, mode="lines+markers", name=labels[k], showlegend=False,
            line=dict(color=PALETTE[0]), marker=dict(size=8, color=PALETTE[0]),
            error_y=dict(type="data", symmetric=False, array=hi, arrayminus=lo, color=PALETTE[0]),
            hovertemplate="wave %{x}: %{y:.0%}<extra></extra>"), row=k // cols + 1, col=k % cols + 1)
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    fig.update_xaxes(type="category")
    fig.update_annotations(font_size=11)
    fig.update_layout(height=230 * rows + 60, margin=dict(l=10, r=10, t=60, b=30), template=TEMPLATE,
                      font=dict(size=11))
    return chart_html(fig, div_id, "Line charts of the featured indicators by wave",
                      f"{len(indicators)} indicators, weighted share in each of the waves {', '.join(waves)}, with "
                      "95% intervals. The table below gives the figures and the tests of change.")


def _wrap(text: str, width: int = 42) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "<br>".join(lines[:3])


def trend_rows(history: pd.DataFrame, changes: pd.DataFrame, wave: str, configured: list[str] | None = None) -> dict:
    """The trend table: each indicator (overall, weighted) by wave, and its changes for this wave.

    ``configured``: the assessment's waves; those before this one with no published figure (never run,
    or their run failed) are listed as ``missing`` so the page names them rather than dropping them silently."""
    waves = sorted(history["survey_wave"].astype(str).unique()) if not history.empty else []
    missing = sorted(w for w in (configured or []) if str(w) < str(wave) and str(w) not in waves)
    t = history[(history["domain"] == "all") & history["weighted"].astype(bool)] if waves else history
    by_key: dict[str, dict] = {}
    for r in t.to_dict("records"):
        row = by_key.setdefault(r["indicator"], {"indicator": r["indicator"], "label": r["label"],
                                                 "level": r["level"], "by_wave": {}, "changes": []})
        row["by_wave"][str(r["survey_wave"])] = None if bool(r["suppressed"]) else r
    for c in changes.to_dict("records") if not changes.empty else []:
        if c["domain"] == "all" and bool(c["weighted"]) and c["indicator"] in by_key:
            by_key[c["indicator"]]["changes"].append(c)
    return {"waves": waves, "rows": list(by_key.values()), "first": waves[0] if waves else str(wave),
            "previous": waves[-2] if len(waves) > 1 else None, "missing": missing}


# --- recommendations ------------------------------------------------------------------------------


def recommendation_rows(assessment, current: pd.DataFrame, changes: pd.DataFrame, themes: pd.DataFrame | None,
                        coverage: pd.DataFrame | None) -> list[dict]:
    """Per recommendation: its text, and each tracking measure with this wave's value and its direction."""
    recs = assessment.recommendations
    if recs is None:
        return []
    by_change = change_since_previous(changes)
    cells = current[current["weighted"].astype(bool)] if not current.empty else current
    theme_rows = themes[themes["domain"] == "all"] if themes is not None and not themes.empty else None
    out = []
    for rec in sorted(recs.recommendations, key=lambda r: r.number):
        measures = []
        for t in rec.indicators:
            match = cells[(cells["indicator"] == t.indicator) & (cells["domain"] == t.domain)]
            if t.domain != "all" or t.level != "all":
                match = match[match["level"] == t.level]
            cell = match.iloc[0].to_dict() if len(match) else None
            label = cell["label"] if cell else t.indicator.replace("_", " ")
            if t.domain != "all":
                label = f"{label} — {t.level}"
            entry = {"label": label, "better": t.better, "estimate": None, "ci_low": None, "ci_high": None,
                     "suppressed": cell is None or bool(cell["suppressed"]), "change": None, "status": ""}
            if cell and not entry["suppressed"]:
                entry.update(estimate=cell["estimate"], ci_low=cell["ci_low"], ci_high=cell["ci_high"])
                ch = by_change.get((cell["indicator"], cell["domain"], cell["level"], True))
                if ch is not None:
                    entry["change"] = ch
                    entry["status"] = progress(ch["direction"], t.better)
                else:
                    entry["status"] = "no earlier wave to compare"
            else:
                entry["status"] = "hidden this wave"
            measures.append(entry)
        heard = []
        for code in rec.themes:
            if theme_rows is None:
                break
            for r in theme_rows[theme_rows["theme"] == code].to_dict("records"):
                heard.append({"label": r["label"], "dataset": str(r["dataset"]).replace("_", " "),
                              "mentioned": None if bool(r["suppressed"]) else r["mentioned"],
                              "interviews": r["interviews"]})
        services = _service_gaps(rec.services, coverage, assessment)
        out.append({"number": rec.number, "title": rec.title, "summary": rec.summary, "note": rec.note,
                    "measures": measures, "themes": heard, "services": services,
                    "tracked": bool(measures or heard or services)})
    return out


def _service_gaps(types: list[str], coverage: pd.DataFrame | None, assessment) -> list[dict]:
    """For each service type: how many counties have no provider reachable after hours (the coverage
    table's ``after_hours_cover``: the config's rule, as in ``counties_without_after_hours``)."""
    services = assessment.config.services
    if not types or coverage is None or coverage.empty or services is None:
        return []
    labels = {s.id: s.label for s in services.types}
    out = []
    for code in types:
        rows = coverage[coverage["service_type"] == code]
        if rows.empty:
            continue
        lacking = rows[~rows["after_hours_cover"].astype(bool)]
        out.append({"service": labels.get(code, code), "counties": int(rows["county"].nunique()),
                    "without_after_hours": int(lacking["county"].nunique()),
                    "county_names": sorted(lacking["county"].astype(str).unique())})
    return out


def progress_at_a_glance(rec: dict) -> str:
    """One line for the summary: how a recommendation's survey measures moved since the previous wave."""
    statuses = [m["status"] for m in rec["measures"]]
    if not statuses:
        return "followed by interviews and service cover" if rec["themes"] or rec["services"] else "not measured by the survey"
    counts = {s: statuses.count(s) for s in dict.fromkeys(statuses)}
    if set(counts) == {"no earlier wave to compare"}:
        return "first wave: no earlier figure to compare"
    order = ["improved", "worsened", "no clear change", "hidden this wave", "no earlier wave to compare"]
    parts = [f"{counts[s]} {s}" for s in order if s in counts]
    return f"{len(statuses)} measure{'s' if len(statuses) > 1 else ''}: " + ", ".join(parts)
