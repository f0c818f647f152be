"""An intruder with the whole published site, written apart from the publication gate.

Nothing here imports the gate's audit (``assets.publication.audit`` / ``measures``): the attacks
are written again from the published tables, the config and what an intruder is granted, so a
mistake in the gate is not repeated here. Each attack returns :class:`Finding` rows: a hidden
figure narrowed to fewer whole numbers than the policy allows (with the true value, which must lie
in the range: a range without it is a bug of the attack, reported as such).

Knowledge granted (the same the gate is designed against, see ``assets/publication/audit.py``),
supplied by the test from the true tables (an *oracle*: stronger than a real intruder, never
weaker):

* every published number, exactly as published (a rounded share stands for an interval);
* the size of each remainder (people of a parent in no child) as an upper bound;
* a hidden cell's number of respondents when another indicator of the same officers (same
  subgroup) prints that cell (:func:`printed_cells`);
* every county's weight (public headcount over respondents).

Attacks:

* :func:`differencing`: one hidden cell in a sum whose other terms are shown; the same figure
  hidden in one table and shown in another (indicators on the same question, the county table,
  the model table, changes across waves, the data-quality counts).
* :func:`weighted_split`: the weighted share of a county group against its unweighted count with
  the public headcounts, enumerating every split of the hidden counties' counts.
* :func:`model_inversion`: solving the county model (arcsine scale, sampling variance from n,
  the public covariates) from the counties whose figures are shown, then inverting a hidden
  county's published model estimate to its count.
* :func:`lp_bounds`: the linear program over every published constraint of an indicator (all its
  breakdowns, its weighted shares), over whole numbers, for every hidden count.
* :func:`case_list_bounds`: the same for the prevalence page's case counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Finding:
    attack: str
    table: str
    cell: tuple
    count: str
    low: float
    high: float
    truth: float

    @property
    def values(self) -> float:
        if math.isinf(self.high) or math.isnan(self.low) or math.isnan(self.high):
            return math.inf
        return math.floor(self.high + 1e-6) - math.ceil(self.low - 1e-6) + 1

    @property
    def contains_truth(self) -> bool:
        return self.low - 1e-6 <= self.truth <= self.high + 1e-6


# --- what the intruder reads ------------------------------------------------------------------


def _cells(table: pd.DataFrame, indicator: str) -> pd.DataFrame:
    part = table[(table["indicator"] == indicator) & ~table["weighted"].astype(bool)]
    return part.reset_index(drop=True)


def _structure(cells: pd.DataFrame, group_of: dict[str, str]) -> list[tuple[int, list[int]]]:
    """(parent, children) sums of one indicator's cells, from the config: levels of a breakdown add
    up to the overall cell, counties to their county group."""
    dom = cells["domain"].astype(str).tolist()
    lev = cells["level"].astype(str).tolist()
    root = dom.index("all")
    groups = {lev[i]: i for i in range(len(dom)) if dom[i] == "county_group"}
    sums: list[tuple[int, list[int]]] = []
    for d in dict.fromkeys(dom):
        if d == "all":
            continue
        members = [i for i in range(len(dom)) if dom[i] == d]
        if d == "county" and groups:
            for g, gi in groups.items():
                sums.append((gi, [i for i in members if group_of.get(lev[i]) == g]))
        else:
            sums.append((root, members))
    return [(p, ch) for p, ch in sums if ch]


def _sensitive(truth: pd.Series, m: int) -> dict[str, bool]:
    """Which counts of a hidden cell are the policy's secrets (from the true cell)."""
    n, k = float(truth["n"]), float(truth["successes"])
    small = n < m or k < m or n - k < m
    return {"k": small, "m": small, "n": small and n < m}


def printed_cells(published: dict[str, pd.DataFrame], population: dict[str, tuple]) -> set[tuple]:
    """(population, domain, level) of every cell some indicator of that population publishes: its
    number of respondents is known to the intruder (the oracle then grants each indicator's own n)."""
    ind = published["published_indicators"]
    shown = ind[~ind["weighted"].astype(bool) & ~ind["suppressed"].astype(bool)]
    return {(population.get(r.indicator), str(r.domain), str(r.level)) for r in shown.itertuples()}


# --- differencing --------------------------------------------------------------------------------


