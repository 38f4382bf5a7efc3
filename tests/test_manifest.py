"""The add-in's own identity (issue 12, item 4): the manifest xlwings Server renders from
xlfuncs/server_project/templates, its icons, task pane and auth.js.

Each environment is served in a fresh interpreter (xlwings Server reads its settings once, at
import), through fastapi's TestClient, with the `noncommercial` licence key (tests only). The
child fetches everything and prints one JSON document; the assertions are made here. prod and
dev run concurrently.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from xlfuncs.serve import ADDIN_SETTINGS

ROOT = Path(__file__).resolve().parents[1]
NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "v": "http://schemas.microsoft.com/office/taskpaneappversionoverrides",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
XSI_TYPE = f"{{{NS['xsi']}}}type"
XLWINGS_DEFAULT_PROD_ID = "4f342d85-3a49-41cb-90a5-37b1f2219040"

# Runs in the child: serve the project as `regime-risk serve` would, fetch what Office fetches.
CHILD = r"""
import hashlib, json, os, re, struct
os.environ["XLWINGS_ON_SERVER"] = "true"  # before xlwings is imported (xlfuncs imports it)
from xlfuncs.serve import install_pyodide_stub, server_environment
server_environment()
install_pyodide_stub()
from fastapi.testclient import TestClient
from xlwings_server.config import PACKAGE_DIR, Settings
from xlwings_server.main import app

c = TestClient(app, raise_server_exceptions=False)
BASE = "http://testserver"
package_images = {
    hashlib.sha256(p.read_bytes()).hexdigest()
    for p in (PACKAGE_DIR / "static" / "images").rglob("*.png")
}

def fetch(path):
    r = c.get(path)
    out = {"status": r.status_code, "type": r.headers.get("content-type", ""), "text": ""}
    if out["type"].startswith("image/"):
        body = r.content
        out["sha256"] = hashlib.sha256(body).hexdigest()
        out["package_image"] = out["sha256"] in package_images
        if body[:8] == b"\x89PNG\r\n\x1a\n":
            out["png_size"] = list(struct.unpack(">II", body[16:24]))
    else:
        out["text"] = r.text
    return out

manifest = c.get("/manifest.xml").text
urls = sorted(set(re.findall(r'"(' + re.escape(BASE) + r'/[^"]*)"', manifest)))
fields = Settings.model_fields
print(json.dumps({
    "environment": os.environ["XLWINGS_ENVIRONMENT"],
    "manifest": manifest,
    "default_ids": [str(fields[k].default) for k in fields if k.startswith("manifest_id_")],
    "default_project_name": fields["project_name"].default,
    "urls": {u: fetch(u[len(BASE):]) for u in urls},
    "paths": {p: fetch(p) for p in (
        "/static/js/auth.js", "/static/js/ribbon.js", "/static/js/token-form.js",
        "/favicon.ico", "/xlwings/custom-functions-meta.json",
    )},
}))
"""


def _child_env(environment: str) -> dict[str, str]:
    """The test's environment without the developer's XLWINGS_* settings (hermetic)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLWINGS_")}
    env.pop("DOTENV_PATH", None)
    env.update(XLWINGS_LICENSE_KEY="noncommercial", XLWINGS_ENVIRONMENT=environment)
    return env


