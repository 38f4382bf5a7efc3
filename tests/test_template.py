from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

import xlfuncs
from engine.data import align_prices, load_sample_prices, prices_to_returns
from workbooks.cached import read_cell_values, sheet_parts
from workbooks.recalc import read_values, recalculated, soffice_path
from workbooks.template import (
    ASSETS,
    DATA,
    DYNAMIC_ARRAY_EXT,
    END,
    MAX_STATES,
    METADATA_CONTENT_TYPE,
    METADATA_REL_TYPE,
    N_STATES,
    PROB_ROW,
    START,
    STATES_NAME,
    TABLE,
    build_template,
)
from xlfuncs.functions import CATALOGUE

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "templates" / "pm_dashboard.xlsx"
FUNCTIONS = {"REGIME_CURRENT", "STATE_STATS", "REGIME_WEIGHTS", "BACKTEST_STATS", "REGIME_PROB"}

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_XDA = "{http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray}"
_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
# a fixed block of cells, e.g. Returns!$A$1:$D$2264 or 'Regimes'!B1:B9
_FIXED_RANGE = re.compile(r"\$?[A-Z]{1,3}\$?[0-9]+:\$?[A-Z]{1,3}\$?[0-9]+")


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
    assert _formulas(fresh) == _formulas(COMMITTED), "templates/pm_dashboard.xlsx is stale"
    _assert_same_values(read_cell_values(fresh), read_cell_values(COMMITTED))
    wb = load_workbook(COMMITTED)
    assert wb.sheetnames == ["Dashboard", "Returns", "Regimes", "xlwings.conf"]
    assert [c.value for c in wb["xlwings.conf"][1]] == ["UDF Modules", "xlfuncs"]
    names = {re.match(r"[^ ]* =([A-Z_]+)\(", f).group(1) for f in _formulas(COMMITTED).values()}
    assert names == FUNCTIONS
    assert {n.lower() for n in names} <= set(xlfuncs.__all__)
    assert wb["Dashboard"]._charts
    assert wb["Dashboard"]["A1"].value == (
        "Regime dashboard (example data: bundled S&P 500, gold, WTI returns)"
    )


def _assert_same_values(fresh: dict, committed: dict) -> None:
    """The committed cells (cached results included) are the builder's, up to floating-point
    noise between machines."""
    assert fresh.keys() == committed.keys()
    for sheet, cells in fresh.items():
        assert cells.keys() == committed[sheet].keys(), f"{sheet}: cells differ (stale template)"
        for coord, v in cells.items():
            w = committed[sheet][coord]
            if isinstance(v, float) and isinstance(w, int | float):
                assert w == pytest.approx(v, rel=1e-6, abs=1e-9), f"stale {sheet}!{coord}"
            else:
                assert w == v, f"stale {sheet}!{coord}"


@dataclass(frozen=True)
class Case:
    assets: tuple[str, ...]
    start: str
    end: str
    n_states: int

    def returns(self):
        prices, _ = align_prices(load_sample_prices(list(self.assets), self.start, self.end))
        return prices_to_returns(prices)


CASES = {
    "committed": Case(ASSETS, START, END, N_STATES),
    "2 assets, 4 years, 3 states": Case(("SP500", "GOLD"), "2008-01-01", "2011-12-31", 3),
    "4 assets, 5 years, 4 states": Case(
        ("SP500", "GOLD", "SILVER", "WTI"), "2005-01-01", "2009-12-31", 4
    ),
}


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def built(request, tmp_path_factory) -> tuple[Case, Path]:
    """(case, workbook): the committed template, or one built for another data shape."""
    case = CASES[request.param]
    if request.param == "committed":
        return case, COMMITTED
    out = tmp_path_factory.mktemp("template") / "t.xlsx"
    return case, build_template(out, case.assets, case.start, case.end, case.n_states)


def _parts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {
            n: zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith((".xml", ".rels"))
        }


def _sheet_xml(path: Path) -> dict[str, ElementTree.Element]:
    with zipfile.ZipFile(path) as zf:
        return {t: ElementTree.fromstring(zf.read(p)) for t, p in sheet_parts(zf).items()}