def differencing(published: dict[str, pd.DataFrame], truth: pd.DataFrame, group_of: dict[str, str],
                 m: int, same_question: list[tuple[str, str]] = ()) -> list[Finding]:
    """Hidden figures given back by subtraction or shown by another table (``same_question``: pairs
    of indicators counting the same answers of the same officers)."""
    out: list[Finding] = []
    ind = published["published_indicators"]
    for indicator in ind["indicator"].unique():
        cells = _cells(ind, indicator)
        true = _cells(truth, indicator)
        for parent, children in _structure(cells, group_of):
            hidden = [c for c in children if cells.loc[c, "suppressed"]]
            if cells.loc[parent, "suppressed"] or len(hidden) != 1:
                continue
            c = hidden[0]
            if not _sensitive(true.loc[c], m)["k"]:
                continue
            rest = float(true.loc[parent, "n"]) - float(true.loc[children, "n"].sum())
            shown_k = float(cells.loc[parent, "successes"]) - float(cells.loc[[x for x in children if x != c],
                                                                             "successes"].sum())
            out.append(Finding("differencing", "published_indicators", (indicator, cells.loc[c, "domain"],
                                                                         cells.loc[c, "level"]), "k",
                               max(0.0, shown_k - rest), shown_k, float(true.loc[c, "successes"])))
    # the same figure in two indicators (same question, answers and subgroup): hidden in one, shown in the other
    for first, second in same_question:
        a = _cells(ind, first).set_index(["domain", "level"])
        b = _cells(ind, second).set_index(["domain", "level"])
        true = _cells(truth, first).set_index(["domain", "level"])
        for key in a.index.intersection(b.index):
            if bool(a.loc[key, "suppressed"]) != bool(b.loc[key, "suppressed"]) and _sensitive(true.loc[key], m)["k"]:
                t = float(true.loc[key, "successes"])
                out.append(Finding("differencing", "published_indicators", (first, second, *key), "k", t, t, t))
    # changes across waves: a published change beside one hidden cell gives it back
    changes = published.get("published_changes")
    history = published.get("published_indicator_history")
    if changes is not None and len(changes) and history is not None and len(history):
        hidden = {(str(r.survey_wave), r.indicator, r.domain, r.level, bool(r.weighted))
                  for r in history.itertuples() if r.suppressed}
        for r in changes.itertuples():
            for w in (str(r.wave), str(r.compared_with)):
                if (w, r.indicator, r.domain, r.level, bool(r.weighted)) in hidden:
                    out.append(Finding("differencing", "published_changes", (w, r.indicator, r.domain, r.level),
                                       "share", 0.0, 0.0, 0.0))
    # the county table: a model estimate or a share of a county whose cell is hidden
    county = published.get("published_county_estimates")
    if county is not None and len(county):
        hidden_counties = {(r.indicator, r.level) for r in ind.itertuples() if r.domain == "county" and r.suppressed}
        for r in county.itertuples():
            if r.breakdown != "county" or pd.isna(r.estimate):
                continue
            for indicator in ind["indicator"].unique():
                if (indicator, r.county) in hidden_counties and _measures_match(indicator, r.measure):
                    true = _cells(truth, indicator)
                    row = true[(true["domain"] == "county") & (true["level"] == r.county)]
                    if len(row) and _sensitive(row.iloc[0], m)["k"] and float(row.iloc[0]["n"]) <= 5:
                        out.append(Finding("differencing", "published_county_estimates", (r.measure, r.county),
                                           "model estimate of a hidden county", 0.0, 0.0, 0.0))
    # data quality: rows read minus accepted beside a hidden count of records held back
    status = published.get("published_quality_status")
    if status is not None and len(status):
        for r in status.itertuples():
            if pd.isna(r.quarantined) and not pd.isna(r.rows_read) and not pd.isna(r.accepted):
                q = float(r.rows_read) - float(r.accepted)
                out.append(Finding("differencing", "published_quality_status", (r.dataset,), "quarantined", q, q, q))
    return out


def _measures_match(indicator: str, measure: str) -> bool:
    """The county table's measure is the gap of an indicator's question (not_trained_sex ~ trained_sex)."""
    core = measure.removeprefix("not_")
    return indicator == core or indicator.removeprefix("not_") == core


# --- weighted against unweighted ----------------------------------------------------------------


