"""State-conditional risk: measures on one regime's observations.

Two weightings: `hard` (the days whose most likely filtered state is k) and `probability`
(every day, weighted by its filtered probability of state k). With 0/1 probabilities the two
agree exactly (tested). Each figure comes with the number of observations behind it (the
effective number n_eff = (Σw)²/Σw² when weighted) and, on request, a bootstrap interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from engine import PERIODS_PER_YEAR
from engine.errors import InputError
from engine.risk.measures import (
    annualized_mean,
    annualized_volatility,
    check_confidence,
    conditional_value_at_risk,
    max_drawdown,
    value_at_risk,
)

STATE_RISK_COLUMNS = (
    "Observations",
    "Share",
    "Mean (ann.)",
    "Volatility (ann.)",
    "VaR",
    "CVaR",
    "Max drawdown",
)
WEIGHTINGS = ("hard", "probability")


def state_weights_matrix(
    n_obs: int,
    n_states: int,
    states: np.ndarray | None,
    probabilities: np.ndarray | None,
    weighting: str = "hard",
) -> np.ndarray:
    """(n_obs, n_states) observation weights per state: 0/1 from hard labels (-1 = none), or
    the filtered probabilities (NaN rows = 0)."""
    if weighting not in WEIGHTINGS:
        raise InputError("weighting", f"must be hard or probability (got {weighting!r})")
    if weighting == "hard":
        if states is None:
            raise InputError("states", "hard weighting needs state labels")
        s = np.asarray(states)
        return (s[:, None] == np.arange(n_states)[None, :]).astype(float)
    if probabilities is None:
        raise InputError("probabilities", "probability weighting needs state probabilities")
    return np.nan_to_num(np.asarray(probabilities, dtype=float), nan=0.0)


def effective_observations(w: np.ndarray) -> float:
    """(Σw)² / Σw²: the number of equally weighted observations with the same information."""
    s2 = float((w**2).sum())
    return float(w.sum() ** 2 / s2) if s2 > 0 else 0.0


def state_risk_table(
    returns: np.ndarray,
    states: np.ndarray | None,
    labels: Sequence[str],
    confidence: float = 0.95,
    periods_per_year: int = PERIODS_PER_YEAR,
    estimator: str = "historical",
    probabilities: np.ndarray | None = None,
    weighting: str = "hard",
) -> pd.DataFrame:
    """Per-state risk of one return series.

    Rows: labels. Columns: observations (effective if weighted), share of days (mean
    probability if weighted), annualised mean and volatility, VaR and CVaR by `estimator`,
    and (hard weighting only) the compounded max drawdown of the state's days taken in order.
    NaN where a state has too few observations for a figure.
    """
    r = np.asarray(returns, dtype=float)
    W = state_weights_matrix(r.size, len(labels), states, probabilities, weighting)
    rows = []
    for k, label in enumerate(labels):
        try:
            rows.append(_state_row(r, W[:, k], confidence, periods_per_year, estimator, weighting))
        except InputError as exc:  # say which state could not support the estimator
            raise InputError("state", f"{label}: {exc.message}") from exc
    return pd.DataFrame(rows, index=list(labels), columns=list(STATE_RISK_COLUMNS))


def _state_row(
    r: np.ndarray,
    w: np.ndarray,
    confidence: float,
    periods_per_year: int,
    estimator: str,
    weighting: str,
) -> list[Any]:
    """One state's row of the table (w: its 0/1 or probability weights)."""
    tail_ok = 1.0 / (1.0 - confidence) - 1e-9  # fewer days than the tail needs: blank
    if weighting == "hard":
        x = r[w > 0]
        n = x.size
        return [
            n,
            n / r.size,
            annualized_mean(x, periods_per_year) if n else np.nan,
            annualized_volatility(x, periods_per_year) if n >= 2 else np.nan,
            value_at_risk(x, confidence, estimator) if n >= max(2, tail_ok) else np.nan,
            conditional_value_at_risk(x, confidence, estimator) if n >= max(2, tail_ok) else np.nan,
            max_drawdown(x) if n else np.nan,
        ]
    n_eff = effective_observations(w)
    if not (w.sum() > 0 and n_eff >= 2):
        return [n_eff, w.mean(), np.nan, np.nan, np.nan, np.nan, np.nan]
    return [
        n_eff,
        w.mean(),
        annualized_mean(r, periods_per_year, sample_weight=w),
        annualized_volatility(r, periods_per_year, sample_weight=w),
        value_at_risk(r, confidence, estimator, sample_weight=w),
        conditional_value_at_risk(r, confidence, estimator, sample_weight=w),
        np.nan,  # a drawdown path is not defined for weighted days
    ]


