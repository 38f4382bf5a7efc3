"""The StressTests sheet: historical scenarios as formulas; regime Monte Carlo values."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from openpyxl import Workbook
from openpyxl.utils import get_column_letter as col_letter

from workbooks.io import put_text
from workbooks.report.assumptions import provenance
from workbooks.report.checks import Checks, equal, within_tolerance
from workbooks.report.layout import (
    ENGINE_FONT,
    FMT,
    HEADER_FONT,
    Layout,
    finish_sheet,
    header,
    write_note,
)

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult


def build_stress(wb: Workbook, res: AnalysisResult, lay: Layout, checks: Checks) -> None:
    """Historical scenarios the data covers, as formulas over Data prices (buy and hold from
    the start of each window) and Regimes; regime-conditional Monte Carlo as engine output."""
    import pandas as pd

    from engine.errors import InputError
    from engine.validation.stress import historical_stress, regime_monte_carlo

    ws = wb.create_sheet("StressTests")
    assets = list(res.returns.columns)
    m = len(assets)
    labels = np.array([*res.regimes.labels, ""])
    regimes = pd.Series(labels[res.regimes.states], index=res.returns.index)
    table = historical_stress(
        res.returns, res.weights, regimes=regimes, method=res.config.data.return_method
    )
    g0, g1 = col_letter(4), col_letter(3 + m)
    heads = [
        "Scenario",
        "Start",
        "End",
        *assets,
        "Portfolio loss",
        "Portfolio loss (engine)",
        "Check",
        "Worst asset",
        "Worst asset (engine)",
        "Check",
        "Regime at start",
        "Regime (engine)",
        "Check",
    ]
    header(ws, 1, heads)
    put_text(
        ws,
        1,
        len(heads) + 2,
        "Asset columns: growth over the window (end price / start price). "
        "Losses are positive. Windows are scenario definitions; the data decides which apply.",
    ).font = ENGINE_FONT
    state = col_letter(lay.state_col)
    wr = "Weights"
    names = [str(x) for x in table["Scenario"]] if len(table) else []
    starts = pd.DatetimeIndex(table["Start"]) if len(table) else pd.DatetimeIndex([])
    ends = pd.DatetimeIndex(table["End"]) if len(table) else pd.DatetimeIndex([])
    losses = table["Portfolio loss"].to_numpy(dtype=float) if len(table) else np.array([])
    worst = [str(x) for x in table["Worst asset"]] if len(table) else []
    regs = [str(x) if x else "" for x in table["Regime at start"]] if len(table) else []
    for n, name in enumerate(names):
        i = n + 2
        put_text(ws, i, 1, name)
        ws.cell(row=i, column=2, value=starts[n].to_pydatetime()).number_format = FMT.DATE
        ws.cell(row=i, column=3, value=ends[n].to_pydatetime()).number_format = FMT.DATE
        for j in range(m):
            pc = col_letter(lay.price_col(j))
            ws.cell(
                row=i,
                column=4 + j,
                value=(
                    f"=INDEX(Data!${pc}:${pc},MATCH($C{i},Data!$A:$A,1))"
                    f"/INDEX(Data!${pc}:${pc},MATCH($B{i},Data!$A:$A,1))"
                ),
            ).number_format = "0.0000"
            px = res.prices.iloc[:, j]  # as MATCH(date, dates, 1): the last price on or before
            growth = px.loc[: ends[n]].iloc[-1] / px.loc[: starts[n]].iloc[-1]
            checks.expect(ws, f"{col_letter(4 + j)}{i}", float(growth))
        c = 4 + m
        L, E, K = col_letter(c), col_letter(c + 1), col_letter(c + 2)
        ws[f"{L}{i}"] = f"=1-(SUMPRODUCT({wr},{g0}{i}:{g1}{i})+1-SUM({wr}))"
        ws[f"{L}{i}"].number_format = FMT.PCT
        ws[f"{E}{i}"] = float(losses[n])
        ws[f"{E}{i}"].font = ENGINE_FONT
        checks.expect(ws, f"{L}{i}", float(losses[n]))
        ws[f"{K}{i}"] = within_tolerance(f"{L}{i}", f"{E}{i}")
        W_, WE, WK = col_letter(c + 3), col_letter(c + 4), col_letter(c + 5)
        ws[f"{W_}{i}"] = f"=INDEX(${g0}$1:${g1}$1,MATCH(MIN({g0}{i}:{g1}{i}),{g0}{i}:{g1}{i},0))"
        put_text(ws, i, c + 4, worst[n]).font = ENGINE_FONT
        checks.expect(ws, f"{W_}{i}", worst[n])
        ws[f"{WK}{i}"] = equal(f"{W_}{i}", f"{WE}{i}")
        R_, RE, RK = col_letter(c + 6), col_letter(c + 7), col_letter(c + 8)
        ws[f"{R_}{i}"] = f"=INDEX(Regimes!${state}:${state},MATCH($B{i},Regimes!$A:$A,1))"
        put_text(ws, i, c + 7, regs[n]).font = ENGINE_FONT
        checks.expect(ws, f"{R_}{i}", regs[n])
        ws[f"{RK}{i}"] = equal(f"{R_}{i}", f"{RE}{i}")
        checks.add(f"Stress {name}: portfolio loss", ws, f"{K}{i}")
        checks.add(f"Stress {name}: worst asset", ws, f"{WK}{i}")
        checks.add(f"Stress {name}: regime at start", ws, f"{RK}{i}")
    write_note(ws, len(table) + 2, 1, provenance(res, "StressTests"), span=8)
    r = len(table) + 4
    put_text(
        ws, r, 1, "Regime-conditional Monte Carlo, 20 days, 10,000 paths (engine output)"
    ).font = HEADER_FONT
    try:
        mc = regime_monte_carlo(
            res.returns,
            res.weights,
            res.regimes.states,
            res.regimes.detector.transmat_,
            res.regimes.current.to_numpy(),
            seed=res.config.regimes.seed,
        )
    except InputError as exc:  # e.g. a regime with too few days: say so, keep the report
        put_text(ws, r + 1, 1, f"Not computed: {exc}").font = ENGINE_FONT
        mc = {}
    for k2, (name, value) in enumerate(mc.items(), start=1):
        put_text(ws, r + k2, 1, f"99% {name}" if name in ("VaR", "ES") else name)
        cell = ws.cell(row=r + k2, column=2, value=value)
        cell.number_format, cell.font = FMT.PCT, ENGINE_FONT
    ws.column_dimensions["A"].width = 34
    finish_sheet(ws, title_rows="1:1")
