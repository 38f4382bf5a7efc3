"""`regime-risk serve` on 127.0.0.1, started and stopped by the tests: the HTTP path Excel uses.

Uses the `noncommercial` licence key (tests only). Bad input must answer 4xx (Excel shows the
message and does not retry); no request may produce a 500. Also: authentication, HTTPS, the
time and size limits, the worker pool and the Redis-shared cache.
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
from tests.servers import CALL, PAYLOAD, body, start_redis, start_server


@pytest.fixture(scope="module")
def srv():
    with start_server("--workers", "2") as server:
        server.wait_ready()
        yield server


@pytest.fixture(scope="module")
def server(srv):
    return srv.client


def call(client: httpx.Client, func: str, *args: object) -> httpx.Response:
    return client.post(
        CALL, content=body(func, *args), headers={"content-type": "application/json"}
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


def test_testclient_in_process_app():
    """The served app in-process (TestClient, lifespan and worker process included), in a fresh
    interpreter so xlwings loads in server mode: good call 200, bad input 400, metadata."""
    code = (
        "import os, json\n"
        "os.environ['XLWINGS_ON_SERVER'] = 'true'\n"
        "from xlfuncs.serve import server_environment, install_pyodide_stub\n"
        "server_environment(); install_pyodide_stub()\n"
        "from fastapi.testclient import TestClient\n"
        "from xlwings_server.main import main_app\n"
        "from xlfuncs.server import ServerOptions, build_app\n"
        "app = build_app(ServerOptions(workers=1), main_app)\n"
        f"base = {PAYLOAD!r}\n"
        "rng = [['Date', 'A'], [45292.0, 100.0], [45293.0, 101.0], [45294.0, 99.0]]\n"
        "url = '/xlwings/custom-functions-call'\n"
        "with TestClient(app, raise_server_exceptions=False) as c:\n"
        "    ok = c.post(url, json={**base, 'func_name': 'returns', 'args': [rng]})\n"
        "    bad = c.post(url, json={**base, 'func_name': 'returns', 'args': [rng, [['cubic']]]})\n"
        "    meta = c.get('/xlwings/custom-functions-meta').json()\n"
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


# -- malformed requests: 4xx with one line, the connection kept open ----------------------------
GOOD = body("returns", [["Date", "A"], [45292, 100.0], [45293, 101.0], [45294, 99.0]])
MALFORMED = [
    (b"", 400, "empty request body"),
    (b"x", 400, "request body is not JSON"),
    (b"[]", 400, "must be a JSON object"),
    (b"{}", 400, "func_name: missing"),
    (b'{"func_name": 7, "args": []}', 400, "func_name: missing"),
    (b'{"func_name": "install_pyodide_stub", "args": []}', 404, "unknown function"),
    (b'{"func_name": "__init__", "args": []}', 404, "unknown function"),
    (b'{"func_name": "no_such", "args": []}', 404, "unknown function 'no_such'"),
    (b'{"func_name": "regime_prob"}', 400, "REGIME_PROB: args: missing"),
    (b'{"func_name": "regime_prob", "args": {}}', 400, "REGIME_PROB: args: missing"),
    (b'{"func_name": "regime_prob", "args": [], "runtime": {}}', 400, "runtime"),
    (b'{"func_name": "regime_prob", "args": [], "version": 1}', 400, "version: must be text"),
    (b'{"func_name": "returns", "args": [[[1, 2], [3]]]}', 400, "RETURNS:"),
    (b'{"func_name": "returns", "args": [1, 2, 3, 4, 5]}', 400, "RETURNS: arguments:"),
]


@pytest.mark.parametrize(("raw", "status", "text"), MALFORMED)
def test_malformed_envelope_is_a_4xx_with_one_line(server, raw, status, text):
    r = server.post(CALL, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert text in r.text and "\n" not in r.text and len(r.text) < 400


def test_a_4xx_keeps_the_connection_open(srv):
    """Malformed, then good, then malformed, then good on one TCP connection: four answers."""
    host, port = srv.url.removeprefix("http://").split(":")
    requests = []
    for raw in (b"{}", GOOD, b"x", GOOD):
        requests.append(
            b"POST " + CALL.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            b"\r\nContent-Length: " + str(len(raw)).encode() + b"\r\n\r\n" + raw
        )
    with socket.create_connection((host, int(port)), timeout=60) as s:
        statuses = []
        buf = b""
        for req in requests:
            s.sendall(req)
            while b"\r\n\r\n" not in buf:
                buf += s.recv(65536)
            head, _, buf = buf.partition(b"\r\n\r\n")
            assert b"connection: close" not in head.lower()
            length = int(
                next(
                    h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")
                ).split(b":")[1]
            )
            while len(buf) < length:
                buf += s.recv(65536)
            buf = buf[length:]
            statuses.append(int(head.split()[1]))
    assert statuses == [400, 200, 400, 200]


def test_no_scripts_and_no_500_on_the_script_route(server):
    r = server.post("/xlwings/custom-scripts-call/hello_world", content=b"{}")
    assert r.status_code == 404 and "custom functions only" in r.text


# -- concurrency: a cold fit does not block anyone ----------------------------------------------
def test_a_cold_fit_blocks_nobody(srv, multi_returns):
    """While one worker runs a cold 4-state fit, the front answers pages and cached calls and
    the other worker computes: they all finish before the fit does."""
    import threading

    small = excel_range(multi_returns.iloc[-300:], serial_dates=True)
    assert srv.call("regime_current", small).status_code == 200  # cached from here on
    big = excel_range(multi_returns, serial_dates=True)
    done: dict[str, float] = {}

    def cold() -> None:
        r = srv.call("regime_prob", big, 4)
        assert r.status_code == 200, r.text
        done["fit"] = time.perf_counter()

    t = threading.Thread(target=cold)
    t.start()
    time.sleep(0.2)
    assert srv.client.get("/").status_code == 200
    assert srv.call("regime_current", small).status_code == 200
    assert srv.call("returns", [["Date", "A"], [45292, 1.0], [45293, 2.0]]).status_code == 200
    finished = time.perf_counter()
    t.join()
    assert "fit" in done and finished < done["fit"]
    assert srv.health()["cache_hits"] >= 1


# -- limits -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def limited():
    with start_server("--workers", "1", "--time-limit", "0.3", "--max-rows", "2500") as s:
        s.wait_ready()
        yield s


def test_time_limit_stops_a_runaway_call_and_the_server_recovers(limited, multi_returns):
    rng = excel_range(multi_returns.iloc[-2400:], serial_dates=True)
    r = limited.call("regime_prob", rng, 4, "jump")
    assert r.status_code == 400
    assert r.text.startswith("REGIME_PROB: stopped after 0.3 s, this server's time budget")
    assert limited.health()["stopped_over_time_limit"] == 1
    ok = limited.call("returns", [["Date", "A"], [45292, 1.0], [45293, 2.0]])
    assert ok.status_code == 200  # a fresh worker replaced the stopped one
    assert limited.health()["ready"] == 1


def test_size_limit_names_the_limit(limited, multi_returns):
    r = limited.call("regime_current", excel_range(multi_returns, serial_dates=True))
    assert r.status_code == 413
    assert "REGIME_CURRENT: argument 1 has 3,2" in r.text and "--max-rows" in r.text


# -- authentication and binding -----------------------------------------------------------------
TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def authed(tmp_path_factory):
    from xlfuncs.server import token_digest

    tokens = tmp_path_factory.mktemp("auth") / "tokens.txt"
    tokens.write_text(f"# desk A\n{token_digest('someone else')}\n{token_digest(TOKEN)}  # me\n")
    with start_server("--workers", "1", "--tokens", str(tokens)) as s:
        yield s


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        ("wrong", 401),
        ("Bearer wrong", 401),
        ("test-token", 401),
        ("Bearer test-token", 401),
        ("Bearer", 401),
        (f"Bearer {TOKEN}", 200),
        (TOKEN, 200),
        (f"bearer   {TOKEN}", 200),
    ],
)
def test_tokens(authed, header, status):
    headers = {"Authorization": header} if header is not None else {}
    r = authed.call("returns", [["Date", "A"], [45292, 1.0], [45293, 2.0]], headers=headers)
    assert r.status_code == status, r.text
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer" and "\n" not in r.text


def test_what_excel_loads_without_a_token_stays_open(authed):
    for path in ("/manifest.xml", "/xlwings/custom-functions-meta", "/static/js/auth.js"):
        assert authed.client.get(path).status_code == 200, path


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.0.2.1"])
def test_serve_refuses_beyond_loopback_without_auth(host):
    r = subprocess.run(
        [sys.executable, "-m", "workbooks.cli", "serve", "--host", host, "--port", "1"],
        env={**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.startswith("regime-risk serve: refusing to listen on")
    assert len(r.stderr.strip().splitlines()) == 1


def test_insecure_warns_and_tokens_satisfy_the_check(tmp_path):
    from xlfuncs.serve import ServeArgs, server_options
    from xlfuncs.server import token_digest

    _, warnings = server_options(ServeArgs(host="0.0.0.0", insecure=True))
    assert len(warnings) == 1 and "without authentication" in warnings[0]
    tokens = tmp_path / "t.txt"
    tokens.write_text(token_digest("x") + "\n")
    options, warnings = server_options(ServeArgs(host="0.0.0.0", tokens=str(tokens)))
    assert warnings == [] and options.tokens == frozenset({token_digest("x")})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not-a-digest\n", "line 1: not a SHA-256 hex digest"),
        ("# only a comment\n", "no token digests"),
        (None, "cannot read it"),
    ],
)
def test_a_bad_tokens_file_is_one_line_and_exit_2(tmp_path, content, message):
    path = tmp_path / "tokens.txt"
    if content is not None:
        path.write_text(content)
    r = subprocess.run(
        [sys.executable, "-m", "workbooks.cli", "serve", "--tokens", str(path), "--port", "1"],
        env={**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_token_command_adds_the_digest(tmp_path):
    from xlfuncs.server import read_token_digests, token_digest

    path = tmp_path / "tokens.txt"
    r = subprocess.run(
        [sys.executable, "-m", "workbooks.cli", "token", "--tokens", str(path), "--label", "pm"],
        capture_output=True,
        text=True,
        check=True,
    )
    token = r.stdout.split("token:")[1].split()[0]
    assert read_token_digests(path) == {token_digest(token)}
    assert "# pm" in path.read_text()


def test_https_with_a_self_signed_certificate(tmp_path):
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    flags = ("--workers", "1", "--certfile", str(certfile), "--keyfile", str(keyfile))
    with start_server(*flags, https_ca=str(certfile)) as s:
        assert s.url.startswith("https://")
        r = s.call("returns", [["Date", "A"], [45292, 1.0], [45293, 2.0]])
        assert r.status_code == 200 and r.json()["result"][0] == ["Date", "A"]
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served
            httpx.get(s.url.replace("https", "http") + "/", timeout=10)
    half = subprocess.run(
        [sys.executable, "-m", "workbooks.cli", "serve", "--certfile", str(certfile)],
        env={**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert half.returncode == 2 and "--certfile and --keyfile go together" in half.stderr


# -- the Redis-shared cache ---------------------------------------------------------------------
def test_redis_shares_fits_and_responses_between_hosts(multi_returns):
    """Two servers ("hosts") on one redis-server: what one computed, the other reuses: the
    response (no worker call) and the fit (a different function over the same range)."""
    import redis

    rng = excel_range(multi_returns.iloc[-500:], serial_dates=True)
    with start_redis() as url:
        env = {"REGIME_RISK_CACHE_URL": url}
        r = redis.Redis.from_url(url)
        with start_server("--workers", "1", env=env) as a:
            first = a.call("regime_prob", rng)
            assert first.status_code == 200
        keys = {k.decode().rsplit(":", 1)[0] for k in r.keys("regime-risk:*")}
        assert keys == {"regime-risk:fit", "regime-risk:response"}
        with start_server("--workers", "1", env=env) as b:
            again = b.call("regime_prob", rng)
            assert again.content == first.content
            assert b.health()["cache_hits"] == 1 and b.health()["shared_cache"] is True
            hits = r.info("stats")["keyspace_hits"]
            cvar = b.call("state_cvar", rng)
            assert cvar.status_code == 200
            assert r.info("stats")["keyspace_hits"] > hits  # the fit came from Redis
        r.close()
    import xlfuncs

    expected = xlfuncs.state_cvar(excel_range(multi_returns.iloc[-500:]))
    got = cvar.json()["result"]
    assert got[0] == expected[0]
    np.testing.assert_allclose(
        np.array([row[1:] for row in got[1:]], dtype=float),
        np.array([row[1:] for row in expected[1:]], dtype=float),
        rtol=1e-12,
    )


def test_an_unreachable_cache_url_stops_serve_with_one_line():
    r = subprocess.run(
        [sys.executable, "-m", "workbooks.cli", "serve", "--port", "1"],
        env={
            **os.environ,
            "XLWINGS_LICENSE_KEY": "noncommercial",
            "REGIME_RISK_CACHE_URL": "redis://127.0.0.1:1/0",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        r.returncode == 2
        and "REGIME_RISK_CACHE_URL=redis://127.0.0.1:1/0: cannot reach" in r.stderr
    )


@pytest.mark.slow
def test_32_clients_get_the_single_threaded_answers(multi_returns):
    """32 clients × 50 calls drawn from 12 (3 ranges × 4 functions) against 2 workers: no
    error, and every answer byte for byte the one a separate server gave calls made one at a
    time."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    calls = []
    for k in range(3):
        rng = excel_range(multi_returns.iloc[k * 100 : k * 100 + 400], serial_dates=True)
        calls += [
            body("regime_prob", rng),
            body("state_cvar", rng),
            body("regime_weights", rng),
            body("regime_current", rng),
        ]
    headers = {"content-type": "application/json"}
    with start_server("--workers", "1") as ref:
        reference = [ref.client.post(CALL, content=c, headers=headers) for c in calls]
    assert [r.text for r in reference if r.status_code != 200] == []
    rnd = random.Random(3)
    plans = [[rnd.randrange(len(calls)) for _ in range(50)] for _ in range(32)]
    with start_server("--workers", "2") as s:

        def client(plan: list[int]) -> list[tuple[int, int, bytes]]:
            with httpx.Client(base_url=s.url, timeout=300) as c:
                return [
                    (
                        i,
                        (r := c.post(CALL, content=calls[i], headers=headers)).status_code,
                        r.content,
                    )
                    for i in plan
                ]

        with ThreadPoolExecutor(32) as pool:
            answers = [a for out in pool.map(client, plans) for a in out]
        health = s.health()
    assert len(answers) == 1600
    assert [a for a in answers if a[1] != 200] == []
    assert [i for i, _, content in answers if content != reference[i].content] == []
    assert health["cache_hits"] + health["cache_misses"] == 1600 and health["cache_misses"] >= 12
