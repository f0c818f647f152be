"""``htna``: the evaluator's command line.

    htna run   [--wave YEAR] [--full] [--data DIR] [--config FILE] [--warehouse FILE] [--output DIR]
    htna synth --wave YEAR [--seed N] [--respondents N] --out DIR
    htna erase --wave YEAR --respondent ID [--no-run]   (remove a respondent of any survey instrument: warehouse,
               archive, drop folder)
    htna ready WAVE [--check] [--json]   (declare a wave folder complete: its READY manifest)
    htna demo  (write the bundled synthetic waves if missing, then run wave 2015)
    htna ui    [--workspace DIR]   (the Dagster UI on 127.0.0.1, behind a guard against cross-site requests)
    htna states workspace DIR CONFIG... [--data-root DIR] [--max-runs N]   (one code location per state)
    htna prevalence OVERLAP.csv [--threshold P] [--criterion aic|bic|pvalue] [--ci wald-log|lognormal|profile|bootstrap]
                    [--replicates N] [--seed N] [--json]   (population size by multiple systems estimation)
    htna estimate DATA.csv --outcome VAR [--by VAR] [--poststratify VAR=POP.csv | --rake VAR=POP.csv ...]
                  [--ci logit|likelihood|beta|wilson] [--weights COL] [--json]   (one-off weighted estimate)
    htna validate FILE|FOLDER [--instrument ID] [--wave YEAR] [--codebook FILE] [--format F] [--json] [--strict]
                  (check an export, or every instrument's export in a wave folder, and run the run's blocking
                  quality checks; exit 1 if one cannot load or a check would block)

Problems with the user's files end in a short message and exit code 1, never a traceback.
Heavy libraries (Dagster, pandas) are imported only by the commands that need them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pipelines.errors import HtnaError

DEMO_SEED = 2015
DEMO_RESPONDENTS = 182


def _set_env(args: argparse.Namespace) -> None:
    """Pass path overrides to the Dagster definitions through the environment they read."""
    for opt, var in [("config", "HTNA_CONFIG"), ("data", "HTNA_DATA"), ("warehouse", "HTNA_WAREHOUSE"),
                     ("output", "HTNA_OUTPUT")]:
        value = getattr(args, opt, None)
        if value:
            os.environ[var] = str(Path(value).resolve())


from pipelines.instance_home import _OLD_INSTANCE_CONFIG, prepare_instance  # noqa: F401 (make setup, tests)
from pipelines.instance_home import prepare_dagster_home as _dagster_home
from pipelines.instance_home import register_config_waves as _register_waves


def check_private_places(settings) -> None:
    """Before a run: the warehouse's folder, the warehouse and its log, the raw archive, the build
    folder and the report folder may not be writable by others (refused with a message); the
    archive is made the owner's only (see :mod:`pipelines.permissions`)."""
    from pipelines.config import REPO_ROOT
    from pipelines.permissions import check_not_shared_writable, check_private

    warehouse = settings.warehouse_path()
    check_not_shared_writable(warehouse.parent, "the warehouse's folder")
    for path in (warehouse, Path(f"{warehouse}.wal")):
        check_private(path, "the warehouse")
    check_private(warehouse.parent / "raw_archive", "the raw archive of the exports")
    check_not_shared_writable(REPO_ROOT / "build", "the build folder")
    check_not_shared_writable(settings.output_path(), "the report folder")


def check_wave_in_config(assessment, wave: str) -> None:
    """A wave is run, declared, erased or validated only if the config lists it."""
    if wave not in assessment.config.waves:
        raise HtnaError(f"wave {wave} is not in {assessment.path} (waves: {', '.join(assessment.config.waves)}); "
                        "add it to the config's `waves` list")


