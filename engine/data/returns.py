"""Prices to returns: the only place where prices become returns.

simple: r_t = P_t / P_{t-1} - 1      log: r_t = ln(P_t / P_{t-1})
The first date has no return and is dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import InputError

RETURN_METHODS = ("simple", "log")


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
        raise InputError("prices", "prices must be strictly positive")
    ratio = values[1:] / values[:-1]
    out = np.log(ratio) if method == "log" else ratio - 1.0
    return pd.DataFrame(out, index=prices.index[1:], columns=prices.columns)
