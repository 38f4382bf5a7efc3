"""Risk measures (VaR, CVaR, volatility, drawdown) and state-conditional risk."""

from engine.risk.conditional import STATE_RISK_COLUMNS, state_risk_table
from engine.risk.measures import (
    RISK_MEASURES,
    annualized_mean,
    annualized_volatility,
    check_confidence,
    conditional_value_at_risk,
    max_drawdown,
    sharpe_ratio,
    value_at_risk,
)

__all__ = [
    "RISK_MEASURES",
    "STATE_RISK_COLUMNS",
    "annualized_mean",
    "annualized_volatility",
    "check_confidence",
    "conditional_value_at_risk",
    "max_drawdown",
    "sharpe_ratio",
    "state_risk_table",
    "value_at_risk",
]
