from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from engine.errors import InputError
from engine.risk import (
    annualized_volatility,
    check_confidence,
    conditional_value_at_risk,
    max_drawdown,
    state_risk_table,
    value_at_risk,
)

skm = pytest.importorskip("skfolio.measures")  # test-only oracle, in the dev lock

returns_arrays = arrays(
    np.float64,
    st.integers(20, 400),
    elements=st.floats(-0.5, 0.5, allow_nan=False, allow_subnormal=False),
)
confidences = st.sampled_from([0.9, 0.95, 0.975, 0.99, 0.951, 0.9333])


@settings(max_examples=200, deadline=None)
@given(r=returns_arrays, c=confidences)
def test_cvar_equals_skfolio(r, c):
    if r.size * (1 - c) < 1:  # refused: fewer observations than the tail needs
        return
    assert conditional_value_at_risk(r, c) == pytest.approx(
        skm.cvar(r, beta=c), abs=1e-12, rel=1e-12
    )


@settings(max_examples=200, deadline=None)
@given(r=returns_arrays, c=confidences)
def test_var_equals_skfolio(r, c):
    if r.size * (1 - c) < 1:
        return
    assert value_at_risk(r, c) == pytest.approx(skm.value_at_risk(r, beta=c), abs=1e-12)


def test_cvar_on_a_fractional_tail_matches_skfolio_and_the_closed_form(rng):
    r = rng.standard_t(4, size=7993) * 0.01  # k = 0.05 * 7993 = 399.65, fractional
    k = 0.05 * r.size
    assert k != int(k)
    s = np.sort(r)
    i = int(np.ceil(k)) - 1
    closed = -(s[:i].sum() + (k - i) * s[i]) / k
    assert conditional_value_at_risk(r, 0.95) == pytest.approx(closed, rel=1e-14)
    assert abs(conditional_value_at_risk(r, 0.95) - skm.cvar(r, beta=0.95)) < 1e-12


def test_two_dimensional_inputs_are_per_column(rng):
    X = rng.normal(0, 0.01, size=(1000, 4))
    np.testing.assert_allclose(
        conditional_value_at_risk(X, 0.99), skm.cvar(X, beta=0.99), atol=1e-12
    )
    np.testing.assert_allclose(value_at_risk(X, 0.99), skm.value_at_risk(X, beta=0.99), atol=1e-12)
    np.testing.assert_allclose(annualized_volatility(X), X.std(axis=0, ddof=1) * np.sqrt(252))


def test_max_drawdown_counts_a_first_day_loss():
    assert max_drawdown(np.array([-0.1, 0.05, 0.05])) == pytest.approx(0.1)
    # peak 1.21 after two +10% days, trough 1.21*0.5*0.9
    assert max_drawdown(np.array([0.1, 0.1, -0.5, -0.1, 0.2])) == pytest.approx(1 - 0.45)
    assert max_drawdown(np.array([0.01, 0.02])) == 0.0


def test_max_drawdown_equals_skfolio_compounded(rng):
    r = rng.normal(0.0003, 0.012, size=3000)
    nav = np.cumprod(1 + r)
    # skfolio's compounded drawdown is relative to the running max of the cumulative NAV
    dd = skm.get_drawdowns(r, compounded=True)
    expected = max(-dd.min(), 1 - nav[0] if nav[0] < 1 else 0.0)
    assert max_drawdown(r) == pytest.approx(expected, abs=1e-12)


def test_cvar_is_at_least_var(rng):
    r = rng.standard_t(3, size=2000) * 0.01
    for c in (0.9, 0.95, 0.99):
        assert conditional_value_at_risk(r, c) >= value_at_risk(r, c)


@pytest.mark.parametrize("bad", [0.5, 1.0, 95, -0.95, 0.3])
def test_confidence_outside_range_is_refused(bad):
    with pytest.raises(InputError, match="confidence"):
        check_confidence(bad)


def test_confidence_message_suggests_the_fraction():
    with pytest.raises(InputError, match=r"got 95\)\. Write 0\.95\."):
        check_confidence(95)


def test_nan_and_short_inputs_are_refused():
    with pytest.raises(InputError, match="NaN"):
        conditional_value_at_risk(np.array([0.01, np.nan, -0.02]))
    with pytest.raises(InputError, match="at least 2"):
        annualized_volatility(np.array([0.01]))


def test_state_risk_table_matches_the_measures_per_state(rng):
    r = rng.normal(0, 0.01, size=1000)
    states = (rng.random(1000) < 0.3).astype(int)
    table = state_risk_table(r, states, ["Calm", "Turbulent"], 0.95)
    for k, label in enumerate(["Calm", "Turbulent"]):
        x = r[states == k]
        row = table.loc[label]
        assert row["Observations"] == x.size
        assert row["CVaR"] == pytest.approx(skm.cvar(x, beta=0.95), abs=1e-12)
        assert row["Volatility (ann.)"] == pytest.approx(x.std(ddof=1) * np.sqrt(252))
    assert table["Share"].sum() == pytest.approx(1.0)


def test_state_with_no_days_gives_blanks_not_errors(rng):
    r = rng.normal(0, 0.01, size=100)
    table = state_risk_table(r, np.zeros(100, int), ["Calm", "Turbulent"])
    assert table.loc["Turbulent", "Observations"] == 0
    assert np.isnan(table.loc["Turbulent", "CVaR"])
