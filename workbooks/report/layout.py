"""Where things are and how they look: the cell positions formulas on one sheet use to point at
another, and the fonts, fills and number formats every sheet shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from workbooks.io import put_text

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.chart._chart import ChartBase

INPUT_FONT = Font(color="0000FF")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
ENGINE_FONT = Font(color="7F7F7F", italic=True)
HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
PCT = "0.00%"
PCT4 = "0.0000%"
DATE = "yyyy-mm-dd"
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
