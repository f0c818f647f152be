"""Writing canonical officer answers in each platform's export layout.

The synthetic generator (:func:`assets.ingest.synthetic.generate_officer_answers`) produces one row
per officer in canonical variable names and answer labels. These converters write the same answers
as SurveyMonkey (CSV, XLSX), Qualtrics (CSV with three header rows, UTF-16 TSV, the legacy two-row
CSV), SPSS ``.sav``, REDCap (raw codes or labels) and a plain one-header-row table, so tests can
check that every reader yields identical canonical tables, and ``htna synth`` can offer any layout.
Pure functions of (assessment, answers, path); no Dagster.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from assets.ingest.synthetic import SURVEYMONKEY_DATE_FORMAT, write_surveymonkey_csv
from pipelines.config import Assessment, Option, Variable

LAYOUTS = ("surveymonkey_csv", "surveymonkey_xlsx", "qualtrics_csv", "qualtrics_tsv", "qualtrics_legacy_csv",
           "spss", "redcap_raw", "redcap_labels", "plain_csv", "plain_xlsx")
SUFFIX = {"surveymonkey_csv": ".csv", "surveymonkey_xlsx": ".xlsx", "qualtrics_csv": ".csv", "qualtrics_tsv": ".tsv",
          "qualtrics_legacy_csv": ".csv", "spss": ".sav", "redcap_raw": ".csv", "redcap_labels": ".csv",
          "plain_csv": ".csv", "plain_xlsx": ".xlsx"}
OTHER_LABEL = "Other (please specify)"
#: the older SurveyMonkey export's ID columns (before about 2017)
SURVEYMONKEY_LEGACY_ID_COLUMNS = ["RespondentID", "CollectorID", "StartDate", "EndDate", "IP Address",
                                  "Email Address", "First Name", "LastName", "Custom Data"]
QUALTRICS_META = [  # name, text, ImportId
    ("StartDate", "Start Date", '{"ImportId":"startDate","timeZone":"America/New_York"}'),
    ("EndDate", "End Date", '{"ImportId":"endDate","timeZone":"America/New_York"}'),
    ("Status", "Response Type", '{"ImportId":"status"}'),
    ("IPAddress", "IP Address", '{"ImportId":"ipAddress"}'),
    ("Progress", "Progress", '{"ImportId":"progress"}'),
    ("Duration (in seconds)", "Duration (in seconds)", '{"ImportId":"duration"}'),
    ("Finished", "Finished", '{"ImportId":"finished"}'),
    ("RecordedDate", "Recorded Date", '{"ImportId":"recordedDate","timeZone":"America/New_York"}'),
    ("ResponseId", "Response ID", '{"ImportId":"_recordId"}'),
    ("DistributionChannel", "Distribution Channel", '{"ImportId":"distributionChannel"}'),
    ("UserLanguage", "User Language", '{"ImportId":"userLanguage"}'),
]


def _is_true(v: Any) -> bool:
    return v is True or (isinstance(v, (bool, np.bool_)) and bool(v))


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v) or v is pd.NA or v is pd.NaT


def _text(v: Any) -> str:
    return "" if _blank(v) else str(v)


def _opts(v: Variable) -> list[Option]:
    return [o for o in v.options or [] if isinstance(o, Option)]


def _iso(ts: Any) -> str:
    return "" if _blank(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


#: how a writer codes a variable's answers: label -> code (default: positions 1..k, as REDCap numbers
#: a new field's choices)
Coder = Callable[[Variable], dict[str, str]]


def positional_codes(assessment: Assessment) -> Coder:
    """REDCap's default numbering of a field's choices: 1..k in order."""
    def coder(v: Variable) -> dict[str, str]:
        labels = [o.label for o in _opts(v)] if v.type == "multi" else assessment.options(v)
        return {lab: str(i) for i, lab in enumerate(labels, start=1)}
    return coder


def _ticked(r: dict, v: Variable) -> list[str]:
    return [o.label for o in _opts(v) if _is_true(r.get(f"{v.name}__{o.code}"))]


# --------------------------------------------------------------------------- SurveyMonkey


def surveymonkey_rows(assessment: Assessment, answers: pd.DataFrame, *, codes: Coder | None = None,
                      legacy: bool = False, condensed: bool = False) -> list[list[Any]]:
    """The two header rows and the respondent rows of a SurveyMonkey export (dates as datetimes).

    ``codes``: the "Numerical value" export (each answer as its number); ``legacy``: the older export's
    ID columns (``RespondentID``, ``CollectorID``, ...); ``condensed``: the "Condensed" columns (a
    multi-select in one column listing the choices)."""
    from assets.ingest.synthetic import SURVEYMONKEY_ID_COLUMNS

    h1: list[str] = list(SURVEYMONKEY_LEGACY_ID_COLUMNS if legacy else SURVEYMONKEY_ID_COLUMNS)
    h2: list[str] = [""] * len(h1)
    getters: list[Callable[[dict], Any]] = []
    for v in assessment.codebook.variables:
        code = codes(v) if codes and v.type != "text" else None
        if v.type in ("single", "text"):
            h1.append(v.question)
            h2.append("Response" if v.type == "single" else "Open-Ended Response")
            getters.append(lambda r, name=v.name, c=code: c.get(r[name], "") if c and not _blank(r[name])
                           else _text(r[name]))
        elif condensed:
            h1.append(v.question)
            h2.append("Response")

            def listed(r: dict, v: Variable = v, c: dict | None = code) -> str:
                chosen = [(c[o.label] if c else o.label) for o in _opts(v) if _is_true(r[f"{v.name}__{o.code}"])]
                return ",".join(chosen)
            getters.append(listed)
        else:
            for i, o in enumerate(_opts(v)):
                h1.append(v.question if i == 0 else "")
                h2.append(o.label)
                shown = code[o.label] if code else o.label
                getters.append(lambda r, c=f"{v.name}__{o.code}", lab=shown: lab if _is_true(r[c]) else "")
        if v.type == "multi" and v.other_specify:
            h1.append("")
            h2.append(OTHER_LABEL)
            getters.append(lambda r, c=f"{v.name}__other_text": _text(r[c]))
    rows: list[list[Any]] = [h1, h2]
    for r in answers.to_dict("records"):
        rows.append([r["respondent_id"], r.get("collector_id", ""), pd.Timestamp(r["start_date"]).to_pydatetime(),
                     pd.Timestamp(r["end_date"]).to_pydatetime(), r.get("ip_address", ""), "", "", "", ""]
                    + [g(r) for g in getters])
    return rows


def write_surveymonkey_xlsx(assessment: Assessment, answers: pd.DataFrame, path: Path) -> None:
    """SurveyMonkey's XLSX export: the CSV layout on one sheet, dates as Excel dates."""
    _write_xlsx(surveymonkey_rows(assessment, answers), path)


