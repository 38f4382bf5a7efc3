"""The report workbook (SPEC §5): every number a reader sees is traceable.

Inputs sit once on Assumptions as workbook-level named cells. Returns, portfolio returns,
state labels and per-state risk are live formulas over the Data and Regimes sheets; numbers
Excel cannot compute (fitted model, filtered probabilities) are values marked "engine output".
Beside every formula result stands the engine's own value and a check cell; About holds the
master check.
"""

from __future__ import annotations

import datetime as dt
import platform
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import AreaChart, BarChart, LineChart, Reference
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

import engine
from engine.cache import content_key
from engine.pipeline import AnalysisResult
from workbooks.io import put_text, save_atomic

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
INPUT_FONT = Font(color="0000FF")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
ENGINE_FONT = Font(color="7F7F7F", italic=True)
HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
PCT = "0.00%"
PCT4 = "0.0000%"
DATE = "yyyy-mm-dd"


@dataclass(frozen=True)
class Layout:
    """Where things are, so formulas on one sheet can point at another."""

    n_assets: int
    n_returns: int  # number of return rows
    n_states: int

    @property
    def data_first(self) -> int:  # first Data row holding a return (row 2 holds the base price)
        return 3

    @property
    def data_last(self) -> int:
        return self.data_first + self.n_returns - 1

    def price_col(self, j: int) -> int:
        return 2 + j

    def return_col(self, j: int) -> int:
        return 2 + self.n_assets + j

    @property
    def port_col(self) -> int:
        return 2 + 2 * self.n_assets

    def port_range(self) -> str:
        c = col_letter(self.port_col)
        return f"Data!${c}${self.data_first}:${c}${self.data_last}"

    # Regimes sheet: row r <-> Data row r + 1
    @property
    def reg_last(self) -> int:
        return 1 + self.n_returns

    @property
    def state_col(self) -> int:
        return 2 + self.n_states

    def helper_col(self, k: int) -> int:
        return 3 + self.n_states + k

    def state_range(self) -> str:
        c = col_letter(self.state_col)
        return f"Regimes!${c}$2:${c}${self.reg_last}"

    def helper_range(self, k: int) -> str:
        c = col_letter(self.helper_col(k))
        return f"Regimes!${c}$2:${c}${self.reg_last}"


