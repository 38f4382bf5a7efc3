from __future__ import annotations

import numpy as np
import pytest

from engine.backtest.rules import risk_off_returns
from engine.errors import InputError


def test_signal_at_t_earns_from_t_plus_delay_plus_one():
    asset = np.array([0.0, 0.01, 0.02, 0.03, 0.04, 0.05])
    cash = np.zeros(6)
    signal = np.array([1, 0, 0, 0, 0, 0], dtype=bool)  # decided at close 0
    r, w = risk_off_returns(asset, cash, signal, delay=1, cost_bps=0)
    np.testing.assert_array_equal(w, [0, 0, 1, 0, 0, 0])  # traded at close 1, held over period 2
    assert r.sum() == pytest.approx(0.02)


def test_a_perfect_foresight_signal_gives_no_edge_once_delayed():
    """Look-ahead canary: knowing tomorrow's sign at close t is worthless with delay >= 1."""
    rng = np.random.default_rng(0)
    asset = rng.normal(0, 0.01, 5000)
    tomorrow_up = np.r_[asset[1:] > 0, False]
    r, _ = risk_off_returns(asset, np.zeros_like(asset), tomorrow_up, delay=1, cost_bps=0)
    assert abs(r.mean()) < 3 * asset.std() / np.sqrt(asset.size)
    leaky = np.where(tomorrow_up[:-1], asset[1:], 0.0)  # trading at close t, earning t+1
    assert leaky.mean() > 10 * asset.std() / np.sqrt(asset.size)


def test_costs_are_charged_on_each_change():
    asset = np.zeros(6)
    r, w = risk_off_returns(asset, np.zeros(6), np.array([1, 1, 0, 1, 1, 1], bool), 1, 10.0)
    # zero returns: each trade takes 10 bp of the NAV at its close
    assert np.prod(1 + r) == pytest.approx(
        (1 - 10 / 1e4) ** np.abs(np.diff(np.r_[0.0, w, 1.0])).sum()
    )
    with pytest.raises(InputError, match="delay"):
        risk_off_returns(asset, asset, np.ones(6, bool), delay=0)


@pytest.mark.parametrize("delay", [1, 2, 5])
def test_rules_and_simulator_share_one_cost_convention(delay):
    """The 0/1 rule path and the walk-forward simulator give the same returns (1e-12) with
    costs, cash and daily switching. Before they shared one convention (the rule path took the
    cost from the next period's return), the final NAVs here were 1.2e-4 (delay 1) and 3.8e-5
    (delay 2) apart; now about 5e-15."""
    import pandas as pd

    from engine.backtest.simulator import Decision, simulate

    rng = np.random.default_rng(delay)
    n = 600
    asset = rng.normal(0.0004, 0.012, n)
    cash = np.full(n, 0.0001)
    signal = rng.random(n) < 0.5  # switches about every other day
    r, w = risk_off_returns(asset, cash, signal, delay, 10.0)
    idx = pd.bdate_range("2020-01-01", periods=n)
    targets = [(t, Decision(np.array([float(signal[t])]))) for t in range(n)]
    sim = simulate(pd.DataFrame({"A": asset}, idx), targets, pd.Series(cash, idx), delay, 10.0)
    np.testing.assert_allclose(r, sim.returns.to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(w, np.r_[0.0, sim.weights["A"].to_numpy()[:-1]], atol=0)
    assert abs(np.prod(1 + r) - sim.nav.iloc[-1]) < 1e-12
