"""Strategies: callables from the history up to a decision date to target weights.

Each sees only the rows it is given (the simulator passes returns up to the decision date).
Stateful strategies (the regime strategy keeps its last fit for warm starts and refit timing)
evolve identically on any truncation of the history, so re-running on a shorter history gives
the same decisions up to the cut (the causality self-check).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from engine.allocation import optimal_weights, regime_weight_table
from engine.backtest.simulator import Decision
from engine.errors import InputError
from engine.regimes import DETECTORS, hard_states, state_labels
from engine.regimes.base import RegimeDetector
from engine.regimes.persistence import persistent_states, smooth_probabilities


class StaticStrategy:
    """Fixed weights, or an allocation rule re-estimated on the trailing `window` rows."""

    def __init__(
        self,
        objective: str = "min_variance",
        window: int = 756,
        max_weight: float = 1.0,
        fixed: ArrayLike | None = None,
    ) -> None:
        self.objective, self.window, self.max_weight = objective, window, max_weight
        self.fixed = None if fixed is None else np.asarray(fixed, dtype=float)

    def __call__(self, history: pd.DataFrame) -> Decision:
        if self.fixed is not None:
            return Decision(self.fixed)
        X = history.to_numpy()[-self.window :]
        start = history.index[-len(X)]
        return Decision(
            optimal_weights(X, self.objective, self.max_weight), info={"data_start": start}
        )


class RegimeStrategy:
    """Per-state optimal weights on the window's filtered states, blended by today's filtered
    probabilities. The detector is refitted every `refit_every` rows on the trailing window
    (warm-started from the previous fit where the detector supports it).

    Persistence against whipsaw: `smoothing` (trailing k-day mean of the probabilities),
    `threshold` (switch state only when the new state's probability reaches it) and
    `min_holding` (days in a state before it may switch), applied along the window."""

    def __init__(
        self,
        method: str = "hmm",
        n_states: int = 2,
        objective: str = "min_variance",
        window: int = 756,
        refit_every: int = 21,
        max_weight: float = 1.0,
        seed: int = 0,
        detector_params: Mapping[str, Any] | None = None,
        smoothing: int = 1,
        threshold: float = 0.5,
        min_holding: int = 1,
        exogenous: pd.DataFrame | None = None,
    ) -> None:
        if method not in DETECTORS:
            raise InputError(
                "method", f"unknown detector {method!r}; available: {', '.join(DETECTORS)}"
            )
        self.method, self.n_states, self.objective = method, n_states, objective
        self.window, self.refit_every, self.max_weight, self.seed = (
            window,
            refit_every,
            max_weight,
            seed,
        )
        self.params = dict(detector_params or {})
        # exogenous series on the returns' dates, each value known at its date: the detector
        # reads history's dates from it (so a decision at t sees them up to t only)
        self.exogenous = exogenous if exogenous is not None and exogenous.shape[1] else None
        if self.exogenous is not None:
            self.params["exogenous"] = tuple(map(str, self.exogenous.columns))
        self.smoothing, self.threshold, self.min_holding = smoothing, threshold, min_holding
        self.labels = state_labels(n_states)
        self._detector: RegimeDetector | None = None
        self._fitted_at = -(10**9)

    def _fit(self, X: np.ndarray, rows: int) -> RegimeDetector:
        if self._detector is None or rows - self._fitted_at >= self.refit_every:
            det = DETECTORS[self.method](
                n_states=self.n_states, random_state=self.seed, **self.params
            )
            if self._detector is not None and hasattr(det, "warm_start_from"):
                det.warm_start_from = self._detector
            det.fit(X)
            self._detector, self._fitted_at = det, rows
        return self._detector

    def probabilities(self, history: pd.DataFrame) -> np.ndarray:
        """Filtered probabilities over the window (trailing-mean smoothed if asked)."""
        window = history.iloc[-self.window :]
        if self.exogenous is not None:
            window = pd.concat([window, self.exogenous.reindex(window.index)], axis=1)
        X = window.to_numpy(dtype=float)
        probs = self._fit(X, len(history)).predict_proba_filtered(X)
        return smooth_probabilities(probs, self.smoothing) if self.smoothing > 1 else probs

    def current_state(self, probs: np.ndarray) -> int:
        """Today's state after the persistence rules (-1 before the first probabilities)."""
        return int(persistent_states(probs, self.threshold, self.min_holding)[-1])

    def __call__(self, history: pd.DataFrame) -> Decision:
        window = history.iloc[-self.window :]
        probs = self.probabilities(history)
        states = hard_states(probs)
        now = np.nan_to_num(probs[-1], nan=1.0 / self.n_states)
        table = regime_weight_table(
            window, states, self.labels, now, self.objective, self.max_weight
        )
        current = self.current_state(probs)
        label = self.labels[current] if current >= 0 else None
        info: dict[str, Any] = {"data_start": window.index[0]}
        info.update({f"p({lab})": float(p) for lab, p in zip(self.labels, now, strict=True)})
        return Decision(table["Now"].to_numpy(), regime=label, info=info)


class RiskOffStrategy(RegimeStrategy):
    """The 0/1 rule: the base weights in the calmest state, all cash otherwise."""

    def __init__(self, base_weights: ArrayLike, **kw: Any) -> None:
        super().__init__(**kw)
        self.base = np.asarray(base_weights, dtype=float)

    def __call__(self, history: pd.DataFrame) -> Decision:
        current = self.current_state(self.probabilities(history))
        label = self.labels[current] if current >= 0 else None
        return Decision(self.base if current == 0 else np.zeros_like(self.base), regime=label)


class StateTiltStrategy(RegimeStrategy):
    """A static benchmark tilted by state: weights_by_state[label] blended by probabilities."""

    def __init__(self, weights_by_state: Mapping[str, ArrayLike], **kw: Any) -> None:
        super().__init__(**kw)
        missing = [lab for lab in self.labels if lab not in weights_by_state]
        if missing:
            raise InputError("weights_by_state", f"missing states {missing}")
        self.table = np.array([weights_by_state[lab] for lab in self.labels], dtype=float).T

    def __call__(self, history: pd.DataFrame) -> Decision:
        probs = self.probabilities(history)
        now = np.nan_to_num(probs[-1], nan=1.0 / self.n_states)
        current = self.current_state(probs)
        label = self.labels[current] if current >= 0 else None
        return Decision(self.table @ now, regime=label)


class VolTargetStrategy:
    """Base weights scaled to a target annualised volatility (trailing `window`), capped at 1."""

    def __init__(self, base_weights: ArrayLike, target_vol: float = 0.10, window: int = 63) -> None:
        self.base, self.target, self.window = (
            np.asarray(base_weights, dtype=float),
            target_vol,
            window,
        )

    def __call__(self, history: pd.DataFrame) -> Decision:
        port = history.to_numpy()[-self.window :] @ self.base
        vol = port.std(ddof=1) * np.sqrt(252) if port.size > 1 else 0.0
        scale = 1.0 if vol <= 0 else min(1.0, self.target / vol)
        return Decision(self.base * scale)


class MovingAverageStrategy:
    """Each asset held at its base weight while its NAV is above its `window`-day average."""

    def __init__(self, base_weights: ArrayLike, window: int = 200) -> None:
        self.base, self.window = np.asarray(base_weights, dtype=float), window

    def __call__(self, history: pd.DataFrame) -> Decision:
        nav = np.cumprod(1.0 + history.to_numpy(), axis=0)
        if nav.shape[0] < self.window:
            return Decision(self.base)
        above = nav[-1] > nav[-self.window :].mean(axis=0)
        return Decision(np.where(above, self.base, 0.0))
