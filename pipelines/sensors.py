"""The drop-folder sensor: a wave folder that is ready (complete and declared or settled:
:func:`assets.ingest.readiness.wave_readiness`) and whose content differs from the last successful run
of that wave (whoever started it: ``htna run``, the UI or this sensor) requests one run of that wave.

Each tick reads the assessment config again, so a year added to ``waves:`` is watched (and added to
the instance's wave partitions) without reloading the code location. The cursor is for people: one
line per wave saying what the folder holds and what the sensor did about it.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from assets.ingest.drop_folder import scan_drop_folder
from assets.ingest.readiness import wave_readiness
from pipelines.coordination import FINGERPRINT_TAG, STARTED_BY_TAG, WAREHOUSE_TAG, last_successful_run, runs_in_progress
from pipelines.partitions import WAVES
from pipelines.resources import AssessmentSettings

#: file hashes by wave, kept between ticks in the code server's process (an unchanged export is not re-read)
_FILE_CACHE: dict[str, dict] = {}


def _short(fingerprint: str) -> str:
    return f"sha256 {fingerprint[:12]}"


def evaluate_drop_folder(instance: dg.DagsterInstance, settings: AssessmentSettings, cursor: str | None = None
                         ) -> tuple[list[str], list[dg.RunRequest], list[str]]:
    """New waves of the config (for the instance's partitions), run requests, and the cursor's lines
    (``cursor``: the previous tick's, so content already requested is not requested again)."""
    previous = {line.split(":", 1)[0]: line for line in (cursor or "").splitlines()}
    assessment = settings.assessment()
    waves = assessment.config.waves
    known = set(instance.get_dynamic_partitions(WAVES))
    new_waves = [w for w in waves if w not in known]
    warehouse = settings.warehouse_path()
    found, unknown = scan_drop_folder(settings.data_path(), waves, _FILE_CACHE)
    requests, lines = [], []
    for content in found:
        _FILE_CACHE[content.wave] = {"files": {k: list(v) for k, v in content.files.items()}}
        what = f"{content.wave}: {len(content.files)} file{'s' if len(content.files) != 1 else ''}, {_short(content.fingerprint)}"
        readiness = wave_readiness(assessment, content.wave, settings.data_path() / "incoming" / content.wave)
        if not readiness.ready:  # a half-copied folder (or one not yet declared READY) is never run
            lines.append(f"{what}, not ready: {'; '.join(readiness.reasons())}")
            continue
        last = last_successful_run(instance, content.wave, warehouse)
        if last is not None and last.tags.get(FINGERPRINT_TAG) == content.fingerprint:
            lines.append(f"{what}, already run (run {last.run_id[:8]})")
            continue
        pending = [r for r in runs_in_progress(instance, content.wave) + _queued(instance, content.wave)
                   if r.tags.get(FINGERPRINT_TAG) == content.fingerprint]
        if pending:
            lines.append(f"{what}, being run (run {pending[0].run_id[:8]})")
            continue
        after = last.run_id[:8] if last is not None else "none"
        if previous.get(content.wave, "").startswith(f"{what}, run requested"):  # a run key already sent
            lines.append(previous[content.wave])
            continue
        requests.append(dg.RunRequest(
            partition_key=content.wave, run_key=f"{content.wave}:{content.fingerprint[:16]}:after:{after}",
            tags={FINGERPRINT_TAG: content.fingerprint, STARTED_BY_TAG: "sensor", WAREHOUSE_TAG: str(warehouse)}))
        lines.append(f"{what}, run requested (differs from "
                     + (f"run {after})" if last is not None else "every earlier run: none succeeded)"))
    if unknown:
        lines.append(f"not configured waves (add to `waves:` in {Path(assessment.path).name} to run): {', '.join(unknown)}")
    return new_waves, requests, lines


def _queued(instance: dg.DagsterInstance, wave: str) -> list:
    from pipelines.coordination import WAVE_TAG

    return list(instance.get_runs(filters=dg.RunsFilter(
        tags={WAVE_TAG: wave}, statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED])))


def build_incoming_exports_sensor(job) -> dg.SensorDefinition:  # job: the unresolved asset job
    @dg.sensor(name="incoming_exports", job=job, minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.STOPPED)
    def incoming_exports(context: dg.SensorEvaluationContext, settings: AssessmentSettings):
        """Watches <data>/incoming/<wave>/ for every wave in the config (read at each tick) and runs a wave
        whose content (by file hashes) differs from that of its last successful run, whoever started it."""
        new_waves, requests, lines = evaluate_drop_folder(context.instance, settings, context.cursor)
        cursor = "\n".join(lines) if lines else "the drop folder holds no wave's files"
        partitions = [dg.AddDynamicPartitionsRequest(WAVES, new_waves)] if new_waves else []
        return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=partitions, cursor=cursor,
                               skip_reason=None if requests else cursor)

    return incoming_exports
