from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import InputError
from engine.regimes import SMOOTHED_SUFFIX, GaussianHMMDetector, fit_regimes, state_index
from engine.regimes.filtering import forward_backward_smoother, forward_filter


@pytest.fixture(scope="module")
def fitted_sp500(sp500_returns):
    return GaussianHMMDetector(n_states=2, random_state=0).fit(sp500_returns.to_numpy())


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(min_value=1, max_value=8311))
def test_filtered_probability_ignores_the_future(fitted_sp500, sp500_returns, cut):
    """Parameters fixed: p(state_t | data up to t) from data[:cut] equals the full-series value."""
    X = sp500_returns.to_numpy()
    full = fitted_sp500.predict_proba_filtered(X)
    prefix = fitted_sp500.predict_proba_filtered(X[:cut])
    np.testing.assert_array_equal(prefix, full[:cut])


@settings(max_examples=15, deadline=None)
@given(cut=st.integers(min_value=10, max_value=8000), seed=st.integers(0, 10_000))
def test_altering_the_future_leaves_the_past(fitted_sp500, sp500_returns, cut, seed):
    X = sp500_returns.to_numpy().copy()
    base = fitted_sp500.predict_proba_filtered(X)
    rng = np.random.default_rng(seed)
    X[cut:] = rng.permutation(X[cut:]) * rng.uniform(0.5, 3.0)
    np.testing.assert_array_equal(fitted_sp500.predict_proba_filtered(X)[:cut], base[:cut])


def test_smoothed_does_use_the_future(fitted_sp500, sp500_returns):
    """The leak is real: smoothed probabilities change when the future is cut off."""
    X = sp500_returns.to_numpy()
    full = fitted_sp500.predict_proba_smoothed(X)
    gaps = [
        np.abs(full[cut - 1] - fitted_sp500.predict_proba_smoothed(X[:cut])[-1]).max()
        for cut in range(1000, 8001, 500)
    ]
    assert max(gaps) > 0.05
    assert np.abs(full - fitted_sp500.predict_proba_filtered(X)).mean() > 0.05


def test_filter_matches_hmmlearn_forward_pass(fitted_sp500, sp500_returns):
    """Oracle: hmmlearn's own (private) scaled forward pass gives the same filtered rows."""
    from hmmlearn import _hmmc

    X = sp500_returns.to_numpy()
    ours = fitted_sp500.predict_proba_filtered(X)
    frameprob = np.exp(fitted_sp500.log_emission(X))
    ll, fwd, _ = _hmmc.forward_scaling(fitted_sp500.startprob_, fitted_sp500.transmat_, frameprob)
    np.testing.assert_allclose(ours, fwd, atol=1e-12)
    assert fitted_sp500.loglik_ == pytest.approx(ll, rel=1e-12)


def test_smoother_matches_hmmlearn(fitted_sp500, sp500_returns):
    """Our smoother equals hmmlearn's predict_proba once parameters are mapped to its scale."""
    from hmmlearn.hmm import GaussianHMM

    det = fitted_sp500
    X = sp500_returns.to_numpy()
    ref = GaussianHMM(n_components=2, covariance_type="full")
    ref.startprob_, ref.transmat_ = det.startprob_, det.transmat_
    ref.means_, ref.covars_ = det.means_, det.covars_
    ref.n_features = 1
    np.testing.assert_allclose(det.predict_proba_smoothed(X), ref.predict_proba(X), atol=1e-9)


def test_sp500_two_states_are_calm_and_turbulent(fitted_sp500):
    vols = np.sqrt(fitted_sp500.covars_[:, 0, 0] * 252)
    assert vols[0] < vols[1]
    # research note: ML fit gives about 10.6% and 28.6% annualised
    assert vols[0] == pytest.approx(0.106, abs=0.01)
    assert vols[1] == pytest.approx(0.286, abs=0.02)
    assert fitted_sp500.diagnostics_.converged
    assert fitted_sp500.diagnostics_.iterations < fitted_sp500.n_iter
    assert np.all(fitted_sp500.expected_durations() > 20)  # persistent regimes


