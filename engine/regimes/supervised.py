"""Supervised detectors: a classifier learns today's regime from today's causal features.

Labels come from realised data inside the training window only: the realised volatility of
the signal over the next `label_horizon` days, cut into K levels by a 1-D k-means on its log
(calmest = lowest). A label at t needs returns up to t + h, so the last h training days have
no label (the purge): nothing after the training cut-off is ever used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.errors import InputError
from engine.features import VOLATILITY_FEATURES, FeatureSpec
from engine.regimes.base import FeatureDetector, empirical_transmat

MODELS = ("gradient_boosting", "random_forest", "mlp")


def forward_volatility_labels(
    sig: np.ndarray, horizon: int, n_states: int, seed: int
) -> np.ndarray:
    """Label t = level of std(sig[t+1 .. t+h]) among K k-means levels of its log; -1 where the
    window runs past the end (the purge)."""
    from sklearn.cluster import KMeans  # heavy: imported by the fits that use it

    n = sig.size
    out = np.full(n, -1)
    if n <= horizon + 1:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(sig[1:], horizon)  # rows t = 0..n-h-1
    rv = np.log(np.maximum(windows.std(axis=1, ddof=1), 1e-12))
    km = KMeans(n_states, n_init=10, random_state=seed).fit(rv[:, None])
    rank = np.argsort(np.argsort(km.cluster_centers_[:, 0]))
    out[: rv.size] = rank[km.labels_]
    return out


def _classifier(name: str, seed: int) -> Any:
    if name == "gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed)
    if name == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=200, min_samples_leaf=20, random_state=seed, n_jobs=1
        )
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(16, 8),
        alpha=1e-3,
        max_iter=1000,
        early_stopping=True,
        random_state=seed,
    )


class SupervisedDetector(FeatureDetector):
    """Classifier (gradient boosting by default) from causal features to the volatility regime."""

    def __init__(
        self,
        n_states: int = 2,
        model: str = "gradient_boosting",
        label_horizon: int = 10,
        features: Sequence[FeatureSpec] = VOLATILITY_FEATURES,
        exogenous: Sequence[str] = (),
        random_state: int = 0,
    ) -> None:
        self.n_states = n_states
        self.model = model
        self.label_horizon = label_horizon
        self.features = tuple(features)
        self.exogenous = tuple(exogenous)
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> None:
        if self.model not in MODELS:
            raise InputError("model", f"must be one of {', '.join(MODELS)} (got {self.model!r})")
        Z, valid = self._training_features(X)
        labels = forward_volatility_labels(
            self.signal_of(X), self.label_horizon, self.n_states, self.random_state
        )[valid]
        keep = labels >= 0
        present = np.unique(labels[keep])
        if present.size < self.n_states:
            raise InputError("returns", "too little variation to define every regime; add history")
        self.classifier_ = _classifier(self.model, self.random_state).fit(Z[keep], labels[keep])
        self.order_ = np.arange(self.n_states)  # labels are volatility levels already
        self.transmat_ = empirical_transmat(labels, self.n_states)

    def _proba(self, X: np.ndarray) -> np.ndarray:
        Z, valid = self._scaled(X)
        if self.model == "mlp":
            return self._embed(mlp_probabilities(self.classifier_, Z[valid]), valid)
        return self._embed(self.classifier_.predict_proba(Z[valid]), valid)


def _rowwise_affine(A: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A @ W + b, each output row computed from its input row alone. BLAS picks kernels by the
    matrix shape, so `A @ W` on a prefix of rows can differ from the full product in the last
    bit; einsum's own loops sum in the same order for every row count."""
    return np.einsum("ij,jk->ik", A, W) + b


def mlp_probabilities(clf: Any, Z: np.ndarray) -> np.ndarray:
    """Class probabilities of a fitted scikit-learn MLPClassifier, (n, K), bit-identical for a
    row whatever rows come after it (prefix-stable, unlike `predict_proba`, which agrees with
    this to about 1e-16). Hidden layers: `clf.activation` (relu, tanh, logistic, identity);
    output: logistic for two classes ([1 - p, p]), softmax otherwise."""
    from scipy.special import expit

    h = Z
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1], strict=True):
        h = _rowwise_affine(h, W, b)
        if clf.activation == "relu":
            h = np.maximum(h, 0.0)
        elif clf.activation == "tanh":
            h = np.tanh(h)
        elif clf.activation == "logistic":
            h = expit(h)
    out = _rowwise_affine(h, clf.coefs_[-1], clf.intercepts_[-1])
    if clf.out_activation_ == "logistic":
        p = expit(out[:, 0])
        return np.column_stack([1.0 - p, p])
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class NeuralDetector(SupervisedDetector):
    """The supervised set-up with a small neural network (scikit-learn MLP, 16-8 units)."""

    def __init__(
        self,
        n_states: int = 2,
        label_horizon: int = 10,
        features: Sequence[FeatureSpec] = VOLATILITY_FEATURES,
        exogenous: Sequence[str] = (),
        random_state: int = 0,
    ) -> None:
        super().__init__(n_states, "mlp", label_horizon, features, exogenous, random_state)
