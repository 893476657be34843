"""Customer satisfaction index models: the 0–100 index against plspm, CIs, segments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from scoring.csi import ACSI, CCSI, CSI_MODELS, ECSI, fit_csi
from scoring.errors import DataError, NegativeWeightError, SpecificationError
from scoring.pls import PlsResult

from .test_pls import BLOCKS, PATHS


@pytest.fixture(scope="module")
def satisfaction(reference_dir: Path) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "pls" / "satisfaction.csv", index_col=0)


@pytest.fixture(scope="module")
def plspm_weights(reference_dir: Path) -> pd.Series:
    return pd.read_csv(reference_dir / "pls" / "expected-outer-model.csv", index_col=0)["weight"]


@pytest.fixture(scope="module")
def ecsi(satisfaction):
    return fit_csi(
        satisfaction,
        blocks=BLOCKS,
        model="ecsi",
        scale=(0, 10),
        bootstrap=300,
        seed=4,
        segment="gender",
    )


def test_index_matches_plspm_rescaled_scores(ecsi, satisfaction, plspm_weights):
    """Reference README: on the 0-10 scale the index is 10 x the mean rescaled score,
    the rescaled score using R plspm's outer weights normalised to sum 1 per block."""
    for lv, items in BLOCKS.items():
        w = plspm_weights[items] / plspm_weights[items].sum()
        expected = 10 * (satisfaction[items] @ w).mean()
        assert ecsi.indices.loc[lv, "index"] == pytest.approx(expected, abs=1e-6)
        assert ecsi.respondent_index[lv].mean() == pytest.approx(expected, abs=1e-6)


def test_ecsi_without_complaints_is_the_plspm_model(ecsi):
    assert ecsi.dropped_latents == ["COMP"]
    assert sorted(ecsi.pls.paths.index) == sorted(f"{a} -> {b}" for a, b in PATHS)
    assert ecsi.target == "SAT"
    assert ecsi.indices.loc["SAT", "label"] == "Customer satisfaction"


def test_index_weights_table(ecsi):
    iw = ecsi.index_weights
    assert_allclose(iw.groupby("block")["rescaled_weight"].sum(), 1.0)
    assert_allclose(iw["raw_weight"], iw["weight"])  # scaled=False: weights are per raw unit
    assert (iw["scale_min"] == 0).all()
    assert (iw["scale_max"] == 10).all()


def test_index_bootstrap_intervals(ecsi, satisfaction):
    ix = ecsi.indices
    assert (ix["lower"] < ix["index"]).all()
    assert (ix["index"] < ix["upper"]).all()
    # the interval is the percentile interval of the index recomputed on each resample
    boot = ecsi.pls.bootstrap
    assert boot is not None
    items = BLOCKS["SAT"]
    w = boot.replicates["weights"][items]
    reps = 10 * ((w.div(w.sum(axis=1), axis=0)) * boot.replicates["item_means"][items]).sum(axis=1)
    assert ix.loc["SAT", "std_error"] == pytest.approx(reps.std(ddof=1))
    assert ix.loc["SAT", "lower"] == pytest.approx(np.quantile(reps, 0.025))
    # and roughly the standard error of a mean of 250 answers
    score = 10 * satisfaction[items].mean(axis=1)
    assert ix.loc["SAT", "std_error"] == pytest.approx(score.std() / np.sqrt(250), rel=0.25)
    again = fit_csi(satisfaction, blocks=BLOCKS, model="ecsi", scale=(0, 10), bootstrap=300, seed=4)
    assert_allclose(again.indices["lower"], ix["lower"])


def test_scaled_model_index_uses_raw_unit_weights(satisfaction):
    res = fit_csi(satisfaction, blocks=BLOCKS, paths=PATHS, scale=(0, 10), scaled=True)
    iw = res.index_weights
    sd = satisfaction[list(iw.index)].std(ddof=0)
    assert_allclose(iw["raw_weight"], iw["weight"] / sd)
    w = iw.loc[BLOCKS["VAL"], "rescaled_weight"]
    expected = 10 * (satisfaction[BLOCKS["VAL"]] @ w).mean()
    assert res.indices.loc["VAL", "index"] == pytest.approx(expected, abs=1e-10)


