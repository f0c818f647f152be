"""The assessment configuration: state, counties, codebooks, indicators and thresholds, as data.

Everything that differs between states or years lives in YAML files (``config/<state>/``);
this module loads them, validates them and reports every problem with the file and the place in
it. It knows nothing of Dagster, so the plain stage functions can take these objects as inputs.
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipelines.errors import ConfigError
from pipelines.published_context import PublishedContext

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "maine" / "assessment.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- assessment


class State(_Strict):
    name: str
    abbreviation: str = Field(pattern=r"^[A-Z]{2}$")
    fips: str = Field(pattern=r"^\d{2}$")


class County(_Strict):
    name: str = Field(min_length=1)
    fips: str = Field(pattern=r"^\d{5}$")
    population_2020: int = Field(gt=0)
    #: other spellings of the county in free-text answers (abbreviations whose first letters differ)
    aliases: list[str] = []


class CountyGroup(_Strict):
    name: str = Field(min_length=1)
    counties: list[str] = Field(min_length=1)


class OfficerHeadcounts(_Strict):
    status: Literal["illustrative", "roster"]
    note: str = ""
    by_county: dict[str, int]

    @field_validator("by_county")
    @classmethod
    def _positive(cls, v: dict[str, int]) -> dict[str, int]:
        bad = [k for k, n in v.items() if n <= 0]
        if bad:
            raise ValueError(f"headcounts must be positive; not for {', '.join(bad)}")
        return v


class Disclosure(_Strict):
    """The publication rule (assets/publication/): see ``disclosure:`` in the assessment file."""

    min_cell_count: int = Field(default=6, ge=1)
    # A share also reveals its numerator (estimate x n): suppress a cell whose count of successes,
    # or of non-successes, is below the minimum too (it would show what a small group answered).
    protect_numerators: bool = True
    # A hidden small count must stay compatible with at least this many whole numbers, whatever an
    # intruder combines from the published tables (null: min_cell_count).
    min_possible_values: int | None = Field(default=None, ge=2)
    # Published shares and their intervals are rounded to this many decimals (2 = whole percent).
    share_decimals: int = Field(default=2, ge=1, le=4)
    # Model-based numbers of people (officers needing training, victims) are rounded to this step.
    people_step: int = Field(default=10, ge=1)
    # A breakdown with more than this share of hidden cells is replaced by a sentence on the page.
    mostly_hidden_share: float = Field(default=0.5, gt=0, le=1)


class InputLimits(_Strict):
    """Bounds on every input file of a wave, checked before the file is parsed (a file past one is
    refused with a message naming the limit): a damaged or hostile file cannot make a run take
    hours or all the memory. The defaults leave room for a million-respondent export."""

    max_file_mb: float = Field(default=2048, gt=0)
    max_columns: int = Field(default=5000, ge=2)
    # rows are counted as lines before parsing (a record with line breaks in an answer counts each)
    max_rows: int = Field(default=5_000_000, ge=1)
    max_cells: int = Field(default=500_000_000, ge=1)
    # an XLSX workbook is a zip archive: the sum of its members' uncompressed sizes, and that sum over
    # the file's size (a "zip bomb" packs hundreds of megabytes of sheet XML into one)
    max_xlsx_uncompressed_mb: float = Field(default=200, gt=0)
    max_xlsx_compression_ratio: float = Field(default=100, gt=1)


class RawArchive(_Strict):
    """The raw archive beside the warehouse keeps each wave's exports byte for byte, for this many
    of the most recent waves (default: the current wave and the one before it); older waves' exports
    are deleted after a run (their records stay, marked removed)."""

    keep_waves: int = Field(default=2, ge=1)


InputStatus = Literal["required", "optional", "absent"]
#: a wave's inputs, in the assessment's words (the files each is read from: assets/ingest/readiness.py)
WAVE_INPUTS = {
    "officer_survey": "the officer survey export",
    "stakeholder_interviews": "the stakeholder interview matrix",
    "survivor_interviews": "the survivor interview matrix",
    "provider_inventory": "the service-provider inventory",
    "case_lists": "the agencies' case lists",
}


class InputRequirements(_Strict):
    """Which of a wave's inputs must be in its folder (required), may be missing (optional: the pages
    that use it say so) or are not collected by design (absent)."""

    officer_survey: InputStatus = "required"
    stakeholder_interviews: InputStatus = "required"
    survivor_interviews: InputStatus = "required"
    provider_inventory: InputStatus = "optional"
    case_lists: InputStatus = "optional"

    @model_validator(mode="after")
    def _officers(self) -> "InputRequirements":
        if self.officer_survey != "required":
            raise ValueError("officer_survey must be required: every estimate of the assessment rests on it")
        return self


class InputOverrides(_Strict):
    """One wave's departures from the default requirements (unset: as the default)."""

    officer_survey: InputStatus | None = None
    stakeholder_interviews: InputStatus | None = None
    survivor_interviews: InputStatus | None = None
    provider_inventory: InputStatus | None = None
    case_lists: InputStatus | None = None


