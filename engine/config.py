"""Run configuration: a TOML file validated into dataclasses; errors name the key.

Validation imports nothing heavy (no numpy, pandas or scikit-learn), so a typo in a
configuration is reported in a fraction of a second, before the analysis loads its libraries.
That is why the names the engine accepts are listed here; tests/test_cli.py checks that they
match the engine's own lists.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import InputError

SOURCES = ("sample", "csv", "xlsx", "yahoo")
KINDS = ("prices", "returns")  # engine.data.files.TABLE_KINDS
RETURN_METHODS = ("simple", "log")  # engine.data.returns.RETURN_METHODS
CALENDARS = ("first", "union", "intersection")  # or a column name (engine.data.align)
# engine.regimes.DETECTORS
METHODS = ("hmm", "jump", "gmm", "kmeans", "markov_switching", "supervised", "neural")
# engine.allocation.OBJECTIVES
OBJECTIVES = ("min_variance", "min_cvar", "max_sharpe", "risk_parity", "inverse_vol", "equal")
# engine.backtest.simulator.REBALANCE
REBALANCE = ("daily", "weekly", "monthly", "quarterly", "regime_change")
# engine.features: each return feature and the parameter it needs (None: no parameter)
FEATURE_PARAMS: dict[str, str | None] = {
    "ewm_vol": "halflife",
    "ewm_log_vol": "halflife",
    "ewm_downside_dev": "halflife",
    "ewm_sortino": "halflife",
    "rolling_vol": "window",
    "momentum": "window",
    "log_drawdown": None,
    "rsi": "window",
    "ma_distance": "window",
}
# engine.features.LEVEL_FEATURES: read an exogenous series named in [[data.exogenous]]
LEVEL_FEATURES = ("level", "change", "log_change")
FEATURE_KEYS = ("name", "halflife", "window", "periods", "series")
EXOGENOUS_KEYS = ("source", "columns", "path", "kind", "lag_days")
EXOGENOUS_SOURCES = ("sample", "csv", "xlsx", "yahoo")
EXOGENOUS_KINDS = ("level", "price")
MIN_BACKTEST_WINDOW = 120  # engine.backtest.compare: fewer rows of history cannot fit a detector
FILE_SUFFIXES = {"csv": (".csv", ".txt"), "xlsx": (".xlsx", ".xlsm")}
_SAMPLE_PROVENANCE = Path(__file__).parent / "data" / "sample" / "provenance.json"
_LEVELS_PROVENANCE = Path(__file__).parent / "data" / "sample" / "levels_provenance.json"
_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2}))?(?:-([0-9]{2}))?\Z")


@dataclass(frozen=True)
class DataConfig:
    source: str = "sample"
    columns: tuple[str, ...] = ("SP500", "GOLD", "WTI")
    start: str | None = None
    end: str | None = None
    path: str | None = None
    kind: str = "prices"
    calendar: str = "first"
    ffill_limit: int = 5
    return_method: str = "simple"
    # market-state series for the regime features, e.g.
    # [[data.exogenous]] source = "sample", columns = ["VIX"], kind = "level", lag_days = 0
    exogenous: tuple[dict[str, Any], ...] = ()

    def exogenous_columns(self) -> tuple[str, ...]:
        """Every exogenous series named, in order."""
        return tuple(str(c) for e in self.exogenous for c in e.get("columns", ()))


@dataclass(frozen=True)
class PortfolioConfig:
    weights: tuple[float, ...] = ()


@dataclass(frozen=True)
class RegimeConfig:
    method: str = "hmm"
    n_states: int = 2
    seed: int = 0
    # e.g. features = [{name = "ewm_log_vol", halflife = 3}, ...]; empty: the detector's default
    features: tuple[dict[str, Any], ...] = ()
    jump_penalty: float | None = None

    def detector_params(self) -> dict[str, Any]:
        """Keyword arguments for the detector beyond n_states and seed."""
        from engine.features import parse_feature_specs

        params: dict[str, Any] = {}
        if self.features:
            params["features"] = parse_feature_specs(self.features)
        if self.jump_penalty is not None:
            params["jump_penalty"] = float(self.jump_penalty)
        return params


@dataclass(frozen=True)
class RiskConfig:
    confidence: float = 0.95
    periods_per_year: int = 252
    var_confidence: float = 0.99  # the VaR backtest's level (Basel and UCITS use 99%)
    var_window: int = 250  # days of history behind each 1-day historical VaR forecast


@dataclass(frozen=True)
class RegulatoryConfig:
    """Basel 1996 traffic light and UCITS absolute-VaR parameters (CESR/10-788)."""

    basel_window: int = 250
    basel_confidence: float = 0.99
    basel_green_limit: float = 0.95  # green while P(X <= x) < 95%
    basel_red_limit: float = 0.9999  # red once P(X <= x) >= 99.99%
    ucits_limit: float = 0.20  # absolute VaR limit, fraction of NAV (99%, 20 days)
    ucits_horizon: int = 20
    ucits_confidence: float = 0.99
    ucits_max_overshootings: int = 4  # more than 4 in 250 days at 99% must be reported
    cc_degrees_of_freedom: int = 2  # conditional coverage LR ~ chi-squared(2)


@dataclass(frozen=True)
class AllocationConfig:
    objective: str = "min_variance"
    max_weight: float = 1.0


@dataclass(frozen=True)
class BacktestConfig:
    """Static (the portfolio weights, rebalanced) versus regime-aware (the allocation objective
    per regime), same schedule, delay and costs."""

    cost_bps: float = 10.0
    rebalance: str = "monthly"
    delay: int = 1
    window: int = 756


@dataclass(frozen=True)
class ReportConfig:
    title: str = "Regime-aware portfolio risk report"
    tolerance: float = 1e-9


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    portfolio: PortfolioConfig = field(default_factory=PortfolioConfig)
    regimes: RegimeConfig = field(default_factory=RegimeConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    allocation: AllocationConfig = field(default_factory=AllocationConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    regulatory: RegulatoryConfig = field(default_factory=RegulatoryConfig)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)
    source_text: str = ""  # the TOML as read, for the lineage record


_SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "portfolio": PortfolioConfig,
    "regimes": RegimeConfig,
    "risk": RiskConfig,
    "allocation": AllocationConfig,
    "report": ReportConfig,
    "regulatory": RegulatoryConfig,
    "backtest": BacktestConfig,
}


# Keys whose default is None: the types they accept (the others take their default's type)
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "data.start": (str, dt.date),
    "data.end": (str, dt.date),
    "data.path": (str,),
    "regimes.jump_penalty": (int, float),
}
_ITEM_TYPES: dict[str, tuple[type, ...]] = {
    "data.columns": (str,),
    "portfolio.weights": (int, float),
    "regimes.features": (dict,),
    "data.exogenous": (dict,),
}


def _section(name: str, cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise InputError(name, "must be a table ([" + name + "])")
    defaults = cls()
    kwargs = {}
    for key, value in raw.items():
        where = f"{name}.{key}"
        if not hasattr(defaults, key):
            allowed = ", ".join(f for f in defaults.__dataclass_fields__)
            raise InputError(where, f"unknown key; allowed: {allowed}")
        default = getattr(defaults, key)
        if isinstance(default, tuple):
            if not isinstance(value, list):
                raise InputError(where, "must be a list")
            kinds = _ITEM_TYPES.get(where, (object,))
            for i, item in enumerate(value):
                if isinstance(item, bool) or not isinstance(item, kinds):
                    raise InputError(f"{where}[{i}]", f"must be {_names(kinds)} (got {item!r})")
            value = tuple(value)
        elif default is None:
            kinds = _OPTIONAL.get(where, (object,))
            if isinstance(value, bool) or not isinstance(value, kinds):
                raise InputError(where, f"must be {_names(kinds)} (got {value!r})")
            if isinstance(value, dt.date):  # a TOML date (or date-time): kept as its ISO date
                value = value.isoformat()[:10]
        elif isinstance(value, bool) != isinstance(default, bool):
            raise InputError(where, f"must be {type(default).__name__} (got {value!r})")
        elif isinstance(default, float) and isinstance(value, int):
            value = float(value)
        elif not isinstance(value, type(default)):
            raise InputError(where, f"must be {type(default).__name__} (got {value!r})")
        kwargs[key] = value
    return cls(**kwargs)


def _names(kinds: tuple[type, ...]) -> str:
    words = {str: "text", int: "a number", float: "a number", dict: "a table", dt.date: "a date"}
    return " or ".join(dict.fromkeys(words.get(k, k.__name__) for k in kinds))


def parse_config(text: str) -> RunConfig:
    """Parse and validate TOML text into a RunConfig."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError("config", f"not valid TOML: {exc}") from exc
    unknown = set(raw) - set(_SECTIONS)
    if unknown:
        raise InputError(sorted(unknown)[0], f"unknown section; allowed: {', '.join(_SECTIONS)}")
    parts = {name: _section(name, cls, raw.get(name, {})) for name, cls in _SECTIONS.items()}
    cfg = RunConfig(**parts, source_text=text)
    validate(cfg)
    return cfg


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a TOML configuration file (errors name the key, exit code 2 in the CLI)."""
    p = Path(path)
    if not p.exists():
        raise InputError("--config", f"file not found: {p}")
    return parse_config(p.read_text(encoding="utf-8"))


def _one_of(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InputError(key, f"must be one of {', '.join(allowed)} (got {value!r})")


def _date_bounds(key: str, text: str) -> tuple[dt.date, dt.date]:
    """First and last day a date setting covers: "2012" is all of 2012, as pandas reads it."""
    m = _DATE.match(text)
    try:
        if m is None:
            raise ValueError
        y, mo, d = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
        first = dt.date(y, mo, d)
        if m.group(3):
            return first, first
        if m.group(2):
            nxt = dt.date(y + mo // 12, mo % 12 + 1, 1)
            return first, nxt - dt.timedelta(days=1)
        return first, dt.date(y, 12, 31)
    except ValueError:
        raise InputError(key, f"must be a date YYYY-MM-DD (got {text!r})") from None


def _sample_series(provenance: Path = _SAMPLE_PROVENANCE) -> list[str]:
    # From the provenance file rather than engine.data.sample: that module imports pandas
    return list(json.loads(provenance.read_text(encoding="utf-8"))["series"])


def _file_columns(path: Path) -> list[str] | None:
    """Asset columns of a CSV file's header (after the date column); None when not cheap."""
    if path.suffix.lower() not in FILE_SUFFIXES["csv"]:
        return None  # an XLSX header needs a spreadsheet reader: checked at load
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as f:
        header = next(csv.reader(f), [])
    return header[1:]


