"""Independent verification of a report: recalculate it in LibreOffice and read the checks.

A report is verified when, after a forced recalculation in headless LibreOffice (a throwaway
profile, so no stale cached value survives), the master check is TRUE, every check listed on
the Checks sheet is TRUE and no cell holds an error. The Checks sheet is read by its header
("Check" ... "Passes") and labels, not by row numbers, so rows added to it are picked up.
Labels starting with "re-run needed" mark stale checks (an engine block computed from inputs
edited since); a failing one is printed by its label alone, which says what to do.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbooks.cached import is_error_result, read_cell_values, split_coordinate
from workbooks.recalc import recalculated

CHECKS_SHEET = "Checks"
LABEL_HEADER, WHERE_HEADER, PASSES_HEADER = "Check", "Where", "Passes"
MASTER_LABEL = "Master check"  # the Checks sheet's own roll-up row; About links to it
STALE_PREFIX = "re-run needed"  # e.g. "re-run needed if FALSE: StateRisk (Confidence, Weights)"
_APPLICATION = re.compile(r"<Application>LibreOffice/([0-9.]+)")


@dataclass(frozen=True)
class Check:
    """One row of the Checks sheet after recalculation."""

    label: str
    where: str
    value: Any  # True when the check holds

    @property
    def passes(self) -> bool:
        """The check holds (TRUE)."""
        return holds(self.value)


@dataclass
class Verification:
    """The outcome of recalculating one workbook."""

    path: Path
    engine: str  # e.g. "LibreOffice 7.4.7.2"
    at: dt.datetime  # when it was recalculated (UTC)
    seconds: float
    master: Any  # the master check's value (None when the cell is missing)
    checks: list[Check]
    errors: dict[str, list[str]]  # sheet -> error cells as "A1 #DIV/0!"
    values: dict[str, dict[str, Any]] = field(repr=False)  # every recalculated value
    problems: list[str] = field(default_factory=list)  # a workbook that is not a report

    @property
    def error_cells(self) -> int:
        """Cells holding an error value, all sheets."""
        return sum(len(v) for v in self.errors.values())

    @property
    def failing(self) -> list[Check]:
        """The checks that do not hold, in the Checks sheet's order."""
        return [c for c in self.checks if not c.passes]

    @property
    def ok(self) -> bool:
        """Master check TRUE, every check TRUE, no error cell, and the workbook is a report."""
        return (
            holds(self.master) and not self.failing and not self.error_cells and not self.problems
        )

    def summary(self) -> str:
        """Counts only: "all 68 checks hold" or "2 of 68 checks fail, master check FALSE, …"."""
        n = len(self.checks)
        if self.ok:
            return f"all {n} checks hold, master check TRUE, 0 error cells"
        parts = [*self.problems]
        if self.failing:
            stale = sum(c.label.startswith(STALE_PREFIX) for c in self.failing)
            why = f" ({stale} of them: re-run needed)" if stale else ""
            parts.append(f"{len(self.failing)} of {n} checks fail{why}")
        parts.append(f"master check {_show(self.master)}")
        if self.error_cells:
            per_sheet = ", ".join(f"{s} {len(c)}" for s, c in self.errors.items())
            parts.append(f"{self.error_cells} error cells ({per_sheet})")
        return ", ".join(parts)

    def verdict(self) -> str:
        """One line for the terminal or a log."""
        word = "verified" if self.ok else "NOT VERIFIED"
        return f"{word}: {self.summary()} ({self.engine}, {self.seconds:.1f}s)"

    def details(self, max_errors: int = 10) -> list[str]:
        """One line per failing check (by its label) and the first error cells."""
        lines = []
        # stale engine blocks first: an edited input explains the failures that follow
        for c in sorted(self.failing, key=lambda c: not c.label.startswith(STALE_PREFIX)):
            # a stale check's label already says what to do
            what = c.label if c.label.startswith(STALE_PREFIX) else f"failing: {c.label}"
            lines.append(f"  {what} [{c.where}] = {_show(c.value)}")
        shown = [f"{s}!{cell}" for s, cells in self.errors.items() for cell in cells]
        for e in shown[:max_errors]:
            lines.append(f"  error cell: {e}")
        if len(shown) > max_errors:
            lines.append(f"  ... and {len(shown) - max_errors} more error cells")
        return lines

    def about_text(self) -> str:
        """The About sheet's verification line."""
        return f"recalculated by {self.engine} on {self.at:%Y-%m-%d %H:%M} UTC: {self.summary()}"


def holds(value: Any) -> bool:
    """A check's result is TRUE: a boolean, or 1 where LibreOffice stores a boolean as a number
    (it does for cells with a number format, such as '"TRUE";"TRUE";"FALSE"')."""
    return value is True or (type(value) in (int, float) and value == 1)


def _show(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, bool) or (type(value) in (int, float) and value in (0, 1)):
        return str(bool(value)).upper()
    return str(value)


def _engine(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        try:
            app = zf.read("docProps/app.xml").decode("utf-8", "replace")
        except KeyError:
            return "LibreOffice"
    m = _APPLICATION.search(app)
    return f"LibreOffice {m.group(1)}" if m else "LibreOffice"


def read_checks(values: dict[str, Any]) -> tuple[list[Check], list[str]]:
    """The checks of a recalculated Checks sheet {"A1": value}, found by its header row
    (LABEL_HEADER, PASSES_HEADER and optionally WHERE_HEADER), the master row left out.
    Returns the checks and any problem found with the sheet's layout."""
    cells = {split_coordinate(c): v for c, v in values.items()}
    header_row = min((r for (_, r), v in cells.items() if v == LABEL_HEADER), default=0)
    headers = {v: col for (col, r), v in cells.items() if r == header_row and isinstance(v, str)}
    if LABEL_HEADER not in headers or PASSES_HEADER not in headers:
        return [], [f"no '{LABEL_HEADER}' / '{PASSES_HEADER}' header on the {CHECKS_SHEET} sheet"]
    label_col, passes_col = headers[LABEL_HEADER], headers[PASSES_HEADER]
    where_col = headers.get(WHERE_HEADER)
    checks = []
    for r in range(header_row + 1, max(r for _, r in cells) + 1):
        label = cells.get((label_col, r))
        if not isinstance(label, str) or not label.strip() or label.startswith(MASTER_LABEL):
            continue
        if (passes_col, r) not in cells:
            continue  # a heading or a note, not a check
        where = cells.get((where_col, r)) if where_col else None
        checks.append(
            Check(label, str(where or f"{CHECKS_SHEET}!{passes_col}{r}"), cells[(passes_col, r)])
        )
    if not checks:
        return [], [f"no checks listed on the {CHECKS_SHEET} sheet"]
    return checks, []


def verify_workbook(path: str | Path, timeout: float = 600) -> Verification:
    """Recalculate `path` in LibreOffice (forced, throwaway profile) and read the master check,
    every check of the Checks sheet and the error cells of every sheet.

    Raises FileNotFoundError without LibreOffice and `workbooks.recalc.RecalcError` when
    LibreOffice fails."""
    from workbooks.report import MASTER_CHECK_CELL

    src = Path(path)
    t0 = time.perf_counter()
    at = dt.datetime.now(dt.UTC)
    with recalculated(src, timeout) as copy:
        values = read_cell_values(copy)
        engine = _engine(copy)
    errors = {
        sheet: [f"{c} {v}" for c, v in cells.items() if is_error_result(v)]
        for sheet, cells in values.items()
    }
    master_sheet, master_cell = MASTER_CHECK_CELL.split("!")
    problems = []
    if master_sheet not in values:
        problems.append(f"no {master_sheet} sheet (is this a regime-risk report?)")
    if CHECKS_SHEET in values:
        checks, more = read_checks(values[CHECKS_SHEET])
        problems += more
    else:
        checks = []
        problems.append(f"no {CHECKS_SHEET} sheet")
    return Verification(
        path=src,
        engine=engine,
        at=at.replace(tzinfo=None),
        seconds=time.perf_counter() - t0,
        master=values.get(master_sheet, {}).get(master_cell),
        checks=checks,
        errors={s: e for s, e in errors.items() if e},
        values=values,
        problems=problems,
    )
