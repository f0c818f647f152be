"""Loading the config: read each YAML document safely, validate it, check the documents against each
other (codes, weighting margins, models, recommendations, county covariates) and hand the stages one
``Assessment``."""

from __future__ import annotations

import os
import re
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pipelines.config.assessment_schema import (DEFAULT_CONFIG, OFFICER_INSTRUMENT, REPO_ROOT, AssessmentConfig,
                                                Instrument, RecommendationSet)
from pipelines.config.documents import (
    Codebook, Derived, IndicatorSet, InterviewFrames, ModelSpecs, Option, Variable)
from pipelines.errors import ConfigError
from pipelines.published_context import PublishedContext

# --------------------------------------------------------------------------- loading


#: libyaml's safe loader when PyYAML was built with it (about 7x faster; the config is read by every asset step)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# A run's steps each load the config (some 40 loads a run, 20 ms each). A load is kept and handed out
# again while every file it read is unchanged (the same bytes: compared in full, not by modification
# time, which may not change between two quick edits) and every file it only looked for is still there
# or still missing. So an edited config is read afresh at the next load, as before.

_RECORDING = threading.local()  # .files: what the load in progress read or looked for, or None
#: (file, read: its bytes; else: only whether it is a file) -> its bytes (None: missing) or whether it is a file
_Files = dict[tuple[Path, bool], "bytes | bool | None"]
_LOADED: dict[tuple, tuple[_Files, "Assessment"]] = {}


def _state(path: Path, read: bool) -> bytes | bool | None:
    if not read:
        return path.is_file()
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:  # (a folder, no permission: never equal to a file's bytes; the load reports it)
        return b"\0unreadable"


def _note(path: Path, read: bool, state: bytes | bool | None) -> None:
    files = getattr(_RECORDING, "files", None)
    if files is not None:
        files.setdefault((path, read), state)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, noted as read by the load in progress."""
    data = path.read_bytes()
    _note(path, True, data)
    return data


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a file, noted as looked for by the load in progress."""
    found = path.is_file()
    _note(path, False, found)
    return found