def weighted_split(published: dict[str, pd.DataFrame], truth: pd.DataFrame, group_of: dict[str, str],
                   county_weight: dict[str, float], m: int, share_step: float, population: dict[str, tuple],
                   max_hidden: int = 6, max_splits: int = 1_000_000) -> list[Finding]:
    """Per county group whose weighted and unweighted figures are both shown and whose hidden
    counties' respondents are printed elsewhere: every split of their answers that gives the
    published unweighted count and, with the public weights, the published weighted share (within
    its rounding). (With a hidden county's respondents unknown, :func:`lp_bounds` covers it.)"""
    out: list[Finding] = []
    ind = published["published_indicators"]
    printed = printed_cells(published, population)
    for indicator in ind["indicator"].unique():
        part = ind[ind["indicator"] == indicator]
        u = part[~part["weighted"].astype(bool)].set_index(["domain", "level"])
        w = part[part["weighted"].astype(bool)].set_index(["domain", "level"])
        true = _cells(truth, indicator).set_index(["domain", "level"])
        groups = sorted({g for g in group_of.values()})
        for g in groups:
            key = ("county_group", g)
            if key not in u.index or u.loc[key, "suppressed"] or w.loc[key, "suppressed"]:
                continue
            counties = [c for c, gg in group_of.items() if gg == g and ("county", c) in u.index]
            hidden = [c for c in counties if u.loc[("county", c), "suppressed"]]
            if not hidden or len(hidden) > max_hidden:
                continue
            if any((population.get(indicator), "county", c) not in printed for c in hidden):
                continue
            n = {c: float(true.loc[("county", c), "n"]) for c in counties}  # printed elsewhere
            if np.prod([n[c] + 1 for c in hidden]) > max_splits:
                continue
            shown = [c for c in counties if c not in hidden]
            k_hidden = float(u.loc[key, "successes"]) - sum(float(u.loc[("county", c), "successes"]) for c in shown)
            a = {c: county_weight.get(c, math.nan) for c in counties}
            if any(math.isnan(a[c]) for c in counties):
                continue
            num_shown = sum(a[c] * float(u.loc[("county", c), "successes"]) for c in shown)
            den = sum(a[c] * n[c] for c in counties)
            s = float(w.loc[key, "estimate"])
            low, high = s - share_step / 2 - 1e-9, s + share_step / 2 + 1e-9
            grids = np.meshgrid(*[np.arange(int(n[c]) + 1) for c in hidden], indexing="ij")
            ks = np.stack([g.ravel() for g in grids], axis=1)
            ks = ks[ks.sum(axis=1) == k_hidden]
            share = (num_shown + ks @ np.array([a[c] for c in hidden])) / den
            ks = ks[(share >= low) & (share <= high)]
            feasible = {c: set(ks[:, j].tolist()) for j, c in enumerate(hidden)}
            for c in hidden:
                tc = true.loc[("county", c)]
                if feasible[c] and _sensitive(tc, m)["k"]:
                    out.append(Finding("weighted vs unweighted", "published_indicators", (indicator, "county", c), "k",
                                       float(min(feasible[c])), float(max(feasible[c])), float(tc["successes"])))
    return out


# --- inverting the county model -------------------------------------------------------------------


