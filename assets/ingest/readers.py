"""Reading survey exports of every supported platform into one :class:`RawExport`.

:func:`read_export` opens a file, detects its container (CSV/TSV text, XLSX workbook, SPSS ``.sav``)
and its layout (SurveyMonkey, Qualtrics with three or two header rows, REDCap raw or labels, or a
plain one-header-row table), and describes each column by question, sub-header, name and import
id. The layout can be forced with ``format=``. Only :class:`~pipelines.errors.InputError` leaves
this module, whatever the bytes: third-party parsers' own exceptions are caught at the boundary and
turned into a message naming the file and what to do.

Supported layouts (the value of ``RawExport.format``):

``surveymonkey`` / ``surveymonkey_legacy``
    "All individual responses": question text on row 1 (blank over the continuation columns of the
    same question), sub-headers on row 2; ID columns found by name. The older export names them
    ``RespondentID``, ``CollectorID``, ``StartDate``, ``EndDate``, ``LastName``, ``Custom Data``.
``qualtrics`` / ``qualtrics_legacy``
    Row 1 short names (``Q5``, ``Q11_3``, ``Q11_8_TEXT``), row 2 question text (any language),
    row 3 ``{"ImportId":"QID5"}``; the legacy layout lacks row 3. ``Status``, ``Finished`` and
    ``Progress`` are kept.
``redcap`` / ``redcap_labels``
    One header row of field names (checkboxes ``field___code``, ``<form>_complete``) or of field
    labels (checkboxes ``Label (choice=Option)``, ``Complete?``).
``spss``
    Variable names and labels from the ``.sav`` dictionary; answers kept as their codes, with the
    file's value labels as the codes' declared meaning (:attr:`RawExport.value_labels`).
``plain``
    One header row: canonical names (``county``, ``help_wanted__legal_guidance``) or question text.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from assets.ingest.raw import (ANSWER, BIG_FILE_BYTES, CHOICE, OTHER_TEXT, ExportColumn, RawExport, check_short_rows,
                               decode_text, drop_trailing_blank, parse_delimited, parse_delimited_duckdb, read_bytes,
                               sniff_delimiter)
from pipelines.errors import InputError

FORMATS = ("surveymonkey", "surveymonkey_legacy", "qualtrics", "qualtrics_legacy", "redcap", "redcap_labels", "spss", "plain")
#: what ``--format`` accepts (a family picks its variant itself)
FORMAT_CHOICES = ("auto", *FORMATS)
HEADER_ROWS = {"surveymonkey": 2, "surveymonkey_legacy": 2, "qualtrics": 3, "qualtrics_legacy": 2, "redcap": 1, "redcap_labels": 1,
               "plain": 1, "spss": 1}

SURVEYMONKEY_IDS = {
    "respondent id": "respondent_id", "collector id": "collector_id", "start date": "start_date",
    "end date": "end_date", "ip address": "ip_address", "email address": "email_address",
    "first name": "first_name", "last name": "last_name", "custom data 1": "custom_data_1",
    "custom data": "custom_data_1",
    # the older export (before about 2017): RespondentID, CollectorID, StartDate, EndDate, ... LastName
    "respondentid": "respondent_id", "collectorid": "collector_id", "startdate": "start_date",
    "enddate": "end_date", "ipaddress": "ip_address", "emailaddress": "email_address",
    "firstname": "first_name", "lastname": "last_name", "customdata": "custom_data_1",
}

# Platform fields of Qualtrics, REDCap, SPSS and plain tables, by column name, label or ImportId.
_META = {
    "responseid": "respondent_id", "response id": "respondent_id", "_recordid": "respondent_id",
    "respondent_id": "respondent_id", "respondent id": "respondent_id", "respondentid": "respondent_id",
    "record_id": "respondent_id", "record id": "respondent_id", "id": "respondent_id",
    "startdate": "start_date", "start date": "start_date", "start_date": "start_date",
    "enddate": "end_date", "end date": "end_date", "end_date": "end_date",
    "status": "status", "response type": "status",
    "progress": "progress", "finished": "finished",
    "duration (in seconds)": "duration", "duration": "duration", "duration_seconds": "duration",
    "recordeddate": "recorded_date", "recorded date": "recorded_date",
    "ipaddress": "ip_address", "ip address": "ip_address", "ip_address": "ip_address",
    "collector_id": "collector_id", "collector id": "collector_id",
}
_META_IGNORED = {
    "responseset", "name", "externaldatareference", "externalreference", "external data reference",
    "emailaddress", "email address", "recipientlastname", "recipientfirstname", "recipientemail",
    "recipient last name", "recipient first name", "recipient email", "locationlatitude",
    "locationlongitude", "location latitude", "location longitude", "distributionchannel",
    "distribution channel", "userlanguage", "user language", "q_recaptchascore", "q_relevantidduplicate",
    "q_relevantidduplicatescore", "q_relevantidfraudscore", "q_relevantidlaststartdate",
    "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance", "redcap_data_access_group",
    "redcap_survey_identifier", "event name", "repeat instrument", "repeat instance", "data access group",
    "survey identifier", "survey timestamp", "wave", "source_row",
}
_REDCAP_COMPLETE = re.compile(r"^(?P<form>[a-z][a-z0-9_]*)_complete$")
_REDCAP_CHECKBOX = re.compile(r"^(?P<base>[A-Za-z][A-Za-z0-9_]*?)___(?P<choice>[A-Za-z0-9_\-.]+)$")
_CANONICAL_CHOICE = re.compile(r"^(?P<base>[a-z][a-z0-9_]*?)__(?P<choice>[a-z0-9_]+)$")
_NUMBERED_TEXT = re.compile(r"^(?P<base>.+?)_(?P<choice>\d+)_TEXT$", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?P<base>.+?)_(?P<choice>\d+)$")
_TEXT_SUFFIX = re.compile(r"^(?P<base>.+)_TEXT$", re.IGNORECASE)
_OTHER_SUFFIX = re.compile(r"^(?P<base>[A-Za-z][A-Za-z0-9_]*?)(?:__other_text|_other_text|_other|_oth)$",
                           re.IGNORECASE)
_QID = re.compile(r"^(?P<base>QID\d+)(?:#\d+)?(?:[_-](?P<rest>.+))?$")  # QID11_3, QID11-3 (2016 exports)
_LABEL_OTHER = re.compile(r"^(?P<question>.*\S)\s+-\s+other\b.*$", re.IGNORECASE | re.DOTALL)
_LABEL_CHOICE = re.compile(r"^(?P<question>.*\S)\s*\(choice=(?P<label>.*)\)\s*$", re.DOTALL)


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().casefold()


# --------------------------------------------------------------------------- containers


def _sniff_container(data: bytes) -> str:
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    if data.startswith((b"$FL2", b"$FL3")):
        return "sav"
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    return "text"


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        if value != value:
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, _dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, _dt.date):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _read_xlsx(path: Path) -> pd.DataFrame:
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            rows = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - openpyxl/zipfile raise many types for a damaged workbook
        raise InputError(path, f"not a readable Excel workbook ({type(exc).__name__})",  # its text may quote a cell
                         fix="open it in Excel and save it again as .xlsx, or export the responses as CSV") from None
    width = max((len(r) for r in rows), default=0)
    while width and all(len(r) < width or r[width - 1] == "" for r in rows):
        width -= 1  # trailing empty columns Excel keeps in the sheet's dimension
    grid = pd.DataFrame([(r + [""] * width)[:width] for r in rows], dtype=object,
                        index=pd.RangeIndex(1, len(rows) + 1))  # Excel's row numbers
    if grid.empty:
        raise InputError(path, "the workbook's first sheet is empty", fix="put the responses on the first sheet")
    grid.columns = range(width)
    return drop_trailing_blank(grid)


_SAV_FIX = "save it again from SPSS (File > Save As > .sav), or export the responses as CSV"
#: seconds a .sav file may take to read before it is given up as damaged
SAV_TIMEOUT = 900


def _sav_child(path: str, conn) -> None:
    """Read the file; send back the table and the parts of the dictionary used, or the error."""
    try:
        import pyreadstat

        frame, meta = pyreadstat.read_sav(path, apply_value_formats=False, user_missing=False)
        conn.send(("ok", frame, list(meta.column_names), list(meta.column_labels or []),
                   dict(meta.variable_value_labels or {})))
    except Exception as exc:  # noqa: BLE001 - pyreadstat raises ReadstatError, PyreadstatError, OSError ...
        conn.send(("error", f"{type(exc).__name__}: {str(exc)[:160]}"))
    finally:
        conn.close()


def _sav_child_forked(path: str, conn) -> None:
    import faulthandler

    faulthandler.disable()  # a crash is reported by the parent, without a dump on stderr
    _sav_child(path, conn)


def _read_sav_isolated(path: Path) -> tuple:
    """Read a .sav file in a forked process: readstat (C) can crash the whole process on a damaged
    file (a segmentation fault, found by tests/fuzz), which must end as an InputError instead."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():  # no fork (Windows): read in process
        inline = _InlinePipe()
        _sav_child(str(path), inline)
        return inline.value
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_sav_child_forked, args=(str(path), sender))
    proc.start()
    sender.close()
    try:
        result = receiver.recv() if receiver.poll(SAV_TIMEOUT) else ("error", "reading it did not finish")
    except (EOFError, OSError):
        result = ("error", "the SPSS reader crashed on it")
    finally:
        receiver.close()
        if proc.is_alive():
            proc.kill()
        proc.join()
    return result


