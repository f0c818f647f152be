"""Running a suite's Great Expectations entries on a pandas table (GX 1.x, wired by hand, thinly).

GX is imported here, inside the functions, never when the Dagster definitions load. One ephemeral
(in-memory) context per process, progress bars off, nothing written to disk and no Data Docs: GX's
own documents show raw values, so they are never part of the published site.

Row numbers of failing rows come from GX's ``unexpected_index_list``: the tables handed to GX are
indexed by the row numbers (``source_row``). The failing *values* GX also returns are dropped here
and go nowhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assets.quality import column_checks
from assets.quality.results import Outcome
from assets.quality.suites import Check, Suite

_BATCH_DEFINITION = None
_META_KEY = "htna_check"
EXAMPLES = 20
BATCH_COLUMNS = 4


def _batch_definition():
    """The process's GX batch definition over a whole in-memory DataFrame (made once)."""
    global _BATCH_DEFINITION
    if _BATCH_DEFINITION is None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            analytics_enabled=False))
        asset = context.data_sources.add_pandas("htna").add_dataframe_asset("table")
        _BATCH_DEFINITION = asset.add_batch_definition_whole_dataframe("wave")
    return _BATCH_DEFINITION


def _class_name(expectation_type: str) -> str:
    return "".join(part.capitalize() for part in expectation_type.split("_"))


def build_expectations(suite: Suite, checks: list[Check]) -> list[Any]:
    """GX expectation objects for the suite's GX entries; a bad entry is a ConfigError naming it."""
    import great_expectations.expectations as gxe

    built = []
    for check in checks:
        cls = getattr(gxe, _class_name(check.type), None)
        if cls is None:
            raise suite.error(check, f"Great Expectations has no expectation {check.type!r}",
                              "see https://greatexpectations.io/expectations for the names (GX 1.x)")
        try:
            built.append(cls(**check.kwargs, meta={_META_KEY: check.name}))
        except Exception as exc:  # pydantic validation of the keyword arguments
            lines = [ln for ln in str(exc).splitlines() if ln.strip()]
            raise suite.error(check, f"{check.type}: invalid kwargs ({'; '.join(lines[:4])})",
                              "compare the kwargs with the expectation's documentation") from None
    return built


def validate_suite_with_gx(suite: Suite) -> None:
    """Raise ConfigError if GX does not accept an entry of the suite (used by tests and `htna check`)."""
    build_expectations(suite, [c for c in suite.checks if c.kind == "expectation"])


def _columns_needed(check: Check, columns: list[str]) -> tuple[str, ...] | None:
    """The columns a column-level expectation reads (``None``: a table-level one, give it the table)."""
    k = check.kwargs
    named = [k[key] for key in ("column", "column_A", "column_B") if isinstance(k.get(key), str)]
    named += [c for c in k.get("column_list") or [] if isinstance(c, str)]
    if not named:
        return None
    condition = k.get("row_condition")
    if isinstance(condition, str):  # the columns the skip-logic condition mentions
        named += [c for c in columns if re.search(rf"(?<![A-Za-z0-9_]){re.escape(c)}(?![A-Za-z0-9_])", condition)]
    return tuple(dict.fromkeys(named))


@dataclass
class GxTable:
    """The columns GX entries read, ready for GX: text columns as pandas categories (same values;
    GX's per-batch fingerprint, null tests and set membership then run on integer codes — on a
    million text cells each costs seconds otherwise), plus the row numbers and the column names.
    Columns a type expectation inspects keep their dtype."""

    data: dict[str, Any]
    ids: np.ndarray
    names: list[str]

    def take(self, keep: np.ndarray) -> "GxTable":
        return GxTable({c: a[keep] for c, a in self.data.items()}, self.ids[keep], self.names)

    def __len__(self) -> int:
        return len(self.ids)

    def categories(self) -> dict[str, pd.Categorical]:
        """The text columns as categories (the same values; code -1 is exactly ``isna``)."""
        return {c: a for c, a in self.data.items() if isinstance(a, pd.Categorical)}


