"""One-off design-based estimates on any respondent-level CSV: the engine of ``htna estimate``.

    htna estimate DATA.csv --outcome VAR [--by VAR] [--poststratify VAR=POP.csv | --rake VAR=POP.csv ...]
                  [--ci logit|likelihood|beta|asin|xlogit|mean|wilson] [--weights COL] [--json]

What it computes, in R's terms (``survey`` 4.1-1):

* the design is ``svydesign(id=~1, weights=~COL, data=DATA)`` (weights 1 without ``--weights``;
  ``--strata``, ``--ids`` and ``--fpc`` give a stratified / clustered design as ``svydesign``);
* ``--poststratify VAR=POP.csv`` is ``postStratify(design, ~VAR, pop)``; ``--rake`` (repeatable)
  is ``rake(design, list(~VAR1, ~VAR2), list(pop1, pop2))`` run to a tight tolerance (relative
  change 1e-10, up to 200 passes; ``--epsilon 1 --maxit 10`` are R's defaults);
* a binary outcome (0/1, yes/no, true/false, or ``--outcome VAR=VALUE`` for the share answering
  VALUE) gives ``svyciprop(~VAR, design, method=CI)`` with the design degrees of freedom; a numeric
  outcome gives ``svymean`` (or ``svytotal`` with ``--statistic total``) with R's ``confint`` normal
  interval; ``--ci wilson`` gives the Wilson interval, on the counts for an unweighted simple random
  sample, otherwise with the effective sample size ``p (1 - p) / var``;
* ``--by VAR`` is ``svyby(~outcome, ~VAR, design, ...)`` (one row per level; rows with no VAR left
  out); standard errors are Taylor-linearised over the whole calibrated design;
* ``deff`` is R's ``deff=TRUE`` (against simple random sampling without replacement).

Rows whose outcome is missing (empty, NA) are left out of the estimate but stay in the calibration
(R's ``na.rm=TRUE`` on the calibrated design). Every problem with the user's files raises
:class:`~pipelines.errors.InputError` naming the file and what to do.

POP.csv: the category in the first column, the population count in the second; a header row is
optional; an R ``write.csv`` file with row names (an unnamed first column of row numbers) is read
too. Categories are matched as text after trimming spaces; numbers match numerically ("1" = "1.0").
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.errors import HtnaError, InputError

__all__ = ["CI_CHOICES", "EstimateRequest", "format_results", "read_population", "run_estimate"]

CI_CHOICES = ("logit", "likelihood", "beta", "asin", "xlogit", "mean", "wilson")
STATISTICS = ("auto", "mean", "proportion", "total")
MISSING = ("", "NA", "N/A", "NaN", "nan", "NULL", "null", ".")
YES = {"yes", "y", "true", "t"}
NO = {"no", "n", "false", "f"}
JSON_KEYS = ("domain", "estimate", "se", "ci_low", "ci_high", "n", "deff")


@dataclass
class EstimateRequest:
    """The arguments of one ``htna estimate`` call."""

    data: Path
    outcome: str
    by: str | None = None
    poststratify: list[str] = field(default_factory=list)
    rake: list[str] = field(default_factory=list)
    ci: str = "logit"
    weights: str | None = None
    strata: str | None = None
    ids: str | None = None
    fpc: str | None = None
    statistic: str = "auto"
    level: float = 0.95
    partial: bool = False
    epsilon: float = 1e-10
    maxit: int = 200


@dataclass
class EstimateRun:
    """Results (one dict per domain) and notes for the user."""

    rows: list[dict]
    statistic: str
    ci_method: str
    notes: list[str]
    timings: dict[str, float]


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------


def _canon(value: str) -> str:
    """Matching key of a category: trimmed text, numbers in one form ("1", "1.0" -> "1")."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if math.isfinite(number) and number == int(number):
        return str(int(number))
    return repr(number)


