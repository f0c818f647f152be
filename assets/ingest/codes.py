"""Answer codes: what each code in an export means, declared, and checked both ways.

A numeric answer (``1``, ``0``, ``2``) means nothing by itself: REDCap codes yes/no as ``1, Yes | 0,
No``, many radio fields start at 0, Qualtrics exports recode values, SPSS files store numbers with
value labels (or without). So a code is read only through a *declared coding*:

* the codebook's ``codes`` for the variable (``{1: "Yes", 0: "No"}``, or ``positional`` for 1..k in
  the order of its options), and/or
* the export's own metadata for the column (SPSS value labels, a REDCap data dictionary's choices,
  a Qualtrics survey file's recode values), whose labels are matched to the codebook's answers.

Both must agree where both speak. A numeric answer is never read by its position unless the
codebook says ``positional``.

Then the column as a whole must fit its declaration. Rows holding a code with no declared meaning
(or an answer that is not the codebook's) are quarantined with a reason when they are a stray few;
the wave stops, naming the file, the column, the codes seen (declared metadata, never a
respondent's words) and the fix, when a column's codes do not fit: numeric codes with no coding at
all, codes outside the declaration on more than :data:`STRAY_SHARE` of the answers, or codes that
fit only if shifted (0-based codes read against a 1-based declaration, or the reverse).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from pipelines.config import POSITIONAL, Assessment, Option, Variable, code_key
from pipelines.errors import InputError

#: at most this share of a column's answers (and at least one row) may hold undeclared codes or
#: answers outside the codebook and be quarantined; more stops the wave
STRAY_SHARE = 0.05
#: shifts tried when a column's codes fall outside the declaration
SHIFTS = (-2, -1, 1, 2)

_NUMERIC = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                         "\u2014": "-", "\u00a0": " "})
_CODED = re.compile(r"^\(?(?P<code>\d+)(?:\.0+)?\)?\s*(?:[-.=:)]\s*|\s+)(?P<label>.+)$")
_LABEL_CODE = re.compile(r"^(?P<label>.+?)\s*[(\[](?P<code>\d+)[)\]]$")

#: kinds of problem an answer can have (the quarantine reasons say which)
UNDECLARED, OUTSIDE = "undeclared code", "answer not in the codebook"


def normalise_text(text: str) -> str:
    """Fold a question or answer label for matching: case, spacing, quotes, trailing punctuation."""
    import unicodedata

    t = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES).casefold()
    t = re.sub(r"\s+", " ", t).strip()
    return t.rstrip(" .:?!*").strip()


def is_code(value: str) -> bool:
    """A numeric answer: a code, meaningless without a declared coding."""
    return bool(_NUMERIC.match(value.strip()))


@dataclass
class Coding:
    """A column's declared codes: code (``code_key``) -> answer index (into the variable's answers).

    ``foreign`` holds codes the export declares with a label that is none of the codebook's answers
    (code -> the export's label); ``sources`` says who declared the codes."""

    codes: dict[str, int] = field(default_factory=dict)
    foreign: dict[str, str] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.codes or self.foreign)

    @property
    def source(self) -> str:
        return " and ".join(self.sources)

    def declared(self) -> list[str]:
        return sort_codes(set(self.codes) | set(self.foreign))


def sort_codes(codes: set[str] | list[str]) -> list[str]:
    """Codes in numeric order where numeric, then the rest alphabetically."""
    def key(c: str) -> tuple:
        return (0, float(c), "") if is_code(c) else (1, 0.0, c)
    return sorted(codes, key=key)


def answers_of(assessment: Assessment, v: Variable) -> list[str]:
    """The labels a variable's answers are read into: a single choice's answers, a multi-select's options."""
    if v.type == "multi":
        return [o.label for o in v.options or [] if isinstance(o, Option)]
    return list(assessment.options(v))


def _answer_index(v: Variable, answers: list[str]) -> dict[str, int]:
    """How the codebook may name an answer in ``codes`` (label; a multi-select's option code too)."""
    index = {normalise_text(a): i for i, a in enumerate(answers)}
    if v.type == "multi":
        index.update({o.code: i for i, o in enumerate(o for o in v.options or [] if isinstance(o, Option))})
    return index


def codebook_coding(v: Variable, answers: list[str]) -> Coding:
    """The codes the codebook declares for a variable (empty when it declares none)."""
    if v.codes is None:
        return Coding()
    if v.codes == POSITIONAL:
        return Coding({str(i + 1): i for i in range(len(answers))}, sources=["the codebook (positional)"])
    index = _answer_index(v, answers)
    codes = {}
    for code, answer in v.codes.items():
        i = index.get(answer, index.get(normalise_text(answer)))
        if i is not None:  # config validation has checked every answer exists
            codes[code] = i
    return Coding(codes, sources=["the codebook"])


def column_coding(path, column: str, v: Variable, answers: list[str], declared: dict[str, str] | None,
                  source: str) -> Coding:
    """The codes of one export column: the codebook's and the export's own, which must agree.

    Raises InputError (naming file, column, code and both meanings) where they disagree."""
    coding = codebook_coding(v, answers)
    if not declared:
        return coding
    by_label = {normalise_text(a): i for i, a in enumerate(answers)}
    text_codes = {code_key(k): i for k, i in coding.codes.items() if not is_code(k)}  # codebook's answer aliases
    export = Coding(sources=[source])
    for code, label in declared.items():
        i = by_label.get(normalise_text(label))
        if i is None:
            i = text_codes.get(code_key(label))
        if i is None:
            export.foreign[code] = label
        else:
            export.codes[code] = i
    for code, i in export.codes.items():
        if code in coding.codes and coding.codes[code] != i:
            raise InputError(path, f"{v.name}: the codebook says code {code} means {answers[coding.codes[code]]!r}, "
                             f"{source} says {answers[i]!r}", column=column,
                             fix=f"correct `codes` of {v.name} in the codebook, or check that the metadata file "
                                 "belongs to this export")
    merged = Coding(dict(export.codes), dict(export.foreign), [*coding.sources, *export.sources] if coding else [source])
    for code, i in coding.codes.items():
        merged.codes.setdefault(code, i)
        merged.foreign.pop(code, None)
    return merged


