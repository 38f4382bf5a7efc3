"""Project bootstrap: creates .venv from the lock file, then runs a task.

Usage (from the repository root, only python3.12 needed):
    python3.12 dev.py report [--out FILE] [--config FILE]   main job on the bundled data
    python3.12 dev.py test [pytest args]                     the whole test suite (parallel;
                                                             -m "not slow": the quick loop)
    python3.12 dev.py lint                                   ruff check, ruff format --check, mypy
    python3.12 dev.py bench                                  benchmark scripts
The environment is re-synced only when requirements.lock or pyproject.toml change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
UV_VERSION = "0.13.9"
STAMP = VENV / ".synced"


def _run(*cmd: str | Path, **kw: object) -> None:
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kw)  # type: ignore[call-overload]


def ensure_env() -> None:
    """Create .venv and sync it to requirements.lock (exact pins) if anything changed."""
    if sys.version_info[:2] != (3, 12):
        sys.exit(f"dev.py needs Python 3.12, this is {sys.version.split()[0]}")
    digest = hashlib.sha256(
        (ROOT / "requirements.lock").read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    ).hexdigest()
    if PY.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return
    if not PY.exists():
        print("dev.py: creating .venv", flush=True)
        _run(sys.executable, "-m", "venv", VENV)
    uv = BIN / "uv"
    if not uv.exists():
        _run(PY, "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}")
    print("dev.py: syncing .venv to requirements.lock", flush=True)
    # bytecode at install time: where PYTHONDONTWRITEBYTECODE is set, nothing else writes it and
    # every process would recompile what it imports
    _run(uv, "pip", "sync", "--compile-bytecode", "--python", PY, "requirements.lock")
    _run(uv, "pip", "install", "--python", PY, "--no-deps", "-e", ".")
    STAMP.write_text(digest)


def main(argv: list[str]) -> int:
    task, args = (argv[0], argv[1:]) if argv else ("help", [])
    if task not in {"report", "test", "lint", "bench", "env"}:
        print(__doc__)
        return 0 if task == "help" else 2
    ensure_env()
    # the project's own bytecode (cheap when current: compileall skips up-to-date files)
    _run(PY, "-m", "compileall", "-q", "-j", "0", "engine", "xlfuncs", "workbooks")
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if task == "report":
        if "--config" not in args:
            args = ["--config", "templates/report_default.toml", *args]
        if "--out" not in args:
            args = [*args, "--out", "out/regime_risk_report.xlsx"]
        return subprocess.call([str(BIN / "regime-risk"), "report", *args], cwd=ROOT, env=env)
    if task == "test":
        if not any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in args):
            # one process per core (at most 4), whole files per process so module fixtures
            # are built once; each process runs BLAS single-threaded (tests/conftest.py)
            workers = max(1, min(4, os.cpu_count() or 1))
            args = ["-n", str(workers), "--dist", "loadfile", *args]
        return subprocess.call([str(PY), "-m", "pytest", *args], cwd=ROOT, env=env)
    if task == "lint":
        rc = 0
        for cmd in (
            ["ruff", "check", "."],
            ["ruff", "format", "--check", "."],
            ["mypy"],
        ):
            print("$", " ".join(cmd), flush=True)
            rc |= subprocess.call([str(BIN / cmd[0]), *cmd[1:]], cwd=ROOT, env=env)
        return rc
    if task == "bench":
        rc = 0
        for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
            print(f"== {script.name}", flush=True)
            rc |= subprocess.call([str(PY), str(script), *args], cwd=ROOT, env=env)
        return rc
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