def _suggest(name: str, columns: list[str]) -> str:
    close = difflib.get_close_matches(name, columns, n=3, cutoff=0.5)
    if not close:
        close = [c for c in columns if c.lower() == name.lower()]
    shown = ", ".join(columns[:30]) + (" ..." if len(columns) > 30 else "")
    return (f"did you mean {', '.join(repr(c) for c in close)}? " if close else "") + f"the columns are: {shown}"


def _csv_columns(path: Path) -> tuple[list[str], str]:
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
        sample = fh.read(65536)
    if not sample.strip():
        raise InputError(path, "the file is empty", fix="give a CSV with a header row and one row per respondent")
    try:
        dialect = csv.Sniffer().sniff(sample.splitlines()[0], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    header = next(csv.reader([sample.splitlines()[0]], dialect))
    return [h.strip() for h in header], dialect.delimiter


def read_data(path: Path, columns: list[str]) -> pd.DataFrame:
    """The needed columns of a respondent-level CSV, missing values (empty, NA, ...) as missing.

    A column whose every value is a number comes as float64, any other as trimmed text (object).
    DuckDB parses the file once into a temporary table (a million rows in about a second); a file
    it cannot parse is read by pandas instead, whose error names the line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file", fix="check the path of the data file")
    header, delimiter = _csv_columns(path)
    for col in columns:
        if col not in header:
            raise InputError(path, f"no column {col!r}", fix=_suggest(col, header))
    wanted = list(dict.fromkeys(columns))
    try:
        frame = _read_with_duckdb(path, header, wanted, delimiter)
    except InputError:
        raise
    except Exception as exc:  # a CSV duckdb cannot parse: fall back to pandas, which names the line
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=wanted, sep=delimiter,
                                encoding="utf-8-sig")
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc2:
            raise InputError(path, f"cannot read the file as CSV ({exc2}; {exc})") from None
        frame = frame[wanted].apply(lambda s: s.str.strip()).replace(list(MISSING), None)
        for col in wanted:
            numbers = pd.to_numeric(frame[col], errors="coerce")
            if frame[col].notna().any() and numbers.notna().sum() == frame[col].notna().sum():
                frame[col] = numbers.astype(float)
    if frame.empty:
        raise InputError(path, "the file has a header but no rows")
    return frame


def _read_with_duckdb(path: Path, header: list[str], wanted: list[str], delimiter: str) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    try:
        source = ("read_csv('" + str(path).replace("'", "''") + "', header = true, all_varchar = true, "
                  "delim = '" + delimiter.replace("'", "''") + "')")
        names = [d[0] for d in con.sql(f"SELECT * FROM {source} LIMIT 0").description]
        index = {h: i for i, h in enumerate(header)}
        missing = ", ".join(f"'{m}'" for m in MISSING)
        exprs = []
        for i, col in enumerate(wanted):
            q = '"' + names[index[col]].replace('"', '""') + '"'
            exprs.append(f"CASE WHEN trim({q}) IN ({missing}) THEN NULL ELSE trim({q}) END AS c{i}")
        con.execute(f"CREATE TEMP TABLE t AS SELECT {', '.join(exprs)} FROM {source}")
        checks = ", ".join(f"count(c{i}), count(c{i}) - count(TRY_CAST(c{i} AS DOUBLE))" for i in range(len(wanted)))
        counts = con.execute(f"SELECT {checks} FROM t").fetchall()[0]
        select = []
        for i in range(len(wanted)):
            present, not_numbers = counts[2 * i], counts[2 * i + 1]
            if present and not not_numbers:
                select.append(f"TRY_CAST(c{i} AS DOUBLE) AS c{i}")
                continue
            distinct = con.execute(f"SELECT count(DISTINCT c{i}) FROM t").fetchall()[0][0]
            if 0 < distinct <= 100_000:  # text as a pandas categorical: no million Python strings
                con.execute(f"CREATE TYPE e{i} AS ENUM (SELECT DISTINCT c{i} FROM t WHERE c{i} IS NOT NULL)")
                select.append(f"CAST(c{i} AS e{i}) AS c{i}")
            else:
                select.append(f"c{i}")
        frame = con.sql(f"SELECT {', '.join(select)} FROM t").df()
    finally:
        con.close()
    frame.columns = wanted
    for col in wanted:
        if frame[col].dtype != float and not isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def read_population(path: Path) -> tuple[dict[str, float], dict[str, str]]:
    """A POP.csv: ``({canonical category: count}, {canonical category: category as written})``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file", fix="check the path of the population file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(65536)
            fh.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            except csv.Error:
                dialect = csv.excel
            rows = [r for r in csv.reader(fh, dialect) if any(c.strip() for c in r)]
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not a text file ({exc})") from None
    if not rows:
        raise InputError(path, "the file is empty", fix="one row per category: category, population count")
    first = rows[0]
    # an R write.csv file with row names: "", "stype", "Freq" then "1", "E", 4421 ...
    offset = 1 if len(first) >= 3 and first[0].strip() == "" and not _is_number(first[2]) else 0
    header = not _is_number(first[1 + offset] if len(first) > 1 + offset else "")
    pop: dict[str, float] = {}
    label: dict[str, str] = {}
    for i, row in enumerate(rows[1 if header else 0:], start=2 if header else 1):
        if len(row) < 2 + offset:
            raise InputError(path, "a row needs a category and a population count", row=i)
        cat, count = row[offset].strip(), row[offset + 1].strip()
        if not _is_number(count) or float(count) < 0:
            raise InputError(path, f"population count {count!r} is not a non-negative number", row=i,
                             fix="the second column holds the population count of the category")
        key = _canon(cat)
        if key in pop:
            raise InputError(path, f"category {cat!r} is listed twice", row=i)
        pop[key] = float(count)
        label[key] = cat
    if not pop:
        raise InputError(path, "no categories in the file")
    return pop, label


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(str(text).strip()))
    except ValueError:
        return False


