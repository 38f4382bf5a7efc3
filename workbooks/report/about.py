"""The About sheet: purpose, data, run time and the master check."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from openpyxl.styles import Alignment
from openpyxl.worksheet.worksheet import Worksheet

import engine
from workbooks.io import put_text
from workbooks.report.checks import Checks
from workbooks.report.layout import (
    FMT,
    HEADER_FONT,
    TIMESTAMP,
    Layout,
    finish_sheet,
    set_widths,
    title,
)

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult


MASTER_CHECK_CELL = "About!B9"  # the "Master check" line below: row 3 + its index
VERIFICATION_CELL = "About!B10"  # the line after it: set by `regime-risk report` once verified
NOT_VERIFIED = (
    "not independently recalculated: a viewer that does not calculate shows the engine's values"
)
RERUN_CELL = "About!B11"  # which engine blocks need a re-run after an edit ("none")


def build_about(
    ws: Worksheet,
    res: AnalysisResult,
    lay: Layout,
    master: str,
    rerun: str,
    run_time: dt.datetime,
    checks: Checks,
) -> None:
    """The title page on `ws` (the workbook's first sheet): purpose, data, run time, the date
    range, a link to the `master` check and to the `rerun` line (which engine blocks are stale
    after an edit of the inputs)."""
    cfg = res.config
    title(ws, cfg.report.title)
    lines: list[tuple[str, object]] = [
        (
            "Purpose",
            "Regimes of the market, the portfolio's risk in each regime, and regime-aware "
            "weights. Every input is on Assumptions; derived numbers are live formulas with the "
            "engine's value and a check beside them.",
        ),
        (
            "Data",
            "Bundled example data (not investment data): see Lineage and docs/data.md"
            if cfg.data.source == "sample"
            else f"{cfg.data.source}: {cfg.data.path or ''}",
        ),
        ("Engine version", engine.__version__),
        ("Run time (UTC)", run_time.strftime(TIMESTAMP)),
        ("First return date", f"=MIN(Data!$A${lay.data_first}:$A${lay.data_last})"),
        ("Last return date", f"=MAX(Data!$A${lay.data_first}:$A${lay.data_last})"),
        ("Master check", f"={master}"),
        ("Independent recalculation", NOT_VERIFIED),
        ("Re-run needed", f"={rerun}"),
        (
            "Conventions",
            f"{res.config.data.return_method.capitalize()} returns (ReturnMethod); "
            "VaR/CVaR/drawdown are positive losses; volatility ddof=1, annualised with "
            "PeriodsPerYear; filtered (causal) regime probabilities.",
        ),
        (
            "Legend",
            "blue on yellow: live input (Assumptions); grey fill: run setting (re-run to "
            "change); grey italic: engine output (values computed in Python at the run, each "
            "block with a provenance note); black: formulas; Check columns: TRUE when the "
            "formula equals the engine's value within Tolerance.",
        ),
        ("Sheets", ", ".join(ws.parent.sheetnames)),  # About is filled in last
    ]
    expected = {  # the engine's value of each formula line
        "First return date": res.returns.index[0].to_pydatetime(),
        "Last return date": res.returns.index[-1].to_pydatetime(),
        "Master check": True,
        "Re-run needed": "none",
    }
    for i, (k, v) in enumerate(lines, start=3):
        label = put_text(ws, i, 1, k)
        label.font, label.alignment = HEADER_FONT, Alignment(vertical="top")
        if isinstance(v, str) and v.startswith("="):
            cell = ws.cell(row=i, column=2, value=v)
            checks.expect(ws, f"B{i}", expected[k])
            cell.number_format = FMT.DATE if "Data!" in v else FMT.BOOL
        else:
            put_text(ws, i, 2, v).alignment = Alignment(wrap_text=True, vertical="top")
    set_widths(ws, {"A": 26, "B": 100})
    finish_sheet(ws)
