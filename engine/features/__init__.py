"""Causal features: every value at date t uses returns up to and including t only.

Inputs are simple periodic returns r_t (a Series). Features follow the jump-model literature
(Shu, Yu, Mulvey 2024): EWM downside deviation and Sortino ratio at several half-lives, plus
volatility, momentum, drawdown, RSI and moving-average distance. Exogenous series (VIX, rates,
spreads, anything the user supplies) enter through `levels`: their level, their change or their
log change over `periods` rows; they must already be aligned causally (a value at t known at t:
`engine.data.exogenous.align_exogenous` applies publication lags). A pipeline is a list of
`FeatureSpec` (declarable in configuration); `FeatureScaler` clips and standardises with
statistics of the training window only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.errors import InputError


def _log_returns(r: pd.Series) -> pd.Series:
    return pd.Series(np.log1p(r.to_numpy()), index=r.index)


def ewm_volatility(r: pd.Series, halflife: float) -> pd.Series:
    """sqrt(EWM mean of r_t²) with the given half-life (periodic units, not annualised)."""
    return (r**2).ewm(halflife=halflife, min_periods=1).mean().pow(0.5)


def ewm_log_volatility(r: pd.Series, halflife: float) -> pd.Series:
    """log sqrt(EWM mean of r_t²): log volatility, closer to Gaussian than the level."""
    return np.log(ewm_volatility(r, halflife).clip(lower=1e-8))


def ewm_downside_deviation(r: pd.Series, halflife: float) -> pd.Series:
    """log sqrt(EWM mean of min(r_t, 0)²): the log downside deviation (Shu et al. 2024)."""
    return np.log(_downside(r, halflife).clip(lower=1e-8))


def ewm_sortino(r: pd.Series, halflife: float) -> pd.Series:
    """EWM mean of r_t divided by the EWM downside deviation (same half-life)."""
    mean = r.ewm(halflife=halflife, min_periods=1).mean()
    return mean / _downside(r, halflife).clip(lower=1e-8)


def _downside(r: pd.Series, halflife: float) -> pd.Series:
    """sqrt(EWM mean of min(r_t, 0)²)."""
    return (r.clip(upper=0.0) ** 2).ewm(halflife=halflife, min_periods=1).mean().pow(0.5)


def rolling_volatility(r: pd.Series, window: int) -> pd.Series:
    """Sample standard deviation (ddof = 1) over the last `window` returns."""
    return r.rolling(window, min_periods=window).std(ddof=1)


def momentum(r: pd.Series, window: int) -> pd.Series:
    """Log return over the last `window` periods."""
    return _log_returns(r).rolling(window, min_periods=window).sum()


def log_drawdown(r: pd.Series) -> pd.Series:
    """log(NAV_t / max_{s<=t} NAV_s) <= 0, NAV compounded from the returns."""
    lnav = _log_returns(r).cumsum()
    return lnav - lnav.cummax().clip(lower=0.0)


def rsi(r: pd.Series, window: int = 14) -> pd.Series:
    """Wilder's RSI in [0, 100] from price changes of the compounded NAV."""
    nav = (1.0 + r).cumprod()
    change = nav.diff().fillna(nav.iloc[0] - 1.0)
    gain = change.clip(lower=0).ewm(alpha=1 / window, min_periods=window).mean()
    loss = (-change.clip(upper=0)).ewm(alpha=1 / window, min_periods=window).mean()
    rs = (gain / loss.replace(0.0, np.nan)).fillna(np.inf)
    return pd.Series(100.0 - 100.0 / (1.0 + rs), index=r.index)


def ma_distance(r: pd.Series, window: int) -> pd.Series:
    """log(NAV_t / simple moving average of NAV over `window` periods)."""
    nav = (1.0 + r).cumprod()
    return (nav / nav.rolling(window, min_periods=window).mean()).apply(np.log)


_RETURN_FEATURES = {
    "ewm_vol": (ewm_volatility, "halflife"),
    "ewm_log_vol": (ewm_log_volatility, "halflife"),
    "ewm_downside_dev": (ewm_downside_deviation, "halflife"),
    "ewm_sortino": (ewm_sortino, "halflife"),
    "rolling_vol": (rolling_volatility, "window"),
    "momentum": (momentum, "window"),
    "log_drawdown": (log_drawdown, None),
    "rsi": (rsi, "window"),
    "ma_distance": (ma_distance, "window"),
}
LEVEL_FEATURES = ("level", "change", "log_change")
FEATURE_NAMES = (*_RETURN_FEATURES, *LEVEL_FEATURES)


@dataclass(frozen=True)
class FeatureSpec:
    """One feature: `name` from FEATURE_NAMES, its window/half-life (for change and log_change:
    the periods differenced, default 1), and for level features the column of `levels` (e.g.
    VIX or a rate) it reads."""

    name: str
    param: float | None = None
    series: str | None = None

    @property
    def label(self) -> str:
        p = "" if self.param is None else f"_{self.param:g}"
        s = "" if self.series is None else f"_{self.series}"
        return f"{self.name}{p}{s}"


