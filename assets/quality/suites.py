"""Expectation suites: JSON files in ``expectations/``, checked and expanded against the assessment config.

One file per dataset (``officer_responses.json``, ``stakeholder_interviews.json``,
``survivor_interviews.json``, ``case_lists.json``). Each entry is either a Great Expectations
expectation (``"expectation": "expect_..."`` with GX's own keyword arguments) or one of the
assessment's row rules (``"rule": "speeders"`` ...; see :mod:`assets.quality.rules`), with a
``severity``: ``blocking`` (the wave cannot be estimated) or ``row`` (failing rows are quarantined).

Values that depend on the state or the codebook are written as placeholders (``"$counties"``,
``"$options:{name}"`` ...) that the loader fills from the config, so a new state or a new question
needs no JSON edit; ``for_each`` repeats an entry over a codebook list. The full list is in
``expectations/README.md`` and in :data:`PLACEHOLDERS`.

This module never imports Great Expectations: the Dagster definitions load suites (to declare one
asset check per expectation) and must stay fast. Whether GX knows an expectation and accepts its
arguments is checked when the suite runs (:func:`assets.quality.gx_runner.build_expectations`).
"""

from __future__ import annotations

import inspect
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from assets.quality.rules import RULES as RULE_FUNCTIONS
from pipelines.config import REPO_ROOT, Assessment, Option
from pipelines.errors import ConfigError

SUITE_DIR = Path(os.environ.get("HTNA_EXPECTATIONS") or REPO_ROOT / "expectations")
DATASETS = ("officer_responses", "stakeholder_interviews", "survivor_interviews", "case_lists")
SURVEY_DATASETS = ("officer_responses", "stakeholder_interviews", "survivor_interviews")
SEVERITIES = ("blocking", "row")
RULES = tuple(RULE_FUNCTIONS)
RECONCILIATION = "reconciliation"
# Columns of an overlap table that are not lists (the data-derived placeholder $list_columns).
NON_LIST_COLUMNS = ("count", "stratum", "wave")

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_EXPECTATION = re.compile(r"^expect_[a-z0-9_]+$")
_ENTRY_KEYS = {"id", "expectation", "rule", "kwargs", "severity", "description", "reason", "fix",
               "for_each", "exclude", "overrides", "notes"}
_SUITE_KEYS = {"dataset", "description", "row_id", "first_data_line", "optional", "expectations", "notes"}


@dataclass(frozen=True)
class Check:
    """One expectation of a suite after placeholders and ``for_each`` are expanded."""

    name: str            # unique in the suite; the Dagster asset check's name
    entry: int           # position of the JSON entry it comes from (for error messages)
    kind: str            # "expectation" | "rule"
    type: str            # GX expectation type (expect_...) or rule name
    kwargs: dict[str, Any]
    severity: str        # "blocking" | "row"
    description: str
    reason: str          # written to the quarantine table for a failing row (never row contents)
    fix: str
    item: str | None = None  # the for_each item it was made for

    @property
    def blocking(self) -> bool:
        return self.severity == "blocking"

    @property
    def column(self) -> str | None:
        col = self.kwargs.get("column")
        return col if isinstance(col, str) else None


@dataclass
class Suite:
    dataset: str
    path: Path
    description: str
    row_id: str
    first_data_line: int
    optional: bool
    checks: list[Check] = field(default_factory=list)

    def where(self, check: Check) -> str:
        """'expectations[3] (id "speeders")': the place of a check in its file, for error messages."""
        return f"expectations[{check.entry}] (id {check.name.split('__')[0]!r})"

    def error(self, check: Check, problem: str, fix: str = "") -> ConfigError:
        return ConfigError(self.path, f"{self.where(check)}: {problem}", fix)


# --------------------------------------------------------------------------- placeholders


def _single(a: Assessment) -> dict:
    return {v.name: v for v in a.codebook.variables if v.type == "single"}


def _variable(a: Assessment, name: str):
    for v in a.codebook.variables:
        if v.name == name:
            return v
    raise KeyError(name)


