"""yfinance loaders, replayed offline: Yahoo's v8 chart API answers are served to yfinance's
own HTTP layer (`YfData.get`), so its real parsing code runs. The responses are built in the
chart API's shape (meta fields as Yahoo sends them for an ETF, a Cboe index and a Cboe yield
index) from the bundled sample; no network is touched.

Instruments: SPY, GLD (from SP500, GOLD), TLT (an ETF with a monthly distribution: closes from
the bundled bond PROXY, adjusted closes lower before the ex-date), ^VIX (bundled VIX), ^TNX
(bundled 10-year yield, in percent as Yahoo quotes it) and ^FVX served at Cboe's 10 × yield
scale, which the level loader refuses."""

from __future__ import annotations

import json
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest

from engine.data import load_sample_prices
from engine.data.sample import load_sample_levels
from engine.data.yahoo import load_yahoo_levels, load_yahoo_prices
from engine.errors import InputError

START, END = "2012-01-03", "2012-02-01"
LEVEL_START, LEVEL_END = "2015-01-02", "2015-02-27"
TLT_DIVIDEND, TLT_EX_DATE = 0.25, "2015-02-02"
FVX_WINDOW = ("2007-01-02", "2007-02-28")

NEW_YORK = {"timezone": "EST", "exchangeTimezoneName": "America/New_York", "gmtoffset": -18000}
CHICAGO = {"timezone": "CST", "exchangeTimezoneName": "America/Chicago", "gmtoffset": -21600}
ETF = {"exchangeName": "PCX", "fullExchangeName": "NYSEArca", "instrumentType": "ETF"}
CBOE_INDEX = {
    "exchangeName": "WCB",
    "fullExchangeName": "Chicago Options",
    "instrumentType": "INDEX",
}
CBOE_YIELD = {"exchangeName": "CGI", "fullExchangeName": "Cboe Indices", "instrumentType": "INDEX"}


def _sample(symbol: str) -> tuple[pd.Series, dict]:
    """Closes and exchange fields of each replayed symbol."""
    if symbol in ("SPY", "GLD"):
        col = {"SPY": "SP500", "GLD": "GOLD"}[symbol]
        return load_sample_prices([col], START, END).iloc[:, 0], {**ETF, **NEW_YORK}
    if symbol == "TLT":
        proxy = load_sample_prices(["UST10Y_TR_PROXY"], LEVEL_START, LEVEL_END).iloc[:, 0]
        return proxy.dropna(), {**ETF, **NEW_YORK, "exchangeName": "NGM"}
    if symbol == "^VIX":
        return load_sample_levels(["VIX"], LEVEL_START, LEVEL_END).iloc[:, 0], {
            **CBOE_INDEX,
            **CHICAGO,
        }
    if symbol == "^TNX":
        tnx = load_sample_levels(["UST10Y"], LEVEL_START, LEVEL_END).iloc[:, 0]
        return tnx.dropna(), {**CBOE_YIELD, **CHICAGO}
    if symbol == "^FVX":  # Cboe's own scale: 10 × the yield in percent (about 47 in 2007)
        fvx = load_sample_levels(["UST5Y"], *FVX_WINDOW).iloc[:, 0]
        return 10 * fvx.dropna(), {**CBOE_YIELD, **CHICAGO}
    raise KeyError(symbol)


SYMBOLS = ("SPY", "GLD", "TLT", "^VIX", "^TNX", "^FVX")


def tlt_adjusted(closes: pd.Series) -> pd.Series:
    """Yahoo's adjusted close around one distribution: rows before the ex-date scaled by
    1 - dividend / (close the day before the ex-date)."""
    ex = pd.Timestamp(TLT_EX_DATE)
    before = closes.index < ex
    factor = 1 - TLT_DIVIDEND / closes[before].iloc[-1]
    return closes.where(~before, closes * factor)


def chart_response(symbol: str) -> dict:
    values = _sample(symbol)[0].dropna()
    fields = _sample(symbol)[1]
    # Yahoo stamps daily bars at the open: 09:30 New York = 08:30 Chicago = 14:30 UTC in winter
    stamps = [int((d + pd.Timedelta(hours=14, minutes=30)).timestamp()) for d in values.index]
    closes = values.round(4).tolist()
    adjclose = closes
    events: dict = {}
    if symbol == "TLT":
        adjclose = tlt_adjusted(values.round(4)).round(4).tolist()
        ex = stamps[int(values.index.searchsorted(pd.Timestamp(TLT_EX_DATE)))]
        events = {"dividends": {str(ex): {"amount": TLT_DIVIDEND, "date": ex}}}
    volume = [0] * len(closes) if fields["instrumentType"] == "INDEX" else [1_000_000] * len(closes)
    meta = {
        "currency": "USD",
        "symbol": symbol,
        **fields,
        "firstTradeDate": 728317800,
        "regularMarketTime": stamps[-1],
        "priceHint": 2,
        "dataGranularity": "1d",
        "range": "",
        "validRanges": ["1d", "5d", "1mo", "max"],
        "currentTradingPeriod": {
            k: {
                "timezone": fields["timezone"],
                "start": stamps[-1],
                "end": stamps[-1] + 23400,
                "gmtoffset": fields["gmtoffset"],
            }
            for k in ("pre", "regular", "post")
        },
    }
    result = {
        "meta": meta,
        "timestamp": stamps,
        "indicators": {
            "quote": [
                {"open": closes, "high": closes, "low": closes, "close": closes, "volume": volume}
            ],
            "adjclose": [{"adjclose": adjclose}],
        },
    }
    if events:
        result["events"] = events
    return {"chart": {"result": [result], "error": None}}


