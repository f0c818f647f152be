"""The coding frames of open-ended answers and what the assessment asks of two coders.

An open-ended question of a survey (``free_text: true`` in its codebook) is never kept as text:
at ingest each answer is reduced to the themes of its coding frame and the text is dropped (it
stays only in the raw archive). A theme is found by transparent rules: keyword or phrase rules,
matched case-insensitively as whole words or whole phrases (``after hours`` matches "After
hours," and "after  hours" but not "afterhours"). Where the evaluator hand-coded answers (a
respondent id x theme 0/1 matrix in the wave's folder, as NVivo, Dedoose or ATLAS.ti export code
matrices), the hand codes are used for those answers and the rules' precision and recall are
measured against them.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from pipelines.config.assessment_schema import _Strict

#: what a hand-coded matrix's respondent id column is called unless the frame names another
DEFAULT_ID_COLUMN = "respondent_id"
_FILE_NAME = r"^[^/\\]+\.csv$"


class OpenEndedTheme(_Strict):
    """A theme of an open-ended question's coding frame and the rules that find it in an answer."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    rules: list[str] = Field(min_length=1)

    @field_validator("rules")
    @classmethod
    def _plain_phrases(cls, rules: list[str]) -> list[str]:
        out: list[str] = []
        for rule in rules:
            phrase = " ".join(str(rule).split())
            if not re.search(r"\w", phrase):
                raise ValueError(f"rule {rule!r} has no word to match (a rule is a keyword or phrase)")
            if phrase.casefold() in {r.casefold() for r in out}:
                raise ValueError(f"rule {rule!r} is listed twice")
            out.append(phrase)
        return out


class OpenEndedCoding(_Strict):
    """The coding frame of one open-ended question.

    ``hand_coded_file``: the name of a hand-coded matrix in the wave's folder (one row per
    respondent, ``id_column`` and one 0/1 column per theme code); ``second_coder_file``: a second
    coder's matrix of the same kind (agreement with the first is reported per theme)."""

    themes: list[OpenEndedTheme] = Field(min_length=1)
    id_column: str = DEFAULT_ID_COLUMN
    hand_coded_file: str | None = Field(default=None, pattern=_FILE_NAME)
    second_coder_file: str | None = Field(default=None, pattern=_FILE_NAME)

    @model_validator(mode="after")
    def _frame(self) -> "OpenEndedCoding":
        codes = [t.code for t in self.themes]
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ValueError(f"theme codes listed twice: {', '.join(dup)}")
        if self.second_coder_file and not self.hand_coded_file:
            raise ValueError("second_coder_file needs hand_coded_file (the first coder's matrix) too")
        if self.second_coder_file and self.second_coder_file == self.hand_coded_file:
            raise ValueError("second_coder_file and hand_coded_file name the same file")
        return self


class Agreement(_Strict):
    """How agreement between two coders is judged and its uncertainty computed.

    ``min_kappa``: themes whose Cohen's kappa is below it are flagged (0.6 by default: "substantial"
    on Landis and Koch's scale); the interval for kappa is a percentile bootstrap over coded units
    with ``bootstrap_replicates`` resamples drawn from ``seed``."""

    min_kappa: float = Field(default=0.6, ge=-1.0, le=1.0)
    level: float = Field(default=0.95, gt=0.0, lt=1.0)
    bootstrap_replicates: int = Field(default=2000, ge=200, le=100_000)
    seed: int = Field(default=20150, ge=0)
