"""``htna validate``: the quick check an evaluator runs on an export before loading it.

Reads the file as the pipeline would (format and encoding detected, or forced), maps it onto the
codebook and reports: format, platform, layout and encoding, the respondent id column, respondents,
which codebook variables were found in which export columns and how (column name, ImportId,
question text, alias), questions in the export that match nothing (with their text), variables the
export lacks (not collected in this wave), the codes seen in each coded column beside the codes
declared and by whom, answers that are not in the codebook, rows that would be quarantined and
why. When the file cannot be loaded (a required question missing, codes that do not fit) it still
shows everything found up to that point. Nothing is written. The result renders as text for people or as JSON for machines.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.config import Assessment, Codebook
from pipelines.errors import ConfigError, InputError


@dataclass
class ValidationResult:
    """Everything ``htna validate`` says about one file (no respondent data: codes seen in a coded
    column are the survey's declared metadata, not anyone's answers)."""

    file: str
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
    #: hold the officer survey back (no estimates) until they pass
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
        lines = [f"File: {self.file}"]
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
            lines.append(f"Result: WOULD BE HELD BACK — the run would stop the officer survey's estimates at "
                         f"{len(self.blocking)} blocking check(s): {', '.join(b['check'] for b in self.blocking)}")
        else:
            lines.append("Result: " + ("OK" if not self.has_warnings else "LOADS, with the warnings above"))
        return "\n".join(lines)


def load_codebook(path: Path | str) -> Codebook:
    """Load and validate an officer codebook YAML on its own (for ``--codebook``)."""
    from pipelines.config import _validate

    return _validate(Codebook, Path(path))


def with_codebook(assessment: Assessment, codebook: Codebook) -> Assessment:
    """The same assessment with another officer codebook (its declared codes checked against it)."""
    from pipelines.config import _check_codes

    patched = Assessment(assessment.path, assessment.config, codebook, assessment.frames, assessment.indicators)
    _check_codes(patched)
    return patched


def validate_export(path: Path | str, assessment: Assessment, format: str | None = None,  # noqa: A002
                    wave: str | None = None) -> ValidationResult:
    """Check one export against the assessment's codebook, then run the quality checks the run would
    (the same suites and rules, :func:`assets.quality.screening.screen_wave`) and list the blocking ones
    that would fail. InputErrors become ``error`` (with everything found before them); ConfigErrors
    propagate. ``wave``: the wave the file is for (default: the config's latest)."""
    from assets.ingest.officer_responses import IngestReport, to_officer_responses
    from assets.ingest.readers import read_export

    result = ValidationResult(file=str(path), wave=wave or assessment.config.waves[-1])
    report = IngestReport()
    try:
        raw = read_export(path, format=format)
        result.format, result.encoding = raw.describe_format(), raw.encoding
        result.platform, result.layout = raw.platform, raw.format
        accepted, quarantine, _ = to_officer_responses(raw, assessment, result.wave, report=report)
        n_rows = raw.n_rows
    except InputError as exc:
        result.error = str(exc)
    except ConfigError:
        raise
    else:
        result.ok = True
        _blocking_checks(result, assessment, accepted, quarantine, report, n_rows)
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


def _blocking_checks(result: ValidationResult, assessment: Assessment, accepted, quarantine, report,
                     n_rows: int) -> None:
    """Screen the mapped rows exactly as the run's quality stage does (completeness, eligibility, wave
    size, county coverage and the rest of the officer suite), and record the blocking failures."""
    import pandas as pd

    from assets.ingest.officer_responses import not_collected_in, survey_questions
    from assets.quality.screening import screen_wave

    exports = pd.DataFrame({"dataset": ["officer_survey"], "rows": [n_rows]})
    screening = screen_wave(assessment, str(result.wave), {"officer_responses": accepted}, exports=exports,
                            ingest_quarantine=quarantine,
                            not_collected=not_collected_in(survey_questions(report, assessment, str(result.wave))))
    officers = screening.datasets["officer_responses"]
    result.checks_run = len(officers.results)
    result.blocking = [{"check": r.check, "description": r.description, "message": r.outcome.message, "fix": r.fix}
                       for r in officers.blocking_failures()]
