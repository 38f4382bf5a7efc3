"""Run a batch: data loaded once in the client, tasks on a Dask cluster (or in-process),
each task's result file written as it finishes, the tables and summary assembled at the end.

Schedulers:
  local        a LocalCluster of worker processes on this machine (one thread and one BLAS
               thread each, restarted by their nanny if they die), the default
  ADDRESS      a running cluster's scheduler, e.g. tcp://10.0.0.5:8786 (workers need
               regime-risk installed, at the same version)
  synchronous  in this process, one task after the other, no Dask (for debugging: pdb works)

Fault tolerance: a task that raises records its one-line error (the batch goes on); a worker
that dies takes its running task with it, and the scheduler runs that task again on another
worker (Dask's `distributed.scheduler.allowed-failures`, 3 by default, then the task fails
with KilledWorker; `retries=` covers an exception outside the analysis). The client, not the
workers, writes the result files: each task is written exactly once, and workers need no
shared file system.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import engine
from engine.errors import InputError
from engine.pipeline import PreparedData, prepare_data
from workbooks.batch.spec import BatchSpec, TaskSpec, check_scheduler, check_workers
from workbooks.batch.store import (
    NAV,
    RESULTS,
    SUMMARY,
    assemble,
    clean_stale,
    file_sizes,
    finished,
    locked,
    report_path,
    task_key,
    task_path,
    write_bytes,
)
from workbooks.batch.task import (
    TaskOutcome,
    data_key,
    engine_version,
    failure_blob,
    one_line,
    run_task,
)

BLAS_ENV = {  # one BLAS/OpenMP thread per worker process: the workers are the parallelism
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
BROADCAST_MAX = 8  # data sets sent to every worker up front; more are fetched on demand
RETRIES = 2  # per task, for an exception that escapes the task function
TaskFn = Callable[[TaskSpec, str, PreparedData, bool], TaskOutcome]
Done = Callable[[TaskSpec, str, TaskOutcome | None, str | None], None]


@dataclass
class BatchRun:
    """What a batch did."""

    out: Path
    total: int
    skipped: int  # finished by an earlier run over the same directory
    ran: int  # completed by this run (successes and failures)
    failures: list[tuple[str, str, str]]  # (key, task label, one-line error), whole batch
    written: list[str]  # task keys whose file this run wrote, in completion order
    keys: list[str]  # every task's key, in the batch's order
    scheduler: str
    workers: int | None
    seconds: float
    data_bytes: int  # pickled size of the data sent to each worker (all data sets)
    data_sets: int
    task_bytes: list[int] = field(default_factory=list)  # size of each task file
    task_seconds: list[float] = field(default_factory=list)  # compute time of each task run
    run_seconds: float = 0.0  # from the tasks' start (cluster up, data sent) to the last end
    summary: Path | None = None

    @property
    def results(self) -> Path:
        return self.out / RESULTS

    @property
    def nav(self) -> Path:
        return self.out / NAV


class BatchProgress:
    """`[  12.3s] batch: 5/8 done (2 skipped, 1 failed), ETA 0:00:14 | KEY label (1.2s)` on
    stderr: one line per finished task, at most one a `every` seconds (failures and the last
    task always)."""

    def __init__(
        self, total: int, skipped: int, stream: IO[str] | None = None, every: float = 1.0
    ) -> None:
        self.total, self.skipped, self.every = total, skipped, every
        self.stream = stream or sys.stderr
        self.t0 = self.t_run = time.perf_counter()
        self.ran = self.failed = 0
        self.last = -math.inf

    def start(self) -> None:
        """The tasks start now (after the cluster and the data): the ETA's clock."""
        self.t_run = time.perf_counter()

    def say(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.t0:7.1f}s] {text}", file=self.stream, flush=True)

    def done(self, key: str, label: str, error: str | None, seconds: float) -> None:
        self.ran += 1
        self.failed += error is not None
        now = time.perf_counter()
        n = self.skipped + self.ran
        if error is None and n < self.total and now - self.last < self.every:
            return
        self.last = now
        left = self.total - n
        eta = (now - self.t_run) / self.ran * left
        what = f"FAILED: {error}" if error else f"({seconds:.1f}s)"
        self.say(
            f"batch: {n}/{self.total} done ({self.skipped} skipped, {self.failed} failed), "
            f"ETA {dt.timedelta(seconds=round(eta))} | {key} {label} {what}"
        )


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def run_batch(
    spec: BatchSpec,
    out: str | Path,
    scheduler: str | None = None,
    workers: int | None = None,
    stream: IO[str] | None = None,
    task_fn: TaskFn = run_task,
    write_summary: bool = True,
) -> BatchRun:
    """Run every task of `spec` not finished in `out` yet, then assemble results.parquet,
    nav.parquet and summary.xlsx from `out`/tasks. `scheduler` and `workers` (the CLI's) win
    over the batch file's; `task_fn` is for the benchmark's trivial tasks."""
    t0 = time.perf_counter()
    sched = check_scheduler("--scheduler", scheduler or spec.scheduler or "local")
    n_workers = workers if workers is not None else spec.workers
    if n_workers is not None:
        check_workers("--workers", n_workers)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError("--out", f"{out} is a file: name a directory")
    out.mkdir(parents=True, exist_ok=True)
    with locked(out):
        (out / "tasks").mkdir(exist_ok=True)
        clean_stale(out)
        progress = BatchProgress(len(spec.tasks), 0, stream)
        n_configs = len(spec.tasks) // max(len(spec.portfolios), 1)
        progress.say(
            f"batch: {len(spec.tasks)} tasks ({len(spec.portfolios)} portfolios × {n_configs} "
            f"configurations) from {spec.path.name}"
        )
        datasets, data_errors = _prepare(spec.tasks)
        data_bytes = sum(len(pickle.dumps(d, protocol=5)) for d in datasets.values())
        keys, unsaved = [], {}
        for task in spec.tasks:
            data = datasets.get(task.data_text)
            keys.append(task_key(task, data_key(data) if data is not None else None))
            if data is None:
                unsaved[keys[-1]] = data_errors[task.data_text]
        done = {k for k in keys if k not in unsaved and finished(out, k, spec.report) is not None}
        settled = done | set(unsaved)
        todo = [(t, k) for t, k in zip(spec.tasks, keys, strict=True) if k not in settled]
        progress.skipped = len(done)
        progress.say(
            f"batch: {len(datasets)} data set(s), {data_bytes / 1e3:,.0f} kB sent to each worker "
            f"once; {len(done)} of {len(spec.tasks)} tasks already done in {out} (skipped), "
            f"{len(todo)} to run" + (f" ({sched})" if todo else "")
        )
        for task, key in zip(spec.tasks, keys, strict=True):
            if key in unsaved:
                progress.done(key, task.label(), unsaved[key], 0.0)
        written: list[str] = []
        task_seconds: list[float] = []
        ends: list[float] = []

        def on_done(task: TaskSpec, key: str, outcome: TaskOutcome | None, err: str | None) -> None:
            if outcome is None:  # lost (e.g. KilledWorker): a retryable failure
                outcome = TaskOutcome(key, failure_blob(task, key, err or "?", True), err)
            if outcome.report is not None:
                write_bytes(report_path(out, key), outcome.report)
            write_bytes(task_path(out, key), outcome.blob)  # last: the task is finished
            written.append(key)
            task_seconds.append(outcome.seconds)
            ends.append(time.perf_counter())
            progress.done(key, task.label(), outcome.error, outcome.seconds)

        if todo:
            if sched == "synchronous":
                progress.start()
                _run_synchronous(todo, datasets, spec.report, task_fn, on_done)
            else:
                _run_dask(todo, datasets, spec.report, task_fn, on_done, sched, n_workers, progress)
        run_seconds = ends[-1] - progress.t_run if ends else 0.0
        progress.say("batch: assembling results.parquet, nav.parquet and summary.xlsx")
        asm = assemble(out, spec, keys, unsaved)
        summary = None
        if write_summary:
            from workbooks.batch.summary import build_summary

            summary = build_summary(spec, asm, out / SUMMARY)
        run = BatchRun(
            out=out,
            total=len(spec.tasks),
            skipped=len(done),
            ran=progress.ran,
            failures=asm.failures,
            written=written,
            keys=keys,
            scheduler=sched,
            workers=n_workers,
            seconds=time.perf_counter() - t0,
            data_bytes=data_bytes,
            data_sets=len(datasets),
            task_bytes=file_sizes(out, keys),
            task_seconds=task_seconds,
            run_seconds=run_seconds,
            summary=summary,
        )
        progress.say(
            f"batch: {run.total} tasks, {run.skipped} skipped, {run.ran} ran, "
            f"{len(run.failures)} failed, {run.seconds:.1f}s"
        )
        return run


