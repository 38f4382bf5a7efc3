"""The VaRBacktest sheet: rolling historical VaR, exceptions, coverage tests, regulatory figures."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np
from openpyxl import Workbook
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import PatternFill
from openpyxl.utils import get_column_letter as col_letter

from workbooks.io import put_text
from workbooks.report import layout as ui
from workbooks.report.assumptions import provenance
from workbooks.report.checks import Checks, equal, series_within_tolerance, within_tolerance
from workbooks.report.layout import ENGINE_FONT, FMT, Layout, Styler, finish_sheet

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult


REG_COL = 13  # M: the regulatory series, right of the summary block (H:K)


def _intermediate_steps(res: AnalysisResult) -> dict[str, float]:
    """The engine's value of each intermediate step of the coverage tests (the summary rows
    that have no engine figure of their own), computed as the formulas beside them do."""
    from scipy import stats

    cfg = res.config
    hits = res.var_hits[np.isfinite(res.var_hits)].astype(int)
    n, x, p = hits.size, int(hits.sum()), 1.0 - cfg.risk.var_confidence

    def xlog(a: float, b: float) -> float:
        return 0.0 if a == 0 else a * math.log(b)

    pairs = list(itertools.pairwise(hits.tolist()))
    n00, n01, n10, n11 = (
        sum(1 for a, b in pairs if (a, b) == ab) for ab in ((0, 0), (0, 1), (1, 0), (1, 1))
    )
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    reg = res.regulatory_var_hits[np.isfinite(res.regulatory_var_hits)].astype(int)
    rc = cfg.regulatory
    return {
        "Tail probability p = 1 - VaRConfidence": p,
        "Kupiec log-lik. (null)": (n - x) * math.log(1 - p) + x * math.log(p),
        "Kupiec log-lik. (observed)": xlog(x, x / n) + xlog(n - x, 1 - x / n),
        "n00": n00,
        "n01": n01,
        "n10": n10,
        "n11": n11,
        "pi01": pi01,
        "pi11": pi11,
        "pi": pi,
        "Independence log-lik. (null)": xlog(n00 + n10, 1 - pi) + xlog(n01 + n11, pi),
        "Independence log-lik. (Markov)": xlog(n00, 1 - pi01)
        + xlog(n01, pi01)
        + xlog(n10, 1 - pi11)
        + xlog(n11, pi11),
        "Basel cumulative probability": float(
            stats.binom.cdf(
                int(reg[-rc.basel_window :].sum()), rc.basel_window, 1 - rc.basel_confidence
            )
        ),
    }


def build_var_backtest(wb: Workbook, res: AnalysisResult, lay: Layout, checks: Checks) -> None:
    """Rolling historical VaR of the portfolio, its exceptions and the coverage tests, as
    formulas over the Data sheet; the engine's figures and a check beside each."""
    from engine.risk import value_at_risk
    from engine.validation.var_backtest import ucits_utilisation

    ws = wb.create_sheet("VaRBacktest")
    cfg = res.config
    W = cfg.risk.var_window
    BW = cfg.regulatory.basel_window
    port = col_letter(lay.port_col)
    ui.header(
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
    ui.header(
        ws,
        1,
        [
            "Regulatory VaR (BaselConfidence)",
            "Regulatory exception",
            "Regulatory VaR (engine)",
            "Regulatory exception (engine)",
        ],
        start_col=REG_COL,
    )
    reg_var, reg_exc = col_letter(REG_COL), col_letter(REG_COL + 1)
    s, e = lay.data_first + W, lay.data_last  # first forecast row, last row (rows as on Data)
    style = Styler()
    for r in range(lay.data_first, e + 1):
        style(ws.cell(row=r, column=1, value=f"=Data!A{r}"), FMT.DATE)
        style(ws.cell(row=r, column=2, value=f"=Data!{port}{r}"), FMT.PCT4)
        if r >= s:
            win = f"B{r - W}:B{r - 1}"
            i = r - lay.data_first
            for c, value, fmt, font in (
                (
                    3,
                    f"=-SMALL({win},FLOOR((1-VaRConfidence)*COUNT({win}),1)+1)",
                    FMT.PCT4,
                    None,
                ),
                (4, f"=IF(-B{r}>C{r},1,0)", FMT.COUNT, None),
                (5, float(res.var_forecast[i]), FMT.PCT4, ENGINE_FONT),
                (6, int(res.var_hits[i]), FMT.COUNT, ENGINE_FONT),
                # the regulatory series (Basel traffic light, UCITS): the 99% one-day VaR
                (
                    REG_COL,
                    f"=-SMALL({win},FLOOR((1-BaselConfidence)*COUNT({win}),1)+1)",
                    FMT.PCT4,
                    None,
                ),
                (REG_COL + 1, f"=IF(-B{r}>{reg_var}{r},1,0)", FMT.COUNT, None),
                (REG_COL + 2, float(res.regulatory_var_forecast[i]), FMT.PCT4, ENGINE_FONT),
                (REG_COL + 3, int(res.regulatory_var_hits[i]), FMT.COUNT, ENGINE_FONT),
            ):
                style(ws.cell(row=r, column=c, value=value), fmt, font)
            engine = {  # each formula column's engine value: the one written beside it
                3: float(res.var_forecast[i]),
                4: int(res.var_hits[i]),
                REG_COL: float(res.regulatory_var_forecast[i]),
                REG_COL + 1: int(res.regulatory_var_hits[i]),
            }
            for c, value in engine.items():
                checks.expect(ws, f"{col_letter(c)}{r}", value)
        i = r - lay.data_first
        checks.expect(ws, f"A{r}", res.returns.index[i].to_pydatetime())
        checks.expect(ws, f"B{r}", float(res.portfolio.iloc[i]))
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
        ("Observations n (VaR at VaRConfidence)", f"=COUNT({D})", bt.observations),
        ("Exceptions x (at VaRConfidence)", f"=SUM({D})", bt.exceptions),
        ("Tail probability p = 1 - VaRConfidence", "=1-VaRConfidence", None),
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
        (
            "Regulatory exceptions (BaselConfidence VaR), last BaselWindow days",
            f"=SUM({reg_exc}{e - BW + 1}:{reg_exc}{e})",
            bt.basel_exceptions_250,
        ),
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
    steps = _intermediate_steps(res)
    ui.header(ws, 1, ["Backtest figure", "Formula", "Engine", "Check"], start_col=8)
    for k, (label, formula, engine_value) in enumerate(rows, start=2):
        put_text(ws, k, 8, label)
        if formula:
            checks.expect(ws, f"I{k}", steps[label] if engine_value is None else engine_value)
        counted = label.startswith(("n0", "n1", "Observations", "Exceptions", "Regulatory ex"))
        fmt = FMT.COUNT if counted or "overshootings" in label else FMT.NUMBER
        if isinstance(engine_value, bool):
            fmt = FMT.BOOL
        if formula:
            ws.cell(row=k, column=9, value=formula).number_format = fmt
        if engine_value is not None:
            v = engine_value.item() if hasattr(engine_value, "item") else engine_value
            cell = ws.cell(row=k, column=10, value=v)
            cell.font, cell.number_format = ENGINE_FONT, fmt
            if isinstance(v, str):
                cell.data_type = "s"
            if formula:
                exact = isinstance(v, str | bool)
                chk = (equal if exact else within_tolerance)(f"I{k}", f"J{k}")
                ws.cell(row=k, column=11, value=chk)
                checks.add(f"VaRBacktest: {label}", ws, f"K{k}")
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
    ws.cell(row=k, column=11, value=series_within_tolerance(f"C{s}:C{e}", f"E{s}:E{e}"))
    put_text(ws, k + 1, 8, "Exception series: formula vs engine")
    ws.cell(row=k + 1, column=11, value=f"=SUMPRODUCT(ABS(D{s}:D{e}-F{s}:F{e}))=0")
    put_text(ws, k + 2, 8, "Regulatory VaR series: formula vs engine")
    rv, re_, rve, ree = (col_letter(REG_COL + i) for i in range(4))
    ws.cell(
        row=k + 2,
        column=11,
        value=series_within_tolerance(f"{rv}{s}:{rv}{e}", f"{rve}{s}:{rve}{e}"),
    )
    put_text(ws, k + 3, 8, "Regulatory exception series: formula vs engine")
    ws.cell(row=k + 3, column=11, value=f"=SUMPRODUCT(ABS({re_}{s}:{re_}{e}-{ree}{s}:{ree}{e}))=0")
    checks.add("VaRBacktest: VaR series", ws, f"K{k}")
    checks.add("VaRBacktest: exception series", ws, f"K{k + 1}")
    checks.add("VaRBacktest: regulatory VaR series", ws, f"K{k + 2}")
    checks.add("VaRBacktest: regulatory exception series", ws, f"K{k + 3}")
    ws.freeze_panes = "B2"
    put_text(
        ws,
        k + 5,
        8,
        f"Daily series (columns A:F and M:P, {e - s + 1} forecast days) are not printed.",
    ).font = ENGINE_FONT
    ui.write_note(ws, k + 6, 8, provenance(res, "VaRBacktest"), span=4)
    ui.set_widths(
        ws,
        dict(
            zip(
                "ABCDEFGHIJKLMNOP",
                (12, 12, 12, 10, 14, 12, 2, 62, 16, 16, 8, 2, 14, 12, 14, 12),
                strict=True,
            )
        ),
    )
    finish_sheet(ws, print_area=f"H1:K{k + 6}", title_rows="1:1", one_page=True)
