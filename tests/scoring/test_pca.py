"""Tests of scoring.pca: the principal-component satisfaction index, KMO and Bartlett."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA

from scoring.errors import (
    DataError,
    InsufficientDataError,
    NegativeWeightError,
    SingularMatrixError,
)
from scoring.pca import bartlett_sphericity, kmo, pca_index

# Published: R prcomp(USArrests, scale = TRUE) (ISLR ch. 10 lab); 7-8 decimals printed.
US_EIGENVALUES = [2.4802416, 0.9897652, 0.3565632, 0.1734301]
US_SHARES = [0.62006039, 0.24744129, 0.08914080, 0.04335752]
US_PC1 = [-0.5358995, -0.5831836, -0.2781909, -0.5434321]
US_PC2 = [0.4181809, 0.1879856, -0.8728062, -0.1673186]


@pytest.fixture(scope="module")
def usarrests(reference_dir):
    return pd.read_csv(reference_dir / "pca" / "USArrests.csv", index_col="rownames")


def _aligned(ours, reference):
    """``ours`` with the sign that matches ``reference`` (eigenvector signs are arbitrary)."""
    ours = np.asarray(ours)
    return ours * np.sign(ours @ np.asarray(reference))


def test_usarrests_eigen_solution_matches_r(usarrests):
    res = pca_index(usarrests, retain="fixed", n_components=2)
    assert_allclose(res.components["eigenvalue"], US_EIGENVALUES, atol=5e-8)
    assert_allclose(res.components["share"], US_SHARES, atol=5e-9)
    assert_allclose(_aligned(res.eigenvectors["PC1"], US_PC1), US_PC1, atol=5e-8)
    assert_allclose(_aligned(res.eigenvectors["PC2"], US_PC2), US_PC2, atol=5e-8)
    # Orientation rule: each kept eigenvector has a positive sum of entries.
    assert (res.eigenvectors.sum(axis=0) > 0).all()
    assert_allclose(res.eigenvectors["PC1"], -np.asarray(US_PC1), atol=5e-8)
    assert_allclose(res.loadings["PC1"], res.eigenvectors["PC1"] * np.sqrt(US_EIGENVALUES[0]))
    assert res.components["kept"].tolist() == [True, True, False, False]


def test_retention_rules(usarrests):
    assert pca_index(usarrests).n_components == 1  # only lambda_1 > 1
    assert pca_index(usarrests, retain="cumulative", cumulative=0.85).n_components == 2
    assert pca_index(usarrests, retain="cumulative", cumulative=0.62).n_components == 1
    assert pca_index(usarrests, retain="cumulative", cumulative=0.95).n_components == 3
    assert pca_index(usarrests, retain="fixed", n_components=4).n_components == 4


def test_scores_against_sklearn_and_conventions(usarrests):
    res = pca_index(usarrests, retain="fixed", n_components=2)
    z = (usarrests - usarrests.mean()) / usarrests.std(ddof=1)
    sk = PCA(n_components=2).fit(z)
    assert_allclose(sk.explained_variance_, US_EIGENVALUES[:2], atol=5e-8)
    sk_scores = sk.transform(z)
    for k in range(2):
        assert_allclose(_aligned(res.scores[f"F{k + 1}"], sk_scores[:, k]), sk_scores[:, k])
    lam = res.components["eigenvalue"].to_numpy()[:2]
    composite = (lam[0] * res.scores["F1"] + lam[1] * res.scores["F2"]) / lam.sum()
    assert_allclose(res.scores["F"], composite)
    assert_allclose(res.composite.to_numpy(), z.to_numpy() @ res.weights["coefficient"].to_numpy())
    assert_allclose(res.weights["weight"].sum(), 1.0)
    assert_allclose(res.scores[["F1", "F2"]].var(ddof=1), lam, rtol=1e-6)
    unit = pca_index(usarrests, retain="fixed", n_components=2, scores="unit_variance")
    assert_allclose(unit.scores[["F1", "F2"]].var(ddof=1), [1.0, 1.0])
    assert_allclose(unit.scores["F1"], res.scores["F1"] / np.sqrt(lam[0]))
    # Ranking: 1 = highest composite.
    assert res.scores["rank"].min() == 1
    assert res.scores["F"].idxmax() == res.scores["rank"].idxmin()


def test_bartlett_matches_published_value(reference_dir):
    data = pd.read_csv(reference_dir / "pca" / "bartlett_test01.csv")
    chi2, df, p = bartlett_sphericity(data)
    assert chi2 == pytest.approx(14185.00, abs=5e-3)  # 2 dp in the source
    assert df == 780
    assert p == pytest.approx(0.0, abs=1e-300)
    res = pca_index(data)
    assert res.bartlett_chi2 == pytest.approx(chi2)
    assert res.adequate
    assert "suitable for a principal-component index" in res.verdict


def test_kmo_matches_factor_analyzer(reference_dir):
    from factor_analyzer.factor_analyzer import calculate_bartlett_sphericity, calculate_kmo

    data = pd.read_csv(reference_dir / "extra" / "factor_test02.csv")
    with warnings.catch_warnings():  # third-party deprecation noise is not ours
        warnings.simplefilter("ignore")
        per_item, overall = calculate_kmo(data)
        fa_chi2, fa_p = calculate_bartlett_sphericity(data)
    res = kmo(data)
    assert res.overall == pytest.approx(overall, abs=1e-12)
    assert_allclose(res.items.to_numpy(), per_item, atol=1e-12)
    assert res.items.index.tolist() == data.columns.tolist()
    idx = pca_index(data)
    assert idx.kmo.overall == pytest.approx(overall, abs=1e-12)
    assert idx.bartlett_chi2 == pytest.approx(fa_chi2, rel=1e-10)
    table = idx.adequacy()
    assert table["passed"].tolist() == [overall >= 0.6, fa_p < 0.05]
    assert res.summary()["item"].tolist()[-1] == "overall"


def _survey():
    rng = np.random.default_rng(7)
    n = 240
    f = rng.normal(size=(n, 1))
    x = np.clip(np.rint(3 + f + 0.9 * rng.normal(size=(n, 6))), 1, 5)
    df = pd.DataFrame(x, columns=[f"q{i}" for i in range(1, 7)])
    df["store"] = rng.choice(["east", "north", "west"], size=n)
    return df


SURVEY = _survey()


@pytest.fixture
def survey():
    return SURVEY.copy()


@settings(max_examples=25, deadline=None)
@given(
    column=st.integers(0, 5),
    factor=st.floats(0.01, 1000.0),
    shift=st.floats(-100.0, 100.0),
)
def test_composite_invariant_to_rescaling_an_indicator(column, factor, shift):
    survey = SURVEY
    items = [f"q{i}" for i in range(1, 7)]
    base = pca_index(survey, items=items, retain="fixed", n_components=2)
    changed = survey.copy()
    name = items[column]
    changed[name] = changed[name] * factor + shift
    res = pca_index(changed, items=items, retain="fixed", n_components=2)
    assert_allclose(res.composite.to_numpy(), base.composite.to_numpy(), atol=1e-8)
    assert_allclose(res.weights["weight"], base.weights["weight"], atol=1e-9)


def _one_factor_with_a_negative_item(n: int = 300) -> pd.DataFrame:
    """Four 1-7 items of one factor; ``d`` is worded against the rest (stored raw)."""
    rng = np.random.default_rng(4)
    f = rng.normal(size=n)
    signs = {"a": 1, "b": 1, "c": 1, "d": -1}
    return pd.DataFrame(
        {k: np.clip(np.round(4 + s * 1.2 * f + rng.normal(size=n)), 1, 7) for k, s in signs.items()}
    )


PCA_DIMS = {"speed": ["a", "b"], "staff": ["c", "d"]}


def test_negative_weight_is_refused_naming_item_dimension_and_fix():
    data = _one_factor_with_a_negative_item()
    with pytest.raises(NegativeWeightError, match=r"block 'staff' gives item\(s\) 'd'") as exc:
        pca_index(data, dimensions=PCA_DIMS, scale=(1, 7))
    assert "declare it reverse-coded" in str(exc.value)
    assert "negative_weights='allow'" in str(exc.value)


def test_negative_weight_allowed_is_flagged():
    res = pca_index(data := _one_factor_with_a_negative_item(), negative_weights="allow")
    assert not res.interpretable
    assert res.weights.set_index("item").loc["d", "weight"] < 0
    assert "not interpretable" in res.verdict
    assert res.to_dict()["interpretable"] is False
    assert res.parameters["negative_weights"] == "allow"
    assert len(data) == res.n


def test_reverse_coded_item_gives_dimension_scores_inside_0_100():
    data = _one_factor_with_a_negative_item()
    data["d"] = 1 + 7 - data["d"]
    res = pca_index(data, dimensions=PCA_DIMS, scale=(1, 7))
    assert res.interpretable
    assert (res.weights["weight"] > 0).all()
    assert "not interpretable" not in res.verdict
    scores = res.dimension_scores()
    assert list(scores.index) == ["speed", "staff"]
    assert scores.between(0, 100).all()


def test_segments_and_json(survey):
    res = pca_index(survey, segment="store")
    seg = res.segments
    assert seg is not None
    expected = res.composite.groupby(survey["store"]).mean()
    assert_allclose(seg.set_index("segment")["F"].loc[expected.index], expected)
    assert seg["n"].sum() == len(survey)
    assert sorted(seg["rank"]) == [1, 2, 3]
    assert seg.loc[seg["F"].idxmax(), "rank"] == 1
    assert "store" not in res.weights["item"].tolist()
    json.dumps(res.to_dict())


def test_missing_rules(survey):
    holes = survey.copy()
    holes.loc[[3, 10], "q2"] = np.nan
    lw = pca_index(holes, segment="store")
    assert lw.n == len(survey) - 2
    assert 3 not in lw.scores.index
    im = pca_index(holes, segment="store", missing="item_mean")
    assert im.n == len(survey)
    assert im.means["q2"] == pytest.approx(holes["q2"].mean())
    with pytest.raises(ValueError, match="missing must be one of 'listwise', 'item_mean'"):
        pca_index(holes, segment="store", missing="pairwise")


def test_blocked_correlation_and_scores_match_direct_computation():
    # 20,000 rows x 30 items span several row blocks of the cross-product (about 4,400
    # rows each); rows with a missing answer are skipped by the gather.
    rng = np.random.default_rng(7)
    n, p = 20_000, 30
    x = rng.normal(size=(n, 1)) + rng.normal(size=(n, p)) + np.arange(p)
    df = pd.DataFrame(np.rint(x), columns=[f"q{j}" for j in range(p)])
    df.iloc[rng.integers(0, n, size=300), 3] = np.nan
    res = pca_index(df, retain="fixed", n_components=3)
    used = df.dropna()
    z = (used - used.mean()) / used.std(ddof=1)
    r = np.corrcoef(used.to_numpy(), rowvar=False)
    assert res.n == len(used)
    assert_allclose(res.means, used.mean(), rtol=1e-12)
    assert_allclose(res.sds, used.std(ddof=1), rtol=1e-12)
    assert_allclose(res.components["eigenvalue"], np.linalg.eigvalsh(r)[::-1], rtol=1e-10)
    u = res.eigenvectors.to_numpy()
    assert_allclose(res.scores[["F1", "F2", "F3"]], z.to_numpy() @ u, atol=1e-10)
    assert res.scores.index.equals(used.index)


# ------------------------------------------------------------------------- bad input


def test_constant_indicator(survey):
    with pytest.raises(DataError, match=r"column 'q7' is constant \(4 for every"):
        pca_index(survey.assign(q7=4.0), segment="store")


def test_fewer_respondents_than_indicators(survey):
    with pytest.raises(InsufficientDataError, match=r"at least 7 usable row\(s\); got 5"):
        pca_index(survey.head(5), segment="store")


def test_singular_correlation_matrix(survey):
    bad = survey.assign(total=survey["q1"] + survey["q2"])
    with pytest.raises(SingularMatrixError, match=r"items \['q1', 'q2', 'total'\] are linearly"):
        pca_index(bad, segment="store")


def test_non_numeric_cell(survey):
    bad = survey.astype({"q3": "object"})
    bad.loc[5, "q3"] = "good"
    with pytest.raises(DataError, match=r"column 'q3' must be numeric; row 5 holds 'good'"):
        pca_index(bad, segment="store")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"retain": "scree"}, "retain must be one of"),
        ({"retain": "fixed"}, "n_components between 1 and 6; got None"),
        ({"retain": "fixed", "n_components": 7}, "between 1 and 6; got 7"),
        ({"retain": "cumulative", "cumulative": 85}, r"share in \(0, 1\]; got 85"),
        ({"scores": "regression"}, "scores must be one of"),
        ({"items": ["q1", "store"]}, "also listed in items"),
    ],
)
def test_bad_options(survey, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pca_index(survey, segment="store", **kwargs)


def test_item_without_answers(survey):
    with pytest.raises(InsufficientDataError, match=r"\['q7'\] have no answers"):
        pca_index(survey.assign(q7=np.nan), segment="store")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-3, 3).map(float), min_size=1, max_size=30))
def test_rank_matches_pandas_min_method(values):
    from scoring.pca import _rank_desc

    expected = pd.Series(values).rank(ascending=False, method="min").astype("int64")
    assert _rank_desc(np.asarray(values)).tolist() == expected.tolist()


def test_infinite_value(survey):
    bad = survey.copy()
    bad.loc[9, "q4"] = np.inf
    with pytest.raises(DataError, match=r"column 'q4' row 9 holds inf"):
        pca_index(bad, segment="store")


def _small_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    return pd.DataFrame(rng.integers(1, 8, size=(n, 4)).astype(float), columns=list("abcd"))


@pytest.mark.parametrize("n", [1, 2, 4])
def test_pca_refuses_one_two_or_fewer_rows_than_items(n):
    with pytest.raises(InsufficientDataError, match=r"needs at least 5 usable row"):
        pca_index(_small_frame(n))


def test_pca_refuses_a_constant_item():
    with pytest.raises(DataError, match=r"'c' is constant"):
        pca_index(_small_frame(40).assign(c=3.0))


@pytest.mark.parametrize(("value", "shown"), [(99, "99"), (4.5, "4.5")])
def test_pca_checks_the_scale(value, shown):
    df = _small_frame(40)
    df.loc[6, "b"] = value
    with pytest.raises(DataError, match=rf"'b' must hold answers in \[1, 7\]; row 6 holds {shown}"):
        pca_index(df, scale=(1, 7))


def test_rows_dropped_by_the_missing_rule_are_counted():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(120, 1))
    df = pd.DataFrame(f + 0.7 * rng.normal(size=(120, 4)), columns=list("abcd"))
    df.loc[[2, 5, 9], "a"] = np.nan
    df.loc[[5, 40], "c"] = np.nan
    res = pca_index(df)
    assert (res.n, res.n_dropped) == (116, 4)
    assert pca_index(df, missing="item_mean").n_dropped == 0
