"""The portfolio manager's starter workbook (templates/pm_dashboard.xlsx).

A Returns sheet holding the bundled example returns as an Excel Table named `Returns`, a
Dashboard whose every table is a function call (current regime, per-state risk, backtest
summary, recommended weights), a Regimes sheet with the filtered probabilities and their
stacked-area chart, and the `xlwings.conf` sheet naming `xlfuncs` as the UDF module.

Every formula reads the whole table by structured reference (`Returns[[#All]]`, which Excel
shows as `Returns[#All]`: header row of
asset names, dates in the first column) and the number of regimes from the input cell named
`n_states`, and is written as a dynamic-array formula: Excel 365 spills each result to its
size, so the outputs follow the data as rows or assets are added to the table or `n_states`
changes. In the file each formula is an array formula (`<f t="array" ref=…>`) whose cell
carries `cm="1"`, pointing at the dynamic-array entry of xl/metadata.xml (what Excel itself
writes, `mark_dynamic_arrays`); without that mark Excel 365 would open the formulas with
implicit intersection (`=@REGIME_PROB(…)`) and show one cell. Excel 2019 and older read the
same file as classic (Ctrl+Shift+Enter) array formulas over the range sized here, at build
time, to the functions' results, which are also cached in the cells (`write_cached_values`):
there the ranges stay that size until re-entered. The Dashboard leaves room below each block
for up to MAX_STATES regimes and puts the block that grows with the asset count last, so no
spill runs into another block.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import AreaChart
from openpyxl.chart.data_source import AxDataSource, NumDataSource, NumRef
from openpyxl.chart.series import Series, SeriesLabel, StrRef
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter as col
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from engine.data import align_prices, load_sample_prices, prices_to_returns
from workbooks.cached import sheet_parts, write_cached_values
from workbooks.io import put_text, save_atomic, write_atomic
from xlfuncs.functions import CATALOGUE

ASSETS = ("SP500", "GOLD", "WTI")
START, END = "2004-01-01", "2012-12-31"
N_STATES = 2  # the functions' default
MAX_STATES = 4  # n_states takes 2..4 (xlfuncs.functions._regime_args): room left for 4
TABLE = "Returns"  # the Excel Table of returns on the Returns sheet
# The whole table, header row included: what every function reads. Excel shows it as
# Returns[#All]; the file spells it Returns[[#All]], which the file-format grammar also allows
# ([MS-XLSX] 2.2.2 structure-reference) and which LibreOffice 7 reads (it gives #NAME? for
# the single-bracket form).
DATA = f"{TABLE}[[#All]]"
STATES_NAME = "n_states"  # workbook name of the Dashboard's input cell
PROB_ROW = 3  # REGIME_PROB's anchor row on the Regimes sheet (its title is in row 1)
_LABELS = {"SP500": "S&P 500", "GOLD": "gold", "SILVER": "silver", "WTI": "WTI"}  # title text

DATE_FORMAT = "yyyy-mm-dd"

# -- dynamic-array metadata (ECMA-376 §18.9 metadata part; [MS-XLSX] XLDAPR extension) -------
_METADATA_PART = "xl/metadata.xml"
METADATA_CONTENT_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"
)
METADATA_REL_TYPE = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sheetMetadata"
)
DYNAMIC_ARRAY_EXT = "{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}"
# One cell-metadata record (cm="1"): type 1 (XLDAPR), its future-metadata block 0, which says
# fDynamic="1": the array formula is a spilling dynamic array, not a Ctrl+Shift+Enter one.
_DYNAMIC_ARRAY_METADATA = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<metadata xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">'
    '<metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" '
    'pasteAll="1" pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" '
    'clearComments="1" assign="1" coerce="1" cellMeta="1"/></metadataTypes>'
    f'<futureMetadata name="XLDAPR" count="1"><bk><extLst><ext uri="{DYNAMIC_ARRAY_EXT}">'
    '<xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/></ext></extLst></bk>'
    "</futureMetadata>"
    '<cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata>'
    "</metadata>"
)
# The opening tag of a cell holding an array formula, as openpyxl and write_cached_values
# leave it: <c r="A1" ...><f t="array" ref="A1:C9">
_ARRAY_CELL = re.compile(r'<c\b([^>]*?\br="([A-Z]+[0-9]+)"[^>]*)>(?=<f\b[^>]*\bt="array")')
_REL_ID = re.compile(r'\bId="rId([0-9]+)"')


def mark_dynamic_arrays(path: str | Path, anchors: Mapping[str, Sequence[str]]) -> Path:
    """Make the array formulas at `anchors` {sheet: ["A1", ...]} of the workbook at `path`
    dynamic arrays (Excel 365 spills them; older Excel keeps them as array formulas over their
    `ref`): each anchor cell gets cm="1", and the package gets xl/metadata.xml (one XLDAPR
    record with fDynamic="1"), its content type and the workbook's relationship to it.
    Every other part is copied byte for byte; the file is rewritten atomically."""
    src = Path(path)
    with zipfile.ZipFile(src) as zin:
        if _METADATA_PART in zin.namelist():
            raise ValueError(f"{src.name} already has {_METADATA_PART}: not merged here")
        parts = sheet_parts(zin)
        by_part = {parts[sheet]: (sheet, set(cells)) for sheet, cells in anchors.items()}

        def mark(sheet: str, wanted: set[str], xml: str) -> str:
            found: set[str] = set()

            def on_cell(m: re.Match[str]) -> str:
                if m.group(2) not in wanted or ' cm="' in m.group(1):
                    return m.group(0)
                found.add(m.group(2))
                return f'<c{m.group(1)} cm="1">'

            xml = _ARRAY_CELL.sub(on_cell, xml)
            if found != wanted:
                missing = ", ".join(sorted(wanted - found))
                raise ValueError(f"{sheet}: no array formula to mark at {missing}")
            return xml

        def write(tmp: Path) -> None:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
                for info in zin.infolist():
                    data = zin.read(info)
                    if info.filename in by_part:
                        sheet, wanted = by_part[info.filename]
                        data = mark(sheet, wanted, data.decode("utf-8")).encode("utf-8")
                    elif info.filename == "[Content_Types].xml":
                        override = (
                            f'<Override PartName="/{_METADATA_PART}" '
                            f'ContentType="{METADATA_CONTENT_TYPE}"/>'
                        )
                        data = _insert_before(data, "</Types>", override)
                    elif info.filename == "xl/_rels/workbook.xml.rels":
                        text = data.decode("utf-8")
                        rid = max((int(n) for n in _REL_ID.findall(text)), default=0) + 1
                        rel = (
                            f'<Relationship Id="rId{rid}" Type="{METADATA_REL_TYPE}" '
                            'Target="metadata.xml"/>'
                        )
                        data = _insert_before(data, "</Relationships>", rel)
                    z.writestr(info, data)
                z.writestr(_METADATA_PART, _DYNAMIC_ARRAY_METADATA)

        return write_atomic(src, write)


def _insert_before(data: bytes, end_tag: str, element: str) -> bytes:
    text = data.decode("utf-8")
    at = text.rfind(end_tag)
    if at < 0:
        raise ValueError(f"no {end_tag} to insert {element} before")
    return (text[:at] + element + text[at:]).encode("utf-8")


def _call(name: str, n_states: Any) -> tuple[str, list[Any]]:
    """The function's formula over the Returns table with `n_states` (blank arguments before
    it), and the positional arguments after the returns for computing it here."""
    fn = CATALOGUE[name]
    pos = [a.name for a in fn.args].index("n_states")
    blanks = [""] * (pos - 1)
    return fn.formula(DATA, *blanks, STATES_NAME), [None] * (pos - 1) + [n_states]


def _array(
    ws: Worksheet,
    top_left: str,
    formula: str,
    result: list[list[Any]],
    cached: dict[str, dict[str, Any]],
) -> str:
    """Write `formula` as an array formula over exactly the size of `result` (the fallback
    range for Excel without dynamic arrays), keep `result` for the cells' cached values and
    give its dates a date format; return the range."""
    if len(result) == 1 and len(result[0]) == 1 and isinstance(result[0][0], str):
        raise RuntimeError(f"{formula} returned a message, not a table: {result[0][0]}")
    r0 = ws[top_left].row
    c0 = ws[top_left].column
    ref = f"{top_left}:{col(c0 + len(result[0]) - 1)}{r0 + len(result) - 1}"
    ws[top_left] = ArrayFormula(ref, formula)
    values = cached.setdefault(ws.title, {})
    for i, row in enumerate(result):
        for j, v in enumerate(row):
            coord = f"{col(c0 + j)}{r0 + i}"
            values[coord] = v
            if isinstance(v, dt.date):
                ws[coord].number_format = DATE_FORMAT
    return ref


def _title(assets: Sequence[str]) -> str:
    names = ", ".join(_LABELS.get(a, a) for a in assets)
    return f"Regime dashboard (example data: bundled {names} returns)"


def build_template(
    out: str | Path,
    assets: Sequence[str] = ASSETS,
    start: str = START,
    end: str = END,
    n_states: int = N_STATES,
) -> Path:
    """Write the PM dashboard template over the bundled sample returns of `assets` from `start`
    to `end`, with `n_states` regimes in its input cell; returns its path. Raises RuntimeError
    when a function has too little data (BACKTEST_STATS needs about 3.5 years)."""
    if not 2 <= n_states <= MAX_STATES:
        raise ValueError(f"n_states must be 2..{MAX_STATES} (got {n_states})")
    prices, _ = align_prices(load_sample_prices(list(assets), start, end))
    returns = prices_to_returns(prices)
    rng = [["Date", *returns.columns]] + [
        [d.to_pydatetime(), *v]
        for d, v in zip(returns.index, returns.to_numpy().tolist(), strict=True)
    ]
    wb = Workbook()
    dash = wb.active
    assert dash is not None
    dash.title = "Dashboard"
    ret = wb.create_sheet("Returns")
    for i, cells in enumerate(rng, start=1):
        for j, v in enumerate(cells, start=1):
            c = put_text(ret, i, j, v) if i == 1 else ret.cell(row=i, column=j, value=v)
            if i > 1:
                c.number_format = DATE_FORMAT if j == 1 else "0.00%"
    table_ref = f"A1:{col(len(rng[0]))}{len(rng)}"
    table = Table(displayName=TABLE, ref=table_ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ret.add_table(table)
    ret.freeze_panes = "B2"
    reg = wb.create_sheet("Regimes")
    conf = wb.create_sheet("xlwings.conf")
    _text(conf, "A1", "UDF Modules")
    _text(conf, "B1", "xlfuncs")

    dash["A1"] = _title(assets)
    dash["A1"].font = Font(bold=True, size=14)
    _text(
        dash,
        "A2",
        f"Every table below is a function of the {TABLE} table on the Returns sheet. Paste "
        "your own returns into it (header row of names, dates in the first column): the table "
        "grows with new rows or columns, and the results resize when recalculated.",
    )
    _text(dash, "A3", f"Number of regimes (2 to {MAX_STATES})").font = Font(bold=True)
    dash["B3"] = n_states
    dash["B3"].font = Font(color="0000FF")  # an input
    wb.defined_names[STATES_NAME] = DefinedName(STATES_NAME, attr_text="Dashboard!$B$3")
    blocks = [
        ("Current regime", "REGIME_CURRENT"),
        ("Risk by regime (equal weights, 95%)", "STATE_STATS"),
        ("Backtest: static vs regime-aware (monthly, 1-day delay, 10 bp)", "BACKTEST_STATS"),
        # last: its rows grow with the number of assets, and nothing is below it
        (
            "Recommended weights (min variance per regime, blended by today's probabilities)",
            "REGIME_WEIGHTS",
        ),
    ]
    cached: dict[str, dict[str, Any]] = {}
    anchors: dict[str, list[str]] = {"Dashboard": [], "Regimes": []}
    row = 5
    for title, name in blocks:
        _text(dash, f"A{row}", title).font = Font(bold=True)
        formula, args = _call(name, n_states)
        result = CATALOGUE[name].udf(rng, *args)
        _array(dash, f"A{row + 1}", formula, result, cached)
        anchors["Dashboard"].append(f"A{row + 1}")
        last_title = row
        # two blank rows, plus a row per regime up to MAX_STATES (STATE_STATS has a row per
        # regime), so the blocks stay apart when n_states is raised
        row += len(result) + 3 + (MAX_STATES - n_states)

    formula, args = _call("REGIME_PROB", n_states)
    probs = CATALOGUE["REGIME_PROB"].udf(rng, *args)
    _text(
        reg,
        "A1",
        f"Filtered regime probabilities (REGIME_PROB of the {TABLE} table, spilling from "
        f"A{PROB_ROW}: it grows with the table)",
    ).font = Font(bold=True)
    reg.column_dimensions["A"].number_format = DATE_FORMAT  # cells the spill grows into
    for j in range(2, MAX_STATES + 2):
        reg.column_dimensions[col(j)].number_format = "0.0%"
    for r in range(PROB_ROW + 1, PROB_ROW + len(probs)):
        for j in range(2, len(probs[0]) + 1):
            reg.cell(row=r, column=j).number_format = "0.0%"
    _array(reg, f"A{PROB_ROW}", formula, probs, cached)
    anchors["Regimes"].append(f"A{PROB_ROW}")
    reg.column_dimensions["A"].width = 12
    dash.add_chart(_probability_chart(wb, n_states=len(probs[0]) - 1), f"H{last_title}")
    for c in "ABCDEFGHIJK":
        dash.column_dimensions[c].width = 16
    path = save_atomic(wb, out)
    write_cached_values(path, cached)
    return mark_dynamic_arrays(path, anchors)


def _probability_chart(wb: Workbook, n_states: int) -> AreaChart:
    """The stacked-area chart of the Regimes sheet's probabilities.

    A chart series cannot be written as a spill (Regimes!A3#) or a table reference, so each
    series reads a workbook name (`[0]!ProbState1` in the chart part) whose OFFSET spans as
    many rows as Regimes!A:A holds dates (every Excel version evaluates it): the chart follows
    the rows as the Returns table grows. The number of series cannot follow: it is fixed in the
    file, so with another n_states add or remove a series (Select Data) or rebuild with
    build_template(n_states=...). LibreOffice does not read named ranges as chart data: there
    the chart shows no series.
    """
    first = PROB_ROW + 1
    names = {"ProbDates": f"OFFSET(Regimes!$A${first},0,0,COUNT(Regimes!$A:$A),1)"}
    names |= {f"ProbState{k}": f"OFFSET(ProbDates,0,{k})" for k in range(1, n_states + 1)}
    for name, text in names.items():
        wb.defined_names[name] = DefinedName(name, attr_text=text)
    chart = AreaChart()
    chart.grouping = "percentStacked"
    chart.title = "Filtered regime probabilities"
    for k in range(1, n_states + 1):
        series = Series()
        series.val = NumDataSource(numRef=NumRef(f=f"[0]!ProbState{k}"))  # [0]: this workbook
        series.cat = AxDataSource(numRef=NumRef(f="[0]!ProbDates"))
        series.title = SeriesLabel(strRef=StrRef(f"Regimes!${col(k + 1)}${PROB_ROW}"))
        chart.series.append(series)
    chart.x_axis.number_format = "yyyy"
    chart.x_axis.delete = False  # openpyxl 3.1 leaves the axes out unless told
    chart.y_axis.delete = False
    chart.width, chart.height = 24, 9
    return chart


def _text(ws: Worksheet, coord: str, value: str) -> Any:
    """A text cell that stays text (workbooks.io.put_text by coordinate)."""
    cell = ws[coord]
    return put_text(ws, cell.row, cell.column, value)


if __name__ == "__main__":
    print(build_template(Path(__file__).resolve().parents[1] / "templates" / "pm_dashboard.xlsx"))
