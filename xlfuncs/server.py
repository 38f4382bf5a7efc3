"""The HTTP front of `regime-risk serve`: authentication, the response cache, and a pool of
worker processes that run the functions (`xlfuncs.worker`).

    Excel (Office.js client) --POST /xlwings/custom-functions-call--> front (event loop)
        token check -> response cache (hash of the raw body) -> in-flight join
        -> idle worker process (pipe) -> Reply -> cache -> Excel

The event loop only moves bytes: it never parses a range or fits a model, so a cold fit in one
worker does not delay anyone else, and a repeated call is answered from the cache without
parsing or conversion. Everything else (manifest, task pane, the client JavaScript, function
metadata) is xlwings Server's app, mounted unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import multiprocessing
import os
import re
import sys
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from xlfuncs.worker import CallLimits, Reply, worker_main

log = logging.getLogger("xlfuncs.server")

CALL_PATH = "/xlwings/custom-functions-call"
HEALTH_PATH = "/regime-risk/health"
CACHE_FORMAT = b"1"  # bump when the stored reply format changes
# Per-cell and per-session fields the result does not depend on: left out of the cache key so
# one formula in many cells, or in many users' workbooks, shares one entry.
_VOLATILE = re.compile(rb'"(?:caller_address|session_id)":(?:"(?:[^"\\]|\\.)*"|null),?')


def _server_salt() -> bytes:
    """Versions that change results: responses of another build are never reused."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for pkg in ("regime-risk", "xlwings"):
        try:
            parts.append(f"{pkg}={version(pkg)}")
        except PackageNotFoundError:
            parts.append(f"{pkg}=?")
    return ";".join(parts).encode()


def response_key(body: bytes, salt: bytes = b"") -> str:
    """SHA-256 of the raw request body without its per-cell fields (caller address, session):
    two calls with the same function, arguments, culture and date format share a key."""
    return hashlib.sha256(salt + b"\x1e" + _VOLATILE.sub(b"", body)).hexdigest()


# -- authentication ----------------------------------------------------------------------------
_HEX64 = re.compile(r"[0-9a-f]{64}")


def read_token_digests(path: str | Path) -> frozenset[str]:
    """The SHA-256 hex digests in a tokens file: one per line; blank lines and `#` comments
    ignored. Raises ValueError naming the file and line for anything else."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"--tokens {p}: cannot read it ({exc.strerror})") from None
    digests = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip().lower()
        if not line:
            continue
        if not _HEX64.fullmatch(line):
            raise ValueError(
                f"--tokens {p}, line {number}: not a SHA-256 hex digest (64 hex characters); "
                "make one with `regime-risk token`"
            )
        digests.add(line)
    if not digests:
        raise ValueError(f"--tokens {p}: no token digests in it; add one with `regime-risk token`")
    return frozenset(digests)


def token_digest(token: str) -> str:
    """What a tokens file holds for `token`: its SHA-256 hex digest."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenAuth:
    """Accept a request when its Authorization header (`Bearer <token>` or the bare token)
    hashes to a digest in the tokens file. There is no default token."""

    digests: frozenset[str]

    def check(self, header: str) -> str | None:
        """None if accepted, else the one-line reason."""
        value = header.strip()
        if value[:7].lower() == "bearer ":
            value = value[7:].strip()
        if not value:
            return (
                "authentication required: enter the access token your administrator issued "
                "(Regime Risk task pane, Access token)"
            )
        digest = token_digest(value)
        # compare against every digest, always: the time taken does not depend on which matched
        accepted = False
        for known in self.digests:
            accepted |= hmac.compare_digest(digest, known)
        return None if accepted else "the access token was not accepted; ask for a new one"


async def _entraid_check(request: Request) -> Response | None:
    """xlwings Server's Entra ID validation (XLWINGS_AUTH_PROVIDERS='["entraid"]')."""
    from fastapi import HTTPException
    from xlwings_server.dependencies import authenticate

    try:
        await authenticate(
            token_string=request.headers.get("authorization", ""),
            auth_provider=request.headers.get("auth-provider"),
        )
    except HTTPException as exc:
        return Response(str(exc.detail), exc.status_code, media_type="text/plain")
    except Exception as exc:  # an invalid or expired JWT raises the provider's own error
        return Response(f"authentication failed: {exc}", 401, media_type="text/plain")
    return None


