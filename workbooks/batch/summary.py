"""summary.xlsx: the sweep in one workbook, with the report's conventions.

Results holds the engine's values (one row per task). Everything derived from them is a live
formula beside the engine's own value and a check: the ranks (RANK), the aggregates per varied
key (COUNTIF, AVERAGEIF), the trials' Sharpe variance, the expected maximum Sharpe ratio under
the null and each configuration's deflated Sharpe ratio (Bailey & López de Prado 2014) from the
named inputs on Inputs (NTrials: every configuration that ran counts as a trial). Checks lists
the check cells and holds the master check; About links to it (About!B9, where `regime-risk
verify` reads it). Saved atomically, every formula cell carrying the engine's value as its
cached value.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import re
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.worksheet.worksheet import Worksheet

import engine
from engine.backtest.metrics import METRICS
from workbooks.batch.spec import BatchSpec, display_value
from workbooks.batch.store import Assembly
from workbooks.batch.task import slug
from workbooks.cached import write_cached_values
from workbooks.io import put_text, save_atomic
from workbooks.report.about import MASTER_CHECK_CELL
from workbooks.report.checks import Checks, build_checks, equal, within_tolerance
from workbooks.report.layout import (
    ENGINE_FONT,
    FMT,
    HEADER_FONT,
    TIMESTAMP,
    Styler,
    define_name,
    finish_sheet,
    header,
    mark_input,
    set_widths,
    title,
    write_note,
)

EULER_GAMMA = 0.5772156649015329  # as engine.backtest.metrics.deflated_sharpe_ratio
PERCENT = {"CAGR", "Volatility", "Max drawdown", "CVaR 95%", "Costs paid", "Hit ratio"}
RESULTS_FIRST = 3  # first data row of Results (title in row 1, headers in row 2)
RANK_HEADER_ROW = 9
# AVERAGEIF/COUNTIF read a criterion like "1/2" or "TRUE" as a date or a boolean: text is
# matched directly only when it is a plain word, numbers always; otherwise a value's number
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _blank(v: Any) -> Any:
    """A cell value: NaN and ±inf (which a workbook cannot hold) as blank."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _plain(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float):
        return math.isfinite(v)
    return isinstance(v, str) and bool(_PLAIN.match(v)) and v.lower() not in ("true", "false")


class Dimension:
    """A varied key (or the portfolio): its values, each row's value index, and whether the
    formulas match the value itself or its number (1-based) in an extra Results column."""

    def __init__(self, name: str, values: list[Any], index: list[int]) -> None:
        self.name = name
        self.values = values
        self.index = index  # per Results row
        self.by_number = not all(_plain(display_value(v)) for v in values)


def _index_of(values: list[Any], v: Any) -> int:
    return next(i for i, u in enumerate(values) if type(u) is type(v) and u == v)


def dimensions(spec: BatchSpec, asm: Assembly) -> list[Dimension]:
    """The portfolio and every grid key, with each task's value number."""
    names = [p.name for p in spec.portfolios]
    dims = [Dimension("Portfolio", names, [names.index(t.portfolio) for t in spec.tasks])]
    for k, values in spec.grid.items():
        idx = [_index_of(values, dict(t.grid)[k]) for t in spec.tasks]
        dims.append(Dimension(k, values, idx))
    return dims


def build_summary(
    spec: BatchSpec, asm: Assembly, out: str | Path, run_time: dt.datetime | None = None
) -> Path:
    """Write summary.xlsx for the assembled batch `asm` to `out` atomically."""
    run_time = run_time or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    wb = Workbook()
    about = wb.active
    assert about is not None
    about.title = "About"
    checks = Checks()
    _inputs(wb, spec, asm)
    ranking = wb.create_sheet("Ranking")
    aggregates = wb.create_sheet("Aggregates")
    results = wb.create_sheet("Results")
    dims = dimensions(spec, asm)
    cols = _results(results, asm, dims)
    _ranking(ranking, asm, dims, cols, checks)
    _aggregates(aggregates, asm, dims, cols, checks)
    master = build_checks(wb, checks)
    _about(about, spec, asm, master, run_time, checks)
    for ws in wb.worksheets:
        ws.protection.sheet = True
        ws.protection.formatColumns = False
        ws.protection.formatRows = False
    wb.properties.title = f"Batch summary: {spec.path.name}"
    wb.properties.creator = f"regime-risk {engine.__version__}"
    path = save_atomic(wb, out)
    write_cached_values(path, checks.expected)
    return path


