"""The report workbook (SPEC §5): every number a reader sees is traceable.

Inputs sit once on Assumptions as workbook-level named cells. Returns, portfolio returns,
state labels and per-state risk are live formulas over the Data and Regimes sheets; numbers
Excel cannot compute (fitted model, filtered probabilities) are values marked "engine output".
Beside every formula result stands the engine's own value and a check cell; About holds the
master check.

One module per sheet, each with its `build_<sheet>` function; `layout` holds the positions and
styles they share, `checks` the check formulas, the list of check cells and the Checks sheet.
A new figure goes in its sheet's module (formula, engine value, `checks.add`); a new sheet is a
new module, its call in `build_report` and its name in `SHEETS`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from openpyxl import Workbook

import engine
from workbooks.cached import write_cached_values
from workbooks.io import save_atomic
from workbooks.report.about import MASTER_CHECK_CELL, build_about
from workbooks.report.allocation import build_allocation
from workbooks.report.assumptions import build_assumptions, build_up_to_date_checks
from workbooks.report.attribution import build_attribution
from workbooks.report.backtest import build_backtest
from workbooks.report.checks import Checks, build_checks
from workbooks.report.data import build_data
from workbooks.report.layout import TIMESTAMP, Layout
from workbooks.report.lineage import build_lineage
from workbooks.report.regimes import build_regimes
from workbooks.report.state_risk import STATE_RISK_FIRST_ROW, build_state_risk
from workbooks.report.stress import build_stress
from workbooks.report.var_backtest import build_var_backtest

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult

__all__ = ["MASTER_CHECK_CELL", "SHEETS", "STATE_RISK_FIRST_ROW", "build_report"]

# Tab order: build_report creates the sheets in this order (About first, filled in last).
SHEETS = (
    "About",
    "Assumptions",
    "Data",
    "Regimes",
    "StateRisk",
    "VaRBacktest",
    "Allocation",
    "Backtest",
    "Attribution",
    "StressTests",
    "Checks",
    "Lineage",
)


def build_report(res: AnalysisResult, out: str | Path, run_time: dt.datetime | None = None) -> Path:
    """Write the report workbook for `res` to `out` atomically; returns the final path."""
    run_time = run_time or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    lay = Layout(
        n_assets=res.returns.shape[1], n_returns=len(res.returns), n_states=res.regimes.n_states
    )
    wb = Workbook()
    about = wb.active
    assert about is not None
    about.title = "About"
    checks = Checks()  # each sheet adds its check cells and its formulas' engine values
    unchanged = build_assumptions(wb, res, checks)
    build_data(wb, res, lay, checks)
    build_regimes(wb, res, lay, checks)
    build_state_risk(wb, res, lay, checks)
    build_var_backtest(wb, res, lay, checks)
    build_allocation(wb, res, lay, checks)
    build_backtest(wb, res, lay, checks)
    build_attribution(wb, res, lay, checks)
    build_stress(wb, res, lay, checks)
    rerun = build_up_to_date_checks(wb, unchanged, checks)
    master = build_checks(wb, checks)
    build_lineage(wb, res, run_time)
    build_about(about, res, lay, master, rerun, run_time, checks)
    for ws in wb.worksheets:  # read-only for readers; the blue input cells stay editable
        ws.protection.sheet = True
        ws.protection.formatColumns = False
        ws.protection.formatRows = False
    from openpyxl.packaging.custom import StringProperty

    for key, value in (
        ("regime-risk version", engine.__version__),
        ("input data SHA-256", res.data_sha256),
        (
            "detector",
            f"{res.regimes.method}, {res.regimes.n_states} states, seed {res.config.regimes.seed}",
        ),
        ("run time (UTC)", run_time.strftime(TIMESTAMP)),
    ):
        wb.custom_doc_props.append(StringProperty(name=key, value=value))
    wb.properties.title = res.config.report.title
    wb.properties.creator = f"regime-risk {engine.__version__}"
    wb.properties.keywords = "regimes; VaR; CVaR; audit"
    path = save_atomic(wb, out)
    # every formula cell carries the engine's value, so a viewer that does not calculate shows
    # the numbers; `regime-risk report` replaces them with LibreOffice's where it verifies
    write_cached_values(path, checks.expected)
    return path
