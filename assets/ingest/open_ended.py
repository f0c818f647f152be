"""Open-ended answers reduced to the themes of their coding frame, then dropped.

An answer to an open-ended question (``free_text: true`` with a ``coding:`` frame in the codebook),
and the "Other (please specify)" text of a multi-select (``other_specify: true``), never reaches the
warehouse as text (a multi-select keeps only ``<variable>__other``, yes/no, and the themes of its
``coding:`` frame if it has one, as ``<variable>__other__<theme>``). At ingest it becomes one
yes/no per theme of the frame:

* from the evaluator's **hand codes** where the wave's folder has the frame's ``hand_coded_file``
  (one row per respondent: the respondent id and a 0/1 column per theme code, as NVivo, Dedoose or
  ATLAS.ti export a code matrix; a whole number above 1, a count of coded passages, counts as 1);
* otherwise from the frame's **keyword and phrase rules**: a theme is raised when any of its rules
  occurs in the answer as whole words, case-insensitively, whatever punctuation or spacing lies
  between the words (``after hours`` matches "After-hours" and "after  hours", not "afterhours";
  ``drug`` does not match "drugs").

Where hand codes exist, the rules are run on the same answers too and compared with them per theme
(true and false positives, false negatives: precision and recall of the rules against the hand-coded
sample). The question's own column then says only how the answer was coded ("coded by hand",
"coded by rules", missing when there was no answer). Messages about a hand-coded file name its
file, row and column, never a cell's content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.config import OpenEndedCoding, OpenEndedTheme, Variable
from assets.ingest.code_matrix import read_code_matrix_table
from pipelines.errors import InputError

__all__ = ["CODED_BY_HAND", "CODED_BY_RULES", "CodedAnswers", "code_open_ended", "read_code_matrix",
           "rule_pattern", "theme_column", "themes_by_rules"]

CODED_BY_HAND = "coded by hand"
CODED_BY_RULES = "coded by rules"
#: the per-theme comparison of rules with hand codes that ingestion reports (counts only)
RULE_CHECK_COLUMNS = ["variable", "theme", "label", "hand_coded", "hand_yes", "rules_yes", "true_positives",
                      "false_positives", "false_negatives"]


def theme_column(variable: str, theme: str) -> str:
    """The canonical table's yes/no column of one theme of an open-ended question (``variable``: the
    question's :attr:`~pipelines.config.Variable.coded_column`)."""
    return f"{variable}__{theme}"


