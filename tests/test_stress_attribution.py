from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest.attribution import (
    asset_contributions,
    brinson_fachler,
    held_weights,
    regime_contributions,
)
from engine.backtest.simulator import compute_targets, decision_indices, simulate
from engine.backtest.strategies import RegimeStrategy, StaticStrategy
from engine.data import align_prices, load_sample_prices, prices_to_returns
from engine.errors import InputError
from engine.regimes import fit_regimes
from engine.validation.stress import (
    historical_stress,
    hypothetical_shock,
    regime_monte_carlo,
    reverse_stress,
)


@pytest.fixture(scope="module")
def long_history():
    p, _ = align_prices(load_sample_prices(["SP500", "GOLD"], "1980-01-01", "2012-12-31"))
    return prices_to_returns(p)


def test_historical_stress_covers_the_data_and_matches_known_losses(long_history):
    table = historical_stress(long_history, np.array([1.0, 0.0])).set_index("Scenario")
    assert "2020 COVID crash" not in table.index  # the data ends in 2012
    # S&P 500 price index: 1,565.15 (2007-10-09) to 676.53 (2009-03-09) is a 56.8% loss
    assert table.loc["2008-09 financial crisis", "Portfolio loss"] == pytest.approx(
        1 - 676.53 / 1565.15, abs=1e-4
    )
    assert table.loc["1987 crash", "Portfolio loss"] == pytest.approx(1 - 224.84 / 314.52, abs=1e-3)
    assert table.loc["2008-09 financial crisis", "Worst asset"] == "SP500"


def test_historical_stress_reports_the_regime_at_the_start(long_history):
    res = fit_regimes(long_history, 2)
    labels = pd.Series(np.array(res.labels)[res.states], index=long_history.index)
    table = historical_stress(long_history, np.array([0.6, 0.4]), regimes=labels)
    assert set(table["Regime at start"]) <= {"Calm", "Turbulent"}


def test_hypothetical_and_reverse_stress():
    w = np.array([0.6, 0.3, 0.1])
    assert hypothetical_shock(w, [-0.3, -0.1, 0.05]) == pytest.approx(0.6 * 0.3 + 0.3 * 0.1 - 0.005)
    m, shocks = reverse_stress(w, [-1.0, -0.2, 0.0], loss_limit=0.2)
    assert hypothetical_shock(w, shocks) == pytest.approx(0.2)
    assert m == pytest.approx(0.2 / 0.66)
    with pytest.raises(InputError, match="direction"):
        reverse_stress(w, [1.0, 0.0, 0.0], 0.2)


def test_regime_monte_carlo_is_seeded_and_regime_sensitive(long_history):
    X = long_history.iloc[-3000:]
    res = fit_regimes(X, 2)
    w = np.array([0.6, 0.4])
    calm = regime_monte_carlo(
        X, w, res.states, res.detector.transmat_, np.array([1.0, 0.0]), n_paths=4000
    )
    turb = regime_monte_carlo(
        X, w, res.states, res.detector.transmat_, np.array([0.0, 1.0]), n_paths=4000
    )
    assert turb["VaR"] > calm["VaR"] > 0
    assert calm["ES"] >= calm["VaR"]
    assert calm == regime_monte_carlo(
        X, w, res.states, res.detector.transmat_, np.array([1.0, 0.0]), n_paths=4000
    )


@pytest.fixture(scope="module")
def two_runs(long_history):
    data = long_history.iloc[-2500:]
    dec = decision_indices(pd.DatetimeIndex(data.index), "monthly", 504)
    dyn = simulate(
        data,
        compute_targets(
            data, RegimeStrategy("hmm", 2, "min_variance", window=504, refit_every=63), dec
        ),
    )
    sta = simulate(data, compute_targets(data, StaticStrategy("min_variance", 504), dec))
    return data, dyn, sta


def test_asset_contributions_add_up(two_runs):
    data, dyn, _ = two_runs
    table = asset_contributions(dyn, data)
    gross = (held_weights(dyn) * data.assign(Cash=0.0)).sum(axis=1)
    assert table["Return contribution"].drop("Costs").sum() == pytest.approx(gross.sum(), rel=1e-12)
    wbar = held_weights(dyn).iloc[:, :-1].mean().to_numpy()
    sigma = np.sqrt(wbar @ np.cov(data.to_numpy(), rowvar=False) @ wbar * 252)
    assert table["Volatility contribution (Euler)"].sum() == pytest.approx(sigma, rel=1e-12)


def test_brinson_fachler_links_to_the_active_return(two_runs):
    data, dyn, sta = two_runs
    table = brinson_fachler(dyn, sta, data)
    assert table["Total"].sum() == pytest.approx(table.attrs["active_return"], abs=1e-10)
    assert (table["Selection"] == 0).all()  # same assets on both sides


def test_regime_contributions_cover_the_live_days(two_runs):
    _, dyn, _ = two_runs
    table = regime_contributions(dyn)
    assert set(table.index) <= {"Calm", "Turbulent"}
    assert table["days"].sum() == dyn.regime.notna().sum()
    assert table["costs"].sum() == pytest.approx(dyn.costs.sum())
