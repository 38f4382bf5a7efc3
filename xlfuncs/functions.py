"""The Excel function catalogue (SPEC §4): thin bodies over the engine, and `CATALOGUE`.

Each body parses its ranges (`xlfuncs.convert`), calls the engine (fits are cached by
content, so many cells over one range fit once), and returns a table with a header row.
`CATALOGUE` (at the end) declares each function's Excel name, arguments and argument text;
`xlfuncs` turns every entry into an xlwings UDF inside the error guard (`xlfuncs.catalogue`).
Adding a function: a body here and one entry in `CATALOGUE`.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd

import engine
from engine import DEFAULT_SEED
from engine.allocation import OBJECTIVES, optimal_weights, regime_weight_table
from engine.backtest.compare import compare_static_dynamic
from engine.backtest.simulator import REBALANCE
from engine.data.exogenous import align_exogenous
from engine.data.returns import RETURN_METHODS, prices_to_returns
from engine.errors import InputError
from engine.features import VOLATILITY_FEATURES, FeatureSpec
from engine.regimes import DETECTORS, FIT_CACHE, fit_regimes, state_index
from engine.risk import (
    CONFIDENCE_MEASURES,
    ESTIMATORS,
    RISK_MEASURES,
    WEIGHTINGS,
    bootstrap_interval,
    check_confidence,
    covariance_to_correlation,
    state_covariance,
    state_risk_table,
)
from engine.validation.stress import historical_stress, hypothetical_shock
from engine.validation.var_backtest import backtest_var
from xlfuncs.catalogue import Arg, ExcelFunction, catalogue, variant
from xlfuncs.convert import (
    check_simple_returns,
    is_blank_range,
    labelled_table,
    optional_bool,
    optional_int,
    optional_number,
    optional_text,
    returns_frame,
    weights_vector,
)
from xlfuncs.guard import spill

# Excel arguments arrive as whatever the cell or range holds: the catalogue says which are
# ranges, and the bodies parse them (xlfuncs.convert), so they carry no annotation.
Table = list[list[Any]]

# -- arguments shared by several functions (the text the function wizard shows) --------------
RETURNS = Arg(
    "returns",
    "Returns range: header row of asset names, optional first column of dates",
    "range",
    required=True,
)
N_STATES = Arg("n_states", "Number of regimes: 2 (default), 3 or 4")
METHOD = Arg("method", f"Detector: {', '.join(DETECTORS)} (default hmm)")
SEED = Arg("seed", "Random seed (default 0); same seed, same result")
REGIME = (N_STATES, METHOD, SEED)
FEATURES = Arg(
    "features",
    "Market-state series (VIX, rates, spreads): Date column + one named column each, matched "
    "by date; each enters the model as its level",
    "range",
)
CONFIDENCE = Arg("confidence", "Confidence level, e.g. 0.95 (default) or 0.99")
WEIGHTS = Arg(
    "weights",
    "Portfolio weights, a row or column summing to 1 (default: equal weights)",
    "range",
)
OBJECTIVE = Arg("objective", f"Allocation rule: {', '.join(OBJECTIVES)} (default min_variance)")
MAX_WEIGHT = Arg("max_weight", "Largest weight per asset, e.g. 0.4 (default 1)")
STATE_TAIL_ARGS = (
    RETURNS,
    WEIGHTS,
    CONFIDENCE,
    Arg("state", "One state (number 1..K or label, e.g. Crisis); blank: all states"),
    Arg("estimator", "historical (default), gaussian, student_t, cornish_fisher or evt"),
    *REGIME,
    Arg(
        "weighting",
        "hard (default): days in the state; probability: every day weighted by its probability",
    ),
    FEATURES,
)
BACKTEST_ARGS = (
    RETURNS,
    Arg(
        "static_weights",
        "Static weights (row or column summing to 1); blank: the objective's",
        "range",
    ),
    OBJECTIVE,
    Arg("cost_bps", "Trading cost in basis points, one way (default 10)"),
    Arg("rebalance", "daily, weekly, monthly (default), quarterly or regime_change"),
    Arg("delay", "Days between decision and trade (default 1, at least 1)"),
    *REGIME,
    Arg(
        "window",
        "Trailing days each decision uses (default 756); fixed, so new rows never change past ones",
    ),
)
BACKTEST_WINDOW = 756


def _returns(values: Any) -> Any:
    return check_simple_returns(returns_frame(values, "returns"))


def returns(prices, method=None) -> Table:
    """Periodic returns from a price table (one row fewer: the first date has no return)."""
    frame = returns_frame(prices, "prices")
    out = prices_to_returns(frame, optional_text(method, "method", "simple", RETURN_METHODS))
    return spill([frame.index.name, *out.columns], _date_cells(out.index), out.to_numpy())


def _regime_args(n_states: Any, method: Any, seed: Any) -> tuple[int, str, int]:
    return (
        optional_int(n_states, "n_states", 2, 2, 4),
        optional_text(method, "method", "hmm", tuple(DETECTORS)),
        optional_int(seed, "seed", DEFAULT_SEED, 0, 2**31 - 1),
    )


def _exogenous(frame: pd.DataFrame, features: Any) -> tuple[pd.DataFrame, Any] | None:
    """The features range on the returns' dates (as of each date; see align_exogenous) and
    what alignment did (values carried over blank or missing days)."""
    if features is None or is_blank_range(features):
        return None
    raw = returns_frame(features, "features", allow_blanks=True)
    if not isinstance(raw.index, pd.DatetimeIndex) or not isinstance(frame.index, pd.DatetimeIndex):
        raise InputError(
            "features", "needs a Date column, and so do the returns, to match them by date"
        )
    return align_exogenous(raw, frame.index, arg="features")


def _fit_with(
    frame: pd.DataFrame, n_states: Any, method: Any, seed: Any, features: Any
) -> tuple[Any, Any]:
    """fit_regimes on the parsed returns; a features range adds each series' level to the
    detector's default volatility features (hmm then models features, not returns). Returns
    the fit and what aligning the features did (None without features)."""
    k, m, s = _regime_args(n_states, method, seed)
    given = _exogenous(frame, features)
    if given is None:
        return fit_regimes(frame, k, m, s), None
    exog, report = given
    if m == "markov_switching":
        raise InputError(
            "features", "markov_switching models returns only; leave features empty or pick hmm"
        )
    specs = (*VOLATILITY_FEATURES, *(FeatureSpec("level", series=c) for c in exog.columns))
    return fit_regimes(frame, k, m, s, exogenous=exog, features=specs), report


def _date_cells(index: Any) -> list[Any]:
    if isinstance(index, pd.DatetimeIndex):
        return list(index.to_pydatetime())
    return index.tolist()


def regime_prob(
    returns, n_states=None, method=None, smoothed=None, seed=None, features=None
) -> Table:
    """Probability of each market regime on every date (filtered: uses data up to that date)."""
    frame = _returns(returns)
    use_smoothed = optional_bool(smoothed, "smoothed", False)
    result, _ = _fit_with(frame, n_states, method, seed, features)
    probs = result.smoothed() if use_smoothed else result.filtered
    return spill([frame.index.name, *probs.columns], _date_cells(probs.index), probs.to_numpy())


def _fit(
    returns: Any, n_states: Any, method: Any, seed: Any, features: Any = None
) -> tuple[Any, Any]:
    return _fit_with(_returns(returns), n_states, method, seed, features)


def regime_state(returns, n_states=None, method=None, seed=None, features=None) -> Table:
    """Most likely regime on every date (filtered: uses data up to that date)."""
    result, _ = _fit(returns, n_states, method, seed, features)
    names = [*result.labels, None]  # -1 (feature warm-up) -> blank
    rows: list[list[Any]] = [[result.filtered.index.name, "State"]]
    rows += [
        [d, names[s]]
        for d, s in zip(_date_cells(result.filtered.index), result.states, strict=True)
    ]
    return rows


def regime_current(returns, n_states=None, method=None, seed=None, features=None) -> Table:
    """Today's regime: the last date, its most likely state and each state's probability."""
    result, _ = _fit(returns, n_states, method, seed, features)
    last = result.filtered.iloc[-1]
    state = result.states[-1]
    date = _date_cells(result.filtered.index[-1:])[0]
    return [
        [result.filtered.index.name, "State", *result.labels],
        [date, result.labels[state] if state >= 0 else None, *last.to_numpy().tolist()],
    ]


def regime_summary(returns, n_states=None, method=None, seed=None, features=None) -> Table:
    """Per regime: annualised mean and volatility, share of days, expected duration; then
    the fit's log-likelihood and BIC where the detector defines them."""
    result, report = _fit(returns, n_states, method, seed, features)
    table = result.detector.summary(result.design.to_numpy())
    rows: list[list[Any]] = [["State", *table.columns]]
    rows += [
        [label, *vals] for label, vals in zip(table.index, table.to_numpy().tolist(), strict=True)
    ]
    pad = [None] * (table.shape[1] - 1)
    rows.append(["Log-likelihood", result.detector.loglik_, *pad])
    rows.append(["BIC", result.detector.bic_, *pad])
    rows.append(["Method", result.method, *pad])
    if result.exogenous is not None:
        rows.append(["Features", ", ".join(s.label for s in result.detector.features), *pad])
        rows += [["Feature data", line, *pad] for line in report.lines()]
    return rows


