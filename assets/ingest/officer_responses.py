"""From a survey export to the canonical ``officer_responses`` table.

Each canonical variable of the codebook is found in the export (:mod:`assets.ingest.matching`);
its answers are read into the codebook's labels (:mod:`assets.ingest.answers`): labels in any case
and spacing, or codes through a declared coding only — the codebook's ``codes`` and the export's own
metadata (SPSS value labels, a REDCap data dictionary or Qualtrics ``.qsf`` beside the export or
named in the codebook; :mod:`assets.ingest.metadata`), checked against each other and against the
codes the column holds (:mod:`assets.ingest.codes`). A numeric answer is never read by its position
unless the codebook says ``codes: positional``.

Nothing is dropped silently: export questions that match no variable are reported; a question the
export lacks is *not collected in this wave* (its columns are missing, and what needs it is left out
downstream) unless the codebook marks it ``required``, which stops the wave, as does a missing
respondent id. Rows that cannot be used are quarantined with a reason (preview/test/spam status,
blank response, no or duplicate respondent id, an undeclared code or an answer outside the
codebook, a REDCap row of another event or form), so rows read = rows accepted + rows quarantined;
a column whose codes do not fit their declaration stops the wave. All work is per distinct value,
so a million-row export costs little more than its distinct answers.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from assets.ingest.answers import (Answers, Distinct, _codes_uniques, known_boolean, missing_boolean, per_value, read_multi,
                                   read_single, read_text, text_flags)
from assets.ingest.codes import answers_of, column_coding, judge, normalise_text
from assets.ingest.geography import CountyResolver
from assets.ingest.matching import VariableMatch, find_respondent_id, match_questions
from assets.ingest.open_ended import code_open_ended
from assets.ingest.raw import RawExport
from pipelines.config import Assessment, Variable
from pipelines.errors import InputError

__all__ = ["IngestReport", "META_COLUMNS", "NOT_COLLECTED", "QUESTION_COLUMNS", "attach_export_metadata",
           "normalise_text", "not_collected_in", "parse_timestamps", "survey_questions", "to_officer_responses"]

DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
                "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d",
                "%m/%d/%Y")
META_COLUMNS = ("wave", "source_row", "respondent_id", "collector_id", "start_date", "end_date",
                "duration_seconds", "finished", "progress", "county_note")
#: what a question the wave's export does not have is, everywhere it would have been used
NOT_COLLECTED = "not collected in this wave"
_STATUS = {
    "survey preview": "preview response", "preview": "preview response", "1": "preview response",
    "17": "preview response", "survey test": "test response", "test": "test response", "2": "test response",
    "spam": "spam response", "8": "spam response", "9": "spam response", "12": "spam response",
    "survey preview spam": "spam response", "imported spam": "spam response",
}
_STATUS_OK = {"", "ip address", "0", "imported", "4", "offline", "16", "anonymous", "email", "complete"}
_NUMERIC_ID = re.compile(r"^(\d+)\.0+$")
_REDCAP_OTHER_ROWS = ("meta:redcap_repeat_instrument", "meta:redcap_event_name", "meta:repeat instrument",
                      "meta:event name")
OTHER_FORM_REASON = "no survey answers: REDCap row of another event or repeating form"
CHECKS = {"duplicate respondent id": "unique_respondent_id", "no respondent id": "has_respondent_id",
          "blank response": "not_blank", "preview response": "not_preview", "test response": "not_test",
          "spam response": "not_spam", OTHER_FORM_REASON: "survey_form_row"}


@dataclass
class IngestReport:
    """What ingestion found, for the user and for asset metadata (no respondent data).

    ``codes`` lists each coded column: the codes seen in it (declared metadata such as ``0, 1, 2``,
    never a respondent's words), the codes declared and by whom."""

    rows_read: int = 0
    rows_accepted: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    matched: list[str] = field(default_factory=list)
    missing_variables: list[str] = field(default_factory=list)
    unmatched_questions: list[str] = field(default_factory=list)
    value_problems: list[str] = field(default_factory=list)
    format: str = ""
    encoding: str = ""
    matched_by: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unplaced_counties: int = 0
    platform: str = ""
    layout: str = ""
    file: str = ""
    respondent_id_column: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    not_collected: list[str] = field(default_factory=list)
    codes: list[dict] = field(default_factory=list)
    metadata_files: list[str] = field(default_factory=list)
    #: open-ended questions: the rules against the hand codes per theme (counts), and answers hand-coded
    rule_check: list[dict] = field(default_factory=list)
    hand_coded: dict[str, int] = field(default_factory=dict)

    def reconciles(self) -> bool:
        return self.rows_read == self.rows_accepted + sum(self.quarantined.values())

    @property
    def rows_quarantined(self) -> int:
        return int(sum(self.quarantined.values()))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rows_quarantined"] = self.rows_quarantined
        d["reconciles"] = self.reconciles()
        return d

    def not_collected_message(self) -> str:
        """What the run says about the questions this wave's export lacks ('' when it has them all)."""
        if not self.not_collected:
            return ""
        return (f"{self.file}: {len(self.not_collected)} codebook question(s) {NOT_COLLECTED}: "
                f"{', '.join(self.not_collected)}; the indicators, models and checks that need them are left out. "
                "If the export has one under another wording or column name, add that wording (or name) to the "
                "variable's `aliases` in the codebook (`htna validate` lists the export's unmatched questions).")


def _respondent_id(value: object) -> str:
    """One identifier as text, stripped; '1234.0' (an id read as a number) becomes '1234'."""
    s = "" if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value).strip()
    return _NUMERIC_ID.sub(r"\1", s) if s.endswith(".0") else s