def _options(a: Assessment, name: str) -> list[str]:
    single = _single(a)
    if name in single:
        return a.options(single[name])
    for d in a.codebook.derived:
        if d.name == name:
            return sorted(set(a.derived_map(d).values()))
    raise KeyError(f"{name} is not a single-choice or derived variable of the codebook")


def _multi_columns(a: Assessment) -> list[str]:
    return [f"{v.name}__{o.code}" for v in a.codebook.variables if v.type == "multi"
            for o in v.options or [] if isinstance(o, Option)]


def answer_column(a: Assessment, name: str) -> str:
    """The column that is empty when the question was not answered (a multi-select's first option)."""
    v = _variable(a, name)
    if v.type == "multi":
        first = next(o for o in v.options or [] if isinstance(o, Option))
        return f"{v.name}__{first.code}"
    return v.name


def asked_if_condition(a: Assessment, name: str) -> str | None:
    """The codebook's skip logic of a question as a pandas query (``None``: asked of everyone)."""
    v = _variable(a, name)
    if not v.asked_if:
        return None
    parts = [f"`{var}` in {json.dumps(list(values))}" for var, values in v.asked_if.items()]
    return " and ".join(parts)


def canonical_columns(a: Assessment) -> list[str]:
    """The columns every ``officer_responses`` table has, whatever the export looked like."""
    cols = ["wave", "source_row", "respondent_id"]
    for v in a.codebook.variables:
        if v.type == "multi":
            cols += [f"{v.name}__{o.code}" for o in v.options or [] if isinstance(o, Option)]
        else:
            cols.append(v.name)
    cols += [d.name for d in a.codebook.derived]
    cols.append("duration_seconds")
    return cols


def _frame(a: Assessment, dataset: str):
    if dataset not in ("stakeholder_interviews", "survivor_interviews"):
        raise KeyError(f"only an interview suite has a coding frame, not {dataset}")
    return getattr(a.frames, dataset)


def _scale(a: Assessment, name: str) -> list[str]:
    if name not in a.codebook.scales:
        raise KeyError(f"the codebook has no scale {name!r} (it has {', '.join(a.codebook.scales)})")
    return list(a.codebook.scales[name])


# name -> (takes an argument?, function(assessment, dataset, argument) -> value, documentation)
PLACEHOLDERS: dict[str, tuple[bool, Callable[[Assessment, str, str], Any], str]] = {
    "counties": (False, lambda a, d, x: a.county_names, "the state's county names (assessment.yaml)"),
    "county_groups": (False, lambda a, d, x: [g.name for g in a.config.county_groups],
                      "the county group names"),
    "single_choice": (False, lambda a, d, x: list(_single(a)), "names of the single-choice questions"),
    "derived": (False, lambda a, d, x: [x.name for x in a.codebook.derived], "names of the derived variables"),
    "multi_select_columns": (False, lambda a, d, x: _multi_columns(a),
                             "one column per option of every multi-select question (var__code)"),
    "questions": (False, lambda a, d, x: [v.name for v in a.codebook.variables], "every codebook question"),
    "answer_columns": (False, lambda a, d, x: [answer_column(a, v.name) for v in a.codebook.variables],
                       "for every question, the column that is empty when it was not answered"),
    "canonical_columns": (False, lambda a, d, x: canonical_columns(a),
                          "every column of the canonical officer_responses table"),
    "options": (True, lambda a, d, x: _options(a, x), "answer labels of a single-choice or derived variable"),
    "scale": (True, lambda a, d, x: _scale(a, x), "the labels of a codebook scale"),
    "scale_ends": (True, lambda a, d, x: [_scale(a, x)[0], _scale(a, x)[-1]],
                   "the first and last label of a codebook scale"),
    "on_scale": (True, lambda a, d, x: [v.name for v in _single(a).values() if v.scale == x],
                 "the questions answered on a codebook scale"),
    "answer_column": (True, lambda a, d, x: answer_column(a, x), "see answer_columns, for one question"),
    "asked_if": (True, lambda a, d, x: asked_if_condition(a, x),
                 "the codebook's skip logic of a question as a row condition (absent: everyone)"),
    "themes": (False, lambda a, d, x: [t.code for t in _frame(a, d).themes], "theme codes of the coding frame"),
    "attributes": (False, lambda a, d, x: list(_frame(a, d).attributes), "attributes of the coding frame"),
    "levels": (True, lambda a, d, x: list(_frame(a, d).attributes[x]), "levels of a coding-frame attribute"),
}
# Filled from the data when the suite runs (an overlap table's lists are named by its columns).
DATA_PLACEHOLDERS = {"list_columns": "every column of an overlap table except count, stratum and wave"}


