"""The walk-forward backtester: timing, accounting, causality, comparison statistics."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backtest.metrics import (
    bootstrap_sharpe_difference,
    comparison_table,
    cost_sweep,
    deflated_sharpe_ratio,
    performance,
    sharpe_difference_test,
)
from engine.backtest.simulator import (
    Decision,
    compute_targets,
    decision_indices,
    run_backtest,
    simulate,
)
from engine.backtest.strategies import (
    MovingAverageStrategy,
    RegimeStrategy,
    RiskOffStrategy,
    StateTiltStrategy,
    StaticStrategy,
    VolTargetStrategy,
)
from engine.errors import InputError


def frame(values, start="2024-01-01") -> pd.DataFrame:
    values = np.asarray(values, dtype=float)
    return pd.DataFrame(
        values,
        index=pd.bdate_range(start, periods=len(values)),
        columns=[f"A{j}" for j in range(values.shape[1])],
    )


def test_accounting_on_a_hand_computable_three_asset_example():
    r = frame([[0.00, 0.00, 0.00], [0.10, -0.05, 0.02], [-0.02, 0.04, 0.01], [0.03, 0.00, -0.01]])
    target = np.array([0.5, 0.3, 0.2])
    res = simulate(r, [(0, Decision(target))], delay=1, cost_bps=10.0)
    # period 1: cash until the close of row 1, then buy: turnover 1.0, cost 10 bp of NAV 1
    assert res.turnover.iloc[1] == pytest.approx(1.0)
    assert res.nav.iloc[1] == pytest.approx(1.0 - 0.001)
    nav1 = 0.999
    g2 = target @ r.iloc[2].to_numpy()  # 0.5·-0.02 + 0.3·0.04 + 0.2·0.01 = 0.004
    assert g2 == pytest.approx(0.004)
    nav2 = nav1 * (1 + g2)
    assert res.nav.iloc[2] == pytest.approx(nav2, rel=1e-14)
    w2 = target * (1 + r.iloc[2].to_numpy()) / (1 + g2)  # drifted weights
    np.testing.assert_allclose(res.weights.iloc[2], w2, rtol=1e-14)
    g3 = w2 @ r.iloc[3].to_numpy()
    assert res.nav.iloc[3] == pytest.approx(nav2 * (1 + g3), rel=1e-14)
    assert res.costs.sum() == pytest.approx(0.001)


def test_zero_cost_and_no_rebalance_equals_buy_and_hold(rng):
    r = frame(rng.normal(0.0004, 0.01, (500, 3)))
    w0 = np.array([0.2, 0.5, 0.3])
    res = simulate(r, [], cost_bps=0.0, initial=w0)
    nav_bh = (np.cumprod(1 + r.to_numpy(), axis=0) * w0).sum(axis=1)
    np.testing.assert_allclose(res.nav.to_numpy(), nav_bh, rtol=1e-12)
    assert res.turnover.sum() == 0 and res.costs.sum() == 0


def test_turnover_and_costs_follow_their_definitions(rng):
    r = frame(rng.normal(0, 0.01, (300, 2)))
    decisions = decision_indices(pd.DatetimeIndex(r.index), "monthly", 20)
    targets = [
        (d, Decision(np.array([0.7, 0.3]) if i % 2 else np.array([0.3, 0.7])))
        for i, d in enumerate(decisions)
    ]
    res = simulate(r, targets, cost_bps=25.0, fixed_fee=0.0005)
    traded = res.turnover > 0
    nav_before = (res.nav + res.costs)[traded]
    np.testing.assert_allclose(
        res.costs[traded], nav_before * res.turnover[traded] * 25 / 1e4 + 0.0005, rtol=1e-12
    )
    for d, _ in targets[1:]:  # a switch trades from the drifted weights to the target
        if d + 1 < len(r):  # a decision on the last row has no day left to trade
            assert res.turnover.iloc[d + 1] > 0.5


def test_look_ahead_canary_perfect_foresight_earns_nothing_after_the_delay(rng):
    """A strategy that 'knows' the next return (a leak planted in its input) only profits if it
    can trade at the same close: with delay 1 its edge is gone."""
    r = frame(rng.normal(0, 0.01, (800, 1)))
    tomorrow = np.r_[r.to_numpy()[1:, 0] > 0, False]

    def clairvoyant(history: pd.DataFrame) -> Decision:
        return Decision(np.array([1.0 if tomorrow[len(history) - 1] else 0.0]))

    res = run_backtest(r, clairvoyant, "daily", start=10, delay=1, cost_bps=0.0)
    live = res.returns.to_numpy()[12:]
    assert abs(live.mean()) < 3 * r.to_numpy().std() / np.sqrt(live.size)
    leaky = np.where(tomorrow[:-1], r.to_numpy()[1:, 0], 0.0)
    assert leaky.mean() > 10 * r.to_numpy().std() / np.sqrt(leaky.size)
    with pytest.raises(InputError, match="delay"):
        simulate(r, [], delay=0)


def test_strategies_only_ever_see_the_past(rng):
    r = frame(rng.normal(0, 0.01, (400, 2)))
    seen = []

    def spy(history: pd.DataFrame) -> Decision:
        seen.append(history.index[-1])
        return Decision(np.array([0.5, 0.5]))

    decisions = decision_indices(pd.DatetimeIndex(r.index), "weekly", 50)
    compute_targets(r, spy, decisions)
    assert [r.index[d] for d in decisions] == seen


@pytest.fixture(scope="module")
def six(six_asset_returns):
    """From 2002 (the same rows as aligning 2002..2012 on its own; checked)."""
    return six_asset_returns.loc["2002-01-03":]


@pytest.mark.parametrize(
    "method",
    [
        "hmm",
        "gmm",
        "kmeans",
        "neural",
        # 3-4 s each: end-to-end in CI, out of the quick loop
        pytest.param("jump", marks=pytest.mark.slow),
        pytest.param("markov_switching", marks=pytest.mark.slow),
        pytest.param("supervised", marks=pytest.mark.slow),
    ],
)
def test_causality_self_check_for_every_detector(six, method):
    """Re-running on truncated history gives identical decisions up to the cut."""
    from engine.validation.causality import causality_self_check

    data = six.iloc[:1400, :3]
    ok, compared = causality_self_check(
        data,
        lambda _: RegimeStrategy(method, 2, "min_variance", window=600, refit_every=63),
        1100,
        start=600,
    )
    assert ok and compared > 10


def test_causality_self_check_catches_a_full_sample_leak(six):
    """A strategy that uses a statistic of its whole sample (here the full-sample mean) changes
    its past decisions when the future is cut off: the check fails it."""
    from engine.validation.causality import causality_self_check

    data = six.iloc[:900, :2]

    def leaky(sample: pd.DataFrame):
        full_mean = sample.iloc[:, 0].mean()  # the leak: computed once on all rows

        def decide(history: pd.DataFrame) -> Decision:
            up = history.iloc[-20:, 0].mean() > full_mean
            return Decision(np.array([1.0, 0.0]) if up else np.array([0.0, 1.0]))

        return decide

    ok, _ = causality_self_check(data, leaky, 500, rebalance="daily", start=100)
    assert not ok
    honest = lambda _: StaticStrategy("min_variance", 250)  # noqa: E731
    assert causality_self_check(data, honest, 500, start=300)[0]


@pytest.mark.slow
def test_persistence_and_regime_change_rebalancing(six):
    from engine.backtest.simulator import on_regime_change

    data = six.iloc[:1500, :3]
    base = np.full(3, 1 / 3)
    loose = RiskOffStrategy(base, method="hmm", window=600, refit_every=63)
    sticky = RiskOffStrategy(
        base, method="hmm", window=600, refit_every=63, threshold=0.9, min_holding=20, smoothing=5
    )
    dec = decision_indices(pd.DatetimeIndex(data.index), "daily", 600)
    a = on_regime_change(compute_targets(data, loose, dec))
    b = on_regime_change(compute_targets(data, sticky, dec))
    assert len(b) <= len(a)  # persistence never adds switches
    assert all(x[1].regime != y[1].regime for x, y in itertools.pairwise(a))
    res = run_backtest(
        data, RiskOffStrategy(base, method="hmm", window=600, refit_every=63), "regime_change", 600
    )
    assert [d for d, _ in res.targets] == [d for d, _ in a]


@pytest.mark.parametrize(
    "strategy",
    [
        StaticStrategy("risk_parity", 504),
        RiskOffStrategy(np.full(3, 1 / 3), method="hmm", window=600, refit_every=63),
        StateTiltStrategy(
            {"Calm": [0.5, 0.3, 0.2], "Turbulent": [0.2, 0.6, 0.2]}, window=600, refit_every=63
        ),
        VolTargetStrategy(np.full(3, 1 / 3), 0.08),
        MovingAverageStrategy(np.full(3, 1 / 3)),
    ],
    ids=["static", "risk_off", "tilt", "vol_target", "ma200"],
)
def test_rules_are_causal_and_keep_weights_valid(six, strategy):
    import copy

    data = six.iloc[:1300, :3]
    full = compute_targets(
        data,
        copy.deepcopy(strategy),
        decision_indices(pd.DatetimeIndex(data.index), "monthly", 600),
    )
    short = compute_targets(
        data.iloc[:1000],
        copy.deepcopy(strategy),
        decision_indices(pd.DatetimeIndex(data.index[:1000]), "monthly", 600),
    )
    full_by_row = dict(full)
    for d, a in short:
        if d in full_by_row:
            np.testing.assert_array_equal(a.weights, full_by_row[d].weights)
    for _, dec in full:
        assert dec.weights.min() >= -1e-12 and dec.weights.sum() <= 1 + 1e-9


def test_comparison_cost_sweep_and_significance(six):
    data = six.iloc[:, :3]
    dec = decision_indices(pd.DatetimeIndex(data.index), "monthly", 504)
    targets = {
        "dynamic": compute_targets(
            data, RegimeStrategy("hmm", 2, "min_variance", window=504, refit_every=63), dec
        ),
        "static": compute_targets(data, StaticStrategy("min_variance", 504), dec),
    }
    results = {k: simulate(data, t) for k, t in targets.items()}
    table = comparison_table(results)
    assert list(table.index[:3]) == ["CAGR", "Volatility", "Sharpe"]
    assert (table.loc["Turnover /yr"] > 0).all()
    sweep, breakeven = cost_sweep(data, targets, (0, 10, 50))
    assert list(sweep.index) == [0, 10, 50]
    assert (sweep["dynamic"].diff().dropna() <= 1e-12).all()  # more cost, lower Sharpe
    if breakeven is not None:
        assert 0 <= breakeven <= 50
    a, b = results["dynamic"].returns.to_numpy()[600:], results["static"].returns.to_numpy()[600:]
    z, p = sharpe_difference_test(a, b)
    assert 0 <= p <= 1 and np.isfinite(z)
    assert sharpe_difference_test(a, a)[1] == pytest.approx(1.0)
    p_boot = bootstrap_sharpe_difference(a, b, n_boot=200)
    assert 0 <= p_boot <= 1


def test_sharpe_difference_test_edge_cases(rng):
    a = rng.normal(0.0004, 0.01, 900)
    # identical series: rounding puts corrcoef(a, a) a hair above 1 on some machines
    assert sharpe_difference_test(a, a) == (0.0, 1.0)
    assert sharpe_difference_test(a, 3.0 * a) == (0.0, 1.0)  # scaling keeps the Sharpe ratio
    # perfectly correlated (ρ = 1), different Sharpe ratios: θ = ½(SR_a - SR_b)², z = ±sqrt(2T)
    z, p = sharpe_difference_test(a + 0.001, a)
    assert z == pytest.approx(np.sqrt(2 * 900), rel=1e-9) and p < 1e-300
    assert sharpe_difference_test(a, a + 0.001)[0] == pytest.approx(-np.sqrt(2 * 900), rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.floats(-1.0, 1.0),
    st.floats(-0.002, 0.002),
)
def test_sharpe_difference_p_value_is_a_probability(seed, mix, shift):
    g = np.random.default_rng(seed)
    a = g.normal(0.0003, 0.01, 300)
    b = mix * a + (1 - abs(mix)) * g.normal(0.0, 0.01, 300) + shift
    z, p = sharpe_difference_test(a, b)
    assert 0.0 <= p <= 1.0 and not np.isnan(z)


def test_deflated_sharpe_falls_with_more_trials(rng):
    r = rng.normal(0.0006, 0.01, 2500)
    one = deflated_sharpe_ratio(r, 2, 0.0004)
    many = deflated_sharpe_ratio(r, 100, 0.0004)
    assert 0 < many < one < 1


def test_performance_uses_excess_returns_over_cash(rng):
    r = frame(rng.normal(0.0005, 0.01, (600, 1)))
    res = simulate(r, [], cost_bps=0.0, initial=np.ones(1))
    cash = pd.Series(0.0001, index=r.index)
    with_cash = performance(res, cash, slice(0, None))["Sharpe"]
    without = performance(res, None, slice(0, None))["Sharpe"]
    assert with_cash < without


@pytest.mark.slow
def test_allocation_study_in_one_run(six):
    from engine.backtest.study import allocation_study

    data = six.loc["2006-01-01":, ["SP500", "GOLD", "WTI"]]
    study = allocation_study(data, [0.6, 0.25, 0.15], window=504, n_boot=50)
    assert list(study.table.columns) == [
        "Buy & hold",
        "Static fixed",
        "Static min-variance",
        "Dynamic HMM min-variance",
        "Dynamic jump min-variance",
        "Risk-off HMM",
        "Vol target 10%",
        "200-day MA",
    ]
    assert study.table.loc["Turnover /yr", "Buy & hold"] == 0
    assert set(study.significance.columns) >= {
        "Memmel p",
        "Bootstrap p",
        "Deflated Sharpe (3 trials)",
    }
    assert ((study.significance["Memmel p"] >= 0) & (study.significance["Memmel p"] <= 1)).all()
    assert list(study.cost_sweep.index) == [0, 5, 10, 25, 50]


def test_the_backtest_uses_the_configured_detector_settings(multi_returns):
    """The regime-aware backtest runs the detector as configured (jump penalty here), the same
    settings as the regimes reported beside it; different settings, different decisions."""
    from engine.backtest.compare import compare_static_dynamic

    data = multi_returns.loc["2008-01-01":"2011-12-31", ["SP500", "GOLD"]]
    runs = {
        lam: compare_static_dynamic(
            data, rebalance="quarterly", method="jump", detector_params={"jump_penalty": lam}
        )
        for lam in (0.0, 1000.0)
    }
    sticky, jumpy = runs[1000.0].dynamic, runs[0.0].dynamic
    assert not np.allclose(sticky.weights.to_numpy(), jumpy.weights.to_numpy())
    assert sticky.regime.nunique() <= jumpy.regime.nunique()