def _respondent_ids(cells: pd.Series) -> np.ndarray:
    """Identifiers as text, stripped; '1234.0' (an id read as a number) becomes '1234'."""
    if isinstance(cells.dtype, pd.CategoricalDtype):
        return Distinct(cells).map(_respondent_id)  # '' -> '' as for a missing cell
    values = cells.to_numpy(dtype=object)
    out = np.empty(len(values), dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # all text (a reader's table): no per-row call
        sub = _NUMERIC_ID.sub
        out[:] = [sub(r"\1", t) if (t := v.strip()).endswith(".0") else t for v in values]
    else:
        out[:] = [_respondent_id(v) for v in values]
    return out


_Distinct = Distinct  # the name earlier callers use


def _rows_of(raw: RawExport, mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(int(raw.row_numbers[i])) for i in idx[:5])  # type: ignore[index]
    return f"row {shown}" if idx.size == 1 else f"{idx.size} rows: {shown}" + (" ..." if idx.size > 5 else "")


def _report_bad(raw: RawExport, report: IngestReport, name: str, cells: pd.Series, bad: np.ndarray,
                what: str) -> None:
    """One value problem per distinct bad answer, with its rows."""
    if not bad.any():
        return
    values = cells.to_numpy()[bad]
    codes, uniques = pd.factorize(pd.Series(values).astype(str).str.strip())
    positions = np.flatnonzero(bad)
    for j, u in enumerate(uniques[:20]):
        mask = np.zeros(len(cells), bool)
        mask[positions[codes == j]] = True
        report.value_problems.append(f"{name}: {str(u)[:60]!r} {what} ({_rows_of(raw, mask)})")
    if len(uniques) > 20:
        report.value_problems.append(f"{name}: {len(uniques) - 20} more distinct answers not in the codebook")


def _coded(raw: RawExport, report: IngestReport, v: Variable, answers: np.ndarray,
           respondent_ids: np.ndarray) -> dict[str, Any]:
    """An open-ended question's columns: how each answer was coded and a yes/no per theme of its
    coding frame (:mod:`assets.ingest.open_ended`); without a frame, only whether it was answered.
    For a multi-select's "Other (please specify)" texts, the theme columns only."""
    if v.coding is None:
        return {v.name: np.where(pd.notna(answers), "answered (not coded)", None).astype(object)}
    folder = raw.path.parent if raw.path is not None else None
    coded = code_open_ended(v, answers, respondent_ids, folder)
    report.rule_check += coded.rule_check
    report.notes += coded.notes
    if coded.hand_coded:
        report.hand_coded[v.name] = coded.hand_coded
    return coded.columns


def _flag_text(raw: RawExport, report: IngestReport, name: str, col: Distinct) -> None:
    formula, markup = text_flags(col)
    if formula.any():
        report.notes.append(f"{name}: formula-looking text kept as plain text, never evaluated ({_rows_of(raw, formula)}); "
                            "open exported CSVs with care")
    if markup.any():
        report.notes.append(f"{name}: HTML or script in free text kept as text and escaped when shown "
                            f"({_rows_of(raw, markup)})")


def attach_export_metadata(raw: RawExport, assessment: Assessment) -> RawExport:
    """Give ``raw`` the codes its metadata declares: a REDCap data dictionary or Qualtrics .qsf in the
    export's folder, else the ones the codebook names (once per export)."""
    from assets.ingest.metadata import attach, wave_metadata

    if raw.metadata_files is not None:
        return raw
    cb = assessment.codebook
    meta = wave_metadata(raw.path.parent,
                         assessment.codebook_file(cb.redcap_data_dictionary) if cb.redcap_data_dictionary else None,
                         assessment.codebook_file(cb.qualtrics_survey_file) if cb.qualtrics_survey_file else None,
                         export=raw.path)
    attach(raw, meta)
    raw.metadata_files = [f for f in (meta.redcap_file, meta.qualtrics_file) if f]
    return raw


# --------------------------------------------------------------------------- the table


def _describe_columns(m: VariableMatch) -> str:
    from assets.ingest.matching import describe

    cols = m.columns
    return describe(cols) + (f" ({len(cols)} columns)" if len(cols) > 1 else "")


def to_officer_responses(raw: RawExport, assessment: Assessment, wave: str,
                         report: IngestReport | None = None, dataset: str = "officer_responses",
                         ) -> tuple[pd.DataFrame, pd.DataFrame, IngestReport]:
    """Map a raw export onto the codebook (``assessment.codebook``: the officer survey's, or another
    instrument's through :meth:`~pipelines.config.Assessment.for_instrument`; ``dataset`` names the table in
    the quarantine rows).

    Returns (accepted rows in canonical form, quarantined rows with reasons, report). Raises
    InputError when a required question or the respondent id is missing, or a coded column does not
    fit its declaration. ``report``, when given, is filled as far as the mapping got (``htna validate``
    shows it whatever failed).
    """
    cb = assessment.codebook
    n = raw.n_rows
    report = report if report is not None else IngestReport()
    report.rows_read, report.format, report.encoding = n, raw.describe_format(), raw.encoding
    report.platform, report.layout, report.file = raw.platform, raw.format, str(raw.path)
    report.notes = list(raw.notes)
    attach_export_metadata(raw, assessment)
    report.metadata_files = list(raw.metadata_files or [])
    found, report.unmatched_questions, match_notes = match_questions(raw, cb.variables)
    report.notes += match_notes
    report.matched = sorted(found)
    report.matched_by = {name: m.how for name, m in found.items()}
    report.columns = {name: _describe_columns(m) for name, m in found.items()}
    report.missing_variables = [v.name for v in cb.variables if v.name not in found]
    id_position, report.respondent_id_column = find_respondent_id(raw, cb)
    from assets.ingest.matching import describe

    id_column = [describe([c]) for c in raw.columns if c.position == id_position]  # named in the codebook
    report.unmatched_questions = [q for q in report.unmatched_questions if q not in id_column]
    missing_required = [v for v in cb.variables if v.required and v.name not in found]
    if missing_required:
        v = missing_required[0]
        raise InputError(raw.path, f"required question not found: {v.question!r} ({v.name})", row=1,
                         fix="add the export's wording, column name or ImportId of this question to the codebook "
                             "as an alias, or export the survey with this question included")
    if n == 0:
        raise InputError(raw.path, "the export has its header rows but no responses", row=raw.first_data_line,
                         fix="export again once responses have been collected (all responses, not a filtered view)")

    out: dict[str, Any] = {}
    ids = raw.ids
    none = lambda: np.full(n, None, dtype=object)  # noqa: E731
    out["respondent_id"] = _respondent_ids(raw.column(id_position))
    out["collector_id"] = per_value(raw.column(ids["collector_id"]), lambda s: s or None) \
        if "collector_id" in ids else none()
    for key in ("start_date", "end_date"):
        if key in ids:
            cells = raw.column(ids[key])
            parsed, nonblank = _timestamps(cells)
            _report_bad(raw, report, key, cells, nonblank & parsed.isna().to_numpy(),
                        "is not a date and time this reader knows")
            out[key] = parsed.to_numpy()
        else:
            out[key] = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]").to_numpy()

    resolver: CountyResolver | None = None
    county_note = none()
    has_answer = np.zeros(n, bool)
    problems: dict[str, np.ndarray] = {}
    read: list[tuple[Answers, Any, list[str]]] = []
    for v in cb.variables:
        m = found.get(v.name)
        if m is None:
            if v.type == "multi":
                for opt in v.options or []:
                    out[f"{v.name}__{opt.code}"] = missing_boolean(n)  # type: ignore[union-attr]
                if v.other_specify:
                    out[v.other_column] = missing_boolean(n)
            else:
                out[v.name] = none()
            for column in v.theme_columns():  # the themes of an open-ended answer (or "Other" text)
                out[column] = missing_boolean(n)
            report.not_collected.append(v.name)
            continue
        cols = m.columns
        if v.type == "text":
            got, col = read_text(raw, v, cols)
            _flag_text(raw, report, v.name, col)
            if v.free_text:  # an open-ended answer: its themes only, never its text (raw archive keeps that)
                got.columns = _coded(raw, report, v, got.columns[v.name], out["respondent_id"])
        else:
            labels = answers_of(assessment, v)
            # the column whose metadata declares the variable's codes: the answer column (a multi-select's
            # list column; its one-column-per-option columns' labels only say "ticked")
            main = next((c for c in cols if c.kind == "answer"), None)
            declared = raw.value_labels.get(main.position) if main is not None else None
            main = main or cols[0]
            coding = column_coding(raw.path, main.name or main.question[:60], v, labels, declared,
                                   raw.code_sources.get(main.position, ""))
            if v.type == "single":
                if v.options_from == "counties":
                    resolver = resolver or CountyResolver.for_assessment(assessment)
                got = read_single(raw, v, cols, labels, coding, resolver if v.options_from == "counties" else None)
                if got.county_note is not None:
                    county_note = got.county_note
                    report.unplaced_counties = int(got.unplaced.sum())  # type: ignore[union-attr]
                    _report_bad(raw, report, v.name, raw.column(cols[0].position) if len(cols) == 1 else
                                raw.column(next((c for c in cols if c.kind == "answer"), cols[0]).position),
                                got.unplaced, "could not be placed in a county (kept as unknown county)")
            else:
                got = read_multi(raw, v, cols, coding)
                for c in [c for c in cols if c.kind == "other_text"]:
                    _flag_text(raw, report, f"{v.name} (other)", Distinct(raw.column(c.position)))
                if v.other_specify and got.other_text is not None:
                    # "Other (please specify)": its themes only, never its text (the raw archive keeps that)
                    if v.coding is not None:
                        got.columns.update(_coded(raw, report, v, got.other_text, out["respondent_id"]))
                    got.other_text = None
            read.append((got, coding, labels))
        report.unmatched_questions += got.unmatched
        report.not_collected += got.not_collected
        out.update(got.columns)
        has_answer |= got.answered  # type: ignore[arg-type]
        for reason, rows in got.problems.items():
            problems[reason] = problems[reason] | rows if reason in problems else rows
    # the codes seen in every coded column, reported before any column is judged (validate shows them all)
    report.codes = [c.to_dict() for got, _, _ in read for c in got.checks if c.codes_seen or c.declared]
    for got, coding, labels in read:
        for check in got.checks:
            judge(raw.path, check, coding, labels)
    for reason, rows in problems.items():
        what = "is a code with no declared meaning" if "declared meaning" in reason else \
            "is not one of the codebook's answers"
        name = reason.removeprefix("answer to ").split(" ")[0]
        report.value_problems.append(f"{name}: {int(rows.sum())} answer(s) {what}, quarantined ({_rows_of(raw, rows)})")

    # the table's columns in order, built as arrays: one DataFrame at the end, of the accepted rows
    columns: dict[str, Any] = {"wave": wave, "source_row": np.asarray(raw.row_numbers, dtype=np.int64), **out}
    start, end = pd.Series(columns["start_date"]), pd.Series(columns["end_date"])
    columns["duration_seconds"] = (end - start).dt.total_seconds().to_numpy()
    columns["finished"] = _finished(raw)
    columns["progress"] = pd.to_numeric(raw.cells(ids["progress"]), errors="coerce").to_numpy() \
        if "progress" in ids else np.full(n, np.nan)
    columns["county_note"] = county_note
    for d in cb.derived:
        mapping = assessment.derived_map(d)
        columns[d.name] = per_value(pd.Series(columns[d.from_]), lambda s, mp=mapping: mp.get(s) if s else None)
        if d.from_ in report.not_collected:
            report.not_collected.append(d.name)

    # Rows that cannot be used: platform status (preview, test, spam), no answers, no or repeated id,
    # an undeclared code or an answer outside the codebook.
    status = _status_reasons(raw, report) if "status" in ids else np.full(n, "", dtype=object)
    blank = ~has_answer
    # a REDCap project with events or repeating forms exports a row per record, event and instance:
    # the rows without the survey's answers belong to other forms
    other_form = blank & any(k in ids for k in _REDCAP_OTHER_ROWS)
    respondent_id = columns["respondent_id"]
    no_id = respondent_id == ""
    bad_answer = np.zeros(n, bool)
    reasons = np.full(n, "", dtype=object)
    for reason, rows in problems.items():
        reasons[rows & (reasons == "")] = reason
        bad_answer |= rows
    eligible = (status == "") & ~no_id & ~blank & ~bad_answer
    dup = np.zeros(n, bool)
    dup[eligible] = pd.Series(respondent_id[eligible]).duplicated(keep="first").to_numpy()
    reasons[dup] = "duplicate respondent id"
    reasons[no_id] = "no respondent id"
    reasons[blank] = "blank response"
    reasons[other_form] = OTHER_FORM_REASON
    reasons[status != ""] = status[status != ""]
    held = reasons != ""
    checks = dict(CHECKS)
    checks.update({r: ("declared_code" if "declared meaning" in r else "codebook_answer") for r in problems})
    quarantine = pd.DataFrame({
        "dataset": dataset, "wave": wave, "source_row": columns["source_row"][held],
        "check": [checks.get(r, "status") for r in reasons[held]],
        "reason": reasons[held],
    })
    if dup.any():
        report.notes.append(f"duplicate respondent ids: {_rows_of(raw, dup)} repeat an earlier row's id; "
                            "the first row of each id is kept")
    if other_form.any():
        report.notes.append(f"REDCap rows of other events or repeating forms (no survey answers) are not responses: "
                            f"{_rows_of(raw, other_form)}; each record's row with the survey's answers is kept")
    if held.any():
        keep = ~held
        columns = {k: c if np.ndim(c) == 0 else c[keep] for k, c in columns.items()}
    accepted = _frame(columns, int(n - held.sum()))
    report.rows_accepted = len(accepted)
    report.quarantined = {str(k): int(v) for k, v in quarantine["reason"].value_counts().items()}
    return accepted, quarantine, report


