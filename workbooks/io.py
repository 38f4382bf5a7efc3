"""Atomic workbook writes and safe text cells."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet


def write_atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it to `path`: never a
    half-written file, and the previous file stays in place if `write` fails."""
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".xlsx.tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a report gets normal permissions
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return target


def save_atomic(wb: Workbook, path: str | Path) -> Path:
    """Save to a temporary file beside `path`, then rename: never a half-written workbook."""
    return write_atomic(path, wb.save)


def put_text(ws: Worksheet, row: int, col: int, value: Any) -> Cell:
    """Write data-derived text that must stay text: a name like '=1+1' never becomes a formula."""
    cell = ws.cell(row=row, column=col)
    cell.value = str(value)
    cell.data_type = "s"
    return cell
