"""The config's other documents: the officer codebook (questions, answer codes, derived variables),
the interview coding frames, the indicators and the training-gap model specifications."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from pipelines.config.assessment_schema import _Strict, only_state_placeholder
from pipelines.config.coding import Agreement, OpenEndedCoding

# --------------------------------------------------------------------------- officer codebook


class Option(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str


#: a multi-select's "Other (please specify)": its yes/no column is ``<variable>__other``
OTHER = "other"

#: ``codes: positional`` — the export's numeric answers are positions 1..k in the codebook's order
POSITIONAL = "positional"


def code_key(code: object) -> str:
    """A declared or exported answer code as compared: text, stripped, case folded; a whole number
    written as ``1``, ``1.0`` or ``01`` is ``1`` (SPSS stores codes as floats, spreadsheets drop or
    keep leading zeros)."""
    text = str(code).strip()
    m = re.fullmatch(r"([+-]?)0*(\d+)(?:\.0+)?", text)
    if m:
        digits = m.group(2) or "0"
        return ("-" if m.group(1) == "-" and digits != "0" else "") + digits
    return unicodedata.normalize("NFKC", text).casefold()


class Variable(_Strict):
    """One question of the officer survey.

    ``codes`` declares what the export's answer codes mean: a map ``code: answer`` (REDCap's
    ``1, Yes | 0, No | 2, Not sure`` is ``{1: "Yes", 0: "No", 2: "Not sure"}``; for a multi-select,
    ``code: option code or label``, the suffix of REDCap's ``field___code`` columns or the choice
    numbers of a one-column export), or ``positional`` for codes 1..k in the order of the options.
    Codes may be text too (``{"Unsure": "Not sure"}`` accepts a reworded answer). Without ``codes``
    a numeric answer is read only through the export's own metadata (a REDCap data dictionary,
    SPSS value labels, a Qualtrics survey file); never by its position.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    type: Literal["single", "multi", "text"]
    question: str
    aliases: list[str] = []
    required: bool = False
    scale: str | None = None
    options: list[str | Option] | None = None
    options_from: Literal["counties"] | None = None
    codes: dict[str, str] | Literal["positional"] | None = None
    asked_if: dict[str, list[str]] | None = None
    other_specify: bool = False
    free_text: bool = False
    coding: OpenEndedCoding | None = None

    @property
    def other_column(self) -> str:
        """A multi-select's yes/no column: was an "Other (please specify)" answer given (ticked or written;
        its text is never kept: coded by the variable's ``coding`` frame, if any, then dropped)."""
        return f"{self.name}__{OTHER}"

    @property
    def coded_column(self) -> str:
        """The column a coding frame's themes belong to: an open-ended question's own column, or a
        multi-select's :attr:`other_column`; each theme is ``<coded_column>__<theme code>``."""
        return self.other_column if self.type == "multi" else self.name

    def theme_columns(self) -> dict[str, str]:
        """The canonical table's yes/no column of each theme of the coding frame, to its theme code."""
        if self.coding is None:
            return {}
        return {f"{self.coded_column}__{t.code}": t.code for t in self.coding.themes}

    @field_validator("codes", mode="before")
    @classmethod
    def _code_text(cls, v: Any) -> Any:
        """YAML reads ``1: "Yes"`` with an integer key: codes are compared as text."""
        if isinstance(v, dict):
            out: dict[str, str] = {}
            for k, x in v.items():
                if isinstance(x, (dict, list)) or x is None or isinstance(k, (dict, list)) or k is None:
                    raise ValueError(f"code {k!r}: give each code one answer (code: answer)")
                key = code_key(k)
                if key in out and out[key] != str(x):
                    raise ValueError(f"code {k!r} is declared twice with different answers")
                out[key] = str(x)
            return out
        return v

    @model_validator(mode="after")
    def _options(self) -> "Variable":
        sources = [self.scale is not None, self.options is not None, self.options_from is not None]
        if self.type == "text":
            if any(sources):
                raise ValueError(f"{self.name}: a text question takes no options")
            if self.codes is not None:
                raise ValueError(f"{self.name}: a text question takes no codes")
        elif sum(sources) != 1:
            raise ValueError(f"{self.name}: give exactly one of scale, options, options_from")
        if self.type == "multi" and not all(isinstance(o, Option) for o in self.options or []):
            raise ValueError(f"{self.name}: multi-select options need a code and a label")
        if self.coding is not None and not (self.type == "text" and self.free_text) \
                and not (self.type == "multi" and self.other_specify):
            raise ValueError(f"{self.name}: a coding frame is for an open-ended question (type: text with "
                             "free_text: true) or a multi-select's \"Other (please specify)\" (other_specify: true)")
        if self.other_specify and self.type != "multi":
            raise ValueError(f"{self.name}: other_specify is for a multi-select question (type: multi)")
        if self.type == "multi" and self.other_specify:
            clash = [o.code for o in self.options or [] if isinstance(o, Option)
                     and (o.code == OTHER or o.code.startswith(OTHER + "__"))]
            if clash:
                raise ValueError(f"{self.name}: option code {clash[0]!r} would share the column {self.name}__{OTHER} "
                                 "that says whether an \"Other (please specify)\" answer was given; rename the option "
                                 "(or leave out other_specify if it is the \"Other\" option)")
        if isinstance(self.codes, dict) and not self.codes:
            raise ValueError(f"{self.name}: codes is empty (leave it out, or map each code to an answer)")
        return self


