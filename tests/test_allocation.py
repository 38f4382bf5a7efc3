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
