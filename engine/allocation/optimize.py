"""Long-only portfolio optimisers (scipy): weights sum to 1, min_weight <= w_i <= max_weight.

Objectives on a returns sample X (n_obs, n_assets), optionally weighted by observation weights
p (e.g. a regime's probabilities):
- equal: 1/n.   inverse_vol: w ∝ 1/σ_i, capped.
- min_variance: argmin w'Σw (SLSQP).
- max_sharpe: argmax μ'w / sqrt(w'Σw) (rf = 0), solved as argmin y'Σy s.t. μ'y = 1,
  0 <= y <= cap·Σy, w = y/Σy; if no asset has a positive mean it falls back to min_variance.
- min_cvar: Rockafellar–Uryasev LP (HiGHS): min α + Σ_t p_t u_t / (1-β), u_t >= -x_t'w - α, u >= 0.
- risk_parity: equal risk contributions w_i(Σw)_i; Spinu's convex form min ½y'Σy - Σ log(y_i)/n,
  w = y/Σy; with a binding cap, SLSQP on the squared deviations of the contributions.
An optional turnover limit moves from the previous weights toward the optimum only as far as
Σ|Δw| <= limit (a convex blend, so every constraint still holds).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linprog, minimize

from engine.errors import InputError

OBJECTIVES = ("min_variance", "min_cvar", "max_sharpe", "risk_parity", "inverse_vol", "equal")


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


def _moments(X: np.ndarray, p: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    if p is None:
        return X.mean(axis=0), np.atleast_2d(np.cov(X, rowvar=False, ddof=1))
    w = p / p.sum()
    mu = w @ X
    D = X - mu
    return mu, (D * w[:, None]).T @ D / (1.0 - (w**2).sum())


def _slsqp(
    fun: Any,
    jac: Any,
    n: int,
    cap: float,
    x0: np.ndarray | None = None,
    extra: list[dict[str, Any]] | None = None,
) -> np.ndarray:
    cons = [{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(n)}]
    res = minimize(
        fun,
        x0=np.full(n, 1.0 / n) if x0 is None else x0,
        jac=jac,
        bounds=[(0.0, cap)] * n,
        constraints=cons + (extra or []),
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 2000},
    )
    if not res.success:
        raise RuntimeError(f"optimisation failed: {res.message}")
    w = np.clip(res.x, 0.0, cap)
    return w / w.sum()


def minimum_variance_weights(covariance: np.ndarray, max_weight: float = 1.0) -> np.ndarray:
    """argmin_w w'Σw  s.t.  sum(w) = 1, 0 <= w <= max_weight.  Σ: (n, n) -> w: (n,)."""
    cov = np.atleast_2d(np.asarray(covariance, dtype=float))
    n = cov.shape[0]
    cap = check_max_weight(max_weight, n)
    if n == 1:
        return np.ones(1)
    c = cov / (float(np.trace(cov) / n) or 1.0)  # O(1) objective: SLSQP tolerances are absolute
    return _slsqp(lambda w: w @ c @ w, lambda w: 2.0 * c @ w, n, cap)


def _capped_proportional(raw: np.ndarray, cap: float) -> np.ndarray:
    """w ∝ raw; weights above the cap are fixed at it and the rest rescaled (water-filling)."""
    w = raw / raw.sum()
    fixed = np.zeros(w.size, dtype=bool)
    for _ in range(w.size):
        over = (w > cap + 1e-15) & ~fixed
        if not over.any():
            break
        fixed |= over
        free = ~fixed
        w[fixed] = cap
        w[free] = raw[free] / raw[free].sum() * (1.0 - cap * fixed.sum())
    return w


def max_sharpe_weights(mu: np.ndarray, cov: np.ndarray, max_weight: float = 1.0) -> np.ndarray:
    n = mu.size
    cap = check_max_weight(max_weight, n)
    if not (mu > 0).any():
        return minimum_variance_weights(cov, cap)  # no positive-Sharpe portfolio exists
    scale = float(np.trace(cov) / n) or 1.0
    c = cov / scale
    m = mu / np.abs(mu).max()
    cons = [
        {"type": "eq", "fun": lambda y: m @ y - 1.0, "jac": lambda y: m},
        {
            "type": "ineq",
            "fun": lambda y: cap * y.sum() - y,
            "jac": lambda y: cap * np.ones((n, n)) - np.eye(n),
        },
    ]
    y0 = np.where(m > 0, m, 0.0)
    y0 = y0 / (m @ y0)
    res = minimize(
        lambda y: y @ c @ y,
        y0,
        jac=lambda y: 2 * c @ y,
        bounds=[(0.0, None)] * n,
        constraints=cons,
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 2000},
    )
    if not res.success:
        raise RuntimeError(f"max-Sharpe optimisation failed: {res.message}")
    y = np.clip(res.x, 0.0, None)
    return y / y.sum()