def _categories(s: pd.Series) -> pd.Categorical:
    """A text column as a categorical of the same values (categories in order of appearance: hashing
    only, where ``astype("category")`` also sorts them — seconds for a million respondent ids)."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=object), validate=False)


def prepare(frame: pd.DataFrame, checks: list[Check], row_id: str) -> GxTable:
    columns = [str(c) for c in frame.columns]
    needed: set[str] = set()
    typed: set[str | None] = set()
    for c in checks:
        if c.kind == "expectation":
            needed |= set(_columns_needed(c, columns) or ())
            if "type" in c.type:
                typed.add(c.column)
    data = {}
    for c in [c for c in columns if c in needed]:
        s = frame[c]
        data[c] = _categories(s) if s.dtype == object and c not in typed else s.array
    ids = frame[row_id].to_numpy() if row_id in frame.columns else np.arange(len(frame))
    return GxTable(data, ids, columns)


def _table_for(table: GxTable, needed: tuple[str, ...] | None) -> pd.DataFrame:
    # GX reports failing rows by index: the index is the row numbers (unnamed, so GX lists it as is)
    index = pd.Index(table.ids)
    if needed is None:  # table-level expectations see the table's shape: its columns and row count
        # (one-category columns: GX's fingerprint of the batch then hashes one category and codes per column)
        blank = pd.Categorical.from_codes(np.zeros(len(table), dtype=np.int8), categories=[False])
        shape = pd.DataFrame({i: blank for i in range(len(table.names))}, index=index)
        shape.columns = pd.Index(table.names, dtype=object)
        return shape
    return pd.DataFrame({c: table.data[c] for c in needed if c in table.data}, index=index)


def _batches(checks: list[Check], names: list[str]) -> dict[tuple[str, ...] | None, list[Check]]:
    """Checks grouped into GX batches of at most BATCH_COLUMNS columns (checks on one column together).

    Each batch costs a fingerprint of its rows (GX hashes every batch, twice) and each expectation
    copies the batch's rows: a few columns per batch balances the two."""
    by_columns: dict[tuple[str, ...] | None, list[Check]] = {}
    for c in checks:
        by_columns.setdefault(_columns_needed(c, names), []).append(c)
    batches: dict[tuple[str, ...] | None, list[Check]] = {}
    current: list[str] = []
    pending: list[Check] = []
    for cols, group in by_columns.items():
        if cols is None:
            batches[None] = group
            continue
        if current and len(set(current) | set(cols)) > BATCH_COLUMNS:
            batches[tuple(current)] = pending
            current, pending = [], []
        current = list(dict.fromkeys(current + list(cols)))
        pending = pending + group
    if pending:
        batches[tuple(current)] = pending
    return batches


#: from this many rows on, the column expectations :mod:`column_checks` can evaluate are worked out
#: per distinct value (the same outcome, tested against GX); below it GX evaluates every check
PER_VALUE_MIN_ROWS = 20_000


def run_expectations(frame: pd.DataFrame | GxTable, suite: Suite, checks: list[Check], row_id: str,
                     all_rows: bool, per_value: bool | None = None) -> dict[str, Outcome]:
    """Validate a table against ``checks`` (GX entries) and return one Outcome per check name.

    ``per_value``: evaluate the simple column expectations per distinct value (:mod:`column_checks`)
    rather than in GX; by default only for tables of ``PER_VALUE_MIN_ROWS`` rows or more, so a state's
    survey is checked by GX itself and a national one gets the same outcome in a fraction of the time.

    ``all_rows``: return every failing row (row checks, which quarantine them) rather than the first
    few as examples (blocking checks). Column-level expectations run on just the columns they read,
    grouped by column: GX's pandas engine copies the rows of the whole table it is given for every
    expectation and fingerprints every batch, which on a wide million-row table costs far more than
    the checks themselves.
    """
    checks = [c for c in checks if c.kind == "expectation"]
    if not checks:
        return {}
    import great_expectations as gx

    batch_definition = _batch_definition()  # the suite needs an active context
    expectations = dict(zip((c.name for c in checks), build_expectations(suite, checks)))
    table = frame if isinstance(frame, GxTable) else prepare(frame, checks, row_id)
    outcomes: dict[str, Outcome] = {}
    if per_value is None:
        per_value = len(table) >= PER_VALUE_MIN_ROWS
    if per_value:
        for c in checks:
            column = c.kwargs.get("column")
            if column_checks.can_evaluate(c) and column in table.data:
                try:
                    r = column_checks.evaluate(c, expectations[c.name], table.data[column], table.ids, all_rows,
                                               EXAMPLES)
                except Exception:  # anything unusual: GX evaluates it (and reports its errors)
                    continue
                outcomes[c.name] = o = _outcome(c, r, all_rows)
                if not o.evaluated and o.error is None:
                    o.evaluated = len(table)
    groups = _batches([c for c in checks if c.name not in outcomes], table.names)
    result_format: dict[str, Any] = {"result_format": "COMPLETE" if all_rows else "SUMMARY",
                                     "partial_unexpected_count": EXAMPLES, "return_unexpected_index_query": False}
    for needed, group in groups.items():
        runnable = []
        for c in group:  # a missing column is reported as such (GX would only say the check failed)
            missing = [col for col in _columns_needed(c, table.names) or () if col not in table.names]
            if missing:
                outcomes[c.name] = Outcome.failed_to_run(f"missing column(s): {', '.join(missing)}")
            else:
                runnable.append(c)
        group = runnable
        if not group:
            continue
        gx_suite = gx.ExpectationSuite(name=suite.dataset, expectations=[expectations[c.name] for c in group])
        batch = batch_definition.get_batch(batch_parameters={"dataframe": _table_for(table, needed)})
        validation = batch.validate(gx_suite, result_format=result_format)
        by_name = {c.name: c for c in group}
        for r in validation.results:
            name = (r.expectation_config.meta or {}).get(_META_KEY)
            if name in by_name:
                outcomes[name] = o = _outcome(by_name[name], r, all_rows)
                if not o.evaluated and o.error is None:  # table-level and type expectations: the whole table
                    o.evaluated = len(table)
    for c in checks:  # GX reports every expectation; this only guards against a silent drop
        outcomes.setdefault(c.name, Outcome.failed_to_run("Great Expectations returned no result"))
    return outcomes


