"""How a survey instrument's answers speak to the services-by-county page (``services.survey_evidence``):
which column of the instrument's responses says an organisation provides which service type, and which
of its hours answers mean after-hours cover. The one home of that mapping: the config loader checks it
(every option a service type or listed as none, every hours answer an hours value) and the estimates
read it."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.config.documents import Option


@dataclass(frozen=True)
class EvidenceMapping:
    """The survey evidence of ``services.survey_evidence``, resolved against the instrument's codebook."""

    instrument: str
    county: str                                   # the responses' column of the county served
    columns: dict[str, tuple[str, ...]]           # service type id -> the yes/no columns that name it
    hours: str | None                             # the responses' column of the hours, if any
    after_hours: tuple[str, ...]                  # the hours answers that mean reachable after hours


def evidence_mapping(assessment) -> tuple[EvidenceMapping | None, list[str]]:
    """(the mapping, or None without ``services.survey_evidence``; the problems found, each naming the place)."""
    services = assessment.config.services
    evidence = services.survey_evidence if services is not None else None
    if evidence is None:
        return None, []
    where = "services.survey_evidence"
    others = {i.id for i in assessment.other_instruments}
    if evidence.instrument not in others:
        return None, [f"{where}.instrument: {evidence.instrument!r} is not a survey instrument of the instruments "
                      f"block other than the officer survey ({', '.join(sorted(others)) or 'none'})"]
    codebook = assessment.instrument_documents[evidence.instrument][0]
    variables = {v.name: v for v in codebook.variables}
    problems: list[str] = []
    county = variables.get(evidence.county)
    if county is None or county.type != "single" or county.options_from != "counties":
        problems.append(f"{where}.county: {evidence.county!r} is not a question of the instrument's codebook "
                        "answered with a county (type single, options_from: counties)")
    provided = variables.get(evidence.services)
    columns: dict[str, list[str]] = {}
    if provided is None or provided.type != "multi":
        problems.append(f"{where}.services: {evidence.services!r} is not a multi-select question of the "
                        "instrument's codebook")
    else:
        options = [o for o in provided.options or [] if isinstance(o, Option)]
        for o in options:
            if o.code in evidence.not_services:
                continue
            found = services.type_of(o.code) or services.type_of(o.label)
            if found is None:
                problems.append(f"{where}.services: option {o.code!r} of {provided.name} names no service type "
                                "(add its code or label to the type's aliases in services.types, or list it in "
                                "not_services)")
                continue
            columns.setdefault(found, []).append(f"{provided.name}__{o.code}")
        unknown = sorted(set(evidence.not_services) - {o.code for o in options})
        if unknown:
            problems.append(f"{where}.not_services: {', '.join(unknown)} are not options of {provided.name}")
    after: list[str] = []
    if evidence.hours is not None:
        hours = variables.get(evidence.hours)
        if hours is None or hours.type != "single":
            problems.append(f"{where}.hours: {evidence.hours!r} is not a single-choice question of the "
                            "instrument's codebook")
        else:
            view = assessment.for_instrument(evidence.instrument)
            for answer in view.options(hours):
                value = services.hours_of(answer)
                if value is None:
                    problems.append(f"{where}.hours: the answer {answer!r} of {hours.name} is no hours value "
                                    "(add it to the aliases of one in services.hours)")
                elif value.after_hours:
                    after.append(answer)
    if problems:
        return None, problems
    return EvidenceMapping(evidence.instrument, evidence.county, {t: tuple(c) for t, c in columns.items()},
                           evidence.hours, tuple(after)), []
