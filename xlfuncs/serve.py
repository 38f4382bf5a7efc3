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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent / "server_project"

# The add-in's own identity (generated once; xlwings Server's defaults collide with every other
# xlwings Server add-in). One Id per environment, as xlwings Server's manifest expects.
ADDIN_SETTINGS = {
    "XLWINGS_PROJECT_NAME": "Regime Risk",
    "XLWINGS_FUNCTIONS_NAMESPACE": "RISK",
    "XLWINGS_MANIFEST_ID_DEV": "addb60a8-d60d-4546-878a-0865a8dd88df",
    "XLWINGS_MANIFEST_ID_QA": "58350222-51b6-4287-a5b0-c923502d1529",
    "XLWINGS_MANIFEST_ID_UAT": "e6244e70-72a4-4915-a649-5bb7366c6607",
    "XLWINGS_MANIFEST_ID_STAGING": "1b9d2265-7194-4e7b-8050-379b7cbe3f11",
    "XLWINGS_MANIFEST_ID_PROD": "1945cf2a-fe9a-492b-b0f1-ee2c3c566ce7",
}


def server_environment() -> None:
    """Point xlwings Server at this project and give the add-in its own identity (before
    xlwings_server is imported: its settings are read once)."""
    os.environ["XLWINGS_PROJECT_DIR"] = str(PROJECT_DIR)
    os.environ.setdefault("XLWINGS_ENVIRONMENT", "prod")
    os.environ["XLWINGS_ON_SERVER"] = "true"
    for key, value in ADDIN_SETTINGS.items():
        os.environ.setdefault(key, value)


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


@dataclass(frozen=True)
class ServeArgs:
    """`regime-risk serve`'s options (see `workbooks.cli`)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int | None = None  # None: one per core, at most 4
    tokens: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = False
    time_limit: float = 120.0
    max_rows: int = 50_000
    max_cells: int = 2_000_000


class SettingError(ValueError):
    """A server setting that cannot work; the message says which and how to fix it."""


def check_cache_url(url: str) -> None:
    """REGIME_RISK_CACHE_URL must name a Redis server that answers."""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingError(f"REGIME_RISK_CACHE_URL must be redis://HOST:PORT/DB (got {url!r})")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5).ping()
    except (redis.RedisError, ValueError) as exc:
        raise SettingError(f"REGIME_RISK_CACHE_URL={url}: cannot reach it ({exc})") from None


def server_options(args: ServeArgs) -> tuple[Any, list[str]]:
    """Check every setting before anything starts; returns the server options and warnings.
    Raises SettingError with a one-line message."""
    from xlfuncs.server import ServerOptions, default_workers, read_token_digests
    from xlfuncs.worker import CallLimits

    warnings = []
    try:
        providers = auth_providers(os.environ.get("XLWINGS_AUTH_PROVIDERS"))
        tokens = read_token_digests(args.tokens) if args.tokens else None
    except ValueError as exc:
        raise SettingError(str(exc)) from None
    authenticated = tokens is not None or "entraid" in providers
    if not is_loopback(args.host) and not authenticated:
        where = "every interface" if args.host in ("", "0.0.0.0", "::") else args.host
        if not args.insecure:
            raise SettingError(
                f"refusing to listen on {where} without authentication: give --tokens FILE "
                "(or XLWINGS_AUTH_PROVIDERS='[\"entraid\"]'), or --insecure to let anyone who "
                "can reach the port call the functions"
            )
        warnings.append(
            f"WARNING: listening on {where} without authentication (--insecure): anyone who "
            "can reach this port can call the functions"
        )
    if bool(args.certfile) != bool(args.keyfile):
        raise SettingError("--certfile and --keyfile go together (HTTPS needs both)")
    for flag, path in (("--certfile", args.certfile), ("--keyfile", args.keyfile)):
        if path and not Path(path).is_file():
            raise SettingError(f"{flag} {path}: no such file")
    if args.workers is not None and not 1 <= args.workers <= 64:
        raise SettingError(f"--workers must be between 1 and 64 (got {args.workers})")
    if args.time_limit <= 0 or args.max_rows < 1 or args.max_cells < 1:
        raise SettingError("--time-limit, --max-rows and --max-cells must be positive")
    cache_url = os.environ.get("REGIME_RISK_CACHE_URL") or None
    if cache_url:
        check_cache_url(cache_url)
    options = ServerOptions(
        workers=args.workers or default_workers(),
        limits=CallLimits(
            max_rows=args.max_rows, max_cells=args.max_cells, time_limit=args.time_limit
        ),
        tokens=tokens,
        entraid="entraid" in providers,
        cache_url=cache_url,
    )
    return options, warnings


def serve(args: ServeArgs) -> int:
    """Run the function server until interrupted; 2 on a setting that cannot work."""
    try:
        options, warnings = server_options(args)
    except SettingError as exc:
        print(f"regime-risk serve: {exc}", file=sys.stderr)
        return 2
    for line in warnings:
        print(f"regime-risk serve: {line}", file=sys.stderr)
    from xlfuncs.functions import CATALOGUE

    if not hasattr(CATALOGUE["REGIME_PROB"].udf, "__xlfunc__"):
        print(
            "regime-risk serve: xlwings was imported before XLWINGS_ON_SERVER=true", file=sys.stderr
        )
        return 2
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one BLAS thread per worker: workers are the parallelism
    server_environment()
    install_pyodide_stub()
    import uvicorn
    from xlwings_server.config import settings
    from xlwings_server.main import main_app

    from xlfuncs.server import build_app

    options = replace(options, cors_origins=tuple(settings.cors_allow_origins))
    app = build_app(options, main_app)
    scheme = "https" if args.certfile else "http"
    print(
        f"regime-risk serve: {scheme}://{args.host or '0.0.0.0'}:{args.port}, "
        f"{options.workers} worker process(es), "
        f"auth: {'tokens' if options.tokens else 'Entra ID' if options.entraid else 'none'}, "
        f"cache: {'Redis' if options.cache_url else 'in-process'}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        ssl_certfile=args.certfile,
        ssl_keyfile=args.keyfile,
        timeout_graceful_shutdown=10,  # calls still computing do not hold a stop for long
    )
    return 0