def model_inversion(published: dict[str, pd.DataFrame], truth: pd.DataFrame, covariates: pd.DataFrame,
                    m: int) -> list[Finding]:
    """Solve the Fay–Herriot model (arcsine scale, D = 1/(4n)) from the counties whose direct share
    and model estimate are both shown, then invert the published model estimate of every county
    whose cell is hidden: the whole numbers k (of its n, known or 1 to 5) whose estimate matches."""
    from scipy.optimize import least_squares

    out: list[Finding] = []
    county = published.get("published_county_estimates")
    ind = published["published_indicators"]
    if county is None or county.empty:
        return out
    for measure, rows in county[(county["breakdown"] == "county") & county["estimate"].notna()].groupby("measure"):
        indicator = next((i for i in ind["indicator"].unique() if _measures_match(i, measure)), None)
        if indicator is None:
            continue
        true = _cells(truth, indicator).set_index(["domain", "level"])
        gap = measure.startswith("not_") and not indicator.startswith("not_")  # the measure counts the other answer
        est = {r.county: float(r.estimate) for r in rows.itertuples() if r.county in covariates.index}
        share = {r.county: float(r.survey_share) for r in rows.itertuples() if not pd.isna(r.survey_share)}
        size = {r.county: float(r.respondents) for r in rows.itertuples() if not pd.isna(r.respondents)}
        known = [(c, share[c], size[c]) for c in est if c in share and c in size]  # the gap share and its n
        hidden = [c for c in est if c not in share and ("county", c) in true.index]
        if len(known) < covariates.shape[1] + 1 or not hidden:
            continue
        x = covariates

        def residuals(theta):
            beta, log_var = theta[:-1], theta[-1]
            var = math.exp(log_var)
            res = []
            for c, y, n in known:
                d = 1 / (4 * n)
                g = var / (var + d)
                z = g * math.asin(math.sqrt(min(max(y, 0), 1))) + (1 - g) * float(x.loc[c] @ beta)
                res.append(math.sin(min(max(z, 0), math.pi / 2)) ** 2 - est[c])
            return res

        fit = least_squares(residuals, np.concatenate([np.full(x.shape[1], 0.1), [math.log(0.02)]]))
        beta, var = fit.x[:-1], math.exp(fit.x[-1])
        for c in hidden:
            tc = true.loc[("county", c)]
            if not _sensitive(tc, m)["k"]:
                continue
            candidates = []
            n_options = [int(size[c])] if c in size else range(1, m)
            for n in n_options:
                if n < 1:
                    continue
                for k in range(n + 1):
                    y = k / n
                    y_gap = 1 - y if gap else y
                    d = 1 / (4 * n)
                    g = var / (var + d)
                    z = g * math.asin(math.sqrt(y_gap)) + (1 - g) * float(x.loc[c] @ beta)
                    if abs(math.sin(min(max(z, 0), math.pi / 2)) ** 2 - est[c]) < 2e-3:
                        candidates.append(k)
            if candidates:
                out.append(Finding("model inversion", "published_county_estimates", (indicator, "county", c), "k",
                                   float(min(candidates)), float(max(candidates)), float(tc["successes"])))
            else:  # no whole number fits: the model is not the one documented (not a finding)
                continue
    return out


# --- linear programming over everything an indicator publishes -----------------------------------


def lp_bounds(published: dict[str, pd.DataFrame], truth: pd.DataFrame, group_of: dict[str, str],
              county_weight: dict[str, float], m: int, share_step: float, population: dict[str, tuple],
              whole: bool | None = True) -> list[Finding]:
    """For each indicator: whole-number ranges of every hidden count under every published sum, the
    remainders (bounded by their true size), the respondents of hidden cells the oracle grants, and
    the published weighted shares of the county hierarchy. ``whole``: every range over whole numbers
    (True), only those the relaxation leaves close to the policy (False), or none (None: the
    relaxation alone, a weaker intruder for quick checks)."""
    out: list[Finding] = []
    ind = published["published_indicators"]
    printed = printed_cells(published, population)
    for indicator in ind["indicator"].unique():
        cells = _cells(ind, indicator)
        weighted = ind[(ind["indicator"] == indicator) & ind["weighted"].astype(bool)].reset_index(drop=True)
        true = _cells(truth, indicator)
        hidden = [i for i in range(len(cells)) if cells.loc[i, "suppressed"]]
        if not hidden:
            continue
        col = {c: 2 * j for j, c in enumerate(hidden)}
        sums = _structure(cells, group_of)
        nv = 2 * len(hidden) + 2 * len(sums)
        rows_eq, rhs_eq, rows_ub, rhs_ub = [], [], [], []

        def value(i: int, kind: str) -> float:
            k = float(cells.loc[i, "successes"])
            return k if kind == "k" else float(cells.loc[i, "n"]) - k

        for e, (parent, children) in enumerate(sums):
            rest_n = float(true.loc[parent, "n"]) - float(true.loc[children, "n"].sum())
            for off, kind in ((0, "k"), (1, "m")):
                row = np.zeros(nv)
                rhs = 0.0
                for c in children:
                    if c in col:
                        row[col[c] + off] += 1
                    else:
                        rhs -= value(c, kind)
                if parent in col:
                    row[col[parent] + off] -= 1
                else:
                    rhs += value(parent, kind)
                row[2 * len(hidden) + 2 * e + off] = 1  # the remainder's share
                rows_eq.append(row)
                rhs_eq.append(rhs)
            row = np.zeros(nv)
            row[2 * len(hidden) + 2 * e: 2 * len(hidden) + 2 * e + 2] = 1
            rows_ub.append(row)
            rhs_ub.append(max(rest_n, 0.0))
        for c in hidden:  # the oracle: respondents of a cell printed by another indicator of the same officers
            if (population.get(indicator), str(cells.loc[c, "domain"]), str(cells.loc[c, "level"])) in printed:
                row = np.zeros(nv)
                row[col[c]] = row[col[c] + 1] = 1
                rows_eq.append(row)
                rhs_eq.append(float(true.loc[c, "n"]))
        # weighted shares: overall and county groups, over the counties
        dom = cells["domain"].astype(str).tolist()
        lev = cells["level"].astype(str).tolist()
        county_pos = {lev[i]: i for i in range(len(cells)) if dom[i] == "county"}
        for wr in weighted.itertuples():
            if wr.suppressed or wr.domain not in ("all", "county_group") or pd.isna(wr.estimate):
                continue
            members = [c for c in county_pos if wr.domain == "all" or group_of.get(c) == wr.level]
            if not any(county_pos[c] in col for c in members) or any(c not in county_weight for c in members):
                continue
            parent = dom.index("all") if wr.domain == "all" else next(i for i in range(len(cells))
                                                                      if dom[i] == "county_group" and lev[i] == wr.level)
            other_n = float(true.loc[parent, "n"]) - sum(float(true.loc[county_pos[c], "n"]) for c in members)
            if other_n > 0:
                continue  # respondents with no county: their weight is not public
            for bound, sign in ((float(wr.estimate) - share_step / 2 - 1e-9, -1.0),
                                (float(wr.estimate) + share_step / 2 + 1e-9, 1.0)):
                row = np.zeros(nv)
                const = 0.0
                for c in members:
                    a, i = county_weight[c], county_pos[c]
                    if i in col:
                        row[col[i]] += a * (1 - bound)
                        row[col[i] + 1] -= a * bound
                    else:
                        const += a * (value(i, "k") - bound * float(cells.loc[i, "n"]))
                rows_ub.append(sign * row)
                rhs_ub.append(-sign * const)
        program = _Program(np.array(rows_eq), np.array(rhs_eq), np.array(rows_ub), np.array(rhs_ub))
        for c in hidden:
            secret = _sensitive(true.loc[c], m)
            for kind, coef in (("k", {col[c]: 1}), ("m", {col[c] + 1: 1}), ("n", {col[c]: 1, col[c] + 1: 1})):
                if not secret[kind]:
                    continue
                obj = np.zeros(nv)
                for j, v in coef.items():
                    obj[j] = v
                if whole is None:
                    low, high = program.bounds(obj, False)
                elif whole:
                    low, high = program.bounds(obj, True)
                else:
                    low, high = program.near(obj, m)
                t = float(true.loc[c, "successes"]) if kind == "k" else (
                    float(true.loc[c, "n"]) - float(true.loc[c, "successes"]) if kind == "m" else float(true.loc[c, "n"]))
                out.append(Finding("linear programming", "published_indicators",
                                   (indicator, cells.loc[c, "domain"], cells.loc[c, "level"]), kind, low, high, t))
    return out


