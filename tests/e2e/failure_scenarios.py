"""Waves that make every reader and every quality check fail, each offending value a canary.

Each scenario takes a copy of demo wave 2015 and breaks it so that, in one ``htna run``, several
readers fail at once (they are independent branches of the job) or the quality checks fail; the
value that breaks a reader, or the rows a check holds back, carry canary strings. The canary test
(``test_canaries_and_idempotence.py``) runs each and scans everything the run left behind.

``Scenario.nowhere`` canaries may appear in no file htna wrote and no output; ``row_level`` ones
only in the row-level tables of the private warehouse (and the raw archive), which keep
respondents' rows by design. ``failed_steps`` are the steps that must fail (with a message naming
the file and the position), ``failed_checks`` the quality checks that must fail.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

#: the readers of a wave's inputs, by the step that runs them
READERS = {
    "officer survey export": "survey_exports",
    "stakeholder interview matrix": "stakeholder_interviews",
    "survivor interview matrix": "survivor_interviews",
    "case-level case lists": "case_list_overlap",
    "aggregated case lists": "case_list_overlap",
    "provider inventory": "service_providers",
    "synthetic-data manifest": "survey_exports",
    "hand-coded open-ended answers": "officer_responses",
    "second coder's interview matrix": "intercoder_agreement",
}

#: quality checks whose result depends on the wave's data. The others check what ingestion built
#: (required_columns, the column types, derived_values, ticks_are_yes_no), what ingestion holds back
#: or turns into a missing answer first (an answer outside the codebook is quarantined at ingestion as
#: codebook_answer, before allowed_answers sees it; a county outside the state becomes a blank county,
#: which fails eligible_county_answered, before eligible_county_in_state sees it), or what the
#: readers refuse first (interview codes outside the coding frame, a repeated interview id; the case
#: lists' checks): those readers' failures are covered by the reader scenarios. A check "fails" when
#: its result is a failure or it quarantined rows (has_respondent_id and unique_respondent_id hold
#: rows back at ingestion, under their own names).
DATA_CHECKS = {
    "officer_responses": {"has_respondent_id", "unique_respondent_id", "eligible_county_answered",
                          "duration_in_range", "speeders", "straight_lining", "skip_logic", "completeness",
                          "sample_size", "county_coverage", "quarantine_share"},
    "stakeholder_interviews": {"has_interview_id", "coded"},
    "survivor_interviews": {"has_interview_id", "coded"},
}


@dataclass
class Scenario:
    name: str
    plant: Callable[[Path, Path], None]  # (wave folder, a folder outside the data folder)
    failed_steps: dict[str, list[str]]  # step -> fragments of its message (file and position)
    readers: set[str] = field(default_factory=set)
    failed_checks: dict[str, set[str]] = field(default_factory=dict)
    nowhere: list[str] = field(default_factory=list)
    row_level: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- file helpers


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def _write(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _set_cell(path: Path, row: int, column: str, value: str) -> None:
    rows = _rows(path)
    rows[row][rows[0].index(column)] = value
    _write(path, rows)


def _append_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


# --------------------------------------------------------------------------- readers
# survey_exports reads the officer export and the provider inventory (counting their rows), so a
# broken one stops the interview readers (which need survey_exports); the case lists are read by
# case_list_overlap, on its own. Each scenario breaks readers that can fail side by side.


def _officer_wide_row_and_shifted_case(folder: Path, outside: Path) -> None:
    lines = _lines(folder / "officer_survey.csv")
    lines[10] = lines[10].rstrip("\r\n") + ",CnyR1OfficerWideCell\r\n"  # a row wider than the header
    (folder / "officer_survey.csv").write_text("".join(lines), encoding="utf-8")
    # a case whose list cell is missing: the first name lands in the list column
    _append_line(folder / "case_lists.csv", "CnyR1Firstname,CnyR1Lastname,1984-02-03,adult")


def _links_to_files_elsewhere(folder: Path, outside: Path) -> None:
    """The drop folder's exports as links to files elsewhere (``case_lists_overlap.csv -> /etc/shadow``)."""
    (outside / "officer_target.csv").write_text("CnyR2OutsideOfficerLine:x:0:0\nsecond,line\n", encoding="utf-8")
    (outside / "overlap_target.csv").write_text("CnyR2OutsideShadowLine:$6$salt$hash:19000:0:99999:7:::\n",
                                                encoding="utf-8")
    (folder / "officer_survey.csv").unlink()
    os.symlink(outside / "officer_target.csv", folder / "officer_survey.csv")
    os.symlink(outside / "overlap_target.csv", folder / "case_lists_overlap.csv")