def _prepare(tasks: Iterable[TaskSpec]) -> tuple[dict[str, PreparedData], dict[str, str]]:
    """Each distinct [data] table's data, loaded once; the ones that fail: their error."""
    datasets: dict[str, PreparedData] = {}
    errors: dict[str, str] = {}
    for task in tasks:
        if task.data_text in datasets or task.data_text in errors:
            continue
        try:
            datasets[task.data_text] = prepare_data(task.config)
        except Exception as exc:
            errors[task.data_text] = one_line(exc)
    return datasets, errors


def _run_synchronous(
    todo: list[tuple[TaskSpec, str]],
    datasets: dict[str, PreparedData],
    report: bool,
    task_fn: TaskFn,
    on_done: Done,
) -> None:
    for task, key in todo:
        on_done(task, key, task_fn(task, key, datasets[task.data_text], report), None)


def _client(scheduler: str, workers: int | None, progress: BatchProgress) -> tuple[Any, Any]:
    """(client, cluster): a new LocalCluster for "local" (cluster closed by the caller), or a
    client of the running scheduler at `scheduler` (cluster None)."""
    from distributed import Client, LocalCluster

    if scheduler == "local":
        n = workers or default_workers()
        dashboard = importlib.util.find_spec("bokeh") is not None
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,  # each worker a process under a nanny that restarts it
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0" if dashboard else None,
            env=BLAS_ENV,
        )
        client = Client(cluster)
        where = (
            f"dashboard {cluster.dashboard_link}"
            if dashboard
            else "no dashboard (it needs bokeh>=3.1)"
        )
        progress.say(
            f"batch: local cluster of {n} worker processes at {cluster.scheduler_address}; {where}"
        )
        return client, cluster
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise InputError("--scheduler", f"cannot connect to {scheduler}: {exc}") from None
    n = len(client.scheduler_info().get("workers", {}))
    if n == 0:
        progress.say(f"batch: {scheduler} has no workers yet; waiting up to 2 minutes")
        try:
            client.wait_for_workers(1, timeout=120)
        except TimeoutError:
            client.close()
            raise InputError("--scheduler", f"{scheduler} has no workers") from None
        n = len(client.scheduler_info().get("workers", {}))
    try:  # the workers unpickle the tasks: they need regime-risk, at this version
        versions = set(client.run(engine_version).values())
    except Exception as exc:
        client.close()
        raise InputError(
            "--scheduler", f"the workers of {scheduler} cannot run regime-risk tasks ({exc})"
        ) from None
    if versions != {engine.__version__}:
        client.close()
        raise InputError(
            "--scheduler",
            f"the workers run regime-risk {', '.join(sorted(versions))}, this client "
            f"{engine.__version__}: install the same version on every worker",
        )
    progress.say(
        f"batch: connected to {scheduler} ({n} workers); dashboard {client.dashboard_link}"
    )
    return client, None


