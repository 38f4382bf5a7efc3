"""Benchmark: `regime-risk batch`, 64 tasks on the bundled data, synchronous (in-process) versus
a local cluster of 2 worker processes; and the scheduler's overhead per task (64 and 2,000
trivial tasks through the same machinery: submit, run, send the result back, write the task
file).

Two grids of 64 tasks over SP500, GOLD, WTI 2005–2012 (window 250 days, monthly rebalancing):
  distinct  2 methods × 32 seeds, one portfolio: every task fits its own detectors
  shared    4 portfolios × 2 methods × 4 costs × 2 seeds: tasks that differ only by portfolio
            or cost reuse the same fits (each process caches fits by content), as real sweeps do
Each run is a fresh process (cold caches). Prints a Markdown table (docs/scale.md).
`--scale N` instead times the client's own work for a batch of N tasks (default 10,000) on
synthetic task files of the real size: validating N configurations, assembling results.parquet
and nav.parquet (with the deflated Sharpe ratios) and writing summary.xlsx.
Run: .venv/bin/python benchmarks/bench_batch.py [--workers 2] [--scale 10000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = """\
[data]
columns = ["SP500", "GOLD", "WTI"]
start = "2005-01-01"
end = "2012-12-31"
[portfolio]
weights = [0.6, 0.25, 0.15]
[backtest]
window = 250
"""
GRIDS = {
    "distinct": '[batch.grid]\n"regimes.method" = ["hmm", "jump"]\n'
    '"regimes.seed" = [' + ", ".join(str(i) for i in range(32)) + "]\n",
    "shared": '[batch.grid]\n"regimes.method" = ["hmm", "jump"]\n'
    '"backtest.cost_bps" = [0, 10, 25, 50]\n"regimes.seed" = [0, 1]\n'
    + "".join(
        f'[[batch.portfolios]]\nname = "p{i}"\nweights = {w}\n'
        for i, w in enumerate(
            ([0.6, 0.25, 0.15], [0.2, 0.4, 0.4], [0.34, 0.33, 0.33], [0.8, 0.1, 0.1])
        )
    ),
    "wide": '[batch.grid]\n"regimes.method" = ["hmm", "jump"]\n'
    '"regimes.seed" = [' + ", ".join(str(i) for i in range(1000)) + "]\n",
}
N_TASKS = {"distinct": 64, "shared": 64, "wide": 2000}


def one(grid: str, scheduler: str, workers: int, trivial: bool, folder: Path) -> dict:
    """One batch in this (fresh) process; its timings as a dict."""
    from workbooks.batch import load_batch
    from workbooks.batch.runner import run_batch
    from workbooks.batch.task import trivial_task

    (folder / "base.toml").write_text(BASE)
    path = folder / "batch.toml"
    path.write_text('[batch]\nbase = "base.toml"\n' + GRIDS[grid])
    spec = load_batch(path)
    n = N_TASKS[grid]
    assert len(spec.tasks) == n, len(spec.tasks)
    kwargs = {"task_fn": trivial_task, "write_summary": False} if trivial else {}
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    run = run_batch(spec, folder / "out", scheduler, workers, stream=io.StringIO(), **kwargs)
    total = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    assert run.ran == n and not run.failures, run.failures
    return {
        "total": total,
        "run": run.run_seconds,
        "task_mean": sum(run.task_seconds) / len(run.task_seconds),
        "data_bytes": run.data_bytes,
        "task_bytes": sum(run.task_bytes) / len(run.task_bytes),
        "summary_bytes": run.summary.stat().st_size if run.summary else 0,
        # CPU of this process (client; with a LocalCluster also its scheduler and nannies)
        "client_cpu": cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime,
    }


def measure(grid: str, scheduler: str, workers: int, trivial: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        args = [sys.executable, __file__, "--one", grid, scheduler, str(workers), str(trivial), tmp]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        out = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
        if out.returncode:
            raise RuntimeError(out.stderr[-3000:])
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def client_side(n: int, folder: Path) -> None:
    """Time what the client does for N tasks, on synthetic task files (1,500 daily rows)."""
    import numpy as np

    from workbooks.batch import load_batch
    from workbooks.batch.store import METRIC_COLUMNS, assemble, task_key, task_path, write_bytes
    from workbooks.batch.summary import build_summary
    from workbooks.batch.task import _blob, task_meta

    (folder / "base.toml").write_text(BASE)
    path = folder / "batch.toml"
    seeds = ", ".join(str(i) for i in range(n // 2))
    path.write_text(
        f'[batch]\nbase = "base.toml"\n[batch.grid]\n"regimes.method" = ["hmm", "jump"]\n'
        f'"regimes.seed" = [{seeds}]\n'
    )
    t0 = time.perf_counter()
    spec = load_batch(path)
    t_load = time.perf_counter() - t0
    out = folder / "out"
    rng = np.random.default_rng(0)
    days = 1_500
    import pyarrow as pa

    first = np.datetime64("2007-01-01", "D")
    dates = pa.array((first + np.arange(days)).astype("datetime64[ns]"))
    keys = []
    for task in spec.tasks:
        key = task_key(task, "synthetic")
        r = rng.normal(0.0003, 0.01, (2, days))
        nav = np.cumprod(1 + r, axis=1)
        table = pa.table(
            {
                "date": dates,
                "static_nav": nav[0],
                "dynamic_nav": nav[1],
                "static_return": r[0],
                "dynamic_return": r[1],
            }
        )
        metrics = {c: float(rng.normal(0.5, 0.2)) for c in METRIC_COLUMNS}
        metrics |= {
            "dynamic_daily_sharpe": float(r[1].mean() / r[1].std(ddof=1)),
            "dynamic_skewness": 0.0,
            "dynamic_kurtosis": 3.0,
            "live_days": float(days),
        }
        meta = task_meta(task, key) | {
            "error": None,
            "retryable": False,
            "metrics": metrics,
            "live_start": 0,
        }
        write_bytes(task_path(out, key), _blob(table, meta))
        keys.append(key)
    t0 = time.perf_counter()
    asm = assemble(out, spec, keys, {})
    t_asm = time.perf_counter() - t0
    t0 = time.perf_counter()
    summary = build_summary(spec, asm, out / "summary.xlsx")
    t_sum = time.perf_counter() - t0
    task_kb = sum(task_path(out, k).stat().st_size for k in keys) / n / 1e3
    print(f"| client-side step, {n:,} tasks ({days:,} days each) | seconds | size |")
    print("|---|---:|---:|")
    print(f"| validate the batch file (parse_config per task) | {t_load:.1f} | |")
    print(f"| task files (synthetic) | | {task_kb:.0f} kB each |")
    for name, t, p in (
        ("assemble results.parquet + nav.parquet (+ DSR)", t_asm, out / "nav.parquet"),
        ("(results.parquet)", None, out / "results.parquet"),
        ("summary.xlsx (openpyxl + cached values)", t_sum, summary),
    ):
        secs = f"{t:.1f}" if t is not None else ""
        print(f"| {name} | {secs} | {p.stat().st_size / 1e6:.1f} MB |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--one", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=int, help="time the client's work for N tasks")
    parser.add_argument("--overhead-only", action="store_true", help="trivial tasks only")
    args = parser.parse_args()
    if args.scale:
        with tempfile.TemporaryDirectory() as tmp:
            client_side(args.scale, Path(tmp))
        return
    if args.one:
        grid, scheduler, workers, trivial, folder = args.one
        print(json.dumps(one(grid, scheduler, int(workers), trivial == "True", Path(folder))))
        return
    w = args.workers
    print(f"cores: {os.cpu_count()}, workers: {w}, each run a fresh process\n")
    print(
        "| grid | mode | batch wall (s) | tasks phase (s) | mean task compute (s) "
        "| speedup (tasks phase) |"
    )
    print("|---|---|---:|---:|---:|---:|")
    sizes = {}
    for grid in () if args.overhead_only else ("distinct", "shared"):
        sync = measure(grid, "synchronous", w)
        local = measure(grid, "local", w)
        sizes[grid] = local
        for name, m in (("synchronous", sync), (f"local, {w} workers", local)):
            speed = sync["run"] / m["run"]
            print(
                f"| {grid} | {name} | {m['total']:.1f} | {m['run']:.1f} | "
                f"{m['task_mean']:.2f} | {speed:.2f}× |"
            )
        print(f"| {grid} | speedup, whole batch | | | | {sync['total'] / local['total']:.2f}× |")
    print("\nscheduler overhead (trivial tasks through the same machinery):\n")
    print("| mode | tasks | tasks phase (s) | per task (ms) | client process CPU per task (ms) |")
    print("|---|---:|---:|---:|---:|")
    for grid in ("distinct", "wide"):
        for name, sched in (("synchronous", "synchronous"), (f"local, {w} workers", "local")):
            m = measure(grid, sched, w, trivial=True)
            n = N_TASKS[grid]
            print(
                f"| {name} | {n:,} | {m['run']:.3f} | {m['run'] / n * 1e3:.1f} | "
                f"{m['client_cpu'] / n * 1e3:.1f} |"
            )
    if args.overhead_only:
        return
    m = sizes["distinct"]
    print(
        f"\nsizes: scattered data {m['data_bytes'] / 1e3:.0f} kB (one data set, sent once per "
        f"worker); task file {m['task_bytes'] / 1e3:.1f} kB on average; summary.xlsx "
        f"{m['summary_bytes'] / 1e3:.0f} kB"
    )


if __name__ == "__main__":
    main()
