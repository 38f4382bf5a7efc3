"""Walk-forward portfolio simulator: timing-safe by construction.

At each decision date d the strategy sees `returns.iloc[: d + 1]` only (it cannot read the
future: it is never given it). Its target weights are traded at the close of d + delay
(delay >= 1) and earn from the next period on. Between trades, weights drift with prices.
Costs: `cost_bps` one way on |Δw| of NAV plus `fixed_fee` (in NAV units, NAV starts at 1) per
rebalance that trades. Any weight not invested (1 - Σw) is cash earning the cash rate.

Accounting per period t (weights w_{t-1} held from the close of t-1):
    gross_t = Σ_i w_{t-1,i} r_{t,i} + (1 - Σ_i w_{t-1,i}) rf_t
    NAV_t = NAV_{t-1} (1 + gross_t) - cost_t,   cost_t = NAV_{t-1}(1+gross_t)·bp·Σ|Δw| + fee
    drifted w_t = w_{t-1} ⊙ (1 + r_t) / (1 + gross_t), then replaced by the target on a trade day.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import InputError

REBALANCE = ("daily", "weekly", "monthly", "quarterly", "regime_change")


@dataclass(frozen=True)
class Decision:
    """What a strategy returns at a decision date."""

    weights: np.ndarray  # target weights (n_assets,); 1 - sum is cash
    regime: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


Strategy = Callable[[pd.DataFrame], Decision]


@dataclass
class BacktestResult:
    nav: pd.Series
    returns: pd.Series  # net periodic returns
    weights: pd.DataFrame  # end-of-period weights (after any trade that day)
    turnover: pd.Series  # Σ|Δw| traded each period
    costs: pd.Series  # cost paid each period, in NAV units
    regime: pd.Series  # regime label in force (from the last executed decision)
    audit: pd.DataFrame  # one row per decision: dates, data range used, targets, regime
    targets: list[tuple[int, Decision]] = field(repr=False, default_factory=list)


def decision_indices(index: pd.DatetimeIndex, rebalance: str, start: int) -> list[int]:
    """Rows (>= start) that are the last trading day of each day/week/month/quarter."""
    if rebalance not in REBALANCE:
        raise InputError("rebalance", f"must be one of {', '.join(REBALANCE)} (got {rebalance!r})")
    if rebalance in ("daily", "regime_change"):  # regime_change: decide daily, trade on changes
        return list(range(start, len(index)))
    freq = {"weekly": "W", "monthly": "M", "quarterly": "Q"}[rebalance]
    periods = index.to_period(freq)
    last = np.r_[periods[1:] != periods[:-1], True]
    return [int(i) for i in np.flatnonzero(last) if i >= start]


def compute_targets(
    returns: pd.DataFrame, strategy: Strategy, decisions: Sequence[int]
) -> list[tuple[int, Decision]]:
    """Run the strategy at each decision row on the history up to and including that row."""
    out = []
    for d in decisions:
        dec = strategy(returns.iloc[: d + 1])
        w = np.asarray(dec.weights, dtype=float)
        if w.shape != (returns.shape[1],) or not np.isfinite(w).all():
            raise RuntimeError(f"strategy returned weights of shape {w.shape} at row {d}")
        out.append((d, Decision(w, dec.regime, dec.info)))
    return out


def on_regime_change(targets: Sequence[tuple[int, Decision]]) -> list[tuple[int, Decision]]:
    """Keep the first decision and those whose regime differs from the last one kept."""
    kept: list[tuple[int, Decision]] = []
    for d, dec in targets:
        if not kept or dec.regime != kept[-1][1].regime:
            kept.append((d, dec))
    return kept


def simulate(
    returns: pd.DataFrame,
    targets: Sequence[tuple[int, Decision]],
    cash: pd.Series | None = None,
    delay: int = 1,
    cost_bps: float = 10.0,
    fixed_fee: float = 0.0,
    band: float | None = None,
    initial: np.ndarray | None = None,
) -> BacktestResult:
    """Simulate precomputed decisions (cheap: a cost sweep re-uses the same decisions).

    `band`: trade only when max_i |drifted w_i - target_i| > band (threshold rebalancing).
    `initial`: weights held from the first row (default: all cash until the first trade).
    """
    if delay < 1:
        raise InputError(
            "delay", f"must be at least 1 (got {delay}): a decision cannot trade at its own close"
        )
    R = returns.to_numpy(dtype=float)
    n, m = R.shape
    rf = (
        np.zeros(n)
        if cash is None
        else cash.reindex(returns.index).fillna(0.0).to_numpy(dtype=float)
    )
    exec_at: dict[int, Decision] = {}
    for d, dec in targets:
        if d + delay < n:
            exec_at[d + delay] = dec  # a later decision for the same day replaces an earlier one
    w = np.zeros(m) if initial is None else np.asarray(initial, dtype=float).copy()
    nav = 1.0
    navs, rets, tos, costs = np.empty(n), np.empty(n), np.zeros(n), np.zeros(n)
    W = np.empty((n, m))
    regime: list[str | None] = [None] * n
    current_regime: str | None = None
    for t in range(n):
        gross = w @ R[t] + (1.0 - w.sum()) * rf[t]
        value = nav * (1.0 + gross)
        if 1.0 + gross > 0:
            w = w * (1.0 + R[t]) / (1.0 + gross)
        todo = exec_at.get(t)
        cost = 0.0
        if todo is not None:
            current_regime = todo.regime
            trade = todo.weights - w
            if band is None or np.abs(trade).max() > band:
                to = np.abs(trade).sum()
                if to > 0:
                    cost = value * to * cost_bps / 1e4 + fixed_fee
                    tos[t] = to
                w = todo.weights.copy()
        new_nav = value - cost
        rets[t] = new_nav / nav - 1.0
        nav = new_nav
        navs[t], costs[t] = nav, cost
        W[t] = w
        regime[t] = current_regime
    idx = returns.index
    audit = pd.DataFrame(
        [
            {
                "decision_date": idx[d],
                "execution_date": idx[d + delay] if d + delay < n else pd.NaT,
                "data_start": dec.info.get("data_start", idx[0]),
                "data_end": idx[d],
                "regime": dec.regime,
                **{
                    f"target {a}": float(x)
                    for a, x in zip(returns.columns, dec.weights, strict=True)
                },
                **{k: v for k, v in dec.info.items() if k != "data_start"},
            }
            for d, dec in targets
        ]
    )
    return BacktestResult(
        nav=pd.Series(navs, idx, name="NAV"),
        returns=pd.Series(rets, idx, name="return"),
        weights=pd.DataFrame(W, idx, returns.columns),
        turnover=pd.Series(tos, idx, name="turnover"),
        costs=pd.Series(costs, idx, name="costs"),
        regime=pd.Series(regime, idx, name="regime", dtype=object),
        audit=audit,
        targets=list(targets),
    )


def run_backtest(
    returns: pd.DataFrame,
    strategy: Strategy,
    rebalance: str = "monthly",
    start: int = 252,
    cash: pd.Series | None = None,
    delay: int = 1,
    cost_bps: float = 10.0,
    fixed_fee: float = 0.0,
    band: float | None = None,
) -> BacktestResult:
    """Decide on the schedule from row `start` on, then simulate. Rows before the first
    execution hold cash, so every strategy is compared on the same dates."""
    if start < 1 or start >= len(returns) - delay:
        raise InputError("start", f"must leave history before and days after it (got {start})")
    decisions = decision_indices(pd.DatetimeIndex(returns.index), rebalance, start)
    targets = compute_targets(returns, strategy, decisions)
    if rebalance == "regime_change":
        targets = on_regime_change(targets)
    return simulate(returns, targets, cash, delay, cost_bps, fixed_fee, band)
