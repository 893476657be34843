"""PLSpredict: identical folds give seminr's predictions; Q²_predict by hand; refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from scoring.errors import InsufficientDataError, SpecificationError
from scoring.pls import fit_pls
from scoring.pls_predict import fold_of_position
from tests.scoring.test_pls_assess import MOBI, MOBI_MODES, MOBI_PATHS

KW = {"blocks": MOBI, "paths": MOBI_PATHS, "modes": MOBI_MODES, "scheme": "path", "tol": 1e-14}


@pytest.fixture(scope="module")
def mobi(reference_dir: Path) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "extra" / "mobi.csv")


@pytest.fixture(scope="module")
def ours(mobi):
    return fit_pls(mobi, predict_folds=10, seed=5, **KW).prediction


def _named(nm) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(nm.values), columns=list(nm.cols))


def test_matches_seminr_predict_pls_with_identical_folds(mobi, ours):
    """seminr shuffles with default_rng(seed).permutation(n), as fit_pls's first repetition."""
    seminr = pytest.importorskip("seminr")
    from seminr.predict.metrics import item_metrics

    mm = seminr.constructs(
        *[
            seminr.composite(k, v, weights=seminr.mode_B if k in MOBI_MODES else seminr.mode_A)
            for k, v in MOBI.items()
        ]
    )
    sm = seminr.relationships(*[seminr.paths(a, b) for a, b in MOBI_PATHS])
    pred = seminr.predict_pls(seminr.estimate_pls(mobi, mm, sm), no_folds=10, seed=5)
    cols = list(ours.predictions.columns)
    assert_allclose(ours.predictions, _named(pred.items.pls_out_of_sample)[cols], atol=1e-6)
    assert_allclose(ours.lm_predictions, _named(pred.items.lm_out_of_sample)[cols], atol=1e-6)
    met = item_metrics(pred)
    for table, ours_cols in (
        (met.pls_out_of_sample, ("rmse_pls", "mae_pls")),
        (met.lm_out_of_sample, ("rmse_lm", "mae_lm")),
    ):
        ref = pd.DataFrame(
            np.asarray(table.values), index=["RMSE", "MAE"], columns=list(table.cols)
        )
        assert_allclose(ours.items[ours_cols[0]], ref.loc["RMSE", cols], atol=1e-6)
        assert_allclose(ours.items[ours_cols[1]], ref.loc["MAE", cols], atol=1e-6)


def test_q2_predict_by_hand(mobi, ours):
    """1 − SSE(PLS) / SSE(training mean of each fold), with the folds rebuilt here."""
    n = len(mobi)
    fold = np.empty(n, dtype=int)
    fold[np.random.default_rng(5).permutation(n)] = fold_of_position(n, 10)
    for item in ["CUSA1", "CUSL2", "PERV1"]:
        y = mobi[item].to_numpy(dtype=float)
        naive = np.array([y[fold != fold[i]].mean() for i in range(n)])
        sse = ((y - ours.predictions[item].to_numpy()) ** 2).sum()
        assert ours.items.loc[item, "q2_predict"] == pytest.approx(
            1 - sse / ((y - naive) ** 2).sum()
        )
    assert set(ours.items["block"]) == {
        "Expectation",
        "Quality",
        "Value",
        "Satisfaction",
        "Complaints",
        "Loyalty",
    }
    assert (ours.items["pls_better"] == (ours.items["rmse_pls"] < ours.items["rmse_lm"])).all()


@pytest.mark.parametrize(("n", "k"), [(25, 10), (250, 10), (7, 7), (101, 3), (30, 4)])
def test_folds_follow_r_cut(n, k):
    """pandas.cut follows R's cut (equal widths, range widened by 0.1 %, right-closed)."""
    expected = pd.cut(np.arange(1, n + 1), bins=k, labels=False)
    assert fold_of_position(n, k).tolist() == list(expected)


def test_repeats_average_and_are_seeded(mobi, ours):
    two = fit_pls(mobi, predict_folds=10, predict_repeats=2, seed=5, **KW).prediction
    again = fit_pls(mobi, predict_folds=10, predict_repeats=2, seed=5, **KW).prediction
    assert two.repeats == 2
    assert_allclose(two.items["rmse_pls"], again.items["rmse_pls"])
    # the first repetition is the one-repetition run: the average moves, but not far
    assert not np.allclose(two.items["rmse_pls"], ours.items["rmse_pls"])
    assert_allclose(two.items["rmse_pls"], ours.items["rmse_pls"], rtol=0.05)


def test_refuses_what_it_cannot_compute(mobi):
    with pytest.raises(SpecificationError, match="at least 2"):
        fit_pls(mobi, predict_folds=1, **KW)
    with pytest.raises(SpecificationError, match="positive integer"):
        fit_pls(mobi, predict_folds=5, predict_repeats=0, **KW)
    with pytest.raises(InsufficientDataError, match="exceeds the 250 usable rows"):
        fit_pls(mobi, predict_folds=251, **KW)
    with pytest.raises(InsufficientDataError, match="fewer folds or more data"):
        fit_pls(mobi.head(12), predict_folds=2, **KW)
