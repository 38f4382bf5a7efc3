"""Statistical jump model (Nystrup, Lindström, Madsen 2020; Shu, Yu, Mulvey 2024).

Objective over a state sequence s and centroids θ, on standardised features x_t:
    Σ_t ½‖x_t − θ_{s_t}‖²  +  λ · #{t : s_t ≠ s_{t−1}}
fitted by coordinate descent from k-means++ starts: the best sequence for fixed centroids by
dynamic programming, then centroids = means of their states, until the sequence repeats.

Continuous variant (K = 2 here): states are probability vectors p on a grid of the simplex,
loss Σ_k p_k ½‖x_t − θ_k‖², jump cost λ·(½‖p_t − p_{t−1}‖₁)² plus the "mode loss" that makes
the penalty rows correspond to a transition matrix (as in the `jumpmodels` package).

Online (causal) state: the argmin of the DP value vector at t, which depends on rows ≤ t only.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy.special import logsumexp

from engine.errors import InputError
from engine.features import VOLATILITY_FEATURES, FeatureSpec
from engine.regimes.base import FeatureDetector


def penalty_matrix(jump_penalty: float, n_states: int) -> np.ndarray:
    """λ off the diagonal, 0 on it: the cost of moving from state i (row) to j (column)."""
    return jump_penalty * (1.0 - np.eye(n_states))


def simplex_grid(n_states: int, grid_size: float) -> np.ndarray:
    """All probability vectors with coordinates on multiples of grid_size: (n_points, K)."""
    m = round(1 / grid_size)
    pts = [c for c in itertools.product(range(m + 1), repeat=n_states) if sum(c) == m]
    return np.array(pts[::-1], dtype=float) / m


def continuous_penalty(jump_penalty: float, grid: np.ndarray) -> np.ndarray:
    l1 = np.abs(grid[:, None, :] - grid[None, :, :]).sum(axis=2) / 2
    pen = jump_penalty * l1**2
    mode = logsumexp(-pen, axis=1, keepdims=True)
    return pen + (mode - mode[0])


def dp_values(loss: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """V_t(k) = loss_t(k) + min_j (V_{t-1}(j) + penalty[j, k]), V_0 = loss_0.

    Row t uses rows ≤ t only: its argmin is the online (causal) state."""
    n, k = loss.shape
    values = np.empty((n, k))
    values[0] = loss[0]
    for t in range(1, n):
        values[t] = loss[t] + (values[t - 1][:, None] + penalty).min(axis=0)
    return values


def dp_path(loss: np.ndarray, penalty: np.ndarray) -> tuple[np.ndarray, float]:
    """The optimal state sequence (back-tracked: uses the whole window) and its objective."""
    values = dp_values(loss, penalty)
    n = loss.shape[0]
    path = np.empty(n, dtype=int)
    path[-1] = int(values[-1].argmin())
    for t in range(n - 1, 0, -1):
        path[t - 1] = int((values[t - 1] + penalty[:, path[t]]).argmin())
    return path, float(values[-1, path[-1]])


class JumpModelDetector(FeatureDetector):
    """Statistical jump model on causal features (default: log EWM volatility, half-lives
    1, 3, 10; `engine.features.SHU_YU_MULVEY_FEATURES` with λ ≈ 50 for the bull/bear set-up).

    jump_penalty : λ, the cost of one state change in units of ½ squared standardised distance
        (default 2: persistence without the lag a large λ brings to the online state).
    cont : the continuous jump model (probabilities on a simplex grid), K = 2 only.
    """

    def __init__(
        self,
        n_states: int = 2,
        jump_penalty: float = 2.0,
        cont: bool = False,
        grid_size: float = 0.05,
        features: Sequence[FeatureSpec] = VOLATILITY_FEATURES,
        exogenous: Sequence[str] = (),
        n_init: int = 10,
        max_iter: int = 1000,
        random_state: int = 0,
    ) -> None:
        self.n_states = n_states
        self.jump_penalty = jump_penalty
        self.cont = cont
        self.grid_size = grid_size
        self.features = tuple(features)
        self.exogenous = tuple(exogenous)
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    def _space(self) -> tuple[np.ndarray | None, np.ndarray]:
        if not self.cont:
            return None, penalty_matrix(self.jump_penalty, self.n_states)
        if self.n_states != 2:
            raise InputError("n_states", "the continuous jump model is offered for 2 states only")
        grid = simplex_grid(2, self.grid_size)
        return grid, continuous_penalty(self.jump_penalty, grid)

    def _loss(self, Z: np.ndarray, centers: np.ndarray, grid: np.ndarray | None) -> np.ndarray:
        d2 = ((Z[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        loss = 0.5 * d2
        return loss if grid is None else loss @ grid.T

    def _fit(self, X: np.ndarray) -> None:
        from sklearn.cluster import kmeans_plusplus  # heavy: imported by the fits that use it

        if self.jump_penalty < 0:
            raise InputError("jump_penalty", f"must be 0 or more (got {self.jump_penalty})")
        Z, valid = self._training_features(X)
        grid, penalty = self._space()
        seeds = np.random.SeedSequence(self.random_state).generate_state(self.n_init)
        best: tuple[float, np.ndarray, np.ndarray] | None = None
        for s in seeds:
            centers, _ = kmeans_plusplus(Z, self.n_states, random_state=int(s))
            path, value = dp_path(self._loss(Z, centers, grid), penalty)
            prev_path, prev_value = None, np.inf
            it = 0
            while (
                it < self.max_iter
                and (prev_path is None or not np.array_equal(path, prev_path))
                and prev_value - value > 1e-8
            ):
                it += 1
                prev_path, prev_value = path, value
                weights = _weights(path, grid, self.n_states)
                mass = weights.sum(axis=0)
                centers = np.where(
                    mass[:, None] > 0, (weights.T @ Z) / np.maximum(mass, 1e-12)[:, None], centers
                )
                path, value = dp_path(self._loss(Z, centers, grid), penalty)
            if best is None or value < best[0]:
                best = (value, centers, path)
        assert best is not None
        self.objective_, centers, path = best
        weights = _weights(path, grid, self.n_states)
        self._set_order(np.argmax(weights, axis=1), X, valid)
        self.centers_ = centers[self.order_]
        self._grid, self._penalty = grid, penalty
        if grid is not None:  # keep the grid consistent with the new state order
            self._grid = grid[:, self.order_]
        self.order_ = np.arange(self.n_states)  # centers are already in canonical order

    def _proba(self, X: np.ndarray) -> np.ndarray:
        Z, valid = self._scaled(X)
        values = dp_values(self._loss(Z[valid], self.centers_, self._grid), self._penalty)
        best = values.argmin(axis=1)
        proba = np.eye(self.n_states)[best] if self._grid is None else self._grid[best]
        return self._embed(proba, valid)


def _weights(path: np.ndarray, grid: np.ndarray | None, n_states: int) -> np.ndarray:
    return np.eye(n_states)[path] if grid is None else grid[path]
