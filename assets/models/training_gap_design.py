"""The data and design of the training-gap models: the model columns of a wave's responses (0/1
outcomes, regressors as ordered factors with the config's reference level first) on the calibrated
design, cell totals for fast exact estimation, and the tables' column lists and small helpers shared by
:mod:`assets.models.training_gap` (regressions), :mod:`assets.models.training_gap_county` (county
tables) and :mod:`assets.models.training_gap_cards` (model cards)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from assets.estimates.weighting import WeightingResult, officer_design
from assets.models.specs import outcomes_of, references_of, regressors_of
from pipelines.config import Assessment

NO_RESPONDENTS = "no respondents at this level (term dropped)"


NOT_COLLECTED = "not collected in this wave"

REGRESSION_COLUMNS = [
    "wave", "outcome", "outcome_label", "kind", "term", "variable", "level", "reference", "county_group",
    "experience_band", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "df", "deviance",
    "null_deviance", "estimator", "converged", "separation", "reliable", "note",
]
COUNTY_COLUMNS = [
    "wave", "outcome", "measure", "measure_label", "breakdown", "county", "county_group", "experience_band",
    "respondents", "n_eff", "direct", "direct_se", "direct_publishable", "eblup", "rmse", "ci_low", "ci_high",
    "shrinkage", "cv", "synthetic", "headcount", "band_share", "officers_needing_training", "officers_low",
    "officers_high", "rank", "fh_method", "fh_variance", "fh_variance_ml", "fh_variance_moment", "fh_truncated", "fh_converged", "fh_loglike", "fh_aic",
    "fh_areas", "fh_coefficients", "fh_selection", "note",
]
MODEL_CARD_COLUMNS = [
    "wave", "model", "asset", "model_type", "outcome", "specification", "estimation", "n", "n_areas",
    "n_parameters", "deviance", "null_deviance", "aic", "loglike", "fh_variance", "converged", "separation",
    "reliable", "diagnostics", "caveats",
]


# --------------------------------------------------------------------------------------------
# data and design
# --------------------------------------------------------------------------------------------


def _levels(assessment: Assessment, var: str, values: pd.Series) -> list[str]:
    """Levels of a regressor: the config's reference level first, then the codebook's order (without a
    reference in the config, the codebook's first level is the reference)."""
    from assets.estimates.headline import domain_levels

    levels = domain_levels(assessment, var, values)
    seen = set(levels)
    extra = sorted(str(v) for v in pd.unique(values.dropna()) if str(v) not in seen)
    levels = levels + extra
    reference = references_of(assessment).get(var)
    if reference is not None and reference in levels:
        levels.remove(reference)
        levels.insert(0, reference)
    return levels


def _prepared(data: pd.DataFrame, assessment: Assessment) -> dict[str, pd.Series]:
    """The model columns: 0/1 outcomes (NaN if unanswered) and ordered factors for the regressors."""
    cols: dict[str, pd.Series] = {}
    n = len(data)
    for o in outcomes_of(assessment):
        raw = data[o.column] if o.column in data.columns else pd.Series([None] * n, index=data.index)
        # each distinct answer looked up once (missing: code -1, not answered)
        codes, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
        hit = np.append(pd.Series(uniques, dtype=object).isin(list(o.success)).to_numpy(dtype=float), np.nan)
        cols[o.y] = pd.Series(hit[codes], index=data.index)
    for var in regressors_of(assessment):
        raw = data[var] if var in data.columns else pd.Series([None] * n, index=data.index)
        codes, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
        if all(isinstance(u, str) for u in uniques):
            # text answers (as the warehouse stores them): each distinct one looked up once
            texts = list(uniques)
            levels = _levels(assessment, var, pd.Series(texts, dtype=object))
            index = {level: i for i, level in enumerate(levels)}
            per_value = np.array([index.get(t, -1) for t in texts] + [-1], dtype=np.int64)
            cols[var] = pd.Series(pd.Categorical.from_codes(per_value[codes], categories=levels), index=data.index)
            continue
        # other values (1 and 1.0 are one distinct value but different text): row by row
        text = raw.astype(object).where(raw.notna(), None).map(lambda v: None if v is None else str(v))
        cols[var] = pd.Series(pd.Categorical(text, categories=_levels(assessment, var, text)), index=data.index)
    return cols


def model_columns(assessment: Assessment) -> list[str]:
    """The response columns the training-gap models read (the rest need not be loaded)."""
    from assets.estimates.weighting import weighting_columns

    return list(dict.fromkeys([*weighting_columns(assessment), *(o.column for o in outcomes_of(assessment)),
                                *regressors_of(assessment)]))


def model_design(responses: pd.DataFrame, assessment: Assessment, wave: str,
                 weights: pd.DataFrame | None = None) -> WeightingResult:
    """The calibrated design of the wave (checked against ``officer_weights`` when given), with
    the model columns added: ``y_<outcome>`` (1 prepared, 0 not, NaN unanswered) and the regressors
    as ordered categoricals (first level = reference)."""
    if not responses.index.equals(pd.RangeIndex(len(responses))):  # (no copy of a million rows otherwise)
        responses = responses.reset_index(drop=True)
    result = officer_design(responses, assessment, weights, wave)
    data = result.design.data
    for name, col in _prepared(data, assessment).items():
        data[name] = col.to_numpy() if not isinstance(col.dtype, pd.CategoricalDtype) else col.values
    return result


#: estimate from cell totals (False: row by row, the straightforward computation, for tests)
COLLAPSE = True


def _outcome_key(y: np.ndarray) -> tuple[np.ndarray, int | None]:
    """An outcome as a collapse key: codes 0 (missing), 1 (0) and 2 (1) when it is 0/1/missing (the
    same cells as factorising it), else the values themselves."""
    missing = np.isnan(y)
    if bool((missing | (y == 0) | (y == 1)).all()):
        return np.where(missing, 0, np.where(y == 1, 2, 1)).astype(np.int64), 3
    return y, None


def collapsed(design, y: str, *columns: str, codes: dict[str, tuple[np.ndarray, int]] | None = None):
    """The design with rows alike in design pattern, outcome ``y`` and ``columns`` merged into cells
    with frequencies (:meth:`~assets.estimates.design.SurveyDesign.collapse`): the estimators and
    ``svyglm`` give exactly the row-level results from these cell totals
    (tests/unit/test_estimates_collapsed.py, tests/unit/test_models_training_gap.py). ``codes``:
    a column's codes (0..size-1) and size worked out already, for a column used by several outcomes."""
    if not COLLAPSE or design.freq is not None or not design._psu_is_row:
        return design
    data = design.data
    y_key, y_size = _outcome_key(data[y].to_numpy(dtype=float))
    keys: list[np.ndarray] = [y_key]
    sizes: list[int | None] = [y_size]
    for c in columns:
        col = data[c]
        if codes is not None and c in codes:
            keys.append(codes[c][0])
            sizes.append(codes[c][1])
        elif isinstance(col.dtype, pd.CategoricalDtype):
            keys.append(col.cat.codes.to_numpy().astype(np.int64) + 1)
            sizes.append(len(col.cat.categories) + 1)
        else:
            keys.append(col.to_numpy())
            sizes.append(None)
    return design.collapse(keys, sizes)[0]


def _freq(design) -> np.ndarray:
    return np.ones(design.n) if design.freq is None else design.freq


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))


def _t_quantile(level: float, df: float) -> float:
    from scipy import special

    if not math.isfinite(df) or df <= 0:
        return float(special.ndtri(0.5 + level / 2))
    return float(special.stdtrit(df, 0.5 + level / 2))


def _typed(frame: pd.DataFrame, floats: Sequence[str], bools: Sequence[str]) -> pd.DataFrame:
    """Stable column types for the warehouse (a table's schema is fixed by its first wave)."""
    for c in floats:
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    for c in bools:
        frame[c] = frame[c].fillna(False).astype(bool)
    for c in frame.columns:
        if c not in floats and c not in bools:
            frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame
