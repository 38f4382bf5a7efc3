"""The Allocation sheet: per-state weights and today's blend over the filtered probabilities."""

from __future__ import annotations

from typing import TYPE_CHECKING

from openpyxl import Workbook
from openpyxl.utils import get_column_letter as col_letter
from openpyxl.utils.cell import range_boundaries

from workbooks.io import put_text
from workbooks.report.assumptions import provenance
from workbooks.report.checks import Checks, within_tolerance
from workbooks.report.layout import ENGINE_FONT, FMT, Layout, finish_sheet, header, write_note

if TYPE_CHECKING:
    from engine.pipeline import AnalysisResult


def build_allocation(wb: Workbook, res: AnalysisResult, lay: Layout, checks: Checks) -> None:
    """Per-state optimal weights (optimiser output, values) and today's blend as a formula over
    the filtered probabilities on the Regimes sheet; the static weights linked from Assumptions."""
    ws = wb.create_sheet("Allocation")
    labels = list(res.regimes.labels)
    k = len(labels)
    table = res.state_weights
    header(
        ws,
        1,
        [
            "Asset",
            *(f"{lab} (engine)" for lab in labels),
            "Now",
            "Now (engine)",
            "Check",
            "Static weight",
        ],
    )
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
    values = table.to_numpy(dtype=float)
    for i, asset in enumerate(table.index, start=2):
        put_text(ws, i, 1, asset)
        for s in range(k):
            cell = ws.cell(row=i, column=2 + s, value=float(values[i - 2, s]))
            cell.number_format, cell.font = FMT.PCT, ENGINE_FONT
        now = col_letter(2 + k)
        ws[f"{now}{i}"] = f"=SUMPRODUCT({p0}{i}:{p1}{i},{today})"
        ws[f"{now}{i}"].number_format = FMT.PCT
        checks.expect(ws, f"{now}{i}", float(table["Now"].iloc[i - 2]))
        eng = col_letter(3 + k)
        ws[f"{eng}{i}"] = float(table["Now"].iloc[i - 2])
        ws[f"{eng}{i}"].font = ENGINE_FONT
        chk = col_letter(4 + k)
        ws[f"{chk}{i}"] = within_tolerance(f"{now}{i}", f"{eng}{i}")
        ws.cell(row=i, column=5 + k, value=f"={wref[i - 2]}").number_format = FMT.PCT
        checks.expect(ws, f"{col_letter(5 + k)}{i}", float(res.weights[i - 2]))
        checks.add(f"Allocation {asset}: Now weight", ws, f"{chk}{i}")
    write_note(ws, len(table.index) + 3, 1, provenance(res, "Allocation"), span=k + 5)
    ws.column_dimensions["A"].width = 14
    finish_sheet(ws, title_rows="1:1")


def res_weights_cells(wb: Workbook) -> list[str]:
    """The Assumptions cells holding each portfolio weight (from the Weights name)."""
    sheet, ref = wb.defined_names["Weights"].attr_text.split("!")
    c0, r0, c1, _ = range_boundaries(ref.replace("$", ""))
    return [f"{sheet}!${col_letter(c)}${r0}" for c in range(c0, c1 + 1)]
