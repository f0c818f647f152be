"""The county map of the training gap: a Plotly choropleth drawn from the shipped county geometry.

Offline for real: Plotly's geo plots fetch a world base map (``world_110m.json``) from a CDN even
when every shape comes from custom GeoJSON and the base map is hidden. plotly.js first looks for
that base map in ``window.PlotlyGeoAssets`` (the hook its offline bundles use), so the site ships
:data:`GEO_ASSETS_JS`, an empty topology under that name; with ``geo.visible = False`` nothing of it
is drawn and nothing is fetched. The browser tests record every request to prove it.

Colours: a sequential blue scale (readable with every common colour-vision deficiency). The map
shows model estimates (shares of officers in the gap with their 95% ranges, and the officers that
means); these are not respondent counts, so they are shown for every county, as in the ranking table.
"""

from __future__ import annotations

import html

import pandas as pd

#: Written to ``static/offline-basemap.js`` and loaded before plotly.js (see the module docstring).
GEO_ASSETS_JS = (
    "/* An empty base map for Plotly's geo plots, so they never fetch world_110m.json from a CDN:\n"
    "   the site's maps draw only the shipped county GeoJSON (htna, assets/report/county_map.py). */\n"
    "window.PlotlyGeoAssets = {topojson: {world_110m: {type: \"Topology\", objects: {}, arcs: []}}};\n"
)


def county_map(county: pd.DataFrame | None, geometry: dict | None, fips_of: dict[str, str],
               div_id: str = "county-map") -> str:
    """A choropleth of the training gap by county: one measure shown, a menu switches between measures.

    ``county`` is the ``training_gap_by_county`` table; only its ``breakdown == "county"`` rows are
    mapped, each to its shape by the county's FIPS code (``fips_of``: county name -> FIPS, from the
    config). Returns the chart's HTML ('' when there is nothing to map).
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
        rows = part[(part["measure"] == measure) & part["county"].isin(list(fips_of))]
        label = str(rows["measure_label"].iloc[0])
        custom = [[c, lo, hi, off, int(rk)] for c, lo, hi, off, rk in zip(
            rows["county"].astype(str), rows["ci_low"].astype(float), rows["ci_high"].astype(float),
            rows["officers_needing_training"].astype(float), rows["rank"])]
        views.append({"label": label, "locations": [fips_of[c] for c in rows["county"]],
                      "z": [float(v) for v in rows["eblup"]], "customdata": custom,
                      "hovertemplate": ("<b>%{customdata[0]}</b><br>" + html.escape(label) + "<br>share %{z:.0%} "
                                        "(95% range %{customdata[1]:.0%}–%{customdata[2]:.0%})<br>"
                                        "about %{customdata[3]:.0f} officers needing training (rank %{customdata[4]})"
                                        "<extra></extra>")})
    first = views[0]
    fig = go.Figure(go.Choropleth(
        geojson=geometry, featureidkey="id", locations=first["locations"], z=first["z"], zmin=0, zmax=1,
        colorscale="Blues", marker_line_color="#ffffff", marker_line_width=0.8, customdata=first["customdata"],
        hovertemplate=first["hovertemplate"], name="training gap",
        colorbar=dict(title=dict(text="Share of<br>officers"), tickformat=".0%", len=0.8)))
    buttons = [dict(label=v["label"], method="restyle",
                    args=[{"locations": [v["locations"]], "z": [v["z"]], "customdata": [v["customdata"]],
                           "hovertemplate": [v["hovertemplate"]]}]) for v in views]
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    fig.update_layout(
        height=560, margin=dict(l=0, r=0, t=40, b=0), template="plotly_white", font=dict(size=12),
        updatemenus=[dict(buttons=buttons, direction="down", x=0, xanchor="left", y=1.08, yanchor="top",
                          showactive=True)] if len(buttons) > 1 else [])
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})
