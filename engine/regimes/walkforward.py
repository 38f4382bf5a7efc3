"""Walk-forward regime probabilities: fully out of sample.

Refit dates are i0, i0 + N, i0 + 2N, ... (i0 = first row with `min_train` rows of history).
At refit date i the detector is fitted on rows [i - window + 1, i] (or [0, i] if expanding),
then the probabilities of rows i .. i + N - 1 come from filtering forward with those frozen
parameters from the start of that training window. Row t therefore uses returns up to t only
and parameters estimated on data up to t only. Truncating the future cannot change the past:
the refit schedule is anchored at the start of the series.

States are aligned across refits by matching their (mean, log volatility) moments to the
previous fit (Hungarian assignment), so "Crisis" stays "Crisis" after a refit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from engine.errors import InputError
from engine.regimes.base import RegimeDetector, hard_states, signal, state_moments
from engine.regimes.labels import state_labels


@dataclass
class WalkForwardResult:
    probabilities: pd.DataFrame  # dates × labels; NaN before the first fit
    refits: pd.DataFrame  # one row per refit: date, training start/end, permutation applied
    detectors: list[RegimeDetector] = field(repr=False, default_factory=list)


def match_states(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Permutation p with candidate state p[i] playing reference state i.

    Cost: (Δ mean / σ̄)² + (Δ log vol)², σ̄ the reference states' mean volatility, so a mean
    difference counts in units of daily volatility and volatility in relative terms."""
    ref, cand = np.nan_to_num(reference, nan=0.0), np.nan_to_num(candidate, nan=0.0)
    sigma = max(float(np.exp(ref[:, 1]).mean()), 1e-12)
    d_mean = (ref[:, None, 0] - cand[None, :, 0]) / sigma
    d_vol = ref[:, None, 1] - cand[None, :, 1]
    rows, cols = linear_sum_assignment(d_mean**2 + d_vol**2)
    return cols[np.argsort(rows)]


def walk_forward(
    returns: pd.DataFrame,
    make_detector: Callable[[], RegimeDetector],
    train_window: int = 2520,
    refit_every: int = 21,
    expanding: bool = False,
    min_train: int | None = None,
    align: bool = True,
    warm_start: bool = True,
) -> WalkForwardResult:
    """Out-of-sample filtered probabilities of `make_detector()` refitted on a schedule."""
    X = returns.to_numpy(dtype=float)
    n = X.shape[0]
    min_train = train_window if min_train is None else min_train
    if refit_every < 1 or train_window < 2 or min_train < 2:
        raise InputError("refit_every", "refit_every must be >= 1 and windows >= 2 rows")
    if n < min_train:
        raise InputError(
            "returns", f"need at least {min_train} rows before the first refit (got {n})"
        )
    first = min_train - 1
    proto = make_detector()
    k = proto.n_states
    labels = state_labels(k)
    out = np.full((n, k), np.nan)
    records = []
    detectors: list[RegimeDetector] = []
    prev_moments: np.ndarray | None = None
    prev: RegimeDetector | None = None
    for i in range(first, n, refit_every):
        start = 0 if expanding else max(0, i - train_window + 1)
        det = make_detector()
        if warm_start and prev is not None and hasattr(det, "warm_start_from"):
            det.warm_start_from = prev
        det.fit(X[start : i + 1])
        stop = min(i + refit_every, n)
        proba = det.predict_proba_filtered(X[start:stop])
        perm = np.arange(k)
        train_states = hard_states(proba[: i + 1 - start])
        # the signal of the return columns (a detector with exogenous series says which)
        signal_of = getattr(det, "signal_of", signal)
        moments = state_moments(train_states, signal_of(X[start : i + 1]), k)
        if align and prev_moments is not None and np.isfinite(moments).all():
            perm = match_states(prev_moments, moments)
            moments = moments[perm]
        out[i:stop] = proba[i - start :, perm]
        if np.isfinite(moments).all():
            prev_moments = moments
        records.append(
            {
                "refit_date": returns.index[i],
                "train_start": returns.index[start],
                "train_end": returns.index[i],
                "permutation": tuple(int(p) for p in perm),
            }
        )
        detectors.append(det)
        prev = det
    return WalkForwardResult(
        probabilities=pd.DataFrame(out, index=returns.index, columns=list(labels)),
        refits=pd.DataFrame(records),
        detectors=detectors,
    )
