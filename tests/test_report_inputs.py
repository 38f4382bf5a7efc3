"""The report holds for every kind of input: prices or returns, simple or log, sample, CSV or
XLSX, every detector, 2 to 4 states. Each case is built, recalculated in LibreOffice and must
show 0 error cells and a TRUE master check (every check on the Checks sheet)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.config import parse_config
from engine.data import align_prices, load_sample_prices, prices_to_returns
from engine.pipeline import run_analysis
from workbooks.cached import read_cell_values
from workbooks.recalc import read_formulas, read_values, recalculate, soffice_path
from workbooks.report import MASTER_CHECK_CELL, build_report
from workbooks.report.about import RERUN_CELL

ASSETS = ["SP500", "GOLD", "WTI"]
# (source, kind, return method, detector, states): every value of each axis at least once
CASES = [
    ("csv", "prices", "simple", "hmm", 2),
    ("csv", "returns", "simple", "hmm", 3),
    ("csv", "returns", "log", "jump", 2),
    ("xlsx", "prices", "log", "gmm", 4),
    ("xlsx", "returns", "simple", "supervised", 2),
    ("sample", "prices", "simple", "kmeans", 3),
    ("csv", "prices", "simple", "markov_switching", 2),
    ("csv", "prices", "log", "neural", 3),
]


@pytest.fixture(scope="module")
def input_files(tmp_path_factory) -> dict[tuple[str, str, str], Path]:
    """SP500, GOLD, WTI 2009-2012 written as a user would: prices, simple and log returns."""
    d = tmp_path_factory.mktemp("inputs")
    prices, _ = align_prices(load_sample_prices(ASSETS, "2009-01-01", "2012-12-31"))
    tables = {
        ("prices", "simple"): prices,
        ("prices", "log"): prices,
        ("returns", "simple"): prices_to_returns(prices),
        ("returns", "log"): prices_to_returns(prices, "log"),
    }
    out = {}
    for (kind, method), table in tables.items():
        out[("csv", kind, method)] = d / f"{kind}_{method}.csv"
        table.to_csv(out[("csv", kind, method)])
        out[("xlsx", kind, method)] = d / f"{kind}_{method}.xlsx"
        table.to_excel(out[("xlsx", kind, method)])
    return out


def _config(source: str, kind: str, method: str, detector: str, states: int, path: Path) -> str:
    data = (
        'source = "sample"\nstart = "2009-01-01"\nend = "2012-12-31"'
        if source == "sample"
        else f'source = "{source}"\npath = "{path.as_posix()}"'
    )
    return f"""
[data]
{data}
columns = {ASSETS!r}
kind = "{kind}"
return_method = "{method}"
[portfolio]
weights = [0.5, 0.3, 0.2]
[regimes]
method = "{detector}"
n_states = {states}
[backtest]
window = 252
"""


@pytest.mark.slow
@pytest.mark.parametrize(("source", "kind", "method", "detector", "states"), CASES)
def test_every_input_kind_recalculates_with_all_checks_true(
    source, kind, method, detector, states, input_files, tmp_path
):
    if soffice_path() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is required under CI=true (.ci/run installs it)")
        pytest.skip("LibreOffice not installed: the recalculation matrix did not run")
    path = input_files.get((source, kind, method), Path())
    cfg = parse_config(_config(source, kind, method, detector, states, path))
    res = run_analysis(cfg)
    assert res.prices.shape[0] == res.returns.shape[0] + 1  # one base row before the returns
    built = build_report(res, tmp_path / "r.xlsx")
    recalculated = recalculate(built)
    values = read_values(recalculated)
    errors = [
        f"{sheet}!{ref}: {v}"
        for sheet, cells in values.items()
        for ref, v in cells.items()
        if isinstance(v, str) and (v.startswith("#") or v.startswith("Err:"))
    ]
    assert errors == []
    failing = [ref for ref, v in values["Checks"].items() if v is False]
    sheet, cell = MASTER_CHECK_CELL.split("!")
    assert values[sheet][cell] is True, f"failing checks: {failing}"
    # every formula cell of the file as built carries the engine's value as its cached value
    # (what a viewer that does not calculate shows), and it is LibreOffice's result
    engine_values = read_cell_values(built)
    libreoffice = read_cell_values(recalculated)
    for sheet_name, cells in read_formulas(built).items():
        for ref in cells:
            where = f"{sheet_name}!{ref}"
            assert ref in engine_values[sheet_name], f"{where}: no cached value"
            got, want = engine_values[sheet_name][ref], libreoffice[sheet_name].get(ref)
            assert _same(got, want), f"{where}: engine {got!r}, LibreOffice {want!r}"


def _same(a: object, b: object) -> bool:
    """Equal as a viewer sees them: numbers within 1e-9 (relative), "" and an empty cell alike,
    TRUE and LibreOffice's 1 alike."""
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(b)))
    return a == b


