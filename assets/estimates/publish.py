"""The one gate every published table goes through: disclosure control before anything leaves.

:func:`publishable` takes a table the assessment computed (the headline indicators, or the
interview theme counts) and returns the version that may be published: cells whose counts are
below the minimum are suppressed (primary), further cells are suppressed so that none of them
can be recovered by subtraction from the published ones (complementary, via
:func:`assets.estimates.disclosure.suppress_cells`), and every number of a suppressed cell is
blanked. The headline asset, the indicators CSV and the report's tables all call it, so a table
cannot reach the site without it; applying it twice changes nothing.

**Indicators** (one row per indicator x domain x level, weighted and unweighted rows of the same
cell side by side). The cell is the group of respondents a share rests on. Its protected count
is its number of respondents ``n`` and, with ``protect_numerators``, also its number of
successes and of non-successes (a share times ``n`` reveals them): a cell is primary-suppressed
when any of these is below the minimum, in the weighted or the unweighted row. The weighted and
unweighted rows of a cell are suppressed together. The additive structure that subtraction could
exploit is, per wave and indicator: the levels of every domain add up to the overall row (the
cells of respondents with no value of the domain are treated as if published, which errs on the
safe side), and the levels of a nested domain add up to their parent's levels (counties to county
groups). Every such equation is given to the complementary-suppression engine, which also audits
the whole system by linear algebra, so no suppressed count is determined by the published ones.

**Theme counts** (interviews mentioning each theme). A theme is suppressed when its count, or the
number of interviews not mentioning it, is below the minimum; a table resting on fewer interviews
than the minimum shows no count at all. Themes are not parts of a total (an interview raises
several), so there is no complementary suppression to do.

**Prevalence counts** (cases per agency list and distinct cases, by group; the overlap table of
case lists by group). The groups add up to "all", so :func:`protect_case_list_counts` and
:func:`protect_overlap_counts` suppress every count below the minimum and complements against
the pooled counts, through the same engine.

Not covered: derivations that combine *different* indicators (e.g. the respondents of a county
who handled a case, from one indicator's numerator and another's denominator). The indicator
definitions are reviewed by hand for such overlaps; the tests cover the table-internal structure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assets.estimates.disclosure import PRIMARY, suppress_cells

__all__ = ["DisclosureRules", "INDICATOR_VALUE_COLUMNS", "THEME_VALUE_COLUMNS", "protect_case_list_counts",
           "protect_overlap_counts", "publishable"]

#: Numbers blanked in a suppressed indicator row.
INDICATOR_VALUE_COLUMNS = ["n", "successes", "estimate", "se", "ci_low", "ci_high", "deff"]
#: Numbers blanked in a suppressed theme row.
THEME_VALUE_COLUMNS = ["mentioned", "share"]


@dataclass(frozen=True)
class DisclosureRules:
    """The publication rule of an assessment.

    ``nesting`` maps a child domain to ``(parent domain, {child level: parent level})``, e.g.
    ``{"county": ("county_group", {"York": "Cumberland and York", ...})}``.
    """

    min_count: int = 6
    protect_numerators: bool = True
    nesting: Mapping[str, tuple[str, Mapping[str, str]]] = field(default_factory=dict)

    @classmethod
    def from_assessment(cls, assessment) -> DisclosureRules:
        d = assessment.config.disclosure
        return cls(min_count=d.min_cell_count, protect_numerators=d.protect_numerators,
                   nesting={"county": ("county_group", dict(assessment.county_group_of))})


def publishable(table: pd.DataFrame, rules: DisclosureRules | None = None, *, kind: str | None = None) -> pd.DataFrame:
    """The publishable version of ``table``: suppression flags set, suppressed numbers blanked.

    ``kind`` is ``"indicators"`` or ``"themes"``; by default it is recognised from the columns
    (``indicator`` or ``theme``). Returns a copy with boolean ``suppressed`` and text
    ``suppression_reason`` (``primary``, ``complementary`` or empty). Cells already suppressed in
    the input stay suppressed.
    """
    rules = rules or DisclosureRules()
    if kind is None:
        if "indicator" in table.columns:
            kind = "indicators"
        elif "theme" in table.columns:
            kind = "themes"
        else:
            raise ValueError("cannot tell what table this is: give kind='indicators' or kind='themes'")
    if kind == "indicators":
        return _publishable_indicators(table, rules)
    if kind == "themes":
        return _publishable_themes(table, rules)
    raise ValueError(f"unknown table kind {kind!r}")


# ---------------------------------------------------------------------------------------------


def _num(table: pd.DataFrame, col: str) -> np.ndarray:
    if col not in table.columns:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)


def _previous_reasons(table: pd.DataFrame) -> np.ndarray:
    reasons = np.full(len(table), "", dtype=object)
    if "suppressed" in table.columns:
        flagged = table["suppressed"].fillna(False).astype(bool).to_numpy()
        given = (table["suppression_reason"].fillna("").astype(str).to_numpy()
                 if "suppression_reason" in table.columns else np.full(len(table), "", dtype=object))
        reasons[flagged] = np.where(given[flagged] != "", given[flagged], PRIMARY)
    return reasons


def _blank(out: pd.DataFrame, hidden: np.ndarray, columns: list[str]) -> None:
    for col in columns:
        if col in out.columns and hidden.any():
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
            out.loc[hidden, col] = np.nan


def _publishable_indicators(table: pd.DataFrame, rules: DisclosureRules) -> pd.DataFrame:
    out = table.copy()
    if out.empty:
        out["suppressed"] = pd.Series(dtype=bool)
        out["suppression_reason"] = pd.Series(dtype=str)
        return out
    n = _num(out, "n")
    x = _num(out, "successes")
    protected = n.copy()
    if rules.protect_numerators:
        with np.errstate(invalid="ignore"):
            protected = np.fmin(protected, np.where(np.isnan(x), np.inf, np.fmin(x, n - x)))
    protected = np.where(np.isnan(protected), -1.0, protected)  # a blanked count: already suppressed
    previous = _previous_reasons(out)

    group_cols = [c for c in ("wave", "indicator") if c in out.columns]
    cell_cols = group_cols + ["domain", "level"]
    keys = out[cell_cols].astype(str)
    cell_id, cell_index = pd.factorize(pd.MultiIndex.from_frame(keys))
    n_cells = len(cell_index)
    cell_count = np.full(n_cells, np.inf)
    np.minimum.at(cell_count, cell_id, protected)
    cell_prev = np.full(n_cells, "", dtype=object)
    for i, r in zip(cell_id, previous):
        if r and not cell_prev[i]:
            cell_prev[i] = r
    cells = pd.DataFrame(list(cell_index), columns=cell_cols)
    cells["count"] = cell_count

    reasons = np.full(n_cells, "", dtype=object)
    grouped = cells.groupby(group_cols, sort=False).indices if group_cols else {(): np.arange(n_cells)}
    for idx in grouped.values():
        idx = np.asarray(idx)
        sub = cells.iloc[idx]
        eqs = _indicator_equations(sub, rules.nesting)
        reasons[idx] = suppress_cells(sub["count"].to_numpy(), eqs, min_count=rules.min_count,
                                      initial=cell_prev[idx])
    row_reason = reasons[cell_id]
    hidden = row_reason != ""
    out["suppressed"] = hidden
    out["suppression_reason"] = row_reason.astype(str)
    _blank(out, hidden, INDICATOR_VALUE_COLUMNS)
    return out


def _indicator_equations(cells: pd.DataFrame, nesting: Mapping) -> list[tuple[list[int], int | None]]:
    """Additive structure of one indicator's cells (positions within ``cells``)."""
    domains = cells["domain"].to_numpy()
    levels = cells["level"].to_numpy()
    pos = np.arange(len(cells))
    overall = pos[domains == "all"]
    total = int(overall[0]) if len(overall) == 1 else None
    eqs: list[tuple[list[int], int | None]] = []
    for d in dict.fromkeys(domains):
        if d == "all":
            continue
        parts = pos[domains == d].tolist()
        eqs.append((parts, total))
    for child, (parent, level_map) in nesting.items():
        parent_cells = {levels[i]: int(i) for i in pos[domains == parent]}
        if not parent_cells:
            continue
        by_parent: dict[str, list[int]] = {}
        for i in pos[domains == child]:
            p = level_map.get(levels[i])
            if p is not None:
                by_parent.setdefault(p, []).append(int(i))
        for p, parts in by_parent.items():
            if p in parent_cells:
                eqs.append((parts, parent_cells[p]))
    return eqs


