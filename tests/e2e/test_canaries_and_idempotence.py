"""Canaries and idempotent re-runs, end to end (CLI -> Dagster -> DuckDB -> site).

A copy of demo wave 2015 gets planted canary strings: a respondent id, IP address, e-mail and
name, free-text answers ("Other (please specify)" of both multi-select questions, the open-ended
comment, and a county typed as free text), interview ids, a person on the agency case lists, and
the linkage secret (``HTNA_LINKAGE_SECRET``). The wave is run twice with ``htna run --verbose``,
each in a fresh process, into a temporary warehouse, site and Dagster home. Then:

* the linkage secret and the case-list person appear nowhere: not in the site, the Dagster
  storage (event log, run storage, compute logs), materialisation or check metadata, the CLI
  output, any DuckDB table or the DuckDB file's bytes;
* respondent and interview identifiers and free-text answers appear in no published file, no log,
  no metadata and no DuckDB table except the row-level tables of the private warehouse that hold
  respondents' rows by design (``ROW_LEVEL_TABLES``); the raw archive beside the warehouse keeps
  the verbatim officer export by design (``raw_archive/``) and is not scanned for them;
* the open-ended comment and the "Other (please specify)" texts are coded, then dropped: their text
  is in no DuckDB table (row-level ones included), not in the DuckDB file's bytes, and nowhere under
  the run's folders but the raw archive (the warehouse keeps only whether "Other" was given);
* the second run leaves every DuckDB table and every published file (CSV, XLSX members, every HTML
  page with its build-time line blanked) byte for byte as the first run left them.

(``test_crash_safety`` compares a killed-then-rerun wave with an uninterrupted one in another
warehouse; this checks the plain re-run of a finished wave in place.)

Failed runs are as clean as successful ones. ``failure_scenarios.py`` breaks copies of the wave so
that every reader (officer export, interview matrices, case lists, overlap table, provider inventory,
the synthetic-data manifest) fails, in the ways its messages could quote a value (a cell outside the
frame, a repeated id, a shifted row, an unreadable date, a wider row, damaged or binary bytes, UTF-32)
and in the ways an attacker would try (links to files elsewhere, a FIFO, a weak or public linkage
secret), and that every quality check whose result depends on the data fails; each offending value is
a canary. Each such run must end in messages naming file and position, and leave its canaries nowhere:
not in the CLI output (``--verbose``), the Dagster run history, event log, metadata or compute logs,
any file under the run's folders, or any DuckDB table except the row-level ones.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
import zipfile

import duckdb
import pytest

from pipelines.config import REPO_ROOT
from tests.conftest import cli_env
from tests.e2e import failure_scenarios
from tests.e2e.test_waves import dump

pytestmark = pytest.mark.slow

WAVE = "2015"
SECRET = "CanarySecretQ7-" + "5f1e0c9a7b3d2e48" * 3  # >= 32 bytes
RESPONDENT_ID = "CanaryRid48213"
IP_ADDRESS = "203.0.113.219"
EMAIL = "canary.officer.x91@example.invalid"
FIRST, LAST = "Quarrelsome", "Canarywhistle"
OTHER_ACTION = "CanaryOtherActionZq41"
OTHER_HELP = "CanaryOtherHelpWv83"
COMMENT = "CanaryCommentJx57 my sergeant said so"
COUNTY_TEXT = "Canaryville Gulch"
STAKEHOLDER_ID = "S15-CanaryK2"
SURVIVOR_ID = "V15-CanaryM5"
CASE = {"first_name": "Yvonnabel", "last_name": "Canarydottir", "date_of_birth": "1983-07-19"}

IDENTIFIERS = [RESPONDENT_ID, IP_ADDRESS, EMAIL, FIRST, LAST, STAKEHOLDER_ID, SURVIVOR_ID]
FREE_TEXT = ["Canaryville"]
#: the open-ended comment's text: coded at ingest, then kept only in the raw archive of the export
COMMENT_TEXT = ["CanaryCommentJx57", "my sergeant said so"]
#: the multi-selects' "Other (please specify)" texts: likewise (the warehouse keeps ``<question>__other``)
OTHER_TEXT = [OTHER_ACTION, OTHER_HELP]
NOWHERE = [SECRET, SECRET[:24], SECRET.encode().hex()[:32], CASE["first_name"], CASE["last_name"], "1983-07-19",
           "07/19/1983"]

#: The only DuckDB tables that may hold a planted respondent identifier or free-text answer: the
#: row-level tables of the private warehouse, one row per respondent or interview (accepted and
#: quarantined rows, and the officers' weights). Nothing else, and nothing published.
ROW_LEVEL_TABLES = {
    "assessment.officer_responses": IDENTIFIERS[:5] + FREE_TEXT,
    "assessment.accepted_officer_responses": IDENTIFIERS[:5] + FREE_TEXT,
    "assessment.officer_responses_quarantine": IDENTIFIERS[:5] + FREE_TEXT,
    "assessment.quarantine": IDENTIFIERS[:5] + FREE_TEXT,
    "assessment.officer_weights": [RESPONDENT_ID],
    "assessment.stakeholder_interviews": [STAKEHOLDER_ID],
    "assessment.accepted_stakeholder_interviews": [STAKEHOLDER_ID],
    "assessment.survivor_interviews": [SURVIVOR_ID],
    "assessment.accepted_survivor_interviews": [SURVIVOR_ID],
}


def _plant(folder):
    """Canaries in a copy of the demo wave (SurveyMonkey export: two header rows)."""
    path = folder / "officer_survey.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    q, sub = rows[0], rows[1]
    col = {name: q.index(name) for name in ("Respondent ID", "IP Address", "Email Address", "First Name",
                                            "Last Name", "In which county is your agency located?")}
    others = [i for i, s in enumerate(sub) if s == "Other (please specify)"]
    comment = sub.index("Open-Ended Response")
    assert len(others) == 2
    first = rows[2]
    first[col["Respondent ID"]], first[col["IP Address"]], first[col["Email Address"]] = RESPONDENT_ID, IP_ADDRESS, EMAIL
    first[col["First Name"]], first[col["Last Name"]] = FIRST, LAST
    first[others[0]], first[others[1]], first[comment] = OTHER_ACTION, OTHER_HELP, COMMENT
    rows[5][col["In which county is your agency located?"]] = COUNTY_TEXT
    rows[6][others[0]] = OTHER_ACTION + " again"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    for name, new_id in (("stakeholder_interviews.csv", STAKEHOLDER_ID), ("survivor_interviews.csv", SURVIVOR_ID)):
        p = folder / name
        lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
        lines[1] = new_id + lines[1][lines[1].index(","):]
        p.write_text("".join(lines), encoding="utf-8")
    cases = folder / "case_lists.csv"
    header = cases.read_text(encoding="utf-8").splitlines()[0].split(",")
    with cases.open("a", encoding="utf-8") as fh:
        for lst in ("hotline", "advocates"):
            fh.write(",".join({"list": lst, "age_group": "adult", **CASE}.get(h, "") for h in header) + "\n")


def _published_files(site):
    """Every file of the site as bytes: XLSX members unzipped (their timestamps blanked), pages with
    the build time blanked (the one thing that may differ between runs)."""
    out = {}
    for p in sorted(site.rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        rel = str(p.relative_to(site))
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for n in z.namelist():
                    member = z.read(n)
                    if n == "docProps/core.xml":
                        member = re.sub(rb"<dcterms:(created|modified)[^<]*</dcterms:\1>", b"", member)
                    out[f"{rel}!{n}"] = member
            continue
        if p.suffix == ".html":
            data = re.sub(rb"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", b"<built>", data)
        out[rel] = data
    return out


def _tables(warehouse):
    """Every table of every schema: its cells as one casefolded text."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        return {f"{s}.{t}": "\n".join(map(repr, con.execute(f'SELECT * FROM "{s}"."{t}"').fetchall())).casefold()
                for s, t in names}


