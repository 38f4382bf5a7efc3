"""`regime-risk` command line: `regime-risk report --config CONFIG.toml --out REPORT.xlsx`."""

from __future__ import annotations

import argparse
import sys
import time

from engine.config import load_config
from engine.errors import InputError


def _report(args: argparse.Namespace) -> int:
    from engine.pipeline import run_analysis
    from workbooks.report import build_report

    t0 = time.perf_counter()
    cfg = load_config(args.config)
    print(f"[1/2] analysis: {cfg.data.source} data, {', '.join(cfg.data.columns)}", flush=True)
    res = run_analysis(cfg)
    print(f"      {res.alignment.summary()}", flush=True)
    t1 = time.perf_counter()
    print(f"[2/2] writing workbook ({t1 - t0:.1f}s so far)", flush=True)
    path = build_report(res, args.out)
    print(f"report written: {path} ({time.perf_counter() - t0:.1f}s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="regime-risk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="build the report workbook from a configuration file")
    rep.add_argument("--config", required=True, help="TOML configuration (see templates/)")
    rep.add_argument("--out", required=True, help="output .xlsx path")
    args = parser.parse_args(argv)
    try:
        return _report(args)
    except InputError as exc:
        print(f"regime-risk: configuration or input error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
