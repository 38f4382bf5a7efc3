"""Recalculate a workbook in headless LibreOffice, export it to PDF, and read values back.

LibreOffice keeps stale cached values by default (Formula/Load/OOXMLRecalcMode = 1); a throwaway
profile sets it to 0 (always recalculate on load). Every conversion runs in its own temporary
folder (profile and output), removed when the conversion's result has been used or copied out.

    python -m workbooks.recalc IN.xlsx [--out OUT.xlsx]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

_PROFILE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
    'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    '<item oor:path="/org.openoffice.Office.Calc/Formula/Load">'
    '<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>\n'
    "</oor:items>\n"
)
NOT_INSTALLED = "LibreOffice (soffice) is not installed"


class RecalcError(RuntimeError):
    """LibreOffice ran but produced no result (crash, timeout, unreadable input)."""


def soffice_path() -> str | None:
    """The LibreOffice executable on PATH, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


@contextlib.contextmanager
def _converted(path: str | Path, fmt: str, timeout: float) -> Iterator[Path]:
    """LibreOffice's conversion of `path` to `fmt` ("xlsx", "pdf"), recalculated on load, in a
    temporary folder that is removed (profile and output) when the block exits."""
    exe = soffice_path()
    if exe is None:
        raise FileNotFoundError(NOT_INSTALLED)
    src = Path(path).resolve()
    if not src.is_file():
        raise FileNotFoundError(f"no such workbook: {src}")
    with tempfile.TemporaryDirectory(prefix="recalc-") as tmp:
        work = Path(tmp)
        profile = work / "profile" / "user"
        profile.mkdir(parents=True)
        (profile / "registrymodifications.xcu").write_text(_PROFILE)
        out = work / "out"
        cmd = [
            exe,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            fmt,
            "--outdir",
            str(out),
            str(src),
        ]
        # soffice forks soffice.bin: its own session lets a timeout stop both, not just the
        # launcher (an orphaned soffice.bin would keep the folder busy).
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise RecalcError(f"LibreOffice did not finish within {timeout:g}s on {src}") from None
        result = out / f"{src.stem}.{fmt}"
        if proc.returncode != 0 or not result.exists():
            detail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise RecalcError(f"LibreOffice produced no {fmt} for {src}: {detail[0]}")
        yield result


@contextlib.contextmanager
def recalculated(path: str | Path, timeout: float = 300) -> Iterator[Path]:
    """A LibreOffice-recalculated copy of `path`, valid inside the block, removed after it.

    with recalculated("report.xlsx") as copy:
        values = read_values(copy)
    """
    with _converted(path, "xlsx", timeout) as result:
        yield result


_kept: tempfile.TemporaryDirectory[str] | None = None


def recalculate(path: str | Path, out: str | Path | None = None, timeout: float = 300) -> Path:
    """Write a LibreOffice-recalculated copy of `path` to `out` and return its path.

    Without `out` the copy goes to one folder per process, removed when the interpreter exits
    (for quick calls such as `read_values(recalculate(p))`); prefer `recalculated()` or `out`.
    """
    global _kept
    if out is None:
        if _kept is None:
            _kept = tempfile.TemporaryDirectory(prefix="recalculated-")  # removed at exit
        target = Path(tempfile.mkdtemp(dir=_kept.name)) / Path(path).name
    else:
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
    with recalculated(path, timeout) as result:
        shutil.copyfile(result, target)
    return target


def export_pdf(path: str | Path, out_pdf: str | Path, timeout: float = 600) -> Path:
    """Export every sheet of `path` to `out_pdf` through LibreOffice (recalculated on load, so
    the PDF shows computed values even where the file has no cached ones); returns the path."""
    target = Path(out_pdf)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _converted(path, "pdf", timeout) as result:
        shutil.copyfile(result, target)
    return target


def read_values(path: str | Path, sheets: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """{sheet: {"A1": value}} for every non-empty cell of `sheets` (default: all), each sheet
    read once, read-only: the others are never parsed. A 0/1 in a cell formatted as TRUE/FALSE
    (LibreOffice stores the checks' booleans so) reads as a boolean."""
    from openpyxl import load_workbook

    from workbooks.cached import BOOLEAN_FORMAT

    wb = load_workbook(path, read_only=True, data_only=True)
    out: dict[str, dict[str, Any]] = {}
    for ws in wb.worksheets if sheets is None else [wb[s] for s in sheets]:
        cells: dict[str, Any] = {}
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None and hasattr(c, "coordinate"):
                    v = c.value
                    if (
                        type(v) in (int, float)
                        and v in (0, 1)
                        and c.number_format == BOOLEAN_FORMAT
                    ):
                        v = bool(v)
                    cells[c.coordinate] = v
        out[ws.title] = cells
    wb.close()
    return out


def read_formulas(path: str | Path) -> dict[str, dict[str, str]]:
    """{sheet: {"A1": "=..."}} for every formula cell of the original workbook."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    out: dict[str, dict[str, str]] = {}
    for ws in wb.worksheets:
        out[ws.title] = {
            c.coordinate: c.value
            for row in ws.iter_rows()
            for c in row
            if isinstance(c.value, str) and c.value.startswith("=") and c.data_type == "f"
        }
    wb.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m workbooks.recalc IN.xlsx [--out OUT.xlsx]`: 0 written, 2 bad input,
    3 LibreOffice not installed, 4 LibreOffice failed."""
    parser = argparse.ArgumentParser(
        prog="python -m workbooks.recalc",
        description="Write a copy of a workbook recalculated by headless LibreOffice.",
    )
    parser.add_argument("workbook", type=Path)
    parser.add_argument("--out", type=Path, help="default: IN.recalculated.xlsx beside IN")
    parser.add_argument("--timeout", type=float, default=300, help="seconds (default 300)")
    args = parser.parse_args(argv)
    src: Path = args.workbook
    out = args.out or src.with_name(f"{src.stem}.recalculated.xlsx")
    if soffice_path() is None:
        print(f"{NOT_INSTALLED}: nothing recalculated", file=sys.stderr)
        return 3
    if not src.is_file():
        print(f"no such workbook: {src}", file=sys.stderr)
        return 2
    try:
        print(recalculate(src, out, args.timeout))
    except RecalcError as exc:
        print(exc, file=sys.stderr)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