def _inputs(wb: Workbook, spec: BatchSpec, asm: Assembly) -> None:
    ws = wb.create_sheet("Inputs")
    title(ws, "Inputs of the summary's formulas (blue: editable)")
    header(ws, 2, ["Name", "Value", "Meaning"])
    rows = [
        (
            "NTrials",
            asm.n_trials,
            "configurations tried: every task that ran counts as a trial (add earlier sweeps' "
            "trials here: the deflated Sharpe ratios follow)",
            True,
        ),
        ("Tolerance", spec.tolerance, "relative tolerance of every check (the base's)", True),
        ("EulerGamma", EULER_GAMMA, "Euler–Mascheroni constant (expected maximum of N)", False),
    ]
    for i, (name, value, meaning, is_input) in enumerate(rows, start=3):
        put_text(ws, i, 1, name)
        cell = ws.cell(row=i, column=2, value=value)
        cell.number_format = FMT.COUNT if isinstance(value, int) else "0.000000000000"
        if is_input:
            mark_input(cell)
        put_text(ws, i, 3, meaning)
        define_name(wb, name, f"Inputs!$B${i}")
    set_widths(ws, {"A": 14, "B": 18, "C": 90})
    finish_sheet(ws, title_rows="2:2")


def _results(ws: Worksheet, asm: Assembly, dims: list[Dimension]) -> dict[str, int]:
    """Engine values, one row per task; returns column name → column number."""
    title(ws, "Results: one row per task (engine values; failed tasks have an error, no metrics)")
    names = ["Task key", *[d.name for d in dims]]
    names += [f"{d.name} #" for d in dims if d.by_number]
    metric_names = [f"{side} {m}" for side in ("Static", "Dynamic") for m in METRICS]
    names += metric_names
    names += ["Dynamic daily Sharpe", "Dynamic skewness", "Dynamic kurtosis", "Live days"]
    names += ["DSR (engine)", "Error"]
    cols = {n: j for j, n in enumerate(names, start=1)}
    header(ws, 2, names)
    fields = {
        f"{side} {m}": f"{side.lower()}_{slug(m)}"
        for side in ("Static", "Dynamic")
        for m in METRICS
    }
    fields |= {
        "Dynamic daily Sharpe": "dynamic_daily_sharpe",
        "Dynamic skewness": "dynamic_skewness",
        "Dynamic kurtosis": "dynamic_kurtosis",
        "Live days": "live_days",
        "DSR (engine)": "dsr",
    }
    fmt = {n: FMT.PCT if n.split(" ", 1)[1] in PERCENT else FMT.NUMBER for n in metric_names}
    fmt |= {"Live days": FMT.COUNT, "DSR (engine)": FMT.PCT}
    style = Styler()
    for i, row in enumerate(asm.rows):
        r = RESULTS_FIRST + i
        put_text(ws, r, 1, row["key"])
        for d in dims:
            v = display_value(d.values[d.index[i]])
            if isinstance(v, str):
                put_text(ws, r, cols[d.name], v)
            else:
                ws.cell(row=r, column=cols[d.name], value=v)
            if d.by_number:
                ws.cell(row=r, column=cols[f"{d.name} #"], value=d.index[i] + 1)
        for name, f in fields.items():
            v = _blank(row[f])
            if v is not None:
                style(ws.cell(row=r, column=cols[name], value=v), fmt.get(name, FMT.NUMBER))
        if row["error"]:
            put_text(ws, r, cols["Error"], row["error"])
    ws.freeze_panes = "B3"
    finish_sheet(ws, title_rows="2:2")
    return cols


def _rng(cols: dict[str, int], name: str, n: int) -> str:
    c = col_letter(cols[name])
    return f"Results!${c}${RESULTS_FIRST}:${c}${RESULTS_FIRST + max(n, 1) - 1}"


def _ref(cols: dict[str, int], name: str, i: int) -> str:
    return f"Results!${col_letter(cols[name])}${RESULTS_FIRST + i}"


