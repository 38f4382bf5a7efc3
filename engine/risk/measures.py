"""Risk and performance measures: pure functions, array in, number(s) out.

Conventions (SPEC §3): simple periodic returns; VaR, CVaR and drawdown are positive numbers
meaning a loss; `confidence` is the level (0.95), never the tail probability; volatility uses
ddof = 1 and annualises with sqrt(periods_per_year) (252 for daily data).

Shapes: `returns` is (n_obs,) -> float, or (n_obs, n_assets) -> (n_assets,) array.
"""

from __future__ import annotations

import numpy as np

from engine import PERIODS_PER_YEAR
from engine.errors import InputError

_EPS = np.finfo(float).eps


def _as_returns(returns: np.ndarray, min_obs: int = 1) -> np.ndarray:
    r = np.asarray(returns, dtype=float)
    if r.ndim not in (1, 2):
        raise InputError("returns", "must be a 1-D series or a 2-D table")
    if r.shape[0] < min_obs:
        raise InputError("returns", f"need at least {min_obs} observations (got {r.shape[0]})")
    if not np.isfinite(r).all():
        raise InputError("returns", "contains NaN or infinite values")
    return r


def check_confidence(confidence: float) -> float:
    """The VaR/CVaR level must lie strictly between 0.5 and 1 (e.g. 0.95, 0.99)."""
    c = float(confidence)
    if not 0.5 < c < 1.0:
        hint = f" Write {c / 100:g}." if 50 < c < 100 else ""
        raise InputError("confidence", f"must be between 0.5 and 1 (got {confidence:g}).{hint}")
    return c


def value_at_risk(returns: np.ndarray, confidence: float = 0.95) -> float | np.ndarray:
    """Historical VaR: the smallest loss exceeded with probability at most 1 - confidence.

    With k = (1 - c)·n and i = floor(k) (0-based, a 4·eps·n tolerance so an integer k is not
    rounded down), VaR = -r_(i), the (i+1)-th smallest return. Equals skfolio's `value_at_risk`.
    """
    c = check_confidence(confidence)
    r = _as_returns(returns)
    n = r.shape[0]
    k = (1.0 - c) * n
    i = min(n - 1, int(np.floor(k + 4 * _EPS * n)))
    return -np.partition(r, i, axis=0)[i]


def conditional_value_at_risk(returns: np.ndarray, confidence: float = 0.95) -> float | np.ndarray:
    """Historical CVaR (expected shortfall), Rockafellar–Uryasev with the fractional tail atom.

    k = (1 - c)·n, i = ceil(k) - 1, r_(0) <= r_(1) <= ... sorted returns:
        CVaR = -( sum_{j < i} r_(j) + (k - i)·r_(i) ) / k
    i.e. the mean of the worst k observations where the i-th counts with weight k - i.
    Equals skfolio's `cvar` to machine precision.
    """
    c = check_confidence(confidence)
    r = _as_returns(returns)
    n = r.shape[0]
    k = (1.0 - c) * n
    i = max(0, int(np.ceil(k) - 1))
    part = np.partition(r, i, axis=0)
    return -np.sum(part[:i], axis=0) / k + part[i] * (i / k - 1.0)


def annualized_volatility(
    returns: np.ndarray, periods_per_year: int = PERIODS_PER_YEAR
) -> float | np.ndarray:
    """Sample standard deviation (ddof = 1) × sqrt(periods_per_year)."""
    r = _as_returns(returns, min_obs=2)
    return np.std(r, axis=0, ddof=1) * np.sqrt(periods_per_year)


def annualized_mean(
    returns: np.ndarray, periods_per_year: int = PERIODS_PER_YEAR
) -> float | np.ndarray:
    """Arithmetic mean periodic return × periods_per_year."""
    r = _as_returns(returns)
    return np.mean(r, axis=0) * periods_per_year


def sharpe_ratio(
    returns: np.ndarray,
    risk_free: np.ndarray | float = 0.0,
    periods_per_year: int = PERIODS_PER_YEAR,
) -> float | np.ndarray:
    """mean(r - rf) / std(r - rf, ddof = 1) × sqrt(periods_per_year); 0 where std is 0."""
    r = _as_returns(returns, min_obs=2)
    excess = r - (
        np.asarray(risk_free)[:, None] if np.ndim(risk_free) and r.ndim == 2 else risk_free
    )
    sd = np.std(excess, axis=0, ddof=1)
    mean = np.mean(excess, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, mean / sd * np.sqrt(periods_per_year), 0.0)
    return float(out) if np.ndim(out) == 0 else out


def max_drawdown(returns: np.ndarray) -> float | np.ndarray:
    """Maximum compounded drawdown: max_t (1 - NAV_t / max_{s<=t} NAV_s), NAV_0 = 1.

    NAV starts at 1 before the first return, so a loss on day one counts.
    """
    r = _as_returns(returns)
    nav = np.cumprod(1.0 + r, axis=0)
    start = np.ones((1, *r.shape[1:]))
    peak = np.maximum.accumulate(np.concatenate([start, nav]), axis=0)[1:]
    return np.max(1.0 - nav / peak, axis=0)


RISK_MEASURES = {
    "var": value_at_risk,
    "cvar": conditional_value_at_risk,
    "volatility": annualized_volatility,
    "mean": annualized_mean,
    "max_drawdown": max_drawdown,
    "sharpe": sharpe_ratio,
}