def _write_xlsx(rows: list[list[Any]], path: Path) -> None:
    import openpyxl

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Sheet")
    for r in rows:
        ws.append([None if (isinstance(c, str) and c == "") else c for c in r])
    wb.save(path)


# --------------------------------------------------------------------------- Qualtrics


def _cut(text: str) -> str:
    """Question text as the legacy and 2016-era Qualtrics exports give it: cut at 100 characters."""
    return text if len(text) <= 100 else text[:97] + "..."


def matrix_groups(assessment: Assessment) -> dict[str, tuple[str, int, str]]:
    """Consecutive single-choice questions on one scale worded ``Title: statement`` — a matrix
    question's rows: variable -> (matrix title, row number, statement)."""
    out: dict[str, tuple[str, int, str]] = {}
    run: list[Variable] = []

    def close() -> None:
        if len(run) > 1:
            for j, v in enumerate(run, start=1):
                title, _, statement = v.question.partition(": ")
                out[v.name] = (title, j, statement)
        run.clear()
    for v in assessment.codebook.variables:
        title = v.question.partition(": ")[0] if ": " in v.question else None
        if v.type == "single" and v.scale and title and run and run[0].scale == v.scale \
                and run[0].question.partition(": ")[0] == title:
            run.append(v)
            continue
        close()
        if v.type == "single" and v.scale and title:
            run.append(v)
    close()
    return out


