"""Bad input files: errors point into the file (row, date, column) and name the setting to fix
(`data.kind`); the kind check never fires on real returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.config import parse_config
from engine.data import align_prices, load_sample_prices, load_table, prices_to_returns
from engine.data.returns import check_declared_kind, not_returns_because
from engine.errors import InputError

ASSETS = ["SP500", "GOLD", "WTI"]


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    p, _ = align_prices(load_sample_prices(ASSETS, "2005-01-01", "2012-12-31"))
    p.index.name = "Date"
    return p


@pytest.fixture(scope="module")
def all_sample_prices() -> pd.DataFrame:
    from engine.data import sample_columns

    return load_sample_prices(sample_columns())


def _write(frame: pd.DataFrame, path) -> None:
    if path.suffix == ".csv":
        frame.to_csv(path)
    else:
        frame.to_excel(path)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_prices_declared_as_returns_are_refused_naming_data_kind(prices, tmp_path, suffix):
    path = tmp_path / f"prices{suffix}"
    _write(prices, path)
    with pytest.raises(InputError) as err:
        load_table(path, kind="returns")
    assert err.value.argument == "data.kind"
    assert "'SP500'" in err.value.message and path.name in err.value.message
    assert "kind = 'prices'" in err.value.message
    assert load_table(path, kind="prices").shape == prices.shape  # the same file as prices: fine


def test_an_index_starting_at_one_declared_as_returns_is_refused(prices):
    nav = (1 + prices_to_returns(prices) * 0.1).cumprod()  # a low-volatility index near 1.0
    with pytest.raises(InputError, match="like a price level"):
        check_declared_kind(nav, "returns", "nav.csv")


def test_percentages_beyond_100_on_most_rows_are_refused():
    pct = pd.DataFrame({"A": [150.0, -120.0, 230.0, -180.0, 90.0]})
    assert "beyond ±100%" in (not_returns_because(pct["A"]) or "")


@pytest.mark.parametrize("freq", [None, "W", "ME", "QE", "YE"])
def test_real_returns_pass_the_kind_check_at_every_frequency(all_sample_prices, freq):
    """Every bundled series (1950-2022, with 1987, 2008 and 2020), simple and log returns,
    daily to annual, stock by stock: never mistaken for prices."""
    for col in all_sample_prices.columns:
        level = all_sample_prices[col].dropna()
        if freq:
            level = level.resample(freq).last().dropna()
        simple = level.pct_change().dropna()
        log = np.log(level).diff().dropna()
        for r in (simple, log):
            assert not_returns_because(r) is None, (col, freq)


def test_crashes_cash_and_log_returns_below_minus_one_pass():
    rng = np.random.default_rng(0)
    crash = rng.normal(0, 0.01, 500)
    crash[[100, 101, 300]] = [-0.2, -0.9, 0.5]  # a 1987 day, a wipe-out, a rebound
    log = np.log1p(crash)
    log[200] = -2.5  # log return of a -92% day
    cash = np.full(500, 0.0002) + rng.normal(0, 1e-5, 500)  # positive and persistent
    frame = pd.DataFrame({"crash": crash, "log": log, "cash": cash})
    check_declared_kind(frame, "returns", "r.csv")  # does not raise


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_returns_declared_as_prices_name_row_date_and_column(prices, tmp_path, suffix):
    path = tmp_path / f"returns{suffix}"
    _write(prices_to_returns(prices), path)
    with pytest.raises(InputError) as err:
        load_table(path, kind="prices")
    assert err.value.argument == "data.kind"
    # the first return (SP500 on 2005-01-04, -1.2%) is on file row 2 (the header is row 1)
    assert "row 2, 2005-01-04, column 'SP500'" in err.value.message
    assert "kind = 'returns'" in err.value.message


def test_non_numeric_csv_cell_names_file_row_date_and_column(tmp_path):
    path = tmp_path / "px.csv"
    path.write_text("Date,A,B\n2024-01-02,1,2\n\n2024-01-03,1.5,2\n2024-01-04,1.6,12 000\n")
    with pytest.raises(InputError) as err:
        load_table(path)
    assert err.value.argument == str(path)  # the data file, not the argument `path`
    # row 5 in an editor: header 1, data 2, a blank line 3, data 4, the bad row 5
    assert "row 5 (2024-01-04), column 'B'" in err.value.message
    assert "'12 000'" in err.value.message


def test_non_numeric_xlsx_cell_names_file_row_date_and_column(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for row in (["Date", "A", "B"], ["2024-01-02", 1, 2], ["2024-01-03", 1.1, "1,5"]):
        ws.append(row)
    path = tmp_path / "px.xlsx"
    wb.save(path)
    with pytest.raises(InputError) as err:
        load_table(path)
    assert err.value.argument == str(path)
    assert "row 3 (2024-01-03), column 'B'" in err.value.message


def test_bad_dates_and_duplicates_name_their_rows(tmp_path):
    bad = tmp_path / "d.csv"
    bad.write_text("Date,A\n2024-01-02,1\n2024-01-03,2\nsoon,3\n")
    with pytest.raises(InputError, match=r"row 4: cannot read 'soon' as a date"):
        load_table(bad)
    dup = tmp_path / "dup.csv"
    dup.write_text("Date,A\n2024-01-02,1\n2024-01-03,2\n2024-01-02,3\n")
    with pytest.raises(InputError, match=r"duplicate date 2024-01-02 on rows 2 and 4"):
        load_table(dup)


def test_prices_declared_as_returns_stop_the_run_before_any_fit(prices, tmp_path):
    """The reported failure: risk_parity on prices declared as returns ended in a traceback
    ('optimisation failed: Positive directional derivative for linesearch')."""
    from engine.pipeline import run_analysis

    path = tmp_path / "prices.csv"
    prices.to_csv(path)
    cfg = parse_config(
        f'[data]\nsource = "csv"\npath = "{path.as_posix()}"\nkind = "returns"\n'
        f'columns = {ASSETS!r}\n[allocation]\nobjective = "risk_parity"\n'
    )
    with pytest.raises(InputError) as err:
        run_analysis(cfg)
    assert err.value.argument == "data.kind"


def test_prices_to_returns_names_the_bad_price_and_asks_if_they_are_returns():
    """prices_to_returns also serves the RETURNS Excel function: its message names the cell and
    asks the question without a configuration key (the loader names data.kind itself)."""
    frame = pd.DataFrame({"A": [100.0, -1.0, 99.0]}, index=pd.date_range("2024-01-02", periods=3))
    with pytest.raises(
        InputError, match=r"positive \('A' is -1 on 2024-01-03\): are these returns"
    ):
        prices_to_returns(frame)
