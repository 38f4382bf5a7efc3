"""The Backtest sheet: static and regime-aware NAV, drawdown, returns and costs as formulas."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import column_index_from_string
from openpyxl.utils import get_column_letter as col_letter

from workbooks.io import put_text
from workbooks.report import layout as ui
from workbooks.report.assumptions import provenance
from workbooks.report.checks import Checks, series_within_tolerance, within_tolerance
from workbooks.report.layout import ENGINE_FONT, FMT, Layout, Styler, finish_sheet

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult


STRATEGIES = ("Static", "Dynamic")  # one block of columns each, from column C
# after a block's held weights (one column per asset); a blank column follows each block
_BLOCK_TAIL = ("turn", "nav", "peak", "dd", "ret", "cost", "eng", "regime", "gross", "trade")


def backtest_columns(lay: Layout) -> dict[str, dict[str, str]]:
    """Column letters of each strategy's block ("w0".."w1" the held weights, then "turn", "nav",
    "peak", "dd", "ret", "cost", "eng", "regime", "gross", "trade"; "c0" the block's first
    column number), so other sheets can point at them."""
    m = lay.n_assets
    cols: dict[str, dict[str, str]] = {}
    for b, name in enumerate(STRATEGIES):
        c = 3 + b * (m + len(_BLOCK_TAIL) + 1)
        cols[name] = {"w0": col_letter(c), "w1": col_letter(c + m - 1), "c0": str(c)}
        cols[name] |= {key: col_letter(c + m + i) for i, key in enumerate(_BLOCK_TAIL)}
    return cols


def build_backtest(wb: Workbook, res: AnalysisResult, lay: Layout, checks: Checks) -> None:
    """Static and regime-aware NAV, peak, drawdown, returns and costs as formulas over the Data
    returns and the engine's held weights and turnover (values); metrics with engine values."""
    import pandas as pd

    from engine.backtest.metrics import live_slice

    ws = wb.create_sheet("Backtest")
    comp = res.comparison
    m = lay.n_assets
    assets = list(res.returns.columns)
    first, last = lay.data_first, lay.data_last
    put_text(ws, 1, 1, "Date")
    put_text(
        ws,
        1,
        2,
        "Cash return (bundled CASH index)" if res.cash is not None else "Cash return (none)",
    )
    cash = res.cash.to_numpy() if res.cash is not None else np.zeros(len(res.returns))
    blocks = dict(zip(STRATEGIES, (comp.static, comp.dynamic), strict=True))
    rc0, rc1 = col_letter(lay.return_col(0)), col_letter(lay.return_col(m - 1))
    cols = backtest_columns(lay)
    for name in blocks:
        src = "" if name == "Static" else " (engine)"  # the static leg is formulas
        heads = [
            *(f"{name} weight {a}{src}" for a in assets),
            f"{name} turnover{src}",
            f"{name} NAV",
            f"{name} peak",
            f"{name} drawdown",
            f"{name} return",
            f"{name} cost",
            f"{name} NAV (engine)",
            f"{name} regime in force (engine)",
            f"{name} gross return",
            f"{name} trade day (engine schedule)",
        ]
        for pos, h in enumerate(heads):
            put_text(ws, 1, int(cols[name]["c0"]) + pos, h).font = ui.HEADER_FONT
    ws.cell(row=2, column=1, value="=Data!A2").number_format = FMT.DATE
    for name in blocks:
        ws[f"{cols[name]['nav']}2"] = 1
        ws[f"{cols[name]['peak']}2"] = 1
    # the static leg is live: its weights drift with the Data returns from the Assumptions
    # Weights and go back to them on each trade day, so editing Weights or CostBps moves it
    (wsheet, wref), *_ = wb.defined_names["Weights"].destinations
    w_first = ws.parent[wsheet][wref.replace("$", "").split(":")[0]]
    target = [f"{wsheet}!${col_letter(w_first.column + j)}${w_first.row}" for j in range(m)]
    trade_days = {  # 1 where the strategy trades at the close (decision date + Delay)
        name: res.returns.index.isin(pd.DatetimeIndex(bt.audit["execution_date"].dropna()))
        for name, bt in blocks.items()
    }
    style = Styler()
    index = {
        name: {key: column_index_from_string(c) for key, c in cols[name].items() if key != "c0"}
        for name in blocks
    }

    def put(row: int, column: int, value: object, fmt: str, font: Font | None = None) -> None:
        style(ws.cell(row=row, column=column, value=value), fmt, font)

    # each formula's engine value, from the simulator's own series
    # weights held over each period: the end-of-period weights of the period before
    held_weights = {
        name: np.vstack([np.zeros(m), bt.weights.to_numpy()[:-1]]) for name, bt in blocks.items()
    }
    gross_return = {
        name: (w * res.returns.to_numpy()).sum(axis=1) + (1.0 - w.sum(axis=1)) * cash
        for name, w in held_weights.items()
    }
    peak = {
        name: np.maximum.accumulate(np.r_[1.0, bt.nav.to_numpy()])[1:]
        for name, bt in blocks.items()
    }
    checks.expect(ws, "A2", res.prices.index[0].to_pydatetime())
    for r in range(first, last + 1):
        i = r - first
        style(ws.cell(row=r, column=1, value=f"=Data!A{r}"), FMT.DATE)
        checks.expect(ws, f"A{r}", res.returns.index[i].to_pydatetime())
        for name, bt in blocks.items():
            k = cols[name]
            nav_value = float(bt.nav.iloc[i])
            for key, value in (
                ("gross", gross_return[name][i]),
                ("nav", nav_value),
                ("peak", peak[name][i]),
                ("dd", nav_value / peak[name][i] - 1.0),
                ("ret", bt.returns.iloc[i]),
                ("cost", bt.costs.iloc[i]),
            ):
                checks.expect(ws, f"{k[key]}{r}", float(value))
            if name == "Static":
                checks.expect(ws, f"{k['turn']}{r}", float(bt.turnover.iloc[i]))
                for j in range(m if i > 0 else 0):
                    wc = col_letter(int(k["c0"]) + j)
                    checks.expect(ws, f"{wc}{r}", float(held_weights[name][i, j]))
        style(ws.cell(row=r, column=2, value=float(cash[i])), FMT.NUMBER, ENGINE_FONT)
        rets = f"Data!{rc0}{r}:{rc1}{r}"
        for name, bt in blocks.items():
            k = cols[name]
            w = f"{k['w0']}{r}:{k['w1']}{r}"

            col = index[name]
            put(r, col["trade"], int(trade_days[name][i]), FMT.COUNT, ENGINE_FONT)
            put(r, col["gross"], f"=SUMPRODUCT({w},{rets})+(1-SUM({w}))*B{r}", FMT.PCT4)
            if name == "Static":
                p = r - 1  # weights held over period r: the end of period r - 1
                for j in range(m):
                    wc = col_letter(int(k["c0"]) + j)
                    rc = col_letter(lay.return_col(j))
                    formula = (
                        0
                        if i == 0
                        else f"=IF({k['trade']}{p}=1,{target[j]},"
                        f"{wc}{p}*(1+Data!{rc}{p})/(1+{k['gross']}{p}))"
                    )
                    style(ws.cell(row=r, column=int(k["c0"]) + j, value=formula), FMT.PCT)
                drifted = f"{w}*(1+{rets})/(1+{k['gross']}{r})"
                put(
                    r,
                    col["turn"],
                    f"=IF({k['trade']}{r}=1,SUMPRODUCT(ABS(Weights-{drifted})),0)",
                    FMT.NUMBER,
                )
            else:
                held = bt.weights.iloc[i - 1].to_numpy() if i > 0 else np.zeros(m)
                for j in range(m):
                    cell = ws.cell(row=r, column=int(k["c0"]) + j, value=float(held[j]))
                    style(cell, FMT.PCT, ENGINE_FONT)
                put(r, col["turn"], float(bt.turnover.iloc[i]), FMT.NUMBER, ENGINE_FONT)
            put(
                r,
                col["nav"],
                f"={k['nav']}{r - 1}*(1+{k['gross']}{r})*(1-{k['turn']}{r}*CostBps*BasisPoint)",
                FMT.NUMBER,
            )
            put(r, col["peak"], f"=MAX({k['peak']}{r - 1},{k['nav']}{r})", FMT.NUMBER)
            put(r, col["dd"], f"={k['nav']}{r}/{k['peak']}{r}-1", FMT.PCT)
            put(r, col["ret"], f"={k['nav']}{r}/{k['nav']}{r - 1}-1", FMT.PCT4)
            put(
                r,
                col["cost"],
                f"={k['nav']}{r}/(1-{k['turn']}{r}*CostBps*BasisPoint)*{k['turn']}{r}*CostBps*BasisPoint",
                FMT.NUMBER,
            )
            put(r, col["eng"], float(bt.nav.iloc[i]), FMT.NUMBER, ENGINE_FONT)
            regime = column_index_from_string(k["regime"])
            style(put_text(ws, r, regime, bt.regime.iloc[i] or ""), None, ENGINE_FONT)
    start = max(live_slice(b).start or 0 for b in blocks.values())
    L = first + start
    base = 4 + len(STRATEGIES) * (m + len(_BLOCK_TAIL) + 1)  # two blank columns after the blocks
    ui.header(
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
        (  # mean / standard deviation (ddof 1) of the returns over cash, annualised
            "Sharpe",
            "=(SUMPRODUCT({ex})/COUNT({ret}{L}:{ret}{last}))"
            "/SQRT((SUMPRODUCT({ex}*{ex})-SUMPRODUCT({ex})*SUMPRODUCT({ex})"
            "/COUNT({ret}{L}:{ret}{last}))/(COUNT({ret}{L}:{ret}{last})-1))"
            "*SQRT(PeriodsPerYear)",
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
                ex=f"({k['ret']}{L}:{k['ret']}{last}-B{L}:B{last})",
                last=last,
            )
            fc, ec, kc = (col_letter(base + 1 + 3 * off + x) for x in range(3))
            ws[f"{fc}{n}"] = f
            ws[f"{ec}{n}"] = engine_metric[(label, name)]
            ws[f"{ec}{n}"].font = ENGINE_FONT
            ws[f"{fc}{n}"].number_format = ws[f"{ec}{n}"].number_format = FMT.NUMBER
            checks.expect(ws, f"{fc}{n}", engine_metric[(label, name)])
            ws[f"{kc}{n}"] = within_tolerance(f"{fc}{n}", f"{ec}{n}")
            checks.add(f"Backtest {name}: {label}", ws, f"{kc}{n}")
    n = len(metrics) + 3
    ui.write_note(ws, n + 1, base, provenance(res, "Backtest"), span=7)
    put_text(ws, n, base, "NAV series: formula vs engine")
    for off, name in enumerate(blocks):
        k = cols[name]
        kc = col_letter(base + 3 + 3 * off)
        nav, eng = f"{k['nav']}{first}:{k['nav']}{last}", f"{k['eng']}{first}:{k['eng']}{last}"
        ws[f"{kc}{n}"] = series_within_tolerance(nav, eng)
        checks.add(f"Backtest {name}: NAV series", ws, f"{kc}{n}")
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
        ui.show_axes(chart)
        chart.width, chart.height = 26, 9
        ws.add_chart(chart, f"{col_letter(base)}{at}")
    ws.freeze_panes = "B2"
    # printed: the metrics, checks and charts; the daily blocks stay in the workbook
    finish_sheet(
        ws, one_page=True, print_area=f"{col_letter(base)}1:{col_letter(base + 14)}{n + 42}"
    )
