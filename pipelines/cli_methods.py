"""``htna`` commands on one method alone, outside the yearly run: a one-off weighted estimate
(``htna estimate``), a population size from an overlap table (``htna prevalence``), the county
estimators' simulation study (``htna simulate-sae``) and the benchmark (``htna bench``).

They share nothing with the wave's run but the command line (pipelines/cli.py adds them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_estimate(args: argparse.Namespace) -> int:
    """One-off design-based estimate on a respondent-level CSV (see assets/estimates/adhoc.py)."""
    from assets.estimates.adhoc import EstimateRequest, format_results, run_estimate

    run = run_estimate(EstimateRequest(
        data=Path(args.data), outcome=args.outcome, by=args.by, poststratify=args.poststratify or [],
        rake=args.rake or [], ci=args.ci, weights=args.weights, strata=args.strata, ids=args.ids, fpc=args.fpc,
        statistic=args.statistic, level=args.level, partial=args.partial, epsilon=args.epsilon, maxit=args.maxit))
    for note in run.notes:
        print(f"htna: {note}", file=sys.stderr)
    print(format_results(run, args.json))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import tempfile

    from pipelines import bench

    if args.states is not None:  # many states at once, through the queued coordinator
        from pipelines.cli_states import cmd_bench_states

        return cmd_bench_states(args)
    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else None
    with tempfile.TemporaryDirectory(prefix="htna-bench-") as tmp:
        bench.main(sizes, args.quick, args.repetitions, Path(args.out), Path(args.workdir or tmp),
                   components=not args.no_components, ui=not args.no_ui)
    return 0


def cmd_simulate_sae(args: argparse.Namespace) -> int:
    """Simulation study of the county estimators (assets/models/sae_study.py)."""
    import json
    import time

    from assets.models.sae_study import format_summary, write_study

    if args.states < 1 or not 1 <= args.processes <= 2 or args.unit_level_states < 0 or args.unit_level_bootstrap < 1:
        print("htna simulate-sae: --states must be at least 1, --processes 1 or 2, --unit-level-states at least 0 "
              "and --unit-level-bootstrap at least 1", file=sys.stderr)
        return 2
    start = time.monotonic()
    doc = write_study(Path(args.out), args.states, seed=args.seed, processes=args.processes,
                      unit_level_states=args.unit_level_states, unit_level_B=args.unit_level_bootstrap)
    doc["wall_seconds"] = round(time.monotonic() - start, 1)
    out = Path(args.out) / "sae-simulation.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(format_summary(doc["summary"]))
    print(f"targets met in every band: {doc['all_targets_met']} ({doc['targets_met_by_band']})")
    print(f"written: {out}, sae-simulation.csv, sae-simulation.svg ({doc['wall_seconds']} s)")
    return 0


def cmd_prevalence(args: argparse.Namespace) -> int:
    """Population size from an overlap table by multiple systems estimation (SparseMSE defaults)."""
    from assets.prevalence.command import run

    text, notes = run(args.file, as_json=args.json, threshold=args.threshold, criterion=args.criterion,
                      ci=args.ci, replicates=args.replicates, seed=args.seed, level=args.level, model=args.model)
    for note in notes:
        print(f"htna: {note}", file=sys.stderr)
    print(text)
    return 0


def add_method_parsers(sub) -> None:
    """The method commands' sub-parsers, added to ``htna``'s."""
    from pipelines.cli_states import add_bench_states_arguments

    e = sub.add_parser("estimate", help="weighted estimate (mean or proportion) from any respondent-level CSV",
                       description="Design-based estimate as R's survey package: svymean / svyciprop on a "
                                   "post-stratified or raked design, overall or by domain.")
    e.add_argument("data", help="respondent-level CSV with a header row")
    e.add_argument("--outcome", required=True,
                   help="column to estimate: 0/1 or yes/no gives a proportion, numbers a mean; VAR=VALUE gives "
                        "the share with that value")
    e.add_argument("--by", help="column whose levels are the domains (R's svyby)")
    e.add_argument("--poststratify", action="append", metavar="VAR=POP.csv",
                   help="post-stratify on VAR to POP.csv (category, population count)")
    e.add_argument("--rake", action="append", metavar="VAR=POP.csv", help="rake to this margin (repeat for each)")
    e.add_argument("--ci", default="logit", choices=["logit", "likelihood", "beta", "asin", "xlogit", "mean", "wilson"],
                   help="interval for a proportion (default logit, R's svyciprop default)")
    e.add_argument("--weights", help="column of sampling weights (default: all 1)")
    e.add_argument("--strata", help="column of design strata")
    e.add_argument("--ids", help="column of cluster (PSU) ids")
    e.add_argument("--fpc", help="column of finite population correction (population size or sampling fraction)")
    e.add_argument("--statistic", default="auto", choices=["auto", "mean", "proportion", "total"])
    e.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    e.add_argument("--partial", action="store_true", help="post-stratify ignoring population categories with no respondents")
    e.add_argument("--epsilon", type=float, default=1e-10,
                   help="raking tolerance, relative to the total weight if below 1 (default 1e-10; R's default is 1)")
    e.add_argument("--maxit", type=int, default=200, help="most raking passes (default 200; R's default is 10)")
    e.add_argument("--json", action="store_true", help="print a JSON list of {domain, estimate, se, ci_low, ci_high, n, deff}")
    e.set_defaults(func=cmd_estimate)

    b = sub.add_parser("bench", help="time the whole pipeline per asset at growing survey sizes")
    b.add_argument("--quick", action="store_true", help="small sizes only (a smoke test, about a minute)")
    b.add_argument("--sizes", help="comma-separated respondent counts (default 182,10000,100000,1000000)")
    b.add_argument("--repetitions", type=int, default=1)
    b.add_argument("--out", default="build/bench/benchmark.json")
    b.add_argument("--workdir", help="keep the generated exports and warehouses here")
    b.add_argument("--no-components", action="store_true",
                   help="skip the per-stage benchmarks (quality at scale, htna estimate, prevalence bootstrap)")
    b.add_argument("--no-ui", action="store_true",
                   help="skip the UI-launched run (dagster dev + GraphQL launchRun) measured beside a CLI run")
    add_bench_states_arguments(b)
    b.set_defaults(func=cmd_bench)

    ss = sub.add_parser("simulate-sae", help="simulation study of the county estimators: bias, RMSE and coverage "
                        "by county size, written as a table and a plot")
    ss.add_argument("--states", type=int, default=3000, help="synthetic states of 16 counties (default 3000)")
    ss.add_argument("--seed", type=int, default=2015)
    ss.add_argument("--processes", type=int, default=1, help="worker processes, 1 or 2 (default 1)")
    ss.add_argument("--unit-level-states", type=int, default=150,
                    help="states on which the (slow) unit-level model is also run (default 150; 0: none)")
    ss.add_argument("--unit-level-bootstrap", type=int, default=20,
                    help="bootstrap replicates of the unit-level MSE per state (default 20)")
    ss.add_argument("--out", default="docs/benchmarks", help="folder for sae-simulation.json/.csv/.svg")
    ss.set_defaults(func=cmd_simulate_sae)

    pv = sub.add_parser("prevalence", help="estimate a population size from an overlap table of case lists",
                        description="Multiple systems estimation (Poisson log-linear models, stepwise selection of "
                                    "two-way list dependences). Defaults reproduce SparseMSE's estimatepopulation.0.")
    pv.add_argument("file", help="overlap CSV: one 0/1 column per list and `count` (cases on exactly those lists)")
    pv.add_argument("--threshold", type=float, default=0.02, help="p-value for keeping an interaction (default 0.02)")
    pv.add_argument("--criterion", default="pvalue", choices=["pvalue", "aic", "bic"],
                    help="stepwise rule: pvalue = SparseMSE 2.0.1 (default); aic = lowest AIC kept if Wald p < "
                         "threshold; bic = while BIC improves")
    pv.add_argument("--ci", default="wald-log", choices=["wald-log", "lognormal", "profile", "profile-poisson", "bootstrap"],
                    help="interval: wald-log (SparseMSE, default), lognormal (Chao), profile (Rcapture), bootstrap")
    pv.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates (default 1000)")
    pv.add_argument("--seed", type=int, default=2015, help="bootstrap seed (default 2015)")
    pv.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    pv.add_argument("--model", help="fit this model instead of selecting one: 'independence' or terms like 'A:E,B:C'")
    pv.add_argument("--json", action="store_true", help="print {observed, estimate, ci_low, ci_high, model, method}")
    pv.set_defaults(func=cmd_prevalence)
