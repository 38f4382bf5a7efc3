"""CSV and XLSX loaders for wide tables: a date column and one column per asset.

Errors point into the file: the file's name, the row number a spreadsheet or text editor
shows (the header is row 1), the date and the column. A table whose numbers contradict the
declared `kind` (prices declared as returns, or the reverse) is refused with the setting to
change (`data.kind` in a report configuration).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.returns import check_declared_kind
from engine.errors import InputError

TABLE_KINDS = ("prices", "returns", "levels")  # levels: VIX, yields, spreads (any sign)


def load_table(
    path: str | Path,
    kind: str = "prices",
    date_column: str | None = None,
    sheet: str | int = 0,
) -> pd.DataFrame:
    """Read a wide dates × assets table from CSV or XLSX.

    `kind` states what the numbers are ("prices", "returns" or "levels": market-state series
    such as VIX or yields, unchecked); the loader never guesses, but refuses numbers that cannot
    be of that kind (see `check_declared_kind`).
    The date column is `date_column`, else the first column. Rows are sorted by date; duplicate
    dates are an error (which one is right is the user's call, not ours). Empty rows are
    skipped; empty cells stay missing (NaN) for the alignment's missing-value policy.
    """
    if kind not in TABLE_KINDS:
        raise InputError("kind", f"must be one of {', '.join(TABLE_KINDS)} (got {kind!r})")
    p = Path(path)
    if not p.exists():
        raise InputError("path", f"file not found: {p}")
    where = str(path)  # errors name the file as the caller wrote it
    suffix = p.suffix.lower()
    if suffix in (".csv", ".txt"):
        # blank lines kept (then dropped below) so that row numbers stay the file's own
        raw = pd.read_csv(p, skip_blank_lines=False)
    elif suffix in (".xlsx", ".xlsm"):
        raw = pd.read_excel(p, sheet_name=sheet)
    else:
        raise InputError("path", f"unsupported file type {suffix!r}; use .csv or .xlsx")
    if raw.shape[1] < 2:
        raise InputError(where, "need a date column and at least one asset column")
    dcol = date_column if date_column is not None else raw.columns[0]
    if dcol not in raw.columns:
        raise InputError("date_column", f"{dcol!r} is not a column of {p.name}")
    raw.index = pd.RangeIndex(2, len(raw) + 2, name="row")  # file rows: the header is row 1
    raw = raw.dropna(how="all")
    dates = pd.to_datetime(raw[dcol], errors="coerce")
    if dates.isna().any():
        row = dates.index[dates.isna()][0]
        raise InputError(
            where, f"row {row}: cannot read {raw.at[row, dcol]!r} as a date (column {dcol!r})"
        )
    frame = raw.drop(columns=[dcol])
    frame.columns = [str(c) for c in frame.columns]
    values = frame.apply(pd.to_numeric, errors="coerce")
    bad = (values.isna() & frame.notna()).to_numpy()
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(
            where,
            f"row {frame.index[r]} ({dates.iat[r]:%Y-%m-%d}), column {frame.columns[c]!r}: "
            f"non-numeric value {frame.iat[r, c]!r}; write a number, or leave the cell empty "
            "for a missing value",
        )
    rows = pd.Series(values.index, index=pd.DatetimeIndex(dates, name="Date"))
    values = values.set_index(rows.index)
    duplicated = rows.index.duplicated(keep=False)
    if duplicated.any():
        first = rows.index[duplicated][0]
        on = " and ".join(str(r) for r in rows[rows.index == first])
        raise InputError(where, f"duplicate date {first:%Y-%m-%d} on rows {on} of {p.name}")
    values = values.astype(float)
    check_declared_kind(values, kind, p.name, rows.to_numpy())
    return values.sort_index()
