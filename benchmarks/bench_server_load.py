"""Benchmark: the function server under a desk's load, before and after the worker pool.

"Before" is another commit's server (default 601490c: functions on uvicorn's event loop),
extracted with `git archive` and started from its own directory; "after" is this checkout.
Both run on 127.0.0.1 in the same run, on the same machine, one after the other.

1. start: seconds from the process start to the first page served (and, after, to every
   worker ready).
2. cached REGIME_PROB over 8,000 × 10 (bench_server.table): the first call, then 20 repeats
   (median, p95) and 100 calls of REGIME_PROB / STATE_CVAR / REGIME_WEIGHTS in turn.
3. a cold 4-state fit running while other users work: GET / and a cached call every 100 ms
   until the fit returns (p50, p95, max).
4. load (after only): 32 clients × 50 calls drawn from 192 distinct calls (48 windows of 1,000
   days × REGIME_PROB, STATE_CVAR, REGIME_WEIGHTS, REGIME_CURRENT with 3 states: 30 cold fits),
   --workers 1 and --workers 2; every answer compared byte for byte with a sequential
   reference run on a separate server.

Run: .venv/bin/python benchmarks/bench_server_load.py [--baseline REF] [--skip-baseline]
     [--skip-load | --load-only]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from bench_server import table  # noqa: E402

from engine.data import align_prices, load_sample_prices, prices_to_returns  # noqa: E402
from tests.servers import CALL, Server, body, start_server  # noqa: E402

HEADERS = {"content-type": "application/json"}
# distinct 1,000-day ranges: cold 3-state fits in the load mix; fewer than the fit cache's 32
# entries, so one worker does not refit what it evicted (48 made one worker 3.1× slower)
WINDOWS = 30


def pct(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def post(server: Server, raw: bytes) -> httpx.Response:
    r = server.client.post(CALL, content=raw, headers=HEADERS)
    assert r.status_code == 200, r.text[:300]
    return r


def timed(server: Server, raw: bytes) -> float:
    t = time.perf_counter()
    post(server, raw)
    return time.perf_counter() - t


def cached_calls(server: Server, rng: list[list[object]]) -> dict[str, float]:
    prob = body("regime_prob", rng)
    first = timed(server, prob)
    repeats = [timed(server, prob) for _ in range(20)]
    others = [body("state_cvar", rng), body("regime_weights", rng)]
    for raw in others:
        post(server, raw)
    t = time.perf_counter()
    for i in range(100):
        post(server, [prob, *others][i % 3])
    return {
        "first": first,
        "median": statistics.median(repeats),
        "p95": pct(repeats, 0.95),
        "100 calls": time.perf_counter() - t,
    }


def under_cold_fit(server: Server, big: list[list[object]], small: list[list[object]]) -> dict:
    post(server, body("regime_current", small))  # cached from here on
    done = threading.Event()
    fit: dict[str, float] = {}

    def cold() -> None:
        t = time.perf_counter()
        post(server, body("regime_prob", big, 4))
        fit["seconds"] = time.perf_counter() - t
        done.set()

    threading.Thread(target=cold).start()
    time.sleep(0.3)
    page, cached = [], []
    probe = httpx.Client(base_url=server.url, timeout=600)
    while not done.is_set():
        t = time.perf_counter()
        probe.get("/")
        page.append(time.perf_counter() - t)
        cached.append(timed(server, body("regime_current", small)))
        time.sleep(0.1)
    done.wait()
    probe.close()
    return {"fit": fit["seconds"], "page": page, "cached": cached}


def mix() -> list[bytes]:
    prices, _ = align_prices(load_sample_prices(["SP500", "GOLD", "WTI"], "2000-01-01"))
    r = prices_to_returns(prices)
    serial = (r.index - __import__("pandas").Timestamp("1899-12-30")).days.tolist()
    rows = [[d, *v] for d, v in zip(serial, r.to_numpy().tolist(), strict=True)]
    calls = []
    for k in range(WINDOWS):
        rng = [["Date", *r.columns], *rows[k * 40 : k * 40 + 1000]]
        calls += [
            body("regime_prob", rng, 3),
            body("state_cvar", rng, None, None, None, None, 3),
            body("regime_weights", rng, None, 3),
            body("regime_current", rng, 3),
        ]
    return calls


async def load(url: str, calls: list[bytes], clients: int, per_client: int) -> dict:
    rnd = random.Random(7)
    plan = [[rnd.randrange(len(calls)) for _ in range(per_client)] for _ in range(clients)]
    latencies: list[float] = []
    answers: dict[int, set[bytes]] = {}
    errors: list[str] = []

    async def client(picks: list[int]) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=600) as c:
            for i in picks:
                t = time.perf_counter()
                r = await c.post(CALL, content=calls[i], headers=HEADERS)
                latencies.append(time.perf_counter() - t)
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:100]}")
                answers.setdefault(i, set()).add(r.content)

    t = time.perf_counter()
    await asyncio.gather(*(client(p) for p in plan))
    wall = time.perf_counter() - t
    return {"wall": wall, "latencies": latencies, "answers": answers, "errors": errors}


def baseline_checkout(ref: str) -> Path:
    where = Path(tempfile.mkdtemp(prefix="regime-risk-baseline-"))
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive.stdout, check=True)
    return where


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", default="601490c")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--load-only", action="store_true")
    opts = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if not opts.load_only:
        latency(opts)
    if not opts.skip_load:
        load_test()


def latency(opts: argparse.Namespace) -> None:
    """Sections 1-3, before and after."""
    rng = table()
    big = rng[:4001]
    small = [row[:4] for row in rng[:301]]
    print(f"machine: {os.cpu_count()} cores; range {len(rng) - 1} × {len(rng[0]) - 1}")
    sides = [] if opts.skip_baseline else [("before", baseline_checkout(opts.baseline), ())]
    sides.append(("after", ROOT, ("--workers", "2")))
    results = {}
    for label, cwd, flags in sides:
        with start_server(*flags, cwd=cwd) as server:
            start = server.startup_seconds
            if label == "after":
                t0 = time.perf_counter()
                server.wait_ready()
                ready = start + time.perf_counter() - t0
            else:
                ready = float("nan")
            results[label] = {
                "start": start,
                "ready": ready,
                "cached": cached_calls(server, rng),
                "fit": under_cold_fit(server, big, small),
            }
    print("\n| | " + " | ".join(results) + " |\n|---|" + "---|" * len(results))

    def row(name: str, f) -> None:  # type: ignore[no-untyped-def]
        print(f"| {name} | " + " | ".join(f(r) for r in results.values()) + " |")

    ms = "{:.0f} ms".format
    row("first page after start", lambda r: f"{r['start']:.1f} s")
    row("all workers ready", lambda r: f"{r['ready']:.1f} s")
    row("REGIME_PROB 8000×10 first call", lambda r: ms(1e3 * r["cached"]["first"]))
    row("repeat: median", lambda r: ms(1e3 * r["cached"]["median"]))
    row("repeat: p95", lambda r: ms(1e3 * r["cached"]["p95"]))
    row("100 cached calls (3 functions)", lambda r: f"{r['cached']['100 calls']:.2f} s")
    row("cold 4-state fit 4000×10", lambda r: f"{r['fit']['fit']:.1f} s")
    row("  probes during it", lambda r: str(len(r["fit"]["page"])))
    for key, name in (("page", "GET /"), ("cached", "cached REGIME_CURRENT")):
        row(
            f"  {name} p50 / p95 / max",
            lambda r, k=key: " / ".join(ms(1e3 * pct(r["fit"][k], q)) for q in (0.5, 0.95, 1.0)),
        )


def load_test() -> None:
    """Section 4: 1 and 2 workers, answers checked against a sequential reference."""
    ms = "{:.0f} ms".format
    calls = mix()
    with start_server("--workers", "1") as ref_server:
        reference = [post(ref_server, raw).content for raw in calls]
    print(f"\nload: 32 clients × 50 calls ({len(calls)} distinct, {WINDOWS} cold fits)")
    print("| workers | wall | calls/s | p50 | p95 | errors | wrong |")
    print("|---|---|---|---|---|---|---|")
    walls = {}
    for n in (1, 2):
        with start_server("--workers", str(n)) as server:
            server.wait_ready()
            out = asyncio.run(load(server.url, calls, 32, 50))
        wrong = sum(a != {reference[i]} for i, a in out["answers"].items())
        lat = out["latencies"]
        walls[n] = out["wall"]
        print(
            f"| {n} | {out['wall']:.1f} s | {len(lat) / out['wall']:.1f} | "
            f"{ms(1e3 * pct(lat, 0.5))} | {ms(1e3 * pct(lat, 0.95))} | "
            f"{len(out['errors'])} | {wrong} |"
        )
    print(f"speedup, 2 workers over 1: {walls[1] / walls[2]:.2f}×")


if __name__ == "__main__":
    main()
