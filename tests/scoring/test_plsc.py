"""Consistent PLS (PLSc): published cSEM output, ρ_A by hand, recovery, properties, Heywood."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats

import questionnaires as qn
from questionnaires.simulate import CSI_LEVEL, CSI_SD, simulate
from scoring import instrument
from scoring.csi import ECSI, fit_csi
from scoring.errors import DataError
from scoring.pls import HeywoodCaseError, fit_pls

# plspm's satisfaction model (reference README): ECSI without complaints, all mode A.
SIZES = {"IMAG": 5, "EXPE": 5, "QUAL": 5, "VAL": 4, "SAT": 4, "LOY": 4}
BLOCKS = {lv: [f"{lv.lower()}{i}" for i in range(1, k + 1)] for lv, k in SIZES.items()}
PATHS = [p for p in ECSI.paths if "COMP" not in p]


@pytest.fixture(scope="module")
def satisfaction(reference_dir: Path) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "pls" / "satisfaction.csv", index_col=0)


# ------------------------------------------------------------------ published cSEM example
# cSEM (Rademaker & Schuberth), README.md "Example" (github.com/FloSchuberth/cSEM, commit
# 69ad003): csem(satisfaction, model) with its defaults, i.e. PLSc with the path scheme on
# standardized items; IMAG, EXPE, QUAL, VAL composites (mode B), SAT, LOY common factors
# (mode A). Values printed by summarize() and assess() to 4 decimals.
CSEM_BLOCKS = {
    "IMAG": ["imag1", "imag2", "imag3"],
    "EXPE": ["expe1", "expe2", "expe3"],
    "QUAL": [f"qual{i}" for i in range(1, 6)],
    "VAL": ["val1", "val2", "val3"],
    "SAT": [f"sat{i}" for i in range(1, 5)],
    "LOY": [f"loy{i}" for i in range(1, 5)],
}
CSEM_MODES = {"IMAG": "B", "EXPE": "B", "QUAL": "B", "VAL": "B", "SAT": "A", "LOY": "A"}
CSEM_PATHS = {  # "Estimated path coefficients"
    "IMAG -> EXPE": 0.4714,
    "EXPE -> QUAL": 0.8344,
    "EXPE -> VAL": 0.0457,
    "QUAL -> VAL": 0.7013,
    "IMAG -> SAT": 0.2450,
    "EXPE -> SAT": -0.0172,
    "QUAL -> SAT": 0.2215,
    "VAL -> SAT": 0.5270,
    "IMAG -> LOY": 0.1819,
    "SAT -> LOY": 0.6283,
}
CSEM_LOADINGS = {  # "Estimated loadings" (consistent for SAT and LOY)
    "imag1": 0.6306, "imag2": 0.9246, "imag3": 0.9577,
    "expe1": 0.7525, "expe2": 0.9348, "expe3": 0.7295,
    "qual1": 0.7861, "qual2": 0.9244, "qual3": 0.7560, "qual4": 0.7632, "qual5": 0.7834,
    "val1": 0.9518, "val2": 0.8056, "val3": 0.6763,
    "sat1": 0.9243, "sat2": 0.8813, "sat3": 0.7127, "sat4": 0.7756,
    "loy1": 0.9097, "loy2": 0.5775, "loy3": 0.9043, "loy4": 0.4917,
}  # fmt: skip
CSEM_WEIGHTS = {  # "Estimated weights"
    "imag1": 0.0156, "imag2": 0.4473, "imag3": 0.6020,
    "expe1": 0.2946, "expe2": 0.6473, "expe3": 0.2374,
    "qual1": 0.2370, "qual2": 0.4712, "qual3": 0.1831, "qual4": 0.1037, "qual5": 0.2049,
    "val1": 0.7163, "val2": 0.2202, "val3": 0.2082,
    "sat1": 0.3209, "sat2": 0.3059, "sat3": 0.2474, "sat4": 0.2692,
    "loy1": 0.3834, "loy2": 0.2434, "loy3": 0.3812, "loy4": 0.2073,
}  # fmt: skip
CSEM_TOTAL = {  # "Estimated total effects" not already direct paths
    "IMAG -> QUAL": 0.3933,
    "IMAG -> VAL": 0.2974,
    "EXPE -> VAL": 0.6309,
    "IMAG -> SAT": 0.4807,
    "EXPE -> SAT": 0.5001,
    "QUAL -> SAT": 0.5911,
    "IMAG -> LOY": 0.4840,
    "EXPE -> LOY": 0.3142,
    "QUAL -> LOY": 0.3714,
    "VAL -> LOY": 0.3311,
}
CSEM_R2 = {"EXPE": 0.2222, "QUAL": 0.6963, "VAL": 0.5474, "SAT": 0.7624, "LOY": 0.5868}
CSEM_R2_ADJ = {"EXPE": 0.2190, "QUAL": 0.6951, "VAL": 0.5438, "SAT": 0.7585, "LOY": 0.5834}
CSEM_RHO_A = {"SAT": 0.9051, "LOY": 0.8761}  # "Dijkstra-Henselers_rho_A"
CSEM_AVE = {"SAT": 0.6851, "LOY": 0.5552}
CSEM_RHO_C = {"SAT": 0.8960, "LOY": 0.8237}  # "Joereskogs_rho" (consistent loadings)
# 4 decimals printed (half-unit 5e-5) plus cSEM's own stopping rule (max |Δw| < 1e-5).
CSEM_TOL = 1e-4


@pytest.fixture(scope="module")
def csem_fit(satisfaction):
    return fit_pls(
        satisfaction,
        blocks=CSEM_BLOCKS,
        paths=[tuple(k.split(" -> ")) for k in CSEM_PATHS],
        modes=CSEM_MODES,  # type: ignore[arg-type]
        scheme="path",
        tol=1e-10,
        consistent=True,
    )


def test_matches_published_csem_plsc_example(csem_fit):
    res = csem_fit
    assert res.estimator == "plsc"
    assert_allclose(
        res.paths.loc[list(CSEM_PATHS), "estimate"], list(CSEM_PATHS.values()), atol=CSEM_TOL
    )
    om = res.outer_model
    assert_allclose(
        om.loc[list(CSEM_LOADINGS), "loading"], list(CSEM_LOADINGS.values()), atol=CSEM_TOL
    )
    assert_allclose(
        om.loc[list(CSEM_WEIGHTS), "weight"], list(CSEM_WEIGHTS.values()), atol=CSEM_TOL
    )
    total = res.effects["total"]
    assert_allclose(total[list(CSEM_TOTAL)], list(CSEM_TOTAL.values()), atol=CSEM_TOL)
    inner = res.inner_summary
    assert_allclose(inner.loc[list(CSEM_R2), "r_squared"], list(CSEM_R2.values()), atol=CSEM_TOL)
    adj = inner.loc[list(CSEM_R2_ADJ), "adj_r_squared"]
    assert_allclose(adj, list(CSEM_R2_ADJ.values()), atol=CSEM_TOL)
    assert_allclose(inner.loc[list(CSEM_AVE), "ave"], list(CSEM_AVE.values()), atol=CSEM_TOL)
    uni = res.unidim
    assert_allclose(uni.loc[list(CSEM_RHO_A), "rho_a"], list(CSEM_RHO_A.values()), atol=CSEM_TOL)
    rho_c = uni.loc[list(CSEM_RHO_C), "composite_reliability"]
    assert_allclose(rho_c, list(CSEM_RHO_C.values()), atol=CSEM_TOL)
    # composites (mode B) are not corrected: ρ_A = 1 as seminr reports it (the composite
    # is its construct), and their loadings are PLS loadings
    assert (uni.loc[["IMAG", "EXPE", "QUAL", "VAL"], "rho_a"] == 1.0).all()


# ------------------------------------------------------------------ ρ_A from the formula
def _rho_a_by_hand(S: np.ndarray, w: np.ndarray) -> float:
    """Dijkstra & Henseler (2015), eq. (7), written out with numpy matrices."""
    assert w @ S @ w == pytest.approx(1.0)  # the paper's scaling: unit-variance composite
    ww = np.outer(w, w)
    num = w @ (S - np.diag(np.diag(S))) @ w
    den = w @ (ww - np.diag(np.diag(ww))) @ w
    return float((w @ w) ** 2 * num / den)


@pytest.mark.parametrize("scaled", [False, True])
def test_rho_a_matches_its_formula_on_the_plspm_data(satisfaction, scaled):
    """The reference call (scaled=False: covariances of the centred items) and scaled=True."""
    pls = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, scaled=scaled)
    assert pls.estimator == "pls"
    expected = {}
    for lv, items in BLOCKS.items():
        x = satisfaction[items].to_numpy(dtype=float)
        S = np.corrcoef(x, rowvar=False) if scaled else np.cov(x, rowvar=False, ddof=0)
        expected[lv] = _rho_a_by_hand(S, pls.outer_model.loc[items, "weight"].to_numpy())
    rho = pd.Series(expected)
    assert_allclose(pls.unidim.loc[list(BLOCKS), "rho_a"], rho, atol=1e-10)
    assert ((rho > 0.8) & (rho < 0.95)).all()
    # the (standardized) Cronbach's α is the smaller reliability on these data
    assert (pls.unidim["cronbach_alpha"] < pls.unidim["rho_a"]).all()


def test_plsc_by_hand_on_the_plspm_data(satisfaction):
    """Consistent loadings, disattenuated correlations and the SAT regression by hand."""
    pls = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS)
    plsc = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, consistent=True)
    assert plsc.estimator == "plsc"
    rho = pls.unidim.loc[list(BLOCKS), "rho_a"]
    assert_allclose(plsc.unidim.loc[list(BLOCKS), "rho_a"], rho, atol=0)
    for lv, items in BLOCKS.items():  # λ = w·√ρ_A / (w'w) on standardized items
        w = pls.outer_model.loc[items, "weight"].to_numpy()
        lam = w * np.sqrt(rho[lv]) / (w @ w)
        assert_allclose(plsc.outer_model.loc[items, "loading"], lam, atol=1e-10)
    lat = list(BLOCKS)
    r = np.corrcoef(pls.scores[lat].to_numpy(), rowvar=False)
    q = np.sqrt(rho.to_numpy())
    corrected = r / np.outer(q, q)
    np.fill_diagonal(corrected, 1.0)
    assert_allclose(plsc.latent_correlations.loc[lat, lat], corrected, atol=1e-10)
    preds = ["IMAG", "EXPE", "QUAL", "VAL"]
    P, k = [lat.index(p) for p in preds], lat.index("SAT")
    beta = np.linalg.solve(corrected[np.ix_(P, P)], corrected[P, k])
    got = plsc.paths.loc[[f"{p} -> SAT" for p in preds], "estimate"]
    assert_allclose(got, beta, atol=1e-8)
    assert plsc.inner_summary.loc["SAT", "r_squared"] == pytest.approx(beta @ corrected[P, k])
    communality = plsc.outer_model.loc[BLOCKS["SAT"], "loading"] ** 2  # AVE, consistent
    assert plsc.inner_summary.loc["SAT", "ave"] == pytest.approx(communality.mean())
    # weights and scores are PLS's own; PLS's OLS paths differ
    assert_allclose(plsc.outer_model["weight"], pls.outer_model["weight"], atol=0)
    assert_allclose(plsc.scores, pls.scores, atol=0)
    assert not np.allclose(plsc.paths["estimate"], pls.paths["estimate"], atol=0.01)


# ------------------------------------------------------------------ inference
def _csem_model(data: pd.DataFrame, **kwargs):
    return fit_pls(
        data,
        blocks=CSEM_BLOCKS,
        paths=[tuple(k.split(" -> ")) for k in CSEM_PATHS],
        modes=CSEM_MODES,  # type: ignore[arg-type]
        scheme="path",
        consistent=True,
        **kwargs,
    )


def test_standard_errors_come_from_the_bootstrap(satisfaction, csem_fit):
    assert csem_fit.paths[["std_error", "t", "p_value"]].isna().all().all()
    boot = _csem_model(satisfaction, tol=1e-10, bootstrap=300, seed=3)
    assert boot.bootstrap is not None
    assert boot.bootstrap.n_resamples == 300
    b = boot.bootstrap.paths
    assert_allclose(b["original"], boot.paths["estimate"], atol=0)
    assert_allclose(boot.paths["estimate"], csem_fit.paths["estimate"], atol=0)
    assert_allclose(boot.paths["std_error"], b["std_error"], atol=0)
    assert_allclose(boot.paths["t"], boot.paths["estimate"] / b["std_error"])
    df = len(satisfaction) - 4 - 1  # SAT has four predecessors
    sat = boot.paths.loc["VAL -> SAT"]
    assert sat["p_value"] == pytest.approx(2 * stats.t.sf(abs(sat["t"]), df))
    assert (b["std_error"] > 0.01).all()
    assert (b["std_error"] < 0.15).all()
    assert (b["lower"] < b["original"]).all()
    assert (b["original"] < b["upper"]).all()
    # corrected R² and effects are bootstrapped too
    assert_allclose(
        boot.bootstrap.r_squared["original"],
        boot.inner_summary.loc[list(boot.bootstrap.r_squared.index), "r_squared"],
        atol=0,
    )


@pytest.mark.parametrize("scaled", [True, False])
def test_vectorised_bootstrap_matches_direct_refits(satisfaction, scaled):
    res = _csem_model(satisfaction, scaled=scaled, bootstrap=3, seed=5)
    assert res.bootstrap is not None
    assert res.bootstrap.n_discarded == 0
    idx = np.random.default_rng(5).integers(0, len(satisfaction), size=(3, len(satisfaction)))
    reps = res.bootstrap.replicates
    for r in range(3):
        refit = _csem_model(satisfaction.iloc[idx[r]], scaled=scaled)
        assert_allclose(reps["paths"].iloc[r], refit.paths["estimate"], atol=1e-10)
        assert_allclose(reps["loadings"].iloc[r], refit.outer_model["loading"], atol=1e-10)
        r2 = refit.inner_summary.loc[list(reps["r_squared"].columns), "r_squared"]
        assert_allclose(reps["r_squared"].iloc[r], r2, atol=1e-10)


def test_bca_interval_with_plsc(satisfaction):
    res = _csem_model(satisfaction, bootstrap=300, seed=2, interval="bca")
    pct = _csem_model(satisfaction, bootstrap=300, seed=2)
    assert res.bootstrap is not None
    assert pct.bootstrap is not None
    assert res.bootstrap.jackknife is not None
    b = res.bootstrap.paths
    assert np.isfinite(b[["lower", "upper"]].to_numpy()).all()
    assert (b["lower"] < b["original"]).all()
    assert (b["original"] < b["upper"]).all()
    assert not np.allclose(b["lower"], pct.bootstrap.paths["lower"])


# ------------------------------------------------------------------ recovery (simulator)
def _discretization_correlation(lo: int, hi: int) -> float:
    """corr(answer, Z) for the simulator's answer clip(rint(mid + R(CSI_LEVEL + CSI_SD Z)))."""
    mid, rng = (lo + hi) / 2, hi - lo
    mu, sd = mid + rng * CSI_LEVEL, rng * CSI_SD
    k = np.arange(lo, hi + 1, dtype=float)
    a = np.where(k == lo, -np.inf, (k - 0.5 - mu) / sd)
    b = np.where(k == hi, np.inf, (k + 0.5 - mu) / sd)
    p = stats.norm.cdf(b) - stats.norm.cdf(a)
    m1, m2 = (k * p).sum(), (k * k * p).sum()
    cov = (k * (stats.norm.pdf(a) - stats.norm.pdf(b))).sum()  # E[answer · Z]
    return float(cov / np.sqrt(m2 - m1**2))