def _versions() -> dict[str, str]:
    out = {"regime-risk": engine.__version__, "python": platform.python_version()}
    for pkg in ("numpy", "pandas", "scipy", "hmmlearn", "scikit-learn", "openpyxl"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _header(ws: Worksheet, row: int, labels: list[str], start_col: int = 1) -> None:
    for j, text in enumerate(labels):
        c = put_text(ws, row, start_col + j, text)
        c.font = HEADER_FONT
        c.alignment = Alignment(wrap_text=True, vertical="top")


def _name(wb: Workbook, name: str, ref: str) -> None:
    wb.defined_names[name] = DefinedName(name, attr_text=ref)


def build_assumptions(wb: Workbook, res: AnalysisResult) -> None:
    ws = wb.create_sheet("Assumptions")
    cfg = res.config
    ws["A1"] = "Assumptions: every input once. Blue cells are inputs (named cells)."
    ws["A1"].font = TITLE_FONT
    _header(ws, 2, ["Name", "Value", "Unit", "Source", "Description"])
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
        cell = ws.cell(row=i, column=2, value=value)
        cell.font, cell.fill = INPUT_FONT, INPUT_FILL
        cell.protection = Protection(locked=False)
        if isinstance(value, str):
            cell.data_type = "s"
        put_text(ws, i, 3, unit)
        put_text(ws, i, 4, source)
        put_text(ws, i, 5, desc)
        _name(wb, name, f"Assumptions!$B${i}")
    r = 3 + len(rows) + 1
    put_text(ws, r, 1, "Portfolio weights").font = HEADER_FONT
    put_text(ws, r, 5, f"one weight per asset, summing to 1 (config portfolio.weights); {live}")
    for j, asset in enumerate(res.returns.columns):
        put_text(ws, r + 1, 2 + j, asset).font = HEADER_FONT
        cell = ws.cell(row=r + 2, column=2 + j, value=float(res.weights[j]))
        cell.font, cell.fill, cell.number_format = INPUT_FONT, INPUT_FILL, PCT
        cell.protection = Protection(locked=False)
    put_text(ws, r + 1, 1, "Asset")
    put_text(ws, r + 2, 1, "Weights")
    last = col_letter(1 + len(res.weights))
    _name(wb, "Weights", f"Assumptions!$B${r + 2}:${last}${r + 2}")
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["C"].width = 16
    ws.column_dimensions["D"].width = 28
    ws.column_dimensions["E"].width = 80
    ws.freeze_panes = "A3"


def build_data(wb: Workbook, res: AnalysisResult, lay: Layout) -> None:
    ws = wb.create_sheet("Data")
    assets = list(res.returns.columns)
    log = res.config.data.return_method == "log"
    _header(
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
    for i in range(len(dates)):
        r = 2 + i
        ws.cell(row=r, column=1, value=dates[i].to_pydatetime()).number_format = DATE
        for j in range(lay.n_assets):
            ws.cell(row=r, column=lay.price_col(j), value=float(prices[i, j]))
            if r >= lay.data_first:
                p = col_letter(lay.price_col(j))
                f = f"=LN({p}{r}/{p}{r - 1})" if log else f"={p}{r}/{p}{r - 1}-1"
                ws.cell(row=r, column=lay.return_col(j), value=f).number_format = PCT4
        if r >= lay.data_first:
            ws.cell(
                row=r,
                column=lay.port_col,
                value=f"=SUMPRODUCT({first_ret}{r}:{last_ret}{r},Weights)",
            ).number_format = PCT4
    ws.freeze_panes = "B2"
    ws.column_dimensions["A"].width = 12
    for c in range(2, lay.port_col + 1):
        ws.column_dimensions[col_letter(c)].width = 13


def build_regimes(wb: Workbook, res: AnalysisResult, lay: Layout) -> None:
    ws = wb.create_sheet("Regimes")
    labels = list(res.regimes.labels)
    k = lay.n_states
    _header(
        ws,
        1,
        ["Date", *labels, "State", *(f"Portfolio return | {lab}" for lab in labels)],
    )
    probs = res.regimes.filtered.to_numpy()
    p_first, p_last = col_letter(2), col_letter(1 + k)
    state = col_letter(lay.state_col)
    port = col_letter(lay.port_col)
    for i, d in enumerate(res.returns.index):
        r = 2 + i
        ws.cell(row=r, column=1, value=d.to_pydatetime()).number_format = DATE
        for s in range(k):
            p = float(probs[i, s])  # NaN during a feature warm-up: left blank
            ws.cell(
                row=r, column=2 + s, value=p if np.isfinite(p) else None
            ).number_format = "0.000"
        rng = f"{p_first}{r}:{p_last}{r}"
        ws.cell(
            row=r,
            column=lay.state_col,
            value=f'=IF(COUNT({rng})=0,"",INDEX(${p_first}$1:${p_last}$1,MATCH(MAX({rng}),{rng},0)))',
        )
        for s in range(k):
            pc = col_letter(2 + s)
            ws.cell(
                row=r,
                column=lay.helper_col(s),
                value=f'=IF(${state}{r}={pc}$1,Data!${port}{r + 1},"")',
            ).number_format = PCT4
    ws.freeze_panes = "B2"
    note = lay.helper_col(k - 1) + 2
    notes = [
        "Columns B..: filtered state probabilities, engine output (values): p(state on date t | "
        "returns up to t). Model parameters were estimated on the whole period shown "
        "(see Lineage).",
        "State: the most likely state each day (formula). Portfolio return | state: the Data "
        "sheet's portfolio return on that state's days (formula), used by StateRisk.",
    ]
    for i, text in enumerate(notes):
        put_text(ws, 1 + i, note, text).font = ENGINE_FONT
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
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.width, chart.height = 28, 10
    ws.add_chart(chart, f"{col_letter(note)}4")
    # one rule per non-calm state colours its rows (the state column drives it)
    shades = ["FFF4CC", "FCE4D6", "F8CBAD"]
    span = f"A2:{col_letter(lay.helper_col(k - 1))}{lay.reg_last}"
    for idx, lab in enumerate(labels[1:]):
        fill = PatternFill("solid", fgColor=shades[min(idx, len(shades) - 1)])
        ws.conditional_formatting.add(span, FormulaRule(formula=[f'${state}2="{lab}"'], fill=fill))


# StateRisk columns: (header, kind) where kind is "formula", "engine" or "check"
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


def build_state_risk(wb: Workbook, res: AnalysisResult, lay: Layout) -> list[tuple[str, str]]:
    """Per-state portfolio risk as formulas with engine values beside; returns check cells."""
    ws = wb.create_sheet("StateRisk")
    ws["A1"] = "Portfolio risk by regime state (losses are positive numbers)"
    ws["A1"].font = TITLE_FONT
    put_text(
        ws,
        2,
        1,
        (
            "Formulas over Regimes and Data; grey italic columns are the engine's values; Check = "
            "|formula - engine| <= Tolerance·max(1, |engine|). CVaR: Rockafellar-Uryasev estimator."
        ),
    ).font = ENGINE_FONT
    _header(ws, 3, STATE_RISK_HEADERS)
    engine_cols = {3, 7, 10, 14, 18, 20}
    sr = res.state_risk
    port, states = lay.port_range(), lay.state_range()
    checks: list[tuple[str, str]] = []
    for s, label in enumerate(res.regimes.labels):
        r = STATE_RISK_FIRST_ROW + s
        h = lay.helper_range(s)
        row = dict(zip(sr.columns, sr.loc[label].to_numpy(dtype=float), strict=True))
        values: dict[int, object] = {
            1: label,
            2: f"=COUNT({h})",
            3: int(row["Observations"]),
            4: f"=B{r}=C{r}",
            5: f"=B{r}/COUNT({port})",
            6: f"=AVERAGE({h})*PeriodsPerYear",
            7: float(row["Mean (ann.)"]),
            8: _check(f"F{r}", f"G{r}"),
            9: f"=STDEV({h})*SQRT(PeriodsPerYear)",
            10: float(row["Volatility (ann.)"]),
            11: _check(f"I{r}", f"J{r}"),
            12: f"=(1-Confidence)*B{r}",
            13: f"=-SMALL({h},FLOOR(L{r},1)+1)",
            14: float(row["VaR"]),
            15: _check(f"M{r}", f"N{r}"),
            16: f"=SMALL({h},CEILING(L{r},1))",
            17: (
                f"=-(SUMPRODUCT(({states}=A{r})*({port}<P{r})*{port})"
                f"+(L{r}-SUMPRODUCT(({states}=A{r})*({port}<P{r})))*P{r})/L{r}"
            ),
            18: float(row["CVaR"]),
            19: _check(f"Q{r}", f"R{r}"),
            20: float(row["Max drawdown"]),
        }
        for c, v in values.items():
            cell = put_text(ws, r, c, v) if c == 1 else ws.cell(row=r, column=c, value=v)
            if c in engine_cols:
                cell.font = ENGINE_FONT
            if c in (5, 6, 7, 9, 10, 13, 14, 16, 17, 18, 20):
                cell.number_format = PCT
        checks += [
            (f"StateRisk {label}: {what}", f"StateRisk!{col_letter(c)}{r}")
            for what, c in (
                ("observations", 4),
                ("mean", 8),
                ("volatility", 11),
                ("VaR", 15),
                ("CVaR", 19),
            )
        ]
    for c in range(1, len(STATE_RISK_HEADERS) + 1):
        ws.column_dimensions[col_letter(c)].width = 14
    ws.row_dimensions[3].height = 45
    ws.freeze_panes = "B4"
    last = STATE_RISK_FIRST_ROW + lay.n_states - 1
    chart = BarChart()
    chart.type = "col"
    chart.title = "Portfolio VaR and CVaR by regime"
    for c in (13, 17):
        chart.add_data(Reference(ws, min_col=c, min_row=3, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=STATE_RISK_FIRST_ROW, max_row=last))
    chart.y_axis.number_format = "0%"
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    ws.add_chart(chart, f"B{last + 3}")
    return checks


def _check(a: str, b: str) -> str:
    """|formula - engine| within the relative tolerance (numbers), or equal (text, booleans)."""
    return f"=ABS({a}-{b})<=Tolerance*MAX(1,ABS({b}))"


def build_var_backtest(wb: Workbook, res: AnalysisResult, lay: Layout) -> list[tuple[str, str]]:
    """Rolling historical VaR of the portfolio, its exceptions and the coverage tests, as
    formulas over the Data sheet; the engine's figures and a check beside each."""
    from engine.risk import value_at_risk
    from engine.validation.var_backtest import ucits_utilisation

    ws = wb.create_sheet("VaRBacktest")
    cfg = res.config
    W = cfg.risk.var_window
    BW = cfg.regulatory.basel_window
    port = col_letter(lay.port_col)
    _header(
        ws,
        1,
        [
            "Date",
            "Portfolio return",
            "VaR forecast",
            "Exception",
            "VaR forecast (engine)",
            "Exception (engine)",
        ],
    )
    s, e = lay.data_first + W, lay.data_last  # first forecast row, last row (rows as on Data)
    for r in range(lay.data_first, e + 1):
        ws.cell(row=r, column=1, value=f"=Data!A{r}").number_format = DATE
        ws.cell(row=r, column=2, value=f"=Data!{port}{r}").number_format = PCT4
        if r >= s:
            win = f"B{r - W}:B{r - 1}"
            ws.cell(
                row=r, column=3, value=f"=-SMALL({win},FLOOR((1-VaRConfidence)*COUNT({win}),1)+1)"
            ).number_format = PCT4
            ws.cell(row=r, column=4, value=f"=IF(-B{r}>C{r},1,0)")
            i = r - lay.data_first
            ws.cell(row=r, column=5, value=float(res.var_forecast[i])).font = ENGINE_FONT
            ws.cell(row=r, column=6, value=int(res.var_hits[i])).font = ENGINE_FONT
    bt = res.var_backtest
    D = f"D{s}:D{e}"
    cur_win = f"B{e - W + 1}:B{e}"
    current_var = float(value_at_risk(res.portfolio.to_numpy()[-W:], cfg.risk.var_confidence))
    rc = cfg.regulatory
    util = ucits_utilisation(
        current_var, cfg.risk.var_confidence, rc.ucits_horizon, rc.ucits_confidence, rc.ucits_limit
    )
    # (label, formula, engine value or None for an intermediate step)
    rows: list[tuple[str, str, object]] = [
        ("Observations n", f"=COUNT({D})", bt.observations),
        ("Exceptions x", f"=SUM({D})", bt.exceptions),
        ("Tail probability p", "=1-VaRConfidence", None),
        ("Expected exceptions", "=I2*I4", bt.expected),
        ("Kupiec log-lik. (null)", "=(I2-I3)*LN(1-I4)+I3*LN(I4)", None),
        (
            "Kupiec log-lik. (observed)",
            "=IF(I3=0,0,I3*LN(I3/I2))+IF(I3=I2,0,(I2-I3)*LN(1-I3/I2))",
            None,
        ),
        ("Kupiec LR", "=(I7-I6)+(I7-I6)", bt.kupiec_lr),
        ("Kupiec p-value", "=_xlfn.CHISQ.DIST.RT(I8,1)", bt.kupiec_p),
        ("n00", f"=SUMPRODUCT((D{s}:D{e - 1}=0)*(D{s + 1}:D{e}=0))", None),
        ("n01", f"=SUMPRODUCT((D{s}:D{e - 1}=0)*(D{s + 1}:D{e}=1))", None),
        ("n10", f"=SUMPRODUCT((D{s}:D{e - 1}=1)*(D{s + 1}:D{e}=0))", None),
        ("n11", f"=SUMPRODUCT((D{s}:D{e - 1}=1)*(D{s + 1}:D{e}=1))", None),
        ("pi01", "=IF(I10+I11=0,0,I11/(I10+I11))", None),
        ("pi11", "=IF(I12+I13=0,0,I13/(I12+I13))", None),
        ("pi", "=(I11+I13)/(I10+I11+I12+I13)", None),
        (
            "Independence log-lik. (null)",
            "=IF(I10+I12=0,0,(I10+I12)*LN(1-I16))+IF(I11+I13=0,0,(I11+I13)*LN(I16))",
            None,
        ),
        (
            "Independence log-lik. (Markov)",
            "=IF(I10=0,0,I10*LN(1-I14))+IF(I11=0,0,I11*LN(I14))+IF(I12=0,0,I12*LN(1-I15))+IF(I13=0,0,I13*LN(I15))",
            None,
        ),
        ("Christoffersen LR", "=(I18-I17)+(I18-I17)", bt.christoffersen_lr),
        ("Christoffersen p-value", "=_xlfn.CHISQ.DIST.RT(I19,1)", bt.christoffersen_p),
        ("Conditional coverage LR", "=I8+I19", bt.conditional_coverage_lr),
        (
            "Conditional coverage p-value",
            "=_xlfn.CHISQ.DIST.RT(I21,CCDegreesOfFreedom)",
            bt.conditional_coverage_p,
        ),
        ("Exceptions, last Basel window", f"=SUM(D{e - BW + 1}:D{e})", bt.basel_exceptions_250),
        (
            "Basel cumulative probability",
            "=_xlfn.BINOM.DIST(I23,BaselWindow,1-BaselConfidence,TRUE)",
            None,
        ),
        (
            "Basel zone",
            '=IF(I24<BaselGreenLimit,"green",IF(I24<BaselRedLimit,"yellow","red"))',
            bt.basel_zone,
        ),
        ("UCITS overshootings (flag if more)", "=I23", bt.ucits_overshootings_250),
        ("UCITS flag", "=I26>UCITSMaxOvershootings", bt.ucits_flag),
        (
            "Current 1-day VaR",
            f"=-SMALL({cur_win},FLOOR((1-VaRConfidence)*COUNT({cur_win}),1)+1)",
            current_var,
        ),
        (
            "UCITS utilisation of the limit",
            "=I28*SQRT(UCITSHorizon)*_xlfn.NORM.S.INV(UCITSConfidence)/_xlfn.NORM.S.INV(VaRConfidence)/UCITSLimit",
            util,
        ),
        ("Acerbi-Szekely Z2 (engine only)", "", bt.z2),
    ]
    _header(ws, 1, ["Backtest figure", "Formula", "Engine", "Check"], start_col=8)
    checks: list[tuple[str, str]] = []
    for k, (label, formula, engine_value) in enumerate(rows, start=2):
        put_text(ws, k, 8, label)
        if formula:
            ws.cell(row=k, column=9, value=formula)
        if engine_value is not None:
            v = engine_value.item() if hasattr(engine_value, "item") else engine_value
            cell = ws.cell(row=k, column=10, value=v)
            cell.font = ENGINE_FONT
            if isinstance(v, str):
                cell.data_type = "s"
            if formula:
                chk = f"=I{k}=J{k}" if isinstance(v, str | bool) else _check(f"I{k}", f"J{k}")
                ws.cell(row=k, column=11, value=chk)
                checks.append((f"VaRBacktest: {label}", f"VaRBacktest!K{k}"))
    zone_row = 2 + [r[0] for r in rows].index("Basel zone")
    for colour, fg in (("green", "C6EFCE"), ("yellow", "FFEB9C"), ("red", "FFC7CE")):
        ws.conditional_formatting.add(
            f"I{zone_row}:J{zone_row}",
            CellIsRule(
                operator="equal", formula=[f'"{colour}"'], fill=PatternFill("solid", fgColor=fg)
            ),
        )
    k = len(rows) + 3
    put_text(ws, k, 8, "VaR series: formula vs engine")
    ws.cell(
        row=k,
        column=11,
        value=f"=SUMPRODUCT(ABS(C{s}:C{e}-E{s}:E{e}))<=Tolerance*SUMPRODUCT(ABS(E{s}:E{e}))",
    )
    put_text(ws, k + 1, 8, "Exception series: formula vs engine")
    ws.cell(row=k + 1, column=11, value=f"=SUMPRODUCT(ABS(D{s}:D{e}-F{s}:F{e}))=0")
    checks += [
        ("VaRBacktest: VaR series", f"VaRBacktest!K{k}"),
        ("VaRBacktest: exception series", f"VaRBacktest!K{k + 1}"),
    ]
    ws.freeze_panes = "B2"
    for c, w in zip("ABCDEFGHIJK", (12, 12, 12, 10, 14, 12, 2, 34, 16, 16, 8), strict=True):
        ws.column_dimensions[c].width = w
    return checks


def build_backtest(
    wb: Workbook, res: AnalysisResult, lay: Layout
) -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    """Static and regime-aware NAV, peak, drawdown, returns and costs as formulas over the Data
    returns and the engine's held weights and turnover (values); metrics with engine values."""
    from engine.backtest.metrics import live_slice

    ws = wb.create_sheet("Backtest")
    comp = res.comparison
    m = lay.n_assets
    assets = list(res.returns.columns)
    first, last = lay.data_first, lay.data_last
    put_text(ws, 1, 1, "Date")
    put_text(ws, 1, 2, "Cash return")
    blocks = {"Static": comp.static, "Dynamic": comp.dynamic}
    rc0, rc1 = col_letter(lay.return_col(0)), col_letter(lay.return_col(m - 1))
    cols: dict[str, dict[str, str]] = {}
    c = 3
    for name in blocks:
        heads = [
            *(f"{name} weight {a}" for a in assets),
            f"{name} turnover",
            f"{name} NAV",
            f"{name} peak",
            f"{name} drawdown",
            f"{name} return",
            f"{name} cost",
            f"{name} NAV (engine)",
            f"{name} regime in force (engine)",
        ]
        for pos, h in enumerate(heads):
            put_text(ws, 1, c + pos, h).font = HEADER_FONT
        cols[name] = {
            "w0": col_letter(c),
            "w1": col_letter(c + m - 1),
            "turn": col_letter(c + m),
            "nav": col_letter(c + m + 1),
            "peak": col_letter(c + m + 2),
            "dd": col_letter(c + m + 3),
            "ret": col_letter(c + m + 4),
            "cost": col_letter(c + m + 5),
            "eng": col_letter(c + m + 6),
            "regime": col_letter(c + m + 7),
            "c0": str(c),
        }
        c += len(heads) + 1
    ws.cell(row=2, column=1, value="=Data!A2").number_format = DATE
    for name in blocks:
        ws[f"{cols[name]['nav']}2"] = 1
        ws[f"{cols[name]['peak']}2"] = 1
    for r in range(first, last + 1):
        i = r - first
        ws.cell(row=r, column=1, value=f"=Data!A{r}").number_format = DATE
        ws.cell(row=r, column=2, value=0.0)  # the report's backtest holds no cash rate
        for name, bt in blocks.items():
            k = cols[name]
            held = bt.weights.iloc[i - 1].to_numpy() if i > 0 else np.zeros(m)
            for j in range(m):
                ws.cell(row=r, column=int(k["c0"]) + j, value=float(held[j])).font = ENGINE_FONT
            ws[f"{k['turn']}{r}"] = float(bt.turnover.iloc[i])
            ws[f"{k['turn']}{r}"].font = ENGINE_FONT
            w = f"{k['w0']}{r}:{k['w1']}{r}"
            ws[f"{k['nav']}{r}"] = (
                f"={k['nav']}{r - 1}*(1+SUMPRODUCT({w},Data!{rc0}{r}:{rc1}{r})+(1-SUM({w}))*B{r})"
                f"*(1-{k['turn']}{r}*CostBps*BasisPoint)"
            )
            ws[f"{k['peak']}{r}"] = f"=MAX({k['peak']}{r - 1},{k['nav']}{r})"
            ws[f"{k['dd']}{r}"] = f"={k['nav']}{r}/{k['peak']}{r}-1"
            ws[f"{k['dd']}{r}"].number_format = PCT
            ws[f"{k['ret']}{r}"] = f"={k['nav']}{r}/{k['nav']}{r - 1}-1"
            ws[f"{k['cost']}{r}"] = (
                f"={k['nav']}{r}/(1-{k['turn']}{r}*CostBps*BasisPoint)*{k['turn']}{r}*CostBps*BasisPoint"
            )
            ws[f"{k['eng']}{r}"] = float(bt.nav.iloc[i])
            ws[f"{k['eng']}{r}"].font = ENGINE_FONT
            put_text(ws, r, int(k["c0"]) + m + 7, bt.regime.iloc[i] or "").font = ENGINE_FONT
    start = max(live_slice(b).start or 0 for b in blocks.values())
    L = first + start
    base = c + 1
    _header(
        ws,
        1,
        [
            "Metric (common live period)",
            "Static",
            "Static (engine)",
            "Check",
            "Dynamic",
            "Dynamic (engine)",
            "Check",
        ],
        start_col=base,
    )
    years = "(COUNT({ret}{L}:{ret}{last})/PeriodsPerYear)"
    metrics = [
        ("CAGR", "=({nav}{last}/{nav}{Lm1})^(1/" + years + ")-1"),
        ("Volatility", "=STDEV({ret}{L}:{ret}{last})*SQRT(PeriodsPerYear)"),
        (
            "Sharpe",
            "=(AVERAGE({ret}{L}:{ret}{last})-AVERAGE(B{L}:B{last}))"
            "/STDEV({ret}{L}:{ret}{last})*SQRT(PeriodsPerYear)",
        ),
        ("Max drawdown", "=-MIN({dd}{L}:{dd}{last})"),
        ("Turnover /yr", "=SUM({turn}{L}:{turn}{last})/" + years),
        ("Costs paid", "=SUM({cost}{L}:{cost}{last})"),
    ]
    table = res.comparison.table
    engine_metric = {
        (lab, name): float(v)
        for lab, row in zip(table.index, table.to_numpy(dtype=float), strict=True)
        for name, v in zip(table.columns, row, strict=True)
    }
    checks: list[tuple[str, str]] = []
    for n, (label, tmpl) in enumerate(metrics, start=2):
        put_text(ws, n, base, label)
        for off, name in enumerate(blocks):
            k = cols[name]
            f = tmpl.format(
                nav=k["nav"],
                ret=k["ret"],
                dd=k["dd"],
                turn=k["turn"],
                cost=k["cost"],
                L=L,
                Lm1=L - 1,
                last=last,
            )
            fc, ec, kc = (col_letter(base + 1 + 3 * off + x) for x in range(3))
            ws[f"{fc}{n}"] = f
            ws[f"{ec}{n}"] = engine_metric[(label, name)]
            ws[f"{ec}{n}"].font = ENGINE_FONT
            ws[f"{kc}{n}"] = _check(f"{fc}{n}", f"{ec}{n}")
            checks.append((f"Backtest {name}: {label}", f"Backtest!{kc}{n}"))
    n = len(metrics) + 3
    put_text(ws, n, base, "NAV series: formula vs engine")
    for off, name in enumerate(blocks):
        k = cols[name]
        kc = col_letter(base + 3 + 3 * off)
        nav, eng = f"{k['nav']}{first}:{k['nav']}{last}", f"{k['eng']}{first}:{k['eng']}{last}"
        ws[f"{kc}{n}"] = f"=SUMPRODUCT(ABS({nav}-{eng}))<=Tolerance*SUMPRODUCT(ABS({eng}))"
        checks.append((f"Backtest {name}: NAV series", f"Backtest!{kc}{n}"))
    for title, key, at, fmt in (
        ("NAV: static versus regime-aware (same costs and delay)", "nav", n + 3, "0.00"),
        ("Drawdowns", "dd", n + 22, "0%"),
    ):
        chart = LineChart()
        chart.title = title
        for name in blocks:
            cc = ws[f"{cols[name][key]}1"].column
            chart.add_data(
                Reference(ws, min_col=cc, min_row=1, max_row=last), titles_from_data=True
            )
        chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last))
        chart.x_axis.number_format = "yyyy"
        chart.y_axis.number_format = fmt
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.width, chart.height = 26, 9
        ws.add_chart(chart, f"{col_letter(base)}{at}")
    ws.freeze_panes = "B2"
    return checks, cols


