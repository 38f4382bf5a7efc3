"""Real servers on loopback, started and stopped by the tests: `regime-risk serve` and
`redis-server` (Debian package; .ci/run installs it when missing)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
CALL = "/xlwings/custom-functions-call"
PAYLOAD = {
    "caller_address": "[Book1.xlsx]Sheet1!E2",
    "session_id": "t",
    "culture_info_name": "en-US",
    "date_format": "m/d/yyyy",
    "version": "0.37.8",
    "runtime": "1.4",
    "client": "Office.js",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def body(func: str, *args: object, **fields: Any) -> bytes:
    """The JSON the Office.js client sends: each argument as Excel passes it (a range as rows,
    a single cell as [[value]])."""
    return json.dumps(
        {
            **PAYLOAD,
            **fields,
            "func_name": func,
            "args": [
                a if isinstance(a, list) and a and isinstance(a[0], list) else [[a]] for a in args
            ],
        },
        default=str,
    ).encode()


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    client: httpx.Client
    startup_seconds: float  # from the process start to the first page served

    def call(
        self, func: str, *args: object, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return self.client.post(
            CALL,
            content=body(func, *args),
            headers={"content-type": "application/json", **(headers or {})},
        )

    def health(self) -> dict[str, Any]:
        data: dict[str, Any] = self.client.get("/regime-risk/health").json()
        return data

    def wait_ready(self, timeout: float = 60) -> None:
        """Until every worker process has started (calls would wait for them anyway)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            h = self.health()
            if h["ready"] == h["workers"]:
                return
            time.sleep(0.1)
        raise TimeoutError(f"workers not ready: {self.health()}")


@contextlib.contextmanager
def start_server(
    *flags: str,
    env: dict[str, str] | None = None,
    https_ca: str | None = None,
    cwd: Path = REPO,
) -> Iterator[Server]:
    """`regime-risk serve --port P FLAGS` on 127.0.0.1 until the block ends (from `cwd`: another
    checkout's code, for before/after benchmarks)."""
    port = free_port()
    t0 = time.perf_counter()
    full_env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial", **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbooks.cli", "serve", "--port", str(port), *flags],
        env=full_env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the worker processes go with it
    )
    scheme = "https" if https_ca else "http"
    verify = ssl.create_default_context(cafile=https_ca) if https_ca else True
    client = httpx.Client(base_url=f"{scheme}://127.0.0.1:{port}", timeout=120, verify=verify)
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            if proc.poll() is not None:
                break
            try:
                if client.get("/").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            proc.kill()
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"server did not start (exit {proc.returncode}): {out}")
        yield Server(f"{scheme}://127.0.0.1:{port}", proc, client, time.perf_counter() - t0)
    finally:
        client.close()
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError):  # whatever is left of the group
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def redis_server_executable() -> str:
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.access(found, os.X_OK):
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    return found


@contextlib.contextmanager
def start_redis() -> Iterator[str]:
    """A private redis-server on 127.0.0.1 (no persistence); yields its redis:// URL."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        flags = {"--port": str(port), "--bind": "127.0.0.1", "--save": "", "--appendonly": "no"}
        proc = subprocess.Popen(
            [redis_server_executable(), *(x for kv in flags.items() for x in kv), "--dir", tmp],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        import redis

        client = redis.Redis.from_url(url)
        deadline = time.time() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.time() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        try:
            yield url
        finally:
            client.close()
            proc.terminate()
            proc.wait(timeout=10)
