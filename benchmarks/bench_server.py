"""Benchmark: the Excel functions through xlwings Server over HTTP on 127.0.0.1.

8,000 × 10 returns range (serial dates, as Office.js sends them): cold and cached calls of
REGIME_PROB, STATE_CVAR and REGIME_WEIGHTS, 100 calls on one range (the server's response-cache
counters), and the Office.js range conversion with and without the pyodide-import stub. Uses
XLWINGS_LICENSE_KEY=noncommercial. The before/after comparison, the latency under a cold fit
and the load test are in bench_server_load.py.

Run: .venv/bin/python benchmarks/bench_server.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import numpy as np

from engine.data import align_prices, load_sample_prices, prices_to_returns

BASE = {
    "caller_address": "[Book1.xlsx]Sheet1!E2",
    "session_id": "b",
    "culture_info_name": "en-US",
    "date_format": "m/d/yyyy",
    "version": "0.37.8",
    "runtime": "1.4",
    "client": "Office.js",
}


def table() -> list[list[object]]:
    cols = ["SP500", "AAPL", "AMD", "BAC", "CVX", "GE", "HD", "JNJ", "JPM", "KO"]
    p, _ = align_prices(load_sample_prices(cols, "1990-01-01"))
    r = prices_to_returns(p).iloc[-8000:]
    serial = ((r.index.to_numpy() - np.datetime64("1899-12-30")) / np.timedelta64(1, "D")).tolist()
    return [["Date", *cols], *([d, *v] for d, v in zip(serial, r.to_numpy().tolist(), strict=True))]


def conversion_seconds(stub: bool, rng: list[list[object]]) -> float:
    code = f"""
import os, time, json, sys, asyncio
os.environ["XLWINGS_ON_SERVER"] = "true"
if {stub}:
    from xlfuncs.serve import install_pyodide_stub
    install_pyodide_stub()
import xlwings as xw, xlwings.server
import pandas as pd
@xw.func
@xw.arg("x", ndim=2, err_to_str=True)
def size(x):
    return len(x)
import types
mod = types.ModuleType("m"); mod.size = size
rng = json.load(sys.stdin)
body = {{**{BASE!r}, "func_name": "size", "args": [rng]}}
t = time.perf_counter()
asyncio.run(xlwings.server.custom_functions_call(body, mod))
print(time.perf_counter() - t)
"""
    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(rng),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return float(out.stdout.strip())


def main() -> None:
    rng = table()
    print(f"range: {len(rng) - 1} rows × {len(rng[0]) - 1} assets")
    sub = [row[:12] for row in rng[:2521]]
    print(
        "Office.js conversion of a 2,520 × 11 range: "
        f"without stub {conversion_seconds(False, sub) * 1000:.0f} ms, "
        f"with stub {conversion_seconds(True, sub) * 1000:.0f} ms"
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbooks.cli", "serve", "--port", str(port)], env=env
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    try:
        for _ in range(200):
            try:
                if client.get("/").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)

        encoded: dict[str, bytes] = {}

        def call(func: str) -> float:
            # the request body is encoded once (as Excel's client encodes it once per call, in
            # V8): the timing is the server and HTTP, not Python's json.dumps of 88,000 cells
            if func not in encoded:
                encoded[func] = json.dumps({**BASE, "func_name": func, "args": [rng]}).encode()
            body = encoded[func]
            t = time.perf_counter()
            r = client.post(
                "/xlwings/custom-functions-call",
                content=body,
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 200, r.text[:200]
            return time.perf_counter() - t

        print(f"{'call':<14}{'cold':>10}{'cached':>10}")
        for func in ("regime_prob", "state_cvar", "regime_weights"):
            cold = call(func)
            cached = min(call(func) for _ in range(5))
            print(f"{func.upper():<14}{cold * 1000:9.0f}ms{cached * 1000:9.0f}ms")
        t = time.perf_counter()
        for i in range(100):
            call(("regime_prob", "state_cvar", "regime_weights")[i % 3])
        total = time.perf_counter() - t
        health = client.get("/regime-risk/health").json()
        print(
            f"100 calls on one range: {total:.2f}s ({total * 10:.0f} ms per call); "
            f"response cache hits/misses: {health['cache_hits']} / {health['cache_misses']}"
        )
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
