"""Building the published site of one wave from aggregate tables only.

The site is static and offline: one folder per wave with ``index.html``, the CSV download, a
stylesheet and one copy of plotly.js, with no request to any other host. It is built in a
temporary folder next to the destination and swapped in whole, so a reader never sees half a site.
Every text that came from an input is escaped by the template engine (autoescape on).
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from pipelines.config import REPO_ROOT

TEMPLATES = REPO_ROOT / "reports" / "templates"
STATIC = REPO_ROOT / "reports" / "static"
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]  # Okabe–Ito


@dataclass(frozen=True)
class Provenance:
    """Where a published page came from: inputs by hash, code version, build time."""

    wave: str
    inputs: list[dict]
    code_version: str
    built_at: str
    synthetic: bool
    state: str
    min_cell_count: int


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


PUBLISHED_INDICATOR_COLUMNS = ["indicator", "label", "domain", "level", "n", "estimate", "se", "ci_low",
                               "ci_high", "ci_method", "weighted", "published_2015", "suppressed"]


def indicators_csv(headline: pd.DataFrame) -> str:
    table = headline[["wave", *PUBLISHED_INDICATOR_COLUMNS]].copy()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.columns)
    for rec in table.itertuples(index=False):
        w.writerow(["" if (isinstance(v, float) and math.isnan(v)) else
                    (f"{v:.6f}" if isinstance(v, float) else _csv_safe(v)) for v in rec])
    return buf.getvalue()


def _pct(x: float) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def headline_chart(headline: pd.DataFrame) -> str:
    """Estimate with its interval beside the published 2015 figure, one row per indicator level."""
    import plotly.graph_objects as go

    shown = headline[~headline["suppressed"]].copy()
    shown["name"] = [lbl if dom == "all" else f"{lbl} — {lvl}"
                     for lbl, dom, lvl in zip(shown["label"], shown["domain"], shown["level"])]
    shown = shown.iloc[::-1]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=shown["estimate"], y=shown["name"], mode="markers", name="This wave (95% interval)",
        marker=dict(color=PALETTE[0], size=10, symbol="circle"),
        error_x=dict(type="data", symmetric=False, array=shown["ci_high"] - shown["estimate"],
                     arrayminus=shown["estimate"] - shown["ci_low"], color=PALETTE[0]),
        hovertemplate="%{y}<br>%{x:.0%}<extra>this wave</extra>"))
    pub = shown[shown["published_2015"].notna()]
    fig.add_trace(go.Scatter(
        x=pub["published_2015"], y=pub["name"], mode="markers", name="Published 2015",
        marker=dict(color=PALETTE[1], size=11, symbol="diamond-open", line=dict(width=2)),
        hovertemplate="%{y}<br>%{x:.0%}<extra>published 2015</extra>"))
    fig.update_layout(height=90 + 34 * len(shown), margin=dict(l=10, r=10, t=30, b=40),
                      xaxis=dict(range=[0, 1], tickformat=".0%", title="Share of officers"),
                      yaxis=dict(automargin=True), legend=dict(orientation="h", y=1.02, yanchor="bottom"),
                      template="plotly_white", font=dict(size=12))
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id="headline-chart",
                       config={"displaylogo": False, "responsive": True})


def build_site(
    out_root: Path,
    headline: pd.DataFrame,
    themes: pd.DataFrame,
    provenance: Provenance,
) -> Path:
    """Write the wave's site to ``out_root/<wave>/`` atomically; return the index.html path."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]))
    env.filters["pct"] = _pct
    out_root.mkdir(parents=True, exist_ok=True)
    final = out_root / provenance.wave
    staging = Path(tempfile.mkdtemp(prefix=f".{provenance.wave}.building-", dir=out_root))
    try:
        (staging / "static").mkdir()
        shutil.copy2(STATIC / "site.css", staging / "static" / "site.css")
        _copy_plotly_js(staging / "static" / "plotly.min.js")
        (staging / "indicators.csv").write_text(indicators_csv(headline), encoding="utf-8")
        html = env.get_template("index.html.j2").render(
            prov=provenance, headline=headline.to_dict("records"),
            stakeholder_themes=themes[themes["dataset"] == "stakeholder_interviews"].to_dict("records"),
            survivor_themes=themes[themes["dataset"] == "survivor_interviews"].to_dict("records"),
            chart=headline_chart(headline))
        (staging / "index.html").write_text(html, encoding="utf-8")
        os.chmod(staging, 0o755)
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


def _copy_plotly_js(dest: Path) -> None:
    """plotly.js ships with the plotly package; the site carries one copy for all its pages."""
    import plotly

    shutil.copyfile(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", dest)