def _plsc_target(truth: dict, blocks: dict, paths: list, scale: tuple[int, int]) -> dict:
    """The paths PLSc estimates consistently: the truth, except where a single item is involved.

    A single-item block has ρ_A = 1, so PLSc treats the item itself as the construct. Its
    correlations with the other latents are the true ones times the item's own loading
    (times the rounding to the answer scale); regressions that involve it are computed on
    that matrix. Every other correlation is the true one (PLSc corrects their error).
    """
    preds = {lv: [a for a, b in paths if b == lv] for lv in blocks}
    order: list[str] = []
    while len(order) < len(blocks):
        order += [lv for lv in blocks if lv not in order and all(p in order for p in preds[lv])]
    ix = {lv: i for i, lv in enumerate(order)}
    phi = np.eye(len(order))  # implied correlations of the standardized recursive model
    for lv in order:
        if preds[lv]:
            j = [ix[p] for p in preds[lv]]
            beta = np.array([truth["paths"][f"{p}->{lv}"] for p in preds[lv]])
            phi[ix[lv], :] = phi[:, ix[lv]] = phi[:, j] @ beta
            phi[ix[lv], ix[lv]] = 1.0
    c = _discretization_correlation(*scale)
    att = np.array(
        [truth["loadings"][blocks[lv][0]] * c if len(blocks[lv]) == 1 else 1.0 for lv in order]
    )
    phi = phi * np.outer(att, att)
    np.fill_diagonal(phi, 1.0)
    out = {}
    for lv in order:
        if preds[lv]:
            j = [ix[p] for p in preds[lv]]
            beta = np.linalg.solve(phi[np.ix_(j, j)], phi[j, ix[lv]])
            out.update({f"{p} -> {lv}": float(b) for p, b in zip(preds[lv], beta, strict=True)})
    return out


