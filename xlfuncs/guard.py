"""Every Excel function runs inside this guard: bad input becomes a one-line message.

Classic (COM) UDFs show a returned string in the cell. Office.js custom functions raise
`xlwings.XlwingsError`, which xlwings Server answers with HTTP 400 (Excel shows #VALUE! with
the message on hover and does not retry, unlike a 500).
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import os
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from engine.errors import InputError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("xlfuncs")
MAX_MESSAGE = 255  # classic UDFs show #VALUE! for longer strings (xlwings#456)


def on_server() -> bool:
    return os.environ.get("XLWINGS_ON_SERVER") == "true"


def error_message(name: str, exc: BaseException) -> str:
    """`NAME: argument: what is wrong. How to fix.` on one line, at most 255 characters."""
    if isinstance(exc, InputError):
        text = f"{name}: {exc}"
    else:
        text = f"{name}: internal error ({type(exc).__name__}: {exc}); please report it"
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def clean_output(rows: list[list[Any]]) -> list[list[Any]]:
    """NaN/inf become blank cells; numpy scalars become Python numbers."""
    out = []
    for row in rows:
        clean = []
        for v in row:
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            clean.append(v)
        out.append(clean)
    return out


class Spill(list[list[Any]]):
    """Rows already in Excel-ready form (built by `spill`); the guard does not re-scan them."""


def spill(header: list[Any], first_col: list[Any], values: Any) -> Spill:
    """Header row, then one row per `first_col` entry followed by `values` (NaN/inf -> blank)."""
    vals = np.asarray(values, dtype=float)
    cells = vals.astype(object)
    cells[~np.isfinite(vals)] = None
    out = Spill([header])
    out.extend([c, *row] for c, row in zip(first_col, cells.tolist(), strict=True))
    return out


def excel_function(name: str) -> Callable[[F], F]:
    """Wrap a UDF so that no exception reaches Excel as a bare error."""

    def decorate(f: F) -> F:
        signature = inspect.signature(f)
        names = list(signature.parameters)

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                try:  # a wrong argument count is the caller's to fix, not an internal error
                    signature.bind(*args, **kwargs)
                except TypeError:
                    raise InputError(
                        "arguments",
                        f"takes at most {len(names)} ({', '.join(names) or 'none'}); got "
                        f"{len(args) + len(kwargs)}",
                    ) from None
                result = f(*args, **kwargs)
                if isinstance(result, Spill):
                    return result
                return clean_output(result) if isinstance(result, list) else result
            except Exception as exc:
                if not isinstance(exc, InputError):
                    log.exception("%s failed", name)
                message = error_message(name, exc)
            if on_server():
                import xlwings as xw

                raise xw.XlwingsError(message)
            return [[message]]

        # Excel shows the docstring as the function's description: one clean line
        wrapper.__doc__ = " ".join((f.__doc__ or "").split())
        return wrapper  # type: ignore[return-value]

    return decorate
