"""Messages carry positions, never values: every reader's every failure, and every other error.

Each reader is made to fail in each way its messages could quote a cell (a value outside the frame,
a repeated id, a shifted row, an unreadable date, a wider row, damaged or binary bytes), with a
canary in the offending cell: the message names the file, the row, the column and the rule, and
never the canary. Errors that are not the user's (bugs) reach Dagster by their type and line only,
and every asset, check and the IO manager go through that one door (``value_safe``).
"""

from __future__ import annotations

import errno
import io
import zipfile
from pathlib import Path
from typing import Callable

import dagster as dg
import duckdb
import pandas as pd
import pytest

from assets.ingest.exports import read_interviews
from assets.ingest.readers import read_export
from assets.ingest.service_inventory import read_inventory_table
from assets.prevalence.inputs import read_case_lists, read_overlap_file
from pipelines.config import REPO_ROOT
from pipelines.errors import DISK_FULL_MESSAGE, InputError, disk_full, shape_of
from pipelines.failures import as_user_failure, failure_for, value_safe

CANARY = "CanaryQx7Value"
DEMO = REPO_ROOT / "data" / "demo" / "incoming" / "2015"
IDS = ["first_name", "last_name", "date_of_birth"]
LISTS = [("hotline", "Hotline"), ("advocates", "Advocates"), ("law_enforcement", "Law enforcement")]
SECRET = b"7f3c9a1e5b2d48f6a0c3e9b1d7f5a2c4"


def _text(name: str) -> str:
    return (DEMO / name).read_text(encoding="utf-8")


def _cell(text: str, row: int, column: str, value: str) -> str:
    lines = text.splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


def _interviews(name: str, text: str | bytes) -> Callable[[Path], object]:
    def read(folder: Path):
        from pipelines.config import load_assessment

        path = folder / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        frame = getattr(load_assessment().frames, name.removesuffix(".csv"))
        return read_interviews(path, frame, name.removesuffix(".csv"), "2015")
    return read


def _file(name: str, data: bytes | str, reader: Callable[[Path], object]) -> Callable[[Path], object]:
    def read(folder: Path):
        path = folder / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return reader(path)
    return read


def _cases(rows: str) -> Callable[[Path], object]:
    header = "list,first_name,last_name,date_of_birth,age_group\n"
    return _file("case_lists.csv", header + "hotline,Ann,Bee,1990-01-01,adult\n" + rows,
                 lambda p: read_case_lists(p, SECRET, identifiers=IDS, lists=LISTS, stratum="age_group"))


def _overlap(rows: str, header: str = "hotline,advocates,count", first: str = "1,0,4") -> Callable[[Path], object]:
    return _file("case_lists_overlap.csv", header + "\n" + first + "\n" + rows,
                 lambda p: read_overlap_file(p, lists=LISTS, stratum="age_group"))


STAKEHOLDER, SURVIVOR = _text("stakeholder_interviews.csv"), _text("survivor_interviews.csv")
OFFICER = (DEMO / "officer_survey.csv").read_bytes()


def _officer(data: bytes, name: str = "officer_survey.csv") -> Callable[[Path], object]:
    return _file(name, data, read_export)


