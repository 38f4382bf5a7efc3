"""Turn ranges as Excel passes them into clean engine inputs, or a message saying what to fix.

Range arguments are taken "raw" (xlwings' per-cell cleaning costs about 25 ms for 8,000 × 11
cells: scripts/doc_excel_speed.py), so this module sees what each route really sends: classic
(COM) UDFs give tuples of rows, dates as (timezone-aware) datetimes and error cells as COM error
integers; Office.js custom functions give lists, dates as serial numbers, empty cells as "" and
error cells as {"type": "Error", "basicValue": "#N/A"} dicts. Numbers may also arrive as text
("0.5%", "1,25").
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import InputError

EXCEL_ERRORS = frozenset(
    {
        "#N/A",
        "#DIV/0!",
        "#NAME?",
        "#NULL!",
        "#NUM!",
        "#REF!",
        "#VALUE!",
        "#SPILL!",
        "#CALC!",
        "#GETTING_DATA",
        "#BUSY!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#UNKNOWN!",
    }
)
# pywin32 hands error cells over as these integers (as xlwings._xlwindows.cell_errors)
COM_ERRORS = {
    -2146826281: "#DIV/0!",
    -2146826246: "#N/A",
    -2146826259: "#NAME?",
    -2146826288: "#NULL!",
    -2146826252: "#NUM!",
    -2146826265: "#REF!",
    -2146826273: "#VALUE!",
}
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # serial 1 = 1900-01-01 in the 1900 date system
_DATE_HEADER = re.compile(r"^\s*(date|dates|day|time|datetime|period)?\s*$", re.IGNORECASE)
_NUMBER_TEXT = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?%?$")


def cell_error(v: Any) -> str | None:
    """The Excel error a cell holds ("#N/A", ...), whichever route delivered it, else None."""
    if isinstance(v, dict):
        return str(v.get("basicValue", "#VALUE!")) if v.get("type") == "Error" else None
    if type(v) is int and v in COM_ERRORS:
        return COM_ERRORS[v]
    if isinstance(v, str) and v.strip() in EXCEL_ERRORS:
        return v.strip()
    return None


def is_blank(v: Any) -> bool:
    return (
        v is None
        or (isinstance(v, str) and not v.strip())
        or (isinstance(v, float) and math.isnan(v))
    )


def as_2d(values: Any) -> list[list[Any]]:
    """Scalars and 1-D lists become 2-D so one code path handles every range shape."""
    if isinstance(values, list | tuple):
        rows = (
            [list(r) for r in values]
            if values and all(isinstance(r, list | tuple) for r in values)
            else [list(values)]
        )
    else:
        rows = [[values]]
    # data-type cells are rare: unwrap only the rows that hold a dict
    return [[_unwrap(v) for v in r] if any(type(v) is dict for v in r) else r for r in rows]


def _unwrap(v: Any) -> Any:
    """Office.js data-type cells ({"type": ..., "basicValue": ...}) carry their plain value."""
    if isinstance(v, dict) and v.get("type") != "Error" and "basicValue" in v:
        return v["basicValue"]
    return v


def is_blank_range(values: Any) -> bool:
    """True when an optional range argument holds nothing (every cell empty)."""
    return not trim_blank_edges(as_2d(values))


def trim_blank_edges(rows: list[list[Any]]) -> list[list[Any]]:
    """Drop fully blank trailing rows and columns (a range selected larger than its data)."""
    while rows and all(is_blank(v) for v in rows[-1]):
        rows.pop()
    if not rows:
        return rows
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    while width and all(is_blank(r[width - 1]) for r in rows):
        width -= 1
    return [r[:width] for r in rows]


def cell_number(v: Any) -> float | None:
    """A number from a cell value, or None if the cell holds no number."""
    if isinstance(v, bool) or cell_error(v) is not None:
        return None
    if isinstance(v, int | float | np.integer | np.floating):
        return float(v)
    if isinstance(v, str):
        s = v.strip().replace("\u00a0", "").replace(" ", "")
        if _NUMBER_TEXT.match(s):
            pct = s.endswith("%")
            s = s.rstrip("%").replace(",", ".")
            return float(s) / (100.0 if pct else 1.0)
    return None


def _describe(v: Any) -> str:
    err = cell_error(v)
    if err is not None:
        return f"the error {err}"
    if is_blank(v):
        return "a blank cell"
    return f"{v!r}"


def excel_date(v: Any) -> pd.Timestamp | None:
    """A date from a datetime (classic UDFs), a serial number (Office.js) or ISO text."""
    if isinstance(v, pd.Timestamp):
        return v
    if isinstance(v, dt.datetime):  # COM datetimes carry a timezone; Excel dates have none
        return pd.Timestamp(v.replace(tzinfo=None))
    if isinstance(v, dt.date):
        return pd.Timestamp(v)
    num = cell_number(v) if not isinstance(v, str) else None
    if num is not None:
        if not 1 <= num < 2958466:
            return None
        return _EXCEL_EPOCH + pd.Timedelta(days=num)
    if isinstance(v, str) and v.strip():
        try:
            return pd.Timestamp(v.strip())
        except (ValueError, TypeError):
            return None
    return None


def _looks_like_dates(header: Any, column: Sequence[Any]) -> bool:
    present = [v for v in column if not is_blank(v)]
    if not present:
        return False
    if all(isinstance(v, dt.date | pd.Timestamp) for v in present):
        return True
    if isinstance(header, str) and header.strip() and _DATE_HEADER.match(header):
        return True
    # Whole numbers in the serial-date range are dates; returns are never whole numbers > 1.
    nums = [cell_number(v) for v in present]
    return all(n is not None and n == math.floor(n) and 367 <= n < 2958466 for n in nums)


def returns_frame(
    values: Any, arg: str = "returns", min_rows: int = 2, allow_blanks: bool = False
) -> pd.DataFrame:
    """Parse a returns (or prices) range: header row of names, optional first date column.

    Handled: trailing blank rows/columns, dates as datetimes, serials or text, unsorted dates,
    numbers stored as text or percent text, a range without a header (assets named Asset 1..).
    Refused with a message: blanks (NaN instead with `allow_blanks`, for series observed on
    their own calendar), text or error cells among the numbers, duplicate dates or names,
    fewer than `min_rows` data rows.
    """
    rows = trim_blank_edges(as_2d(values))
    if not rows or not rows[0]:
        raise InputError(arg, "is empty; select a range with a header row and returns below it")
    header, body = rows[0], rows[1:]
    has_header = not all(cell_number(v) is not None for v in header if not is_blank(v)) or all(
        is_blank(v) for v in header
    )
    if not has_header:
        header, body = [None] * len(rows[0]), rows
    first_col = [r[0] for r in body]
    has_dates = len(rows[0]) > 1 and _looks_like_dates(header[0], first_col)
    start = 1 if has_dates else 0
    names: list[str] = []
    for j in range(start, len(header)):
        h = header[j]
        names.append(f"Asset {j - start + 1}" if is_blank(h) or not has_header else str(h).strip())
    if not names:
        raise InputError(arg, "has no asset columns; put one column of numbers per asset")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(
            arg, f"asset name {dupes[0]!r} appears twice; give each column a unique name"
        )
    offset = 2 if has_header else 1  # 1-based row number inside the range
    data = _numbers_fast([row[start:] for row in body])
    if data is None:
        data = np.empty((len(body), len(names)))
        for i, row in enumerate(body):
            for j, v in enumerate(row[start:]):
                if allow_blanks and is_blank(v):
                    data[i, j] = np.nan
                    continue
                x = cell_number(v)
                if x is None or not math.isfinite(x):
                    raise InputError(
                        arg,
                        f"row {i + offset}, column {names[j]!r} holds {_describe(v)}; every cell "
                        "must be a number (fill the gap or remove the row)",
                    )
                data[i, j] = x
    dates = _dates_fast(first_col) if has_dates else None
    if has_dates and dates is None:
        slow: list[pd.Timestamp] = []
        for i, v in enumerate(first_col):
            d = excel_date(v)
            if d is None:
                raise InputError(
                    arg,
                    f"row {i + offset} of the range has {_describe(v)} where a date "
                    "should be; fix the date or remove the row",
                )
            slow.append(d)
        dates = pd.DatetimeIndex(slow)
    if len(body) < min_rows:
        raise InputError(arg, f"needs at least {min_rows} rows of data (got {len(body)})")
    index: pd.Index
    if dates is not None:
        index = pd.DatetimeIndex(dates, name="Date")
        if index.has_duplicates:
            dup = index[index.duplicated()][0]
            raise InputError(arg, f"the date {dup:%Y-%m-%d} appears twice; keep one row per date")
    else:
        index = pd.RangeIndex(1, len(body) + 1, name="Obs")
    frame = pd.DataFrame(data, index=index, columns=names)
    return frame.sort_index() if has_dates else frame


def _numbers_fast(block: list[list[Any]]) -> np.ndarray | None:
    """The common case in one C-level conversion: every cell a finite int or float."""
    if not all(
        type(v) is float or (type(v) is int and v not in COM_ERRORS) for row in block for v in row
    ):
        return None
    data = np.array(block, dtype=float)
    return data if data.ndim == 2 and np.isfinite(data).all() else None


def _dates_fast(column: list[Any]) -> pd.DatetimeIndex | None:
    """Whole columns of serial numbers (Office.js) or datetimes (classic) at once."""
    if all(type(v) is float or type(v) is int for v in column):
        serial = np.array(column, dtype=float)
        if not ((serial >= 1) & (serial < 2958466)).all():
            return None
        return pd.DatetimeIndex(_EXCEL_EPOCH + pd.to_timedelta(serial, unit="D"))
    if all(isinstance(v, dt.datetime) for v in column):
        return pd.DatetimeIndex([v.replace(tzinfo=None) for v in column])
    return None


def labelled_table(values: Any, arg: str) -> pd.DataFrame:
    """A table whose first column names the rows (e.g. scenarios) and whose header names the
    columns; every other cell must be a number."""
    rows = trim_blank_edges(as_2d(values))
    if len(rows) < 2 or len(rows[0]) < 2:
        raise InputError(arg, "needs a header row and at least one named row of numbers")
    names = [str(h).strip() for h in rows[0][1:]]
    labels, data = [], []
    for i, row in enumerate(rows[1:], start=2):
        if is_blank(row[0]):
            raise InputError(arg, f"row {i} has no name in its first cell")
        nums = [cell_number(v) for v in row[1:]]
        bad = [j for j, x in enumerate(nums) if x is None or not math.isfinite(x)]
        if bad:
            raise InputError(
                arg,
                f"row {i}, column {names[bad[0]]!r} holds {_describe(row[1 + bad[0]])}; "
                "use a number",
            )
        labels.append(str(row[0]).strip())
        data.append(nums)
    return pd.DataFrame(data, index=labels, columns=names, dtype=float)


MAX_PERIOD_RETURN = 100.0  # +10,000% in one period: beyond it a number is not a return


def check_simple_returns(frame: pd.DataFrame, arg: str = "returns") -> pd.DataFrame:
    """Refuse what cannot be simple returns, naming the column (and the date): prices (a
    column of positive levels, `engine.data.returns.not_returns_because`), percent numbers
    (-100% or less) and absurd values (over +10,000% in one period, e.g. 1E+300)."""
    from engine.data.returns import not_returns_because

    x = frame.to_numpy()
    for j, col in enumerate(frame.columns):
        reason = not_returns_because(frame.iloc[:, j])
        if reason:
            raise InputError(
                arg, f"{col!r} looks like prices, not returns ({reason}); use RETURNS(prices) first"
            )
        big = np.flatnonzero(x[:, j] > MAX_PERIOD_RETURN)
        if big.size:
            when = frame.index[big[0]]
            day = f"{when:%Y-%m-%d}" if isinstance(when, pd.Timestamp) else f"row {big[0] + 1}"
            raise InputError(
                arg, f"{col!r} has {x[big[0], j]:g} on {day}: not a return (over +10,000%)"
            )
    if (x <= -1.0).any():
        raise InputError(
            arg, "has returns of -100% or less; if these are percent numbers, divide by 100"
        )
    return frame


def weights_vector(values: Any, n_assets: int, arg: str = "weights") -> np.ndarray:
    """Weights from a row or a column (blank: equal weights), one per asset, summing to 1."""
    rows = trim_blank_edges(as_2d(values))
    flat = [v for r in rows for v in r]
    if not flat or all(is_blank(v) for v in flat):
        return np.full(n_assets, 1.0 / n_assets)
    nums = []
    for v in flat:
        x = cell_number(v)
        if x is None or not math.isfinite(x):
            raise InputError(arg, f"holds {_describe(v)}; every weight must be a number")
        nums.append(x)
    w = np.asarray(nums)
    if w.size != n_assets:
        raise InputError(
            arg,
            f"has {w.size} values but the returns have {n_assets} assets; give one weight "
            "per asset, in the same order",
        )
    total = w.sum()
    if abs(total - 1.0) > 1e-6:
        hint = " Write them as fractions (25% = 0.25)." if abs(total - 100.0) < 1e-4 else ""
        raise InputError(arg, f"must sum to 1 (they sum to {total:.6g}).{hint}")
    return w


def optional_number(
    v: Any, arg: str, default: float, lo: float | None = None, hi: float | None = None
) -> float:
    """A scalar argument; blank means the default."""
    v = _scalar(v, arg)
    if is_blank(v):
        return default
    x = cell_number(v)
    if x is None or not math.isfinite(x):
        raise InputError(arg, f"must be a number (got {_describe(v)})")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise InputError(arg, f"must be between {lo:g} and {hi:g} (got {x:g})")
    return x


def optional_int(v: Any, arg: str, default: int, lo: int, hi: int) -> int:
    x = optional_number(v, arg, float(default), lo, hi)
    if x != math.floor(x):
        raise InputError(arg, f"must be a whole number (got {x:g})")
    return int(x)


def optional_bool(v: Any, arg: str, default: bool) -> bool:
    v = _scalar(v, arg)
    if is_blank(v):
        return default
    if isinstance(v, bool):
        return v
    if isinstance(v, int | float) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in ("true", "false", "yes", "no"):
        return v.strip().lower() in ("true", "yes")
    raise InputError(arg, f"must be TRUE or FALSE (got {_describe(v)})")


def optional_text(v: Any, arg: str, default: str, choices: Sequence[str] | None = None) -> str:
    v = _scalar(v, arg)
    if is_blank(v):
        return default
    s = str(v).strip().lower()
    if choices is not None and s not in choices:
        raise InputError(arg, f"must be one of {', '.join(choices)} (got {v!r})")
    return s


def _scalar(v: Any, arg: str) -> Any:
    """Office.js passes every argument as a matrix; a 1×1 range is a scalar."""
    while isinstance(v, list | tuple) and len(v) == 1:
        v = v[0]
    if isinstance(v, list | tuple):
        raise InputError(arg, "expects a single cell, not a range")
    if isinstance(v, float) and math.isnan(v):  # not a blank cell: a failed calculation
        raise InputError(arg, "is not a number (NaN); leave the cell empty for the default")
    return v
