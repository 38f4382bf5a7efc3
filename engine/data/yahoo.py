"""yfinance loader (online only): adjusted daily closes for a list of tickers."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from engine.errors import InputError


def load_yahoo_prices(
    tickers: Sequence[str], start: str | None = None, end: str | None = None
) -> pd.DataFrame:
    """Dates × tickers of dividend- and split-adjusted closes from Yahoo Finance.

    Needs a network connection. Tickers with no data are an error naming them, not a silent
    drop. Dates are tz-naive trading days.
    """
    import yfinance as yf

    names = [t.strip().upper() for t in tickers if t and t.strip()]
    if not names:
        raise InputError("tickers", "give at least one ticker, e.g. SPY")
    raw = yf.download(
        names,
        start=start,
        end=end,
        auto_adjust=True,
        actions=False,
        progress=False,
        threads=False,
        group_by="column",
        multi_level_index=True,
    )
    if raw is None or raw.empty:
        raise InputError("tickers", f"Yahoo returned no data for {', '.join(names)}")
    close = raw["Close"] if isinstance(raw.columns, pd.MultiIndex) else raw[["Close"]]
    if isinstance(close, pd.Series):
        close = close.to_frame(names[0])
    close = close.reindex(columns=names)
    empty = [c for c in close.columns if close[c].notna().sum() == 0]
    if empty:
        raise InputError(
            "tickers", f"no prices for {', '.join(map(str, empty))}; check the tickers"
        )
    idx = pd.DatetimeIndex(close.index)
    close.index = (idx.tz_localize(None) if idx.tz is not None else idx).normalize().as_unit("ns")
    close.index.name = "Date"
    close.columns = [str(c) for c in close.columns]
    return close.astype(float)
