"""`regime-risk` command line: `report`, `verify`, `serve`, `token` and `batch`.

Exit codes of `report` and `verify`:
  0  written / verified (or LibreOffice not installed, for `report` without --pdf)
  1  verification failed: a check or the master check is not TRUE, or a cell holds an error
  2  configuration or input error (the key or the file is named; nothing written)
  3  LibreOffice not installed (`verify`, or `report --pdf`)
  4  LibreOffice failed (crash or timeout): the report is written but not verified
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

# Only light modules at import: a configuration error must come back in well under a second,
# before numpy, pandas, scikit-learn or openpyxl load.
from engine.config import load_config
from engine.errors import InputError

if TYPE_CHECKING:
    from workbooks.verify import Verification

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_NO_LIBREOFFICE, EXIT_LIBREOFFICE_FAILED = 0, 1, 2, 3, 4
NO_LIBREOFFICE = "LibreOffice not found: the report was not independently recalculated"


class Progress:
    """Step lines with the time since the command started: `[  12.3s] fit regimes ...`."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since the command started."""
        return time.perf_counter() - self.t0

    def step(self, what: str) -> None:
        """Print one progress line, flushed (a scheduler's log shows it at once)."""
        print(f"[{self.elapsed():6.1f}s] {what}", flush=True)


def _verify_and_cache(path: Path, progress: Progress) -> int:
    """Recalculate the written report, write the recalculated values as cached values and
    the verdict on About; returns the exit code."""
    from workbooks.cached import write_cached_values
    from workbooks.recalc import RecalcError
    from workbooks.report.about import VERIFICATION_CELL
    from workbooks.verify import verify_workbook

    progress.step("verification: recalculating in LibreOffice")
    try:
        v = verify_workbook(path)
    except RecalcError as exc:
        print(f"regime-risk: {exc}; the report was not independently recalculated", file=sys.stderr)
        return EXIT_LIBREOFFICE_FAILED
    progress.step(f"cached values: writing {v.engine}'s results into the formula cells")
    sheet, cell = VERIFICATION_CELL.split("!")
    rep = write_cached_values(path, v.values, text={sheet: {cell: v.about_text()}})
    if rep.missing:  # LibreOffice writes a result for every formula: this is a surprise
        print(f"  no recalculated value for {len(rep.missing)} formula cells: {rep.missing[0]}, …")
    _print_verdict(v)
    return EXIT_OK if v.ok else EXIT_FAILED


def _print_verdict(v: Verification) -> None:
    print(v.verdict(), flush=True)
    for line in v.details():
        print(line, flush=True)


def _report(args: argparse.Namespace, progress: Progress) -> int:
    cfg = load_config(args.config)  # first: a typo costs no import
    import engine.pipeline as pipeline  # the heavy imports (numpy, pandas, scipy, ...)
    from workbooks.recalc import soffice_path
    from workbooks.report import build_report

    res = pipeline.run_analysis(cfg, progress.step)
    print(f"          {res.alignment.summary()}", flush=True)
    progress.step(f"workbook: writing {args.out}")
    path = build_report(res, args.out)
    code = EXIT_OK
    have_lo = soffice_path() is not None
    if args.no_verify:
        print("verification skipped (--no-verify): the report was not independently recalculated")
    elif not have_lo:
        print(NO_LIBREOFFICE)
    else:
        code = _verify_and_cache(path, progress)
    if args.pdf:  # also when verification failed: the PDF is for inspecting the report
        pdf_code = _pdf(path, progress) if have_lo else _no_pdf()
        code = code or pdf_code  # the verification's verdict comes first
    progress.step(f"report written: {path}")
    return code


def _no_pdf() -> int:
    print("LibreOffice not found: no PDF written", file=sys.stderr)
    return EXIT_NO_LIBREOFFICE


def _pdf(path: Path, progress: Progress) -> int:
    from workbooks.recalc import RecalcError, export_pdf

    out = path.with_suffix(".pdf")
    progress.step(f"pdf: exporting {out.name} through LibreOffice")
    try:
        export_pdf(path, out)
    except RecalcError as exc:
        print(f"regime-risk: {exc}", file=sys.stderr)
        return EXIT_LIBREOFFICE_FAILED
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from workbooks.recalc import RecalcError, soffice_path

    path = Path(args.report)
    if soffice_path() is None:
        print("LibreOffice not found: cannot recalculate, nothing verified", file=sys.stderr)
        return EXIT_NO_LIBREOFFICE
    if not path.is_file():
        raise InputError("REPORT", f"file not found: {path}")
    from workbooks.verify import verify_workbook

    try:
        v = verify_workbook(path)
    except RecalcError as exc:
        print(f"regime-risk: {exc}", file=sys.stderr)
        return EXIT_LIBREOFFICE_FAILED
    _print_verdict(v)
    return EXIT_OK if v.ok else EXIT_FAILED


def _serve(args: argparse.Namespace) -> int:
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
    from xlfuncs.serve import ServeArgs, serve

    return serve(
        ServeArgs(
            host=args.host,
            port=args.port,
            workers=args.workers,
            tokens=args.tokens,
            certfile=args.certfile,
            keyfile=args.keyfile,
            insecure=args.insecure,
            time_limit=args.time_limit,
            max_rows=args.max_rows,
            max_cells=args.max_cells,
        )
    )


