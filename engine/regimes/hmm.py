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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import solve_triangular

from engine.errors import InputError
from engine.features import FeatureSpec
from engine.regimes.base import FeatureDetector, as_matrix, order_by_volatility
from engine.regimes.filtering import forward_backward_smoother, forward_filter

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


class GaussianHMMDetector(FeatureDetector):
    """Gaussian HMM regime detector (scikit-learn style).

    Parameters
    ----------
    n_states : 2, 3 or 4. On returns, states are ordered by the variance of the equal-weight
        portfolio under each state's covariance; on features, by the realised volatility of
        the signal on each state's training days. Calmest first (SPEC §3 labels).
    covariance_type : "full", "diag", or "auto" (full when there are at least 10 observations
        per free parameter, else diag).
    n_init : independent EM runs from seeded k-means initialisations; the best converged
        log-likelihood is kept.
    n_iter, tol : EM cap and tolerance (convergence means stopping before the cap).
    scale : returns are multiplied by this before EM so hmmlearn's priors stay negligible.
    features : None to model the returns themselves, else causal features of the signal.
    random_state : seed; the same seed and data give bit-identical parameters.
    warm_start_from (attribute) : a fitted detector; `fit` then runs EM once from its parameters.

    Attributes after `fit`: startprob_ (K,), transmat_ (K, K), means_ (K, d), covars_ (K, d, d)
    (in return units when modelling returns), loglik_, bic_, diagnostics_.
    """

    startprob_: np.ndarray
    means_: np.ndarray
    covars_: np.ndarray
    _means_scaled: np.ndarray
    _covars_hmmlearn: np.ndarray

    def __init__(
        self,
        n_states: int = 2,
        covariance_type: str = "auto",
        n_init: int = 4,
        n_iter: int = 1000,
        tol: float = 1e-4,
        scale: float = 100.0,
        features: Sequence[FeatureSpec] | None = None,
        exogenous: Sequence[str] = (),
        random_state: int = 0,
    ) -> None:
        self.n_states = n_states
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.n_iter = n_iter
        self.tol = tol
        self.scale = scale
        self.features = tuple(features) if features else ()
        self.exogenous = tuple(exogenous)
        self.random_state = random_state
        self.warm_start_from: GaussianHMMDetector | None = None

    def _resolve_covariance(self, n_obs: int, n_features: int) -> str:
        if self.covariance_type not in COVARIANCE_TYPES:
            raise InputError(
                "covariance_type", f"must be auto, full or diag (got {self.covariance_type!r})"
            )
        if self.covariance_type != "auto":
            return self.covariance_type
        full = n_free_parameters(self.n_states, n_features, "full")
        return "full" if n_features == 1 or n_obs >= 10 * full else "diag"

    def _inputs(self, X: np.ndarray, fit: bool) -> tuple[np.ndarray, np.ndarray]:
        """What the HMM models: returns (all rows valid) or standardised features."""
        if not self.features:
            return X, np.ones(X.shape[0], dtype=bool)
        if fit:
            return self._training_features(X)
        Z, valid = self._scaled(X)
        return Z[valid], valid

    def _fit(self, X: np.ndarray) -> None:

        Y, valid = self._inputs(X, fit=True)
        n, d = Y.shape
        cov_type = self._resolve_covariance(n, d)
        needed = max(30 * self.n_states, 3 * n_free_parameters(self.n_states, d, cov_type))
        if n < needed:
            raise InputError(
                "returns",
                f"need at least {needed} rows for {self.n_states} states on {d} series "
                f"(got {n}); add history or use fewer states",
            )
        mult = 1.0 if self.features else self.scale
        Ys = Y * mult
        seeds = np.random.SeedSequence(self.random_state).generate_state(self.n_init)
        prev = self.warm_start_from
        starts: list[GaussianHMMDetector | None] = [None] * self.n_init
        if (
            prev is not None
            and getattr(prev, "_cov_type", None) == cov_type
            and prev.n_features_in_ == self.n_features_in_
        ):
            # a refit starts from the previous parameters instead of random initialisations:
            # one EM run of a few steps, and states that stay where they were
            seeds, starts = seeds[:1], [prev]
        logging.getLogger("hmmlearn").setLevel(logging.ERROR)
        runs = self._em_runs(Ys, cov_type, seeds, starts)
        if not any(ok for _, _, ok in runs) and starts[0] is not None:
            # the warm start degenerated (a state collapsed): start afresh from seeded inits
            fresh = np.random.SeedSequence(self.random_state).generate_state(self.n_init)
            runs = self._em_runs(Ys, cov_type, fresh, [None] * self.n_init)
        logliks = [float(m.score(Ys)) if ok else float("nan") for m, _, ok in runs]
        n_conv = sum(1 for _, conv, ok in runs if conv and ok)
        candidates = [
            (conv, ll, i)
            for i, ((_, conv, ok), ll) in enumerate(zip(runs, logliks, strict=True))
            if ok
        ]
        if not candidates:
            raise InputError(
                "returns",
                "the HMM fit degenerated (a state collapsed onto a few days); "
                "use fewer states or more history",
            )
        best_key = max(candidates)
        best_i = best_key[2]
        best = runs[best_i][0]
        best_converged = best_key[0]
        self._cov_type = cov_type
        means = best.means_ / mult
        covars = _full_covars(best, cov_type) / mult**2
        if self.features:
            labels = np.argmax(
                self._raw_filter(Y, best.startprob_, best.transmat_, means, covars), axis=1
            )
            order = order_by_volatility(labels, self.signal_of(X)[valid], self.n_states)
        else:
            w = np.full(d, 1.0 / d)
            order = np.argsort([w @ c @ w for c in covars], kind="stable")
        self.startprob_ = best.startprob_[order]
        self.transmat_ = best.transmat_[np.ix_(order, order)]
        self.means_ = means[order]
        self.covars_ = covars[order]
        self._means_scaled = self.means_ * mult
        raw = (
            np.asarray(best.covars_)
            if cov_type == "full"
            else np.diagonal(_full_covars(best, cov_type), axis1=1, axis2=2)
        )
        self._covars_hmmlearn = raw[order]
        self._chol = np.linalg.cholesky(self.covars_)
        self.loglik_ = forward_filter(self._log_emission(Y), self.startprob_, self.transmat_).loglik
        p = n_free_parameters(self.n_states, d, cov_type)
        self.bic_ = -2.0 * self.loglik_ + p * np.log(n)
        self.n_obs_ = n
        self.diagnostics_ = FitDiagnostics(
            n_init=self.n_init,
            converged_inits=n_conv,
            best_init=best_i,
            iterations=int(best.monitor_.iter),
            converged=bool(best_converged),
            covariance_type=cov_type,
            init_logliks=tuple(logliks),
        )

    def _em_runs(
        self,
        Ys: np.ndarray,
        cov_type: str,
        seeds: np.ndarray,
        starts: list[GaussianHMMDetector | None],
    ) -> list[tuple[Any, bool, bool]]:
        """One EM run per seed (or warm start): (model, converged before the cap, usable), where
        usable = finite likelihood and positive-definite covariances."""
        from hmmlearn.hmm import GaussianHMM

        out = []
        for s, start in zip(seeds, starts, strict=True):
            model = GaussianHMM(
                n_components=self.n_states,
                covariance_type=cov_type,
                n_iter=self.n_iter,
                tol=self.tol,
                random_state=int(s),
                init_params="stmc",
                params="stmc",
            )
            if start is not None:
                model.init_params = ""
                model.startprob_ = start.startprob_
                model.transmat_ = start.transmat_
                model.means_ = start._means_scaled
                model.covars_ = start._covars_hmmlearn
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    model.fit(Ys)
                    ll = float(model.score(Ys))
                    usable = np.isfinite(ll) and bool(
                        (np.linalg.eigvalsh(_full_covars(model, cov_type)) > 0).all()
                    )
                except (ValueError, np.linalg.LinAlgError):
                    usable = False
            out.append((model, bool(model.monitor_.iter < self.n_iter), usable))
        return out

    def _raw_filter(
        self,
        Y: np.ndarray,
        startprob: np.ndarray,
        transmat: np.ndarray,
        means: np.ndarray,
        covars: np.ndarray,
    ) -> np.ndarray:
        chol = np.linalg.cholesky(covars)
        return forward_filter(_gaussian_log_emission(Y, means, chol), startprob, transmat).filtered

    def _log_emission(self, Y: np.ndarray) -> np.ndarray:
        return _gaussian_log_emission(Y, self.means_, self._chol)

    def log_emission(self, X: np.ndarray) -> np.ndarray:
        """log N(y_t; mu_k, Sigma_k) for every valid row and state: (n_valid, n_states)."""
        Y, _ = self._inputs(as_matrix(X), fit=False)
        return self._log_emission(Y)

    def _proba(self, X: np.ndarray) -> np.ndarray:
        Y, valid = self._inputs(X, fit=False)
        out = np.full((X.shape[0], self.n_states), np.nan)
        out[valid] = forward_filter(self._log_emission(Y), self.startprob_, self.transmat_).filtered
        return out

    def predict_proba_smoothed(self, X: np.ndarray) -> np.ndarray:
        """Smoothed p(state_t | all returns): USES FUTURE DATA; ex-post analysis only."""
        Y, valid = self._inputs(as_matrix(X), fit=False)
        out = np.full((valid.size, self.n_states), np.nan)
        out[valid] = forward_backward_smoother(
            self._log_emission(Y), self.startprob_, self.transmat_
        )
        return out


def _gaussian_log_emission(Y: np.ndarray, means: np.ndarray, chol: np.ndarray) -> np.ndarray:
    n, d = Y.shape
    out = np.empty((n, means.shape[0]))
    for k in range(means.shape[0]):
        L = chol[k]
        z = solve_triangular(L, (Y - means[k]).T, lower=True)
        out[:, k] = (
            -0.5 * np.einsum("ij,ij->j", z, z)
            - np.log(np.diag(L)).sum()
            - 0.5 * d * np.log(2 * np.pi)
        )
    return out


def _full_covars(model: object, cov_type: str) -> np.ndarray:
    """hmmlearn's covars_ property expands diag to (K, d, d) already; keep that shape."""
    covars = np.asarray(model.covars_)  # type: ignore[attr-defined]
    if covars.ndim == 3:
        return covars
    return np.stack([np.diag(c) for c in covars])


__all__ = ["FitDiagnostics", "GaussianHMMDetector", "n_free_parameters"]
