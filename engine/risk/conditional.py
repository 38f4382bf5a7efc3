"""State-conditional risk: each measure on the observations of one regime state."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine import PERIODS_PER_YEAR
from engine.risk.measures import (
    annualized_mean,
    annualized_volatility,
    conditional_value_at_risk,
    max_drawdown,
    value_at_risk,
)

STATE_RISK_COLUMNS = (
    "Observations",
    "Share",
    "Mean (ann.)",
    "Volatility (ann.)",
    "VaR",
    "CVaR",
    "Max drawdown",
)


def state_risk_table(
    returns: np.ndarray,
    states: np.ndarray,
    labels: Sequence[str],
    confidence: float = 0.95,
    periods_per_year: int = PERIODS_PER_YEAR,
) -> pd.DataFrame:
    """Per-state risk of one return series (hard state labels, 0-based, one per observation).

    Rows: labels. Columns: observations, share of days, annualised mean and volatility,
    historical VaR and CVaR at `confidence`, and the compounded max drawdown of the state's
    days taken in order (the path of holding only on that state's days). NaN where a state has
    too few days for a figure (volatility needs 2; VaR/CVaR need one tail observation).
    """
    r = np.asarray(returns, dtype=float)
    s = np.asarray(states)
    rows = []
    for k, _ in enumerate(labels):
        x = r[s == k]
        n = x.size
        rows.append(
            [
                n,
                n / r.size,
                annualized_mean(x, periods_per_year) if n else np.nan,
                annualized_volatility(x, periods_per_year) if n >= 2 else np.nan,
                value_at_risk(x, confidence) if n else np.nan,
                conditional_value_at_risk(x, confidence) if n else np.nan,
                max_drawdown(x) if n else np.nan,
            ]
        )
    return pd.DataFrame(rows, index=list(labels), columns=list(STATE_RISK_COLUMNS))
