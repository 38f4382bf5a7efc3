"""The causality self-check: re-run a strategy on a truncated history; every decision up to
the cut must be identical to the full run's. A strategy that reads the future fails it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from engine.backtest.simulator import Strategy, compute_targets, decision_indices


def causality_self_check(
    returns: pd.DataFrame,
    make_strategy: Callable[[pd.DataFrame], Strategy],
    cut: int,
    rebalance: str = "monthly",
    start: int = 252,
) -> tuple[bool, int]:
    """(passed, number of decisions compared) for a fresh strategy built on, and run over,
    rows [0, cut) versus all rows. `make_strategy(data)` receives the data it will run on, so a
    strategy that precomputes anything on its whole sample (a full-sample fit, a full-sample
    mean) is caught. The truncated run's decision on its own last row ("today") has no twin."""
    idx = pd.DatetimeIndex(returns.index)
    full = dict(
        compute_targets(returns, make_strategy(returns), decision_indices(idx, rebalance, start))
    )
    head = returns.iloc[:cut]
    short = compute_targets(
        head, make_strategy(head), decision_indices(idx[:cut], rebalance, start)
    )
    compared = 0
    for d, dec in short:
        if d not in full:
            continue
        compared += 1
        if not np.array_equal(dec.weights, full[d].weights) or dec.regime != full[d].regime:
            return False, compared
    return True, compared