def _split_spec(spec: str, option: str) -> tuple[str, Path]:
    if "=" not in spec:
        raise HtnaError(f"{option} {spec!r}: expected VAR=POP.csv (the variable, '=', the population file)")
    var, _, pop = spec.partition("=")
    if not var.strip() or not pop.strip():
        raise HtnaError(f"{option} {spec!r}: expected VAR=POP.csv")
    return var.strip(), Path(pop.strip())


# ---------------------------------------------------------------------------------------------
# design
# ---------------------------------------------------------------------------------------------


def _calibration_column(frame: pd.DataFrame, var: str, data_path: Path, pop_path: Path, option: str,
                        partial: bool, pop: dict[str, float], label: dict[str, str]) -> np.ndarray:
    """The variable as canonical category labels, checked against its population file."""
    values = frame[var]
    missing = int(values.isna().sum())
    if missing:
        raise InputError(data_path, f"{missing} rows have no value of {var!r}, so they cannot be calibrated",
                         column=var, fix=f"drop those rows, or give them a category that is in {pop_path.name}")
    codes, uniques = pd.factorize(values)
    canon = np.array([_canon(u) for u in uniques], dtype=object)
    counts = np.bincount(codes, minlength=len(uniques))
    absent = [(uniques[i], int(counts[i])) for i in range(len(uniques)) if canon[i] not in pop]
    if absent:
        shown = ", ".join(f"{u!r} ({k} rows)" for u, k in absent[:10])
        raise InputError(pop_path, f"categories of {var!r} in the data are not in this file: {shown}",
                         fix=f"add a row for each (category, population count), or recode {var} in the data")
    present = set(canon)
    unsampled = [label[k] for k, v in pop.items() if v > 0 and k not in present]
    if unsampled and not (partial and option == "--poststratify"):
        fix = "merge each with a neighbouring category in both files"
        fix += ", or pass --partial to ignore them" if option == "--poststratify" else ""
        raise InputError(pop_path, f"categories with no respondents in the data: {', '.join(map(repr, unsampled))}",
                         fix=fix)
    return canon[codes]


