"""Performance table, cost sweep, and significance of a Sharpe difference."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from engine.backtest.simulator import BacktestResult, Decision, simulate
from engine.risk import (
    annualized_volatility,
    cagr,
    conditional_value_at_risk,
    kurtosis,
    max_drawdown,
    sharpe_ratio,
    skewness,
    sortino_ratio,
)

METRICS = (
    "CAGR",
    "Volatility",
    "Sharpe",
    "Sortino",
    "Max drawdown",
    "Calmar",
    "CVaR 95%",
    "Turnover /yr",
    "Costs paid",
    "Hit ratio",
)


def live_slice(result: BacktestResult) -> slice:
    """From the first traded period on: every strategy is measured over the same dates."""
    first = int(np.argmax(result.turnover.to_numpy() > 0)) if (result.turnover > 0).any() else 0
    return slice(first + 1, None)


def performance(
    result: BacktestResult, cash: pd.Series | None = None, live: slice | None = None
) -> pd.Series:
    """Metrics of one backtest over `live` (default: from its first trade). Sharpe is on
    returns in excess of cash; costs paid are in % of the initial NAV; hit ratio = share of
    periods with a positive return."""
    sl = live or live_slice(result)
    r = result.returns.to_numpy()[sl]
    rf = (
        np.zeros_like(r)
        if cash is None
        else cash.reindex(result.returns.index).fillna(0.0).to_numpy()[sl]
    )
    years = r.size / 252
    mdd = max_drawdown(r)
    g = cagr(r)
    out = {
        "CAGR": g,
        "Volatility": annualized_volatility(r),
        "Sharpe": sharpe_ratio(r, rf),
        "Sortino": sortino_ratio(r),
        "Max drawdown": mdd,
        "Calmar": g / mdd if mdd > 0 else np.inf,
        "CVaR 95%": conditional_value_at_risk(r, 0.95),
        "Turnover /yr": result.turnover.to_numpy()[sl].sum() / years,
        "Costs paid": result.costs.to_numpy()[sl].sum(),
        "Hit ratio": float((r > 0).mean()),
    }
    return pd.Series(out, dtype=float)


def comparison_table(
    results: Mapping[str, BacktestResult], cash: pd.Series | None = None
) -> pd.DataFrame:
    """Metric × strategy over the common live period (from the latest first trade)."""
    start = max(live_slice(r).start or 0 for r in results.values())
    return pd.DataFrame(
        {name: performance(r, cash, slice(start, None)) for name, r in results.items()}
    )


def time_in_state(result: BacktestResult) -> pd.Series:
    reg = result.regime.dropna()
    return reg.value_counts(normalize=True).sort_index() if len(reg) else pd.Series(dtype=float)


def cost_sweep(
    returns: pd.DataFrame,
    targets: Mapping[str, Sequence[tuple[int, Decision]]],
    costs_bps: Sequence[float] = (0, 5, 10, 25, 50),
    cash: pd.Series | None = None,
    delay: int = 1,
) -> tuple[pd.DataFrame, float | None]:
    """Sharpe of each strategy at each cost (same decisions, re-simulated), and the cost at
    which the first strategy's Sharpe falls to the second's (linear interpolation; None if it
    never crosses within the sweep)."""
    rows = {}
    for c in costs_bps:
        res = {name: simulate(returns, t, cash, delay, c) for name, t in targets.items()}
        rows[c] = comparison_table(res, cash).loc["Sharpe"]
    table = pd.DataFrame(rows).T
    table.index.name = "cost (bp)"
    a, b = table.columns[:2]
    diff = (table[a] - table[b]).to_numpy()
    xs = np.asarray(costs_bps, dtype=float)
    breakeven = None
    for i in range(len(xs) - 1):
        if diff[i] >= 0 > diff[i + 1]:
            breakeven = float(xs[i] + diff[i] / (diff[i] - diff[i + 1]) * (xs[i + 1] - xs[i]))
            break
    return table, breakeven


def sharpe_difference_test(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Jobson–Korkie test with Memmel's (2003) correction: H0 equal Sharpe ratios.

    z = (SR_a - SR_b) / sqrt(θ/T), θ = 2 - 2ρ + ½(SR_a² + SR_b² - 2 SR_a SR_b ρ²) (per period).
    Returns (z, two-sided p-value). Sharpe ratios equal to 12 significant digits (identical or
    rescaled series: rounding is all that tells them apart) give z = 0, p = 1. ρ is clipped to
    [-1, 1] and θ floored at 0: rounding can put the sample correlation of identical series
    just above 1 and θ just below 0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    T = a.size
    sa, sb = a.mean() / a.std(ddof=1), b.mean() / b.std(ddof=1)
    if math.isclose(sa, sb, rel_tol=1e-12, abs_tol=1e-15):
        return 0.0, 1.0
    rho = float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))
    theta = max(2 - 2 * rho + 0.5 * (sa**2 + sb**2 - 2 * sa * sb * rho**2), 0.0)
    z = math.copysign(math.inf, sa - sb) if theta == 0 else (sa - sb) / math.sqrt(theta / T)
    return float(z), float(2 * stats.norm.sf(abs(z)))


def bootstrap_sharpe_difference(
    a: np.ndarray, b: np.ndarray, n_boot: int = 1000, mean_block: int = 20, seed: int = 0
) -> float:
    """Stationary bootstrap (Politis–Romano) p-value of SR_a - SR_b = 0, resampling both
    series with the same blocks so their correlation is kept."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    T = a.size
    rng = np.random.default_rng(seed)
    obs = a.mean() / a.std(ddof=1) - b.mean() / b.std(ddof=1)
    diffs = np.empty(n_boot)
    for k in range(n_boot):
        idx = np.empty(T, dtype=int)
        idx[0] = rng.integers(T)
        new = rng.random(T) < 1.0 / mean_block
        starts = rng.integers(T, size=T)
        for t in range(1, T):
            idx[t] = starts[t] if new[t] else (idx[t - 1] + 1) % T
        x, y = a[idx], b[idx]
        diffs[k] = x.mean() / x.std(ddof=1) - y.mean() / y.std(ddof=1)
    centred = diffs - diffs.mean()
    return float((np.abs(centred) >= abs(obs)).mean())


def deflated_sharpe_ratio(
    returns: np.ndarray, n_trials: int, trial_sharpe_variance: float
) -> float:
    """Bailey & López de Prado (2014): P(true SR > SR₀) after trying `n_trials` configurations.

    SR₀ = sqrt(V) ((1-γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e))), γ = Euler–Mascheroni, V the variance
    of the trials' (per-period) Sharpe ratios; DSR = Φ((SR - SR₀) sqrt(T-1) / sqrt(1 - g3 SR +
    (g4 - 1)/4 SR²)) with skew g3 and kurtosis g4 of the returns."""
    r = np.asarray(returns, dtype=float)
    sr = r.mean() / r.std(ddof=1)
    gamma = 0.5772156649015329
    n = max(int(n_trials), 2)
    sr0 = np.sqrt(trial_sharpe_variance) * (
        (1 - gamma) * stats.norm.ppf(1 - 1 / n) + gamma * stats.norm.ppf(1 - 1 / (n * math.e))
    )
    g3, g4 = skewness(r), kurtosis(r)
    denom = np.sqrt(max(1 - g3 * sr + (g4 - 1) / 4 * sr**2, 1e-12))
    return float(stats.norm.cdf((sr - sr0) * np.sqrt(r.size - 1) / denom))