def test_ten_seeds_give_the_same_canonical_states(sp500_returns):
    X = sp500_returns.to_numpy()[-3000:]
    first = None
    for seed in range(10):
        det = GaussianHMMDetector(n_states=2, random_state=seed, n_init=2).fit(X)
        vols = np.sqrt(det.covars_[:, 0, 0] * 252)
        assert vols[0] < vols[1]
        states = det.predict_proba_filtered(X).argmax(axis=1)
        if first is None:
            first = states
        else:
            assert np.mean(states == first) > 0.99


def test_same_seed_is_bit_identical(multi_returns):
    X = multi_returns.to_numpy()
    a = GaussianHMMDetector(n_states=3, random_state=3, n_init=2).fit(X)
    b = GaussianHMMDetector(n_states=3, random_state=3, n_init=2).fit(X)
    assert np.array_equal(a.transmat_, b.transmat_)
    assert np.array_equal(a.covars_, b.covars_)
    assert np.array_equal(a.predict_proba_filtered(X), b.predict_proba_filtered(X))


def test_accuracy_on_simulated_regimes(simulated_two_state):
    sim = simulated_two_state
    det = GaussianHMMDetector(n_states=2, random_state=0).fit(sim.returns.to_numpy())
    est = det.predict_proba_filtered(sim.returns.to_numpy()).argmax(axis=1)
    assert np.mean(est == sim.states.to_numpy()) >= 0.90


def test_forward_filter_known_answer():
    """Two states, hand-computed: pi=(0.5,0.5), A=[[0.9,0.1],[0.2,0.8]], b_1=(1,3), b_2=(2,1)."""
    logb = np.log(np.array([[1.0, 3.0], [2.0, 1.0]]))
    A = np.array([[0.9, 0.1], [0.2, 0.8]])
    res = forward_filter(logb, np.array([0.5, 0.5]), A)
    a1 = np.array([0.25, 0.75])
    pred = a1 @ A  # (0.375, 0.625)
    a2 = pred * np.array([2.0, 1.0]) / (pred @ np.array([2.0, 1.0]))
    np.testing.assert_allclose(res.filtered, [a1, a2])
    assert res.loglik == pytest.approx(np.log(2.0) + np.log(pred @ np.array([2.0, 1.0])))
    smooth = forward_backward_smoother(logb, np.array([0.5, 0.5]), A)
    np.testing.assert_allclose(smooth[-1], a2)  # at T the smoother equals the filter


def test_bad_input_is_named():
    det = GaussianHMMDetector(n_states=2)
    with pytest.raises(InputError, match="need at least 60 rows"):
        det.fit(np.random.default_rng(0).normal(size=(40, 1)))
    with pytest.raises(InputError, match="constant"):
        det.fit(np.zeros((500, 1)))
    with pytest.raises(InputError, match="NaN"):
        det.fit(np.full((500, 1), np.nan))
    with pytest.raises(InputError, match="n_states"):
        GaussianHMMDetector(n_states=7).fit(np.random.default_rng(0).normal(size=(500, 1)))


def test_fit_regimes_is_cached_and_labelled(multi_returns):
    from engine.regimes import FIT_CACHE

    before = FIT_CACHE.stats.hits
    a = fit_regimes(multi_returns, 2, "hmm", 0)
    b = fit_regimes(multi_returns.copy(), 2, "hmm", 0)  # same content, new object
    assert a is b
    assert FIT_CACHE.stats.hits == before + 1
    assert list(a.filtered.columns) == ["Calm", "Turbulent"]
    np.testing.assert_allclose(a.filtered.sum(axis=1), 1.0)
    assert all(c.endswith(SMOOTHED_SUFFIX) for c in a.smoothed().columns)
    shifted = multi_returns.set_axis(multi_returns.index + pd.Timedelta(days=1))
    assert fit_regimes(shifted, 2, "hmm", 0) is not a  # different dates, different key
    with pytest.raises(InputError, match="method"):
        fit_regimes(multi_returns, 2, "oracle", 0)


def test_state_index_accepts_numbers_and_labels():
    assert state_index(1, 3) == 0
    assert state_index("crisis", 3) == 2
    with pytest.raises(InputError, match="Calm, Turbulent"):
        state_index("Crisis", 2)
    with pytest.raises(InputError, match=r"1\.\.2"):
        state_index(3, 2)