class _Unresolved(Exception):
    pass


def _placeholder(token: str, a: Assessment, dataset: str, columns: list[str] | None) -> Any:
    name, _, arg = token[1:].partition(":")
    if name in DATA_PLACEHOLDERS:
        if columns is None:
            raise _Unresolved(token)
        return [c for c in columns if c not in NON_LIST_COLUMNS]
    if name not in PLACEHOLDERS:
        raise KeyError(f"unknown placeholder {token!r} (known: "
                       f"{', '.join('$' + p for p in [*PLACEHOLDERS, *DATA_PLACEHOLDERS])})")
    takes_arg, fn, _ = PLACEHOLDERS[name]
    if takes_arg and not arg:
        raise KeyError(f"placeholder {token!r} needs an argument, like ${name}:<name>")
    try:
        return fn(a, dataset, arg)
    except StopIteration:
        raise KeyError(f"{token!r}: the question has no options") from None
    except KeyError as exc:
        raise KeyError(f"{token!r}: {exc.args[0] if exc.args else 'unknown name'}") from None


def _resolve(value: Any, a: Assessment, dataset: str, columns: list[str] | None) -> Any:
    """Replace "$..." strings; a placeholder that gives a list inside a list is spliced into it."""
    if isinstance(value, str) and value.startswith("$") and not value.startswith("$$"):
        return _placeholder(value, a, dataset, columns)
    if isinstance(value, str) and value.startswith("$$"):
        return value[1:]
    if isinstance(value, list):
        out: list[Any] = []
        for v in value:
            r = _resolve(v, a, dataset, columns)
            if isinstance(v, str) and v.startswith("$") and not v.startswith("$$") and isinstance(r, list):
                out.extend(r)
            else:
                out.append(r)
        return out
    if isinstance(value, dict):
        return {k: _resolve(v, a, dataset, columns) for k, v in value.items()}
    return value


def _template(value: Any, item: str) -> Any:
    if isinstance(value, str):
        return value.replace("{name}", item)
    if isinstance(value, list):
        return [_template(v, item) for v in value]
    if isinstance(value, dict):
        return {k: _template(v, item) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- loading


def suite_path(dataset: str, directory: Path | str | None = None) -> Path:
    return Path(directory or SUITE_DIR) / f"{dataset}.json"


def _read(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "expectation suite not found",
                          f"restore it from the repository, or write one (see {path.parent / 'README.md'})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read the file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(path, f"line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})",
                          "a common cause is a comma after the last item of a list or object") from None
    if not isinstance(data, dict):
        raise ConfigError(path, "expected a JSON object at the top level")
    return data


