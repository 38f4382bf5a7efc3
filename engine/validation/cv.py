"""Out-of-sample evaluation: purged and embargoed time-series cross-validation for choosing
detector parameters, and rolling-origin evaluation of a strategy.

Purged k-fold (López de Prado 2018): the series is cut into k contiguous test blocks; a fold
trains on everything else except `purge` rows before its test block (whose look-forward labels
or features overlap the test) and `embargo` rows after it (serial dependence leaking back).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.regimes import DETECTORS, hard_states
from engine.regimes.base import signal
from engine.validation.selection import risk_off_sharpe


def purged_kfold(
    n_obs: int, n_splits: int = 5, purge: int = 10, embargo: int = 10
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, test rows) per fold; train excludes the test block, `purge` rows before it
    and `embargo` rows after it."""
    if n_splits < 2 or n_obs < n_splits * 10:
        raise InputError("n_splits", f"need at least 2 folds of 10 rows (n={n_obs}, k={n_splits})")
    edges = np.linspace(0, n_obs, n_splits + 1).astype(int)
    folds = []
    for k in range(n_splits):
        a, b = edges[k], edges[k + 1]
        test = np.arange(a, b)
        keep = np.ones(n_obs, dtype=bool)
        keep[max(0, a - purge) : min(n_obs, b + embargo)] = False
        folds.append((np.flatnonzero(keep), test))
    return folds


def cross_validate_detector(
    returns: pd.DataFrame,
    method: str,
    grid: Sequence[dict[str, Any]],
    n_splits: int = 5,
    purge: int = 10,
    embargo: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Score each parameter set by the risk-off Sharpe on the test blocks (states filtered with
    parameters fitted on the purged training rows only). Training rows on both sides of a test
    block are concatenated: acceptable for regime models whose fit ignores time order across
    the join (a single seam day); the filter itself runs on the test block alone."""
    if method not in DETECTORS:
        raise InputError("method", f"unknown detector {method!r}")
    X = returns.to_numpy(dtype=float)
    sig = signal(X)
    rows = []
    for params in grid:
        scores = []
        for train, test in purged_kfold(len(X), n_splits, purge, embargo):
            det = DETECTORS[method](random_state=seed, **params)
            det.fit(X[train])
            states = hard_states(det.predict_proba_filtered(X[test]))
            live = states >= 0
            scores.append(risk_off_sharpe(sig[test][live], states[live]))
        rows.append(
            {
                **params,
                "mean_oos_sharpe": float(np.mean(scores)),
                "std_oos_sharpe": float(np.std(scores)),
            }
        )
    table = pd.DataFrame(rows)
    table["best"] = table["mean_oos_sharpe"] == table["mean_oos_sharpe"].max()
    return table


def rolling_origin(
    returns: pd.DataFrame,
    evaluate: Callable[[pd.DataFrame, pd.DataFrame], dict[str, float]],
    first_origin: int,
    horizon: int = 252,
) -> pd.DataFrame:
    """Evaluate on successive out-of-sample blocks: for origin o (every `horizon` rows from
    `first_origin`), `evaluate(history up to o, the next horizon rows)` -> metrics."""
    rows = []
    for o in range(first_origin, len(returns) - 1, horizon):
        test = returns.iloc[o + 1 : o + 1 + horizon]
        if len(test) < 20:
            break
        rows.append({"origin": returns.index[o], **evaluate(returns.iloc[: o + 1], test)})
    return pd.DataFrame(rows)


def oos_split(
    returns: pd.DataFrame, test_fraction: float = 0.3
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(in-sample, out-of-sample) by time: the last `test_fraction` of rows is held out."""
    if not 0 < test_fraction < 1:
        raise InputError("test_fraction", f"must be in (0, 1) (got {test_fraction})")
    cut = round(len(returns) * (1 - test_fraction))
    return returns.iloc[:cut], returns.iloc[cut:]
