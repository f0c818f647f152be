"""The drop-folder sensor: new or changed exports for a wave request a run of that wave."""

import json

import dagster as dg

from assets.ingest.drop_folder import scan_drop_folder
from pipelines.resources import AssessmentSettings


def build_incoming_exports_sensor(job) -> dg.SensorDefinition:  # job: the unresolved asset job
    @dg.sensor(name="incoming_exports", job=job, minimum_interval_seconds=30,
               default_status=dg.DefaultSensorStatus.STOPPED)
    def incoming_exports(context: dg.SensorEvaluationContext, settings: AssessmentSettings):
        """Watches <data>/incoming/<wave>/ and runs the assessment for a wave whose files changed
        (by content hash: an unchanged file never triggers a run)."""
        state = json.loads(context.cursor) if context.cursor else {}
        assessment = settings.assessment()
        waves, unknown = scan_drop_folder(settings.data_path(), assessment.config.waves, state)
        requests = []
        for w in waves:
            if state.get(w.wave, {}).get("fingerprint") != w.fingerprint:
                requests.append(dg.RunRequest(partition_key=w.wave, run_key=f"{w.wave}:{w.fingerprint[:16]}",
                                              tags={"htna/fingerprint": w.fingerprint}))
            state[w.wave] = {"fingerprint": w.fingerprint, "files": {k: list(v) for k, v in w.files.items()}}
        context.update_cursor(json.dumps(state, sort_keys=True))
        if requests:
            return requests
        note = f"; folders that are not configured waves: {', '.join(unknown)}" if unknown else ""
        return dg.SkipReason(f"no new or changed exports{note}")

    return incoming_exports
