"""Risk engine: oracles (skfolio, empyrical, quantstats), known answers, regulatory tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from engine.errors import InputError
from engine.risk import (
    annualized_volatility,
    bootstrap_interval,
    cagr,
    calmar_ratio,
    cdar,
    conditional_value_at_risk,
    kurtosis,
    max_drawdown,
    mixture_var_es,
    rolling_tail,
    scale_to_horizon,
    semi_deviation,
    sharpe_ratio,
    skewness,
    sortino_ratio,
    state_covariance,
    state_risk_table,
    ulcer_index,
    value_at_risk,
)
from engine.validation.var_backtest import (
    backtest_var,
    basel_traffic_light,
    christoffersen_independence,
    kupiec_pof,
)

skm = pytest.importorskip("skfolio.measures")
empyrical = pytest.importorskip("empyrical")
qs = pytest.importorskip("quantstats")


@pytest.fixture(scope="module")
def panel() -> np.ndarray:
    """The research note's panel (shared/research/risk.md §4), so its reference values apply."""
    from engine.data.simulate import research_note_panel

    return research_note_panel()


ORACLES_1E12 = [
    ("VaR 95", lambda x: value_at_risk(x, 0.95), lambda x: skm.value_at_risk(x, beta=0.95)),
    ("VaR 99", lambda x: value_at_risk(x, 0.99), lambda x: skm.value_at_risk(x, beta=0.99)),
    ("CVaR 95", lambda x: conditional_value_at_risk(x, 0.95), lambda x: skm.cvar(x, beta=0.95)),
    ("ES 97.5", lambda x: conditional_value_at_risk(x, 0.975), lambda x: skm.cvar(x, beta=0.975)),
    (
        "CDaR 95",
        lambda x: cdar(x, 0.95),
        lambda x: skm.cdar(skm.get_drawdowns(x, compounded=True), beta=0.95),
    ),
    ("Ulcer", ulcer_index, lambda x: skm.ulcer_index(skm.get_drawdowns(x, compounded=True))),
    ("Max drawdown", max_drawdown, lambda x: -skm.get_drawdowns(x, compounded=True).min()),
    ("Semi-deviation", semi_deviation, lambda x: skm.semi_deviation(x)),
    ("Skew", skewness, lambda x: skm.skew(x)),
    ("Kurtosis", kurtosis, lambda x: skm.kurtosis(x)),
    ("Volatility", annualized_volatility, lambda x: empyrical.annual_volatility(x)),
    ("Sharpe", sharpe_ratio, lambda x: empyrical.sharpe_ratio(x)),
    ("Sortino", sortino_ratio, lambda x: empyrical.sortino_ratio(x)),
    ("CAGR", cagr, lambda x: empyrical.cagr(x)),
    ("Max drawdown (empyrical)", max_drawdown, lambda x: -empyrical.max_drawdown(x)),
    ("Calmar", calmar_ratio, lambda x: empyrical.calmar_ratio(x)),
]


@pytest.mark.parametrize(("name", "ours", "oracle"), ORACLES_1E12, ids=[o[0] for o in ORACLES_1E12])
def test_oracle_agreement(name, ours, oracle, panel):
    for j in range(3):
        x = panel[:7993, j]  # 7,993 rows: fractional tails at 95%
        assert ours(x) == pytest.approx(oracle(x), rel=1e-12, abs=1e-12), name


def test_day_one_loss_counts_in_every_library():
    """docs/risk.md: the max drawdown of [-5%, +1%, +2%] is 0.05 here, in empyrical and in
    quantstats (the installed versions measure from NAV 1 before the first return)."""
    r = np.array([-0.05, 0.01, 0.02])
    s = pd.Series(r, index=pd.bdate_range("2020-01-01", periods=3))
    assert max_drawdown(r) == pytest.approx(0.05, rel=1e-12)
    assert -empyrical.max_drawdown(r) == pytest.approx(0.05, rel=1e-12)
    assert -qs.stats.max_drawdown(s) == pytest.approx(0.05, rel=1e-12)
    assert -skm.get_drawdowns(r, compounded=True).min() == pytest.approx(0.05, rel=1e-12)


def riskfolio_var_hist(x: np.ndarray, alpha: float) -> float:
    """Riskfolio-Lib's `RiskFunctions.VaR_Hist` rule: -sorted[ceil(alpha·n) - 1]."""
    s = np.sort(x)
    return float(-s[int(np.ceil(alpha * s.size) - 1)])


