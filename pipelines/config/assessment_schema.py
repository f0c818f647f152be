"""What ``assessment.yaml`` may say: the state, counties, weighting, disclosure, estimates, small-area,
prevalence, services, report and execution settings, each a strict model validated on load."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipelines.config.base import _Strict
from pipelines.config.instruments import (  # noqa: F401 - re-exported
    OFFICER_INSTRUMENT, WEIGHTING_POPULATIONS, Instrument, SurveyEvidence, instrument_problems)

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "maine" / "assessment.yaml"




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
    "stakeholder_survey": "the stakeholder survey export",
    "stakeholder_interviews": "the stakeholder interview matrix",
    "survivor_interviews": "the survivor interview matrix",
    "provider_inventory": "the service-provider inventory",
    "case_lists": "the agencies' case lists",
}


class InputRequirements(_Strict):
    """Which of a wave's inputs must be in its folder (required), may be missing (optional: the pages
    that use it say so) or are not collected by design (absent)."""

    officer_survey: InputStatus = "required"
    stakeholder_survey: InputStatus = "optional"
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
    stakeholder_survey: InputStatus | None = None
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
    survey_evidence: SurveyEvidence | None = None  # a survey speaking where the inventory is silent

    def names(self) -> tuple[dict[str, str], dict[str, str]]:
        """Every id, label and alias (by :func:`name_key`) -> the service type's id, and -> the hours value's id."""
        return ({name_key(n): t.id for t in self.types for n in (t.id, t.label, *t.aliases)},
                {name_key(n): h.id for h in self.hours for n in (h.id, h.label, *h.aliases)})

    def type_of(self, text: str) -> str | None:
        """The service type an id, label or alias names, or None."""
        return self.names()[0].get(name_key(text))

    def hours_of(self, text: str) -> HoursValue | None:
        """The hours value an id, label or alias names, or None."""
        return {h.id: h for h in self.hours}.get(self.names()[1].get(name_key(text), ""))

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
        for what, names, entries in (
                ("service type", "service type names or aliases used by two types",
                 [(t.id, [t.id, t.label, *t.aliases]) for t in self.types]),
                ("hours value", "hours labels or aliases used by two hours values",
                 [(h.id, [h.id, h.label, *h.aliases]) for h in self.hours])):
            idents = [ident for ident, _ in entries]
            if len(set(idents)) != len(idents):
                problems.append(f"each {what} needs its own id")
            twice = clashes(entries)
            if twice:
                problems.append(f"{names}: {', '.join(twice)}")
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
    # the folder of the site's page templates (Jinja, one per page; default: reports/templates of the checkout)
    templates: str | None = None
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
    #: the survey instruments (the officer survey first); left out: the officer survey alone, from codebooks,
    #: indicators and models above
    instruments: list[Instrument] = []

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
        problems += instrument_problems(self.instruments, self.codebooks.officer_survey, self.indicators, self.models,
                                        WAVE_INPUTS)
        unknown_waves = sorted(set(self.wave_inputs.waves) - set(self.waves))
        if unknown_waves:
            problems.append(f"wave_inputs.waves names waves not in `waves`: {', '.join(unknown_waves)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self
