"""The command line around the report: fast configuration errors, cached values in formula
cells, LibreOffice recalculation (clean-up, PDF, `python -m workbooks.recalc`), `regime-risk
verify` and the verification step of `regime-risk report`, with their exit codes."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula

from engine.config import parse_config
from engine.errors import InputError
from workbooks import cli
from workbooks.cached import CellError, _full_calc_on_load, read_cell_values, write_cached_values
from workbooks.recalc import RecalcError, export_pdf, recalculate, recalculated, soffice_path
from workbooks.report import MASTER_CHECK_CELL
from workbooks.report.about import NOT_VERIFIED, VERIFICATION_CELL
from workbooks.verify import holds, read_checks

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
needs_lo = pytest.mark.skipif(
    soffice_path() is None and os.environ.get("CI") != "true",
    reason="LibreOffice not installed",
)

# ---------------------------------------------------------------- configuration errors

DATA = '[data]\ncolumns = ["SP500", "GOLD"]\n'


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (DATA + '[regimes]\nmethod = "hmmm"\n', "regimes.method"),
        (DATA + '[allocation]\nobjective = "min_varience"\n', "allocation.objective"),
        (DATA + '[backtest]\nrebalance = "monthy"\n', "backtest.rebalance"),
        (DATA + "[backtest]\nwindow = 5\n", "backtest.window"),
        (DATA + '[regimes]\nfeatures = [{name = "astrology"}]\n', "regimes.features[0].name"),
        (
            DATA + '[regimes]\nfeatures = [{name = "ewm_log_vol", halflif = 3}]\n',
            "regimes.features[0].halflif",
        ),
        (DATA + '[regimes]\nfeatures = [{name = "rsi"}]\n', "regimes.features[0].window"),
        (
            DATA + '[regimes]\nfeatures = [{name = "level", series = "VIX"}]\n',
            "regimes.features[0].series",
        ),
        (DATA + "[regimes]\nfeatures = [3]\n", "regimes.features[0]"),
        (DATA + "[regimes]\njump_penalty = 2.0\n", "regimes.jump_penalty"),
        (DATA + '[regimes]\nmethod = "jump"\njump_penalty = -1\n', "regimes.jump_penalty"),
        (DATA + "[regimes]\nseed = -1\n", "regimes.seed"),
        (DATA + "[regimes]\nn_states = true\n", "regimes.n_states"),
        ('[data]\ncolumns = ["SP500", "GLOD"]\n', "data.columns"),
        ('[data]\ncolumns = ["SP500", "SP500"]\n', "data.columns"),
        ('[data]\ncolumns = ["SP500", 2]\n', "data.columns[1]"),
        (DATA + "[portfolio]\nweights = [0.5, 0.3, 0.2]\n", "portfolio.weights"),
        (DATA + "[portfolio]\nweights = [0.5, 0.4]\n", "portfolio.weights"),
        (DATA + '[portfolio]\nweights = [0.5, "0.5"]\n', "portfolio.weights[1]"),
        (DATA + 'start = "2020-13-01"\n', "data.start"),
        (DATA + 'end = "yesterday"\n', "data.end"),
        (DATA + 'start = "2012-01-01"\nend = "2011-12-31"\n', "data.end"),
        (DATA + "start = 2005\n", "data.start"),
        (DATA + 'kind = "returns"\n', "data.kind"),
        (DATA + 'kind = "levels"\n', "data.kind"),
        (DATA + 'calendar = "NOPE"\n', "data.calendar"),
        (DATA + "ffill_limit = -1\n", "data.ffill_limit"),
        (DATA + "[allocation]\nmax_weight = 0.2\n", "allocation.max_weight"),
        (DATA + "[risk]\nvar_confidence = 99\n", "risk.var_confidence"),
        ('[data]\nsource = "csv"\npath = "no/such/file.csv"\n', "data.path"),
        ('[data]\nsource = "xlsx"\npath = "prices.csv"\n', "data.path"),
    ],
)
def test_typos_are_caught_by_the_configuration_and_name_the_key(text, key):
    with pytest.raises(InputError) as err:
        parse_config(text)
    assert err.value.argument == key


def test_csv_header_is_checked_against_data_columns(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("Date,SP500,GOLD\n2024-01-02,1,2\n")
    head = f'[data]\nsource = "csv"\npath = "{path.as_posix()}"\n'
    assert parse_config(head + 'columns = ["SP500", "GOLD"]\n').data.columns == ("SP500", "GOLD")
    with pytest.raises(InputError) as err:
        parse_config(head + 'columns = ["SP500", "WTI"]\n')
    assert err.value.argument == "data.columns" and "'WTI'" in err.value.message


def test_toml_dates_and_partial_dates_are_accepted():
    cfg = parse_config(DATA + 'start = 2005-01-03\nend = "2012"\n')
    assert (cfg.data.start, cfg.data.end) == ("2005-01-03", "2012")


def test_configuration_lists_match_the_engine():
    """engine.config repeats the engine's names so that it can check a file without importing
    numpy; they must not drift apart."""
    from engine import config
    from engine.allocation import OBJECTIVES
    from engine.backtest.simulator import REBALANCE
    from engine.data.files import TABLE_KINDS
    from engine.data.returns import RETURN_METHODS
    from engine.data.sample import sample_columns
    from engine.features import _RETURN_FEATURES, LEVEL_FEATURES
    from engine.regimes import DETECTORS

    assert tuple(DETECTORS) == config.METHODS
    assert config.OBJECTIVES == OBJECTIVES
    assert config.REBALANCE == REBALANCE
    assert tuple(k for k in TABLE_KINDS if k != "levels") == config.KINDS  # levels: exogenous
    assert config.RETURN_METHODS == RETURN_METHODS
    assert {k: v[1] for k, v in _RETURN_FEATURES.items()} == config.FEATURE_PARAMS
    assert config.LEVEL_FEATURES == LEVEL_FEATURES
    assert config._sample_series() == sample_columns()


def test_backtest_window_floor_matches_the_engine(multi_returns):
    from engine.backtest.compare import compare_static_dynamic
    from engine.config import MIN_BACKTEST_WINDOW

    with pytest.raises(InputError, match="need at least"):
        compare_static_dynamic(multi_returns, window=MIN_BACKTEST_WINDOW - 1)


def test_checking_a_configuration_loads_no_numerical_library():
    code = (
        "import sys\n"
        "from engine.config import load_config, parse_config\n"
        "from engine.errors import InputError\n"
        "load_config('templates/report_full_example.toml')\n"
        "try:\n"
        "    parse_config('[allocation]\\nobjective = \"min_varience\"\\n')\n"
        "except InputError:\n"
        "    pass\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'scipy', 'sklearn', 'openpyxl')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_a_config_typo_exits_2_at_once_naming_the_key(tmp_path):
    """Timed loosely here (a busy test machine); benchmarks/bench_report.py times it."""
    bad = tmp_path / "bad.toml"
    bad.write_text(DATA + '[allocation]\nobjective = "min_varience"\n')
    out = tmp_path / "r.xlsx"
    t0 = time.perf_counter()
    run = subprocess.run(
        [BIN / "regime-risk", "report", "--config", bad, "--out", out],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert time.perf_counter() - t0 < 10
    assert run.returncode == 2
    assert "allocation.objective" in run.stderr and "min_varience" in run.stderr
    assert not out.exists()


# ---------------------------------------------------------------- cached values


def _workbook(path: Path) -> Path:
    """Numbers, text, booleans, errors, a date, two array formulas (one member cell absent
    from the XML, one styled), a defined name, a chart, frozen panes, protection."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Calc"
    ws["A1"], ws["A2"] = 2, 3
    ws["B1"] = "=A1*Rate"
    ws["B2"] = "=A1/A2"
    ws["B3"] = '="x<&>"&A1'
    ws["B4"] = "=A1>A2"
    ws["B5"] = "=1/0"
    ws["B6"] = "=NA()"
    ws["B7"] = "=DATE(2024,1,2)"
    ws["B7"].number_format = "yyyy-mm-dd"
    ws["C1"] = ArrayFormula("C1:C2", "=A1:A2*10")
    ws["D1"] = ArrayFormula("D1:E1", "=TRANSPOSE(A1:A2)")
    ws["E1"].font = Font(bold=True)
    ws["G10"] = ArrayFormula("G10:G11", "=A1:A2+1")  # row 11 is not in the XML at all
    ws.freeze_panes = "A2"
    ws.protection.sheet = True
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=1, min_row=1, max_row=2))
    ws.add_chart(chart, "G2")
    wb.defined_names["Rate"] = DefinedName("Rate", attr_text="Calc!$A$1")
    about = wb.create_sheet("About")
    about["A1"] = "Independent recalculation"
    about["B1"] = NOT_VERIFIED
    about["B1"].font = Font(italic=True)
    about["B2"] = "=Calc!B1"
    wb.save(path)
    return path


