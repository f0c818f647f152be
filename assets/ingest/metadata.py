"""What an export's own metadata says its answer codes mean: REDCap data dictionaries and Qualtrics
survey files (``.qsf``). SPSS files carry theirs inside (value labels, read with the file).

A REDCap records export holds raw codes (``1``, ``0``, ``2``) whose meaning is in the project's data
dictionary, the CSV REDCap exports beside the data (``Variable / Field Name``, ``Field Type``,
``Choices, Calculations, OR Slider Labels``; the API's ``field_name`` ... ``select_choices_or_calculations``
work too). A Qualtrics export with numeric values holds recode values (or choice numbers) whose
meaning is in the survey's ``.qsf`` file (``RecodeValues`` and ``Choices`` of each question).

:func:`wave_metadata` finds them in a wave's folder (``*DataDictionary*.csv``, ``*data_dictionary*.csv``,
``*.qsf``) or takes the ones the codebook names; :func:`attach` gives each export column the codes
its field or question declares (:attr:`RawExport.value_labels`), the label of each REDCap checkbox
column's choice and the question text of each REDCap field. Files are read through
:func:`assets.ingest.raw.read_bytes`, and only :class:`~pipelines.errors.InputError` leaves here.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from assets.ingest.raw import CHOICE, ExportColumn, RawExport, decode_text, read_bytes
from pipelines.config import code_key
from pipelines.errors import InputError

#: REDCap field types with a fixed coding (the data dictionary leaves their choices blank)
REDCAP_FIXED = {"yesno": {"1": "Yes", "0": "No"}, "truefalse": {"1": "True", "0": "False"}}
REDCAP_CHOICE_TYPES = {"radio", "dropdown", "checkbox", *REDCAP_FIXED}
_DICT_COLUMNS = {
    "name": ("variable / field name", "field_name"),
    "type": ("field type", "field_type"),
    "label": ("field label", "field_label"),
    "choices": ("choices, calculations, or slider labels", "select_choices_or_calculations"),
    "form": ("form name", "form_name"),
}
_TAGS = re.compile(r"<[^>]*>")


@dataclass
class Field:
    """One field of a REDCap project: its type, label and choices (code -> label)."""

    name: str
    type: str
    label: str
    choices: dict[str, str] = field(default_factory=dict)


@dataclass
class QualtricsQuestion:
    """One question of a Qualtrics survey file: its ids, text and codes (code -> choice text)."""

    qid: str
    tag: str
    text: str
    codes: dict[str, str] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)  # choice id -> text
    matrix: bool = False  # codes are scale points shared by every row (column) of the question


@dataclass
class ExportMetadata:
    """The answer codes a wave's exports declare, from which file."""

    redcap: dict[str, Field] = field(default_factory=dict)
    redcap_file: str = ""
    qualtrics: dict[str, QualtricsQuestion] = field(default_factory=dict)  # by QID and by export tag
    qualtrics_file: str = ""

    def __bool__(self) -> bool:
        return bool(self.redcap or self.qualtrics)


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", _TAGS.sub(" ", str(text)).replace("&nbsp;", " ")).strip()


def parse_choices(text: str) -> dict[str, str]:
    """REDCap's ``1, Yes | 0, No | 2, Not sure`` as {code: label} (codes folded by ``code_key``)."""
    out: dict[str, str] = {}
    for part in str(text).split("|"):
        if not part.strip():
            continue
        code, sep, label = part.partition(",")
        if not sep:
            continue  # a calculation or slider label, not a choice
        out[code_key(code)] = label.strip()
    return out


def read_redcap_dictionary(path: Path) -> dict[str, Field]:
    """A REDCap data dictionary (CSV as REDCap exports it, or the API's metadata CSV), by field name."""
    text, _, _ = decode_text(path, read_bytes(path))
    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    except csv.Error as exc:
        raise InputError(path, f"not a readable data dictionary CSV ({exc})",
                         fix="export the data dictionary again from REDCap (Project Setup > Data Dictionary)") from None
    if not rows:
        raise InputError(path, "the data dictionary is empty", fix="export the data dictionary again from REDCap")
    head = [re.sub(r"\s+", " ", c).strip().casefold() for c in rows[0]]
    where: dict[str, int] = {}
    for key, names in _DICT_COLUMNS.items():
        hit = next((head.index(n) for n in names if n in head), None)
        if hit is not None:
            where[key] = hit
    missing = [k for k in ("name", "type", "choices") if k not in where]
    if missing:
        raise InputError(path, "not a REDCap data dictionary: no " + ", ".join(
            repr(_DICT_COLUMNS[k][0].title()) for k in missing) + " column", row=1,
            fix="give the data dictionary REDCap exports (Project Setup > Data Dictionary > Download)")
    fields: dict[str, Field] = {}
    for r in rows[1:]:
        cell = lambda k, r=r: r[where[k]].strip() if k in where and where[k] < len(r) else ""  # noqa: E731
        name, ftype = cell("name"), cell("type").casefold()
        if not name:
            continue
        choices = REDCAP_FIXED.get(ftype) or (parse_choices(cell("choices")) if ftype in REDCAP_CHOICE_TYPES else {})
        fields[name] = Field(name, ftype, _plain(cell("label")), dict(choices))
    return fields


