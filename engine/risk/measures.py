"""Risk and performance measures: pure functions, array in, number(s) out.

Conventions (SPEC §3; docs/risk.md has the table against skfolio, empyrical, quantstats):
- simple periodic returns; VaR, CVaR/ES, drawdown, CDaR are positive numbers meaning a loss;
- `confidence` is the level (0.95, 0.975, 0.99), never the tail probability;
- volatility: ddof = 1, annualised by sqrt(periods_per_year) (252 for daily data);
- drawdowns are compounded from a NAV of 1 before the first return (a day-one loss counts);
- `sample_weight` (n_obs,) are relative observation weights (e.g. a regime's filtered
  probabilities); they are normalised to sum to 1.

Shapes: `returns` is (n_obs,) -> float, or (n_obs, n_assets) -> (n_assets,) array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from engine import PERIODS_PER_YEAR
from engine.errors import InputError

_EPS = np.finfo(float).eps
ESTIMATORS = ("historical", "gaussian", "student_t", "cornish_fisher", "evt")


# -- input checks ---------------------------------------------------------------------------
def _as_returns(returns: Any, min_obs: int = 1) -> np.ndarray:
    r = np.asarray(returns, dtype=float)
    if r.ndim not in (1, 2):
        raise InputError("returns", "must be a 1-D series or a 2-D table")
    if r.shape[0] < min_obs:
        raise InputError("returns", f"need at least {min_obs} observations (got {r.shape[0]})")
    if not np.isfinite(r).all():
        raise InputError("returns", "contains NaN or infinite values")
    return r


def _weights(sample_weight: Any, n_obs: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=float).ravel()
    if w.size != n_obs:
        raise InputError("sample_weight", f"has {w.size} values for {n_obs} observations")
    if not np.isfinite(w).all() or (w < 0).any():
        raise InputError("sample_weight", "must be finite and non-negative")
    if w.sum() <= 0:
        raise InputError("sample_weight", "must have a positive sum")
    return w / w.sum()


def check_confidence(confidence: float) -> float:
    """The VaR/CVaR level must lie strictly between 0.5 and 1 (e.g. 0.95, 0.99)."""
    c = float(confidence)
    if not 0.5 < c < 1.0:
        hint = f" Write {c / 100:g}." if 50 < c < 100 else ""
        raise InputError("confidence", f"must be between 0.5 and 1 (got {confidence:g}).{hint}")
    return c


def _per_column(fn: Callable[[np.ndarray], float], r: np.ndarray) -> float | np.ndarray:
    if r.ndim == 1:
        return float(fn(r))
    return np.array([fn(r[:, j]) for j in range(r.shape[1])])


def _moments(r: np.ndarray, w: np.ndarray | None) -> tuple[Any, Any]:
    """Mean and standard deviation (ddof = 1, or the reliability-weighted analogue)."""
    if w is None:
        return r.mean(axis=0), r.std(axis=0, ddof=1)
    mean = np.tensordot(w, r, axes=1)
    dev2 = np.tensordot(w, (r - mean) ** 2, axes=1)
    v2 = (w**2).sum()
    return mean, np.sqrt(dev2 / (1.0 - v2)) if v2 < 1 else np.zeros_like(mean)


def _standardized_moment(r: np.ndarray, order: int, w: np.ndarray | None) -> Any:
    mean = r.mean(axis=0) if w is None else np.tensordot(w, r, axes=1)
    d = r - mean
    d2 = d * d
    dk = d2 * d if order == 3 else d2 * d2  # products: far cheaper than float powers
    if w is None:
        m2, mk = d2.mean(axis=0), dk.mean(axis=0)
    else:
        m2, mk = np.tensordot(w, d2, axes=1), np.tensordot(w, dk, axes=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(m2 > (_EPS * mean) ** 2, mk / m2 ** (order / 2), np.nan)


# -- historical tail (skfolio-compatible, incl. the weighted case) ----------------------------
def _hist_tail(r: np.ndarray, c: float, w: np.ndarray | None, conditional: bool) -> Any:
    n = r.shape[0]
    if w is None or np.all(w == w[0]):
        k = (1.0 - c) * n
        if conditional:
            i = max(0, int(np.ceil(k) - 1))
            part = np.partition(r, i, axis=0)
            return -np.sum(part[:i], axis=0) / k + part[i] * (i / k - 1.0)
        i = min(n - 1, int(np.floor(k + 4 * _EPS * n)))
        return -np.partition(r, i, axis=0)[i]

    def one(x: np.ndarray) -> float:
        keep = w > 0
        values, probs = x[keep], w[keep] / w[keep].sum()
        order = np.argsort(values, kind="stable")
        values, probs = values[order], probs[order]
        cum = np.cumsum(probs)
        tail = (1.0 - c) * cum[-1]
        if not conditional:
            tol = 0.5 * np.spacing(c) * cum[-1] + 4 * _EPS * len(values) * tail
            i = int(np.searchsorted(cum, tail + tol, side="right"))
            return float(-values[min(i, len(values) - 1)])
        i = int(np.searchsorted(cum, tail))
        if i == 0:
            return float(-values[0])
        return float(-(probs[:i] @ values[:i] + values[i] * (tail - cum[i - 1])) / tail)

    return _per_column(one, r)


# -- parametric tails -------------------------------------------------------------------------
def _cornish_fisher_z(z: Any, s: Any, k: Any) -> Any:
    """Cornish-Fisher quantile of a standard variate with skew s and excess kurtosis k."""
    return z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36


def _cornish_fisher_tail_mean(alpha: float, s: Any, k: Any) -> Any:
    """E[z_cf(Z) | Z < q], q = Φ⁻¹(α): the mean Cornish-Fisher quantile over the tail, exact.

    With φ = φ(q) and the truncated normal moments E[Z | Z<q] = -φ/α, E[Z² | Z<q] = 1 - qφ/α,
    E[Z³ | Z<q] = -(q² + 2)φ/α, the polynomial z_cf is averaged term by term."""
    q = stats.norm.ppf(alpha)
    ratio = stats.norm.pdf(q) / alpha
    m1, m2, m3 = -ratio, 1.0 - q * ratio, -(q**2 + 2.0) * ratio
    return m1 + (m2 - 1.0) * s / 6 + (m3 - 3.0 * m1) * k / 24 - (2.0 * m3 - 5.0 * m1) * s**2 / 36


def _parametric_tail(
    r: np.ndarray,
    c: float,
    w: np.ndarray | None,
    estimator: str,
    conditional: bool,
    evt_threshold: float,
) -> Any:
    alpha = 1.0 - c
    if estimator == "gaussian":
        mu, sd = _moments(r, w)
        z = stats.norm.ppf(alpha)
        return -(mu + sd * z) if not conditional else -mu + sd * stats.norm.pdf(z) / alpha
    if estimator == "cornish_fisher":
        mu, sd = _moments(r, w)
        s = _standardized_moment(r, 3, w)
        k = _standardized_moment(r, 4, w) - 3.0
        if not conditional:
            return -(mu + sd * _cornish_fisher_z(stats.norm.ppf(alpha), s, k))
        # ES = -(mu + sd · mean of the CF quantile over the tail u in (0, alpha))
        return -(mu + sd * _cornish_fisher_tail_mean(alpha, s, k))
    if w is not None:
        raise InputError(
            "sample_weight", f"the {estimator} estimator does not take observation weights"
        )
    if estimator == "student_t":

        def one(x: np.ndarray) -> float:
            df, loc, scale = stats.t.fit(x)
            df = max(df, 2.0 + 1e-6)
            q = stats.t.ppf(alpha, df)
            if not conditional:
                return float(-(loc + scale * q))
            es_std = stats.t.pdf(q, df) / alpha * (df + q**2) / (df - 1)
            return float(-loc + scale * es_std)

        return _per_column(one, r)
    # evt: generalised Pareto above the `evt_threshold` quantile of losses (peaks over threshold)

    def one_evt(x: np.ndarray) -> float:
        losses = -x
        u = np.quantile(losses, evt_threshold)
        excess = losses[losses > u] - u
        if excess.size < 30:
            raise InputError(
                "returns",
                f"the evt estimator needs at least 30 losses above the {evt_threshold:g} quantile "
                f"(got {excess.size}); add history or lower the threshold",
            )
        xi, _, beta = stats.genpareto.fit(excess, floc=0.0)
        ratio = x.size / excess.size * alpha
        var = u + beta / xi * (ratio ** (-xi) - 1) if abs(xi) > 1e-9 else u - beta * np.log(ratio)
        if not conditional:
            return float(var)
        if xi >= 1:
            raise InputError("returns", f"the fitted tail index {xi:.2f} >= 1 has no finite ES")
        return float((var + beta - xi * u) / (1 - xi))

    return _per_column(one_evt, r)


def _tail(
    returns: Any,
    confidence: float,
    estimator: str,
    sample_weight: Any,
    conditional: bool,
    evt_threshold: float = 0.9,
) -> float | np.ndarray:
    c = check_confidence(confidence)
    if estimator not in ESTIMATORS:
        raise InputError("estimator", f"must be one of {', '.join(ESTIMATORS)} (got {estimator!r})")
    r = _as_returns(returns, min_obs=2)
    w = _weights(sample_weight, r.shape[0])
    need = int(np.ceil(1.0 / (1.0 - c) - 1e-9))
    if w is None and r.shape[0] < need:
        raise InputError(
            "returns",
            f"need at least {need} observations for a {c:g} tail (got {r.shape[0]}); "
            "add history or lower the confidence",
        )
    if estimator in ("student_t", "cornish_fisher") and (np.ptp(r, axis=0) == 0).any():
        raise InputError("returns", f"is constant; the {estimator} estimator needs variation")
    if estimator == "historical":
        out = _hist_tail(r, c, w, conditional)
    else:
        out = _parametric_tail(r, c, w, estimator, conditional, evt_threshold)
    return float(out) if np.ndim(out) == 0 else np.asarray(out)


def value_at_risk(
    returns: Any,
    confidence: float = 0.95,
    estimator: str = "historical",
    sample_weight: Any = None,
    evt_threshold: float = 0.9,
) -> float | np.ndarray:
    """VaR at `confidence`: the loss exceeded with probability at most 1 - c.

    historical: with k = (1 - c)·n, -r_(i) for i = floor(k) (0-based, 4·eps·n tolerance), as
      skfolio; weighted: the weighted empirical quantile. gaussian: -(μ + σ z_{1-c}).
    student_t: -(loc + scale·t_ν^{-1}(1-c)), (ν, loc, scale) by maximum likelihood.
    cornish_fisher: -(μ + σ z_cf), z_cf = z + (z²-1)S/6 + (z³-3z)K/24 - (2z³-5z)S²/36
      (S skew, K excess kurtosis). evt: peaks over the `evt_threshold` loss quantile u,
      GPD(ξ, β): u + β/ξ·((n/N_u·(1-c))^{-ξ} - 1).
    """
    return _tail(returns, confidence, estimator, sample_weight, False, evt_threshold)


def conditional_value_at_risk(
    returns: Any,
    confidence: float = 0.95,
    estimator: str = "historical",
    sample_weight: Any = None,
    evt_threshold: float = 0.9,
) -> float | np.ndarray:
    """CVaR / expected shortfall at `confidence`: the mean loss in the worst 1 - c of outcomes.

    historical: Rockafellar–Uryasev with the fractional tail atom, k = (1-c)·n, i = ceil(k)-1,
      -(Σ_{j<i} r_(j) + (k - i)·r_(i)) / k (equals skfolio's `cvar`, weighted too).
    gaussian: -μ + σ φ(z)/(1-c). student_t: -loc + scale·f_ν(q)/(1-c)·(ν + q²)/(ν - 1).
    cornish_fisher: -(μ + σ E[z_cf(Z) | Z < z_{1-c}]), the mean Cornish-Fisher quantile over the
      tail in closed form from the truncated normal moments (see `_cornish_fisher_tail_mean`).
    evt: (VaR + β - ξu)/(1 - ξ).
    """
    return _tail(returns, confidence, estimator, sample_weight, True, evt_threshold)


def expected_shortfall(
    returns: Any,
    confidence: float = 0.975,
    estimator: str = "historical",
    sample_weight: Any = None,
) -> float | np.ndarray:
    """ES at 97.5% by default (the FRTB level); otherwise identical to CVaR."""
    return conditional_value_at_risk(returns, confidence, estimator, sample_weight)


# -- dispersion, moments, ratios --------------------------------------------------------------
def annualized_volatility(
    returns: Any, periods_per_year: int = PERIODS_PER_YEAR, sample_weight: Any = None
) -> float | np.ndarray:
    """Standard deviation (ddof = 1) × sqrt(periods_per_year)."""
    r = _as_returns(returns, min_obs=2)
    _, sd = _moments(r, _weights(sample_weight, r.shape[0]))
    out = sd * np.sqrt(periods_per_year)
    return float(out) if np.ndim(out) == 0 else out


def annualized_mean(
    returns: Any, periods_per_year: int = PERIODS_PER_YEAR, sample_weight: Any = None
) -> float | np.ndarray:
    """Arithmetic mean periodic return × periods_per_year."""
    r = _as_returns(returns)
    mu, _ = (
        _moments(r, _weights(sample_weight, r.shape[0])) if r.shape[0] > 1 else (r.mean(axis=0), 0)
    )
    out = mu * periods_per_year
    return float(out) if np.ndim(out) == 0 else out


def semi_deviation(returns: Any) -> float | np.ndarray:
    """sqrt(Σ max(0, mean - r_t)² / (n - 1)): downside deviation below the mean (skfolio)."""
    r = _as_returns(returns, min_obs=2)
    out = np.sqrt((np.maximum(0.0, r.mean(axis=0) - r) ** 2).sum(axis=0) / (r.shape[0] - 1))
    return float(out) if np.ndim(out) == 0 else out


def skewness(returns: Any, sample_weight: Any = None) -> float | np.ndarray:
    """Population skewness m3 / m2^1.5 (skfolio convention)."""
    r = _as_returns(returns, min_obs=2)
    out = _standardized_moment(r, 3, _weights(sample_weight, r.shape[0]))
    return float(out) if np.ndim(out) == 0 else out


def kurtosis(returns: Any, sample_weight: Any = None) -> float | np.ndarray:
    """Population kurtosis m4 / m2² (3 for a normal distribution; skfolio convention)."""
    r = _as_returns(returns, min_obs=2)
    out = _standardized_moment(r, 4, _weights(sample_weight, r.shape[0]))
    return float(out) if np.ndim(out) == 0 else out


def sharpe_ratio(
    returns: Any, risk_free: Any = 0.0, periods_per_year: int = PERIODS_PER_YEAR
) -> float | np.ndarray:
    """mean(r - rf) / std(r - rf, ddof = 1) × sqrt(periods_per_year); 0 where std is 0."""
    r = _as_returns(returns, min_obs=2)
    rf = np.asarray(risk_free, dtype=float)
    excess = r - (rf[:, None] if rf.ndim == 1 and r.ndim == 2 else rf)
    sd = np.std(excess, axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(sd > 0, np.mean(excess, axis=0) / sd * np.sqrt(periods_per_year), 0.0)
    return float(out) if np.ndim(out) == 0 else out


def sortino_ratio(returns: Any, periods_per_year: int = PERIODS_PER_YEAR) -> float | np.ndarray:
    """mean(r) / sqrt(mean(min(r, 0)²)) × sqrt(periods_per_year) (empyrical/quantstats)."""
    r = _as_returns(returns, min_obs=2)
    down = np.sqrt(np.mean(np.minimum(r, 0.0) ** 2, axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(down > 0, r.mean(axis=0) / down * np.sqrt(periods_per_year), np.inf)
    return float(out) if np.ndim(out) == 0 else out


def cagr(returns: Any, periods_per_year: int = PERIODS_PER_YEAR) -> float | np.ndarray:
    """Compound annual growth: (Π(1 + r_t))^(periods_per_year / n) - 1."""
    r = _as_returns(returns)
    out = np.prod(1.0 + r, axis=0) ** (periods_per_year / r.shape[0]) - 1.0
    return float(out) if np.ndim(out) == 0 else out


# -- drawdowns --------------------------------------------------------------------------------
def drawdowns(returns: Any) -> np.ndarray:
    """Compounded drawdowns NAV_t / max(1, max_{s<=t} NAV_s) - 1 <= 0, NAV_0 = 1 (same shape)."""
    r = _as_returns(returns)
    nav = np.cumprod(1.0 + r, axis=0)
    peak = np.maximum(np.maximum.accumulate(nav, axis=0), 1.0)
    return nav / peak - 1.0


def max_drawdown(returns: Any) -> float | np.ndarray:
    """Maximum compounded drawdown (a positive loss); a loss on day one counts."""
    out = -drawdowns(returns).min(axis=0)
    return float(out) if np.ndim(out) == 0 else out


def cdar(returns: Any, confidence: float = 0.95) -> float | np.ndarray:
    """Conditional drawdown at risk: the historical CVaR of the compounded drawdowns."""
    return conditional_value_at_risk(drawdowns(returns), confidence)


def ulcer_index(returns: Any) -> float | np.ndarray:
    """sqrt(mean(drawdown_t²)) over compounded drawdowns."""
    out = np.sqrt(np.mean(drawdowns(returns) ** 2, axis=0))
    return float(out) if np.ndim(out) == 0 else out


def calmar_ratio(returns: Any, periods_per_year: int = PERIODS_PER_YEAR) -> float | np.ndarray:
    """CAGR / max drawdown (inf when there is no drawdown)."""
    g, m = cagr(returns, periods_per_year), max_drawdown(returns)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(np.asarray(m) > 0, np.asarray(g) / np.asarray(m), np.inf)
    return float(out) if np.ndim(out) == 0 else out


# -- rolling and horizon ----------------------------------------------------------------------
def rolling_tail(
    returns: Any, window: int = 250, confidence: float = 0.99, conditional: bool = False
) -> np.ndarray:
    """Historical VaR (or CVaR) over each trailing window: row t uses rows t-window+1..t;
    NaN for t < window - 1. As a forecast it applies to t + 1. Shape as `returns`."""
    c = check_confidence(confidence)
    r = _as_returns(returns, min_obs=window)
    if window < 2:
        raise InputError("window", f"must be at least 2 (got {window})")
    import pandas as pd

    x = r if r.ndim == 2 else r[:, None]
    k = (1.0 - c) * window
    i = (
        max(0, int(np.ceil(k) - 1))
        if conditional
        else min(window - 1, int(np.floor(k + 4 * _EPS * window)))
    )
    # the i-th smallest of each window (0-based), exactly: a rolling order statistic in C
    q = (i + 0.5) / (window - 1)
    v = pd.DataFrame(x).rolling(window).quantile(q, interpolation="lower").to_numpy()
    if not conditional:
        out = -v
    else:
        # Σ_{j<i} r_(j) = Σ_{x<v} x + (i - #{x<v})·v (ties included), hence
        # CVaR = -(Σ_{x<v} x + (k - #{x<v})·v)/k = -v - Σ min(x - v, 0)/k: one pass per window
        out = np.full(x.shape, np.nan)
        for j in range(x.shape[1]):  # one asset at a time keeps the temporaries in cache
            win = np.lib.stride_tricks.sliding_window_view(np.ascontiguousarray(x[:, j]), window)
            vj = v[window - 1 :, j]
            shortfall = np.minimum(win - vj[:, None], 0.0).sum(axis=1)
            out[window - 1 :, j] = -vj - shortfall / k
    return out if r.ndim == 2 else out[:, 0]


def rolling_volatility(
    returns: Any, window: int = 250, periods_per_year: int = PERIODS_PER_YEAR
) -> np.ndarray:
    """Annualised volatility (ddof = 1) over each trailing window; NaN before the first."""
    import pandas as pd

    r = _as_returns(returns, min_obs=window)
    x = r if r.ndim == 2 else r[:, None]
    out = pd.DataFrame(x).rolling(window).std(ddof=1).to_numpy() * np.sqrt(periods_per_year)
    return out if r.ndim == 2 else out[:, 0]


def scale_to_horizon(one_period_risk: Any, horizon: int) -> Any:
    """Square-root-of-time scaling: risk_h = risk_1 × sqrt(h).

    Caveat: exact only for i.i.d. zero-mean normal returns; with volatility clustering or fat
    tails it misstates multi-day risk (regulators accept it for 10-day VaR from 1-day VaR)."""
    if horizon < 1:
        raise InputError("horizon", f"must be at least 1 period (got {horizon})")
    return np.asarray(one_period_risk) * np.sqrt(horizon)


RISK_MEASURES: dict[str, Callable[..., Any]] = {
    "var": value_at_risk,
    "cvar": conditional_value_at_risk,
    "es": expected_shortfall,
    "volatility": annualized_volatility,
    "mean": annualized_mean,
    "semi_deviation": semi_deviation,
    "max_drawdown": max_drawdown,
    "cdar": cdar,
    "ulcer": ulcer_index,
    "sharpe": sharpe_ratio,
    "sortino": sortino_ratio,
    "calmar": calmar_ratio,
    "cagr": cagr,
    "skew": skewness,
    "kurtosis": kurtosis,
}
CONFIDENCE_MEASURES = ("var", "cvar", "es", "cdar")
ESTIMATOR_MEASURES = ("var", "cvar", "es")