def match_label(value: str, by_label: dict[str, int], coding: Coding) -> int | None:
    """The answer a label-valued cell names ('Agree', '4 - Agree', 'Agree (4)'), or None.

    A code written beside the label must agree with the declared coding when there is one."""
    k = normalise_text(value)
    if k in by_label:
        return by_label[k]
    for rx in (_CODED, _LABEL_CODE):
        m = rx.match(k)
        if m:
            i = by_label.get(normalise_text(m.group("label")))
            if i is None:
                continue
            code = code_key(m.group("code"))
            if coding and code in coding.codes and coding.codes[code] != i:
                return None
            return i
    return None


@dataclass
class Reading:
    """One distinct cell read: the answer index (None: blank or a problem) and the problem, if any."""

    answer: int | None
    problem: str = ""
    code: str = ""  # the code, when the cell is one


def read_value(value: str, by_label: dict[str, int], coding: Coding) -> Reading:
    """Read one single-choice cell: a label, else a declared code; else a problem."""
    if not value:
        return Reading(None)
    i = match_label(value, by_label, coding)
    if i is not None and not is_code(value):
        return Reading(i)
    key = code_key(value)
    if key in coding.codes:
        return Reading(coding.codes[key], code=key if is_code(value) else "")
    if i is not None:  # a numeric label ('1' as an answer's own wording) with no code declared for it
        return Reading(i)
    if key in coding.foreign:
        return Reading(None, OUTSIDE, key if is_code(value) else "")
    if is_code(value):
        return Reading(None, UNDECLARED, key)
    return Reading(None, OUTSIDE)


@dataclass
class ColumnCheck:
    """What one coded column holds: its codes seen, the declaration, and the rows with problems."""

    variable: str
    column: str
    codes_seen: list[str]
    declared: list[str]
    source: str
    answered: int
    undeclared_rows: int = 0
    outside_rows: int = 0

    def to_dict(self) -> dict:
        return {"variable": self.variable, "column": self.column, "codes_seen": self.codes_seen,
                "declared": self.declared, "declared_by": self.source or "nothing (no codes declared)"}


def allowance(answered: int) -> int:
    """How many rows with problems a column may have and still be read (the rest quarantined)."""
    return max(1, int(math.floor(STRAY_SHARE * answered)))


def _listed(codes: list[str], limit: int = 20) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" and {len(codes) - limit} more" if len(codes) > limit else "")


def judge(path, check: ColumnCheck, coding: Coding, answer_labels: list[str]) -> None:
    """Stop the wave when a column's codes do not fit its declaration (see the module docstring)."""
    seen = [c for c in check.codes_seen if is_code(c)]
    declared_numeric = {c for c in check.declared if is_code(c)}
    where = f"the answers to {check.variable}"
    example = ", ".join(f"{c}: {answer_labels[i]!r}" for c, i in list(coding.codes.items())[:3]) or \
        ", ".join(f"{i + 1}: {a!r}" for i, a in enumerate(answer_labels[:3]))
    if check.undeclared_rows > allowance(check.answered) and not coding:
        raise InputError(path, f"{where} are numeric codes ({_listed(seen)}) and nothing declares what they mean",
                         column=check.column,
                         fix=f"declare them in the codebook under {check.variable} (codes: {{{example}, ...}}), or put "
                             "the export's metadata (REDCap data dictionary, Qualtrics .qsf) in the wave's folder, or "
                             "export answer labels instead of numeric values")
    if coding and seen:
        outside = [c for c in seen if c not in declared_numeric]
        if outside:
            for k in SHIFTS:
                shifted = {code_key(str(int(float(c)) + k)) for c in seen if float(c).is_integer()}
                if len(shifted) == len(seen) and shifted <= declared_numeric:
                    raise InputError(
                        path, f"{where}: the codes seen ({_listed(seen)}) fit {check.source}'s codes "
                        f"({_listed(sort_codes(declared_numeric))}) only if shifted by {k:+d}", column=check.column,
                        fix="the export and the declaration number the answers differently (e.g. from 0 and from 1): "
                            f"check the coding of {check.variable} against the survey platform and correct the "
                            "codebook's codes (or use the metadata file that belongs to this export)")
            if check.undeclared_rows > allowance(check.answered):
                raise InputError(
                    path, f"{where}: codes {_listed(outside)} are not among the declared codes "
                    f"({_listed(sort_codes(declared_numeric))}, from {check.source}) on {check.undeclared_rows} of "
                    f"{check.answered} answers", column=check.column,
                    fix=f"declare what the codes mean in the codebook under {check.variable} (codes: ...), or check "
                        "that the metadata file belongs to this export")
    if check.outside_rows > allowance(check.answered):
        raise InputError(path, f"{where}: {check.outside_rows} of {check.answered} answers are not among the "
                         "codebook's answers", column=check.column,
                         fix=f"if the survey's wording of an answer changed, map it to the codebook's answer under "
                             f"{check.variable} (codes: {{\"new wording\": \"codebook answer\"}}); `htna validate` "
                             "lists the answers")


__all__ = ["Coding", "ColumnCheck", "OUTSIDE", "Reading", "STRAY_SHARE", "UNDECLARED", "allowance", "answers_of",
           "codebook_coding", "column_coding", "is_code", "judge", "match_label", "normalise_text", "read_value",
           "sort_codes"]