QUESTION_COLUMNS = ["wave", "variable", "question", "collected", "status", "matched_by", "export_column"]


def survey_questions(report: IngestReport, assessment: Assessment, wave: str) -> pd.DataFrame:
    """One row per codebook question (and multi-select option, and derived domain) of the wave: whether
    the export carried it, and where. A question not collected in this wave blocks only what needs it."""
    rows = []
    cb = assessment.codebook
    for v in cb.variables:
        names = [v.name] + ([f"{v.name}__{o.code}" for o in v.options or []]  # type: ignore[union-attr]
                            if v.type == "multi" else [])
        for name in names:
            collected = name not in report.not_collected and v.name not in report.not_collected
            if name != v.name and collected:
                continue  # an option is listed only when its own column is missing
            rows.append({"wave": wave, "variable": name, "question": v.question, "collected": collected,
                         "status": "collected" if collected else NOT_COLLECTED,
                         "matched_by": report.matched_by.get(v.name, ""), "export_column": report.columns.get(v.name, "")})
    for d in cb.derived:
        collected = d.name not in report.not_collected
        rows.append({"wave": wave, "variable": d.name, "question": f"derived from {d.from_}", "collected": collected,
                     "status": "collected" if collected else NOT_COLLECTED, "matched_by": "", "export_column": ""})
    return pd.DataFrame(rows, columns=QUESTION_COLUMNS).astype({"collected": bool})


