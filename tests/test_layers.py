"""Dependencies point down the layers of docs/architecture.md, read from the source (no import)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# engine parts, lowest first: a part may import only parts of a lower (or its own) rank
ENGINE_RANK = {
    "__init__": 0,
    "errors": 0,
    "cache": 0,
    "data": 1,
    "features": 1,
    "risk": 1,
    "allocation": 1,
    "regimes": 2,
    "backtest": 3,
    "validation": 4,
    "config": 5,
    "pipeline": 6,
}
NEVER_IN_ENGINE = ("xlwings", "openpyxl", "xlfuncs", "workbooks")


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _part(path: Path) -> str:
    parts = path.relative_to(ROOT / "engine").with_suffix("").parts
    return parts[0]


ENGINE_FILES = sorted((ROOT / "engine").rglob("*.py"))


def test_every_engine_part_has_a_rank():
    assert {_part(p) for p in ENGINE_FILES} <= set(ENGINE_RANK)


@pytest.mark.parametrize("path", ENGINE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_imports_point_down(path):
    me = _part(path)
    for module in _imports(path):
        top = module.split(".")[0]
        assert top not in NEVER_IN_ENGINE, f"{path.name} imports {module}"
        if module.startswith("engine."):
            target = module.split(".")[1]
            assert ENGINE_RANK[target] <= ENGINE_RANK[me], (
                f"{path.relative_to(ROOT)} ({me}) imports {module} ({target}): an arrow up the "
                "layers; move the code to the layer that owns it"
            )


def test_xlfuncs_never_import_the_report_builders():
    for path in sorted((ROOT / "xlfuncs").rglob("*.py")):
        assert not any(m.split(".")[0] == "workbooks" for m in _imports(path)), path


HEAVY = ("sklearn", "statsmodels", "hmmlearn", "xlwings", "yfinance")


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("engine.config", ()),
        ("engine.pipeline", ()),
        ("workbooks.cli", ()),
        ("workbooks.report", ()),
        ("xlfuncs", ("xlwings",)),  # the decorators run at import
    ],
)
def test_heavy_libraries_load_where_they_are_used(module, allowed):
    """A command pays only for what it uses: the detectors, optimisers and xlwings import their
    libraries inside the functions that need them (timings: benchmarks/bench_imports.py)."""
    import json
    import subprocess
    import sys

    code = f"import sys, json; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = set(json.loads(out.stdout))
    assert not [h for h in HEAVY if h in loaded and h not in allowed], module
