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
    assert -r.sum() == pytest.approx(np.abs(np.diff(np.r_[0.0, w])).sum() * 10 / 1e4)
    with pytest.raises(InputError, match="delay"):
        risk_off_returns(asset, asset, np.ones(6, bool), delay=0)