def _run_dask(
    todo: list[tuple[TaskSpec, str]],
    datasets: dict[str, PreparedData],
    report: bool,
    task_fn: TaskFn,
    on_done: Done,
    scheduler: str,
    workers: int | None,
    progress: BatchProgress,
) -> None:
    from distributed import as_completed

    client, cluster = _client(scheduler, workers, progress)
    try:
        needed = list(dict.fromkeys(t.data_text for t, _ in todo))
        # a few data sets: each to every worker once (a worker that joins or restarts later
        # fetches it from a peer); many (portfolios over their own assets): one copy each, which
        # the workers that run its tasks fetch once (docs/scale.md: data broadcast)
        broadcast = len(needed) <= BROADCAST_MAX
        scattered = {
            text: client.scatter(datasets[text], broadcast=broadcast, hash=False) for text in needed
        }
        progress.start()
        futures: dict[Any, Any] = {}  # dask key → future (held: a dropped future is cancelled)
        tasks: dict[Any, tuple[TaskSpec, str]] = {}
        for task, key in todo:
            f = client.submit(
                task_fn,
                task,
                key,
                scattered[task.data_text],
                report,
                key=f"regime-risk-task-{key}",
                retries=RETRIES,
                pure=False,
            )
            futures[f.key], tasks[f.key] = f, (task, key)
        pending = as_completed(list(futures.values()), with_results=True, raise_errors=False)
        for f, result in pending:
            task, key = tasks.pop(f.key)
            if f.status == "finished":
                on_done(task, key, result, None)
            else:  # the task could not complete (KilledWorker, cancelled): recorded, retryable
                exc = result[1] if isinstance(result, tuple) else result
                on_done(
                    task, key, None, one_line(exc) if isinstance(exc, BaseException) else str(exc)
                )
            del futures[f.key]
            f.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