@pytest.fixture(scope="module", params=["acsi", "ccsi", "ecsi_mobile"])
def recovery(request):
    q = qn.builtin(request.param)
    sim = simulate(q, 5000, seed=4)
    data = sim.data[~sim.data["suspect"].astype(bool)]
    plsc = instrument.score(q, "csi", data, consistent=True, bootstrap=200, seed=1).pls
    pls = instrument.score(q, "csi", data).pls
    kw = instrument.csi_kwargs(q)
    scales = set(kw["scale"].values())
    assert len(scales) == 1
    truth = sim.truth.to_dict()
    target = _plsc_target(truth, kw["blocks"], [tuple(p) for p in kw["paths"]], scales.pop())
    names = list(plsc.paths.index)
    return {
        "name": request.param,
        "single": [lv for lv, cols in kw["blocks"].items() if len(cols) == 1],
        "true": pd.Series({k: truth["paths"][k.replace(" -> ", "->")] for k in names}),
        "target": pd.Series(target)[names],
        "plsc": plsc,
        "pls": pls,
    }


def test_plsc_recovers_the_simulated_paths(recovery):
    plsc, target, true = recovery["plsc"], recovery["target"], recovery["true"]
    assert plsc.n_obs > 2500  # 5,000 simulated, suspects and incomplete rows dropped
    assert plsc.bootstrap is not None
    assert plsc.bootstrap.n_discarded == 0
    se = plsc.paths["std_error"]
    assert (se > 0).all()
    z = (plsc.paths["estimate"] - target) / se
    assert (z.abs() < 3).all(), z.round(2).to_dict()
    # in equations without a single-item latent the target is the simulator's own truth
    paths = recovery["plsc"].paths
    with_single = {
        to
        for to in paths["to"]
        if {to, *paths.loc[paths["to"] == to, "from"]} & set(recovery["single"])
    }
    touched = [k for k in true.index if paths.loc[k, "to"] in with_single]
    clean = [k for k in true.index if k not in touched]
    assert len(clean) >= 6
    assert_allclose(target[clean], true[clean], atol=1e-12)
    if recovery["name"] == "ccsi":  # no single-item block: every path is the truth
        assert not touched
    else:  # paths into and out of a single-item complaints block stay attenuated
        assert touched
        ends = [k for k in touched if set(k.split(" -> ")) & set(recovery["single"])]
        assert ends
        assert (target[ends].abs() < true[ends].abs() - 0.03).all()


