"""Cached values of formula cells, read and written in the .xlsx package directly.

openpyxl writes formulas without results, so every viewer that does not calculate (pandas,
openpyxl `data_only=True`, file previewers, LibreOffice with its default settings) shows blanks.
`write_cached_values` puts a result into each formula cell (`<c><f>…</f><v>…</v></c>`) from a
map {sheet: {"A1": value}}: LibreOffice's recalculated values or the engine's own. Only the
`<v>` and `t=` of formula cells change (plus any plain-cell text overrides); every other part
of the package is copied byte for byte, and `fullCalcOnLoad="1"` keeps Excel recalculating on
open, so a cached value never stands in for a live formula.

The sheet XML is edited with regular expressions, not a DOM: the default report has about
130,000 formulas in 250,000 cells, and a DOM round trip costs tens of seconds.
`read_cell_values` is the matching fast reader (what a non-calculating viewer sees).
"""

from __future__ import annotations

import datetime as dt
import html
import math
import re
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from openpyxl.utils.cell import column_index_from_string, get_column_letter

from workbooks.io import write_atomic

ERROR_CODES = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}
    | {"#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!", "#CONNECT!", "#BUSY!"}
)
_LO_ERROR = re.compile(r"Err:\d{3}\Z")  # LibreOffice's own error display, e.g. Err:502

_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"

# A cell: its attributes and (unless self-closing) its body. `\b` keeps <col>/<cfRule> out.
_CELL = re.compile(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_REF = re.compile(r'\br="([A-Z]+)([0-9]+)"')
_COORD = re.compile(r"([A-Z]+)([0-9]+)\Z")
_TYPE = re.compile(r'\s+t="[^"]*"')
_SHEET_DATA = re.compile(r"<sheetData\b[^>]*?(?:/>|>(.*?)</sheetData>)", re.S)

Values = Mapping[str, Mapping[str, Any]]  # {sheet title: {"A1": value}}


class CellError(str):
    """An error value ("#N/A", "#DIV/0!") read from a cell, as opposed to text that reads the
    same. `write_cached_values` also treats a plain string in ERROR_CODES as an error."""


def is_error_result(value: Any) -> bool:
    """True for an error a calculation produced: a CellError, or LibreOffice's Err:NNN."""
    return isinstance(value, CellError) or (isinstance(value, str) and bool(_LO_ERROR.match(value)))


def is_error(value: Any) -> bool:
    """True for a value to write as an error: an error result or a plain Excel error code."""
    return is_error_result(value) or (isinstance(value, str) and value in ERROR_CODES)


def split_coordinate(coord: str) -> tuple[str, int]:
    """("AB", 12) for "AB12"; ("", 0) for anything else."""
    m = _COORD.match(coord)
    return (m.group(1), int(m.group(2))) if m else ("", 0)


@dataclass
class CacheReport:
    """What `write_cached_values` did."""

    path: Path
    formula_cells: int = 0  # formula cells in the sheets written
    cached: int = 0  # formula cells (and array-formula members) given a value
    missing: list[str] = field(default_factory=list)  # "Sheet!A1": formula cells with no value
    seconds: float = 0.0


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """{sheet title: part name in the package, e.g. "xl/worksheets/sheet1.xml"}, in tab order."""
    book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_NS_PKG}Relationship")}
    out = {}
    for sheet in book.iter(f"{_NS_MAIN}sheet"):
        target = targets[sheet.get(f"{_NS_REL}id")]
        # Targets are relative to xl/ unless absolute ("/xl/worksheets/sheet1.xml").
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        out[sheet.get("name", "")] = str(PurePosixPath(part))
    return out


