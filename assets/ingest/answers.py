"""Reading one question's answers from its export columns into the codebook's answers.

Single-choice answers are labels in any case and spacing (also ``4 - Agree``, ``Agree (4)``) or
codes read through a declared coding (:mod:`assets.ingest.codes`); county answers also through
:class:`~assets.ingest.geography.CountyResolver`. Multi-selects come as one column per option
(ticked by label, ``1``/``0``, ``Checked``/``Unchecked``, ``True``/``False``) or one column listing
the choices (labels, or codes declared in the codebook or the export's metadata). An option the
export has no column for is *not collected* (missing), never "not ticked".

Every function works per distinct value: a million rows with a handful of answers cost a handful of
Python calls. Each returns, besides the answers, which rows hold a problem (an undeclared code, an
answer the codebook does not have): the caller quarantines them or stops the wave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from assets.ingest.codes import (OUTSIDE, UNDECLARED, Coding, ColumnCheck, is_code, match_label, normalise_text,
                                 read_value, sort_codes)
from assets.ingest.geography import CountyResolver
from assets.ingest.raw import ANSWER, CHOICE, OTHER_TEXT, ExportColumn, RawExport
from pipelines.config import Option, Variable, code_key

#: cells meaning "not ticked" in a one-column-per-option export
FALSY = {"", "0", "unchecked", "false", "no", "not selected", "not checked", "n", "f"}
#: cells meaning "ticked" whatever the option
TICKED = {"1", "checked", "true", "yes", "selected", "x", "ticked", "t", "y"}
_FORMULA = re.compile(r"^\s*[=+@]|^\s*-\s*[A-Za-z(]")
_MARKUP = re.compile(r"<\s*/?\s*(script|iframe|img|a|svg|object|style|b|i|div|span|p)\b|javascript:", re.I)


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


class Distinct:
    """One column factorised once: its distinct values (stripped; missing = '') and each row's code.

    Everything per row is computed per distinct value and spread back by the codes. A Categorical
    column (a big export's few-valued column) is taken with its own codes; a category no row holds
    counts as ''.
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

    def count(self, pred_per_value: np.ndarray) -> int:
        """Rows whose value satisfies a per-value boolean array."""
        return int(self.rows(pred_per_value).sum())


def per_value(cells: pd.Series, fn: Callable[[str], Any]) -> np.ndarray:
    """Apply ``fn`` once per distinct cell (stripped; missing = '') and spread the results to rows."""
    return Distinct(cells).map(fn)


def not_none(values: np.ndarray) -> np.ndarray:
    return np.fromiter((v is not None for v in values), bool, len(values))


def known_boolean(values: np.ndarray, known: np.ndarray) -> pd.arrays.BooleanArray:
    """A nullable boolean column: ``values`` where ``known``, missing elsewhere."""
    known = np.asarray(known, dtype=bool)
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool) & known, ~known)


def missing_boolean(n: int) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.zeros(n, bool), np.ones(n, bool))


def main_column(cols: list[ExportColumn]) -> ExportColumn:
    return next((c for c in cols if c.kind == ANSWER), cols[0])


def text_flags(col: Distinct) -> tuple[np.ndarray, np.ndarray]:
    """Rows of a free-text column holding formula-looking text, and HTML or script."""
    formula = col.test(lambda s: bool(_FORMULA.match(s)) and len(s) > 1)
    markup = col.test(lambda s: bool(_MARKUP.search(s)))
    return formula, markup


@dataclass
class Answers:
    """One question read: its output columns, which rows answered it, and rows with problems."""

    columns: dict[str, Any] = field(default_factory=dict)
    answered: np.ndarray | None = None
    problems: dict[str, np.ndarray] = field(default_factory=dict)  # reason -> rows
    checks: list[ColumnCheck] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)  # export columns of the question not used
    not_collected: list[str] = field(default_factory=list)  # output columns the export has no column for
    county_note: np.ndarray | None = None
    unplaced: np.ndarray | None = None
    #: a multi-select's "Other (please specify)" texts, for coding only: never a column of the table
    other_text: np.ndarray | None = None

    def problem(self, reason: str, rows: np.ndarray) -> None:
        if rows.any():
            self.problems[reason] = self.problems[reason] | rows if reason in self.problems else rows


def _column_name(c: ExportColumn) -> str:
    return c.name or (c.question if c.kind == ANSWER or not c.subheader else f"{c.question} - {c.subheader}")


