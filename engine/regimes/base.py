"""What every regime detector shares: the scikit-learn-style interface, the canonical state
order (by volatility, calmest first) and the per-state summary.

A detector takes periodic returns (n_obs, n_assets). `fit` estimates it; then
`predict_proba_filtered(X)` returns (n_obs, n_states) probabilities whose row t depends on rows
0..t of X only (NaN rows during a feature warm-up). The "signal" of a multi-asset table is its
equal-weight portfolio return, used for feature detectors and for ordering states.

Exogenous series (VIX, rates, spreads) ride along as the last columns of X, named by the
detector's `exogenous` parameter: X = [returns | exogenous]. Only feature detectors read them,
through features that name them (`FeatureSpec("level", series="VIX")`); the signal, the state
order and the summaries use the return columns alone. Row t of the exogenous columns must be
known at t (align them with `engine.data.exogenous.align_exogenous`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine import PERIODS_PER_YEAR
from engine.errors import InputError
from engine.features import (
    FeatureScaler,
    FeatureSpec,
    compute_features,
    exogenous_series,
    warmup_periods,
)
from engine.regimes.labels import state_labels


def as_matrix(X: np.ndarray | pd.DataFrame, for_fit: bool = False) -> np.ndarray:
    """2-D float array without NaN/inf; for fitting, also without constant columns."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] == 0:
        raise InputError("returns", "must be a table with one column per asset")
    if not np.isfinite(X).all():
        raise InputError("returns", "contains NaN or infinite values")
    if for_fit:
        const = np.flatnonzero(np.ptp(X, axis=0) == 0.0)
        if const.size:
            raise InputError(
                "returns", f"column {int(const[0]) + 1} is constant; a regime model needs variation"
            )
    return X


def signal(X: np.ndarray) -> np.ndarray:
    """Equal-weight portfolio return of each row: (n_obs,)."""
    return np.asarray(X, dtype=float).mean(axis=1)


def hard_states(proba: np.ndarray) -> np.ndarray:
    """Most likely state per row; -1 where the row has no probabilities (warm-up)."""
    ok = np.isfinite(proba).all(axis=1)
    out = np.full(proba.shape[0], -1)
    out[ok] = np.argmax(proba[ok], axis=1)
    return out


def order_by_volatility(states: np.ndarray, sig: np.ndarray, n_states: int) -> np.ndarray:
    """Permutation `order` such that new state i = old state order[i], calmest first.

    A state with fewer than 2 days sorts last (no volatility to rank it by)."""
    vols = []
    for k in range(n_states):
        x = sig[states == k]
        vols.append(x.std(ddof=1) if x.size >= 2 else np.inf)
    return np.argsort(vols, kind="stable")


def empirical_transmat(states: np.ndarray, n_states: int) -> np.ndarray:
    """Row-normalised counts of s_{t-1} -> s_t over consecutive labelled days."""
    s = states[states >= 0]
    counts = np.zeros((n_states, n_states))
    np.add.at(counts, (s[:-1], s[1:]), 1.0)
    rows = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, rows, out=np.full_like(counts, 1.0 / n_states), where=rows > 0)


def state_moments(states: np.ndarray, sig: np.ndarray, n_states: int) -> np.ndarray:
    """(n_states, 2): mean and log volatility of the signal per state (for matching refits)."""
    out = np.full((n_states, 2), np.nan)
    for k in range(n_states):
        x = sig[states == k]
        if x.size >= 2:
            out[k] = (x.mean(), np.log(max(x.std(ddof=1), 1e-12)))
    return out