def _numeric(values: pd.Series, path: Path, name: str) -> np.ndarray:
    if values.dtype == float:
        return values.to_numpy(dtype=float)
    codes, uniques = pd.factorize(values)
    parsed = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype=float)
    bad = [u for u, p in zip(uniques, parsed) if not np.isfinite(p)]
    if bad:
        first = int(np.flatnonzero(values.isin(bad[:1]).to_numpy())[0]) + 2  # its line, header on line 1
        raise InputError(path, f"{name} has {len(bad)} distinct value(s) that are not numbers, the first on line "
                         f"{first}", column=name, value=bad[0])
    out = np.full(len(values), np.nan)
    ok = codes >= 0
    out[ok] = parsed[codes[ok]]
    return out


def _outcome(frame: pd.DataFrame, spec: str, column: str, value: str | None, path: Path,
             statistic: str) -> tuple[np.ndarray, str]:
    """Outcome values (NaN = missing) and the statistic: proportion for binary outcomes, else mean."""
    values = frame[column]
    if values.dtype == float and value is None:  # every value a number: no need to look at text
        y = values.to_numpy(dtype=float)
        finite = y[np.isfinite(y)]
        kind = "proportion" if finite.size and np.isin(finite, (0.0, 1.0)).all() else "mean"
        return _checked_outcome(y, kind, spec, column, path, statistic)
    codes, uniques = pd.factorize(values)
    if value is not None:
        target = _canon(value)
        hit = np.array([_canon(u) == target for u in uniques], dtype=float)
        if not hit.any():
            shown = ", ".join(map(repr, list(uniques[:10])))
            raise InputError(path, f"{column!r} never takes the value {value!r}", column=column,
                             fix=f"its values include {shown}")
        y = np.where(codes >= 0, hit[np.maximum(codes, 0)] if len(hit) else 0.0, np.nan)
        kind = "proportion"
    else:
        lower = [str(u).strip().lower() for u in uniques]
        numbers = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(dtype=float)
        if len(uniques) and np.isfinite(numbers).all():
            mapped = numbers
            kind = "proportion" if set(np.unique(numbers)) <= {0.0, 1.0} else "mean"
        elif len(uniques) and all(v in YES | NO for v in lower):
            mapped = np.array([1.0 if v in YES else 0.0 for v in lower])
            kind = "proportion"
        else:
            bad = [u for u, n in zip(uniques, numbers) if not np.isfinite(n)]
            raise InputError(path, f"{column!r} is neither numeric nor yes/no ({len(bad)} distinct other "
                             "value(s))", column=column, value=bad[0],
                             fix=f"for the share giving one answer use --outcome {column}=VALUE")
        y = np.full(len(values), np.nan)
        ok = codes >= 0
        y[ok] = mapped[codes[ok]]
    return _checked_outcome(y, kind, spec, column, path, statistic)


def _checked_outcome(y: np.ndarray, kind: str, spec: str, column: str, path: Path,
                     statistic: str) -> tuple[np.ndarray, str]:
    if not np.isfinite(y).any():
        raise InputError(path, f"{spec!r} has no non-missing values", column=column)
    if statistic != "auto":
        if statistic == "proportion" and kind != "proportion":
            raise InputError(path, f"{spec!r} is not binary, so it has no proportion", column=column,
                             fix="use --statistic mean, or --outcome VAR=VALUE")
        kind = statistic
    return y, kind


def _label(value) -> str:
    """A domain's label as written (numbers read as floats shown as written: 3.0 -> "3")."""
    return _canon(value) if isinstance(value, (float, np.floating)) else str(value)


