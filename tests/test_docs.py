"""The generated function reference matches the functions' own docstrings and argument docs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_function_reference_is_in_sync():
    env = {**os.environ, "XLWINGS_LICENSE_KEY": "noncommercial"}
    r = subprocess.run(
        [sys.executable, "scripts/function_reference.py", "--check"], cwd=ROOT, env=env
    )
    assert r.returncode == 0, "docs/functions.md is stale: run scripts/function_reference.py"


def test_every_catalogue_function_is_documented():
    import xlfuncs

    text = (ROOT / "docs" / "functions.md").read_text()
    for name in xlfuncs.__all__:
        assert f"## {name.upper()}(" in text
