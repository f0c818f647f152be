"""Service coverage by county and the counties without after-hours response, on a hand-made inventory."""

from __future__ import annotations

import pandas as pd

from assets.estimates.services import (
    COVERAGE_COLUMNS,
    GAP_COLUMNS,
    counties_without_after_hours,
    service_coverage_by_county,
)
from assets.ingest.service_inventory import InventoryReport, to_service_providers
from pipelines.config import Assessment

WAVE = "2015"


def providers(assessment, rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=["provider", "counties_served", "service_types", "hours"])
    table.insert(0, "source_row", range(2, len(table) + 2))
    accepted, quarantine, _ = to_service_providers(table, InventoryReport(rows_read=len(table)), assessment, WAVE)
    assert len(quarantine) == 0
    return accepted


INVENTORY = [
    # provider, counties, services, hours
    ("Hotline", "Statewide", "Emergency response; Mental health", "24/7"),
    ("Cumberland Crisis", "Cumberland; York", "Emergency response", "24/7"),
    ("Cumberland Crisis", "Cumberland", "Legal services", "Business hours"),   # same provider, second row
    ("CUMBERLAND  crisis", "Cumberland", "Emergency response", "Business hours"),  # same name, other spelling
    ("York Shelter", "York", "Shelter and housing; Basic needs", "After hours"),
    ("Knox Clinic", "Knox", "Medical care; Emergency response", "Business hours"),
    ("Legal Line", "Statewide", "Legal services", "Business hours"),
]


def cell(table: pd.DataFrame, county: str, service: str) -> dict:
    row = table[(table["county"] == county) & (table["service_type"] == service)]
    assert len(row) == 1
    return row.iloc[0].to_dict()


def test_matrix_has_every_county_and_service_type_with_typed_columns(assessment):
    cov = service_coverage_by_county(providers(assessment, INVENTORY), assessment, WAVE)
    types = [t.id for t in assessment.config.services.types]
    assert len(cov) == 16 * len(types) == 128
    assert list(cov.columns) == list(COVERAGE_COLUMNS)
    assert {c: str(t) for c, t in cov.dtypes.items()} == {
        c: ("object" if t is object else "bool" if t is bool else t) for c, t in COVERAGE_COLUMNS.items()}
    assert list(cov["county"].iloc[:: len(types)]) == assessment.county_names  # config order
    assert list(cov["service_type"].iloc[: len(types)]) == types
    assert (cov["wave"] == WAVE).all()
    assert cov.loc[cov["county"] == "Knox", "fips"].iloc[0] == "23013"
    assert cov.loc[cov["county"] == "York", "county_group"].iloc[0] == "Cumberland and York"


def test_counts_and_flags_computed_by_hand(assessment):
    cov = service_coverage_by_county(providers(assessment, INVENTORY), assessment, WAVE)
    # Cumberland emergency response: Hotline (statewide, 24/7) and Cumberland Crisis (local; its 24/7 row
    # and its business-hours row under another spelling are one provider, 24/7) -> 2 providers, 1 local.
    assert {k: cell(cov, "Cumberland", "emergency_response")[k] for k in
            ("providers", "local_providers", "after_hours_providers", "local_after_hours_providers",
             "providers_24_7", "covered", "any_after_hours", "local_after_hours", "any_24_7")} == {
        "providers": 2, "local_providers": 1, "after_hours_providers": 2, "local_after_hours_providers": 1,
        "providers_24_7": 2, "covered": True, "any_after_hours": True, "local_after_hours": True, "any_24_7": True}
    # Cumberland legal: Cumberland Crisis (business hours) + Legal Line (statewide, business hours)
    legal = cell(cov, "Cumberland", "legal")
    assert (legal["providers"], legal["local_providers"], legal["after_hours_providers"], legal["covered"],
            legal["any_after_hours"]) == (2, 1, 0, True, False)
    # York shelter: York Shelter, after hours but not 24/7
    shelter = cell(cov, "York", "shelter_housing")
    assert (shelter["providers"], shelter["after_hours_providers"], shelter["providers_24_7"],
            shelter["local_after_hours"], shelter["any_24_7"]) == (1, 1, 0, True, False)
    # Knox emergency response: Knox Clinic (business hours) + Hotline (statewide, 24/7):
    # covered after hours only through the statewide line
    knox = cell(cov, "Knox", "emergency_response")
    assert (knox["providers"], knox["local_providers"], knox["after_hours_providers"],
            knox["local_after_hours_providers"], knox["any_after_hours"], knox["local_after_hours"]) == \
        (2, 1, 1, 0, True, False)
    # Piscataquis: only the two statewide providers anywhere
    pisc = cov[cov["county"] == "Piscataquis"].set_index("service_type")
    assert pisc["providers"].to_dict() == {"emergency_response": 1, "basic_needs": 0, "shelter_housing": 0,
                                           "medical": 0, "legal": 1, "mental_health": 1, "substance_use": 0,
                                           "mentorship": 0}
    assert not pisc["local_providers"].any() and not pisc.loc["medical", "covered"]
    # whole-table totals: 2 statewide emergency/mental-health-style listings x 16 counties, etc.
    assert int(cov["providers"].sum()) == 16 * 2 + 16 * 1 + 2 + 1 + 2 + 2  # hotline, legal line, local cells
    assert int((~cov["covered"]).sum()) == 128 - 16 * 3 - 3  # + York shelter, York basic needs, Knox medical