def rule_pattern(rule: str) -> re.Pattern[str]:
    """A rule as matched: its words in order, whole words, anything but letters and digits between
    them, case-insensitive."""
    words = re.findall(r"\w+", rule)
    if not words:
        raise ValueError(f"rule {rule!r} has no word to match")
    return re.compile(r"(?<!\w)" + r"\W+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE)


def _theme_patterns(theme: OpenEndedTheme) -> re.Pattern[str]:
    words = [re.findall(r"\w+", r) for r in theme.rules]
    alternatives = [r"\W+".join(re.escape(w) for w in ws) for ws in words if ws]
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def themes_by_rules(answers: list[str] | np.ndarray, coding: OpenEndedCoding) -> dict[str, np.ndarray]:
    """Per theme, whether each answer raises it by the rules (an empty answer raises nothing)."""
    patterns = {t.code: _theme_patterns(t) for t in coding.themes}
    texts = ["" if a is None else str(a) for a in answers]
    return {code: np.fromiter((bool(p.search(s)) for s in texts), bool, len(texts)) for code, p in patterns.items()}


def read_code_matrix(path: Path, coding: OpenEndedCoding, folder: Path | None = None) -> pd.DataFrame:
    """A hand-coded matrix: one row per respondent, indexed by respondent id, a boolean per theme.

    Errors name the file, the row (as a spreadsheet numbers it, header = row 1) and the column."""
    table = read_code_matrix_table(path, coding.id_column, [t.code for t in coding.themes], "respondent", folder)
    ids = table[coding.id_column].str.strip().str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    blank = ids == ""
    if blank.any():
        raise InputError(path, "a row has no respondent id", row=int(blank.idxmax()) + 2, column=coding.id_column,
                         fix="give every coded answer its respondent id, or delete the empty row")
    dup = ids.duplicated()
    if dup.any():
        i = int(dup.idxmax())
        first = int((ids == ids[i]).idxmax())
        raise InputError(path, f"the respondent id of this row is also the id of row {first + 2}", row=i + 2,
                         column=coding.id_column, fix="code each respondent's answer on one row")
    out = pd.DataFrame(index=pd.Index(ids.to_numpy(), name="respondent_id"))
    for t in coding.themes:
        cells = table[t.code].str.strip()
        count = pd.to_numeric(cells.where(cells != "", None), errors="coerce")
        bad = (cells == "") | count.isna() | (count < 0) | (count != count.round())
        if bad.any():
            i = int(bad.idxmax())
            raise InputError(path, "a theme cell is not 0 or 1", row=i + 2, column=t.code, value=cells[i],
                             fix="code each theme 1 if the answer raised it, else 0 (a count of coded passages "
                                 "also works)")
        out[t.code] = (count > 0).to_numpy()
    return out


@dataclass
class CodedAnswers:
    """One open-ended question coded: the canonical columns replacing its text, and how the rules
    compared with the hand codes (counts only)."""

    columns: dict[str, object]
    rule_check: list[dict] = field(default_factory=list)
    hand_coded: int = 0
    notes: list[str] = field(default_factory=list)


def code_open_ended(variable: Variable, answers: np.ndarray, respondent_ids: np.ndarray,
                    folder: Path | None) -> CodedAnswers:
    """Reduce one open-ended question's answers (one text or None per row) to its themes; for a
    multi-select, its "Other (please specify)" texts (theme columns ``<variable>__other__<theme>``).

    ``folder``: the wave's folder, where the frame's hand-coded matrix is looked for. A hand-coded
    respondent whose answer is empty in the export stays uncoded (nothing to code)."""
    coding = variable.coding
    assert coding is not None
    n = len(answers)
    texts = np.array(["" if a is None else str(a).strip() for a in answers], dtype=object)
    answered = texts != ""
    codes, uniques = pd.factorize(texts)  # the rules run once per distinct answer
    by_rules = {k: v[codes] for k, v in themes_by_rules(np.asarray(uniques, dtype=object), coding).items()}
    hand_rows = np.zeros(n, dtype=bool)
    hand: dict[str, np.ndarray] = {}
    notes: list[str] = []
    path = folder / coding.hand_coded_file if folder is not None and coding.hand_coded_file else None
    if path is not None and path.exists():
        matrix = read_code_matrix(path, coding, folder)
        ids = pd.Index(np.asarray(respondent_ids, dtype=object).astype(str))
        position = matrix.index.get_indexer(ids)
        hand_rows = (position >= 0) & answered
        unknown = int((~matrix.index.isin(ids)).sum())
        if unknown:
            notes.append(f"{path.name}: {unknown} hand-coded respondent id(s) are not in this wave's export "
                         "(their codes are not used)")
        for t in coding.themes:
            values = matrix[t.code].to_numpy(dtype=bool)
            hand[t.code] = np.where(position >= 0, values[np.clip(position, 0, None)], False)
    columns: dict[str, object] = {}
    how = np.where(hand_rows, CODED_BY_HAND, CODED_BY_RULES).astype(object)
    if variable.type == "text":  # a multi-select's other_column (yes/no) is read with its options
        columns[variable.name] = np.where(answered, how, None).astype(object)
    rule_check = []
    for t in coding.themes:
        raised = np.where(hand_rows, hand.get(t.code, np.zeros(n, bool)), by_rules[t.code])
        columns[theme_column(variable.coded_column, t.code)] = pd.arrays.BooleanArray(raised & answered, ~answered)
        if hand_rows.any():
            h, r = hand[t.code][hand_rows], by_rules[t.code][hand_rows]
            rule_check.append({"variable": variable.name, "theme": t.code, "label": t.label,
                               "hand_coded": int(hand_rows.sum()), "hand_yes": int(h.sum()), "rules_yes": int(r.sum()),
                               "true_positives": int((h & r).sum()), "false_positives": int((~h & r).sum()),
                               "false_negatives": int((h & ~r).sum())})
    return CodedAnswers(columns, rule_check, int(hand_rows.sum()), notes)
