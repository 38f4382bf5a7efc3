"""Where things are and how they look: the cell positions formulas on one sheet use to point at
another, and the fonts, fills and number formats every sheet shares."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from workbooks.cached import BOOLEAN_FORMAT
from workbooks.io import put_text

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.chart._chart import ChartBase

INPUT_FONT = Font(color="0000FF")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
ENGINE_FONT = Font(color="7F7F7F", italic=True)
HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)


class FMT:
    """The number formats every sheet uses."""

    PCT = "0.00%"
    PCT4 = "0.0000%"
    DATE = "yyyy-mm-dd"
    NUMBER = "#,##0.0000"  # numbers with no better format: four decimals, thousands separated
    COUNT = "#,##0"
    BOOL = BOOLEAN_FORMAT  # a check's TRUE/FALSE, also where a viewer stores it as 1/0


TIMESTAMP = "%Y-%m-%d %H:%M:%S"  # run time as text (strftime)


@dataclass(frozen=True)
class Layout:
    """Where things are, so formulas on one sheet can point at another."""

    n_assets: int
    n_returns: int  # number of return rows
    n_states: int

    @property
    def data_first(self) -> int:
        """First Data row holding a return (row 2 holds the base price)."""
        return 3

    @property
    def data_last(self) -> int:
        """Last Data row."""
        return self.data_first + self.n_returns - 1

    def price_col(self, j: int) -> int:
        """Data column of asset `j`'s price."""
        return 2 + j

    def return_col(self, j: int) -> int:
        """Data column of asset `j`'s return."""
        return 2 + self.n_assets + j

    @property
    def port_col(self) -> int:
        """Data column of the portfolio return."""
        return 2 + 2 * self.n_assets

    def port_range(self) -> str:
        """Absolute reference to the portfolio returns on Data."""
        c = col_letter(self.port_col)
        return f"Data!${c}${self.data_first}:${c}${self.data_last}"

    # Regimes sheet: row r <-> Data row r + 1
    @property
    def reg_last(self) -> int:
        """Last Regimes row."""
        return 1 + self.n_returns

    @property
    def state_col(self) -> int:
        """Regimes column of the most likely state."""
        return 2 + self.n_states

    def helper_col(self, k: int) -> int:
        """Regimes column of the portfolio return on state `k`'s days (blank otherwise)."""
        return 3 + self.n_states + k

    def state_range(self) -> str:
        """Absolute reference to the most likely states on Regimes."""
        c = col_letter(self.state_col)
        return f"Regimes!${c}$2:${c}${self.reg_last}"

    def helper_range(self, k: int) -> str:
        """Absolute reference to the portfolio returns on state `k`'s days."""
        c = col_letter(self.helper_col(k))
        return f"Regimes!${c}$2:${c}${self.reg_last}"


def title(ws: Worksheet, text: str) -> None:
    """The sheet's title in A1."""
    ws["A1"] = text
    ws["A1"].font = TITLE_FONT


def header(ws: Worksheet, row: int, labels: list[str], start_col: int = 1) -> None:
    """Bold, wrapped column headers from `start_col` along `row`."""
    for j, text in enumerate(labels):
        c = put_text(ws, row, start_col + j, text)
        c.font = HEADER_FONT
        c.alignment = Alignment(wrap_text=True, vertical="top")


def mark_input(cell: Cell) -> Cell:
    """Style `cell` as an input (blue on yellow) and leave it editable on the protected sheet."""
    cell.font, cell.fill = INPUT_FONT, INPUT_FILL
    cell.protection = Protection(locked=False)
    return cell


def define_name(wb: Workbook, name: str, ref: str) -> None:
    """A workbook-level name for `ref` (e.g. "Assumptions!$B$3")."""
    wb.defined_names[name] = DefinedName(name, attr_text=ref)


def set_widths(ws: Worksheet, widths: dict[str, float]) -> None:
    """Column widths by column letter."""
    for c, w in widths.items():
        ws.column_dimensions[c].width = w


def show_axes(chart: ChartBase) -> None:
    """Show both axes: openpyxl 3.1 leaves them unset and Excel then opens the chart without."""
    chart.x_axis.delete = False
    chart.y_axis.delete = False