def test_plain_pls_is_attenuated(recovery):
    pls, plsc = recovery["pls"], recovery["plsc"]
    true, target = recovery["true"], recovery["target"]
    est = pls.paths["estimate"]
    assert (est.abs() < true.abs()).mean() >= 2 / 3
    assert (est.abs() / true.abs()).mean() < 0.93
    # PLS misses the truth by more than 3 SE somewhere; PLSc is closer on average
    assert ((est - target).abs() > 3 * plsc.paths["std_error"]).any()
    plsc_error = (plsc.paths["estimate"] - target).abs().mean()
    assert (est - target).abs().mean() > 1.5 * plsc_error


# ------------------------------------------------------------------ perfect reliability
def _latents(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    m = 0.5 * x + rng.normal(size=n)
    y = 0.3 * x + 0.4 * m + rng.normal(size=n)
    return pd.DataFrame({"x": x, "m": m, "y": y})


SMALL_PATHS = [("X", "M"), ("X", "Y"), ("M", "Y")]


def _same(a, b, atol):
    assert_allclose(a.paths["estimate"], b.paths["estimate"], atol=atol)
    assert_allclose(a.inner_summary["r_squared"], b.inner_summary["r_squared"], atol=atol)
    assert_allclose(a.effects["total"], b.effects["total"], atol=atol)
    assert_allclose(a.outer_model["loading"], b.outer_model["loading"], atol=atol)
    assert_allclose(a.latent_correlations, b.latent_correlations, atol=atol)


def test_single_item_blocks_give_pls():
    data = _latents(300, seed=1)
    blocks = {"X": ["x"], "M": ["m"], "Y": ["y"]}
    pls = fit_pls(data, blocks=blocks, paths=SMALL_PATHS)
    plsc = fit_pls(data, blocks=blocks, paths=SMALL_PATHS, consistent=True)
    assert (plsc.unidim["rho_a"] == 1.0).all()
    _same(plsc, pls, atol=1e-12)


def test_error_free_multi_item_blocks_give_pls():
    """Items that are exact positive rescalings of their latent: ρ_A = 1, PLSc = PLS."""
    lat = _latents(300, seed=2)
    data = pd.DataFrame(
        {f"{c}{i}": (i + 1) * lat[c] + 3 * i for c in ("x", "m", "y") for i in range(3)}
    )
    blocks = {c.upper(): [f"{c}{i}" for i in range(3)] for c in ("x", "m", "y")}
    for scaled in (True, False):
        pls = fit_pls(data, blocks=blocks, paths=SMALL_PATHS, scaled=scaled)
        plsc = fit_pls(data, blocks=blocks, paths=SMALL_PATHS, scaled=scaled, consistent=True)
        assert_allclose(plsc.unidim["rho_a"], 1.0, atol=1e-10)
        _same(plsc, pls, atol=1e-9)


# ------------------------------------------------------------------ properties
@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    item=st.sampled_from([c for cols in BLOCKS.values() for c in cols]),
    factor=st.floats(0.05, 50),
    shift=st.floats(-100, 100),
)
def test_invariant_to_positive_rescaling_of_an_item(satisfaction, item, factor, shift):
    base = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, consistent=True)
    moved = satisfaction.assign(**{item: satisfaction[item] * factor + shift})
    res = fit_pls(moved, blocks=BLOCKS, paths=PATHS, consistent=True)
    assert_allclose(res.paths["estimate"], base.paths["estimate"], atol=1e-9)
    assert_allclose(res.unidim["rho_a"], base.unidim["rho_a"], atol=1e-9)
    assert_allclose(res.outer_model["loading"], base.outer_model["loading"], atol=1e-9)


