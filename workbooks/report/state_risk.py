"""The StateRisk sheet: per-state portfolio risk as formulas, engine values and checks beside."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.utils import get_column_letter as col_letter

from workbooks.io import put_text
from workbooks.report.assumptions import provenance
from workbooks.report.checks import Checks, equal, within_tolerance
from workbooks.report.layout import (
    ENGINE_FONT,
    FMT,
    Layout,
    finish_sheet,
    header,
    show_axes,
    title,
    write_note,
)

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult


# StateRisk columns; each state has a row from STATE_RISK_FIRST_ROW on
STATE_RISK_HEADERS = [
    "State",
    "Observations",
    "Observations (engine)",
    "Check",
    "Share of days",
    "Mean (ann.)",
    "Mean (ann.) (engine)",
    "Check",
    "Volatility (ann.)",
    "Volatility (ann.) (engine)",
    "Check",
    "Tail size k = (1-c)·n",
    "VaR",
    "VaR (engine)",
    "Check",
    "Tail value v = k-th smallest",
    "CVaR",
    "CVaR (engine)",
    "Check",
    "Max drawdown (engine)",
]
STATE_RISK_FIRST_ROW = 4


def _number(x: float) -> float | None:
    """The engine's value for a cell: a blank where it has none (NaN: too few days)."""
    return None if math.isnan(x) else float(x)


def build_state_risk(wb: Workbook, res: AnalysisResult, lay: Layout, checks: Checks) -> None:
    """Per-state portfolio risk as formulas with engine values beside, and their checks."""
    ws = wb.create_sheet("StateRisk")
    title(ws, "Portfolio risk by regime state (losses are positive numbers)")
    write_note(
        ws,
        2,
        1,
        "Formulas over Regimes and Data; grey italic columns are the engine's values; Check = "
        "|formula - engine| <= Tolerance·max(1, |engine|). CVaR: Rockafellar-Uryasev estimator. "
        + provenance(res, "StateRisk"),
        span=len(STATE_RISK_HEADERS),
    )
    header(ws, 3, STATE_RISK_HEADERS)
    engine_cols = {3, 7, 10, 14, 18, 20}
    sr = res.state_risk
    port, states = lay.port_range(), lay.state_range()
    for s, label in enumerate(res.regimes.labels):
        r = STATE_RISK_FIRST_ROW + s
        h = lay.helper_range(s)
        row = dict(zip(sr.columns, sr.loc[label].to_numpy(dtype=float), strict=True))
        # too few days for a figure: "" here, as the engine leaves it blank (NaN)
        tail = f"AND(B{r}>1,L{r}>=1-Tolerance)"  # at least 2 days and a whole tail day
        cvar = (
            f"=IF({tail},-(SUMPRODUCT(({states}=A{r})*({port}<P{r})*{port})"
            f'+(L{r}-SUMPRODUCT(({states}=A{r})*({port}<P{r})))*P{r})/L{r},"")'
        )
        values: dict[int, object] = {
            1: label,
            5: f"=B{r}/COUNT({port})",
            12: f"=(1-Confidence)*B{r}",
            16: f'=IF({tail},SMALL({h},CEILING(L{r},1)),"")',
            20: _number(row["Max drawdown"]),
        }
        # each figure: formula, engine value and check in three columns from c
        for what, c, formula, name in (
            ("observations", 2, f"=COUNT({h})", "Observations"),
            ("mean", 6, f'=IF(B{r}>0,AVERAGE({h})*PeriodsPerYear,"")', "Mean (ann.)"),
            (
                "volatility",
                9,
                f'=IF(B{r}>1,STDEV({h})*SQRT(PeriodsPerYear),"")',
                "Volatility (ann.)",
            ),
            ("VaR", 13, f'=IF({tail},-SMALL({h},FLOOR(L{r},1)+1),"")', "VaR"),
            ("CVaR", 17, cvar, "CVaR"),
        ):
            count = name == "Observations"  # a count: compared exactly
            f, e, k = (f"{col_letter(c + i)}{r}" for i in range(3))
            engine_value = int(row[name]) if count else _number(row[name])
            check = (equal if count else within_tolerance)(f, e)
            values |= {c: formula, c + 1: engine_value, c + 2: check}
            checks.add(f"StateRisk {label}: {what}", ws, k)
            checks.expect(ws, f, engine_value)
        # the helper cells' engine values: share of days, tail size k and the k-th smallest day
        days = res.portfolio.to_numpy()[res.regimes.states == s]
        tail_size = (1 - res.config.risk.confidence) * days.size
        whole = days.size > 1 and tail_size >= 1 - res.config.report.tolerance
        checks.expect(ws, f"E{r}", days.size / len(res.returns))
        checks.expect(ws, f"L{r}", tail_size)
        kth = float(np.sort(days)[math.ceil(tail_size) - 1]) if whole else ""
        checks.expect(ws, f"P{r}", kth)
        for c, v in sorted(values.items()):
            cell = put_text(ws, r, c, v) if c == 1 else ws.cell(row=r, column=c, value=v)
            if c in engine_cols:
                cell.font = ENGINE_FONT
            if c in (5, 6, 7, 9, 10, 13, 14, 16, 17, 18, 20):
                cell.number_format = FMT.PCT
    for c in range(1, len(STATE_RISK_HEADERS) + 1):
        # narrow, yet "Observations" fits: the table prints legibly on one page
        ws.column_dimensions[col_letter(c)].width = 13
    ws.row_dimensions[3].height = 60
    ws.freeze_panes = "B4"
    last = STATE_RISK_FIRST_ROW + lay.n_states - 1
    chart = BarChart()
    chart.type = "col"
    chart.title = "Portfolio VaR and CVaR by regime"
    for c in (13, 17):
        chart.add_data(Reference(ws, min_col=c, min_row=3, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=STATE_RISK_FIRST_ROW, max_row=last))
    chart.y_axis.number_format = "0%"
    show_axes(chart)
    ws.add_chart(chart, f"B{last + 3}")
    finish_sheet(ws, f"A1:{col_letter(len(STATE_RISK_HEADERS))}{last + 20}", title_rows="3:3")
