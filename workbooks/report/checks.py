"""Reconciliation: the check formulas that compare a formula result with the engine's own
value, the list each sheet registers its check cells in, and the Checks sheet that links them
all and holds the master check."""

from __future__ import annotations

import math
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from workbooks.io import put_text
from workbooks.report.layout import FMT, HEADER_FONT, finish_sheet, header, set_widths, title


def within_tolerance(a: str, b: str) -> str:
    """Check formula: |formula `a` - engine `b`| within the relative tolerance (numbers); where
    the engine has no number (too few days for the figure: a blank cell), the formula must
    give "" too."""
    return f'=IF(ISNUMBER({b}),ABS({a}-{b})<=Tolerance*MAX(1,ABS({b})),{a}="")'


def series_within_tolerance(a: str, b: str) -> str:
    """Check formula: the formula series `a` sums to within the relative tolerance of the
    engine series `b` in absolute differences (one cell for a whole column)."""
    return f"=SUMPRODUCT(ABS({a}-{b}))<=Tolerance*SUMPRODUCT(ABS({b}))"


def equal(a: str, b: str) -> str:
    """Check formula: `a` equals `b` exactly (counts, text, booleans)."""
    return f"={a}={b}"


class Checks:
    """The check cells, in the order the Checks sheet lists them, and the engine's value of
    every formula cell (`expected`): what a viewer that does not calculate shows when no
    independent recalculation ran (written as the cells' cached values)."""

    def __init__(self) -> None:
        self.cells: list[tuple[str, str]] = []  # (label, "Sheet!A1")
        self.expected: dict[str, dict[str, Any]] = {}  # {sheet: {"A1": value}}

    def add(self, label: str, ws: Worksheet, ref: str) -> None:
        """Register the check cell `ref` of sheet `ws` under `label` (as built, it holds)."""
        self.cells.append((label, f"{ws.title}!{ref}"))
        ws[ref].number_format = FMT.BOOL
        self.expect(ws, ref, True)

    def expect(self, ws: Worksheet, ref: str, value: Any) -> None:
        """The engine's value of the formula in `ref` (NaN or None: the formula gives "")."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            value = ""
        self.expected.setdefault(ws.title, {})[ref] = value


def build_checks(wb: Workbook, checks: Checks) -> str:
    """One row per reconciliation check (a live link to it), and the master check; returns
    the master check's reference."""
    ws = wb.create_sheet("Checks")
    title(ws, "Reconciliation: every formula result against the engine's own value")
    header(ws, 2, ["Check", "Where", "Passes"])
    for i, (label, ref) in enumerate(checks.cells, start=3):
        put_text(ws, i, 1, label)
        put_text(ws, i, 2, ref)
        ws.cell(row=i, column=3, value=f"={ref}").number_format = FMT.BOOL
        checks.expect(ws, f"C{i}", True)
    last = 2 + len(checks.cells)
    master = last + 2
    put_text(ws, master, 1, "Master check (all pass)").font = HEADER_FONT
    ws.cell(row=master, column=3, value=f"=AND(C3:C{last})").number_format = FMT.BOOL
    checks.expect(ws, f"C{master}", True)
    set_widths(ws, {"A": 70, "B": 22})
    finish_sheet(ws, title_rows="2:2")
    return f"Checks!C{master}"