VALUES: dict[str, dict[str, Any]] = {
    "Calc": {
        "B1": 4,
        "B2": 2 / 3,
        "B3": "x<&>2",
        "B4": False,
        "B5": CellError("#DIV/0!"),
        "B6": "#N/A",
        "B7": dt.date(2024, 1, 2),
        "C1": 20,
        "C2": 30,
        "D1": 2,
        "E1": 3,
        "G10": 3,
        "G11": 4,
    },
    "About": {"B2": 4},
}
TEXT = {"About": {"B1": " recalculated by LibreOffice: all checks hold"}}


def _snapshot(path: Path) -> dict[str, Any]:
    """What openpyxl reads from the formula view: each non-empty or styled cell's value,
    array range and style; names, charts, panes, protection."""
    wb = load_workbook(path)
    out: dict[str, Any] = {"names": {n: d.attr_text for n, d in wb.defined_names.items()}}
    for ws in wb.worksheets:
        cells = {
            c.coordinate: (
                c.value.text if isinstance(c.value, ArrayFormula) else c.value,
                c.value.ref if isinstance(c.value, ArrayFormula) else None,
                c.font.b,
                c.font.i,
                c.number_format,
            )
            for row in ws.iter_rows()
            for c in row
            if c.value is not None or c.has_style
        }
        charts = [type(ch).__name__ for ch in ws._charts]
        out[ws.title] = (cells, charts, ws.freeze_panes, ws.protection.sheet)
    return out


