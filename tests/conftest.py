from __future__ import annotations

import os

# One BLAS/OpenMP thread per test process. Set before numpy loads for this process and its
# children (servers, LibreOffice helpers); threadpoolctl covers a library loaded earlier by a
# plugin. With the default (one thread per core, per library), a shared 2-core machine spent
# 35 s instead of 1.9 s in one fixture, and the suite used 30 min of CPU for 4 min of wall time.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from engine.data import (  # noqa: E402
    align_prices,
    load_sample_prices,
    prices_to_returns,
    simulate_regime_returns,
)

threadpool_limits(1)


@pytest.fixture(scope="session")
def sp500_returns() -> pd.DataFrame:
    """S&P 500 daily simple returns 1990-01-03..2022-12-28 (8,312 days) from the bundled sample."""
    prices, _ = align_prices(load_sample_prices(["SP500"], start="1990-01-01"))
    return prices_to_returns(prices)


@pytest.fixture(scope="session")
def multi_returns() -> pd.DataFrame:
    """SP500, GOLD, WTI 2000..2012 (about 3,270 days)."""
    prices, _ = align_prices(
        load_sample_prices(["SP500", "GOLD", "WTI"], "2000-01-01", "2012-12-31")
    )
    return prices_to_returns(prices)


@pytest.fixture(scope="session")
def six_asset_returns() -> pd.DataFrame:
    """SP500, GOLD, WTI, AAPL, XOM, JNJ 2000..2012 (shared by the allocation and backtest tests)."""
    prices, _ = align_prices(
        load_sample_prices(
            ["SP500", "GOLD", "WTI", "AAPL", "XOM", "JNJ"], "2000-01-01", "2012-12-31"
        )
    )
    return prices_to_returns(prices)


@pytest.fixture(scope="session")
def simulated_two_state():
    """Well separated: 0.6% vs 3% daily vol, Student-t(5) noise, persistent states."""
    return simulate_regime_returns(n_obs=3000, n_assets=1, seed=7, vols=np.array([0.006, 0.03]))


def excel_range(frame: pd.DataFrame, serial_dates: bool = False) -> list[list]:
    """A returns table as Excel hands it over: header row, dates in the first column."""
    epoch = pd.Timestamp("1899-12-30")
    rows: list[list] = [["Date", *frame.columns]]
    for d, vals in zip(frame.index, frame.to_numpy().tolist(), strict=True):
        date = float((d - epoch).days) if serial_dates else d.to_pydatetime()
        rows.append([date, *vals])
    return rows


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