class _InlinePipe:
    value: tuple = ()

    def send(self, value: tuple) -> None:
        self.value = value

    def close(self) -> None:
        pass


def _read_sav(path: Path) -> tuple[list[str], list[str], pd.DataFrame, list[str], dict[int, dict[str, str]]]:
    """Names, variable labels, the answers as text (codes as stored) and each variable's value labels
    (code folded by :func:`~pipelines.config.code_key` -> label) by position."""
    from pipelines.config import code_key

    result = _read_sav_isolated(path)
    if result[0] != "ok":
        known = result[1] in ("reading it did not finish", "the SPSS reader crashed on it")  # the reader's own text may quote it
        raise InputError(path, "not a readable SPSS .sav file" + (f" ({result[1]})" if known else ""), fix=_SAV_FIX)
    _, frame, names, column_labels, value_labels = result
    labels = [lab if lab else n for n, lab in zip(names, column_labels or [None] * len(names))]
    notes: list[str] = []
    body = {}
    declared: dict[int, dict[str, str]] = {}
    for i, name in enumerate(names):
        text = frame[name].map(_cell_text)
        vl = value_labels.get(name)
        if vl:
            declared[i] = {code_key(_cell_text(k) if isinstance(k, (int, float)) else k): str(v) for k, v in vl.items()}
            if frame[name].dtype.kind in "fi":
                unlabelled = sorted({code_key(v) for v in text.unique() if v != ""} - set(declared[i]))
                if unlabelled:  # codes (declared metadata), not respondents' words
                    notes.append(f"{name}: codes {', '.join(unlabelled[:5])} have no value label")
        body[i] = text.astype(object)
    return names, labels, pd.DataFrame(body, columns=range(len(names))), notes, declared


