"""The site's visual constants: colours, chart template and the Plotly configuration every chart uses.

Kept apart from the page builders so that :mod:`assets.report.site`, :mod:`assets.report.pages`,
:mod:`assets.report.tracking` and :mod:`assets.report.county_map` all read them from below and none
imports another for a colour (no import cycle).
"""

from __future__ import annotations

#: Okabe–Ito hues (readable with the common colour-vision deficiencies).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
#: colour of a thing drawn as "not this one" (e.g. a list a combination does not include)
MUTED = "#d8dde3"
#: colour of notes written into a chart (e.g. "hidden" where a bar would be)
NOTE = "#555555"
#: Plotly template and base font size of every chart
TEMPLATE = "plotly_white"
FONT_SIZE = 12
#: Plotly configuration of every chart
CHART_CONFIG = {"displaylogo": False, "responsive": True}


def chart_html(fig, div_id: str) -> str:
    """The chart's HTML fragment (plotly.js is loaded once by the page, never inlined)."""
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=dict(CHART_CONFIG))