def regime_transition(returns, n_states=None, method=None, seed=None, features=None) -> Table:
    """Transition matrix: row = today's regime, column = tomorrow's; rows sum to 1."""
    result, _ = _fit(returns, n_states, method, seed, features)
    P = result.detector.transmat_
    return spill(["From \\ To", *result.labels], list(result.labels), P)


def _state_tail(
    conditional: bool,
    returns: Any,
    weights: Any,
    confidence: Any,
    state: Any,
    estimator: Any,
    n_states: Any,
    method: Any,
    seed: Any,
    weighting: Any,
    features: Any,
) -> Any:
    frame = _returns(returns)
    w = weights_vector(weights, frame.shape[1])
    conf = check_confidence(optional_number(confidence, "confidence", 0.95))
    est = optional_text(estimator, "estimator", "historical", ESTIMATORS)
    how = optional_text(weighting, "weighting", "hard", WEIGHTINGS)
    result, _ = _fit_with(frame, n_states, method, seed, features)
    k = result.n_states
    risk = state_risk_table(
        frame.to_numpy() @ w,
        result.states,
        result.labels,
        conf,
        estimator=est,
        probabilities=result.filtered.to_numpy(),
        weighting=how,
    )
    col = "CVaR" if conditional else "VaR"
    if state is not None and str(state).strip() != "":
        pick = state_index(
            state if isinstance(state, str) else optional_int(state, "state", 1, 1, k), k
        )
        value = float(risk[col].iloc[pick])
        if np.isnan(value):
            raise InputError("state", f"too few days in state {result.labels[pick]!r}")
        return value
    obs = "Effective observations" if how == "probability" else "Observations"
    rows: list[list[Any]] = [["State", col, obs]]
    rows += [[lab, r[col], r["Observations"]] for lab, r in risk.iterrows()]
    return rows