def _entry_problems(i: int, e: Any, seen: set[str]) -> list[str]:
    if not isinstance(e, dict):
        return [f"expectations[{i}]: expected an object, got {type(e).__name__}"]
    where = f"expectations[{i}]" + (f" (id {e['id']!r})" if isinstance(e.get("id"), str) else "")
    p = []
    unknown = sorted(set(e) - _ENTRY_KEYS)
    if unknown:
        p.append(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_ENTRY_KEYS))})")
    eid = e.get("id")
    if not isinstance(eid, str) or not _ID.match(eid) or "__" in eid:
        p.append(f"{where}: 'id' must be lower-case letters, digits and single underscores, starting with a letter")
    elif eid in seen:
        p.append(f"{where}: id {eid!r} is used twice")
    else:
        seen.add(eid)
    if ("expectation" in e) == ("rule" in e):
        p.append(f"{where}: give exactly one of 'expectation' (a Great Expectations type) or 'rule'")
    elif "expectation" in e and not (isinstance(e["expectation"], str) and _EXPECTATION.match(e["expectation"])):
        p.append(f"{where}: 'expectation' must be a Great Expectations type such as "
                 f"expect_column_values_to_be_in_set, got {e['expectation']!r}")
    elif "rule" in e and e["rule"] not in RULES:
        p.append(f"{where}: unknown rule {e['rule']!r} (rules: {', '.join(RULES)})")
    if e.get("severity") not in SEVERITIES:
        p.append(f"{where}: 'severity' must be \"blocking\" or \"row\", got {e.get('severity')!r}")
    if not isinstance(e.get("description"), str) or not e["description"].strip():
        p.append(f"{where}: 'description' is required (what the expectation means, in words)")
    for key in ("reason", "fix", "notes"):
        if key in e and not isinstance(e[key], str):
            p.append(f"{where}: {key!r} must be text")
    if not isinstance(e.get("kwargs", {}), dict):
        p.append(f"{where}: 'kwargs' must be an object")
    if "for_each" in e and not (isinstance(e["for_each"], str) and e["for_each"].startswith("$")):
        p.append(f"{where}: 'for_each' must be a list placeholder such as \"$single_choice\"")
    if "exclude" in e and not (isinstance(e["exclude"], list) and all(isinstance(x, str) for x in e["exclude"])):
        p.append(f"{where}: 'exclude' must be a list of names")
    if "overrides" in e and not (isinstance(e["overrides"], dict)
                                 and all(isinstance(v, dict) for v in e["overrides"].values())):
        p.append(f"{where}: 'overrides' must map names to objects of kwargs")
    if ("exclude" in e or "overrides" in e) and "for_each" not in e:
        p.append(f"{where}: 'exclude' and 'overrides' only apply with 'for_each'")
    return p


def load_suite(dataset: str, assessment: Assessment, directory: Path | str | None = None,
               columns: list[str] | None = None) -> Suite:
    """Read, validate and expand one dataset's suite.

    ``columns`` (the table's columns) fills data-derived placeholders such as ``$list_columns``;
    without it, entries that need them are left out (they are added when the suite runs).
    Raises :class:`ConfigError` naming the file and the entry for every problem found.
    """
    path = suite_path(dataset, directory)
    data = _read(path)
    problems: list[str] = []
    unknown = sorted(set(data) - _SUITE_KEYS)
    if unknown:
        problems.append(f"unknown top-level key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_SUITE_KEYS))})")
    if data.get("dataset") != dataset:
        problems.append(f"'dataset' must be {dataset!r} (the file name), got {data.get('dataset')!r}")
    if not isinstance(data.get("row_id", "source_row"), str):
        problems.append("'row_id' must be a column name")
    if not isinstance(data.get("first_data_line", 2), int) or data.get("first_data_line", 2) < 1:
        problems.append("'first_data_line' must be a positive whole number")
    if not isinstance(data.get("optional", False), bool):
        problems.append("'optional' must be true or false")
    entries = data.get("expectations")
    if not isinstance(entries, list) or not entries:
        problems.append("'expectations' must be a non-empty list")
        entries = []
    seen: set[str] = set()
    for i, e in enumerate(entries):
        problems += _entry_problems(i, e, seen)
    if problems:
        raise ConfigError(path, problems, f"see {path.parent / 'README.md'} for the format")

    suite = Suite(dataset=dataset, path=path, description=str(data.get("description", "")),
                  row_id=data.get("row_id", "source_row"), first_data_line=int(data.get("first_data_line", 2)),
                  optional=bool(data.get("optional", False)))
    for i, e in enumerate(entries):
        where = f"expectations[{i}] (id {e['id']!r})"
        try:
            suite.checks += _expand(i, e, assessment, dataset, columns)
        except _Unresolved:
            continue
        except KeyError as exc:
            problems.append(f"{where}: {exc.args[0]}")
    for c in suite.checks:
        if c.kind == "rule":
            params = inspect.signature(RULE_FUNCTIONS[c.type]).parameters
            accepted = [p for p, spec in params.items() if spec.kind is inspect.Parameter.KEYWORD_ONLY]
            unknown = sorted(set(c.kwargs) - set(accepted))
            needed = sorted(p for p in accepted if params[p].default is inspect.Parameter.empty
                            and p not in c.kwargs)
            if unknown or needed:
                problems.append(f"{suite.where(c)}: rule {c.type!r} "
                                + (f"takes no kwarg(s) {', '.join(unknown)}" if unknown else "")
                                + ("; " if unknown and needed else "")
                                + (f"needs kwarg(s) {', '.join(needed)}" if needed else "")
                                + f" (it takes: {', '.join(accepted) or 'none'})")
    names = [c.name for c in suite.checks]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        problems.append(f"check names made twice by for_each: {', '.join(dup)}")
    if RECONCILIATION in names:
        problems.append(f"id {RECONCILIATION!r} is reserved for the built-in reconciliation check")
    if problems:
        raise ConfigError(path, list(dict.fromkeys(problems)), f"see {path.parent / 'README.md'} for placeholders and for_each")
    return suite


