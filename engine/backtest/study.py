"""The allocation study: static versus regime-aware versus the baselines, in one run on the
same data, schedule, 1-day delay and costs, with the significance of the Sharpe difference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.backtest.metrics import (
    bootstrap_sharpe_difference,
    comparison_table,
    cost_sweep,
    deflated_sharpe_ratio,
    live_slice,
    sharpe_difference_test,
)
from engine.backtest.simulator import (
    BacktestResult,
    Decision,
    Strategy,
    compute_targets,
    decision_indices,
    simulate,
)
from engine.backtest.strategies import (
    MovingAverageStrategy,
    RegimeStrategy,
    RiskOffStrategy,
    StaticStrategy,
    VolTargetStrategy,
)


@dataclass
class Study:
    table: pd.DataFrame  # metric × strategy
    significance: pd.DataFrame  # dynamic strategy × (Memmel z, p, bootstrap p, deflated Sharpe)
    cost_sweep: pd.DataFrame  # cost × (dynamic, static) Sharpe
    breakeven_bps: float | None
    results: dict[str, BacktestResult]


def allocation_study(
    returns: pd.DataFrame,
    base_weights: np.ndarray,
    cash: pd.Series | None = None,
    window: int = 756,
    cost_bps: float = 10.0,
    delay: int = 1,
    seed: int = 0,
    n_boot: int = 500,
) -> Study:
    """Buy & hold, static (fixed, min-variance), regime-aware (HMM, jump), risk-off, vol
    target and 200-day MA, all deciding monthly from row `window` on."""
    dec = decision_indices(pd.DatetimeIndex(returns.index), "monthly", window)
    base = np.asarray(base_weights, dtype=float)
    strategies: dict[str, Strategy] = {
        "Static fixed": StaticStrategy(fixed=base),
        "Static min-variance": StaticStrategy("min_variance", window),
        "Dynamic HMM min-variance": RegimeStrategy(
            "hmm", 2, "min_variance", window=window, seed=seed
        ),
        "Dynamic jump min-variance": RegimeStrategy(
            "jump", 2, "min_variance", window=window, seed=seed
        ),
        "Risk-off HMM": RiskOffStrategy(base, method="hmm", window=window, seed=seed),
        "Vol target 10%": VolTargetStrategy(base, 0.10),
        "200-day MA": MovingAverageStrategy(base),
    }
    targets = {name: compute_targets(returns, s, dec) for name, s in strategies.items()}
    targets = {"Buy & hold": [(dec[0], Decision(base))], **targets}
    results = {name: simulate(returns, t, cash, delay, cost_bps) for name, t in targets.items()}
    table = comparison_table(results, cash)
    start = max(live_slice(r).start or 0 for r in results.values())
    rf = (
        np.zeros(len(returns))
        if cash is None
        else cash.reindex(returns.index).fillna(0.0).to_numpy()
    )

    def excess(name: str) -> np.ndarray:  # the table's Sharpe is over cash: so are the tests
        return results[name].returns.to_numpy()[start:] - rf[start:]

    ref = excess("Static min-variance")
    dynamic = ["Dynamic HMM min-variance", "Dynamic jump min-variance", "Risk-off HMM"]
    per_period = [float(np.mean(excess(n)) / np.std(excess(n), ddof=1)) for n in dynamic]
    sharpe = {
        k: float(v)
        for k, v in zip(table.columns, table.loc["Sharpe"].to_numpy(dtype=float), strict=True)
    }
    sig_rows = {}
    for name in dynamic:
        r = excess(name)
        z, p = sharpe_difference_test(r, ref)
        sig_rows[name] = {
            "Sharpe diff vs static min-var": float(sharpe[name] - sharpe["Static min-variance"]),
            "Memmel z": z,
            "Memmel p": p,
            "Bootstrap p": bootstrap_sharpe_difference(r, ref, n_boot=n_boot, seed=seed),
            "Deflated Sharpe (3 trials)": deflated_sharpe_ratio(
                r, len(dynamic), float(np.var(per_period, ddof=1))
            ),
        }
    sweep, breakeven = cost_sweep(
        returns,
        {
            "Dynamic HMM min-variance": targets["Dynamic HMM min-variance"],
            "Static min-variance": targets["Static min-variance"],
        },
        (0, 5, 10, 25, 50),
        cash,
        delay,
    )
    return Study(table, pd.DataFrame(sig_rows).T, sweep, breakeven, results)
