"""xlwings Server on 127.0.0.1, started and stopped by the tests: the HTTP path Excel uses.

Uses the `noncommercial` licence key (tests only). Bad input must answer 400 (Excel shows the
message and does not retry); no input may produce a 500.
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
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import excel_range

PAYLOAD = {
    "caller_address": "[Book1.xlsx]Sheet1!E2",
    "session_id": "t",
    "culture_info_name": "en-US",
    "date_format": "m/d/yyyy",
    "version": "0.37.8",
    "runtime": "1.4",
    "client": "Office.js",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbooks.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=url, timeout=60)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if client.get("/").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"server did not start: {proc.stdout.read().decode() if proc.stdout else ''}")
    yield client
    client.close()
    proc.terminate()
    proc.wait(timeout=20)


def call(client: httpx.Client, func: str, *args: object) -> httpx.Response:
    body = {
        **PAYLOAD,
        "func_name": func,
        "args": [
            a if isinstance(a, list) and a and isinstance(a[0], list) else [[a]] for a in args
        ],
    }
    return client.post(
        "/xlwings/custom-functions-call",
        content=json.dumps(body, default=str),
        headers={"content-type": "application/json"},
    )


@pytest.fixture(scope="module")
def sheet(multi_returns):
    return excel_range(multi_returns.iloc[-800:], serial_dates=True)


def test_metadata_is_the_catalogue(server):
    """What Excel receives (names, descriptions, argument names, help and optional flags) is
    the catalogue's text, unchanged."""
    from xlfuncs.functions import CATALOGUE

    meta = server.get("/xlwings/custom-functions-meta").json()
    names = {f["name"]: f for f in meta["functions"]}
    assert set(CATALOGUE) == set(names)
    for name, entry in CATALOGUE.items():
        f = names[name]
        assert f["description"] == entry.description
        assert [p["name"] for p in f["parameters"]] == [a.name for a in entry.args]
        assert [p["description"] for p in f["parameters"]] == [a.doc for a in entry.args]
        assert [bool(p.get("optional")) for p in f["parameters"]] == [
            not a.required for a in entry.args
        ]


def test_good_call_is_200_bad_input_is_400(server, sheet):
    ok = call(server, "regime_current", sheet)
    assert ok.status_code == 200 and ok.json()["result"][0][1] == "State"
    bad = call(server, "state_cvar", sheet, [[None]], 95)
    assert bad.status_code == 400
    assert bad.text == "STATE_CVAR: confidence: must be between 0.5 and 1 (got 95). Write 0.95."


cells = st.one_of(
    st.none(),
    st.just(""),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.integers(-5, 60000),
    st.text(max_size=5),
    st.sampled_from(["#N/A", "#DIV/0!"]),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    grid=st.lists(st.lists(cells, min_size=1, max_size=4), min_size=1, max_size=6),
    func=st.sampled_from(["regime_prob", "state_cvar", "risk_measure", "returns", "var_backtest"]),
    extra=st.one_of(st.none(), cells),
)
def test_fuzzed_calls_never_answer_500(server, grid, func, extra):
    width = max(len(r) for r in grid)
    grid = [r + [None] * (width - len(r)) for r in grid]
    r = (
        call(server, func, grid, extra)
        if func != "risk_measure"
        else call(server, func, grid, "cvar", extra)
    )
    assert r.status_code in (200, 400), r.text


def test_pyodide_stub_removes_the_per_cell_import():
    """xlwings.utils.is_jsnull() imports pyodide.ffi per cell; with the stub: no lookups."""
    code = (
        "import sys\n"
        "from xlfuncs.serve import install_pyodide_stub\n"
        "install_pyodide_stub()\n"
        "class Spy:\n"
        "    hits = 0\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith('pyodide'): Spy.hits += 1\n"
        "        return None\n"
        "sys.meta_path.insert(0, Spy())\n"
        "from xlwings.utils import is_jsnull\n"
        "flags = [is_jsnull(v) for v in [1.0, None, 'x'] * 1000]\n"
        "print(Spy.hits, any(flags))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "XLWINGS_ON_SERVER": "true", "XLWINGS_LICENSE_KEY": "noncommercial"},
    )
    assert out.stdout.split() == ["0", "False"]


