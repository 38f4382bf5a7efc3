"""yfinance loaders (online only): adjusted closes of assets, unadjusted closes of level series.

Prices (`load_yahoo_prices`): dividend- and split-adjusted closes, for assets whose returns
are computed, e.g. SPY or the bond ETFs TLT, IEF, LQD, HYG (their monthly distributions are
part of the adjusted close's return).

Levels (`load_yahoo_levels`): the close as quoted, no adjustment, for market-state series that
are not prices and have no returns, e.g. ^VIX (index points) and the Cboe Treasury yield
indices ^IRX, ^FVX, ^TNX, ^TYX. Yahoo quotes those yields in percent (^TNX 4.275 = 4.275 %),
not at Cboe's own 10 × yield scale (TNX 42.75); a close above 25 is taken for that scale and
refused. ^IRX is the 13-week bill's discount rate, not a bond-equivalent yield.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from engine.errors import InputError

# Yahoo symbols of the Cboe Treasury yield indices, quoted in percent
YIELD_INDICES = {
    "^IRX": "13-week Treasury bill discount rate",
    "^FVX": "5-year Treasury note yield",
    "^TNX": "10-year Treasury note yield",
    "^TYX": "30-year Treasury bond yield",
}
MAX_YIELD_PERCENT = 25.0  # above any US Treasury yield on record (1981: about 16 %)


def _names(tickers: Sequence[str]) -> list[str]:
    names = [t.strip().upper() for t in tickers if t and t.strip()]
    if not names:
        raise InputError("tickers", "give at least one ticker, e.g. SPY")
    return names


def _closes(
    names: list[str], start: str | None, end: str | None, *, adjusted: bool
) -> pd.DataFrame:
    """Dates × tickers of daily closes: adjusted (`auto_adjust=True`) or as quoted."""
    import yfinance as yf

    raw = yf.download(
        names,
        start=start,
        end=end,
        auto_adjust=adjusted,
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


def load_yahoo_prices(
    tickers: Sequence[str], start: str | None = None, end: str | None = None
) -> pd.DataFrame:
    """Dates × tickers of dividend- and split-adjusted closes from Yahoo Finance.

    Needs a network connection. Tickers with no data are an error naming them, not a silent
    drop. Dates are tz-naive trading days. For level series (^VIX, ^TNX, ...) use
    `load_yahoo_levels`: they are not prices.
    """
    return _closes(_names(tickers), start, end, adjusted=True)


def load_yahoo_levels(
    tickers: Sequence[str], start: str | None = None, end: str | None = None
) -> pd.DataFrame:
    """Dates × tickers of daily closes as quoted by Yahoo Finance, without any adjustment:
    market-state levels such as ^VIX (index points) or ^TNX, ^IRX, ^FVX, ^TYX (percent).

    Needs a network connection. No adjusted close and no returns: the values are levels for
    regime features (`engine.data.align_exogenous`). Tickers with no data are an error naming
    them; so is a Treasury yield index quoted above 25 (Cboe's 10 × yield scale, not percent).
    Dates are tz-naive trading days.
    """
    names = _names(tickers)
    close = _closes(names, start, end, adjusted=False)
    for name in names:
        if name in YIELD_INDICES and close[name].max() > MAX_YIELD_PERCENT:
            raise InputError(
                "tickers",
                f"{name} ({YIELD_INDICES[name]}) reaches {close[name].max():g}, above any yield "
                "in percent: it looks quoted at Cboe's 10 × yield scale, not Yahoo's percent; "
                "check the data",
            )
    return close
