"""The Assumptions sheet: every input once, as workbook-level named cells."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.styles import Alignment, PatternFill
from openpyxl.utils import get_column_letter as col_letter

from workbooks.io import put_text
from workbooks.report.checks import Checks
from workbooks.report.layout import (
    ENGINE_FONT,
    FMT,
    HEADER_FONT,
    define_name,
    finish_sheet,
    header,
    mark_input,
    set_widths,
    title,
    wrapped_lines,
)

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult


# Which live inputs each block of engine values was computed from: editing one of them makes
# that block stale, and its check on the Checks sheet (and the master check) FALSE.
ENGINE_BLOCK_INPUTS: dict[str, tuple[str, ...]] = {
    "Regimes (filtered probabilities)": ("ReturnMethod",),
    "StateRisk (engine columns)": ("Confidence", "PeriodsPerYear", "ReturnMethod", "Weights"),
    "VaRBacktest (engine columns)": (
        "VaRConfidence",
        "BaselConfidence",
        "BaselGreenLimit",
        "BaselRedLimit",
        "UCITSLimit",
        "UCITSHorizon",
        "UCITSConfidence",
        "UCITSMaxOvershootings",
        "CCDegreesOfFreedom",
        "ReturnMethod",
        "Weights",
    ),
    "Allocation (per-regime weights)": ("ReturnMethod",),
    "Backtest (engine NAV, weights, metrics)": (
        "CostBps",
        "PeriodsPerYear",
        "ReturnMethod",
        "Weights",
    ),
    "Attribution (engine columns)": ("CostBps", "ReturnMethod", "Weights"),
    "StressTests (engine losses, Monte Carlo)": ("ReturnMethod", "Weights"),
}

RUN_FILL = PatternFill("solid", fgColor="E7E6E6")  # run settings: grey, locked


def provenance(res: AnalysisResult, block: str) -> str:
    """The note beside a block of engine values: what computed them, from which inputs."""
    import engine

    rc = res.config.regimes
    key = next(b for b in ENGINE_BLOCK_INPUTS if b.startswith(block))
    return (
        f"Engine output (grey italic): computed by regime-risk {engine.__version__} at the run "
        f"({rc.method}, {rc.n_states} states, seed {rc.seed}) from "
        f"{', '.join(ENGINE_BLOCK_INPUTS[key])} as in 'At run' on Assumptions; see Lineage. "
        "If an input changes, Checks says 're-run needed'."
    )


def _live_inputs(res: AnalysisResult) -> list[tuple[str, object, str, str, str]]:
    """(name, value, unit, source, description) of every input that formulas use."""
    cfg = res.config
    rg = cfg.regulatory
    return [
        (
            "Confidence",
            cfg.risk.confidence,
            "fraction",
            "config risk.confidence",
            "VaR/CVaR confidence level of the StateRisk figures",
        ),
        (
            "PeriodsPerYear",
            cfg.risk.periods_per_year,
            "periods per year",
            "config risk.periods_per_year",
            "annualisation factor",
        ),
        (
            "ReturnMethod",
            cfg.data.return_method,
            "simple | log",
            "config data.return_method",
            "Data returns: simple P_t/P_t-1 - 1, log ln(P_t/P_t-1)",
        ),
        (
            "Tolerance",
            cfg.report.tolerance,
            "relative",
            "config report.tolerance",
            "largest relative difference a check accepts between a formula and the engine",
        ),
        (
            "VaRConfidence",
            cfg.risk.var_confidence,
            "fraction",
            "config risk.var_confidence",
            "level of the backtested 1-day VaR and its coverage tests",
        ),
        (
            "BaselConfidence",
            rg.basel_confidence,
            "fraction",
            "BCBS (1996)",
            "VaR level of the traffic light and the UCITS overshootings (99%)",
        ),
        (
            "BaselGreenLimit",
            rg.basel_green_limit,
            "probability",
            "BCBS (1996) Table 2",
            "green while P(X <= exceptions) is below it",
        ),
        (
            "BaselRedLimit",
            rg.basel_red_limit,
            "probability",
            "BCBS (1996) Table 2",
            "red from this P(X <= exceptions) on",
        ),
        (
            "UCITSLimit",
            rg.ucits_limit,
            "fraction of NAV",
            "CESR/10-788 Box 15",
            "absolute VaR limit (99%, 20 days)",
        ),
        (
            "UCITSHorizon",
            rg.ucits_horizon,
            "days",
            "CESR/10-788 Box 15",
            "holding period of the limit",
        ),
        (
            "UCITSConfidence",
            rg.ucits_confidence,
            "fraction",
            "CESR/10-788 Box 15",
            "confidence of the limit",
        ),
        (
            "UCITSMaxOvershootings",
            rg.ucits_max_overshootings,
            "count",
            "CESR/10-788 Box 18",
            "more than this many in 250 days must be reported",
        ),
        (
            "CCDegreesOfFreedom",
            rg.cc_degrees_of_freedom,
            "count",
            "Christoffersen (1998)",
            "degrees of freedom of the conditional coverage LR",
        ),
        (
            "CostBps",
            cfg.backtest.cost_bps,
            "basis points, one way",
            "config backtest.cost_bps",
            "trading cost on |change in weights| of NAV",
        ),
    ]


def feature_labels(res: AnalysisResult) -> str:
    """The fitted detector's features, or what it models when it has none."""
    specs = getattr(res.regimes.detector, "features", ())
    if specs:
        return ", ".join(s.label for s in specs)
    return "none: the detector models the returns themselves"