def test_segments_pooled_and_separate(ecsi, satisfaction):
    seg = ecsi.segments
    assert seg is not None
    w = ecsi.index_weights["rescaled_weight"]
    male = satisfaction[satisfaction["gender"] == "male"]
    items = BLOCKS["LOY"]
    expected = 10 * (male[items] @ w[items]).mean()
    got = seg[(seg["segment"] == "male") & (seg["latent"] == "LOY")]
    assert got["index"].item() == pytest.approx(expected)
    assert got["n"].item() == len(male)
    sep = fit_csi(
        satisfaction,
        blocks=BLOCKS,
        paths=PATHS,
        scale=(0, 10),
        segment="gender",
        segment_weights="separate",
    )
    alone = fit_csi(male, blocks=BLOCKS, paths=PATHS, scale=(0, 10))
    assert sep.segments is not None
    s = sep.segments[sep.segments["segment"] == "male"].set_index("latent")["index"]
    assert_allclose(s[list(BLOCKS)], alone.indices["index"][list(BLOCKS)], atol=1e-10)


def test_importance_performance_ranks_drivers_of_satisfaction(ecsi, satisfaction):
    std = fit_csi(satisfaction, blocks=BLOCKS, model="ecsi", scale=(0, 10), ipma="standardized")
    ipa = std.importance_performance
    assert std.ipma == "standardized"
    assert set(ipa.index) == {"IMAG", "EXPE", "QUAL", "VAL"}
    effects = std.pls.effects.set_index("from")
    sat = effects[effects["to"] == "SAT"]["total"]
    assert_allclose(ipa["importance"], sat[ipa.index])
    assert_allclose(ipa["performance"], std.indices.loc[ipa.index, "index"])
    assert list(ipa["priority"]) == [1, 2, 3, 4]
    assert ipa["potential"].is_monotonic_decreasing
    assert ipa.index[0] == "VAL"  # largest total effect, below-average index


def test_ipma_uses_unstandardized_total_effects_of_the_0_100_scores(ecsi, satisfaction):
    """SmartPLS's IPMA: OLS on the 0-100 latent scores (statsmodels), effects multiplied out."""
    import statsmodels.api as sm

    sc = ecsi.respondent_index
    coef = {}
    for dep in {b for _, b in ecsi.pls.paths[["from", "to"]].itertuples(index=False)}:
        preds = list(ecsi.pls.paths.loc[ecsi.pls.paths["to"] == dep, "from"])
        fit = sm.OLS(sc[dep], sm.add_constant(sc[preds])).fit()
        coef.update({(p, dep): fit.params[p] for p in preds})

    # total effects on SAT: sum over directed paths of the products of coefficients
    def total(a: str, b: str) -> float:
        return sum(c * (1.0 if t == b else total(t, b)) for (f, t), c in coef.items() if f == a)

    ipa = ecsi.importance_performance
    assert ecsi.ipma == "unstandardized"
    for drv in ipa.index:
        assert ipa.loc[drv, "importance"] == pytest.approx(total(drv, "SAT"), rel=1e-9)
        assert ecsi.indices.loc[drv, "total_effect_unstandardized"] == pytest.approx(
            total(drv, "SAT"), rel=1e-9
        )
    assert_allclose(ipa["performance"], ecsi.indices.loc[ipa.index, "index"])
    with pytest.raises(SpecificationError, match="ipma must be one of"):
        fit_csi(satisfaction, blocks=BLOCKS, model="ecsi", scale=(0, 10), ipma="raw")