def state_covariance(returns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted covariance (n_assets, n_assets) with reliability weights (unbiased):
    Σ w_t (x_t - μ)(x_t - μ)' / (1 - Σ w_t²), w normalised to sum to 1."""
    X = np.asarray(returns, dtype=float)
    w = np.asarray(weights, dtype=float)
    if w.sum() <= 0:
        raise InputError("state", "has no observations")
    w = w / w.sum()
    mu = w @ X
    D = X - mu
    denom = 1.0 - (w**2).sum()
    if denom <= 0:
        raise InputError("state", "needs at least two observations for a covariance")
    return (D * w[:, None]).T @ D / denom


def covariance_to_correlation(cov: np.ndarray) -> np.ndarray:
    sd = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(sd, sd)
    np.fill_diagonal(corr, 1.0)
    return corr


def bootstrap_interval(
    x: np.ndarray,
    confidence: float = 0.95,
    level: float = 0.90,
    n_boot: int = 1000,
    seed: int = 0,
    conditional: bool = True,
) -> tuple[float, float]:
    """Percentile bootstrap (i.i.d. resampling, seeded) interval of the historical CVaR (or
    VaR) of `x` at `confidence`: small crisis samples get honestly wide intervals."""
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    samples = x[rng.integers(0, x.size, size=(x.size, n_boot))]  # columns are resamples
    fn = conditional_value_at_risk if conditional else value_at_risk
    stats_ = np.asarray(fn(samples, confidence))
    lo, hi = np.quantile(stats_, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def regime_mixture_forecast(
    returns: np.ndarray,
    weights: np.ndarray,
    states: np.ndarray,
    probabilities_now: np.ndarray,
    transmat: np.ndarray,
    confidence: float = 0.99,
) -> tuple[float, float, np.ndarray]:
    """One-day-ahead portfolio VaR and ES from the regime model: the next day's state
    probabilities p_{T+1} = p_T A mix one normal per state, fitted to the portfolio's returns on
    that state's days (hard labels). Returns (VaR, ES, p_{T+1})."""
    port = np.asarray(returns, dtype=float) @ np.asarray(weights, dtype=float)
    k = len(probabilities_now)
    means, stds = np.zeros(k), np.zeros(k)
    for s in range(k):
        x = port[np.asarray(states) == s]
        if x.size < 2:
            raise InputError("state", f"state {s + 1} has fewer than 2 days; no forecast")
        means[s], stds[s] = x.mean(), x.std(ddof=1)
    p_next = np.asarray(probabilities_now, dtype=float) @ np.asarray(transmat, dtype=float)
    var, es = mixture_var_es(p_next, means, stds, confidence)
    return var, es, p_next


def mixture_var_es(
    probabilities: np.ndarray, means: np.ndarray, stds: np.ndarray, confidence: float = 0.99
) -> tuple[float, float]:
    """VaR and ES of a mixture of normals Σ p_k N(m_k, s_k²) (positive losses).

    VaR v solves Σ p_k Φ((-v - m_k)/s_k) = 1 - c; ES = (1/(1-c)) Σ p_k [s_k φ(z_k) - m_k Φ(z_k)]
    with z_k = (-v - m_k)/s_k."""
    c = check_confidence(confidence)
    p = np.asarray(probabilities, dtype=float)
    m = np.asarray(means, dtype=float)
    s = np.asarray(stds, dtype=float)
    alpha = 1.0 - c

    def excess(v: float) -> float:
        return float(p @ stats.norm.cdf((-v - m) / s) - alpha)

    hi = float(np.max(-m + 10 * s))
    lo = float(np.min(-m - 10 * s))
    v = optimize.brentq(excess, lo, hi, xtol=1e-14)
    z = (-v - m) / s
    es = float(p @ (s * stats.norm.pdf(z) - m * stats.norm.cdf(z)) / alpha)
    return float(v), es
