"""Attribution of a backtest: per asset (return, volatility and CVaR contributions), per
regime (return, risk and costs earned in each state), and Brinson–Fachler of the dynamic
portfolio against the static one, linked over periods with Carino's factors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.backtest.simulator import BacktestResult


def held_weights(result: BacktestResult) -> pd.DataFrame:
    """Weights held over each period t (end of t-1), cash as the last column."""
    w = result.weights.shift(1).fillna(0.0)
    w["Cash"] = 1.0 - w.sum(axis=1)
    return w


def asset_contributions(
    result: BacktestResult,
    returns: pd.DataFrame,
    cash: pd.Series | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per asset: return contribution Σ_t w_{t-1,i} r_{t,i}; Euler volatility contribution
    w̄_i (Σ w̄)_i / σ at the average weights (sums to the portfolio's volatility); and the
    realised CVaR contribution -mean(w_{t-1,i} r_{t,i} | t in the portfolio's worst 1-c days),
    which sums to the mean tail loss. Costs are a row of their own."""
    w = held_weights(result)
    r = returns.copy()
    r["Cash"] = 0.0 if cash is None else cash.reindex(returns.index).fillna(0.0)
    contrib = w * r
    gross = contrib.sum(axis=1)
    k = max(1, int(np.floor((1 - confidence) * len(gross))))
    tail = np.argsort(gross.to_numpy(), kind="stable")[:k]
    wbar = w.iloc[:, :-1].mean().to_numpy()
    cov = np.cov(returns.to_numpy(), rowvar=False).reshape(len(wbar), len(wbar)) * 252
    sigma = float(np.sqrt(wbar @ cov @ wbar))
    euler = np.r_[wbar * (cov @ wbar) / sigma if sigma > 0 else np.zeros_like(wbar), 0.0]
    table = pd.DataFrame(
        {
            "Return contribution": contrib.sum(),
            "Volatility contribution (Euler)": euler,
            "CVaR contribution": -contrib.iloc[tail].mean(),
        }
    )
    table.loc["Costs"] = [-result.costs.sum(), 0.0, result.costs.iloc[tail].mean()]
    return table


def regime_contributions(result: BacktestResult) -> pd.DataFrame:
    """Per regime in force: days, return earned (sum of net returns), annualised volatility,
    costs paid, worst day."""
    df = pd.DataFrame({"r": result.returns, "cost": result.costs, "regime": result.regime}).dropna(
        subset=["regime"]
    )
    out = df.groupby("regime").agg(
        days=("r", "size"),
        return_earned=("r", "sum"),
        volatility=("r", "std"),
        costs=("cost", "sum"),
        worst_day=("r", "min"),
    )
    out["volatility"] *= np.sqrt(252)
    return out


def brinson_fachler(
    port: BacktestResult,
    bench: BacktestResult,
    returns: pd.DataFrame,
    cash: pd.Series | None = None,
) -> pd.DataFrame:
    """Allocation, selection and interaction per asset (segments = assets + cash), each period
    by Brinson–Fachler, linked with Carino's log factors so the effects sum to the compounded
    active return of the gross returns."""
    wp, wb = held_weights(port), held_weights(bench)
    r = returns.copy()
    r["Cash"] = 0.0 if cash is None else cash.reindex(returns.index).fillna(0.0)
    Rp, Rb = (wp * r).sum(axis=1), (wb * r).sum(axis=1)
    alloc = (wp - wb) * r.sub(Rb, axis=0)
    select = wb * (r - r)  # both portfolios hold the same assets: segment returns are equal
    inter = (wp - wb) * (r - r)

    def carino(a: object, b: object) -> np.ndarray:
        """k = (ln(1+a) - ln(1+b)) / (a - b), and 1/(1+a) in the limit a = b."""
        a_, b_ = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(
                np.abs(a_ - b_) > 1e-15, (np.log1p(a_) - np.log1p(b_)) / (a_ - b_), 1.0 / (1.0 + a_)
            )

    k_t = carino(Rp, Rb)
    total_p, total_b = float(np.prod(1 + Rp) - 1), float(np.prod(1 + Rb) - 1)
    K = float(carino(total_p, total_b))
    scale = pd.Series(np.asarray(k_t) / K, index=r.index)
    table = pd.DataFrame(
        {
            "Allocation": alloc.mul(scale, axis=0).sum(),
            "Selection": select.mul(scale, axis=0).sum(),
            "Interaction": inter.mul(scale, axis=0).sum(),
        }
    )
    table["Total"] = table.sum(axis=1)
    table.attrs["active_return"] = total_p - total_b
    return table
