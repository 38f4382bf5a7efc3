"""What one task runs, on a worker or in-process: the analysis of `run_analysis` on data loaded
once in the client, its numbers packed as the bytes of the task's result file.

`run_analysis(cfg)` is `analyse(cfg, prepare_data(cfg))` (engine.pipeline): a batch runs
`prepare_data` once per distinct [data] table in the client, sends the result to every worker
once (`client.scatter(..., broadcast=True)`), and each task runs `analyse` on it.

A task file is one Parquet file: the daily NAVs and returns of both strategies, and the task's
key, configuration, metrics and error in the schema's metadata (one write, one rename: a task
file is complete or absent).
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import engine
from engine.backtest.metrics import live_slice
from engine.cache import content_key
from engine.errors import InputError
from engine.pipeline import AnalysisResult, PreparedData, analyse
from engine.risk import kurtosis, skewness
from workbooks.batch.spec import TaskSpec, jsonable

FORMAT = 1  # of the task file; a file of another format is run again
META_KEY = b"regime-risk.batch"
NAV_COLUMNS = ("static_nav", "dynamic_nav", "static_return", "dynamic_return")
SIDES = ("Static", "Dynamic")  # comparison.table's columns


def data_key(data: PreparedData) -> str:
    """Content key of everything a task reads from prepared data."""
    return content_key("batch data", data.prices, data.returns, data.cash, data.exogenous)


@dataclass
class TaskOutcome:
    """What a task sends back to the client: its result file's bytes (and its workbook's)."""

    key: str
    blob: bytes  # the task file (Parquet)
    error: str | None  # one line; None when the task succeeded
    report: bytes | None = None  # the task's report workbook, when the batch asks for one
    seconds: float = 0.0


def slug(metric: str) -> str:
    """Column name of a metric: "Max drawdown" → "max_drawdown", "CVaR 95%" → "cvar_95"."""
    return re.sub(r"[^a-z0-9]+", "_", metric.lower()).strip("_")


def metrics(res: AnalysisResult) -> tuple[dict[str, float], int]:
    """The comparison table as `static_<metric>`, `dynamic_<metric>`, and the inputs of the
    deflated Sharpe ratio: the dynamic strategy's daily Sharpe ratio, skewness and kurtosis over
    the comparison's common live period (`live_days` rows from row `live_start`)."""
    c = res.comparison
    out = {
        f"{side.lower()}_{slug(str(m))}": float(c.table.loc[m, side])
        for side in SIDES
        for m in c.table.index
    }
    start = max(live_slice(c.static).start or 0, live_slice(c.dynamic).start or 0)
    r = c.dynamic.returns.to_numpy(dtype=float)[start:]
    sd = r.std(ddof=1) if r.size > 1 else np.nan
    out["dynamic_daily_sharpe"] = float(r.mean() / sd) if sd > 0 else np.nan
    out["dynamic_skewness"] = float(skewness(r)) if r.size > 1 else np.nan
    out["dynamic_kurtosis"] = float(kurtosis(r)) if r.size > 1 else np.nan
    out["live_days"] = float(r.size)
    return out, start


def one_line(exc: BaseException) -> str:
    """An error as one line: an InputError's own text ("key: message"), else "Type: message"."""
    text = str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {exc}"
    first = (text.strip().splitlines() or [type(exc).__name__])[0]
    return first if len(first) <= 500 else first[:497] + "..."


def task_meta(spec: TaskSpec, key: str) -> dict[str, Any]:
    """The metadata every task file carries (the result fields are added to it)."""
    return {
        "format": FORMAT,
        "key": key,
        "portfolio": spec.portfolio,
        "grid": {k: jsonable(v) for k, v in spec.grid},
        "config": spec.text,
        "engine_version": engine.__version__,
    }


def _blob(table: pa.Table, meta: dict[str, Any]) -> bytes:
    table = table.replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True).encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def _nav_table(res: AnalysisResult) -> pa.Table:
    s, d = res.comparison.static, res.comparison.dynamic
    dates = pd.DatetimeIndex(s.nav.index)
    cols = {
        "date": pa.array(dates.to_numpy(dtype="datetime64[ns]")),
        "static_nav": s.nav.to_numpy(dtype=float),
        "dynamic_nav": d.nav.reindex(dates).to_numpy(dtype=float),
        "static_return": s.returns.reindex(dates).to_numpy(dtype=float),
        "dynamic_return": d.returns.reindex(dates).to_numpy(dtype=float),
    }
    return pa.table(cols)


EMPTY_NAV = pa.schema(
    [("date", pa.timestamp("ns"))] + [(c, pa.float64()) for c in NAV_COLUMNS]
).empty_table()


def failure_blob(spec: TaskSpec, key: str, error: str, retryable: bool) -> bytes:
    """A task file recording a failure: no rows, the error in the metadata. A `retryable` one
    (not a bad input: e.g. a crash or a lost connection) is run again by the next batch."""
    meta = task_meta(spec, key) | {"error": error, "retryable": retryable, "metrics": {}}
    return _blob(EMPTY_NAV, meta)


def run_task(spec: TaskSpec, key: str, data: PreparedData, report: bool) -> TaskOutcome:
    """One task: the analysis (and its report workbook when `report`), one BLAS thread.
    Never raises for a failing analysis: its error is the outcome."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    xlsx = None
    try:
        with threadpool_limits(limits=1):
            res = analyse(spec.config, data)
            values, start = metrics(res)
            meta = task_meta(spec, key) | {
                "error": None,
                "retryable": False,
                "metrics": values,
                "live_start": start,
            }
            blob = _blob(_nav_table(res), meta)
            if report:
                xlsx = report_bytes(res)
        error = None
    except Exception as exc:
        error = one_line(exc)
        blob = failure_blob(spec, key, error, retryable=not isinstance(exc, InputError))
        xlsx = None
    return TaskOutcome(key, blob, error, xlsx, time.perf_counter() - t0)


def report_bytes(res: AnalysisResult) -> bytes:
    """The task's report workbook (`workbooks.report.build_report`, not recalculated), as bytes:
    the client writes it, so workers need no shared file system."""
    from workbooks.report import build_report

    with tempfile.TemporaryDirectory(prefix="regime-risk-task-") as tmp:
        return build_report(res, Path(tmp) / "report.xlsx").read_bytes()


def read_meta(blob_or_path: bytes | Path) -> dict[str, Any]:
    """The metadata of a task file (raises on a file that is not one)."""
    src = pa.BufferReader(blob_or_path) if isinstance(blob_or_path, bytes) else blob_or_path
    schema = pq.read_schema(src)
    meta = json.loads((schema.metadata or {})[META_KEY])
    if meta.get("format") != FORMAT:
        raise ValueError(f"task file format {meta.get('format')!r}, expected {FORMAT}")
    return dict(meta)


def read_nav(path: Path) -> pa.Table:
    """The daily rows of a task file."""
    return pq.read_table(path)


def engine_version() -> str:
    """The regime-risk version of this process (run on each worker before a batch)."""
    return engine.__version__


def trivial_task(spec: TaskSpec, key: str, data: PreparedData, report: bool) -> TaskOutcome:
    """A task that computes nothing, through the same machinery (benchmarks/bench_batch.py:
    the scheduler's overhead per task)."""
    meta = task_meta(spec, key) | {"error": None, "retryable": False, "metrics": {}}
    return TaskOutcome(key, _blob(EMPTY_NAV, meta), None)
