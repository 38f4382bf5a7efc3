"""`regime-risk batch`: the batch file's validation (errors name the key), the task's analysis
against `run_analysis`, a LocalCluster run equal to a synchronous one bit for bit, resuming,
a worker killed mid-batch, a failing task and the command's exit codes."""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.config import parse_config
from engine.errors import InputError
from engine.pipeline import analyse, prepare_data
from workbooks import cli
from workbooks.batch import load_batch
from workbooks.batch.runner import BLAS_ENV, BatchRun, run_batch
from workbooks.batch.spec import BatchSpec, dump_toml
from workbooks.batch.store import NAV, RESULTS, task_path
from workbooks.cached import read_cell_values
from workbooks.recalc import soffice_path

BASE = """\
[data]
columns = ["SP500", "GOLD", "WTI"]
start = "2008-01-01"
end = "2012-12-31"

[portfolio]
weights = [0.6, 0.25, 0.15]

[backtest]
window = 120
"""
BATCH = """\
[batch]
base = "base.toml"

[batch.grid]
"regimes.method" = ["hmm", "jump"]
"backtest.cost_bps" = [0, 25]

[[batch.portfolios]]
name = "balanced"
weights = [0.6, 0.25, 0.15]

[[batch.portfolios]]
name = "gold-tilt"
weights = [0.2, 0.5, 0.3]
"""


def write(folder: Path, batch: str = BATCH, base: str = BASE, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "base.toml").write_text(base, encoding="utf-8")
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text, encoding="utf-8")
    path = folder / "batch.toml"
    path.write_text(batch, encoding="utf-8")
    return path


