"""Reading the service-provider inventory: matching, quarantine with reasons, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.ingest.exports import find_exports
from assets.ingest.service_inventory import (
    PROVIDER_COLUMNS,
    QUARANTINE_COLUMNS,
    count_inventory_rows,
    read_service_inventory,
    service_inventory_for_wave,
    split_cell,
)
from pipelines.errors import ConfigError, InputError

HEADER = "provider,counties_served,service_types,hours\n"


def write(tmp_path: Path, text: str, name: str = "provider_inventory.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read(assessment, path: Path):
    return read_service_inventory(path, assessment, "2015")


def test_a_good_file_is_read_into_typed_rows(assessment, tmp_path):
    path = write(tmp_path, HEADER +
                 'Harbor House,"Cumberland; York",Shelter and housing; Legal services,24/7\n'
                 "Hotline,Statewide,Emergency response,24/7\n"
                 "Clinic,Piscataquis,Medical care,Business hours\n")
    accepted, quarantine, report = read(assessment, path)
    assert list(accepted.columns) == list(PROVIDER_COLUMNS) and len(quarantine) == 0
    assert {c: str(t) for c, t in accepted.dtypes.items()} == {
        "wave": "object", "source_row": "int64", "provider": "object", "counties": "object", "n_counties": "int64",
        "statewide": "bool", "service_types": "object", "n_service_types": "int64", "hours": "object",
        "after_hours": "bool", "round_the_clock": "bool"}
    first = accepted.iloc[0]
    assert first["counties"] == "Cumberland; York" and first["service_types"] == "shelter_housing; legal"
    assert (first["hours"], first["after_hours"], first["round_the_clock"]) == ("24_7", True, True)
    hotline = accepted.iloc[1]
    assert hotline["statewide"] and hotline["n_counties"] == 16
    assert hotline["counties"].split("; ") == assessment.county_names
    assert list(accepted["source_row"]) == [2, 3, 4]
    assert (report.rows_read, report.rows_accepted, report.quarantined) == (3, 3, {}) and report.reconciles()


def test_aliases_separators_case_and_column_names_are_tolerated(assessment, tmp_path):
    path = write(tmp_path, "Organization , Counties,Services,Availability,Notes\n"
                 '"A","cumberland county | KNOX ,23029","SHELTER/HOUSING;counseling, sud",24x7,x\n'
                 '"B","All counties","Emergency-Response","evenings and weekends",\n'
                 '"C","Portland, Bangor","legal aid","Office Hours",\n'
                 '"D","Knox","Mentoring","business hours; on call",\n')
    accepted, quarantine, report = read(assessment, path)
    assert len(quarantine) == 0, quarantine
    rows = accepted.set_index("provider")
    assert rows.loc["A", "counties"] == "Cumberland; Knox; Washington"  # config order, FIPS read
    assert rows.loc["A", "service_types"] == "shelter_housing; mental_health; substance_use"
    assert rows.loc["A", "hours"] == "24_7"
    assert rows.loc["B", "statewide"] and rows.loc["B", "hours"] == "after_hours"
    assert rows.loc["C", "counties"] == "Cumberland; Penobscot"  # towns placed in their counties
    assert rows.loc["C", "hours"] == "business_hours" and not rows.loc["C", "after_hours"]
    assert rows.loc["D", "hours"] == "after_hours"  # several hours values: the widest counts
    assert report.ignored_columns == ["Notes"]


def test_split_cell():
    assert split_cell(" a; b|c ,, d ;") == ["a", "b", "c", "d"]
    assert split_cell("") == []


def test_each_bad_row_is_quarantined_with_its_reason_and_line(assessment, tmp_path):
    path = write(tmp_path, HEADER +
                 "Good,Knox,legal,24/7\n"                  # line 2
                 ",Knox,legal,24/7\n"                      # 3 no provider
                 "P3,,legal,24/7\n"                        # 4 no counties
                 "P4,Gotham; Knox,legal,24/7\n"            # 5 unknown county
                 "P5,Knox,,24/7\n"                         # 6 no service types
                 "P6,Knox,legal; astrology,24/7\n"         # 7 unknown service type
                 "P7,Knox,legal,\n"                        # 8 no hours
                 "P8,Knox,legal,whenever\n"                # 9 unknown hours
                 ",,,\n"                                   # 10 blank: not a row
                 "Secret Org Name,Atlantis,legal,24/7\n")  # 11 unknown county
    accepted, quarantine, report = read(assessment, path)
    assert list(accepted["source_row"]) == [2]
    assert list(quarantine.columns) == list(QUARANTINE_COLUMNS)
    q = quarantine.set_index("source_row")
    assert q["reason"].to_dict() == {
        3: "no provider name", 4: "no counties served", 5: "unknown county", 6: "no service types",
        7: "unknown service type", 8: "no hours", 9: "unknown hours", 11: "unknown county"}
    assert q.loc[5, "check"] == "known_counties" and q.loc[5, "detail"] == "'Gotham'"
    assert q.loc[7, "detail"] == "'astrology'" and q.loc[9, "detail"] == "'whenever'"
    assert set(q["dataset"]) == {"service_providers"} and set(q["wave"]) == {"2015"}
    assert "Secret Org Name" not in quarantine.to_string()  # provider names stay out of the quarantine
    assert report.rows_read == 9 == report.rows_accepted + report.rows_quarantined
    assert report.reconciles() and report.quarantined["unknown county"] == 2
    assert any("blank" in n for n in report.notes)


def test_xlsx_inventory(assessment, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [["Provider", "Counties served", "Service types", "Hours"],
                ["A", "York", "Medical care", "24/7"], ["B", "Nowhere", "Medical care", "24/7"]]:
        ws.append(row)
    path = tmp_path / "provider_inventory.xlsx"
    wb.save(path)
    accepted, quarantine, report = read(assessment, path)
    assert list(accepted["counties"]) == ["York"] and list(quarantine["source_row"]) == [3]
    assert count_inventory_rows(path) == 2


def test_missing_column_names_file_row_column_and_fix(assessment, tmp_path):
    path = write(tmp_path, "provider,counties_served,hours\nA,Knox,24/7\n")
    with pytest.raises(InputError) as err:
        read(assessment, path)
    msg = str(err.value)
    assert "provider_inventory.csv" in msg and "row 1" in msg and "column 'service_types'" in msg
    assert "fix:" in msg and "provider, counties_served, service_types, hours" in msg


def test_repeated_column_names_file_row_column(assessment, tmp_path):
    path = write(tmp_path, "provider,counties_served,service_types,hours,Hours\nA,Knox,legal,24/7,24/7\n")
    with pytest.raises(InputError) as err:
        read(assessment, path)
    assert "provider_inventory.csv (row 1, column 'Hours')" in str(err.value) and "fix:" in str(err.value)


def test_row_wider_than_the_header_names_its_row(assessment, tmp_path):
    path = write(tmp_path, HEADER + "A,Knox,legal,24/7\nB,Knox,York,legal,24/7\n")
    with pytest.raises(InputError) as err:
        read(assessment, path)
    assert "provider_inventory.csv (row 3)" in str(err.value) and "fix:" in str(err.value)


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02binary\x00", b"$FL2 spss"])
def test_unreadable_files_raise_input_errors(assessment, tmp_path, content):
    path = tmp_path / "provider_inventory.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        read(assessment, path)
    assert "provider_inventory.csv" in str(err.value) and "fix:" in str(err.value)


def test_header_only_file_gives_empty_tables(assessment, tmp_path):
    accepted, quarantine, report = read(assessment, write(tmp_path, HEADER))
    assert len(accepted) == len(quarantine) == 0 and report.reconciles()


def test_a_wave_without_an_inventory_gives_empty_typed_tables(assessment, tmp_path):
    accepted, quarantine, report = service_inventory_for_wave(tmp_path, assessment, "2015")
    assert list(accepted.columns) == list(PROVIDER_COLUMNS) and len(accepted) == 0
    assert str(accepted["after_hours"].dtype) == "bool" and str(accepted["n_counties"].dtype) == "int64"
    assert list(quarantine.columns) == list(QUARANTINE_COLUMNS) and report.rows_read == 0


def test_a_config_without_services_says_what_to_add(assessment, tmp_path):
    from pipelines.config import Assessment

    bare = Assessment(assessment.path, assessment.config.model_copy(update={"services": None}), assessment.codebook,
                      assessment.frames, assessment.indicators)
    with pytest.raises(ConfigError) as err:
        read(bare, write(tmp_path, HEADER))
    assert "services" in str(err.value)


def test_survey_exports_lists_the_inventory_with_its_hash(tmp_path):
    wave = tmp_path / "incoming" / "2015"
    wave.mkdir(parents=True)
    (wave / "officer_survey.csv").write_text("respondent_id,county\n1,Knox\n2,York\n", encoding="utf-8")
    write(wave, HEADER + "A,Knox,legal,24/7\n\nB,York,legal,24/7\n")
    exports = find_exports(tmp_path, "2015").set_index("dataset")
    row = exports.loc["provider_inventory"]
    assert row["file_name"] == "provider_inventory.csv" and row["rows"] == 2 and len(row["sha256"]) == 64
