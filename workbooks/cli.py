"""`regime-risk` command line: `report --config CONFIG.toml --out REPORT.xlsx`, and `serve`."""

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
    srv = sub.add_parser("serve", help="serve the Excel functions to Excel via xlwings Server")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    srv.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if args.command == "serve":
        import os

        if not os.environ.get("XLWINGS_LICENSE_KEY"):  # xlwings refuses at import without one
            print(
                "regime-risk serve: xlwings Server needs a licence key in XLWINGS_LICENSE_KEY.\n"
                "  Non-commercial use: XLWINGS_LICENSE_KEY=noncommercial. Commercial use needs a\n"
                "  paid xlwings PRO licence. Windows desktop Excel can use the classic UDFs (BSD).",
                file=sys.stderr,
            )
            return 2
        # xlwings picks its Office.js decorators at import time: say so before xlfuncs loads
        os.environ["XLWINGS_ON_SERVER"] = "true"
        from xlfuncs.serve import serve

        return serve(args.host, args.port)
    try:
        return _report(args)
    except InputError as exc:
        print(f"regime-risk: configuration or input error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
