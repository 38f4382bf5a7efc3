"""Rule-based strategies evaluated with the SPEC §3 timing: a signal known at close t trades
at close t + delay and earns from the next period on; costs on |Δw| in bp, one way."""

from __future__ import annotations

import numpy as np

from engine.errors import InputError


def risk_off_returns(
    asset: np.ndarray,
    cash: np.ndarray,
    in_market: np.ndarray,
    delay: int = 1,
    cost_bps: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Daily returns and weights of 'asset when in_market[t] else cash'.

    in_market[t] is decided at close t; the weight changes at close t + delay, so it first
    earns asset[t + delay + 1]. Shapes: (n,) each. Returns (strategy returns, asset weight).
    """
    if delay < 1:
        raise InputError(
            "delay", f"must be at least 1 day (got {delay}); a signal cannot trade at its own close"
        )
    sig = np.asarray(in_market, dtype=float)
    n = sig.size
    w = np.zeros(n)
    lag = delay + 1
    w[lag:] = sig[: n - lag]  # weight held over period t
    trades = np.abs(np.diff(np.r_[0.0, w]))  # traded at the close before period t
    r = w * asset + (1.0 - w) * cash - trades * cost_bps / 1e4
    return r, w