def _validate_data(d: DataConfig) -> None:
    _one_of("data.source", d.source, SOURCES)
    _one_of("data.kind", d.kind, KINDS)
    _one_of("data.return_method", d.return_method, RETURN_METHODS)
    if not d.columns:
        raise InputError("data.columns", "name at least one series")
    repeated = sorted({c for c in d.columns if d.columns.count(c) > 1})
    if repeated:
        raise InputError("data.columns", f"{repeated} appear more than once")
    if d.calendar not in CALENDARS and d.calendar not in d.columns:
        raise InputError(
            "data.calendar",
            f"must be {', '.join(CALENDARS)} or one of data.columns (got {d.calendar!r})",
        )
    if d.ffill_limit < 0:
        raise InputError("data.ffill_limit", f"must be 0 or more (got {d.ffill_limit})")
    start = _date_bounds("data.start", d.start) if d.start is not None else None
    end = _date_bounds("data.end", d.end) if d.end is not None else None
    if start and end and start[0] > end[1]:
        raise InputError("data.end", f"{d.end} is before data.start {d.start}")
    if d.source in ("sample", "yahoo") and d.kind != "prices":
        raise InputError("data.kind", f"the {d.source} source gives prices: write kind = 'prices'")
    if d.source == "sample":
        unknown = [c for c in d.columns if c not in _sample_series()]
        if unknown:
            raise InputError(
                "data.columns",
                f"{unknown} not in the bundled sample; available: {', '.join(_sample_series())}",
            )
    if d.source in ("csv", "xlsx"):
        if not d.path:
            raise InputError("data.path", f"is required when data.source = {d.source!r}")
        path = Path(d.path)
        if path.suffix.lower() not in FILE_SUFFIXES[d.source]:
            raise InputError(
                "data.path",
                f"{d.source} data needs a {' or '.join(FILE_SUFFIXES[d.source])} file (got {path})",
            )
        if not path.is_file():
            raise InputError("data.path", f"file not found: {path}")
        header = _file_columns(path)
        missing = [c for c in d.columns if header is not None and c not in header]
        if missing:
            raise InputError(
                "data.columns", f"{missing} not in {path}; its columns: {', '.join(header or [])}"
            )