WHAT_IF = [
    # (input edited, new value, blocks that must say "re-run needed"); [] = none
    (
        "Weights",
        (0.5, 0.35, 0.15),
        ["StateRisk", "VaRBacktest", "Backtest", "Attribution", "StressTests"],
    ),
    ("CostBps", 25, ["Backtest", "Attribution"]),
    ("Confidence", 0.99, ["StateRisk"]),
    ("Tolerance", 1e-6, []),
]


@pytest.mark.slow
def test_editing_an_input_marks_the_engine_blocks_it_feeds_stale(input_files, tmp_path):
    """What-if edits on Assumptions, as a user makes them: the blocks of engine values computed
    from the edited input say 're-run needed' on About and the master check turns FALSE; an
    input no engine value uses (Tolerance) leaves everything current."""
    from openpyxl import load_workbook

    if soffice_path() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is required under CI=true (.ci/run installs it)")
        pytest.skip("LibreOffice not installed: the what-if edits did not run")
    path = input_files[("csv", "prices", "simple")]
    cfg = parse_config(_config("csv", "prices", "simple", "hmm", 2, path))
    built = build_report(run_analysis(cfg), tmp_path / "base.xlsx")
    cell = MASTER_CHECK_CELL.split("!")[1]
    for name, value, stale in WHAT_IF:
        wb = load_workbook(built)
        (target_sheet, ref), *_ = wb.defined_names[name].destinations
        cells = wb[target_sheet][ref.replace("$", "")]
        if isinstance(value, tuple):
            for c, v in zip(cells[0], value, strict=True):
                c.value = v
        else:
            cells.value = value
        edited = tmp_path / f"{name}.xlsx"
        wb.save(edited)
        about = read_values(recalculate(edited), sheets=["About"])["About"]
        rerun = about[RERUN_CELL.split("!")[1]]
        assert about[cell] is (not stale), name
        if stale:
            assert rerun.startswith("re-run needed: "), name
            named = {b.strip() for b in rerun.removeprefix("re-run needed: ").split(";")}
            assert named - {""} == set(stale), name
        else:
            assert rerun == "none", name


@pytest.mark.slow
def test_report_backtest_equals_the_allocation_study():
    """The report's static and regime-aware figures are scripts/compare_allocation.py's
    'Static fixed' and 'Dynamic HMM min-variance' for the same data, weights, window, schedule,
    costs and cash (the bundled CASH index, so Sharpe is over cash), to 1e-9."""
    import numpy as np

    from engine.backtest.study import allocation_study
    from engine.data import align_prices, load_sample_prices, prices_to_returns

    cfg = parse_config(
        """
[data]
source = "sample"
columns = ["SP500", "GOLD", "WTI"]
start = "2000-01-01"
end = "2012-12-31"
[portfolio]
weights = [0.6, 0.25, 0.15]
"""
    )
    res = run_analysis(cfg)
    prices, _ = align_prices(load_sample_prices(ASSETS, "2000-01-01", "2012-12-31"))
    cash = prices_to_returns(load_sample_prices(["CASH"])).iloc[:, 0]
    study = allocation_study(prices_to_returns(prices), [0.6, 0.25, 0.15], cash, n_boot=10)
    ours = res.comparison.table
    for mine, theirs in (("Static", "Static fixed"), ("Dynamic", "Dynamic HMM min-variance")):
        np.testing.assert_allclose(
            ours[mine].to_numpy(), study.table[theirs].to_numpy(), rtol=1e-9, atol=1e-12
        )
    assert res.cash is not None and (res.cash > 0).mean() > 0.8  # 2000-12: 87% of days earn


