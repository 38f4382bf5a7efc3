"""Regime detection: detectors behind one interface, fitted once per content (cached).

`fit_regimes` is what the Excel functions and the report call: it fits the detector on the
given returns and returns the *filtered* state probabilities. Note: the parameters are
estimated on the whole range given (in-sample); the probability at t then uses returns up to
t only. Walk-forward refits (fully out-of-sample) live in the backtester.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine import DEFAULT_SEED
from engine.cache import ContentCache, content_key
from engine.errors import InputError
from engine.regimes.base import RegimeDetector, hard_states
from engine.regimes.clustering import GaussianMixtureDetector, KMeansDetector
from engine.regimes.hmm import GaussianHMMDetector
from engine.regimes.jump import JumpModelDetector
from engine.regimes.labels import STATE_LABELS, state_index, state_labels
from engine.regimes.markov import MarkovSwitchingDetector
from engine.regimes.supervised import NeuralDetector, SupervisedDetector

# SPEC §4 `method` names -> detector classes (each takes n_states and random_state)
DETECTORS: dict[str, type[RegimeDetector]] = {
    "hmm": GaussianHMMDetector,
    "jump": JumpModelDetector,
    "gmm": GaussianMixtureDetector,
    "kmeans": KMeansDetector,
    "markov_switching": MarkovSwitchingDetector,
    "supervised": SupervisedDetector,
    "neural": NeuralDetector,
}
SMOOTHED_SUFFIX = " (smoothed, uses future data)"

FIT_CACHE = ContentCache(maxsize=32)


@dataclass
class RegimeResult:
    """A fitted detector and its filtered probabilities on the returns it was fitted on."""

    method: str
    detector: RegimeDetector
    returns: pd.DataFrame
    filtered: pd.DataFrame  # dates × labels, rows sum to 1
    _smoothed: pd.DataFrame | None = field(default=None, repr=False)
    exogenous: pd.DataFrame | None = None  # dates × series the features read, aligned causally

    @property
    def design(self) -> pd.DataFrame:
        """What the detector reads: the returns, then the exogenous series as the last columns."""
        return design_matrix(self.returns, self.exogenous)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.filtered.columns)

    @property
    def n_states(self) -> int:
        return len(self.labels)

    @property
    def states(self) -> np.ndarray:
        """Most likely state per date from the filtered probabilities (0 = calmest; -1 during a
        feature warm-up, when a detector has no probabilities yet)."""
        return hard_states(self.filtered.to_numpy())

    @property
    def current(self) -> pd.Series:
        """Filtered probabilities at the last date."""
        return self.filtered.iloc[-1]

    def smoothed(self) -> pd.DataFrame:
        """Smoothed probabilities: they use future data; column names say so."""
        if self._smoothed is None:
            smoother = getattr(self.detector, "predict_proba_smoothed", None)
            if smoother is None:
                raise InputError(
                    "smoothed",
                    f"the {self.method} detector has no smoothed probabilities; "
                    "use hmm or markov_switching",
                )
            p = smoother(self.design.to_numpy())
            self._smoothed = pd.DataFrame(
                p, index=self.returns.index, columns=[f"{c}{SMOOTHED_SUFFIX}" for c in self.labels]
            )
        return self._smoothed


def check_method(method: str) -> str:
    m = (method or "hmm").strip().lower()
    if m not in DETECTORS:
        raise InputError(
            "method", f"unknown detector {method!r}; available: {', '.join(DETECTORS)}"
        )
    return m


def design_matrix(returns: pd.DataFrame, exogenous: pd.DataFrame | None) -> pd.DataFrame:
    """Returns, then the exogenous series as the last columns (same dates, checked)."""
    if exogenous is None or exogenous.shape[1] == 0:
        return returns
    if not exogenous.index.equals(returns.index):
        raise InputError(
            "features", "exogenous series must be aligned to the returns' dates (align_exogenous)"
        )
    clash = set(map(str, exogenous.columns)) & set(map(str, returns.columns))
    if clash:
        raise InputError("features", f"{sorted(clash)} is both an asset and an exogenous series")
    return pd.concat([returns, exogenous], axis=1)


def fit_regimes(
    returns: pd.DataFrame,
    n_states: int = 2,
    method: str = "hmm",
    seed: int = DEFAULT_SEED,
    exogenous: pd.DataFrame | None = None,
    **params: Any,
) -> RegimeResult:
    """Fit `method` with `n_states` on `returns` (dates × assets); cached by content.

    `exogenous` (dates × series, on the returns' dates, each value known at its date) feeds
    the features that name its columns (`features=[FeatureSpec("level", series="VIX"), ...]`).
    `params` go to the detector (e.g. features=..., jump_penalty=...) and are part of the key."""
    method = check_method(method)
    labels = state_labels(n_states)
    design = design_matrix(returns, exogenous)
    if exogenous is not None and exogenous.shape[1]:
        params = {**params, "exogenous": tuple(map(str, exogenous.columns))}
    key = content_key("fit_regimes", design, n_states, method, seed, sorted(params.items()))

    def compute() -> RegimeResult:
        try:
            det = DETECTORS[method](n_states=n_states, random_state=seed, **params)
        except TypeError as exc:
            raise InputError("regimes", f"{method} does not take {sorted(params)}: {exc}") from exc
        X = design.to_numpy(dtype=float)
        det.fit(X)
        probs = det.predict_proba_filtered(X)
        filtered = pd.DataFrame(probs, index=returns.index, columns=list(labels))
        return RegimeResult(
            method=method,
            detector=det,
            returns=returns,
            filtered=filtered,
            exogenous=exogenous if exogenous is not None and exogenous.shape[1] else None,
        )

    result: RegimeResult = FIT_CACHE.get_or_compute(key, compute)
    return result


__all__ = [
    "DETECTORS",
    "FIT_CACHE",
    "SMOOTHED_SUFFIX",
    "STATE_LABELS",
    "GaussianHMMDetector",
    "GaussianMixtureDetector",
    "JumpModelDetector",
    "KMeansDetector",
    "MarkovSwitchingDetector",
    "NeuralDetector",
    "RegimeDetector",
    "RegimeResult",
    "SupervisedDetector",
    "check_method",
    "design_matrix",
    "fit_regimes",
    "hard_states",
    "state_index",
    "state_labels",
]
