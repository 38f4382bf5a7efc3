"""Seeded regime-switching return generator with known states, for accuracy tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SimulatedRegimes:
    returns: pd.DataFrame  # dates × assets, simple returns
    states: pd.Series  # true state index per date (0 = calmest)


def simulate_regime_returns(
    n_obs: int = 4000,
    transmat: np.ndarray | None = None,
    means: np.ndarray | None = None,
    vols: np.ndarray | None = None,
    n_assets: int = 1,
    correlation: float = 0.3,
    dof: float = 5.0,
    seed: int = 0,
    start: str = "2000-01-03",
) -> SimulatedRegimes:
    """Markov-chain states, Student-t noise (unit variance), one vol and mean per state.

    Defaults: 2 persistent states, calm 0.8% daily vol / +0.05% mean, turbulent 2.5% / -0.1%.
    Asset j has vol scaled by linspace(0.8, 1.4) and pairwise correlation `correlation`.
    """
    rng = np.random.default_rng(seed)
    P = np.array([[0.99, 0.01], [0.03, 0.97]]) if transmat is None else np.asarray(transmat)
    k = P.shape[0]
    mu = np.array([0.0005, -0.001])[:k] if means is None else np.asarray(means, dtype=float)
    sd = np.array([0.008, 0.025])[:k] if vols is None else np.asarray(vols, dtype=float)
    stationary = np.linalg.matrix_power(P, 500)[0]
    states = np.empty(n_obs, dtype=int)
    states[0] = rng.choice(k, p=stationary)
    u = rng.random(n_obs)
    cum = np.cumsum(P, axis=1)
    for t in range(1, n_obs):
        states[t] = min(int(np.searchsorted(cum[states[t - 1]], u[t], side="right")), k - 1)
    scale = np.linspace(0.8, 1.4, n_assets) if n_assets > 1 else np.ones(1)
    corr = correlation * np.ones((n_assets, n_assets)) + (1 - correlation) * np.eye(n_assets)
    chol = np.linalg.cholesky(corr)
    noise = rng.standard_t(dof, size=(n_obs, n_assets)) / np.sqrt(dof / (dof - 2))
    shocks = noise @ chol.T
    values = mu[states][:, None] + sd[states][:, None] * scale[None, :] * shocks
    dates = pd.bdate_range(start, periods=n_obs)
    cols = [f"A{j}" for j in range(n_assets)]
    return SimulatedRegimes(
        returns=pd.DataFrame(values, index=dates, columns=cols),
        states=pd.Series(states, index=dates, name="state"),
    )


def simulate_state_indicator(
    states: pd.Series,
    levels: np.ndarray | None = None,
    noise: float = 4.0,
    persistence: float = 0.9,
    seed: int = 0,
    name: str = "VIX",
) -> pd.Series:
    """An exogenous series that carries part of the state signal, like VIX: x_t = levels[s_t] +
    e_t, e_t = persistence·e_{t-1} + noise·sqrt(1 - persistence²)·z_t (stationary sd `noise`).
    Default levels 14 (calm) and 28 (turbulent); x_t depends on s_t and past noise only."""
    rng = np.random.default_rng(seed)
    s = states.to_numpy()
    lev = np.array([14.0, 28.0, 40.0, 55.0])[: s.max() + 1] if levels is None else levels
    z = rng.standard_normal(s.size)
    e = np.empty(s.size)
    e[0] = noise * z[0]
    innov = noise * np.sqrt(1 - persistence**2)
    for t in range(1, s.size):
        e[t] = persistence * e[t - 1] + innov * z[t]
    return pd.Series(np.asarray(lev, dtype=float)[s] + e, index=states.index, name=name)


def research_note_panel(seed: int = 42) -> np.ndarray:
    """The 10-asset × 8,000-day panel of shared/research/risk.md §4, verbatim: a 2-state Markov
    chain (calm 0.8% / stress 2.2% daily vol), Student-t(5) shocks, pairwise correlation 0.3.
    Its reference values (skfolio, empyrical, quantstats) are the risk tests' oracle figures."""
    rng = np.random.default_rng(seed)
    T, N = 8000, 10
    P = [[0.99, 0.01], [0.03, 0.97]]
    state = np.zeros(T, int)
    for t in range(1, T):
        state[t] = rng.random() > P[0][0] if state[t - 1] == 0 else rng.random() < P[1][1]
    vol = np.where(state == 0, 0.008, 0.022)[:, None] * np.linspace(0.8, 1.4, N)[None]
    mu = np.where(state == 0, 0.0005, -0.0010)[:, None]
    L = np.linalg.cholesky(0.3 * np.ones((N, N)) + 0.7 * np.eye(N))
    return mu + vol * ((rng.standard_t(5, (T, N)) / np.sqrt(5 / 3)) @ L.T)
