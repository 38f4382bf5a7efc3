"""Forward filter (causal) and forward-backward smoother for hidden Markov models.

Filtered:  p(s_t | x_1..x_t)  -- uses data up to and including t; what every decision uses.
Smoothed:  p(s_t | x_1..x_T)  -- uses the future; only for labelled ex-post views.

Shapes: log_emission (n_obs, n_states) = log p(x_t | s_t = k); startprob (n_states,);
transmat (n_states, n_states) with rows summing to 1 (transmat[i, j] = P(s_t = j | s_{t-1} = i)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FilterResult:
    filtered: np.ndarray  # (n_obs, n_states), rows sum to 1
    scale: np.ndarray  # (n_obs,) one-step predictive densities, rescaled by row_max
    row_max: np.ndarray  # (n_obs,) max log-emission per row (the rescaling)
    loglik: float  # log p(x_1..x_T)


def forward_filter(
    log_emission: np.ndarray, startprob: np.ndarray, transmat: np.ndarray
) -> FilterResult:
    """Normalised forward recursion: alpha_t ∝ b_t ⊙ (alpha_{t-1} A), alpha_1 ∝ b_1 ⊙ pi.

    Row t depends on rows 0..t of `log_emission` only, so truncating the future leaves the
    past unchanged. Emissions are rescaled by their row maximum so nothing underflows.
    """
    log_emission = np.asarray(log_emission, dtype=float)
    n, k = log_emission.shape
    row_max = log_emission.max(axis=1)
    b = np.exp(log_emission - row_max[:, None])
    out = np.empty((n, k))
    scale = np.empty(n)
    a_t = transmat.T.copy()  # predicted_t = a_t @ alpha_{t-1}
    alpha = np.asarray(startprob, dtype=float) * b[0]
    for t in range(n):
        if t:
            alpha = (a_t @ alpha) * b[t]
        s = alpha.sum()
        if not s > 0.0:  # every state impossible: restart from the emission alone
            alpha = b[t].copy()
            s = alpha.sum()
        alpha = alpha / s
        out[t] = alpha
        scale[t] = s
    loglik = float(np.log(scale).sum() + row_max.sum())
    return FilterResult(filtered=out, scale=scale, row_max=row_max, loglik=loglik)


def forward_backward_smoother(
    log_emission: np.ndarray, startprob: np.ndarray, transmat: np.ndarray
) -> np.ndarray:
    """Smoothed p(s_t | x_1..x_T) (uses future data): (n_obs, n_states), rows sum to 1."""
    fr = forward_filter(log_emission, startprob, transmat)
    b = np.exp(np.asarray(log_emission) - fr.row_max[:, None])
    n, k = b.shape
    beta = np.ones((n, k))
    for t in range(n - 2, -1, -1):
        beta[t] = transmat @ (b[t + 1] * beta[t + 1]) / fr.scale[t + 1]
    gamma = fr.filtered * beta
    return gamma / gamma.sum(axis=1, keepdims=True)
