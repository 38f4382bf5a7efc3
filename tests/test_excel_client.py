"""The real client in the tests (issue 12): the custom-functions JavaScript that xlwings Server
serves runs under Node with a stubbed Office runtime (tests/node/harness.js), as Excel on
Mac/web runs it, and every catalogue function is called through it.

Checked: results are tables (a rectangular 2-D array whose first row is text) or a scalar
where the function returns one; bad input is a `CustomFunctions.Error` carrying the server's
one-line message, sent in exactly one HTTP request (a 4xx is never retried); a 5xx or a
dropped connection is retried up to the served `customFunctionsMaxRetries`.

`run_client(base_url, calls, token=None, concurrency=1)` is the reusable entry point (auth and
load tests import it). The server runs from the repository root, or from the directory in
REGIME_RISK_TEST_SERVER_CWD (e.g. a frozen snapshot while the server code is being edited).
Node is required: a missing `node` fails the module instead of skipping it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.conftest import excel_range
from tests.servers import REPO, start_server
from xlfuncs.functions import CATALOGUE

HARNESS = Path(__file__).resolve().parent / "node" / "harness.js"
LIMIT = 60  # seconds for one harness run in these tests
ROWS = 600  # about 2010-05..2012-12: short fits, and it covers the 2011 stress scenario


def node_executable() -> str | None:
    return shutil.which("node") or next(
        (p for p in ("/usr/bin/node", "/usr/local/bin/node") if os.access(p, os.X_OK)), None
    )


def run_client(
    base_url: str,
    calls: list[dict[str, Any]],
    token: str | None = None,
    concurrency: int = 1,
    timeout: float = 120,
) -> list[dict[str, Any]]:
    """Call custom functions through the served JavaScript (tests/node/harness.js).

    `calls`: dicts with "func" (Excel name), "args" (as Excel passes them: ranges as 2-D
    lists, scalars, None for an omitted optional argument) and optionally "id" (default: the
    position) and "address" (the calling cell, default "Sheet1!A<n>"). `token` is put in the
    task pane's localStorage ("regimeRiskToken") before the scripts load. Returns one dict per
    call, in the order given: {"id", "ok": True, "result", "requests", "elapsed_ms"} or
    {"id", "ok": False, "error_class", "code", "message", "requests", "elapsed_ms"}, where
    "requests" counts the client's HTTP requests for the call (retries included). Raises
    RuntimeError (with the harness' stderr) if it fails or takes longer than `timeout`
    seconds (the client's own request timeout is the server's requestTimeout, 300 s)."""
    node = node_executable()
    if node is None:
        raise RuntimeError("node (Node.js 20+) is required to run the Excel client harness")
    calls = [{**c, "id": c.get("id", i)} for i, c in enumerate(calls)]
    cmd = [node, str(HARNESS), base_url, "--concurrency", str(concurrency)]
    if token is not None:
        cmd += ["--token", token]
    try:
        proc = subprocess.run(
            cmd,
            input=json.dumps(calls, allow_nan=False),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:

        def text(b: bytes | str | None) -> str:
            return b.decode(errors="replace") if isinstance(b, bytes) else (b or "")

        raise RuntimeError(
            f"harness took longer than {timeout} s; answered so far:\n{text(exc.stdout)}\n"
            f"stderr:\n{text(exc.stderr)[-4000:]}"
        ) from None
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    by_id = {json.dumps(line["id"]): line for line in lines}
    missing = [c["id"] for c in calls if json.dumps(c["id"]) not in by_id]
    if proc.returncode != 0 or missing:
        raise RuntimeError(
            f"harness exited {proc.returncode}, no answer for ids {missing}\n"
            f"stderr:\n{proc.stderr[-4000:]}"
        )
    return [by_id[json.dumps(c["id"])] for c in calls]


@pytest.fixture(scope="module")
def node() -> str:
    path = node_executable()
    if path is None:
        pytest.fail("node (Node.js 20+) is not installed: the Excel client tests need it")
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
    if int(version.strip().lstrip("v").split(".")[0]) < 20:
        pytest.fail(f"Node.js 20+ is needed (global fetch), found {version.strip()}")
    return path


@pytest.fixture(scope="module")
def base_url(node: str) -> Iterator[str]:
    """`regime-risk serve` on a free loopback port (from REGIME_RISK_TEST_SERVER_CWD if set)."""
    cwd = Path(os.environ.get("REGIME_RISK_TEST_SERVER_CWD") or REPO)
    with start_server("--workers", "2", cwd=cwd) as server:
        yield server.url


@pytest.fixture(scope="module")
def served_config(base_url: str) -> dict[str, Any]:
    """The JS config the task pane embeds (<script id="config">), i.e. the server's settings."""
    html = httpx.get(base_url + "/taskpane", timeout=30).text
    m = re.search(r'<script[^>]*id="config"[^>]*>(.*?)</script>', html, re.S)
    assert m, "the task pane page has no config script"
    return dict(json.loads(m.group(1)))


@pytest.fixture(scope="module")
def frame(multi_returns: pd.DataFrame) -> pd.DataFrame:
    return multi_returns.iloc[-ROWS:]


@pytest.fixture(scope="module")
def sheet(frame: pd.DataFrame) -> list[list[Any]]:
    """The returns range as Excel passes it: header row, serial dates."""
    return excel_range(frame, serial_dates=True)


@pytest.fixture(scope="module")
def prices(frame: pd.DataFrame) -> list[list[Any]]:
    return excel_range(100 * (1 + frame).cumprod(), serial_dates=True)


# Values for optional arguments where the default would fail or be slow on a short range;
# every other optional argument is omitted (null), as an empty cell in Excel.
OVERRIDES: dict[tuple[str, str], Any] = {
    ("RISK_MEASURE", "measure"): "cvar",
    ("BACKTEST", "window"): 250,
    ("BACKTEST_STATS", "window"): 250,
}
# Calls whose result is one number (a single state, a weighted portfolio).
SCALAR_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("STATE_VAR", {"confidence": 0.99, "state": 1}),
    ("STATE_CVAR", {"state": 2}),
    ("RISK_MEASURE", {"measure": "volatility", "weights": [[0.5, 0.3, 0.2]]}),
]