def _publishable_themes(table: pd.DataFrame, rules: DisclosureRules) -> pd.DataFrame:
    out = table.copy()
    if out.empty:
        out["suppressed"] = pd.Series(dtype=bool)
        out["suppression_reason"] = pd.Series(dtype=str)
        return out
    total = _num(out, "interviews")
    x = _num(out, "mentioned")
    previous = _previous_reasons(out)
    with np.errstate(invalid="ignore"):
        small = np.isnan(x) | (x < rules.min_count) | (total - x < rules.min_count)
    small &= ~np.isnan(total) & (total > 0)
    reasons = np.where(previous != "", previous, np.where(small, PRIMARY, "")).astype(object)
    # a table resting on fewer interviews than the minimum: no count of it is shown
    tiny = ~np.isnan(total) & (total < rules.min_count) & (total > 0)
    group = out["dataset"].to_numpy() if "dataset" in out.columns else np.zeros(len(out))
    for g in pd.unique(group):
        members = group == g
        if tiny[members].any():
            reasons[members & (reasons == "")] = PRIMARY
    hidden = reasons != ""
    out["suppressed"] = hidden
    out["suppression_reason"] = reasons.astype(str)
    _blank(out, hidden, THEME_VALUE_COLUMNS)
    if "mentioned" in out.columns:
        out["mentioned"] = pd.to_numeric(out["mentioned"], errors="coerce").astype("Int64")
    if tiny.any():
        _blank(out, tiny, ["interviews"])
    return out


