"""Stress tests: historical windows, hypothetical shocks, regime-conditional Monte Carlo and
the reverse stress test. Losses are positive numbers (fractions of NAV); a scenario holds the
portfolio's starting weights through the window (buy and hold)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from engine.errors import InputError
from engine.risk import conditional_value_at_risk, value_at_risk

# Peak-to-trough windows of the S&P 500 (or the episode's span), used where the data covers them
HISTORICAL_SCENARIOS: dict[str, tuple[str, str]] = {
    "1987 crash": ("1987-10-13", "1987-10-19"),
    "1998 LTCM and Russia": ("1998-07-17", "1998-10-08"),
    "2000-02 dot-com bust": ("2000-03-24", "2002-10-09"),
    "2008-09 financial crisis": ("2007-10-09", "2009-03-09"),
    "2011 euro crisis and US downgrade": ("2011-04-29", "2011-10-03"),
    "2020 COVID crash": ("2020-02-19", "2020-03-23"),
    "2022 inflation and rates": ("2022-01-03", "2022-10-12"),
}


def scenario_loss(
    returns: pd.DataFrame, weights: np.ndarray, method: str = "simple"
) -> tuple[float, pd.Series]:
    """Buy-and-hold loss of the portfolio over the rows given, and each asset's own loss.
    `method`: the kind of `returns`, simple (growth Π(1 + r)) or log (growth exp(Σ r))."""
    r = returns.to_numpy()
    growth = np.exp(r.sum(axis=0)) if method == "log" else np.prod(1.0 + r, axis=0)
    asset_loss = pd.Series(1.0 - growth, index=returns.columns)
    w = np.asarray(weights, dtype=float)
    return float(1.0 - (w @ growth + (1.0 - w.sum()))), asset_loss


def historical_stress(
    returns: pd.DataFrame,
    weights: np.ndarray,
    scenarios: Mapping[str, tuple[str, str]] | None = None,
    regimes: pd.Series | None = None,
    method: str = "simple",
) -> pd.DataFrame:
    """One row per scenario the data covers: window, portfolio loss, worst asset and its
    loss, and the regime in force at the start of the window (if `regimes` is given).
    `method`: simple or log returns."""
    rows = []
    idx = pd.DatetimeIndex(returns.index)
    for name, (start, end) in (scenarios or HISTORICAL_SCENARIOS).items():
        s, e = pd.Timestamp(start), pd.Timestamp(end)
        if idx[0] > s or idx[-1] < e:
            continue  # not covered by the data
        window = returns.loc[(idx > s) & (idx <= e)]
        loss, assets = scenario_loss(window, weights, method)
        regime = None
        if regimes is not None:
            before = regimes.loc[:s].dropna()
            regime = before.iloc[-1] if len(before) else None
        rows.append(
            {
                "Scenario": name,
                "Start": s,
                "End": e,
                "Portfolio loss": loss,
                "Worst asset": assets.idxmax(),
                "Worst asset loss": float(assets.max()),
                "Regime at start": regime,
            }
        )
    return pd.DataFrame(rows)


def hypothetical_shock(weights: np.ndarray, shocks: ArrayLike) -> float:
    """Instant loss from one shock per asset (e.g. -0.3 for equities): -Σ w_i shock_i."""
    s = np.asarray(shocks, dtype=float)
    w = np.asarray(weights, dtype=float)
    if s.shape != w.shape:
        raise InputError("shocks", f"has {s.size} values for {w.size} assets")
    return float(-(w @ s))


def reverse_stress(
    weights: np.ndarray, direction: ArrayLike, loss_limit: float
) -> tuple[float, np.ndarray]:
    """The smallest multiple m of a shock direction d whose loss -Σ w_i m d_i reaches the
    limit: m = limit / (-w·d). Returns (m, the shocks m·d)."""
    d = np.asarray(direction, dtype=float)
    unit = hypothetical_shock(weights, d)
    if unit <= 0:
        raise InputError("direction", "this direction does not lose money for the portfolio")
    if loss_limit <= 0:
        raise InputError("loss_limit", f"must be positive (got {loss_limit})")
    m = loss_limit / unit
    return float(m), m * d


def regime_monte_carlo(
    returns: pd.DataFrame,
    weights: np.ndarray,
    states: np.ndarray,
    transmat: np.ndarray,
    probabilities_now: np.ndarray,
    horizon: int = 20,
    n_paths: int = 10_000,
    confidence: float = 0.99,
    seed: int = 0,
) -> dict[str, float]:
    """Paths from the fitted regime model: the state follows the transition matrix from
    today's probabilities; each day's returns ~ N(μ_s, Σ_s) of the assets on that state's days
    (hard labels). Returns the VaR and ES of the buy-and-hold horizon loss and the share of
    paths that visit the most turbulent state."""
    X = returns.to_numpy(dtype=float)
    k = len(probabilities_now)
    mus, chols = [], []
    for s in range(k):
        x = X[np.asarray(states) == s]
        if x.shape[0] <= X.shape[1]:
            raise InputError("state", f"state {s + 1} has too few days to estimate its covariance")
        mus.append(x.mean(axis=0))
        chols.append(
            np.linalg.cholesky(
                np.cov(x, rowvar=False).reshape(X.shape[1], X.shape[1]) + 1e-12 * np.eye(X.shape[1])
            )
        )
    rng = np.random.default_rng(seed)
    cum = np.cumsum(np.asarray(transmat, dtype=float), axis=1)
    path_states = np.empty((n_paths, horizon), dtype=int)
    p = np.asarray(probabilities_now, dtype=float) @ np.asarray(transmat, dtype=float)
    path_states[:, 0] = np.minimum(np.searchsorted(np.cumsum(p), rng.random(n_paths)), k - 1)
    for t in range(1, horizon):
        u = rng.random(n_paths)
        path_states[:, t] = np.minimum((u[:, None] > cum[path_states[:, t - 1]]).sum(axis=1), k - 1)
    z = rng.standard_normal((n_paths, horizon, X.shape[1]))
    sim = np.empty_like(z)
    for s in range(k):
        mask = path_states == s
        sim[mask] = mus[s] + z[mask] @ chols[s].T
    growth = np.prod(1.0 + sim, axis=1)  # (n_paths, n_assets)
    w = np.asarray(weights, dtype=float)
    horizon_return = growth @ w + (1.0 - w.sum()) - 1.0
    return {
        "VaR": float(value_at_risk(horizon_return, confidence)),
        "ES": float(conditional_value_at_risk(horizon_return, confidence)),
        "share of paths visiting the most turbulent state": float(
            (path_states == k - 1).any(axis=1).mean()
        ),
    }