def test_fit_csi_passes_consistent_through(satisfaction):
    """ECSI without complaints is the cSEM example model: its numbers come through."""
    kwargs = {"blocks": CSEM_BLOCKS, "model": "ecsi", "scale": (0, 10), "modes": CSEM_MODES}
    kwargs |= {"scheme": "path", "scaled": True, "tol": 1e-10}
    plain = fit_csi(satisfaction, **kwargs)
    plsc = fit_csi(satisfaction, **kwargs, consistent=True)
    assert plsc.pls.estimator == "plsc"
    assert plain.pls.estimator == "pls"
    assert_allclose(plsc.indices["index"], plain.indices["index"], atol=0)  # same weights
    r2 = plsc.indices.loc[list(CSEM_R2), "r_squared"]
    assert_allclose(r2, list(CSEM_R2.values()), atol=CSEM_TOL)
    drivers = ["IMAG", "EXPE", "QUAL", "VAL"]
    published = [
        CSEM_TOTAL[f"{d} -> SAT"] if d != "VAL" else CSEM_PATHS["VAL -> SAT"] for d in drivers
    ]
    assert_allclose(plsc.indices.loc[drivers, "total_effect"], published, atol=CSEM_TOL)
    # composites are not corrected; the common factors' R² rises
    r2_plain = plain.indices["r_squared"]
    assert_allclose(plsc.indices.loc[drivers, "r_squared"], r2_plain[drivers], atol=1e-12)
    assert (plsc.indices.loc[["SAT", "LOY"], "r_squared"] > r2_plain[["SAT", "LOY"]] + 0.05).all()