def test_cached_values_appear_to_openpyxl_and_pandas(tmp_path):
    path = _workbook(tmp_path / "w.xlsx")
    rep = write_cached_values(path, VALUES, text=TEXT)
    assert (rep.formula_cells, rep.cached, rep.missing) == (11, 14, [])  # 11 formulas + 3 members
    wb = load_workbook(path, data_only=True)
    got = {c: wb["Calc"][c].value for c in VALUES["Calc"]}
    assert got == {
        **VALUES["Calc"],
        "B2": pytest.approx(2 / 3, rel=1e-15),
        "B7": dt.datetime(2024, 1, 2),
    }
    assert wb["About"]["B1"].value == TEXT["About"]["B1"]  # leading space kept
    assert wb["About"]["B2"].value == 4
    frame = pd.read_excel(path, sheet_name="Calc", header=None)
    assert frame.iloc[0, 1] == 4 and frame.iloc[2, 1] == "x<&>2" and frame.iloc[1, 2] == 30


def test_cached_values_change_nothing_but_values(tmp_path):
    path = _workbook(tmp_path / "w.xlsx")
    before, parts = _snapshot(path), {}
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    write_cached_values(path, VALUES, text=TEXT, out=tmp_path / "c.xlsx")
    after = _snapshot(tmp_path / "c.xlsx")
    # members of an array formula read as their values, as in a file Excel saved
    members = {"C2": 30, "E1": 3, "G11": 4}
    calc = after["Calc"][0]
    assert {k: calc[k][0] for k in members} == members
    calc["E1"] = (None, *calc["E1"][1:])  # styled: in the snapshot before, without a value
    del calc["C2"], calc["G11"]
    b1 = after["About"][0].pop("B1")
    assert b1[0] == TEXT["About"]["B1"] and b1[3] is True  # the new text, its style kept
    before["About"][0].pop("B1")
    assert after == before  # formulas, array formulas, styles, names, charts, panes
    with zipfile.ZipFile(tmp_path / "c.xlsx") as z:
        changed = {n for n in z.namelist() if z.read(n) != parts[n]}
        assert set(z.namelist()) == set(parts)
        assert 'fullCalcOnLoad="1"' in z.read("xl/workbook.xml").decode()
    assert changed == {"xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"}