def build_allocation(wb: Workbook, res: AnalysisResult, lay: Layout) -> list[tuple[str, str]]:
    """Per-state optimal weights (optimiser output, values) and today's blend as a formula over
    the filtered probabilities on the Regimes sheet; the static weights linked from Assumptions."""
    ws = wb.create_sheet("Allocation")
    labels = list(res.regimes.labels)
    k = len(labels)
    table = res.state_weights
    _header(ws, 1, ["Asset", *labels, "Now", "Now (engine)", "Check", "Static weight"])
    put_text(
        ws,
        1,
        k + 6,
        (
            f"Per-state weights: {res.config.allocation.objective} on each state's days "
            "(optimiser output, values). Now: Σ state weight × today's filtered probability "
            "(formula over Regimes)."
        ),
    ).font = ENGINE_FONT
    p0, p1 = col_letter(2), col_letter(1 + k)
    today = f"Regimes!${p0}${lay.reg_last}:${p1}${lay.reg_last}"
    wref = res_weights_cells(wb)
    checks: list[tuple[str, str]] = []
    values = table.to_numpy(dtype=float)
    for i, asset in enumerate(table.index, start=2):
        put_text(ws, i, 1, asset)
        for s in range(k):
            ws.cell(row=i, column=2 + s, value=float(values[i - 2, s])).number_format = PCT
        now = col_letter(2 + k)
        ws[f"{now}{i}"] = f"=SUMPRODUCT({p0}{i}:{p1}{i},{today})"
        ws[f"{now}{i}"].number_format = PCT
        eng = col_letter(3 + k)
        ws[f"{eng}{i}"] = float(table["Now"].iloc[i - 2])
        ws[f"{eng}{i}"].font = ENGINE_FONT
        chk = col_letter(4 + k)
        ws[f"{chk}{i}"] = _check(f"{now}{i}", f"{eng}{i}")
        ws.cell(row=i, column=5 + k, value=f"={wref[i - 2]}").number_format = PCT
        checks.append((f"Allocation {asset}: Now weight", f"Allocation!{chk}{i}"))
    ws.column_dimensions["A"].width = 14
    return checks