class _Program:
    """The intruder's program over x >= 0: a_eq x = b_eq, a_ub x <= b_ub (HiGHS, the model passed
    once, the objective changed per question)."""

    def __init__(self, a_eq, b_eq, a_ub, b_ub):
        import highspy

        self.h = highspy.Highs()
        self.h.silent()
        a_ub = np.zeros((0, a_eq.shape[1])) if a_ub is None or len(a_ub) == 0 else a_ub
        a = np.vstack([a_eq, a_ub])
        self.nv = a.shape[1]
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.nv, a.shape[0]
        lp.col_cost_ = np.zeros(self.nv)
        lp.col_lower_ = np.zeros(self.nv)
        lp.col_upper_ = np.full(self.nv, highspy.kHighsInf)
        lp.row_lower_ = np.concatenate([b_eq, np.full(len(a_ub), -highspy.kHighsInf)])
        lp.row_upper_ = np.concatenate([b_eq, b_ub if len(a_ub) else []])
        cols = a.T
        nz = cols != 0
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int32)
        lp.a_matrix_.index_ = np.nonzero(nz)[1].astype(np.int32)
        lp.a_matrix_.value_ = cols[nz]
        self.lp = lp
        self.h.passModel(lp)
        self.whole = False

    def _set_whole(self, whole: bool) -> None:
        import highspy

        if whole != self.whole:
            self.lp.integrality_ = [highspy.HighsVarType.kInteger if whole else highspy.HighsVarType.kContinuous] \
                * self.nv
            self.h.passModel(self.lp)
            self.h.setOptionValue("time_limit", 5.0)
            self.whole = whole

    def bounds(self, obj, whole: bool) -> tuple[float, float]:
        import highspy

        self._set_whole(whole)
        self.h.changeColsCost(self.nv, np.arange(self.nv, dtype=np.int32), np.asarray(obj, dtype=float))
        ends = []
        for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
            self.h.changeObjectiveSense(sense)
            self.h.run()
            status = self.h.getModelStatus()
            lower = sense == highspy.ObjSense.kMinimize
            if status == highspy.HighsModelStatus.kOptimal:
                ends.append(float(self.h.getInfo().objective_function_value))
            elif status == highspy.HighsModelStatus.kInfeasible:
                ends.append(math.nan)  # the true counts always fit: a bug
            elif whole and status == highspy.HighsModelStatus.kTimeLimit:
                self._set_whole(False)  # out of time: the relaxation's end (never narrower)
                ends.append(self.bounds(obj, False)[0 if lower else 1])
                self._set_whole(True)
            else:  # unbounded
                ends.append(-math.inf if lower else math.inf)
        return ends[0], ends[1]

    def near(self, obj, m: int) -> tuple[float, float]:
        """The relaxation's range, and over whole numbers where it comes within three values of the
        policy (whole numbers only ever narrow a range)."""
        low, high = self.bounds(obj, False)
        if not (math.isinf(high) or math.isnan(high) or math.isnan(low)) and \
                math.floor(high + 1e-6) - math.ceil(low - 1e-6) + 1 < m + 3:
            return self.bounds(obj, True)
        return low, high


