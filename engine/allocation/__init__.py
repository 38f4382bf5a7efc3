"""Static and regime-aware allocation."""

from engine.allocation.optimize import (
    OBJECTIVES,
    check_max_weight,
    minimum_variance_weights,
    optimal_weights,
)
from engine.allocation.regime import (
    blend_weights,
    regime_weight_table,
    state_weights,
)

__all__ = [
    "OBJECTIVES",
    "blend_weights",
    "check_max_weight",
    "minimum_variance_weights",
    "optimal_weights",
    "regime_weight_table",
    "state_weights",
]
