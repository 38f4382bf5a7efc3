from __future__ import annotations

import re
from pathlib import Path

from openpyxl import load_workbook

import xlfuncs
from workbooks.template import build_template

ROOT = Path(__file__).resolve().parents[1]


def _formulas(path: Path) -> dict[str, str]:
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                v = c.value
                text = getattr(v, "text", v)
                if isinstance(text, str) and text.startswith("="):
                    out[f"{ws.title}!{c.coordinate}"] = f"{getattr(v, 'ref', '')} {text}"
    return out


def test_template_matches_its_builder_and_the_catalogue(tmp_path):
    fresh = build_template(tmp_path / "t.xlsx")
    committed = ROOT / "templates" / "pm_dashboard.xlsx"
    assert _formulas(fresh) == _formulas(committed), "templates/pm_dashboard.xlsx is stale"
    wb = load_workbook(committed)
    assert wb.sheetnames == ["Dashboard", "Returns", "Regimes", "xlwings.conf"]
    assert [c.value for c in wb["xlwings.conf"][1]] == ["UDF Modules", "xlfuncs"]
    names = {re.match(r"[^ ]* =([A-Z_]+)\(", f).group(1) for f in _formulas(committed).values()}
    assert names == {
        "REGIME_CURRENT",
        "STATE_STATS",
        "REGIME_WEIGHTS",
        "BACKTEST_STATS",
        "REGIME_PROB",
    }
    assert {n.lower() for n in names} <= set(xlfuncs.__all__)
    assert wb["Dashboard"]._charts
