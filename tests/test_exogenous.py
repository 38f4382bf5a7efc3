"""Exogenous series (VIX, rates, spreads) in every feature detector: alignment with publication
lags, causality (truncating or altering the future never changes the past), errors that name
the series and the dates."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from engine.data import align_exogenous, simulate_regime_returns, simulate_state_indicator
from engine.errors import InputError
from engine.features import VOLATILITY_FEATURES, FeatureSpec, parse_feature_specs
from engine.regimes import DETECTORS, design_matrix, fit_regimes, hard_states
from engine.regimes.walkforward import walk_forward

FEATURE_METHODS = ["hmm", "jump", "gmm", "kmeans", "supervised", "neural"]
WITH_VIX = (*VOLATILITY_FEATURES, FeatureSpec("level", series="VIX"))
FAST = {"hmm": {"n_init": 2}, "jump": {"n_init": 3}, "gmm": {"n_init": 1}, "kmeans": {"n_init": 3}}


def make(method: str, features=WITH_VIX, exogenous=("VIX",)):
    return DETECTORS[method](
        n_states=2, random_state=0, features=features, exogenous=exogenous, **FAST.get(method, {})
    )


@pytest.fixture(scope="module")
def sim():
    s = simulate_regime_returns(700, vols=np.array([0.006, 0.025]), n_assets=2, seed=5)
    vix = simulate_state_indicator(s.states, seed=5)
    return s, vix


@pytest.fixture(scope="module")
def design(sim):
    s, vix = sim
    return design_matrix(s.returns, vix.to_frame())


# -- causality ----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", FEATURE_METHODS)
def test_exogenous_detector_is_causal(method, design):
    """Altering every row after t (returns and VIX) leaves every probability up to t unchanged;
    so does cutting the rows after t off."""
    X = design.to_numpy()
    det = make(method).fit(X)
    base = det.predict_proba_filtered(X)
    assert np.isfinite(base[-1]).all()
    rng = np.random.default_rng(0)
    for cut in (40, 333, 650):
        Y = X.copy()
        Y[cut:] = rng.permutation(Y[cut:]) * 2.5
        np.testing.assert_array_equal(det.predict_proba_filtered(Y)[:cut], base[:cut])
        np.testing.assert_array_equal(det.predict_proba_filtered(X[:cut]), base[:cut])


@pytest.mark.parametrize("method", ["hmm", "jump"])
@pytest.mark.parametrize("cut", [360, 512, 699])
def test_exogenous_walk_forward_prefix_equals_full(method, cut, design):
    def run(frame: pd.DataFrame) -> np.ndarray:
        return walk_forward(
            frame, lambda: make(method), train_window=300, refit_every=60, min_train=300
        ).probabilities.to_numpy()

    np.testing.assert_array_equal(run(design.iloc[: cut + 1]), run(design)[: cut + 1])


def test_the_exogenous_series_changes_the_fit_and_only_the_returns_order_states(sim, design):
    s, vix = sim
    with_vix = fit_regimes(s.returns, 2, "gmm", exogenous=vix.to_frame(), features=WITH_VIX)
    without = fit_regimes(s.returns, 2, "gmm", features=VOLATILITY_FEATURES)
    assert with_vix.exogenous is not None and list(with_vix.design.columns) == [*s.returns, "VIX"]
    assert not np.allclose(with_vix.filtered.to_numpy(), without.filtered.to_numpy(), 1e-6)
    # states ordered by the returns' volatility: Calm is the low-VIX state
    states = with_vix.states
    assert vix[states == 0].mean() < vix[states == 1].mean()
    shifted = fit_regimes(s.returns, 2, "gmm", exogenous=vix.to_frame() + 1.0, features=WITH_VIX)
    assert shifted is not with_vix  # the cache key includes the exogenous values


# -- errors -------------------------------------------------------------------------------------
def test_exogenous_errors_name_the_series(sim, design):
    s, vix = sim
    X = design.to_numpy()
    with pytest.raises(InputError, match="'VIX' is given but no feature reads it"):
        make("jump", features=VOLATILITY_FEATURES).fit(X)
    with pytest.raises(InputError, match="'TNX' named by a feature but not given"):
        make("jump", features=(*WITH_VIX, FeatureSpec("change", 5, "TNX"))).fit(X)
    flat = X.copy()
    flat[:, -1] = 20.0
    with pytest.raises(InputError, match="exogenous series 'VIX' is constant"):
        make("kmeans").fit(flat)
    with pytest.raises(InputError, match="markov_switching does not take"):
        fit_regimes(s.returns, 2, "markov_switching", exogenous=vix.to_frame())
    with pytest.raises(InputError, match="is given but no feature reads it"):
        fit_regimes(s.returns, 2, "hmm", exogenous=vix.to_frame())  # hmm on returns
    with pytest.raises(InputError, match="aligned to the returns' dates"):
        fit_regimes(s.returns, 2, "jump", exogenous=vix.iloc[1:].to_frame(), features=WITH_VIX)
    neg = (vix - 100.0).to_frame()
    with pytest.raises(InputError, match="a log change needs positive levels"):
        fit_regimes(
            s.returns, 2, "gmm", exogenous=neg, features=[FeatureSpec("log_change", 1, "VIX")]
        )


def test_feature_specs_from_configuration():
    specs = parse_feature_specs(
        [
            {"name": "ewm_log_vol", "halflife": 3},
            {"name": "level", "series": "VIX"},
            {"name": "change", "series": "TNX", "periods": 5},
            {"name": "log_change", "series": "VIX"},
        ]
    )
    assert [s.label for s in specs] == [
        "ewm_log_vol_3",
        "level_VIX",
        "change_5_TNX",
        "log_change_VIX",
    ]
    with pytest.raises(InputError, match=r"features\[0\].series"):
        parse_feature_specs([{"name": "level"}])
    with pytest.raises(InputError, match="must be a number"):
        parse_feature_specs([{"name": "change", "series": "TNX", "periods": "five"}])


# -- alignment ----------------------------------------------------------------------------------
DATES = pd.bdate_range("2020-01-01", "2020-12-31")


def test_daily_series_as_of_each_return_date():
    raw = pd.DataFrame({"VIX": np.arange(len(DATES), dtype=float) + 10}, index=DATES)
    raw = raw.drop(DATES[[10, 11]])  # two missing days: the value before is used
    out, report = align_exogenous(raw, DATES)
    assert out.index.equals(DATES)
    assert out["VIX"].iloc[10] == out["VIX"].iloc[11] == raw["VIX"].loc[DATES[9]]
    assert report.rows[0]["carried"] == 2 and report.rows[0]["frequency"] == "daily"


def test_publication_lag_shifts_a_monthly_series():
    """A monthly figure dated at month start and published 30 days later is used from then on:
    truncating the raw series after t never changes what was known at t."""
    months = pd.date_range("2019-11-01", "2021-01-01", freq="MS")
    raw = pd.DataFrame({"CPI": np.arange(len(months), dtype=float) + 100}, index=months)
    out, report = align_exogenous(raw, DATES, lags={"CPI": 35})
    # on 2020-03-02 (before 2020-02-01 + 35 days = 2020-03-07) February is not yet known
    assert out.loc["2020-03-02", "CPI"] == raw.loc["2020-01-01", "CPI"]
    assert out.loc["2020-03-09", "CPI"] == raw.loc["2020-02-01", "CPI"]
    assert report.warnings == []
    for cut in ("2020-04-15", "2020-08-03"):
        part, _ = align_exogenous(
            raw[raw.index <= pd.Timestamp(cut)], DATES[cut >= DATES], {"CPI": 35}
        )
        pd.testing.assert_frame_equal(part, out.loc[:cut])


def test_a_lag_shorter_than_the_spacing_warns():
    months = pd.date_range("2019-11-01", "2021-01-01", freq="MS")
    raw = pd.DataFrame({"CPI": np.arange(len(months), dtype=float)}, index=months)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, report = align_exogenous(raw, DATES, lags={"CPI": 5})
    assert len(report.warnings) == 1 and "publication lag is 5 days" in report.warnings[0]
    assert any("check the lag" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (
            pd.DataFrame({"VIX": 1.0 + np.arange(200.0)}, index=DATES[50:250]),
            "is known from 2020-03-11",
        ),
        (pd.DataFrame({"VIX": 1.0 + np.arange(100.0)}, index=DATES[:100]), "ends on 2020-05-19"),
        (
            pd.DataFrame({"VIX": (["12.5", "n/a"] * len(DATES))[: len(DATES)]}, index=DATES),
            r"'VIX' holds text \('n/a'\) on 2020-01-02",
        ),
        (pd.DataFrame({"VIX": np.full(len(DATES), 20.0)}, index=DATES), "'VIX' is constant"),
        (
            pd.DataFrame({"VIX": np.arange(len(DATES), dtype=float)}, index=DATES).drop(
                DATES[100:120]
            ),
            r"'VIX' has no value within 7 days before 15 return dates, first 2020-05-\d\d",
        ),
    ],
)
def test_alignment_errors_name_the_series_and_the_dates(raw, match):
    with pytest.raises(InputError, match=match):
        align_exogenous(raw, DATES)


def test_exogenous_detector_is_bit_identical_run_to_run(design):
    X = design.to_numpy()
    a = make("jump").fit(X).predict_proba_filtered(X)
    b = make("jump").fit(X).predict_proba_filtered(X)
    np.testing.assert_array_equal(a, b)
    assert hard_states(a).min() >= -1


# -- configuration and the report pipeline -------------------------------------------------------
BASE = '[data]\ncolumns = ["SP500", "GOLD"]\nstart = "2008-01-01"\nend = "2012-12-31"\n'


def _vix_csv(tmp_path, start="2007-06-01", end="2013-03-01"):
    dates = pd.bdate_range(start, end)
    states = pd.Series((np.sin(np.arange(len(dates)) / 40.0) > 0.6).astype(int), index=dates)
    vix = simulate_state_indicator(states, seed=1).to_numpy()
    path = tmp_path / "vix.csv"
    pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "VIX": vix}).to_csv(path, index=False)
    return path


def _exo(path, **extra):
    items = {"source": "csv", "path": str(path), "columns": ["VIX"], **extra}
    body = ", ".join(
        f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in items.items()
    )
    return f"exogenous = [{{{body}}}]\n".replace("'", '"')


FEATS = (
    '[regimes]\nmethod = "jump"\nfeatures = [{name = "ewm_log_vol", halflife = 3}, '
    '{name = "level", series = "VIX"}, {name = "change", series = "VIX", periods = 5}]\n'
)


def test_configuration_accepts_exogenous_series_and_features(tmp_path):
    from engine.config import parse_config

    cfg = parse_config(BASE + _exo(_vix_csv(tmp_path), lag_days=1) + FEATS)
    assert cfg.data.exogenous_columns() == ("VIX",)
    labels = [s.label for s in cfg.regimes.detector_params()["features"]]
    assert labels == ["ewm_log_vol_3", "level_VIX", "change_5_VIX"]


@pytest.mark.parametrize(
    ("exo", "regimes", "key", "text"),
    [
        ({"colour": "red"}, FEATS, "data.exogenous[0].colour", "unknown key"),
        ({"lag_days": -1}, FEATS, "data.exogenous[0].lag_days", "0 or more"),
        ({"kind": "mood"}, FEATS, "data.exogenous[0].kind", "must be one of level, price"),
        ({"columns": ["SP500"]}, FEATS, "data.exogenous[0].columns", "also an asset"),
        ({}, '[regimes]\nmethod = "jump"\n', "regimes.features", "no feature reads it"),
        (
            {},
            '[regimes]\nmethod = "jump"\nfeatures = [{name = "level", series = "TNX"}]\n',
            "regimes.features[0].series",
            "name one of [[data.exogenous]] columns (VIX)",
        ),
        ({}, '[regimes]\nmethod = "markov_switching"\n', "data.exogenous", "returns only"),
    ],
)
def test_configuration_errors_name_the_key(tmp_path, exo, regimes, key, text):
    from engine.config import parse_config

    with pytest.raises(InputError) as err:
        parse_config(BASE + _exo(_vix_csv(tmp_path), **exo) + regimes)
    assert err.value.argument == key and text in str(err.value)


@pytest.mark.slow
def test_report_pipeline_reads_exogenous_series(tmp_path):
    """run_analysis with a CSV VIX: the regimes and the walk-forward backtest read it; a series
    ending before the returns is an error naming it."""
    from engine.config import parse_config
    from engine.pipeline import run_analysis

    res = run_analysis(parse_config(BASE + _exo(_vix_csv(tmp_path), lag_days=1) + FEATS))
    assert res.exogenous is not None and list(res.exogenous.columns) == ["VIX"]
    assert res.exogenous.index.equals(res.returns.index)
    assert res.regimes.exogenous is not None and res.exogenous_report is not None
    assert res.exogenous_report.rows[0]["lag_days"] == 1
    assert res.exogenous_sha256 and len(res.exogenous_sha256) == 64
    plain = run_analysis(
        parse_config(
            BASE + '[regimes]\nmethod = "jump"\nfeatures = [{name = "ewm_log_vol", halflife = 3}]\n'
        )
    )
    dyn, dyn_plain = res.comparison.dynamic.nav, plain.comparison.dynamic.nav
    assert dyn.index.equals(dyn_plain.index) and not np.allclose(
        dyn.to_numpy(), dyn_plain.to_numpy()
    )
    with pytest.raises(InputError, match="series 'VIX' ends on 2011-"):
        run_analysis(parse_config(BASE + _exo(_vix_csv(tmp_path, end="2011-06-01")) + FEATS))


def test_the_exogenous_example_configuration_and_sample_series():
    from pathlib import Path

    from engine.config import load_config, parse_config

    root = Path(__file__).resolve().parents[1]
    cfg = load_config(root / "templates" / "report_exogenous_example.toml")
    assert cfg.data.exogenous_columns() == ("VIX", "BAA_AAA")
    assert [e.get("lag_days") for e in cfg.data.exogenous] == [0, 31]
    with pytest.raises(InputError) as err:
        parse_config(
            '[data]\ncolumns = ["SP500"]\nexogenous = [{columns = ["VIXX"]}]\n[regimes]\n'
            'method = "jump"\nfeatures = [{name = "level", series = "VIXX"}]\n'
        )
    assert err.value.argument == "data.exogenous[0].columns"
    assert "not among the bundled level series; available: VIX, UST1M" in str(err.value)
