"""Finding each codebook question, and the respondent id, among an export's columns.

A variable is found by the export's column name, Qualtrics ImportId or question text, or an alias
of any of these, tolerant of case, white space, smart quotes and trailing punctuation; a matrix
question's rows by "question: row" or the row text. Legacy Qualtrics exports cut question text at
100 characters (ending it with ``...``): such a text matches the one question whose wording (or
alias) it begins. Nothing here reads an answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from assets.ingest.codes import normalise_text
from assets.ingest.raw import ANSWER, ExportColumn, RawExport
from pipelines.config import Codebook, Variable
from pipelines.errors import InputError

_GENERIC_SUBHEADERS = {"", "response", "open-ended response", "selected choice", "text"}
#: a question text cut short in the export matches by its beginning only when it is at least this long
MIN_CUT_TEXT = 40


@dataclass
class VariableMatch:
    """The export columns a codebook variable was found in, and by what."""

    variable: Variable
    columns: list[ExportColumn]
    how: str


def variable_keys(v: Variable) -> list[tuple[str, str]]:
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
                 normalise_text(f"{q} - {c.subheader}"), normalise_text(f"{q}-{c.subheader}"), sub}
    return {k for k in keys if k}


def describe(cols: list[ExportColumn]) -> str:
    """A question as the export shows it: its column name (where it has one) and text."""
    c = cols[0]
    label = c.question if len(c.question) <= 90 else c.question[:87] + "..."
    ident = c.name if c.name and normalise_text(c.name) != normalise_text(c.question) else ""
    return f"{ident}: {label}" if ident else label


def _cut_short(question: str) -> bool:
    q = question.rstrip()
    return q.endswith(("...", "\u2026")) or len(q) >= 95


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
        for key, how in variable_keys(v):
            hits = [g for g, ks in keys.items() if key in ks and g not in used]
            if hits:
                found[v.name] = VariableMatch(v, groups[hits[0]], how)
                used[hits[0]] = v.name
                for extra in hits[1:]:
                    used[extra] = v.name
                    notes.append(f"{v.name}: the export has this question twice ({describe(groups[hits[0]])!r} "
                                 f"and {describe(groups[extra])!r}); the first is used")
                break
    _match_cut_texts(groups, variables, found, used)
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
                hit = next(((k, how) for k, how in variable_keys(v) if k in ck), None)
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
            unmatched.append(describe(cols))
        else:
            unmatched += [f"{describe([c])} - {c.subheader}" for c in rest]
    return found, unmatched, notes


def _match_cut_texts(groups: dict[str, list[ExportColumn]], variables: list[Variable],
                     found: dict[str, VariableMatch], used: dict[str, str]) -> None:
    """Questions whose text the export cut short: matched by its beginning, when exactly one variable
    (wording or alias) begins with it and no other cut text begins that variable."""
    candidates: dict[str, list[tuple[str, str]]] = {}
    for g, cols in groups.items():
        question = cols[0].question
        if g in used or not _cut_short(question):
            continue
        start = normalise_text(question.rstrip().rstrip(".\u2026"))
        if len(start) < MIN_CUT_TEXT:
            continue
        hits = {(v.name, how) for v in variables if v.name not in found
                for key, how in variable_keys(v) if key.startswith(start) and len(key) > len(start)}
        names = {n for n, _ in hits}
        if len(names) == 1:
            candidates.setdefault(names.pop(), []).append((g, next(how for _, how in sorted(hits))))
    by_name = {v.name: v for v in variables}
    for name, gs in candidates.items():
        if len(gs) == 1:
            g, how = gs[0]
            found[name] = VariableMatch(by_name[name], groups[g], f"{how} (cut short in the export)")
            used[g] = name


def find_respondent_id(raw: RawExport, codebook: Codebook) -> tuple[int, str]:
    """The column holding the respondent id: the one the codebook names, else the platform's own.

    Returns (position, what it is). Raises InputError when there is none: the id is required."""
    named = codebook.respondent_id_columns
    if named:
        wanted = {normalise_text(n) for n in named}
        for key, pos in raw.ids.items():
            header = raw.headers[pos] if pos < len(raw.headers) else ""
            if normalise_text(header) in wanted or normalise_text(key) in wanted:
                return pos, f"column {header or key!r} (named in the codebook)"
        for c in raw.columns:
            if {normalise_text(c.name), normalise_text(c.question)} & wanted and c.kind == ANSWER:
                return c.position, f"column {c.name or c.question!r} (named in the codebook)"
        raise InputError(raw.path, f"the respondent id column the codebook names ({', '.join(map(repr, named))}) "
                         "is not in the export", row=1,
                         fix="export including that column, or correct `respondent_id` in the codebook "
                             "(leave it out to use the platform's own id column)")
    if "respondent_id" in raw.ids:
        pos = raw.ids["respondent_id"]
        header = raw.headers[pos] if pos < len(raw.headers) else ""
        return pos, f"column {header!r}" if header else "the platform's id column"
    raise InputError(raw.path, "no respondent identifier column", row=1,
                     fix="export including the respondent / response / record ID column "
                         "(SurveyMonkey 'Respondent ID', Qualtrics 'ResponseId', REDCap 'record_id'), "
                         "or name the column holding it under `respondent_id` in the codebook")


__all__ = ["VariableMatch", "describe", "find_respondent_id", "match_questions", "variable_keys"]