state_var = variant(
    "state_var",
    "Value at risk of the portfolio in each regime: a positive loss.",
    STATE_TAIL_ARGS,
    _state_tail,
    False,
)
state_cvar = variant(
    "state_cvar",
    "Conditional VaR (expected shortfall) of the portfolio in each regime: a positive loss.",
    STATE_TAIL_ARGS,
    _state_tail,
    True,
)


def state_stats(
    returns, weights=None, confidence=None, n_states=None, method=None, seed=None, features=None
) -> Table:
    """Per regime: observations, share, annualised mean and volatility, VaR, CVaR with a 90%
    bootstrap interval, and max drawdown of the portfolio (historical, losses positive)."""
    frame = _returns(returns)
    w = weights_vector(weights, frame.shape[1])
    conf = check_confidence(optional_number(confidence, "confidence", 0.95))
    k, _, s = _regime_args(n_states, method, seed)
    result, _ = _fit_with(frame, n_states, method, seed, features)
    port = frame.to_numpy() @ w
    risk = state_risk_table(port, result.states, result.labels, conf)
    ci = [bootstrap_interval(port[result.states == i], conf, seed=s) for i in range(k)]
    table = risk.assign(
        **{"CVaR 90% CI low": [c[0] for c in ci], "CVaR 90% CI high": [c[1] for c in ci]}
    )
    return spill(["State", *table.columns], list(table.index), table.to_numpy())