def test_a_missing_return_is_a_day_without_a_move(tmp_path):
    """Returns input: a blank return (a holiday in one market) is a zero return after
    alignment, not a repeat of the day before; a return dated off the calendar compounds into
    the next calendar day; the prices are the index levels the returns imply."""
    import numpy as np
    import pandas as pd

    days = pd.bdate_range("2020-01-01", periods=400)
    rng = np.random.default_rng(3)
    table = pd.DataFrame(rng.normal(0.0, 0.01, (400, 2)), index=days, columns=["A", "B"])
    table.iloc[100, 1] = np.nan  # B missing on day 100
    table.iloc[200, 0] = np.nan  # A (the calendar) has no day 200: B's return that day...
    path = tmp_path / "r.csv"
    table.rename_axis("Date").to_csv(path)
    cfg = parse_config(
        f'[data]\nsource = "csv"\npath = "{path.as_posix()}"\ncolumns = ["A", "B"]\n'
        'kind = "returns"\n[backtest]\nwindow = 120\n'
    )
    res = run_analysis(cfg)
    r = res.returns
    assert r.loc[days[100], "B"] == 0.0  # not table.iloc[99, 1]
    assert r.loc[days[101], "B"] == pytest.approx(table.iloc[101, 1], abs=1e-15)
    assert days[200] not in r.index  # ... compounds into day 201
    both = (1 + table.iloc[200, 1]) * (1 + table.iloc[201, 1]) - 1
    assert r.loc[days[201], "B"] == pytest.approx(both, abs=1e-15)
    assert r.loc[days[150], "A"] == pytest.approx(table.iloc[150, 0], abs=1e-15)
    assert res.prices.iloc[0].tolist() == [1.0, 1.0] and len(res.prices) == len(r) + 1


@pytest.mark.slow
def test_report_with_exogenous_series_names_its_features(input_files, tmp_path):
    """CSV prices and a CSV VIX (published a day late): the report recalculates with every
    check TRUE, and Assumptions and Lineage say which features fed the model."""
    import numpy as np
    import pandas as pd
    from openpyxl import load_workbook

    from engine.data import simulate_state_indicator

    if soffice_path() is None:
        pytest.fail("LibreOffice is required for the recalculation (.ci/run installs it)")
    dates = pd.bdate_range("2008-06-02", "2013-01-31")
    calm = pd.Series((np.sin(np.arange(len(dates)) / 50.0) > 0.5).astype(int), index=dates)
    vix = simulate_state_indicator(calm, seed=2)
    vix_path = tmp_path / "vix.csv"
    pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "VIX": vix.to_numpy()}).to_csv(
        vix_path, index=False
    )
    text = _config("csv", "prices", "simple", "gmm", 2, input_files[("csv", "prices", "simple")])
    text = text.replace(
        "[portfolio]",
        f'exogenous = [{{source = "csv", path = "{vix_path.as_posix()}", columns = ["VIX"], '
        "lag_days = 1}]\n[portfolio]",
    ).replace(
        "n_states = 2\n",
        'n_states = 2\nfeatures = [{name = "ewm_log_vol", halflife = 3}, '
        '{name = "level", series = "VIX"}, {name = "change", series = "VIX", periods = 5}]\n',
    )
    res = run_analysis(parse_config(text))
    built = build_report(res, tmp_path / "r.xlsx")
    values = read_values(recalculate(built))
    sheet, cell = MASTER_CHECK_CELL.split("!")
    assert values[sheet][cell] is True
    wb = load_workbook(built, data_only=True)
    shown = {
        str(r[0]): r[1]
        for ws in (wb["Assumptions"], wb["Lineage"])
        for r in ws.iter_rows(values_only=True)
        if r and r[0] is not None and len(r) > 1
    }
    assert shown["Features"] == "ewm_log_vol_3, level_VIX, change_5_VIX"
    assert shown["ExogenousSeries"] == "VIX (csv, level, lag 1 days)"
    assert shown["Features fed to the model"] == shown["Features"]
    assert shown["Exogenous alignment"].startswith(
        "VIX: daily (median spacing 1 days), publication lag 1"
    )
    assert len(shown["Exogenous data SHA-256"]) == 64
