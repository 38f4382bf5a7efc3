"""The Assumptions sheet: every input once, as workbook-level named cells."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.utils import get_column_letter as col_letter

from workbooks.io import put_text
from workbooks.report.layout import (
    HEADER_FONT,
    PCT,
    define_name,
    header,
    mark_input,
    set_widths,
    title,
)

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult


def build_assumptions(wb: Workbook, res: AnalysisResult) -> None:
    """Every input once: a named, editable cell per setting, and the portfolio weights."""
    ws = wb.create_sheet("Assumptions")
    cfg = res.config
    title(ws, "Assumptions: every input once. Blue cells are inputs (named cells).")
    header(ws, 2, ["Name", "Value", "Unit", "Source", "Description"])
    live = "drives live formulas"
    rerun = "engine input: change it in the configuration and re-run the report"
    rows = [
        (
            "Confidence",
            cfg.risk.confidence,
            "fraction",
            "config risk.confidence",
            f"VaR/CVaR confidence level; {live}",
        ),
        (
            "PeriodsPerYear",
            cfg.risk.periods_per_year,
            "periods per year",
            "config risk.periods_per_year",
            f"annualisation factor; {live}",
        ),
        (
            "Tolerance",
            cfg.report.tolerance,
            "relative",
            "config report.tolerance",
            "largest relative difference a check accepts between a formula and the engine",
        ),
        (
            "NStates",
            cfg.regimes.n_states,
            "count",
            "config regimes.n_states",
            f"number of regimes; {rerun}",
        ),
        (
            "Method",
            cfg.regimes.method,
            "name",
            "config regimes.method",
            f"regime detector; {rerun}",
        ),
        (
            "Seed",
            cfg.regimes.seed,
            "integer",
            "config regimes.seed",
            f"random seed of the detector; {rerun}",
        ),
        (
            "ReturnMethod",
            cfg.data.return_method,
            "name",
            "config data.return_method",
            "simple: P_t/P_t-1 - 1; log: ln(P_t/P_t-1)",
        ),
        (
            "MaxWeight",
            cfg.allocation.max_weight,
            "fraction",
            "config allocation.max_weight",
            f"largest weight per asset in the regime allocation; {rerun}",
        ),
        (
            "VaRConfidence",
            cfg.risk.var_confidence,
            "fraction",
            "config risk.var_confidence",
            f"level of the backtested 1-day VaR; {live}",
        ),
        (
            "VaRWindow",
            cfg.risk.var_window,
            "days",
            "config risk.var_window",
            f"history behind each VaR forecast; {rerun} (it sets the formula ranges)",
        ),
        (
            "BaselWindow",
            cfg.regulatory.basel_window,
            "days",
            "BCBS (1996)",
            f"days the traffic light counts; {rerun} (it sets the formula range)",
        ),
        (
            "BaselConfidence",
            cfg.regulatory.basel_confidence,
            "fraction",
            "BCBS (1996)",
            f"VaR level of the traffic light; {live}",
        ),
        (
            "BaselGreenLimit",
            cfg.regulatory.basel_green_limit,
            "probability",
            "BCBS (1996) Table 2",
            f"green while P(X <= exceptions) is below it; {live}",
        ),
        (
            "BaselRedLimit",
            cfg.regulatory.basel_red_limit,
            "probability",
            "BCBS (1996) Table 2",
            f"red from this P(X <= exceptions) on; {live}",
        ),
        (
            "UCITSLimit",
            cfg.regulatory.ucits_limit,
            "fraction of NAV",
            "CESR/10-788 Box 15",
            f"absolute VaR limit (99%, 20 days); {live}",
        ),
        (
            "UCITSHorizon",
            cfg.regulatory.ucits_horizon,
            "days",
            "CESR/10-788 Box 15",
            f"holding period of the limit; {live}",
        ),
        (
            "UCITSConfidence",
            cfg.regulatory.ucits_confidence,
            "fraction",
            "CESR/10-788 Box 15",
            f"confidence of the limit; {live}",
        ),
        (
            "UCITSMaxOvershootings",
            cfg.regulatory.ucits_max_overshootings,
            "count",
            "CESR/10-788 Box 18",
            f"more than this many in 250 days must be reported; {live}",
        ),
        (
            "CCDegreesOfFreedom",
            cfg.regulatory.cc_degrees_of_freedom,
            "count",
            "Christoffersen (1998)",
            "degrees of freedom of the conditional coverage LR",
        ),
        (
            "CostBps",
            cfg.backtest.cost_bps,
            "basis points, one way",
            "config backtest.cost_bps",
            f"trading cost on |change in weights| of NAV; {live} (the trades are engine output)",
        ),
        ("BasisPoint", 0.0001, "fraction", "definition", "one basis point"),
    ]
    for i, (name, value, unit, source, desc) in enumerate(rows, start=3):
        put_text(ws, i, 1, name)
        cell = mark_input(ws.cell(row=i, column=2, value=value))
        if isinstance(value, str):
            cell.data_type = "s"
        put_text(ws, i, 3, unit)
        put_text(ws, i, 4, source)
        put_text(ws, i, 5, desc)
        define_name(wb, name, f"Assumptions!$B${i}")
    r = 3 + len(rows) + 1
    put_text(ws, r, 1, "Portfolio weights").font = HEADER_FONT
    put_text(ws, r, 5, f"one weight per asset, summing to 1 (config portfolio.weights); {live}")
    for j, asset in enumerate(res.returns.columns):
        put_text(ws, r + 1, 2 + j, asset).font = HEADER_FONT
        mark_input(
            ws.cell(row=r + 2, column=2 + j, value=float(res.weights[j]))
        ).number_format = PCT
    put_text(ws, r + 1, 1, "Asset")
    put_text(ws, r + 2, 1, "Weights")
    last = col_letter(1 + len(res.weights))
    define_name(wb, "Weights", f"Assumptions!$B${r + 2}:${last}${r + 2}")
    set_widths(ws, {"A": 18, "B": 14, "C": 16, "D": 28, "E": 80})
    ws.freeze_panes = "A3"
