"""Exogenous market-state series (VIX, rates, spreads, anything the user supplies) put on the
returns' dates so that the value used at date t was known at t.

A series observed on date d with a publication lag of L calendar days is known from d + L (a
monthly figure published 30 days after its date: L = 30). On each return date the latest value
known by then is used (as of), provided it is not older than the series' own spacing allows
(`staleness_days`: 1.6 × its median spacing, at least `min_staleness_days`). Anything else is an
error that names the series and the dates: a series that starts after the returns or ends
before them, text cells, a constant series, gaps longer than the staleness limit.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.errors import InputError

DAILY_SPACING_DAYS = 5  # a median spacing up to this is a daily (business-day) series


@dataclass
class ExogenousReport:
    """Per series: spacing, lag, how many return dates reuse an older value, the longest reuse."""

    rows: list[dict[str, object]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"{r['series']}: {r['frequency']} (median spacing {r['spacing_days']:g} days), "
            f"publication lag {r['lag_days']} days, {r['carried']} return dates use an earlier "
            f"value (longest {r['longest_carry_days']} days)"
            for r in self.rows
        ]


def _day(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d")


def _numeric(name: str, s: pd.Series, arg: str = "exogenous") -> pd.Series:
    """The series as floats; text cells are an error naming the first one."""
    values = pd.to_numeric(s, errors="coerce")
    bad = values.isna() & s.notna() & (s.astype(str).str.strip() != "")
    if bad.any():
        d = s.index[bad.to_numpy()][0]
        raise InputError(
            arg,
            f"series {name!r} holds text ({s[bad].iloc[0]!r}) on {_day(d)} "
            f"({int(bad.sum())} cells in all); give numbers only",
        )
    return values.astype(float)


def align_exogenous(
    raw: pd.DataFrame,
    dates: pd.DatetimeIndex,
    lags: Mapping[str, int] | None = None,
    min_staleness_days: int = 7,
    arg: str = "exogenous",
) -> tuple[pd.DataFrame, ExogenousReport]:
    """Dates × series on `dates` (the returns' dates), each value known at its date.

    raw : dates × series as observed (any frequency, its own calendar; NaN where none).
    lags : publication lag in calendar days per series (default 0: known on its date).
    arg : the setting or argument errors name (e.g. "features" for the Excel argument).
    Raises InputError naming the series and the dates for anything that cannot be aligned;
    warns when a non-daily series has a lag shorter than its spacing."""
    lags = dict(lags or {})
    unknown = sorted(set(lags) - set(map(str, raw.columns)))
    if unknown:
        raise InputError(arg, f"lags given for {unknown}, which are not among the series")
    if not isinstance(raw.index, pd.DatetimeIndex):
        raise InputError(arg, "the series need dates as their index")
    if raw.index.has_duplicates:
        d = raw.index[raw.index.duplicated()][0]
        raise InputError(arg, f"date {_day(d)} appears twice; one row per date")
    report = ExogenousReport()
    out: dict[str, np.ndarray] = {}
    for col in raw.columns:
        name = str(col)
        s = _numeric(name, raw[col].sort_index(), arg).dropna()
        if s.empty:
            raise InputError(arg, f"series {name!r} has no values")
        if not np.isfinite(s.to_numpy()).all():
            raise InputError(arg, f"series {name!r} holds infinite values")
        if s.nunique() == 1:
            raise InputError(
                arg,
                f"series {name!r} is constant ({s.iloc[0]:g}) from {_day(s.index[0])} to "
                f"{_day(s.index[-1])}; it cannot tell regimes apart",
            )
        lag = int(lags.get(name, 0))
        if lag < 0:
            raise InputError(arg, f"series {name!r}: publication lag must be 0 or more")
        spacing = float(np.median(np.diff(s.index.to_numpy()) / np.timedelta64(1, "D")))
        if spacing > DAILY_SPACING_DAYS and lag < spacing:
            msg = (
                f"series {name!r} is observed about every {spacing:g} days but its publication "
                f"lag is {lag} days: a value dated at the start of its period is known only at "
                "its end or later; check the lag"
            )
            report.warnings.append(msg)
            warnings.warn(msg, stacklevel=2)
        staleness = max(min_staleness_days, int(np.ceil(1.6 * spacing)))
        known = s.copy()
        known.index = known.index + pd.Timedelta(days=lag)
        first, last = known.index[0], known.index[-1]
        if first > dates[0]:
            raise InputError(
                arg,
                f"series {name!r} is known from {_day(first)} (first value {_day(s.index[0])}, "
                f"lag {lag} days) but the returns start on {_day(dates[0])}; give a longer "
                "series or start the returns later",
            )
        if dates[-1] - last > pd.Timedelta(days=staleness):
            raise InputError(
                arg,
                f"series {name!r} ends on {_day(s.index[-1])} but the returns run to "
                f"{_day(dates[-1])}; give a series that covers them or end the returns earlier",
            )
        # as of each return date: the latest value known by then, and the date it was known
        pos = known.index.searchsorted(dates, side="right") - 1
        value = known.to_numpy()[pos]
        age: np.ndarray = np.asarray((dates - known.index[pos]).days)
        stale = age > staleness
        if stale.any():
            gap = dates[stale]
            raise InputError(
                arg,
                f"series {name!r} has no value within {staleness} days before {len(gap)} return "
                f"dates, first {_day(gap[0])}, last {_day(gap[-1])}; fill the gap in the series",
            )
        out[name] = value
        carried = int((age > 0).sum())
        report.rows.append(
            {
                "series": name,
                "frequency": "daily" if spacing <= DAILY_SPACING_DAYS else "periodic",
                "spacing_days": spacing,
                "lag_days": lag,
                "first": _day(s.index[0]),
                "last": _day(s.index[-1]),
                "carried": carried,
                "longest_carry_days": int(age.max()) if age.size else 0,
            }
        )
    return pd.DataFrame(out, index=dates), report