class WaveInputs(_Strict):
    """When a wave folder is complete and settled enough to run and publish (assets/ingest/readiness.py).

    ``ready_when: manifest``: a ``READY`` manifest (written by ``htna ready <wave>``: every file with its
    SHA-256) that matches the folder. ``ready_when: settled``: every required input present and no file
    changed for ``settle_seconds`` (a matching manifest is enough in either mode)."""

    ready_when: Literal["manifest", "settled"] = "manifest"
    settle_seconds: int = Field(default=120, ge=0)
    default: InputRequirements = InputRequirements()
    waves: dict[str, InputOverrides] = Field(default_factory=dict)

    def status(self, wave: str) -> dict[str, str]:
        """Every input's status in this wave: required, optional or absent."""
        out = self.default.model_dump()
        override = self.waves.get(wave)
        if override is not None:
            out.update({k: v for k, v in override.model_dump().items() if v is not None})
        return out

    @model_validator(mode="after")
    def _officers(self) -> "WaveInputs":
        wrong = sorted(w for w, o in self.waves.items() if o.officer_survey not in (None, "required"))
        if wrong:
            raise ValueError(f"officer_survey must be required in every wave (not in {', '.join(wrong)}): every "
                             "estimate of the assessment rests on it")
        return self


class Trim(_Strict):
    """Bounds on the final weights, as multiples of the mean weight (R's ``trimWeights``)."""

    max_ratio_to_mean: float | None = Field(default=None, gt=1)
    min_ratio_to_mean: float | None = Field(default=None, gt=0, lt=1)
    strict: bool = True


class Margin(_Strict):
    """A further known population margin of the officers (raked to with the county headcounts).

    Give ``shares`` (summing to 1; scaled to the headcount total) or ``counts`` of each level of
    ``variable`` (a codebook variable or derived domain, e.g. experience_band or agency_type).
    """

    variable: str
    shares: dict[str, float] | None = None
    counts: dict[str, float] | None = None
    status: Literal["illustrative", "roster"] = "illustrative"
    note: str = ""

    @model_validator(mode="after")
    def _one_kind(self) -> "Margin":
        if (self.shares is None) == (self.counts is None):
            raise ValueError(f"margin {self.variable}: give exactly one of shares, counts")
        values = self.shares if self.shares is not None else self.counts
        if not values or any(v <= 0 for v in values.values()):
            raise ValueError(f"margin {self.variable}: every level needs a positive share or count")
        if self.shares is not None and abs(sum(self.shares.values()) - 1.0) > 1e-6:
            raise ValueError(f"margin {self.variable}: shares sum to {sum(self.shares.values()):.6g}, not 1")
        return self


class Weighting(_Strict):
    """How officer respondents are weighted to the officer population (``officer_weights``).

    Post-stratification to ``officer_headcounts.by_county``; counties with fewer than
    ``min_respondents_per_cell`` respondents are merged with other small counties of their county
    group (and, if still too small, with the smallest county of the group). With ``margins`` the
    weights are raked to the county cells and every margin instead. Respondents whose county is
    unknown form their own cell weighted to their share of respondents (``own_cell``), or get no
    weight and are left out of every estimate (``exclude``).
    """

    min_respondents_per_cell: int = Field(default=6, ge=1)
    unknown_county: Literal["own_cell", "exclude"] = "own_cell"
    margins: list[Margin] = []
    trim: Trim | None = None
    epsilon: float = Field(default=1e-10, gt=0)
    max_iterations: int = Field(default=200, ge=1)

    @field_validator("margins")
    @classmethod
    def _distinct(cls, v: list[Margin]) -> list[Margin]:
        names = [m.variable for m in v]
        if len(set(names)) != len(names):
            raise ValueError("each margin variable may be given once")
        return v


class Estimates(_Strict):
    """How the headline table is estimated: interval method, level and the domains reported."""

    ci_method: Literal["logit", "likelihood", "beta", "asin", "xlogit"] = "logit"
    level: float = Field(default=0.95, gt=0, lt=1)
    domains: list[str] = ["county_group", "county", "experience_band", "agency_type", "cases_past_year"]


