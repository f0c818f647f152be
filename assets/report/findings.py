"""The executive summary's findings: plain sentences written from the published tables.

Each finding is a template filled with published figures (never a number written here): the figure,
its 95% interval in words ("likely between 44% and 58%"), and a comparison, either the change since
the previous wave (called "up"/"down" only when its interval excludes zero, as on the trends page)
or the figure the earlier assessment published. Only ``published_*`` tables and the config's
published context are read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

#: at most this many findings open the summary
MAX_FINDINGS = 8
#: and at least this many when the published tables have them
MIN_FINDINGS = 5


@dataclass(frozen=True)
class Finding:
    text: str
    link: str  # the page (and anchor) with the details
    indicator: str = ""  # the indicator it reports, if any


def _missing(x: object) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def pct(x: float) -> str:
    return f"{100 * float(x):.0f}%"


def count(x: float) -> str:
    return f"{float(x):,.0f}"


def interval_words(low: float, high: float, fmt=pct) -> str:
    """A 95% interval in words."""
    return f"likely between {fmt(low)} and {fmt(high)}"


def change_words(change: dict, previous_wave: str) -> str:
    """The change since the previous wave, in points of the share, with its interval in words."""
    points = round(100 * float(change["change"]))
    low, high = round(100 * float(change["ci_low"])), round(100 * float(change["ci_high"]))
    span = f"the change is likely between {low:+d} and {high:+d} points"
    direction = str(change.get("direction") or "")
    if direction in ("up", "down"):
        return f"{direction} {abs(points)} points since {previous_wave}, a clear change ({span})"
    return f"no clear change since {previous_wave} ({span})"


def published_words(published: float | None, year: str) -> str:
    return "" if _missing(published) else f"the {year} assessment published {pct(published)}"


def indicator_finding(row: dict, change: dict | None, previous_wave: str | None, published_year: str) -> str:
    """'<label>: 51% (likely between 44% and 58%); <comparison>.' for one published indicator cell."""
    text = f"{row['label']}: {pct(row['estimate'])} ({interval_words(row['ci_low'], row['ci_high'])})"
    comparisons = []
    if change is not None and previous_wave:
        comparisons.append(change_words(change, previous_wave))
    if previous_wave != published_year:
        said = published_words(row.get("published_2015"), published_year)
        if said:
            comparisons.append(said)
    if comparisons:
        text += "; " + "; ".join(comparisons)
    elif previous_wave is None:
        text += "; the first wave, so no earlier figure to compare"
    return text + "."


def indicator_findings(headline: pd.DataFrame, changes: pd.DataFrame, prefer: list[str], limit: int,
                       published_year: str = "2015") -> list[Finding]:
    """Findings from the overall indicators: those the recommendations track (``prefer``, in order)
    first, then the other featured ones with a published earlier figure, those with nothing to compare
    with last; weighted figures where published, the share of respondents where the weighted one is
    withheld; hidden cells never."""
    if headline is None or headline.empty or limit <= 0:
        return []
    overall = headline[(headline["domain"] == "all") & ~headline["suppressed"].astype(bool)
                       & headline["estimate"].notna()]
    prev = changes[changes["comparison"] == "previous wave"] if changes is not None and len(changes) else None
    previous_wave = str(prev["compared_with"].iloc[0]) if prev is not None and len(prev) else None
    by_change = {(r["indicator"], bool(r["weighted"])): r for r in prev.to_dict("records")} if prev is not None else {}
    cells: dict[str, dict] = {}
    for r in overall.to_dict("records"):
        best = cells.get(r["indicator"])
        if best is None or (bool(r["weighted"]) and not bool(best["weighted"])):
            cells[r["indicator"]] = r
    featured = [i for i, r in cells.items() if bool(r.get("featured", True)) and not _missing(r.get("published_2015"))]
    order = [i for i in dict.fromkeys(prefer) if i in cells] + [i for i in featured if i not in prefer]
    # those with something to compare with (a change since the previous wave, or a published figure) first
    order.sort(key=lambda i: (i, True) not in by_change and (i, False) not in by_change
               and _missing(cells[i].get("published_2015")))
    out = []
    for ind in order[:limit]:
        r = cells[ind]
        text = indicator_finding(r, by_change.get((ind, bool(r["weighted"]))), previous_wave, published_year)
        if not bool(r["weighted"]):
            text = text[:-1] + " (share of respondents; the weighted figure is withheld)."
        out.append(Finding(text, "#headline", ind))
    return out


def prevalence_finding(prevalence: pd.DataFrame | None, context=None) -> Finding | None:
    """The overall prevalence estimate with its interval, beside the earlier published range."""
    if prevalence is None or prevalence.empty:
        return None
    rows = prevalence[(prevalence["stratum"].astype(str) == "all") & prevalence["estimate"].notna()
                      & ~prevalence["suppressed"].astype(bool)]
    if rows.empty:
        return None
    r = rows.iloc[0]
    text = (f"An estimated {count(r['estimate'])} victims in the year, counting those no agency saw "
            f"({interval_words(r['ci_low'], r['ci_high'], count)})")
    if not _missing(r.get("observed")):
        text += f"; {count(r['observed'])} distinct cases were on the agencies' lists"
    p = context.prevalence if context is not None else None
    if p is not None:
        text += (f"; the {context.year} assessment published {count(p.likely_low)}–{count(p.likely_high)} "
                 f"{p.what} (estimates ranged from {count(p.range_low)} to {count(p.range_high)})")
    return Finding(text + ".", "prevalence.html")


def after_hours_finding(gaps: pd.DataFrame | None, coverage: pd.DataFrame | None) -> Finding | None:
    """How many counties have no provider of the required services reachable after hours."""
    if coverage is None or coverage.empty or gaps is None:
        return None
    counties = coverage["county"].astype(str).nunique()
    labels = dict(zip(coverage["service_type"], coverage["service_label"]))
    required = sorted({x for v in gaps.get("required_without_after_hours", []) for x in str(v).split("; ") if x})
    names = sorted(gaps["county"].astype(str).unique()) if len(gaps) else []
    what = " or ".join(str(labels.get(x, x)).lower() for x in required) or "the required services"
    if not names:
        return Finding(f"Every one of the {counties} counties has {what} reachable after hours.", "services.html")
    return Finding(f"{len(names)} of {counties} counties have no {what} reachable after hours: "
                   f"{', '.join(names)}.", "services.html")


def summary_findings(pub: dict[str, pd.DataFrame], prefer: list[str], context=None,
                     limit: int = MAX_FINDINGS) -> list[Finding]:
    """The summary's findings, at most ``limit``: the prevalence estimate, the after-hours gap, then
    the indicators (see :func:`indicator_findings`)."""
    extra = [f for f in (prevalence_finding(pub.get("published_prevalence"), context),
                         after_hours_finding(pub.get("published_counties_without_after_hours"),
                                             pub.get("published_service_coverage"))) if f is not None]
    year = context.year if context is not None else "2015"
    indicators = indicator_findings(pub.get("published_indicators"), pub.get("published_changes"), prefer,
                                    limit - len(extra), year)
    # the indicators the recommendations track; others (e.g. who answered) only to reach MIN_FINDINGS
    tracked = [f for f in indicators if f.indicator in prefer]
    others = [f for f in indicators if f.indicator not in prefer]
    indicators = tracked + others[:max(0, MIN_FINDINGS - len(extra) - len(tracked))]
    return (indicators[:3] + extra + indicators[3:])[:limit]