def _token(args: argparse.Namespace) -> int:
    """Print a new access token; add its SHA-256 digest to the tokens file if one is named."""
    import hashlib
    import secrets

    token = secrets.token_urlsafe(32)
    digest = hashlib.sha256(token.encode()).hexdigest()
    if args.tokens:
        with open(args.tokens, "a", encoding="utf-8") as f:
            f.write(f"{digest}  # {args.label or 'added ' + time.strftime('%Y-%m-%d')}\n")
    print(f"token:  {token}\ndigest: {digest}")
    if args.tokens:
        print(f"the digest was added to {args.tokens}; give the token to its user only")
    return EXIT_OK


def _batch(args: argparse.Namespace) -> int:
    """`regime-risk batch`: exit 0 when every task ran, 1 when any failed (summary on stderr),
    2 for a configuration or input error (nothing ran)."""
    from workbooks.batch import load_batch  # light: validates every task's configuration

    spec = load_batch(args.config)  # first: a typo costs no import
    if args.workers is not None and args.workers < 1:
        raise InputError("--workers", f"must be 1 or more (got {args.workers})")
    from workbooks.batch.runner import run_batch

    try:
        run = run_batch(spec, args.out, scheduler=args.scheduler, workers=args.workers)
    except KeyboardInterrupt:
        print(
            "regime-risk batch: interrupted; finished tasks are kept: run the same command "
            "again to complete the rest",
            file=sys.stderr,
        )
        return 130
    print(f"results: {run.results}\nnav:     {run.nav}\nsummary: {run.summary}", flush=True)
    if run.failures:
        n = len(run.failures)
        print(f"regime-risk batch: {n} of {run.total} tasks failed:", file=sys.stderr)
        for key, label, error in run.failures[:20]:
            print(f"  {key} {label}: {error}", file=sys.stderr)
        if n > 20:
            print(f"  ... and {n - 20} more (column error of results.parquet)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Entry point of `regime-risk`; returns the exit code (see the module docstring)."""
    progress = Progress()
    parser = argparse.ArgumentParser(
        prog="regime-risk",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="build the report workbook from a configuration file")
    rep.add_argument("--config", required=True, help="TOML configuration (see templates/)")
    rep.add_argument("--out", required=True, help="output .xlsx path")
    rep.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the independent recalculation in LibreOffice (and the cached values)",
    )
    rep.add_argument("--pdf", action="store_true", help="also export REPORT.pdf via LibreOffice")
    ver = sub.add_parser(
        "verify", help="recalculate a (possibly edited) report in LibreOffice and list failures"
    )
    ver.add_argument("report", help="the report workbook (.xlsx)")
    srv = sub.add_parser("serve", help="serve the Excel functions to Excel via xlwings Server")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: cores, at most 4)"
    )
    srv.add_argument(
        "--tokens", help="file of SHA-256 digests of the accepted access tokens (regime-risk token)"
    )
    srv.add_argument("--certfile", help="TLS certificate (PEM): serve HTTPS, as Office.js needs")
    srv.add_argument("--keyfile", help="TLS private key (PEM)")
    srv.add_argument(
        "--insecure",
        action="store_true",
        help="allow listening beyond loopback without authentication",
    )
    srv.add_argument(
        "--time-limit", type=float, default=120.0, help="seconds one call may compute (120)"
    )
    srv.add_argument("--max-rows", type=int, default=50_000, help="rows per range (50,000)")
    srv.add_argument("--max-cells", type=int, default=2_000_000, help="cells per range (2,000,000)")
    tok = sub.add_parser("token", help="make an access token for serve --tokens")
    tok.add_argument("--tokens", help="tokens file to add the new token's digest to")
    tok.add_argument("--label", help="comment stored beside the digest (e.g. the user's name)")
    bat = sub.add_parser(
        "batch",
        help="run many portfolios and parameter sweeps on a Dask cluster (exit 0 all ran, "
        "1 some failed, 2 input error)",
        description="Run every (portfolio, configuration) of a batch file; finished tasks in "
        "--out are skipped. Exit codes: 0 every task ran, 1 some tasks failed (listed on "
        "stderr), 2 configuration or input error (nothing ran), 130 interrupted.",
    )
    bat.add_argument("--config", required=True, help="batch file (templates/batch_example.toml)")
    bat.add_argument(
        "--out", required=True, help="output directory (results.parquet, nav.parquet, …)"
    )
    bat.add_argument(
        "--scheduler",
        help="local (a cluster on this machine, default) | synchronous (in-process, for "
        "debugging) | a scheduler address, e.g. tcp://10.0.0.5:8786",
    )
    bat.add_argument(
        "--workers", type=int, help="worker processes of the local cluster (default: cores)"
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "token":
        return _token(args)
    try:
        if args.command == "batch":
            return _batch(args)
        return _report(args, progress) if args.command == "report" else _verify(args)
    except InputError as exc:
        print(f"regime-risk: configuration or input error: {exc}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