# ------------------------------------------------------------------ Heywood cases, bad input
def _two_blocks(n: int, seed: int, x2_signal: float) -> pd.DataFrame:
    """X and Y measure one latent; x2 carries little of it (an unreliable X block)."""
    rng = np.random.default_rng(seed)
    eta = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x1": eta + 0.3 * rng.normal(size=n),
            "x2": x2_signal * eta + rng.normal(size=n),
            "y1": eta + 0.3 * rng.normal(size=n),
            "y2": eta + 0.3 * rng.normal(size=n),
        }
    )


TWO = {"X": ["x1", "x2"], "Y": ["y1", "y2"]}


def test_heywood_case_is_refused_with_a_named_error():
    data = _two_blocks(400, seed=0, x2_signal=0.25)
    pls = fit_pls(data, blocks=TWO, paths=[("X", "Y")])  # PLS itself is fine
    r, rho = pls.latent_correlations.loc["X", "Y"], pls.unidim["rho_a"]
    assert r / np.sqrt(rho["X"] * rho["Y"]) > 1  # the corrected correlation exceeds 1
    with pytest.raises(HeywoodCaseError, match=r"Heywood case.*'X' and 'Y'.*consistent=False"):
        fit_pls(data, blocks=TWO, paths=[("X", "Y")], consistent=True)
    assert issubclass(HeywoodCaseError, DataError)