def res_weights_cells(wb: Workbook) -> list[str]:
    """The Assumptions cells holding each portfolio weight (from the Weights name)."""
    from openpyxl.utils.cell import range_boundaries

    sheet, ref = wb.defined_names["Weights"].attr_text.split("!")
    c0, r0, c1, _ = range_boundaries(ref.replace("$", ""))
    return [f"{sheet}!${col_letter(c)}${r0}" for c in range(c0, c1 + 1)]


def build_stress(wb: Workbook, res: AnalysisResult, lay: Layout) -> list[tuple[str, str]]:
    """Historical scenarios the data covers, as formulas over Data prices (buy and hold from
    the start of each window) and Regimes; regime-conditional Monte Carlo as engine output."""
    import pandas as pd

    from engine.validation.stress import historical_stress, regime_monte_carlo

    ws = wb.create_sheet("StressTests")
    assets = list(res.returns.columns)
    m = len(assets)
    labels = np.array([*res.regimes.labels, ""])
    regimes = pd.Series(labels[res.regimes.states], index=res.returns.index)
    table = historical_stress(res.returns, res.weights, regimes=regimes)
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
    _header(ws, 1, heads)
    put_text(
        ws,
        1,
        len(heads) + 2,
        "Asset columns: growth over the window (end price / start price). "
        "Losses are positive. Windows are scenario definitions; the data decides which apply.",
    ).font = ENGINE_FONT
    state = col_letter(lay.state_col)
    checks: list[tuple[str, str]] = []
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
        ws.cell(row=i, column=2, value=starts[n].to_pydatetime()).number_format = DATE
        ws.cell(row=i, column=3, value=ends[n].to_pydatetime()).number_format = DATE
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
        c = 4 + m
        L, E, K = col_letter(c), col_letter(c + 1), col_letter(c + 2)
        ws[f"{L}{i}"] = f"=1-(SUMPRODUCT({wr},{g0}{i}:{g1}{i})+1-SUM({wr}))"
        ws[f"{L}{i}"].number_format = PCT
        ws[f"{E}{i}"] = float(losses[n])
        ws[f"{E}{i}"].font = ENGINE_FONT
        ws[f"{K}{i}"] = _check(f"{L}{i}", f"{E}{i}")
        W_, WE, WK = col_letter(c + 3), col_letter(c + 4), col_letter(c + 5)
        ws[f"{W_}{i}"] = f"=INDEX(${g0}$1:${g1}$1,MATCH(MIN({g0}{i}:{g1}{i}),{g0}{i}:{g1}{i},0))"
        put_text(ws, i, c + 4, worst[n]).font = ENGINE_FONT
        ws[f"{WK}{i}"] = f"={W_}{i}={WE}{i}"
        R_, RE, RK = col_letter(c + 6), col_letter(c + 7), col_letter(c + 8)
        ws[f"{R_}{i}"] = f"=INDEX(Regimes!${state}:${state},MATCH($B{i},Regimes!$A:$A,1))"
        put_text(ws, i, c + 7, regs[n]).font = ENGINE_FONT
        ws[f"{RK}{i}"] = f"={R_}{i}={RE}{i}"
        checks += [
            (f"Stress {name}: portfolio loss", f"StressTests!{K}{i}"),
            (f"Stress {name}: worst asset", f"StressTests!{WK}{i}"),
            (f"Stress {name}: regime at start", f"StressTests!{RK}{i}"),
        ]
    r = len(table) + 4
    put_text(
        ws, r, 1, "Regime-conditional Monte Carlo, 20 days, 10,000 paths (engine output)"
    ).font = HEADER_FONT
    mc = regime_monte_carlo(
        res.returns,
        res.weights,
        res.regimes.states,
        res.regimes.detector.transmat_,
        res.regimes.current.to_numpy(),
        seed=res.config.regimes.seed,
    )
    for k2, (name, value) in enumerate(mc.items(), start=1):
        put_text(ws, r + k2, 1, f"99% {name}" if name in ("VaR", "ES") else name)
        ws.cell(row=r + k2, column=2, value=value).number_format = PCT
    ws.column_dimensions["A"].width = 34
    return checks


