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


def test_tests_named_in_the_docs_exist():
    """Every `tests/FILE.py::test_name` a document cites is a test function in that file."""
    import re

    cited = set()
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        cited |= set(re.findall(r"tests/(test_\w+)\.py::(test_\w+)", doc.read_text()))
    assert len(cited) > 20
    missing = [
        f"{f}::{t}"
        for f, t in sorted(cited)
        if not re.search(rf"^(?:async )?def {t}\(", (ROOT / "tests" / f"{f}.py").read_text(), re.M)
    ]
    assert missing == []