def _arrays(path: Path) -> dict[str, tuple[str, str]]:
    """{function name: (sheet, array range)} of the template's formula cells."""
    out = {}
    for key, f in _formulas(path).items():
        ref, text = f.split(" ", 1)
        name = re.match(r"=([A-Z_]+)\(", text).group(1)
        assert name not in out, f"{name} twice"
        out[name] = (key.split("!")[0], ref)
    return out


def _shape(ref: str) -> tuple[int, int]:
    c0, r0, c1, r1 = range_boundaries(ref)
    return r1 - r0 + 1, c1 - c0 + 1


def test_returns_live_in_a_table_that_covers_exactly_the_data(built):
    case, path = built
    returns = case.returns()
    ws = load_workbook(path)["Returns"]
    assert list(ws.tables) == [TABLE]
    table = ws.tables[TABLE]
    last_col = get_column_letter(len(case.assets) + 1)
    assert table.ref == f"A1:{last_col}{len(returns) + 1}"
    assert (ws.max_row, ws.max_column) == (len(returns) + 1, len(case.assets) + 1)
    header = [c.value for c in ws[1]]
    assert header == ["Date", *case.assets]
    assert table.column_names == header
    assert ws["A2"].value == returns.index[0].to_pydatetime()
    assert ws[f"A{ws.max_row}"].value == returns.index[-1].to_pydatetime()
    assert ws[f"{last_col}{ws.max_row}"].value == pytest.approx(returns.iloc[-1, -1])


def test_every_formula_reads_the_table_by_structured_reference(built):
    case, path = built
    formulas = _formulas(path)
    assert len(formulas) == len(FUNCTIONS)
    for where, f in formulas.items():
        text = f.split(" ", 1)[1]
        m = re.fullmatch(r"=([A-Z_]+)\((.*)\)", text)
        assert m, f"{where}: {text}"
        fn = CATALOGUE[m.group(1)]
        args = m.group(2).split(",")
        n_states_at = [a.name for a in fn.args].index("n_states")
        # the whole table, the n_states cell in the n_states slot, every other argument blank
        assert args[0] == DATA == f"{TABLE}[[#All]]", where
        assert args[n_states_at] == STATES_NAME, where
        assert len(args) == n_states_at + 1 and not any(args[1:n_states_at]), where

    # no fixed block of cells (Returns!$A$1:$D$2264, 'Regimes'!$B$1:$B$2264) in any formula,
    # defined name or chart reference of the package, and nothing reads the Returns sheet by
    # address
    parts = _parts(path)
    texts = [
        f
        for p, x in parts.items()
        if "worksheets/" in p
        for f in re.findall(r"<f\b[^>]*>([^<]*)</f>", x)
    ]
    assert len(texts) == len(FUNCTIONS)
    book = ElementTree.fromstring(parts["xl/workbook.xml"])
    names = {d.get("name"): d.text or "" for d in book.iter(f"{_MAIN}definedName")}
    texts += names.values()
    charts = [ElementTree.fromstring(x) for p, x in parts.items() if p.startswith("xl/charts/")]
    texts += [f.text or "" for chart in charts for f in chart.iter(f"{_CHART}f")]
    for text in texts:
        assert not _FIXED_RANGE.search(text), text
        assert "Returns!" not in text and "'Returns'!" not in text, text

    # n_states names the input cell, which holds the case's regime count
    assert names[STATES_NAME] == "Dashboard!$B$3"
    assert load_workbook(path)["Dashboard"]["B3"].value == case.n_states