def tables(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.read_parquet(out / RESULTS), pd.read_parquet(out / NAV)


def assert_same_output(a: Path, b: Path) -> None:
    """The assembled tables are equal value for value (and as files, byte for byte)."""
    for x, y in zip(tables(a), tables(b), strict=True):
        pd.testing.assert_frame_equal(x, y, check_exact=True)
    for name in (RESULTS, NAV):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


# ---------------------------------------------------------------- the batch file (fast)


def test_tasks_are_portfolios_times_grid_through_parse_config(tmp_path):
    spec = load_batch(write(tmp_path))
    assert len(spec.tasks) == 8
    t = spec.tasks[3]  # portfolios outer, grid combinations inner, in the file's order
    assert (t.portfolio, t.grid) == (
        "balanced",
        (("regimes.method", "jump"), ("backtest.cost_bps", 25)),
    )
    assert t.config.regimes.method == "jump" and t.config.backtest.cost_bps == 25.0
    assert spec.tasks[4].config.portfolio.weights == (0.2, 0.5, 0.3)
    # the canonical text holds every setting (defaults too) and reads back as the same config
    again = parse_config(t.text)
    assert dataclasses.replace(again, source_text="") == dataclasses.replace(
        t.config, source_text=""
    )
    assert "delay = 1" in t.text and len({x.data_text for x in spec.tasks}) == 1


def test_dump_toml_round_trips():
    raw = {
        "data": {"columns": ["A", "B"], "start": tomllib.loads("d = 2008-01-02")["d"]},
        "regimes": {"features": [{"name": "ewm_vol", "halflife": 3.5}], "seed": 7},
        "report": {"title": 'quote " and \\ and é', "tolerance": 1e-9, "x": float("inf")},
    }
    assert tomllib.loads(dump_toml(raw)) == raw


def test_portfolios_from_csv(tmp_path):
    csv = "name,WTI,SP500,GOLD,SILVER\nbalanced,0.15,0.6,0.25,\nmetals,,,0.5,0.5\n\n"
    batch = '[batch]\nbase = "base.toml"\nportfolios_csv = "p.csv"\n'
    spec = load_batch(write(tmp_path, batch, p_csv=csv))
    a, b = (t.config for t in spec.tasks)
    assert a.data.columns == ("SP500", "GOLD", "WTI") and a.portfolio.weights == (0.6, 0.25, 0.15)
    assert b.data.columns == ("GOLD", "SILVER") and b.portfolio.weights == (0.5, 0.5)
    assert [t.portfolio for t in spec.tasks] == ["balanced", "metals"]


HEAD = '[batch]\nbase = "base.toml"\n'


@pytest.mark.parametrize(
    ("batch", "key", "words"),
    [
        (
            HEAD + '[batch.grid]\n"regimes.method" = ["hmm", "hmn"]\n',
            'batch.grid."regimes.method"[1]',
            "must be one of hmm, jump",
        ),
        (
            HEAD + '[batch.grid]\n"regimes.methd" = ["hmm"]\n',
            'batch.grid."regimes.methd"',
            "unknown key",
        ),
        (
            HEAD + '[batch.grid]\n"backtest.window" = [250, 50]\n',
            'batch.grid."backtest.window"[1]',
            "at least 120",
        ),
        (
            HEAD + '[batch.grid]\n"backtest.cost_bps" = 10\n',
            'batch.grid."backtest.cost_bps"',
            "list",
        ),
        (
            HEAD + '[batch.grid]\n"backtest.cost_bps" = [10, 10]\n',
            'batch.grid."backtest.cost_bps"[1]',
            "twice",
        ),
        (
            HEAD + '[batch.grid]\n"backtest.cost_bps" = [10, 10.0]\n',
            'batch.grid."backtest.cost_bps"[1]',
            "same configuration as value [0]",
        ),
        (HEAD + "wokers = 2\n", "batch.wokers", "unknown key"),
        (HEAD + 'scheduler = "cloud"\n', "batch.scheduler", "tcp://"),
        ('[batch]\nbase = "missing.toml"\n', "batch.base", "file not found"),
        (
            HEAD + '[[batch.portfolios]]\nname = "a"\nweights = [0.5, 0.5, 0.5]\n',
            "batch.portfolios[0].weights",
            "sum to 1",
        ),
        (
            HEAD + '[[batch.portfolios]]\nname = "a"\ncolumns = ["SP500", "NOPE"]\n',
            "batch.portfolios[0].columns",
            "not in the bundled sample",
        ),
        (
            HEAD + '[[batch.portfolios]]\nname = "a"\ncolumns = ["SP500"]\n'
            '[batch.grid]\n"data.columns" = [["GOLD"]]\n',
            'batch.grid."data.columns"',
            "set by each portfolio",
        ),
        (
            HEAD + 'portfolios_csv = "p.csv"\n',
            "batch.portfolios_csv[line 3].GOLD",
            "not a number",
        ),
        ("[report]\ntitle = 'x'\n", "report", "only the [batch] section"),
    ],
)
def test_every_key_is_validated_before_anything_runs(tmp_path, batch, key, words):
    csv = "name,SP500,GOLD,WTI\nok,0.6,0.25,0.15\nbad,0.5,x,0.5\n"
    with pytest.raises(InputError) as err:
        load_batch(write(tmp_path, batch, p_csv=csv))
    assert err.value.argument == key
    assert words in err.value.message


def test_command_exits_2_naming_the_key_and_writes_nothing(tmp_path, capsys):
    path = write(tmp_path, HEAD + '[batch.grid]\n"regimes.method" = ["hmm", "hmn"]\n')
    t0 = time.perf_counter()
    code = cli.main(["batch", "--config", str(path), "--out", str(tmp_path / "out")])
    assert code == cli.EXIT_INPUT and time.perf_counter() - t0 < 2
    err = capsys.readouterr().err
    assert 'batch.grid."regimes.method"[1]: must be one of hmm, jump' in err
    assert not (tmp_path / "out").exists()
    code = cli.main(
        ["batch", "--config", str(write(tmp_path)), "--out", "x", "--scheduler", "yarn"]
    )
    assert (
        code == cli.EXIT_INPUT
        and "--scheduler: must be local, synchronous" in capsys.readouterr().err
    )


# ---------------------------------------------------------------- the task's analysis


def test_prepared_data_then_analyse_equals_run_analysis():
    """The batch's split of run_analysis (prepare_data once in the client, analyse on a worker,
    from fresh objects) computes what run_analysis computes: the halves share no hidden state."""
    import engine.pipeline as pipeline

    cfg = parse_config(BASE + '[regimes]\nmethod = "jump"\n')
    a, b = pipeline.run_analysis(cfg), analyse(cfg, prepare_data(cfg))
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.Series):
            pd.testing.assert_series_equal(x, y, check_exact=True)
        elif isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        elif f.name == "comparison":
            pd.testing.assert_frame_equal(x.table, y.table, check_exact=True)
            pd.testing.assert_series_equal(x.dynamic.nav, y.dynamic.nav, check_exact=True)
        elif f.name == "regimes":
            np.testing.assert_array_equal(x.filtered, y.filtered)
        elif f.name == "var_backtest":
            assert x.as_dict() == y.as_dict()
        else:
            assert x == y, f.name


