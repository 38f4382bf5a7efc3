"""Figures of docs/excel.md "Speed on recalculation" not measured by benchmarks/bench_server.py.

    .venv/bin/python scripts/doc_excel_speed.py   (about 7 s on 2 cores)

In one process with XLWINGS_ON_SERVER=true, the `noncommercial` key and the pyodide stub (as the
server runs): xlwings' default per-cell conversion of an 8,000 × 11 range (Office.js engine)
against the `raw` conversion the catalogue uses; then cached STATE_CVAR and REGIME_PROB called
through `xlwings.server.custom_functions_call` (no HTTP) on the range of bench_server.py, and the
same functions called directly (parse, cached fit, table; without xlwings' argument and result
conversion).
Medians of 11 runs after a warm-up.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

from xlfuncs.serve import install_pyodide_stub

install_pyodide_stub()

import xlwings as xw  # noqa: E402
import xlwings.server  # noqa: E402
from xlwings import conversion  # noqa: E402

import xlfuncs  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_risk import median_ms as _median_ms  # noqa: E402
from bench_server import BASE, table  # noqa: E402

median_ms = functools.partial(_median_ms, repeat=11)  # median of 11 runs, first run discarded


def main() -> None:
    rng = table()  # 8,000 rows × (date + 10 assets), serial dates, as bench_server.py
    cells = (len(rng) - 1) * len(rng[0])
    default = median_ms(lambda: conversion.read(None, rng, {"ndim": 2}, engine_name="officejs"))
    raw = median_ms(
        lambda: conversion.read(None, rng, {"ndim": 2, "convert": "raw"}, engine_name="officejs")
    )
    print(f"range {len(rng) - 1} × {len(rng[0])} ({cells:,} cells), xlwings {xw.__version__}")
    print(f"xlwings default conversion (per-cell cleaning): {default:.0f} ms; raw: {raw:.1f} ms")

    def call(func: str) -> object:
        body = {**BASE, "func_name": func, "args": [rng]}
        return asyncio.run(xlwings.server.custom_functions_call(body, xlfuncs))

    for func in ("state_cvar", "regime_prob"):
        direct = median_ms(lambda f=func: getattr(xlfuncs, f)(rng))
        through = median_ms(lambda f=func: call(f))
        print(
            f"cached {func.upper()}: {through:.0f} ms through custom_functions_call "
            f"(the function alone, no xlwings conversion: {direct:.0f} ms)"
        )


if __name__ == "__main__":
    main()