def _expand(i: int, e: dict, a: Assessment, dataset: str, columns: list[str] | None) -> list[Check]:
    kind = "expectation" if "expectation" in e else "rule"
    base = dict(e.get("kwargs", {}))
    if "for_each" not in e:
        items: list[str | None] = [None]
    else:
        listed = _resolve(e["for_each"], a, dataset, columns)
        if not isinstance(listed, list):
            raise KeyError(f"for_each {e['for_each']!r} is not a list")
        excluded = set(e.get("exclude", []))
        unknown = sorted((excluded | set(e.get("overrides", {}))) - set(listed))
        if unknown:
            raise KeyError(f"exclude/overrides name {', '.join(unknown)}, which {e['for_each']} does not list")
        items = [x for x in listed if x not in excluded]
    checks = []
    for item in items:
        kwargs = dict(base)
        name = e["id"]
        if item is not None:
            kwargs.update(e.get("overrides", {}).get(item, {}))
            kwargs = _template(kwargs, item)
            name = f"{e['id']}__{item}"
        kwargs = _resolve(kwargs, a, dataset, columns)
        if "row_condition" in kwargs and kwargs["row_condition"] is None:
            kwargs.pop("row_condition")  # $asked_if of a question everyone is asked
            kwargs.pop("condition_parser", None)
        desc = _template(e["description"], item) if item else e["description"]
        checks.append(Check(
            name=name, entry=i, kind=kind, type=e.get("expectation") or e["rule"], kwargs=kwargs,
            severity=e["severity"], description=desc,
            reason=_template(e.get("reason", e["description"]), item) if item else e.get("reason", e["description"]),
            fix=_template(e.get("fix", ""), item) if item else e.get("fix", ""), item=item))
    return checks


def load_suites(assessment: Assessment, directory: Path | str | None = None,
                datasets: tuple[str, ...] = DATASETS) -> dict[str, Suite]:
    """Every suite, validated; all problems of all files are reported together."""
    suites: dict[str, Suite] = {}
    errors: list[ConfigError] = []
    for d in datasets:
        try:
            suites[d] = load_suite(d, assessment, directory)
        except ConfigError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigError(errors[0].path.parent, [str(e) for e in errors])
    return suites


def check_names(suite: Suite, reconcile: bool | None = None) -> list[tuple[str, bool, str]]:
    """(check name, blocking?, description) of every check the suite reports, reconciliation included
    (``reconcile``: as :func:`assets.quality.screening.screen_dataset` says)."""
    out = [(c.name, c.blocking, c.description) for c in suite.checks]
    if suite.dataset in SURVEY_DATASETS if reconcile is None else reconcile:
        out.append((RECONCILIATION, True, "Every row read from the export is either accepted or quarantined "
                                          "(rows read = accepted + quarantined)"))
    return out
