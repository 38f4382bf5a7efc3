"""Issue 13 (b) and (c) on real data: the bundled VIX beside the bundled S&P 500.

(b) Episode timing. Each feature detector, 2 states, fitted on the S&P 500's returns over the
    VIX's span, with the default volatility features, then with the VIX level added. Filtered
    (forward-only) states. For each volatility episode (2015-08-20, the devaluation sell-off;
    2018-02-02, the volatility spike), the first turbulent day within 30 trading days of its
    start and the lag in trading days; "-" when none.
(c) Walk-forward allocation. compare_static_dynamic on SP500, JNJ, XOM and WTI over the VIX span
    with the jump detector, same costs (10 bps), monthly decisions, delay 1, 504-day window, refit
    every 21 days; the dynamic leg without and with VIX level and 5-day change. Sharpe ratios
    of both dynamic legs on their common days and the Jobson-Korkie-Memmel test of the
    difference.

Run: .venv/bin/python scripts/exogenous_real_data.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd

from engine.backtest.compare import compare_static_dynamic
from engine.backtest.metrics import live_slice, sharpe_difference_test
from engine.data import align_exogenous, align_prices, load_sample_prices, prices_to_returns
from engine.data.sample import load_sample_levels
from engine.features import VOLATILITY_FEATURES, FeatureSpec
from engine.regimes import fit_regimes
from engine.regimes.base import hard_states

VIX = "VIX"
METHODS = ("hmm", "jump", "gmm", "kmeans", "supervised", "neural")
EPISODES = {"2015-08 sell-off": "2015-08-20", "2018-02 volatility spike": "2018-02-02"}
WITH_VIX = (*VOLATILITY_FEATURES, FeatureSpec("level", series=VIX))
BACKTEST_VIX = (*WITH_VIX, FeatureSpec("change", 5, VIX))


def data(columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = load_sample_levels([VIX]).dropna()
    prices, _ = align_prices(load_sample_prices(columns))
    returns = prices_to_returns(prices)
    returns = returns.loc[raw.index[0] : raw.index[-1]]
    exo, _ = align_exogenous(raw, pd.DatetimeIndex(returns.index))
    return returns, exo


def timing(states: np.ndarray, index: pd.DatetimeIndex, start: str) -> str:
    """Entry into a lasting turbulent spell around the episode (10 trading days before its start
    to 30 after; at least 5 turbulent days in a row, so one-day blips do not count): its date,
    the offset in trading days, and the first calm day after it."""
    i0 = int(index.searchsorted(pd.Timestamp(start)))
    for i in range(max(i0 - 10, 1), min(i0 + 30, len(states))):
        if states[i - 1] == 0 and (states[i : i + 5] >= 1).all():
            calm = np.flatnonzero(states[i:] == 0)
            out = f"{index[i + calm[0]]:%Y-%m-%d}" if calm.size else "end"
            return f"{index[i]:%Y-%m-%d} ({i - i0:+d}), calm {out}"
    if (states[max(i0 - 10, 0) : i0 + 30] >= 1).all():
        return "turbulent throughout"
    return "-"


def episodes() -> None:
    returns, exo = data(["SP500"])
    span = f"{returns.index[0]:%Y-%m-%d}..{returns.index[-1]:%Y-%m-%d}"
    print(f"(b) S&P 500 {span}, {len(returns)} days")
    cols = [f"{e}: {s}" for e, s in EPISODES.items() for s in ("without", "with VIX")]
    cols.append("turbulent days (without / with)")
    print("| detector | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for m in METHODS:
        plain = fit_regimes(returns, 2, m, features=VOLATILITY_FEATURES)
        vix = fit_regimes(returns, 2, m, exogenous=exo, features=WITH_VIX)
        cells = []
        for start in EPISODES.values():
            for r in (plain, vix):
                cells.append(timing(hard_states(r.filtered.to_numpy()), returns.index, start))
        share = [f"{np.mean(hard_states(r.filtered.to_numpy()) >= 1):.0%}" for r in (plain, vix)]
        print(f"| {m} | " + " | ".join(cells) + f" | {' / '.join(share)} |")


def walk_forward() -> None:
    # the bundled bond series is a proxy ending 2017-03 (docs/data.md): four real series that
    # cover the VIX's 2014-2019 span instead
    columns = ["SP500", "JNJ", "XOM", "WTI"]
    returns, exo = data(columns)
    kw = {
        "objective": "min_variance",
        "cost_bps": 10.0,
        "rebalance": "monthly",
        "delay": 1,
        "n_states": 2,
        "method": "jump",
        "window": 504,
    }
    plain = compare_static_dynamic(returns, detector_params={"features": VOLATILITY_FEATURES}, **kw)
    vix = compare_static_dynamic(
        returns, detector_params={"features": BACKTEST_VIX}, exogenous=exo, **kw
    )
    a, b = plain.dynamic.returns, vix.dynamic.returns
    # both legs from the later of their first trades: the same days for both
    first = max(a.index[live_slice(plain.dynamic)][0], b.index[live_slice(vix.dynamic)][0])
    live = a.index[a.index >= first]
    ra, rb = a.loc[live].to_numpy(), b.loc[live].to_numpy()
    z, p = sharpe_difference_test(rb, ra)
    ann = np.sqrt(252)
    print(f"\n(c) {', '.join(columns)}, {live[0]:%Y-%m-%d}..{live[-1]:%Y-%m-%d} ({len(live)} days)")
    print("| dynamic leg | Sharpe (ann.) | ann. return | ann. vol |\n|---|---|---|---|")
    for name, r in (("without VIX", ra), ("with VIX", rb)):
        print(
            f"| {name} | {r.mean() / r.std(ddof=1) * ann:.3f} | {r.mean() * 252:.2%} | "
            f"{r.std(ddof=1) * ann:.2%} |"
        )
    print(f"difference (with - without): z = {z:.2f}, p = {p:.3f} (Jobson-Korkie-Memmel)")


if __name__ == "__main__":
    episodes()
    walk_forward()