def _dagster_records(home):
    """Every stored event of every run (materialisations with their metadata, checks, logs), as text."""
    import dagster as dg
    from dagster._serdes import serialize_value

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        events = [e for r in runs for e in instance.all_logs(r.run_id)]
        texts = [serialize_value(r) for r in runs] + [serialize_value(e) for e in events]
        materialisations = [e.asset_materialization for e in events if e.asset_materialization is not None]
        metadata = [repr(m.metadata) for m in materialisations]
    return texts, metadata, len(runs)


def _found(needles, text: str) -> list[str]:
    text = text.casefold()
    return [n for n in needles if n.casefold() in text]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("canary")
    folder = root / "data" / "incoming" / WAVE
    shutil.copytree(REPO_ROOT / "data" / "demo" / "incoming" / WAVE, folder)
    _plant(folder)
    env = cli_env(root / "dagster")
    env["HTNA_LINKAGE_SECRET"] = SECRET
    args = [sys.executable, "-m", "pipelines.cli", "run", "--wave", WAVE, "--data", str(root / "data"),
            "--warehouse", str(root / "warehouse" / "htna.duckdb"), "--output", str(root / "site"), "--verbose",
            "--full"]  # every asset each time (an unchanged one would be skipped)
    runs = []
    for _ in range(2):  # the same wave twice, each in a fresh process
        proc = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append({"output": proc.stdout + proc.stderr, "site": _published_files(root / "site" / WAVE),
                     "tables": dump(root / "warehouse" / "htna.duckdb")})
    return root, runs


