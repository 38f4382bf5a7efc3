"""Gaussian hidden Markov model detector on top of hmmlearn, with a causal forward filter.

hmmlearn traps avoided (see shared/research/regimes.md):
- `predict`/`predict_proba` are Viterbi/smoothed (they see the future): we filter ourselves;
- its covariance priors are large against daily variances: fit on returns × 100;
- `monitor_.converged` is True when the iteration cap is hit: we check `monitor_.iter < n_iter`;
- state order is arbitrary per seed: states are re-ordered by volatility after every fit.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular

from engine.errors import InputError
from engine.regimes.filtering import forward_backward_smoother, forward_filter
from engine.regimes.labels import state_labels

COVARIANCE_TYPES = ("auto", "full", "diag")


@dataclass(frozen=True)
class FitDiagnostics:
    n_init: int
    converged_inits: int
    best_init: int
    iterations: int
    converged: bool
    covariance_type: str
    init_logliks: tuple[float, ...]


def n_free_parameters(n_states: int, n_features: int, covariance_type: str) -> int:
    """Free parameters: start (K-1) + transitions K(K-1) + means K·d + covariances."""
    cov = n_features * (n_features + 1) // 2 if covariance_type == "full" else n_features
    return (n_states - 1) + n_states * (n_states - 1) + n_states * (n_features + cov)


def validate_returns_matrix(
    X: np.ndarray, argument: str = "returns", for_fit: bool = False
) -> np.ndarray:
    """2-D float array without NaN/inf; for fitting, also without constant columns."""
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] == 0:
        raise InputError(argument, "must be a table with one column per asset")
    if not np.isfinite(X).all():
        raise InputError(argument, "contains NaN or infinite values")
    const = np.flatnonzero(np.ptp(X, axis=0) == 0.0) if for_fit else np.array([], dtype=int)
    if const.size:
        raise InputError(
            argument, f"column {int(const[0]) + 1} is constant; a regime model needs variation"
        )
    return X


class GaussianHMMDetector:
    """Gaussian HMM regime detector (scikit-learn style).

    Parameters
    ----------
    n_states : 2, 3 or 4. States are ordered by the variance of the equal-weight portfolio
        under each state's covariance, calmest first (SPEC §3 labels).
    covariance_type : "full", "diag", or "auto" (full when there are at least 10 observations
        per free parameter, else diag).
    n_init : independent EM runs from seeded k-means initialisations; the best converged
        log-likelihood is kept.
    n_iter, tol : EM cap and tolerance (convergence means stopping before the cap).
    scale : returns are multiplied by this before EM so hmmlearn's priors stay negligible.
    random_state : seed; the same seed and data give bit-identical parameters.

    Attributes after `fit`: startprob_ (K,), transmat_ (K, K), means_ (K, d), covars_ (K, d, d)
    in return units, loglik_, bic_, diagnostics_, labels_.
    """

    def __init__(
        self,
        n_states: int = 2,
        covariance_type: str = "auto",
        n_init: int = 4,
        n_iter: int = 1000,
        tol: float = 1e-4,
        scale: float = 100.0,
        random_state: int = 0,
    ) -> None:
        self.n_states = n_states
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.scale = scale
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------
    def _resolve_covariance(self, n_obs: int, n_features: int) -> str:
        if self.covariance_type not in COVARIANCE_TYPES:
            raise InputError(
                "covariance_type", f"must be auto, full or diag (got {self.covariance_type!r})"
            )
        if self.covariance_type != "auto":
            return self.covariance_type
        full = n_free_parameters(self.n_states, n_features, "full")
        return "full" if n_features == 1 or n_obs >= 10 * full else "diag"

    def fit(self, X: np.ndarray) -> GaussianHMMDetector:
        """Fit on a (n_obs, n_assets) array of periodic returns."""
        from hmmlearn.hmm import GaussianHMM

        labels = state_labels(self.n_states)
        X = validate_returns_matrix(X, for_fit=True)
        n, d = X.shape
        cov_type = self._resolve_covariance(n, d)
        needed = max(30 * self.n_states, 3 * n_free_parameters(self.n_states, d, cov_type))
        if n < needed:
            raise InputError(
                "returns",
                f"need at least {needed} rows for {self.n_states} states on {d} asset(s) "
                f"(got {n}); add history or use fewer states",
            )
        Xs = X * self.scale
        seeds = np.random.SeedSequence(self.random_state).generate_state(self.n_init)
        best, best_ll, best_i, n_conv, logliks = None, -np.inf, -1, 0, []
        logging.getLogger("hmmlearn").setLevel(logging.ERROR)
        for i, s in enumerate(seeds):
            model = GaussianHMM(
                n_components=self.n_states,
                covariance_type=cov_type,
                n_iter=self.n_iter,
                tol=self.tol,
                random_state=int(s),
                init_params="stmc",
                params="stmc",
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(Xs)
            ll = float(model.score(Xs))
            logliks.append(ll)
            converged = model.monitor_.iter < self.n_iter and np.isfinite(ll)
            n_conv += int(converged)
            # Prefer converged runs; among them the highest likelihood.
            key = (converged, ll)
            if best is None or key > (best[1], best_ll):
                best, best_ll, best_i = (model, converged), ll, i
        assert best is not None
        model, converged = best
        means = model.means_ / self.scale
        covars = _full_covars(model, cov_type) / self.scale**2
        w = np.full(d, 1.0 / d)
        order = np.argsort([w @ c @ w for c in covars], kind="stable")
        self.startprob_ = model.startprob_[order]
        self.transmat_ = model.transmat_[np.ix_(order, order)]
        self.means_ = means[order]
        self.covars_ = covars[order]
        self.labels_ = labels
        self.n_features_in_ = d
        self._chol = np.linalg.cholesky(self.covars_)
        self.loglik_ = forward_filter(self.log_emission(X), self.startprob_, self.transmat_).loglik
        p = n_free_parameters(self.n_states, d, cov_type)
        self.bic_ = -2.0 * self.loglik_ + p * np.log(n)
        self.n_obs_ = n
        self.diagnostics_ = FitDiagnostics(
            n_init=self.n_init,
            converged_inits=n_conv,
            best_init=best_i,
            iterations=int(model.monitor_.iter),
            converged=bool(converged),
            covariance_type=cov_type,
            init_logliks=tuple(logliks),
        )
        return self

    # -- inference -------------------------------------------------------------------------
    def log_emission(self, X: np.ndarray) -> np.ndarray:
        """log N(x_t; mu_k, Sigma_k) for every row and state: (n_obs, n_states)."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        n, d = X.shape
        out = np.empty((n, self.n_states))
        for k in range(self.n_states):
            L = self._chol[k]
            z = solve_triangular(L, (X - self.means_[k]).T, lower=True)
            out[:, k] = (
                -0.5 * np.einsum("ij,ij->j", z, z)
                - np.log(np.diag(L)).sum()
                - 0.5 * d * np.log(2 * np.pi)
            )
        return out

    def predict_proba_filtered(self, X: np.ndarray) -> np.ndarray:
        """Filtered p(state_t | returns up to t), (n_obs, n_states): the causal output."""
        X = validate_returns_matrix(X)
        return forward_filter(self.log_emission(X), self.startprob_, self.transmat_).filtered

    def predict_proba_smoothed(self, X: np.ndarray) -> np.ndarray:
        """Smoothed p(state_t | all returns): USES FUTURE DATA; ex-post analysis only."""
        X = validate_returns_matrix(X)
        return forward_backward_smoother(self.log_emission(X), self.startprob_, self.transmat_)

    def expected_durations(self) -> np.ndarray:
        """Expected stay in each state in periods: 1 / (1 - p_kk)."""
        stay = np.diag(self.transmat_)
        with np.errstate(divide="ignore"):
            return np.where(stay < 1.0, 1.0 / (1.0 - stay), np.inf)


def _full_covars(model: object, cov_type: str) -> np.ndarray:
    covars = np.asarray(model.covars_)  # type: ignore[attr-defined]
    if cov_type == "full":
        return covars
    # hmmlearn's covars_ property already expands diag to (K, d, d)
    if covars.ndim == 3:
        return covars
    return np.stack([np.diag(c) for c in covars])
