"""Backtesting: rule evaluation with explicit timing (walk-forward simulator to come)."""
