"""Readers: format and encoding detection, explicit override, and the column descriptions they build."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from assets.ingest.layouts import qualtrics_rows, surveymonkey_rows, write_spss
from assets.ingest.officer_responses import to_officer_responses
from assets.ingest.raw import ExportColumn, RawExport
from assets.ingest.readers import detect_layout, read_bytes_as_export, read_export
from assets.ingest.surveymonkey import parse_timestamp, read_surveymonkey_csv
from pipelines.errors import InputError


@pytest.fixture(scope="module")
def answers(assessment):
    from assets.ingest.synthetic import generate_officer_answers

    return generate_officer_answers(assessment, "2015", 5, 20)


def _csv(rows, delimiter=","):
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(
        [[c.strftime("%m/%d/%Y %I:%M:%S %p") if hasattr(c, "strftime") else c for c in r] for r in rows])
    return buf.getvalue()


@pytest.mark.parametrize("encoding,label", [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 with BOM"),
                                            ("cp1252", "Windows-1252"), ("utf-16", "UTF-16")])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_encodings_and_delimiters(assessment, answers, encoding, label, delimiter):
    rows = surveymonkey_rows(assessment, answers)
    rows[2][-1] = "Caf\u00e9 \u201cquoted\u201d \u2013 dash"  # needs the encoding to come through
    raw = read_bytes_as_export(_csv(rows, delimiter).encode(encoding))
    assert (raw.format, raw.encoding, raw.delimiter) == ("surveymonkey", label, delimiter)
    accepted, _q, report = to_officer_responses(raw, assessment, "2015")
    comment = rows[0].index(next(h for h in rows[0] if "anything else" in h))
    assert raw.rows[0][comment] == "Caf\u00e9 \u201cquoted\u201d \u2013 dash"  # decoded as written
    assert accepted["comments"].iloc[0] == "coded by rules"  # the table keeps its coding, never its text
    assert not report.value_problems and not report.missing_variables


def test_surveymonkey_id_columns_found_by_name(assessment, answers):
    rows = surveymonkey_rows(assessment, answers)
    keep = [i for i, h in enumerate(rows[0]) if h not in ("IP Address", "Custom Data 1")]
    rows = [[r[i] for i in keep] for r in rows]
    rows = [[r[1], r[0], *r[2:]] for r in rows]  # Collector ID before Respondent ID
    raw = read_bytes_as_export(_csv(rows).encode())
    assert raw.ids["respondent_id"] == 1 and raw.ids["collector_id"] == 0 and "ip_address" not in raw.ids
    accepted, _q, _r = to_officer_responses(raw, assessment, "2015")
    assert list(accepted["respondent_id"]) == list(answers["respondent_id"])
    assert accepted["start_date"].notna().all()


def test_surveymonkey_dates_twelve_hour_clock():
    assert parse_timestamp("09/14/2015 01:05:09 PM") == pd.Timestamp("2015-09-14 13:05:09")
    assert parse_timestamp("09/14/2015 12:05:09 AM") == pd.Timestamp("2015-09-14 00:05:09")
    assert parse_timestamp("2015-09-14 13:05:09") == pd.Timestamp("2015-09-14 13:05:09")
    assert parse_timestamp("") is None and parse_timestamp("soon") is None


def test_detect_layout_on_header_rows():
    assert detect_layout([["Respondent ID", "Q"], ["", "Response"]]) == "surveymonkey"
    assert detect_layout([["StartDate", "ResponseId", "Q1"], ["Start Date", "Response ID", "x"],
                          ['{"ImportId":"startDate"}', '{"ImportId":"_recordId"}', '{"ImportId":"QID1"}']]) == "qualtrics"
    assert detect_layout([["V1", "V2", "Q1"], ["ResponseID", "ResponseSet", "text"]]) == "qualtrics_legacy"
    assert detect_layout([["record_id", "gender", "help___1", "survey_complete"]]) == "redcap"
    assert detect_layout([["Record ID", "Gender", "Help (choice=Maps)", "Complete?"]]) == "redcap_labels"
    assert detect_layout([["respondent_id", "county"], ["1", "York"]]) == "plain"


def test_explicit_format_overrides_detection(assessment, answers, tmp_path):
    rows = surveymonkey_rows(assessment, answers)
    path = tmp_path / "x.csv"
    path.write_text(_csv(rows), encoding="utf-8")
    assert read_export(path).format == "surveymonkey"
    forced = read_export(path, format="plain")  # one header row: row 2 becomes a respondent row
    assert forced.format == "plain" and forced.n_rows == len(rows) - 1
    with pytest.raises(InputError, match="unknown export format"):
        read_export(path, format="stata")
    with pytest.raises(InputError, match="the file is a text"):
        read_export(path, format="spss")


def test_read_surveymonkey_csv_keeps_its_api(tmp_path, assessment, answers):
    path = tmp_path / "sm.csv"
    path.write_text(_csv(surveymonkey_rows(assessment, answers)), encoding="utf-8")
    raw = read_surveymonkey_csv(path)
    assert isinstance(raw, RawExport) and raw.first_data_line == 3
    assert isinstance(raw.columns[0], ExportColumn) and raw.columns[0].question.startswith("In which county")
    assert len(raw.rows) == 20 and isinstance(raw.rows[0], list)


def test_rawexport_accepts_rows_as_lists(tmp_path, assessment):
    cols = [ExportColumn(1, "In which county is your agency located?", "Response")]
    raw = RawExport(tmp_path / "x.csv", "UTF-8", cols, {"respondent_id": 0}, [["1", "York"], ["2", "Bangor"]], 3)
    accepted, _q, _r = to_officer_responses(raw, assessment, "2015")
    assert list(accepted["county"]) == ["York", "Penobscot"]
    assert list(accepted["source_row"]) == [3, 4]


def test_qualtrics_three_rows_keys_on_short_names_and_importids(assessment, answers):
    rows = qualtrics_rows(assessment, answers)
    raw = read_bytes_as_export(_csv(rows).encode())
    assert raw.format == "qualtrics"
    county = next(c for c in raw.columns if c.name == "Q1")
    assert county.import_id == "QID1" and county.question.startswith("In which county")
    other = next(c for c in raw.columns if c.name == "Q11_8_TEXT")
    assert other.group == "QID11" and other.kind == "other_text"
    assert {"respondent_id", "status", "finished", "progress", "start_date"} <= set(raw.ids)


def test_qualtrics_question_text_in_another_language_matches_by_alias(assessment, answers):
    rows = qualtrics_rows(assessment, answers)
    n_meta = 11
    rows[1] = rows[1][:n_meta] + [f"Pregunta {i}" for i in range(len(rows[1]) - n_meta)]
    raw = read_bytes_as_export(_csv(rows).encode())
    with pytest.raises(InputError, match="required question not found"):
        to_officer_responses(raw, assessment, "2015")
    variables = []
    for k, v in enumerate(assessment.codebook.variables, start=1):
        alias = f"QID{k}" if k % 2 else f"Q{k}"  # by ImportId or by short name
        variables.append(v.model_copy(update={"aliases": [*v.aliases, alias]}))
    from assets.ingest.validate import with_codebook

    patched = with_codebook(assessment, assessment.codebook.model_copy(update={"variables": variables}))
    accepted, _q, report = to_officer_responses(raw, patched, "2015")
    assert report.missing_variables == [] and report.unmatched_questions == []
    assert report.matched_by["county"] == "alias 'QID1'" and report.matched_by["agency_type"] == "alias 'Q2'"
    assert list(accepted["county"]) == list(answers["county"])


def test_qualtrics_numeric_values_and_status_codes(assessment, answers):
    rows = qualtrics_rows(assessment, answers, statuses=["0"] * 18 + ["1", "2"])
    county_col = rows[0].index("Q1")
    counties = assessment.county_names
    for r in rows[3:]:
        r[county_col] = str(counties.index(r[county_col]) + 1)  # "Use numeric values" export
    raw = read_bytes_as_export(_csv(rows).encode())
    with pytest.raises(InputError) as err:  # numbers are not read by position unless the codebook says so
        to_officer_responses(raw, assessment, "2015")
    assert err.value.column == "Q1" and "numeric codes" in err.value.problem and "codes:" in err.value.fix
    raw = read_bytes_as_export(_csv(rows).encode())
    positional = _with_codes(assessment, county="positional")
    accepted, quarantine, report = to_officer_responses(raw, positional, "2015")
    assert report.quarantined == {"preview response": 1, "test response": 1}
    assert list(accepted["county"]) == list(answers["county"][:18])
    assert set(quarantine["check"]) == {"not_preview", "not_test"}


def _with_codes(assessment, **codes):
    """The assessment with ``codes`` declared on some variables of the codebook."""
    from assets.ingest.validate import with_codebook

    variables = [v.model_copy(update={"codes": codes[v.name]}) if v.name in codes else v
                 for v in assessment.codebook.variables]
    return with_codebook(assessment, assessment.codebook.model_copy(update={"variables": variables}))


def test_spss_value_labels_applied(assessment, answers, tmp_path):
    path = tmp_path / "x.sav"
    write_spss(assessment, answers, path)
    raw = read_export(path)
    assert raw.format == "spss"
    county = next(c for c in raw.columns if c.name == "Q1")
    # the codes are kept as stored; the value labels are their declared meaning
    assert {raw.value_labels[county.position][c] for c in set(raw.cells(county.position)) - {""}} \
        <= set(assessment.county_names)
    assert raw.code_sources[county.position] == "SPSS value labels"
    accepted, _q, report = to_officer_responses(raw, assessment, "2015")
    assert list(accepted["county"]) == list(answers["county"])
    assert any(c["variable"] == "county" and c["declared_by"] == "SPSS value labels" for c in report.codes)
    import pyreadstat

    frame, meta = pyreadstat.read_sav(str(path))
    assert frame["Q1"].dtype.kind == "f" and meta.variable_value_labels["Q1"][1.0] == "Androscoggin"


def test_spss_unlabelled_codes_are_reported(assessment, answers, tmp_path):
    import pyreadstat

    frame = pd.DataFrame({"respondent_id": ["a", "b"], "gender": [1.0, 7.0],
                          "county": ["York", "Knox"]})
    path = tmp_path / "odd.sav"
    pyreadstat.write_sav(frame, str(path), column_labels=["Respondent", "What is your gender?", "County"],
                         variable_value_labels={"gender": {1.0: "Male", 2.0: "Female"}})
    raw = read_export(path)
    assert any("gender" in n and "7" in n for n in raw.notes)
    accepted, quarantine, report = to_officer_responses(raw, assessment, "2015")  # a stray undeclared code
    assert list(accepted["gender"]) == ["Male"] and list(quarantine["check"]) == ["declared_code"]
    assert report.codes[0] == {"variable": "gender", "column": "gender", "codes_seen": ["1", "7"],
                               "declared": ["1", "2"], "declared_by": "SPSS value labels"}
    frame = pd.DataFrame({"respondent_id": list("abcd"), "gender": [1.0, 7.0, 7.0, 2.0], "county": ["York"] * 4})
    pyreadstat.write_sav(frame, str(path), column_labels=["Respondent", "What is your gender?", "County"],
                         variable_value_labels={"gender": {1.0: "Male", 2.0: "Female"}})
    with pytest.raises(InputError) as err:  # half the answers hold a code the value labels do not declare
        to_officer_responses(read_export(path), assessment, "2015")
    assert "7" in err.value.problem and "SPSS value labels" in err.value.problem and err.value.column == "gender"


def test_redcap_checkbox_codes_and_complete(assessment):
    text = ("record_id,county,gender,help_wanted___1,help_wanted___2,help_wanted___legal_guidance,help_wanted_other,"
            "officer_survey_complete\n"
            "1,3,1,1,0,0,,2\n"
            "2,York,2,0,0,1,maps,1\n"
            "3,,,0,0,0,,0\n")
    raw = read_bytes_as_export(text.encode())
    assert raw.format == "redcap"
    coded = _with_codes(assessment, county={"3": "Cumberland"}, gender={"1": "Male", "2": "Female"},
                        help_wanted={"1": "clear_definitions", "2": "identification_training"})
    accepted, quarantine, report = to_officer_responses(raw, coded, "2015")
    assert list(accepted["county"]) == ["Cumberland", "York"]
    assert list(accepted["gender"]) == ["Male", "Female"]
    assert list(accepted["help_wanted__clear_definitions"]) == [True, False]
    assert list(accepted["help_wanted__legal_guidance"]) == [False, True]
    # the REDCap "other" text column is recognised as "Other (please specify)": kept as yes/no, its text dropped
    assert list(accepted["help_wanted__other"]) == [False, True]
    assert not any(c.endswith("other_text") for c in accepted.columns)
    assert "maps" not in accepted.astype(str).to_numpy()
    assert not any("help_wanted_other" in q for q in report.unmatched_questions)
    assert list(accepted["finished"]) == [True, False]
    assert report.quarantined == {"blank response": 1}
    assert "help_wanted__response_protocol" in report.not_collected  # no column for option 3
    assert accepted["help_wanted__response_protocol"].isna().all()


def test_plain_xlsx_with_question_text_headers(assessment, tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Response ID", "In which county is your agency located?", "What is your gender?", "Shoe size"])
    ws.append([101, "Kennebec", "female", 9])
    ws.append([102.0, "Augusta", "Female", 10])
    path = tmp_path / "p.xlsx"
    wb.save(path)
    raw = read_export(path)
    assert (raw.format, raw.container) == ("plain", "xlsx")
    accepted, _q, report = to_officer_responses(raw, assessment, "2015")
    assert list(accepted["respondent_id"]) == ["101", "102"]
    assert list(accepted["county"]) == ["Kennebec", "Kennebec"]
    assert list(accepted["gender"]) == ["Female", "Female"]
    assert report.unmatched_questions == ["Shoe size"]
    assert "agency_type" in report.missing_variables
    assert json.dumps(report.to_dict())  # serialisable for asset metadata


def test_an_export_counted_by_survey_exports_is_read_once(assessment, answers, tmp_path):
    from assets.ingest import readers

    path = tmp_path / "officer_survey.csv"
    path.write_text(_csv(surveymonkey_rows(assessment, answers)), encoding="utf-8")
    kept = readers.read_export_kept(path)
    assert readers.is_kept(path)  # (survey_exports' hash of the file is reused while it is)
    assert read_export(path) is kept  # handed over once ...
    assert not readers.is_kept(path)
    again = read_export(path)  # ... then read from the file
    assert again is not kept and again.n_rows == kept.n_rows
    readers.read_export_kept(path)
    path.write_text(_csv(surveymonkey_rows(assessment, answers)[:-1]), encoding="utf-8")  # changed since
    assert not readers.is_kept(path)  # so the archive hashes it again
    assert read_export(path).n_rows == kept.n_rows - 1


def test_big_exports_timestamps_parsed_by_duckdb_equal_the_format_loop(monkeypatch):
    import numpy as np

    from assets.ingest import officer_responses as o

    rng = np.random.default_rng(3)
    stamps = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365 * 86400, 30_000), unit="s")
    values = list(stamps.strftime("%m/%d/%Y %I:%M:%S %p"))
    values += ["2/30/2015 10:00:00 AM", "13/01/2015 10:00:00 AM", "1/5/2015 1:02:03 pm", "01/05/2015 12:00:00 AM",
               "01/05/2015 12:00:00 PM", "2015-01-05 13:00:00", "1/5/2015 13:02:03 PM", " 1/5/2015 1:02:03 PM ", "",
               None, "garbage", "02/29/2016 11:59:59 PM", "02/29/2015 11:59:59 PM", "01/05/0000 01:00:00 AM"]
    cells = pd.Series(values, dtype=object)
    monkeypatch.setattr(o, "FAST_TIMESTAMPS_MIN", 1)  # DuckDB parses the rows in SurveyMonkey's shape as they are
    fast, fast_nonblank = o._timestamps(cells)
    monkeypatch.setattr(o, "FAST_TIMESTAMPS_MIN", 10**12)  # every distinct value by the format loop
    slow, slow_nonblank = o._timestamps(cells)
    pd.testing.assert_series_equal(fast, slow)
    assert fast_nonblank.tolist() == slow_nonblank.tolist() == [v is not None and v.strip() != "" for v in values]
    assert fast.iloc[-12] == pd.Timestamp("2015-01-05 13:02:03") and pd.isna(fast.iloc[-1])