def _workbook_with(member: str, content: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(member, content)
    return buf.getvalue()


def _wider(text: str, row: int) -> str:
    lines = text.splitlines()
    lines[row] += f",{CANARY}"
    return "\n".join(lines) + "\n"


def _dup_id(text: str) -> str:
    lines = text.splitlines()
    for i in (2, 5):
        cells = lines[i].split(",")
        cells[0] = CANARY
        lines[i] = ",".join(cells)
    return "\n".join(lines) + "\n"


FAILURES: dict[str, tuple[Callable[[Path], object], list[str]]] = {
    # interview matrices
    "interview attribute outside the frame": (_interviews("stakeholder_interviews.csv", _cell(STAKEHOLDER, 3, "sector", CANARY)),
                                              ["row 4", "column 'sector'", "not a sector"]),
    "interview theme cell not 0/1": (_interviews("survivor_interviews.csv", _cell(SURVIVOR, 2, "housing", CANARY)),
                                     ["row 3", "column 'housing'", "not 0 or 1"]),
    "interview id repeated": (_interviews("survivor_interviews.csv", _dup_id(SURVIVOR)),
                              ["row 6", "also the id of row 3"]),
    "interview row wider than the header": (_interviews("stakeholder_interviews.csv", _wider(STAKEHOLDER, 3)),
                                            ["not a readable CSV code matrix"]),
    "interview matrix not UTF-8": (_interviews("survivor_interviews.csv",
                                               SURVIVOR.encode().replace(b"V15-001", CANARY.encode() + b"\xff")),
                                   ["not UTF-8 text"]),
    "interview region outside the frame": (_interviews("survivor_interviews.csv", _cell(SURVIVOR, 4, "region", CANARY)),
                                           ["row 5", "column 'region'"]),
    # case-level lists
    "case list name unknown": (_cases(f"{CANARY},Cee,Dee,1991-02-02,adult\n"), ["row 3", "column 'list'"]),
    "case row missing its list cell": (_cases(f"{CANARY}first,{CANARY}last,1991-02-02,adult\n"),
                                       ["row 3", "column 'list'", "a cell is missing"]),
    "case date of birth unreadable": (_cases(f"advocates,Cee,Dee,{CANARY},adult\n"),
                                      ["row 3", "column 'date_of_birth'"]),
    "case with no identifier": (_cases("advocates,,,,adult\n"), ["row 3", "every identifier"]),
    "case list name blank": (_cases(f",{CANARY},Dee,1991-02-02,adult\n"), ["row 3", "no list name"]),
    "case stratum blank": (_cases(f"advocates,{CANARY},Dee,1991-02-02,\n"), ["row 3", "no age_group given"]),
    "case stratum reserved": (_cases(f"advocates,{CANARY},Dee,1991-02-02,all\n"), ["row 3", "reserved"]),
    "case row wider than the header": (_cases(f"advocates,{CANARY},Dee,1991-02-02,adult,extra\n"),
                                       ["not a readable CSV table (the parser stopped at line 3)"]),
    # aggregated lists
    "overlap list cell not 0/1": (_overlap(f"{CANARY},1,3\n"), ["row 3", "column 'hotline'", "not 0 or 1"]),
    "overlap count not whole": (_overlap(f"0,1,{CANARY}\n"), ["row 3", "column 'count'", "not a whole number"]),
    "overlap stratum reserved": (_overlap("1,1,2,all\n", "hotline,advocates,count,age_group", "1,0,4,adult"),
                                 ["row 3", "reserved"]),
    "overlap row unreadable": (_overlap(f'"{CANARY}\n'), ["not a readable CSV table"]),
    # the officer survey export
    "officer row wider than the header": (_officer(OFFICER.replace(b"Oxford", b"Oxford," + CANARY.encode(), 1)),
                                          ["a row is wider than the header"]),
    "officer quoted cell never closed": (_officer(OFFICER + f'"{CANARY},x\r\n'.encode()), ["never closed"]),
    "officer export binary": (_officer(OFFICER[:300] + b"\x00" + CANARY.encode() + OFFICER[300:]), ["binary"]),
    "officer export says UTF-8 but is not": (_officer(b"\xef\xbb\xbf" + OFFICER[:200] + CANARY.encode() + b"\xff\xfe"
                                                      + OFFICER[200:]), ["not valid UTF-8 with BOM"]),
    "officer workbook damaged": (_officer(b"PK\x03\x04" + CANARY.encode() * 20, "officer_survey.xlsx"),
                                 ["not a readable Excel workbook"]),
    "officer workbook with a broken sheet": (_officer(_workbook_with("xl/workbook.xml", f"<{CANARY}".encode()),
                                                      "officer_survey.xlsx"), ["not a readable Excel workbook"]),
    "officer SPSS file damaged": (_officer(b"$FL2" + CANARY.encode() * 40, "officer_survey.sav"),
                                  ["not a readable SPSS .sav file"]),
    # the provider inventory
    "inventory row wider than the header": (_file("provider_inventory.csv",
                                                  _wider(_text("provider_inventory.csv"), 3),
                                                  read_inventory_table), ["a row is wider than the header"]),
    "inventory binary": (_file("provider_inventory.csv", b"provider,counties\x00" + CANARY.encode(), read_inventory_table),
                         ["binary"]),
}


@pytest.mark.parametrize("name", list(FAILURES))
def test_every_reader_failure_names_the_place_not_the_value(name: str, tmp_path: Path) -> None:
    read, fragments = FAILURES[name]
    with pytest.raises(InputError) as exc:
        read(tmp_path)
    message = str(exc.value)
    assert CANARY.casefold() not in message.casefold(), message
    assert "Ann" not in message and "Bee" not in message
    for fragment in fragments:
        assert fragment in message, message
    chained = exc.value.__cause__ or (None if exc.value.__suppress_context__ else exc.value.__context__)
    assert chained is None  # no parser text chained either


def test_shape_of_tells_the_form_never_the_characters() -> None:
    for value in ["Yvonnabel", "CanaryRid48213", "1983-07-19", "07/19/1983", "12.5", "a b!", "Ünïcödé"]:
        shape = shape_of(value)
        assert value not in shape and not any(part in shape for part in value.split() if len(part) > 2)
    assert shape_of("") == "blank" and shape_of(None) == "blank" and shape_of("42") == "a number"
    assert shape_of("Yvonnabel") == "a 9-character text of letters"
    message = str(InputError("x.csv", "not a sector", row=4, column="sector", value="Yvonnabel"))
    assert "Yvonnabel" not in message and "(row 4, column 'sector')" in message and "9-character" in message


def test_an_internal_error_reaches_dagster_by_its_type_and_line_only() -> None:
    try:
        float(CANARY)
    except ValueError as exc:
        failure = failure_for(exc)
    text = failure.description or ""
    assert CANARY not in text and "builtins.ValueError" in text and "test_messages_without_values.py:" in text
    assert "bug in htna" in text
    with pytest.raises(dg.Failure) as raised:
        with as_user_failure():
            {"a": 1}[CANARY]
    assert CANARY not in str(raised.value) and raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_full_disk_is_said_to_be_a_full_disk() -> None:
    assert disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert disk_full(duckdb.IOException('Could not write file "x.duckdb": No space left on device'))
    assert disk_full(RuntimeError("database or disk is full"))
    assert not disk_full(OSError(errno.EACCES, "Permission denied"))
    assert failure_for(OSError(errno.ENOSPC, "No space left on device")).description == DISK_FULL_MESSAGE


def test_every_asset_check_and_the_io_manager_fail_through_value_safe() -> None:
    from pipelines.definitions import defs
    from pipelines.resources import WarehouseIOManager

    repo = defs.get_repository_def()
    functions = [a.op.compute_fn.decorated_fn for a in repo.assets_defs_by_key.values()]
    functions += [c.op.compute_fn.decorated_fn for c in repo.asset_checks_defs_by_key.values()]
    assert len(functions) > 20
    unsafe = [f.__name__ for f in functions if not getattr(f, "__htna_value_safe__", False)]
    assert not unsafe, f"not wrapped in value_safe: {unsafe}"
    import inspect

    for method in (WarehouseIOManager.handle_output, WarehouseIOManager.load_input):
        assert "as_user_failure()" in inspect.getsource(method)


def test_a_bug_quoting_data_leaves_no_value_in_the_event_log() -> None:
    @dg.asset
    @value_safe
    def choking(context) -> pd.DataFrame:
        frame = pd.DataFrame({"comment": [CANARY]})
        return frame.astype({"comment": float})  # "could not convert string to float: 'CanaryQx7Value'"

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([choking], instance=instance, raise_on_error=False)
    assert not result.success
    from dagster._serdes import serialize_value

    log = "\n".join(serialize_value(e) for e in instance.all_logs(result.run_id))
    assert "ValueError" in log and "choking" in log
    assert CANARY not in log
