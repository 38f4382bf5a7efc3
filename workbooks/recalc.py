"""Recalculate a workbook in headless LibreOffice and read the values back.

LibreOffice keeps stale cached values by default (Formula/Load/OOXMLRecalcMode = 1); a throwaway
profile sets it to 0 (always recalculate on load). Used by the tests and the report checks.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable
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


def soffice_path() -> str | None:
    """The LibreOffice executable on PATH, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def recalculate(path: str | Path, timeout: float = 300) -> Path:
    """Return the path of a LibreOffice-recalculated copy of `path` (in a temp folder)."""
    exe = soffice_path()
    if exe is None:
        raise FileNotFoundError("LibreOffice (soffice) is not installed")
    work = Path(tempfile.mkdtemp(prefix="recalc-"))
    profile = work / "profile" / "user"
    profile.mkdir(parents=True)
    (profile / "registrymodifications.xcu").write_text(_PROFILE)
    out = work / "out"
    subprocess.run(
        [
            exe,
            f"-env:UserInstallation=file://{work / 'profile'}",
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=timeout,
    )
    result = out / Path(path).name
    if not result.exists():
        raise RuntimeError(f"LibreOffice produced no output for {path}")
    return result


def read_values(path: str | Path, sheets: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """{sheet: {"A1": value}} for every non-empty cell of `sheets` (default: all), each sheet
    read once, read-only: the others are never parsed."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    out: dict[str, dict[str, Any]] = {}
    for ws in wb.worksheets if sheets is None else [wb[s] for s in sheets]:
        cells: dict[str, Any] = {}
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None and hasattr(c, "coordinate"):
                    cells[c.coordinate] = c.value
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
