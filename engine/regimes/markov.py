"""Hamilton's Markov-switching regression (statsmodels `MarkovRegression`) with switching
mean and variance on the signal (equal-weight portfolio return).

statsmodels estimates the parameters by maximum likelihood; we then run the same forward
(Hamilton) filter as every other detector, so filtered probabilities come from one code path
(they equal statsmodels' `filtered_marginal_probabilities`, tested).
"""

from __future__ import annotations

import warnings

import numpy as np

from engine.errors import InputError
from engine.regimes.base import RegimeDetector, as_matrix, signal
from engine.regimes.filtering import forward_backward_smoother, forward_filter


class MarkovSwitchingDetector(RegimeDetector):
    """y_t = μ_{s_t} + σ_{s_t} ε_t, ε ~ N(0, 1), s_t a K-state Markov chain (returns × 100)."""

    def __init__(self, n_states: int = 2, search_reps: int = 10, random_state: int = 0) -> None:
        self.n_states = n_states
        self.search_reps = search_reps
        self.random_state = random_state
        self.scale = 100.0

    def _fit(self, X: np.ndarray) -> None:
        from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

        y = signal(X) * self.scale
        if y.size < 50 * self.n_states:
            raise InputError(
                "returns", f"need at least {50 * self.n_states} rows for {self.n_states} states"
            )
        model = MarkovRegression(y, k_regimes=self.n_states, trend="c", switching_variance=True)
        rng = np.random.default_rng(self.random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(search_reps=self.search_reps, rng=rng, disp=False)
        names = list(model.param_names)
        params = np.asarray(res.params)
        mu = np.array([params[names.index(f"const[{k}]")] for k in range(self.n_states)])
        var = np.array([params[names.index(f"sigma2[{k}]")] for k in range(self.n_states)])
        P = np.asarray(model.regime_transition_matrix(params))[:, :, 0].T  # to row-stochastic
        start = np.asarray(model.initial_probabilities(params))
        order = np.argsort(var, kind="stable")
        self.means_ = mu[order] / self.scale
        self.variances_ = var[order] / self.scale**2
        self.transmat_ = P[np.ix_(order, order)]
        self.startprob_ = start[order]
        self.statsmodels_result_ = res
        self.order_ = order
        self.loglik_ = forward_filter(self._log_emission(X), self.startprob_, self.transmat_).loglik
        n_params = 2 * self.n_states + self.n_states * (self.n_states - 1)
        self.bic_ = -2 * self.loglik_ + n_params * np.log(y.size)

    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        y = signal(X)[:, None]
        return -0.5 * (
            (y - self.means_) ** 2 / self.variances_ + np.log(2 * np.pi * self.variances_)
        )

    def _proba(self, X: np.ndarray) -> np.ndarray:
        return forward_filter(self._log_emission(X), self.startprob_, self.transmat_).filtered

    def predict_proba_smoothed(self, X: np.ndarray) -> np.ndarray:
        """Smoothed p(state_t | all returns): USES FUTURE DATA; ex-post analysis only."""
        X = as_matrix(X)
        return forward_backward_smoother(self._log_emission(X), self.startprob_, self.transmat_)