# -- response cache ----------------------------------------------------------------------------
class ResponseCache:
    """Replies by key: an in-process LRU bounded by bytes, and Redis when configured
    (REGIME_RISK_CACHE_URL) so workers and hosts share them."""

    def __init__(
        self, max_bytes: int = 256 * 2**20, redis_url: str | None = None, ttl: int = 24 * 3600
    ) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[str, Reply] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0
        self.ttl = ttl
        self._redis: Any = None
        if redis_url:
            import redis.asyncio

            self._redis = redis.asyncio.Redis.from_url(
                redis_url, socket_timeout=5, socket_connect_timeout=5
            )

    async def get(self, key: str) -> Reply | None:
        reply = self._data.get(key)
        if reply is not None:
            self._data.move_to_end(key)
            self.hits += 1
            return reply
        if self._redis is not None:
            try:
                blob = await self._redis.get(f"regime-risk:response:{key}")
            except Exception as exc:
                log.warning("response cache: Redis read failed (%s)", exc)
                blob = None
            if blob:
                reply = _decode_reply(blob)
                if reply is not None:
                    self._remember(key, reply)
                    self.hits += 1
                    return reply
        self.misses += 1
        return None

    async def put(self, key: str, reply: Reply) -> None:
        self._remember(key, reply)
        if self._redis is not None:
            try:
                await self._redis.set(
                    f"regime-risk:response:{key}", _encode_reply(reply), ex=self.ttl
                )
            except Exception as exc:
                log.warning("response cache: Redis write failed (%s)", exc)

    def _remember(self, key: str, reply: Reply) -> None:
        size = len(reply.body)
        if size > self.max_bytes // 4:
            return
        old = self._data.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._data[key] = reply
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, dropped = self._data.popitem(last=False)
            self._bytes -= len(dropped.body)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def _encode_reply(reply: Reply) -> bytes:
    return b"\n".join(
        [CACHE_FORMAT, str(reply.status).encode(), reply.content_type.encode(), reply.body]
    )


def _decode_reply(blob: bytes) -> Reply | None:
    parts = blob.split(b"\n", 3)
    if len(parts) != 4 or parts[0] != CACHE_FORMAT:
        return None
    return Reply(int(parts[1]), True, parts[2].decode(), parts[3])


# -- worker pool -------------------------------------------------------------------------------
@dataclass(eq=False)  # identity: kept in a set
class _Worker:
    process: Any
    conn: Any

    def roundtrip(self, body: bytes) -> Reply:
        self.conn.send_bytes(body)
        reply: Reply = self.conn.recv()
        return reply


@dataclass(eq=False)
class _Slot:
    """One worker position: its current process (None while one starts) and whether a call
    holds it."""

    index: int
    worker: _Worker | None = None
    busy: bool = False
    failures: int = 0
    assigned: int = 0  # ranges that call this slot their home

    def idle(self) -> bool:
        return self.worker is not None and not self.busy


def affinity_key(body: bytes) -> bytes:
    """Bytes of the first argument (the returns range, in every function that fits a model):
    calls over one range go to the worker that holds its fit. A preference only: a wrong
    guess costs a refit, never a wrong result."""
    start = body.find(b'"args":')
    end = body.find(b"]]", start)
    return hashlib.sha1(body[start:end] if start >= 0 < end else body).digest()


class WorkerUnavailable(Exception):
    pass