def test_cached_values_read_back_with_their_types(tmp_path):
    path = write_cached_values(_workbook(tmp_path / "w.xlsx"), VALUES).path
    got = read_cell_values(path)["Calc"]
    assert got["B5"] == "#DIV/0!" and isinstance(got["B5"], CellError)
    assert isinstance(got["B6"], CellError)  # "#N/A" given as a plain string is an error
    assert got["B4"] is False and got["B3"] == "x<&>2" and got["B7"] == 45293
    assert got["C2"] == 30 and got["E1"] == 3 and got["G11"] == 4


def test_formula_cells_without_a_value_are_listed_and_left_empty(tmp_path):
    path = _workbook(tmp_path / "w.xlsx")
    values = {"Calc": {k: v for k, v in VALUES["Calc"].items() if k not in ("B2", "C2")}}
    rep = write_cached_values(path, {**values, "About": {"B2": float("nan")}})
    assert rep.missing == ["Calc!B2", "Calc!C2", "About!B2"]
    assert load_workbook(path, data_only=True)["Calc"]["B2"].value is None


def test_text_overrides_refuse_formula_cells_and_unknown_sheets(tmp_path):
    path = _workbook(tmp_path / "w.xlsx")
    original = path.read_bytes()
    with pytest.raises(ValueError, match=r"About!B2 holds a formula"):
        write_cached_values(path, VALUES, text={"About": {"B2": "x"}})
    with pytest.raises(KeyError, match="Nope"):
        write_cached_values(path, {"Nope": {"A1": 1}})
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.xlsx"]  # no temp file left


