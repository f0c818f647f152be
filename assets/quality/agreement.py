"""Agreement between two coders, and the keyword rules against hand codes, per theme.

Where a second coder coded some of the same interviews (``second_coder_file`` of an interview
frame) or the same open-ended answers (``second_coder_file`` of a question's coding frame), each
theme gets, over the units both coders coded:

* percent agreement (both raised it or both did not) with its Wilson interval
  (:func:`assets.estimates.intervals.wilson_interval`);
* Cohen's kappa, agreement beyond what the two coders' own rates would give by chance,
  ``(p_o - p_e) / (1 - p_e)``. It is undefined when ``p_e = 1`` (both coders gave every unit the same
  code: nothing to agree on beyond chance), which is said, not computed;
* an interval for kappa that behaves at small n: a percentile bootstrap over the coded units
  (units resampled with replacement, ``bootstrap_replicates`` times from the config's seed;
  resamples where kappa is undefined are left out, and with fewer than half of them defined there
  is no interval);
* a flag when kappa is below the agreed ``min_kappa`` (or undefined: agreement cannot be judged).

The keyword rules of an open-ended question are compared with the hand codes the same way as a
coder: precision (of the answers the rules coded with a theme, the share the hand coder coded with
it) and recall (of those the hand coder coded, the share the rules found), each with its Wilson
interval. Every number here is about coders, from counts of coded units.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from assets.estimates.intervals import wilson_interval
from pipelines.config import Agreement

__all__ = ["AGREEMENT_COLUMNS", "RULE_PRECISION_COLUMNS", "agreement_rows", "cohens_kappa", "kappa_interval",
           "rule_precision"]

AGREEMENT_COLUMNS = ["wave", "source", "theme", "label", "units", "both_yes", "first_only", "second_only", "both_no",
                     "agreement", "agreement_low", "agreement_high", "kappa", "kappa_low", "kappa_high",
                     "kappa_defined", "flagged", "note"]
RULE_PRECISION_COLUMNS = ["wave", "variable", "theme", "label", "hand_coded", "hand_yes", "rules_yes",
                          "true_positives", "false_positives", "false_negatives", "precision", "precision_low",
                          "precision_high", "recall", "recall_low", "recall_high"]
KAPPA_UNDEFINED = "kappa undefined: both coders gave every unit the same code"


def _kappa_from_rates(p_o: np.ndarray, pa: np.ndarray, pb: np.ndarray) -> np.ndarray:
    p_e = pa * pb + (1 - pa) * (1 - pb)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isclose(p_e, 1.0), np.nan, (p_o - p_e) / (1 - p_e))


def cohens_kappa(first: np.ndarray, second: np.ndarray) -> float:
    """Cohen's kappa of two coders' yes/no codes of the same units (NaN when undefined or no units)."""
    a, b = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    if len(a) != len(b):
        raise ValueError("the two coders must code the same units")
    if len(a) == 0:
        return math.nan
    return float(_kappa_from_rates(np.array([(a == b).mean()]), np.array([a.mean()]), np.array([b.mean()]))[0])


def kappa_interval(first: np.ndarray, second: np.ndarray, settings: Agreement, stream: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of kappa over units (NaN, NaN when too few resamples define it)."""
    a, b = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    n = len(a)
    if n < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng([settings.seed, stream])
    idx = rng.integers(0, n, size=(settings.bootstrap_replicates, n))
    ra, rb = a[idx], b[idx]
    kappas = _kappa_from_rates((ra == rb).mean(axis=1), ra.mean(axis=1), rb.mean(axis=1))
    defined = kappas[~np.isnan(kappas)]
    if len(defined) < settings.bootstrap_replicates / 2:
        return (math.nan, math.nan)
    tail = (1 - settings.level) / 2 * 100
    low, high = np.percentile(defined, [tail, 100 - tail])
    return (float(low), float(high))