def _read_yaml(path: Path) -> Any:
    try:
        text = _read_bytes(path).decode("utf-8")
    except FileNotFoundError:
        _note(path, True, None)
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
        #: the files the codebook and indicators above were read from (an instrument's view has its own)
        self.codebook_path: Path = (path.parent / config.codebooks.officer_survey).resolve()
        self.indicators_path: Path = (path.parent / config.indicators).resolve()
        #: the codebooks and indicators of the instruments other than the officer survey, by id
        self.instrument_documents: dict[str, tuple[Codebook, IndicatorSet]] = {}

    @property
    def instruments(self) -> list[Instrument]:
        """The survey instruments, the officer survey first (from ``codebooks``/``indicators``/``models``
        when the config lists none)."""
        if self.config.instruments:
            return list(self.config.instruments)
        return [Instrument(id=OFFICER_INSTRUMENT, label="Officer survey", codebook=self.config.codebooks.officer_survey,
                           indicators=self.config.indicators, models=self.config.models,
                           expectations="officer_responses", weighting="officer_headcounts",
                           disclosure_unit="officers", report_section="law-enforcement.html")]

    @property
    def other_instruments(self) -> list[Instrument]:
        """The instruments built by the instrument asset factory (every one but the officer survey)."""
        return [i for i in self.instruments if i.id != OFFICER_INSTRUMENT]

    def instrument(self, instrument_id: str) -> Instrument:
        for i in self.instruments:
            if i.id == instrument_id:
                return i
        raise KeyError(f"the config has no instrument {instrument_id!r}")

    def for_instrument(self, instrument_id: str) -> "Assessment":
        """The assessment as one instrument sees it: its codebook and indicators in place of the officer
        survey's (the same config, counties and frames); the officer survey's is this assessment itself."""
        if instrument_id == OFFICER_INSTRUMENT:
            return self
        inst = self.instrument(instrument_id)
        codebook, indicators = self.instrument_documents[instrument_id]
        view = Assessment(self.path, self.config, codebook, self.frames, indicators)
        view.recommendations, view.context = self.recommendations, self.context
        view.county_covariate_values = self.county_covariate_values
        view.codebook_path = self._resolve(inst.codebook)
        view.indicators_path = self._resolve(inst.indicators)
        view.instrument_documents = self.instrument_documents
        return view

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
        return p if p.is_absolute() else (self.codebook_path.parent / p).resolve()

    @property
    def report_templates(self) -> Path:
        """The folder of the site's page templates: ``report.templates``, else the checkout's own."""
        if self.config.report.templates:
            return self._resolve(self.config.report.templates)
        return REPO_ROOT / "reports" / "templates"

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
            raise ConfigError(self.indicators_path, problems)


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
        raise ConfigError(assessment.codebook_path, problems,
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
    geometry`` is about to write it). The same load is returned again while none of the files it
    read or looked for has changed (see :data:`_LOADED`); treat it as read-only."""
    path = Path(path or os.environ.get("HTNA_CONFIG") or DEFAULT_CONFIG).resolve()
    key = (path, require_geometry, os.environ.get("HTNA_EXPECTATIONS"), os.environ.get("HOME"))
    kept = _LOADED.get(key)
    if kept is not None and all(_state(f, read) == state for (f, read), state in kept[0].items()):
        return kept[1]
    _RECORDING.files = files = {}
    try:
        assessment = _load_assessment(path, require_geometry)
    finally:
        _RECORDING.files = None
    _LOADED[key] = (files, assessment)
    return assessment


def _load_assessment(path: Path, require_geometry: bool) -> Assessment:
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
        if named and not _is_file(assessment.codebook_file(named)):
            raise ConfigError(base / config.codebooks.officer_survey,
                              f"{setting}: {assessment.codebook_file(named)} not found",
                              "give the path of the file relative to the codebook, or remove the setting")
    if require_geometry and config.report.county_geometry and not _is_file(base / config.report.county_geometry):
        raise ConfigError(path, f"report.county_geometry: {base / config.report.county_geometry} not found",
                          f"create it with `htna geometry --config {path}`, or remove the setting (the report "
                          "then has no map)")
    if config.report.templates and not (assessment.report_templates / "base.html.j2").is_file():
        raise ConfigError(path, f"report.templates: {assessment.report_templates} is not a folder of page "
                          "templates (no base.html.j2 in it)",
                          "copy reports/templates of the checkout there and edit the copy, or remove the setting")
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
    _load_instruments(assessment)
    _check_survey_evidence(assessment)
    if config.small_area.covariates:
        assessment.county_covariate_values = _read_county_covariates(assessment)
    return assessment


def _load_instruments(assessment: Assessment) -> None:
    """Read and check every instrument but the officer survey: its codebook and indicators (the same rules as
    the officer survey's), its breakdown domains, and its quality suite's file."""
    from pipelines.config.assessment_schema import REPO_ROOT

    for inst in assessment.other_instruments:
        codebook: Codebook = _validate(Codebook, assessment._resolve(inst.codebook))
        indicators: IndicatorSet = _validate(IndicatorSet, assessment._resolve(inst.indicators))
        assessment.instrument_documents[inst.id] = (codebook, indicators)
        view = assessment.for_instrument(inst.id)
        view.check_cross_references()
        _check_codes(view)
        if codebook.survey != inst.id:
            raise ConfigError(view.codebook_path, f"survey: {codebook.survey!r} is not the instrument's id {inst.id!r}",
                              "name the instrument's id here, as assessment.yaml's instruments block does")
        single = {v.name for v in codebook.variables if v.type == "single"} | {d.name for d in codebook.derived}
        unknown = [d for d in inst.domains if d not in single]
        if unknown:
            raise ConfigError(assessment.path, f"instruments {inst.id}: domains {unknown} are not single-choice "
                              f"questions or derived variables of {inst.codebook}")
        suites = Path(os.environ.get("HTNA_EXPECTATIONS") or REPO_ROOT / "expectations")
        if not _is_file(suites / f"{inst.expectations}.json"):
            raise ConfigError(assessment.path, f"instruments {inst.id}: no expectation suite "
                              f"{suites / (inst.expectations + '.json')}",
                              "copy expectations/officer_responses.json and adapt it to the instrument's codebook")


def _check_survey_evidence(assessment: Assessment) -> None:
    """``services.survey_evidence`` against the instrument's codebook (:mod:`pipelines.config.evidence`)."""
    from pipelines.config.evidence import evidence_mapping

    _, problems = evidence_mapping(assessment)
    if problems:
        raise ConfigError(assessment.path, problems,
                          "point services.survey_evidence at an instrument's county, services and hours questions, or "
                          "remove it (the services page then shows the inventory alone)")


def _read_county_covariates(assessment: Assessment) -> dict[str, dict[str, float]]:
    """The county covariates file: every county once, numeric values; errors name row and column."""
    import csv

    path = assessment._resolve(assessment.config.small_area.covariates or "")
    where = assessment.path
    if not path.is_file():
        raise ConfigError(where, f"small_area.covariates: {path} not found",
                          "give the CSV's path relative to the config folder, or remove the setting")
    lines = [ln for ln in _read_bytes(path).decode("utf-8-sig").splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
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