def catalogue_args(
    name: str, sheet: list[list[Any]], prices: list[list[Any]], given: dict[str, Any]
) -> list[Any]:
    """The arguments of `name` in catalogue order: the returns (or prices) range for the
    required range, `given` or OVERRIDES where set, None (omitted) elsewhere."""
    out: list[Any] = []
    for a in CATALOGUE[name].args:
        if a.name in given:
            out.append(given[a.name])
        elif (name, a.name) in OVERRIDES:
            out.append(OVERRIDES[name, a.name])
        elif a.required and a.kind == "range":
            out.append(prices if a.name == "prices" else sheet)
        elif a.required:
            raise AssertionError(f"{name}: no test value for required argument {a.name}")
        else:
            out.append(None)
    return out


def is_table(result: Any) -> bool:
    return (
        isinstance(result, list)
        and len(result) >= 2
        and all(isinstance(row, list) for row in result)
        and len({len(row) for row in result}) == 1
        and len(result[0]) >= 1
        and all(isinstance(h, str) and h for h in result[0])
    )


def test_every_catalogue_function_through_the_served_client(base_url, sheet, prices, frame):
    calls = [
        {"id": name, "func": name, "args": catalogue_args(name, sheet, prices, {})}
        for name in CATALOGUE
    ]
    calls += [
        {"id": f"{name}:scalar", "func": name, "args": catalogue_args(name, sheet, prices, given)}
        for name, given in SCALAR_CALLS
    ]
    scenarios = [["Scenario", *frame.columns], ["Oil shock", -0.05, 0.02, 0.3]]
    calls.append(
        {
            "id": "STRESS_TEST:scenarios",
            "func": "STRESS_TEST",
            "args": catalogue_args("STRESS_TEST", sheet, prices, {"scenarios": scenarios}),
        }
    )
    out = {r["id"]: r for r in run_client(base_url, calls, concurrency=3, timeout=LIMIT)}

    failed = {k: r.get("message") for k, r in out.items() if not r["ok"]}
    assert not failed, failed
    assert all(r["requests"] == 1 for r in out.values()), {k: r["requests"] for k, r in out.items()}
    for name in CATALOGUE:
        assert is_table(out[name]["result"]), (name, out[name]["result"][:3])
    for key in (f"{name}:scalar" for name, _ in SCALAR_CALLS):
        value = out[key]["result"]
        value = value[0][0] if isinstance(value, list) else value  # a 1x1 array or a number
        assert isinstance(value, float) and np.isfinite(value) and value > 0, (key, value)

    # a few contents, to know the tables are the right ones
    n = len(frame)
    serials = [row[0] for row in sheet[1:]]
    dates = [row[0] for row in out["REGIME_PROB"]["result"][1:]]  # Excel date cells
    assert all(d["type"] == "FormattedNumber" for d in dates), dates[:2]
    assert [d["basicValue"] for d in dates] == serials
    assert [row[0]["basicValue"] for row in out["RETURNS"]["result"][1:]] == serials[1:]
    assert out["REGIME_PROB"]["result"][0][0] == "Date"
    assert len(out["REGIME_PROB"]["result"]) == n + 1
    assert len(out["RETURNS"]["result"]) == n  # one row fewer than the prices (plus header)
    assert out["RETURNS"]["result"][0] == ["Date", *frame.columns]
    probs = np.array([row[1:] for row in out["REGIME_PROB"]["result"][1:]], dtype=float)
    np.testing.assert_allclose(np.nansum(probs, axis=1)[~np.isnan(probs).any(axis=1)], 1, 1e-6)
    assert out["RISK_MEASURE"]["result"][0] == list(frame.columns)
    names = [row[0] for row in out["STRESS_TEST"]["result"][1:]]
    assert "2011 euro crisis and US downgrade" in names
    assert out["STRESS_TEST:scenarios"]["result"][1][:1] == ["Oil shock"]