def _validate_portfolio(cfg: RunConfig) -> None:
    w, n = cfg.portfolio.weights, len(cfg.data.columns)
    if not w:
        return
    if len(w) != n:
        raise InputError(
            "portfolio.weights", f"has {len(w)} values for {n} columns in data.columns"
        )
    if not all(math.isfinite(x) for x in w):
        raise InputError("portfolio.weights", "must be finite numbers")
    if abs(sum(w) - 1.0) > 1e-9:
        raise InputError("portfolio.weights", f"must sum to 1 (they sum to {sum(w):.6g})")


def _validate_features(features: tuple[dict[str, Any], ...], exogenous: tuple[str, ...]) -> None:
    read = set()
    for i, item in enumerate(features):
        key = f"regimes.features[{i}]"
        extra = [k for k in item if k not in FEATURE_KEYS]
        if extra:
            raise InputError(
                f"{key}.{extra[0]}", f"unknown key; allowed: {', '.join(FEATURE_KEYS)}"
            )
        name = item.get("name")
        if name in LEVEL_FEATURES:
            series = item.get("series")
            if series not in exogenous:
                raise InputError(
                    f"{key}.series",
                    f"{name} reads an exogenous series: name one of [[data.exogenous]] columns "
                    f"({', '.join(exogenous) or 'none loaded'}), got {series!r}",
                )
            read.add(series)
            periods = item.get("periods", 1)
            if isinstance(periods, bool) or not isinstance(periods, int) or periods < 1:
                raise InputError(
                    f"{key}.periods", f"must be a whole number of 1 or more (got {periods!r})"
                )
            continue
        _one_of(f"{key}.name", name, (*FEATURE_PARAMS, *LEVEL_FEATURES))
        param = FEATURE_PARAMS[str(name)]
        if param is None:
            continue
        value = item.get(param, item.get("window" if param == "halflife" else "halflife"))
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise InputError(f"{key}.{param}", f"{name} needs a positive {param} (got {value!r})")
    unread = [c for c in exogenous if c not in read]
    if unread:
        raise InputError(
            "regimes.features",
            f"{unread} loaded by [[data.exogenous]] but no feature reads it; add e.g. "
            f'{{name = "level", series = "{unread[0]}"}} (and the return features to keep)',
        )


