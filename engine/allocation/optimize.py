"""Long-only portfolio optimisers (scipy SLSQP): weights sum to 1, 0 <= w_i <= max_weight."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from engine.errors import InputError


def check_max_weight(max_weight: float, n_assets: int) -> float:
    """A cap that leaves a feasible long-only portfolio: 1/n <= max_weight <= 1."""
    m = float(max_weight)
    if not 0.0 < m <= 1.0:
        raise InputError("max_weight", f"must be in (0, 1] (got {max_weight:g})")
    if m * n_assets < 1.0 - 1e-12:
        raise InputError(
            "max_weight",
            f"{m:g} × {n_assets} assets < 1, so no portfolio is fully invested; "
            f"use at least {1 / n_assets:.4g}",
        )
    return m


def minimum_variance_weights(covariance: np.ndarray, max_weight: float = 1.0) -> np.ndarray:
    """argmin_w w'Σw  s.t.  sum(w) = 1, 0 <= w <= max_weight.  Σ: (n, n) -> w: (n,)."""
    cov = np.asarray(covariance, dtype=float)
    n = cov.shape[0]
    cap = check_max_weight(max_weight, n)
    if n == 1:
        return np.ones(1)
    # Scale so the objective is O(1): SLSQP's tolerances are absolute.
    scale = float(np.trace(cov) / n) or 1.0
    c = cov / scale
    res = minimize(
        lambda w: w @ c @ w,
        x0=np.full(n, 1.0 / n),
        jac=lambda w: 2.0 * c @ w,
        bounds=[(0.0, cap)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(n)}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    if not res.success:
        raise RuntimeError(f"minimum-variance optimisation failed: {res.message}")
    w = np.clip(res.x, 0.0, cap)
    return w / w.sum()
