"""PLS assessment: f², VIFs, HTMT, SRMR/d_ULS/d_G, reliabilities of mode B, bootstrap tables.

Checked against published cSEM output, seminr (PyPI port of the R package) where it
offers the statistic, and independent numpy/statsmodels computations in the tests.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from statsmodels.stats.outliers_influence import variance_inflation_factor

from scoring.pls import FIT_LABELS, fit_pls
from tests.scoring.test_plsc import CSEM_BLOCKS
from tests.scoring.test_plsc import CSEM_MODES as PLSC_MODES
from tests.scoring.test_plsc import CSEM_PATHS as PLSC_PATHS

# ------------------------------------------------------------------ published cSEM example
# cSEM README "Example" (github.com/FloSchuberth/cSEM): csem(satisfaction, model) with its
# defaults (PLSc, path scheme; IMAG, EXPE, QUAL, VAL composites in mode B; SAT, LOY common
# factors), assess(res) and testOMF(res).
CSEM_MODES = {k: m for k, m in PLSC_MODES.items() if m == "B"}
CSEM_PATHS = [tuple(name.split(" -> ")) for name in PLSC_PATHS]
CSEM_F2 = {  # "Effect sizes (Cohen's f^2)", 4 decimals
    ("IMAG", "EXPE"): 0.2856,
    ("EXPE", "QUAL"): 2.2928,
    ("EXPE", "VAL"): 0.0014,
    ("QUAL", "VAL"): 0.3301,
    ("IMAG", "SAT"): 0.1462,
    ("EXPE", "SAT"): 0.0004,
    ("QUAL", "SAT"): 0.0468,
    ("VAL", "SAT"): 0.4373,
    ("IMAG", "LOY"): 0.0414,
    ("SAT", "LOY"): 0.4938,
}
CSEM_VIF = {  # "Variance inflation factors (VIFs)"
    ("EXPE", "VAL"): 3.2928,
    ("QUAL", "VAL"): 3.2928,
    ("EXPE", "SAT"): 3.2985,
    ("QUAL", "SAT"): 4.4151,
    ("IMAG", "SAT"): 1.7280,
    ("VAL", "SAT"): 2.6726,
    ("IMAG", "LOY"): 1.9345,
    ("SAT", "LOY"): 1.9345,
}
CSEM_SRMR = 0.09396871  # "SRMR", estimated model
CSEM_DL = 2.23402  # the squared Euclidean distance (cSEM: "dL")
CSEM_DG = 0.6493432  # "Geodesic distance": cSEM takes log10 of the eigenvalues
CSEM_HTMT_SAT_LOY = 0.7432489
CSEM_TOL = 1e-4  # cSEM stops at a 1e-5 weight change; its output has 4-8 decimals


@pytest.fixture(scope="module")
def satisfaction(reference_dir: Path) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "pls" / "satisfaction.csv", index_col=0)


@pytest.fixture(scope="module")
def csem_fit(satisfaction):
    return fit_pls(
        satisfaction,
        blocks=CSEM_BLOCKS,
        paths=CSEM_PATHS,
        modes=CSEM_MODES,
        scheme="path",
        consistent=True,
        tol=1e-12,
    )


def test_f2_and_inner_vif_match_published_csem(csem_fit):
    f2 = [csem_fit.f_squared.loc[a, b] for a, b in CSEM_F2]
    assert_allclose(f2, list(CSEM_F2.values()), atol=CSEM_TOL)
    vif = [csem_fit.inner_vif.loc[a, b] for a, b in CSEM_VIF]
    assert_allclose(vif, list(CSEM_VIF.values()), atol=CSEM_TOL)
    # a single predictor: VIF 1, f² = R²/(1 − R²)
    assert csem_fit.inner_vif.loc["IMAG", "EXPE"] == 1.0
    r2 = csem_fit.inner_summary.loc["EXPE", "r_squared"]
    assert csem_fit.f_squared.loc["IMAG", "EXPE"] == pytest.approx(r2 / (1 - r2), rel=1e-12)
    assert np.isnan(csem_fit.f_squared.loc["IMAG", "QUAL"])  # no such path
    assert csem_fit.htmt.loc["SAT", "LOY"] == pytest.approx(CSEM_HTMT_SAT_LOY, abs=1e-7)


def test_model_fit_matches_published_csem(csem_fit):
    fit = csem_fit.model_fit
    assert fit.loc["srmr", "estimated"] == pytest.approx(CSEM_SRMR, abs=1e-5)
    assert fit.loc["d_uls", "estimated"] == pytest.approx(CSEM_DL, abs=1e-4)
    # ours is Dijkstra & Henseler's natural-log d_G; cSEM's log10 version differs by ln(10)²
    assert fit.loc["d_g", "estimated"] / np.log(10) ** 2 == pytest.approx(CSEM_DG, abs=1e-5)
    # the saturated model fits at least as well
    assert (fit["saturated"] <= fit["estimated"] + 1e-12).all()


def _composite_implied(R: np.ndarray, res, blocks) -> np.ndarray:
    """Composite model by hand: observed within blocks, λ_i r_ij λ_jᵀ between them."""
    items = [c for v in blocks.values() for c in v]
    lam = res.outer_model.loc[items, "loading"].to_numpy()
    lv = res.latent_correlations
    owner = [b for b, v in blocks.items() for _ in v]
    sigma = np.empty_like(R)
    for i in range(len(items)):
        for j in range(len(items)):
            if owner[i] == owner[j]:
                sigma[i, j] = R[i, j]
            else:
                sigma[i, j] = lam[i] * lv.loc[owner[i], owner[j]] * lam[j]
    return sigma


def test_saturated_fit_of_a_pls_model_by_hand(satisfaction):
    blocks = CSEM_BLOCKS
    res = fit_pls(satisfaction, blocks=blocks, paths=CSEM_PATHS, scheme="path", tol=1e-12)
    items = [c for v in blocks.values() for c in v]
    R = np.corrcoef(satisfaction[items].to_numpy(), rowvar=False)
    sigma = _composite_implied(R, res, blocks)
    low = np.tril_indices(len(items))
    srmr = np.sqrt(np.mean((R - sigma)[low] ** 2))
    d_uls = 0.5 * np.sum((R - sigma) ** 2)
    eig = np.linalg.eigvals(np.linalg.solve(R, sigma)).real
    d_g = 0.5 * np.sum(np.log(eig) ** 2)
    assert_allclose(res.model_fit["saturated"], [srmr, d_uls, d_g], rtol=1e-10)


def test_f2_scores_convention_by_ols(satisfaction):
    """f² from R² of OLS fits on the latent scores (statsmodels), dropping each predictor."""
    import statsmodels.api as sm

    res = fit_pls(satisfaction, blocks=CSEM_BLOCKS, paths=CSEM_PATHS, scheme="path")
    sc = res.scores
    for dep in ["VAL", "SAT", "LOY"]:
        preds = [a for a, b in CSEM_PATHS if b == dep]
        full = sm.OLS(sc[dep], sm.add_constant(sc[preds])).fit().rsquared
        for p in preds:
            rest = [q for q in preds if q != p]
            excl = sm.OLS(sc[dep], sm.add_constant(sc[rest])).fit().rsquared
            assert res.f_squared.loc[p, dep] == pytest.approx((full - excl) / (1 - full), rel=1e-9)
            X = sm.add_constant(sc[preds]).to_numpy()
            vif = variance_inflation_factor(X, 1 + preds.index(p))
            assert res.inner_vif.loc[p, dep] == pytest.approx(vif, rel=1e-9)


def test_item_vif_by_statsmodels(satisfaction, csem_fit):
    for block, items in CSEM_BLOCKS.items():
        X = np.column_stack([np.ones(len(satisfaction)), satisfaction[items].to_numpy()])
        expected = [variance_inflation_factor(X, i + 1) for i in range(len(items))]
        assert_allclose(csem_fit.item_vif.loc[items, "vif"], expected, rtol=1e-9)
        assert (csem_fit.item_vif.loc[items, "block"] == block).all()
    assert (csem_fit.item_vif.loc[CSEM_BLOCKS["IMAG"], "mode"] == "B").all()


# ------------------------------------------------------------------ HTMT conventions
def _htmt_by_hand(R: np.ndarray, a: list[int], b: list[int], absolute: bool) -> float:
    M = np.abs(R) if absolute else R

    def mono(ix: list[int]) -> float:
        if len(ix) == 1:
            return 1.0
        return float(np.mean([M[i, j] for i in ix for j in ix if i < j]))

    hetero = float(np.mean([M[i, j] for i in a for j in b]))
    return hetero / np.sqrt(mono(a) * mono(b))


def test_htmt_absolute_and_signed_conventions(satisfaction):
    data = satisfaction.assign(qual5=-satisfaction["qual5"])  # a negatively keyed item
    blocks = {"QUAL": CSEM_BLOCKS["QUAL"], "SAT": CSEM_BLOCKS["SAT"], "LOY": ["loy1"]}
    paths = [("QUAL", "SAT"), ("SAT", "LOY")]
    items = [c for v in blocks.values() for c in v]
    R = np.corrcoef(data[items].to_numpy(), rowvar=False)
    q, s, lo = list(range(5)), list(range(5, 9)), [9]
    absolute = fit_pls(data, blocks=blocks, paths=paths)
    signed = fit_pls(data, blocks=blocks, paths=paths, htmt_absolute=False)
    assert absolute.htmt_absolute
    assert not signed.htmt_absolute
    for res, flag in ((absolute, True), (signed, False)):
        assert res.htmt.loc["QUAL", "SAT"] == pytest.approx(_htmt_by_hand(R, q, s, flag))
        # seminr's rule: a single-item block's monotrait correlation is 1
        assert res.htmt.loc["SAT", "LOY"] == pytest.approx(_htmt_by_hand(R, s, lo, flag))
    # the reversed item leaves the absolute HTMT as it was on the original data
    plain = fit_pls(satisfaction, blocks=blocks, paths=paths)
    assert absolute.htmt.loc["QUAL", "SAT"] == pytest.approx(plain.htmt.loc["QUAL", "SAT"])
    assert abs(signed.htmt.loc["QUAL", "SAT"] - plain.htmt.loc["QUAL", "SAT"]) > 0.1


# ------------------------------------------------------------------ seminr (PyPI)
MOBI = {
    "Image": [f"IMAG{i}" for i in range(1, 6)],
    "Expectation": [f"CUEX{i}" for i in range(1, 4)],
    "Quality": [f"PERQ{i}" for i in range(1, 8)],
    "Value": ["PERV1", "PERV2"],
    "Satisfaction": ["CUSA1", "CUSA2", "CUSA3"],
    "Complaints": ["CUSCO"],
    "Loyalty": ["CUSL1", "CUSL2", "CUSL3"],
}
MOBI_PATHS = [
    ("Image", "Expectation"),
    ("Image", "Satisfaction"),
    ("Image", "Loyalty"),
    ("Expectation", "Quality"),
    ("Expectation", "Value"),
    ("Expectation", "Satisfaction"),
    ("Quality", "Value"),
    ("Quality", "Satisfaction"),
    ("Value", "Satisfaction"),
    ("Satisfaction", "Complaints"),
    ("Satisfaction", "Loyalty"),
    ("Complaints", "Loyalty"),
]
MOBI_MODES = {"Value": "B"}


@pytest.fixture(scope="module")
def mobi(reference_dir: Path) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "extra" / "mobi.csv")


@pytest.fixture(scope="module")
def seminr_model(mobi):
    seminr = pytest.importorskip("seminr")
    mm = seminr.constructs(
        *[
            seminr.composite(k, v, weights=seminr.mode_B if k in MOBI_MODES else seminr.mode_A)
            for k, v in MOBI.items()
        ]
    )
    sm = seminr.relationships(*[seminr.paths(a, b) for a, b in MOBI_PATHS])
    model = seminr.estimate_pls(mobi, mm, sm)
    return model, seminr.summarize(model)


def _named(nm) -> pd.DataFrame:
    return pd.DataFrame(np.asarray(nm.values), index=list(nm.rows), columns=list(nm.cols))


SEMINR_TOL = 1e-6  # seminr stops at a 1e-7 weight change


def test_matches_seminr_assessment(mobi, seminr_model):
    """f² (seminr re-estimates without each path), VIFs, HTMT, ρA, ρC (mode B included)."""
    _, summ = seminr_model
    ours = fit_pls(
        mobi,
        blocks=MOBI,
        paths=MOBI_PATHS,
        modes=MOBI_MODES,
        scheme="path",
        tol=1e-14,
        f_squared="reestimate",
    )
    f2 = _named(summ.f_square)
    for a, b in MOBI_PATHS:
        assert ours.f_squared.loc[a, b] == pytest.approx(f2.loc[a, b], abs=SEMINR_TOL)
    for dep, by in summ.vif_antecedents.items():
        for pred, v in by.items():
            # (seminr may leave a single antecedent's VIF empty; ours is 1)
            expected = v if np.isfinite(v) else 1.0
            assert ours.inner_vif.loc[pred, dep] == pytest.approx(expected, abs=SEMINR_TOL)
    for by in summ.validity.vif_items.values():
        for item, v in by.items():
            assert ours.item_vif.loc[item, "vif"] == pytest.approx(v, abs=SEMINR_TOL)
    ht = _named(summ.validity.htmt)  # lower triangle
    for i, a in enumerate(ht.index):
        for b in ht.index[:i]:
            assert ours.htmt.loc[a, b] == pytest.approx(ht.loc[a, b], abs=SEMINR_TOL)
    rel = _named(summ.reliability)
    assert_allclose(ours.unidim.loc[rel.index, "rho_a"], rel["rhoA"], atol=SEMINR_TOL)
    assert ours.unidim.loc["Value", "rho_a"] == 1.0  # mode B, as seminr reports it
    assert_allclose(
        ours.unidim.loc[rel.index, "composite_reliability"], rel["rhoC"], atol=SEMINR_TOL
    )


def test_f2_conventions_agree_for_single_predictor_equations(mobi):
    kw = {"blocks": MOBI, "paths": MOBI_PATHS, "modes": MOBI_MODES, "scheme": "path"}
    scores = fit_pls(mobi, **kw).f_squared
    refit = fit_pls(mobi, f_squared="reestimate", **kw).f_squared
    for a, b in [
        ("Image", "Expectation"),
        ("Expectation", "Quality"),
        ("Satisfaction", "Complaints"),
    ]:
        assert scores.loc[a, b] == pytest.approx(refit.loc[a, b], rel=1e-12)
    assert abs(scores.loc["Image", "Loyalty"] - refit.loc["Image", "Loyalty"]) > 1e-3


def test_bootstrap_matches_seminr_on_the_same_resamples(mobi, seminr_model):
    """seminr accepts the resample indices, so both packages refit the same resamples."""
    seminr = pytest.importorskip("seminr")
    model, _ = seminr_model
    nboot, seed = 100, 7
    # fit_pls draws all rows of the resamples at once from default_rng(seed)
    idx = np.random.default_rng(seed).integers(0, len(mobi), size=(nboot, len(mobi)))
    theirs = seminr.bootstrap_model(model, nboot, indices=idx)
    ours = fit_pls(
        mobi,
        blocks=MOBI,
        paths=MOBI_PATHS,
        modes=MOBI_MODES,
        scheme="path",
        tol=1e-14,
        bootstrap=nboot,
        seed=seed,
    ).bootstrap
    assert ours is not None
    assert ours.n_resamples == len(theirs.boot_paths) == nboot
    reps = ours.replicates
    for a, b in MOBI_PATHS:
        sem = np.array([m.get(a, b) for m in theirs.boot_paths])
        assert_allclose(reps["paths"][f"{a} -> {b}"], sem, atol=1e-5)
        lo, hi = np.quantile(sem, [0.025, 0.975])
        row = ours.paths.loc[f"{a} -> {b}"]
        assert row["std_error"] == pytest.approx(sem.std(ddof=1), abs=1e-5)
        assert (row["lower"], row["upper"]) == pytest.approx((lo, hi), abs=1e-5)
    lat = list(MOBI)
    for i, a in enumerate(lat):
        for b in lat[i + 1 :]:
            sem = np.array([_named(m).loc[[a, b], [a, b]].max().max() for m in theirs.boot_htmt])
            assert_allclose(reps["htmt"][f"{a} <-> {b}"], sem, atol=1e-5)


# ------------------------------------------------------------------ bootstrap tables
@pytest.fixture(scope="module")
def boot(satisfaction):
    return fit_pls(
        satisfaction, blocks=CSEM_BLOCKS, paths=CSEM_PATHS, scheme="path", bootstrap=200, seed=3
    )


def test_bootstrap_tables_cover_every_output(boot):
    b = boot.bootstrap
    assert b is not None
    assert list(b.model_fit.index) == list(FIT_LABELS)
    assert list(b.f_squared.index) == list(boot.paths.index)
    assert len(b.htmt) == 15  # 6 latents: 15 pairs
    for table in (b.paths, b.f_squared, b.htmt, b.r_squared, b.specific_indirect, b.weights):
        assert {"original", "std_error", "t", "p_value", "lower", "upper"} <= set(table.columns)
        p = table["p_value"].dropna()
        assert ((p >= 0) & (p <= 1)).all()
    assert_allclose(b.htmt.loc["SAT <-> LOY", "original"], boot.htmt.loc["SAT", "LOY"])
    assert_allclose(b.model_fit["original"].to_numpy(), boot.model_fit.to_numpy().ravel())
    reps = b.replicates["htmt"]["SAT <-> LOY"]
    assert b.htmt.loc["SAT <-> LOY", "p_below_0.85"] == pytest.approx((reps >= 0.85).mean())
    assert b.htmt.loc["SAT <-> LOY", "upper_one_sided"] == pytest.approx(reps.quantile(0.95))


def test_specific_indirect_effects_add_up_to_the_total_indirect(boot):
    b = boot.bootstrap
    spec = b.replicates["specific_indirect"]
    for name in b.indirect_effects.index:
        a, c = name.split(" -> ")
        chains = [k for k in spec.columns if k.startswith(a + " -> ") and k.endswith(" -> " + c)]
        total = spec[chains].sum(axis=1) if chains else 0.0
        assert_allclose(total, b.replicates["indirect_effects"][name], atol=1e-12)
    eff = boot.effects
    assert_allclose(b.indirect_effects["original"], eff.loc[b.indirect_effects.index, "indirect"])


def test_bootstrap_p_value_follows_t(boot):
    from scipy import stats

    row = boot.bootstrap.paths.loc["SAT -> LOY"]
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(row["t"]), boot.n_obs - 1))


# cSEM testOMF(res) on the same model: 95% critical values of the bootstrap under H0
# (499 resamples, a different random stream: agreement within Monte Carlo error).
CSEM_CRITICAL = {"srmr": 0.0510, "d_uls": 0.6580, "d_g": 0.3183 * np.log(10) ** 2}


def test_exact_fit_test_matches_published_csem_critical_values(satisfaction):
    res = fit_pls(
        satisfaction,
        blocks=CSEM_BLOCKS,
        paths=CSEM_PATHS,
        modes=CSEM_MODES,
        scheme="path",
        consistent=True,
        bootstrap=499,
        seed=1,
        fit_test=True,
    )
    test = res.bootstrap.fit_test
    assert test is not None
    for measure, crit in CSEM_CRITICAL.items():
        assert test.loc[measure, "critical_value"] == pytest.approx(crit, rel=0.15)
    assert test["reject"].all()  # cSEM: "reject" for all three
    assert_allclose(test["statistic"], res.model_fit["estimated"])
    assert (test["p_value"] < 0.05).all()
    # without fit_test the bootstrap has no test table
    plain = fit_pls(satisfaction, blocks=CSEM_BLOCKS, paths=CSEM_PATHS, bootstrap=20, seed=1)
    assert plain.bootstrap.fit_test is None


def test_exact_fit_test_holds_its_level_under_the_null():
    """Data drawn from a composite model the fit reproduces: the test rarely rejects."""
    rng = np.random.default_rng(11)
    n = 300
    eta = rng.normal(size=n)
    zeta = 0.5 * eta + np.sqrt(0.75) * rng.normal(size=n)
    data = pd.DataFrame(
        {f"x{i}": eta + 0.7 * rng.normal(size=n) for i in range(3)}
        | {f"y{i}": zeta + 0.7 * rng.normal(size=n) for i in range(3)}
    )
    blocks = {"X": ["x0", "x1", "x2"], "Y": ["y0", "y1", "y2"]}
    res = fit_pls(
        data,
        blocks=blocks,
        paths=[("X", "Y")],
        consistent=True,
        bootstrap=200,
        seed=2,
        fit_test=True,
    )
    assert not res.bootstrap.fit_test["reject"].any()


def test_bca_intervals_cover_the_new_tables(satisfaction):
    res = fit_pls(
        satisfaction,
        blocks=CSEM_BLOCKS,
        paths=CSEM_PATHS,
        scheme="path",
        bootstrap=200,
        seed=5,
        interval="bca",
    )
    b = res.bootstrap
    assert b.interval == "bca"
    assert b.jackknife is not None
    for table in (b.paths, b.f_squared, b.htmt, b.specific_indirect, b.r_squared):
        assert np.isfinite(table[["lower", "upper"]].to_numpy()).all()
        assert (table["lower"] <= table["upper"]).all()
    # BCa differs from the percentile interval of the same resamples
    pct = fit_pls(
        satisfaction, blocks=CSEM_BLOCKS, paths=CSEM_PATHS, scheme="path", bootstrap=200, seed=5
    ).bootstrap
    assert_allclose(pct.paths["std_error"], b.paths["std_error"])
    assert not np.allclose(pct.paths["lower"], b.paths["lower"])


def test_simulated_model_with_known_parameters():
    """PLSc on a factor model: f², VIF and fit recover the population values."""
    rng = np.random.default_rng(21)
    n, rho = 20_000, 0.3
    x1 = rng.normal(size=n)
    x2 = rho * x1 + np.sqrt(1 - rho**2) * rng.normal(size=n)
    r2 = 0.5**2 + 0.3**2 + 2 * 0.5 * 0.3 * rho  # 0.43
    y = 0.5 * x1 + 0.3 * x2 + np.sqrt(1 - r2) * rng.normal(size=n)
    lam = 0.8
    data = pd.DataFrame(
        {
            f"{name}{i}": lv * lam + np.sqrt(1 - lam**2) * rng.normal(size=n)
            for name, lv in (("a", x1), ("b", x2), ("y", y))
            for i in range(3)
        }
    )
    blocks = {"X1": ["a0", "a1", "a2"], "X2": ["b0", "b1", "b2"], "Y": ["y0", "y1", "y2"]}
    paths = [("X1", "Y"), ("X2", "Y")]
    res = fit_pls(data, blocks=blocks, paths=paths, consistent=True)
    r2_without_x1 = (0.3 + 0.5 * rho) ** 2
    assert res.f_squared.loc["X1", "Y"] == pytest.approx((r2 - r2_without_x1) / (1 - r2), abs=0.02)
    assert res.f_squared.loc["X2", "Y"] == pytest.approx(
        (r2 - (0.5 + 0.3 * rho) ** 2) / (1 - r2), abs=0.02
    )
    assert res.inner_vif.loc["X1", "Y"] == pytest.approx(1 / (1 - rho**2), abs=0.02)
    assert res.model_fit.loc["srmr", "estimated"] < 0.01  # the true model fits
    # leaving out the X2 -> Y path is visible in the estimated model's fit
    chain = fit_pls(data, blocks=blocks, paths=[("X1", "Y"), ("X1", "X2")], consistent=True)
    assert chain.model_fit.loc["srmr", "estimated"] > 3 * res.model_fit.loc["srmr", "estimated"]