class RegimeDetector:
    """Base class: subclasses implement `_fit(X)` and `_proba(X)` on validated arrays."""

    transmat_: np.ndarray
    loglik_: float | None = None
    bic_: float | None = None
    exogenous: tuple[str, ...] = ()  # names of X's last columns that are not returns

    def returns_part(self, X: np.ndarray) -> np.ndarray:
        """The return columns of X (all but the exogenous ones)."""
        k = len(self.exogenous)
        return X[:, : X.shape[1] - k] if k else X

    def signal_of(self, X: np.ndarray) -> np.ndarray:
        """Equal-weight portfolio return of X's return columns: (n_obs,)."""
        return signal(self.returns_part(X))

    def _check_exogenous(self, X: np.ndarray) -> None:
        k = len(self.exogenous)
        if not k:
            return
        if X.shape[1] <= k:
            raise InputError(
                "features", f"X has {X.shape[1]} columns: no returns beside {k} exogenous series"
            )
        const = np.flatnonzero(np.ptp(X[:, -k:], axis=0) == 0.0)
        if const.size:
            name = self.exogenous[int(const[0])]
            raise InputError(
                "features", f"exogenous series {name!r} is constant; it cannot tell regimes apart"
            )

    def __init__(self, n_states: int = 2, random_state: int = 0) -> None:
        self.n_states = n_states
        self.random_state = random_state

    @property
    def labels_(self) -> tuple[str, ...]:
        return state_labels(self.n_states)

    def fit(self, X: np.ndarray | pd.DataFrame) -> RegimeDetector:
        """Estimate the detector on a (n_obs, n_assets) array of returns."""
        state_labels(self.n_states)
        X = as_matrix(X)
        self._check_exogenous(X)
        as_matrix(self.returns_part(X), for_fit=True)  # no constant return column
        self.n_features_in_ = X.shape[1]
        self._fit(X)
        return self

    def predict_proba_filtered(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        """p(state_t | returns up to t): (n_obs, n_states); NaN rows during warm-up."""
        X = as_matrix(X)
        if X.shape[1] != self.n_features_in_:
            raise InputError(
                "returns",
                f"has {X.shape[1]} columns; the detector was fitted on {self.n_features_in_}",
            )
        return self._proba(X)

    def expected_durations(self) -> np.ndarray:
        """Expected stay in each state in periods: 1 / (1 - p_kk)."""
        stay = np.diag(self.transmat_)
        with np.errstate(divide="ignore"):
            return np.where(stay < 1.0, 1.0 / (1.0 - stay), np.inf)

    def summary(
        self, X: np.ndarray | pd.DataFrame, periods_per_year: int = PERIODS_PER_YEAR
    ) -> pd.DataFrame:
        """Per state: annualised mean and volatility of the signal on the state's days
        (filtered hard labels), share of days, expected duration (from transmat_)."""
        X = as_matrix(X)
        states = hard_states(self.predict_proba_filtered(X))
        sig = self.signal_of(X)
        labelled = max(int((states >= 0).sum()), 1)
        rows = []
        for k in range(self.n_states):
            x = sig[states == k]
            rows.append(
                [
                    x.mean() * periods_per_year if x.size else np.nan,
                    x.std(ddof=1) * np.sqrt(periods_per_year) if x.size >= 2 else np.nan,
                    x.size / labelled,
                    self.expected_durations()[k],
                ]
            )
        cols = ["Mean (ann.)", "Volatility (ann.)", "Share of days", "Expected duration (days)"]
        return pd.DataFrame(rows, index=list(self.labels_), columns=cols)

    # -- subclass hooks --
    def _fit(self, X: np.ndarray) -> None:
        raise NotImplementedError

    def _proba(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class FeatureDetector(RegimeDetector):
    """A detector on causal features of the signal, clipped/standardised on the training rows."""

    features: Sequence[FeatureSpec] = ()

    def _check_exogenous(self, X: np.ndarray) -> None:
        super()._check_exogenous(X)
        used = set(exogenous_series(self.features))
        for name in self.exogenous:
            if name not in used:
                raise InputError(
                    "features",
                    f"exogenous series {name!r} is given but no feature reads it; add e.g. "
                    f'{{name = "level", series = "{name}"}}',
                )
        missing = [n for n in used if n not in self.exogenous]
        if missing:
            raise InputError(
                "features",
                f"{', '.join(map(repr, missing))} named by a feature but not given as an "
                "exogenous series",
            )

    def _feature_matrix(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(features (n, f), valid rows mask): rows in the warm-up or with NaN are invalid."""
        k = len(self.exogenous)
        levels = pd.DataFrame(X[:, -k:], columns=list(self.exogenous)) if k else None
        F = compute_features(pd.Series(self.signal_of(X)), self.features, levels).to_numpy()
        valid = np.isfinite(F).all(axis=1)
        valid[: min(warmup_periods(self.features), len(valid))] = False
        return F, valid

    def _training_features(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        F, valid = self._feature_matrix(X)
        need = 30 * self.n_states
        if valid.sum() < need:
            raise InputError(
                "returns",
                f"need at least {need} rows after the {warmup_periods(self.features)}-row feature "
                f"warm-up (got {int(valid.sum())}); add history",
            )
        self.scaler_ = FeatureScaler().fit(F[valid])
        return self.scaler_.transform(F[valid]), valid

    def _scaled(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        F, valid = self._feature_matrix(X)
        Z = np.full_like(F, np.nan)
        Z[valid] = self.scaler_.transform(F[valid])
        return Z, valid

    def _set_order(self, train_states: np.ndarray, X: np.ndarray, valid: np.ndarray) -> None:
        """Fix the canonical order from the training rows' hard labels."""
        self.order_ = order_by_volatility(train_states, self.signal_of(X)[valid], self.n_states)
        inverse = np.empty_like(self.order_)
        inverse[self.order_] = np.arange(self.n_states)
        relabelled = np.where(train_states >= 0, inverse[np.maximum(train_states, 0)], -1)
        self.transmat_ = empirical_transmat(relabelled, self.n_states)

    def _embed(self, proba_valid: np.ndarray, valid: np.ndarray) -> np.ndarray:
        out = np.full((valid.size, self.n_states), np.nan)
        out[valid] = proba_valid[:, self.order_]
        return out