def test_the_canaries_were_read(planted):
    root, _ = planted
    tables = _tables(root / "warehouse" / "htna.duckdb")
    for canary in (RESPONDENT_ID, COUNTY_TEXT):
        assert canary.casefold() in tables["assessment.officer_responses"], canary
    # the planted comment was read (and coded: no rule matches it) before its text was dropped
    row = [r for r in tables["assessment.officer_responses"].splitlines() if RESPONDENT_ID.casefold() in r]
    assert len(row) == 1 and "'coded by rules'" in row[0]
    # the planted "Other (please specify)" texts were read: "Other" given, kept as yes/no only
    with duckdb.connect(str(root / "warehouse" / "htna.duckdb"), read_only=True) as con:
        others = con.execute("SELECT actions_taken__other, help_wanted__other FROM assessment.officer_responses "
                             "WHERE respondent_id = ?", [RESPONDENT_ID]).fetchall()
        columns = [c for (c,) in con.execute("SELECT column_name FROM information_schema.columns "
                                             "WHERE column_name LIKE '%other_text%'").fetchall()]
    assert others == [(True, True)] and not columns
    archived = [p for p in (root / "warehouse" / "raw_archive").rglob("*") if p.is_file()]
    for text in (COMMENT_TEXT[0], *OTHER_TEXT):
        assert any(text.encode() in p.read_bytes() for p in archived), text
    assert STAKEHOLDER_ID.casefold() in tables["assessment.stakeholder_interviews"]
    assert SURVIVOR_ID.casefold() in tables["assessment.survivor_interviews"]
    assert "keyed with the public demo" not in planted[1][0]["output"].casefold()  # the planted secret was used


def test_the_secret_and_case_identifiers_are_nowhere(planted):
    root, runs = planted
    for run in runs:
        assert not _found(NOWHERE, run["output"])
    for name, text in _tables(root / "warehouse" / "htna.duckdb").items():
        assert not _found(NOWHERE, text), name
    for p in root.rglob("*"):
        if p.is_file() and "incoming" not in p.parts:  # site, warehouse (and raw archive), Dagster home
            assert not _found(NOWHERE, p.read_bytes().decode("latin-1")), p
    texts, metadata, n_runs = _dagster_records(root / "dagster")
    assert n_runs == 2 and metadata and "headline_indicators" in "\n".join(texts)  # the scan sees the log
    assert not _found(NOWHERE, "\n".join(texts))