def _shared_strings(zf: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in zf.namelist():
        return []
    root = ElementTree.fromstring(zf.read("xl/sharedStrings.xml"))
    return [_string_item_text(si) for si in root.iter(f"{_NS_MAIN}si")]


def _string_item_text(si: ElementTree.Element) -> str:
    # Rich text keeps its runs' text in <r><t>; phonetic hints (<rPh><t>) are not cell text.
    hints = {id(t) for rph in si.iter(f"{_NS_MAIN}rPh") for t in rph.iter(f"{_NS_MAIN}t")}
    return "".join(t.text or "" for t in si.iter(f"{_NS_MAIN}t") if id(t) not in hints)


def _number(text: str) -> float | int:
    return int(text) if text.lstrip("-").isdigit() else float(text)


_TYPE_VALUE = re.compile(r'\bt="([^"]*)"')
_V = re.compile(r"<v>([^<]*)</v>")
_T = re.compile(r"<t\b[^>]*>([^<]*)</t>")


def _parse_value(attrs: str, body: str, strings: list[str]) -> Any:
    """The cached value of one cell from its attributes and body (None when it has none)."""
    m = _TYPE_VALUE.search(attrs)
    kind = m.group(1) if m else "n"
    if kind == "inlineStr":
        return html.unescape("".join(_T.findall(body)))
    v = _V.search(body)
    if v is None:
        return None
    text = v.group(1)
    if kind == "s":
        return strings[int(text)]
    if kind in ("str", "d"):
        return html.unescape(text)
    if kind == "b":
        return text.strip() in ("1", "true")
    if kind == "e":
        return CellError(html.unescape(text))
    return _number(text) if text else None


def read_cell_values(
    path: str | Path, sheets: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """{sheet: {"A1": value}} of every cell with a value, as stored (cached results for formula
    cells). Numbers stay serial numbers (dates are not converted); errors are CellError. Several
    times faster than openpyxl for large sheets."""
    out: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(path) as zf:
        parts = sheet_parts(zf)
        strings = _shared_strings(zf)
        for title in parts if sheets is None else sheets:
            xml = zf.read(parts[title]).decode("utf-8")
            data = _SHEET_DATA.search(xml)
            cells: dict[str, Any] = {}
            for m in _CELL.finditer((data.group(1) or "") if data else ""):
                ref = _REF.search(m.group(1))
                value = _parse_value(m.group(1), m.group(2) or "", strings) if ref else None
                if ref and value is not None:
                    cells[ref.group(1) + ref.group(2)] = value
            out[title] = cells
    return out


_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _typed_number(number: float) -> tuple[str, str] | None:
    if not math.isfinite(number):
        return None
    if number.is_integer() and abs(number) < 1e15:
        return "", str(int(number))
    return "", repr(number)


def _typed(value: Any) -> tuple[str, str] | None:
    """(t attribute or "", text of <v>) for a cached value; None for no value (None, NaN)."""
    if type(value) is float:  # nine values in ten: the short way
        return _typed_number(value)
    if value is None:
        return None
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        return ' t="b"', "1" if value else "0"
    if is_error(value):
        # Err:NNN is not an OOXML error code: written as #VALUE!, as LibreOffice exports it
        return ' t="e"', value if value in ERROR_CODES else "#VALUE!"
    if isinstance(value, str):
        return ' t="str"', escape(_ILLEGAL_XML.sub("", value))
    if isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta):
        from openpyxl.utils.datetime import to_excel

        value = to_excel(value)
    return _typed_number(float(value))


def _value_cell(attrs: str, formula: str, typed: tuple[str, str] | None) -> str:
    """A cell element: `attrs` without its t=, the formula element (or ""), the `_typed` value."""
    if ' t="' in attrs:
        attrs = _TYPE.sub("", attrs)
    if typed is None:
        return f"<c{attrs}>{formula}</c>" if formula else f"<c{attrs}/>"
    t, v = typed
    return f"<c{attrs}{t}>{formula}<v>{v}</v></c>"


def _text_cell(attrs: str, text: str) -> str:
    clean = escape(_ILLEGAL_XML.sub("", text))
    space = ' xml:space="preserve"' if clean != clean.strip() else ""
    return f'<c{_TYPE.sub("", attrs)} t="inlineStr"><is><t{space}>{clean}</t></is></c>'


def _range_cells(ref: str) -> list[tuple[str, int]]:
    first, _, last = ref.partition(":")
    a, b = _COORD.match(first), _COORD.match(last or first)
    assert a is not None and b is not None
    cols = range(column_index_from_string(a.group(1)), column_index_from_string(b.group(1)) + 1)
    rows = range(int(a.group(2)), int(b.group(2)) + 1)
    return [(get_column_letter(c), r) for r in rows for c in cols]


# An edit of one cell: from (its attributes, body), both None when the cell is absent, to XML
CellEdit = Callable[[str | None, str | None], str]


def _rebuild_row(attrs: str, body: str, wanted: dict[int, CellEdit]) -> str:
    """A row element with the cells of `wanted` {column number: edit} replaced or inserted."""
    cells: list[tuple[int, str]] = []
    for m in _CELL.finditer(body):
        ref = _REF.search(m.group(1))
        col = column_index_from_string(ref.group(1)) if ref else 0
        edit = wanted.pop(col, None)
        cells.append((col, m.group(0) if edit is None else edit(m.group(1), m.group(2))))
    cells += [(col, edit(None, None)) for col, edit in wanted.items()]
    cells.sort(key=lambda c: c[0])
    return f"<row{attrs}>{''.join(c for _, c in cells)}</row>"


_ROW = re.compile(r"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
_ROW_NUMBER = re.compile(r'\br="([0-9]+)"')


def _edit_cells(sheet_data: str, edits: dict[str, CellEdit]) -> str:
    """Apply `edits` {"A1": edit} inside <sheetData>: replace existing cells, insert missing
    ones (and missing rows) in column and row order. Only the rows concerned are rebuilt."""
    by_row: dict[int, dict[int, CellEdit]] = {}
    for ref, edit in edits.items():
        m = _COORD.match(ref)
        assert m is not None, ref
        by_row.setdefault(int(m.group(2)), {})[column_index_from_string(m.group(1))] = edit
    pending = sorted(by_row)
    parts: list[str] = []
    pos = row = 0
    for m in _ROW.finditer(sheet_data):
        r = _ROW_NUMBER.search(m.group(1))
        row = int(r.group(1)) if r else row + 1  # r= is optional: then the next row
        parts.append(sheet_data[pos : m.start()])
        while pending and pending[0] < row:
            n = pending.pop(0)
            parts.append(_rebuild_row(f' r="{n}"', "", by_row[n]))
        if pending and pending[0] == row:
            pending.pop(0)
            parts.append(_rebuild_row(m.group(1), m.group(2) or "", by_row[row]))
        else:
            parts.append(m.group(0))
        pos = m.end()
    parts += [_rebuild_row(f' r="{n}"', "", by_row[n]) for n in pending]
    parts.append(sheet_data[pos:])
    return "".join(parts)


def _value_edit(coord: str, value: Any) -> CellEdit:
    """Edit: the cell (style kept) holds `value` as a plain cached value."""
    typed = _typed(value)
    return lambda attrs, _body: _value_cell(f' r="{coord}"' if attrs is None else attrs, "", typed)


def _text_edit(coord: str, text: str) -> CellEdit:
    """Edit: the cell (style kept) holds `text` as an inline string."""
    return lambda attrs, _body: _text_cell(f' r="{coord}"' if attrs is None else attrs, text)


# A formula cell as spreadsheet writers lay it out: <c ..><f ..>text</f> or <f ../>, then an
# optional (possibly empty) <v>. Formula text is escaped XML, so it holds no "<".
_FORMULA_CELL = re.compile(r"<c\b([^>]*)>(<f\b[^>]*?(?:/>|>[^<]*</f>))(?:<v>[^<]*</v>|<v/>)?</c>")
_ARRAY_REF = re.compile(r'\bt="array"[^>]*?\bref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


def _rewrite_sheet(
    xml: str,
    title: str,
    values: Mapping[str, Any],
    text: Mapping[str, str],
    rep: CacheReport,
    booleans: frozenset[int] = frozenset(),
) -> str:
    """One sheet's XML with cached values in its formula cells and `text` in plain cells."""
    data = _SHEET_DATA.search(xml)
    if data is None or data.group(1) is None:
        if text:
            raise ValueError(f"{title}: the sheet has no cells to override")
        return xml
    members: list[str] = []  # cells of array formulas other than the anchor

    def count(coord: str, typed: tuple[str, str] | None) -> None:
        if typed is None:
            rep.missing.append(f"{title}!{coord}")
        else:
            rep.cached += 1

    def on_formula(m: re.Match[str]) -> str:
        attrs, formula = m.group(1), m.group(2)
        ref = _REF.search(attrs)
        if ref is None:  # r= is optional in OOXML; no writer we read omits it
            return m.group(0)
        coord = ref.group(1) + ref.group(2)
        if coord in text:
            raise ValueError(f"{title}!{coord} holds a formula: a text override would delete it")
        rep.formula_cells += 1
        value = values.get(coord)
        style = _STYLE.search(attrs)
        if (
            style
            and int(style.group(1)) in booleans
            and type(value) in (int, float)
            and value in (0, 1)
        ):
            value = bool(value)  # a check or flag: TRUE/FALSE, as Excel would cache it
        typed = _typed(value)
        count(coord, typed)
        if 't="array"' in formula and (array := _ARRAY_REF.search(formula)):
            members.extend(f"{c}{r}" for c, r in _range_cells(array.group(1))[1:])
        return _value_cell(attrs, formula, typed)

    body = _FORMULA_CELL.sub(on_formula, data.group(1))
    edits: dict[str, CellEdit] = {}
    for coord in members:
        count(coord, _typed(values.get(coord)))
        edits[coord] = _value_edit(coord, values.get(coord))
    for coord, t in text.items():
        edits[coord] = _text_edit(coord, t)
    if edits:
        body = _edit_cells(body, edits)
    return xml[: data.start(1)] + body + xml[data.end(1) :]


_STYLE = re.compile(r'\bs="([0-9]+)"')
BOOLEAN_FORMAT = '"TRUE";"TRUE";"FALSE"'  # the report's format for checks and flags


def boolean_styles(zf: zipfile.ZipFile) -> frozenset[int]:
    """Indices of the cell formats (the `s=` of a cell) whose number format shows TRUE/FALSE.
    LibreOffice stores the TRUE of a cell with such a format as 1; cached here as a boolean."""
    try:
        root = ElementTree.fromstring(zf.read("xl/styles.xml"))
    except KeyError:
        return frozenset()
    codes = {
        int(f.get("numFmtId", -1)): f.get("formatCode", "") for f in root.iter(f"{_NS_MAIN}numFmt")
    }
    bool_ids = {i for i, code in codes.items() if code == BOOLEAN_FORMAT}
    xfs = root.find(f"{_NS_MAIN}cellXfs")
    if xfs is None:
        return frozenset()
    return frozenset(
        k
        for k, xf in enumerate(xfs.iter(f"{_NS_MAIN}xf"))
        if int(xf.get("numFmtId", 0)) in bool_ids
    )


_CALC_PR = re.compile(r"<calcPr\b[^>]*?/?>")
_FULL_CALC = re.compile(r'\sfullCalcOnLoad="[^"]*"')
_DEFINED_NAMES_END = re.compile(r"<definedNames\b[^>]*/>|</definedNames>")
_SHEETS_END = re.compile(r"<sheets\b[^>]*/>|</sheets>")


def _full_calc_on_load(xml: str) -> str:
    """workbook.xml with calcPr fullCalcOnLoad="1": Excel recalculates every formula on open."""
    m = _CALC_PR.search(xml)
    if m is None:  # calcPr follows definedNames (or sheets) in CT_Workbook's sequence
        after = _DEFINED_NAMES_END.search(xml) or _SHEETS_END.search(xml)
        assert after is not None, "workbook.xml without <sheets>"
        return f'{xml[: after.end()]}<calcPr fullCalcOnLoad="1"/>{xml[after.end() :]}'
    if 'fullCalcOnLoad="1"' in m.group(0):
        return xml  # as openpyxl writes it: the part stays byte for byte
    tag = _FULL_CALC.sub("", m.group(0)).replace("<calcPr", '<calcPr fullCalcOnLoad="1"', 1)
    return xml[: m.start()] + tag + xml[m.end() :]


def write_cached_values(
    path: str | Path,
    values: Values,
    text: Values | None = None,
    out: str | Path | None = None,
    compresslevel: int = 6,
) -> CacheReport:
    """Give each formula cell of the workbook at `path` its cached value from `values`
    {sheet: {"A1": value}} and write the result atomically to `out` (default: `path`).

    Values: int/float (and numpy scalars), str (t="str"), bool (t="b"), errors (CellError or a
    string in ERROR_CODES, t="e"), dates (Excel serial numbers). None, NaN or a missing entry
    leaves a formula cell without a cached value (listed in the report's `missing`). Every
    cell of an array formula's range takes its own value. `values` may hold plain cells too
    (e.g. everything LibreOffice read back): only formula cells take them.

    `text` {sheet: {"A1": "text"}} overrides plain cells with text (inline strings, style
    kept), e.g. the About sheet's verification line; overriding a formula cell is an error.
    """
    t0 = time.perf_counter()
    src = Path(path)
    target = Path(out) if out is not None else src
    rep = CacheReport(path=target)
    text = text or {}
    with zipfile.ZipFile(src) as zin:
        parts = sheet_parts(zin)
        unknown = [s for s in (*values, *text) if s not in parts]
        if unknown:
            raise KeyError(f"no sheet {unknown[0]!r} in {src.name}; sheets: {', '.join(parts)}")
        by_part = {parts[s]: s for s in {*values, *text}}
        booleans = boolean_styles(zin)

        def write(tmp: Path) -> None:
            with zipfile.ZipFile(tmp, "w") as z:  # each entry keeps its compression type
                for info in zin.infolist():
                    data = zin.read(info)
                    title = by_part.get(info.filename)
                    if title is not None:
                        xml = data.decode("utf-8")
                        xml = _rewrite_sheet(
                            xml, title, values.get(title, {}), text.get(title, {}), rep, booleans
                        )
                        data = xml.encode("utf-8")
                    elif info.filename == "xl/workbook.xml":
                        data = _full_calc_on_load(data.decode("utf-8")).encode("utf-8")
                    z.writestr(info, data, compresslevel=compresslevel)

        write_atomic(target, write)
    rep.seconds = time.perf_counter() - t0
    return rep
