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
    earns asset[t + delay + 1]. Shapes: (n,) each. Returns (strategy returns, asset weight held
    over each period).

    Costs follow `engine.backtest.simulator.simulate` exactly: a trade at close t is paid from
    the NAV at that close, r_t = (1 + w_t a_t + (1 - w_t) c_t)(1 - bp·|w_{t+1} - w_t|) - 1, so a
    0/1 signal gives the same returns on both paths (tested to 1e-12). A trade at the last
    close is paid too, as `simulate` does.
    """
    if delay < 1:
        raise InputError(
            "delay", f"must be at least 1 day (got {delay}); a signal cannot trade at its own close"
        )
    sig = np.asarray(in_market, dtype=float)
    n = sig.size
    lag = delay + 1
    w_ext = np.zeros(
        n + 1
    )  # weight held over period t; entry n is the one bought at the last close
    w_ext[lag:] = sig[: n + 1 - lag]
    w = w_ext[:n]
    traded = np.abs(np.diff(w_ext))  # traded at close t
    gross = w * asset + (1.0 - w) * cash
    r = (1.0 + gross) * (1.0 - traded * cost_bps / 1e4) - 1.0
    return r, w