def test_historical_var_order_statistic_against_riskfolio_rule(panel):
    """docs/risk.md: at n = 2,000 and 95% (k = 100, whole) the VaR is minus the 101st smallest
    return, as skfolio; Riskfolio-Lib's rule takes the 100th."""
    x = panel[:2000, 0]
    s = np.sort(x)
    assert value_at_risk(x, 0.95) == -s[100] == pytest.approx(skm.value_at_risk(x, beta=0.95))
    assert round(value_at_risk(x, 0.95), 6) == 0.013018
    assert riskfolio_var_hist(x, 0.05) == -s[99]
    assert round(riskfolio_var_hist(x, 0.05), 6) == 0.013055
    # the empirical CDF at the 100th smallest is exactly 0.05, not above it
    assert np.mean(x <= s[99]) == 0.05 and np.mean(x <= s[100]) > 0.05
    y = panel[:1990, 0]  # k = 99.5, fractional: the rules agree
    assert value_at_risk(y, 0.95) == riskfolio_var_hist(y, 0.05)


def test_quantstats_agrees_where_conventions_match(panel):
    s = pd.Series(panel[:, 0], index=pd.bdate_range("1995-01-02", periods=8000))
    assert sharpe_ratio(s.to_numpy()) == pytest.approx(qs.stats.sharpe(s), rel=1e-12)
    assert sortino_ratio(s.to_numpy()) == pytest.approx(qs.stats.sortino(s), rel=1e-12)
    assert annualized_volatility(s.to_numpy()) == pytest.approx(qs.stats.volatility(s), rel=1e-12)


def test_reference_values_from_the_research_note(panel):
    a0 = panel[:, 0]
    assert conditional_value_at_risk(a0, 0.95) == pytest.approx(0.0263526, abs=5e-7)
    assert conditional_value_at_risk(a0[:7993], 0.95) == pytest.approx(0.0263613, abs=5e-7)
    assert value_at_risk(a0, 0.99) == pytest.approx(0.0326722, abs=5e-7)
    assert conditional_value_at_risk(a0, 0.975) == pytest.approx(0.0334999, abs=5e-7)
    assert sharpe_ratio(a0) == pytest.approx(0.0517614, abs=5e-7)
    assert cagr(a0) == pytest.approx(-0.0054487, abs=5e-7)
    assert ulcer_index(a0) == pytest.approx(0.4278000, abs=5e-7)
    assert cdar(a0, 0.95) == pytest.approx(0.6682914, abs=5e-7)
    assert max_drawdown(a0) == pytest.approx(0.6897885, abs=5e-7)
    assert annualized_volatility(a0) == pytest.approx(0.1684389, abs=5e-7)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 1000), c=st.sampled_from([0.9, 0.95, 0.99]))
def test_weighted_cvar_equals_skfolio(seed, c):
    rng = np.random.default_rng(seed)
    x = rng.standard_t(4, 500) * 0.01
    w = rng.random(500)
    assert conditional_value_at_risk(x, c, sample_weight=w) == pytest.approx(
        skm.cvar(x, beta=c, sample_weight=w / w.sum()), rel=1e-12, abs=1e-14
    )
    assert value_at_risk(x, c, sample_weight=w) == pytest.approx(
        skm.value_at_risk(x, beta=c, sample_weight=w / w.sum()), abs=1e-14
    )


def test_cornish_fisher_is_gaussian_without_skew_or_excess_kurtosis():
    # symmetric sample with the normal's kurtosis: antithetic Gaussian quantiles
    u = (np.arange(1, 20001) - 0.5) / 20000
    x = 0.0003 + 0.01 * stats.norm.ppf(u)
    assert abs(skewness(x)) < 1e-10
    k_excess = kurtosis(x) - 3.0
    for c in (0.95, 0.99):
        cf_var = value_at_risk(x, c, "cornish_fisher")
        g_var = value_at_risk(x, c, "gaussian")
        assert cf_var == pytest.approx(g_var, rel=5e-3 + abs(k_excess))
        assert conditional_value_at_risk(x, c, "cornish_fisher") == pytest.approx(
            conditional_value_at_risk(x, c, "gaussian"), rel=5e-3 + abs(k_excess)
        )


def test_cornish_fisher_formula_exactly_at_zero_moments():
    from engine.risk.measures import _cornish_fisher_z

    z = stats.norm.ppf([0.01, 0.05])
    np.testing.assert_array_equal(_cornish_fisher_z(z, 0.0, 0.0), z)


