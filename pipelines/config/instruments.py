"""The assessment's survey instruments as config (``instruments:`` in assessment.yaml): each names its
codebook, indicators, models, quality suite, weighting, disclosure unit, report section and domains."""

from __future__ import annotations

from pydantic import Field, field_validator

from pipelines.config.base import _Strict

#: the instrument whose assets are the assessment's own stages (weights, headline, models, county estimates)
OFFICER_INSTRUMENT = "officer_survey"
#: populations a weighted instrument may be calibrated to (blocks of assessment.yaml)
WEIGHTING_POPULATIONS = ("officer_headcounts",)


class Instrument(_Strict):
    """One survey instrument of the assessment, as data: its codebook, indicators, optional model
    specifications, quality suite (``expectations/<expectations>.json``), weighting, disclosure unit
    and report section. ``weighting``: the population its respondents are calibrated to (a block of
    assessment.yaml, e.g. ``officer_headcounts``), or ``none``: unweighted shares, said so on the site.
    ``domains``: the codebook variables (or derived variables) its indicators are broken down by.
    The wave input of an instrument is its ``id`` (the export ``<id>.csv`` ...)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*_survey$")
    label: str = Field(min_length=1)
    codebook: str
    indicators: str
    models: str | None = None
    expectations: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    weighting: str
    disclosure_unit: str = Field(min_length=1)
    report_section: str = Field(pattern=r"^[a-z][a-z0-9_-]*\.html$")
    domains: list[str] = []

    @field_validator("weighting")
    @classmethod
    def _weighting(cls, v: str) -> str:
        if v != "none" and v not in WEIGHTING_POPULATIONS:
            raise ValueError(f"weighting is a population to calibrate to ({', '.join(WEIGHTING_POPULATIONS)}) "
                             f"or none (unweighted), not {v!r}")
        return v

    @property
    def weighted(self) -> bool:
        return self.weighting != "none"

    @property
    def stem(self) -> str:
        """The instrument's name in its tables: ``stakeholder`` for ``stakeholder_survey``."""
        return self.id.removesuffix("_survey")

    @property
    def responses_asset(self) -> str:
        """The table of its responses as read (the officer survey's is ``officer_responses``); its
        ingestion's quarantine is ``<responses_asset>_quarantine`` and its rows' ``dataset`` this name."""
        return "officer_responses" if self.id == OFFICER_INSTRUMENT else f"{self.id}_responses"

    @property
    def indicators_asset(self) -> str:
        return f"{self.stem}_indicators"

    @property
    def published_table(self) -> str:
        return f"published_{self.stem}_indicators"

    @property
    def evidence_asset(self) -> str:
        """Its survey evidence of the services page, where ``services.survey_evidence`` names it."""
        return f"{self.stem}_service_evidence"

    @property
    def published_evidence_table(self) -> str:
        return f"published_{self.stem}_services"


def instrument_problems(instruments: list[Instrument], officer_codebook: str, officer_indicators: str,
                        officer_models: str, wave_inputs: dict[str, str]) -> list[str]:
    """The instruments block against the rest of the file: the officer survey first and pointing at the
    codebook, indicators and models the stages use; every other instrument a wave input, unweighted."""
    if not instruments:
        return []
    problems = []
    ids = [i.id for i in instruments]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        problems.append(f"instruments listed twice: {', '.join(twice)}")
    first = instruments[0]
    if first.id != OFFICER_INSTRUMENT:
        problems.append(f"instruments: the first instrument must be {OFFICER_INSTRUMENT} (the survey the "
                        "weights, headline estimates and models rest on)")
    else:
        for key, given, expected in (("codebook", first.codebook, officer_codebook),
                                     ("indicators", first.indicators, officer_indicators),
                                     ("models", first.models, officer_models)):
            if given != expected:
                problems.append(f"instruments.0.{key}: {given!r} is not the file the officer survey's stages "
                                f"read ({expected!r})")
        if first.weighting != "officer_headcounts":
            problems.append("instruments.0.weighting: the officer survey is calibrated to officer_headcounts")
    for n, inst in enumerate(instruments[1:], start=1):
        if inst.id not in wave_inputs:
            problems.append(f"instruments.{n}.id: {inst.id!r} is not a wave input this version reads "
                            f"({', '.join(k for k in wave_inputs if k.endswith('_survey'))})")
        if inst.weighted:
            problems.append(f"instruments.{n}.weighting: only the officer survey is weighted in this version; "
                            "use none (unweighted, said so on the site)")
        if inst.models is not None:
            problems.append(f"instruments.{n}.models: only the officer survey has models in this version")
    sections = [i.expectations for i in instruments]
    if len(set(sections)) != len(sections):
        problems.append("instruments: each instrument needs its own expectation suite")
    return problems


class SurveyEvidence(_Strict):
    """Where the provider inventory is silent, what a survey instrument's respondents say their organisations
    provide (``services.survey_evidence``): the instrument, its question of the county served (single
    choice), its multi-select of services provided (each option's code, label or an alias of it names a
    service type of ``services.types``, except those listed in ``not_services``, e.g. "None of these") and,
    optionally, its question of the hours (each answer an id, label or alias of ``services.hours``)."""

    instrument: str
    county: str
    services: str
    hours: str | None = None
    not_services: list[str] = []