def _domain_order(uniques: np.ndarray) -> list[int]:
    """Order of domain levels as R sorts a factor: numerically if every level is a number."""
    labels = [str(u) for u in uniques]
    if labels and all(_is_number(v) for v in labels):
        return sorted(range(len(labels)), key=lambda i: float(labels[i]))
    return sorted(range(len(labels)), key=lambda i: labels[i])


# ---------------------------------------------------------------------------------------------
# estimation
# ---------------------------------------------------------------------------------------------


def run_estimate(req: EstimateRequest) -> EstimateRun:
    """Read, calibrate and estimate (see the module docstring); raises HtnaError on user problems."""
    from assets.estimates.calibration import post_stratify, rake
    from assets.estimates.design import SurveyDesign
    from assets.estimates.estimators import svymean, svytotal
    from assets.estimates.proportions import svyciprop

    t0 = time.perf_counter()
    if req.poststratify and req.rake:
        raise HtnaError("give either --poststratify or --rake, not both (raking to one margin is post-stratification)")
    if len(req.poststratify) > 1:
        raise HtnaError("--poststratify takes one variable; to calibrate to several margins use --rake for each")
    if req.ci not in CI_CHOICES:
        raise HtnaError(f"--ci must be one of {', '.join(CI_CHOICES)}")
    if req.statistic not in STATISTICS:
        raise HtnaError(f"--statistic must be one of {', '.join(STATISTICS)}")
    if not 0 < req.level < 1:
        raise HtnaError("--level must be between 0 and 1, e.g. 0.95")
    option = "--poststratify" if req.poststratify else "--rake"
    specs = [(*_split_spec(s, option), option) for s in (req.poststratify or req.rake)]
    seen = [v for v, _, _ in specs]
    if len(set(seen)) != len(seen):
        raise HtnaError(f"{option} names a variable twice")
    pops = {var: read_population(p) for var, p, _ in specs}

    outcome_col, outcome_value = req.outcome, None
    header, _ = _csv_columns(req.data) if Path(req.data).is_file() else ([], ",")
    if req.outcome not in header and "=" in req.outcome:
        outcome_col, _, outcome_value = req.outcome.partition("=")
        outcome_col = outcome_col.strip()
    columns = [outcome_col] + [c for c in (req.by, req.weights, req.strata, req.ids, req.fpc) if c] + seen
    frame = read_data(req.data, columns)
    t_read = time.perf_counter()
    notes: list[str] = []

    y, statistic = _outcome(frame, req.outcome, outcome_col, outcome_value, req.data, req.statistic)
    n_missing = int(np.isnan(y).sum())
    if n_missing:
        notes.append(f"{n_missing} of {len(y)} rows have no {outcome_col} and are left out of the estimate "
                     "(they stay in the calibration)")
    data = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for var, pop_path, opt in specs:
        pop, label = pops[var]
        data[var] = _calibration_column(frame, var, req.data, pop_path, opt, req.partial, pop, label)
    weights = None
    if req.weights:
        weights = _numeric(frame[req.weights], req.data, req.weights)
        if np.isnan(weights).any():
            raise InputError(req.data, f"{int(np.isnan(weights).sum())} rows have no weight", column=req.weights)
        if (weights < 0).any():
            raise InputError(req.data, "weights must not be negative", column=req.weights)
    extra = {}
    for key, col in (("strata", req.strata), ("ids", req.ids)):
        if col:
            if frame[col].isna().any():
                raise InputError(req.data, f"{int(frame[col].isna().sum())} rows have no {col}", column=col)
            extra[key] = frame[col].to_numpy()
    if req.fpc:
        extra["fpc"] = _numeric(frame[req.fpc], req.data, req.fpc)

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            design = SurveyDesign(data, weights=weights, **extra)
            if req.poststratify:
                var = specs[0][0]
                design = post_stratify(design, var, pops[var][0], partial=req.partial)
            elif req.rake:
                design = rake(design, {var: pops[var][0] for var, _, _ in specs},
                              epsilon=req.epsilon, maxit=req.maxit, warn=False)
                r = design.raking
                if not r.converged:
                    notes.append(f"warning: raking did not converge in {r.iterations} passes (last change "
                                 f"{r.delta:.3g}, largest margin error {r.max_margin_error:.3g}); "
                                 "raise --maxit or merge small categories")
        for w in caught:
            notes.append(f"warning: {w.message}")
        t_design = time.perf_counter()

        if req.by:
            by_codes, by_uniques = pd.factorize(frame[req.by])
            n_no_by = int((by_codes < 0).sum())
            if n_no_by:
                notes.append(f"{n_no_by} rows have no {req.by} and are in no domain")
            domains = [(_label(by_uniques[i]), by_codes == i) for i in _domain_order(by_uniques)]
        else:
            domains = [("all", None)]

        unweighted_srs = (not design.is_calibrated and not design.has_strata and not design.has_clusters
                          and design.popsize is None and np.ptp(design.weights) == 0)
        method = "wilson" if req.ci == "wilson" else req.ci
        rows = []
        for label, mask in domains:
            if statistic == "proportion":
                e = svyciprop(design, y, method="logit" if req.ci == "wilson" else req.ci, domain=mask,
                              level=req.level, na_rm=True)
                low, high = e.ci_low, e.ci_high
                if req.ci == "wilson" and e.n > 0:
                    low, high = _wilson(design, y, mask, e, unweighted_srs, req.level)
            else:
                fn = svymean if statistic == "mean" else svytotal
                e = fn(design, y, domain=mask, na_rm=True, level=req.level, df=None)
                low, high = e.ci_low, e.ci_high
            rows.append({"domain": label, "estimate": e.estimate, "se": e.se, "ci_low": low, "ci_high": high,
                         "n": int(e.n), "deff": e.deff, "ci_method": e.ci_method if req.ci != "wilson" else method})
    except HtnaError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise HtnaError(f"cannot estimate from {req.data}: {exc}") from None
    t_est = time.perf_counter()
    return EstimateRun(rows=rows, statistic=statistic, ci_method=method if statistic == "proportion" else "normal",
                       notes=notes, timings={"read_s": t_read - t0, "design_s": t_design - t_read,
                                             "estimate_s": t_est - t_design})


