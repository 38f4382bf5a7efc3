from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from openpyxl import load_workbook

from engine.config import load_config, parse_config
from engine.errors import InputError
from engine.pipeline import run_analysis
from workbooks.cli import main as cli_main
from workbooks.recalc import read_formulas, read_values, recalculate, soffice_path
from workbooks.report import MASTER_CHECK_CELL, SHEETS, STATE_RISK_FIRST_ROW, build_report

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "templates" / "report_default.toml"


@pytest.fixture(scope="module")
def analysis():
    return run_analysis(load_config(DEFAULT))


@pytest.fixture(scope="module")
def report(analysis, tmp_path_factory):
    return build_report(analysis, tmp_path_factory.mktemp("rep") / "report.xlsx")


@pytest.fixture(scope="module")
def report_wb(report):
    """The report loaded once (about 2.5 s) for the tests that only read it: do not modify."""
    return load_workbook(report)


@pytest.fixture(scope="module")
def formulas(report):
    """{sheet: {"A1": "=..."}}: every formula of the report, read once: do not modify."""
    return read_formulas(report)


@dataclass
class FormulaScan:
    """What the formula tests look for, from one tokenizing pass over every formula."""

    hard_coded: list[str] = field(default_factory=list)  # "Sheet!A1: formula" (numbers not 0/1)
    functions: dict[str, str] = field(default_factory=dict)  # name -> first "Sheet!A1" calling it


@pytest.fixture(scope="module")
def formula_scan(formulas):
    """Tokenizing the report's formulas takes seconds: done once for the tests that need it."""
    from openpyxl.formula.tokenizer import Token, Tokenizer

    scan = FormulaScan()
    for sheet, cells in formulas.items():
        for ref, f in cells.items():
            for t in Tokenizer(f).items:
                if t.type == Token.OPERAND and t.subtype == Token.NUMBER:
                    if t.value not in ("0", "1"):
                        scan.hard_coded.append(f"{sheet}!{ref}: {f}")
                elif t.type == Token.FUNC and t.subtype == Token.OPEN:
                    scan.functions.setdefault(t.value[:-1], f"{sheet}!{ref}")
    return scan


@pytest.fixture(scope="module")
def small_analysis(tmp_path_factory):
    """Two assets, 2005-2010, from a CSV whose asset names look like a formula and a mention."""
    from engine.data import load_sample_prices

    folder = tmp_path_factory.mktemp("csv")
    prices = load_sample_prices(["SP500", "GOLD"], "2005-01-01", "2010-12-31").dropna()
    prices.columns = ["=HYPERLINK(1)", "@GOLD"]
    prices.index.name = "Date"
    prices.to_csv(folder / "p.csv")
    cfg = parse_config(
        f'[data]\nsource = "csv"\npath = "{folder / "p.csv"}"\n'
        'columns = ["=HYPERLINK(1)", "@GOLD"]\n'
    )
    return run_analysis(cfg)


DETECTOR_DATA = '[data]\ncolumns = ["SP500", "GOLD"]\nstart = "2004-01-01"\nend = "2012-12-31"\n'
# The jump run also configures a penalty and a feature pipeline, so that one fit (about 15 s)
# serves both the report build and test_feature_pipeline_and_penalty_come_from_configuration.
DETECTOR_SETTINGS = {
    "jump": (
        "jump_penalty = 20\n"
        'features = [{name = "ewm_log_vol", halflife = 5}, {name = "ewm_sortino", halflife = 20}]\n'
    ),
    "markov_switching": "",
    "supervised": "",
}


@pytest.fixture(scope="module")
def detector_analysis():
    """run_analysis for a detector method on DETECTOR_DATA, each method run once per module."""
    runs = {}

    def run(method):
        if method not in runs:
            text = f'{DETECTOR_DATA}[regimes]\nmethod = "{method}"\n{DETECTOR_SETTINGS[method]}'
            runs[method] = run_analysis(parse_config(text))
        return runs[method]

    return run