def read_single(raw: RawExport, v: Variable, cols: list[ExportColumn], answers: list[str], coding: Coding,
                resolver: CountyResolver | None = None) -> Answers:
    """A single-choice question: its answer labels, and the rows holding undeclared codes or answers
    outside the codebook (county answers a resolver cannot place are kept as an unknown county)."""
    main = main_column(cols)
    out = Answers(unmatched=[f"{v.name}: extra column {c.subheader or c.name!r} (column {c.position + 1}) is not used"
                             for c in cols if c is not main])
    cells = raw.column(main.position)
    col = Distinct(cells)
    by_label = {normalise_text(a): i for i, a in enumerate(answers)}
    readings = [read_value(s, by_label, coding) for s in col.values]
    if resolver is not None:  # counties: FIPS codes, towns, "Cumberland County" are places, not codes
        notes = np.full(len(readings), None, dtype=object)
        for j, (s, r) in enumerate(zip(col.values, readings)):
            if r.problem and not (r.problem == UNDECLARED and len(r.code) <= 3):
                place = resolver.resolve(s)
                if place.county is not None:
                    readings[j] = type(r)(answers.index(place.county))
                else:
                    readings[j] = type(r)(None)
                    notes[j] = place.how
        out.county_note = col.rows(notes)
        out.unplaced = col.rows(not_none(notes))
    index = np.array([r.answer if r.answer is not None else -1 for r in readings], dtype=np.int64)
    labels = np.array(list(answers) + [None], dtype=object)
    out.columns[v.name] = col.rows(labels[index])
    out.answered = col.rows(index >= 0)
    undeclared = np.array([r.problem == UNDECLARED for r in readings])
    outside = np.array([r.problem == OUTSIDE for r in readings])
    out.problem(f"answer to {v.name} is a code with no declared meaning", col.rows(undeclared))
    out.problem(f"answer to {v.name} is not one of the codebook's answers", col.rows(outside))
    seen = sort_codes({r.code for r in readings if r.code} | {code_key(s) for s, r in zip(col.values, readings)
                                                                  if s and is_code(s)})
    answered_rows = int(col.rows(np.array([bool(s) for s in col.values])).sum())
    out.checks.append(ColumnCheck(v.name, _column_name(main), seen, coding.declared(), coding.source, answered_rows,
                                  col.count(undeclared), col.count(outside)))
    return out


def read_text(raw: RawExport, v: Variable, cols: list[ExportColumn]) -> tuple[Answers, Distinct]:
    main = main_column(cols)
    out = Answers(unmatched=[f"{v.name}: extra column {c.subheader or c.name!r} (column {c.position + 1}) is not used"
                             for c in cols if c is not main])
    col = Distinct(raw.column(main.position))
    out.columns[v.name] = col.map(lambda s: s or None)
    out.answered = col.test(bool)
    return out, col


def _option_of(c: ExportColumn, options: list[Option], coding: Coding) -> int | None:
    """Which option a one-column-per-option column is: by its sub-header label, its canonical code,
    or its choice code through the declared coding (never by position unless declared)."""
    by_label = {normalise_text(o.label): i for i, o in enumerate(options)}
    sub = normalise_text(c.subheader)
    if sub in by_label:
        return by_label[sub]
    if c.choice:
        by_code = {o.code: i for i, o in enumerate(options)}
        if c.choice in by_code or c.choice.lower() in by_code:
            return by_code.get(c.choice, by_code.get(c.choice.lower()))
        key = code_key(c.choice)
        if key in coding.codes:
            return coding.codes[key]
    return None


def split_choices(value: str, labels: list[str], coding: Coding) -> tuple[set[int], bool, list[str], list[str]]:
    """A cell listing choices ('A,B' or '1,3'): (option indexes, other chosen, undeclared codes, other unknown pieces)."""
    by_label = {normalise_text(lab): i for i, lab in enumerate(labels)}
    pieces = [p for p in re.split(r"\s*[,;|]\s*", value) if p.strip()]
    chosen: set[int] = set()
    other, undeclared, unknown = False, [], []
    i = 0
    while i < len(pieces):
        for j in range(len(pieces), i, -1):  # longest run of pieces that is a label (labels may hold commas)
            cand = normalise_text(", ".join(pieces[i:j]))
            if cand in by_label:
                chosen.add(by_label[cand])
                i = j
                break
        else:
            p = pieces[i].strip()
            key = code_key(p)
            if key in coding.codes:
                chosen.add(coding.codes[key])
            elif normalise_text(p).startswith("other"):
                other = True
            elif is_code(p):
                undeclared.append(key)
            else:
                unknown.append(p)
            i += 1
    return chosen, other, undeclared, unknown