def _validate_exogenous(d: DataConfig) -> None:
    seen: set[str] = set()
    for i, e in enumerate(d.exogenous):
        key = f"data.exogenous[{i}]"
        extra = [k for k in e if k not in EXOGENOUS_KEYS]
        if extra:
            raise InputError(
                f"{key}.{extra[0]}", f"unknown key; allowed: {', '.join(EXOGENOUS_KEYS)}"
            )
        _one_of(f"{key}.source", e.get("source", "sample"), EXOGENOUS_SOURCES)
        _one_of(f"{key}.kind", e.get("kind", "level"), EXOGENOUS_KINDS)
        cols = e.get("columns")
        if not isinstance(cols, list) or not cols or not all(isinstance(c, str) for c in cols):
            raise InputError(f"{key}.columns", 'name at least one series, e.g. ["VIX"]')
        twice = sorted((set(cols) & seen) | {c for c in cols if cols.count(c) > 1})
        clash = sorted(set(cols) & set(d.columns))
        if twice or clash:
            raise InputError(
                f"{key}.columns",
                f"{twice or clash} {'named twice' if twice else 'also an asset in data.columns'}",
            )
        seen.update(cols)
        lag = e.get("lag_days", 0)
        if isinstance(lag, bool) or not isinstance(lag, int) or lag < 0:
            raise InputError(
                f"{key}.lag_days", f"must be a whole number of days, 0 or more (got {lag!r})"
            )
        source = e.get("source", "sample")
        if source == "sample":
            known = _sample_series(_LEVELS_PROVENANCE)
            unknown = [c for c in cols if c not in known]
            if unknown:
                raise InputError(
                    f"{key}.columns",
                    f"{unknown} not among the bundled level series; available: {', '.join(known)}",
                )
        if source in ("csv", "xlsx"):
            path = e.get("path")
            if not isinstance(path, str) or not path:
                raise InputError(f"{key}.path", f"is required when source = {source!r}")
            if not Path(path).is_file():
                raise InputError(f"{key}.path", f"file not found: {path}")
        elif "path" in e:
            raise InputError(
                f"{key}.path", f"only csv and xlsx sources read a file (source is {source!r})"
            )


