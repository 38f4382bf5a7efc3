"""The Excel functions, called the way Excel calls them.

- classic: xlwings' BSD decorators + conversion pipeline (COM marshalling stubbed);
- Office.js: xlwings.server.custom_functions_call on the JSON payload the add-in posts
  (`noncommercial` key, tests only), dates as serial numbers, errors as XlwingsError (HTTP 400).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xlfuncs
from engine.regimes import fit_regimes
from engine.risk import conditional_value_at_risk
from tests.conftest import excel_range
from tests.excel_paths import NA, OfficeJS, call_classic, classic_module

FUNCTIONS = (
    "regime_prob",
    "regime_state",
    "regime_current",
    "regime_summary",
    "regime_transition",
    "state_cvar",
    "regime_weights",
    "risk_measure",
    "engine_info",
)


@pytest.fixture(scope="module")
def classic():
    return classic_module()


@pytest.fixture(scope="module")
def officejs():
    h = OfficeJS()
    yield h
    h.close()


@pytest.fixture(scope="module")
def small(multi_returns):
    return multi_returns.iloc[-1500:]


def test_classic_metadata_is_the_catalogue(classic):
    """The VBA wrappers xlwings writes for classic UDFs carry the catalogue's names, argument
    text, optional defaults and converters; ranges reach the parser raw (speed)."""
    from xlfuncs.functions import CATALOGUE

    for entry in CATALOGUE.values():
        info = getattr(classic, entry.python_name).__xlfunc__
        assert info["name"] == entry.python_name
        assert info["ret"]["doc"] == entry.description
        assert [a["name"] for a in info["args"]] == [a.name for a in entry.args]
        assert [a["doc"] for a in info["args"]] == [a.doc for a in entry.args]
        assert ["optional" in a for a in info["args"]] == [not a.required for a in entry.args]
        raw = [a["options"].get("convert") == "raw" for a in info["args"]]
        assert raw == [a.kind == "range" for a in entry.args]


def test_classic_regime_prob_with_datetimes(classic, small):
    out = call_classic(classic.regime_prob, excel_range(small))
    assert out[0] == ["Date", "Calm", "Turbulent"]
    assert len(out) == len(small) + 1
    assert out[1][0] == small.index[0].to_pydatetime()
    expected = fit_regimes(small, 2, "hmm", 0).filtered.to_numpy()
    np.testing.assert_allclose(np.array([r[1:] for r in out[1:]], float), expected, atol=1e-15)


def test_classic_error_cell_gives_the_message(classic, small):
    rng_ = excel_range(small)
    rng_[7][2] = NA  # pywin32 hands #N/A over as this integer
    out = call_classic(classic.regime_prob, rng_)
    assert out == [
        [
            "REGIME_PROB: returns: row 8, column 'GOLD' holds the error #N/A; every cell must be a "
            "number (fill the gap or remove the row)"
        ]
    ]


def test_classic_state_cvar_table_and_single_state(classic, small):
    table = call_classic(classic.state_cvar, excel_range(small), None, 0.99)
    assert table[0] == ["State", "CVaR", "Observations"]
    res = fit_regimes(small, 2, "hmm", 0)
    port = small.to_numpy() @ np.full(3, 1 / 3)
    calm = port[res.states == 0]
    assert table[1][1] == pytest.approx(conditional_value_at_risk(calm, 0.99), rel=1e-14)
    assert table[1][2] == calm.size
    single = call_classic(classic.state_cvar, excel_range(small), None, 0.99, "Turbulent")
    assert single == [[pytest.approx(table[2][1], rel=1e-14)]]  # a 1x1 array to Excel


@pytest.fixture(scope="module")
def serial_range(small):
    return excel_range(small, serial_dates=True)


def test_officejs_regime_prob_with_serial_dates(officejs, serial_range, small):
    r = officejs.call("regime_prob", serial_range)
    out = r["result"]
    assert out[0] == ["Date", "Calm", "Turbulent"]
    first = out[1][0]  # dates go back to Excel as date-formatted numbers
    assert first["type"] == "FormattedNumber"
    assert first["basicValue"] == serial_range[1][0]
    expected = fit_regimes(small, 2, "hmm", 0).filtered.to_numpy()
    np.testing.assert_allclose(np.array([row[1:] for row in out[1:]], float), expected, atol=1e-15)


def test_officejs_blank_optional_arguments_take_defaults(officejs, serial_range):
    a = officejs.call("state_cvar", serial_range, [[None]], [[None]], [[None]])
    b = officejs.call("state_cvar", serial_range, [[None]], 0.95)
    assert a["result"] == b["result"]


def test_officejs_bad_input_is_an_xlwings_error_with_the_fix(officejs, serial_range):
    r = officejs.call("state_cvar", serial_range, [[None]], 95)
    assert r["type"] == "XlwingsError"
    assert r["error"] == "STATE_CVAR: confidence: must be between 0.5 and 1 (got 95). Write 0.95."
    holes = [row[:] for row in serial_range]
    holes[12][1] = None  # an empty cell inside the data
    r = officejs.call("regime_prob", holes)
    assert r["type"] == "XlwingsError"
    assert "row 13, column 'SP500' holds a blank cell" in r["error"]
    text = [row[:] for row in serial_range]
    text[5][3] = "n/a"
    assert "'n/a'" in officejs.call("regime_weights", text)["error"]


def test_officejs_weights_as_row_or_column(officejs, serial_range):
    row = officejs.call("risk_measure", serial_range, "cvar", 0.95, [[0.5, 0.3, 0.2]])
    col = officejs.call("risk_measure", serial_range, "cvar", 0.95, [[0.5], [0.3], [0.2]])
    assert row["result"] == col["result"]
    bad = officejs.call("risk_measure", serial_range, "cvar", 0.95, [[50, 30, 20]])
    assert "Write them as fractions" in bad["error"]
    short = officejs.call("risk_measure", serial_range, "cvar", 0.95, [[0.5, 0.5]])
    assert "has 2 values but the returns have 3 assets" in short["error"]


def test_officejs_regime_weights_table(officejs, serial_range):
    out = officejs.call("regime_weights", serial_range, [[None]], 2, [[None]], 0.6)["result"]
    assert out[0] == ["Asset", "Calm", "Turbulent", "Now"]
    w = np.array([r[1:] for r in out[1:]], float)
    np.testing.assert_allclose(w.sum(axis=0), 1.0, atol=1e-9)
    assert w.max() <= 0.6 + 1e-9 and w.min() >= -1e-12


def test_officejs_metadata_lists_functions_and_argument_descriptions(officejs):
    meta = {f["name"]: f for f in officejs.meta()["functions"]}
    for name in FUNCTIONS:
        assert name.upper() in meta
    params = {p["name"]: p for p in meta["STATE_CVAR"]["parameters"]}
    assert params["confidence"]["description"].startswith("Confidence level")
    assert params["confidence"]["optional"] is True
    assert "regime" in meta["REGIME_PROB"]["description"].lower()


def test_engine_info_is_a_table():
    out = xlfuncs.engine_info()
    assert out[0] == ["Item", "Value"]
    items = dict((r[0], r[1]) for r in out[1:])
    assert items["default seed"] == 0
    assert "hmmlearn" in items


def test_percent_text_and_trailing_blank_rows_are_handled(small):
    rng_ = excel_range(small.iloc[-400:])
    rng_[3][1] = f"{rng_[3][1] * 100:.6f}%"  # a number stored as percent text
    rng_ += [[None, None, None, None]] * 5  # a range selected longer than the data
    out = xlfuncs.risk_measure(rng_, "volatility")
    assert out[0] == ["SP500", "GOLD", "WTI"]
    ref = xlfuncs.risk_measure(excel_range(small.iloc[-400:]), "volatility")
    assert out[1][0] == pytest.approx(ref[1][0], rel=1e-6)


def test_unsorted_dates_are_sorted_and_duplicates_refused(small):
    rng_ = excel_range(small.iloc[-300:])
    body = rng_[1:]
    shuffled = [rng_[0], *body[::-1]]
    assert xlfuncs.risk_measure(shuffled, "cvar") == xlfuncs.risk_measure(rng_, "cvar")
    dup = [rng_[0], *body, body[0]]
    msg = xlfuncs.risk_measure(dup, "cvar")[0][0]
    assert msg.startswith("RISK_MEASURE: returns: the date") and "appears twice" in msg


cells = st.one_of(
    st.none(),
    st.just(""),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-10, 60000),
    st.text(max_size=6),
    st.sampled_from(["#N/A", "#DIV/0!", "#VALUE!"]),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)),
)


@settings(max_examples=60, deadline=None)
@given(
    grid=st.lists(st.lists(cells, min_size=1, max_size=4), min_size=1, max_size=8),
    conf=st.one_of(st.none(), cells),
    measure=st.sampled_from(["cvar", "var", "bogus", None]),
)
def test_fuzzed_ranges_give_a_table_or_a_message(grid, conf, measure):
    out = xlfuncs.risk_measure(grid, measure, conf)
    if isinstance(out, list):
        assert all(isinstance(r, list) for r in out)
        if len(out) == 1 and len(out[0]) == 1 and isinstance(out[0][0], str):
            assert out[0][0].startswith("RISK_MEASURE: ") and len(out[0][0]) <= 255
            assert "internal error" not in out[0][0]
    else:
        assert isinstance(out, float) and math.isfinite(out)


@pytest.mark.parametrize(
    "method", ["hmm", "jump", "gmm", "kmeans", "markov_switching", "supervised", "neural"]
)
def test_officejs_every_regime_function_takes_every_method(officejs, serial_range, method):
    cur = officejs.call("regime_current", serial_range, 2, method)["result"]
    assert cur[0][1:] == ["State", "Calm", "Turbulent"]
    assert cur[1][1] in ("Calm", "Turbulent")
    assert sum(cur[1][2:]) == pytest.approx(1.0)
    summ = officejs.call("regime_summary", serial_range, 2, method)["result"]
    assert [r[0] for r in summ] == ["State", "Calm", "Turbulent", "Log-likelihood", "BIC", "Method"]
    assert summ[1][2] < summ[2][2]  # volatility: Calm below Turbulent
    trans = officejs.call("regime_transition", serial_range, 2, method)["result"]
    assert trans[0] == ["From \\ To", "Calm", "Turbulent"]
    np.testing.assert_allclose([sum(r[1:]) for r in trans[1:]], 1.0)
    states = officejs.call("regime_state", serial_range, 2, method)["result"]
    assert states[0] == ["Date", "State"]
    assert {r[1] for r in states[1:]} <= {"Calm", "Turbulent", ""}


def test_regime_state_agrees_with_regime_prob(small):
    probs = xlfuncs.regime_prob(excel_range(small), 3)
    states = xlfuncs.regime_state(excel_range(small), 3)
    labels = probs[0][1:]
    for p, s in zip(probs[1:50], states[1:50], strict=True):
        assert s[1] == labels[int(np.argmax(p[1:]))]


def test_smoothed_needs_a_probabilistic_detector(small):
    msg = xlfuncs.regime_prob(excel_range(small), 2, "kmeans", True)[0][0]
    assert msg == (
        "REGIME_PROB: smoothed: the kmeans detector has no smoothed probabilities; "
        "use hmm or markov_switching"
    )


@pytest.mark.parametrize(
    "estimator", ["historical", "gaussian", "student_t", "cornish_fisher", "evt"]
)
def test_officejs_state_var_and_cvar_by_estimator(officejs, serial_range, estimator):
    if estimator == "evt":  # 1,500 days leave the turbulent state too few tail losses
        err = officejs.call("state_var", serial_range, [[None]], 0.99, [[None]], estimator)["error"]
        assert err.startswith(
            "STATE_VAR: state: Turbulent: the evt estimator needs at least 30 losses"
        )
        return
    var = officejs.call("state_var", serial_range, [[None]], 0.99, [[None]], estimator)["result"]
    cvar = officejs.call("state_cvar", serial_range, [[None]], 0.99, [[None]], estimator)["result"]
    assert var[0] == ["State", "VaR", "Observations"] and cvar[0][1] == "CVaR"
    for v, c in zip(var[1:], cvar[1:], strict=True):
        assert 0 < v[1] <= c[1]
    assert var[1][1] < var[2][1]  # the calm state's VaR is the smaller


def test_officejs_probability_weighting_reports_effective_observations(officejs, serial_range):
    out = officejs.call(
        "state_cvar",
        serial_range,
        [[None]],
        0.95,
        [[None]],
        [[None]],
        [[None]],
        [[None]],
        [[None]],
        "probability",
    )["result"]
    assert out[0] == ["State", "CVaR", "Effective observations"]
    assert all(isinstance(r[2], float) for r in out[1:])


def test_officejs_state_stats_corr_and_backtest(officejs, serial_range, small):
    stats_ = officejs.call("state_stats", serial_range)["result"]
    assert stats_[0][-2:] == ["CVaR 90% CI low", "CVaR 90% CI high"]
    for row in stats_[1:]:
        assert row[-2] <= row[6] <= row[-1]  # CVaR inside its bootstrap interval
    corr = officejs.call("state_corr", serial_range, "Turbulent")["result"]
    assert corr[0] == ["Turbulent", "SP500", "GOLD", "WTI"]
    m = np.array([r[1:] for r in corr[1:]], float)
    np.testing.assert_allclose(m, m.T)
    np.testing.assert_allclose(np.diag(m), 1.0)
    bt = dict(officejs.call("var_backtest", serial_range)["result"][1:])
    assert bt["Basel zone"] in ("green", "yellow", "red")
    assert bt["Observations"] == len(small) - 250  # the first forecast needs 250 days
    bad = officejs.call("var_backtest", serial_range, [[None]], 0.99, 3)
    assert bad["error"] == "VAR_BACKTEST: window: must be between 20 and 5000 (got 3)"


@pytest.mark.parametrize(
    "objective", ["min_variance", "min_cvar", "max_sharpe", "risk_parity", "inverse_vol", "equal"]
)
def test_officejs_static_and_regime_weights_for_every_objective(officejs, serial_range, objective):
    st = officejs.call("static_weights", serial_range, objective, 0.6)["result"]
    assert st[0] == ["Asset", "Weight"]
    w = np.array([r[1] for r in st[1:]], float)
    assert w.sum() == pytest.approx(1.0) and w.max() <= 0.6 + 1e-9
    rw = officejs.call("regime_weights", serial_range, objective, 2, [[None]], 0.6)["result"]
    assert rw[0] == ["Asset", "Calm", "Turbulent", "Now"]
    np.testing.assert_allclose(np.array([r[1:] for r in rw[1:]], float).sum(axis=0), 1.0, atol=1e-9)


def test_officejs_backtest_and_stats_share_one_run(officejs, serial_range):
    bt = officejs.call("backtest", serial_range)["result"]
    assert bt[0] == ["Date", "Static NAV", "Dynamic NAV", "Regime", "Dynamic turnover"]
    assert len(bt) == len(serial_range)
    assert bt[1][1] == pytest.approx(1.0) and bt[1][2] == pytest.approx(
        1.0
    )  # cash before the first trade
    stats_ = officejs.call("backtest_stats", serial_range)["result"]
    assert stats_[0] == ["Metric", "Static", "Dynamic"]
    metrics = [r[0] for r in stats_[1:]]
    assert metrics[:6] == ["CAGR", "Volatility", "Sharpe", "Sortino", "Max drawdown", "Calmar"]
    bad = officejs.call("backtest", serial_range, [[None]], [[None]], 10, [[None]], 0)
    assert bad["error"] == "BACKTEST: delay: must be between 1 and 20 (got 0)"


def test_officejs_stress_test_historical_and_hypothetical(officejs, serial_range):
    hist = officejs.call("stress_test", serial_range, [[0.6, 0.25, 0.15]])["result"]
    assert hist[0] == ["Scenario", "Portfolio loss", "Worst asset", "Regime at the time"]
    assert "2008-09 financial crisis" in [r[0] for r in hist[1:]]
    hypo = officejs.call(
        "stress_test",
        serial_range,
        [[0.6, 0.25, 0.15]],
        [["Scenario", "SP500", "GOLD", "WTI"], ["Equity crash", -0.3, 0.05, -0.2]],
    )["result"]
    assert hypo[1][0] == "Equity crash"
    assert hypo[1][1] == pytest.approx(0.6 * 0.3 - 0.25 * 0.05 + 0.15 * 0.2)


def test_officejs_returns_from_prices(officejs):
    prices = [
        ["Date", "A", "B"],
        [45292.0, 100.0, 50.0],
        [45293.0, 110.0, 49.0],
        [45294.0, 99.0, 49.0],
    ]
    out = officejs.call("returns", prices)["result"]
    assert out[0] == ["Date", "A", "B"]
    assert out[1][0]["basicValue"] == 45293.0
    assert out[1][1:] == pytest.approx([0.1, -0.02])
    assert out[2][1:] == pytest.approx([-0.1, 0.0])
    log = officejs.call("returns", prices, "log")["result"]
    assert log[1][1] == pytest.approx(np.log(1.1))
    bad = officejs.call("returns", [["Date", "A"], [45292.0, 100.0], [45293.0, -5.0]])
    assert bad["error"] == (
        "RETURNS: prices: prices must be strictly positive ('A' is -5 on 2024-01-02): "
        "are these returns rather than prices?"
    )


def test_office_js_error_dicts_and_com_error_codes_are_named(classic, small):
    """Raw ranges: Office.js sends error cells as dicts, pywin32 as COM integers."""
    from xlfuncs.convert import returns_frame

    rng_ = excel_range(small.iloc[-300:])
    rng_[4][1] = {"type": "Error", "basicValue": "#DIV/0!", "errorType": "Div0"}
    with pytest.raises(Exception, match="row 5, column 'SP500' holds the error #DIV/0!"):
        returns_frame(rng_)
    rng_ = excel_range(small.iloc[-300:])
    rng_[9][3] = -2146826273  # #VALUE! as pywin32 delivers it: must not be read as a number
    with pytest.raises(Exception, match="holds the error #VALUE!"):
        returns_frame(rng_)
    tz = [[None, "A"], *([dt.datetime(2024, 1, d, tzinfo=dt.UTC), 0.01 * d] for d in range(1, 31))]
    assert returns_frame(tz).index.tz is None  # COM datetimes carry a timezone


def test_silent_inputs_get_a_message(small):
    """What a desk found: a NaN confidence used the default, a return of 1E+300 gave a blank
    volatility, one argument too many read 'internal error', and CVaR over prices came back as
    -839 with no word. Each now names the argument and the fix."""
    rows = excel_range(small)
    msg = xlfuncs.state_cvar(rows, None, float("nan"))[0][0]
    assert (
        msg == "STATE_CVAR: confidence: is not a number (NaN); leave the cell empty for the default"
    )
    huge = [r[:] for r in rows]
    huge[50][1] = 1e300
    msg = xlfuncs.risk_measure(huge, "volatility")[0][0]
    assert msg.startswith("RISK_MEASURE: returns: 'SP500' has 1e+300 on ")
    assert "not a return" in msg
    msg = xlfuncs.state_cvar(rows, None, 0.95, *[None] * 7, "x")[0][0]
    assert msg.startswith("STATE_CVAR: arguments: takes at most 10 (returns, weights,")
    assert msg.endswith("got 11")
    assert xlfuncs.engine_info(1) == [["ENGINE_INFO: arguments: takes at most 0 (none); got 1"]]
    prices = (1 + small).cumprod() * 100
    msg = xlfuncs.state_cvar(excel_range(prices))[0][0]
    assert msg.startswith("STATE_CVAR: returns: 'SP500' looks like prices, not returns")
    assert msg.endswith("use RETURNS(prices) first")


@pytest.mark.slow
@settings(max_examples=4, deadline=None, derandomize=True)
@given(cut=st.integers(400, 880))
def test_appending_rows_never_changes_backtest_history(cut):
    """Property over cut points: every row of BACKTEST over the first `cut` days (window 250)
    equals that row of BACKTEST over all 900 (dates, NAVs, states, turnover)."""
    from engine.data import simulate_regime_returns

    sim = simulate_regime_returns(900, n_assets=2, seed=11).returns
    args = (None, None, None, "quarterly", None, None, None, None, 250)
    full = _FULL_BACKTEST.setdefault("rows", xlfuncs.backtest(excel_range(sim), *args))
    part = xlfuncs.backtest(excel_range(sim.iloc[:cut]), *args)
    assert part[0] == full[0] == ["Date", "Static NAV", "Dynamic NAV", *full[0][3:]]
    assert len(part) == cut + 1 and part[1:] == full[1 : cut + 1]


_FULL_BACKTEST: dict[str, list] = {}


def test_backtest_past_does_not_depend_on_the_range_length():
    """Appending rows never changes an earlier date's NAV: the window is fixed (756 by default),
    not a share of the range (min(756, n/3) changed NAVs by 3.1e-2 when 3,000 days became 2,200)."""
    from engine.data import simulate_regime_returns

    sim = simulate_regime_returns(1500, n_assets=2, seed=11).returns
    args = (None, None, None, "quarterly")
    full = xlfuncs.backtest(excel_range(sim), *args)
    cut = xlfuncs.backtest(excel_range(sim.iloc[:1000]), *args)
    assert full[0][:3] == ["Date", "Static NAV", "Dynamic NAV"]
    np.testing.assert_array_equal(
        np.array([r[1:3] for r in cut[1:]], float), np.array([r[1:3] for r in full[1:1001]], float)
    )
    short = xlfuncs.backtest_stats(excel_range(sim.iloc[:500]))[0][0]
    assert short.startswith("BACKTEST_STATS: returns: has 500 rows; a 756-day window needs")


def test_features_range_feeds_the_regime_functions():
    """A VIX-like range (Date + one named column, its own blanks) matched by date: it changes
    the fit, REGIME_SUMMARY names the features, and bad ranges get messages naming the series
    and the dates."""
    from engine.data import simulate_regime_returns, simulate_state_indicator

    sim = simulate_regime_returns(700, vols=np.array([0.008, 0.012]), n_assets=2, seed=3)
    vix = simulate_state_indicator(sim.states, seed=3)
    rng = excel_range(sim.returns, serial_dates=True)
    feat = excel_range(vix.to_frame(), serial_dates=True)
    feat[10][1] = None  # a day without a value: the one before is used
    without = xlfuncs.regime_prob(rng, None, "gmm")
    with_vix = xlfuncs.regime_prob(rng, None, "gmm", None, None, feat)
    assert with_vix[0] == without[0] and len(with_vix) == len(without)
    assert with_vix[1:] != without[1:]
    summary = {r[0]: r[1] for r in xlfuncs.regime_summary(rng, None, "jump", None, feat)}
    assert summary["Features"] == "ewm_log_vol_1, ewm_log_vol_3, ewm_log_vol_10, level_VIX"
    assert summary["Feature data"].startswith("VIX: daily (median spacing 1 days)")
    assert "1 return dates use an earlier value" in summary["Feature data"]  # the blank
    current = xlfuncs.regime_current(rng, None, "kmeans", None, feat)
    assert current[0][:2] == ["Date", "State"]
    # every function that fits regimes takes the range (its last argument)
    assert xlfuncs.regime_weights(rng, None, None, "gmm", None, None, feat)[0][0] == "Asset"
    assert xlfuncs.state_stats(rng, None, None, None, "gmm", None, feat)[0][0] == "State"
    assert not str(xlfuncs.state_corr(rng, None, None, "gmm", None, feat)[0][0]).startswith("STATE")
    assert xlfuncs.regime_transition(rng, None, "gmm", None, feat) != xlfuncs.regime_transition(
        rng, None, "gmm"
    )
    assert xlfuncs.regime_current(rng, None, "markov_switching", None, feat)[0][0] == (
        "REGIME_CURRENT: features: markov_switching models returns only; leave features empty "
        "or pick hmm"
    )
    late = excel_range(vix.iloc[100:].to_frame(), serial_dates=True)
    msg = xlfuncs.regime_current(rng, None, "jump", None, late)[0][0]
    assert msg.startswith("REGIME_CURRENT: features: series 'VIX' is known from 2000-05-22")
    text = [r[:] for r in feat]
    text[50][1] = "n/a"
    msg = xlfuncs.state_cvar(rng, None, 0.95, None, None, None, "gmm", None, None, text)[0][0]
    assert msg.startswith("STATE_CVAR: features: row 51, column 'VIX' holds 'n/a'")
    undated = [["VIX"], *([v] for v in vix.tolist())]
    msg = xlfuncs.regime_state(rng, None, "gmm", None, undated)[0][0]
    assert msg == (
        "REGIME_STATE: features: needs a Date column, and so do the returns, to match them by date"
    )
