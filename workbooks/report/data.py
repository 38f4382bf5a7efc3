"""The Data sheet: prices (values), asset and portfolio returns (formulas)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.utils import get_column_letter as col_letter

from workbooks.report.checks import Checks
from workbooks.report.layout import FMT, Layout, Styler, finish_sheet, header, write_note

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult


def build_data(wb: Workbook, res: AnalysisResult, lay: Layout, checks: Checks) -> None:
    """Prices as values; asset returns (simple or log) and the portfolio return as formulas."""
    ws = wb.create_sheet("Data")
    assets = list(res.returns.columns)
    header(
        ws,
        1,
        [
            "Date",
            *(f"{a} price" for a in assets),
            *(f"{a} return" for a in assets),
            "Portfolio return",
        ],
    )
    prices = res.prices.to_numpy()
    dates = res.prices.index
    first_ret, last_ret = (
        col_letter(lay.return_col(0)),
        col_letter(lay.return_col(lay.n_assets - 1)),
    )
    style = Styler()
    rets, port = res.returns.to_numpy(), res.portfolio.to_numpy()
    for i in range(len(dates)):
        r = 2 + i
        style(ws.cell(row=r, column=1, value=dates[i].to_pydatetime()), FMT.DATE)
        for j in range(lay.n_assets):
            style(ws.cell(row=r, column=lay.price_col(j), value=float(prices[i, j])), FMT.NUMBER)
            if r >= lay.data_first:
                p = col_letter(lay.price_col(j))
                ratio = f"{p}{r}/{p}{r - 1}"
                f = f'=IF(ReturnMethod="log",LN({ratio}),{ratio}-1)'
                style(ws.cell(row=r, column=lay.return_col(j), value=f), FMT.PCT4)
                checks.expect(ws, f"{col_letter(lay.return_col(j))}{r}", float(rets[i - 1, j]))
        if r >= lay.data_first:
            f = f"=SUMPRODUCT({first_ret}{r}:{last_ret}{r},Weights)"
            style(ws.cell(row=r, column=lay.port_col, value=f), FMT.PCT4)
            checks.expect(ws, f"{col_letter(lay.port_col)}{r}", float(port[i - 1]))
    ws.freeze_panes = "B2"
    note = lay.port_col + 2
    write_note(
        ws,
        1,
        note,
        f"Daily prices and returns: {len(dates)} rows, {dates[0]:%Y-%m-%d} to "
        f"{dates[-1]:%Y-%m-%d}. Prices are input data (values); returns are formulas. "
        "Not printed: the series stay in the workbook.",
        span=8,
    )
    ws.column_dimensions["A"].width = 12
    for c in range(2, lay.port_col + 1):
        ws.column_dimensions[col_letter(c)].width = 13
    finish_sheet(ws, print_area=f"{col_letter(note)}1:{col_letter(note + 8)}2")