def run_wave(wave: str, verbose: bool = False, timings: Path | None = None, full: bool = False) -> Path:
    """Materialise the assets of one wave that changed since they were last materialised into this
    warehouse, and everything downstream of them (every asset with ``full``; :mod:`pipelines.run_plan`);
    return the report's index.html.

    With ``timings``, write each step's wall time and the process's peak memory there (for `htna bench`).
    """
    import dagster as dg

    from pipelines.config import load_assessment
    from pipelines.assessment_definitions import build_definitions
    from pipelines.resources import settings_from_environment

    settings = settings_from_environment()
    assessment = load_assessment(settings.config_path)
    check_wave_in_config(assessment, wave)
    from assets.ingest.readiness import refusal, wave_readiness

    # a wave folder missing a required input (or differing from its READY manifest) is refused before
    # anything starts; the run's first asset applies the same rule to runs from the UI and the sensor
    problem = refusal(wave_readiness(assessment, wave, settings.data_path() / "incoming" / wave))
    if problem is not None:
        raise problem
    home = _dagster_home()
    check_private_places(settings)
    from assets.report.output_folder import check_output_folder

    check_output_folder(settings.output_path(), settings.data_path(), settings.warehouse_path())
    from assets.ingest.drop_folder import wave_fingerprint
    from pipelines.coordination import (
        FINGERPRINT_TAG, STARTED_BY_TAG, WAREHOUSE_TAG, end_abandoned_cli_runs, wave_lock)
    from pipelines.run_plan import plan_wave
    from pipelines.run_summary import materialization_metadata, run_summary
    from pipelines.warehouse import wave_rows
    from pipelines.partitions import register_waves
    from pipelines.warehouse import held_open

    warehouse = settings.warehouse_path()

    def waiting() -> None:
        print(f"htna: waiting for another run to finish with {warehouse} ...", file=sys.stderr, flush=True)

    def wave_waiting() -> None:
        print(f"htna: waiting for another run of wave {wave} (from the UI, the sensor or htna run) to finish ...",
              file=sys.stderr, flush=True)

    job = build_definitions(settings).resolve_job_def("assessment")
    with wave_lock(home, wave, on_wait=wave_waiting), dg.DagsterInstance.get() as instance:
        register_waves(instance, assessment.config.waves)
        end_abandoned_cli_runs(instance, wave)  # no other CLI run of the wave is alive: we hold its lock
        tags = {STARTED_BY_TAG: "cli", WAREHOUSE_TAG: str(warehouse)}  # ingest adds the folder's fingerprint
        with held_open(warehouse, on_wait=waiting):
            # the folder's fingerprint: also the tag of a run that skips ingest (the sensor compares it)
            fingerprint = wave_fingerprint(settings.data_path(), wave)
            if fingerprint is not None:
                tags[FINGERPRINT_TAG] = fingerprint
            plan = plan_wave(job, instance, wave, warehouse, fingerprint, wave_rows(warehouse),
                             settings.output_path() / wave / "index.html", full=full)
            for line in plan.lines():
                print(f"htna: {line}", file=sys.stderr, flush=True)
            result = None
            if plan.run:
                log_level = "INFO" if verbose else "CRITICAL"  # failures are summarised below, without tracebacks
                result = job.execute_in_process(
                    partition_key=wave, instance=instance, raise_on_error=False, tags=tags,
                    asset_selection=None if plan.everything else sorted(plan.run, key=str),
                    run_config={"loggers": {"console": {"config": {"log_level": log_level}}}})
        if timings is not None:
            _write_timings(instance, result.run_id if result is not None else None, timings)
    if result is not None and not result.success:
        messages = []
        for event in result.all_events:
            if event.is_step_failure and event.step_failure_data is not None:
                user = event.step_failure_data.user_failure_data
                if user is not None and user.description:
                    text = user.description
                else:  # not the user's doing, and not through as_user_failure: name the error's type only
                    error = event.step_failure_data.error
                    while error is not None and error.cause is not None:
                        error = error.cause
                    text = (f"internal error: {error.cls_name if error else 'unknown'} (its message is withheld "
                            "because it may quote the data)\n  (a bug in htna: please report it with this message)")
                messages.append((event.step_key, text))
        by_text: dict[str, list[str]] = {}  # steps failing for the same reason (a full disk) are named together
        for step, text in messages:
            by_text.setdefault(text, []).append(step)
        raise HtnaError("the run failed:\n" + "\n".join(f"{', '.join(steps)}: {text}" for text, steps in by_text.items()))
    metadata = materialization_metadata(result, plan.skipped_metadata())  # the skipped assets' as last recorded
    for note in _not_collected_notes(metadata):
        print(f"htna: {note}", file=sys.stderr)
    for line in run_summary(metadata):
        print(f"htna: {line}", file=sys.stderr)
    return settings.output_path() / wave / "index.html"


