"""yfinance loader, replayed offline: Yahoo's v8 chart API answers are served to yfinance's
own HTTP layer (`YfData.get`), so its real parsing code runs. The responses are built in the
chart API's shape from bundled sample prices; no network is touched."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from engine.data import load_sample_prices
from engine.data.yahoo import load_yahoo_prices
from engine.errors import InputError

SAMPLE = {"SPY": "SP500", "GLD": "GOLD"}


def chart_response(symbol: str, start: str = "2012-01-03", end: str = "2012-02-01") -> dict:
    prices = load_sample_prices([SAMPLE[symbol]], start, end).iloc[:, 0]
    # Yahoo stamps daily bars at the exchange open, 09:30 New York = 14:30 UTC in winter
    stamps = [int((d + pd.Timedelta(hours=14, minutes=30)).timestamp()) for d in prices.index]
    closes = prices.round(4).tolist()
    meta = {
        "currency": "USD",
        "symbol": symbol,
        "exchangeName": "PCX",
        "instrumentType": "ETF",
        "firstTradeDate": 728317800,
        "regularMarketTime": stamps[-1],
        "gmtoffset": -18000,
        "timezone": "EST",
        "exchangeTimezoneName": "America/New_York",
        "priceHint": 2,
        "dataGranularity": "1d",
        "range": "",
        "validRanges": ["1d", "5d", "1mo", "max"],
        "currentTradingPeriod": {
            k: {
                "timezone": "EST",
                "start": stamps[-1],
                "end": stamps[-1] + 23400,
                "gmtoffset": -18000,
            }
            for k in ("pre", "regular", "post")
        },
    }
    return {
        "chart": {
            "result": [
                {
                    "meta": meta,
                    "timestamp": stamps,
                    "indicators": {
                        "quote": [
                            {
                                "open": closes,
                                "high": closes,
                                "low": closes,
                                "close": closes,
                                "volume": [1_000_000] * len(closes),
                            }
                        ],
                        "adjclose": [{"adjclose": closes}],
                    },
                }
            ],
            "error": None,
        }
    }


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
        symbol = url.rstrip("/").split("/")[-1].split("?")[0]
        if "/v8/finance/chart/" in url and symbol in SAMPLE:
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
    got = load_yahoo_prices(["spy", "GLD"], start="2012-01-03", end="2012-02-01")
    assert list(got.columns) == ["SPY", "GLD"]
    assert got.index.tz is None
    want = load_sample_prices(["SP500"], "2012-01-03", "2012-02-01").round(4)
    common = got["SPY"].dropna().index.intersection(want.index)
    assert len(common) >= 15
    assert got.loc[common, "SPY"].to_numpy() == pytest.approx(want.loc[common, "SP500"].to_numpy())
    assert any("/v8/finance/chart/SPY" in u for u in replay)


def test_yahoo_unknown_ticker_is_named(replay):
    with pytest.raises(InputError, match="NOSUCH"):
        load_yahoo_prices(["SPY", "NOSUCH"], start="2012-01-03", end="2012-02-01")


def test_yahoo_needs_a_ticker():
    with pytest.raises(InputError, match="tickers"):
        load_yahoo_prices([" "])
