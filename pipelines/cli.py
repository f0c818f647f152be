"""``htna``: the evaluator's command line.

    htna run   [--wave YEAR] [--data DIR] [--config FILE] [--warehouse FILE] [--output DIR]
    htna synth --wave YEAR [--seed N] [--respondents N] --out DIR
    htna demo  (write the bundled synthetic waves if missing, then run wave 2015)
    htna ui    (the Dagster UI on 127.0.0.1)

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


def _dagster_home() -> None:
    """Runs from the CLI and from `htna ui` share one Dagster instance (run history) per checkout."""
    if not os.environ.get("DAGSTER_HOME"):
        from pipelines.config import REPO_ROOT

        home = REPO_ROOT / "build" / "dagster"
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists():  # this machine may have no network: no telemetry
            (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
        os.environ["DAGSTER_HOME"] = str(home)


def run_wave(wave: str, verbose: bool = False) -> Path:
    """Materialise every asset of one wave; return the report's index.html."""
    import dagster as dg

    from pipelines.config import load_assessment
    from pipelines.definitions import build_definitions
    from pipelines.resources import settings_from_environment

    settings = settings_from_environment()
    assessment = load_assessment(settings.config_path)
    if wave not in assessment.config.waves:
        raise HtnaError(f"wave {wave} is not in {assessment.path} (waves: {', '.join(assessment.config.waves)}); "
                        "add it to the config's `waves` list")
    _dagster_home()
    with dg.DagsterInstance.get() as instance:
        log_level = "INFO" if verbose else "CRITICAL"  # failures are summarised below, without tracebacks
        result = build_definitions(settings).resolve_job_def("assessment").execute_in_process(
            partition_key=wave, instance=instance, raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}})
    if not result.success:
        messages = []
        for event in result.all_events:
            if event.is_step_failure and event.step_failure_data is not None:
                user = event.step_failure_data.user_failure_data
                if user is not None and user.description:
                    text = user.description
                else:  # not the user's doing: name the underlying error, point to the log
                    error = event.step_failure_data.error
                    while error is not None and error.cause is not None:
                        error = error.cause
                    text = (error.message.strip() if error else "unknown error") + \
                        "\n  (an internal error; run again with --verbose for Dagster's log, and report it)"
                messages.append(f"{event.step_key}: {text}")
        raise HtnaError("the run failed:\n" + "\n".join(messages))
    return settings.output_path() / wave / "index.html"


def cmd_run(args: argparse.Namespace) -> int:
    _set_env(args)
    index = run_wave(args.wave, args.verbose)
    print(f"Report written: {index}")
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
    from pipelines.config import REPO_ROOT

    _set_env(args)
    _dagster_home()
    cmd = [sys.executable, "-m", "dagster", "dev", "-w", str(REPO_ROOT / "workspace.yaml"),
           "--host", args.host, "--port", str(args.port)]
    os.execv(sys.executable, cmd)
    return 0  # pragma: no cover


def build_parser() -> argparse.ArgumentParser:
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
    paths(r)
    r.set_defaults(func=cmd_run)

    d = sub.add_parser("demo", help="run wave 2015 on the bundled synthetic demonstration data")
    d.add_argument("--wave", default="2015")
    paths(d)
    d.set_defaults(func=cmd_demo)

    s = sub.add_parser("synth", help="write synthetic demonstration exports for a wave")
    s.add_argument("--wave", required=True)
    s.add_argument("--seed", type=int, default=DEMO_SEED)
    s.add_argument("--respondents", type=int, default=DEMO_RESPONDENTS)
    s.add_argument("--out", required=True)
    s.add_argument("--config")
    s.set_defaults(func=cmd_synth)

    u = sub.add_parser("ui", help="start the Dagster UI (bound to 127.0.0.1 unless --host says otherwise)")
    u.add_argument("--host", default="127.0.0.1")
    u.add_argument("--port", type=int, default=3000)
    paths(u)
    u.set_defaults(func=cmd_ui)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except HtnaError as exc:
        print(f"htna: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("htna: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