# --------------------------------------------------------------------------- layouts


def detect_layout(header: list[list[str]]) -> str:
    """Which platform wrote these first rows (``plain`` when none is recognised)."""
    r1 = [c.strip() for c in header[0]] if header else []
    r2 = [c.strip() for c in header[1]] if len(header) > 1 else []
    r3 = [c.strip() for c in header[2]] if len(header) > 2 else []
    k1 = [_key(c) for c in r1]
    k2 = [_key(c) for c in r2]
    if any("importid" in c.replace('"', "").replace("'", "").replace(" ", "").lower() for c in r3):
        return "qualtrics"
    if "responseid" in k1 or ("startdate" in k1 and ("finished" in k1 or "status" in k1)):
        return "qualtrics_legacy"
    if "responseid" in k2 and k1 and re.fullmatch(r"v\d+", k1[0]):
        return "qualtrics_legacy"
    for name, layout in (("respondent id", "surveymonkey"), ("respondentid", "surveymonkey_legacy")):
        if name in k1 and r2:
            pos = k1.index(name)
            if pos < len(r2) and r2[pos] == "":
                return layout
    if any("(choice=" in c for c in r1) or "complete?" in k1 or (k1 and k1[0] == "record id"):
        return "redcap_labels"
    if (k1 and k1[0] == "record_id") or any(_REDCAP_CHECKBOX.match(c) or _REDCAP_COMPLETE.match(c) for c in r1) \
            or any(c.startswith("redcap_") for c in k1):
        return "redcap"
    return "plain"


