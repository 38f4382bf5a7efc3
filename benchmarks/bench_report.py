"""Benchmark: report generation for 10 assets × 20 years of daily data, and its LibreOffice
recalculation. Run: .venv/bin/python benchmarks/bench_report.py"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from engine.config import parse_config
from engine.pipeline import run_analysis
from workbooks.recalc import read_formulas, read_values, recalculate, soffice_path
from workbooks.report import MASTER_CHECK_CELL, build_report

CONFIG = """
[data]
columns = ["SP500", "AAPL", "BAC", "CVX", "HD", "JNJ", "KO", "MSFT", "PG", "XOM"]
start = "2003-01-01"
end = "2022-12-31"
[portfolio]
weights = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
"""


def main() -> None:
    """Time the analysis, the workbook and (with LibreOffice) its recalculation; print them."""
    out = Path(tempfile.mkdtemp()) / "report.xlsx"
    t0 = time.perf_counter()
    res = run_analysis(parse_config(CONFIG))
    t1 = time.perf_counter()
    build_report(res, out)
    t2 = time.perf_counter()
    n = sum(len(v) for v in read_formulas(out).values())
    print(
        f"10 assets × {len(res.returns)} days: analysis {t1 - t0:.1f}s, workbook {t2 - t1:.1f}s, "
        f"total {t2 - t0:.1f}s, {n} formulas, {out.stat().st_size / 1e6:.1f} MB"
    )
    if soffice_path():
        t3 = time.perf_counter()
        values = read_values(recalculate(out))
        t4 = time.perf_counter()
        sheet, cell = MASTER_CHECK_CELL.split("!")
        print(f"LibreOffice recalculation {t4 - t3:.1f}s; master check {values[sheet][cell]}")


if __name__ == "__main__":
    main()
