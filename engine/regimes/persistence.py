"""Persistence controls for causal regime signals (filtered probabilities are noisy).

All three are causal: the state at t depends on probabilities up to t only.
"""

from __future__ import annotations

import numpy as np

from engine.errors import InputError
from engine.regimes.base import hard_states


def smooth_probabilities(proba: np.ndarray, window: int) -> np.ndarray:
    """Trailing k-day mean of the probabilities (row t averages rows t-k+1..t)."""
    if window < 1:
        raise InputError("window", f"must be at least 1 (got {window})")
    p = np.asarray(proba, dtype=float)
    csum = np.nancumsum(np.nan_to_num(p), axis=0)
    out = csum.copy()
    out[window:] = csum[window:] - csum[:-window]
    counts = np.minimum(np.arange(1, p.shape[0] + 1), window)[:, None]
    out = out / counts
    out[~np.isfinite(p).all(axis=1)] = np.nan
    return out


def persistent_states(
    proba: np.ndarray, threshold: float = 0.5, min_holding: int = 1
) -> np.ndarray:
    """Hard states with hysteresis: switch to state j only when p_j >= threshold (and j is
    the most likely state), and never before `min_holding` days in the current state.
    -1 until the first row with probabilities."""
    if not 0.0 < threshold <= 1.0:
        raise InputError("threshold", f"must be in (0, 1] (got {threshold})")
    if min_holding < 1:
        raise InputError("min_holding", f"must be at least 1 (got {min_holding})")
    p = np.asarray(proba, dtype=float)
    best = hard_states(p)
    out = np.full(p.shape[0], -1)
    current, held = -1, 0
    for t in range(p.shape[0]):
        b = best[t]
        if b < 0:
            out[t] = current
            continue
        if current < 0 or (b != current and p[t, b] >= threshold and held >= min_holding):
            current, held = b, 0
        held += 1
        out[t] = current
    return out