# Default for feature detectors: regimes here are volatility regimes (SPEC §3 orders states by
# volatility), and log EWM volatility at short half-lives reacts within days.
VOLATILITY_FEATURES = (
    FeatureSpec("ewm_log_vol", 1),
    FeatureSpec("ewm_log_vol", 3),
    FeatureSpec("ewm_log_vol", 10),
)
# Shu, Yu, Mulvey (2024) bull/bear features: downside deviation hl 10, Sortino hl 20 and 60
SHU_YU_MULVEY_FEATURES = (
    FeatureSpec("ewm_downside_dev", 10),
    FeatureSpec("ewm_sortino", 20),
    FeatureSpec("ewm_sortino", 60),
)


def parse_feature_specs(items: Sequence[dict[str, object]]) -> tuple[FeatureSpec, ...]:
    """Feature specs from configuration, e.g. [{name = "ewm_sortino", halflife = 20}]."""
    specs = []
    for i, item in enumerate(items):
        name = str(item.get("name", ""))
        if name not in FEATURE_NAMES:
            raise InputError(f"features[{i}].name", f"must be one of {', '.join(FEATURE_NAMES)}")
        param = item.get("halflife", item.get("window", item.get("periods")))
        series = item.get("series")
        if name in LEVEL_FEATURES and not series:
            raise InputError(
                f"features[{i}].series", f"{name} needs the exogenous series it reads, e.g. VIX"
            )
        if param is not None and not isinstance(param, int | float):
            raise InputError(
                f"features[{i}]", f"window/half-life/periods must be a number (got {param!r})"
            )
        specs.append(
            FeatureSpec(
                name,
                None if param is None else float(param),
                None if series is None else str(series),
            )
        )
    return tuple(specs)


def compute_features(
    signal: pd.Series,
    specs: Sequence[FeatureSpec],
    levels: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Dates × features. Row t uses `signal` (returns) and `levels` up to t only.

    Rows before every feature has its window are NaN (the warm-up)."""
    cols = {}
    for spec in specs:
        if spec.name in LEVEL_FEATURES:
            if levels is None or spec.series not in levels.columns:
                given = ", ".join(map(str, levels.columns)) if levels is not None else "none"
                raise InputError(
                    "features",
                    f"{spec.label} needs the exogenous series {spec.series!r} (given: {given})",
                )
            lev = levels[spec.series].reindex(signal.index)
            periods = 1 if spec.param is None else int(spec.param)
            if periods < 1:
                raise InputError("features", f"{spec.label}: periods must be at least 1")
            if spec.name == "level":
                cols[spec.label] = lev
            elif spec.name == "change":
                cols[spec.label] = lev.diff(periods)
            else:
                if (lev.dropna() <= 0).any():
                    raise InputError(
                        "features",
                        f"{spec.label}: {spec.series!r} has values <= 0; a log change needs "
                        "positive levels (use change)",
                    )
                cols[spec.label] = np.log(lev).diff(periods)
            continue
        fn, pname = _RETURN_FEATURES[spec.name]
        if pname is None:
            cols[spec.label] = fn(signal)  # type: ignore[operator]
        else:
            if spec.param is None or spec.param <= 0:
                raise InputError("features", f"{spec.name} needs a positive {pname}")
            arg = spec.param if pname == "halflife" else int(spec.param)
            cols[spec.label] = fn(signal, arg)  # type: ignore[operator]
    return pd.DataFrame(cols, index=signal.index)


def warmup_periods(specs: Sequence[FeatureSpec]) -> int:
    """Rows to drop at the start so EWM features have settled (3 half-lives) and rolling
    windows are full."""
    n = 1
    for s in specs:
        if s.param is None:
            continue
        n = max(n, int(np.ceil(3 * s.param)) if s.name.startswith("ewm") else int(s.param))
    return n


def exogenous_series(specs: Sequence[FeatureSpec]) -> tuple[str, ...]:
    """The exogenous series the level features read, in first-use order."""
    return tuple(dict.fromkeys(s.series for s in specs if s.name in LEVEL_FEATURES and s.series))


class FeatureScaler:
    """Clip at mean ± `clip` standard deviations, then standardise; both fitted on the
    training window only (so test rows never inform their own scaling)."""

    def __init__(self, clip: float = 3.0) -> None:
        self.clip = clip

    def fit(self, X: np.ndarray) -> FeatureScaler:
        X = np.asarray(X, dtype=float)
        self.lower_ = X.mean(axis=0) - self.clip * X.std(axis=0)
        self.upper_ = X.mean(axis=0) + self.clip * X.std(axis=0)
        Xc = np.clip(X, self.lower_, self.upper_)
        self.mean_ = Xc.mean(axis=0)
        sd = Xc.std(axis=0)
        self.scale_ = np.where(sd > 0, sd, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (
            np.clip(np.asarray(X, dtype=float), self.lower_, self.upper_) - self.mean_
        ) / self.scale_