def state_corr(returns, state=None, n_states=None, method=None, seed=None, features=None) -> Table:
    """Correlation matrix of the assets on the days of one regime."""
    frame = _returns(returns)
    result, _ = _fit_with(frame, n_states, method, seed, features)
    k = result.n_states
    if state is None or str(state).strip() == "":
        pick = int(result.states[-1])
    else:
        pick = state_index(
            state if isinstance(state, str) else optional_int(state, "state", 1, 1, k), k
        )
    mask = (result.states == pick).astype(float)
    if mask.sum() < 3:
        raise InputError("state", f"{result.labels[pick]!r} has fewer than 3 days; no correlation")
    corr = covariance_to_correlation(state_covariance(frame.to_numpy(), mask))
    return spill([result.labels[pick], *frame.columns], list(frame.columns), corr)


def var_backtest(returns, weights=None, confidence=None, window=None, estimator=None) -> Table:
    """Backtest of a rolling 1-day VaR: exceptions, Kupiec, Christoffersen, conditional
    coverage, Basel traffic light (last 250 days), UCITS flag (> 4 in 250 at 99%), ES Z2."""
    frame = _returns(returns)
    w = weights_vector(weights, frame.shape[1])
    conf = check_confidence(optional_number(confidence, "confidence", 0.99))
    win = optional_int(window, "window", 250, 20, 5000)
    optional_text(estimator, "estimator", "historical", ("historical",))
    summary, _, _ = backtest_var(frame.to_numpy() @ w, conf, win)
    labels = {
        "observations": "Observations",
        "exceptions": "Exceptions",
        "expected": "Expected exceptions",
        "kupiec_lr": "Kupiec LR",
        "kupiec_p": "Kupiec p-value",
        "christoffersen_lr": "Christoffersen LR",
        "christoffersen_p": "Christoffersen p-value",
        "conditional_coverage_lr": "Conditional coverage LR",
        "conditional_coverage_p": "Conditional coverage p-value",
        "basel_exceptions_250": "Exceptions, last 250 days",
        "basel_zone": "Basel zone",
        "basel_plus_factor": "Basel plus factor",
        "ucits_overshootings_250": "UCITS overshootings, last 250 days",
        "ucits_flag": "UCITS flag (> 4)",
        "z2": "Acerbi-Szekely Z2 (ES)",
    }
    rows: list[list[Any]] = [["Metric", "Value"]]
    for key, value in summary.as_dict().items():
        v = value.item() if isinstance(value, np.generic) else value
        rows.append([labels[key], v])
    return rows


def regime_weights(
    returns, objective=None, n_states=None, method=None, max_weight=None, seed=None, features=None
) -> Table:
    """Long-only weights per regime, and Now: blended by today's filtered regime probabilities."""
    frame = _returns(returns)
    obj = optional_text(objective, "objective", "min_variance", OBJECTIVES)
    cap = optional_number(max_weight, "max_weight", 1.0)
    result, _ = _fit_with(frame, n_states, method, seed, features)
    table = regime_weight_table(
        frame, result.states, result.labels, result.current.to_numpy(), obj, cap
    )
    return spill(["Asset", *table.columns], list(table.index), table.to_numpy())


def risk_measure(returns, measure=None, confidence=None, weights=None) -> Any:
    """One risk measure per asset, or for the portfolio when weights are given (losses positive)."""
    frame = _returns(returns)
    name = optional_text(measure, "measure", "", tuple(RISK_MEASURES))
    if not name:
        raise InputError("measure", f"is required: one of {', '.join(RISK_MEASURES)}")
    fn = RISK_MEASURES[name]
    conf = check_confidence(optional_number(confidence, "confidence", 0.95))
    kwargs = {"confidence": conf} if name in CONFIDENCE_MEASURES else {}
    X = frame.to_numpy()
    if not is_blank_range(weights):
        return float(fn(X @ weights_vector(weights, X.shape[1]), **kwargs))
    values = np.atleast_1d(fn(X, **kwargs))
    return [list(frame.columns), values.tolist()]


def static_weights(returns, objective=None, max_weight=None) -> Table:
    """The static benchmark's long-only weights, estimated on the whole range."""
    frame = _returns(returns)
    obj = optional_text(objective, "objective", "min_variance", OBJECTIVES)
    cap = optional_number(max_weight, "max_weight", 1.0)
    w = optimal_weights(frame.to_numpy(), obj, cap)
    return spill(["Asset", "Weight"], list(frame.columns), w[:, None])