def exogenous_summary(res: AnalysisResult) -> str:
    """One line per [[data.exogenous]] series: source, kind, publication lag."""
    parts = []
    for e in res.config.data.exogenous:
        for c in e["columns"]:
            lag = int(e.get("lag_days", 0))
            parts.append(
                f"{c} ({e.get('source', 'sample')}, {e.get('kind', 'level')}, lag {lag} days)"
            )
    return "; ".join(parts) or "none"


def _run_settings(res: AnalysisResult) -> list[tuple[str, object, str, str]]:
    """(name, value, source, description) of the settings fixed by the run."""
    from engine.backtest.compare import REFIT_EVERY

    cfg = res.config
    d, rc, b = cfg.data, cfg.regimes, cfg.backtest
    params = rc.detector_params()
    return [
        ("DataSource", d.source, "config data.source", "sample | csv | xlsx | yahoo"),
        ("DataKind", d.kind, "config data.kind", "what the input numbers are: prices or returns"),
        ("NStates", rc.n_states, "config regimes.n_states", "number of regimes"),
        ("Method", rc.method, "config regimes.method", "regime detector"),
        ("Seed", rc.seed, "config regimes.seed", "random seed of the detector"),
        (
            "DetectorSettings",
            ", ".join(f"{k}={v}" for k, v in params.items() if k != "features") or "defaults",
            "config regimes.*",
            "detector settings beyond the defaults (features: next row)",
        ),
        (
            "Features",
            feature_labels(res),
            "config regimes.features",
            "what the detector reads each day (ewm_log_vol_3: log EWM volatility, half-life 3; "
            "level_VIX: the VIX level; change_5_TNX: 5-day change); standardised on the fit's rows",
        ),
        (
            "ExogenousSeries",
            exogenous_summary(res),
            "config data.exogenous",
            "market-state series the features read, each value as known on its date "
            "(publication lag applied)",
        ),
        (
            "Objective",
            cfg.allocation.objective,
            "config allocation.objective",
            "allocation rule per regime",
        ),
        (
            "MaxWeight",
            cfg.allocation.max_weight,
            "config allocation.max_weight",
            "largest weight per asset in the regime allocation",
        ),
        (
            "VaRWindow",
            cfg.risk.var_window,
            "config risk.var_window",
            "days of history behind each VaR forecast (sets the formula ranges)",
        ),
        (
            "BaselWindow",
            cfg.regulatory.basel_window,
            "BCBS (1996)",
            "days the traffic light counts (sets the formula range)",
        ),
        (
            "Rebalance",
            b.rebalance,
            "config backtest.rebalance",
            "decision schedule of both backtest strategies",
        ),
        (
            "Delay",
            b.delay,
            "config backtest.delay",
            "days between a decision (close t) and its trade (close t + delay)",
        ),
        (
            "BacktestWindow",
            min(b.window, len(res.returns) // 3),
            "config backtest.window",
            "trailing days each decision uses; min(window, n/3)",
        ),
        (
            "RefitEvery",
            REFIT_EVERY,
            "engine (fixed)",
            "days between refits of the regime-aware strategy's detector",
        ),
        (
            "StaticStrategy",
            "fixed weights",
            "engine",
            "static leg: the portfolio Weights, traded back to them on the Rebalance schedule",
        ),
        (
            "DynamicStrategy",
            "regime-aware",
            "engine",
            f"regime-aware leg: {cfg.allocation.objective} weights per regime ({rc.method}, "
            f"{rc.n_states} states), blended by today's filtered probabilities",
        ),
        (
            "CashSource",
            "CASH index" if res.cash is not None else "none (0%)",
            "engine",
            "cash rate on uninvested weight and the Sharpe ratio's benchmark: the bundled CASH "
            "index (Ken French RF) for sample data, none otherwise",
        ),
    ]


def build_assumptions(wb: Workbook, res: AnalysisResult, checks: Checks) -> dict[str, str]:
    """Live inputs (blue, named, used by formulas), each beside the value the run used; the
    portfolio weights; and the run settings (grey: change them in the configuration and
    re-run). Returns, per live input, the cell that is TRUE while it is unchanged."""
    ws = wb.create_sheet("Assumptions")
    title(ws, "Assumptions: every input once. Blue cells are live inputs (named cells).")
    put_text(
        ws,
        2,
        1,
        "Live inputs: formulas recalculate when you edit them. Engine values (grey italic) were "
        "computed with the value in 'At run'; editing an input marks the blocks that used it "
        "'re-run needed' on Checks.",
    ).font = ENGINE_FONT
    header(ws, 3, ["Name", "Value", "Unit", "Source", "Description", "At run", "Unchanged"])
    unchanged: dict[str, str] = {}
    rows = _live_inputs(res)
    for i, (name, value, unit, source, desc) in enumerate(rows, start=4):
        put_text(ws, i, 1, name)
        cell = mark_input(ws.cell(row=i, column=2, value=value))
        at_run = ws.cell(row=i, column=6, value=value)
        at_run.font = ENGINE_FONT
        if isinstance(value, float) and 0 < abs(value) < 1e-3:  # Tolerance: 1E-09, not 0.0000
            cell.number_format = at_run.number_format = "0.0E+00"
        if isinstance(value, str):
            cell.data_type = at_run.data_type = "s"
        put_text(ws, i, 3, unit)
        put_text(ws, i, 4, source)
        put_text(ws, i, 5, desc)
        ws.cell(row=i, column=7, value=f"=B{i}=F{i}").number_format = FMT.BOOL
        checks.expect(ws, f"G{i}", True)
        unchanged[name] = f"Assumptions!$G${i}"
        define_name(wb, name, f"Assumptions!$B${i}")
    r = 4 + len(rows) + 1
    put_text(ws, r, 1, "Portfolio weights").font = HEADER_FONT
    put_text(ws, r, 5, "one weight per asset, summing to 1 (config portfolio.weights)")
    n = len(res.weights)
    last = col_letter(1 + n)
    for j, asset in enumerate(res.returns.columns):
        put_text(ws, r + 1, 2 + j, asset).font = HEADER_FONT
        mark_input(
            ws.cell(row=r + 2, column=2 + j, value=float(res.weights[j]))
        ).number_format = FMT.PCT
        at_run = ws.cell(row=r + 3, column=2 + j, value=float(res.weights[j]))
        at_run.font, at_run.number_format = ENGINE_FONT, FMT.PCT
    put_text(ws, r + 1, 1, "Asset")
    put_text(ws, r + 2, 1, "Weights")
    put_text(ws, r + 3, 1, "At run")
    put_text(ws, r + 4, 1, "Unchanged")
    ws.cell(
        row=r + 4,
        column=2,
        value=f"=SUMPRODUCT(ABS(B{r + 2}:{last}{r + 2}-B{r + 3}:{last}{r + 3}))=0",
    ).number_format = FMT.BOOL
    unchanged["Weights"] = f"Assumptions!$B${r + 4}"
    checks.expect(ws, f"B{r + 4}", True)
    define_name(wb, "Weights", f"Assumptions!$B${r + 2}:${last}${r + 2}")
    # constants the formulas use (a definition, not an input)
    r += 6
    put_text(ws, r, 1, "BasisPoint")
    ws.cell(row=r, column=2, value=0.0001)
    put_text(ws, r, 3, "fraction")
    put_text(ws, r, 4, "definition")
    put_text(ws, r, 5, "one basis point (a constant the cost formulas use)")
    define_name(wb, "BasisPoint", f"Assumptions!$B${r}")
    r += 2
    put_text(ws, r, 1, "Run settings (re-run to change)").font = HEADER_FONT
    put_text(
        ws, r, 5, "fixed by the run: change them in the configuration and run the report again"
    ).font = ENGINE_FONT
    widths: dict[str, float] = {"A": 24, "B": 14, "C": 18, "D": 30, "E": 70, "F": 12, "G": 11}
    for i, (name, value, source, desc) in enumerate(_run_settings(res), start=r + 1):
        put_text(ws, i, 1, name)
        cell = ws.cell(row=i, column=2, value=value)
        cell.fill = RUN_FILL
        if isinstance(value, str):
            cell.data_type = "s"
        put_text(ws, i, 4, source)
        note = put_text(ws, i, 5, desc)
        # a long value (the feature list) or description wraps in its own cell: the printed
        # page shows all of it instead of cutting it at the next column
        lines = max(
            wrapped_lines(str(value), widths["B"] * 1.25) if isinstance(value, str) else 1,
            wrapped_lines(desc, widths["E"] * 1.25),  # not bold: the full width
        )
        if lines > 1:
            for c in ws[i][:5]:  # the whole row reads from the top
                c.alignment = Alignment(wrap_text=c in (cell, note), vertical="top")
            ws.row_dimensions[i].height = 15.0 * lines
        define_name(wb, name, f"Assumptions!$B${i}")
    set_widths(ws, widths)
    ws.freeze_panes = "A4"
    return unchanged


def build_up_to_date_checks(wb: Workbook, unchanged: dict[str, str], checks: Checks) -> str:
    """Below the run settings: one check per block of engine values, TRUE while every live
    input it was computed from still holds its run value. Returns the reference of a cell
    that names the blocks needing a re-run ("none" while all are current)."""
    ws = wb["Assumptions"]
    r = ws.max_row + 2
    put_text(ws, r, 1, "Engine values up to date").font = HEADER_FONT
    put_text(ws, r, 5, "TRUE while the inputs each block was computed from are unchanged")
    parts = []
    for i, (block, inputs) in enumerate(ENGINE_BLOCK_INPUTS.items(), start=r + 1):
        put_text(ws, i, 1, block.split(" (")[0])
        put_text(ws, i, 5, f"{block}: computed from {', '.join(inputs)}")
        ws.cell(row=i, column=2, value=f"=AND({','.join(unchanged[n] for n in inputs)})")
        checks.add(f"re-run needed if FALSE: {block} ({', '.join(inputs)})", ws, f"B{i}")
        parts.append(f'IF(B{i},"","{block.split(" (")[0]}; ")')
    first, last = r + 1, r + len(ENGINE_BLOCK_INPUTS)
    summary = last + 1
    put_text(ws, summary, 1, "Re-run needed")
    ws.cell(
        row=summary,
        column=2,
        value=f'=IF(AND(B{first}:B{last}),"none","re-run needed: "&{"&".join(parts)})',
    )
    finish_sheet(ws, title_rows="3:3")
    checks.expect(ws, f"B{summary}", "none")
    return f"Assumptions!B{summary}"
