"""Prevalence of human trafficking by multiple systems estimation (capture–recapture).

Modules: :mod:`.overlap` (overlap tables), :mod:`.linkage` (keyed linkage, tables from
records), :mod:`.mse` (log-linear models, selection, intervals), :mod:`.sensitivity`,
:mod:`.simulate`, :mod:`.results`; for the pipeline: :mod:`.inputs` (a wave's case lists from the
drop folder), :mod:`.tables` (the stage's warehouse tables), :mod:`.assets` (the thin Dagster
assets), :mod:`.demo` (synthetic case lists), :mod:`.command` (``htna prevalence``),
:mod:`.bench` (six-list stepwise + bootstrap timing).
"""

from .linkage import (
    LinkageError,
    LinkageSecretError,
    linkage_key,
    overlap_from_records,
    secret_from_env,
)
from .mse import MSEError, MSEFit, check_existence, fit_model
from .mse_intervals import ProfileInterval, lognormal_interval, profile_interval, wald_interval
from .mse_selection import BootstrapResult, StepwiseResult, bootstrap, estimate_population, stepwise
from .overlap import (
    OverlapTableError,
    complete_overlap_table,
    drop_list,
    read_overlap_csv,
    split_strata,
    validate_overlap_table,
)
from .results import PrevalenceEstimate
from .sensitivity import sensitivity_table
from .simulate import simulate_overlap, simulate_records

__all__ = [
    "BootstrapResult",
    "LinkageError",
    "LinkageSecretError",
    "MSEError",
    "MSEFit",
    "OverlapTableError",
    "PrevalenceEstimate",
    "ProfileInterval",
    "StepwiseResult",
    "bootstrap",
    "check_existence",
    "complete_overlap_table",
    "drop_list",
    "estimate_population",
    "fit_model",
    "linkage_key",
    "lognormal_interval",
    "overlap_from_records",
    "profile_interval",
    "read_overlap_csv",
    "secret_from_env",
    "sensitivity_table",
    "simulate_overlap",
    "simulate_records",
    "split_strata",
    "stepwise",
    "validate_overlap_table",
    "wald_interval",
]
