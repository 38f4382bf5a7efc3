"""Reproduce Shu, Yu, Mulvey (2024) on the bundled S&P 500 (not run in CI: about 1 min on 2 cores).

.venv/bin/python scripts/reproduce_shu_yu_mulvey.py [--penalty 50]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from engine.validation.shu_yu_mulvey import Setup, run

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--penalty", type=float, default=50.0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    table = run(Setup(jump_penalty=args.penalty))
    pd.set_option("display.width", 160)
    print(table.round(3).to_string())
    print(
        f"({time.perf_counter() - t0:.0f}s; price index without dividends; "
        f"lambda fixed at {args.penalty:g})"
    )
