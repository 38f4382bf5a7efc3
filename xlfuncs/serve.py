"""`regime-risk serve`: the Excel functions as Office.js custom functions via xlwings Server.

Licence: xlwings Server and custom functions are xlwings PRO (PolyForm Noncommercial or a paid
licence); the server refuses to start without XLWINGS_LICENSE_KEY. The classic Windows UDFs need
no key (BSD).
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import types
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent / "server_project"


def install_pyodide_stub() -> None:
    """xlwings 0.37's Office.js reader tries `from pyodide.ffi import JsNull` once per cell; off
    Pyodide every try is a failing import that scans sys.path (about 1.1 s for 2,520 × 11
    cells). A stub module with a JsNull type that nothing is an instance of makes the check
    free and changes no result. Only outside Pyodide."""
    if sys.platform == "emscripten" or "pyodide.ffi" in sys.modules:
        return
    pyodide = types.ModuleType("pyodide")
    ffi = types.ModuleType("pyodide.ffi")
    ffi.JsNull = type("JsNull", (), {})  # type: ignore[attr-defined]
    pyodide.ffi = ffi  # type: ignore[attr-defined]
    sys.modules["pyodide"] = pyodide
    sys.modules["pyodide.ffi"] = ffi


def is_loopback(host: str) -> bool:
    """True only for an address reachable from this machine alone ("" binds every
    interface, so it is not)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_providers(value: str | None) -> list[str]:
    """The authentication providers XLWINGS_AUTH_PROVIDERS names (a JSON list of names; unset
    or '[]': none). Raises ValueError with the fix for a malformed value, and for "custom":
    xlwings Server's placeholder custom provider accepts the public token "test-token"."""
    if not value or not value.strip():
        return []
    try:
        names = json.loads(value)
    except json.JSONDecodeError:
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"XLWINGS_AUTH_PROVIDERS must be a JSON list of provider names, e.g. "
            f"'[\"entraid\"]' (got {value!r})"
        )
    if "custom" in names:
        raise ValueError(
            'XLWINGS_AUTH_PROVIDERS: "custom" is xlwings Server\'s placeholder, which accepts the '
            'public token "test-token"; use "entraid" (Microsoft Entra ID)'
        )
    return names


def serve(host: str = "127.0.0.1", port: int = 8000) -> int:
    """Run xlwings Server with this project's functions until interrupted."""
    try:
        providers = auth_providers(os.environ.get("XLWINGS_AUTH_PROVIDERS"))
    except ValueError as exc:
        print(f"regime-risk serve: {exc}", file=sys.stderr)
        return 2
    if not is_loopback(host) and not providers:
        where = "every interface" if host in ("", "0.0.0.0", "::") else host
        print(
            f"regime-risk serve: WARNING: listening on {where} without authentication "
            "(set XLWINGS_AUTH_PROVIDERS); anyone who can reach this port can call the functions.",
            file=sys.stderr,
        )
    from xlfuncs.functions import CATALOGUE

    if not hasattr(CATALOGUE["REGIME_PROB"].udf, "__xlfunc__"):
        print(
            "regime-risk serve: xlwings was imported before XLWINGS_ON_SERVER=true", file=sys.stderr
        )
        return 2
    os.environ["XLWINGS_PROJECT_DIR"] = str(PROJECT_DIR)
    os.environ.setdefault("XLWINGS_ENVIRONMENT", "prod")
    os.environ["XLWINGS_ON_SERVER"] = "true"
    install_pyodide_stub()
    import uvicorn

    uvicorn.run("xlwings_server.main:main_app", host=host, port=port, log_level="warning")
    return 0