def test_report_has_the_sheets_and_named_inputs(report_wb):
    wb = report_wb
    assert tuple(wb.sheetnames) == SHEETS
    names = set(wb.defined_names.keys())
    assert {"Confidence", "PeriodsPerYear", "Tolerance", "Weights", "NStates", "Seed"} <= names
    assert wb.defined_names["Confidence"].attr_text.startswith("Assumptions!$B$")
    assert wb["Regimes"]._charts and wb["StateRisk"]._charts


def test_state_volatility_and_cvar_are_formulas_with_engine_values_beside(report_wb, analysis):
    ws = report_wb["StateRisk"]
    for s, label in enumerate(analysis.regimes.labels):
        r = STATE_RISK_FIRST_ROW + s
        assert ws[f"A{r}"].value == label
        # volatility and CVaR: the estimator, or "" where the state has too few days
        assert ws[f"I{r}"].value.startswith(f"=IF(B{r}>1,STDEV(Regimes!")
        assert ws[f"Q{r}"].value.startswith(f"=IF(AND(B{r}>1,L{r}>=1-Tolerance),-(SUMPRODUCT(")
        # openpyxl writes floats as %.16g: equal to the engine's double within 1e-15
        row = analysis.state_risk.loc[label]
        assert ws[f"J{r}"].value == pytest.approx(row["Volatility (ann.)"], rel=1e-15)
        assert ws[f"R{r}"].value == pytest.approx(row["CVaR"], rel=1e-15)


def test_no_number_is_hard_coded_in_a_formula(formula_scan):
    assert not formula_scan.hard_coded, formula_scan.hard_coded[:5]


@pytest.mark.slow
def test_recalculated_report_matches_the_engine(report, analysis, formulas):
    """LibreOffice recalculates every formula; values must equal the engine's to 1e-9."""
    if soffice_path() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice is required under CI=true (.ci/run installs it)")
        pytest.skip(
            "LIBREOFFICE NOT INSTALLED: recalculation check NOT RUN "
            "(apt-get install libreoffice-calc-nogui)"
        )
    values = read_values(recalculate(report))
    n = 0
    for sheet, cells in formulas.items():
        for ref in cells:
            v = values[sheet].get(ref)
            assert not (isinstance(v, str) and v.startswith("#")), f"{sheet}!{ref} = {v}"
            n += 1
    assert n > 40_000
    sr = values["StateRisk"]
    for r in (STATE_RISK_FIRST_ROW, STATE_RISK_FIRST_ROW + 1):
        for formula_col, engine_col in (("B", "C"), ("F", "G"), ("I", "J"), ("M", "N"), ("Q", "R")):
            assert math.isclose(sr[f"{formula_col}{r}"], sr[f"{engine_col}{r}"], rel_tol=1e-9)
    sheet, cell = MASTER_CHECK_CELL.split("!")
    assert values[sheet][cell] is True
    checks = values["Checks"]
    passes = [v for k, v in checks.items() if k.startswith("C") and isinstance(v, bool)]
    assert len(passes) > 50 and all(passes)
    # formula cells without an in-workbook twin, against the engine directly
    res = analysis
    data = values["Data"]
    n_assets = res.returns.shape[1]
    for i in (0, 1000, len(res.returns) - 1):
        row = 3 + i
        for j in range(n_assets):
            got = data[f"{chr(ord('B') + n_assets + j)}{row}"]
            assert math.isclose(got, res.returns.iat[i, j], rel_tol=1e-9, abs_tol=1e-15)
        port = data[f"{chr(ord('B') + 2 * n_assets)}{row}"]
        assert math.isclose(port, res.portfolio.iat[i], rel_tol=1e-9, abs_tol=1e-15)
        label = values["Regimes"][f"{chr(ord('B') + res.regimes.n_states)}{2 + i}"]
        assert label == res.regimes.labels[res.regimes.states[i]]