def case_list_bounds(published: dict[str, pd.DataFrame], truth_counts: dict[tuple, float], m: int) -> list[Finding]:
    """Whole-number ranges of every hidden case count under the sums the prevalence tables publish:
    per group, each list's cases over the combinations of lists that include it, every combination
    adding up to the distinct cases, the groups adding up to all."""
    cases = published.get("published_case_list_counts")
    overlap = published.get("published_case_list_overlap")
    est = published.get("published_prevalence")
    if cases is None or cases.empty or overlap is None or overlap.empty:
        return []
    keys: list[tuple] = []
    shown: dict[tuple, float] = {}
    for r in cases.itertuples():
        keys.append((r.stratum, "list", r.list))
        if not r.suppressed:
            shown[keys[-1]] = float(r.cases)
    for r in est.itertuples():
        keys.append((r.stratum, "observed", ""))
        if not pd.isna(r.observed):
            shown[keys[-1]] = float(r.observed)
    for r in overlap.itertuples():
        keys.append((r.stratum, "overlap", r.history))
        if not r.suppressed:
            shown[keys[-1]] = float(r.count)
    hidden = [k for k in keys if k not in shown]
    if not hidden:
        return []
    col = {k: i for i, k in enumerate(hidden)}
    strata = sorted({k[0] for k in keys})
    histories = sorted({k[2] for k in keys if k[1] == "overlap"})
    lists = sorted({k[2] for k in keys if k[1] == "list"})
    sums = []
    for s in strata:
        sums.append(((s, "observed", ""), [(s, "overlap", h) for h in histories]))
        for name in lists:
            sums.append(((s, "list", name), [(s, "overlap", h) for h in histories if name in h.split("+")]))
    parts = [s for s in strata if s != "all"]
    if "all" in strata and parts:
        for kind, names in (("list", lists), ("observed", [""]), ("overlap", histories)):
            for name in names:
                sums.append((("all", kind, name), [(s, kind, name) for s in parts]))
    rows, rhs = [], []
    for parent, children in sums:
        children = [c for c in children if c in col or c in shown]
        if parent not in col and parent not in shown:
            continue
        if not any(c in col for c in [parent, *children]):
            continue
        row = np.zeros(len(hidden))
        b = 0.0
        for c in children:
            if c in col:
                row[col[c]] += 1
            else:
                b -= shown[c]
        if parent in col:
            row[col[parent]] -= 1
        else:
            b += shown[parent]
        rows.append(row)
        rhs.append(b)
    out = []
    if not rows:
        return out
    program = _Program(np.array(rows), np.array(rhs), None, None)
    for k in hidden:
        t = truth_counts.get(k)
        if t is None or not (0 < t < m):
            continue
        obj = np.zeros(len(hidden))
        obj[col[k]] = 1
        low, high = program.bounds(obj, True)
        out.append(Finding("linear programming", "published_case_list_counts", k, "cases", low, high, t))
    return out


def breaches(findings: list[Finding], min_values: int) -> list[Finding]:
    """The findings that narrow a secret below the policy (or that miss the truth: a bug)."""
    return [f for f in findings if f.values < min_values or not f.contains_truth]
