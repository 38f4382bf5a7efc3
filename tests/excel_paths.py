"""Call the Excel functions the way Excel does, through xlwings' own code paths.

classic_module(): the catalogue's UDFs decorated by xlwings' classic (Windows COM, BSD)
decorators, with pywin32 stubbed; `call_classic` then runs the value path of
xlwings.udfs.call_udf: conversion.read of each argument, the function, conversion.write.

OfficeJS: a subprocess with XLWINGS_ON_SERVER=true and the `noncommercial` key (tests only)
that runs xlwings.server.custom_functions_call on the JSON payload Excel's add-in posts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class _StubExcelEngine:
    """Stands in for pywin32's value marshalling: datetimes pass through, blanks are None."""

    name, type = "excel", "desktop"

    @staticmethod
    def clean_value_data(data, datetime_builder, empty_as, number_builder, err_to_str):  # type: ignore[no-untyped-def]
        """As xlwings._xlwindows: blanks -> empty_as, COM error ints -> "#N/A" or None."""

        def clean(v: Any) -> Any:
            if v in ("", None):
                return empty_as
            if isinstance(v, int) and v in COM_ERRORS:
                return COM_ERRORS[v] if err_to_str else None
            if number_builder is not None and isinstance(v, float):
                return number_builder(v)
            return v

        return [[clean(v) for v in row] for row in data]

    @staticmethod
    def prepare_xl_data_element(x: Any, options: Any) -> Any:
        import numpy as np
        import pandas as pd

        if x is None:
            return ""
        if isinstance(x, float | np.floating) and np.isnan(x):
            return ""
        if isinstance(x, np.number):
            return float(x)
        if isinstance(x, pd.Timestamp):
            return x.to_pydatetime()
        return x


from xlfuncs.convert import COM_ERRORS  # noqa: E402  (pywin32's error integers)

NA = -2146826246


def classic_module() -> types.ModuleType:
    for name in ("pythoncom", "pywintypes", "win32com", "win32com.client", "win32api"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["pythoncom"].CoInitialize = lambda: None  # type: ignore[attr-defined]
    sys.modules["win32com.client"].Dispatch = None  # type: ignore[attr-defined]
    import xlwings as xw
    from xlwings import udfs

    if "excel" not in [e.name for e in xw.engines]:
        xw.engines.add(xw.main.Engine(impl=_StubExcelEngine()))
    from xlfuncs.functions import CATALOGUE

    saved = (xw.func, xw.arg, xw.ret)
    xw.func, xw.arg, xw.ret = udfs.xlfunc, udfs.xlarg, udfs.xlret
    try:  # the same catalogue entries, decorated by the classic (COM) decorators
        return types.SimpleNamespace(**{e.python_name: e.make_udf() for e in CATALOGUE.values()})
    finally:
        xw.func, xw.arg, xw.ret = saved


def call_classic(func: Any, *args: Any) -> Any:
    """The value path of xlwings.udfs.call_udf (no Range arguments, no caller, no async)."""
    from xlwings import conversion

    info = func.__xlfunc__
    converted = []
    for i, a in enumerate(args):
        ai = info["args"][min(i, len(info["args"]) - 1)]
        converted.append(
            ai.get("optional") if a is None else conversion.read(None, a, ai["options"])
        )
    return conversion.write(func(*converted), None, info["ret"]["options"])


_HARNESS = r"""
import asyncio, json, os, sys
os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
import xlwings as xw, xlwings.server
import xlfuncs
for line in sys.stdin:
    req = json.loads(line)
    if req.get("meta"):
        print(json.dumps({"meta": xlwings.server.custom_functions_meta(xlfuncs)}), flush=True)
        continue
    payload = {"client": "Office.js", "func_name": req["func"], "args": req["args"],
               "caller_address": "[Book1.xlsx]Sheet1!E2", "session_id": "test",
               "culture_info_name": "en-US", "date_format": "m/d/yyyy", "version": xw.__version__,
               "runtime": "1.4"}
    try:
        out = asyncio.run(xlwings.server.custom_functions_call(payload, xlfuncs))
        print(json.dumps({"result": out}, default=str), flush=True)
    except Exception as e:
        print(json.dumps({"error": str(e), "type": type(e).__name__}), flush=True)
"""


class OfficeJS:
    """A long-lived subprocess answering custom-function calls over stdin/stdout JSON lines."""

    def __init__(self) -> None:
        env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial", "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HARNESS],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )

    def _ask(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(req, default=_json_default) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("Office.js harness exited")
        return dict(json.loads(line))

    def call(self, func: str, *args: Any) -> dict[str, Any]:
        """Every argument as Excel's add-in sends it: a 2-D list (matrix dimensionality)."""
        return self._ask({"func": func, "args": [a if _is_matrix(a) else [[a]] for a in args]})

    def meta(self) -> dict[str, Any]:
        return dict(self._ask({"meta": True})["meta"])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _is_matrix(a: Any) -> bool:
    return isinstance(a, list) and bool(a) and isinstance(a[0], list)


def _json_default(o: Any) -> Any:
    if isinstance(o, dt.datetime | dt.date):
        return o.isoformat()
    raise TypeError(type(o))
