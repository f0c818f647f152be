"""What a finished run tells the evaluator, in a few lines (part of the command line, above the stages).

``htna run`` hides Dagster's log; a warning that matters must not be hidden with it. This reads the
run's materialisation metadata only (counts and names, never a value from the data).
"""

from __future__ import annotations


def materialization_metadata(result, earlier: dict[str, dict] | None = None) -> dict[str, dict]:
    """Asset -> the metadata of its materialisation by the run ``result`` (None: no run), over
    ``earlier``: that of the assets the run skipped, as their last materialisation recorded it."""
    metadata: dict[str, dict] = dict(earlier or {})
    for event in (result.all_events if result is not None else []):
        if event.is_step_materialization:
            mat = event.step_materialization_data.materialization
            metadata[mat.asset_key.to_user_string()] = {k: v.value for k, v in mat.metadata.items()}
    return metadata


def run_summary(metadata: dict[str, dict]) -> list[str]:
    """The warnings of a finished run that matter to the evaluator, in a few lines: optional inputs
    the wave lacks, rows held back (quarantined) and figures hidden by the publication gate.
    ``metadata``: :func:`materialization_metadata` of the run."""
    from assets.ingest.readiness import ABSENT_STATEMENT

    lines = []
    absent = metadata.get("survey_exports", {}).get("absent_optional") or []
    if absent:
        lines.append("missing optional inputs: " + "; ".join(ABSENT_STATEMENT.get(n, n) for n in absent)
                     + " (the pages that would use them say so)")
    total = int(metadata.get("quarantine", {}).get("rows") or 0)  # survey rows: ingestion and quality checks
    inventory = int(metadata.get("service_providers", {}).get("rows_quarantined") or 0)
    if total or inventory:
        parts = [f"{total} survey/interview row(s) (assessment.quarantine)"] if total else []
        if inventory:
            parts.append(f"{inventory} provider inventory row(s) (assessment.service_providers_quarantine)")
        lines.append("rows quarantined: " + "; ".join(parts) + " — reasons on the data-quality page")
    hidden = sum(int(m.get("hidden") or 0) for k, m in metadata.items() if k.startswith("published_"))
    if hidden:
        lines.append(f"cells suppressed by the publication gate: {hidden} (listed on the data-quality page)")
    return lines