def test_counties_without_after_hours_emergency_response(assessment):
    cov = service_coverage_by_county(providers(assessment, INVENTORY), assessment, WAVE)
    gaps = counties_without_after_hours(cov, assessment, WAVE)
    assert list(gaps.columns) == list(GAP_COLUMNS)
    assert str(gaps["n_without_after_hours"].dtype) == "int64"
    # local after-hours emergency response only in Cumberland and York (the statewide hotline does not count)
    assert list(gaps["county"]) == [c for c in assessment.county_names if c not in ("Cumberland", "York")]
    assert (gaps["required_without_after_hours"] == "emergency_response").all()
    knox = gaps.set_index("county").loc["Knox"]
    assert knox["fips"] == "23013" and knox["n_without_after_hours"] == 8
    assert knox["service_types_without_after_hours"].split("; ")[0] == "emergency_response"
    assert knox["service_labels_without_after_hours"].startswith("Emergency response; Basic needs")


def test_statewide_cover_counts_when_the_config_says_so(assessment):
    services = assessment.config.services
    rule = services.after_hours.model_copy(update={"count_statewide": True})
    config = assessment.config.model_copy(update={"services": services.model_copy(update={"after_hours": rule})})
    counting = Assessment(assessment.path, config, assessment.codebook, assessment.frames, assessment.indicators)
    cov = service_coverage_by_county(providers(counting, INVENTORY), counting, WAVE)
    assert len(counties_without_after_hours(cov, counting, WAVE)) == 0  # the 24/7 hotline reaches every county
    # the rule is applied once, into the coverage table's after_hours_cover, which the report reads
    assert cov["after_hours_cover"].equals(cov["any_after_hours"])
    local = service_coverage_by_county(providers(assessment, INVENTORY), assessment, WAVE)
    assert local["after_hours_cover"].equals(local["local_after_hours"])
    assert (local["after_hours_cover"] != cov["after_hours_cover"]).any()


def test_no_inventory_gives_empty_typed_tables(assessment):
    accepted = providers(assessment, [])
    empty = service_coverage_by_county(accepted, assessment, WAVE, inventory=False)
    assert list(empty.columns) == list(COVERAGE_COLUMNS) and len(empty) == 0
    assert str(empty["covered"].dtype) == "bool" and str(empty["providers"].dtype) == "int64"
    gaps = counties_without_after_hours(empty, assessment, WAVE)
    assert list(gaps.columns) == list(GAP_COLUMNS) and len(gaps) == 0
    # an inventory with no usable rows: every cell uncovered, every county lacks after-hours response
    none = service_coverage_by_county(accepted, assessment, WAVE)
    assert len(none) == 128 and not none["covered"].any()
    assert len(counties_without_after_hours(none, assessment, WAVE)) == 16
    # a table read back from an empty warehouse (no columns) is no inventory rows either
    assert len(service_coverage_by_county(pd.DataFrame(), assessment, WAVE)) == 128
