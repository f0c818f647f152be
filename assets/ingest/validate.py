"""``htna validate``: the quick check an evaluator runs on an export before loading it.

Any survey instrument's export (the officer survey, the stakeholder survey: the ``instruments:`` of the
config), each against its own codebook and quality suite, by one code path: the instrument is named or
found from the file's name (``stakeholder_survey.csv``), and ``htna validate`` checks a wave folder
file by file (:func:`instrument_exports`).

Reads the file as the pipeline would (format and encoding detected, or forced), maps it onto its
codebook and reports: format, platform, layout and encoding, the respondent id column, respondents,
which codebook variables were found in which export columns and how (column name, ImportId,
question text, alias), questions in the export that match nothing (with their text), variables the
export lacks (not collected in this wave), the codes seen in each coded column beside the codes
declared and by whom, answers that are not in the codebook, rows that would be quarantined and
why. When the file cannot be loaded (a required question missing, codes that do not fit) it still
shows everything found up to that point. Nothing is written. The result renders as text for people or as JSON for machines.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.config import OFFICER_INSTRUMENT, Assessment, Codebook, Instrument
from pipelines.errors import ConfigError, InputError


@dataclass
class ValidationResult:
    """Everything ``htna validate`` says about one file (no respondent data: codes seen in a coded
    column are the survey's declared metadata, not anyone's answers)."""

    file: str
    instrument: str = "officer_survey"
    instrument_label: str = "Officer survey"
    ok: bool = False
    error: str | None = None
    format: str | None = None
    platform: str | None = None
    layout: str | None = None
    encoding: str | None = None
    respondents: int = 0
    would_accept: int = 0
    would_quarantine: dict[str, int] = field(default_factory=dict)
    respondent_id_column: str | None = None
    matched: dict[str, str] = field(default_factory=dict)
    matched_columns: dict[str, str] = field(default_factory=dict)
    unmatched_questions: list[str] = field(default_factory=list)
    missing_variables: list[str] = field(default_factory=list)
    not_collected: list[str] = field(default_factory=list)
    codes: list[dict] = field(default_factory=list)
    metadata_files: list[str] = field(default_factory=list)
    value_problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unplaced_counties: int = 0
    wave: str | None = None
    checks_run: int = 0
    #: the run's blocking quality checks that would fail (check, description, message, fix): the run would
    #: hold the instrument back (no estimates) until they pass
    blocking: list[dict] = field(default_factory=list)

    @property
    def would_block(self) -> bool:
        return bool(self.blocking)

    @property
    def has_warnings(self) -> bool:
        return bool(self.unmatched_questions or self.missing_variables or self.value_problems or self.notes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["warnings"] = self.has_warnings
        return d

    def render(self) -> str:
        """The report as text for a person: what was detected and matched, whatever else failed."""
        lines = [f"File: {self.file}", f"Instrument: {self.instrument_label} ({self.instrument})"]
        if self.format is None:  # not readable at all: nothing was detected
            lines += ["Result: CANNOT LOAD", f"  {self.error}"]
            return "\n".join(lines)
        lines.append(f"Format: {self.format} (platform: {self.platform}; layout: {self.layout}); "
                     f"encoding: {self.encoding}")
        if self.metadata_files:
            lines.append(f"Answer codes declared by: {', '.join(self.metadata_files)}")
        if self.respondent_id_column:
            lines.append(f"Respondent id: {self.respondent_id_column}")
        if not self.error:
            quarantined = sum(self.would_quarantine.values())
            lines.append(f"Respondent rows: {self.respondents} (would accept {self.would_accept}, "
                         f"quarantine {quarantined})")
            for reason, n in sorted(self.would_quarantine.items()):
                lines.append(f"  quarantined - {reason}: {n}")
        lines.append(f"Codebook variables found: {len(self.matched)}")
        for name, how in self.matched.items():
            lines.append(f"  {name} <- {self.matched_columns.get(name, '?')}"
                         + (f" (matched by {how})" if how != "question text" else ""))
        if self.codes:
            lines.append(f"Coded columns ({len(self.codes)}): codes seen / declared")
            for c in self.codes:
                lines.append(f"  {c['variable']} ({c['column']}): seen {', '.join(c['codes_seen']) or '-'}; "
                             f"declared {', '.join(c['declared']) or '-'} by {c['declared_by']}")
        sections = [("Questions in the export that match no codebook variable", self.unmatched_questions),
                    ("Codebook variables missing from the export (not collected in this wave)", self.missing_variables),
                    ("Answers not in the codebook", self.value_problems),
                    ("Notes", self.notes)]
        for title, items in sections:
            if items:
                lines.append(f"{title} ({len(items)}):")
                lines += [f"  - {x}" for x in items[:50]]
                if len(items) > 50:
                    lines.append(f"  ... and {len(items) - 50} more")
        if self.unmatched_questions and self.missing_variables:
            lines.append("Hint: if an unmatched question is a reworded codebook question, add its wording (or its "
                         "column name / ImportId) to that variable's `aliases` in the codebook.")
        if not self.error and self.checks_run:
            lines.append(f"Quality checks of the run (wave {self.wave}): {self.checks_run} run, "
                         f"{len(self.blocking)} blocking check(s) would fail")
            for b in self.blocking:
                lines.append(f"  - BLOCKS: {b['check']}: {b['description']} — {b['message']}")
                if b.get("fix"):
                    lines.append(f"    fix: {b['fix']}")
        if self.error:
            lines += ["Result: CANNOT LOAD", f"  {self.error}"]
        elif self.blocking:
            lines.append(f"Result: WOULD BE HELD BACK — the run would stop the {self.instrument_label.lower()}'s "
                         "estimates at "
                         f"{len(self.blocking)} blocking check(s): {', '.join(b['check'] for b in self.blocking)}")
        else:
            lines.append("Result: " + ("OK" if not self.has_warnings else "LOADS, with the warnings above"))
        return "\n".join(lines)


def load_codebook(path: Path | str) -> Codebook:
    """Load and validate an officer codebook YAML on its own (for ``--codebook``)."""
    from pipelines.config import _validate

    return _validate(Codebook, Path(path))


def with_codebook(assessment: Assessment, codebook: Codebook) -> Assessment:
    """The same assessment with another officer codebook (its declared codes checked against it); every
    other instrument keeps its own."""
    from pipelines.config import _check_codes

    patched = Assessment(assessment.path, assessment.config, codebook, assessment.frames, assessment.indicators)
    patched.instrument_documents = assessment.instrument_documents  # the other instruments keep their codebooks
    _check_codes(patched)
    return patched


def instrument_of_file(path: Path | str, assessment: Assessment) -> Instrument:
    """The instrument whose export ``path`` is, by its name as the wave folder has it
    (``stakeholder_survey.csv`` is the stakeholder survey's); any other name: the officer survey's."""
    stem = Path(path).stem.lower()
    return next((i for i in assessment.instruments if i.id == stem), assessment.instruments[0])


def instrument_exports(folder: Path | str, assessment: Assessment) -> list[tuple[Instrument, Path]]:
    """Each instrument's export in a wave folder, as the run finds it (instruments without one left out)."""
    from assets.ingest.exports import DATASET_FILES

    folder = Path(folder)
    found = []
    for inst in assessment.instruments:
        path = next((folder / n for n in DATASET_FILES.get(inst.id, ()) if os.path.lexists(folder / n)), None)
        if path is not None:
            found.append((inst, path))
    return found


def validate_export(path: Path | str, assessment: Assessment, format: str | None = None,  # noqa: A002
                    wave: str | None = None, instrument: Instrument | str | None = None) -> ValidationResult:
    """Check one export of ``instrument`` (default: found from the file's name, :func:`instrument_of_file`)
    against its codebook, then run the quality checks the run would (its suite and rules,
    :func:`assets.quality.screening.screen_dataset`) and list the blocking ones that would fail.
    InputErrors become ``error`` (with everything found before them, and the file, row, column and fix
    they name); ConfigErrors propagate. ``wave``: the wave the file is for (default: the config's latest)."""
    from assets.ingest.officer_responses import IngestReport, to_officer_responses
    from assets.ingest.readers import read_export

    if instrument is None:
        instrument = instrument_of_file(path, assessment)
    elif isinstance(instrument, str):
        instrument = assessment.instrument(instrument)
    view = assessment.for_instrument(instrument.id)  # its codebook, indicators and declared codes
    result = ValidationResult(file=str(path), instrument=instrument.id, instrument_label=instrument.label,
                              wave=wave or assessment.config.waves[-1])
    report = IngestReport()
    try:
        raw = read_export(path, format=format)
        result.format, result.encoding = raw.describe_format(), raw.encoding
        result.platform, result.layout = raw.platform, raw.format
        accepted, quarantine, _ = to_officer_responses(raw, view, result.wave, report=report,
                                                       dataset=instrument.responses_asset)
        n_rows = raw.n_rows
    except InputError as exc:
        result.error = str(exc)
    except ConfigError:
        raise
    else:
        result.ok = True
        _blocking_checks(result, view, instrument, accepted, quarantine, report, n_rows)
    result.respondents = report.rows_read
    result.would_accept = report.rows_accepted
    result.would_quarantine = dict(report.quarantined)
    result.respondent_id_column = report.respondent_id_column or None
    result.matched = dict(report.matched_by)
    result.matched_columns = dict(report.columns)
    result.unmatched_questions = list(report.unmatched_questions)
    result.missing_variables = list(report.missing_variables)
    result.not_collected = list(report.not_collected)
    result.codes = list(report.codes)
    result.metadata_files = list(report.metadata_files)
    result.value_problems = list(report.value_problems)
    result.notes = list(report.notes)
    result.unplaced_counties = report.unplaced_counties
    return result


def _blocking_checks(result: ValidationResult, view: Assessment, instrument: Instrument, accepted, quarantine,
                     report, n_rows: int) -> None:
    """Screen the mapped rows exactly as the run's quality stage does (the instrument's suite: completeness,
    eligibility, wave size, county coverage, ..., and the reconciliation of rows read), and record the
    blocking failures. Only the officer survey's run skips the checks of questions not collected."""
    from assets.ingest.officer_responses import not_collected_in, survey_questions
    from assets.quality.screening import screen_dataset
    from assets.quality.suites import load_suite

    not_collected = (not_collected_in(survey_questions(report, view, str(result.wave)))
                     if instrument.id == OFFICER_INSTRUMENT else set())
    screened = screen_dataset(accepted, load_suite(instrument.expectations, view), view, str(result.wave),
                              rows_read=n_rows, ingest_quarantine=quarantine, not_collected=not_collected,
                              reconcile=True)
    result.checks_run = len(screened.results)
    result.blocking = [{"check": r.check, "description": r.description, "message": r.outcome.message, "fix": r.fix}
                       for r in screened.blocking_failures()]