def _surveymonkey_columns(path: Path, h1: list[str], h2: list[str]) -> tuple[list[ExportColumn], dict[str, int]]:
    ids: dict[str, int] = {}
    columns: list[ExportColumn] = []
    question = ""
    for pos, (a, b) in enumerate(zip(h1, h2)):
        a, b = a.strip(), b.strip()
        key = _key(a)
        if key in SURVEYMONKEY_IDS and not b:
            ids.setdefault(SURVEYMONKEY_IDS[key], pos)
            question = ""
            continue
        if a:
            question = a
        if not question:
            raise InputError(path, "a column has no question text above it", row=1, column=b or f"#{pos + 1}",
                             fix="row 1 must hold each question's text; re-export without editing")
        columns.append(ExportColumn(pos, question, b))
    return columns, ids


def _import_id(cell: str) -> str:
    cell = cell.strip()
    if not cell.startswith("{"):
        return cell if re.fullmatch(r"[A-Za-z_][\w#-]*", cell) else ""
    try:
        value = json.loads(cell)
    except ValueError:
        m = re.search(r"ImportId['\"]?\s*:\s*['\"]([^'\"]+)", cell)
        return m.group(1) if m else ""
    return str(value.get("ImportId", "")) if isinstance(value, dict) else ""


def _meta_key(*candidates: str) -> str | None:
    for c in candidates:
        k = _key(c)
        if k in _META:
            return _META[k]
        if k in _META_IGNORED:
            return "meta:" + k
    return None


def _named_columns(names: list[str], texts: list[str], import_ids: list[str] | None,
                   style: str) -> tuple[list[ExportColumn], dict[str, int]]:
    """Columns of layouts keyed by a column name (Qualtrics, REDCap, SPSS, plain).

    Each column's question group comes from its ImportId, else its name (``Q11_3`` and
    ``Q11_8_TEXT`` belong to ``Q11``; ``f___2`` and ``f__code`` to ``f``); its question text from the
    text row with Qualtrics' `` - Selected Choice`` / `` - Option`` / `` - Text`` parts split off.
    """
    ids: dict[str, int] = {}
    entries: list[dict] = []
    all_names = {n.strip() for n in names}
    all_questions = {(_LABEL_CHOICE.match(t.strip()) or _LABEL_CHOICE.match(t.strip() + " (choice=)")).group("question")  # type: ignore[union-attr]
                     for t in texts if t.strip()}
    for pos, name in enumerate(names):
        name = name.strip()
        text = texts[pos].strip() if pos < len(texts) else ""
        iid = import_ids[pos].strip() if import_ids and pos < len(import_ids) else ""
        if style == "redcap_labels":
            meta = "respondent_id" if pos == 0 else None
            if _key(text) == "complete?":
                meta = f"complete:{pos}"
            meta = meta or _meta_key(text)
        elif style == "redcap":
            m = _REDCAP_COMPLETE.match(name)
            meta = "respondent_id" if pos == 0 else (f"complete:{m.group('form')}" if m else None)
            if meta is None and name.endswith("_timestamp"):
                meta = "meta:" + name
            meta = meta or _meta_key(name)
        else:
            meta = _meta_key(iid, name) if iid else _meta_key(name, text)
        if meta == "respondent_id" and "respondent_id" in ids:
            meta = "meta:duplicate id column"
        if meta is None and not name and not text:  # no heading at all (a trailing delimiter): not a question
            meta = f"meta:unnamed column {pos + 1}"
        if meta is not None:
            ids.setdefault(meta, pos)
            continue
        group, choice, role, sub = name or text, "", ANSWER, ""
        m_iid = _QID.match(iid) if iid else None
        if m_iid:
            group, rest = m_iid.group("base"), m_iid.group("rest") or ""
            if rest.upper().endswith("TEXT"):
                ch = rest[:-4].rstrip("_-")
                choice, role = (ch, OTHER_TEXT) if ch else ("", ANSWER)
            elif rest:
                choice, role = rest, CHOICE
        elif style in ("redcap_labels", "plain") and _LABEL_OTHER.match(text) and \
                _LABEL_OTHER.match(text).group("question") in all_questions:  # type: ignore[union-attr]
            group, role = _LABEL_OTHER.match(text).group("question"), OTHER_TEXT  # type: ignore[union-attr]
            text = f"{group} - Other (please specify)"
        elif style == "redcap_labels" and _LABEL_CHOICE.match(text):
            lm = _LABEL_CHOICE.match(text)
            assert lm is not None
            group, sub, role = lm.group("question"), lm.group("label").strip(), CHOICE
            text = lm.group("question")
        else:
            group, choice, role = _name_parts(name, all_names, group, style)
            if style == "redcap" and role == CHOICE:  # without its data dictionary: the field's name, the code
                text = group
        entries.append({"pos": pos, "name": name, "text": text or name, "iid": m_iid.group("base") if m_iid else "",
                        "group": group, "choice": choice, "role": role, "sub": sub,
                        "name_group": _name_parts(name, all_names, group)[0] if m_iid else group})
    # a column whose ImportId is missing or damaged joins the question its short name belongs to
    by_name = {e["name_group"]: e["iid"] for e in entries if e["iid"]}
    for e in entries:
        if not e["iid"] and e["group"] in by_name:
            e["group"] = e["iid"] = by_name[e["group"]]

    by_group: dict[str, list[dict]] = {}
    for e in entries:
        by_group.setdefault(e["group"], []).append(e)
    columns: list[ExportColumn] = []
    for group, members in by_group.items():
        question = _group_question(members)
        for e in members:
            sub = e["sub"] or _subheader(e["text"], question, e["role"])
            columns.append(ExportColumn(e["pos"], question, sub, name=e["name"], import_id=e["iid"],
                                        choice=e["choice"], group=group, role=e["role"]))
    columns.sort(key=lambda c: c.position)
    return columns, ids