def read_qualtrics_survey(path: Path) -> dict[str, QualtricsQuestion]:
    """A Qualtrics survey file (.qsf, JSON): each question's codes, by QID and by export tag.

    A choice's code in a numeric export is its recode value where the question has them, else its
    choice number."""
    text, _, _ = decode_text(path, read_bytes(path))
    try:
        survey = json.loads(text.lstrip("\ufeff"))
        elements = survey["SurveyElements"]
    except (ValueError, KeyError, TypeError):
        raise InputError(path, "not a readable Qualtrics survey file (.qsf)",
                         fix="export the survey again from Qualtrics (Tools > Import/Export > Export Survey)") from None
    out: dict[str, QualtricsQuestion] = {}
    for el in elements if isinstance(elements, list) else []:
        if not isinstance(el, dict) or el.get("Element") != "SQ" or not isinstance(el.get("Payload"), dict):
            continue
        p = el["Payload"]
        choices = p.get("Choices") if isinstance(p.get("Choices"), dict) else {}
        answers = p.get("Answers") if isinstance(p.get("Answers"), dict) else {}  # a matrix's scale points
        recode = p.get("RecodeValues") if isinstance(p.get("RecodeValues"), dict) else {}
        shown = {str(cid): _plain(c.get("Display", "")) for cid, c in choices.items() if isinstance(c, dict)}
        points = {str(aid): _plain(a.get("Display", "")) for aid, a in answers.items() if isinstance(a, dict)}
        codes = {code_key(recode.get(cid, cid)): label for cid, label in (points or shown).items()}
        q = QualtricsQuestion(str(p.get("QuestionID", el.get("PrimaryAttribute", ""))), str(p.get("DataExportTag", "")),
                              _plain(p.get("QuestionText", "")), codes, shown, matrix=bool(points))
        for key in {q.qid, q.tag} - {""}:
            out[key] = q
    return out


def _found(folder: Path, wanted: Callable[[str], bool], exclude: Path | None) -> Path | None:
    hits = sorted(p for p in folder.iterdir() if p.is_file() and wanted(p.name.casefold())
                  and (exclude is None or p.resolve() != exclude.resolve()))
    if len(hits) > 1:
        raise InputError(folder, f"more than one file could be the export's metadata: {', '.join(h.name for h in hits)}",
                         fix="keep only the one that belongs to this wave's export in the folder")
    return hits[0] if hits else None


def wave_metadata(folder: Path | None, codebook_dictionary: Path | None = None,
                  codebook_survey: Path | None = None, export: Path | None = None) -> ExportMetadata:
    """The export metadata of a wave: files in its folder first (a ``*dictionary*.csv``, as REDCap
    names it ``<Project>_DataDictionary_<date>.csv``; a ``*.qsf``), else those the codebook names.
    ``export`` (the export itself) is never taken for its metadata."""
    meta = ExportMetadata()
    here = folder is not None and folder.is_dir()
    dictionary = _found(folder, lambda n: n.endswith(".csv") and "dictionary" in n, export) if here else None
    dictionary = dictionary or codebook_dictionary
    if dictionary is not None:
        meta.redcap, meta.redcap_file = read_redcap_dictionary(dictionary), dictionary.name
    survey = _found(folder, lambda n: n.endswith(".qsf"), export) if here else None
    survey = survey or codebook_survey
    if survey is not None:
        meta.qualtrics, meta.qualtrics_file = read_qualtrics_survey(survey), survey.name
    return meta


def _checkbox(name: str) -> tuple[str, str] | None:
    m = re.match(r"^(?P<base>[A-Za-z][A-Za-z0-9_]*?)___(?P<choice>[A-Za-z0-9_\-.]+)$", name)
    return (m.group("base"), m.group("choice")) if m else None


def attach(raw: RawExport, meta: ExportMetadata) -> RawExport:
    """Give the export's columns the codes (and REDCap labels) the metadata declares; returns ``raw``."""
    if not meta:
        return raw
    columns: list[ExportColumn] = []
    for c in raw.columns:
        fld = meta.redcap.get(c.name) if meta.redcap and c.name else None
        box = _checkbox(c.name) if meta.redcap and c.name and fld is None else None
        if fld is not None and fld.choices:
            raw.value_labels[c.position] = dict(fld.choices)
            raw.code_sources[c.position] = f"REDCap data dictionary {meta.redcap_file}"
        if fld is not None and fld.label and c.question == c.name:
            c = replace(c, question=fld.label)
        elif box is not None and box[0] in meta.redcap:
            parent = meta.redcap[box[0]]
            label = parent.choices.get(code_key(box[1]))
            c = replace(c, question=parent.label if c.question in (c.name, box[0]) else c.question,
                        subheader=label if label is not None else c.subheader, role=CHOICE)
            raw.code_sources[c.position] = f"REDCap data dictionary {meta.redcap_file}"
        q = None
        if meta.qualtrics:
            q = meta.qualtrics.get(c.import_id) if c.import_id else None
            q = q or (meta.qualtrics.get(c.name) if c.name else None)
            if q is None and c.name and "_" in c.name:  # a matrix row of the legacy export: Q7_2
                q = meta.qualtrics.get(c.name.rsplit("_", 1)[0])
                q = q if q is not None and q.matrix else None
        if q is not None and q.codes and (c.role != CHOICE or q.matrix) and c.kind != "other_text":
            raw.value_labels[c.position] = dict(q.codes)
            raw.code_sources[c.position] = f"Qualtrics survey file {meta.qualtrics_file}"
        columns.append(c)
    raw.columns = columns
    return raw


__all__ = ["ExportMetadata", "Field", "QualtricsQuestion", "attach", "parse_choices", "read_qualtrics_survey",
           "read_redcap_dictionary", "wave_metadata"]