def write_note(ws: Worksheet, row: int, col: int, text: str, span: int = 6) -> Cell:
    """A grey italic note over `span` merged columns from `col`, wrapped, its row tall enough:
    a long note stays inside the print area instead of running off the page."""
    cell = put_text(ws, row, col, text)
    cell.font = ENGINE_FONT
    cell.alignment = Alignment(wrap_text=True, vertical="top")
    if span > 1:
        ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + span - 1)
    lines = -(-len(text) // (14 * span))  # about 14 characters per column
    ws.row_dimensions[row].height = 15.0 * max(lines, 1)
    return cell


class Styler:
    """Number formats and fonts for the cells of long daily series, fast. openpyxl hashes the
    font and the format into its style tables on every assignment (most of the time of a
    report's build); here the first cell with a given (format, font) does that, and every
    later one gets a copy of its style array (openpyxl's own copy idiom)."""

    def __init__(self) -> None:
        self._styles: dict[tuple[str | None, int | None], Any] = {}

    def __call__(
        self, cell: Cell, number_format: str | None = None, font: Font | None = None
    ) -> Cell:
        key = (number_format, id(font) if font is not None else None)
        style = self._styles.get(key)
        if style is None:
            if number_format is not None:
                cell.number_format = number_format
            if font is not None:
                cell.font = font
            self._styles[key] = copy.copy(cell._style)
        else:
            cell._style = copy.copy(style)
        return cell


def wrapped_lines(text: str, width: float) -> int:
    """Lines a wrapped header takes in a column `width` characters wide: words wrap whole, and
    bold text is about 25% wider than the width unit (the default font's digit)."""
    room = max(int(width / 1.25) - 1, 1)
    lines, used = 0, room  # "full" before the first word, so that word opens line 1
    for word in text.split():
        if used + 1 + len(word) <= room:
            used += 1 + len(word)
        else:
            alone = -(-len(word) // room)  # a word longer than the column breaks
            lines += alone
            used = len(word) - (alone - 1) * room
    return max(lines, 1)


def finish_sheet(
    ws: Worksheet,
    print_area: str | None = None,
    title_rows: str | None = None,
    sample_rows: int = 300,
    max_width: float = 60.0,
    one_page: bool = False,
) -> None:
    """What every sheet needs to read and print well, after its cells are written:

    - column widths fitted to the longest header or value (the first `sample_rows` rows stand
      for a daily series; wrapped headers are fitted to up to three lines, tall enough not to
      overlap the data below);
    - a number format on every number of the first `sample_rows` rows still in General (whole
      numbers as counts, others with four decimals), so no cell shows 55.4600000000001; the
      modules format their daily series themselves (with `Styler`, fast);
    - print set-up: landscape, one page wide (and tall with `one_page`), `title_rows` repeated
      (e.g. "1:1"), and
      `print_area` (default: the used range; daily series sheets give a summary area so the
      PDF stays short).
    """
    widths: dict[int, float] = {}
    header_len: dict[tuple[int, int], str] = {}
    merged = {(m.min_row, m.min_col) for m in ws.merged_cells.ranges}  # notes size themselves
    for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, sample_rows)):
        for c in row:
            v = c.value
            if v is None or (c.row, c.column) in merged:
                continue
            if isinstance(v, bool):
                n = 5
            elif isinstance(v, int | float):
                if c.number_format == "General":
                    c.number_format = FMT.COUNT if float(v).is_integer() else FMT.NUMBER
                n = 12
            elif isinstance(v, dt.date):
                n = 10  # yyyy-mm-dd
            elif isinstance(v, str) and v.startswith("="):
                n = 12  # a formula's result: a number or a short label
            else:
                text = str(v)
                if c.alignment.wrap_text:  # a wrapped header: up to three lines
                    header_len[(c.row, c.column)] = text
                    n = min(len(text), max(12, -(-len(text) // 3)))
                elif (c.font.b and c.column == 1) or len(text) > max_width:
                    continue  # titles and notes spill to the right; they set no width
                else:
                    n = len(text)
            widths[c.column] = max(widths.get(c.column, 8.0), min(n + 2.0, max_width))
    for col, w in widths.items():
        dim = ws.column_dimensions[col_letter(col)]
        if not dim.customWidth:  # a width the sheet's module chose stays
            dim.width = w
    lines: dict[int, int] = {}
    for (r, col), text in header_len.items():
        width = ws.column_dimensions[col_letter(col)].width or 8.0
        lines[r] = max(lines.get(r, 1), wrapped_lines(text, width))
    for r, k in lines.items():
        ws.row_dimensions[r].height = 15.0 * min(k, 8)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0  # a summary block: one page
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = False
    if title_rows:
        ws.print_title_rows = title_rows
    ws.print_area = print_area or ws.dimensions
