"""The output directory: one file per finished task (written atomically as it finishes), and
the tables assembled from them at the end.

    DIR/tasks/KEY.parquet    one per task: daily NAVs and returns, metrics and error (metadata)
    DIR/reports/KEY.xlsx     each task's report workbook (`report = true`)
    DIR/results.parquet      one row per task of the batch, in the batch's order
    DIR/nav.parquet          daily NAVs, long format (key, date, static_nav, dynamic_nav)
    DIR/summary.xlsx         ranking, aggregates, deflated Sharpe ratio, checks

A task's key is the content key of its data, its canonical configuration and its portfolio's
name: a second run over the same DIR finds the finished tasks' files and runs only the rest.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import engine
from engine.backtest.metrics import METRICS, deflated_sharpe_ratio
from engine.cache import content_key
from engine.errors import InputError
from workbooks.batch.spec import BatchSpec, TaskSpec, display_value, jsonable
from workbooks.batch.task import FORMAT, read_meta, slug
from workbooks.io import write_atomic

TASKS, REPORTS = "tasks", "reports"
RESULTS, NAV, SUMMARY = "results.parquet", "nav.parquet", "summary.xlsx"
METRIC_COLUMNS = tuple(f"{side}_{slug(m)}" for side in ("static", "dynamic") for m in METRICS)
DSR_INPUTS = ("dynamic_daily_sharpe", "dynamic_skewness", "dynamic_kurtosis", "live_days")
NAV_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("date", pa.timestamp("ns")),
        ("static_nav", pa.float64()),
        ("dynamic_nav", pa.float64()),
    ]
)
NAV_CHUNK = 64  # tasks per row group of nav.parquet


def task_key(task: TaskSpec, data_key: str | None) -> str:
    """16 hex digits (64 bits) of the SHA-256 over the data's content key, the canonical
    configuration text and the portfolio's name (and the task file's format and engine
    version: new code runs the tasks again). Without data (they failed to load), over the
    configuration alone."""
    parts = ("batch task", FORMAT, engine.__version__, data_key, task.portfolio, task.text)
    return content_key(*parts)[:16]


def task_path(out: Path, key: str) -> Path:
    return out / TASKS / f"{key}.parquet"


def report_path(out: Path, key: str) -> Path:
    return out / REPORTS / f"{key}.xlsx"


def write_bytes(path: Path, data: bytes) -> Path:
    """Write `data` to a temporary file beside `path`, then rename: complete or absent."""
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def clean_stale(out: Path) -> int:
    """Remove the temporary files a killed run left behind; returns how many."""
    n = 0
    for d in (out, out / TASKS, out / REPORTS):
        for p in d.glob(".*.tmp") if d.is_dir() else ():
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                n += 1
    return n


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """One batch at a time per output directory (an advisory lock the OS releases when the
    process dies; where fcntl is missing, no lock)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    with (out / ".lock").open("w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError("--out", f"{out} is in use by another batch") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def finished(out: Path, key: str, want_report: bool) -> dict[str, Any] | None:
    """The metadata of a finished task's file, or None when the task must run: no file, a file
    that does not read, a failure worth retrying, or a missing report workbook."""
    path = task_path(out, key)
    if not path.is_file():
        return None
    try:
        meta = read_meta(path)
    except Exception:
        return None  # not ours or from another format: run it again
    if meta.get("key") != key or (meta.get("error") and meta.get("retryable")):
        return None
    if want_report and not meta.get("error") and not report_path(out, key).is_file():
        return None
    return meta


@dataclass
class Assembly:
    """What the end of a batch computed across its tasks."""

    rows: list[dict[str, Any]]  # results.parquet's rows, in the batch's order
    grid_keys: list[str]
    n_trials: int  # tasks with a daily Sharpe ratio: the trials of the deflated Sharpe ratio
    trial_sharpe_variance: float  # variance (ddof 1) of their daily Sharpe ratios
    best: int | None  # index in rows of the highest dynamic Sharpe ratio
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # key, label, error


def _finite(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def assemble(out: Path, spec: BatchSpec, keys: Sequence[str], unsaved: dict[str, str]) -> Assembly:
    """results.parquet and nav.parquet from DIR/tasks (and `unsaved`: key → error of the tasks
    that have no file, e.g. their data did not load), in the batch's order."""
    metas: list[dict[str, Any]] = []
    for key in keys:
        if key in unsaved:
            metas.append({"error": unsaved[key], "metrics": {}})
        else:
            metas.append(read_meta(task_path(out, key)))
    trials = [
        i
        for i, m in enumerate(metas)
        if not m.get("error") and _finite(m["metrics"].get("dynamic_daily_sharpe"))
    ]
    srs = np.array([metas[i]["metrics"]["dynamic_daily_sharpe"] for i in trials], dtype=float)
    n = len(trials)
    variance = float(np.var(srs, ddof=1)) if n > 1 else math.nan
    dsr = _write_nav(out, keys, metas, set(trials), n, variance)
    rows = []
    failures = []
    for task, key, meta in zip(spec.tasks, keys, metas, strict=True):
        row: dict[str, Any] = {"key": key, "portfolio": task.portfolio}
        row |= {k: v for k, v in task.grid}
        m = meta.get("metrics", {})
        row |= {c: float(m.get(c, math.nan)) for c in (*METRIC_COLUMNS, *DSR_INPUTS)}
        row["dsr"] = dsr.get(key, math.nan)
        row["error"] = meta.get("error") or None
        row["report"] = f"{REPORTS}/{key}.xlsx" if spec.report and not row["error"] else None
        rows.append(row)
        if row["error"]:
            failures.append((key, task.label(), row["error"]))
    best = None
    if trials:
        sharpe = [rows[i]["dynamic_sharpe"] for i in trials]
        best = trials[int(np.argmax(np.where(np.isfinite(sharpe), sharpe, -np.inf)))]
    write_atomic(out / RESULTS, lambda tmp: pq.write_table(_results_table(rows, spec), tmp))
    return Assembly(rows, list(spec.grid), n, variance, best, failures)


def _write_nav(
    out: Path,
    keys: Sequence[str],
    metas: list[dict[str, Any]],
    trials: set[int],
    n_trials: int,
    variance: float,
) -> dict[str, float]:
    """Stream the daily NAVs into nav.parquet (a row group per NAV_CHUNK tasks) and compute each
    trial's deflated Sharpe ratio from its daily returns on the way; returns key → DSR."""
    dsr: dict[str, float] = {}

    def write(tmp: Path) -> None:
        with pq.ParquetWriter(tmp, NAV_SCHEMA) as writer:
            chunk: list[pa.Table] = []
            for i, (key, meta) in enumerate(zip(keys, metas, strict=True)):
                if meta.get("error") or not task_path(out, key).is_file():
                    continue
                t = pq.read_table(task_path(out, key))
                if i in trials and n_trials > 1:
                    r = t.column("dynamic_return").to_numpy()[int(meta["live_start"]) :]
                    dsr[key] = deflated_sharpe_ratio(r, n_trials, variance)
                if t.num_rows:
                    keycol = pa.array([key] * t.num_rows, pa.string())
                    cols = [keycol, t.column("date"), t.column("static_nav")]
                    cols.append(t.column("dynamic_nav"))
                    chunk.append(pa.Table.from_arrays(cols, schema=NAV_SCHEMA))
                if len(chunk) >= NAV_CHUNK:
                    writer.write_table(pa.concat_tables(chunk))
                    chunk = []
            if chunk:
                writer.write_table(pa.concat_tables(chunk))

    write_atomic(out / NAV, write)
    return dsr


def _grid_column(values: list[Any]) -> pa.Array:
    """One varied key's values as a typed column: booleans, whole numbers, numbers or text
    (dates as ISO text, lists and tables as JSON)."""
    if all(isinstance(v, bool) for v in values):
        return pa.array(values, pa.bool_())
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.array(values, pa.int64())
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.array([float(v) for v in values], pa.float64())
    return pa.array([str(display_value(jsonable(v))) for v in values], pa.string())


def _results_table(rows: list[dict[str, Any]], spec: BatchSpec) -> pa.Table:
    cols: dict[str, pa.Array] = {
        "key": pa.array([r["key"] for r in rows], pa.string()),
        "portfolio": pa.array([r["portfolio"] for r in rows], pa.string()),
    }
    for k in spec.grid:
        cols[k] = _grid_column([r[k] for r in rows])
    for c in (*METRIC_COLUMNS, *DSR_INPUTS, "dsr"):
        cols[c] = pa.array([r[c] for r in rows], pa.float64())
    cols["error"] = pa.array([r["error"] for r in rows], pa.string())
    cols["report"] = pa.array([r["report"] for r in rows], pa.string())
    return pa.table(cols)


def file_sizes(out: Path, keys: Sequence[str]) -> list[int]:
    """Bytes of each existing task file (docs/scale.md: result size per task)."""
    return [os.path.getsize(p) for k in keys if (p := task_path(out, k)).is_file()]