class SmallArea(_Strict):
    """How the county estimates of the training gap are made (assets/models/county_estimator.py).

    ``estimator``: ``benchmarked`` (default: arcsine Fay–Herriot with a generalised variance function,
    counties under ``min_effective_sample`` respondents predicted from the regression, adjusted
    likelihood, bias-corrected back-transformation, benchmarked to the state's direct share) or
    ``fay_herriot`` (the earlier model: sampling variance 1 / (4 n_eff) from each county's own sample,
    ``variance`` must then be ``reml``, no benchmarking) or ``unit_level`` (logistic mixed model with a
    county random effect on the respondents' answers, unweighted; empirical best prediction with a
    parametric-bootstrap MSE of ``bootstrap_replicates`` replicates). ``variance``: ``ampl`` (Li & Lahiri 2010),
    ``ampl_yl`` (Yoshimori & Lahiri 2014) or ``reml``. ``benchmark``: ``mse`` (each county moves in
    proportion to its uncertainty), ``raking`` (one shift on the logit scale), ``ratio`` or ``none``.
    """

    estimator: Literal["benchmarked", "fay_herriot", "unit_level"] = "benchmarked"
    variance: Literal["ampl", "ampl_yl", "reml"] = "ampl"
    benchmark: Literal["mse", "raking", "ratio", "none"] = "mse"
    min_effective_sample: float = Field(default=6, ge=2)
    #: CSV of county covariates (a ``county`` column and numeric columns; ``#`` lines are comments),
    #: relative to the config folder; used when given. ``covariates_status`` says whether its values are
    #: ``illustrative`` (said on the model card) or ``sourced``. ``selection``: the covariate set of each
    #: county model is chosen by ``bic`` or ``aic`` among the base covariates plus subsets of the file's
    #: columns, or ``none`` (all of them).
    covariates: str | None = None
    covariates_status: Literal["illustrative", "sourced"] = "illustrative"
    selection: Literal["bic", "aic", "none"] = "bic"
    #: ``unit_level`` only: bootstrap replicates of the MSE and their seed
    bootstrap_replicates: int = Field(default=50, ge=10)
    seed: int = 2015

    @model_validator(mode="after")
    def _old_model(self) -> "SmallArea":
        if self.estimator == "fay_herriot" and self.variance != "reml":
            raise ValueError("small_area: estimator fay_herriot is the REML model; set variance: reml "
                             "or use estimator: benchmarked for the adjusted likelihoods")
        return self


def only_state_placeholder(text: str) -> bool:
    """Whether ``text`` uses no placeholder but ``{state}`` (``{{`` and ``}}`` are literal braces)."""
    import string

    try:
        return all(field in (None, "state") and not spec and conv is None
                   for _, field, spec, conv in string.Formatter().parse(text))
    except ValueError:  # unbalanced braces
        return False