def _validate_regimes(r: RegimeConfig) -> None:
    _one_of("regimes.method", r.method, METHODS)
    if r.n_states not in (2, 3, 4):
        raise InputError("regimes.n_states", f"must be 2, 3 or 4 (got {r.n_states})")
    if not 0 <= r.seed < 2**32:
        raise InputError(
            "regimes.seed", f"must be a whole number from 0 to 2**32 - 1 (got {r.seed})"
        )
    if r.features and r.method == "markov_switching":
        raise InputError("regimes.features", "markov_switching models returns, not features")
    if r.jump_penalty is not None:
        if r.method != "jump":
            raise InputError(
                "regimes.jump_penalty",
                f"only the jump method takes a penalty (method is {r.method})",
            )
        if not r.jump_penalty >= 0:
            raise InputError("regimes.jump_penalty", f"must be 0 or more (got {r.jump_penalty})")


def _validate_risk(cfg: RunConfig) -> None:
    risk = cfg.risk
    for key, level in (("confidence", risk.confidence), ("var_confidence", risk.var_confidence)):
        if not 0.5 < level < 1.0:
            raise InputError(f"risk.{key}", f"must be in (0.5, 1), e.g. 0.95 (got {level})")
    if risk.var_window < 20:
        raise InputError("risk.var_window", f"must be at least 20 days (got {risk.var_window})")
    if risk.periods_per_year <= 0:
        raise InputError("risk.periods_per_year", "must be positive")
    a, n = cfg.allocation, len(cfg.data.columns)
    _one_of("allocation.objective", a.objective, OBJECTIVES)
    if not 0 < a.max_weight <= 1:
        raise InputError("allocation.max_weight", f"must be in (0, 1] (got {a.max_weight})")
    if a.max_weight * n < 1 - 1e-12:
        raise InputError(
            "allocation.max_weight",
            f"{a.max_weight} × {n} assets < 1: no portfolio is fully invested; "
            f"use at least {1 / n:.4g}",
        )


def _validate_backtest(b: BacktestConfig) -> None:
    if b.delay < 1:
        raise InputError("backtest.delay", f"must be at least 1 day (got {b.delay})")
    if not 0 <= b.cost_bps <= 1000:
        raise InputError("backtest.cost_bps", f"must be between 0 and 1000 (got {b.cost_bps})")
    _one_of("backtest.rebalance", b.rebalance, REBALANCE)
    if b.window < MIN_BACKTEST_WINDOW:
        raise InputError(
            "backtest.window", f"must be at least {MIN_BACKTEST_WINDOW} days (got {b.window})"
        )


def validate(cfg: RunConfig) -> None:
    """Cross-field checks that the type checks above cannot express; every error names its key."""
    _validate_data(cfg.data)
    _validate_exogenous(cfg.data)
    _validate_portfolio(cfg)
    _validate_regimes(cfg.regimes)
    if cfg.data.exogenous and cfg.regimes.method == "markov_switching":
        raise InputError(
            "data.exogenous", "markov_switching models returns only; exogenous series need features"
        )
    _validate_features(cfg.regimes.features, cfg.data.exogenous_columns())
    _validate_risk(cfg)
    _validate_backtest(cfg.backtest)
    if not 0 < cfg.report.tolerance < 1e-3:
        raise InputError("report.tolerance", "must be a small positive number, e.g. 1e-9")