def test_asset_names_that_look_like_formulas_stay_text(small_analysis, tmp_path):
    import pandas as pd

    out = build_report(small_analysis, tmp_path / "r.xlsx")
    wb = load_workbook(out, read_only=True)  # parses only the sheet read
    b1 = wb["Data"]["B1"]
    assert b1.data_type == "s" and b1.value == "=HYPERLINK(1) price"
    wb.close()
    assert isinstance(pd.read_excel(out, sheet_name="Assumptions"), pd.DataFrame)


def test_interrupted_write_leaves_no_partial_file(small_analysis, tmp_path, monkeypatch):
    from openpyxl import Workbook

    target = tmp_path / "r.xlsx"
    target.write_bytes(b"previous report")

    def boom(self, filename):
        Path(filename).write_bytes(b"half a workbook")
        raise KeyboardInterrupt

    monkeypatch.setattr(Workbook, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        build_report(small_analysis, target)
    assert target.read_bytes() == b"previous report"
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[data]\ncolumns = ["SP500"]\n[portfolio]\nweights = [0.5, 0.5]\n', "portfolio.weights"),
        ("[risk]\nconfidence = 95\n", "risk.confidence"),
        ("[risk]\nconfidnce = 0.95\n", "risk.confidnce"),
        ("[regimes]\nn_states = 9\n", "regimes.n_states"),
        ('[data]\nsource = "csv"\n', "data.path"),
        ("[nope]\n", "nope"),
        ('[regimes]\nmethod = "oracle"\n', "regimes.method"),
        ("[risk\n", "config"),
    ],
)
def test_config_errors_name_the_key(text, key):
    with pytest.raises(InputError) as err:
        parse_config(text)
    assert err.value.argument == key