def qualtrics_rows(assessment: Assessment, answers: pd.DataFrame, *, split_multi: bool = False,
                   statuses: list[str] | None = None, codes: Coder | None = None, style: str = "current",
                   matrix: bool = False) -> list[list[str]]:
    """Qualtrics' three header rows (short name, question text, ImportId JSON) and the responses.

    ``codes``: the "Use numeric values" export (recode values; a split multi-select's ticks as 1).
    ``style="2016"``: the 2016-era and legacy headings — question text cut at 100 characters, a
    multi-select's columns headed ``Question-Option`` (no spaces). ``matrix``: the agreement items as
    one matrix question (``Q7_1`` .. ``Q7_4``, headed ``Title - statement``)."""
    names = [m[0] for m in QUALTRICS_META]
    texts = [m[1] for m in QUALTRICS_META]
    iids = [m[2] for m in QUALTRICS_META]
    getters: list[Callable[[dict], str]] = []
    rows_of = matrix_groups(assessment) if matrix else {}
    qnum = {v.name: k for k, v in enumerate(assessment.codebook.variables, start=1)}
    for k, v in enumerate(assessment.codebook.variables, start=1):
        q = _cut(v.question) if style == "2016" else v.question
        code = codes(v) if codes and v.type != "text" else None
        if v.name in rows_of:
            title, j, statement = rows_of[v.name]
            first = next(n for n, (t, jj, _) in rows_of.items() if t == title and jj == 1)
            m = qnum[first]
            names.append(f"Q{m}_{j}"), texts.append(f"{title} - {statement}")
            iids.append(json.dumps({"ImportId": f"QID{m}_{j}"}))
            getters.append(lambda r, name=v.name, c=code: c.get(r[name], "") if c and not _blank(r[name])
                           else _text(r[name]))
        elif v.type == "single":
            names.append(f"Q{k}"), texts.append(q), iids.append(json.dumps({"ImportId": f"QID{k}"}))
            getters.append(lambda r, name=v.name, c=code: c.get(r[name], "") if c and not _blank(r[name])
                           else _text(r[name]))
        elif v.type == "text":
            names.append(f"Q{k}"), texts.append(q), iids.append(json.dumps({"ImportId": f"QID{k}_TEXT"}))
            getters.append(lambda r, name=v.name: _text(r[name]))
        else:
            opts = _opts(v)
            other_no = len(opts) + 1
            if split_multi:
                for j, o in enumerate(opts, start=1):
                    names.append(f"Q{k}_{j}")
                    texts.append(f"{q}-{o.label}" if style == "2016" else f"{q} - Selected Choice - {o.label}")
                    iids.append(json.dumps({"ImportId": f"QID{k}_{j}"}))
                    getters.append(lambda r, c=f"{v.name}__{o.code}", lab="1" if code else o.label:
                                   lab if _is_true(r[c]) else "")
                if v.other_specify:
                    names.append(f"Q{k}_{other_no}")
                    texts.append(f"{q}-{OTHER_LABEL}" if style == "2016" else f"{q} - Selected Choice - {OTHER_LABEL}")
                    iids.append(json.dumps({"ImportId": f"QID{k}_{other_no}"}))
                    getters.append(lambda r, c=f"{v.name}__other_text": OTHER_LABEL if _text(r[c]) else "")
            else:
                names.append(f"Q{k}"), texts.append(f"{q} - Selected Choice")
                iids.append(json.dumps({"ImportId": f"QID{k}"}))

                def joined(r: dict, v: Variable = v, c: dict | None = code) -> str:
                    chosen = [c[lab] for lab in _ticked(r, v)] if c else _ticked(r, v)
                    if v.other_specify and _text(r[f"{v.name}__other_text"]):
                        chosen.append(OTHER_LABEL)
                    return ",".join(chosen)
                getters.append(joined)
            if v.other_specify:
                names.append(f"Q{k}_{other_no}_TEXT")
                texts.append(f"{q}-{OTHER_LABEL}-TEXT" if style == "2016" else f"{q} - {OTHER_LABEL} - Text")
                iids.append(json.dumps({"ImportId": f"QID{k}_{other_no}_TEXT"}))
                getters.append(lambda r, c=f"{v.name}__other_text": _text(r[c]))
    rows = [names, texts, iids]
    for i, r in enumerate(answers.to_dict("records")):
        start, end = pd.Timestamp(r["start_date"]), pd.Timestamp(r["end_date"])
        status = statuses[i] if statuses else "IP Address"
        meta = [_iso(start), _iso(end), status, _text(r.get("ip_address")), "100",
                str(int((end - start).total_seconds())), "True", _iso(end), str(r["respondent_id"]), "anonymous", "EN"]
        rows.append(meta + [g(r) for g in getters])
    return rows


