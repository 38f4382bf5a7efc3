"""Issue 13 (a): does an exogenous series that carries part of the state signal help each feature
detector recover simulated regimes?

Simulation (engine.data.simulate): 2 states, persistent (P = [[0.99, 0.01], [0.03, 0.97]]),
2 assets, Student-t(5) shocks, daily vol 0.8% (calm) vs 1.2% (turbulent): hard to tell apart
from returns alone. The exogenous "VIX" = 14 (calm) or 28 (turbulent) + AR(1) noise (sd 4,
persistence 0.9): it carries the state, noisily. 3,000 days, seeds 0-4.

Each detector is fitted in sample and its filtered (forward-only) probabilities give a state per
day; accuracy = share of days (after the feature warm-up) whose state is the true one. Features:
log EWM volatility at half-lives 1, 3, 10 (the detectors' default), without and with the VIX
level. Prints a markdown table: mean and range over the seeds.

Run: .venv/bin/python scripts/exogenous_accuracy.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from engine.data import simulate_regime_returns, simulate_state_indicator
from engine.features import VOLATILITY_FEATURES, FeatureSpec
from engine.regimes import DETECTORS, design_matrix, hard_states

METHODS = ("hmm", "jump", "gmm", "kmeans", "supervised", "neural")
SEEDS = range(5)
WITH_VIX = (*VOLATILITY_FEATURES, FeatureSpec("level", series="VIX"))


def accuracy(method: str, seed: int, exogenous: bool) -> float:
    sim = simulate_regime_returns(3000, vols=np.array([0.008, 0.012]), n_assets=2, seed=seed)
    vix = simulate_state_indicator(sim.states, seed=100 + seed).to_frame()
    if exogenous:
        X = design_matrix(sim.returns, vix).to_numpy()
        det = DETECTORS[method](n_states=2, random_state=0, features=WITH_VIX, exogenous=("VIX",))
    else:
        X = sim.returns.to_numpy()
        det = DETECTORS[method](n_states=2, random_state=0, features=VOLATILITY_FEATURES)
    states = hard_states(det.fit(X).predict_proba_filtered(X))
    live = states >= 0
    return float(np.mean(states[live] == sim.states.to_numpy()[live]))


def main() -> None:
    print("| detector | without VIX | with VIX | change |")
    print("|---|---|---|---|")
    for m in METHODS:
        a = np.array([accuracy(m, s, False) for s in SEEDS])
        b = np.array([accuracy(m, s, True) for s in SEEDS])
        print(
            f"| {m} | {a.mean():.3f} ({a.min():.3f}–{a.max():.3f}) | "
            f"{b.mean():.3f} ({b.min():.3f}–{b.max():.3f}) | {b.mean() - a.mean():+.3f} |"
        )


if __name__ == "__main__":
    main()
