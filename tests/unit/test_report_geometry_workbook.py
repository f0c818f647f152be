"""The map's county geometry (shipped, derived from the Census file) and the XLSX workbook (safe, reproducible)."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pandas as pd
import pytest

from assets.report.geometry import extract_state_counties, load_county_geometry
from assets.report.workbook import safe_text, write_workbook
from pipelines.config import REPO_ROOT
from pipelines.errors import ConfigError

SHIPPED = REPO_ROOT / "config" / "maine" / "counties.geojson"


def test_shipped_geometry_is_the_census_file_cut_to_maine(assessment):
    shipped = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(extract_state_counties(assessment.config.state.fips)))
    ids = sorted(f["id"] for f in shipped["features"])
    assert ids == sorted(c.fips for c in assessment.config.counties)
    names = {f["id"]: f["properties"]["name"] for f in shipped["features"]}
    assert all(names[c.fips] == c.name for c in assessment.config.counties)
    for f in shipped["features"]:  # closed rings of at least four points
        for polygon in f["geometry"]["coordinates"]:
            for ring in polygon:
                assert len(ring) >= 4 and ring[0] == ring[-1]
    assert SHIPPED.stat().st_size < 400_000


def test_geometry_that_does_not_match_the_config_is_a_clear_error(tmp_path, assessment):
    fips = [c.fips for c in assessment.config.counties]
    with pytest.raises(ConfigError, match="not found"):
        load_county_geometry(tmp_path / "none.geojson", fips)
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="GeoJSON"):
        load_county_geometry(bad, fips)
    short = tmp_path / "short.geojson"
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    data["features"] = data["features"][1:]
    short.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="missing FIPS"):
        load_county_geometry(short, fips)
    with pytest.raises(ConfigError, match="no counties with state FIPS"):
        extract_state_counties("99")


def test_workbook_never_holds_a_formula_and_is_byte_identical(tmp_path):
    table = pd.DataFrame({"label": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "plain", "\tx"],
                          "share": [0.5, None, 0.25, 1.0, 0.0, 0.1], "n": [10, 11, 12, 13, 14, 15],
                          "flag": [True, False, True, False, True, False]})
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_workbook(a, {"=Sheet": table}, ["Synthetic demonstration data", "=1+1"])
    write_workbook(b, {"=Sheet": table}, ["Synthetic demonstration data", "=1+1"])
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    with zipfile.ZipFile(a) as z:
        xml = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
    assert "<f>" not in xml  # no formula element anywhere
    from openpyxl import load_workbook

    wb = load_workbook(a)
    assert wb.sheetnames[0] == "About"
    ws = wb.worksheets[1]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0] == ["label", "share", "n", "flag"]
    assert [r[0] for r in values[1:]] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "plain", "'\tx"]
    assert values[2][1] is None and values[1][1] == 0.5 and values[1][2] == 10 and values[1][3] is True
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert safe_text("=x") == "'=x" and safe_text("x=") == "x="