def _fifo_and_weak_secret(folder: Path, outside: Path) -> None:
    (folder / "SYNTHETIC.json").unlink()  # a real wave: the demo key may not be used
    (folder / "officer_survey.csv").unlink()
    os.mkfifo(folder / "officer_survey.csv")  # would block a reader for ever
    _append_line(folder / "case_lists.csv", "hotline,CnyR3Firstname,CnyR3Lastname,1979-05-06,adult")


def _unclosed_quote_and_bad_date(folder: Path, outside: Path) -> None:
    lines = _lines(folder / "officer_survey.csv")
    lines.append('"CnyR4Unclosed,' + "x," * 30 + "\r\n")  # the file ends inside a quoted cell
    (folder / "officer_survey.csv").write_text("".join(lines), encoding="utf-8")
    _append_line(folder / "case_lists.csv", "advocates,CnyR4Firstname,CnyR4Lastname,CnyR4NotADate,adult")


def _linked_manifest_and_bad_count(folder: Path, outside: Path) -> None:
    (outside / "manifest_target.json").write_text('{"synthetic": true, "note": "CnyR5OutsideManifest"}',
                                                  encoding="utf-8")
    (folder / "SYNTHETIC.json").unlink()
    os.symlink(outside / "manifest_target.json", folder / "SYNTHETIC.json")
    (folder / "case_lists.csv").unlink()
    (folder / "case_lists_overlap.csv").write_text(
        "hotline,advocates,law_enforcement,count\n1,0,0,12\n0,1,0,CnyR5CountCell\n1,1,0,3\n", encoding="utf-8")


def _interviews_1(folder: Path, outside: Path) -> None:
    _set_cell(folder / "stakeholder_interviews.csv", 3, "sector", "CnyR6SectorValue")
    rows = _rows(folder / "survivor_interviews.csv")
    rows[2][0] = rows[5][0] = "CnyR6SurvivorDupId"
    _write(folder / "survivor_interviews.csv", rows)
    _append_line(folder / "case_lists.csv", "health,,,,adult")  # every identifier blank


def _interviews_2(folder: Path, outside: Path) -> None:
    _set_cell(folder / "stakeholder_interviews.csv", 4, "housing", "CnyR7ThemeCell")
    data = (folder / "survivor_interviews.csv").read_bytes()
    first_id = data.split(b"\n")[1].split(b",")[0]
    (folder / "survivor_interviews.csv").write_bytes(data.replace(first_id, b"CnyR7Bytes\xff\xfe", 1))
    (folder / "case_lists.csv").unlink()
    (folder / "case_lists_overlap.csv").write_text(
        "hotline,advocates,law_enforcement,count\n1,0,0,12\nCnyR7ListCell,1,0,4\n1,1,0,3\n", encoding="utf-8")


def _interviews_3(folder: Path, outside: Path) -> None:
    lines = _lines(folder / "stakeholder_interviews.csv")
    lines[2] = lines[2].rstrip("\r\n") + ",CnyR8StakeholderWide\n"
    (folder / "stakeholder_interviews.csv").write_text("".join(lines), encoding="utf-8")
    _set_cell(folder / "survivor_interviews.csv", 2, "region", "CnyR8RegionValue")
    _append_line(folder / "case_lists.csv", "law_enforcement,CnyR8Firstname,CnyR8Lastname,1990-01-01,all")


def _interviews_4(folder: Path, outside: Path) -> None:
    rows = _rows(folder / "stakeholder_interviews.csv")
    rows[3][0] = rows[7][0] = "CnyR9StakeholderDup"
    _write(folder / "stakeholder_interviews.csv", rows)
    _set_cell(folder / "survivor_interviews.csv", 3, "shelter", "CnyR9SurvivorTheme")
    _append_line(folder / "case_lists.csv", "child_welfare,CnyR9Firstname,CnyR9Lastname,2001-03-04,")