def _not_collected_notes(metadata: dict[str, dict]) -> list[str]:
    """What the run says about codebook questions the wave's export lacks (from ingestion's metadata)."""
    notes = []
    for asset, meta in metadata.items():
        if asset != "officer_survey_questions":
            continue
        names = list(meta.get("not_collected") or [])
        if names:
            source = meta.get("file_name")
            notes.append(f"{source if source is not None else 'the officer survey export'}: not collected in this "
                         f"wave: {', '.join(names)}. The indicators, models and checks that need them are left out "
                         "(marked 'not collected in this wave'); everything else is published. If the export has one "
                         "under another wording or column name, add that to the variable's `aliases` in the codebook "
                         "(`htna validate FILE` lists the export's unmatched questions).")
    return notes


def _write_timings(instance, run_id: str | None, path: Path) -> None:
    import json
    import resource

    started: dict[str, float] = {}
    steps: dict[str, float] = {}
    for entry in (instance.all_logs(run_id) if run_id is not None else []):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in started:
            steps[event.step_key] = entry.timestamp - started[event.step_key]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    path.write_text(json.dumps({"steps": steps, "peak_rss_mb": peak_kb / 1024}, indent=2), encoding="utf-8")


def cmd_run(args: argparse.Namespace) -> int:
    _set_env(args)
    index = run_wave(args.wave, args.verbose, Path(args.timings) if args.timings else None, full=args.full)
    print(f"Report written: {index}")
    if args.pdf:
        from assets.report.pdf import write_site_pdf

        print(f"PDF written: {write_site_pdf(index.parent)}")
    return 0


def _wave_command(args: argparse.Namespace):
    """The settings and the assessment of a command about one wave of the config (``args.wave``)."""
    from pipelines.config import load_assessment
    from pipelines.resources import settings_from_environment

    _set_env(args)
    settings = settings_from_environment()
    assessment = load_assessment(settings.config_path)
    check_wave_in_config(assessment, args.wave)
    return settings, assessment