def _simulate_model(model, n=600, seed=0) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Items on 1-10 for every latent of ``model``, latents chained along its paths."""
    rng = np.random.default_rng(seed)
    lv: dict[str, np.ndarray] = {}
    for name in model.latents:
        parents = [a for a, b in model.paths if b == name]
        lv[name] = sum((0.4 * lv[p] for p in parents), rng.normal(size=n))
    cols, blocks = {}, {}
    for name, v in lv.items():
        v = (v - v.mean()) / v.std()
        blocks[name] = [f"{name.lower()}{i}" for i in range(3)]
        for c in blocks[name]:
            cols[c] = np.clip(np.round(7 + 1.5 * v + rng.normal(size=n)), 1, 10)
    return pd.DataFrame(cols), blocks


@pytest.mark.parametrize("model", [ACSI, ECSI, CCSI])
def test_builtin_models_fit(model):
    data, blocks = _simulate_model(model)
    res = fit_csi(data, blocks=blocks, model=model.name, scale=(1, 10))
    assert res.dropped_latents == []
    assert len(res.pls.paths) == len(model.paths)
    assert (res.pls.paths["estimate"] > 0).all()
    assert res.indices["index"].between(0, 100).all()
    assert CSI_MODELS[model.name] is model


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "xcsi"}, ValueError, "model must be one of 'acsi', 'ecsi', 'ccsi'"),
        ({"model": "acsi"}, SpecificationError, r"latent\(s\) \['IMAG'\] that the ACSI"),
        ({}, SpecificationError, "needs paths or a model"),
        ({"paths": PATHS, "target": "CS"}, SpecificationError, "target latent 'CS'"),
        ({"paths": PATHS, "scale": (1, 10)}, DataError, "must hold answers in \\[1, 10\\]"),
        ({"paths": PATHS, "scale": (10, 0)}, ValueError, "max > min"),
        ({"paths": PATHS, "scale": {"IMAG": (0, 10)}}, SpecificationError, "no \\(min, max\\)"),
        ({"paths": PATHS, "segment": "region"}, DataError, "missing column"),
        (
            {"paths": PATHS, "segment_weights": "own"},
            ValueError,
            "segment_weights must be one of",
        ),
    ],
)
def test_bad_input(satisfaction, kwargs, error, match):
    args = {"blocks": BLOCKS, "scale": (0, 10)} | kwargs
    with pytest.raises(error, match=match):
        fit_csi(satisfaction, **args)


def _negatively_keyed(n: int = 300) -> pd.DataFrame:
    """QUAL -> SAT data on 1-10 where s3 is worded against s1 and s2 (and stored raw)."""
    rng = np.random.default_rng(1)
    q = rng.normal(size=n)
    s = 0.7 * q + 0.7 * rng.normal(size=n)
    cols = {"q1": q, "q2": q, "s1": s, "s2": s, "s3": -s}
    return pd.DataFrame(
        {k: np.clip(np.round(5.5 + 1.5 * v + rng.normal(size=n)), 1, 10) for k, v in cols.items()}
    ).assign(region=np.where(np.arange(n) < 240, "north", "south"))


NEG_BLOCKS = {"QUAL": ["q1", "q2"], "SAT": ["s1", "s2", "s3"]}
NEG_ARGS = {"blocks": NEG_BLOCKS, "paths": [("QUAL", "SAT")], "scale": (1, 10)}


def test_negative_weight_is_refused_with_block_item_and_fix():
    data = _negatively_keyed()
    with pytest.raises(NegativeWeightError, match=r"block 'SAT' gives item\(s\) 's3'") as exc:
        fit_csi(data, **NEG_ARGS)
    assert "declare it reverse-coded" in str(exc.value)
    assert "negative_weights='allow'" in str(exc.value)
    assert isinstance(exc.value, SpecificationError)
    with pytest.raises(SpecificationError, match="negative_weights must be one of"):
        fit_csi(data, **NEG_ARGS, negative_weights="ignore")


def test_separate_segment_fits_apply_the_rule_to_their_own_weights():
    data = _negatively_keyed()
    # s3 is worded against its block in the south only: the pooled weights stay positive
    south = data["region"] == "south"
    data.loc[~south, "s3"] = 11 - data.loc[~south, "s3"]
    args = {**NEG_ARGS, "segment": "region", "segment_weights": "separate"}
    assert fit_csi(data, **NEG_ARGS).interpretable
    with pytest.raises(NegativeWeightError, match=r"segment region='south' of block 'SAT'"):
        fit_csi(data, **args)
    res = fit_csi(data, **args, negative_weights="allow")
    assert res.segments is not None
    flags = res.segments.set_index(["segment", "latent"])["interpretable"]
    assert not flags[("south", "SAT")]
    assert flags.drop(("south", "SAT")).all()


def test_negative_weight_allowed_is_flagged():
    res = fit_csi(_negatively_keyed(), **NEG_ARGS, negative_weights="allow")
    assert not res.interpretable
    assert res.indices["interpretable"].to_dict() == {"QUAL": True, "SAT": False}
    assert res.index_weights.loc["s3", "rescaled_weight"] < 0
    assert not res.respondent_index["SAT"].between(0, 100).all()  # why it is refused
    assert res.to_dict()["interpretable"] is False
    assert res.parameters["negative_weights"] == "allow"
    summary = res.summary().set_index("latent")
    assert not summary.loc["SAT", "interpretable"]


def test_reverse_coded_item_gives_an_index_inside_0_100():
    data = _negatively_keyed()
    data["s3"] = 1 + 10 - data["s3"]
    res = fit_csi(data, **NEG_ARGS, segment="region")
    assert res.interpretable
    assert res.indices["interpretable"].all()
    assert (res.index_weights["rescaled_weight"] > 0).all()
    assert res.indices["index"].between(0, 100).all()
    assert res.respondent_index.stack().between(0, 100).all()
    assert res.segments is not None
    assert res.segments["interpretable"].all()


def test_result_serialises(ecsi):
    import json

    json.dumps(ecsi.to_dict())
    assert list(ecsi.summary()["latent"]) == list(BLOCKS)
    assert isinstance(ecsi.pls, PlsResult)


def test_complaint_share_as_acsi_reports_it(satisfaction):
    from statsmodels.stats.proportion import proportion_confint

    data = satisfaction.assign(
        complained=(satisfaction["sat1"] < 6).astype(int), comp1=10 - satisfaction["sat2"]
    )
    data.loc[data.index[:5], "complained"] = np.nan  # unanswered: left out, not counted
    blocks = {**BLOCKS, "COMP": ["comp1"]}
    res = fit_csi(
        data, blocks=blocks, model="ecsi", scale=(0, 10), segment="gender", complaints="complained"
    )
    share = res.complaint_share
    assert share is not None
    answered = data["complained"].dropna()
    k, n = int(answered.sum()), len(answered)
    row = share.loc["all"]
    assert (row["n"], row["complained"]) == (n, k)
    assert row["share"] == pytest.approx(k / n)
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert (row["lower"], row["upper"]) == pytest.approx((lo, hi))
    assert row["complaints_index"] == pytest.approx(res.indices.loc["COMP", "index"])
    for g in data["gender"].unique():
        sub = answered[data.loc[answered.index, "gender"] == g]
        assert share.loc[str(g), "share"] == pytest.approx(sub.mean())
    assert "complaint_share" in res.to_dict()


def test_complaint_answers_must_be_yes_or_no(satisfaction):
    data = satisfaction.assign(complained=1)
    data.loc[data.index[3], "complained"] = 7
    with pytest.raises(DataError, match=r"'complained', row .*7 is not 0/1"):
        fit_csi(data, blocks=BLOCKS, model="ecsi", scale=(0, 10), complaints="complained")
    with pytest.raises(DataError, match="no complaint answers"):
        fit_csi(
            satisfaction.assign(complained=np.nan),
            blocks=BLOCKS,
            model="ecsi",
            scale=(0, 10),
            complaints="complained",
        )
