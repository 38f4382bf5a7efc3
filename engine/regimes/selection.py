"""Model selection: the number of states (by likelihood)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from engine.errors import InputError
from engine.regimes.filtering import forward_filter
from engine.regimes.hmm import GaussianHMMDetector


def select_n_states(
    returns: pd.DataFrame,
    candidates: Sequence[int] = (2, 3, 4),
    holdout: float = 0.25,
    seed: int = 0,
) -> pd.DataFrame:
    """HMM BIC on the first (1 - holdout) of the data, and the out-of-sample log-likelihood
    per observation on the rest (the filter runs on the whole series, scored on the holdout)."""
    X = returns.to_numpy(dtype=float)
    cut = round(X.shape[0] * (1 - holdout))
    if cut < 100 or X.shape[0] - cut < 50:
        raise InputError("returns", "need at least 150 rows to compare numbers of states")
    rows = []
    for k in candidates:
        det = GaussianHMMDetector(k, random_state=seed)
        det.fit(X[:cut])
        full = forward_filter(det.log_emission(X), det.startprob_, det.transmat_)
        train = forward_filter(det.log_emission(X[:cut]), det.startprob_, det.transmat_)
        oos = (full.loglik - train.loglik) / (X.shape[0] - cut)
        rows.append({"n_states": k, "bic": det.bic_, "oos_loglik_per_obs": oos})
    table = pd.DataFrame(rows).set_index("n_states")
    table["best_bic"] = table["bic"] == table["bic"].min()
    table["best_oos"] = table["oos_loglik_per_obs"] == table["oos_loglik_per_obs"].max()
    return table