# ---------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def synchronous(tmp_path_factory) -> tuple[BatchSpec, BatchRun, str]:
    """The reference: the 8-task batch run in-process."""
    folder = tmp_path_factory.mktemp("sync")
    spec = load_batch(write(folder))
    stream = io.StringIO()
    run = run_batch(spec, folder / "out", scheduler="synchronous", stream=stream)
    return spec, run, stream.getvalue()


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster on loopback: 2 worker processes (under nannies), one thread each."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            env=BLAS_ENV,
        ) as c,
        Client(c) as client,
    ):
        c.test_client = client  # the tests' own view of the scheduler
        yield c


@pytest.mark.slow
def test_synchronous_run_writes_results_nav_and_summary(synchronous):
    _spec, run, log = synchronous
    results, nav = tables(run.out)
    assert run.total == 8 and run.ran == 8 and run.skipped == 0 and not run.failures
    assert sorted(run.written) == sorted(run.keys) and len(set(run.keys)) == 8
    assert list(results.columns[:4]) == ["key", "portfolio", "regimes.method", "backtest.cost_bps"]
    assert results["error"].isna().all() and results["dynamic_sharpe"].notna().all()
    assert {"static_sharpe", "dynamic_max_drawdown", "dsr"} <= set(results.columns)
    assert list(nav.columns) == ["key", "date", "static_nav", "dynamic_nav"]
    assert nav.groupby("key").size().nunique() == 1 and set(nav["key"]) == set(run.keys)
    assert run.data_sets == 1 and all(len(k) == 16 for k in run.keys)
    assert "8/8 done (0 skipped, 0 failed)" in log and "ETA" in log
    values = read_cell_values(run.summary)
    assert values["About"]["B9"] is True  # the master check's cached value
    assert values["Ranking"]["A10"] == 1 and values["Inputs"]["B3"] == 8
    assert abs(values["Ranking"]["B7"] - results["dsr"].max()) < 1e-12  # the best's DSR


@pytest.mark.slow
def test_local_cluster_equals_synchronous_bit_for_bit(synchronous, cluster, tmp_path):
    spec, ref, _ = synchronous
    run = run_batch(
        spec, tmp_path / "out", scheduler=cluster.scheduler_address, stream=io.StringIO()
    )
    assert run.ran == 8 and not run.failures and sorted(run.written) == sorted(ref.keys)
    assert run.keys == ref.keys  # same content, same keys
    assert_same_output(run.out, ref.out)


