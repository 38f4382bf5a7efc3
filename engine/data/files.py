"""CSV and XLSX loaders for wide tables: a date column and one column per asset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import InputError

TABLE_KINDS = ("prices", "returns")


def load_table(
    path: str | Path,
    kind: str = "prices",
    date_column: str | None = None,
    sheet: str | int = 0,
) -> pd.DataFrame:
    """Read a wide dates × assets table from CSV or XLSX.

    `kind` states what the numbers are ("prices" or "returns"); the loader never guesses.
    The date column is `date_column`, else the first column. Rows are sorted by date; duplicate
    dates are an error (which one is right is the user's call, not ours).
    """
    if kind not in TABLE_KINDS:
        raise InputError("kind", f"must be 'prices' or 'returns' (got {kind!r})")
    p = Path(path)
    if not p.exists():
        raise InputError("path", f"file not found: {p}")
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt"):
        raw = pd.read_csv(p)
    elif suffix in (".xlsx", ".xlsm"):
        raw = pd.read_excel(p, sheet_name=sheet)
    else:
        raise InputError("path", f"unsupported file type {suffix!r}; use .csv or .xlsx")
    if raw.shape[1] < 2:
        raise InputError("path", "need a date column and at least one asset column")
    dcol = date_column if date_column is not None else raw.columns[0]
    if dcol not in raw.columns:
        raise InputError("date_column", f"{dcol!r} is not a column of {p.name}")
    dates = pd.to_datetime(raw[dcol], errors="coerce")
    if dates.isna().any():
        bad = raw.loc[dates.isna(), dcol].iloc[0]
        raise InputError("date_column", f"cannot read {bad!r} as a date in {p.name}")
    frame = raw.drop(columns=[dcol]).set_index(pd.DatetimeIndex(dates, name="Date"))
    values = frame.apply(pd.to_numeric, errors="coerce")
    bad_mask = values.isna() & frame.notna()
    if bad_mask.to_numpy().any():
        r, c = np.argwhere(bad_mask.to_numpy())[0]
        raise InputError(
            "path", f"non-numeric value {frame.iat[r, c]!r} in column {frame.columns[c]!r}"
        )
    if values.index.duplicated().any():
        dup = values.index[values.index.duplicated()][0]
        raise InputError("path", f"duplicate date {dup:%Y-%m-%d} in {p.name}")
    values.columns = [str(c) for c in values.columns]
    return values.sort_index().astype(float)