def _rows(result: dict, all_rows: bool) -> list[int]:
    listed = result.get("unexpected_index_list" if all_rows else "partial_unexpected_index_list") or []
    return [int(x) for x in listed if not isinstance(x, dict)]


def _outcome(check: Check, r: Any, all_rows: bool) -> Outcome:
    info = r.exception_info or {}
    nested = [v for v in info.values() if isinstance(v, dict)]  # per-metric exception records
    raised = [i for i in [info, *nested] if i.get("raised_exception")]
    if raised:
        message = str(raised[0].get("exception_message") or "error").splitlines()[0]
        # quoted parts of the error's text may be cells of the data: they are blanked
        return Outcome.failed_to_run(re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", message)[:200])
    result = dict(r.result or {})
    if not result and not r.success:
        return Outcome.failed_to_run("Great Expectations could not evaluate it")
    evaluated = int(result.get("element_count") or 0)
    unexpected = int(result.get("unexpected_count") or 0)
    outcome = Outcome(passed=bool(r.success), evaluated=evaluated, unexpected=unexpected,
                      rows=_rows(result, all_rows), observed=None,
                      threshold=check.kwargs.get("mostly"),
                      unexpected_percent=result.get("unexpected_percent"))
    observed = result.get("observed_value")
    t = check.type
    if t == "expect_table_columns_to_match_set":
        missing = sorted(((result.get("details") or {}).get("mismatched") or {}).get("missing") or [])
        outcome.observed = missing or None
        outcome.unexpected = len(missing)
        outcome.message = f"missing column(s): {', '.join(missing)}" if missing else "all required columns present"
        outcome.passed = not missing  # extra columns are allowed
    elif t == "expect_column_to_exist":
        outcome.message = "present" if r.success else f"no column {check.column!r}"
    elif t == "expect_table_row_count_to_be_between":
        outcome.observed = observed
        outcome.evaluated = int(observed or 0)
        lo, hi = check.kwargs.get("min_value"), check.kwargs.get("max_value")
        bounds = " and ".join(x for x in [f"at least {lo}" if lo is not None else "",
                                           f"at most {hi}" if hi is not None else ""] if x)
        outcome.threshold = bounds
        outcome.message = f"{observed} rows ({bounds} needed)"
    elif t.startswith("expect_column_values_to_be_in_type_list") or t.startswith("expect_column_values_to_be_of_type"):
        outcome.observed = observed
        outcome.message = f"stored as {observed}"
    elif t == "expect_column_values_to_not_be_null":
        share = 1 - (unexpected / evaluated) if evaluated else None
        need = check.kwargs.get("mostly", 1.0)
        outcome.observed = None if share is None else round(share, 4)
        outcome.message = (f"{share:.1%} of {evaluated} rows filled in (at least {need:.0%} needed)"
                           if share is not None else "no rows to check")
    elif "observed_value" in result:
        outcome.observed = observed
        outcome.message = "as expected" if r.success else "not as expected"
    else:
        pct = outcome.percent()
        outcome.message = (f"{unexpected} of {evaluated} rows fail"
                           + (f" ({pct:.1f}%)" if pct is not None and unexpected else ""))
    return outcome