def test_formulas_are_dynamic_arrays_with_well_formed_metadata(built):
    _, path = built
    parts = _parts(path)
    marked = 0
    for title, root in _sheet_xml(path).items():
        for c in root.iter(f"{_MAIN}c"):
            f = c.find(f"{_MAIN}f")
            if f is None:
                assert c.get("cm") is None, f"{title}!{c.get('r')}: cm without a formula"
                continue
            # a spilling formula in Excel 365; an array formula over `ref` in older Excel
            assert f.get("t") == "array", f"{title}!{c.get('r')}"
            assert f.get("ref", "").startswith(f"{c.get('r')}:"), f"{title}!{c.get('r')}"
            assert c.get("cm") == "1", f"{title}!{c.get('r')}"
            marked += 1
    assert marked == len(FUNCTIONS)

    meta = ElementTree.fromstring(parts["xl/metadata.xml"])
    types = [t.get("name") for t in meta.iter(f"{_MAIN}metadataType")]
    cells = meta.find(f"{_MAIN}cellMetadata")
    assert cells is not None
    blocks = cells.findall(f"{_MAIN}bk")
    assert int(cells.get("count", "0")) == len(blocks) >= 1
    rc = blocks[0].find(f"{_MAIN}rc")  # cm="1": the first cell-metadata block (1-based)
    assert rc is not None and types[int(rc.get("t", "0")) - 1] == "XLDAPR"
    future = {fm.get("name"): fm for fm in meta.iter(f"{_MAIN}futureMetadata")}
    dynamic = future["XLDAPR"].findall(f"{_MAIN}bk")[int(rc.get("v", "-1"))]
    ext = dynamic.find(f"{_MAIN}extLst/{_MAIN}ext")
    assert ext is not None and ext.get("uri") == DYNAMIC_ARRAY_EXT
    props = ext.find(f"{_XDA}dynamicArrayProperties")
    assert props is not None and props.get("fDynamic") == "1"

    types_xml = ElementTree.fromstring(parts["[Content_Types].xml"])
    overrides = {o.get("PartName"): o.get("ContentType") for o in types_xml.iter(f"{_CT}Override")}
    assert overrides["/xl/metadata.xml"] == METADATA_CONTENT_TYPE
    rels = list(
        ElementTree.fromstring(parts["xl/_rels/workbook.xml.rels"]).iter(f"{_PKG}Relationship")
    )
    assert len({r.get("Id") for r in rels}) == len(rels), "relationship ids must be unique"
    meta_rels = [r for r in rels if r.get("Type") == METADATA_REL_TYPE]
    assert len(meta_rels) == 1
    assert str(PurePosixPath("xl") / meta_rels[0].get("Target", "")) == "xl/metadata.xml"


def test_fallback_ranges_and_cached_values_match_the_data(built):
    case, path = built
    n_rows, n_assets, k = len(case.returns()), len(case.assets), case.n_states
    arrays = _arrays(path)
    assert set(arrays) == FUNCTIONS
    shapes = {name: _shape(ref) for name, (_, ref) in arrays.items()}
    assert shapes["REGIME_PROB"] == (n_rows + 1, k + 1)  # header + every date, date + states
    assert shapes["REGIME_CURRENT"][1] == k + 2
    assert shapes["STATE_STATS"][0] == k + 1
    assert shapes["REGIME_WEIGHTS"] == (n_assets + 1, k + 2)
    assert shapes["BACKTEST_STATS"][1] == 3  # metric, static, dynamic

    values = read_cell_values(path)
    for name, (sheet, ref) in arrays.items():
        c0, r0, c1, _ = range_boundaries(ref)
        header = [values[sheet].get(f"{get_column_letter(c)}{r0}") for c in range(c0, c1 + 1)]
        assert all(isinstance(h, str) and h for h in header), (name, header)
    # the probabilities' dates are the table's dates, and each row sums to 1
    sheet, ref = arrays["REGIME_PROB"]
    prob = values[sheet]
    table = values["Returns"]
    assert [prob[f"A{PROB_ROW + i}"] for i in range(1, n_rows + 1)] == [
        table[f"A{i}"] for i in range(2, n_rows + 2)
    ]
    last = PROB_ROW + n_rows
    states = [get_column_letter(j) for j in range(2, k + 2)]
    assert sum(prob[f"{c}{last}"] for c in states) == pytest.approx(1.0)