def _name_parts(name: str, all_names: set[str], default: str, style: str = "") -> tuple[str, str, str]:
    """(question group, option code, role) from a column name: ``Q11_3``, ``Q11_8_TEXT``, ``f___2``, ``f__code``.

    REDCap marks a checkbox's columns ``field___code`` only: its ``date_visit_4`` is a field of its own."""
    patterns = ((_REDCAP_CHECKBOX, CHOICE), (_CANONICAL_CHOICE, CHOICE), (_NUMBERED_TEXT, OTHER_TEXT),
                (_NUMBERED, CHOICE))
    for rx, r in patterns[:1] if style in ("redcap", "redcap_labels") else patterns:
        m = rx.match(name)
        if m and (rx is not _CANONICAL_CHOICE or not name.endswith("__other_text")):
            return m.group("base"), m.group("choice"), r
    m_other = _OTHER_SUFFIX.match(name)
    if m_other and any(n == m_other.group("base") or n.startswith(m_other.group("base") + "_")
                       for n in all_names if n != name):
        return m_other.group("base"), "", OTHER_TEXT
    m_text = _TEXT_SUFFIX.match(name)
    if m_text:
        return m_text.group("base"), "", ANSWER
    return default, "", ANSWER


def _strip_suffixes(text: str) -> str:
    for suffix in (" - Selected Choice", " - Text"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text


def _group_question(members: list[dict]) -> str:
    answers = [m for m in members if m["role"] == ANSWER]
    if answers:
        return _strip_suffixes(answers[0]["text"])
    if any(m["sub"] for m in members):
        return members[0]["text"]
    parts = [m["text"].split(" - ") for m in members]
    if len(parts) == 1:
        p = parts[0]
        return " - ".join(p[:-1]) if len(p) > 1 else p[0]
    common: list[str] = []
    for pieces in zip(*parts):
        if all(x == pieces[0] for x in pieces):
            common.append(pieces[0])
        else:
            break
    if common:
        return _strip_suffixes(" - ".join(common))
    return _dash_question([m["text"] for m in members]) or members[0]["text"]


def _dash_question(texts: list[str]) -> str:
    """The question part of columns labelled ``Question-Option`` (legacy and 2016-era Qualtrics,
    no spaces around the dash; the question part often cut at 100 characters and ended with
    ``...``): their common beginning up to its last dash ('' when they share none)."""
    prefix = os.path.commonprefix(texts)
    cut = prefix.rfind("-")
    while cut > 0 and not all(t[cut + 1:].strip(" -") for t in texts):
        cut = prefix.rfind("-", 0, cut)
    return prefix[:cut].rstrip() if cut > 0 else ""


def _subheader(text: str, question: str, role: str) -> str:
    if role == ANSWER:
        return "Response"
    rest = text[len(question):] if text.startswith(question) else text
    rest = rest.lstrip(" -")
    if rest.startswith("Selected Choice - "):
        rest = rest[len("Selected Choice - "):]
    if role == OTHER_TEXT and not rest.casefold().startswith("other"):
        rest = "Other (please specify)" + (f" - {rest}" if rest else "")
    return rest


# --------------------------------------------------------------------------- the reader


def _set_cell(grid: pd.DataFrame, row: int, column: int, value: str) -> None:
    """Set one cell by position, also in a dictionary-encoded (Categorical) column."""
    col = grid.iloc[:, column]
    if isinstance(col.dtype, pd.CategoricalDtype) and value not in col.cat.categories:
        grid[grid.columns[column]] = col.cat.add_categories([value])
    grid.iloc[row, column] = value


def _header_rows(grid: pd.DataFrame, n: int) -> list[list[str]]:
    return [[("" if v is None or (isinstance(v, float) and v != v) else str(v)) for v in grid.iloc[i].tolist()]
            for i in range(min(n, len(grid)))]


def _check_format(path: Path, fmt: str | None, container: str) -> str | None:
    if fmt in (None, "", "auto"):
        return None
    if fmt not in FORMATS:
        raise InputError(path, f"unknown export format {fmt!r}", fix=f"use one of: {', '.join(FORMAT_CHOICES)}")
    if (fmt == "spss") != (container == "sav"):
        what = {"sav": "an SPSS .sav file", "xlsx": "an Excel workbook", "text": "a text (CSV/TSV) file"}[container]
        raise InputError(path, f"the format was given as {fmt!r} but the file is {what}",
                         fix="leave out --format to detect the format, or give the right file")
    return fmt


# One export read by :func:`read_export_kept`, handed (once) to the next read_export of the same
# unchanged file: the run counts the officer export's rows and then maps it, reading it once.
_KEPT: dict[tuple, RawExport] = {}


def _file_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


def is_kept(path: Path | str) -> bool:
    """True while a :func:`read_export_kept` read of this file waits, and the file is unchanged since
    (same size, modification time and inode): its bytes are still the ones read then."""
    try:
        return _file_key(Path(path)) in _KEPT
    except OSError:
        return False


def read_export_kept(path: Path | str) -> RawExport:
    """:func:`read_export` (layout detected), kept for the next ``read_export`` of the same unchanged file."""
    path = Path(path)
    _KEPT.clear()
    raw = read_export(path)
    _KEPT[_file_key(path)] = raw
    return raw


def read_export(path: Path | str, format: str | None = None) -> RawExport:  # noqa: A002 - the user's word
    """Read any supported export; ``format`` forces a layout (see :data:`FORMATS`), else it is detected.

    Raises InputError (and nothing else) when the file cannot be read as an export.
    """
    path = Path(path)
    if _KEPT and format in (None, "", "auto"):
        try:
            kept = _KEPT.pop(_file_key(path), None)
        except OSError:
            kept = None
        _KEPT.clear()
        if kept is not None:
            return kept
    data = read_bytes(path)
    if not data[:65536].strip() and not data.strip():
        raise InputError(path, "the file is empty", fix="export the survey responses again")
    container = _sniff_container(data)
    if container == "xls":
        raise InputError(path, "this is an old-style Excel .xls workbook", fix="save it as .xlsx or CSV and try again")
    fmt = _check_format(path, format, container)
    notes: list[str] = []
    delimiter = ""
    if container == "sav":
        names, labels, body, notes, declared = _read_sav(path)
        columns, ids = _named_columns(names, labels, None, "spss")
        body.index = pd.RangeIndex(1, len(body) + 1)  # case numbers
        raw = _finish(path, "SPSS", columns, ids, body, 1, "spss", "sav", "", notes)
        raw.headers = list(names)
        raw.value_labels = declared
        raw.code_sources = {i: "SPSS value labels" for i in declared}
        return raw
    if container == "xlsx":
        grid = _read_xlsx(path)
        encoding = "XLSX"
    else:
        grid = None
        if len(data) > BIG_FILE_BYTES and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            head = data[:1 << 16].decode("utf-8", errors="ignore")
            delimiter = sniff_delimiter(head)
            first = next(csv.reader(io.StringIO(head.lstrip("\ufeff"), newline=""), delimiter=delimiter), [])
            if len(first) > 1 and b"\x00" not in data:
                grid = parse_delimited_duckdb(path, len(first), delimiter)
                if grid is not None:
                    encoding = "UTF-8 with BOM" if data.startswith(b"\xef\xbb\xbf") else "UTF-8"
                    if len(grid.columns) and len(grid):
                        _set_cell(grid, 0, 0, str(grid.iloc[0, 0]).lstrip("\ufeff"))
                    grid = drop_trailing_blank(grid)
        if grid is None:
            text, encoding, notes = decode_text(path, data)
            delimiter = sniff_delimiter(text)
            grid = drop_trailing_blank(parse_delimited(path, text, delimiter, notes))
        if grid.empty:
            raise InputError(path, "the file has no rows", fix="export the survey responses again")
    layout = fmt or detect_layout(_header_rows(grid, 3))
    n_head = HEADER_ROWS[layout]
    if len(grid) < n_head:
        raise InputError(path, f"the file has {len(grid)} row(s), fewer than the {n_head} header rows of a "
                         f"{layout.replace('_', ' ')} export", row=len(grid),
                         fix="export all responses, with the header rows, again")
    header = _header_rows(grid, n_head)
    width = grid.shape[1]
    if container == "text" and width == 1 and len(grid) > 1:
        notes.append("the file has a single column: the delimiter may not be one of , ; tab |")
    body = grid.iloc[n_head:]
    if body.shape[1] and body[body.columns[-1]].hasnans:  # a short row leaves its last cells absent
        body = check_short_rows(path, body, width)
    if n_head > 1 and grid.iloc[:n_head].isna().any(axis=None):
        raise InputError(path, "the header rows have different numbers of cells", row=2,
                         fix="the file is not a complete export, or was edited; re-export it")
    if layout in ("surveymonkey", "surveymonkey_legacy"):
        columns, ids = _surveymonkey_columns(path, header[0], header[1])
    elif layout == "qualtrics":
        columns, ids = _named_columns(header[0], header[1], [_import_id(c) for c in header[2]], "qualtrics")
    elif layout == "qualtrics_legacy":
        first = header[0]
        if "responseid" not in [_key(c) for c in first] and "responseid" in [_key(c) for c in header[1]]:
            # the oldest layout: V1..V10 names over the metadata fields' names
            first = [t if re.fullmatch(r"V\d+", n.strip()) else n for n, t in zip(header[0], header[1])]
        columns, ids = _named_columns(first, header[1], None, "qualtrics")
    elif layout in ("redcap", "redcap_labels"):
        columns, ids = _named_columns(header[0], header[0], None, layout)
    else:
        columns, ids = _named_columns(header[0], header[0], None, "plain")
    body.columns = range(width)
    raw = _finish(path, encoding, columns, ids, body, n_head + 1, layout,
                  "xlsx" if container == "xlsx" else ("tsv" if delimiter == "\t" else "csv"), delimiter, notes)
    raw.headers = [h.strip() for h in header[0]]
    return raw


def _finish(path: Path, encoding: str, columns: list[ExportColumn], ids: dict[str, int], body: pd.DataFrame,
            first_line: int, layout: str, container: str, delimiter: str, notes: list[str]) -> RawExport:
    seen: dict[tuple[str, str], int] = {}
    for c in columns:
        k = (c.group_key, _key(c.subheader) + "|" + c.choice)
        if k in seen:
            notes.append(f"duplicate column: {c.name or c.question!r} ({c.subheader or 'answer'}) appears at "
                         f"columns {seen[k] + 1} and {c.position + 1}; the first is used")
        else:
            seen[k] = c.position
    if not columns:
        raise InputError(path, "the export has no question columns", row=1,
                         fix="export the responses with the questions' columns")
    row_numbers = body.index.to_numpy(dtype=np.int64) if len(body) else np.zeros(0, np.int64)
    body = body.reset_index(drop=True)
    return RawExport(path, encoding, columns, ids, body, int(row_numbers[0]) if len(row_numbers) else first_line,
                     format=layout, container=container, delimiter=delimiter, notes=notes, row_numbers=row_numbers)


def read_bytes_as_export(data: bytes, suffix: str = ".csv", format: str | None = None) -> RawExport:  # noqa: A002
    """Read an export held in memory (for tests and checks): written to a temporary file first."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export{suffix}"
        path.write_bytes(data)
        return read_export(path, format)


def describe_rows(raw: RawExport, index: np.ndarray) -> str:
    """Row numbers of some records, for a message ('rows 4, 9 and 3 more')."""
    rows = [int(raw.row_numbers[i]) for i in index[:5]]  # type: ignore[index]
    more = len(index) - len(rows)
    return ", ".join(map(str, rows)) + (f" and {more} more" if more > 0 else "")


__all__ = ["FORMATS", "FORMAT_CHOICES", "detect_layout", "read_export", "read_export_kept", "is_kept", "read_bytes_as_export",
           "describe_rows"]