class FakeResponse:
    def __init__(self, payload: dict, url: str) -> None:
        self._payload, self.url, self.status_code = payload, url, 200
        self.text = json.dumps(payload)

    def json(self) -> dict:
        return self._payload

    def raise_for_status(self) -> None:
        return None


@pytest.fixture
def replay(monkeypatch, tmp_path):
    from yfinance import data as yfdata

    seen: list[str] = []

    def fake_get(self, url, params=None, timeout=30):
        seen.append(url)
        symbol = unquote(url.rstrip("/").split("/")[-1].split("?")[0])
        if "/v8/finance/chart/" in url and symbol in SYMBOLS:
            return FakeResponse(chart_response(symbol), url)
        if "/v8/finance/chart/" in url:
            return FakeResponse(
                {
                    "chart": {
                        "result": None,
                        "error": {
                            "code": "Not Found",
                            "description": "No data found, symbol may be delisted",
                        },
                    }
                },
                url,
            )
        raise AssertionError(f"unexpected request {url}")

    monkeypatch.setattr(yfdata.YfData, "get", fake_get)
    monkeypatch.setattr(yfdata.YfData, "cache_get", fake_get)
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path))  # keep yfinance's timezone cache out of $HOME
    return seen


def test_yahoo_prices_parse_through_yfinance(replay):
    got = load_yahoo_prices(["spy", "GLD"], start=START, end=END)
    assert list(got.columns) == ["SPY", "GLD"]
    assert got.index.tz is None
    want = load_sample_prices(["SP500"], START, END).round(4)
    common = got["SPY"].dropna().index.intersection(want.index)
    assert len(common) >= 15
    assert got.loc[common, "SPY"].to_numpy() == pytest.approx(want.loc[common, "SP500"].to_numpy())
    assert any("/v8/finance/chart/SPY" in u for u in replay)


def test_yahoo_unknown_ticker_is_named(replay):
    with pytest.raises(InputError, match="NOSUCH"):
        load_yahoo_prices(["SPY", "NOSUCH"], start=START, end=END)


def test_yahoo_needs_a_ticker():
    with pytest.raises(InputError, match="tickers"):
        load_yahoo_prices([" "])
    with pytest.raises(InputError, match="tickers"):
        load_yahoo_levels([])


def test_bond_etf_prices_are_adjusted_for_distributions(replay):
    """TLT through the price loader: the adjusted close (the distribution is part of the
    return); through the level loader: the close as quoted."""
    adjusted = load_yahoo_prices(["TLT"], start=LEVEL_START, end=LEVEL_END)["TLT"]
    quoted = load_yahoo_levels(["TLT"], start=LEVEL_START, end=LEVEL_END)["TLT"]
    closes = _sample("TLT")[0].round(4)
    assert quoted.to_numpy() == pytest.approx(closes.loc[quoted.index].to_numpy())
    assert adjusted.to_numpy() == pytest.approx(
        tlt_adjusted(closes).loc[adjusted.index].to_numpy(), rel=1e-6
    )
    ex = pd.Timestamp(TLT_EX_DATE)
    assert (adjusted[adjusted.index < ex] < quoted[quoted.index < ex]).all()
    np.testing.assert_allclose(adjusted[adjusted.index >= ex], quoted[quoted.index >= ex])
    # over the ex-date the adjusted return includes the distribution, the quoted one does not
    i = int(adjusted.index.searchsorted(ex))
    with_distribution = adjusted.iloc[i] / adjusted.iloc[i - 1] - 1
    assert with_distribution == pytest.approx(
        quoted.iloc[i] / (quoted.iloc[i - 1] - TLT_DIVIDEND) - 1, rel=1e-6
    )
    price_only = quoted.iloc[i] / quoted.iloc[i - 1] - 1
    assert with_distribution - price_only == pytest.approx(
        TLT_DIVIDEND / quoted.iloc[i - 1], rel=1e-2
    )
    assert any("/v8/finance/chart/TLT" in u for u in replay)


def test_levels_are_quoted_closes_of_vix_and_treasury_yields(replay):
    """^VIX in index points and ^TNX in percent, as Yahoo quotes them: the closes, unchanged,
    on the exchange's (Chicago) trading days."""
    got = load_yahoo_levels(["^vix", "^TNX"], start=LEVEL_START, end=LEVEL_END)
    assert list(got.columns) == ["^VIX", "^TNX"]
    assert got.index.tz is None and got.index.name == "Date"
    want = load_sample_levels(["VIX", "UST10Y"], LEVEL_START, LEVEL_END).round(4)
    for ticker, col in (("^VIX", "VIX"), ("^TNX", "UST10Y")):
        s = got[ticker].dropna()
        assert len(s) >= 35
        assert s.to_numpy() == pytest.approx(want.loc[s.index, col].to_numpy())
    assert got["^TNX"].max() < 3.0  # percent: the 10-year yield was about 2 % in early 2015
    assert any("/v8/finance/chart/^VIX" in unquote(u) for u in replay)


def test_treasury_yield_at_cboe_ten_times_scale_is_refused(replay):
    with pytest.raises(InputError, match=r"\^FVX .*10 × yield scale"):
        load_yahoo_levels(["^FVX"], *FVX_WINDOW)
    # the same numbers are fine for a series that is not a Treasury yield index
    assert load_yahoo_levels(["^VIX"], start=LEVEL_START, end=LEVEL_END).shape[1] == 1
