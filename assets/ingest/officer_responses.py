"""From a survey export to the canonical ``officer_responses`` table.

Each canonical variable of the codebook is found in the export by column name, Qualtrics ImportId or
question text (or an alias of any of these), tolerant of case, white space, smart quotes and trailing
punctuation; a matrix question's rows are found by "question: row" or the row text. Answers are
normalised to the codebook's labels from labels in any case, numeric codes (position in the option
list, starting at 1), "5 - Strongly agree" and "Strongly agree (5)"; multi-selects from one column
per option (ticked by label, 1/0, Checked/Unchecked, True/False) or one column listing the choices.
County answers go through :class:`~assets.ingest.geography.CountyResolver`.

Nothing is dropped silently: export questions that match no variable, variables the export lacks
and answers that are not among the options are all reported, and rows that cannot be used are
quarantined with a reason (preview/test/spam status, blank response, no or duplicate respondent id),
so rows read = rows accepted + rows quarantined. All work is per distinct value, so a million-row
export costs little more than its distinct answers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from assets.ingest.geography import CountyResolver
from assets.ingest.raw import ANSWER, CHOICE, OTHER_TEXT, ExportColumn, RawExport
from pipelines.config import Assessment, Option, Variable
from pipelines.errors import InputError

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                         "\u2014": "-", "\u00a0": " "})

DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
                "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d",
                "%m/%d/%Y")
META_COLUMNS = ("wave", "source_row", "respondent_id", "collector_id", "start_date", "end_date",
                "duration_seconds", "finished", "progress", "county_note")
_GENERIC_SUBHEADERS = {"", "response", "open-ended response", "selected choice", "text"}
_FALSY = {"", "0", "0.0", "unchecked", "false", "no", "not selected", "not checked", "n", "f"}
_STATUS = {
    "survey preview": "preview response", "preview": "preview response", "1": "preview response",
    "17": "preview response", "survey test": "test response", "test": "test response", "2": "test response",
    "spam": "spam response", "8": "spam response", "9": "spam response", "12": "spam response",
    "survey preview spam": "spam response", "imported spam": "spam response",
}
_STATUS_OK = {"", "ip address", "0", "imported", "4", "offline", "16", "anonymous", "email", "complete"}
_FORMULA = re.compile(r"^\s*[=+@]|^\s*-\s*[A-Za-z(]")
_MARKUP = re.compile(r"<\s*/?\s*(script|iframe|img|a|svg|object|style|b|i|div|span|p)\b|javascript:", re.I)


def normalise_text(text: str) -> str:
    """Fold a question or answer label for matching: case, spacing, quotes, trailing punctuation."""
    t = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES).casefold()
    t = re.sub(r"\s+", " ", t).strip()
    return t.rstrip(" .:?!*").strip()


@dataclass
class IngestReport:
    """What ingestion found, for the user and for asset metadata (no respondent data)."""

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


# --------------------------------------------------------------------------- matching


@dataclass
class VariableMatch:
    """The export columns a codebook variable was found in, and by what."""

    variable: Variable
    columns: list[ExportColumn]
    how: str


def _variable_keys(v: Variable) -> list[tuple[str, str]]:
    keys = [(normalise_text(v.question), "question text"), (normalise_text(v.name), "column name")]
    keys += [(normalise_text(a), f"alias {a!r}") for a in v.aliases]
    return [(k, how) for k, how in keys if k]


def _group_keys(cols: list[ExportColumn]) -> set[str]:
    first = cols[0]
    keys = {normalise_text(first.question), normalise_text(first.group_key)}
    keys |= {normalise_text(c.import_id) for c in cols if c.import_id}
    keys |= {normalise_text(c.name) for c in cols if c.name and c.kind == ANSWER}
    return {k for k in keys if k}


def _column_keys(c: ExportColumn) -> set[str]:
    keys = {normalise_text(c.name)} if c.name else set()
    sub = normalise_text(c.subheader)
    if sub not in _GENERIC_SUBHEADERS:
        q = c.question.rstrip()
        keys |= {normalise_text(f"{q} {c.subheader}"), normalise_text(f"{q.rstrip(':')}: {c.subheader}"),
                 normalise_text(f"{q} - {c.subheader}"), sub}
    return {k for k in keys if k}


def _describe(cols: list[ExportColumn]) -> str:
    c = cols[0]
    label = c.question if len(c.question) <= 90 else c.question[:87] + "..."
    ident = c.name if c.name and normalise_text(c.name) != normalise_text(c.question) else ""
    return f"{ident}: {label}" if ident else label


def match_questions(raw: RawExport, variables: list[Variable]) -> tuple[dict[str, VariableMatch], list[str], list[str]]:
    """Find each variable's columns. Returns (matches by variable name, unmatched export questions, notes)."""
    groups: dict[str, list[ExportColumn]] = {}
    for col in raw.columns:
        groups.setdefault(col.group_key, []).append(col)
    keys = {g: _group_keys(cols) for g, cols in groups.items()}
    found: dict[str, VariableMatch] = {}
    used: dict[str, str] = {}
    notes: list[str] = []
    for v in variables:
        for key, how in _variable_keys(v):
            hits = [g for g, ks in keys.items() if key in ks and g not in used]
            if hits:
                found[v.name] = VariableMatch(v, groups[hits[0]], how)
                used[hits[0]] = v.name
                for extra in hits[1:]:
                    used[extra] = v.name
                    notes.append(f"{v.name}: the export has this question twice ({_describe(groups[hits[0]])!r} "
                                 f"and {_describe(groups[extra])!r}); the first is used")
                break
    # matrix rows and stray single columns: match column by column
    column_used: set[int] = set()
    for g, cols in groups.items():
        if g in used:
            continue
        for c in cols:
            ck = _column_keys(c)
            for v in variables:
                if v.name in found or v.type == "multi":
                    continue
                hit = next(((k, how) for k, how in _variable_keys(v) if k in ck), None)
                if hit:
                    found[v.name] = VariableMatch(v, [ExportColumn(c.position, c.question, "Response", c.name,
                                                                   c.import_id, "", c.group_key, ANSWER)],
                                                  hit[1] + " (matrix row)")
                    column_used.add(c.position)
                    break
    unmatched: list[str] = []
    for g, cols in groups.items():
        if g in used:
            continue
        rest = [c for c in cols if c.position not in column_used]
        if not rest:
            continue
        if len(rest) == len(cols):
            unmatched.append(_describe(cols))
        else:
            unmatched += [f"{_describe([c])} - {c.subheader}" for c in rest]
    return found, unmatched, notes