def _only_in_the_raw_archive(planted, needles: list[str]) -> None:
    root, runs = planted
    for name, text in _tables(root / "warehouse" / "htna.duckdb").items():
        assert not _found(needles, text), name
    warehouse = root / "warehouse" / "htna.duckdb"
    assert not _found(needles, warehouse.read_bytes().decode("latin-1"))
    raw_archive = root / "warehouse" / "raw_archive"
    for p in root.rglob("*"):
        if p.is_file() and "incoming" not in p.parts and raw_archive not in p.parents:
            assert not _found(needles, p.read_bytes().decode("latin-1")), p
    for run in runs:
        assert not _found(needles, run["output"])


def test_a_comment_is_coded_then_found_only_in_the_raw_archive(planted):
    _only_in_the_raw_archive(planted, COMMENT_TEXT)


def test_an_other_specify_text_is_found_only_in_the_raw_archive(planted):
    _only_in_the_raw_archive(planted, OTHER_TEXT)


def test_identifiers_and_free_text_stay_in_the_row_level_tables(planted):
    root, runs = planted
    needles = IDENTIFIERS + FREE_TEXT + COMMENT_TEXT + OTHER_TEXT
    for run in runs:
        assert not _found(needles, run["output"]), "CLI output / Dagster log"
        for name, data in run["site"].items():
            assert not _found(needles, data.decode("latin-1")), f"published file {name}"
    for name, text in _tables(root / "warehouse" / "htna.duckdb").items():
        leaked = [n for n in _found(needles, text) if n not in ROW_LEVEL_TABLES.get(name, [])]
        assert not leaked, f"{name} holds {leaked}"
    for p in (root / "dagster").rglob("*"):  # event log, run storage, compute logs
        if p.is_file():
            assert not _found(needles, p.read_bytes().decode("latin-1")), p
    texts, metadata, _ = _dagster_records(root / "dagster")
    assert not _found(needles, "\n".join(metadata)), "materialisation metadata"
    assert not _found(needles, "\n".join(texts)), "Dagster event log"


def test_rerunning_the_wave_gives_identical_tables_and_site(planted):
    _, (first, second) = planted
    assert first["site"].keys() == second["site"].keys()
    assert "indicators.csv" in first["site"] and any(k.endswith(".html") for k in first["site"])
    changed = [k for k in first["site"] if first["site"][k] != second["site"][k]]
    assert not changed, f"published files differ between two runs: {changed}"
    assert first["tables"].keys() == second["tables"].keys()
    changed = [t for t in first["tables"] if first["tables"][t] != second["tables"][t]]
    assert not changed, f"DuckDB tables differ between two runs: {changed}"


# --------------------------------------------------------------------------- failed runs


@pytest.fixture(scope="module", params=failure_scenarios.SCENARIOS, ids=lambda s: s.name)
def failed_run(request, tmp_path_factory):
    scenario = request.param
    root = tmp_path_factory.mktemp("failed")
    data = failure_scenarios.prepare(scenario, REPO_ROOT / "data" / "demo" / "incoming" / WAVE, root)
    env = cli_env(root / "dagster")
    env.update(scenario.env)
    args = [sys.executable, "-m", "pipelines.cli", "run", "--wave", WAVE, "--data", str(data),
            "--warehouse", str(root / "warehouse" / "htna.duckdb"), "--output", str(root / "site"), "--verbose"]
    proc = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)  # a FIFO: no hang
    return scenario, root, proc