def _inventory_wide_row(folder: Path, outside: Path) -> None:
    inventory = _lines(folder / "provider_inventory.csv")
    inventory[2] = inventory[2].rstrip("\r\n") + ",CnyR10ProviderExtra\n"
    (folder / "provider_inventory.csv").write_text("".join(inventory), encoding="utf-8")


def _inventory_damaged_workbook(folder: Path, outside: Path) -> None:
    (folder / "provider_inventory.csv").unlink()
    (folder / "provider_inventory.xlsx").write_bytes(b"PK\x03\x04CnyR11DamagedWorkbook" + b"\x00" * 64)


def _inventory_utf32(folder: Path, outside: Path) -> None:
    text = (folder / "provider_inventory.csv").read_text(encoding="utf-8") + "CnyR12Utf32Provider,Statewide,legal,24/7\n"
    (folder / "provider_inventory.csv").write_bytes(text.encode("utf-32"))


def _officer_binary(folder: Path, outside: Path) -> None:
    data = (folder / "officer_survey.csv").read_bytes()
    (folder / "officer_survey.csv").write_bytes(data[:400] + b"\x00CnyR13Binary\x00" + data[400:])


# --------------------------------------------------------------------------- quality checks


OFFICER_CANARIES = {
    "county": "CnyC1CountyTyped", "blank_county": "CnyC1BlankCountyComment", "no_id": "CnyC1NoIdComment",
    "dup_id": "CnyC1DupId", "answer": "CnyC1GenderAnswer", "duration": "CnyC1BadDurationComment",
    "speed": "CnyC1SpeederComment", "straight": "CnyC1StraightComment", "skip": "CnyC1SkipComment",
}


def _checks_1(folder: Path, outside: Path) -> None:
    """Officer rows failing every row check (each with a canary), and so many of them that the
    blocking checks fail too; interviews with a blank id and an uncoded interview."""
    path = folder / "officer_survey.csv"
    rows = _rows(path)
    body = rows[2:]
    c = OFFICER_CANARIES
    rid, start, end, county, gender, cases = 0, 2, 3, 9, 11, 14
    agree = [15, 16, 17, 18]
    action, comment = 19, 34
    for r in body:  # every respondent of the bigger county group moves to a county typed as free text
        if r[county] in ("Cumberland", "York"):
            r[county] = c["county"]
    for r in body[:40]:
        r[10] = ""  # agency type left blank by most of the rest: completeness fails
    for r in body[:150]:
        r[10] = ""
    body[0][county], body[0][comment] = "", c["blank_county"]
    body[1][rid], body[1][comment] = "", c["no_id"]
    body[2][rid] = body[3][rid] = c["dup_id"]
    body[4][gender] = c["answer"]
    body[5][end], body[5][comment] = "10/14/2015 07:00:00 AM", c["duration"]  # ends before it starts
    began = datetime.strptime(body[6][start], "%m/%d/%Y %I:%M:%S %p")  # done in three seconds
    body[6][end], body[6][comment] = (began + timedelta(seconds=3)).strftime("%m/%d/%Y %I:%M:%S %p"), c["speed"]
    for i in (7,):
        for a in agree:
            body[i][a] = "Strongly agree"
        body[i][comment] = c["straight"]
    body[8][cases], body[8][action], body[8][comment] = "None", "Determined whether the victim was a minor", c["skip"]
    _write(path, rows[:2] + body)
    for name, canary in (("stakeholder_interviews.csv", "CnyC1StakeholderUncoded"),
                         ("survivor_interviews.csv", "CnyC1SurvivorUncoded")):
        rows = _rows(folder / name)
        header = rows[0]
        rows[1][0] = ""  # no interview id
        rows[2][0] = canary
        for j in range(len(header)):
            if header[j] not in ("interview_id", "sector", "region"):
                rows[2][j] = ""  # never coded
        _write(folder / name, rows)


def _checks_2(folder: Path, outside: Path) -> None:
    """A wave of 20 officers: too few to estimate (sample_size), and too few counties."""
    path = folder / "officer_survey.csv"
    rows = _rows(path)
    body = rows[2:22]
    for i, r in enumerate(body):
        r[34] = f"CnyC2SmallWaveComment{i:02d}"
    _write(path, rows[:2] + body)


