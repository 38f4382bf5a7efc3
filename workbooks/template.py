"""The portfolio manager's starter workbook (templates/pm_dashboard.xlsx).

A Returns sheet (bundled example data), a Dashboard whose every table is a function call
(current regime, per-state risk, recommended weights, backtest summary), a Regimes sheet with
the filtered probabilities and their stacked-area chart, and the `xlwings.conf` sheet naming
`xlfuncs` as the UDF module. Formulas come from the function catalogue and are written as
array formulas sized to the functions' results (computed here), which every Excel version
evaluates; Excel 365 users may retype them as ordinary formulas to let them spill.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import AreaChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter as col
from openpyxl.worksheet.formula import ArrayFormula

from engine.data import align_prices, load_sample_prices, prices_to_returns
from workbooks.io import put_text, save_atomic
from xlfuncs.functions import CATALOGUE

ASSETS = ("SP500", "GOLD", "WTI")
START, END = "2004-01-01", "2012-12-31"


def _array(ws: Any, top_left: str, formula: str, result: list[list[Any]]) -> str:
    """Write `formula` as an array formula over exactly the size of `result`; return its range."""
    if len(result) == 1 and len(result[0]) == 1 and isinstance(result[0][0], str):
        raise RuntimeError(f"{formula} returned a message, not a table: {result[0][0]}")
    r0 = ws[top_left].row
    c0 = ws[top_left].column
    ref = f"{top_left}:{col(c0 + len(result[0]) - 1)}{r0 + len(result) - 1}"
    ws[top_left] = ArrayFormula(ref, formula)
    return ref


def build_template(out: str | Path) -> Path:
    """Write the PM dashboard template; returns its path."""
    prices, _ = align_prices(load_sample_prices(list(ASSETS), START, END))
    returns = prices_to_returns(prices)
    rng = [["Date", *returns.columns]] + [
        [d.to_pydatetime(), *v]
        for d, v in zip(returns.index, returns.to_numpy().tolist(), strict=True)
    ]
    last = len(rng)
    data_ref = f"Returns!$A$1:${col(len(ASSETS) + 1)}${last}"
    wb = Workbook()
    dash = wb.active
    assert dash is not None
    dash.title = "Dashboard"
    ret = wb.create_sheet("Returns")
    for i, cells in enumerate(rng, start=1):
        for j, v in enumerate(cells, start=1):
            c = put_text(ret, i, j, v) if i == 1 else ret.cell(row=i, column=j, value=v)
            if i > 1:
                c.number_format = "yyyy-mm-dd" if j == 1 else "0.00%"
    ret.freeze_panes = "B2"
    reg = wb.create_sheet("Regimes")
    conf = wb.create_sheet("xlwings.conf")
    put_text(conf, 1, 1, "UDF Modules")
    put_text(conf, 1, 2, "xlfuncs")

    dash["A1"] = "Regime dashboard (example data: bundled S&P 500, gold, WTI returns)"
    dash["A1"].font = Font(bold=True, size=14)
    put_text(
        dash,
        2,
        1,
        "Every table below is a function over Returns!A:D. Replace the returns "
        "with your own (header row of names, dates in column A) and recalculate.",
    )
    blocks = [
        ("Current regime", "REGIME_CURRENT"),
        ("Risk by regime (equal weights, 95%)", "STATE_STATS"),
        (
            "Recommended weights (min variance per regime, blended by today's probabilities)",
            "REGIME_WEIGHTS",
        ),
        ("Backtest: static vs regime-aware (monthly, 1-day delay, 10 bp)", "BACKTEST_STATS"),
    ]
    row = 4
    for title, name in blocks:
        fn = CATALOGUE[name]
        put_text(dash, row, 1, title).font = Font(bold=True)
        result = fn.udf(rng)
        _array(dash, f"A{row + 1}", fn.formula(data_ref), result)
        row += len(result) + 3
    prob = CATALOGUE["REGIME_PROB"]
    probs = prob.udf(rng)
    prob_ref = _array(reg, "A1", prob.formula(data_ref), probs)
    chart = AreaChart()
    chart.grouping = "percentStacked"
    chart.title = "Filtered regime probabilities"
    n = len(probs)
    chart.add_data(
        Reference(reg, min_col=2, max_col=len(probs[0]), min_row=1, max_row=n),
        titles_from_data=True,
    )
    chart.set_categories(Reference(reg, min_col=1, min_row=2, max_row=n))
    chart.width, chart.height = 24, 9
    dash.add_chart(chart, f"A{row + 1}")
    put_text(reg, 1, len(probs[0]) + 2, f"Filtered probabilities: {prob_ref}")
    for c in "ABCDEFGHIJK":
        dash.column_dimensions[c].width = 16
    return save_atomic(wb, out)


if __name__ == "__main__":
    print(build_template(Path(__file__).resolve().parents[1] / "templates" / "pm_dashboard.xlsx"))
