"""Building the published site of one wave from the publication gate's tables only.

Every number on the site (page text and tables, the data inside every chart, ``indicators.csv``,
the workbook) comes from the ``published_*`` tables of :mod:`assets.publication` and from nothing
else: :func:`build_site` takes those tables and refuses any other. The site is static and offline:
one folder per wave with ``index.html``, the CSV download, a stylesheet and one copy of plotly.js,
with no request to any other host. It is built in a temporary folder next to the destination and
swapped in whole, so a reader never sees half a site. Every text that came from an input is
escaped by the template engine (autoescape on).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from assets.publication.gate import published_tables
from assets.report.instruments import instrument_sections
from assets.publication.indicators import PUBLISHED_INDICATOR_COLUMNS, WITHHELD
from assets.report import pages as extra_pages
from assets.report import tracking
from assets.report.county_map import GEO_ASSETS_JS
from assets.report.downloads import write_downloads
from assets.report.findings import count, summary_findings
from assets.report.glossary import link_terms
from assets.report.output_folder import check_replaceable, claim_output_folder, mark_site
from assets.report.style import FONT_SIZE, PALETTE, TEMPLATE, chart_html
from pipelines.config import REPO_ROOT
from pipelines.faults import crash_point
from pipelines.permissions import SITE_MODES, apply_site_modes

TEMPLATES = REPO_ROOT / "reports" / "templates"  # the default of report.templates
STATIC = REPO_ROOT / "reports" / "static"
#: The site's pages, in navigation order: (file, title).
PAGES = [("index.html", "Executive summary"), ("law-enforcement.html", "Law enforcement"),
         ("voices.html", "Stakeholder & survivor voices"), ("services.html", "Services & gaps"),
         ("prevalence.html", "Prevalence"), ("trends.html", "Trends"), ("recommendations.html", "Recommendations"),
         ("data-quality.html", "Data quality"), ("methods.html", "Methods & limitations"),
         ("glossary.html", "Glossary"), ("downloads.html", "Downloads")]


@dataclass(frozen=True)
class Provenance:
    """Where a published page came from: code version, build time, whether the data are synthetic
    (the input files by hash are the gate's ``published_sources``)."""

    wave: str
    code_version: str
    built_at: str
    synthetic: bool
    state: str
    min_cell_count: int
    weighting_note: str = ""


def weighting_note(assessment) -> str:
    """How the weighted figures were weighted, in a sentence for the report."""
    w = assessment.config.weighting
    parts = []
    if w.margins:
        parts.append("raked also to " + ", ".join(m.variable.replace("_", " ") for m in w.margins))
    parts.append(f"counties with fewer than {w.min_respondents_per_cell} respondents merged within their county group")
    if assessment.config.officer_headcounts.status == "illustrative":
        parts.append("the headcounts are illustrative, not the academy roster, so the weighted figures only "
                     "demonstrate the method")
    return "; ".join(parts)


def code_version() -> str:
    """The git commit the code was built from (with '+changes' if the tree was edited), else the package version."""
    try:
        sha = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
        return f"git {sha}{'+changes' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"htna {version('htna')}"
        except PackageNotFoundError:
            return "unknown"


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _csv_safe(value: object) -> object:
    """Neutralise cells a spreadsheet would run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def indicators_csv(published: pd.DataFrame) -> str:
    """``indicators.csv``: the published indicator table as it is (reports/indicators_schema.md)."""
    table = published.reindex(columns=PUBLISHED_INDICATOR_COLUMNS)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.columns)
    counts = {i for i, c in enumerate(table.columns) if c in ("n", "successes")}
    for rec in table.itertuples(index=False):
        w.writerow([_csv_cell(v, i in counts) for i, v in enumerate(rec)])
    return buf.getvalue()


def _csv_cell(v: object, count: bool) -> object:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if count:
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"  # as published (already rounded by the gate)
    return _csv_safe(v)


def headline_cells(headline: pd.DataFrame, changes: dict[tuple, dict] | None = None) -> list[dict]:
    """One record per (indicator, domain, level) with its weighted and unweighted figures side by side,
    and (``changes``, from ``tracking.change_since_previous``) the weighted change since the previous wave."""
    changes = changes or {}
    cells: dict[tuple, dict] = {}
    for r in headline.to_dict("records"):
        key = (r["indicator"], r["domain"], r["level"])
        c = cells.setdefault(key, {
            "indicator": r["indicator"], "label": r["label"], "domain": r["domain"], "level": r["level"],
            "featured": bool(r.get("featured", True)), "n": r["n"], "suppressed": False, "reason": "",
            "w_withheld": False, "published_2015": r["published_2015"]})
        prefix = "w_" if r.get("weighted", False) else "u_"
        for k in ("estimate", "ci_low", "ci_high", "ci_method"):
            c[prefix + k] = r.get(k)
        reason = r.get("suppression_reason", "") or ""
        if r.get("weighted", False) and reason == WITHHELD:
            c["w_withheld"] = True
        elif bool(r["suppressed"]):
            c["suppressed"], c["reason"] = True, reason
        if not r.get("weighted", False):
            c["n"] = r["n"]
        else:
            c["change"] = changes.get((r["indicator"], r["domain"], r["level"], True))
    return list(cells.values())


def _pct(x: float) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _points(x: float) -> str:
    """A difference of shares in percentage points, signed ('' when missing; "0", never "+0" or "−0")."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    text = f"{100 * x:+.0f}"
    return "0" if text in ("+0", "-0") else text


def _p_value(p: float) -> str:
    """A p-value as a reader reads it: "p < 0.001" (never "p = 0.000"), else "p = 0.046"."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "p < 0.001" if float(p) < 0.0005 or f"{float(p):.3f}" == "0.000" else f"p = {float(p):.3f}"


def headline_chart(headline: pd.DataFrame) -> str:
    """Weighted and unweighted estimates with their intervals beside the published 2015 figure,
    one row per featured indicator level (the figures the 2015 assessment reported)."""
    import plotly.graph_objects as go

    shown = headline[~headline["suppressed"].astype(bool)].copy()
    if "featured" in shown.columns:
        shown = shown[shown["featured"].astype(bool)]
    shown["name"] = [lbl if dom == "all" else f"{lbl} — {lvl}"
                     for lbl, dom, lvl in zip(shown["label"], shown["domain"], shown["level"])]
    shown = shown.iloc[::-1]
    weighted = shown["weighted"].astype(bool) if "weighted" in shown.columns else pd.Series(False, index=shown.index)
    fig = go.Figure()
    for flag, name, color, symbol, size, extra in [
            (False, "Share of respondents, unweighted (95% Wilson interval)", PALETTE[2], "square", 8, "unweighted"),
            (True, "Weighted to officer headcounts (95% interval)", PALETTE[0], "circle-open", 13, "weighted")]:
        part = shown[weighted == flag]
        if part.empty:
            continue
        fig.add_trace(go.Scatter(
            x=part["estimate"], y=part["name"], mode="markers", name=name, orientation="h",
            marker=dict(color=color, size=size, symbol=symbol, line=dict(width=2, color=color)),
            error_x=dict(type="data", symmetric=False, array=part["ci_high"] - part["estimate"],
                         arrayminus=part["estimate"] - part["ci_low"], color=color),
            hovertemplate="%{y}<br>%{x:.0%}<extra>" + extra + "</extra>"))
    pub = shown[shown["published_2015"].notna() & ~weighted]
    fig.add_trace(go.Scatter(
        x=pub["published_2015"], y=pub["name"], mode="markers", name="Published 2015", orientation="h",
        marker=dict(color=PALETTE[1], size=11, symbol="diamond-open", line=dict(width=2)),
        hovertemplate="%{y}<br>%{x:.0%}<extra>published 2015</extra>"))
    fig.update_layout(height=90 + 34 * len(pd.unique(shown["name"])), margin=dict(l=10, r=10, t=30, b=40),
                      xaxis=dict(range=[0, 1], tickformat=".0%", title="Share of officers"),
                      yaxis=dict(automargin=True), legend=dict(orientation="h", y=1.02, yanchor="bottom"),
                      template=TEMPLATE, font=dict(size=FONT_SIZE), scattermode="group", scattergap=0.4)
    w = shown[weighted].sort_values("estimate")
    summary = (f"{len(pd.unique(shown['name']))} indicators, each with its weighted share, share of respondents and, "
               "where there is one, the published 2015 figure")
    if len(w):
        summary += (f"; the highest weighted share is {w['name'].iloc[-1]} at {_pct(w['estimate'].iloc[-1])}, "
                    f"the lowest {w['name'].iloc[0]} at {_pct(w['estimate'].iloc[0])}")
    return chart_html(fig, "headline-chart", "Dot chart of the headline indicators", summary + ". The table below gives every figure.")


def build_site(out_root: Path, publication: dict[str, pd.DataFrame], provenance: Provenance,
               assessment=None) -> Path:
    """Write the wave's site to ``out_root/<wave>/`` atomically; return the index.html path.

    ``publication`` holds the gate's tables by name (:data:`assets.publication.gate.PUBLISHED_TABLES`)
    and nothing else; ``assessment`` (the loaded config) gives the county geometry, FIPS codes and
    recommendations, never a number.
    """
    from jinja2 import Environment, FileSystemLoader, select_autoescape


    tables = published_tables(assessment)  # the gate's tables and each further instrument's indicators
    unknown = set(publication) - set(tables)
    if unknown:
        raise ValueError(f"not tables of the publication gate: {sorted(unknown)}")
    pub = {name: publication.get(name, pd.DataFrame(columns=list(spec.columns))) for name, spec in tables.items()}
    headline = pub["published_indicators"]
    changes = pub["published_changes"]
    cells = headline_cells(headline, tracking.change_since_previous(changes))
    policy = _policy(assessment, provenance)

    env = Environment(loader=FileSystemLoader(str(assessment.report_templates)),
                      autoescape=select_autoescape(["html", "j2"]))
    env.filters["pct"] = _pct
    env.filters["points"] = _points
    env.filters["p_value"] = _p_value
    env.filters["count"] = count
    env.filters["why"] = lambda reason: policy.reason_text(reason) if reason else ""
    # the output folder is htna's (marked), and a wave folder is replaced only if htna built it
    claim_output_folder(out_root)
    final = out_root / provenance.wave
    check_replaceable(final)
    for leftover in out_root.glob(f".{provenance.wave}.*"):  # from a build that was killed part-way
        shutil.rmtree(leftover, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{provenance.wave}.building-", dir=out_root))
    try:
        mark_site(staging)
        (staging / "static").mkdir()
        shutil.copy2(STATIC / "site.css", staging / "static" / "site.css")
        shutil.copy2(STATIC / "charts.js", staging / "static" / "charts.js")
        _copy_plotly_js(staging / "static" / "plotly.min.js")
        (staging / "static" / "offline-basemap.js").write_text(GEO_ASSETS_JS, encoding="utf-8")
        (staging / "indicators.csv").write_text(indicators_csv(headline), encoding="utf-8")
        downloads = write_downloads(staging, pub, provenance, tables)
        prev_rows = changes[changes["comparison"] == "previous wave"] if len(changes) else changes
        previous = str(prev_rows["compared_with"].iloc[0]) if len(prev_rows) else None
        sources = extra_pages._records(pub["published_sources"])
        absent = extra_pages.absent_inputs(pub)
        html = env.get_template("index.html.j2").render(
            prov=provenance, pages=PAGES, current="index.html", headline=[c for c in cells if c["featured"]],
            previous_wave=previous, chart=headline_chart(headline), sources=sources,
            absent_inputs=extra_pages.absent_on_page(absent, "index.html"),
            themes_summary=extra_pages.voices_summary(pub["published_interview_themes"],
                                                      missing={a["input"] for a in absent}),
            **summary_context(pub, assessment))
        (staging / "index.html").write_text(with_chart_scripts(html), encoding="utf-8")
        bodies: dict[str, str] = {"index.html": _main(html)}
        for file, context in extra_pages.page_contexts(pub, policy, provenance, assessment).items():
            html = env.get_template(file.replace(".html", ".html.j2")).render(
                prov=provenance, pages=PAGES, current=file,
                domain_tables=_domain_tables(cells, policy.mostly_hidden), downloads=downloads,
                policy=policy, absent_inputs=extra_pages.absent_on_page(absent, file),
                instrument_sections=instrument_sections(pub, assessment, file, policy.mostly_hidden,
                                                        {a["input"] for a in absent}), **context)
            (staging / file).write_text(with_chart_scripts(html), encoding="utf-8")
            bodies[file] = _main(html)
        html = env.get_template("print.html.j2").render(
            prov=provenance, pages=PAGES, current="print.html",
            sections=[(file, title, bodies[file]) for file, title in PAGES if file in bodies])
        (staging / "print.html").write_text(with_chart_scripts(html), encoding="utf-8")
        # readable as the config says (it is meant to be shared), writable by its owner only
        readable_by = assessment.config.report.readable_by if assessment is not None else "everyone"
        apply_site_modes(staging, readable_by)
        os.chmod(out_root, SITE_MODES[readable_by][0])
        crash_point("report:before-swap")
        old = None
        if final.exists():
            old = out_root / f".{provenance.wave}.old-{os.getpid()}"
            final.rename(old)
        staging.rename(final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final / "index.html"


def summary_context(pub: dict[str, pd.DataFrame], assessment=None) -> dict:
    """What the executive summary opens with: the findings, the prevalence estimate beside the earlier
    published range, and the recommendations at a glance (from the published tables and the config)."""
    context = assessment.context if assessment is not None else None
    recs = []
    if assessment is not None:
        recs = tracking.recommendation_rows(assessment, pub["published_indicators"], pub["published_changes"],
                                            pub["published_interview_themes"], pub["published_service_coverage"])
        for r in recs:
            r["glance"] = tracking.progress_at_a_glance(r)
    prefer = ([t.indicator for r in assessment.recommendations.recommendations for t in r.indicators
               if t.domain == "all"] if assessment is not None and assessment.recommendations else [])
    prev = pub["published_prevalence"]
    overall = prev[(prev["stratum"].astype(str) == "all") & prev["estimate"].notna()
                   & ~prev["suppressed"].astype(bool)] if len(prev) else prev
    prevalence = extra_pages._records(overall.head(1))
    return {"findings": summary_findings(pub, prefer, context), "context": context, "recs": recs,
            "prevalence": prevalence[0] if prevalence else None}


#: where base.html.j2 loads the chart scripts, on pages that draw a chart only
CHART_SCRIPTS_MARK = "<!--chart-scripts-->"
CHART_SCRIPTS = ('<script src="static/offline-basemap.js"></script>\n'
                 '<script defer src="static/plotly.min.js"></script>\n'
                 '<script defer src="static/charts.js"></script>')


_TABLE = re.compile(r'<table class="data[^"]*"(?P<attrs>[^>]*)>(?P<body>.*?)</table>', re.S)
_CAPTION = re.compile(r"<caption>(.*?)</caption>", re.S)


def scrollable_tables(page: str) -> str:
    """Each data table inside its own horizontally scrolling region (a phone scrolls the table, never the
    page), named by the table's caption and reachable by keyboard."""
    def wrap(m: re.Match) -> str:
        cap = _CAPTION.search(m.group("body"))
        name = re.sub(r"<[^>]+>|\s+", " ", cap.group(1)).strip() if cap else "Table"
        hidden = m.group("body").count('<tr class="suppressed"')
        note = (f'<p class="print-only hidden-rows">{hidden} hidden row{"s" if hidden > 1 else ""} of this table '
                "not printed (the site lists each with its reason).</p>" if hidden else "")
        return (f'<div class="table-scroll" role="region" tabindex="0" aria-label="{name} (scrolls sideways)">'
                f'{m.group(0)}</div>{note}')
    return _TABLE.sub(wrap, page)


_MAIN = re.compile(r'<main id="main" tabindex="-1">(.*)</main>', re.S)


def _main(page: str) -> str:
    """A rendered page's content (for the print page that holds them all)."""
    m = _MAIN.search(page)
    return m.group(1) if m else ""


def with_chart_scripts(page: str) -> str:
    """plotly.js (4.8 MB) only on pages with a chart, deferred so it never blocks the text."""
    page = scrollable_tables(page)
    m = _MAIN.search(page)
    if m and 'class="page-glossary"' not in page:
        page = page[:m.start(1)] + link_terms(m.group(1)) + page[m.end(1):]
    return page.replace(CHART_SCRIPTS_MARK, CHART_SCRIPTS if 'class="plotly-graph-div' in page else "", 1)


def _policy(assessment, provenance: Provenance):
    from assets.publication.policy import DisclosurePolicy

    if assessment is not None:
        return DisclosurePolicy.from_assessment(assessment)
    return DisclosurePolicy(min_cell_count=provenance.min_cell_count)


def _domain_tables(cells: list[dict], mostly_hidden: float = 0.5) -> list[dict]:
    """Per indicator, its rows by domain (overall first), for the report's breakdown section; a
    domain whose cells are mostly hidden is replaced by one sentence (``hidden_domains``)."""
    out: dict[str, dict] = {}
    for c in cells:
        t = out.setdefault(c["indicator"], {"indicator": c["indicator"], "label": c["label"], "rows": [],
                                            "hidden_domains": []})
        t["rows"].append(c)
    for t in out.values():
        by_domain: dict[str, list[dict]] = {}
        for r in t["rows"]:
            by_domain.setdefault(r["domain"], []).append(r)
        for domain, rows in by_domain.items():
            hidden = sum(r["suppressed"] for r in rows)
            if domain != "all" and len(rows) > 1 and hidden / len(rows) > mostly_hidden:
                t["hidden_domains"].append({"domain": domain, "hidden": hidden, "cells": len(rows)})
                t["rows"] = [r for r in t["rows"] if r["domain"] != domain]
    return list(out.values())


def _copy_plotly_js(dest: Path) -> None:
    """plotly.js ships with the plotly package; the site carries one copy for all its pages."""
    import plotly

    shutil.copyfile(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", dest)