def write_qualtrics_csv(assessment: Assessment, answers: pd.DataFrame, path: Path, *, split_multi: bool = False,
                        statuses: list[str] | None = None) -> None:
    """Qualtrics CSV (UTF-8 with BOM, as Qualtrics writes it), three header rows."""
    _write_delimited(qualtrics_rows(assessment, answers, split_multi=split_multi, statuses=statuses), path,
                     ",", "utf-8-sig")


def write_qualtrics_tsv(assessment: Assessment, answers: pd.DataFrame, path: Path, *, split_multi: bool = True,
                        statuses: list[str] | None = None) -> None:
    """Qualtrics TSV: UTF-16 (with BOM), tab-separated, three header rows."""
    _write_delimited(qualtrics_rows(assessment, answers, split_multi=split_multi, statuses=statuses), path,
                     "\t", "utf-16")


def qualtrics_survey_file(assessment: Assessment, codes: Coder | None = None, matrix: bool = False) -> dict:
    """The survey as Qualtrics' ``.qsf`` (Tools > Import/Export > Export Survey) describes it: each
    question's ``QuestionID``, ``DataExportTag``, ``Choices`` and ``RecodeValues`` (a matrix question's
    scale points as ``Answers``), for the questions :func:`qualtrics_rows` writes."""
    codes = codes or positional_codes(assessment)
    rows_of = matrix_groups(assessment) if matrix else {}
    elements: list[dict] = []
    done: set[str] = set()
    for k, v in enumerate(assessment.codebook.variables, start=1):
        if v.type == "text":
            continue
        labels = [o.label for o in _opts(v)] if v.type == "multi" else assessment.options(v)
        code = codes(v)
        choices = {str(j): {"Display": lab} for j, lab in enumerate(labels, start=1)}
        recode = {str(j): code[lab] for j, lab in enumerate(labels, start=1)}
        payload: dict[str, Any] = {"QuestionID": f"QID{k}", "DataExportTag": f"Q{k}", "QuestionText": v.question,
                                   "QuestionType": "MC", "Selector": "MAVR" if v.type == "multi" else "SAVR",
                                   "Choices": choices, "ChoiceOrder": list(choices), "RecodeValues": recode}
        if v.name in rows_of:
            title = rows_of[v.name][0]
            if title in done:
                continue
            done.add(title)
            items = [n for n, (t, _, _) in rows_of.items() if t == title]
            payload.update(QuestionText=title, QuestionType="Matrix", Selector="Likert",
                           Choices={str(rows_of[n][1]): {"Display": rows_of[n][2]} for n in items},
                           Answers=choices, AnswerOrder=list(choices))
        elements.append({"SurveyID": "SV_htnaOfficerSurvey", "Element": "SQ", "PrimaryAttribute": f"QID{k}",
                         "SecondaryAttribute": payload["QuestionText"][:100], "TertiaryAttribute": None,
                         "Payload": payload})
    return {"SurveyEntry": {"SurveyID": "SV_htnaOfficerSurvey", "SurveyName": assessment.codebook.title,
                            "SurveyLanguage": "EN"}, "SurveyElements": elements}


