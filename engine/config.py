"""Run configuration: a TOML file validated into dataclasses; errors name the key."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import InputError

SOURCES = ("sample", "csv", "xlsx", "yahoo")


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


def _section(name: str, cls: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise InputError(name, "must be a table ([" + name + "])")
    defaults = cls()
    kwargs = {}
    for key, value in raw.items():
        if not hasattr(defaults, key):
            allowed = ", ".join(f for f in defaults.__dataclass_fields__)
            raise InputError(f"{name}.{key}", f"unknown key; allowed: {allowed}")
        default = getattr(defaults, key)
        if isinstance(default, tuple):
            if not isinstance(value, list):
                raise InputError(f"{name}.{key}", "must be a list")
            value = tuple(value)
        elif isinstance(default, bool) or default is None:
            if isinstance(value, bool) and default is None:
                raise InputError(f"{name}.{key}", f"must be a number (got {value!r})")
        elif isinstance(default, float) and isinstance(value, int):
            value = float(value)
        elif not isinstance(value, type(default)):
            raise InputError(f"{name}.{key}", f"must be {type(default).__name__} (got {value!r})")
        kwargs[key] = value
    return cls(**kwargs)


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
    p = Path(path)
    if not p.exists():
        raise InputError("--config", f"file not found: {p}")
    return parse_config(p.read_text(encoding="utf-8"))


def validate(cfg: RunConfig) -> None:
    """Cross-field checks that the type checks above cannot express."""
    d = cfg.data
    if d.source not in SOURCES:
        raise InputError("data.source", f"must be one of {', '.join(SOURCES)} (got {d.source!r})")
    if d.source in ("csv", "xlsx") and not d.path:
        raise InputError("data.path", f"is required when data.source = {d.source!r}")
    if not d.columns:
        raise InputError("data.columns", "name at least one series")
    if d.return_method not in ("simple", "log"):
        raise InputError("data.return_method", "must be 'simple' or 'log'")
    w = cfg.portfolio.weights
    if w and len(w) != len(d.columns):
        raise InputError(
            "portfolio.weights", f"has {len(w)} values for {len(d.columns)} columns in data.columns"
        )
    if w and abs(sum(w) - 1.0) > 1e-9:
        raise InputError("portfolio.weights", f"must sum to 1 (they sum to {sum(w):.6g})")
    if not 0.5 < cfg.risk.var_confidence < 1.0:
        raise InputError(
            "risk.var_confidence", f"must be in (0.5, 1) (got {cfg.risk.var_confidence})"
        )
    b = cfg.backtest
    if b.delay < 1:
        raise InputError("backtest.delay", f"must be at least 1 day (got {b.delay})")
    if not 0 <= b.cost_bps <= 1000:
        raise InputError("backtest.cost_bps", f"must be between 0 and 1000 (got {b.cost_bps})")
    if b.rebalance not in ("daily", "weekly", "monthly", "quarterly", "regime_change"):
        raise InputError(
            "backtest.rebalance", "must be daily, weekly, monthly, quarterly or regime_change"
        )
    if not cfg.risk.var_window >= 20:
        raise InputError("risk.var_window", f"must be at least 20 days (got {cfg.risk.var_window})")
    if not 0.5 < cfg.risk.confidence < 1.0:
        raise InputError("risk.confidence", f"must be in (0.5, 1) (got {cfg.risk.confidence})")
    if cfg.risk.periods_per_year <= 0:
        raise InputError("risk.periods_per_year", "must be positive")
    from engine.regimes import DETECTORS

    if cfg.regimes.method not in DETECTORS:
        raise InputError("regimes.method", f"must be one of {', '.join(DETECTORS)}")
    if cfg.regimes.features and cfg.regimes.method in ("markov_switching",):
        raise InputError("regimes.features", "markov_switching models returns, not features")
    cfg.regimes.detector_params()  # validates feature names
    if cfg.regimes.n_states not in (2, 3, 4):
        raise InputError("regimes.n_states", "must be 2, 3 or 4")
    if not 0 < cfg.report.tolerance < 1e-3:
        raise InputError("report.tolerance", "must be a small positive number, e.g. 1e-9")
