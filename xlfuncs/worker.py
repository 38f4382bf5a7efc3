"""A compute process of `regime-risk serve`: one function call at a time, off the event loop.

The HTTP front (`xlfuncs.server`) hands each call's raw request body to an idle worker over a
pipe and waits for `Reply`; a worker that exceeds the time budget is killed and replaced, so a
runaway call costs one process, never the server. Everything about the request's *content* is
decided here: the envelope (func_name, args), the size limit, then xlwings Server's own call
path (argument conversion, the function inside its error guard, result conversion).

Status codes (the Excel client retries 500/502/503/504 and shows the text of anything else):
200 a result; 400 bad input or a malformed envelope; 404 an unknown function; 413 a range over
the size limit. Never 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger("xlfuncs.worker")

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class CallLimits:
    """Per-call limits of the server (`serve --max-rows/--max-cells/--time-limit`)."""

    max_rows: int = 50_000  # about 200 years of daily data in one range
    max_cells: int = 2_000_000
    time_limit: float = 120.0  # seconds of computation; the Excel client gives up at 300


@dataclass(frozen=True)
class Reply:
    """What a worker answers: HTTP status, whether the answer may be cached (deterministic:
    a result or a bad-input message), content type and body."""

    status: int
    cacheable: bool
    content_type: str
    body: bytes

    @classmethod
    def text(cls, status: int, message: str, cacheable: bool = False) -> Reply:
        line = " ".join(message.split())
        return cls(status, cacheable, TEXT, line.encode())


class Rejected(Exception):
    """A request this server will not run; carries the reply."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.reply = Reply.text(status, message)


def _functions() -> dict[str, Any]:
    """The functions Excel may call, by their lower-case Python name (the client sends
    xlwings' `name`, e.g. "regime_prob")."""
    from xlfuncs.functions import CATALOGUE

    return {entry.python_name.lower(): entry for entry in CATALOGUE.values()}


def check_envelope(body: bytes, functions: dict[str, Any], limits: CallLimits) -> dict[str, Any]:
    """Parse and check the client's JSON envelope; raise `Rejected` with a one-line reason."""
    if not body.strip():
        raise Rejected(
            400,
            'empty request body: send the xlwings client\'s JSON ({"func_name": ..., '
            '"args": [...]})',
        )
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Rejected(400, f"request body is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise Rejected(400, "request body must be a JSON object with func_name and args")
    name = data.get("func_name")
    if not isinstance(name, str) or not name:
        raise Rejected(400, "func_name: missing (the name of the function to call)")
    entry = functions.get(name.lower())
    if entry is None:
        shown = name if len(name) <= 40 else name[:39] + "…"
        raise Rejected(
            404,
            f"unknown function {shown!r}; this server offers "
            f"{', '.join(sorted(e.name for e in functions.values()))}",
        )
    args = data.get("args")
    if not isinstance(args, list):
        raise Rejected(400, f"{entry.name}: args: missing (a list with one entry per argument)")
    version = data.setdefault("version", "")
    if not isinstance(version, str):
        raise Rejected(400, f"{entry.name}: version: must be text")
    data.setdefault("client", "Office.js")
    # what the client adds about itself: absent is the oldest runtime, wrong is a 400
    runtime = data.setdefault("runtime", "1.1")
    try:
        float(runtime)
    except (TypeError, ValueError):
        raise Rejected(400, f"{entry.name}: runtime: must be a version like 1.4") from None
    for key in ("culture_info_name", "date_format", "caller_address"):
        if not isinstance(data.get(key), str | None):
            raise Rejected(400, f"{entry.name}: {key}: must be text")
    for i, arg in enumerate(args, start=1):
        if not isinstance(arg, list):
            continue
        rows = len(arg)
        cells = sum(len(r) if isinstance(r, list) else 1 for r in arg)
        if rows > limits.max_rows or cells > limits.max_cells:
            raise Rejected(
                413,
                f"{entry.name}: argument {i} has {rows:,} rows and {cells:,} cells; this server "
                f"takes at most {limits.max_rows:,} rows and {limits.max_cells:,} cells per "
                "range (serve --max-rows/--max-cells). Use a shorter range.",
            )
    data["func_name"] = entry.python_name
    return data


def _json_body(result: Any) -> bytes:
    try:
        return json.dumps({"result": result}, allow_nan=False, default=str).encode()
    except ValueError:  # a NaN the guard did not see: Excel gets a blank, not invalid JSON
        from xlfuncs.guard import clean_output

        rows = clean_output(result) if isinstance(result, list) else [[result]]
        return json.dumps({"result": rows}, allow_nan=False, default=str).encode()


def run_call(body: bytes, module: Any, functions: dict[str, Any], limits: CallLimits) -> Reply:
    """Run one call end to end; every outcome is a `Reply` (never an exception)."""
    import xlwings as xw
    from xlwings.server import custom_functions_call

    try:
        data = check_envelope(body, functions, limits)
    except Rejected as exc:
        return exc.reply
    name = functions[data["func_name"].lower()].name
    try:
        result = asyncio.run(custom_functions_call(data, module))
    except xw.XlwingsError as exc:  # the guard's one-line message: bad input
        return Reply.text(400, str(exc), cacheable=True)
    except Exception as exc:  # reading the arguments failed before the function ran
        log.exception("%s: call failed", name)
        return Reply.text(
            400, f"{name}: could not read the arguments ({type(exc).__name__}: {exc})"
        )
    return Reply(200, True, JSON, _json_body(result))


def worker_main(conn: Connection, limits: CallLimits) -> None:
    """Process entry point: import once, say ready, then answer calls until the pipe closes."""
    from xlfuncs.serve import install_pyodide_stub, server_environment

    server_environment()
    install_pyodide_stub()
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(os.environ.get("REGIME_RISK_WORKER_THREADS", "1")))
    import xlfuncs
    from engine.regimes import FIT_CACHE

    cache_url = os.environ.get("REGIME_RISK_CACHE_URL")
    if cache_url:
        from engine.cache import RedisStore

        FIT_CACHE.shared = RedisStore(cache_url, namespace="fit")
    functions = _functions()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            body = conn.recv_bytes()
        except (EOFError, OSError):
            return
        conn.send(run_call(body, xlfuncs, functions, limits))
