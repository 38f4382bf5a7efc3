"""Benchmark: the risk engine beside skfolio and quantstats computing the same figures.

Data: the research note's 10 assets × 8,000 days (shared/research/risk.md §4). Median of 5 runs.
Run: .venv/bin/python benchmarks/bench_risk.py
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from engine.risk import (
    annualized_volatility,
    cagr,
    calmar_ratio,
    cdar,
    conditional_value_at_risk,
    kurtosis,
    max_drawdown,
    rolling_tail,
    rolling_volatility,
    semi_deviation,
    sharpe_ratio,
    skewness,
    sortino_ratio,
    state_risk_table,
    ulcer_index,
    value_at_risk,
)


def panel() -> np.ndarray:
    from engine.data.simulate import research_note_panel

    return research_note_panel()


def median_ms(fn: Callable[[], object], repeat: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> None:
    import quantstats as qs
    import skfolio.measures as skm

    warnings.simplefilter("ignore")
    X = panel()
    df = pd.DataFrame(X, index=pd.bdate_range("1995-01-02", periods=8000))

    def ours_full() -> None:
        value_at_risk(X, 0.95), value_at_risk(X, 0.99), conditional_value_at_risk(X, 0.95)
        conditional_value_at_risk(X, 0.975), annualized_volatility(X), semi_deviation(X)
        max_drawdown(X), cdar(X, 0.95), ulcer_index(X), sharpe_ratio(X), sortino_ratio(X)
        calmar_ratio(X), cagr(X), skewness(X), kurtosis(X)

    def skfolio_full() -> None:
        (
            skm.value_at_risk(X, 0.95),
            skm.value_at_risk(X, 0.99),
            skm.cvar(X, 0.95),
            skm.cvar(X, 0.975),
        )
        skm.standard_deviation(X), skm.semi_deviation(X)
        dd = skm.get_drawdowns(X, compounded=True)
        -dd.min(axis=0), skm.cdar(dd, 0.95), skm.ulcer_index(dd)
        skm.mean(X) / skm.standard_deviation(X), skm.skew(X), skm.kurtosis(X)

    def quantstats_full() -> None:
        for c in df.columns:
            s = df[c]
            qs.stats.var(s), qs.stats.cvar(s), qs.stats.volatility(s), qs.stats.max_drawdown(s)
            qs.stats.ulcer_index(s), qs.stats.sharpe(s), qs.stats.sortino(s), qs.stats.calmar(s)
            qs.stats.cagr(s), qs.stats.skew(s), qs.stats.kurtosis(s)

    rows = [
        (
            "full metric set, 10 × 8,000 (15 measures)",
            median_ms(ours_full),
            median_ms(skfolio_full),
            median_ms(quantstats_full, 3),
        )
    ]

    def ours_rolling() -> None:
        rolling_tail(X, 250, 0.99), rolling_tail(X, 250, 0.975, conditional=True)
        rolling_volatility(X, 250)

    def skfolio_rolling() -> None:  # skfolio has no rolling API: its measures window by window
        win = np.lib.stride_tricks.sliding_window_view(X, 250, axis=0)
        for t in range(win.shape[0]):
            w = win[t].T
            skm.value_at_risk(w, 0.99), skm.cvar(w, 0.975), skm.standard_deviation(w)

    def quantstats_rolling() -> None:  # quantstats has rolling vol only: + pandas VaR, no ES
        qs.stats.rolling_volatility(df, rolling_period=250)
        df.rolling(250).quantile(0.01)

    rows.append(
        (
            "rolling 250-day VaR99 + ES97.5 + vol, 10 assets",
            median_ms(ours_rolling),
            median_ms(skfolio_rolling, 1),
            median_ms(quantstats_rolling, 3),
        )
    )
    port = X.mean(axis=1)
    states = (np.abs(port) > 0.012).astype(int)  # a fixed labelling to time the per-state set

    def ours_state() -> None:
        state_risk_table(port, states, ["Calm", "Turbulent"], 0.95)

    def skfolio_state() -> None:
        for k in (0, 1):
            w = (states == k).astype(float)
            (
                skm.mean(port, sample_weight=w / w.sum()),
                skm.standard_deviation(port, sample_weight=w / w.sum()),
            )
            (
                skm.value_at_risk(port, 0.95, sample_weight=w / w.sum()),
                skm.cvar(port, 0.95, sample_weight=w / w.sum()),
            )
            skm.get_drawdowns(port[states == k], compounded=True).min()

    def quantstats_state() -> None:
        s = pd.Series(port, index=df.index)
        for k in (0, 1):
            x = s[states == k]
            (
                x.mean(),
                qs.stats.volatility(x),
                qs.stats.var(x),
                qs.stats.cvar(x),
                qs.stats.max_drawdown(x),
            )

    rows.append(
        (
            "per-state set, 2 states (n, mean, vol, VaR, CVaR, MDD)",
            median_ms(ours_state),
            median_ms(skfolio_state),
            median_ms(quantstats_state),
        )
    )
    print(f"{'figure set':<58}{'engine':>10}{'skfolio':>10}{'quantstats':>12}")
    for name, a, b, c in rows:
        print(f"{name:<58}{a:9.1f}ms{b:9.1f}ms{c:11.1f}ms")


if __name__ == "__main__":
    main()
