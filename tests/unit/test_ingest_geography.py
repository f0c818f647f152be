"""County answers: names, 'X County', abbreviations, FIPS codes and every Maine municipality."""

from __future__ import annotations

import csv

import pytest

from assets.ingest.geography import MUNICIPALITIES_FILE, CountyResolver, load_municipalities
from pipelines.config import REPO_ROOT

TABLE = REPO_ROOT / "config" / "maine" / MUNICIPALITIES_FILE


@pytest.fixture(scope="module")
def resolver(assessment):
    return CountyResolver.for_assessment(assessment)


@pytest.mark.parametrize("town,county", [
    ("Portland", "Cumberland"), ("Bangor", "Penobscot"), ("Lewiston", "Androscoggin"), ("Augusta", "Kennebec"),
    ("Biddeford", "York"), ("Presque Isle", "Aroostook"), ("Ellsworth", "Hancock"), ("Rockland", "Knox"),
    ("Machias", "Washington"), ("Skowhegan", "Somerset"), ("Farmington", "Franklin"),
    ("Dover-Foxcroft", "Piscataquis"), ("Belfast", "Waldo"), ("Bath", "Sagadahoc"), ("Wiscasset", "Lincoln"),
    ("Rumford", "Oxford"), ("South Portland", "Cumberland"), ("Old Orchard Beach", "York"),
    ("Millinocket", "Penobscot"), ("Fort Kent", "Aroostook"), ("Bar Harbor", "Hancock"), ("Camden", "Knox"),
    ("Greenville", "Piscataquis"), ("Calais", "Washington"), ("Brunswick", "Cumberland"), ("Sanford", "York"),
    ("Waterville", "Kennebec"), ("Auburn", "Androscoggin"), ("Rangeley", "Franklin"), ("Boothbay Harbor", "Lincoln"),
    ("Topsham", "Sagadahoc"), ("Searsport", "Waldo"), ("Jackman", "Somerset"), ("Norway", "Oxford"),
    ("Caribou", "Aroostook"), ("Houlton", "Aroostook"), ("Orono", "Penobscot"), ("Eastport", "Washington"),
])
def test_well_known_towns(resolver, town, county):
    assert resolver.resolve(town).county == county
    assert resolver.resolve(f"{town.upper()}, ME").county == county
    assert resolver.resolve(f"  city of {town.lower()} ").county == county


@pytest.mark.parametrize("given,county", [
    ("Cumberland", "Cumberland"), ("cumberland county", "Cumberland"), ("Cumberland Co.", "Cumberland"),
    ("CUM", "Cumberland"), ("Andro", "Androscoggin"), ("PISC", "Piscataquis"), ("23031", "York"), ("031", "York"),
    ("23019.0", "Penobscot"), ("Lincoln", "Lincoln"), ("Franklin County, Maine", "Franklin"),
    ("St. Agatha", "Aroostook"), ("Saint Agatha", "Aroostook"), ("Swans Island", "Hancock"),
    ("Swan\u2019s Island", "Hancock"), ("dover foxcroft", "Piscataquis"), ("Matinicus Isle Plantation", "Knox"),
    ("The Forks Plt", "Somerset"), ("Indian Township", "Washington"),
])
def test_county_forms(resolver, given, county):
    assert resolver.resolve(given).county == county


@pytest.mark.parametrize("given", ["Gotham", "Boston, MA", "99999", "23099", "", "   "])
def test_unplaceable_answers_have_a_reason(resolver, given):
    p = resolver.resolve(given)
    assert p.county is None
    if given.strip():
        assert p.how.startswith("unknown county:") and given.strip() in p.how
    else:
        assert p.how == ""


def test_ambiguous_town_names_are_not_guessed():
    r = CountyResolver([("A", "23001"), ("B", "23003")], [("Springfield", "A", "town"), ("Springfield", "B", "town")])
    p = r.resolve("Springfield")
    assert p.county is None and "A and B" in p.how


def test_municipality_table_is_complete(assessment):
    rows = load_municipalities(TABLE)
    counties = set(assessment.county_names)
    by_county = {c: [r for r in rows if r[1] == c] for c in counties}
    assert {r[1] for r in rows} == counties  # every county, no other
    kinds = {r[2] for r in rows}
    assert kinds <= {"city", "town", "plantation", "reservation", "unorganized"}
    organised = [r for r in rows if r[2] in ("city", "town", "plantation")]
    assert 470 <= len(organised) <= 500  # Maine: 23 cities, ~430 towns, ~30 plantations
    assert sum(r[2] == "city" for r in rows) == 23
    assert len({r[0] for r in rows}) == len(rows)  # no name listed twice
    assert all(len(v) >= 10 for v in by_county.values())
    with TABLE.open(encoding="utf-8") as fh:
        header = next(csv.reader(line for line in fh if not line.startswith("#")))
    assert header == ["municipality", "county", "kind"]


def test_every_listed_municipality_resolves_to_its_county(resolver):
    for name, county, _kind in load_municipalities(TABLE):
        got = resolver.resolve(name)
        if name in resolver.counties:  # a town named like a county: the county wins
            assert got.county == name
        else:
            assert got.county == county, name
