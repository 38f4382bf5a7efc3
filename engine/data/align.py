"""Calendar alignment and the explicit missing-value policy.

Series from different markets have different holidays and ranges. The policy, applied in this
order and reported, never silent:
1. put every series on one calendar (a reference column's dates, the union, or the intersection);
2. forward-fill a gap of at most `ffill_limit` consecutive days inside a series' own range
   (a stale price: zero return on that day);
3. keep only the span where every series has started and not yet ended;
4. drop the rows that are still incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from engine.errors import InputError


@dataclass(frozen=True)
class MissingPolicy:
    """How gaps are handled: forward-fill up to `ffill_limit` days, then drop incomplete rows."""

    ffill_limit: int = 5
    calendar: str = "first"  # "first" column's dates, "union", "intersection", or a column name

    def __post_init__(self) -> None:
        if self.ffill_limit < 0:
            raise InputError("ffill_limit", f"must be 0 or more (got {self.ffill_limit})")


@dataclass
class AlignmentReport:
    """What alignment did, for the log, the report's Data sheet and the lineage record."""

    calendar: str
    rows_in: int
    rows_out: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    filled: dict[str, int] = field(default_factory=dict)
    dropped_rows: int = 0
    outside_common_span: int = 0

    def summary(self) -> str:
        filled = ", ".join(f"{k}: {v}" for k, v in self.filled.items() if v) or "none"
        span = f"{self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}" if self.start is not None else "empty"
        return (
            f"calendar={self.calendar}; {self.rows_out} of {self.rows_in} rows kept ({span}); "
            f"forward-filled cells: {filled}; rows outside the common span: "
            f"{self.outside_common_span}; incomplete rows dropped: {self.dropped_rows}"
        )


def align_prices(
    prices: pd.DataFrame, policy: MissingPolicy | None = None
) -> tuple[pd.DataFrame, AlignmentReport]:
    """Align a dates × series price table to one calendar under `policy`.

    Returns the aligned table (no NaN) and the report of what was filled and dropped.
    """
    policy = policy or MissingPolicy()
    if prices.empty or prices.shape[1] == 0:
        raise InputError("prices", "the table is empty")
    frame = prices.sort_index()
    frame = frame[~frame.index.duplicated(keep="last")]
    if policy.calendar == "union":
        calendar = frame.index
    elif policy.calendar == "intersection":
        calendar = frame.dropna(how="any").index
    else:
        ref = frame.columns[0] if policy.calendar == "first" else policy.calendar
        if ref not in frame.columns:
            raise InputError(
                "calendar", f"'{ref}' is not a column; use first, union, intersection or a column"
            )
        calendar = frame.index[frame[ref].notna()]
    rows_in = len(frame)
    # Fill on the full union first so a holiday in the reference market does not hide the
    # last observation of another series, then restrict to the calendar.
    empty = [c for c in frame.columns if frame[c].first_valid_index() is None]
    if empty:
        raise InputError("prices", f"series {empty} have no observations")
    observed = {c: pd.DatetimeIndex(frame.index[frame[c].notna()]) for c in frame.columns}
    firsts = {c: idx[0] for c, idx in observed.items()}
    lasts = {c: idx[-1] for c, idx in observed.items()}
    on_cal = frame.reindex(calendar)
    filled_counts: dict[str, int] = {}
    out = {}
    for c in frame.columns:
        col = on_cal[c]
        inside = (col.index >= firsts[c]) & (col.index <= lasts[c])
        filled = col.ffill(limit=policy.ffill_limit) if policy.ffill_limit else col
        filled = filled.where(inside)
        filled_counts[str(c)] = int((filled.notna() & col.isna()).sum())
        out[c] = filled
    aligned = pd.DataFrame(out, index=calendar)
    start = max(firsts.values())
    end = min(lasts.values())
    if start > end:
        raise InputError("prices", "the series do not overlap in time")
    in_span = (aligned.index >= start) & (aligned.index <= end)
    outside = int((~in_span).sum())
    aligned = aligned[in_span]
    complete = aligned.notna().all(axis=1)
    dropped = int((~complete).sum())
    aligned = aligned[complete]
    report = AlignmentReport(
        calendar=policy.calendar,
        rows_in=rows_in,
        rows_out=len(aligned),
        start=aligned.index[0] if len(aligned) else None,
        end=aligned.index[-1] if len(aligned) else None,
        filled=filled_counts,
        dropped_rows=dropped,
        outside_common_span=outside,
    )
    return aligned, report
