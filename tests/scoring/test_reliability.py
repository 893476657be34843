"""Tests of scoring.reliability against pingouin, factor_analyzer and hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

from scoring.errors import (
    DataError,
    InsufficientDataError,
    SingularMatrixError,
    SmallSampleWarning,
    SpecificationError,
)
from scoring.reliability import (
    average_variance_extracted,
    composite_reliability,
    cronbach_alpha,
    one_factor_loadings,
    reliability,
)


@pytest.fixture
def wide_missing(reference_dir):
    return pd.read_csv(reference_dir / "reliability" / "pingouin_cronbach_wide_missing.csv")


def test_alpha_pairwise_matches_reference(wide_missing):
    # reference/README.md: pingouin cronbach_alpha docstring, psych::alpha(use="pairwise")
    res = cronbach_alpha(wide_missing)
    assert res.alpha == pytest.approx(0.732660835214447, abs=1e-12)
    assert res.n == 12
    assert (res.ci_low, res.ci_high) == pytest.approx((0.435, 0.909), abs=5e-4)  # 3 dp


def test_alpha_listwise_matches_reference(wide_missing):
    res = cronbach_alpha(wide_missing, missing="listwise")
    assert res.alpha == pytest.approx(0.8016949152542373, abs=1e-12)
    assert res.n == 9
    # pingouin prints [0.581, 0.933] because it keeps n = 12 (the rows *before* deletion)
    # in Feldt's interval; we use the n = 9 rows actually analysed (Feldt et al., 1987).
    f_hi, f_lo = stats.f.isf([0.025, 0.975], 8, 8 * 10)
    expected = (1 - (1 - res.alpha) * f_hi, 1 - (1 - res.alpha) * f_lo)
    assert (res.ci_low, res.ci_high) == pytest.approx(expected, abs=1e-12)
    assert res.ci_low == pytest.approx(0.533, abs=5e-4)


def _simulate(seed: int, n: int, k: int, missing_share: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    x = np.clip(np.round(4 + f + rng.normal(scale=1.2, size=(n, k))), 1, 7)
    if missing_share:
        x[rng.random((n, k)) < missing_share] = np.nan
    return pd.DataFrame(x, columns=[f"q{i}" for i in range(k)])


@pytest.mark.parametrize("policy", ["pairwise", "listwise"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alpha_matches_pingouin_on_simulated_data(seed, policy):
    df = _simulate(seed, 150, 5, missing_share=0.05)
    ours = cronbach_alpha(df, missing=policy)
    theirs, ci = pg.cronbach_alpha(df, nan_policy=policy)
    assert ours.alpha == pytest.approx(theirs, abs=1e-12)
    if policy == "pairwise":  # listwise: pingouin keeps the pre-deletion n in the CI
        assert_allclose([ours.ci_low, ours.ci_high], ci, atol=5e-4)  # pingouin rounds to 3 dp


def test_item_statistics_by_hand():
    # Hand computation: drop item c -> items a, b with cov matrix [[2.5, 2.25], [2.25, 2.3]]
    df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    res = cronbach_alpha(df)
    row = res.items.set_index("item").loc["c"]
    assert row["alpha_if_deleted"] == pytest.approx(2 * (1 - (2.5 + 2.3) / (2.5 + 2.3 + 4.5)))
    # corrected item-total r of c = corr(c, a + b)
    assert row["item_total_r"] == pytest.approx(np.corrcoef(df["c"], df["a"] + df["b"])[0, 1])
    # standardized alpha from the mean inter-item correlation
    r = df.corr().to_numpy()[np.triu_indices(3, 1)].mean()
    assert res.alpha_standardized == pytest.approx(3 * r / (1 + 2 * r))


def test_alpha_if_deleted_matches_pingouin_on_subsets():
    df = _simulate(3, 200, 4)
    res = cronbach_alpha(df).items.set_index("item")
    for item in df.columns:
        expected, _ = pg.cronbach_alpha(df.drop(columns=item))
        assert res.loc[item, "alpha_if_deleted"] == pytest.approx(expected, abs=1e-12)


def test_composite_reliability_and_ave_by_hand():
    lam = {"a": 0.6, "b": 0.7, "c": 0.8}
    s = 2.1**2
    assert composite_reliability(lam) == pytest.approx(s / (s + 0.64 + 0.51 + 0.36))
    assert average_variance_extracted(lam) == pytest.approx((0.36 + 0.49 + 0.64) / 3)


def test_one_factor_loadings_match_factor_analyzer_minres():
    fa_mod = pytest.importorskip("factor_analyzer")
    df = _simulate(4, 500, 5)
    # FactorAnalyzer.fit() breaks on scikit-learn 1.9 (force_all_finite), so call its
    # MINRES step on the correlation matrix directly (the same computation fit() runs).
    fa = fa_mod.FactorAnalyzer(n_factors=1, rotation=None, method="minres", is_corr_matrix=True)
    theirs = np.abs(fa._fit_factor_analysis(df.corr().to_numpy().copy())[:, 0])
    assert_allclose(one_factor_loadings(df).to_numpy(), theirs, atol=2e-4)


def test_reliability_flags_weak_dimension():
    rng = np.random.default_rng(5)
    f = rng.normal(size=(400, 1))
    strong = 4 + f + 0.5 * rng.normal(size=(400, 3))
    noise = 4 + rng.normal(size=(400, 3))  # unrelated items: alpha near 0
    df = pd.DataFrame(np.hstack([strong, noise]), columns=["s1", "s2", "s3", "w1", "w2", "w3"])
    res = reliability(df, dimensions={"strong": ["s1", "s2", "s3"], "weak": ["w1", "w2", "w3"]})
    table = res.dimensions.set_index("dimension")
    assert not table.loc["strong", "weak"]
    assert table.loc["weak", "weak_alpha"]
    assert table.loc["weak", "weak"]
    assert table.loc["strong", "composite_reliability"] > 0.8
    expected = cronbach_alpha(df[["s1", "s2", "s3"]]).alpha
    assert table.loc["strong", "alpha"] == pytest.approx(expected)


def test_reliability_with_given_loadings():
    df = _simulate(6, 100, 4)
    lam = {"q0": 0.5, "q1": 0.6, "q2": 0.7, "q3": 0.8}
    res = reliability(df, dimensions={"d": list(lam)}, loadings=lam)
    assert res.loadings_source == "given"
    assert res.dimensions.loc[0, "ave"] == pytest.approx(average_variance_extracted(lam))
    assert res.dimensions.loc[0, "weak_ave"]  # AVE = 0.435 < 0.5


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.integers(-3, 3))
def test_alpha_invariant_to_shift(seed, shift):
    df = _simulate(seed, 40, 4)
    assert cronbach_alpha(df + shift).alpha == pytest.approx(cronbach_alpha(df).alpha)


@pytest.mark.parametrize(
    ("frame", "kwargs", "error", "match"),
    [
        (pd.DataFrame({"a": [1, 2, 3]}), {}, SpecificationError, "at least 2 items"),
        (pd.DataFrame({"a": [1], "b": [2]}), {}, InsufficientDataError, "at least 3 usable"),
        (pd.DataFrame({"a": [1, 2], "b": ["x", 2]}), {}, DataError, "column 'b' must be numeric"),
        (pd.DataFrame({"a": [1, 2]}), {"items": ["a", "z"]}, DataError, "missing column"),
        (pd.DataFrame({"a": [3, 3, 3], "b": [2, 2, 2]}), {}, SingularMatrixError, "zero variance"),
        (
            pd.DataFrame({"a": [1, 2, None, None], "b": [None, None, 1, 2]}),
            {},
            InsufficientDataError,
            "fewer than 2",
        ),
        (pd.DataFrame({"a": [1, 2], "b": [2, 1]}), {"missing": "drop"}, ValueError, "one of"),
    ],
)
def test_alpha_bad_input(frame, kwargs, error, match):
    with pytest.raises(error, match=match):
        cronbach_alpha(frame, **kwargs)


def test_reliability_bad_input():
    df = _simulate(7, 30, 3)
    with pytest.raises(SpecificationError, match="needs at least 2"):
        reliability(df, dimensions={"d": ["q0"]})
    with pytest.raises(SpecificationError, match="no value for item"):
        reliability(df, dimensions={"d": ["q0", "q1"]}, loadings={"q0": 0.7})
    with pytest.raises(SpecificationError, match=r"in \[-1, 1\]"):
        composite_reliability([1.2, 0.5])


# ------------------------------------------------------------- small samples, off-scale answers


@pytest.mark.parametrize("n", [1, 2])
def test_reliability_refuses_one_or_two_rows(n):
    # at n = 2 alpha is an artefact (-0.667 for three items), so it is refused
    df = pd.DataFrame({"a": [1, 2], "b": [2, 1], "c": [3, 5]}).head(n)
    with pytest.raises(InsufficientDataError, match="at least 3 usable row"):
        reliability(df, dimensions={"d": ["a", "b", "c"]})


def test_fewer_rows_than_items_warns():
    df = pd.DataFrame({"a": [1, 2, 4], "b": [2, 3, 5], "c": [1, 3, 4], "d": [2, 2, 5]})
    with pytest.warns(SmallSampleWarning, match=r"3 rows for 4 items \(fewer rows than items\)"):
        reliability(df, dimensions={"d": list(df.columns)}, loadings=dict.fromkeys(df, 0.7))
    assert cronbach_alpha(df).n == 3  # the building block stays silent (used per segment)


def test_constant_item_warns_or_refuses():
    df = pd.DataFrame({"a": [1, 2, 4, 5, 3], "b": [2, 3, 5, 4, 3], "c": [4, 4, 4, 4, 4]})
    with pytest.warns(SmallSampleWarning, match=r"\['c'\] are constant") as record:
        res = reliability(df, dimensions={"d": ["a", "b", "c"]}, loadings=dict.fromkeys("abc", 0.7))
    assert len(record) == 1
    assert np.isnan(res.dimensions.loc[0, "alpha_standardized"])
    with pytest.raises(SingularMatrixError), pytest.warns(SmallSampleWarning):
        reliability(df, dimensions={"d": ["a", "b", "c"]})


def test_heywood_loadings_warn_that_cr_and_ave_are_nan():
    df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 1, 4, 4], "c": [3, 5, 4, 4]})
    with pytest.warns(SmallSampleWarning, match="Heywood") as record:
        res = reliability(df, dimensions={"d": ["a", "b", "c"]})
    assert len(record) == 1
    assert np.isnan(res.dimensions.loc[0, "composite_reliability"])
    assert np.isnan(res.dimensions.loc[0, "ave"])


@pytest.mark.parametrize(("value", "shown"), [(99, "99"), (4.5, "4.5")])
def test_reliability_checks_the_scale(value, shown):
    df = _simulate(1, 50, 3).astype("float64")
    df.iloc[[4, 9], 1] = value
    col = df.columns[1]
    with pytest.raises(
        DataError,
        match=rf"{col!r} must hold answers in \[1, 7\]; row 4 holds "
        rf"{shown}, row 9 holds {shown} \(2 bad cell",
    ):
        reliability(df, dimensions={"d": list(df.columns)}, scale={"d": (1, 7)})
    with pytest.raises(DataError, match="whole numbers in"):
        reliability(df, dimensions={"d": list(df.columns)}, scale=(1, 7))


def test_htmt_between_dimensions_equals_the_pls_models() -> None:
    """``ReliabilityResult.htmt`` is the HTMT of :func:`scoring.pls.fit_pls` on the same
    blocks (complete data: pairwise and listwise correlations agree); one dimension: None."""
    from scoring.pls import fit_pls  # only for this comparison

    rng = np.random.default_rng(4)
    f = rng.normal(size=(250, 2))
    cols = {f"a{i}": f[:, 0] for i in range(3)}
    cols |= {f"b{i}": 0.5 * f[:, 0] + f[:, 1] for i in range(3)}
    df = pd.DataFrame({k: np.round(4 + v + rng.normal(size=250)) for k, v in cols.items()})
    dims = {"A": ["a0", "a1", "a2"], "B": ["b0", "b1", "b2"]}
    res = reliability(df, dimensions=dims)
    pls = fit_pls(df, blocks=dims, paths=[("A", "B")])
    assert res.htmt is not None
    np.testing.assert_allclose(res.htmt.loc["A", "B"], pls.htmt.loc["A", "B"], rtol=1e-12)
    assert reliability(df, dimensions={"A": dims["A"]}).htmt is None
