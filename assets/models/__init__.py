"""Statistical models: Fay–Herriot small-area estimation (R ``sae`` compatible)."""

from assets.models.small_area import FayHerriotResult, FayHerriotWarning, design_matrix, fay_herriot
from assets.models.small_area_proportions import ProportionFit, fay_herriot_proportions, fit_proportions
from assets.models.small_area_simulation import simulate_areas

__all__ = [
    "FayHerriotResult",
    "FayHerriotWarning",
    "ProportionFit",
    "design_matrix",
    "fay_herriot",
    "fay_herriot_proportions",
    "fit_proportions",
    "simulate_areas",
]
