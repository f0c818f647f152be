"""What the earlier published assessment said that the survey data cannot recompute: its goal, its
prevalence range, the cases the agencies had identified, what it could not estimate and why counting
is hard. Data for the report's summary, shown beside the recomputed figures (never mixed into them).

Validated on load (``report.context`` of the assessment config); the list names of ``case_counts``
must be lists of the config's ``prevalence.lists``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PublishedPrevalence(_Strict):
    """The published prevalence figures: the most likely range and the full range of the estimates."""

    what: str = Field(min_length=1)  # e.g. "sex-trafficking victims a year"
    likely_low: int = Field(ge=0)
    likely_high: int = Field(ge=0)
    range_low: int = Field(ge=0)
    range_high: int = Field(ge=0)
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> "PublishedPrevalence":
        if not self.range_low <= self.likely_low <= self.likely_high <= self.range_high:
            raise ValueError("expected range_low <= likely_low <= likely_high <= range_high")
        return self


class PublishedCaseCount(_Strict):
    """Cases one agency had identified in a year, as the assessment published them."""

    list: str = Field(min_length=1)  # a name of prevalence.lists
    year: str = Field(pattern=r"^\d{4}$")
    cases: int = Field(ge=0)


class PublishedContext(_Strict):
    source: str = Field(min_length=1)
    year: str = Field(pattern=r"^\d{4}$")  # the year the assessment was published
    goal: str = ""
    prevalence: PublishedPrevalence | None = None
    case_counts: list[PublishedCaseCount] = []
    not_estimated: str = ""  # what the assessment could not estimate (e.g. labour trafficking) and why
    counting_is_hard: list[str] = []  # why victims are hard to count, one reason per item
