"""The Regimes sheet: filtered state probabilities (engine output), the most likely
state and the portfolio return on each state's days (formulas), and their chart."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import AreaChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter as col_letter

from workbooks.report import layout as ui
from workbooks.report.assumptions import provenance
from workbooks.report.checks import Checks
from workbooks.report.layout import ENGINE_FONT, FMT, Layout, Styler, finish_sheet

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult


def build_regimes(wb: Workbook, res: AnalysisResult, lay: Layout, checks: Checks) -> None:
    """Filtered probabilities (values), the most likely state and the portfolio return on each
    state's days (formulas StateRisk reads), their stacked-area chart and row shading."""
    ws = wb.create_sheet("Regimes")
    labels = list(res.regimes.labels)
    k = lay.n_states
    ui.header(
        ws,
        1,
        ["Date", *labels, "State", *(f"Portfolio return | {lab}" for lab in labels)],
    )
    probs = res.regimes.filtered.to_numpy()
    p_first, p_last = col_letter(2), col_letter(1 + k)
    state = col_letter(lay.state_col)
    port = col_letter(lay.port_col)
    style = Styler()
    states, returns = res.regimes.states, res.portfolio.to_numpy()
    for i, d in enumerate(res.returns.index):
        r = 2 + i
        style(ws.cell(row=r, column=1, value=d.to_pydatetime()), FMT.DATE)
        for s in range(k):
            p = float(probs[i, s])  # NaN during a feature warm-up: left blank
            cell = ws.cell(row=r, column=2 + s, value=p if np.isfinite(p) else None)
            style(cell, "0.000", ENGINE_FONT)
        rng = f"{p_first}{r}:{p_last}{r}"
        ws.cell(
            row=r,
            column=lay.state_col,
            value=f'=IF(COUNT({rng})=0,"",INDEX(${p_first}$1:${p_last}$1,MATCH(MAX({rng}),{rng},0)))',
        )
        checks.expect(ws, f"{state}{r}", labels[states[i]] if states[i] >= 0 else "")
        for s in range(k):
            pc = col_letter(2 + s)
            f = f'=IF(${state}{r}={pc}$1,Data!${port}{r + 1},"")'
            style(ws.cell(row=r, column=lay.helper_col(s), value=f), FMT.PCT4)
            on_state = float(returns[i]) if states[i] == s else ""
            checks.expect(ws, f"{col_letter(lay.helper_col(s))}{r}", on_state)
    ws.freeze_panes = "B2"
    note = lay.helper_col(k - 1) + 2
    notes = [
        "Columns B..: filtered state probabilities, engine output (values): p(state on date t | "
        "returns up to t). Model parameters were estimated on the whole period shown "
        "(see Lineage).",
        "State: the most likely state each day (formula). Portfolio return | state: the Data "
        "sheet's portfolio return on that state's days (formula), used by StateRisk.",
    ]
    notes.append(provenance(res, "Regimes"))
    for i, text in enumerate(notes):
        ui.write_note(ws, 1 + i, note, text, span=12)
    chart = AreaChart()
    chart.grouping = "percentStacked"
    chart.title = "Filtered regime probabilities"
    chart.y_axis.title = "probability"
    chart.add_data(
        Reference(ws, min_col=2, max_col=1 + k, min_row=1, max_row=lay.reg_last),
        titles_from_data=True,
    )
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=lay.reg_last))
    chart.x_axis.number_format = "yyyy"
    ui.show_axes(chart)
    chart.width, chart.height = 28, 10
    ws.add_chart(chart, f"{col_letter(note)}4")
    # printed: the notes and the chart; the daily series stay in the workbook
    finish_sheet(ws, print_area=f"{col_letter(note)}1:{col_letter(note + 12)}25")
    # one rule per non-calm state colours its rows (the state column drives it)
    shades = ["FFF4CC", "FCE4D6", "F8CBAD"]
    span = f"A2:{col_letter(lay.helper_col(k - 1))}{lay.reg_last}"
    for idx, lab in enumerate(labels[1:]):
        fill = PatternFill("solid", fgColor=shades[min(idx, len(shades) - 1)])
        ws.conditional_formatting.add(span, FormulaRule(formula=[f'${state}2="{lab}"'], fill=fill))
