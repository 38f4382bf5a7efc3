"""Benchmark: HMM fit on the S&P 500 1990-2022 and cold vs cached REGIME_PROB.

Run: python3.12 dev.py bench   (or .venv/bin/python benchmarks/bench_regimes.py)
Prints median wall times over `--repeat` runs; the plain hmmlearn fit is timed in the same
process for comparison (one initialisation, same tolerance, percent returns).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np

import xlfuncs
from engine.data import align_prices, load_sample_prices, prices_to_returns
from engine.regimes import FIT_CACHE, GaussianHMMDetector


def timed(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    prices, _ = align_prices(load_sample_prices(["SP500"], start="1990-01-01"))
    returns = prices_to_returns(prices)
    X = returns.to_numpy()
    print(
        f"S&P 500 daily returns {returns.index[0]:%Y-%m-%d}.."
        f"{returns.index[-1]:%Y-%m-%d}, n={len(X)}"
    )
    rows = []
    for k in (2, 3):
        det_time = timed(lambda k=k: GaussianHMMDetector(k, n_init=4).fit(X), args.repeat)

        def plain(k: int = k) -> None:
            from hmmlearn.hmm import GaussianHMM

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                GaussianHMM(k, "full", n_iter=1000, tol=1e-4, random_state=0).fit(X * 100)

        rows.append((f"HMM fit K={k}, 4 inits (engine)", det_time))
        rows.append((f"hmmlearn GaussianHMM.fit K={k}, 1 init", timed(plain, args.repeat)))
    det = GaussianHMMDetector(2).fit(X)
    rows.append(("forward filter, 8,312 rows", timed(lambda: det.predict_proba_filtered(X), 20)))
    epoch = np.datetime64("1899-12-30")
    serials = ((returns.index.to_numpy() - epoch) / np.timedelta64(1, "D")).tolist()
    excel = [["Date", "SP500"], *([d, r] for d, r in zip(serials, X[:, 0].tolist(), strict=True))]
    cold = []
    for _ in range(args.repeat):
        FIT_CACHE.clear()
        t0 = time.perf_counter()
        xlfuncs.regime_prob(excel)
        cold.append(time.perf_counter() - t0)
    rows.append(("REGIME_PROB cold (parse + fit + filter)", statistics.median(cold)))
    rows.append(("REGIME_PROB cached second call", timed(lambda: xlfuncs.regime_prob(excel), 10)))
    width = max(len(r[0]) for r in rows)
    for name, seconds in rows:
        print(f"{name:<{width}}  {seconds * 1000:10.1f} ms")
    print(f"fit cache: {FIT_CACHE.stats.hits} hits, {FIT_CACHE.stats.misses} misses")


if __name__ == "__main__":
    main()
