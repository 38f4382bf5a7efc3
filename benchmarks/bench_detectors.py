"""Benchmark: fit time of every detector on 8,000 daily S&P 500 returns, each beside the plain
library call it wraps, and a 1990-2022 walk-forward HMM with monthly refits.

Run: .venv/bin/python benchmarks/bench_detectors.py  (about 4 minutes on 2 cores)
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from engine.data import align_prices, load_sample_prices, prices_to_returns
from engine.features import (
    SHU_YU_MULVEY_FEATURES,
    VOLATILITY_FEATURES,
    FeatureScaler,
    compute_features,
    warmup_periods,
)
from engine.regimes import DETECTORS, GaussianHMMDetector
from engine.regimes.walkforward import walk_forward


def seconds(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn()
    return time.perf_counter() - t0


def scaled(x: np.ndarray, specs: tuple) -> np.ndarray:  # type: ignore[type-arg]
    F = compute_features(pd.Series(x), specs).to_numpy()[warmup_periods(specs) :]
    return FeatureScaler().fit(F).transform(F)


def main() -> None:
    prices, _ = align_prices(load_sample_prices(["SP500"], start="1950-01-01"))
    returns = prices_to_returns(prices)
    X = returns.to_numpy()[-8000:]
    x = X[:, 0]
    Zv = scaled(x, VOLATILITY_FEATURES)
    print(f"fit on 8,000 daily S&P 500 returns ending {returns.index[-1]:%Y-%m-%d}, K = 2")

    from hmmlearn.hmm import GaussianHMM
    from jumpmodels.jump import JumpModel
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    plain = {
        "hmm": (
            "hmmlearn GaussianHMM, 1 init",
            lambda: GaussianHMM(2, "full", n_iter=1000, tol=1e-4, random_state=0).fit(X * 100),
        ),
        "jump": (
            "jumpmodels JumpModel, 10 inits",
            lambda: JumpModel(2, jump_penalty=2.0, n_init=10).fit(Zv),
        ),
        "gmm": (
            "sklearn GaussianMixture, 4 inits",
            lambda: GaussianMixture(2, n_init=4, random_state=0).fit(Zv),
        ),
        "kmeans": (
            "sklearn KMeans, 10 inits",
            lambda: KMeans(2, n_init=10, random_state=0).fit(Zv),
        ),
        "markov_switching": (
            "statsmodels MarkovRegression",
            lambda: MarkovRegression(x * 100, k_regimes=2, switching_variance=True).fit(disp=False),
        ),
        "supervised": ("(no plain equivalent)", None),
        "neural": ("(no plain equivalent)", None),
    }
    print(f"{'detector':<18}{'engine fit':>12}   {'plain call':<34}{'time':>8}")
    for name, cls in DETECTORS.items():
        ours = seconds(lambda cls=cls: cls(n_states=2).fit(X))
        label, fn = plain[name]
        ref = f"{seconds(fn):8.2f}s" if fn else "       -"
        print(f"{name:<18}{ours:11.2f}s   {label:<34}{ref}")
    print("(engine: hmm 4 inits + forward filter; jump 10 inits, features computed inside)")
    zs = scaled(x, SHU_YU_MULVEY_FEATURES)
    print(
        "jumpmodels with the Shu-Yu-Mulvey features, lambda 50: "
        f"{seconds(lambda: JumpModel(2, jump_penalty=50.0).fit(zs)):.2f}s"
    )

    r = returns.loc["1980-01-01":]
    for n_init, how in ((1, "warm start only"), (2, "warm start + 1 fresh init")):
        t0 = time.perf_counter()
        wf = walk_forward(
            r, lambda n=n_init: GaussianHMMDetector(2, n_init=n), train_window=2520, refit_every=21
        )
        engine_wf = time.perf_counter() - t0
        oos = wf.probabilities.dropna()
        print(
            f"walk-forward HMM, {len(wf.refits)} monthly refits, 2,520-day window, OOS "
            f"{oos.index[0]:%Y-%m-%d}..{oos.index[-1]:%Y-%m-%d}, {how}: {engine_wf:.1f}s"
        )
    Xr = r.to_numpy() * 100
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(2519, len(Xr), 21):
            GaussianHMM(2, "full", n_iter=1000, tol=1e-4, random_state=0).fit(Xr[i - 2519 : i + 1])
    print(
        "plain hmmlearn, same schedule, 1 cold init per refit, fits only: "
        f"{time.perf_counter() - t0:.1f}s"
    )


if __name__ == "__main__":
    main()
