"""Excel functions (xlwings UDFs). Name this module in xlwings' UDF Modules: `xlfuncs`."""

from xlfuncs.functions import (
    engine_info,
    regime_current,
    regime_prob,
    regime_state,
    regime_summary,
    regime_transition,
    regime_weights,
    risk_measure,
    state_corr,
    state_cvar,
    state_stats,
    state_var,
    var_backtest,
)

__all__ = [
    "engine_info",
    "regime_current",
    "regime_prob",
    "regime_state",
    "regime_summary",
    "regime_transition",
    "regime_weights",
    "risk_measure",
    "state_corr",
    "state_cvar",
    "state_stats",
    "state_var",
    "var_backtest",
]
