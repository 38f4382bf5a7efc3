"""Data: bundled sample, CSV/XLSX, yfinance; calendar alignment; returns; simulated regimes."""

from engine.data.align import AlignmentReport, MissingPolicy, align_prices
from engine.data.exogenous import ExogenousReport, align_exogenous
from engine.data.files import load_table
from engine.data.returns import prices_to_returns
from engine.data.sample import (
    load_sample_levels,
    load_sample_prices,
    sample_columns,
    sample_levels_columns,
    sample_levels_provenance,
    sample_provenance,
)
from engine.data.simulate import SimulatedRegimes, simulate_regime_returns, simulate_state_indicator

__all__ = [
    "AlignmentReport",
    "ExogenousReport",
    "MissingPolicy",
    "SimulatedRegimes",
    "align_exogenous",
    "align_prices",
    "load_sample_levels",
    "load_sample_prices",
    "load_table",
    "prices_to_returns",
    "sample_columns",
    "sample_levels_columns",
    "sample_levels_provenance",
    "sample_provenance",
    "simulate_regime_returns",
    "simulate_state_indicator",
]
