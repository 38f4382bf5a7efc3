"""Prices to returns: the only place where prices become returns.

simple: r_t = P_t / P_{t-1} - 1      log: r_t = ln(P_t / P_{t-1})
The first date has no return and is dropped.

Also the check that a table holds what it is declared to hold (`check_declared_kind`): prices
fed in as returns, or returns as prices, otherwise fail far downstream (an optimiser that does
not converge, NaN in a risk measure) with a message that names neither the file nor the cause.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import InputError

RETURN_METHODS = ("simple", "log")
# When a column declared as returns is refused as prices (see `not_returns_because`).
# Typical sizes, from the bundled series 1950-2022: median |daily return| 0.5-2%, |monthly|
# up to 12%, |annual| up to 52% (AMD); a price series moves a few percent of its level a day.
MAX_MEDIAN_ABS_RETURN = 1.0  # a move beyond ±100% on most rows is no periodic return
LEVEL_FLOOR = 0.2  # positive series above this and slow-moving are prices; cash returns are below
LEVEL_MIN_ROWS = 20


def not_returns_because(column: pd.Series) -> str | None:
    """Why a column declared as returns must hold prices (or percentages), or None if it can
    hold returns.

    Either most values are beyond ±100% (median |x| > MAX_MEDIAN_ABS_RETURN), or the column is
    a level: every value positive, a median above LEVEL_FLOOR and changes from row to row
    smaller than half that median (for returns, which hardly depend on yesterday's, the typical
    change is larger than the typical value). Medians, so crisis days and log returns below -1
    cannot move the verdict. A price below LEVEL_FLOOR (a currency quoted in another, a stock
    split-adjusted to cents) cannot be told from a cash return and passes.
    """
    x = column.dropna().to_numpy(dtype=float)
    if x.size == 0:
        return None
    size = float(np.median(np.abs(x)))
    if x.size >= LEVEL_MIN_ROWS and size > LEVEL_FLOOR and (x > 0).all():
        step = float(np.median(np.abs(np.diff(x))))
        if step < 0.5 * size:
            return (
                f"it is positive throughout with a median of {size:.4g} and moves by a median "
                f"{step:.4g} from row to row, like a price level"
            )
    if size > MAX_MEDIAN_ABS_RETURN:
        return f"its median absolute value is {size:.4g}, a move beyond ±100% on most rows"
    return None


def check_declared_kind(
    values: pd.DataFrame, kind: str, source: str, rows: np.ndarray | None = None
) -> None:
    """Refuse a dates × assets table whose numbers cannot be `kind` ("prices" or "returns").

    returns: a column `not_returns_because` says cannot be returns. prices: a zero or negative
    value (returns have them on most days). `source` names the table in the message (a file
    name); `rows` gives each row's number in that file. The error's argument is `data.kind`,
    the setting of a report configuration to change.
    """
    if kind == "returns":
        for col in values.columns:
            reason = not_returns_because(values[col])
            if reason:
                raise InputError(
                    "data.kind",
                    f"column {col!r} of {source} does not hold returns: {reason} (returns "
                    "are fractions, 0.01 is 1%). If the file holds prices, write "
                    "kind = 'prices'; if it holds percentages, divide them by 100.",
                )
    elif kind == "prices":
        x = values.to_numpy(dtype=float)
        if (x <= 0).any():
            r, c = np.argwhere(x <= 0)[0]
            row = f"row {int(rows[r])}, " if rows is not None else ""
            raise InputError(
                "data.kind",
                f"{source}, {row}{values.index[r]:%Y-%m-%d}, column {values.columns[c]!r}: "
                f"{x[r, c]:g} cannot be a price (prices are positive). If the file holds "
                "returns, write kind = 'returns'.",
            )


def prices_to_returns(prices: pd.DataFrame, method: str = "simple") -> pd.DataFrame:
    """Periodic returns from a dates × assets price table (no NaN, strictly positive)."""
    if method not in RETURN_METHODS:
        raise InputError("method", f"must be 'simple' or 'log' (got {method!r})")
    values = prices.to_numpy(dtype=float)
    if values.shape[0] < 2:
        raise InputError("prices", "need at least two dates to compute a return")
    if np.isnan(values).any():
        raise InputError("prices", "contains missing values; align the prices first")
    if (values <= 0).any():
        r, c = np.argwhere(values <= 0)[0]
        when = prices.index[r]
        when = f"{when:%Y-%m-%d}" if isinstance(when, pd.Timestamp) else f"row {r + 1}"
        raise InputError(
            "prices",
            f"prices must be strictly positive ({prices.columns[c]!r} is {values[r, c]:g} on "
            f"{when}): are these returns rather than prices?",
        )
    ratio = values[1:] / values[:-1]
    out = np.log(ratio) if method == "log" else ratio - 1.0
    return pd.DataFrame(out, index=prices.index[1:], columns=prices.columns)
