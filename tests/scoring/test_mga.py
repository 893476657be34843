"""Multi-group comparison: PLS-MGA against seminr on the same resamples; MICOM by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from scoring.errors import InsufficientDataError, SpecificationError
from scoring.mga import compare_groups
from scoring.pls import fit_pls

from .test_pls import BLOCKS, PATHS


@pytest.fixture(scope="module")
def satisfaction(reference_dir: Path) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "pls" / "satisfaction.csv", index_col=0)


@pytest.fixture(scope="module")
def mga(satisfaction):
    return compare_groups(
        satisfaction,
        group="gender",
        groups=("female", "male"),
        blocks=BLOCKS,
        paths=PATHS,
        scheme="path",
        tol=1e-14,
        permutations=300,
        bootstrap=200,
        seed=3,
    )


def test_pls_mga_matches_seminr_on_the_same_resamples(satisfaction, mga):
    seminr = pytest.importorskip("seminr")
    data = satisfaction.drop(columns="gender").reset_index(drop=True)
    is_a = (satisfaction["gender"] == "female").to_numpy()
    na, nb = int(is_a.sum()), int((~is_a).sum())
    # compare_groups bootstraps group a with seed and group b with seed + 1 (as fit_pls)
    ia = np.random.default_rng(3).integers(0, na, size=(200, na))
    ib = np.random.default_rng(4).integers(0, nb, size=(200, nb))
    mm = seminr.constructs(*[seminr.composite(k, v) for k, v in BLOCKS.items()])
    sm = seminr.relationships(*[seminr.paths(a, b) for a, b in PATHS])
    model = seminr.estimate_pls(data, mm, sm)
    rows = seminr.estimate_pls_mga(model, is_a, nboot=200, group1_indices=ia, group2_indices=ib)
    for r in rows:
        name = f"{r.source} -> {r.target}"
        got = mga.paths.loc[name]
        assert got["estimate_a"] == pytest.approx(r.group1_beta, abs=1e-6)
        assert got["estimate_b"] == pytest.approx(r.group2_beta, abs=1e-6)
        assert got["p_mga"] == pytest.approx(r.pls_mga_p, abs=1e-9)


def test_permutation_p_values_are_consistent(mga):
    p = mga.paths
    assert ((p["p_permutation"] >= 0) & (p["p_permutation"] <= 1)).all()
    assert_allclose(p["difference"], p["estimate_a"] - p["estimate_b"])
    # the clearest difference (SAT -> LOY: 0.72 vs 0.26) is significant both ways
    assert p.loc["SAT -> LOY", "p_permutation"] < 0.05
    assert p.loc["SAT -> LOY", "p_mga_two_sided"] < 0.05
    assert sum(mga.n.values()) == 250
    assert mga.groups == ["female", "male"]


def test_micom_steps_2_and_3_by_hand(satisfaction, mga):
    """c from each group's weights on the pooled standardized items; step 3 on pooled scores."""
    kw = {"blocks": BLOCKS, "paths": PATHS, "scheme": "path", "tol": 1e-14}
    items = [c for v in BLOCKS.values() for c in v]
    X = satisfaction[items].to_numpy(dtype=float)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    is_a = (satisfaction["gender"] == "female").to_numpy()
    wa = fit_pls(satisfaction[is_a], **kw).outer_model["weight"]
    wb = fit_pls(satisfaction[~is_a], **kw).outer_model["weight"]
    wp = fit_pls(satisfaction, **kw).outer_model["weight"]
    for lv, cols in BLOCKS.items():
        ix = [items.index(c) for c in cols]
        ya, yb = Z[:, ix] @ wa[cols].to_numpy(), Z[:, ix] @ wb[cols].to_numpy()
        c = np.corrcoef(ya, yb)[0, 1]
        assert mga.compositional_invariance.loc[lv, "c"] == pytest.approx(c, abs=1e-9)
        s = Z[:, ix] @ wp[cols].to_numpy()
        row = mga.means_variances.loc[lv]
        assert row["mean_difference"] == pytest.approx(s[is_a].mean() - s[~is_a].mean())
        ratio = np.log(s[is_a].var()) - np.log(s[~is_a].var())
        assert row["log_variance_ratio"] == pytest.approx(ratio)
    ci = mga.compositional_invariance
    assert (ci["invariant"] == (ci["c"] >= ci["quantile_5"])).all()


def test_micom_detects_a_mean_shift():
    rng = np.random.default_rng(0)
    n = 300
    g = np.repeat(["a", "b"], n // 2)
    eta = rng.normal(size=n) + np.where(g == "a", 1.0, 0.0)  # group a scores higher
    zeta = 0.6 * eta + rng.normal(size=n)
    data = pd.DataFrame(
        {f"x{i}": eta + 0.6 * rng.normal(size=n) for i in range(3)}
        | {f"y{i}": zeta + 0.6 * rng.normal(size=n) for i in range(3)}
        | {"g": g}
    )
    res = compare_groups(
        data,
        group="g",
        blocks={"X": ["x0", "x1", "x2"], "Y": ["y0", "y1", "y2"]},
        paths=[("X", "Y")],
        permutations=200,
        bootstrap=50,
        seed=1,
    )
    assert res.means_variances.loc["X", "mean_p"] < 0.01
    assert not res.means_variances.loc["X", "equal"]
    assert res.compositional_invariance["invariant"].all()  # same weights in both groups


def test_refusals(satisfaction):
    kw = {"blocks": BLOCKS, "paths": PATHS}
    three = satisfaction.assign(branch=np.arange(len(satisfaction)) % 3)
    with pytest.raises(SpecificationError, match="name the two"):
        compare_groups(three, group="branch", **kw)
    with pytest.raises(SpecificationError, match="two different values"):
        compare_groups(three, group="branch", groups=(0, 7), **kw)
    few = satisfaction.assign(gender=["x"] * 4 + ["y"] * (len(satisfaction) - 4))
    with pytest.raises(InsufficientDataError, match="group 'x' of column 'gender' has 4"):
        compare_groups(few, group="gender", **kw)
    with pytest.raises(SpecificationError, match="at least 20"):
        compare_groups(satisfaction, group="gender", permutations=5, **kw)