def test_bad_input_is_one_request_and_the_servers_message(base_url, sheet):
    out = run_client(
        base_url,
        [
            {"func": "STATE_CVAR", "args": [sheet, None, 95]},
            {"func": "REGIME_PROB", "args": [sheet, 7]},
            {"func": "RISK_MEASURE", "args": [sheet, None, None, None]},
        ],
        timeout=LIMIT,
    )
    for r in out:
        assert not r["ok"] and r["error_class"] == "CustomFunctions.Error", r
        assert r["code"] == "#VALUE!"
        assert r["requests"] == 1, r  # 400: never retried
        assert "\n" not in r["message"] and len(r["message"]) <= 255
    assert out[0]["message"] == (
        "STATE_CVAR: confidence: must be between 0.5 and 1 (got 95). Write 0.95."
    )
    assert out[1]["message"].startswith("REGIME_PROB: n_states: ")
    assert out[2]["message"].startswith("RISK_MEASURE: measure: is required")


class FlakyProxy:
    """A stand-in origin for the task pane. GET: forwarded to the real server (the page and
    its scripts). POST (a function call): answered by the calling cell's rule, a status code
    or None (the connection closed without an answer: a network failure); each POST is counted
    and its headers kept, by cell."""

    def __init__(self, upstream: str, rules: dict[str, int | None]) -> None:
        self.rules = rules
        self.posts: dict[str, int] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.bodies: dict[str, dict[str, Any]] = {}
        lock = threading.Lock()
        proxy = self
        self.client = httpx.Client(base_url=upstream, timeout=30)

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms stalls

            def do_GET(self) -> None:
                with lock:  # one upstream connection, reused
                    r = proxy.client.get(self.path)
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers.get("content-type", "text/plain"))
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                cell = str(body["caller_address"]).split("]")[-1]
                with lock:
                    proxy.posts[cell] = proxy.posts.get(cell, 0) + 1
                    proxy.headers[cell] = {k.lower(): v for k, v in self.headers.items()}
                    proxy.bodies[cell] = body
                status = proxy.rules[cell]
                if status is None:
                    self.close_connection = True
                    return
                data = json.dumps({"detail": f"proxy answered {status}"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the client loads ~25 modules at once (default 5)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FlakyProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.close()


def test_5xx_and_network_errors_are_retried_4xx_is_not(base_url, served_config, sheet):
    retries = served_config["customFunctionsMaxRetries"]
    assert retries >= 1 and 503 in served_config["customFunctionsRetryCodes"]
    assert 400 not in served_config["customFunctionsRetryCodes"]

    rules: dict[str, int | None] = {"Sheet1!C1": 503, "Sheet1!C2": None, "Sheet1!C3": 400}
    with FlakyProxy(base_url, rules) as proxy:
        out = run_client(
            proxy.url,
            [{"func": "REGIME_CURRENT", "args": [sheet[:50]], "address": c} for c in rules],
            timeout=LIMIT,
        )
    unavailable, dropped, bad = out
    assert unavailable["error_class"] == "CustomFunctions.Error"
    assert unavailable["message"] == "proxy answered 503"
    assert unavailable["requests"] == retries
    assert dropped["error_class"] == "CustomFunctions.Error"
    assert "Network error" in dropped["message"]
    assert dropped["requests"] == retries
    assert bad["message"] == "proxy answered 400" and bad["requests"] == 1
    assert proxy.posts == {"Sheet1!C1": retries, "Sheet1!C2": retries, "Sheet1!C3": 1}


def test_what_the_client_sends(base_url, served_config):
    """The request the served code builds from the stubbed runtime: caller cell with the
    workbook name, culture and date format (from Excel.RequestContext via xlwings' utils.js),
    runtime 1.4, and the Authorization header from the served auth.js. run_client(token=...)
    puts the token in localStorage["regimeRiskToken"]; xlwings Server's own auth.js (no
    providers) ignores it and sends an empty Authorization, the project's sends the token."""
    auth_js = httpx.get(base_url + "/static/js/auth.js", timeout=30).text
    with FlakyProxy(base_url, {"Sheet1!D1": 400}) as proxy:
        (out,) = run_client(
            proxy.url,
            [
                {
                    "func": "STATE_CVAR",
                    "args": [[["Date", "A"], [45292, 0.01]], None, 0.9],
                    "address": "Sheet1!D1",
                }
            ],
            token="t0k",
        )
    assert out["requests"] == 1 and out["message"] == "proxy answered 400"
    body = proxy.bodies["Sheet1!D1"]
    assert body["func_name"] == "state_cvar"
    assert body["args"] == [[["Date", "A"], [45292, 0.01]], None, 0.9]
    assert body["caller_address"] == "[Book1.xlsx]Sheet1!D1"
    assert (body["culture_info_name"], body["date_format"]) == ("en-US", "M/d/yyyy")
    assert (body["client"], body["runtime"]) == ("Office.js", "1.4")
    assert body["version"] == served_config["xlwingsVersion"]
    sent = proxy.headers["Sheet1!D1"]
    assert sent["content-type"].startswith("application/json")
    if "regimeRiskToken" in auth_js:  # the scheme ("Bearer ") is auth.js' business
        assert sent["authorization"].endswith("t0k")
    else:
        assert sent.get("authorization", "") == ""


def test_concurrent_calls_are_counted_per_call(base_url, sheet):
    """Several calls in flight at once (as Excel recalculates a sheet): each gets its own
    result and request count."""
    calls = [{"func": "STATE_CVAR", "args": [sheet, None, 0.95 + i / 1000]} for i in range(4)] + [
        {"func": "STATE_CVAR", "args": [sheet, None, 90 + i]} for i in range(2)
    ]
    out = run_client(base_url, calls, concurrency=6, timeout=LIMIT)
    assert [r["ok"] for r in out] == [True] * 4 + [False] * 2
    assert [r["requests"] for r in out] == [1] * 6
    assert out[4]["message"].startswith("STATE_CVAR: confidence: must be between 0.5 and 1")


def test_tokens_through_the_served_client(node, tmp_path, sheet):
    """The task pane's token (localStorage) reaches the server through the served auth.js:
    the right token computes; none, a wrong one and xlwings' public "test-token" are a
    one-line #VALUE! after exactly one request (401 is not retried)."""
    from xlfuncs.server import token_digest

    tokens = tmp_path / "tokens.txt"
    tokens.write_text(token_digest("desk-token-1") + "\n")
    call = [{"func": "REGIME_CURRENT", "args": [sheet]}]
    with start_server("--workers", "1", "--tokens", str(tokens)) as server:
        good = run_client(server.url, call, token="desk-token-1", timeout=LIMIT)[0]
        outcomes = {
            label: run_client(server.url, call, token=token, timeout=LIMIT)[0]
            for label, token in (
                ("none", None),
                ("wrong", "desk-token-2"),
                ("public", "test-token"),
            )
        }
    assert good["ok"] and good["result"][0][0] == "Date" and good["requests"] == 1
    for label, r in outcomes.items():
        assert not r["ok"] and r["error_class"] == "CustomFunctions.Error", (label, r)
        assert r["requests"] == 1, (label, r)
    assert outcomes["none"]["message"].startswith("authentication required")
    assert outcomes["wrong"]["message"] == "the access token was not accepted; ask for a new one"
    assert outcomes["public"]["message"] == outcomes["wrong"]["message"]