def test_heywood_case_is_returned_with_a_flag_on_request():
    """inadmissible="flag" returns the corrected solution with admissible=False."""
    data = _two_blocks(400, seed=0, x2_signal=0.25)
    with pytest.warns(UserWarning, match=r"Heywood case.*'X' and 'Y'.*admissible=False"):
        res = fit_pls(data, blocks=TWO, paths=[("X", "Y")], consistent=True, inadmissible="flag")
    assert res.admissible is False
    pls = fit_pls(data, blocks=TWO, paths=[("X", "Y")])
    rho = pls.unidim["rho_a"]
    expected = pls.latent_correlations.loc["X", "Y"] / np.sqrt(rho["X"] * rho["Y"])
    assert expected > 1
    assert res.paths.loc["X -> Y", "estimate"] == pytest.approx(expected, rel=1e-12)
    assert res.to_dict()["admissible"] is False
    # the default still refuses, and an admissible fit says so
    with pytest.raises(HeywoodCaseError):
        fit_pls(data, blocks=TWO, paths=[("X", "Y")], consistent=True)
    rng = np.random.default_rng(1)
    eta = rng.normal(size=400)
    zeta = 0.5 * eta + rng.normal(size=400)
    fine = pd.DataFrame(
        {c: (eta if c[0] == "x" else zeta) + 0.5 * rng.normal(size=400) for c in data}
    )
    ok = fit_pls(fine, blocks=TWO, paths=[("X", "Y")], consistent=True, inadmissible="flag")
    assert ok.admissible is True


def test_negative_reliability_is_a_heywood_case():
    """a1 and a2 both follow the latent but correlate negatively with each other."""
    rng = np.random.default_rng(4)
    eta, u = rng.normal(size=300), 1.5 * rng.normal(size=300)
    data = pd.DataFrame(
        {
            "a1": eta + u,
            "a2": eta - u,
            "b1": eta + 0.5 * rng.normal(size=300),
            "b2": eta + 0.5 * rng.normal(size=300),
        }
    )
    assert np.corrcoef(data["a1"], data["a2"])[0, 1] < 0
    blocks = {"A": ["a1", "a2"], "B": ["b1", "b2"]}
    pls = fit_pls(data, blocks=blocks, paths=[("A", "B")])
    assert pls.unidim.loc["A", "rho_a"] < 0
    with pytest.raises(HeywoodCaseError, match=r"block 'A' has reliability rho_A = -"):
        fit_pls(data, blocks=blocks, paths=[("A", "B")], consistent=True)
    # a negative reliability leaves nothing to correct: refused even when flagging
    with pytest.raises(HeywoodCaseError, match=r"block 'A' has reliability rho_A = -"):
        fit_pls(data, blocks=blocks, paths=[("A", "B")], consistent=True, inadmissible="flag")