@pytest.mark.parametrize("c", [0.9, 0.95, 0.975, 0.99, 0.999])
@pytest.mark.parametrize(("skew", "excess"), [(0.0, 0.0), (-0.8, 4.0), (0.5, 1.2), (-2.0, 12.0)])
def test_cornish_fisher_es_is_exact(c, skew, excess):
    """The closed form equals the tail mean of the CF quantile integrated numerically, both over
    z (density-weighted) and over u in (0, 1-c) (the definition), to 1e-12."""
    from scipy import integrate

    from engine.risk.measures import _cornish_fisher_tail_mean, _cornish_fisher_z

    alpha = 1.0 - c
    q = stats.norm.ppf(alpha)
    over_z, _ = integrate.quad(
        lambda z: _cornish_fisher_z(z, skew, excess) * stats.norm.pdf(z),
        -np.inf,
        q,
        epsabs=0.0,
        epsrel=1e-13,
        limit=200,
    )
    over_u, _ = integrate.quad(
        lambda u: _cornish_fisher_z(stats.norm.ppf(u), skew, excess),
        0.0,
        alpha,
        epsabs=0.0,
        epsrel=1e-13,
        limit=400,
    )
    exact = _cornish_fisher_tail_mean(alpha, skew, excess)
    assert exact == pytest.approx(over_z / alpha, rel=1e-12, abs=0)
    assert exact == pytest.approx(over_u / alpha, rel=1e-12, abs=0)
    # at zero skew and excess kurtosis it is the Gaussian tail mean -φ(q)/α
    if skew == excess == 0.0:
        assert exact == pytest.approx(-stats.norm.pdf(q) / alpha, rel=1e-15)


def test_cornish_fisher_es_on_a_sample_uses_the_closed_form(rng):
    x = rng.standard_t(5, 3000) * 0.01 + 0.0002
    mu, sd = x.mean(), x.std(ddof=1)
    s, k = skewness(x), kurtosis(x) - 3.0
    q = stats.norm.ppf(0.05)
    phi = stats.norm.pdf(q) / 0.05
    m1, m2, m3 = -phi, 1 - q * phi, -(q * q + 2) * phi
    tail = m1 + (m2 - 1) * s / 6 + (m3 - 3 * m1) * k / 24 - (2 * m3 - 5 * m1) * s * s / 36
    got = conditional_value_at_risk(x, 0.95, "cornish_fisher")
    assert got == pytest.approx(-(mu + sd * tail), rel=1e-13)
    both = conditional_value_at_risk(np.column_stack([x, 2 * x]), 0.95, "cornish_fisher")
    np.testing.assert_allclose(both, [got, 2 * got], rtol=1e-13)


def test_gaussian_closed_forms(rng):
    x = rng.normal(0.001, 0.02, 5000)
    mu, sd = x.mean(), x.std(ddof=1)
    z = stats.norm.ppf(0.01)
    assert value_at_risk(x, 0.99, "gaussian") == pytest.approx(-(mu + sd * z), rel=1e-12)
    assert conditional_value_at_risk(x, 0.99, "gaussian") == pytest.approx(
        -mu + sd * stats.norm.pdf(z) / 0.01, rel=1e-12
    )


def test_evt_recovers_the_tail_index():
    """Student-t(3) losses have tail index ξ = 1/3; GPD ES/VaR track the true quantiles."""
    rng = np.random.default_rng(7)
    x = -np.abs(stats.t.rvs(3, size=50_000, random_state=rng)) * 0.01
    losses = -x
    u = np.quantile(losses, 0.9)
    xi, _, _ = stats.genpareto.fit(losses[losses > u] - u, floc=0.0)
    assert xi == pytest.approx(1 / 3, abs=0.05)
    true_var = -np.quantile(x, 0.001)
    assert value_at_risk(x, 0.999, "evt") == pytest.approx(true_var, rel=0.1)


def test_student_t_estimator_is_sane(rng):
    x = stats.t.rvs(4, size=20_000, random_state=rng) * 0.01
    assert value_at_risk(x, 0.99, "student_t") == pytest.approx(value_at_risk(x, 0.99), rel=0.05)
    assert conditional_value_at_risk(x, 0.99, "student_t") > value_at_risk(x, 0.99, "student_t")


def test_kupiec_closed_form():
    n, x, p = 250, 7, 0.01
    lr, pval = kupiec_pof(n, x, p)
    expected = -2 * (
        (n - x) * np.log(1 - p) + x * np.log(p) - (n - x) * np.log(1 - x / n) - x * np.log(x / n)
    )
    assert lr == pytest.approx(expected, rel=1e-12)
    assert pval == pytest.approx(stats.chi2.sf(expected, 1), rel=1e-12)
    assert kupiec_pof(250, 0, 0.01)[0] == pytest.approx(-2 * 250 * np.log(0.99))  # 0·ln 0 = 0