def _coded_matrices(folder: Path, outside: Path) -> None:
    """A hand-coded matrix of the comments with a word in a theme cell, a second coder's interview matrix
    with a repeated interview id."""
    path = folder / "officer_comments_coded.csv"
    rows = _rows(path)
    rows[2][1] = "CnyR14HandCodeCell"
    _write(path, rows)
    path = folder / "stakeholder_interviews_coder2.csv"
    rows = _rows(path)
    rows[2][0] = rows[1][0] = "CnyR14Coder2DupId"
    _write(path, rows)


CASE = "case_lists.csv (row "
SCENARIOS = [
    Scenario("officer-wide-row+case-list-shifted", _officer_wide_row_and_shifted_case,
             {"survey_exports": ["officer_survey.csv (row 11): a row is wider than the header"],
              "case_list_overlap": [CASE, "column 'list'): the list name is not one of prevalence.lists"]},
             readers={"officer survey export", "case-level case lists"},
             nowhere=["CnyR1OfficerWideCell", "CnyR1Firstname", "CnyR1Lastname", "1984-02-03"]),
    Scenario("links-to-files-elsewhere", _links_to_files_elsewhere,
             {"survey_exports": ["officer_survey.csv: a symbolic link, not an ordinary file"],
              "case_list_overlap": ["case_lists_overlap.csv: a symbolic link, not an ordinary file"]},
             readers={"officer survey export", "aggregated case lists"},
             nowhere=["CnyR2OutsideOfficerLine", "CnyR2OutsideShadowLine", "$6$salt$hash"]),
    Scenario("fifo+weak-secret-for-a-real-wave", _fifo_and_weak_secret,
             {"survey_exports": ["officer_survey.csv: a named pipe (FIFO), not an ordinary file"],
              "case_list_overlap": ["case_lists.csv: HTNA_LINKAGE_SECRET repeats a pattern"]},
             readers={"officer survey export", "case-level case lists"},
             nowhere=["CnyR3Firstname", "CnyR3Lastname", "1979-05-06", "CnyWeakSecret"],
             env={"HTNA_LINKAGE_SECRET": "CnyWeakSecret" * 3}),
    Scenario("unclosed-quote+bad-date", _unclosed_quote_and_bad_date,
             {"survey_exports": ["officer_survey.csv: a quoted cell is never closed"],
              "case_list_overlap": [CASE, "column 'date_of_birth'): a date of birth cannot be read as a date"]},
             readers={"officer survey export", "case-level case lists"},
             nowhere=["CnyR4Unclosed", "CnyR4Firstname", "CnyR4Lastname", "CnyR4NotADate"]),
    Scenario("linked-manifest+bad-count", _linked_manifest_and_bad_count,
             {"survey_exports": ["SYNTHETIC.json: a symbolic link, not an ordinary file"],
              "case_list_overlap": ["case_lists_overlap.csv (row 3, column 'count'): the count is not a whole number"]},
             readers={"synthetic-data manifest", "aggregated case lists"},
             nowhere=["CnyR5OutsideManifest", "CnyR5CountCell"]),
    Scenario("interviews-1", _interviews_1,
             {"stakeholder_interviews": ["stakeholder_interviews.csv (row 4, column 'sector'): not a sector"],
              "survivor_interviews": ["survivor_interviews.csv (row 6, column 'interview_id'): the interview id of "
                                      "this row is also the id of row 3"],
              "case_list_overlap": [CASE, "every identifier of the case is blank"]},
             readers={"stakeholder interview matrix", "survivor interview matrix", "case-level case lists"},
             nowhere=["CnyR6SectorValue", "CnyR6SurvivorDupId"]),
    Scenario("interviews-2", _interviews_2,
             {"stakeholder_interviews": ["stakeholder_interviews.csv (row 5, column 'housing'): a theme cell is not 0 or 1"],
              "survivor_interviews": ["survivor_interviews.csv (row 2): not UTF-8 text"],
              "case_list_overlap": ["case_lists_overlap.csv (row 3, column 'hotline'): a list cell is not 0 or 1"]},
             readers={"stakeholder interview matrix", "survivor interview matrix", "aggregated case lists"},
             nowhere=["CnyR7ThemeCell", "CnyR7Bytes", "CnyR7ListCell"]),
    Scenario("interviews-3", _interviews_3,
             {"stakeholder_interviews": ["stakeholder_interviews.csv: not a readable CSV code matrix"],
              "survivor_interviews": ["survivor_interviews.csv (row 3, column 'region'): not a region"],
              "case_list_overlap": [CASE, "column 'age_group'): 'all' is reserved for all cases together"]},
             readers={"stakeholder interview matrix", "survivor interview matrix", "case-level case lists"},
             nowhere=["CnyR8StakeholderWide", "CnyR8RegionValue", "CnyR8Firstname", "CnyR8Lastname"]),
    Scenario("interviews-4", _interviews_4,
             {"stakeholder_interviews": ["stakeholder_interviews.csv (row 8, column 'interview_id'): the interview id "
                                         "of this row is also the id of row 4"],
              "survivor_interviews": ["survivor_interviews.csv (row 4, column 'shelter'): a theme cell is not 0 or 1"],
              "case_list_overlap": [CASE, "column 'age_group'): no age_group given"]},
             readers={"stakeholder interview matrix", "survivor interview matrix", "case-level case lists"},
             nowhere=["CnyR9StakeholderDup", "CnyR9SurvivorTheme", "CnyR9Firstname", "CnyR9Lastname", "2001-03-04"]),
    Scenario("inventory-wide-row", _inventory_wide_row,
             {"survey_exports": ["provider_inventory.csv (row 3): a row is wider than the header"]},
             readers={"provider inventory"}, nowhere=["CnyR10ProviderExtra"]),
    Scenario("inventory-damaged-workbook", _inventory_damaged_workbook,
             {"survey_exports": ["provider_inventory.xlsx: not a readable Excel workbook"]},
             readers={"provider inventory"}, nowhere=["CnyR11DamagedWorkbook"]),
    Scenario("inventory-utf32", _inventory_utf32,
             {"survey_exports": ["provider_inventory.csv: the file is UTF-32 encoded text"]},
             readers={"provider inventory"}, nowhere=["CnyR12Utf32Provider"]),
    Scenario("officer-binary", _officer_binary,
             {"survey_exports": ["officer_survey.csv: the file is binary"]},
             readers={"officer survey export"}, nowhere=["CnyR13Binary"]),
    Scenario("coded-matrices", _coded_matrices,
             {"officer_responses": ["officer_comments_coded.csv (row 3, column 'training_need'): a theme cell is "
                                    "not 0 or 1"],
              "intercoder_agreement": ["stakeholder_interviews_coder2.csv (row 3, column 'interview_id'): the "
                                       "interview id of this row is also the id of row 2"]},
             readers={"hand-coded open-ended answers", "second coder's interview matrix"},
             nowhere=["CnyR14HandCodeCell", "CnyR14Coder2DupId"]),
    Scenario("checks-1", _checks_1,
             {"officer_responses_checks": ["blocking check(s) failed"]},
             failed_checks={"officer_responses": DATA_CHECKS["officer_responses"] - {"sample_size"},
                            "stakeholder_interviews": {"has_interview_id", "coded"},
                            "survivor_interviews": {"has_interview_id", "coded"}},
             row_level=[*OFFICER_CANARIES.values(), "CnyC1StakeholderUncoded", "CnyC1SurvivorUncoded"]),
    Scenario("checks-2", _checks_2,
             {"officer_responses_checks": ["blocking check(s) failed"]},
             failed_checks={"officer_responses": {"sample_size", "county_coverage"}},
             row_level=[f"CnyC2SmallWaveComment{i:02d}" for i in range(20)]),
]


def prepare(scenario: Scenario, demo_wave: Path, root: Path) -> Path:
    """The scenario's data folder under ``root`` (and a folder outside it for link targets)."""
    folder = root / "data" / "incoming" / "2015"
    shutil.copytree(demo_wave, folder)
    outside = root / "elsewhere"
    outside.mkdir()
    scenario.plant(folder, outside)
    return root / "data"