def test_plspm_reference_model_is_a_heywood_case_unscaled(satisfaction):
    """Real data: EXPE and QUAL are nearly one construct (corrected r = 0.98).

    On the covariance metric of the reference call (scaled=False) the disattenuated
    matrix is not positive semi-definite and VAL's R² would exceed 1.
    """
    pls = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, scaled=False)
    lat = list(BLOCKS)
    q = np.sqrt(pls.unidim.loc[lat, "rho_a"].to_numpy())
    corrected = pls.latent_correlations.loc[lat, lat].to_numpy() / np.outer(q, q)
    np.fill_diagonal(corrected, 1.0)
    assert np.linalg.eigvalsh(corrected)[0] < -1e-3
    P, k = [lat.index("EXPE"), lat.index("QUAL")], lat.index("VAL")
    beta = np.linalg.solve(corrected[np.ix_(P, P)], corrected[P, k])
    assert beta @ corrected[P, k] > 1  # an impossible R²
    with pytest.raises(HeywoodCaseError, match="not positive semi-definite"):
        fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, scaled=False, consistent=True)


def test_loading_beyond_one_warns_but_fits():
    """A mode-A block whose weights come from the other block: loadings over 1."""
    rng = np.random.default_rng(8)
    eta, other = rng.normal(size=500), rng.normal(size=500)
    zeta = 0.7 * eta + np.sqrt(1 - 0.49) * rng.normal(size=500)
    data = pd.DataFrame(
        {
            "x1": eta + 0.2 * rng.normal(size=500),
            "x2": 0.5 * eta + other,  # correlates with the block mostly through noise
            "x3": 0.5 * eta + other + 0.3 * rng.normal(size=500),
            "y1": zeta + 0.4 * rng.normal(size=500),
            "y2": zeta + 0.4 * rng.normal(size=500),
        }
    )
    blocks = {"X": ["x1", "x2", "x3"], "Y": ["y1", "y2"]}
    with pytest.warns(UserWarning, match=r"consistent loading\(s\) beyond ±1"):
        res = fit_pls(data, blocks=blocks, paths=[("X", "Y")], consistent=True)
    assert (res.outer_model["loading"].abs() > 1).any()
    assert -1 < res.paths["estimate"].iloc[0] < 1


def test_inadmissible_resamples_are_dropped_and_counted():
    # X and Y measure the same latent: the corrected correlation is 1 in the population,
    # so about a third of the resamples overshoot it
    rng = np.random.default_rng(0)
    eta = rng.normal(size=60)
    data = pd.DataFrame({c: eta + 0.5 * rng.normal(size=60) for c in ("x1", "x2", "y1", "y2")})
    with pytest.warns(UserWarning, match=r"resamples were inadmissible \(Heywood case"):
        res = fit_pls(data, blocks=TWO, paths=[("X", "Y")], consistent=True, bootstrap=300, seed=1)
    assert res.bootstrap is not None
    b = res.bootstrap
    assert 0 < b.n_discarded < 300
    assert b.n_resamples + b.n_discarded == 300
    assert len(b.replicates["paths"]) == b.n_resamples
    assert (b.replicates["paths"].abs() <= 1).all().all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = fit_pls(data, blocks=TWO, paths=[("X", "Y")], bootstrap=300, seed=1)
    assert plain.bootstrap is not None
    assert plain.bootstrap.n_discarded == 0


def test_consistent_must_be_a_bool(satisfaction):
    with pytest.raises(ValueError, match="consistent must be True or False; got 'yes'"):
        fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, consistent="yes")  # type: ignore[arg-type]