def _wilson(design, y: np.ndarray, mask, e, unweighted_srs: bool, level: float) -> tuple[float, float]:
    """Wilson interval: on the counts for an unweighted SRS, else with the effective sample size."""
    from assets.estimates.intervals import _z

    if unweighted_srs:
        from assets.estimates.intervals import wilson_interval

        keep = ~np.isnan(y) & (np.ones(len(y), dtype=bool) if mask is None else mask)
        return wilson_interval(int(np.nansum(y[keep])), int(keep.sum()), level)
    p, v = e.estimate, e.se ** 2
    n_eff = p * (1 - p) / v if v > 0 else float(e.n)
    z = _z(level)
    denom = 1 + z * z / n_eff
    centre = (p + z * z / (2 * n_eff)) / denom
    half = z * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _json_value(v):
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def format_results(run: EstimateRun, as_json: bool) -> str:
    """The printed result: a JSON list of ``domain, estimate, se, ci_low, ci_high, n, deff`` or a table."""
    if as_json:
        return json.dumps([{k: _json_value(r[k]) for k in JSON_KEYS} for r in run.rows], indent=2)
    header = ["domain", "estimate", "se", "ci_low", "ci_high", "n", "deff"]
    body = [[str(r["domain"])] + [_fmt(r[k]) for k in ("estimate", "se", "ci_low", "ci_high")]
            + [str(r["n"]), _fmt(r["deff"])] for r in run.rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    lines = [f"{run.statistic} with {run.ci_method} interval"]
    lines.append("  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(header)))
    for b in body:
        lines.append("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(b)))
    return "\n".join(lines)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "NA"
    return f"{v:.6g}"