@pytest.mark.slow
def test_second_run_skips_finished_tasks_and_reruns_only_a_deleted_one(synchronous, tmp_path):
    spec, ref, _ = synchronous
    import shutil

    out = tmp_path / "out"
    shutil.copytree(ref.out, out)
    stream = io.StringIO()
    again = run_batch(spec, out, scheduler="synchronous", stream=stream)
    assert (again.skipped, again.ran, again.written) == (8, 0, [])
    assert "8 of 8 tasks already done" in stream.getvalue()
    gone = ref.keys[5]
    task_path(out, gone).unlink()
    (out / ".x-1.xlsx.tmp").write_bytes(b"left by a killed run")
    third = run_batch(spec, out, scheduler="synchronous", stream=io.StringIO())
    assert (third.skipped, third.ran, third.written) == (7, 1, [gone])
    assert not list(out.glob(".*.tmp"))
    assert_same_output(out, ref.out)


@pytest.mark.slow
def test_batch_killed_midway_completes_the_rest_when_run_again(synchronous, tmp_path):
    """`regime-risk batch` killed (SIGKILL) after some tasks finished: the same command again
    skips those and runs the rest; the output equals an uninterrupted run's."""
    import subprocess
    import sys

    spec, ref, _ = synchronous
    out = tmp_path / "out"
    exe = [sys.executable, "-m", "workbooks.cli", "batch", "--config", str(spec.path)]
    proc = subprocess.Popen(
        [*exe, "--out", str(out), "--scheduler", "synchronous"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **BLAS_ENV},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((out / "tasks").glob("*.parquet"))) < 2:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    finished = len(list((out / "tasks").glob("*.parquet")))
    assert 2 <= finished < 8
    stream = io.StringIO()
    run = run_batch(spec, out, scheduler="synchronous", stream=stream)
    assert (run.skipped, run.ran) == (finished, 8 - finished)
    assert f"{finished} of 8 tasks already done" in stream.getvalue()
    assert_same_output(out, ref.out)


def clear_caches() -> None:
    """Forget the fitted detectors and backtests this process holds (run on each worker)."""
    from engine.backtest.compare import BACKTEST_CACHE
    from engine.regimes import FIT_CACHE

    FIT_CACHE.clear()
    BACKTEST_CACHE.clear()


@pytest.mark.slow
def test_killed_worker_tasks_are_retried_and_complete_once(synchronous, cluster, tmp_path):
    """Kill one worker process (SIGKILL, by PID) while it runs a task: its nanny restarts it,
    the scheduler runs the lost task again, every task is written exactly once, and the output
    equals the synchronous run's."""
    spec, ref, _ = synchronous
    client = cluster.test_client
    out = tmp_path / "out"
    killed: dict[str, object] = {}

    def kill_when_busy() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list((out / "tasks").glob("*.parquet")):
            time.sleep(0.05)  # the first task finished: the workers are warm and busy
        busy = {w: ks for w, ks in client.processing().items() if ks}
        pids = client.run(os.getpid)
        worker = next(iter(busy))
        killed.update(worker=worker, pid=pids[worker], tasks=list(busy[worker]))
        os.kill(pids[worker], signal.SIGKILL)

    client.run(clear_caches)  # cold workers: tasks take their full time, the kill lands mid-task
    watcher = threading.Thread(target=kill_when_busy, daemon=True)
    watcher.start()
    run = run_batch(spec, out, scheduler=cluster.scheduler_address, stream=io.StringIO())
    watcher.join(timeout=5)
    assert killed.get("tasks"), "no task was running on the killed worker"
    assert run.ran == 8 and not run.failures
    assert sorted(run.written) == sorted(ref.keys)  # each task written once
    assert_same_output(out, ref.out)
    client.wait_for_workers(2, timeout=30)  # the nanny restarted the killed worker
    assert killed["pid"] not in client.run(os.getpid).values()