def _ranking(
    ws: Worksheet, asm: Assembly, dims: list[Dimension], cols: dict[str, int], checks: Checks
) -> None:
    """The configurations that ran, best dynamic Sharpe ratio first: RANK formulas and deflated
    Sharpe ratios, each beside the engine's value."""
    title(ws, "Ranking by the regime-aware (dynamic) strategy's Sharpe ratio")
    wb = ws.parent
    n = len(asm.rows)
    ok = [i for i, r in enumerate(asm.rows) if not r["error"] and _blank(r["dynamic_sharpe"])]
    sharpe = {i: asm.rows[i]["dynamic_sharpe"] for i in ok}
    ascending = sorted(sharpe.values())
    # RANK (descending): 1 + how many are strictly higher, so ties share a rank
    rank = {i: 1 + len(ascending) - bisect.bisect_right(ascending, sharpe[i]) for i in ok}
    order = sorted(ok, key=lambda i: (rank[i], i))
    header(ws, 2, ["", "Formula", "Engine", "Check"])
    sr_range = _rng(cols, "Dynamic daily Sharpe", n)
    first = RANK_HEADER_ROW + 1
    last = RANK_HEADER_ROW + max(len(order), 1)
    names = ["Rank", "Engine rank", "Check", "Task key", *[d.name for d in dims]]
    names += ["Dynamic Sharpe", "Static Sharpe", "Sharpe gain", "Daily Sharpe", "Skewness"]
    names += ["Kurtosis", "Live days", "DSR", "DSR (engine)", "DSR check"]
    c = {name: j for j, name in enumerate(names, start=1)}
    L = {name: col_letter(j) for name, j in c.items()}
    best = order[0] if order else None
    block: list[tuple[str, str | None, Any, str]] = [
        (
            "Trials: tasks with a daily Sharpe ratio (= NTrials)",
            f"=COUNT({sr_range})",
            asm.n_trials,
            "=AND(B3=C3,NTrials=C3)",
        ),
        (
            "Variance of the trials' daily Sharpe ratios (TrialSharpeVar)",
            f'=IFERROR(_xlfn.VAR.S({sr_range}),"")',
            asm.trial_sharpe_variance,
            within_tolerance("B4", "C4"),
        ),
        (
            "Expected maximum daily Sharpe ratio of NTrials trials under the null "
            "(ExpectedMaxSharpe, SR₀)",
            "=IFERROR(SQRT(TrialSharpeVar)*((1-EulerGamma)*_xlfn.NORM.S.INV(1-1/MAX(INT(NTrials),2))"
            '+EulerGamma*_xlfn.NORM.S.INV(1-1/(MAX(INT(NTrials),2)*EXP(1)))),"")',
            _sr0(asm),
            within_tolerance("B5", "C5"),
        ),
        (
            "Best configuration (task key)",
            None,
            asm.rows[best]["key"] if best is not None else "none",
            "",
        ),
        (
            "Deflated Sharpe ratio of the best configuration",
            f'=IF(ISNUMBER({L["DSR"]}{first}),{L["DSR"]}{first},"")',
            asm.rows[best]["dsr"] if best is not None else math.nan,
            within_tolerance("B7", "C7"),
        ),
    ]
    labels = [
        "trials counted",
        "trials' Sharpe variance",
        "expected maximum Sharpe (SR₀)",
        "",
        "deflated Sharpe ratio of the best",
    ]
    for r, ((label, formula, engine_value, check), what) in enumerate(
        zip(block, labels, strict=True), start=3
    ):
        put_text(ws, r, 1, label)
        if formula is None:
            put_text(ws, r, 2, engine_value)
            continue
        ws.cell(row=r, column=2, value=formula)
        checks.expect(ws, f"B{r}", engine_value)
        engine_cell = ws.cell(row=r, column=3, value=_blank(engine_value))
        engine_cell.font = ENGINE_FONT
        for cell in (ws.cell(row=r, column=2), engine_cell):
            cell.number_format = FMT.COUNT if r == 3 else (FMT.PCT if r == 7 else "0.000000")
        ws.cell(row=r, column=4, value=check)
        checks.add(f"Ranking: {what}", ws, f"D{r}")
    define_name(wb, "TrialSharpeVar", "Ranking!$B$4")
    define_name(wb, "ExpectedMaxSharpe", "Ranking!$B$5")
    write_note(
        ws,
        8,
        1,
        "Rank: RANK of the dynamic Sharpe ratio among the tasks that ran (ties share a rank). "
        "DSR = Φ((SR − SR₀)·√(T−1) / √(1 − γ₃·SR + (γ₄−1)/4·SR²)) with SR, γ₃, γ₄ the daily "
        "Sharpe ratio, skewness and kurtosis of the dynamic strategy over its live days T.",
        span=10,
    )
    header(ws, RANK_HEADER_ROW, names)
    style = Styler()
    sharpe_range = _rng(cols, "Dynamic Sharpe", n)
    for k, i in enumerate(order):
        r = first + k
        row = asm.rows[i]
        ws.cell(row=r, column=1, value=f"=RANK({_ref(cols, 'Dynamic Sharpe', i)},{sharpe_range})")
        checks.expect(ws, f"A{r}", rank[i])
        style(ws.cell(row=r, column=2, value=rank[i]), FMT.COUNT, ENGINE_FONT)
        style(ws.cell(row=r, column=3, value=equal(f"A{r}", f"B{r}")), FMT.BOOL)
        checks.expect(ws, f"C{r}", True)
        put_text(ws, r, 4, row["key"])
        for d in dims:
            v = display_value(d.values[d.index[i]])
            if isinstance(v, str):
                put_text(ws, r, c[d.name], v)
            else:
                ws.cell(row=r, column=c[d.name], value=v)
        links = {
            "Dynamic Sharpe": ("Dynamic Sharpe", "dynamic_sharpe", FMT.NUMBER),
            "Static Sharpe": ("Static Sharpe", "static_sharpe", FMT.NUMBER),
            "Daily Sharpe": ("Dynamic daily Sharpe", "dynamic_daily_sharpe", "0.000000"),
            "Skewness": ("Dynamic skewness", "dynamic_skewness", FMT.NUMBER),
            "Kurtosis": ("Dynamic kurtosis", "dynamic_kurtosis", FMT.NUMBER),
            "Live days": ("Live days", "live_days", FMT.COUNT),
        }
        for name, (source, field, number_format) in links.items():
            ref = f"{L[name]}{r}"
            style(ws.cell(row=r, column=c[name], value=f"={_ref(cols, source, i)}"), number_format)
            checks.expect(ws, ref, _blank(row[field]))
        gain = row["dynamic_sharpe"] - row["static_sharpe"]
        ws.cell(
            row=r,
            column=c["Sharpe gain"],
            value=f"={L['Dynamic Sharpe']}{r}-{L['Static Sharpe']}{r}",
        ).number_format = FMT.NUMBER
        checks.expect(ws, f"{L['Sharpe gain']}{r}", _blank(gain))
        sr, g3, g4, t = (
            f"{L[x]}{r}" for x in ("Daily Sharpe", "Skewness", "Kurtosis", "Live days")
        )
        dsr = (
            f"=IFERROR(_xlfn.NORM.S.DIST(({sr}-ExpectedMaxSharpe)*SQRT({t}-1)/"
            f'SQRT(MAX(1-{g3}*{sr}+({g4}-1)/4*{sr}^2,1E-12)),TRUE),"")'
        )
        style(ws.cell(row=r, column=c["DSR"], value=dsr), FMT.PCT)
        checks.expect(ws, f"{L['DSR']}{r}", _blank(row["dsr"]))
        style(
            ws.cell(row=r, column=c["DSR (engine)"], value=_blank(row["dsr"])), FMT.PCT, ENGINE_FONT
        )
        check = within_tolerance(f"{L['DSR']}{r}", f"{L['DSR (engine)']}{r}")
        style(ws.cell(row=r, column=c["DSR check"], value=check), FMT.BOOL)
        checks.expect(ws, f"{L['DSR check']}{r}", True)
    # one check cell per column of row checks (a sweep of 10,000 tasks lists two, not 20,000)
    summary_row = last + 2
    put_text(
        ws, summary_row, 1, "All ranks and deflated Sharpe ratios match the engine"
    ).font = HEADER_FONT
    if order:
        rank_all = f"=AND(C{first}:C{last})"
        dsr_all = f"=AND({L['DSR check']}{first}:{L['DSR check']}{last})"
    else:
        rank_all = dsr_all = "=TRUE()"
    ws.cell(row=summary_row, column=3, value=rank_all)
    checks.add("Ranking: every RANK formula equals the engine's rank", ws, f"C{summary_row}")
    ws.cell(row=summary_row, column=c["DSR check"], value=dsr_all)
    checks.add(
        "Ranking: every deflated Sharpe ratio formula equals the engine's",
        ws,
        f"{L['DSR check']}{summary_row}",
    )
    ws.freeze_panes = f"E{first}"
    set_widths(ws, {"A": 10})
    finish_sheet(ws, title_rows=f"{RANK_HEADER_ROW}:{RANK_HEADER_ROW}")