def test_a_failed_write_leaves_the_workbook_untouched(tmp_path, monkeypatch):
    path = _workbook(tmp_path / "w.xlsx")
    original = path.read_bytes()

    def boom(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(zipfile.ZipFile, "writestr", boom)
    with pytest.raises(KeyboardInterrupt):
        write_cached_values(path, VALUES)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.xlsx"]


def test_full_calc_on_load_is_set_whatever_calcpr_says():
    for names in ("<definedNames/>", "<definedNames><definedName/></definedNames>", ""):
        fixed = _full_calc_on_load(f"<workbook><sheets/>{names}</workbook>")
        assert fixed == f'<workbook><sheets/>{names}<calcPr fullCalcOnLoad="1"/></workbook>'

    fixed = _full_calc_on_load('<workbook><calcPr calcId="1" fullCalcOnLoad="0"/></workbook>')
    assert fixed == '<workbook><calcPr fullCalcOnLoad="1" calcId="1"/></workbook>'


@needs_lo
def test_libreoffice_recalculates_a_cached_workbook_to_the_same_values(tmp_path):
    path = _workbook(tmp_path / "w.xlsx")
    with recalculated(path) as copy:
        fresh = read_cell_values(copy)
    write_cached_values(path, fresh)
    assert read_cell_values(path)["Calc"] == {
        k: fresh["Calc"][k] for k in read_cell_values(path)["Calc"]
    }
    with recalculated(path) as copy:
        again = read_cell_values(copy)
    assert again == fresh
    errors = {c for c, v in again["Calc"].items() if isinstance(v, CellError)}
    assert errors == {"B5", "B6"}  # the two errors the workbook asks for, nothing else


# ---------------------------------------------------------------- recalculation


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """tempfile's folder for this test only: what is left in it was left by the code."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@needs_lo
def test_recalculation_and_pdf_export_leave_no_temporary_folder(tmp_path, private_tmp):
    path = _workbook(tmp_path / "w.xlsx")
    with recalculated(path) as copy:
        assert copy.exists() and list(private_tmp.iterdir())
    assert recalculate(path, tmp_path / "r.xlsx") == tmp_path / "r.xlsx"
    pdf = export_pdf(path, tmp_path / "w.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    with pytest.raises(RecalcError, match="did not finish"), recalculated(path, timeout=0.01):
        pass
    assert list(private_tmp.iterdir()) == []


@needs_lo
def test_recalculate_without_out_cleans_up_when_the_process_exits(tmp_path):
    path = _workbook(tmp_path / "w.xlsx")
    folder = tmp_path / "tmp"
    folder.mkdir()
    code = f"from workbooks.recalc import recalculate; print(recalculate({str(path)!r}))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TMPDIR": str(folder)},
    )
    assert Path(out.stdout.strip()).is_relative_to(folder)
    assert list(folder.iterdir()) == []


@needs_lo
def test_recalc_command_line(tmp_path):
    path = _workbook(tmp_path / "w.xlsx")
    run = subprocess.run(
        [sys.executable, "-m", "workbooks.recalc", str(path)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    out = tmp_path / "w.recalculated.xlsx"
    assert run.stdout.strip() == str(out)
    assert read_cell_values(out)["Calc"]["B1"] == 4
    missing = subprocess.run(
        [sys.executable, "-m", "workbooks.recalc", str(tmp_path / "none.xlsx")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2


def test_recalc_command_line_without_libreoffice_exits_3(tmp_path, monkeypatch, capsys):
    from workbooks import recalc

    monkeypatch.setattr(recalc, "soffice_path", lambda: None)
    assert recalc.main([str(tmp_path / "w.xlsx")]) == 3
    assert "not installed" in capsys.readouterr().err


# ---------------------------------------------------------------- verify


def _mini_report(path: Path, checks: list[tuple[str, str]], data: dict[str, object]) -> Path:
    """A workbook laid out as a report where verify reads it: the master check at
    MASTER_CHECK_CELL, and a Checks sheet (title, header row, one row per check, the master
    row) whose header sits one row lower than the real one (read by labels, not rows)."""
    wb = Workbook()
    about = wb.active
    assert about is not None
    about.title = "About"
    sheet = wb.create_sheet("Data")
    for ref, v in data.items():
        sheet[ref] = v
    ws = wb.create_sheet("Checks")
    ws["A1"] = "Reconciliation"
    ws.append([])
    ws.append(["Check", "Where", "Passes"])
    first = ws.max_row + 1
    for label, formula in checks:
        ws.append([label, "Data", formula])
        # as the report formats checks: LibreOffice then stores TRUE as the number 1
        ws.cell(row=ws.max_row, column=3).number_format = '"TRUE";"TRUE";"FALSE"'
    ws.append(["A heading, not a check"])
    ws.append(["Master check (all pass)", None, f"=AND(C{first}:C{ws.max_row - 1})"])
    master_sheet, master_cell = MASTER_CHECK_CELL.split("!")
    assert master_sheet == "About"
    about[master_cell] = f"=Checks!C{ws.max_row}"
    wb.save(path)
    return path


def test_checks_are_read_by_their_header_and_labels():
    values = {
        "A5": "Check",
        "B5": "Where",
        "C5": "Passes",
        "A6": "first",
        "B6": "Data!B1",
        "C6": 1,  # LibreOffice's TRUE in a cell with a number format
        "A7": "section heading",
        "A8": "re-run needed if FALSE: StateRisk (Weights)",
        "C8": False,
        "A10": "Master check (all pass)",
        "C10": False,
    }
    checks, problems = read_checks(values)
    assert problems == []
    assert [(c.label, c.where, c.passes) for c in checks] == [
        ("first", "Data!B1", True),
        ("re-run needed if FALSE: StateRisk (Weights)", "Checks!C8", False),
    ]
    assert read_checks({"A1": "Label", "C1": "Passes"})[1]  # no header: a problem, not a crash


@needs_lo
def test_verify_passes_a_report_whose_checks_all_hold(tmp_path, capsys):
    path = _mini_report(
        tmp_path / "ok.xlsx",
        [("Sum matches", "=Data!A3=Data!A1+Data!A2")],
        {
            "A1": 1,
            "A2": 2,
            "A3": "=A1+A2",
        },
    )
    assert cli.main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("verified: all 1 checks hold, master check TRUE, 0 error cells")


@needs_lo
def test_verify_lists_failing_and_stale_checks_and_error_cells(tmp_path, capsys):
    path = _mini_report(
        tmp_path / "bad.xlsx",
        [
            ("Sum matches", "=Data!A3=Data!A1+Data!A2"),
            ("Ratio matches", "=Data!A4=1"),
            ("re-run needed if FALSE: StateRisk (Weights)", "=Data!A1=5"),
        ],
        {"A1": 1, "A2": 2, "A3": "=A1+A2", "A4": "=A1/0"},
    )
    assert cli.main(["verify", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(
        "NOT VERIFIED: 2 of 3 checks fail (1 of them: re-run needed), master check #DIV/0!, "
        "4 error cells (About 1, Data 1, Checks 2)"
    )
    assert lines[1:3] == [  # the stale block first: it explains the rest
        "  re-run needed if FALSE: StateRisk (Weights) [Data] = FALSE",
        "  failing: Ratio matches [Data] = #DIV/0!",
    ]
    assert "  error cell: Data!A4 #DIV/0!" in lines


@needs_lo
def test_verify_refuses_a_workbook_that_is_not_a_report(tmp_path, capsys):
    wb = Workbook()
    wb.save(tmp_path / "plain.xlsx")
    assert cli.main(["verify", str(tmp_path / "plain.xlsx")]) == 1
    assert "no About sheet" in capsys.readouterr().out


def test_verify_exit_codes_without_libreoffice_or_file(tmp_path, monkeypatch, capsys):
    from workbooks import recalc

    assert cli.main(["verify", str(tmp_path / "none.xlsx")]) == (2 if soffice_path() else 3)
    monkeypatch.setattr(recalc, "soffice_path", lambda: None)
    assert cli.main(["verify", str(tmp_path / "none.xlsx")]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "LibreOffice not found: cannot recalculate, nothing verified"


# ---------------------------------------------------------------- report


@pytest.fixture(scope="module")
def small_config(tmp_path_factory) -> Path:
    """Two assets, 2009-2012, from a CSV file: a report built in about two seconds."""
    from engine.data import align_prices, load_sample_prices

    folder = tmp_path_factory.mktemp("cfg")
    prices, _ = align_prices(load_sample_prices(["SP500", "GOLD"], "2009-01-01", "2012-12-31"))
    prices.to_csv(folder / "p.csv")
    path = folder / "small.toml"
    path.write_text(
        f'[data]\nsource = "csv"\npath = "{(folder / "p.csv").as_posix()}"\n'
        'columns = ["SP500", "GOLD"]\n[portfolio]\nweights = [0.6, 0.4]\n'
        "[backtest]\nwindow = 252\n"
    )
    return path


def test_report_without_libreoffice_says_so_and_leaves_about_as_built(
    small_config, tmp_path, monkeypatch, capsys
):
    from workbooks import recalc

    monkeypatch.setattr(recalc, "soffice_path", lambda: None)
    out = tmp_path / "r.xlsx"
    assert cli.main(["report", "--config", str(small_config), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "LibreOffice not found: the report was not independently recalculated\n" in printed
    for step in ("load data", "fit regimes", "risk:", "backtest:", "workbook:"):
        assert f"s] {step}" in printed
    sheet, cell = VERIFICATION_CELL.split("!")
    assert load_workbook(out, read_only=True)[sheet][cell].value == NOT_VERIFIED
    assert cli.main(["report", "--config", str(small_config), "--out", str(out), "--pdf"]) == 3


@pytest.mark.slow
@needs_lo
def test_report_is_verified_and_carries_cached_values(small_config, tmp_path, capsys):
    from workbooks.recalc import read_formulas

    out = tmp_path / "r.xlsx"
    code = cli.main(["report", "--config", str(small_config), "--out", str(out), "--pdf"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "verification: recalculating in LibreOffice" in printed
    assert "\nverified: all " in printed
    assert out.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    sheet, cell = VERIFICATION_CELL.split("!")
    cached = read_cell_values(out)
    assert cached[sheet][cell].startswith("recalculated by LibreOffice ")
    assert cached[sheet][cell].endswith("UTC: all " + printed.split("all ")[1].split(" (")[0])
    formulas = read_formulas(out)
    assert sum(map(len, formulas.values())) > 10_000
    without = [f"{s}!{c}" for s, cells in formulas.items() for c in cells if c not in cached[s]]
    assert without == []  # every formula cell carries its value
    ms, mc = MASTER_CHECK_CELL.split("!")
    master = load_workbook(out, read_only=True, data_only=True)[ms][mc].value
    assert holds(master)  # TRUE, or 1 as LibreOffice stores it under a number format
    plain = tmp_path / "plain.xlsx"
    assert (
        cli.main(["report", "--config", str(small_config), "--out", str(plain), "--no-verify"]) == 0
    )
    assert read_formulas(plain) == formulas  # the same formulas as an unverified build
    assert cli.main(["verify", str(out)]) == 0  # and the cached file recalculates cleanly


@needs_lo
def test_report_exits_1_naming_each_failing_check(small_config, tmp_path, monkeypatch, capsys):
    from workbooks import verify
    from workbooks.verify import Check

    real = verify.verify_workbook

    def one_check_fails(path, timeout=600):
        v = real(path, timeout)
        v.checks[1] = Check("StateRisk Calm: CVaR", "StateRisk!S4", False)
        v.master = False
        return v

    monkeypatch.setattr(verify, "verify_workbook", one_check_fails)
    out = tmp_path / "r.xlsx"
    assert cli.main(["report", "--config", str(small_config), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "  failing: StateRisk Calm: CVaR [StateRisk!S4] = FALSE" in printed
    sheet, cell = VERIFICATION_CELL.split("!")
    about = read_cell_values(out, [sheet])[sheet][cell]
    assert "1 of " in about and "checks fail, master check FALSE" in about  # file still written


def test_report_exits_4_when_libreoffice_fails_and_leaves_about_as_built(
    small_config, tmp_path, monkeypatch, capsys
):
    from workbooks import recalc, verify

    def crash(path, timeout=600):
        raise RecalcError("LibreOffice produced no xlsx for r.xlsx: crashed")

    monkeypatch.setattr(recalc, "soffice_path", lambda: "/usr/bin/soffice")
    monkeypatch.setattr(verify, "verify_workbook", crash)
    out = tmp_path / "r.xlsx"
    assert cli.main(["report", "--config", str(small_config), "--out", str(out)]) == 4
    assert "crashed; the report was not independently recalculated" in capsys.readouterr().err
    sheet, cell = VERIFICATION_CELL.split("!")
    assert load_workbook(out, read_only=True)[sheet][cell].value == NOT_VERIFIED