def _comparison(
    render: Callable[[pd.DataFrame, Any], list[list[Any]]],
    returns: Any,
    static_weights: Any,
    objective: Any,
    cost_bps: Any,
    rebalance: Any,
    delay: Any,
    n_states: Any,
    method: Any,
    seed: Any,
    window: Any,
) -> Table:
    """BACKTEST and BACKTEST_STATS: one walk-forward comparison (cached by content), two views
    of it (`render(returns frame, comparison)`). The window does not depend on the range's
    length: appending a row never changes an earlier date's decision."""
    frame = _returns(returns)
    win = optional_int(window, "window", BACKTEST_WINDOW, 120, 5000)
    if len(frame) < win + 120:
        raise InputError(
            "returns",
            f"has {len(frame)} rows; a {win}-day window needs at least {win + 120}: add history "
            "or give a shorter window",
        )
    fixed = None
    if not is_blank_range(static_weights):
        fixed = weights_vector(static_weights, frame.shape[1], "static_weights")
    k, m, s = _regime_args(n_states, method, seed)
    comp = compare_static_dynamic(
        frame,
        static_weights=fixed,
        objective=optional_text(objective, "objective", "min_variance", OBJECTIVES),
        cost_bps=optional_number(cost_bps, "cost_bps", 10.0, 0.0, 1000.0),
        rebalance=optional_text(rebalance, "rebalance", "monthly", REBALANCE),
        delay=optional_int(delay, "delay", 1, 1, 20),
        n_states=k,
        method=m,
        seed=s,
        window=win,
    )
    return render(frame, comp)


def _nav_table(frame: pd.DataFrame, comp: Any) -> Table:
    rows: list[list[Any]] = [
        [frame.index.name, "Static NAV", "Dynamic NAV", "Regime", "Dynamic turnover"]
    ]
    for d, a, b, g, t in zip(
        _date_cells(frame.index),
        comp.static.nav.tolist(),
        comp.dynamic.nav.tolist(),
        comp.dynamic.regime.tolist(),
        comp.dynamic.turnover.tolist(),
        strict=True,
    ):
        rows.append([d, a, b, g, t])
    return rows


def _metric_table(frame: pd.DataFrame, comp: Any) -> Table:
    t = comp.table
    return spill(["Metric", *t.columns], list(t.index), t.to_numpy())


backtest = variant(
    "backtest",
    "Walk-forward NAV of the static and the regime-aware portfolio (same costs and delay), "
    "the regime in force and the dynamic turnover, every date.",
    BACKTEST_ARGS,
    _comparison,
    _nav_table,
)
backtest_stats = variant(
    "backtest_stats",
    "Static versus dynamic: CAGR, volatility, Sharpe, Sortino, max drawdown, Calmar, CVaR, "
    "turnover, costs paid and hit ratio over the same out-of-sample dates.",
    BACKTEST_ARGS,
    _comparison,
    _metric_table,
)


def stress_test(returns, weights=None, scenarios=None) -> Table:
    """Portfolio loss per scenario (positive = loss), the worst asset, the regime at the time."""
    frame = _returns(returns)
    w = weights_vector(weights, frame.shape[1])
    rows: list[list[Any]] = [["Scenario", "Portfolio loss", "Worst asset", "Regime at the time"]]
    if not is_blank_range(scenarios):
        table = labelled_table(scenarios, "scenarios")
        if list(table.columns) != list(frame.columns):
            raise InputError(
                "scenarios", f"needs one column per asset, in order: {', '.join(frame.columns)}"
            )
        for name, shock in table.iterrows():
            worst = frame.columns[int(np.argmin(shock.to_numpy() * (w != 0) + (w == 0)))]
            rows.append([str(name), hypothetical_shock(w, shock.to_numpy()), worst, None])
        return rows
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise InputError("returns", "historical scenarios need a first column of dates")
    res = fit_regimes(frame, 2, "hmm", DEFAULT_SEED)
    labels = pd.Series(np.array([*res.labels, ""])[res.states], index=frame.index)
    table = historical_stress(frame, w, regimes=labels)
    if table.empty:
        raise InputError(
            "returns", "the dates cover none of the historical scenarios; give a scenarios table"
        )
    for _, r in table.iterrows():
        rows.append(
            [r["Scenario"], r["Portfolio loss"], r["Worst asset"], r["Regime at start"] or None]
        )
    return rows