def not_collected_in(questions: pd.DataFrame | None) -> set[str]:
    """The variables (and option columns) an ``officer_survey_questions`` table says were not collected."""
    if questions is None or not len(questions) or "collected" not in questions.columns:
        return set()
    return set(questions.loc[~questions["collected"].astype(bool), "variable"].astype(str))


def _frame(columns: dict[str, Any], n: int) -> pd.DataFrame:
    """A table of ``n`` rows from its columns (arrays, or one value for every row), each column kept
    as its own array: no copy into pandas' two-dimensional blocks."""
    index = pd.RangeIndex(n)
    series = {name: pd.Series(np.full(n, c, dtype=object) if np.ndim(c) == 0 else c, index=index, copy=False)
              for name, c in columns.items()}
    return pd.concat(series, axis=1, copy=False)


#: rows (and then distinct timestamps) from which SurveyMonkey's format is parsed by DuckDB (pandas'
#: strptime takes seconds per million distinct values, DuckDB a fraction of that)
FAST_TIMESTAMPS_MIN = 20_000
# DATE_FORMATS[0] ("%m/%d/%Y %I:%M:%S %p"), only in its valid shapes: whatever does not match, or
# is not a real date (31 February), is left to the format loop of parse_timestamps
_SURVEYMONKEY_SHAPE = (r"(0?[1-9]|1[0-2])/(0?[1-9]|[12][0-9]|3[01])/(19|20)[0-9]{2} "
                       r"(0?[1-9]|1[0-2]):[0-5][0-9]:[0-5][0-9] [AP]M")