def test_christoffersen_closed_form():
    hits = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1])
    n00, n01, n10, n11 = 9, 4, 3, 3  # counted pair by pair
    pi01, pi11, pi = n01 / (n00 + n01), n11 / (n10 + n11), (n01 + n11) / 19
    l0 = (n00 + n10) * np.log(1 - pi) + (n01 + n11) * np.log(pi)
    l1 = n00 * np.log(1 - pi01) + n01 * np.log(pi01) + n10 * np.log(1 - pi11) + n11 * np.log(pi11)
    lr, _ = christoffersen_independence(hits)
    assert lr == pytest.approx(-2 * (l0 - l1), rel=1e-12)
    lr0, _ = christoffersen_independence(np.array([0, 0, 1, 0, 0, 0, 1, 0, 0, 0]))  # n11 = 0
    assert np.isfinite(lr0)


def test_basel_traffic_light_table():
    zones = [basel_traffic_light(x)[0] for x in range(13)]
    assert zones == ["green"] * 5 + ["yellow"] * 5 + ["red"] * 3
    plus = [basel_traffic_light(x)[1] for x in range(13)]
    assert plus == [0, 0, 0, 0, 0, 0.40, 0.50, 0.65, 0.75, 0.85, 1.0, 1.0, 1.0]
    assert basel_traffic_light(4)[2] == pytest.approx(0.8922, abs=1e-4)


def test_basel_zone_is_on_the_99_percent_var_whatever_the_coverage_level(panel):
    """The traffic light counts 99% one-day VaR exceptions over the last 250 days; a 97.5%
    backtest keeps its own coverage tests but not its own (2.5x more) exceptions for Basel."""
    at99, _, hits99 = backtest_var(panel[:, 0], 0.99, 250)
    at975, _, hits975 = backtest_var(panel[:, 0], 0.975, 250)
    assert at975.basel_exceptions_250 == at99.basel_exceptions_250 == int(np.nansum(hits99[-250:]))
    assert at975.basel_zone == at99.basel_zone
    assert at975.ucits_overshootings_250 == at99.ucits_overshootings_250
    assert np.nansum(hits975[-250:]) > at975.basel_exceptions_250  # the 97.5% count is larger
    assert at975.exceptions != at99.exceptions  # coverage tests stay at their own level
    assert at975.expected == pytest.approx(0.025 * at975.observations)


def test_var_backtest_matches_the_research_note(panel):
    """Rolling 250-day HS VaR99 on asset A0: 114 exceptions over 7,750 days (research note)."""
    summary, var, hits = backtest_var(panel[:, 0], 0.99, 250)
    assert summary.observations == 7750
    assert summary.exceptions == 114
    assert summary.kupiec_lr == pytest.approx(15.16, abs=0.01)
    assert summary.christoffersen_lr == pytest.approx(2.41, abs=0.01)
    assert summary.conditional_coverage_lr == pytest.approx(17.57, abs=0.01)
    assert summary.kupiec_p < 0.01  # historical VaR99 on 250 days under-covers
    assert np.isnan(var[:250]).all() and np.isfinite(var[250:]).all()
    np.testing.assert_array_equal(hits[250:], (-panel[250:, 0] > var[250:]).astype(float))


def test_rolling_tail_equals_window_by_window(panel):
    x = panel[:600, :2]
    out = rolling_tail(x, 250, 0.99, conditional=True)
    for t in (249, 400, 599):
        np.testing.assert_allclose(
            out[t], conditional_value_at_risk(x[t - 249 : t + 1], 0.99), rtol=1e-13
        )
    assert np.isnan(out[:249]).all()


def test_probability_weighted_with_zero_one_weights_equals_hard_labels(rng):
    r = rng.normal(0, 0.01, 2000)
    states = (rng.random(2000) < 0.25).astype(int)
    probs = np.eye(2)[states]
    hard = state_risk_table(r, states, ["Calm", "Turbulent"], 0.95)
    soft = state_risk_table(
        r, None, ["Calm", "Turbulent"], 0.95, probabilities=probs, weighting="probability"
    )
    for col in ("Observations", "Share", "Mean (ann.)", "Volatility (ann.)", "VaR", "CVaR"):
        np.testing.assert_allclose(soft[col], hard[col], rtol=1e-12)


def test_state_covariance_with_zero_one_weights_is_the_sample_covariance(panel):
    mask = np.zeros(8000)
    mask[:3000] = 1.0
    np.testing.assert_allclose(
        state_covariance(panel[:, :3], mask), np.cov(panel[:3000, :3], rowvar=False), rtol=1e-10
    )


