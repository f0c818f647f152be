"""What the site says about open-ended answers and about coding: the themes officers raised in their
open-ended answers (law-enforcement page), and on the data-quality page how well the keyword rules
match the hand codes and how far two coders agree. Built from the gate's tables only."""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["coded_questions", "coding_quality", "open_ended_themes"]


def _records(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None or frame.empty:
        return []
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in frame.to_dict("records")]


def coded_questions(assessment) -> dict[str, str]:
    """Each question's wording by its name; a multi-select's coded "Other (please specify)" answers
    are named as such (their themes are of the other answers, not of the question's options)."""
    return {v.name: v.question + (" \u2014 \u201cOther (please specify)\u201d" if v.type == "multi" else "")
            for v in assessment.codebook.variables}


def open_ended_themes(published: pd.DataFrame | None, questions: dict[str, str] | None = None) -> list[dict]:
    """One block per coded open-ended question: its question text and a row per theme (overall),
    most raised first, hidden ones last."""
    blocks: dict[str, dict] = {}
    questions = questions or {}
    for r in _records(published):
        if r.get("domain") != "all":
            continue
        dataset = str(r["dataset"])
        name = dataset.split(".", 1)[-1]
        block = blocks.setdefault(dataset, {"question": questions.get(name, name.replace("_", " ")), "rows": [],
                                            "answered": None})
        if not r["suppressed"] and r.get("interviews") is not None:
            block["answered"] = r["interviews"]
        block["rows"].append(r)
    for block in blocks.values():
        block["rows"].sort(key=lambda r: (bool(r["suppressed"]), -(r.get("mentioned") or 0)))
    return list(blocks.values())


def _source_name(source: str, questions: dict[str, str]) -> str:
    """An interview set ("stakeholder interviews") or an open-ended question (its wording, quoted)."""
    if "." not in source:
        return source.replace("_", " ")
    name = source.split(".", 1)[1]
    return f"answers to \u201c{questions[name]}\u201d" if name in questions else name.replace("_", " ")


def coding_quality(precision: pd.DataFrame | None, agreement: pd.DataFrame | None, min_kappa: float,
                   questions: dict[str, str] | None = None) -> dict:
    """The rules against the hand codes, and the agreement between coders, per source."""
    by_source: dict[str, list[dict]] = {}
    for r in _records(agreement):
        by_source.setdefault(str(r["source"]), []).append(r)
    sources = [{"source": _source_name(s, questions or {}), "rows": rows,
                "flagged": sum(1 for r in rows if r["flagged"])} for s, rows in by_source.items()]
    return {"precision": _records(precision), "agreement": sources, "min_kappa": min_kappa,
            "available": bool(len(_records(precision)) or sources)}