def build_attribution(
    wb: Workbook, res: AnalysisResult, lay: Layout, bt_cols: dict[str, dict[str, str]]
) -> list[tuple[str, str]]:
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
    _header(
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
    k = bt_cols["Dynamic"]
    checks: list[tuple[str, str]] = []
    w0 = wb["Backtest"][f"{k['w0']}1"].column
    for j, asset in enumerate(res.returns.columns):
        r = 2 + j
        put_text(ws, r, 1, asset)
        wc = col_letter(w0 + j)
        rc = col_letter(lay.return_col(j))
        ws[f"B{r}"] = f"=SUMPRODUCT(Backtest!{wc}{L}:{wc}{last},Data!{rc}{L}:{rc}{last})"
        ws[f"C{r}"] = float(assets_tab["Return contribution"].iloc[j])
        ws[f"D{r}"] = _check(f"B{r}", f"C{r}")
        ws[f"E{r}"] = float(assets_tab["Volatility contribution (Euler)"].iloc[j])
        ws[f"F{r}"] = float(assets_tab["CVaR contribution"].iloc[j])
        ws[f"G{r}"] = float(bf["Allocation"].iloc[j])
        for cc in "CEFG":
            ws[f"{cc}{r}"].font = ENGINE_FONT
            ws[f"{cc}{r}"].number_format = PCT
        ws[f"B{r}"].number_format = PCT
        checks.append((f"Attribution {asset}: return contribution", f"Attribution!D{r}"))
    reg = regime_contributions(dyn)
    top = 4 + len(res.returns.columns)
    _header(
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
        ws[f"D{n}"] = f"=B{n}=C{n}"
        ws[f"E{n}"] = f"=SUMIF({rg},A{n},Backtest!{k['ret']}{L}:{k['ret']}{last})"
        ws[f"F{n}"] = float(reg.loc[label, "return_earned"])
        ws[f"G{n}"] = _check(f"E{n}", f"F{n}")
        ws[f"H{n}"] = f"=SUMIF({rg},A{n},Backtest!{k['cost']}{L}:{k['cost']}{last})"
        ws[f"I{n}"] = float(reg.loc[label, "costs"])
        ws[f"J{n}"] = _check(f"H{n}", f"I{n}")
        for cc in "CFI":
            ws[f"{cc}{n}"].font = ENGINE_FONT
        checks += [
            (f"Attribution {label}: days", f"Attribution!D{n}"),
            (f"Attribution {label}: return earned", f"Attribution!G{n}"),
            (f"Attribution {label}: costs", f"Attribution!J{n}"),
        ]
    ws.column_dimensions["A"].width = 16
    return checks


def build_checks(wb: Workbook, checks: list[tuple[str, str]]) -> str:
    """One row per reconciliation check (a live link to it), and the master check; returns
    the master check's reference."""
    ws = wb.create_sheet("Checks")
    ws["A1"] = "Reconciliation: every formula result against the engine's own value"
    ws["A1"].font = TITLE_FONT
    _header(ws, 2, ["Check", "Where", "Passes"])
    for i, (label, ref) in enumerate(checks, start=3):
        put_text(ws, i, 1, label)
        put_text(ws, i, 2, ref)
        ws.cell(row=i, column=3, value=f"={ref}")
    last = 2 + len(checks)
    master = last + 2
    put_text(ws, master, 1, "Master check (all pass)").font = HEADER_FONT
    ws.cell(row=master, column=3, value=f"=AND(C3:C{last})")
    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 20
    return f"Checks!C{master}"


def build_lineage(wb: Workbook, res: AnalysisResult, run_time: dt.datetime) -> None:
    ws = wb.create_sheet("Lineage")
    ws["A1"] = "Lineage: where every number came from"
    ws["A1"].font = TITLE_FONT
    det = res.regimes.detector
    diag = getattr(det, "diagnostics_", None)
    cfg = res.config
    rows: list[tuple[str, object]] = [
        ("Run time (UTC)", run_time.strftime("%Y-%m-%d %H:%M:%S")),
        ("Data source", cfg.data.source),
        ("Input data SHA-256", res.data_sha256),
        ("Returns content hash (SHA-256)", content_key(res.returns)),
        ("Series", ", ".join(res.returns.columns)),
        ("Alignment", res.alignment.summary()),
        ("Returns", f"{cfg.data.return_method} returns, {len(res.returns)} dates"),
        ("Detector", f"{res.regimes.method} ({type(det).__name__}), {det.n_states} states"),
        (
            "Parameters estimated on",
            f"{res.returns.index[0]:%Y-%m-%d}..{res.returns.index[-1]:%Y-%m-%d} "
            "(in sample); probabilities filtered forward (data up to each date)",
        ),
        ("Seed", cfg.regimes.seed),
        ("Log-likelihood", "not defined" if det.loglik_ is None else float(det.loglik_)),
        ("BIC", "not defined" if det.bic_ is None else float(det.bic_)),
    ]
    if diag is not None:  # EM detectors report how the fit converged
        rows.append(
            (
                "Converged",
                f"{diag.converged} ({diag.converged_inits} of {diag.n_init} inits; "
                f"{diag.iterations} EM iterations in the best; {diag.covariance_type} covariance)",
            )
        )
    rows += [(f"Version: {k}", v) for k, v in _versions().items()]
    r = 3
    _header(ws, 2, ["Item", "Value"])
    for key, value in rows:
        put_text(ws, r, 1, key)
        if isinstance(value, str):
            put_text(ws, r, 2, value)
        else:
            ws.cell(row=r, column=2, value=value)
        r += 1
    r += 1
    put_text(ws, r, 1, "Fitted model (engine output)").font = HEADER_FONT
    r += 1
    labels = list(res.regimes.labels)
    _header(ws, r, ["Transition matrix (from \\ to)", *labels])
    for i, lab in enumerate(labels):
        put_text(ws, r + 1 + i, 1, lab)
        for j in range(len(labels)):
            ws.cell(
                row=r + 1 + i, column=2 + j, value=float(det.transmat_[i, j])
            ).number_format = "0.0000"
    r += len(labels) + 2
    summary = det.summary(res.returns.to_numpy(), cfg.risk.periods_per_year)
    _header(ws, r, ["State (signal: equal-weight return of the assets)", *summary.columns])
    for i, lab in enumerate(labels):
        put_text(ws, r + 1 + i, 1, lab)
        for j, v in enumerate(summary.loc[lab].to_numpy(dtype=float)):
            cell = ws.cell(row=r + 1 + i, column=2 + j, value=float(v) if np.isfinite(v) else None)
            cell.number_format = PCT if j < 3 else "0.0"
    r += len(labels) + 2
    put_text(ws, r, 1, "Configuration (as read)").font = HEADER_FONT
    for i, line in enumerate(cfg.source_text.splitlines(), start=1):
        put_text(ws, r + i, 1, line)
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 90


def build_about(
    ws: Worksheet, res: AnalysisResult, lay: Layout, master: str, run_time: dt.datetime
) -> None:
    cfg = res.config
    ws["A1"] = cfg.report.title
    ws["A1"].font = TITLE_FONT
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
        ("Run time (UTC)", run_time.strftime("%Y-%m-%d %H:%M:%S")),
        ("First return date", f"=MIN(Data!$A${lay.data_first}:$A${lay.data_last})"),
        ("Last return date", f"=MAX(Data!$A${lay.data_first}:$A${lay.data_last})"),
        ("Master check", f"={master}"),
        (
            "Conventions",
            "Simple returns; VaR/CVaR/drawdown are positive losses; volatility ddof=1, "
            "annualised with PeriodsPerYear; filtered regime probabilities.",
        ),
        ("Sheets", ", ".join(SHEETS)),
    ]
    for i, (k, v) in enumerate(lines, start=3):
        put_text(ws, i, 1, k).font = HEADER_FONT
        if isinstance(v, str) and v.startswith("="):
            cell = ws.cell(row=i, column=2, value=v)
            if "Data!" in v:
                cell.number_format = DATE
        else:
            put_text(ws, i, 2, v).alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 20
    ws.column_dimensions["B"].width = 100


MASTER_CHECK_CELL = "About!B9"


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
    build_assumptions(wb, res)
    build_data(wb, res, lay)
    build_regimes(wb, res, lay)
    checks = build_state_risk(wb, res, lay)
    checks += build_var_backtest(wb, res, lay)
    checks += build_allocation(wb, res, lay)
    bt_checks, bt_cols = build_backtest(wb, res, lay)
    checks += bt_checks
    checks += build_attribution(wb, res, lay, bt_cols)
    checks += build_stress(wb, res, lay)
    master = build_checks(wb, checks)
    build_lineage(wb, res, run_time)
    build_about(about, res, lay, master, run_time)
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
        ("run time (UTC)", run_time.strftime("%Y-%m-%d %H:%M:%S")),
    ):
        wb.custom_doc_props.append(StringProperty(name=key, value=value))
    wb.properties.title = res.config.report.title
    wb.properties.creator = f"regime-risk {engine.__version__}"
    wb.properties.keywords = "regimes; VaR; CVaR; audit"
    return save_atomic(wb, out)
