from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.allocation import blend_weights, minimum_variance_weights, state_weights
from engine.errors import InputError


def _cov(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n)) * 0.01
    return A @ A.T + np.eye(n) * 1e-5


def test_unconstrained_solution_matches_closed_form():
    cov = np.array([[0.04, 0.006], [0.006, 0.01]])
    inv = np.linalg.inv(cov)
    closed = inv @ np.ones(2) / (np.ones(2) @ inv @ np.ones(2))
    assert closed.min() > 0  # interior: the long-only bound is not binding
    np.testing.assert_allclose(minimum_variance_weights(cov), closed, atol=1e-8)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 8), cap=st.floats(0.3, 1.0))
def test_constraints_hold_and_no_feasible_neighbour_is_better(seed, n, cap):
    cap = max(cap, 1.0 / n + 1e-9)
    cov = _cov(seed, n)
    w = minimum_variance_weights(cov, cap)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert w.min() >= 0.0
    assert w.max() <= cap + 1e-12
    rng = np.random.default_rng(seed)
    for _ in range(20):  # random feasible perturbations never reduce variance
        d = rng.normal(size=n) * 1e-3
        d -= d.mean()
        v = w + d
        if v.min() >= 0 and v.max() <= cap:
            assert v @ cov @ v >= w @ cov @ w - 1e-15


def test_infeasible_cap_is_refused():
    with pytest.raises(InputError, match="max_weight"):
        minimum_variance_weights(np.eye(4), 0.2)


def test_state_weights_and_blend():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(0, 0.01, size=(600, 3)), columns=["A", "B", "C"])
    states = np.r_[np.zeros(400, int), np.ones(200, int)]
    X.iloc[400:, 0] *= 4  # A is volatile in the turbulent state
    table = state_weights(X, states, ["Calm", "Turbulent"], max_weight=0.6)
    assert table.loc["A", "Turbulent"] < table.loc["A", "Calm"]
    np.testing.assert_allclose(table.sum(axis=0), 1.0)
    now = blend_weights(table, np.array([0.25, 0.75]))
    np.testing.assert_allclose(now, 0.25 * table["Calm"] + 0.75 * table["Turbulent"])
    assert now.max() <= 0.6 + 1e-12
    with pytest.raises(InputError, match="objective"):
        state_weights(X, states, ["Calm", "Turbulent"], objective="max_return")


@pytest.fixture(scope="module")
def six_assets(six_asset_returns):
    return six_asset_returns.to_numpy()


TIGHT = {"tol_gap_abs": 1e-13, "tol_gap_rel": 1e-13, "tol_feas": 1e-13, "max_iter": 500}


def _skfolio_reference(objective: str, cap: float):
    from skfolio import RiskMeasure
    from skfolio.optimization import MeanRisk, ObjectiveFunction, RiskBudgeting

    if objective == "min_variance":
        return MeanRisk(risk_measure=RiskMeasure.VARIANCE, max_weights=cap, solver_params=TIGHT)
    if objective == "min_cvar":
        return MeanRisk(
            risk_measure=RiskMeasure.CVAR, cvar_beta=0.95, max_weights=cap, solver_params=TIGHT
        )
    if objective == "max_sharpe":
        return MeanRisk(
            risk_measure=RiskMeasure.VARIANCE,
            max_weights=cap,
            solver_params=TIGHT,
            objective_function=ObjectiveFunction.MAXIMIZE_RATIO,
        )
    return RiskBudgeting(risk_measure=RiskMeasure.VARIANCE, solver_params=TIGHT)


@pytest.mark.parametrize(
    ("objective", "cap"),
    [("min_variance", 0.4), ("min_cvar", 0.4), ("max_sharpe", 0.4), ("risk_parity", 1.0)],
)
def test_optimisers_match_skfolio(objective, cap, six_assets):
    """Reference: skfolio (cvxpy + Clarabel, tolerances tightened) on the same problem, 1e-6."""
    import warnings

    from engine.allocation import optimal_weights

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = _skfolio_reference(objective, cap).fit(six_assets).weights_
    w = optimal_weights(six_assets, objective, cap)
    np.testing.assert_allclose(w, ref, atol=1e-6)
    assert w.sum() == pytest.approx(1.0, abs=1e-12) and w.min() >= 0 and w.max() <= cap + 1e-12


def test_risk_parity_equalises_risk_contributions(six_assets):
    from engine.allocation import optimal_weights

    w = optimal_weights(six_assets, "risk_parity")
    cov = np.cov(six_assets, rowvar=False)
    rc = w * (cov @ w)
    np.testing.assert_allclose(rc / rc.sum(), 1 / 6, atol=1e-8)


def test_inverse_vol_equal_and_caps(six_assets):
    from engine.allocation import optimal_weights

    w = optimal_weights(six_assets, "inverse_vol", 0.25)
    assert w.max() <= 0.25 + 1e-12 and w.sum() == pytest.approx(1.0)
    free = w < 0.25 - 1e-9
    sd = six_assets.std(axis=0, ddof=1)
    ratio = (w * sd)[free]
    np.testing.assert_allclose(ratio, ratio[0])  # uncapped weights stay ∝ 1/σ
    np.testing.assert_allclose(optimal_weights(six_assets, "equal"), 1 / 6)


def test_turnover_limit_is_respected(six_assets):
    from engine.allocation import optimal_weights

    prev = np.full(6, 1 / 6)
    w = optimal_weights(six_assets, "min_variance", 0.4, previous=prev, max_turnover=0.1)
    assert np.abs(w - prev).sum() == pytest.approx(0.1)
    assert w.sum() == pytest.approx(1.0) and w.min() >= 0


def test_max_sharpe_without_positive_means_falls_back_to_min_variance(six_assets):
    from engine.allocation import optimal_weights

    X = six_assets - six_assets.mean(axis=0) - 0.001
    np.testing.assert_allclose(optimal_weights(X, "max_sharpe"), optimal_weights(X, "min_variance"))
