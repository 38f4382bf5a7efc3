"""Import time of the entry points, each in a fresh interpreter (median of 7 runs).

    .venv/bin/python benchmarks/bench_imports.py [--source DIR ...]

`--source` points at other checkouts of this repository (e.g. a `git worktree` of an older
commit) to compare in one run, on the same interpreter and site-packages. Bytecode is compiled
first (PYTHONDONTWRITEBYTECODE is set on some machines; without .pyc files every process
recompiles what it imports). Also lists which heavy libraries each import loads.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY_POINTS = (
    "engine.config",
    "engine.pipeline",
    "workbooks.report",
    "workbooks.cli",
    "xlfuncs",
    "xlfuncs, workbooks.report, engine.pipeline",
)
HEAVY = ("sklearn", "statsmodels", "hmmlearn", "scipy.stats", "xlwings")
PROBE = (
    "import sys, time, json; t = time.perf_counter(); import {m}; "
    "print(json.dumps([time.perf_counter() - t, [h for h in {heavy!r} if h in sys.modules]]))"
)


def measure(module: str, source: Path, runs: int = 7) -> tuple[float, list[str]]:
    env = {**os.environ, "PYTHONPATH": str(source), "OMP_NUM_THREADS": "1"}
    times, loaded = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(m=module, heavy=HEAVY)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=source,
        ).stdout
        seconds, loaded = json.loads(out)
        times.append(seconds)
    return statistics.median(times), loaded


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", action="append", type=Path, default=[])
    args = ap.parse_args()
    sources = [ROOT, *args.source]
    site = Path(sysconfig.get_paths()["purelib"])
    for d in [site, *(s / p for s in sources for p in ("engine", "xlfuncs", "workbooks"))]:
        compileall.compile_dir(d, quiet=2, workers=2)
    print(f"{'import':45s} " + " ".join(f"{s.name[:18]:>18s}" for s in sources) + "  heavy loaded")
    for m in ENTRY_POINTS:
        cells, loaded = [], []
        for s in sources:
            t, heavy = measure(m, s)
            cells.append(f"{t:17.2f}s")
            loaded = loaded or heavy if s == ROOT else loaded
        print(f"{m:45s} " + " ".join(cells) + f"  {', '.join(loaded) or '-'}")


if __name__ == "__main__":
    main()