def test_bootstrap_interval_brackets_the_estimate_and_shrinks_with_data(rng):
    small, big = rng.standard_t(4, 200) * 0.01, rng.standard_t(4, 5000) * 0.01
    lo, hi = bootstrap_interval(small, 0.95)
    assert lo < conditional_value_at_risk(small, 0.95) < hi
    lo2, hi2 = bootstrap_interval(big, 0.95)
    assert hi2 - lo2 < hi - lo
    assert bootstrap_interval(small, 0.95, seed=3) == bootstrap_interval(small, 0.95, seed=3)


def test_mixture_forecast_reduces_to_one_normal_and_fattens_the_tail():
    v, es = mixture_var_es([1.0, 0.0], [0.0005, -0.002], [0.01, 0.03], 0.99)
    z = stats.norm.ppf(0.01)
    assert v == pytest.approx(-(0.0005 + 0.01 * z), rel=1e-10)
    assert es == pytest.approx(-0.0005 + 0.01 * stats.norm.pdf(z) / 0.01, rel=1e-10)
    v_mix, es_mix = mixture_var_es([0.9, 0.1], [0.0005, -0.002], [0.01, 0.03], 0.99)
    assert v_mix > v and es_mix > v_mix


def test_square_root_of_time():
    assert scale_to_horizon(0.02, 10) == pytest.approx(0.02 * np.sqrt(10))
    with pytest.raises(InputError, match="horizon"):
        scale_to_horizon(0.02, 0)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: conditional_value_at_risk([0.01, np.nan, 0.02]), "returns"),
        (lambda: value_at_risk(np.ones(10), 1.5), "confidence"),
        (lambda: value_at_risk(np.ones(10) * 0.01, 0.95, "magic"), "estimator"),
        (lambda: value_at_risk(np.linspace(-0.01, 0.01, 100), 0.95, "evt"), "returns"),
        (
            lambda: value_at_risk(np.linspace(-0.01, 0.01, 100), 0.95, sample_weight=np.ones(5)),
            "sample_weight",
        ),
        (
            lambda: value_at_risk(
                np.linspace(-0.01, 0.01, 100), 0.95, "student_t", sample_weight=np.ones(100)
            ),
            "sample_weight",
        ),
        (lambda: annualized_volatility([0.01]), "returns"),
        (lambda: conditional_value_at_risk(np.linspace(-0.01, 0.01, 50), 0.99), "returns"),
        (lambda: value_at_risk(np.full(500, 0.001), 0.95, "cornish_fisher"), "returns"),
        (lambda: backtest_var(np.zeros(100), 0.99, 250), "returns"),
    ],
)
def test_bad_input_names_the_argument(call, argument):
    with pytest.raises(InputError) as err:
        call()
    assert err.value.argument == argument


def test_rolling_var_and_volatility_equal_window_by_window(panel):
    from engine.risk import rolling_volatility

    x = panel[:700, :3]
    var = rolling_tail(x, 250, 0.99)
    vol = rolling_volatility(x, 250)
    for t in (249, 500, 699):
        np.testing.assert_array_equal(var[t], value_at_risk(x[t - 249 : t + 1], 0.99))
        np.testing.assert_allclose(vol[t], annualized_volatility(x[t - 249 : t + 1]), rtol=1e-10)


def test_too_short_for_the_tail_is_refused_with_the_count():
    with pytest.raises(InputError, match=r"need at least 100 observations for a 0\.99 tail"):
        conditional_value_at_risk(np.linspace(-0.01, 0.01, 50), 0.99)
    assert conditional_value_at_risk(np.linspace(-0.01, 0.01, 100), 0.99) == pytest.approx(0.01)


def test_regime_mixture_forecast_uses_the_next_day_probabilities(rng):
    from engine.risk import regime_mixture_forecast

    X = rng.normal(0, 0.01, (1000, 2))
    states = np.r_[np.zeros(700, int), np.ones(300, int)]
    X[states == 1] *= 3
    A = np.array([[0.98, 0.02], [0.05, 0.95]])
    var_calm, es_calm, p = regime_mixture_forecast(
        X, np.array([0.5, 0.5]), states, np.array([1.0, 0.0]), A
    )
    np.testing.assert_allclose(p, [0.98, 0.02])
    var_turb, _, _ = regime_mixture_forecast(
        X, np.array([0.5, 0.5]), states, np.array([0.0, 1.0]), A
    )
    assert var_turb > 2 * var_calm
    assert es_calm > var_calm
