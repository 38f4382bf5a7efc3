"""One run from configuration to results: data → returns → regimes → state risk → weights.

The report builder and tests both call `run_analysis`, so the numbers in the workbook and the
numbers tests compare them with come from the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.allocation import regime_weight_table
from engine.backtest.compare import Comparison, compare_static_dynamic
from engine.config import RunConfig
from engine.data import (
    AlignmentReport,
    ExogenousReport,
    MissingPolicy,
    align_exogenous,
    align_prices,
    load_table,
    prices_to_returns,
)
from engine.data.sample import load_sample_prices, sample_sha256
from engine.errors import InputError
from engine.regimes import RegimeResult, fit_regimes
from engine.risk import state_risk_table
from engine.validation.var_backtest import VarBacktest, backtest_var


@dataclass
class AnalysisResult:
    config: RunConfig
    prices: pd.DataFrame  # aligned prices (dates × assets), first row has no return
    returns: pd.DataFrame  # simple (or log) returns, dates × assets
    weights: np.ndarray  # portfolio weights (n_assets,)
    portfolio: pd.Series  # portfolio returns: returns @ weights
    alignment: AlignmentReport
    regimes: RegimeResult
    state_risk: pd.DataFrame  # labels × STATE_RISK_COLUMNS (portfolio)
    state_weights: pd.DataFrame  # assets × (labels + Now)
    data_sha256: str
    var_backtest: VarBacktest  # rolling historical VaR of the portfolio at risk.var_confidence
    var_forecast: np.ndarray  # (n_returns,) VaR forecast for each date (NaN before the first)
    var_hits: np.ndarray  # (n_returns,) 1 = exception, NaN before the first forecast
    regulatory_var_forecast: np.ndarray  # the same at the Basel/UCITS level (99%)
    regulatory_var_hits: np.ndarray
    comparison: Comparison  # static (portfolio weights) versus regime-aware backtest
    cash: pd.Series | None = None  # cash returns on the returns' dates (bundled CASH index)
    exogenous: pd.DataFrame | None = None  # series the regime features read, on the returns' dates
    exogenous_report: ExogenousReport | None = None
    exogenous_sha256: str | None = None


def load_prices(cfg: RunConfig) -> tuple[pd.DataFrame, str]:
    """Raw prices for the configured source, and a hash identifying the input data."""
    import hashlib
    from pathlib import Path

    d = cfg.data
    cols = list(d.columns)
    if d.source == "sample":
        return load_sample_prices(cols, d.start, d.end), sample_sha256()
    if d.source in ("csv", "xlsx"):
        assert d.path is not None
        table = load_table(d.path, kind=d.kind)
        missing = [c for c in cols if c not in table.columns]
        if missing:
            raise InputError("data.columns", f"{missing} not in {d.path}")
        sha = hashlib.sha256(Path(d.path).read_bytes()).hexdigest()
        return table[cols].loc[d.start : d.end], sha
    from engine.data.yahoo import load_yahoo_prices

    prices = load_yahoo_prices(cols, d.start, d.end)
    sha = hashlib.sha256(pd.util.hash_pandas_object(prices).to_numpy().tobytes()).hexdigest()
    return prices, sha


def load_exogenous(
    cfg: RunConfig, dates: pd.DatetimeIndex
) -> tuple[pd.DataFrame | None, ExogenousReport | None, str | None]:
    """The [[data.exogenous]] series on the returns' dates, each value known at its date
    (publication lags applied), what alignment did, and a hash of the raw series."""
    import hashlib

    entries = cfg.data.exogenous
    if not entries:
        return None, None, None
    frames, lags = [], {}
    for i, e in enumerate(entries):
        cols = [str(c) for c in e["columns"]]
        source = e.get("source", "sample")
        if source == "sample":
            from engine.data.sample import load_sample_levels

            raw = load_sample_levels(cols)
        elif source in ("csv", "xlsx"):
            table = load_table(e["path"], kind="levels")
            missing = [c for c in cols if c not in table.columns]
            if missing:
                raise InputError(f"data.exogenous[{i}].columns", f"{missing} not in {e['path']}")
            raw = table[cols]
        else:
            from engine.data.yahoo import load_yahoo_levels

            raw = load_yahoo_levels(cols)
        if e.get("kind", "level") == "price" and (raw.dropna(how="all") <= 0).any().any():
            raise InputError(f"data.exogenous[{i}].kind", "a price must be positive")
        frames.append(raw)
        lags.update({c: int(e.get("lag_days", 0)) for c in cols})
    raw_all = pd.concat(frames, axis=1)
    aligned, report = align_exogenous(raw_all, pd.DatetimeIndex(dates), lags)
    sha = hashlib.sha256(pd.util.hash_pandas_object(raw_all).to_numpy().tobytes()).hexdigest()
    return aligned, report, sha


def bundled_cash(index: pd.Index) -> pd.Series:
    """Daily returns of the bundled CASH index (Ken French RF) on `index`, 0 where it has none:
    the backtest's cash rate and the Sharpe ratio's benchmark, as scripts/compare_allocation.py."""
    cash = prices_to_returns(load_sample_prices(["CASH"])).iloc[:, 0]
    return cash.reindex(index).fillna(0.0).rename("Cash")


def _index_levels(returns: pd.DataFrame, method: str) -> pd.DataFrame:
    """Price-index levels whose returns are `returns`, each series on its own dates: 1.0 on a
    base row one business day before its first return, then Π(1 + r) (simple) or exp(Σ r)
    (log). Aligning these levels like prices gives a missing day a zero return (an unchanged
    level), compounds a return on a day off the calendar into the next day, and keeps one base
    row before the first return so the report's return formulas line up with the dates."""
    columns = {}
    for c in returns.columns:
        r = returns[c].dropna()
        if r.empty:
            raise InputError("data.columns", f"{c!r} has no returns")
        x = r.to_numpy(dtype=float)
        grown = np.exp(np.cumsum(x)) if method == "log" else np.cumprod(1.0 + x)
        base = pd.DatetimeIndex([r.index[0] - pd.offsets.BDay(1)])
        columns[c] = pd.Series(np.r_[1.0, grown], index=base.append(pd.DatetimeIndex(r.index)))
    levels = pd.DataFrame(columns)
    levels.index.name = returns.index.name
    return levels