def _sr0(asm: Assembly) -> float:
    """Expected maximum Sharpe ratio under the null, as deflated_sharpe_ratio computes it."""
    from scipy import stats

    if not math.isfinite(asm.trial_sharpe_variance):
        return math.nan
    n = max(asm.n_trials, 2)
    return float(
        math.sqrt(asm.trial_sharpe_variance)
        * (
            (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / n)
            + EULER_GAMMA * stats.norm.ppf(1 - 1 / (n * math.e))
        )
    )


AGGREGATES = (  # label, Results column, field
    ("Mean dynamic Sharpe", "Dynamic Sharpe", "dynamic_sharpe"),
    ("Mean static Sharpe", "Static Sharpe", "static_sharpe"),
    ("Mean dynamic CAGR", "Dynamic CAGR", "dynamic_cagr"),
    ("Mean dynamic max drawdown", "Dynamic Max drawdown", "dynamic_max_drawdown"),
)


def _mean(values: list[float]) -> float:
    v = [x for x in values if math.isfinite(x)]
    return sum(v) / len(v) if v else math.nan


def _aggregates(
    ws: Worksheet, asm: Assembly, dims: list[Dimension], cols: dict[str, int], checks: Checks
) -> None:
    """Per varied key (and portfolio), per value: tasks, successes and mean metrics as
    COUNTIF/AVERAGEIF formulas over Results, each beside the engine's value and a check."""
    title(ws, "Aggregates per varied key: COUNTIF / AVERAGEIF over Results")
    n = len(asm.rows)
    names = ["Value", "#", "Tasks", "Engine", "Check", "Succeeded", "Engine", "Check"]
    for label, _, _ in AGGREGATES:
        names += [label, "Engine", "Check"]
    names += ["Mean Sharpe gain", "Engine", "Check"]
    r = 3
    style = Styler()
    ok_range = _rng(cols, "Dynamic Sharpe", n)
    for d in dims:
        put_text(ws, r, 1, f"By {d.name}").font = HEADER_FONT
        header(ws, r + 1, names)
        first = r + 2
        key_col = f"{d.name} #" if d.by_number else d.name
        key_range = _rng(cols, key_col, n)
        for v_i, value in enumerate(d.values):
            row = first + v_i
            members = [i for i in range(n) if d.index[i] == v_i]
            v = display_value(value)
            if isinstance(v, str):
                put_text(ws, row, 1, v)
            else:
                ws.cell(row=row, column=1, value=v)
            ws.cell(row=row, column=2, value=v_i + 1)
            crit = f"$B{row}" if d.by_number else f"$A{row}"
            ok = [i for i in members if _blank(asm.rows[i]["dynamic_sharpe"]) is not None]
            cells: list[tuple[str, Any, str, str]] = [
                (f"=COUNTIF({key_range},{crit})", len(members), "equal", FMT.COUNT),
                (f'=COUNTIFS({key_range},{crit},{ok_range},"<>")', len(ok), "equal", FMT.COUNT),
            ]
            means = {}
            for _, source, field in AGGREGATES:
                means[field] = _mean([asm.rows[i][field] for i in ok])
                fmt = FMT.PCT if source.split(" ", 1)[1] in PERCENT else FMT.NUMBER
                formula = f'=IFERROR(AVERAGEIF({key_range},{crit},{_rng(cols, source, n)}),"")'
                cells.append((formula, means[field], "tolerance", fmt))
            col = 3
            for formula, engine_value, how, fmt in cells:
                a, b = f"{col_letter(col)}{row}", f"{col_letter(col + 1)}{row}"
                style(ws.cell(row=row, column=col, value=formula), fmt)
                checks.expect(ws, a, engine_value)
                style(
                    ws.cell(row=row, column=col + 1, value=_blank(engine_value)), fmt, ENGINE_FONT
                )
                check = equal(a, b) if how == "equal" else within_tolerance(a, b)
                style(ws.cell(row=row, column=col + 2, value=check), FMT.BOOL)
                checks.expect(ws, f"{col_letter(col + 2)}{row}", True)
                col += 3
            dyn, sta = col_letter(3 + 3 * 2), col_letter(3 + 3 * 3)  # the two Sharpe means
            gain = means["dynamic_sharpe"] - means["static_sharpe"]
            a, b = f"{col_letter(col)}{row}", f"{col_letter(col + 1)}{row}"
            formula = (
                f'=IF(AND(ISNUMBER({dyn}{row}),ISNUMBER({sta}{row})),{dyn}{row}-{sta}{row},"")'
            )
            style(ws.cell(row=row, column=col, value=formula), FMT.NUMBER)
            checks.expect(ws, a, _blank(gain))
            style(ws.cell(row=row, column=col + 1, value=_blank(gain)), FMT.NUMBER, ENGINE_FONT)
            style(ws.cell(row=row, column=col + 2, value=within_tolerance(a, b)), FMT.BOOL)
            checks.expect(ws, f"{col_letter(col + 2)}{row}", True)
        last = first + len(d.values) - 1
        check_cols = [col_letter(5 + 3 * k) for k in range(len(AGGREGATES) + 3)]
        put_text(ws, last + 1, 1, f"all match the engine (by {d.name})")
        ws.cell(
            row=last + 1,
            column=5,
            value="=AND(" + ",".join(f"{c}{first}:{c}{last}" for c in check_cols) + ")",
        )
        checks.add(
            f"Aggregates by {d.name}: every formula equals the engine's value", ws, f"E{last + 1}"
        )
        r = last + 3
    set_widths(ws, {"A": 22, "B": 5})
    finish_sheet(ws)


