"""Static and regime-aware allocation."""

from engine.allocation.optimize import check_max_weight, minimum_variance_weights
from engine.allocation.regime import (
    OBJECTIVES,
    blend_weights,
    regime_weight_table,
    state_weights,
)

__all__ = [
    "OBJECTIVES",
    "blend_weights",
    "check_max_weight",
    "minimum_variance_weights",
    "regime_weight_table",
    "state_weights",
]