class PrevalenceList(_Strict):
    """One agency's case list (a "system" of multiple systems estimation)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")  # the column / `list` value in the case-list files
    label: str = Field(min_length=1)
    description: str = ""


class Prevalence(_Strict):
    """Multiple systems estimation of the number of victims from the agencies' case lists.

    ``criterion``: ``pvalue`` is SparseMSE 2.0.1's stepwise rule (add the interaction whose overlap
    has the lowest one-sided Poisson p-value, keep it if p < threshold); ``aic`` adds the
    lowest-AIC interaction if its Wald p < threshold; ``bic`` adds it while BIC improves.
    ``interval``: ``wald-log`` (SparseMSE; under-covers N), ``lognormal`` (Chao/Rcapture),
    ``profile`` (Rcapture multinomial profile likelihood) or ``bootstrap`` (parametric, repeating
    the selection). ``bootstrap_replicates`` > 0 also adds a bootstrap interval beside the headline.
    ``min_cell_count``: overlap cells with fewer cases are not published (default: disclosure's).
    """

    lists: list[PrevalenceList] = []
    #: what the lists count, as the caveats word it ({state}: the config's state name)
    population: str = Field(default="victims in {state} in the year", min_length=1)
    identifiers: list[str] = Field(default=["first_name", "last_name", "date_of_birth"], min_length=1)
    stratum: str | None = None
    threshold: float = Field(default=0.02, ge=0, le=1)
    criterion: Literal["aic", "bic", "pvalue"] = "pvalue"
    interval: Literal["wald-log", "lognormal", "profile", "bootstrap"] = "lognormal"
    level: float = Field(default=0.95, gt=0, lt=1)
    bootstrap_replicates: int = Field(default=1000, ge=0)
    seed: int = 2015
    min_cell_count: int | None = Field(default=None, ge=1)

    @field_validator("population")
    @classmethod
    def _population(cls, v: str) -> str:
        if not only_state_placeholder(v):
            raise ValueError("may use only the placeholder {state}")
        return v

    @model_validator(mode="after")
    def _names(self) -> "Prevalence":
        problems = []
        names = [x.name for x in self.lists]
        labels = [x.label.strip().casefold() for x in self.lists]
        if len(set(names)) != len(names) or len(set(labels)) != len(labels):
            problems.append("each list needs its own name and label")
        reserved = {"count", "wave", "stratum", "history", "n_lists", "lists", "publishable", "list"}
        if set(names) & reserved:
            problems.append(f"list names must not be any of {sorted(reserved)}")
        if 0 < len(self.lists) < 2:
            problems.append("multiple systems estimation needs at least 2 lists")
        ids = [i.strip().casefold() for i in self.identifiers]
        if len(set(ids)) != len(ids) or "" in ids or "list" in ids:
            problems.append("identifiers must be distinct column names other than 'list'")
        if self.stratum is not None and self.stratum.strip().casefold() in set(ids) | {"list", ""}:
            problems.append("stratum must be a column other than 'list' and the identifiers")
        if self.interval == "bootstrap" and self.bootstrap_replicates < 1:
            problems.append("interval: bootstrap needs bootstrap_replicates of 1 or more")
        if problems:
            raise ValueError("; ".join(problems))
        return self


def name_key(text: str) -> str:
    """A label folded for matching: case, accents, spaces and punctuation ignored ('24/7' = '24-7')."""
    t = unicodedata.normalize("NFKD", str(text))
    t = "".join(ch for ch in t if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^0-9a-z]+", "", t)


class ServiceType(_Strict):
    """One type of service in the provider inventory (emergency response, shelter, legal, ...)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    aliases: list[str] = []


class HoursValue(_Strict):
    """One accepted value of the inventory's ``hours`` column and what it means for cover.

    ``after_hours``: the provider can be reached outside business hours (evenings, nights,
    weekends); ``round_the_clock``: at any hour, every day (24/7, which is also after hours).
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    label: str = Field(min_length=1)
    after_hours: bool
    round_the_clock: bool = False
    aliases: list[str] = []

    @model_validator(mode="after")
    def _implies(self) -> "HoursValue":
        if self.round_the_clock and not self.after_hours:
            raise ValueError(f"hours {self.id}: round_the_clock (24/7) cover is after-hours cover too; "
                             "set after_hours: true")
        return self


class AfterHoursRule(_Strict):
    """Which counties count as lacking after-hours response.

    A county is listed when one of the ``required`` service types has no provider reachable after
    hours there. A statewide provider (a hotline) counts as cover only with ``count_statewide``: it
    can take a call at 2 a.m. but rarely send someone.
    """

    required: list[str] = Field(default=["emergency_response"], min_length=1)
    count_statewide: bool = False


class Services(_Strict):
    """The service-provider inventory (``provider_inventory.csv``): service types and hours, as data.

    ``statewide``: words in ``counties_served`` that mean every county of the state.
    """

    types: list[ServiceType] = Field(min_length=1)
    hours: list[HoursValue] = Field(min_length=1)
    statewide: list[str] = ["Statewide", "All counties"]
    after_hours: AfterHoursRule = AfterHoursRule()

    @model_validator(mode="after")
    def _distinct(self) -> "Services":
        problems = []

        def clashes(entries: list[tuple[str, list[str]]]) -> list[str]:
            """Names (folded) that two entries both use."""
            owner: dict[str, str] = {}
            out = set()
            for ident, texts in entries:
                for t in {name_key(x) for x in texts} - {""}:
                    if owner.setdefault(t, ident) != ident:
                        out.add(t)
            return sorted(out)

        ids = [t.id for t in self.types]
        if len(set(ids)) != len(ids):
            problems.append("each service type needs its own id")
        twice = clashes([(t.id, [t.id, t.label, *t.aliases]) for t in self.types])
        if twice:
            problems.append(f"service type names or aliases used by two types: {', '.join(twice)}")
        hids = [h.id for h in self.hours]
        if len(set(hids)) != len(hids):
            problems.append("each hours value needs its own id")
        clash = clashes([(h.id, [h.id, h.label, *h.aliases]) for h in self.hours])
        if clash:
            problems.append(f"hours labels or aliases used by two hours values: {', '.join(clash)}")
        unknown = [r for r in self.after_hours.required if r not in ids]
        if unknown:
            problems.append(f"after_hours.required names unknown service types: {', '.join(unknown)}")
        if not any(h.after_hours for h in self.hours):
            problems.append("at least one hours value must be after_hours")
        if not [s for s in self.statewide if s.strip()]:
            problems.append("statewide needs at least one word (e.g. Statewide)")
        if problems:
            raise ValueError("; ".join(problems))
        return self


# --------------------------------------------------------------------------- report


class ReportFiles(_Strict):
    """Files the published site draws on, relative to the assessment config."""

    county_geometry: str | None = None  # GeoJSON of the state's counties (``htna geometry`` writes it)
    recommendations: str | None = None  # the assessment's recommendations and the measures that track them
    context: str | None = None  # what the earlier published assessment said (goal, prevalence range, case counts)
    # who may read the published site's files (it is meant to be shared); only its owner may change them
    readable_by: Literal["everyone", "group", "owner"] = "everyone"


class TrackedIndicator(_Strict):
    indicator: str
    domain: str = "all"
    level: str = "all"
    better: Literal["up", "down"]


class Recommendation(_Strict):
    number: int = Field(ge=1, le=99)
    title: str = Field(min_length=1)
    summary: str = ""
    indicators: list[TrackedIndicator] = []
    themes: list[str] = []  # interview theme codes that speak to it
    services: list[str] = []  # service types whose after-hours cover tracks it
    note: str = ""  # how else it is followed, when no survey indicator measures it


class RecommendationSet(_Strict):
    source: str = ""
    recommendations: list[Recommendation] = Field(min_length=1)

    @model_validator(mode="after")
    def _numbers(self) -> "RecommendationSet":
        numbers = [r.number for r in self.recommendations]
        if len(set(numbers)) != len(numbers):
            raise ValueError("recommendation numbers must be unique")
        return self


class Codebooks(_Strict):
    officer_survey: str
    interviews: str


class Execution(_Strict):
    """How a run of one wave executes its steps, whoever starts it (UI, sensor or ``htna run``).

    ``in_process`` (the default): every step in the run's one process, as ``htna run`` does; a wave's
    steps mostly wait on each other, and a process per step costs a Python start and the imports each
    time. ``multiprocess``: steps that do not depend on each other run side by side, at most
    ``max_processes`` at once."""
    executor: Literal["in_process", "multiprocess"] = "in_process"
    max_processes: int = Field(default=2, ge=1, le=64)


class AssessmentConfig(_Strict):
    state: State
    waves: list[str] = Field(min_length=1)
    data_dir: str
    warehouse: str
    output_dir: str
    disclosure: Disclosure = Disclosure()
    weighting: Weighting = Weighting()
    estimates: Estimates = Estimates()
    small_area: SmallArea = SmallArea()
    prevalence: Prevalence = Prevalence()
    services: Services | None = None
    codebooks: Codebooks
    indicators: str
    models: str
    counties: list[County] = Field(min_length=1)
    county_groups: list[CountyGroup] = Field(min_length=1)
    officer_headcounts: OfficerHeadcounts
    report: ReportFiles = ReportFiles()
    input_limits: InputLimits = InputLimits()
    raw_archive: RawArchive = RawArchive()
    execution: Execution = Execution()
    wave_inputs: WaveInputs = WaveInputs()

    @field_validator("waves")
    @classmethod
    def _waves(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("waves must be unique")
        for w in v:
            if not w.isdigit() or len(w) != 4:
                raise ValueError(f"a wave is a four-digit survey year, got {w!r}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "AssessmentConfig":
        names = [c.name for c in self.counties]
        problems = []
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            problems.append(f"counties listed twice: {', '.join(dup)}")
        fips = [c.fips for c in self.counties]
        if len(set(fips)) != len(fips):
            problems.append("county FIPS codes must be unique")
        wrong_state = [c.name for c in self.counties if not c.fips.startswith(self.state.fips)]
        if wrong_state:
            problems.append(f"FIPS codes not in state {self.state.fips}: {', '.join(wrong_state)}")
        grouped = [c for g in self.county_groups for c in g.counties]
        unknown = sorted(set(grouped) - set(names))
        if unknown:
            problems.append(f"county_groups name unknown counties: {', '.join(unknown)}")
        twice = sorted({c for c in grouped if grouped.count(c) > 1})
        if twice:
            problems.append(f"counties in more than one group: {', '.join(twice)}")
        ungrouped = sorted(set(names) - set(grouped))
        if ungrouped:
            problems.append(f"counties in no group: {', '.join(ungrouped)}")
        if self.weighting.min_respondents_per_cell < self.disclosure.min_cell_count:
            problems.append(
                f"weighting.min_respondents_per_cell ({self.weighting.min_respondents_per_cell}) is below "
                f"disclosure.min_cell_count ({self.disclosure.min_cell_count}): a county's weight is its officer "
                "headcount over its respondents, so a weighting cell smaller than the publication minimum would "
                "let the public headcounts reveal a count the site hides; raise min_respondents_per_cell")
        missing_hc = sorted(set(names) - set(self.officer_headcounts.by_county))
        if missing_hc:
            problems.append(f"officer_headcounts.by_county lacks: {', '.join(missing_hc)}")
        extra_hc = sorted(set(self.officer_headcounts.by_county) - set(names))
        if extra_hc:
            problems.append(f"officer_headcounts.by_county names unknown counties: {', '.join(extra_hc)}")
        unknown_waves = sorted(set(self.wave_inputs.waves) - set(self.waves))
        if unknown_waves:
            problems.append(f"wave_inputs.waves names waves not in `waves`: {', '.join(unknown_waves)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


# --------------------------------------------------------------------------- officer codebook


class Option(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str


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


class InterviewFrames(_Strict):
    stakeholder_interviews: InterviewFrame
    survivor_interviews: InterviewFrame


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


# --------------------------------------------------------------------------- loading


#: libyaml's safe loader when PyYAML was built with it (about 7x faster; the config is read by every asset step)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "file not found", "check the path, or pass --config") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read the file: {exc}") from None
    try:
        return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(path, f"{where}not valid YAML ({getattr(exc, 'problem', exc)})") from None


def _validate(model: type[BaseModel], path: Path) -> Any:
    data = _read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(path, "expected a mapping at the top level")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            problems.append(f"{loc}: {err['msg']}")
        raise ConfigError(path, problems) from None


class Assessment:
    """A validated assessment: the config file and everything it refers to."""

    def __init__(self, path: Path, config: AssessmentConfig, codebook: Codebook,
                 frames: InterviewFrames, indicators: IndicatorSet) -> None:
        self.path = path
        self.config = config
        self.codebook = codebook
        self.frames = frames
        self.indicators = indicators
        #: the training-gap model specifications (``models`` file of the config)
        self.models: ModelSpecs | None = None
        self.recommendations: RecommendationSet | None = None
        #: county -> covariate -> value, from ``small_area.covariates`` (None when not given)
        self.county_covariate_values: dict[str, dict[str, float]] | None = None
        self.context: PublishedContext | None = None

    # paths are relative to the folder of the config file
    def _resolve(self, value: str) -> Path:
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else (self.path.parent / p).resolve()

    @property
    def data_dir(self) -> Path:
        return self._resolve(self.config.data_dir)

    @property
    def warehouse(self) -> Path:
        return self._resolve(self.config.warehouse)

    @property
    def output_dir(self) -> Path:
        return self._resolve(self.config.output_dir)

    def codebook_file(self, value: str) -> Path:
        """A file the officer codebook names, relative to the codebook's folder."""
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else (self._resolve(self.config.codebooks.officer_survey).parent / p).resolve()

    @property
    def min_cell_count(self) -> int:
        return self.config.disclosure.min_cell_count

    @property
    def county_names(self) -> list[str]:
        return [c.name for c in self.config.counties]

    @cached_property
    def county_group_of(self) -> dict[str, str]:
        return {c: g.name for g in self.config.county_groups for c in g.counties}

    def options(self, variable: Variable) -> list[str]:
        """Answer labels of a single-choice question, in coded order."""
        if variable.options_from == "counties":
            return self.county_names
        if variable.scale is not None:
            return list(self.codebook.scales[variable.scale])
        return [o.label if isinstance(o, Option) else o for o in (variable.options or [])]

    def derived_map(self, derived: Derived) -> dict[str, str]:
        if derived.map_from == "county_groups":
            return dict(self.county_group_of)
        return dict(derived.map or {})

    def check_cross_references(self) -> None:
        """Indicators and derived maps must name variables and answers the codebook has."""
        problems: list[str] = []
        cb = self.codebook
        single = {v.name: v for v in cb.variables if v.type == "single"}
        multi_cols = {f"{v.name}__{o.code}" for v in cb.variables if v.type == "multi"
                      for o in v.options or [] if isinstance(o, Option)}
        derived_values = {d.name: set(self.derived_map(d).values()) for d in cb.derived}
        for d in cb.derived:
            src = single.get(d.from_)
            if src is not None:
                unknown = set(self.derived_map(d)) - set(self.options(src))
                if unknown:
                    problems.append(f"derived {d.name}: maps answers {sorted(unknown)} that "
                                    f"{d.from_} does not have")
        known = set(single) | set(derived_values)

        def values_of(name: str) -> set[Any] | None:
            if name in single:
                return set(self.options(single[name]))
            if name in derived_values:
                return derived_values[name]
            return None

        for ind in self.indicators.indicators:
            if ind.variable in multi_cols:
                if ind.success != [True]:
                    problems.append(f"indicator {ind.id}: a multi-select option's success is [true]")
            elif ind.variable not in known:
                problems.append(f"indicator {ind.id}: unknown variable {ind.variable!r}")
            else:
                bad = [s for s in ind.success if s not in values_of(ind.variable)]
                if bad:
                    problems.append(f"indicator {ind.id}: {ind.variable} has no answer {bad}")
            if ind.by is not None and ind.by not in known:
                problems.append(f"indicator {ind.id}: unknown 'by' variable {ind.by!r}")
            for wave, pub in ind.published.items():
                if ind.by is None and not isinstance(pub, float):
                    problems.append(f"indicator {ind.id}: published {wave} must be one share (it has no 'by')")
                if ind.by is not None:
                    levels = values_of(ind.by) or set()
                    if not isinstance(pub, dict) or set(pub) - levels:
                        problems.append(f"indicator {ind.id}: published {wave} must map levels of "
                                        f"{ind.by} ({', '.join(sorted(levels))}) to shares")
                for share in (pub.values() if isinstance(pub, dict) else [pub]):
                    if not 0.0 <= share <= 1.0:
                        problems.append(f"indicator {ind.id}: published {wave} share {share} is not in [0, 1]")
            for var, vals in (ind.among or {}).items():
                allowed = values_of(var)
                if allowed is None:
                    problems.append(f"indicator {ind.id}: unknown 'among' variable {var!r}")
                elif set(vals) - allowed:
                    problems.append(f"indicator {ind.id}: {var} has no answer {sorted(set(vals) - allowed)}")
        if problems:
            raise ConfigError(self.path.parent / self.config.indicators, problems)


def _check_codes(assessment: "Assessment") -> None:
    """Every declared code must mean one of its question's answers (a multi-select: one of its options)."""
    problems: list[str] = []
    for v in assessment.codebook.variables:
        if not isinstance(v.codes, dict):
            continue
        if v.type == "multi":
            known = {o.code for o in v.options or [] if isinstance(o, Option)} | \
                    {o.label for o in v.options or [] if isinstance(o, Option)}
        else:
            known = set(assessment.options(v))
        bad = sorted({a for a in v.codes.values() if a not in known})
        if bad:
            what = "option codes or labels" if v.type == "multi" else "answers"
            problems.append(f"variables.{v.name}.codes: {bad} are not among its {what} "
                            f"({', '.join(sorted(known)[:8])}{', ...' if len(known) > 8 else ''})")
    if problems:
        raise ConfigError(assessment.path.parent / assessment.config.codebooks.officer_survey, problems,
                          "map each code to one of the question's answers, spelled as in the codebook")


def _check_weighting(assessment: "Assessment") -> None:
    """Weighting margins and estimation domains must name variables and answers the codebook has."""
    cb = assessment.codebook
    single = {v.name: v for v in cb.variables if v.type == "single"}
    values: dict[str, list[str]] = {n: assessment.options(v) for n, v in single.items()}
    values.update({d.name: list(dict.fromkeys(assessment.derived_map(d).values())) for d in cb.derived})
    problems: list[str] = []
    for d in assessment.config.estimates.domains:
        if d not in values:
            problems.append(f"estimates.domains: unknown variable {d!r}")
    for m in assessment.config.weighting.margins:
        if m.variable == "county":
            problems.append("weighting.margins: county is weighted by officer_headcounts already")
        elif m.variable not in values:
            problems.append(f"weighting.margins: unknown variable {m.variable!r}")
        else:
            given = set(m.shares or m.counts or {})
            unknown = sorted(given - set(values[m.variable]))
            missing = [lv for lv in values[m.variable] if lv not in given]
            if unknown:
                problems.append(f"weighting.margins {m.variable}: {m.variable} has no level {unknown}")
            if missing:
                problems.append(f"weighting.margins {m.variable}: no share or count for {missing}")
    if problems:
        raise ConfigError(assessment.path, problems)


def _check_models(assessment: "Assessment") -> None:
    """Model outcomes and regressors must be questions (or derived variables) of the codebook, and
    success answers and reference levels answers it declares."""
    cb = assessment.codebook
    single = {v.name: v for v in cb.variables if v.type == "single"}
    values: dict[str, list[str]] = {n: assessment.options(v) for n, v in single.items()}
    values.update({d.name: list(dict.fromkeys(assessment.derived_map(d).values())) for d in cb.derived})
    spec = assessment.models.training_gap
    problems: list[str] = []
    for i, o in enumerate(spec.outcomes):
        if o.variable not in values:
            problems.append(f"training_gap.outcomes.{i}.variable: {o.variable!r} is not a single-choice question "
                            "or derived variable of the codebook")
            continue
        bad = [s for s in o.success if s not in values[o.variable]]
        if bad:
            problems.append(f"training_gap.outcomes.{i}.success: {o.variable} has no answer {bad} "
                            f"(its answers: {', '.join(values[o.variable])})")
        if set(o.success) >= set(values[o.variable]):
            problems.append(f"training_gap.outcomes.{i}.success: every answer of {o.variable} is a success; "
                            "nothing is left to model")
    for i, r in enumerate(spec.regressors):
        if r.variable not in values:
            problems.append(f"training_gap.regressors.{i}.variable: {r.variable!r} is not a single-choice question "
                            "or derived variable of the codebook")
        elif r.reference is not None and r.reference not in values[r.variable]:
            problems.append(f"training_gap.regressors.{i}.reference: {r.variable} has no level {r.reference!r} "
                            f"(its levels: {', '.join(values[r.variable])})")
    if problems:
        raise ConfigError(assessment.path.parent / assessment.config.models, problems,
                          "name variables and answers as the officer codebook spells them")


def _check_recommendations(assessment: "Assessment") -> None:
    """Each recommendation's tracking measures must be indicators, themes and service types the assessment has."""
    recs = assessment.recommendations
    if recs is None:
        return
    indicators = {i.id for i in assessment.indicators.indicators}
    themes = {t.code for f in (assessment.frames.stakeholder_interviews, assessment.frames.survivor_interviews)
              for t in f.themes}
    services = {s.id for s in assessment.config.services.types} if assessment.config.services else set()
    problems = []
    for r in recs.recommendations:
        for t in r.indicators:
            if t.indicator not in indicators:
                problems.append(f"recommendation {r.number}: unknown indicator {t.indicator!r}")
        for code in r.themes:
            if code not in themes:
                problems.append(f"recommendation {r.number}: unknown interview theme {code!r}")
        for code in r.services:
            if code not in services:
                problems.append(f"recommendation {r.number}: unknown service type {code!r}")
    if problems:
        raise ConfigError(assessment.path.parent / assessment.config.report.recommendations, problems)


def load_assessment(path: Path | str | None = None, require_geometry: bool = True) -> Assessment:
    """Load and validate an assessment config and the codebooks and indicators it names.

    ``require_geometry=False``: the county geometry file the config names may be missing (``htna
    geometry`` is about to write it)."""
    path = Path(path or os.environ.get("HTNA_CONFIG") or DEFAULT_CONFIG).resolve()
    config: AssessmentConfig = _validate(AssessmentConfig, path)
    base = path.parent
    codebook: Codebook = _validate(Codebook, base / config.codebooks.officer_survey)
    frames: InterviewFrames = _validate(InterviewFrames, base / config.codebooks.interviews)
    indicators: IndicatorSet = _validate(IndicatorSet, base / config.indicators)
    assessment = Assessment(path, config, codebook, frames, indicators)
    assessment.check_cross_references()
    _check_codes(assessment)
    assessment.models = _validate(ModelSpecs, base / config.models)
    _check_models(assessment)
    for setting in ("redcap_data_dictionary", "qualtrics_survey_file"):
        named = getattr(codebook, setting)
        if named and not assessment.codebook_file(named).is_file():
            raise ConfigError(base / config.codebooks.officer_survey,
                              f"{setting}: {assessment.codebook_file(named)} not found",
                              "give the path of the file relative to the codebook, or remove the setting")
    if require_geometry and config.report.county_geometry and not (base / config.report.county_geometry).is_file():
        raise ConfigError(path, f"report.county_geometry: {base / config.report.county_geometry} not found",
                          f"create it with `htna geometry --config {path}`, or remove the setting (the report "
                          "then has no map)")
    if config.report.recommendations:
        assessment.recommendations = _validate(RecommendationSet, base / config.report.recommendations)
        _check_recommendations(assessment)
    if config.report.context:
        assessment.context = _validate(PublishedContext, base / config.report.context)
        lists = {li.name for li in config.prevalence.lists}
        unknown = sorted({c.list for c in assessment.context.case_counts} - lists)
        if unknown:
            raise ConfigError(base / config.report.context, f"case_counts name unknown lists: {', '.join(unknown)}",
                              f"use a name of prevalence.lists in {path.name}: {', '.join(sorted(lists))}")
    _check_weighting(assessment)
    if config.small_area.covariates:
        assessment.county_covariate_values = _read_county_covariates(assessment)
    return assessment


def _read_county_covariates(assessment: Assessment) -> dict[str, dict[str, float]]:
    """The county covariates file: every county once, numeric values; errors name row and column."""
    import csv

    path = assessment._resolve(assessment.config.small_area.covariates or "")
    where = assessment.path
    if not path.is_file():
        raise ConfigError(where, f"small_area.covariates: {path} not found",
                          "give the CSV's path relative to the config folder, or remove the setting")
    lines = [ln for ln in path.read_text(encoding="utf-8-sig").splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    rows = list(csv.reader(lines))
    if not rows or "county" not in rows[0]:
        raise ConfigError(path, "header: no `county` column", "the first non-comment line names the columns")
    header = [h.strip() for h in rows[0]]
    columns = [h for h in header if h != "county"]
    if not columns:
        raise ConfigError(path, "header: no covariate columns besides `county`")
    bad_names = [h for h in columns if not re.fullmatch(r"[a-z][a-z0-9_]*", h)]
    if bad_names:
        raise ConfigError(path, f"header: column names must be lower_snake_case: {', '.join(bad_names)}")
    names = set(assessment.county_names)
    out: dict[str, dict[str, float]] = {}
    problems = []
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            problems.append(f"data row {i - 1}: {len(row)} fields, the header has {len(header)}")
            continue
        rec = dict(zip(header, (x.strip() for x in row)))
        county = rec["county"]
        if county not in names:
            problems.append(f"data row {i - 1}, column county: not a county of the config")
            continue
        if county in out:
            problems.append(f"data row {i - 1}, column county: {county} given twice")
            continue
        values = {}
        for c in columns:
            try:
                v = float(rec[c])
                if v != v or v in (float("inf"), float("-inf")):
                    raise ValueError
                values[c] = v
            except ValueError:
                problems.append(f"data row {i - 1} ({county}), column {c}: not a number")
        out[county] = values
    missing = sorted(names - set(out))
    if missing:
        problems.append(f"counties without a row: {', '.join(missing)}")
    if problems:
        raise ConfigError(path, problems, "one row per county of the config, a number in every covariate column")
    return out