def min_cvar_weights(
    X: np.ndarray, confidence: float = 0.95, max_weight: float = 1.0, p: np.ndarray | None = None
) -> np.ndarray:
    T, n = X.shape
    cap = check_max_weight(max_weight, n)
    probs = np.full(T, 1.0 / T) if p is None else p / p.sum()
    alpha = 1.0 - confidence
    # variables: w (n), a (1), u (T)
    c = np.r_[np.zeros(n), 1.0, probs / alpha]
    A_ub = np.hstack([-X, -np.ones((T, 1)), -np.eye(T)]) if T <= 2000 else None
    if A_ub is None:
        from scipy.sparse import csr_matrix, hstack, identity

        A = hstack(
            [csr_matrix(-X), csr_matrix(-np.ones((T, 1))), -identity(T, format="csr")]
        ).tocsr()
    else:
        A = A_ub
    A_eq = np.r_[np.ones(n), 0.0, np.zeros(T)][None, :]
    bounds = [(0.0, cap)] * n + [(None, None)] + [(0.0, None)] * T
    res = linprog(c, A_ub=A, b_ub=np.zeros(T), A_eq=A_eq, b_eq=[1.0], bounds=bounds, method="highs")
    if not res.success:
        raise RuntimeError(f"min-CVaR optimisation failed: {res.message}")
    w = np.clip(res.x[:n], 0.0, cap)
    return w / w.sum()


def risk_parity_weights(cov: np.ndarray, max_weight: float = 1.0) -> np.ndarray:
    n = cov.shape[0]
    cap = check_max_weight(max_weight, n)
    c = cov / (float(np.trace(cov) / n) or 1.0)
    res = minimize(
        lambda y: 0.5 * y @ c @ y - np.log(y).sum() / n,
        np.full(n, 1.0 / np.sqrt(np.diag(c)).sum()),
        jac=lambda y: c @ y - 1.0 / (n * y),
        bounds=[(1e-12, None)] * n,
        method="L-BFGS-B",
        options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 5000},
    )
    w = res.x / res.x.sum()
    if w.max() <= cap + 1e-12:
        return w

    def spread(v: np.ndarray) -> float:
        rc = v * (c @ v)
        return float(((rc - rc.mean()) ** 2).sum()) * 1e4

    return _slsqp(spread, None, n, cap, x0=_capped_proportional(w, cap))


def optimal_weights(
    returns: np.ndarray,
    objective: str = "min_variance",
    max_weight: float = 1.0,
    confidence: float = 0.95,
    sample_weight: np.ndarray | None = None,
    previous: np.ndarray | None = None,
    max_turnover: float | None = None,
) -> np.ndarray:
    """Weights of `objective` on a returns sample (n_obs, n_assets), long only, capped."""
    if objective not in OBJECTIVES:
        raise InputError("objective", f"must be one of {', '.join(OBJECTIVES)} (got {objective!r})")
    X = np.asarray(returns, dtype=float)
    if X.ndim != 2 or X.shape[0] < 2:
        raise InputError("returns", "need a table with at least 2 rows to estimate weights")
    n = X.shape[1]
    cap = check_max_weight(max_weight, n)
    p = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if objective == "equal":
        w = np.full(n, 1.0 / n)
    elif objective == "min_cvar":
        w = min_cvar_weights(X, confidence, cap, p)
    else:
        mu, cov = _moments(X, p)
        if objective == "inverse_vol":
            sd = np.sqrt(np.diag(cov))
            if (sd <= 0).any():
                raise InputError(
                    "returns", "an asset has zero volatility; inverse_vol is undefined"
                )
            w = _capped_proportional(1.0 / sd, cap)
        elif objective == "min_variance":
            w = minimum_variance_weights(cov, cap)
        elif objective == "max_sharpe":
            w = max_sharpe_weights(mu, cov, cap)
        else:
            w = risk_parity_weights(cov, cap)
    if previous is not None and max_turnover is not None:
        prev = np.asarray(previous, dtype=float)
        move = np.abs(w - prev).sum()
        if move > max_turnover > 0:
            w = prev + (w - prev) * (max_turnover / move)
    return w