def write_qualtrics_legacy_csv(assessment: Assessment, answers: pd.DataFrame, path: Path, *,
                               style: str = "current", codes: Coder | None = None) -> None:
    """The legacy Qualtrics CSV: V1..V10 metadata names over field names, then question text; no ImportIds."""
    rows = qualtrics_rows(assessment, answers, split_multi=True, style=style, codes=codes)
    names, texts = rows[0], rows[1]
    n_meta = len(QUALTRICS_META)
    legacy_meta = ["ResponseID", "ResponseSet", "Name", "ExternalDataReference", "EmailAddress", "IPAddress",
                   "Status", "StartDate", "EndDate", "Finished"]
    out = [[f"V{i}" for i in range(1, 11)] + names[n_meta:], legacy_meta + texts[n_meta:]]
    for r in rows[3:]:
        meta = dict(zip([m[0] for m in QUALTRICS_META], r[:n_meta]))
        out.append([meta["ResponseId"], "Default Response Set", "Anonymous", "", "", meta["IPAddress"], "0",
                    meta["StartDate"], meta["EndDate"], "1"] + r[n_meta:])
    _write_delimited(out, path, ",", "utf-8")


def write_delimited(rows: list[list[Any]], path: Path, delimiter: str = ",", encoding: str = "utf-8") -> None:
    """Rows of cells as a CSV (or other delimited) file, as the platforms write them (CRLF line ends)."""
    _write_delimited(rows, path, delimiter, encoding)


