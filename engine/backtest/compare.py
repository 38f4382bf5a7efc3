"""Static versus regime-aware allocation in one run: same data, schedule, delay and costs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.backtest.metrics import comparison_table
from engine.backtest.simulator import BacktestResult, compute_targets, decision_indices, simulate
from engine.backtest.strategies import RegimeStrategy, StaticStrategy
from engine.cache import ContentCache, content_key
from engine.errors import InputError

BACKTEST_CACHE = ContentCache(maxsize=16)


@dataclass
class Comparison:
    static: BacktestResult
    dynamic: BacktestResult
    table: pd.DataFrame  # metric × (static, dynamic), common live period


REFIT_EVERY = 21  # rows between refits of the regime-aware strategy's detector (monthly)


def compare_static_dynamic(
    returns: pd.DataFrame,
    static_weights: np.ndarray | None = None,
    objective: str = "min_variance",
    cost_bps: float = 10.0,
    rebalance: str = "monthly",
    delay: int = 1,
    n_states: int = 2,
    method: str = "hmm",
    seed: int = 0,
    window: int | None = None,
    max_weight: float = 1.0,
    cash: pd.Series | None = None,
    detector_params: Mapping[str, Any] | None = None,
    exogenous: pd.DataFrame | None = None,
) -> Comparison:
    """Both strategies decide on the same schedule from the same first date (after `window`
    rows of history, default min(756, n/3)) and trade with the same delay and costs. The
    dynamic strategy's detector takes `detector_params` (e.g. jump_penalty, features), the
    same settings as the regimes reported beside it, and reads `exogenous` (dates × series on
    the returns' dates, each value known at its date) through them. Cached by content."""
    params = dict(detector_params or {})
    n = len(returns)
    win = window or min(756, n // 3)
    if win < 120:
        raise InputError("returns", f"need at least 360 rows for a backtest (got {n})")
    key = content_key(
        "compare",
        returns,
        static_weights,
        objective,
        cost_bps,
        rebalance,
        delay,
        n_states,
        method,
        seed,
        win,
        max_weight,
        cash,
        sorted(params.items()),
        exogenous,
    )

    def compute() -> Comparison:
        dec = decision_indices(pd.DatetimeIndex(returns.index), rebalance, win)
        static = StaticStrategy(objective, win, max_weight, fixed=static_weights)
        dynamic = RegimeStrategy(
            method,
            n_states,
            objective,
            window=win,
            refit_every=REFIT_EVERY,
            max_weight=max_weight,
            seed=seed,
            detector_params=params,
            exogenous=exogenous,
        )
        s = simulate(returns, compute_targets(returns, static, dec), cash, delay, cost_bps)
        d = simulate(returns, compute_targets(returns, dynamic, dec), cash, delay, cost_bps)
        return Comparison(s, d, comparison_table({"Static": s, "Dynamic": d}, cash))

    result: Comparison = BACKTEST_CACHE.get_or_compute(key, compute)
    return result
