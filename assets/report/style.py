"""The site's visual constants: colours, chart template and the Plotly configuration every chart uses.

Kept apart from the page builders so that :mod:`assets.report.site`, :mod:`assets.report.pages`,
:mod:`assets.report.tracking` and :mod:`assets.report.county_map` all read them from below and none
imports another for a colour (no import cycle).

Every colour that carries meaning in a chart is at least 3:1 against white (WCAG 1.4.11, non-text
contrast); the hues follow Okabe–Ito (readable with the common colour-vision deficiencies), darkened
where the original is too light (orange #E69F00 is 2.25:1, so it is #B35C00 here).
"""

from __future__ import annotations

import html
import json

#: blue, orange, bluish green, reddish purple, vermillion, purple, olive, black: all >= 3:1 on white
PALETTE = ["#0072B2", "#B35C00", "#009E73", "#C0609A", "#D55E00", "#6A3D9A", "#8C6D00", "#000000"]
#: colour of a thing drawn as "not this one" (e.g. a list a combination does not include): an outline
#: of this colour, at 3:1, on a white fill
MUTED = "#8a9199"
#: colour of notes written into a chart (e.g. "hidden" where a bar would be)
NOTE = "#555555"
#: Plotly template and base font size of every chart
TEMPLATE = "plotly_white"
FONT_SIZE = 12
#: Plotly configuration of every chart: a mode bar with one button, download as PNG (no link to
#: Plotly's cloud, no logo, no zoom tools adding tab stops)
CHART_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtons": [["toImage"]],
                "toImageButtonOptions": {"format": "png", "scale": 2}}


def contrast(colour: str, background: str = "#ffffff") -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours."""
    def lum(c: str) -> float:
        r, g, b = (int(c.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
        f = lambda v: v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4  # noqa: E731
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)
    a, b = sorted((lum(colour), lum(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def chart_html(fig, div_id: str, name: str = "", description: str = "", attrs: dict[str, str] | None = None) -> str:
    """The chart's HTML: its plot (drawn once the page and the deferred plotly.js have loaded), named
    ``name`` for screen readers and described by ``description`` (a sentence summarising what it
    shows, printed under it); static/charts.js gives the drawn SVG role="img" with that name and hides
    its tick labels from screen readers (the data table beside each chart has the numbers)."""
    import plotly.io as pio  # here, not at module import: loading the definitions needs no plotly

    config = dict(CHART_CONFIG, toImageButtonOptions=dict(CHART_CONFIG["toImageButtonOptions"], filename=div_id))
    spec = pio.to_json(fig, validate=False, remove_uids=True).replace("<", "\\u003c").replace(">", "\\u003e")
    name = name or div_id.replace("-", " ")
    desc = (f'<p class="chart-desc" id="{div_id}-desc">{html.escape(description)}</p>' if description else "")
    return (f'<div id="{div_id}" class="plotly-graph-div chart-plot" style="width:100%" '
            f'data-chart-name="{html.escape(name)}"'
            + (f' data-chart-desc="{div_id}-desc"' if description else "")
            + "".join(f' {k}="{html.escape(v)}"' for k, v in (attrs or {}).items()) + '></div>'
            f'<script>document.addEventListener("DOMContentLoaded", function () {{ var f = {spec}; '
            f'Plotly.newPlot("{div_id}", f.data, f.layout, {json.dumps(config)}); }});</script>' + desc)
