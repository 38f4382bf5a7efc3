"""VaR backtests: exceptions, Kupiec, Christoffersen, Basel traffic light, UCITS, Acerbi–Székely.

Notation: n observations, x exceptions, p = 1 - confidence. Exception at t: loss_t = -r_t
exceeds the VaR forecast made at t - 1. 0·ln 0 = 0 throughout.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from engine.errors import InputError
from engine.risk.measures import check_confidence, rolling_tail

# BCBS (1996) Table 2 / CRR Art. 366: plus factor by exceptions in 250 days (>= 10: 1.00)
BASEL_PLUS_FACTOR = {5: 0.40, 6: 0.50, 7: 0.65, 8: 0.75, 9: 0.85}


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * np.log(y)


def kupiec_pof(n: int, x: int, p: float) -> tuple[float, float]:
    """Kupiec proportion of failures: LR = -2[(n-x)ln(1-p) + x ln p - (n-x)ln(1-x/n) - x ln(x/n)]
    ~ χ²(1). Returns (LR, p-value)."""
    if n <= 0 or not 0 <= x <= n:
        raise InputError("exceptions", f"need 0 <= x <= n and n > 0 (got x={x}, n={n})")
    ph = x / n
    lr = -2 * (_xlogy(n - x, 1 - p) + _xlogy(x, p) - _xlogy(n - x, 1 - ph) - _xlogy(x, ph))
    lr = max(lr, 0.0)
    return lr, float(stats.chi2.sf(lr, 1))


def christoffersen_independence(hits: np.ndarray) -> tuple[float, float]:
    """Christoffersen (1998) independence of the hit sequence: first-order Markov vs i.i.d.
    LR = -2[ln L(π) - ln L(π01, π11)] ~ χ²(1). Returns (LR, p-value)."""
    h = np.asarray(hits, dtype=int)
    if h.size < 2:
        raise InputError("hits", "need at least two observations")
    prev, cur = h[:-1], h[1:]
    n00 = int(((prev == 0) & (cur == 0)).sum())
    n01 = int(((prev == 0) & (cur == 1)).sum())
    n10 = int(((prev == 1) & (cur == 0)).sum())
    n11 = int(((prev == 1) & (cur == 1)).sum())
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    l0 = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    l1 = _xlogy(n00, 1 - pi01) + _xlogy(n01, pi01) + _xlogy(n10, 1 - pi11) + _xlogy(n11, pi11)
    lr = max(-2 * (l0 - l1), 0.0)
    return lr, float(stats.chi2.sf(lr, 1))


def basel_traffic_light(exceptions: int, n: int = 250, p: float = 0.01) -> tuple[str, float, float]:
    """(zone, plus factor, cumulative probability) for x exceptions in n days at 99%.

    Green while P(X <= x) < 95%, red from 99.99%, yellow between (BCBS 1996)."""
    cum = float(stats.binom.cdf(exceptions, n, p))
    if cum < 0.95:
        return "green", 0.0, cum
    if cum < 0.9999:
        return "yellow", BASEL_PLUS_FACTOR.get(exceptions, 0.85), cum
    return "red", 1.0, cum


def acerbi_szekely_z2(returns: np.ndarray, var: np.ndarray, es: np.ndarray, alpha: float) -> float:
    """Z2 = Σ_t r_t I_t / (T α ES_t) + 1, I_t = 1{-r_t > VaR_t}: 0 when ES is right, negative
    when it understates the tail (Acerbi and Székely 2014: about -0.70 at 5% significance)."""
    r, v, e = (np.asarray(a, dtype=float) for a in (returns, var, es))
    hits = -r > v
    return float((r * hits / (r.size * alpha * e)).sum() + 1.0)


@dataclass(frozen=True)
class VarBacktest:
    observations: int
    exceptions: int
    expected: float
    kupiec_lr: float
    kupiec_p: float
    christoffersen_lr: float
    christoffersen_p: float
    conditional_coverage_lr: float
    conditional_coverage_p: float
    basel_exceptions_250: int
    basel_zone: str
    basel_plus_factor: float
    ucits_overshootings_250: int
    ucits_flag: bool
    z2: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def backtest_var(
    returns: np.ndarray,
    confidence: float = 0.99,
    window: int = 250,
    regulatory_confidence: float = 0.99,
    regulatory_window: int = 250,
) -> tuple[VarBacktest, np.ndarray, np.ndarray]:
    """Rolling historical VaR (window ending at t-1) against the return at t, for one series.

    Returns the summary, the VaR forecasts (NaN before the first) and the 0/1 hit series.
    The coverage tests (Kupiec, Christoffersen, Z2) are at `confidence`. The Basel traffic
    light and the UCITS overshootings are defined on the 99% one-day VaR: they count the
    exceptions of a VaR at `regulatory_confidence` over the last `regulatory_window` forecast
    days, whatever `confidence` is (a 97.5% VaR's exceptions judged by the 99% table would
    put every portfolio in the red).
    """
    c = check_confidence(confidence)
    r = np.asarray(returns, dtype=float).ravel()
    if r.size < window + 20:
        raise InputError(
            "returns", f"need at least {window + 20} observations for a {window}-day window"
        )
    var = np.full(r.size, np.nan)
    es = np.full(r.size, np.nan)
    var[1:] = rolling_tail(r, window, c)[:-1]
    es[1:] = rolling_tail(r, window, c, conditional=True)[:-1]
    live = np.isfinite(var)
    rr, vv, ee = r[live], var[live], es[live]
    hits = (-rr > vv).astype(int)
    n, x = hits.size, int(hits.sum())
    p = 1.0 - c
    lr_pof, p_pof = kupiec_pof(n, x, p)
    lr_ind, p_ind = christoffersen_independence(hits)
    lr_cc = lr_pof + lr_ind
    reg_c = check_confidence(regulatory_confidence)
    if reg_c == c:
        reg_hits = hits
    else:
        reg_var = rolling_tail(r, window, reg_c)[:-1][live[1:]]
        reg_hits = (-rr > reg_var).astype(int)
    last = reg_hits[-regulatory_window:]
    zone, plus, _ = basel_traffic_light(int(last.sum()), last.size, 1.0 - reg_c)
    summary = VarBacktest(
        observations=n,
        exceptions=x,
        expected=n * p,
        kupiec_lr=lr_pof,
        kupiec_p=p_pof,
        christoffersen_lr=lr_ind,
        christoffersen_p=p_ind,
        conditional_coverage_lr=lr_cc,
        conditional_coverage_p=float(stats.chi2.sf(lr_cc, 2)),
        basel_exceptions_250=int(last.sum()),
        basel_zone=zone,
        basel_plus_factor=plus,
        ucits_overshootings_250=int(last.sum()),
        ucits_flag=bool(last.sum() > 4),
        z2=acerbi_szekely_z2(rr, vv, ee, p),
    )
    hit_series = np.full(r.size, np.nan)
    hit_series[live] = hits
    return summary, var, hit_series


def ucits_utilisation(
    var_1d: float,
    var_confidence: float,
    horizon: int = 20,
    confidence: float = 0.99,
    limit: float = 0.20,
) -> float:
    """Share of the UCITS absolute-VaR limit used: the 1-day VaR at `var_confidence` rescaled to
    the limit's horizon (√t) and confidence (normal quantiles), over the limit (CESR/10-788)."""
    z = stats.norm.ppf(confidence) / stats.norm.ppf(var_confidence)
    return float(var_1d * np.sqrt(horizon) * z / limit)