def test_failing_task_is_recorded_the_others_finish_and_the_command_exits_1(tmp_path, capsys):
    """A run-time failure (a VaR window longer than the data: a valid setting that fails in
    the analysis, on the worker) is recorded in one line, the other task finishes, the command
    exits 1 and lists it; a second run keeps it (a bad input is not run again)."""
    batch = HEAD + '[batch.grid]\n"risk.var_window" = [250, 2000]\n'
    out = tmp_path / "out"
    args = ["batch", "--config", str(write(tmp_path, batch)), "--out", str(out)]
    assert cli.main([*args, "--scheduler", "synchronous"]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert "1 of 2 tasks failed:" in err
    assert "risk.var_window=2000: returns: need at least 2020 observations" in err
    results = pd.read_parquet(out / RESULTS).set_index("risk.var_window")
    assert pd.isna(results.loc[250, "error"]) and np.isfinite(results.loc[250, "dynamic_sharpe"])
    assert results.loc[2000, "error"] == (
        "returns: need at least 2020 observations for a 2000-day window"
    )
    assert np.isnan(results.loc[2000, "dynamic_sharpe"])
    assert cli.main([*args, "--scheduler", "synchronous"]) == cli.EXIT_FAILED
    assert "2 of 2 tasks already done" in capsys.readouterr().err


def test_data_that_do_not_load_fail_their_tasks_only(tmp_path):
    """Data are loaded in the client: a data set that does not load (gold has no prices after
    2012) fails the tasks that read it, and only those."""
    batch = (
        HEAD
        + '[[batch.portfolios]]\nname = "stocks"\ncolumns = ["SP500", "AAPL"]\n'
        + '[[batch.portfolios]]\nname = "metals"\ncolumns = ["GOLD", "SILVER"]\n'
        + '[batch.grid]\n"data.start" = ["2008-01-01", "2013-06-01"]\n'
    )
    base = BASE.replace('end = "2012-12-31"', 'end = "2016-12-31"')
    spec = load_batch(write(tmp_path, batch, base=base))
    run = run_batch(
        spec, tmp_path / "out", "synchronous", stream=io.StringIO(), write_summary=False
    )
    results = pd.read_parquet(run.results)
    failed = results[results["error"].notna()]
    assert failed[["portfolio", "data.start"]].values.tolist() == [["metals", "2013-06-01"]]
    assert failed["error"].tolist() == ["prices: the table is empty"]
    assert run.data_sets == 3 and len(run.failures) == 1


@pytest.mark.slow
def test_summary_verifies_in_libreoffice(synchronous):
    if soffice_path() is None:
        pytest.skip("LibreOffice not installed")
    from workbooks.verify import verify_workbook

    v = verify_workbook(synchronous[1].summary)
    assert v.ok, v.verdict() + "\n" + "\n".join(v.details())


@pytest.mark.slow
def test_report_workbooks_per_task(tmp_path):
    batch = HEAD + "report = true\n"
    spec = load_batch(write(tmp_path, batch))
    run = run_batch(
        spec, tmp_path / "out", scheduler="synchronous", stream=io.StringIO(), write_summary=False
    )
    (key,) = run.keys
    book = tmp_path / "out" / "reports" / f"{key}.xlsx"
    assert read_cell_values(book)["About"]["B9"] is True
    assert pd.read_parquet(run.results)["report"].tolist() == [f"reports/{key}.xlsx"]
    book.unlink()  # a missing workbook makes the task unfinished
    assert (
        run_batch(
            spec,
            tmp_path / "out",
            scheduler="synchronous",
            stream=io.StringIO(),
            write_summary=False,
        ).ran
        == 1
    )


def test_a_local_cluster_prints_its_dashboard_link():
    """`--scheduler local`: a LocalCluster on loopback whose dashboard link is printed."""
    import httpx

    from workbooks.batch.runner import BatchProgress, _client

    stream = io.StringIO()
    client, cluster = _client("local", 1, BatchProgress(0, 0, stream))
    try:
        line = stream.getvalue()
        assert "local cluster of 1 worker processes at tcp://127.0.0.1:" in line
        link = line.split("dashboard ")[1].split()[0]
        assert link.startswith("http://127.0.0.1:")
        assert httpx.get(link, timeout=30, follow_redirects=True).status_code == 200
    finally:
        client.close()
        cluster.close()