def _write_delimited(rows: list[list[Any]], path: Path, delimiter: str, encoding: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\r\n").writerows(rows)


# --------------------------------------------------------------------------- SPSS


def write_spss(assessment: Assessment, answers: pd.DataFrame, path: Path, *, codes: Coder | None = None,
               value_labels: bool = True) -> None:
    """An SPSS .sav as Qualtrics writes it: numeric codes with value labels, variable labels = question text.

    ``codes``: the answers' numeric codes (default 1..k); ``value_labels=False``: a file without them."""
    import pyreadstat

    codes = codes or positional_codes(assessment)

    data: dict[str, Any] = {
        "ResponseId": answers["respondent_id"].astype(str).to_numpy(),
        "StartDate": pd.to_datetime(answers["start_date"]).to_numpy(),
        "EndDate": pd.to_datetime(answers["end_date"]).to_numpy(),
        "Status": np.zeros(len(answers)),
        "Finished": np.ones(len(answers)),
    }
    labels = {"ResponseId": "Response ID", "StartDate": "Start Date", "EndDate": "End Date", "Status": "Response Type",
              "Finished": "Finished"}
    declared: dict[str, dict[float, str]] = {"Status": {0.0: "IP Address", 1.0: "Survey Preview", 2.0: "Survey Test",
                                                        8.0: "Spam"}, "Finished": {0.0: "False", 1.0: "True"}}
    for k, v in enumerate(assessment.codebook.variables, start=1):
        if v.type == "single":
            code = {lab: float(c) for lab, c in codes(v).items()}
            data[f"Q{k}"] = answers[v.name].map(lambda x, c=code: c.get(x, np.nan) if not _blank(x) else np.nan).astype(float).to_numpy()
            labels[f"Q{k}"] = v.question
            declared[f"Q{k}"] = {c: lab for lab, c in code.items()}
        elif v.type == "text":
            data[f"Q{k}_TEXT"] = answers[v.name].map(_text).to_numpy()
            labels[f"Q{k}_TEXT"] = v.question
        else:
            opts = _opts(v)
            for j, o in enumerate(opts, start=1):
                col = f"Q{k}_{j}"
                data[col] = answers[f"{v.name}__{o.code}"].map(lambda x: 1.0 if _is_true(x) else np.nan).astype(float).to_numpy()
                labels[col] = f"{v.question} - {o.label}"
                declared[col] = {1.0: o.label}
            if v.other_specify:
                col = f"Q{k}_{len(opts) + 1}_TEXT"
                data[col] = answers[f"{v.name}__other_text"].map(_text).to_numpy()
                labels[col] = f"{v.question} - {OTHER_LABEL} - Text"
    frame = pd.DataFrame(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    pyreadstat.write_sav(frame, str(path), column_labels=[labels[c] for c in frame.columns],
                         variable_value_labels=declared if value_labels else
                         {k: x for k, x in declared.items() if k in ("Status", "Finished")})


# --------------------------------------------------------------------------- REDCap


def redcap_rows(assessment: Assessment, answers: pd.DataFrame, *, labels: bool = False,
                form: str = "officer_survey", codes: Coder | None = None) -> list[list[str]]:
    """A REDCap records export: raw codes (field names header) or labels (field labels header)."""
    codes = codes or positional_codes(assessment)
    head = ["Record ID" if labels else "record_id", "Start Date" if labels else "start_date",
            "End Date" if labels else "end_date"]
    getters: list[Callable[[dict], str]] = []
    for v in assessment.codebook.variables:
        if v.type == "single":
            code = codes(v)
            head.append(v.question if labels else v.name)
            getters.append(lambda r, n=v.name, c=code: "" if _blank(r[n]) else (str(r[n]) if labels else c[r[n]]))
        elif v.type == "text":
            head.append(v.question if labels else v.name)
            getters.append(lambda r, n=v.name: _text(r[n]))
        else:
            code = codes(v)
            for o in _opts(v):
                j = code[o.label]
                head.append(f"{v.question} (choice={o.label})" if labels else f"{v.name}___{j}")
                on, off = ("Checked", "Unchecked") if labels else ("1", "0")
                getters.append(lambda r, c=f"{v.name}__{o.code}", on=on, off=off: on if _is_true(r[c]) else off)
            if v.other_specify:
                head.append(f"{v.question} - {OTHER_LABEL}" if labels else f"{v.name}_other")
                getters.append(lambda r, c=f"{v.name}__other_text": _text(r[c]))
    head.append("Complete?" if labels else f"{form}_complete")
    rows = [head]
    for r in answers.to_dict("records"):
        rows.append([str(r["respondent_id"]), _iso(r["start_date"]), _iso(r["end_date"])]
                    + [g(r) for g in getters] + ["Complete" if labels else "2"])
    return rows


def redcap_dictionary_rows(assessment: Assessment, codes: Coder | None = None,
                           form: str = "officer_survey") -> list[list[str]]:
    """The project's data dictionary as REDCap exports it (Project Setup > Data Dictionary)."""
    codes = codes or positional_codes(assessment)
    rows = [["Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
             "Choices, Calculations, OR Slider Labels", "Field Note", "Text Validation Type OR Show Slider Number",
             "Text Validation Min", "Text Validation Max", "Identifier?", "Branching Logic (Show field only if...)",
             "Required Field?", "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
             "Matrix Ranking?", "Field Annotation"]]
    blank = [""] * 12
    rows.append(["record_id", form, "", "text", "Record ID", "", *blank])
    for f in ("start_date", "end_date"):
        rows.append([f, form, "", "text", f.replace("_", " ").capitalize(), "", "", "datetime_seconds_ymd",
                     *blank[2:]])
    for v in assessment.codebook.variables:
        if v.type == "text":
            rows.append([v.name, form, "", "notes", v.question, "", *blank])
            continue
        code = codes(v)
        labels = [o.label for o in _opts(v)] if v.type == "multi" else assessment.options(v)
        choices = " | ".join(f"{code[lab]}, {lab}" for lab in labels)
        rows.append([v.name, form, "", "checkbox" if v.type == "multi" else "radio", v.question, choices, *blank])
        if v.type == "multi" and v.other_specify:
            rows.append([f"{v.name}_other", form, "", "text", f"{v.question} - {OTHER_LABEL}", "", *blank])
    return rows


def redcap_dictionary_path(path: Path) -> Path:
    """Where a REDCap export's data dictionary is written: beside it, as REDCap names it."""
    return path.with_name(f"{path.stem}_DataDictionary.csv")


def write_redcap_csv(assessment: Assessment, answers: pd.DataFrame, path: Path, *, labels: bool = False,
                     codes: Coder | None = None, dictionary: bool | None = None) -> None:
    """A REDCap records export; a raw export gets its data dictionary beside it (``dictionary``)."""
    _write_delimited(redcap_rows(assessment, answers, labels=labels, codes=codes), path, ",", "utf-8")
    if dictionary if dictionary is not None else not labels:
        _write_delimited(redcap_dictionary_rows(assessment, codes), redcap_dictionary_path(path), ",", "utf-8")


# --------------------------------------------------------------------------- plain


def plain_frame(assessment: Assessment, answers: pd.DataFrame, *, codes: Coder | None = None) -> pd.DataFrame:
    """One header row in canonical names: multi-selects as ``name__code`` True/False columns
    (``codes``: single-choice answers as their numeric codes)."""
    cols = ["respondent_id", "start_date", "end_date"]
    for v in assessment.codebook.variables:
        if v.type == "multi":
            cols += [f"{v.name}__{o.code}" for o in _opts(v)]
            if v.other_specify:
                cols.append(f"{v.name}__other_text")
        else:
            cols.append(v.name)
    out = answers[cols].copy()
    for c in ("start_date", "end_date"):
        out[c] = out[c].map(_iso)
    for v in assessment.codebook.variables:
        if codes and v.type == "single":
            out[v.name] = out[v.name].map(lambda x, c=codes(v): "" if _blank(x) else c[x])
    return out.map(lambda x: "" if _blank(x) else (("True" if x else "False") if isinstance(x, (bool, np.bool_)) else str(x)))


def write_plain_csv(assessment: Assessment, answers: pd.DataFrame, path: Path, *, delimiter: str = ",",
                    encoding: str = "utf-8") -> None:
    f = plain_frame(assessment, answers)
    _write_delimited([list(f.columns)] + f.values.tolist(), path, delimiter, encoding)


def write_plain_xlsx(assessment: Assessment, answers: pd.DataFrame, path: Path) -> None:
    f = plain_frame(assessment, answers)
    _write_xlsx([list(f.columns)] + f.values.tolist(), path)


# --------------------------------------------------------------------------- all


def write_layout(layout: str, assessment: Assessment, answers: pd.DataFrame, path: Path) -> Path:
    """Write ``answers`` in one of :data:`LAYOUTS`; return the path written."""
    writers: dict[str, Callable[[], None]] = {
        "surveymonkey_csv": lambda: write_surveymonkey_csv(assessment, answers, path),
        "surveymonkey_xlsx": lambda: write_surveymonkey_xlsx(assessment, answers, path),
        "qualtrics_csv": lambda: write_qualtrics_csv(assessment, answers, path),
        "qualtrics_tsv": lambda: write_qualtrics_tsv(assessment, answers, path),
        "qualtrics_legacy_csv": lambda: write_qualtrics_legacy_csv(assessment, answers, path),
        "spss": lambda: write_spss(assessment, answers, path),
        "redcap_raw": lambda: write_redcap_csv(assessment, answers, path),
        "redcap_labels": lambda: write_redcap_csv(assessment, answers, path, labels=True),
        "plain_csv": lambda: write_plain_csv(assessment, answers, path),
        "plain_xlsx": lambda: write_plain_xlsx(assessment, answers, path),
    }
    if layout not in writers:
        raise ValueError(f"unknown layout {layout!r}; one of {', '.join(LAYOUTS)}")
    writers[layout]()
    return path


__all__ = ["LAYOUTS", "SUFFIX", "write_layout", "write_surveymonkey_xlsx", "write_qualtrics_csv",
           "write_qualtrics_tsv", "write_qualtrics_legacy_csv", "write_spss", "write_redcap_csv",
           "write_plain_csv", "write_plain_xlsx", "SURVEYMONKEY_DATE_FORMAT"]
