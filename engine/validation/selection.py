"""Choosing detector parameters by an out-of-sample backtest: the jump penalty scored by the
Sharpe ratio of a risk-off rule on walk-forward (causal) states. It lives here, above
`engine.backtest`, so that `engine.regimes` depends on nothing above it."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd

from engine.backtest.rules import risk_off_returns
from engine.regimes.base import signal
from engine.regimes.jump import JumpModelDetector
from engine.regimes.persistence import persistent_states
from engine.regimes.walkforward import walk_forward
from engine.risk.measures import sharpe_ratio


def risk_off_sharpe(
    sig: np.ndarray, states: np.ndarray, delay: int = 1, cost_bps: float = 10.0
) -> float:
    """Annualised Sharpe of 'hold the signal in the calmest state, else zero return', with
    the SPEC timing (decided at t, traded at t + delay) and costs on |Δw|."""
    pnl, _ = risk_off_returns(sig, np.zeros_like(sig), states == 0, delay, cost_bps)
    return float(sharpe_ratio(pnl))


def select_jump_penalty(
    returns: pd.DataFrame,
    penalties: Sequence[float] = (0.5, 2.0, 5.0, 20.0, 50.0),
    train_window: int = 1000,
    refit_every: int = 126,
    seed: int = 0,
) -> pd.DataFrame:
    """Each λ scored by the out-of-sample Sharpe of the risk-off rule on its walk-forward
    states (1-day delay, 10 bp): every score uses only causal, out-of-sample states."""
    sig = signal(returns.to_numpy(dtype=float))
    rows = []
    for lam in penalties:
        wf = walk_forward(
            returns,
            partial(JumpModelDetector, 2, jump_penalty=lam, random_state=seed),
            train_window=train_window,
            refit_every=refit_every,
        )
        states = persistent_states(wf.probabilities.to_numpy())
        live = states >= 0
        switches = int((np.diff(states[live]) != 0).sum())
        rows.append(
            {
                "jump_penalty": lam,
                "oos_sharpe": risk_off_sharpe(sig[live], states[live]),
                "switches_per_year": switches / max(int(live.sum()), 1) * 252,
            }
        )
    table = pd.DataFrame(rows).set_index("jump_penalty")
    table["best"] = table["oos_sharpe"] == table["oos_sharpe"].max()
    return table
