"""The data-quality page, built from the publication gate's quality tables only: each dataset's status,
a section per survey instrument of the config (its checks as run and completeness per question; then
one per further dataset, the interview matrices), the rows held back by reason, and every hidden figure of
the site with its reason. Counts as the gate published them: a hidden one prints as "hidden"."""

from __future__ import annotations

import pandas as pd

from assets.report.cells import HIDDEN, _records, _without, is_missing, shown_count

#: the published tables whose hidden figures the data-quality page accounts for, with how a row is named
_HIDDEN_SOURCES = {
    "published_indicators": lambda r: (r["label"], _group(r), "weighted" if r["weighted"] else "unweighted"),
    "published_interview_themes": lambda r: (f'{r["label"]} ({str(r["dataset"]).replace("_", " ")})', _group(r), ""),
    "published_open_ended_themes": lambda r: (f'{r["label"]} (open-ended answers)', _group(r), ""),
    "published_model_results": lambda r: (r["outcome_label"], f'{r["kind"].replace("_", " ")}: '
                                          f'{r["level"] or r["county_group"] or ""}', ""),
    "published_case_list_counts": lambda r: (f'cases on {r["list_label"]}', r["stratum"], ""),
    "published_case_list_overlap": lambda r: (f'cases on {r["lists_in_history"]}', r["stratum"], ""),
    "published_quarantine": lambda r: (f'records held back: {r["reason"]}', str(r["dataset"]).replace("_", " "), ""),
    "published_completeness": lambda r: (f'answered: {r["question_text"] or r["question"]}',
                                         str(r["dataset"]).replace("_", " "), ""),
}


def _group(r: dict) -> str:
    return "overall" if r.get("domain") == "all" else f'{str(r.get("domain")).replace("_", " ")}: {r.get("level")}'


def hidden_figures(pub: dict[str, pd.DataFrame], policy) -> dict:
    """Every hidden figure of the site and why: counts by reason, and one line per figure."""
    lines, counts = [], {}
    for name, naming in _HIDDEN_SOURCES.items():
        frame = pub.get(name)
        if frame is None or frame.empty or "suppressed" not in frame.columns:
            continue
        for r in _records(frame[frame["suppressed"].astype(bool)]):
            reason = str(r.get("suppression_reason") or "")
            what, group, version = naming(r)
            lines.append({"table": name.removeprefix("published_").replace("_", " "), "what": what, "group": group,
                          "version": version, "reason": policy.reason_text(reason)})
            counts[policy.reason_text(reason)] = counts.get(policy.reason_text(reason), 0) + 1
    return {"lines": lines, "counts": counts}


def _quality_groups(datasets: list[str], instruments) -> list[dict]:
    """The data-quality page's sections: one per survey instrument of the config, in its order (titled by
    its label, its counts of its unit), then one per further dataset (the interview matrices)."""
    groups, claimed = [], set()
    for inst in instruments:
        if inst.expectations in datasets:
            groups.append({"id": inst.id, "dataset": inst.expectations, "title": inst.label,
                           "unit": inst.disclosure_unit})
            claimed.add(inst.expectations)
    for d in datasets:
        if d not in claimed:
            groups.append({"id": d, "dataset": d, "title": d.replace("_", " ").capitalize(), "unit": "records"})
    return groups


def data_quality(pub: dict[str, pd.DataFrame], policy, missing: set[str] | frozenset = frozenset(),
                 instruments=()) -> dict:
    """The data-quality page: each dataset's status, then per survey instrument of the config
    (``instruments``; then per further dataset) its checks as run and completeness per question, the rows
    held back by reason, and every hidden figure. Counts as the gate published them (hidden ones say so)."""
    # an instrument whose export the wave did not receive: its quality dataset has no rows either
    missing = set(missing) | {i.expectations for i in instruments if i.id in missing}
    pub = {**pub, **{name: _without(pub.get(name), missing) for name in
                     ("published_quality_status", "published_quality_checks", "published_quarantine",
                      "published_completeness")}}
    status = _records(pub.get("published_quality_status"))
    if not status:
        return {"available": False, "hidden": hidden_figures(pub, policy)}
    for r in status:
        for col in ("rows_read", "accepted", "quarantined"):
            r[col + "_shown"] = shown_count(r.get(col))
    checks = _records(pub.get("published_quality_checks"))
    quarantine = _records(pub.get("published_quarantine"))
    for r in quarantine:
        r["rows_shown"] = shown_count(r.get("rows"))
    completeness = _records(pub.get("published_completeness"))
    for r in completeness:
        r["percent_shown"] = HIDDEN if is_missing(r.get("percent")) else f"{float(r['percent']):.1f}%"
        r["asked_shown"] = shown_count(r.get("asked"))
    datasets = list(dict.fromkeys(str(r["dataset"]) for r in status))
    sections = []
    for g in _quality_groups(datasets, instruments):
        mine = [c for c in checks if str(c["dataset"]) == g["dataset"]]
        sections.append({**g, "checks": mine, "checks_failed": [c for c in mine if c.get("passed") is False],
                         "completeness": [r for r in completeness if str(r["dataset"]) == g["dataset"]]})
    return {"available": True, "status": status, "checks": checks, "sections": sections,
            "checks_failed": [c for c in checks if c.get("passed") is False],
            "quarantine": quarantine, "completeness": completeness, "hidden": hidden_figures(pub, policy)}
