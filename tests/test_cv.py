from __future__ import annotations

import numpy as np
import pytest

from engine.data import simulate_regime_returns
from engine.errors import InputError
from engine.validation.cv import cross_validate_detector, oos_split, purged_kfold, rolling_origin


def test_purged_kfold_keeps_gaps_around_every_test_block():
    folds = purged_kfold(1000, 5, purge=10, embargo=20)
    tests = np.concatenate([t for _, t in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(1000))  # test blocks tile the series
    for train, test in folds:
        a, b = test[0], test[-1]
        assert not np.intersect1d(train, test).size
        assert not ((train >= a - 10) & (train < a)).any()  # purge
        assert not ((train > b) & (train <= b + 20)).any()  # embargo
    with pytest.raises(InputError, match="n_splits"):
        purged_kfold(15, 5)


@pytest.mark.slow
def test_cross_validation_ranks_jump_penalties():
    sim = simulate_regime_returns(
        3000, vols=np.array([0.006, 0.03]), means=np.array([0.0006, -0.002]), seed=1
    )
    table = cross_validate_detector(
        sim.returns, "jump", [{"jump_penalty": 0.5}, {"jump_penalty": 5.0}], n_splits=4
    )
    assert list(table["jump_penalty"]) == [0.5, 5.0]
    assert table["best"].sum() == 1
    assert table["mean_oos_sharpe"].notna().all()


def test_rolling_origin_and_split():
    r = simulate_regime_returns(1500, seed=2).returns
    table = rolling_origin(
        r, lambda hist, test: {"n_hist": len(hist), "mean": float(test.mean().iloc[0])}, 500, 250
    )
    assert list(table["n_hist"]) == [501, 751, 1001, 1251]
    ins, oos = oos_split(r, 0.2)
    assert len(ins) == 1200 and oos.index[0] > ins.index[-1]
