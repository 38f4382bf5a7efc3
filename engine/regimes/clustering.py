"""Mixture and clustering detectors on causal features (scikit-learn).

Each day is assigned from that day's features alone (features are causal), so the assignment
is causal by construction; the scaler and the model are fitted on the training rows only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.features import VOLATILITY_FEATURES, FeatureSpec
from engine.regimes.base import FeatureDetector


class GaussianMixtureDetector(FeatureDetector):
    """Gaussian mixture on standardised features; probabilities = posterior responsibilities."""

    def __init__(
        self,
        n_states: int = 2,
        covariance_type: str = "full",
        features: Sequence[FeatureSpec] = VOLATILITY_FEATURES,
        exogenous: Sequence[str] = (),
        n_init: int = 4,
        random_state: int = 0,
    ) -> None:
        self.n_states = n_states
        self.covariance_type = covariance_type
        self.features = tuple(features)
        self.exogenous = tuple(exogenous)
        self.n_init = n_init
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> None:
        from sklearn.mixture import GaussianMixture  # heavy: imported by the fits that use it

        Z, valid = self._training_features(X)
        self.model_ = GaussianMixture(
            self.n_states,
            covariance_type=self.covariance_type,
            n_init=self.n_init,
            random_state=self.random_state,
            max_iter=500,
        ).fit(Z)
        self._set_order(self.model_.predict(Z), X, valid)
        self.loglik_ = float(self.model_.score(Z) * Z.shape[0])
        self.bic_ = float(self.model_.bic(Z))

    def _proba(self, X: np.ndarray) -> np.ndarray:
        Z, valid = self._scaled(X)
        return self._embed(self.model_.predict_proba(Z[valid]), valid)


class KMeansDetector(FeatureDetector):
    """k-means on standardised features; each day belongs to its nearest centroid (0/1)."""

    def __init__(
        self,
        n_states: int = 2,
        features: Sequence[FeatureSpec] = VOLATILITY_FEATURES,
        exogenous: Sequence[str] = (),
        n_init: int = 10,
        random_state: int = 0,
    ) -> None:
        self.n_states = n_states
        self.features = tuple(features)
        self.exogenous = tuple(exogenous)
        self.n_init = n_init
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> None:
        from sklearn.cluster import KMeans

        Z, valid = self._training_features(X)
        self.model_ = KMeans(self.n_states, n_init=self.n_init, random_state=self.random_state).fit(
            Z
        )
        self._set_order(self.model_.labels_, X, valid)

    def _proba(self, X: np.ndarray) -> np.ndarray:
        Z, valid = self._scaled(X)
        return self._embed(np.eye(self.n_states)[self.model_.predict(Z[valid])], valid)