def test_cli_reports_config_errors_with_exit_code_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[risk]\nconfidence = 2\n")
    assert cli_main(["report", "--config", str(bad), "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "risk.confidence" in capsys.readouterr().err
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["jump", "markov_switching", "supervised"])
def test_report_builds_for_other_detectors(method, detector_analysis, tmp_path):
    out = build_report(detector_analysis(method), tmp_path / "r.xlsx")
    wb = load_workbook(out, read_only=True)  # parses only the two sheets read
    lineage = {
        r[0]: r[1] for r in wb["Lineage"].iter_rows(min_row=3, max_col=2, values_only=True) if r[0]
    }
    state = wb["StateRisk"]["A4"].value
    wb.close()
    assert lineage["Detector"].startswith(method)
    assert state == "Calm"
    if soffice_path() is None and os.environ.get("CI") != "true":
        pytest.skip("LIBREOFFICE NOT INSTALLED: recalculation check NOT RUN")
    values = read_values(recalculate(out), sheets=["About"])
    sheet, cell = MASTER_CHECK_CELL.split("!")
    assert values[sheet][cell] is True  # warm-up rows (no probabilities) recalculate cleanly


@pytest.mark.slow
def test_feature_pipeline_and_penalty_come_from_configuration(detector_analysis):
    det = detector_analysis("jump").regimes.detector  # configured in DETECTOR_SETTINGS
    assert det.jump_penalty == 20.0
    assert [f.label for f in det.features] == ["ewm_log_vol_5", "ewm_sortino_20"]
    with pytest.raises(InputError) as err:
        parse_config('[regimes]\nfeatures = [{name = "astrology"}]\n')
    assert err.value.argument == "regimes.features[0].name"  # the full key, as in the file


def test_functions_after_excel_2007_carry_the_xlfn_prefix(formula_scan):
    from openpyxl.utils import FORMULAE

    for name, where in formula_scan.functions.items():
        assert name in FORMULAE or name.startswith("_xlfn."), f"{where}: {name}"
    assert {"_xlfn.CHISQ.DIST.RT", "_xlfn.BINOM.DIST", "_xlfn.NORM.S.INV", "SUMPRODUCT"} <= set(
        formula_scan.functions
    )


def test_one_consistent_formula_down_each_time_series_column(formulas):
    from openpyxl.formula.translate import Translator
    from openpyxl.utils.cell import coordinate_from_string

    checked = 0
    for sheet in ("Data", "Regimes", "VaRBacktest"):
        by_col: dict[str, list[tuple[int, str]]] = {}
        for ref, f in formulas[sheet].items():
            c, r = coordinate_from_string(ref)
            by_col.setdefault(c, []).append((r, f))
        for c, items in by_col.items():
            items.sort()
            if len(items) < 100 or items[1][0] != items[0][0] + 1:
                continue  # a summary block, not a time series
            (r0, f0) = items[0]
            top = Translator(f0, origin=f"{c}{r0}")  # tokenizes f0 once for the whole column
            for r, f in items[1:]:
                if r != r0 + 1:
                    break  # end of the contiguous series
                assert top.translate_formula(f"{c}{r}") == f, f"{sheet}!{c}{r}"
                r0 = r
                checked += 1
    assert checked > 50_000


def test_presentation_inputs_unlocked_sheets_protected_colours(report_wb):
    wb = report_wb
    props = {p.name: p.value for p in wb.custom_doc_props}
    assert props["regime-risk version"] and len(props["input data SHA-256"]) == 64
    assert all(ws.protection.sheet for ws in wb.worksheets)
    conf = wb.defined_names["Confidence"].attr_text.split("!")[1].replace("$", "")
    assert wb["Assumptions"][conf].protection.locked is False
    assert wb["Data"]["B3"].protection.locked is True
    regime_rules = [r for rng in wb["Regimes"].conditional_formatting for r in rng.rules]
    assert any('="Turbulent"' in r.formula[0] for r in regime_rules)
    zone_rules = [r for rng in wb["VaRBacktest"].conditional_formatting for r in rng.rules]
    assert {r.formula[0] for r in zone_rules} == {'"green"', '"yellow"', '"red"'}


def test_every_blue_input_drives_a_formula_and_run_settings_are_not_blue(report_wb, formulas):
    """Each live input (blue, unlocked) is used by a formula on another sheet; the run
    settings (re-run to change) are grey, locked and not styled as inputs."""
    from openpyxl.formula.tokenizer import Tokenizer

    from workbooks.report.layout import INPUT_FONT

    wb = report_wb
    used: set[str] = set()
    for sheet, cells in formulas.items():
        if sheet == "Assumptions":
            continue
        for f in cells.values():
            used |= {t.value for t in Tokenizer(f).items if t.type == "OPERAND"}
    blue, grey = [], []
    for name, dn in wb.defined_names.items():
        sheet, ref = dn.attr_text.split("!")
        if sheet != "Assumptions":
            continue
        cell = wb[sheet][ref.replace("$", "").split(":")[0]]
        (
            blue
            if cell.font.color is not None and cell.font.color.rgb == INPUT_FONT.color.rgb
            else grey
        ).append((name, cell))
    assert {n for n, _ in blue} >= {"Confidence", "Weights", "CostBps", "ReturnMethod"}
    for name, cell in blue:
        assert name in used, f"{name} is styled as an input but no formula uses it"
        assert cell.protection.locked is False
    assert {n for n, _ in grey} >= {"NStates", "Method", "Seed", "MaxWeight", "Rebalance"}
    for name, cell in grey:
        assert cell.protection.locked is True, name


def test_full_example_configuration_parses_and_names_every_key():
    from dataclasses import fields

    from engine.config import RunConfig

    path = ROOT / "templates" / "report_full_example.toml"
    cfg = load_config(path)
    text = path.read_text()
    for section in fields(RunConfig):
        if section.name == "source_text":
            continue
        assert f"[{section.name}]" in text
        for f in fields(getattr(cfg, section.name)):
            assert f"{f.name} =" in text, f"{section.name}.{f.name} missing from the full example"