class WorkerPool:
    """N worker processes, one call at a time each. A range's calls go to the worker that first
    served it (its fit is cached there) when that worker is free or busy; a new range goes to
    any free worker. A call that exceeds the time budget kills its worker (the only way to
    stop a fit in C code) and a fresh one takes the slot; the caller gets a one-line 400."""

    MAX_START_FAILURES = 3

    def __init__(self, n: int, limits: CallLimits) -> None:
        self.n = n
        self.limits = limits
        if sys.platform == "win32":
            self._ctx = multiprocessing.get_context("spawn")
        else:
            # one process imports the engine once; every worker (and replacement) is forked
            # from it, so a replacement is ready in a fraction of a second
            self._ctx = multiprocessing.get_context("forkserver")
            self._ctx.set_forkserver_preload(["xlfuncs.worker", "xlfuncs", "xlwings.server"])
        self._slots = [_Slot(i) for i in range(n)]
        self._owners: OrderedDict[bytes, _Slot] = OrderedDict()
        self._cond: asyncio.Condition | None = None
        self.started = 0
        self.killed = 0

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=worker_main, args=(child, self.limits), name="regime-risk-worker", daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    async def _fill(self, slot: _Slot) -> None:
        """Start a worker for `slot` and wait until it has imported everything."""
        assert self._cond is not None
        while True:
            worker = await asyncio.to_thread(self._spawn)
            self.started += 1
            try:
                tag, _pid = await asyncio.to_thread(worker.conn.recv)
                if tag == "ready":
                    break
            except (EOFError, OSError):
                pass
            _kill(worker)
            slot.failures += 1
            log.error(
                "worker %d failed to start (exit code %s)", slot.index, worker.process.exitcode
            )
            if slot.failures >= self.MAX_START_FAILURES:
                async with self._cond:
                    self._cond.notify_all()
                return
            await asyncio.sleep(1)
        async with self._cond:
            slot.worker, slot.failures = worker, 0
            self._cond.notify_all()

    async def start(self) -> None:
        """Start the workers in the background (the front answers at once)."""
        self._cond = asyncio.Condition()
        for slot in self._slots:
            asyncio.get_running_loop().create_task(self._fill(slot))

    async def _acquire(self, key: bytes) -> _Slot:
        assert self._cond is not None
        async with self._cond:
            while True:
                if all(s.failures >= self.MAX_START_FAILURES for s in self._slots):
                    raise WorkerUnavailable
                owner = self._owners.get(key)
                if owner is not None:
                    self._owners.move_to_end(key)
                    if owner.idle():
                        owner.busy = True
                        return owner
                else:
                    free = [s for s in self._slots if s.idle()]
                    if free:
                        slot = min(free, key=lambda s: s.assigned)
                        slot.busy = True
                        slot.assigned += 1
                        self._owners[key] = slot
                        if len(self._owners) > 4096:
                            self._owners.popitem(last=False)[1].assigned -= 1
                        return slot
                await self._cond.wait()

    async def _release(self, slot: _Slot, replace: bool = False) -> None:
        assert self._cond is not None
        async with self._cond:
            if replace and slot.worker is not None:
                _kill(slot.worker)  # the blocked roundtrip thread ends with EOFError
                slot.worker = None
                asyncio.get_running_loop().create_task(self._fill(slot))
            slot.busy = False
            self._cond.notify_all()

    async def call(self, body: bytes, name: str) -> Reply:
        try:
            slot = await self._acquire(affinity_key(body))
        except WorkerUnavailable:
            return Reply.text(503, f"{name}: the server's worker processes failed to start")
        assert slot.worker is not None
        task = asyncio.ensure_future(asyncio.to_thread(slot.worker.roundtrip, body))
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), self.limits.time_limit)
        except TimeoutError:
            self.killed += 1
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # EOFError, seen
            await self._release(slot, replace=True)
            return Reply.text(
                400,
                f"{name}: stopped after {self.limits.time_limit:g} s, this server's time budget "
                "for one call (serve --time-limit). Use a shorter range, fewer assets or "
                "fewer states.",
            )
        except (EOFError, OSError) as exc:
            await self._release(slot, replace=True)
            return Reply.text(
                400, f"{name}: the worker process stopped during the call ({exc!r}); try again"
            )
        await self._release(slot)
        return reply

    def ready(self) -> int:
        """Workers started and ready (idle or computing)."""
        return sum(s.worker is not None for s in self._slots)

    async def stop(self) -> None:
        workers = [s.worker for s in self._slots if s.worker is not None]
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.conn.close()
            with contextlib.suppress(Exception):
                worker.process.terminate()
        for worker in workers:
            await asyncio.to_thread(worker.process.join, 5)
            if worker.process.is_alive():
                worker.process.kill()


def _kill(worker: _Worker) -> None:
    with contextlib.suppress(Exception):
        worker.process.kill()
        worker.process.join(timeout=5)
    with contextlib.suppress(Exception):
        worker.conn.close()