@dataclass
class PreparedData:
    """A configuration's data, loaded and aligned: everything `analyse` reads from [data].
    A batch prepares each distinct [data] table once and sends it to every worker."""

    prices: pd.DataFrame
    returns: pd.DataFrame
    alignment: AlignmentReport
    data_sha256: str
    cash: pd.Series | None
    exogenous: pd.DataFrame | None
    exogenous_report: ExogenousReport | None
    exogenous_sha256: str | None


def prepare_data(cfg: RunConfig, progress: Callable[[str], None] | None = None) -> PreparedData:
    """Load, align and difference the configured data (and the exogenous series and cash)."""
    say = progress or (lambda _: None)
    d = cfg.data
    say(f"load data: {d.source} {', '.join(d.columns)}")
    raw, sha = load_prices(cfg)
    policy = MissingPolicy(ffill_limit=d.ffill_limit, calendar=d.calendar)
    # returns are aligned as the index levels they imply: one calendar and missing-value policy
    levels = _index_levels(raw, d.return_method) if d.kind == "returns" else raw
    prices, report = align_prices(levels, policy)
    returns = prices_to_returns(prices, d.return_method)
    exogenous, exogenous_report, exogenous_sha = load_exogenous(
        cfg, pd.DatetimeIndex(returns.index)
    )
    if exogenous is not None:
        say(f"exogenous series: {', '.join(exogenous.columns)}")
    cash = bundled_cash(returns.index) if d.source == "sample" else None
    return PreparedData(
        prices, returns, report, sha, cash, exogenous, exogenous_report, exogenous_sha
    )


def run_analysis(cfg: RunConfig, progress: Callable[[str], None] | None = None) -> AnalysisResult:
    """Run the configured analysis end to end; `progress` (e.g. print) hears each step."""
    return analyse(cfg, prepare_data(cfg, progress), progress)


def analyse(
    cfg: RunConfig, data: PreparedData, progress: Callable[[str], None] | None = None
) -> AnalysisResult:
    """The analysis of prepared data: regimes, state risk, weights, VaR backtest and the
    static-versus-dynamic comparison (`run_analysis` = `analyse` ∘ `prepare_data`)."""
    say = progress or (lambda _: None)
    rc = cfg.regimes
    returns, exogenous = data.returns, data.exogenous
    n = returns.shape[1]
    w = np.asarray(cfg.portfolio.weights or [1.0 / n] * n, dtype=float)
    portfolio = pd.Series(returns.to_numpy() @ w, index=returns.index, name="Portfolio")
    say(f"fit regimes: {rc.method}, {rc.n_states} states")
    regimes = fit_regimes(
        returns, rc.n_states, rc.method, rc.seed, exogenous=exogenous, **rc.detector_params()
    )
    say("risk: per-regime risk")
    risk = state_risk_table(
        portfolio.to_numpy(),
        regimes.states,
        regimes.labels,
        cfg.risk.confidence,
        cfg.risk.periods_per_year,
    )
    ac = cfg.allocation
    say(f"allocation: {cfg.allocation.objective} weights per regime")
    sw = regime_weight_table(
        returns,
        regimes.states,
        regimes.labels,
        regimes.current.to_numpy(),
        ac.objective,
        ac.max_weight,
    )
    reg = cfg.regulatory
    say("risk: VaR backtest")
    bt, var_forecast, hits = backtest_var(
        portfolio.to_numpy(),
        cfg.risk.var_confidence,
        cfg.risk.var_window,
        reg.basel_confidence,
        reg.basel_window,
    )
    # the regulatory (Basel, UCITS) series: the same VaR at the 99% level
    _, regulatory_var, regulatory_hits = backtest_var(
        portfolio.to_numpy(), reg.basel_confidence, cfg.risk.var_window
    )
    b = cfg.backtest
    cash = data.cash
    say(f"backtest: static vs regime-aware, {cfg.backtest.rebalance}")
    comparison = compare_static_dynamic(
        returns,
        static_weights=w,
        objective=ac.objective,
        cost_bps=b.cost_bps,
        rebalance=b.rebalance,
        delay=b.delay,
        n_states=rc.n_states,
        method=rc.method,
        seed=rc.seed,
        window=min(b.window, len(returns) // 3),
        max_weight=ac.max_weight,
        detector_params=rc.detector_params(),
        cash=cash,
        exogenous=exogenous,
    )
    return AnalysisResult(
        config=cfg,
        prices=data.prices,
        returns=returns,
        weights=w,
        portfolio=portfolio,
        alignment=data.alignment,
        regimes=regimes,
        state_risk=risk,
        state_weights=sw,
        data_sha256=data.data_sha256,
        var_backtest=bt,
        var_forecast=var_forecast,
        var_hits=hits,
        regulatory_var_forecast=regulatory_var,
        regulatory_var_hits=regulatory_hits,
        comparison=comparison,
        cash=cash,
        exogenous=exogenous,
        exogenous_report=data.exogenous_report,
        exogenous_sha256=data.exogenous_sha256,
    )