def test_outputs_have_room_to_grow(built):
    """Every output, grown to MAX_STATES regimes (and, for those whose rows follow the table
    or the asset count, to the bottom of the sheet), covers no other cell: no #SPILL!."""
    case, path = built
    grow = MAX_STATES - case.n_states
    extra = {  # (more rows, more columns) at MAX_STATES; None: any number of rows
        "REGIME_CURRENT": (0, grow),
        "STATE_STATS": (grow, 0),
        "BACKTEST_STATS": (0, 0),
        "REGIME_WEIGHTS": (None, grow),
        "REGIME_PROB": (None, grow),
    }
    values = read_cell_values(path)
    arrays = _arrays(path)
    for name, (sheet, ref) in arrays.items():
        c0, r0, c1, r1 = range_boundaries(ref)
        more_rows, more_cols = extra[name]
        r_max = 10**7 if more_rows is None else r1 + more_rows
        c_max = c1 + more_cols
        mine = {f"{get_column_letter(c)}{r}" for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)}
        for coord in values[sheet]:
            col, row = range_boundaries(f"{coord}:{coord}")[:2]
            inside = r0 <= row <= r_max and c0 <= col <= c_max
            assert not (inside and coord not in mine), f"{name} would spill into {sheet}!{coord}"


def test_chart_follows_the_probability_rows(built):
    case, path = built
    parts = _parts(path)
    book = ElementTree.fromstring(parts["xl/workbook.xml"])
    names = {d.get("name"): d.text for d in book.iter(f"{_MAIN}definedName")}
    (chart_part,) = [p for p in parts if p.startswith("xl/charts/chart")]
    chart = ElementTree.fromstring(parts[chart_part])
    series = list(chart.iter(f"{_CHART}ser"))
    assert len(series) == case.n_states
    for k, ser in enumerate(series, start=1):
        val = ser.find(f"{_CHART}val/{_CHART}numRef/{_CHART}f")
        cat = ser.find(f"{_CHART}cat/{_CHART}numRef/{_CHART}f")
        title = ser.find(f"{_CHART}tx/{_CHART}strRef/{_CHART}f")
        assert val is not None and val.text == f"[0]!ProbState{k}"
        assert cat is not None and cat.text == "[0]!ProbDates"
        assert title is not None and title.text == f"Regimes!${get_column_letter(k + 1)}${PROB_ROW}"
        assert names[f"ProbState{k}"] == f"OFFSET(ProbDates,0,{k})"
    assert names["ProbDates"] == f"OFFSET(Regimes!$A${PROB_ROW + 1},0,0,COUNT(Regimes!$A:$A),1)"
    # COUNT(Regimes!$A:$A) counts exactly the probability dates: the only numbers in column A,
    # from the row below the header on, one per row
    numbers = sorted(
        int(coord[1:])
        for coord, v in read_cell_values(path, ["Regimes"])["Regimes"].items()
        if coord.startswith("A") and coord[1:].isdigit() and isinstance(v, int | float)
    )
    n_rows = len(case.returns())
    assert numbers == list(range(PROB_ROW + 1, PROB_ROW + 1 + n_rows))


def test_too_little_history_for_the_backtest_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="BACKTEST_STATS"):
        build_template(tmp_path / "t.xlsx", ("SP500", "GOLD"), "2010-01-01", "2011-12-31")
    assert not (tmp_path / "t.xlsx").exists()


@pytest.mark.slow
def test_libreoffice_opens_the_template_and_resolves_the_table(built, tmp_path):
    if soffice_path() is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    case, path = built
    n_rows = len(case.returns())
    with recalculated(path) as out:  # raises RecalcError if LibreOffice rejects the file
        wb = load_workbook(out)
        assert wb.sheetnames == ["Dashboard", "Returns", "Regimes", "xlwings.conf"]
        assert wb["Returns"].tables[TABLE].ref == load_workbook(path)["Returns"].tables[TABLE].ref
        kept = [f.split(" ", 1)[1] for f in _formulas(out).values()]
        assert len(kept) == len(FUNCTIONS)
        assert all(DATA in f and STATES_NAME in f for f in kept), kept
    # what the formulas pass, evaluated by LibreOffice: the whole table and the input cell
    probe = tmp_path / "probe.xlsx"
    wb = load_workbook(path)
    ws = wb.create_sheet("Probe")
    ws["A1"], ws["A2"], ws["A3"] = f"=ROWS({DATA})", f"=COLUMNS({DATA})", f"={STATES_NAME}"
    wb.save(probe)
    with recalculated(probe) as out:
        got = read_values(out, ["Probe"])["Probe"]
    assert [got["A1"], got["A2"], got["A3"]] == [n_rows + 1, len(case.assets) + 1, case.n_states]