def _surveymonkey_timestamps(values: pd.Series) -> pd.Series:
    """Values in SurveyMonkey's timestamp format parsed by DuckDB (NaT for any other value)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.register("timestamp_values", pd.DataFrame({"v": values.to_numpy(dtype=object)}))
        parsed = con.execute(
            "SELECT CASE WHEN regexp_full_match(v, ?) THEN try_strptime(v, ?) END AS t FROM timestamp_values",
            [_SURVEYMONKEY_SHAPE, DATE_FORMATS[0]]).df()["t"]
    finally:
        con.close()
    return pd.Series(parsed.to_numpy(dtype="datetime64[ns]"), index=values.index)


def parse_timestamps(cells: pd.Series) -> pd.Series:
    """Vectorised parsing of the platforms' date formats (per distinct value); NaT where none fits."""
    return _timestamps(cells)[0]


def _timestamps(cells: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """:func:`parse_timestamps`, and which rows are not blank.

    A big export's column of text has DuckDB parse the rows in SurveyMonkey's format as they are
    (such a cell has no white space to strip); only the other rows are parsed per distinct value."""
    if len(cells) >= FAST_TIMESTAMPS_MIN and cells.dtype == object \
            and pd.api.types.infer_dtype(cells, skipna=True) == "string":
        fast = _surveymonkey_timestamps(cells)
        done = fast.notna().to_numpy()
        if done.any():
            parsed, nonblank = fast.to_numpy(), done.copy()
            rest = ~done
            if rest.any():
                rest_parsed, rest_nonblank = _distinct_timestamps(cells[rest])
                parsed[rest], nonblank[rest] = rest_parsed.to_numpy(), rest_nonblank
            return pd.Series(parsed, index=cells.index), nonblank
    return _distinct_timestamps(cells)


def _distinct_timestamps(cells: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """:func:`_timestamps` per distinct value (one factorisation for the parse and the blanks)."""
    codes, uniques, _ = _codes_uniques(cells)
    values = pd.Series([u.strip() if type(u) is str else str(u).strip() for u in uniques], dtype=object)
    result = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    todo = values != ""
    if len(values) >= FAST_TIMESTAMPS_MIN:  # a big export: its SurveyMonkey timestamps parsed by DuckDB first
        fast = _surveymonkey_timestamps(values)
        ok = fast.notna() & todo
        result.loc[ok] = fast[ok]
        todo &= ~ok
    for fmt in DATE_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(values[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        result.loc[parsed.index[ok]] = parsed[ok].astype("datetime64[ns]")
        todo.loc[parsed.index[ok]] = False
    full = np.append(result.to_numpy(), np.datetime64("NaT", "ns"))
    nonblank = np.append((values != "").to_numpy(dtype=bool), False)
    return pd.Series(full[codes], index=cells.index), nonblank[codes]


def _finished(raw: RawExport) -> pd.arrays.BooleanArray:
    n = raw.n_rows
    if "finished" in raw.ids:
        cells = raw.column(raw.ids["finished"])
        col = Distinct(cells)
        value = col.test(lambda s: s.casefold() in ("true", "1", "yes", "t", "finished"))
        known = value | col.test(lambda s: s.casefold() in ("false", "0", "no", "f"))
        return known_boolean(value, known)
    complete = [p for k, p in raw.ids.items() if k.startswith("complete:")]
    if complete:  # REDCap: finished when every form is Complete (2)
        result = np.ones(n, bool)
        known = np.zeros(n, bool)
        for p in complete:
            cells = raw.column(p)
            done = per_value(cells, lambda s: s.casefold() in ("2", "complete"))
            result &= done.astype(bool)
            known |= Distinct(cells).test(bool)
        return known_boolean(result, known)
    return missing_boolean(n)


def _status_reasons(raw: RawExport, report: IngestReport) -> np.ndarray:
    cells = raw.column(raw.ids["status"])
    reasons = per_value(cells, lambda s: _STATUS.get(normalise_text(s), ""))
    unknown = per_value(cells, lambda s: normalise_text(s) not in _STATUS and normalise_text(s) not in _STATUS_OK)
    if unknown.astype(bool).any():
        report.notes.append(f"status: unrecognised values kept as responses ({_rows_of(raw, unknown.astype(bool))})")
    return reasons.astype(object)