def engine_info() -> Table:
    """Engine version, dependency versions and seed policy, for the audit trail."""
    rows: list[list[Any]] = [["Item", "Value"], ["regime-risk", engine.__version__]]
    rows.append(["python", platform.python_version()])
    for pkg in ("numpy", "pandas", "scipy", "hmmlearn", "scikit-learn", "xlwings"):
        try:
            rows.append([pkg, version(pkg)])
        except PackageNotFoundError:
            rows.append([pkg, "not installed"])
    rows.append(["default seed", DEFAULT_SEED])
    rows.append(["seed policy", "every stochastic step takes a seed; same inputs, same outputs"])
    rows.append(
        [
            "fit cache (hits / misses / size)",
            f"{FIT_CACHE.stats.hits} / {FIT_CACHE.stats.misses} / {len(FIT_CACHE)}",
        ]
    )
    return rows


# -- the catalogue (SPEC §4): Excel name, body, arguments in order ----------------------------
CATALOGUE = catalogue(
    ExcelFunction(
        "RETURNS",
        returns,
        (
            Arg(
                "prices",
                "Prices: header row of asset names, optional first column of dates",
                "range",
                required=True,
            ),
            Arg("method", "simple (default): P_t / P_t-1 - 1; log: ln(P_t / P_t-1)"),
        ),
    ),
    ExcelFunction(
        "REGIME_PROB",
        regime_prob,
        (
            RETURNS,
            N_STATES,
            METHOD,
            Arg(
                "smoothed",
                "FALSE (default): filtered, data up to each date. TRUE: smoothed, uses future data",
            ),
            SEED,
            FEATURES,
        ),
    ),
    ExcelFunction("REGIME_STATE", regime_state, (RETURNS, *REGIME, FEATURES)),
    ExcelFunction("REGIME_CURRENT", regime_current, (RETURNS, *REGIME, FEATURES)),
    ExcelFunction("REGIME_SUMMARY", regime_summary, (RETURNS, *REGIME, FEATURES)),
    ExcelFunction("REGIME_TRANSITION", regime_transition, (RETURNS, *REGIME, FEATURES)),
    ExcelFunction("STATE_VAR", state_var, STATE_TAIL_ARGS),
    ExcelFunction("STATE_CVAR", state_cvar, STATE_TAIL_ARGS),
    ExcelFunction("STATE_STATS", state_stats, (RETURNS, WEIGHTS, CONFIDENCE, *REGIME, FEATURES)),
    ExcelFunction(
        "STATE_CORR",
        state_corr,
        (
            RETURNS,
            Arg("state", "State number 1..K or label; blank: today's most likely state"),
            *REGIME,
            FEATURES,
        ),
    ),
    ExcelFunction(
        "VAR_BACKTEST",
        var_backtest,
        (
            RETURNS,
            WEIGHTS,
            Arg("confidence", "VaR level (default 0.99, the Basel and UCITS level)"),
            Arg("window", "Rolling window of the historical VaR in days (default 250)"),
            Arg("estimator", "historical (default)"),
        ),
    ),
    ExcelFunction(
        "REGIME_WEIGHTS",
        regime_weights,
        (RETURNS, OBJECTIVE, N_STATES, METHOD, MAX_WEIGHT, SEED, FEATURES),
    ),
    ExcelFunction(
        "RISK_MEASURE",
        risk_measure,
        (
            RETURNS,
            Arg("measure", f"One of {', '.join(RISK_MEASURES)}"),
            Arg("confidence", CONFIDENCE.doc + " (var, cvar, es, cdar)"),
            Arg("weights", "Portfolio weights; blank: one figure per asset", "range"),
        ),
    ),
    ExcelFunction("STATIC_WEIGHTS", static_weights, (RETURNS, OBJECTIVE, MAX_WEIGHT)),
    ExcelFunction("BACKTEST", backtest, BACKTEST_ARGS),
    ExcelFunction("BACKTEST_STATS", backtest_stats, BACKTEST_ARGS),
    ExcelFunction(
        "STRESS_TEST",
        stress_test,
        (
            RETURNS,
            WEIGHTS,
            Arg(
                "scenarios",
                "Blank: historical crises the dates cover. Or a table: scenario name, one shock "
                "per asset",
                "range",
            ),
        ),
    ),
    ExcelFunction("ENGINE_INFO", engine_info, ()),
)