class Derived(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    from_: str = Field(alias="from")
    map: dict[str, str] | None = None
    map_from: Literal["county_groups"] | None = None

    @model_validator(mode="after")
    def _one_map(self) -> "Derived":
        if (self.map is None) == (self.map_from is None):
            raise ValueError(f"{self.name}: give exactly one of map, map_from")
        return self


class Codebook(_Strict):
    """The officer survey's codebook.

    ``respondent_id`` names the export column holding each respondent's identifier (its column
    name or heading; several names may be listed). Left out, the platform's own id column is used
    (SurveyMonkey ``Respondent ID``, Qualtrics ``ResponseId``, REDCap's record id, ...). Either way
    the respondent id is required: a wave without it stops.

    ``redcap_data_dictionary`` and ``qualtrics_survey_file`` name (relative to the codebook) a REDCap
    data dictionary CSV or a Qualtrics ``.qsf`` whose answer codes apply to every wave; a wave's own
    folder may hold its own (``*DataDictionary*.csv``, ``*.qsf``), which is then used instead.
    """

    survey: str
    title: str
    respondent_id: str | list[str] | None = None
    redcap_data_dictionary: str | None = None
    qualtrics_survey_file: str | None = None
    scales: dict[str, list[str]] = {}
    variables: list[Variable] = Field(min_length=1)
    derived: list[Derived] = []

    @property
    def respondent_id_columns(self) -> list[str]:
        """The export columns the codebook names for the respondent id (empty: the platform's own)."""
        if self.respondent_id is None:
            return []
        return [self.respondent_id] if isinstance(self.respondent_id, str) else list(self.respondent_id)

    @model_validator(mode="after")
    def _refs(self) -> "Codebook":
        names = [v.name for v in self.variables] + [d.name for d in self.derived]
        problems = []
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            problems.append(f"variables defined twice: {', '.join(dup)}")
        for v in self.variables:
            if v.scale is not None and v.scale not in self.scales:
                problems.append(f"{v.name}: unknown scale {v.scale!r}")
            for dep in (v.asked_if or {}):
                if dep not in names:
                    problems.append(f"{v.name}: asked_if refers to unknown variable {dep!r}")
        for d in self.derived:
            if d.from_ not in names:
                problems.append(f"derived {d.name}: unknown source variable {d.from_!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


# --------------------------------------------------------------------------- interview frames


class Theme(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    kind: str


class InterviewFrame(_Strict):
    id_column: str
    expected_n_2015: int | None = None
    attributes: dict[str, list[str]] = {}
    themes: list[Theme] = Field(min_length=1)
    #: a second coder's matrix of (some of) the same interviews, in the wave's folder
    second_coder_file: str | None = Field(default=None, pattern=r"^[^/\\]+\.csv$")


class InterviewFrames(_Strict):
    stakeholder_interviews: InterviewFrame
    survivor_interviews: InterviewFrame
    #: how agreement between two coders (interviews and open-ended answers) is judged
    agreement: Agreement = Agreement()


# --------------------------------------------------------------------------- indicators


class Indicator(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    variable: str
    success: list[str | bool] = Field(min_length=1)
    by: str | None = None
    among: dict[str, list[str]] | None = None
    population: str = "All officers"
    # by wave: one published share, or one per level of `by`
    published: dict[str, float | dict[str, float]] = {}
    published_note: str = ""


class IndicatorSet(_Strict):
    source_2015: str = ""
    indicators: list[Indicator] = Field(min_length=1)


# --------------------------------------------------------------------------- model specifications


class ModelOutcome(_Strict):
    """A preparedness outcome: ``variable`` answered in ``success`` counts as prepared (y = 1)."""
    variable: str
    label: str
    success: list[str] = Field(min_length=1)
    gap: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    gap_label: str
    county_estimates: bool = True


class ModelRegressor(_Strict):
    variable: str
    reference: str | None = None


#: the regressors the county tables rest on (predicted shares per group; county x experience rows)
MODEL_GROUP, MODEL_BAND = "county_group", "experience_band"


class TrainingGapModels(_Strict):
    outcomes: list[ModelOutcome] = Field(min_length=1)
    regressors: list[ModelRegressor] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> "TrainingGapModels":
        problems = []
        for what, names in (("outcomes variable", [o.variable for o in self.outcomes]),
                            ("outcomes gap", [o.gap for o in self.outcomes]),
                            ("regressors variable", [r.variable for r in self.regressors])):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                problems.append(f"{what} listed twice: {', '.join(twice)}")
        regs = {r.variable for r in self.regressors}
        for needed in (MODEL_GROUP, MODEL_BAND):
            if needed not in regs:
                problems.append(f"regressors: {needed} is needed (the county tables are by it)")
        both = sorted(regs & {o.variable for o in self.outcomes})
        if both:
            problems.append(f"both outcome and regressor: {', '.join(both)}")
        for o in self.outcomes:
            for key in ("label", "gap_label"):
                if not only_state_placeholder(getattr(o, key)):
                    problems.append(f"outcome {o.variable}: {key} may use only the placeholder {{state}}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ModelSpecs(_Strict):
    training_gap: TrainingGapModels
