"""Survey design objects and linearised variances, following R's ``survey`` package.

The module reproduces the parts of ``survey`` 4.1 that the needs assessment uses:

* :class:`SurveyDesign` is R's ``svydesign(ids=, strata=, weights=, fpc=)`` for a one-stage
  (stratified, optionally clustered) design.  Variances are Taylor-linearised with the
  "ultimate cluster" estimator of ``svyrecvar``/``onestrat``: PSU totals of the influence values
  are centred within their stratum, scaled by ``f_h n_h / (n_h - 1)`` with ``f_h = 1 - n_h / N_h``
  when a finite population correction is given, and summed over strata.
* Calibration (``postStratify``, ``rake``, ``trimWeights``) lives in
  :mod:`assets.estimates.calibration`; each step it takes is recorded on the design
  (:mod:`assets.estimates.calibration_records`). Group numbering shared with the estimators is in
  :mod:`assets.estimates.group_codes`.
* Calibration carries into the variance exactly as ``svyrecvar`` does it: for a post-stratification
  the influence values are replaced by their residuals from post-stratum means (weighted by the
  pre-calibration weights), and for a raking the residualisation is iterated ten times over the
  margins of the final raking pass.

Arrays are handled column-wise with ``numpy.bincount`` so a design with a million rows costs a few
passes over the data per variance, never a Python loop over rows.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Union

import numpy as np
import pandas as pd

from assets.estimates.calibration_records import CalibrationStep, PostStratumStep, RakingStep
from assets.estimates.group_codes import (
    _factorize,
    _first_appearance,
    _has_missing,
    _mixed_radix,
    _rowsum,
    combine_codes,
)

__all__ = [
    "LonelyPSU",
    "PostStratumStep",
    "RakingStep",
    "SurveyDesign",
    "WeightDiagnostics",
    "degf",
    "svydesign",
    "svyrecvar",
    "weight_diagnostics",
]

LonelyPSU = Literal["fail", "remove", "certainty", "average", "adjust"]
"""What to do with a stratum that has a single PSU (R's ``options(survey.lonely.psu=)``)."""

ColumnOrValues = Union[str, Sequence, np.ndarray, pd.Series, None]
Population = Union[Mapping, pd.Series, pd.DataFrame]

# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _values(data: pd.DataFrame, spec: ColumnOrValues, what: str) -> np.ndarray | None:
    """A column of ``data`` by name, or given values of the right length, as a numpy array."""
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec not in data.columns:
            raise KeyError(f"{what} column {spec!r} is not in the data")
        return data[spec].to_numpy()
    if np.isscalar(spec):
        return np.full(len(data), spec)
    arr = spec.to_numpy() if isinstance(spec, pd.Series) else np.asarray(spec)
    if arr.shape[0] != len(data):
        raise ValueError(f"{what} has {arr.shape[0]} values for {len(data)} rows")
    return arr


def _population_items(population: Population, variables: Sequence[str]) -> dict:
    """Normalise a population specification to ``{level (or tuple of levels): count}``."""
    if isinstance(population, pd.DataFrame):
        missing = [v for v in variables if v not in population.columns]
        if missing:
            raise ValueError(f"population table lacks the stratifying variables {missing}")
        rest = [c for c in population.columns if c not in variables]
        if len(rest) != 1:
            raise ValueError("a population DataFrame needs the stratifying columns and one count column")
        keys = (
            list(population[variables[0]])
            if len(variables) == 1
            else list(population[list(variables)].itertuples(index=False, name=None))
        )
        counts = population[rest[0]].to_numpy(dtype=float)
        return dict(zip(keys, counts))
    if isinstance(population, pd.Series):
        return {k: float(v) for k, v in population.items()}
    if isinstance(population, Mapping):
        return {k: float(v) for k, v in population.items()}
    raise TypeError("population must be a mapping, a Series or a DataFrame")


# ---------------------------------------------------------------------------------------------
# the design
# ---------------------------------------------------------------------------------------------


class SurveyDesign:
    """A one-stage survey design, like R's ``svydesign(ids=, strata=, weights=, fpc=, data=)``.

    Parameters
    ----------
    data:
        One row per respondent.
    weights:
        Sampling weights (column name or values).  If omitted, they are ``N_h / n_h`` when ``fpc``
        gives population sizes, otherwise 1 (as R).
    strata:
        Stratum of each row (column name or values), or ``None`` for an unstratified design.
    ids:
        Primary sampling unit (cluster) of each row, or ``None`` when every row is its own PSU
        (R's ``ids=~1``).
    fpc:
        Finite population correction: either the number of PSUs in the stratum population (all
        values >= 1) or the sampling fraction (all values <= 1), constant within a stratum.
    nest:
        If true, cluster ids are only unique within strata (R's ``nest=TRUE``); otherwise a cluster
        id appearing in two strata is an error.
    lonely_psu:
        Handling of strata with a single PSU: ``"fail"`` (R's default), ``"remove"`` or
        ``"certainty"`` (contribute nothing), ``"average"`` (replace by the average of the other
        strata) or ``"adjust"`` (deviation of the PSU total from zero, i.e. from the overall
        centre of the influence values).
    """

    def __init__(
        self,
        data: pd.DataFrame,
        weights: ColumnOrValues = None,
        strata: ColumnOrValues = None,
        ids: ColumnOrValues = None,
        fpc: ColumnOrValues = None,
        *,
        nest: bool = False,
        lonely_psu: LonelyPSU = "fail",
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise TypeError("data must be a pandas DataFrame")
        if lonely_psu not in ("fail", "remove", "certainty", "average", "adjust"):
            raise ValueError(f"unknown lonely_psu option {lonely_psu!r}")
        n = len(data)
        if n == 0:
            raise ValueError("a survey design needs at least one row")
        self.data: pd.DataFrame = data
        self.lonely_psu: LonelyPSU = lonely_psu
        self.calibration: tuple[CalibrationStep, ...] = ()
        #: how many identical rows each row stands for (None: one each); see :meth:`collapse`
        self.freq: np.ndarray | None = None

        # strata
        strata_values = _values(data, strata, "strata")
        self.has_strata = strata_values is not None
        if strata_values is None:
            self.strata = np.zeros(n, dtype=np.int64)
            self.strata_levels: tuple = ("1",)
        else:
            if _has_missing(strata_values):
                raise ValueError("missing values in strata")
            self.strata, levels = _factorize(strata_values)
            self.strata_levels = tuple(levels)
        n_strata = len(self.strata_levels)

        # clusters (PSUs), forced to be nested in strata
        id_values = _values(data, ids, "ids")
        self.has_clusters = id_values is not None
        if id_values is None:
            self.psu = np.arange(n, dtype=np.int64)
            self._psu_is_row = True
        else:
            if _has_missing(id_values):
                raise ValueError("missing values in ids")
            id_codes, _ = _factorize(id_values)
            if self.has_strata and not nest:
                per_id = pd.Series(self.strata).groupby(id_codes).nunique()
                if (per_id > 1).any():
                    raise ValueError(
                        "clusters are not nested in strata; use nest=True if cluster ids are only "
                        "unique within strata"
                    )
            combined = self.strata * (int(id_codes.max()) + 1) + id_codes
            _, self.psu = np.unique(combined, return_inverse=True)
            self.psu = self.psu.astype(np.int64).reshape(-1)
            self._psu_is_row = False
        n_psu_total = int(self.psu.max()) + 1
        psu_stratum = np.zeros(n_psu_total, dtype=np.int64)
        psu_stratum[self.psu] = self.strata
        self.psu_stratum: np.ndarray = psu_stratum
        self.n_psu: np.ndarray = np.bincount(psu_stratum, minlength=n_strata).astype(np.int64)

        # finite population correction: population number of PSUs per stratum
        fpc_values = _values(data, fpc, "fpc")
        if fpc_values is None:
            self.popsize: np.ndarray | None = None
        else:
            f = np.asarray(fpc_values, dtype=float)
            if np.isnan(f).any():
                raise ValueError("missing values in fpc")
            is_popsize = bool((f > 1).any())
            if is_popsize != bool((f >= 1).all()):
                raise ValueError("fpc must be all population sizes (>= 1) or all sampling fractions (<= 1)")
            first = np.zeros(n_strata)
            first[self.strata[::-1]] = f[::-1]  # first value in each stratum
            if not np.allclose(f, first[self.strata]):
                warnings.warn("fpc varies within strata; using the first value in each", stacklevel=2)
            popsize = first if is_popsize else self.n_psu / first
            if (popsize < self.n_psu - 1e-9).any():
                raise ValueError("fpc implies more than 100% sampling in some strata")
            self.popsize = popsize

        # weights
        w_values = _values(data, weights, "weights")
        if w_values is None:
            if self.popsize is not None:
                w = (self.popsize / self.n_psu)[self.strata]
            else:
                w = np.ones(n)
        else:
            w = np.asarray(w_values, dtype=float)
        if np.isnan(w).any():
            raise ValueError("missing values in weights")
        if (w < 0).any():
            raise ValueError("weights must be non-negative")
        self.weights: np.ndarray = w.astype(float, copy=True)

    # -- basic facts ------------------------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of rows (R's ``nrow(design)``)."""
        return len(self.data)

    @property
    def n_strata(self) -> int:
        return len(self.strata_levels)

    @property
    def n_psu_total(self) -> int:
        return int(self.psu_stratum.shape[0])

    @property
    def is_calibrated(self) -> bool:
        """True once post-stratified or raked (R's ``is.calibrated``)."""
        return len(self.calibration) > 0

    @property
    def raking(self) -> RakingStep | None:
        """The most recent raking, with its convergence report, if any."""
        for step in reversed(self.calibration):
            if isinstance(step, RakingStep):
                return step
        return None

    @property
    def sampling_fraction(self) -> np.ndarray:
        """``f_h = (N_h - n_h) / N_h`` per stratum (1 without fpc), R's ``onestrat`` ``f``."""
        if self.popsize is None:
            return np.ones(self.n_strata)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(np.isinf(self.popsize), 1.0, (self.popsize - self.n_psu) / self.popsize)
        return f

    def degf(self, mask: np.ndarray | None = None) -> int:
        """Design degrees of freedom: see :func:`degf`."""
        return degf(self, mask)

    def variance(self, x: np.ndarray) -> np.ndarray:
        """Linearised variance of influence values ``x``: see :func:`svyrecvar`."""
        return svyrecvar(self, x)

    def weight_diagnostics(self) -> WeightDiagnostics:
        return weight_diagnostics(self)

    def with_weights(self, weights: np.ndarray) -> SurveyDesign:
        """A copy with replaced weights (calibration records are kept, as in R)."""
        new = copy.copy(self)
        new.weights = np.asarray(weights, dtype=float).copy()
        return new

    def _with_calibration(self, weights: np.ndarray, steps: tuple[CalibrationStep, ...]) -> SurveyDesign:
        new = copy.copy(self)
        new.weights = weights
        new.calibration = steps
        return new

    def pattern_codes(self) -> tuple[np.ndarray, int]:
        """Codes (and their number) of the rows' design patterns: rows with the same stratum, weight
        and, for every calibration step, the same cell and weights before and after it."""
        if getattr(self, "_pattern", None) is None:
            arrays: list[np.ndarray] = [self.strata, self.weights]
            for step in self.calibration:
                for m in (step.margins if isinstance(step, RakingStep) else (step,)):
                    arrays += [m.codes, m.weights, m.oldweights]
            self._pattern = combine_codes(arrays)
        return self._pattern

    def collapse(self, keys: Sequence[np.ndarray] = (),
                 sizes: Sequence[int | None] | None = None) -> tuple[SurveyDesign, np.ndarray]:
        """The design with identical rows merged: one row per distinct design pattern and ``keys``.

        Each row of the result stands for ``freq`` rows of this design that agree in stratum,
        weight, every calibration step (cell, weights) and every array of ``keys`` (the outcome and
        domain codes of an estimate). Every estimator of :mod:`assets.estimates.estimators` that
        supports ``freq`` (:func:`~assets.estimates.proportions.svyciprop`) gives the same result on
        it as on this design, from cell totals. Only for designs whose PSUs are the rows and that are
        not collapsed already. ``sizes`` (optional, one per key) says a key is codes 0..size-1
        already. Returns the collapsed design and each row's index in it; the collapsed design's
        ``source_rows`` are the first rows of this design its rows stand for.
        """
        if not self._psu_is_row or self.freq is not None:
            raise ValueError("only a design whose PSUs are its rows, not collapsed yet, can be collapsed")
        pattern, k = self.pattern_codes()
        code, size = _mixed_radix([pattern, *keys], sizes=[k, *(sizes or [None] * len(keys))])
        # codes are numbered in order of first appearance: the first rows of the groups, in order
        inverse, first = _first_appearance(code, size)
        uniq = first
        new = copy.copy(self)
        new._pattern = None
        new.data = self.data.iloc[first].reset_index(drop=True)
        new.source_rows = first  # the first row of this design each collapsed row stands for
        new.freq = np.bincount(inverse, minlength=len(uniq)).astype(float)
        new.weights = self.weights[first]
        new.strata = self.strata[first]
        new.psu = np.arange(len(uniq), dtype=np.int64)
        new.psu_stratum = new.strata
        new.n_psu = self.n_psu  # PSUs per stratum: the rows each collapsed row stands for
        steps: list[CalibrationStep] = []
        for step in self.calibration:
            if isinstance(step, RakingStep):
                margins = tuple(_take_step(m, first) for m in step.margins)
                raking = RakingStep(margins, step.iterations, step.converged, step.delta, step.epsilon,
                                    step.max_margin_error, {"freq": new.freq})
                steps.append(raking)
            else:
                steps.append(_take_step(step, first))
        new.calibration = tuple(steps)
        return new, inverse

    def __repr__(self) -> str:
        kind = "Stratified " if self.has_strata else ""
        kind += f"{self.n_psu_total}-cluster" if self.has_clusters else "independent sampling"
        cal = f", calibrated x{len(self.calibration)}" if self.calibration else ""
        return f"<SurveyDesign {kind} design, n={self.n}, strata={self.n_strata}{cal}>"


def _take_step(step: PostStratumStep, rows: np.ndarray) -> PostStratumStep:
    return PostStratumStep(step.variables, step.codes[rows], step.levels, step.population, step.weights[rows],
                           step.oldweights[rows], step.collapsed)


def svydesign(
    data: pd.DataFrame,
    ids: ColumnOrValues = None,
    strata: ColumnOrValues = None,
    weights: ColumnOrValues = None,
    fpc: ColumnOrValues = None,
    *,
    nest: bool = False,
    lonely_psu: LonelyPSU = "fail",
) -> SurveyDesign:
    """R-flavoured constructor: ``svydesign(data, ids="dnum", weights="pw", fpc="fpc")``."""
    return SurveyDesign(data, weights=weights, strata=strata, ids=ids, fpc=fpc, nest=nest, lonely_psu=lonely_psu)


# ---------------------------------------------------------------------------------------------
# variance
# ---------------------------------------------------------------------------------------------


def degf(design: SurveyDesign, mask: np.ndarray | None = None) -> int:
    """Design degrees of freedom, R's ``degf``: PSUs minus strata among rows with non-zero weight.

    ``mask`` restricts to a domain (R computes ``degf`` of the subset design, which for a domain
    counts only the PSUs and strata containing domain members).
    """
    inset = design.weights != 0
    if mask is not None:
        inset = inset & np.asarray(mask, dtype=bool)
    if not inset.any():
        return 0
    if design.freq is not None:  # a collapsed design: each row stands for freq PSUs
        n_psu = int(round(float(design.freq[inset].sum())))
    else:
        n_psu = int((np.bincount(design.psu[inset], minlength=design.n_psu_total) > 0).sum())
    n_strata = int((np.bincount(design.strata[inset], minlength=design.n_strata) > 0).sum())
    return n_psu - n_strata


def _calibration_residuals(design: SurveyDesign, x: np.ndarray) -> np.ndarray:
    """Replace influence values by their calibration residuals, exactly as R's ``svyrecvar``."""
    for step in design.calibration:
        if isinstance(step, RakingStep):
            x = step.residuals(x)
        else:
            psw = step.weights.copy()
            oldw = step.oldweights
            psw[(psw == 0) & (oldw == 0)] = 1.0
            k = step.n_levels
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(psw > 0, oldw / psw, 0.0)
            f = 1.0 if design.freq is None else design.freq
            num = _rowsum(x * (ratio * f)[:, None], step.codes, k)
            den = np.bincount(step.codes, weights=oldw * f, minlength=k)
            psmeans = num / np.where(den > 0, den, 1.0)[:, None]
            x = x - psmeans[step.codes] * psw[:, None]
    return x


def svyrecvar(design: SurveyDesign, x: np.ndarray) -> np.ndarray:
    """Linearised (Taylor) covariance matrix of totals of influence values ``x``: R's ``svyrecvar``.

    ``x`` is an ``n`` vector or ``n x p`` matrix of influence values (e.g. ``w_i (y_i - ybar) / W``
    for a mean).  Calibration residuals are taken first, then PSU totals are centred within strata
    and combined with the with-replacement/fpc scaling of R's ``onestrat``.  Returns ``p x p``.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] != design.n:
        raise ValueError(f"x has {x.shape[0]} rows for a design of {design.n}")
    if design.calibration:
        x = _calibration_residuals(design, x)
    n_strata = design.n_strata
    totals = x if design._psu_is_row else _rowsum(x, design.psu, design.n_psu_total)
    s = design.psu_stratum
    n_h = design.n_psu.astype(float)
    fr = None if design.freq is None else design.freq[:, None]  # rows standing for freq PSUs each
    means = _rowsum(totals if fr is None else totals * fr, s, n_strata) / n_h[:, None]
    lonely = design.n_psu == 1
    dev = totals - means[s]
    f = design.sampling_fraction
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n_h > 1, f * n_h / (n_h - 1), f)
    scale = np.where(f < 1e-7, 0.0, scale)  # self-representing strata contribute nothing
    factor = 1.0
    if lonely.any():
        option = design.lonely_psu
        if option == "fail":
            bad = [design.strata_levels[i] for i in np.flatnonzero(lonely)]
            raise ValueError(
                f"stratum {bad[0]!r} has only one PSU (lonely_psu='fail'); "
                "choose lonely_psu='remove', 'certainty', 'average' or 'adjust'"
            )
        if option == "adjust":
            dev = np.where(lonely[s][:, None], totals, dev)
        elif option == "average":
            scale = np.where(lonely, 0.0, scale)
            factor = n_strata / (n_strata - int(lonely.sum())) if n_strata > lonely.sum() else math.nan
        # "remove" / "certainty": the centred single PSU total is zero, so nothing to do
    dev = dev * np.sqrt(scale[s])[:, None]
    return ((dev.T @ dev) if fr is None else (dev.T @ (dev * fr))) * factor


# ---------------------------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightDiagnostics:
    """Summary of the (positive) weights of a design.

    ``kish_deff`` is Kish's design effect due to unequal weighting, ``1 + CV^2 = n sum(w^2) /
    (sum w)^2`` with the CV computed with divisor ``n``; ``n_effective = (sum w)^2 / sum(w^2)``.
    """

    n: int
    n_zero: int
    total: float
    min: float
    q1: float
    median: float
    mean: float
    q3: float
    max: float
    ratio_max_min: float
    cv: float
    kish_deff: float
    n_effective: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def weight_diagnostics(design: SurveyDesign) -> WeightDiagnostics:
    """Min/quartiles/max, max/min ratio, CV, Kish design effect and effective n of the weights."""
    w_all = design.weights
    w = w_all[w_all > 0]
    if w.size == 0:
        raise ValueError("no positive weights")
    total = float(w.sum())
    sumsq = float((w * w).sum())
    mean = total / w.size
    cv = float(np.sqrt(np.mean((w - mean) ** 2)) / mean)
    q = np.quantile(w, [0.25, 0.5, 0.75])  # R's default (type 7) quantiles
    return WeightDiagnostics(
        n=int(w.size), n_zero=int((w_all == 0).sum()), total=total,
        min=float(w.min()), q1=float(q[0]), median=float(q[1]), mean=mean, q3=float(q[2]),
        max=float(w.max()), ratio_max_min=float(w.max() / w.min()), cv=cv,
        kish_deff=w.size * sumsq / total**2, n_effective=total**2 / sumsq,
    )