# --- prevalence counts (the prevalence page) ------------------------------------------------------

#: How a suppressed count is printed.
SUPPRESSED_TEXT = "suppressed"


def is_missing(x: object) -> bool:
    """None, pd.NA or a float NaN: a cell with no value."""
    return x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x))


def json_dict(value: object) -> dict:
    """A JSON object stored as text in a table cell ({} when missing or not an object)."""
    import json

    if isinstance(value, dict):
        return value
    if is_missing(value) or value == "":
        return {}
    try:
        out = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return out if isinstance(out, dict) else {}


def protect_case_list_counts(strata: list[dict], min_count: int) -> None:
    """Cases per list and distinct cases, per group: the groups add up to 'all', so a small count is
    suppressed together with enough others that it cannot be recovered by subtraction."""
    per_list = [json_dict(r.get("cases_per_list")) for r in strata]
    lists = list(dict.fromkeys(k for d in per_list for k in d))
    cells: list[float] = []
    where: dict[tuple[int, str], int] = {}
    for i, r in enumerate(strata):
        for name in [*lists, "__observed__"]:
            where[(i, name)] = len(cells)
            value = r.get("observed") if name == "__observed__" else per_list[i].get(name, 0)
            cells.append(0.0 if is_missing(value) else float(value))
    total = next((i for i, r in enumerate(strata) if str(r.get("stratum")) == "all"), None)
    parts = [i for i in range(len(strata)) if i != total]
    equations = [([where[(i, name)] for i in parts], None if total is None else where[(total, name)])
                 for name in [*lists, "__observed__"]] if parts else []
    reasons = suppress_cells(cells, equations, min_count=min_count)
    for i, r in enumerate(strata):
        def shown(name: str) -> str:
            pos = where[(i, name)]
            return SUPPRESSED_TEXT if reasons[pos] else str(int(cells[pos]))
        r["per_list"] = [{"list": k.replace("_", " "), "cases": shown(k)} for k in lists]
        r["observed_shown"] = shown("__observed__")


def protect_overlap_counts(rows: list[dict], min_count: int) -> list[bool]:
    """Overlap counts by group add up to the pooled ('all') count of the same combination of lists:
    suppress small ones (and unpublishable ones) with complements so none can be recovered."""
    cells = [0.0 if is_missing(r.get("count")) else float(r["count"]) for r in rows]
    initial = ["" if bool(r.get("publishable", True)) else "not publishable" for r in rows]
    by_history: dict[str, dict[str, int]] = {}
    for i, r in enumerate(rows):
        by_history.setdefault(str(r.get("history")), {})[str(r.get("stratum"))] = i
    equations = []
    for positions in by_history.values():
        parts = [p for st, p in positions.items() if st != "all"]
        if parts:
            equations.append((parts, positions.get("all")))
    reasons = suppress_cells(cells, equations, min_count=min_count, initial=initial)
    return [bool(x) for x in reasons]
