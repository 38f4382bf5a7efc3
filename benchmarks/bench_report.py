"""Benchmark: report generation for 10 assets × 20 years of daily data, its LibreOffice
verification and cached values; the default report's cached-value write; and how fast
`regime-risk report` answers a configuration typo. Run: .venv/bin/python benchmarks/bench_report.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.config import load_config, parse_config
from engine.pipeline import run_analysis
from workbooks.cached import write_cached_values
from workbooks.recalc import read_formulas, soffice_path
from workbooks.report import build_report
from workbooks.verify import verify_workbook

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """
[data]
columns = ["SP500", "AAPL", "BAC", "CVX", "HD", "JNJ", "KO", "MSFT", "PG", "XOM"]
start = "2003-01-01"
end = "2022-12-31"
[portfolio]
weights = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
"""
TYPO = '[data]\ncolumns = ["SP500", "GOLD"]\n[allocation]\nobjective = "min_varience"\n'


def config_error_seconds(folder: Path, runs: int = 5) -> list[float]:
    """Wall time of `regime-risk report` on a configuration with a typo, from process start."""
    bad = folder / "typo.toml"
    bad.write_text(TYPO)
    exe = Path(sys.executable).parent / "regime-risk"
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run = subprocess.run(
            [exe, "report", "--config", bad, "--out", folder / "x.xlsx"],
            capture_output=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        times.append(time.perf_counter() - t0)
        assert run.returncode == 2, run.stderr
    return times


def verify_and_cache(path: Path, label: str) -> None:
    """Time the verification (LibreOffice recalculation + reading every value) and the write
    of the recalculated values as cached values; print them."""
    n = sum(len(v) for v in read_formulas(path).values())
    v = verify_workbook(path)
    rep = write_cached_values(path, v.values)
    print(
        f"{label}: {n} formulas, {path.stat().st_size / 1e6:.1f} MB; verification "
        f"{v.seconds:.1f}s ({v.verdict().split(' (')[0]}); cached values {rep.seconds:.2f}s "
        f"({rep.cached} cells, {len(rep.missing)} without a value)"
    )


def main() -> None:
    """Time the analysis, the workbook, its verification and cached values; print them."""
    folder = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        times = config_error_seconds(folder)
        print(f"config typo -> exit 2: {min(times):.2f}s best, {max(times):.2f}s worst of 5")
        out = folder / "report.xlsx"
        t0 = time.perf_counter()
        res = run_analysis(parse_config(CONFIG))
        t1 = time.perf_counter()
        build_report(res, out)
        t2 = time.perf_counter()
        print(
            f"10 assets × {len(res.returns)} days: analysis {t1 - t0:.1f}s, workbook "
            f"{t2 - t1:.1f}s, total {t2 - t0:.1f}s"
        )
        default = build_report(
            run_analysis(load_config(ROOT / "templates" / "report_default.toml")),
            folder / "default.xlsx",
        )
        if soffice_path() is None:
            print("LibreOffice not installed: verification and cached values not timed")
            return
        verify_and_cache(out, "10-asset report")
        verify_and_cache(default, "default report")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