def read_multi(raw: RawExport, v: Variable, cols: list[ExportColumn], coding: Coding) -> Answers:
    """A multi-select question: one boolean column per option (missing when the question was skipped,
    or when the export has no column for the option: not collected) and, with ``other_specify``, one
    saying whether an "Other (please specify)" answer was ticked or written (``<variable>__other``).
    The other texts are returned in ``other_text`` for coding, never as a column."""
    n = raw.n_rows
    options = [o for o in v.options or [] if isinstance(o, Option)]
    labels = [o.label for o in options]
    out = Answers()
    ticks: dict[int, np.ndarray] = {}
    answered = np.zeros(n, bool)
    undeclared_rows = np.zeros(n, bool)
    outside_rows = np.zeros(n, bool)
    seen: set[str] = set()
    other_vals = np.full(n, None, dtype=object)
    has_other = np.zeros(n, bool)
    other_ticked = np.zeros(n, bool)
    other_seen = False  # does the export carry an "Other" answer at all (a text, choice or list column)
    for c in [c for c in cols if c.kind == CHOICE]:
        idx = _option_of(c, options, coding)
        col = Distinct(raw.column(c.position))
        if idx is None and normalise_text(c.subheader).startswith("other"):
            ticked = col.test(lambda s: normalise_text(s) not in FALSY)
            answered |= ticked
            other_ticked |= ticked
            other_seen = True
            continue
        if idx is None:
            out.unmatched.append(f"{v.name}: option column {c.name or c.subheader!r} ({c.subheader or 'no label'}) "
                                 "matches no codebook option" + (" (declare its code under `codes`)" if c.choice else ""))
            continue
        own = {normalise_text(options[idx].label), normalise_text(c.subheader)} - {""}
        # a column named by its choice (REDCap field___code, Qualtrics Q11_3) holds flags (1/0); one
        # named by its label (SurveyMonkey's numeric export) holds the option's declared code when ticked
        own_codes = set() if c.choice else {k for k, i in coding.codes.items() if i == idx}

        def state(s: str, own: set = own, own_codes: set = own_codes) -> str:
            k = normalise_text(s)
            if k in own or code_key(s) in own_codes:  # the option's own label or code first: it may be "No" or 0
                return "yes"
            if k in FALSY:
                return "no"
            if k in TICKED:
                return "yes"
            return "code" if is_code(s) else "bad"
        states = col.apply(state)
        t = col.rows(states == "yes")
        ticks[idx] = ticks[idx] | t if idx in ticks else t
        answered |= t
        undeclared_rows |= col.rows(states == "code")
        outside_rows |= col.rows(states == "bad")
        seen |= {code_key(s) for s, st in zip(col.values, states) if st == "code"}
    for c in [c for c in cols if c.kind == ANSWER]:
        col = Distinct(raw.column(c.position))
        parsed = col.apply(lambda s: split_choices(s, labels, coding) if s else (set(), False, [], []))
        for i in range(len(options)):
            t = col.rows(np.array([i in p[0] for p in parsed], dtype=bool))
            ticks[i] = ticks[i] | t if i in ticks else t
            answered |= t
        listed_other = col.rows(np.array([bool(p[1]) for p in parsed], dtype=bool))
        answered |= listed_other
        other_ticked |= listed_other
        other_seen = True
        undeclared_rows |= col.rows(np.array([bool(p[2]) for p in parsed], dtype=bool))
        outside_rows |= col.rows(np.array([bool(p[3]) for p in parsed], dtype=bool))
        seen |= {k for p in parsed for k in p[2]}
        seen |= {code_key(piece) for s in col.values if s for piece in re.split(r"\s*[,;|]\s*", s) if is_code(piece)}
    for c in cols:
        if c.kind == OTHER_TEXT:
            col = Distinct(raw.column(c.position))
            given = col.test(bool)
            other_vals = np.where(given & ~has_other, col.map(lambda s: s or None), other_vals)
            has_other |= given
            answered |= given
            other_seen = True
    for i, opt in enumerate(options):
        if i not in ticks:
            out.not_collected.append(f"{v.name}__{opt.code}")
            out.columns[f"{v.name}__{opt.code}"] = missing_boolean(n)
        else:
            out.columns[f"{v.name}__{opt.code}"] = known_boolean(ticks[i], answered)
    if v.other_specify:  # whether an "Other" answer was given; its text only for coding, never kept
        if other_seen:
            out.columns[v.other_column] = known_boolean(other_ticked | has_other, answered)
        else:
            out.not_collected.append(v.other_column)
            out.columns[v.other_column] = missing_boolean(n)
        out.other_text = other_vals
    out.answered = answered
    out.problem(f"answer to {v.name} is a code with no declared meaning", undeclared_rows)
    out.problem(f"answer to {v.name} is not one of the codebook's answers", outside_rows)
    names = ", ".join(_column_name(c) for c in cols if c.kind != OTHER_TEXT)[:120]
    out.checks.append(ColumnCheck(v.name, names, sort_codes(seen), coding.declared(), coding.source,
                                  int((answered | undeclared_rows | outside_rows).sum()),
                                  int(undeclared_rows.sum()), int(outside_rows.sum())))
    return out


__all__ = ["Answers", "Distinct", "FALSY", "TICKED", "known_boolean", "main_column", "match_label", "missing_boolean",
           "not_none", "per_value", "read_multi", "read_single", "read_text", "split_choices", "text_flags"]