def test_serve_refuses_without_a_key_and_warns_beyond_loopback():
    env = {k: v for k, v in os.environ.items() if k != "XLWINGS_LICENSE_KEY"}
    r = subprocess.run(
        [sys.executable, "-m", "workbooks.cli", "serve"], env=env, capture_output=True, text=True
    )
    assert r.returncode == 2 and "XLWINGS_LICENSE_KEY" in r.stderr
    from xlfuncs.serve import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")
    assert not is_loopback("")  # uvicorn binds every interface for an empty host


@pytest.mark.parametrize(
    ("value", "providers", "error"),
    [
        (None, [], None),
        ("[]", [], None),
        ('["entraid"]', ["entraid"], None),
        ('["custom"]', None, "test-token"),
        ("entraid", None, "JSON list"),
        ('{"a": 1}', None, "JSON list"),
    ],
)
def test_auth_provider_setting_is_checked(value, providers, error):
    """'[]' is no authentication (so binding beyond loopback warns), the placeholder custom
    provider (public token 'test-token') is refused, a malformed value gets the fix."""
    from xlfuncs.serve import auth_providers

    if error is None:
        assert auth_providers(value) == providers
    else:
        with pytest.raises(ValueError, match=error):
            auth_providers(value)


def test_serve_exits_2_on_a_bad_auth_setting():
    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial", "XLWINGS_AUTH_PROVIDERS": "x"}
    r = subprocess.run(
        [sys.executable, "-m", "workbooks.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "must be a JSON list" in r.stderr


def test_shared_fit_three_functions_fit_once(multi_returns):
    """REGIME_PROB, STATE_CVAR and REGIME_WEIGHTS over one range share one fitted model."""
    import xlfuncs
    from engine.regimes import FIT_CACHE

    rng_ = excel_range(multi_returns.iloc[-700:])
    before = FIT_CACHE.stats.misses
    xlfuncs.regime_prob(rng_)
    xlfuncs.state_cvar(rng_)
    xlfuncs.regime_weights(rng_)
    assert FIT_CACHE.stats.misses == before + 1
    for _ in range(100):
        xlfuncs.state_cvar(rng_, None, 0.99)
    assert FIT_CACHE.stats.misses == before + 1
    assert np.isfinite(xlfuncs.state_cvar(rng_, None, 0.99, "Calm"))


def test_fastapi_testclient_in_process_app():
    """The same app in-process (TestClient), in a fresh interpreter so xlwings loads in server
    mode: good call 200, bad input 400, unknown function not 500-retried as 200."""
    code = (
        "import os, json\n"
        "os.environ['XLWINGS_ON_SERVER'] = 'true'\n"
        "from xlfuncs.serve import PROJECT_DIR, install_pyodide_stub\n"
        "install_pyodide_stub()\n"
        "os.environ['XLWINGS_PROJECT_DIR'] = str(PROJECT_DIR)\n"
        "from fastapi.testclient import TestClient\n"
        "from xlwings_server.main import app\n"
        "c = TestClient(app, raise_server_exceptions=False)\n"
        f"base = {PAYLOAD!r}\n"
        "rng = [['Date', 'A'], [45292.0, 100.0], [45293.0, 101.0], [45294.0, 99.0]]\n"
        "url = '/xlwings/custom-functions-call'\n"
        "ok = c.post(url, json={**base, 'func_name': 'returns', 'args': [rng]})\n"
        "bad = c.post(url, json={**base, 'func_name': 'returns', 'args': [rng, [['cubic']]]})\n"
        "meta = c.get('/xlwings/custom-functions-meta').json()\n"
        "print(json.dumps([ok.status_code, bad.status_code, bad.text, len(meta['functions'])]))\n"
    )
    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    ok, bad, text, n = json.loads(out.stdout.strip().splitlines()[-1])
    assert (ok, bad) == (200, 400)
    assert text == "RETURNS: method: must be one of simple, log (got 'cubic')"
    import xlfuncs

    assert n == len(xlfuncs.__all__)
