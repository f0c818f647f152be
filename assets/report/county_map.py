"""The county map of the training gap: a Plotly choropleth drawn from the shipped county geometry.

Offline for real: Plotly's geo plots fetch a world base map (``world_110m.json``) from a CDN even
when every shape comes from custom GeoJSON and the base map is hidden. plotly.js first looks for
that base map in ``window.PlotlyGeoAssets`` (the hook its offline bundles use), so the site ships
:data:`GEO_ASSETS_JS`, an empty topology under that name; with ``geo.visible = False`` nothing of it
is drawn and nothing is fetched. The browser tests record every request to prove it.

Colours: a sequential blue scale (readable with every common colour-vision deficiency). The map
shows the published county table (``published_county_estimates``): a county shown on its own has
its model estimate; the counties of a group shown combined carry that combined row's share, and
their hover text says so (nothing of a single hidden county is drawn).
"""

from __future__ import annotations

import html
import json

import pandas as pd

from assets.report.style import FONT_SIZE, TEMPLATE, chart_html

#: Written to ``static/offline-basemap.js`` and loaded before plotly.js (see the module docstring).
GEO_ASSETS_JS = (
    "/* An empty base map for Plotly's geo plots, so they never fetch world_110m.json from a CDN:\n"
    "   the site's maps draw only the shipped county GeoJSON (htna, assets/report/county_map.py). */\n"
    "window.PlotlyGeoAssets = {topojson: {world_110m: {type: \"Topology\", objects: {}, arcs: []}}};\n"
)


def county_map(county: pd.DataFrame | None, geometry: dict | None, fips_of: dict[str, str],
               groups: dict[str, list[str]] | None = None, div_id: str = "county-map") -> str:
    """A choropleth of the training gap by county: one measure shown, a menu switches between measures.

    ``county`` is ``published_county_estimates``; its ``breakdown == "county"`` rows are mapped by
    FIPS code (``fips_of``: county name -> FIPS, from the config), a combined row onto each county of
    its group (``groups``: group -> counties) not shown on its own. Returns the chart's HTML ('' when
    there is nothing to map).
    """
    if county is None or county.empty or geometry is None:
        return ""
    import plotly.graph_objects as go

    part = county[county["breakdown"] == "county"]
    if part.empty:
        return ""
    measures = list(dict.fromkeys(part["measure"]))
    views = []  # per measure: the trace's z, customdata and hover text (the geometry is embedded once)
    for measure in measures:
        rows = part[part["measure"] == measure]
        label = str(rows["measure_label"].iloc[0])
        own = {str(r.county): r for r in rows.itertuples() if r.shown_as == "model estimate"}
        combined = {str(r.county_group): r for r in rows.itertuples() if r.shown_as != "model estimate"}
        locations, z, custom = [], [], []
        for name, fips in fips_of.items():
            r = own.get(name)
            if r is None:
                group = next((g for g, members in (groups or {}).items() if name in members), None)
                r = combined.get(group)
            if r is None or pd.isna(r.estimate):
                continue
            locations.append(fips)
            z.append(float(r.estimate))
            rank = "" if pd.isna(r.rank) else f" (rank {int(r.rank)})"
            what = (f"about {r.officers_needing_training:.0f} officers needing training{rank}"
                    if r.shown_as == "model estimate" else f"shown with {r.county}: too few officers answered "
                                                             "to show the county on its own")
            custom.append([name, float(r.ci_low), float(r.ci_high), what])
        views.append({"label": label, "locations": locations, "z": z, "customdata": custom,
                      "hovertemplate": ("<b>%{customdata[0]}</b><br>" + html.escape(label) + "<br>share %{z:.0%} "
                                        "(95% range %{customdata[1]:.0%}–%{customdata[2]:.0%})<br>"
                                        "%{customdata[3]}<extra></extra>")})
    first = views[0]
    fig = go.Figure(go.Choropleth(
        geojson=geometry, featureidkey="id", locations=first["locations"], z=first["z"], zmin=0, zmax=1,
        colorscale="Blues", marker_line_color="#ffffff", marker_line_width=0.8, customdata=first["customdata"],
        hovertemplate=first["hovertemplate"], name="training gap",
        colorbar=dict(title=dict(text="Share of<br>officers"), tickformat=".0%", len=0.8)))
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    fig.update_layout(height=560, margin=dict(l=0, r=0, t=10, b=0), template=TEMPLATE, font=dict(size=FONT_SIZE),
                      clickmode="event")
    shown = max(len(v["locations"]) for v in views)
    chart = chart_html(fig, div_id, "Map of the counties shaded by the training gap",
                       f"{shown} counties shaded by the estimated share of officers for the measure chosen above "
                       f"({len(views)} measure{'s' if len(views) > 1 else ''}); darker is a larger share. "
                       "The tables below give every county's figures.", attrs={"data-county-map": ""})
    options = "".join(f'<option value="{i}">{html.escape(v["label"])}</option>' for i, v in enumerate(views))
    data = json.dumps(views).replace("<", "\\u003c").replace(">", "\\u003e")
    return (f'<div class="map-controls"><label for="{div_id}-measure">Measure shown on the map</label> '
            f'<select id="{div_id}-measure">{options}</select></div>'
            f'<script type="application/json" id="{div_id}-views">{data}</script>{chart}'
            f'<p class="map-value" id="{div_id}-value" aria-live="polite">Tap or click a county for its figures.</p>')
