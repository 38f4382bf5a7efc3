"""The Attribution sheet: where the regime-aware portfolio's result came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.utils import get_column_letter as col_letter

from workbooks.io import put_text
from workbooks.report.assumptions import provenance
from workbooks.report.backtest import backtest_columns
from workbooks.report.checks import Checks, equal, within_tolerance
from workbooks.report.layout import ENGINE_FONT, FMT, Layout, finish_sheet, header, write_note

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult


def build_attribution(wb: Workbook, res: AnalysisResult, lay: Layout, checks: Checks) -> None:
    """Where the regime-aware portfolio's result came from: per asset (return contribution as
    formulas over Backtest weights and Data returns; Euler volatility and CVaR contributions and
    Brinson–Fachler allocation against the static portfolio as engine values) and per regime
    (days, return earned and costs as formulas over the regime in force)."""
    from engine.backtest.attribution import (
        asset_contributions,
        brinson_fachler,
        regime_contributions,
    )

    ws = wb.create_sheet("Attribution")
    comp = res.comparison
    dyn = comp.dynamic
    first, last = lay.data_first, lay.data_last
    L = first  # over the whole backtest: before the first trade the weights are zero
    assets_tab = asset_contributions(dyn, res.returns)
    bf = brinson_fachler(dyn, comp.static, res.returns)
    header(
        ws,
        1,
        [
            "Asset",
            "Return contribution",
            "Return contribution (engine)",
            "Check",
            "Volatility contribution (Euler, engine)",
            "CVaR contribution (engine)",
            "Brinson-Fachler allocation vs static (engine)",
        ],
    )
    k = backtest_columns(lay)["Dynamic"]
    w0 = int(k["c0"])  # first held weight
    for j, asset in enumerate(res.returns.columns):
        r = 2 + j
        put_text(ws, r, 1, asset)
        wc = col_letter(w0 + j)
        rc = col_letter(lay.return_col(j))
        ws[f"B{r}"] = f"=SUMPRODUCT(Backtest!{wc}{L}:{wc}{last},Data!{rc}{L}:{rc}{last})"
        ws[f"C{r}"] = float(assets_tab["Return contribution"].iloc[j])
        checks.expect(ws, f"B{r}", ws[f"C{r}"].value)
        ws[f"D{r}"] = within_tolerance(f"B{r}", f"C{r}")
        ws[f"E{r}"] = float(assets_tab["Volatility contribution (Euler)"].iloc[j])
        ws[f"F{r}"] = float(assets_tab["CVaR contribution"].iloc[j])
        ws[f"G{r}"] = float(bf["Allocation"].iloc[j])
        for cc in "CEFG":
            ws[f"{cc}{r}"].font = ENGINE_FONT
            ws[f"{cc}{r}"].number_format = FMT.PCT
        ws[f"B{r}"].number_format = FMT.PCT
        checks.add(f"Attribution {asset}: return contribution", ws, f"D{r}")
    reg = regime_contributions(dyn)
    top = 4 + len(res.returns.columns)
    header(
        ws,
        top,
        [
            "Regime in force",
            "Days",
            "Days (engine)",
            "Check",
            "Return earned",
            "Return earned (engine)",
            "Check",
            "Costs",
            "Costs (engine)",
            "Check",
        ],
    )
    rg = f"Backtest!{k['regime']}{L}:{k['regime']}{last}"
    for n, label in enumerate(reg.index, start=top + 1):
        put_text(ws, n, 1, str(label))
        ws[f"B{n}"] = f"=COUNTIF({rg},A{n})"
        ws[f"C{n}"] = int(reg.loc[label, "days"])
        ws[f"D{n}"] = equal(f"B{n}", f"C{n}")
        ws[f"E{n}"] = f"=SUMIF({rg},A{n},Backtest!{k['ret']}{L}:{k['ret']}{last})"
        ws[f"F{n}"] = float(reg.loc[label, "return_earned"])
        ws[f"G{n}"] = within_tolerance(f"E{n}", f"F{n}")
        ws[f"H{n}"] = f"=SUMIF({rg},A{n},Backtest!{k['cost']}{L}:{k['cost']}{last})"
        ws[f"I{n}"] = float(reg.loc[label, "costs"])
        for formula, engine in (("B", "C"), ("E", "F"), ("H", "I")):
            checks.expect(ws, f"{formula}{n}", ws[f"{engine}{n}"].value)
        ws[f"J{n}"] = within_tolerance(f"H{n}", f"I{n}")
        for cc in "CFI":
            ws[f"{cc}{n}"].font = ENGINE_FONT
        for cc in "EFHI":
            ws[f"{cc}{n}"].number_format = FMT.PCT
        checks.add(f"Attribution {label}: days", ws, f"D{n}")
        checks.add(f"Attribution {label}: return earned", ws, f"G{n}")
        checks.add(f"Attribution {label}: costs", ws, f"J{n}")
    write_note(ws, top + len(reg) + 2, 1, provenance(res, "Attribution"), span=10)
    ws.column_dimensions["A"].width = 16
    finish_sheet(ws)
