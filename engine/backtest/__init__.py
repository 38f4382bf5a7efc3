"""Backtesting with explicit timing: the walk-forward simulator (`simulator`), strategies
(static, regime-aware), metrics and significance tests, attribution, the static-versus-dynamic
comparison, and 0/1 rule evaluation (`rules`, same cost convention as the simulator)."""