# --------------------------------------------------------------------------- values


def _codes_uniques(cells: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Each row's code into the distinct cells (-1 = missing), the distinct cells as read, and which
    of them some row holds (None: all). A Categorical column gives its own codes and categories."""
    if isinstance(cells.dtype, pd.CategoricalDtype):
        codes = cells.cat.codes.to_numpy()
        uniques = cells.cat.categories.to_numpy(dtype=object)
        counts = np.bincount(codes.astype(np.int64) + 1, minlength=len(uniques) + 1)
        return codes, uniques, counts[1:] > 0
    codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object), None


class _Distinct:
    """One column factorised once: its distinct values (stripped; missing = '') and each row's code.

    Everything per row is computed per distinct value and spread back by the codes, so a million
    rows with a handful of answers cost a handful of Python calls. A Categorical column (a big
    export's few-valued column) is taken with its own codes; a category no row holds counts as ''.
    """

    def __init__(self, cells: pd.Series) -> None:
        codes, uniques, used = _codes_uniques(cells)
        if used is None:
            self.values = [str(u).strip() for u in uniques] + [""]  # code -1 (missing) indexes the last
        else:
            self.values = [str(u).strip() if h else "" for u, h in zip(uniques, used)] + [""]
        self.codes = codes

    def apply(self, fn: Callable[[str], Any]) -> np.ndarray:
        out = np.empty(len(self.values), dtype=object)
        out[:] = [fn(v) for v in self.values]
        return out

    def rows(self, per_value: np.ndarray) -> np.ndarray:
        return per_value[self.codes]

    def map(self, fn: Callable[[str], Any]) -> np.ndarray:
        return self.rows(self.apply(fn))

    def test(self, pred: Callable[[str], Any]) -> np.ndarray:
        return np.fromiter((bool(pred(v)) for v in self.values), bool, len(self.values))[self.codes]


def _per_value(cells: pd.Series, fn: Callable[[str], Any]) -> np.ndarray:
    """Apply ``fn`` once per distinct cell (stripped; missing = '') and spread the results to rows."""
    return _Distinct(cells).map(fn)


def _not_none(per_value: np.ndarray) -> np.ndarray:
    return np.fromiter((v is not None for v in per_value), bool, len(per_value))


def _respondent_id(value: object) -> str:
    """One identifier as text, stripped; '1234.0' (an id read as a number) becomes '1234'."""
    s = "" if value is None or value is pd.NA or (isinstance(value, float) and value != value) else str(value).strip()
    return _NUMERIC_ID.sub(r"\1", s) if s.endswith(".0") else s


def _respondent_ids(cells: pd.Series) -> np.ndarray:
    """Identifiers as text, stripped; '1234.0' (an id read as a number) becomes '1234'."""
    if isinstance(cells.dtype, pd.CategoricalDtype):
        return _Distinct(cells).map(_respondent_id)  # '' -> '' as for a missing cell
    values = cells.to_numpy(dtype=object)
    out = np.empty(len(values), dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":  # all text (a reader's table): no per-row call
        sub = _NUMERIC_ID.sub
        out[:] = [sub(r"\1", t) if (t := v.strip()).endswith(".0") else t for v in values]
    else:
        out[:] = [_respondent_id(v) for v in values]
    return out


def _nonblank(cells: pd.Series) -> np.ndarray:
    return _Distinct(cells).test(bool)


_NUMERIC_ID = re.compile(r"^(\d+)\.0+$")


def _option_lookup(labels: list[str], codes: list[str] | None = None) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for pos, label in enumerate(labels, start=1):
        n = normalise_text(label)
        lookup[n] = label
        lookup.setdefault(str(pos), label)
        if codes:
            lookup.setdefault(normalise_text(codes[pos - 1]), label)
    return lookup


_CODED = re.compile(r"^\(?(?P<code>\d+)(?:\.0+)?\)?\s*(?:[-.=:)]\s*|\s+)(?P<label>.+)$")
_LABEL_CODE = re.compile(r"^(?P<label>.+?)\s*[(\[](?P<code>\d+)[)\]]$")


def _match_value(value: str, lookup: dict[str, str]) -> str | None:
    k = normalise_text(value)
    if k in lookup:
        return lookup[k]
    k2 = re.sub(r"^(\d+)\.0+$", r"\1", k)
    if k2 in lookup:
        return lookup[k2]
    for rx in (_CODED, _LABEL_CODE):
        m = rx.match(k)
        if m:
            by_label = lookup.get(normalise_text(m.group("label")))
            by_code = lookup.get(m.group("code"))
            if by_label is not None and (by_code is None or by_code == by_label):
                return by_label
    return None


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


def _main_column(cols: list[ExportColumn]) -> ExportColumn:
    return next((c for c in cols if c.kind == ANSWER), cols[0])


def _split_choices(value: str, labels: list[str], codes: list[str]) -> tuple[set[int], bool, list[str]]:
    """A cell listing choices ('A,B' or '1,3'): (option indexes, other chosen, unknown pieces)."""
    by_label = {normalise_text(lab): i for i, lab in enumerate(labels)}
    by_code = {str(i + 1): i for i in range(len(labels))} | {normalise_text(c): i for i, c in enumerate(codes)}
    pieces = [p for p in re.split(r"\s*[,;|]\s*", value) if p.strip()]
    chosen: set[int] = set()
    other, unknown = False, []
    i = 0
    while i < len(pieces):
        for j in range(len(pieces), i, -1):  # longest run of pieces that is a label (labels may hold commas)
            cand = normalise_text(", ".join(pieces[i:j]))
            if cand in by_label:
                chosen.add(by_label[cand])
                i = j
                break
        else:
            p = normalise_text(pieces[i])
            if p in by_code:
                chosen.add(by_code[p])
            elif p.startswith("other"):
                other = True
            else:
                unknown.append(pieces[i])
            i += 1
    return chosen, other, unknown


def _boolean(values: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.array(values, dtype="boolean")


def _known_boolean(values: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    """A nullable boolean column: ``values`` where ``known``, missing elsewhere (False underneath,
    as ``pd.array(..., dtype="boolean")`` stores a missing value)."""
    known = np.asarray(known, dtype=bool)
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool) & known, ~known)


def _missing_boolean(n: int) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.zeros(n, bool), np.ones(n, bool))


def _flag_text(raw: RawExport, report: IngestReport, name: str, col: _Distinct) -> None:
    formula = col.test(lambda s: bool(_FORMULA.match(s)) and len(s) > 1)
    if formula.any():
        report.notes.append(f"{name}: formula-looking text kept as plain text, never evaluated ({_rows_of(raw, formula)}); "
                            "open exported CSVs with care")
    markup = col.test(lambda s: bool(_MARKUP.search(s)))
    if markup.any():
        report.notes.append(f"{name}: HTML or script in free text kept as text and escaped when shown "
                            f"({_rows_of(raw, markup)})")


# --------------------------------------------------------------------------- the table


def to_officer_responses(raw: RawExport, assessment: Assessment, wave: str) -> tuple[pd.DataFrame, pd.DataFrame, IngestReport]:
    """Map a raw export onto the codebook.

    Returns (accepted rows in canonical form, quarantined rows with reasons, report).
    Raises InputError when a required variable is missing from the export.
    """
    cb = assessment.codebook
    n = raw.n_rows
    if n == 0:
        raise InputError(raw.path, "the export has its header rows but no responses", row=raw.first_data_line,
                         fix="export again once responses have been collected (all responses, not a filtered view)")
    report = IngestReport(rows_read=n, format=raw.describe_format(), encoding=raw.encoding, notes=list(raw.notes))
    found, report.unmatched_questions, match_notes = match_questions(raw, cb.variables)
    report.notes += match_notes
    report.matched = sorted(found)
    report.matched_by = {name: m.how for name, m in found.items()}
    report.missing_variables = [v.name for v in cb.variables if v.name not in found]
    missing_required = [v for v in cb.variables if v.required and v.name not in found]
    if missing_required:
        v = missing_required[0]
        raise InputError(raw.path, f"required question not found: {v.question!r} ({v.name})", row=1,
                         fix="add the export's wording, column name or ImportId of this question to the codebook "
                             "as an alias, or export the survey with this question included")

    out: dict[str, Any] = {}
    ids = raw.ids
    none = lambda: np.full(n, None, dtype=object)  # noqa: E731
    out["respondent_id"] = _respondent_ids(raw.column(ids["respondent_id"]))
    out["collector_id"] = _per_value(raw.column(ids["collector_id"]), lambda s: s or None) \
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
    for v in cb.variables:
        m = found.get(v.name)
        if m is None:
            if v.type == "multi":
                for opt in v.options or []:
                    assert isinstance(opt, Option)
                    out[f"{v.name}__{opt.code}"] = _missing_boolean(n)
                if v.other_specify:
                    out[f"{v.name}__other_text"] = none()
            else:
                out[v.name] = none()
            continue
        cols = m.columns
        if v.type != "multi":
            main = _main_column(cols)
            for c in cols:
                if c is not main:
                    report.unmatched_questions.append(f"{v.name}: extra column {c.subheader or c.name!r} "
                                                      f"(column {c.position + 1}) is not used")
        if v.type == "text":
            col = _Distinct(raw.column(_main_column(cols).position))
            _flag_text(raw, report, v.name, col)
            out[v.name] = col.map(lambda s: s or None)
            has_answer |= col.test(bool)
        elif v.type == "single":
            cells = raw.column(_main_column(cols).position)
            col = _Distinct(cells)
            labels = assessment.options(v)
            lookup = _option_lookup(labels)
            if v.options_from == "counties":
                resolver = resolver or CountyResolver.for_assessment(assessment)
                r = resolver

                def place(s: str, lookup: dict[str, str] = lookup, r: CountyResolver = r) -> tuple[str | None, str]:
                    if not s:
                        return None, ""
                    hit = _match_value(s, lookup)
                    if hit is not None:
                        return hit, ""
                    p = r.resolve(s)
                    return p.county, p.how if p.county is None else ""

                placed = col.apply(place)
                county_u = np.empty(len(placed), dtype=object)
                county_u[:] = [p[0] for p in placed]
                reason_u = np.empty(len(placed), dtype=object)
                reason_u[:] = [p[1] or None for p in placed]
                mapped = col.rows(county_u)
                county_note = col.rows(reason_u)
                bad = col.rows(_not_none(reason_u))
                report.unplaced_counties = int(bad.sum())
                _report_bad(raw, report, v.name, cells, bad, "could not be placed in a county (kept as unknown county)")
                mapped_u = county_u
            else:
                mapped_u = col.apply(lambda s, lk=lookup: _match_value(s, lk) if s else None)
                mapped = col.rows(mapped_u)
                nonblank_u = np.array([bool(x) for x in col.values])
                bad = col.rows(nonblank_u & ~_not_none(mapped_u))
                _report_bad(raw, report, v.name, cells, bad, "is not one of the codebook's answers")
            out[v.name] = mapped
            has_answer |= col.rows(_not_none(mapped_u))
        else:
            has_answer |= _multi(raw, report, v, cols, out, n)

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
        columns[d.name] = _per_value(pd.Series(columns[d.from_]), lambda s, mp=mapping: mp.get(s) if s else None)

    # Rows that cannot be used: platform status (preview, test, spam), no answers, no or repeated id.
    status = _status_reasons(raw, report) if "status" in ids else np.full(n, "", dtype=object)
    blank = ~has_answer
    respondent_id = columns["respondent_id"]
    no_id = respondent_id == ""
    eligible = (status == "") & ~no_id
    dup = np.zeros(n, bool)
    dup[eligible] = pd.Series(respondent_id[eligible]).duplicated(keep="first").to_numpy()
    reasons = np.full(n, "", dtype=object)
    reasons[dup] = "duplicate respondent id"
    reasons[no_id] = "no respondent id"
    reasons[blank] = "blank response"
    reasons[status != ""] = status[status != ""]
    checks = {"duplicate respondent id": "unique_respondent_id", "no respondent id": "has_respondent_id",
              "blank response": "not_blank", "preview response": "not_preview", "test response": "not_test",
              "spam response": "not_spam"}
    held = reasons != ""
    any_held = bool(held.any())
    quarantine = pd.DataFrame({
        "dataset": "officer_responses", "wave": wave, "source_row": columns["source_row"][held],
        "check": [checks.get(r, "status") for r in reasons[held]],
        "reason": reasons[held],
    })
    if dup.any():
        report.notes.append(f"duplicate respondent ids: {_rows_of(raw, dup & ~blank)} repeat an earlier row's id; "
                            "the first row of each id is kept")
    if any_held:
        keep = ~held
        columns = {k: c if np.ndim(c) == 0 else c[keep] for k, c in columns.items()}
    accepted = _frame(columns, int(n - held.sum()))
    report.rows_accepted = len(accepted)
    report.quarantined = {str(k): int(v) for k, v in quarantine["reason"].value_counts().items()}
    return accepted, quarantine, report


def _frame(columns: dict[str, Any], n: int) -> pd.DataFrame:
    """A table of ``n`` rows from its columns (arrays, or one value for every row), each column kept
    as its own array: no copy into pandas' two-dimensional blocks."""
    index = pd.RangeIndex(n)
    series = {name: pd.Series(np.full(n, c, dtype=object) if np.ndim(c) == 0 else c, index=index, copy=False)
              for name, c in columns.items()}
    return pd.concat(series, axis=1, copy=False)


def _multi(raw: RawExport, report: IngestReport, v: Variable, cols: list[ExportColumn], out: dict[str, Any],
           n: int) -> np.ndarray:
    """A multi-select question: one boolean column per option (NA when the question was skipped).

    Returns which rows answered it."""
    options = [o for o in v.options or [] if isinstance(o, Option)]
    labels = [o.label for o in options]
    codes = [o.code for o in options]
    by_label = {normalise_text(o.label): i for i, o in enumerate(options)}
    by_code = {o.code: i for i, o in enumerate(options)} | {str(i + 1): i for i in range(len(options))}
    ticks: dict[int, np.ndarray] = {}
    answered = np.zeros(n, bool)
    other_vals = np.full(n, None, dtype=object)
    has_other = np.zeros(n, bool)
    choice_cols = [c for c in cols if c.kind == CHOICE]
    list_cols = [c for c in cols if c.kind == ANSWER]
    for c in choice_cols:
        sub = normalise_text(c.subheader)
        idx = by_label.get(sub)
        if idx is None and c.choice:
            idx = by_code.get(c.choice, by_code.get(c.choice.lower()))
        if idx is None and sub.startswith("other"):
            answered |= _Distinct(raw.column(c.position)).test(lambda s: normalise_text(s) not in _FALSY)
            continue
        if idx is None:
            report.unmatched_questions.append(f"{v.name}: option column {c.subheader or c.name!r} matches no "
                                              "codebook option")
            continue
        label_key = normalise_text(options[idx].label)
        t = _Distinct(raw.column(c.position)).test(lambda s, lk=label_key: (k := normalise_text(s)) == lk or k not in _FALSY)
        ticks[idx] = ticks[idx] | t if idx in ticks else t
        answered |= t
    for c in list_cols:
        cells = raw.column(c.position)
        col = _Distinct(cells)
        parsed = col.apply(lambda s: _split_choices(s, labels, codes) if s else (set(), False, []))
        for i in range(len(options)):
            t = col.rows(np.array([i in p[0] for p in parsed], dtype=bool))
            ticks[i] = ticks[i] | t if i in ticks else t
            answered |= t
        answered |= col.rows(np.array([bool(p[1]) for p in parsed], dtype=bool))
        unknown = col.rows(np.array([bool(p[2]) for p in parsed], dtype=bool))
        _report_bad(raw, report, v.name, cells, unknown, "lists a choice that is not one of the codebook's options")
    for c in cols:
        if c.kind == OTHER_TEXT:
            col = _Distinct(raw.column(c.position))
            given = col.test(bool)
            other_vals = np.where(given & ~has_other, col.map(lambda s: s or None), other_vals)
            has_other |= given
            answered |= given
            _flag_text(raw, report, f"{v.name} (other)", col)
    for i, opt in enumerate(options):
        if i not in ticks:
            report.missing_variables.append(f"{v.name}__{opt.code}")
            t = np.zeros(n, bool)
        else:
            t = ticks[i]
        out[f"{v.name}__{opt.code}"] = _known_boolean(t, answered)
    if v.other_specify:
        out[f"{v.name}__other_text"] = other_vals
    return answered


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
        col = _Distinct(cells)
        value = col.test(lambda s: s.casefold() in ("true", "1", "yes", "t", "finished"))
        known = value | col.test(lambda s: s.casefold() in ("false", "0", "no", "f"))
        return _known_boolean(value, known)
    complete = [p for k, p in raw.ids.items() if k.startswith("complete:")]
    if complete:  # REDCap: finished when every form is Complete (2)
        result = np.ones(n, bool)
        known = np.zeros(n, bool)
        for p in complete:
            cells = raw.column(p)
            done = _per_value(cells, lambda s: s.casefold() in ("2", "complete"))
            result &= done.astype(bool)
            known |= _nonblank(cells)
        return _known_boolean(result, known)
    return _missing_boolean(n)


def _status_reasons(raw: RawExport, report: IngestReport) -> np.ndarray:
    cells = raw.column(raw.ids["status"])
    reasons = _per_value(cells, lambda s: _STATUS.get(normalise_text(s), ""))
    unknown = _per_value(cells, lambda s: normalise_text(s) not in _STATUS and normalise_text(s) not in _STATUS_OK)
    if unknown.astype(bool).any():
        report.notes.append(f"status: unrecognised values kept as responses ({_rows_of(raw, unknown.astype(bool))})")
    return reasons.astype(object)
