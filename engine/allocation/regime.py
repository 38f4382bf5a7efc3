"""Regime-aware allocation: optimal weights per state, blended by state probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine.allocation.optimize import OBJECTIVES, optimal_weights
from engine.errors import InputError


def state_weights(
    returns: pd.DataFrame,
    states: np.ndarray,
    labels: Sequence[str],
    objective: str = "min_variance",
    max_weight: float = 1.0,
) -> pd.DataFrame:
    """Assets × states: the objective's weights on each state's observations (hard labels).

    A state with fewer than n_assets + 1 days cannot support a covariance estimate; it gets
    the weights estimated on all days, so the table is always complete.
    """
    if objective not in OBJECTIVES:
        raise InputError("objective", f"must be one of {', '.join(OBJECTIVES)} (got {objective!r})")
    X = returns.to_numpy(dtype=float)
    n_assets = X.shape[1]
    fallback = None
    cols = {}
    for k, label in enumerate(labels):
        x = X[np.asarray(states) == k]
        if x.shape[0] > max(n_assets, 20):
            cols[label] = optimal_weights(x, objective, max_weight)
        else:
            if fallback is None:
                fallback = optimal_weights(X, objective, max_weight)
            cols[label] = fallback
    return pd.DataFrame(cols, index=returns.columns)


def regime_weight_table(
    returns: pd.DataFrame,
    states: np.ndarray,
    labels: Sequence[str],
    probabilities_now: np.ndarray,
    objective: str = "min_variance",
    max_weight: float = 1.0,
) -> pd.DataFrame:
    """Assets × (one column per state + "Now"): per-state weights and today's blend."""
    table = state_weights(returns, states, labels, objective, max_weight)
    table["Now"] = blend_weights(table, probabilities_now)
    return table


def blend_weights(weights_by_state: pd.DataFrame, probabilities: np.ndarray) -> pd.Series:
    """Σ_k p_k · w_k: a convex blend, so it keeps every long-only/cap constraint."""
    p = np.asarray(probabilities, dtype=float)
    return pd.Series(weights_by_state.to_numpy() @ p, index=weights_by_state.index, name="Now")
