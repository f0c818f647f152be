"""County boundaries for the report's map, shipped with the project so the map draws offline.

The geometry is the U.S. Census Bureau's cartographic boundary file of counties (``cb_2016_us_county_500k``,
public domain) as packaged by ``plotly-geo``. :func:`extract_state_counties` cuts one state's counties
out of it (coordinates rounded to 4 decimals, about 10 m, which keeps Maine's map near 250 kB) and
``htna geometry`` writes that as GeoJSON into the state's config folder. At run time the report only
reads the shipped GeoJSON (:func:`load_county_geometry`), so neither ``plotly-geo`` nor ``pyshp`` is
needed to build a report, and nothing is fetched from the network.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.errors import ConfigError

SOURCE = "U.S. Census Bureau cartographic boundary file cb_2016_us_county_500k (via the plotly-geo package)"


def _ring(points: list[tuple[float, float]], digits: int) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y in points:
        p = [round(float(x), digits), round(float(y), digits)]
        if not out or out[-1] != p:
            out.append(p)
    if out and out[0] != out[-1]:
        out.append(out[0])
    return out


def extract_state_counties(state_fips: str, digits: int = 4) -> dict:
    """The counties of one state as a GeoJSON FeatureCollection, ``id`` = 5-digit county FIPS.

    Needs the development packages ``plotly-geo`` (the shapefile) and ``pyshp`` (to read it).
    Each shapefile part becomes one polygon (islands are separate parts in the cartographic file);
    parts whose rounded ring collapses below four points are dropped.
    """
    import os

    import _plotly_geo
    import shapefile

    base = os.path.join(os.path.dirname(_plotly_geo.__file__), "package_data", "cb_2016_us_county_500k")
    features = []
    with shapefile.Reader(base) as reader:
        for sr in reader.iterShapeRecords():
            rec = sr.record
            if rec["STATEFP"] != state_fips:
                continue
            pts = sr.shape.points
            bounds = list(sr.shape.parts) + [len(pts)]
            polygons = []
            for a, b in zip(bounds[:-1], bounds[1:]):
                ring = _ring(pts[a:b], digits)
                if len(ring) >= 4:
                    polygons.append([ring])
            features.append({"type": "Feature", "id": rec["GEOID"], "properties": {"name": rec["NAME"]},
                             "geometry": {"type": "MultiPolygon", "coordinates": polygons}})
    if not features:
        raise ConfigError("assessment.yaml", f"no counties with state FIPS {state_fips!r} in the Census county file",
                          "check `state.fips` (the state's two-digit Census FIPS code)")
    features.sort(key=lambda f: f["id"])
    return {"type": "FeatureCollection", "source": SOURCE, "features": features}


def write_geojson(collection: dict, path: Path) -> None:
    path.write_text(json.dumps(collection, separators=(",", ":")) + "\n", encoding="utf-8")


def load_county_geometry(path: Path, county_fips: list[str]) -> dict:
    """Read the shipped county GeoJSON and check it holds exactly the configured counties."""
    try:
        collection = json.loads(Path(path).read_text(encoding="utf-8"))
        ids = [str(f["id"]) for f in collection["features"]]
    except FileNotFoundError:
        raise ConfigError(path, "county geometry file not found",
                          "create it with `htna geometry --config <assessment.yaml>`") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(path, f"not a GeoJSON FeatureCollection with an `id` per feature ({exc})",
                          "re-create it with `htna geometry`") from None
    missing = sorted(set(county_fips) - set(ids))
    extra = sorted(set(ids) - set(county_fips))
    if missing or extra:
        raise ConfigError(path, f"county geometry does not match the configured counties "
                          f"(missing FIPS {missing}, not configured {extra})", "re-create it with `htna geometry`")
    return collection