def agreement_rows(first: pd.DataFrame, second: pd.DataFrame, themes: list[tuple[str, str]], source: str,
                   wave: str, settings: Agreement, stream: int = 0) -> pd.DataFrame:
    """Per theme, the agreement of two coders over the units (index: unit id) both coded.

    ``first`` and ``second``: one row per unit, a yes/no (missing = not coded) column per theme code."""
    common = first.index.intersection(second.index)
    rows = []
    for k, (code, label) in enumerate(themes):
        x = first.loc[common, code].astype("boolean")
        y = second.loc[common, code].astype("boolean")
        both = (x.notna() & y.notna()).to_numpy(dtype=bool)
        a, b = x.to_numpy(dtype=bool, na_value=False)[both], y.to_numpy(dtype=bool, na_value=False)[both]
        n = int(both.sum())
        agree = int((a == b).sum())
        low, high = wilson_interval(agree, n, settings.level) if n else (math.nan, math.nan)
        kappa = cohens_kappa(a, b)
        k_low, k_high = kappa_interval(a, b, settings, stream * 1000 + k) if not math.isnan(kappa) else (math.nan,
                                                                                                         math.nan)
        defined = not math.isnan(kappa)
        note = "" if defined else ("no unit coded by both coders" if n == 0 else KAPPA_UNDEFINED)
        if defined and math.isnan(k_low):
            note = "too few units for an interval"
        rows.append({"wave": wave, "source": source, "theme": code, "label": label, "units": n,
                     "both_yes": int((a & b).sum()), "first_only": int((a & ~b).sum()),
                     "second_only": int((~a & b).sum()), "both_no": int((~a & ~b).sum()),
                     "agreement": agree / n if n else math.nan, "agreement_low": low, "agreement_high": high,
                     "kappa": kappa, "kappa_low": k_low, "kappa_high": k_high, "kappa_defined": defined,
                     "flagged": (not defined) or kappa < settings.min_kappa, "note": note})
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def rule_precision(rule_check: list[dict] | pd.DataFrame, wave: str, level: float = 0.95) -> pd.DataFrame:
    """Precision and recall of the keyword rules against the hand-coded sample, per theme."""
    table = pd.DataFrame(rule_check, columns=[c for c in RULE_PRECISION_COLUMNS[:10] if c != "wave"])
    rows = []
    for r in table.to_dict("records"):
        tp, fp, fn = int(r["true_positives"]), int(r["false_positives"]), int(r["false_negatives"])
        p_low, p_high = wilson_interval(tp, tp + fp, level)
        r_low, r_high = wilson_interval(tp, tp + fn, level)
        rows.append({**r, "wave": wave, "precision": tp / (tp + fp) if tp + fp else math.nan,
                     "precision_low": p_low, "precision_high": p_high,
                     "recall": tp / (tp + fn) if tp + fn else math.nan, "recall_low": r_low, "recall_high": r_high})
    out = pd.DataFrame(rows, columns=RULE_PRECISION_COLUMNS)
    for c in RULE_PRECISION_COLUMNS[4:]:
        out[c] = out[c].astype(float)
    return out


def wave_agreement(assessment, folder: Path, wave: str, limits=None) -> pd.DataFrame:
    """Every agreement the wave's folder allows: each interview set with a second coder's matrix, each
    open-ended question with a second coder's matrix (a file the config names but the folder lacks
    gives no rows)."""
    from assets.ingest.exports import DATASET_FILES, read_interviews
    from assets.ingest.open_ended import read_code_matrix
    from pipelines.input_files import check_input_file

    settings = assessment.frames.agreement
    parts = []
    stream = 0
    for dataset in ("stakeholder_interviews", "survivor_interviews"):
        frame = getattr(assessment.frames, dataset)
        stream += 1
        second_path, first_path = (folder / frame.second_coder_file if frame.second_coder_file else None,
                                   folder / DATASET_FILES[dataset][0])
        if second_path is None or not second_path.exists() or not first_path.exists():
            continue
        check_input_file(first_path, folder, limits)
        check_input_file(second_path, folder, limits)
        first = read_interviews(first_path, frame, dataset, wave).dropna(subset=["interview_id"])
        second = read_interviews(second_path, frame, dataset, wave).dropna(subset=["interview_id"])
        themes = [(t.code, t.label) for t in frame.themes]
        parts.append(agreement_rows(first.set_index("interview_id"), second.set_index("interview_id"), themes,
                                    dataset, wave, settings, stream))
    for v in assessment.codebook.variables:
        stream += 1
        coding = v.coding
        if coding is None or not coding.second_coder_file or not coding.hand_coded_file:
            continue
        first_path, second_path = folder / coding.hand_coded_file, folder / coding.second_coder_file
        if not first_path.exists() or not second_path.exists():
            continue
        check_input_file(first_path, folder, limits)
        check_input_file(second_path, folder, limits)
        themes = [(t.code, t.label) for t in coding.themes]
        parts.append(agreement_rows(read_code_matrix(first_path, coding, folder),
                                    read_code_matrix(second_path, coding, folder), themes,
                                    f"officer_survey.{v.name}", wave, settings, stream))
    if not parts:
        return pd.DataFrame(columns=AGREEMENT_COLUMNS)
    return pd.concat(parts, ignore_index=True)