def cmd_ready(args: argparse.Namespace) -> int:
    """Declare a wave folder complete (write its READY manifest), or with --check say whether it is ready."""
    import json

    from assets.ingest.readiness import READY_FILE, wave_readiness, write_manifest

    settings, assessment = _wave_command(args)
    folder = settings.data_path() / "incoming" / args.wave
    if args.check:
        r = wave_readiness(assessment, args.wave, folder)
        if args.json:
            print(json.dumps(r.to_dict(), indent=2))
        else:
            print(f"wave {args.wave}: " + ("ready" if r.ready else "not ready") + f" ({folder})")
            for reason in r.reasons():
                print(f"  - {reason}")
            for name in r.absent_optional:
                print(f"  - optional, not in the folder: {name}")
        return 0 if r.ready else 1
    path, r = write_manifest(assessment, args.wave, folder)
    listed = len([line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")])
    print(f"{path}: {listed} file(s) declared wave {args.wave}'s; the wave is ready to run.")
    for name in r.absent_optional:
        print(f"  note: optional input not in the folder: {name} (its pages will say so)")
    print(f"  (a file changed or added later makes {READY_FILE} differ: runs then refuse until `htna ready "
          f"{args.wave}` is run again)")
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    """Remove one respondent from a wave everywhere htna keeps them, then re-run the wave."""
    from assets.ingest.erasure import SurveyExport, erase_respondent, still_present

    settings, _ = _wave_command(args)
    _dagster_home()
    check_private_places(settings)
    assessment = settings.assessment()
    # every survey instrument of the config: its export, archived copies, tables and quarantine
    exports = tuple(SurveyExport.of(i) for i in assessment.instruments)
    where = dict(warehouse_path=settings.warehouse_path(), data_dir=settings.data_path(), wave=args.wave,
                 respondent_id=args.respondent, exports=exports)
    coding = [v.coding for v in assessment.codebook.variables if v.coding is not None]
    matrices = [(name, c.id_column) for c in coding for name in (c.hand_coded_file, c.second_coder_file) if name]
    done = erase_respondent(**where, code_matrices=matrices)
    from assets.ingest.readiness import redeclare_file

    for name in [*done.drop_folder_files, *done.code_matrices]:  # htna rewrote it: the READY manifest follows
        redeclare_file(settings.data_path() / "incoming" / args.wave, name)
    rows = sum(done.rows.values())
    print(f"Erased from wave {args.wave}: {rows} row(s) in {len(done.rows)} table(s) of the warehouse, "
          f"{done.archived_files} archived export(s) rewritten"
          + (f", {', '.join(done.drop_folder_files)} in the drop folder rewritten" if done.drop_folder_files else "")
          + (f", hand-coded matrices rewritten: {', '.join(done.code_matrices)}" if done.code_matrices else "")
          + "; the warehouse was compacted (copied into a fresh file).")
    if not args.no_run:  # every asset: the erasure changed tables behind Dagster's back
        index = run_wave(args.wave, args.verbose, full=True)
        print(f"Wave {args.wave} re-run without them: {index}")
    left = still_present(**where)
    if left:
        raise HtnaError("the respondent is still found in: " + "; ".join(left))
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from assets.ingest.synthetic import write_demo_wave
    from pipelines.config import load_assessment

    assessment = load_assessment(args.config)
    written = write_demo_wave(assessment, args.wave, args.seed, args.respondents, Path(args.out))
    for p in written:
        print(p)
    print("These are SYNTHETIC demonstration exports, not real respondents.")
    return 0


def cmd_geometry(args: argparse.Namespace) -> int:
    from assets.report.geometry import extract_state_counties, load_county_geometry, write_geojson
    from pipelines.config import load_assessment

    assessment = load_assessment(args.config, require_geometry=False)  # the file it writes may not exist yet
    configured = assessment.config.report.county_geometry
    if not args.out and not configured:
        raise HtnaError("no output file: pass --out, or set report.county_geometry in assessment.yaml")
    out = Path(args.out) if args.out else assessment.path.parent / configured
    try:
        collection = extract_state_counties(assessment.config.state.fips)
    except ImportError:
        raise HtnaError("`htna geometry` needs the development packages plotly-geo and pyshp: run `make setup`") from None
    write_geojson(collection, out)
    load_county_geometry(out, [c.fips for c in assessment.config.counties])  # it matches the config
    print(f"{len(collection['features'])} counties written to {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from assets.ingest.synthetic import write_demo_wave
    from pipelines.config import load_assessment

    _set_env(args)
    assessment = load_assessment(os.environ.get("HTNA_CONFIG"))
    data = Path(os.environ.get("HTNA_DATA") or assessment.data_dir)
    for wave in assessment.config.waves:
        folder = data / "incoming" / wave
        if not (folder / "officer_survey.csv").exists():
            write_demo_wave(assessment, wave, DEMO_SEED, DEMO_RESPONDENTS, folder)
    os.environ["HTNA_DATA"] = str(data)
    index = run_wave(args.wave, args.verbose)
    print("Synthetic demonstration data: the report carries a banner saying so.")
    print(f"Report written: {index}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    """``dagster dev`` with its webserver behind :class:`pipelines.ui_guard.LocalGuard`, on loopback only."""
    from pipelines.config import REPO_ROOT
    from pipelines.resources import settings_from_environment
    from pipelines.ui_guard import is_loopback

    if not is_loopback(args.host):
        raise HtnaError(f"--host {args.host}: the UI is for this machine only (it has no login, and anyone who can "
                        "reach it can run the assessment and read its run history)\n  fix: use 127.0.0.1 (the "
                        "default), localhost or ::1; to look from elsewhere, use an SSH tunnel to this machine")
    if args.workspace:  # a multi-state workspace: its own instance and code locations
        from pipelines.cli_states import states_workspace_for_ui

        workspace = states_workspace_for_ui(Path(args.workspace))
    else:
        _set_env(args)
        _dagster_home()
        settings = settings_from_environment()
        check_private_places(settings)
        _register_waves(settings)
        workspace = REPO_ROOT / "workspace.yaml"
    cmd = [sys.executable, "-m", "pipelines.ui_guard", "dev", "-w", str(workspace),
           "--host", args.host, "--port", str(args.port)]
    os.execv(sys.executable, cmd)
    return 0  # pragma: no cover


def cmd_validate(args: argparse.Namespace) -> int:
    """Check an export (or every instrument's export in a wave folder) against its codebook without loading
    it; exit 1 if one cannot be loaded or a blocking check would fail."""
    import json

    from assets.ingest.validate import (ValidationResult, instrument_exports, load_codebook, validate_export,
                                        with_codebook)
    from pipelines.config import load_assessment
    from pipelines.errors import InputError
    from pipelines.input_files import check_input_file

    assessment = load_assessment(args.config)
    if args.codebook:
        assessment = with_codebook(assessment, load_codebook(args.codebook))
    if args.instrument:
        try:
            assessment.instrument(args.instrument)
        except KeyError:
            raise HtnaError(f"--instrument {args.instrument}: not an instrument of {assessment.path} (instruments: "
                            f"{', '.join(i.id for i in assessment.instruments)})") from None
    target = Path(args.file)
    wave = args.wave
    if target.is_dir() and not target.is_symlink():  # a wave folder: every instrument's export in it
        if args.instrument:
            raise HtnaError("--instrument names the instrument of one file; a wave folder is checked for every "
                            "instrument's export")
        if wave is None and target.name in assessment.config.waves:
            wave = target.name
        files = [(inst.id, path) for inst, path in instrument_exports(target, assessment)]
        if not files:
            raise HtnaError(f"{target}: no survey export in the folder\n  fix: name each export as the run "
                            "expects: " + ", ".join(f"{i.id}.csv" for i in assessment.instruments))
    else:
        files = [(args.instrument, target)]
    results = []
    for instrument, path in files:
        try:  # a regular file within the configured limits, before any parser sees it
            check_input_file(path, limits=assessment.config.input_limits)
            if wave:
                check_wave_in_config(assessment, wave)
            result = validate_export(path, assessment, format=None if args.format == "auto" else args.format,
                                     wave=wave, instrument=instrument)
        except InputError as exc:
            result = ValidationResult(file=str(path), error=str(exc))
        results.append(result)
    # a file the run would hold back at a blocking quality check fails validation too
    failed = any(not r.ok or r.would_block or (args.strict and r.has_warnings) for r in results)
    if args.json:
        dicts = [r.to_dict() for r in results]
        print(json.dumps(dicts if target.is_dir() else dicts[0], indent=2))
    else:
        print("\n\n".join(r.render() for r in results))
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    from pipelines.cli_methods import add_method_parsers
    from pipelines.cli_states import add_states_parser

    p = argparse.ArgumentParser(prog="htna", description="Human Trafficking Needs Assessment pipeline")
    sub = p.add_subparsers(dest="command", required=True)

    def paths(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", help="assessment.yaml (default: config/maine/assessment.yaml)")
        sp.add_argument("--data", help="data folder holding incoming/<wave>/ (default: from the config)")
        sp.add_argument("--warehouse", help="DuckDB file (default: from the config)")
        sp.add_argument("--output", help="folder for published sites (default: from the config)")
        sp.add_argument("--verbose", action="store_true", help="show Dagster's log of the run")

    r = sub.add_parser("run", help="run the assessment for one wave")
    r.add_argument("--wave", default="2015")
    r.add_argument("--timings", help=argparse.SUPPRESS)  # used by `htna bench`
    r.add_argument("--full", action="store_true",
                   help="run every asset (default: only those whose code, config or input changed since they were "
                        "last run into this warehouse, and everything downstream of them)")
    r.add_argument("--pdf", action="store_true",
                   help="also write the whole site as one PDF (headless Chromium) into the wave's folder")
    paths(r)
    r.set_defaults(func=cmd_run)

    rd = sub.add_parser("ready", help="declare a wave folder complete: write its READY manifest (files and SHA-256)",
                        description="Write <data>/incoming/<wave>/READY listing every file of the folder with its "
                                    "SHA-256, once every file is in. The drop-folder sensor runs a wave only when its "
                                    "folder is ready; a run refuses a folder that differs from its manifest.")
    rd.add_argument("wave")
    rd.add_argument("--check", action="store_true", help="only say whether the folder is ready (exit 1 if not)")
    rd.add_argument("--json", action="store_true", help="with --check: print the readiness as JSON")
    paths(rd)
    rd.set_defaults(func=cmd_ready)

    d = sub.add_parser("demo", help="run wave 2015 on the bundled synthetic demonstration data")
    d.add_argument("--wave", default="2015")
    paths(d)
    d.set_defaults(func=cmd_demo)

    er = sub.add_parser("erase", help="remove one respondent of any survey instrument from a wave: warehouse, raw "
                                      "archive, drop folder",
                        description="Delete the respondent's rows of the wave from every warehouse table, rewrite the "
                                    "wave's export of every survey instrument of the config (the officer survey, the "
                                    "stakeholder survey, ...) in the drop folder and every archived copy without their "
                                    "record, compact the warehouse (no byte of them is left in it), then re-run the "
                                    "wave so the published figures no longer count them.")
    er.add_argument("--wave", required=True)
    er.add_argument("--respondent", required=True, help="the respondent id, as the export's respondent id column has it")
    er.add_argument("--no-run", action="store_true", help="do not re-run the wave afterwards")
    paths(er)
    er.set_defaults(func=cmd_erase)

    s = sub.add_parser("synth", help="write synthetic demonstration exports for a wave")
    s.add_argument("--wave", required=True)
    s.add_argument("--seed", type=int, default=DEMO_SEED)
    s.add_argument("--respondents", type=int, default=DEMO_RESPONDENTS)
    s.add_argument("--out", required=True)
    s.add_argument("--config")
    s.set_defaults(func=cmd_synth)

    v = sub.add_parser("validate", help="check a survey export (any instrument's), or every instrument's export in "
                                        "a wave folder, against its codebook before loading it",
                       description="Check each export against its instrument's codebook and quality suite (the "
                                   "instruments: of the config), file by file: where each problem is (file, row, "
                                   "column), the rule it breaks and the fix, never a respondent's answer.")
    v.add_argument("file", help="the export (SurveyMonkey/Qualtrics/REDCap/plain CSV or TSV, XLSX, or SPSS .sav), or a "
                                "wave folder (incoming/<wave>/): every instrument's export in it")
    v.add_argument("--instrument", help="the instrument whose export FILE is (default: from its name, e.g. "
                                        "stakeholder_survey.csv; any other name: the officer survey)")
    v.add_argument("--codebook",
                   help="officer codebook YAML to check the officer survey against (default: the config's)")
    v.add_argument("--config", help="assessment.yaml (default: config/maine/assessment.yaml)")
    v.add_argument("--format", default="auto",
                   choices=["auto", "surveymonkey", "qualtrics", "qualtrics_legacy", "redcap", "redcap_labels",
                            "spss", "plain"],
                   help="force the export layout (default: detect it)")
    v.add_argument("--wave", help="the wave the file is for (default: the config's latest): its quality checks are run")
    v.add_argument("--json", action="store_true",
                   help="print the result as JSON (for a wave folder: a list, one result per file)")
    v.add_argument("--strict", action="store_true", help="exit 1 on warnings too (unmatched, missing, bad values)")
    v.set_defaults(func=cmd_validate)

    g = sub.add_parser("geometry", help="write the state's county boundaries (Census cartographic file) for the map")
    g.add_argument("--config", help="assessment.yaml (default: config/maine/assessment.yaml)")
    g.add_argument("--out", help="GeoJSON file (default: report.county_geometry of the config)")
    g.set_defaults(func=cmd_geometry)

    u = sub.add_parser("ui", help="start the Dagster UI on this machine (127.0.0.1), refusing cross-site requests")
    u.add_argument("--host", default="127.0.0.1", help="a loopback address: 127.0.0.1 (default), localhost or ::1")
    u.add_argument("--port", type=int, default=3000)
    u.add_argument("--workspace", help="a multi-state workspace folder written by `htna states workspace`")
    paths(u)
    u.set_defaults(func=cmd_ui)
    add_method_parsers(sub)
    add_states_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from pipelines.errors import DISK_FULL_MESSAGE, disk_full
    from pipelines.permissions import restrict_umask

    restrict_umask()  # everything htna writes is its owner's only (the published site is opened up as configured)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except HtnaError as exc:
        print(f"htna: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a full disk is the user's to fix, anything else a bug
        if disk_full(exc):
            print(f"htna: {DISK_FULL_MESSAGE}", file=sys.stderr)
            return 1
        raise
    except KeyboardInterrupt:
        print("htna: interrupted", file=sys.stderr)
        return 130


def _observed() -> bool:
    """True when a profiler, a tracer or coverage watches this process: it writes its results while the
    interpreter shuts down, so the process must end the ordinary way."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        return True
    coverage = sys.modules.get("coverage")
    current = getattr(getattr(coverage, "Coverage", None), "current", None)
    return bool(current is not None and current() is not None)


def quick_exit(code: int) -> None:
    """End the process with ``code`` once everything it printed or wrote is out.

    A run imports Dagster, pandas, statsmodels and Great Expectations: freeing those module graphs when the
    interpreter shuts down costs over a second of CPU for nothing. So, after the command has finished (its
    DuckDB file and Dagster instance already closed by their ``with`` blocks): the ``atexit`` functions run
    as at an ordinary exit (temporary folders removed, logs closed), stdout and stderr are flushed, and the
    process ends with :func:`os._exit`. The ordinary exit is kept when a profiler, a tracer or coverage is
    watching (:func:`_observed`), when a thread other than daemons is still running (an ordinary exit would
    wait for it), and when flushing fails (a closed pipe: the ordinary exit reports it)."""
    import atexit
    import threading

    code = int(code)
    if _observed() or any(t is not threading.main_thread() and not t.daemon and t.is_alive()
                          for t in threading.enumerate()):
        sys.exit(code)
    atexit._run_exitfuncs()  # logging.shutdown among them (it flushes and closes the log handlers)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


def entry() -> None:
    """The ``htna`` program: :func:`main`, then :func:`quick_exit` with its exit code. (Tests call
    :func:`main`, which returns the code and leaves the interpreter alone.)"""
    quick_exit(main())


if __name__ == "__main__":
    entry()