# -- the app -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServerOptions:
    workers: int = 1
    limits: CallLimits = field(default_factory=CallLimits)
    tokens: frozenset[str] | None = None  # SHA-256 digests; None: no token check
    entraid: bool = False
    cache_url: str | None = None
    max_body_bytes: int = 64 * 2**20
    cors_origins: Iterable[str] = ()


_FUNC_NAME = re.compile(rb'"func_name"\s*:\s*"([A-Za-z0-9_]{1,60})"')


class FunctionCalls:
    """The POST handler: auth, size, cache, in-flight join, worker pool."""

    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.auth = TokenAuth(options.tokens) if options.tokens is not None else None
        self.pool = WorkerPool(options.workers, options.limits)
        self.cache = ResponseCache(redis_url=options.cache_url)
        self.salt = _server_salt()
        self._inflight: dict[str, asyncio.Future[Reply]] = {}

    async def handle(self, request: Request) -> Response:
        if self.auth is not None:
            reason = self.auth.check(request.headers.get("authorization", ""))
            if reason is not None:
                return Response(
                    reason, 401, media_type="text/plain", headers={"WWW-Authenticate": "Bearer"}
                )
        elif self.options.entraid:
            denied = await _entraid_check(request)
            if denied is not None:
                return denied
        length = request.headers.get("content-length", "")
        limit = self.options.max_body_bytes
        if length.isdigit() and int(length) > limit:
            return _text(413, f"request body over {limit // 2**20} MB; use a smaller range")
        body = await request.body()
        if len(body) > limit:
            return _text(413, f"request body over {limit // 2**20} MB; use a smaller range")
        key = response_key(body, self.salt)
        reply = await self.cache.get(key)
        if reply is None:
            reply = await self._compute(key, body)
        return Response(reply.body, reply.status, media_type=reply.content_type)

    async def _compute(self, key: str, body: bytes) -> Reply:
        # one task per distinct call: a repeat that arrives while it runs waits for it rather
        # than queueing another fit, and a client that hangs up does not cancel it (its
        # result still lands in the cache for the recalculation that follows)
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._run(key, body))
            self._inflight[key] = task
            task.add_done_callback(lambda _: self._inflight.pop(key, None))
        return await asyncio.shield(task)

    async def _run(self, key: str, body: bytes) -> Reply:
        match = _FUNC_NAME.search(body[:4096]) or _FUNC_NAME.search(body)
        name = match.group(1).decode().upper() if match else "function"
        reply = await self.pool.call(body, name)
        if reply.cacheable:
            await self.cache.put(key, reply)
        return reply


def _text(status: int, message: str) -> Response:
    return Response(message, status, media_type="text/plain")


def build_app(options: ServerOptions, xlwings_app: ASGIApp) -> ASGIApp:
    """The served app: the function-call route (ours) in front of xlwings Server's app."""
    calls = FunctionCalls(options)

    async def health(request: Request) -> Response:
        """Workers and cache counters, for monitoring and the tests (no arguments, no data)."""
        return JSONResponse(
            {
                "workers": calls.pool.n,
                "ready": calls.pool.ready(),
                "started": calls.pool.started,
                "stopped_over_time_limit": calls.pool.killed,
                "cache_hits": calls.cache.hits,
                "cache_misses": calls.cache.misses,
                "shared_cache": calls.options.cache_url is not None,
            }
        )

    async def no_scripts(request: Request) -> Response:
        return _text(404, "this server offers custom functions only, no scripts")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await calls.pool.start()
        yield
        await calls.pool.stop()
        await calls.cache.close()

    app = Starlette(
        routes=[
            Route(CALL_PATH, calls.handle, methods=["POST"]),
            Route(HEALTH_PATH, health, methods=["GET"]),
            Route("/xlwings/custom-scripts-call/{name:path}", no_scripts, methods=["POST"]),
            Mount("/", app=xlwings_app),
        ],
        lifespan=lifespan,
    )
    app.state.calls = calls
    return CORSMiddleware(
        app=app,
        allow_origins=list(options.cors_origins),
        allow_methods=["POST"],
        allow_headers=["*"],
    )


def default_workers() -> int:
    """One worker per core, at most 4 (each holds its own fit cache)."""
    return max(1, min(4, os.cpu_count() or 1))