@pytest.fixture(scope="module")
def served() -> dict[str, dict]:
    """What xlwings Server serves, per environment (prod and dev, run concurrently)."""
    procs = {
        environment: subprocess.Popen(
            [sys.executable, "-c", CHILD],
            cwd=ROOT,
            env=_child_env(environment),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for environment in ("prod", "dev")
    }
    results = {}
    for environment, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        results[environment] = json.loads(out.strip().splitlines()[-1])
    return results


def _parse(manifest: str) -> ET.Element:
    return ET.fromstring(manifest.encode("utf-8"))


def _attr(element: ET.Element | None, path: str, name: str) -> str:
    """Attribute `name` of the first element at `path` under `element` (which must exist)."""
    assert element is not None
    found = element.find(path, NS)
    assert found is not None, path
    value = found.get(name)
    assert value is not None, (path, name)
    return value


def _strings(root: ET.Element) -> dict[str, str]:
    """bt:String resources (short and long) by id."""
    return {
        s.get("id", ""): s.get("DefaultValue", "")
        for s in root.iterfind(".//v:Resources//bt:String", NS)
    }


def _image_urls(root: ET.Element) -> dict[str, int]:
    """Every icon URL the manifest references, with the pixel size it declares."""
    urls = {
        _attr(root, "o:IconUrl", "DefaultValue"): 32,
        _attr(root, "o:HighResolutionIconUrl", "DefaultValue"): 64,
    }
    for image in root.iterfind(".//v:Resources/bt:Images/bt:Image", NS):
        match = re.fullmatch(r"Icon\.(\d+)x\1", image.get("id", ""))
        assert match is not None, image.get("id")
        size = int(match.group(1))
        urls[image.get("DefaultValue", "")] = size
    return urls


@pytest.mark.parametrize(
    ("environment", "suffix", "namespace"), [("prod", "", "RISK"), ("dev", " [dev]", "RISK_DEV")]
)
def test_manifest_identity(served, environment, suffix, namespace):
    """Own Id per environment (none of xlwings Server's defaults), own name and namespace."""
    data = served[environment]
    root = _parse(data["manifest"])
    manifest_id = root.findtext("o:Id", namespaces=NS)
    assert manifest_id == ADDIN_SETTINGS[f"XLWINGS_MANIFEST_ID_{environment.upper()}"]
    assert XLWINGS_DEFAULT_PROD_ID in data["default_ids"]  # read from xlwings Server's Settings
    assert len(data["default_ids"]) == 5
    assert manifest_id not in data["default_ids"]
    for default_id in [*data["default_ids"], XLWINGS_DEFAULT_PROD_ID]:
        assert default_id not in data["manifest"]

    name = ADDIN_SETTINGS["XLWINGS_PROJECT_NAME"]
    assert name == "Regime Risk"
    assert _attr(root, "o:DisplayName", "DefaultValue") == name + suffix
    assert data["default_project_name"] not in data["manifest"]  # "xlwings Server"
    description = _attr(root, "o:Description", "DefaultValue")
    assert description.startswith(name + suffix + ":")
    for topic in ("regime probabilities", "VaR/CVaR", "weights", "backtests"):
        assert topic in description
    assert len(description) <= 250

    namespace_el = root.find(".//v:ExtensionPoint[@xsi:type='CustomFunctions']/v:Namespace", NS)
    assert namespace_el is not None
    assert _strings(root)[namespace_el.get("resid", "")] == namespace
    assert ADDIN_SETTINGS["XLWINGS_FUNCTIONS_NAMESPACE"] == "RISK"


@pytest.mark.parametrize("environment", ["prod", "dev"])
def test_manifest_runtime_and_ribbon(served, environment):
    """Shared runtime and custom functions as xlwings Server's template has them; the ribbon is
    one button that opens the task pane; no Hello World example anywhere."""
    data = served[environment]
    manifest = data["manifest"]
    root = _parse(manifest)
    assert "hello" not in manifest.lower()
    assert "ExecuteFunction" not in manifest

    sets = root.findall("o:Requirements/o:Sets/o:Set", NS)
    assert [(s.get("Name"), s.get("MinVersion")) for s in sets] == [("SharedRuntime", "1.1")]
    host = root.find("v:VersionOverrides/v:Hosts/v:Host[@xsi:type='Workbook']", NS)
    assert host is not None
    runtime = host.find("v:Runtimes/v:Runtime", NS)
    assert runtime is not None
    assert (runtime.get("resid"), runtime.get("lifetime")) == ("Taskpane.Url", "long")
    functions = host.find("v:AllFormFactors/v:ExtensionPoint[@xsi:type='CustomFunctions']", NS)
    assert functions is not None
    resids = {
        part: _attr(functions, f"v:{part}/v:SourceLocation", "resid")
        for part in ("Script", "Page", "Metadata")
    }
    assert resids == {
        "Script": "Functions.Script.Url",
        "Page": "Taskpane.Url",
        "Metadata": "Functions.Metadata.Url",
    }
    urls = {u.get("id"): u.get("DefaultValue") for u in root.iterfind(".//v:Resources//bt:Url", NS)}
    base = "http://testserver"
    assert urls == {
        "Taskpane.Url": f"{base}/taskpane.html",
        "Functions.Script.Url": f"{base}/xlwings/custom-functions-code.js",
        "Functions.Metadata.Url": f"{base}/xlwings/custom-functions-meta.json",
    }
    source = _attr(root, "o:DefaultSettings/o:SourceLocation", "DefaultValue")
    assert source == urls["Taskpane.Url"]
    desktop = host.find("v:DesktopFormFactor", NS)
    assert desktop is not None
    assert _attr(desktop, "v:FunctionFile", "resid") == "Taskpane.Url"

    controls = host.findall(".//v:CustomTab//v:Control", NS)
    assert len(controls) == 1
    action = controls[0].find("v:Action", NS)
    assert action is not None
    assert action.get(XSI_TYPE) == "ShowTaskpane"
    assert _attr(action, "v:SourceLocation", "resid") == "Taskpane.Url"
    strings = _strings(root)
    tab_label = _attr(host, ".//v:CustomTab/v:Label", "resid")
    assert strings[tab_label].startswith("Regime Risk")

    # Office's limits: every resid resolves, resource ids at most 32 characters.
    resource_ids = {r.get("id", "") for r in root.iterfind(".//v:Resources/*/*", NS)}
    for element in root.iter():
        if (resid := element.get("resid")) is not None:
            assert resid in resource_ids
    assert all(0 < len(i) <= 32 for i in resource_ids)

    # Every URL the manifest names is served.
    for url, got in data["urls"].items():
        assert got["status"] == 200, url


@pytest.mark.parametrize("environment", ["prod", "dev"])
def test_icons_are_ours(served, environment):
    """The icons the manifest references are served as PNGs of the declared size, and none is
    one of xlwings Server's images."""
    data = served[environment]
    icons = _image_urls(_parse(data["manifest"]))
    assert set(icons.values()) == {16, 32, 64, 80}
    for url, size in icons.items():
        assert url.startswith("http://testserver/static/images/icons/regime-risk-")
        got = data["urls"][url]
        assert got["status"] == 200, url
        assert got["type"] == "image/png", url
        assert got["png_size"] == [size, size], url
        assert not got["package_image"], url
    favicon = data["paths"]["/favicon.ico"]
    assert favicon["status"] == 200
    assert not favicon["package_image"]


def test_taskpane(served):
    """The task pane names the add-in, lists every function with the namespace, has the token
    form, and uses no inline script or event handler (external token-form.js instead)."""
    data = served["prod"]
    page = data["urls"]["http://testserver/taskpane.html"]
    assert page["status"] == 200
    html = page["text"]
    assert "Regime Risk" in html
    assert "hello" not in html.lower()
    assert 'id="token-form"' in html
    assert re.search(r'<input[^>]*type="password"[^>]*id="token-input"', html)
    assert 'id="token-save"' in html
    assert 'id="token-clear"' in html
    assert "administrator issues tokens" in html
    assert "local storage" in html
    assert "/static/js/token-form.js" in html
    assert "/static/js/auth.js" in html  # base.html still loads it (and the rest)
    assert "/xlwings/custom-functions-code" in html

    # CSP-friendly: the only script without src is xlwings Server's JSON config block.
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", html)

    meta = json.loads(data["paths"]["/xlwings/custom-functions-meta.json"]["text"])
    listed = re.findall(r'data-function="([A-Z_]+)"', html)
    assert sorted(listed) == sorted(f["name"] for f in meta["functions"])
    assert all(f"<code>RISK.{name}</code>" in html for name in listed)

    form_js = data["paths"]["/static/js/token-form.js"]
    assert form_js["status"] == 200
    assert '"regimeRiskToken"' in form_js["text"]


def test_auth_js_is_ours(served):
    """/static/js/auth.js: Entra ID branch kept, otherwise the saved token as a Bearer token."""
    paths = served["prod"]["paths"]
    auth = paths["/static/js/auth.js"]
    assert auth["status"] == 200
    js = auth["text"]
    assert 'localStorage.getItem("regimeRiskToken")' in js
    assert '"Bearer " + token' in js
    assert 'provider: "token"' in js
    assert 'config.authProviders.includes("entraid")' in js
    assert "await xlwings.getAccessToken()" in js
    ribbon = paths["/static/js/ribbon.js"]
    assert ribbon["status"] == 200
    assert "Office.actions.associate" not in ribbon["text"]