def _about(
    ws: Worksheet,
    spec: BatchSpec,
    asm: Assembly,
    master: str,
    run_time: dt.datetime,
    checks: Checks,
) -> None:
    title(ws, f"Batch summary: {spec.path.name}")
    n = len(asm.rows)
    failed = len(asm.failures)
    best = asm.rows[asm.best] if asm.best is not None else None
    n_configs = n // max(len(spec.portfolios), 1)
    lines: list[tuple[str, Any]] = [
        (
            "Purpose",
            "Every (portfolio, configuration) of the batch: static versus regime-aware "
            "walk-forward backtests, ranked, aggregated per varied key, and the best "
            "configuration's Sharpe ratio deflated for the number of configurations tried.",
        ),
        ("Batch file", str(spec.path)),
        ("Base configuration", str(spec.base)),
        (
            "Tasks",
            f"{n} ({len(spec.portfolios)} portfolios × {n_configs} configurations): "
            f"{n - failed} ran, {failed} failed (errors on Results)",
        ),
        ("Varied keys", ", ".join(spec.grid) or "none (the base configuration only)"),
        (
            "Best (dynamic Sharpe)",
            f"{best['key']} {best['portfolio']}: Sharpe {best['dynamic_sharpe']:.4f}, "
            f"deflated Sharpe ratio {best['dsr']:.4f}"
            if best
            else "none",
        ),
    ]
    master_row = int(MASTER_CHECK_CELL.split("!")[1][1:])
    for r, (label, text) in enumerate(lines, start=3):
        put_text(ws, r, 1, label).font = HEADER_FONT
        put_text(ws, r, 2, text)
    assert 3 + len(lines) == master_row
    put_text(ws, master_row, 1, "Master check").font = HEADER_FONT
    ws.cell(row=master_row, column=2, value=f"={master}").number_format = FMT.BOOL
    checks.expect(ws, f"B{master_row}", True)
    put_text(ws, master_row + 1, 1, "Run").font = HEADER_FONT
    put_text(
        ws,
        master_row + 1,
        2,
        f"regime-risk {engine.__version__}, {run_time.strftime(TIMESTAMP)} UTC; "
        "not recalculated: a viewer that does not calculate shows the engine's values",
    )
    set_widths(ws, {"A": 24, "B": 110})
    finish_sheet(ws, one_page=True)