def _step_messages(stderr: str) -> dict[str, str]:
    """The run's failure summary, by step (each message runs until the next step's line)."""
    summary = stderr[stderr.index("htna: the run failed:"):]
    out: dict[str, str] = {}
    steps: list[str] = []
    for line in summary.splitlines()[1:]:
        m = re.match(r"^([a-z_]+(?:, [a-z_]+)*): (.*)$", line)  # steps failing alike are named together
        if m:
            steps = m.group(1).split(", ")
            out.update({step: m.group(2) for step in steps})
        else:
            for step in steps:
                out[step] += "\n" + line
    return out


def test_a_failed_run_ends_in_messages_naming_file_and_position(failed_run):
    scenario, root, proc = failed_run
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr[-3000:]
    messages = _step_messages(proc.stderr)
    for step, fragments in scenario.failed_steps.items():
        assert step in messages, f"{step} did not fail: {sorted(messages)}"
        for fragment in fragments:
            assert fragment in messages[step], (step, messages[step])


def test_a_failed_run_fails_the_checks_it_should(failed_run):
    scenario, root, _ = failed_run
    if not scenario.failed_checks:
        return
    with duckdb.connect(str(root / "warehouse" / "htna.duckdb"), read_only=True) as con:
        failed = con.execute("SELECT dataset, \"check\" FROM assessment.quality_check_results WHERE NOT passed "
                             "UNION SELECT dataset, \"check\" FROM assessment.quarantine").fetchall()
    for dataset, checks in scenario.failed_checks.items():
        names = {c for d, c in failed if d == dataset}
        for check in checks:
            assert any(n == check or n.startswith(check + "__") for n in names), (dataset, check, sorted(names))


def test_a_failed_run_leaves_no_canary_behind(failed_run):
    scenario, root, proc = failed_run
    nowhere, row_level = scenario.nowhere, scenario.row_level
    assert nowhere or row_level
    assert not _found(nowhere + row_level, proc.stdout + proc.stderr), "CLI output / Dagster's log"
    texts, metadata, n_runs = _dagster_records(root / "dagster")
    assert n_runs == 1 and texts
    assert not _found(nowhere + row_level, "\n".join(texts)), "Dagster run history and event log"
    assert not _found(nowhere + row_level, "\n".join(metadata)), "materialisation metadata"
    warehouse = root / "warehouse" / "htna.duckdb"
    for p in root.rglob("*"):
        if not p.is_file() or p.is_symlink() or {"incoming", "elsewhere"} & set(p.parts):
            continue
        text = p.read_bytes().decode("latin-1")
        assert not _found(nowhere, text), p  # not even in the warehouse's bytes or the raw archive
        private = p.name.startswith(warehouse.name) or "raw_archive" in p.parts
        assert private or not _found(row_level, text), p  # the Dagster home, the site, any other file
    if warehouse.exists():
        for name, text in _tables(warehouse).items():
            leaked = _found(row_level, text) if name not in ROW_LEVEL_TABLES else []
            assert not leaked, f"{name} holds {leaked}"
    assert (root / "data" / "incoming" / WAVE).exists()  # the drop folder is untouched by a failed run


def test_the_failed_runs_cover_every_reader_and_every_data_check():
    readers = set().union(*(s.readers for s in failure_scenarios.SCENARIOS))
    assert readers == set(failure_scenarios.READERS)
    for dataset, checks in failure_scenarios.DATA_CHECKS.items():
        covered = set().union(*(s.failed_checks.get(dataset, set()) for s in failure_scenarios.SCENARIOS))
        assert covered == checks, (dataset, checks - covered)
    from assets.quality.suites import load_suites
    from pipelines.config import load_assessment

    suites = load_suites(load_assessment())
    for dataset, checks in failure_scenarios.DATA_CHECKS.items():  # the names are the suites' own
        names = {c.name.split("__")[0] for c in suites[dataset].checks}
        assert checks <= names, (dataset, checks - names)
