"""National customer satisfaction index models (ACSI, ECSI, CCSI) by PLS path modelling.

A model is data: latent variables with bilingual labels, the structural paths and the
satisfaction latent. Items come from the caller (a questionnaire's scoring section gives
``blocks: {LATENT: [item columns]}`` and may override ``paths``). :func:`fit_csi` fits the
model with :func:`scoring.pls.fit_pls` and turns the outer weights into the 0–100 index
of every latent, with bootstrap intervals, per-segment indices and an importance–
performance table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from scoring._results import Result, parameters_of
from scoring._validation import (
    check_columns,
    check_frame,
    check_numeric,
    check_range,
    count_not_applicable,
    not_applicable_mask,
)
from scoring.drivers import importance_performance
from scoring.errors import (
    DataError,
    InsufficientDataError,
    NegativeWeightError,
    NegativeWeights,
    SpecificationError,
)
from scoring.pls import Interval, Mode, PlsMissing, PlsResult, Scheme, fit_pls

__all__ = [
    "ACSI",
    "CCSI",
    "CSI_MODELS",
    "ECSI",
    "CsiModel",
    "CsiResult",
    "complaint_share",
    "fit_csi",
    "unstandardized_total_effects",
]

Array = NDArray[Any]
SegmentWeights = Literal["pooled", "separate"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CsiModel:
    """A customer satisfaction index model as data.

    Attributes
    ----------
    name : str
        Short name (``"acsi"``).
    title : str
        Full name and source.
    latents : dict of str to tuple of (str, str)
        Latent code -> (English label, Chinese label), in causal order.
    paths : tuple of (str, str)
        Structural paths (from, to).
    satisfaction : str
        The satisfaction latent whose drivers the importance–performance table ranks.
    """

    name: str
    title: str
    latents: dict[str, tuple[str, str]]
    paths: tuple[tuple[str, str], ...]
    satisfaction: str = "SAT"


# The quality -> value -> satisfaction chain that every model shares.
_CHAIN: tuple[tuple[str, str], ...] = (
    ("EXPE", "QUAL"),
    ("EXPE", "VAL"),
    ("EXPE", "SAT"),
    ("QUAL", "VAL"),
    ("QUAL", "SAT"),
    ("VAL", "SAT"),
)
_LABELS: dict[str, tuple[str, str]] = {
    "IMAG": ("Image", "企业形象"),
    "EXPE": ("Customer expectations", "顾客预期"),
    "QUAL": ("Perceived quality", "感知质量"),
    "VAL": ("Perceived value", "感知价值"),
    "SAT": ("Customer satisfaction", "顾客满意度"),
    "COMP": ("Customer complaints", "顾客抱怨"),
    "LOY": ("Customer loyalty", "顾客忠诚"),
}


def _labels(*codes: str, **renamed: tuple[str, str]) -> dict[str, tuple[str, str]]:
    return {c: renamed.get(c, _LABELS[c]) for c in codes}


# Fornell et al. (1996), Figure 1: expectations -> quality -> value -> satisfaction (ACSI)
# -> complaints, loyalty; complaints -> loyalty.
ACSI = CsiModel(
    name="acsi",
    title="American Customer Satisfaction Index (Fornell et al., 1996)",
    latents=_labels(
        "EXPE",
        "QUAL",
        "VAL",
        "SAT",
        "COMP",
        "LOY",
        SAT=("Customer satisfaction (ACSI)", "顾客满意度"),
    ),
    paths=(*_CHAIN, ("SAT", "COMP"), ("SAT", "LOY"), ("COMP", "LOY")),
)

# ECSI Technical Committee (1998); Cassel & Eklöf (2001): ACSI plus corporate image,
# which drives expectations, satisfaction and loyalty.
ECSI = CsiModel(
    name="ecsi",
    title="European Customer Satisfaction Index (ECSI Technical Committee, 1998)",
    latents=_labels("IMAG", "EXPE", "QUAL", "VAL", "SAT", "COMP", "LOY"),
    paths=(("IMAG", "EXPE"), ("IMAG", "SAT"), ("IMAG", "LOY"), *ACSI.paths),
)

# Tsinghua University's China Customer Satisfaction Index (Zhao, 2003): brand image,
# expected quality, perceived quality, perceived value, satisfaction, loyalty; no
# complaints latent, and brand image acts on every later link of the chain but loyalty.
CCSI = CsiModel(
    name="ccsi",
    title="China Customer Satisfaction Index (Tsinghua University; Zhao, 2003)",
    latents=_labels(
        "IMAG",
        "EXPE",
        "QUAL",
        "VAL",
        "SAT",
        "LOY",
        IMAG=("Brand image", "品牌形象"),
        EXPE=("Expected quality", "预期质量"),
    ),
    paths=(
        ("IMAG", "EXPE"),
        ("IMAG", "QUAL"),
        ("IMAG", "VAL"),
        ("IMAG", "SAT"),
        *_CHAIN,
        ("SAT", "LOY"),
    ),
)

CSI_MODELS: dict[str, CsiModel] = {m.name: m for m in (ACSI, ECSI, CCSI)}


@dataclass(frozen=True, slots=True, kw_only=True)
class CsiResult(Result):
    """Result of :func:`fit_csi`.

    Attributes
    ----------
    model : str or None
        Name of the built-in model used, if any.
    target : str
        The satisfaction latent.
    indices : DataFrame
        Per latent (index ``latent``): ``label``, ``index`` (0–100), ``r_squared``,
        ``total_effect`` on the target (standardized), ``total_effect_unstandardized``
        (points of the target's 0–100 score per point of the latent's, the IPMA
        importance), ``n_items``, ``interpretable`` (False when a
        rescaled weight of the block is negative, which only ``negative_weights="allow"``
        lets through: the index is then not a weighted mean of the answers and can leave
        0–100) and, with a bootstrap, ``std_error``, ``lower``, ``upper``.
    index_weights : DataFrame
        Per item: ``block``, ``weight`` (PLS outer weight), ``raw_weight`` (per unit of
        the item's own scale), ``rescaled_weight`` (sums to 1 within the block),
        ``mean``, ``scale_min``, ``scale_max``.
    respondent_index : DataFrame
        Each respondent's 0–100 score per latent (same rescaled weights).
    segments : DataFrame or None
        Tidy per-segment indices: ``segment``, ``latent``, ``n``, ``index``,
        ``interpretable`` (as in ``indices``; separate fits apply the rule to their own
        weights).
    importance_performance : DataFrame
        Drivers of the target: total effect vs. index, ordered by what to fix first
        (see :func:`scoring.drivers.importance_performance`). With
        ``ipma="unstandardized"`` (default) the importance is the unstandardized total
        effect on the 0–100 latent scores, SmartPLS's IPMA (see
        :func:`unstandardized_total_effects`); with ``"standardized"`` the standardized
        total effect of the PLS model.
    dropped_latents : list of str
        Latents of the built-in model absent from ``blocks`` (left out with their paths).
    pls : PlsResult
        The full path model.
    negative_weights : str
        The rule for negative rescaled weights (``"refuse"`` or ``"allow"``).
    complaint_share : DataFrame or None
        With ``complaints``: see :func:`complaint_share`.
    n_not_applicable : int
        Respondents left out because an item of the model did not apply to them (a
        display condition hid it; the tidy frame's ``not_applicable`` column): PLS needs
        complete rows, but such a cell is not missing and is never imputed.
    ipma : str
        The importance of ``importance_performance``: ``"unstandardized"`` or
        ``"standardized"``.
    interpretable : bool
        False when some latent's index has a negative rescaled weight (kept by
        ``negative_weights="allow"``); ``indices["interpretable"]`` says which, and
        ``segments["interpretable"]`` the same for separate per-segment fits.
    """

    model: str | None
    target: str
    indices: pd.DataFrame
    index_weights: pd.DataFrame
    respondent_index: pd.DataFrame = field(repr=False)
    segments: pd.DataFrame | None
    importance_performance: pd.DataFrame
    dropped_latents: list[str]
    pls: PlsResult = field(repr=False)
    negative_weights: str = "refuse"
    interpretable: bool = True
    ipma: str = "unstandardized"
    complaint_share: pd.DataFrame | None = None
    n_not_applicable: int = 0

    def dimension_scores(self) -> pd.Series:
        """Latent -> 0-100 index (``indices["index"]``)."""
        ind = self.indices["index"]
        return pd.Series(
            ind.to_numpy(dtype="float64"),
            index=pd.Index([str(k) for k in ind.index], name="dimension"),
            name="csi",
        )

    @property
    def n_used(self) -> int:
        """Respondents with an index."""
        return len(self.respondent_index)

    @property
    def parameters(self) -> dict[str, Any]:
        """``model``, ``target`` and ``negative_weights``."""
        return parameters_of(self, ("model", "target", "negative_weights"))

    def summary(self) -> pd.DataFrame:
        """The index table: one row per latent."""
        return self.indices.reset_index()


# --------------------------------------------------------------------------------------
def _resolve_model(
    model: str | CsiModel | None,
    blocks: Mapping[str, Sequence[str]],
    paths: Sequence[Sequence[str]] | None,
    target: str | None,
) -> tuple[CsiModel | None, list[tuple[str, str]], str, list[str]]:
    spec: CsiModel | None
    if model is None:
        spec = None
    elif isinstance(model, CsiModel):
        spec = model
    else:
        if model not in CSI_MODELS:
            shown = ", ".join(repr(k) for k in CSI_MODELS)
            msg = f"model must be one of {shown} or a CsiModel; got {model!r}."
            raise SpecificationError(msg)
        spec = CSI_MODELS[model]
    dropped: list[str] = []
    if paths is not None:
        edges = [(str(a), str(b)) for a, b in paths]
    elif spec is not None:
        unknown = [k for k in blocks if k not in spec.latents]
        if unknown:
            msg = (
                f"blocks names latent(s) {unknown} that the {spec.name.upper()} model does not "
                f"have ({list(spec.latents)}); rename them or pass paths explicitly."
            )
            raise SpecificationError(msg)
        dropped = [k for k in spec.latents if k not in blocks]
        edges = [(a, b) for a, b in spec.paths if a in blocks and b in blocks]
    else:
        msg = "fit_csi needs paths or a model ('acsi', 'ecsi', 'ccsi'); got neither."
        raise SpecificationError(msg)
    goal = target or (spec.satisfaction if spec is not None else "SAT")
    if goal not in blocks:
        msg = (
            f"target latent {goal!r} is not in blocks {list(blocks)}; pass target= the "
            "satisfaction latent."
        )
        raise SpecificationError(msg)
    return spec, edges, goal, dropped


def _scales(
    scale: tuple[float, float] | Mapping[str, tuple[float, float]],
    latents: Sequence[str],
) -> dict[str, tuple[float, float]]:
    if isinstance(scale, Mapping):
        missing = [lv for lv in latents if lv not in scale]
        if missing:
            msg = f"scale has no (min, max) for latent(s) {missing}; give one per latent."
            raise SpecificationError(msg)
        out = {lv: (float(scale[lv][0]), float(scale[lv][1])) for lv in latents}
    else:
        lo, hi = scale
        out = dict.fromkeys(latents, (float(lo), float(hi)))
    for lv, (lo, hi) in out.items():
        if not hi > lo:
            msg = f"scale for {lv!r} must be (min, max) with max > min; got {(lo, hi)}."
            raise SpecificationError(msg)
    return out


def _index_stack(
    pls: PlsResult,
    weights: pd.DataFrame,
    sds: pd.DataFrame,
    means: pd.DataFrame,
    scales: Mapping[str, tuple[float, float]],
) -> pd.DataFrame:
    """Indices for rows of (analysis-scale) weights, item SDs and item means."""
    out = {}
    for lv, items in pls.blocks.items():
        w = weights[items].to_numpy(dtype=float)
        if pls.scaled:  # weights act on standardized items: per raw unit, divide by SD
            w = w / sds[items].to_numpy(dtype=float)
        w = w / w.sum(axis=1, keepdims=True)
        lo, hi = scales[lv]
        out[lv] = 100 * ((w * means[items].to_numpy(dtype=float)).sum(axis=1) - lo) / (hi - lo)
    return pd.DataFrame(out, index=weights.index)


def _rescaled_weights(pls: PlsResult) -> tuple[pd.Series, pd.Series]:
    """Outer weights per unit of each item's own scale, and those rescaled to sum 1 in
    their block (the index weights)."""
    w = pls.outer_model["weight"]
    raw_w = w / pls.item_sds if pls.scaled else w.copy()
    return raw_w, raw_w / raw_w.groupby(pls.outer_model["block"]).transform("sum")


def _segment_indices(
    data: pd.DataFrame,
    raw: pd.DataFrame,
    segment: str,
    pls: PlsResult,
    rescaled: pd.Series,
    scales: Mapping[str, tuple[float, float]],
    how: str,
    fit_args: dict[str, Any],
    negative_weights: str,
    flagged: list[str],
) -> pd.DataFrame:
    labels = data.loc[raw.index, segment]
    rows = []
    for seg, idx in labels.groupby(labels, sort=True, dropna=True).groups.items():
        part = raw.loc[idx]
        if how == "separate":
            try:
                sub = fit_pls(part, blocks=pls.blocks, **fit_args)
            except InsufficientDataError as exc:
                msg = f"segment {segment}={seg!r}: {exc} Use segment_weights='pooled'."
                raise InsufficientDataError(msg) from None
            flagged = NegativeWeightError.check(
                _rescaled_weights(sub)[1].to_dict(),
                sub.outer_model["block"].to_dict(),
                index=f"CSI of segment {segment}={seg!r}",
                option=negative_weights,
            )
            ix = _index_stack(
                sub,
                sub.outer_model[["weight"]].T,
                sub.item_sds.to_frame().T,
                sub.item_means.to_frame().T,
                scales,
            ).iloc[0]
        else:
            ix = pd.Series(
                {
                    lv: 100
                    * ((rescaled[items] * part[items].mean()).sum() - scales[lv][0])
                    / (scales[lv][1] - scales[lv][0])
                    for lv, items in pls.blocks.items()
                }
            )
        for lv in pls.blocks:
            rows.append(
                {
                    "segment": seg,
                    "latent": lv,
                    "n": len(part),
                    "index": float(ix[lv]),
                    "interpretable": lv not in flagged,
                }
            )
    return pd.DataFrame(rows)


def complaint_share(
    data: pd.DataFrame,
    column: str,
    segment: str | None = None,
    level: float = 0.95,
    complaints_index: float | None = None,
) -> pd.DataFrame:
    """Share of respondents who complained, as the ACSI reports complaints.

    ACSI measures complaint behaviour by a yes/no question and reports the percentage
    of customers who complained beside the complaints latent (Fornell et al. 1996).
    ``share = complained / n`` over the respondents who answered, with a Wilson score
    interval at ``level`` (:meth:`scipy.stats.binomtest.proportion_ci`).

    Returns one row for ``"all"`` and one per segment value (index ``group``):
    ``n``, ``complained``, ``share``, ``percent``, ``lower``, ``upper`` (of the share)
    and ``complaints_index`` (the 0–100 index of the model's complaints latent
    ``COMP`` when it is fitted, on the ``"all"`` row).

    Raises
    ------
    DataError
        A value other than 0/1 or True/False (naming the column and row), or no
        answer at all.

    References
    ----------
    Fornell, C., Johnson, M. D., Anderson, E. W., Cha, J., & Bryant, B. E. (1996). The
    American Customer Satisfaction Index. *Journal of Marketing*, 60(4), 7-18.
    """
    col = data[column]
    answered = col.dropna()
    as_num = pd.to_numeric(
        answered.map(lambda v: int(v) if isinstance(v, bool) else v), errors="coerce"
    )
    bad = answered.index[~as_num.isin([0, 1])]
    if len(bad):
        row, value = bad[0], answered[bad[0]]
        row, value = (x.item() if isinstance(x, np.generic) else x for x in (row, value))
        msg = (
            f"data column {column!r}, row {row!r}: complaint answer {value!r} is not "
            "0/1 or True/False; code 'complained' as 1 and 'did not complain' as 0."
        )
        raise DataError(msg)
    if as_num.empty:
        msg = f"data column {column!r} has no complaint answers; nothing to report."
        raise DataError(msg)
    groups: list[tuple[str, pd.Series]] = [("all", as_num)]
    if segment is not None:
        seg = data.loc[as_num.index, segment]
        groups += [(str(g), as_num[seg == g]) for g in pd.unique(seg.dropna())]
    rows = []
    for name, values in groups:
        n, k = len(values), int(values.sum())
        ci = stats.binomtest(k, n).proportion_ci(level, method="wilson")
        rows.append(
            {
                "group": name,
                "n": n,
                "complained": k,
                "share": k / n,
                "percent": 100 * k / n,
                "lower": float(ci.low),
                "upper": float(ci.high),
                "complaints_index": complaints_index if name == "all" else np.nan,
            }
        )
    return pd.DataFrame(rows).set_index("group")


def unstandardized_total_effects(
    scores: pd.DataFrame, paths: Sequence[Sequence[str]]
) -> pd.DataFrame:
    """Total effects of the structural model re-estimated on 0–100 latent scores.

    Each endogenous latent's 0–100 score is regressed by OLS (with intercept) on its
    predecessors' 0–100 scores (rows with a score for every latent); the total effects
    are ``(I − B)⁻¹ − I`` of these unstandardized coefficients. This is the importance
    of SmartPLS's importance–performance map analysis: the change of the target's
    0–100 score when a driver's score rises by one point.

    Returns a DataFrame ``total[to][from]`` (columns: to, rows: from).

    References
    ----------
    Ringle, C. M., & Sarstedt, M. (2016). Gain more insight from your PLS-SEM results:
    The importance-performance map analysis. *Industrial Management & Data Systems*,
    116(9), 1865-1886.
    """
    lat = list(scores.columns)
    data = scores.dropna().to_numpy(dtype=float)
    B = np.zeros((len(lat), len(lat)))
    for k, name in enumerate(lat):
        preds = [lat.index(str(a)) for a, b in paths if b == name]
        if not preds:
            continue
        X = np.column_stack([np.ones(len(data)), data[:, preds]])
        coef = np.linalg.lstsq(X, data[:, k], rcond=None)[0]
        B[k, preds] = coef[1:]
    total = np.linalg.inv(np.eye(len(lat)) - B) - np.eye(len(lat))
    return pd.DataFrame(total.T, index=lat, columns=lat)


def fit_csi(
    data: pd.DataFrame,
    *,
    blocks: Mapping[str, Sequence[str]],
    paths: Sequence[Sequence[str]] | None = None,
    model: Literal["acsi", "ecsi", "ccsi"] | CsiModel | None = None,
    target: str | None = None,
    scale: tuple[float, float] | Mapping[str, tuple[float, float]] = (1, 10),
    modes: Mapping[str, Mode] | Mode | None = None,
    scheme: Scheme = "centroid",
    scaled: bool = False,
    missing: PlsMissing = "listwise",
    bootstrap: int = 0,
    seed: int | None = None,
    level: float = 0.95,
    interval: Interval = "percentile",
    segment: str | None = None,
    segment_weights: SegmentWeights = "pooled",
    tol: float = 1e-6,
    max_iter: int = 100,
    labels: Mapping[str, str] | None = None,
    consistent: bool = False,
    progress: Callable[[int, int], None] | None = None,
    negative_weights: NegativeWeights = "refuse",
    ipma: Literal["unstandardized", "standardized"] = "unstandardized",
    complaints: str | None = None,
    fit_test: bool = False,
    predict_folds: int = 0,
    predict_repeats: int = 1,
    htmt_absolute: bool = True,
    f_squared: Literal["scores", "reestimate"] = "scores",
) -> CsiResult:
    """Fit a customer satisfaction index model and compute its 0–100 indices.

        Parameters
        ----------
        data : DataFrame
            One row per response with the items of ``blocks`` (and ``segment``).
        blocks : mapping of str to list of str
            Latent -> item columns (a questionnaire's scoring section).
        paths : sequence of (from, to) pairs, optional
            Structural model; defaults to the paths of ``model`` among the latents present.
        model : {"acsi", "ecsi", "ccsi"}, CsiModel or None
            Built-in model (:data:`ACSI`, :data:`ECSI`, :data:`CCSI`). Latents of the model
            missing from ``blocks`` are left out with their paths (listed in
            ``dropped_latents``).
        target : str, optional
            The satisfaction latent (default: the model's, else ``"SAT"``).
        scale : (min, max) or mapping of latent to (min, max)
            The items' own answer scale (e.g. (0, 10) or (1, 10)); answers outside raise.
        modes, scheme, scaled, missing, tol, max_iter
            Passed to :func:`scoring.pls.fit_pls`. ``scaled`` defaults to False, the ACSI
            practice and the setting of the published plspm example.
        bootstrap, seed, level, interval
            Bootstrap resamples for intervals of every PLS estimate and of the indices.
        segment : str, optional
            Column whose groups get their own indices.
        segment_weights : {"pooled", "separate"}
            ``pooled``: the whole sample's weights applied to each segment's item means
            (comparable measurement across segments); ``separate``: one PLS model per
            segment (as ACSI does per company; needs enough rows in each).
    labels : mapping of str to str, optional
        Display label per latent (e.g. the questionnaire's, in the reader's language);
        defaults to the built-in model's English labels, else the latent name.
    consistent : bool
        Estimate the structural model by consistent PLS (PLSc; passed to
        :func:`scoring.pls.fit_pls`): paths, R² and total effects (hence ``r_squared``,
        ``total_effect`` and the importance–performance table) are corrected for
        measurement error; the indices are unchanged (they use the outer weights).
        Separate per-segment fits use plain PLS, as only their weights are used.
    progress : callable, optional
        ``progress(done, total)`` after each batch of bootstrap resamples (passed to
        :func:`scoring.pls.fit_pls`); what it raises stops the fit.
    fit_test, predict_folds, predict_repeats, htmt_absolute, f_squared
        Assessment options passed to :func:`scoring.pls.fit_pls` (the bootstrap test of
        exact fit, PLSpredict, the HTMT convention, the f² convention); the results
        are on ``pls``.
    complaints : str, optional
        Column with each respondent's answer to "have you complained?" (1/0 or
        True/False; missing answers are left out): its share is reported as the ACSI
        reports complaints (``complaint_share``), for all respondents used and per
        segment.
    ipma : {"unstandardized", "standardized"}
        Importance of the importance–performance map: the unstandardized total effects
        on the 0–100 latent scores (default; SmartPLS's IPMA, Ringle & Sarstedt 2016)
        or the standardized total effects of the PLS model (the earlier map).
    negative_weights : {"refuse", "allow"}
        A negative rescaled weight makes the index leave 0–100 (see Notes). ``refuse``
        (default) raises :class:`~scoring.errors.NegativeWeightError` naming the block
        and item; ``allow`` keeps the index and flags it (``interpretable``).

        Returns
        -------
        CsiResult

        Raises
        ------
        SpecificationError
            Unknown model latent, missing target, or an invalid path model.
        NegativeWeightError
            A negative rescaled weight (the item is probably keyed against its block and
            not declared reverse-coded), unless ``negative_weights="allow"``.
        DataError
            Non-numeric or out-of-scale answers, constant items, missing columns.

        Notes
        -----
        With outer weights ``w`` (per unit of the item's own scale: ``w/sd`` when the PLS
        model is fitted on standardized items) rescaled to ``ŵ_i = w_i / Σ w`` within each
        block, the index is ``100 · (Σ ŵ_i x̄_i − min) / (max − min)`` (ACSI convention,
        Fornell et al. 1996; plspm's ``rescale``). It stays in 0–100 only while every
        ``ŵ_i ≥ 0``: a negative weight (an item answered against its block) is refused
        unless ``negative_weights="allow"``, which flags the index. The importance of a
        driver is its total effect on the target latent; performance is its index. With
        ``consistent=True`` the composite correlations are disattenuated by Dijkstra and
        Henseler's ρ_A, ``r_ij / √(ρ_A,i ρ_A,j)``, before the path regressions, which removes the
        attenuation of PLS paths under measurement error (single-item and mode-B blocks
        are taken as error-free; see :func:`scoring.pls.fit_pls`).

        References
        ----------
        .. [1] Fornell, C., Johnson, M. D., Anderson, E. W., Cha, J., & Bryant, B. E. (1996).
           The American Customer Satisfaction Index: Nature, purpose, and findings.
           *Journal of Marketing*, 60(4), 7-18.
        .. [2] Cassel, C., & Eklöf, J. A. (2001). Modelling customer satisfaction and
           loyalty on aggregate levels: Experience from the ECSI pilot study. *Total
           Quality Management*, 12(7-8), 834-841.
        .. [3] 赵平 (Zhao, P.) (2003). 中国顾客满意指数指南. 北京: 中国标准出版社.
        .. [4] Dijkstra, T. K., & Henseler, J. (2015). Consistent partial least squares
           path modeling. *Management Information Systems Quarterly* (MISQ), 39(2), 297-316.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from scoring.csi import fit_csi
        >>> rng = np.random.default_rng(1)
        >>> q = rng.normal(size=200)
        >>> s = 0.7 * q + 0.7 * rng.normal(size=200)
        >>> cols = {f"q{i}": q for i in (1, 2, 3)} | {f"s{i}": s for i in (1, 2)}
        >>> df = pd.DataFrame({k: np.clip(np.round(7 + 1.5 * v + rng.normal(size=200)), 1, 10)
        ...                    for k, v in cols.items()})
        >>> res = fit_csi(df, blocks={"QUAL": ["q1", "q2", "q3"], "SAT": ["s1", "s2"]},
        ...               paths=[("QUAL", "SAT")], scale=(1, 10))
        >>> res.indices["index"].round(1).tolist()
        [64.9, 64.8]
    """
    if ipma not in ("unstandardized", "standardized"):
        msg = f"ipma must be one of 'unstandardized', 'standardized'; got {ipma!r}."
        raise SpecificationError(msg)
    frame = check_frame(data)
    spec, edges, goal, dropped = _resolve_model(model, blocks, paths, target)
    scales = _scales(scale, list(blocks))
    for lv, cols in blocks.items():
        check_columns(frame, cols)
        lo, hi = scales[lv]
        check_range(check_numeric(frame, cols), lo, hi)
    if segment is not None:
        check_columns(frame, [segment])
    if complaints is not None:
        check_columns(frame, [complaints])
    if segment_weights not in ("pooled", "separate"):
        msg = f"segment_weights must be one of 'pooled', 'separate'; got {segment_weights!r}."
        raise SpecificationError(msg)
    fit_args: dict[str, Any] = {
        "paths": edges,
        "modes": modes,
        "scheme": scheme,
        "scaled": scaled,
        "missing": missing,
        "tol": tol,
        "max_iter": max_iter,
    }
    pls = fit_pls(
        frame,
        blocks=blocks,
        bootstrap=bootstrap,
        seed=seed,
        level=level,
        interval=interval,
        consistent=consistent,
        progress=progress,
        fit_test=fit_test,
        predict_folds=predict_folds,
        predict_repeats=predict_repeats,
        htmt_absolute=htmt_absolute,
        f_squared=f_squared,
        **fit_args,
    )
    items = list(pls.outer_model.index)
    w = pls.outer_model["weight"]
    raw_w, rescaled = _rescaled_weights(pls)
    flagged = NegativeWeightError.check(
        rescaled.to_dict(),
        pls.outer_model["block"].to_dict(),
        index="CSI (rescaled PLS outer weights)",
        option=negative_weights,
    )
    lat = list(pls.blocks)
    lo_hi = pd.DataFrame([scales[pls.outer_model.loc[i, "block"]] for i in items], index=items)
    index_weights = pd.DataFrame(
        {
            "block": pls.outer_model["block"],
            "weight": w,
            "raw_weight": raw_w,
            "rescaled_weight": rescaled,
            "mean": pls.item_means,
            "scale_min": lo_hi[0],
            "scale_max": lo_hi[1],
        }
    )
    point = _index_stack(
        pls, w.to_frame().T, pls.item_sds.to_frame().T, pls.item_means.to_frame().T, scales
    ).iloc[0]

    raw = check_numeric(frame, items).loc[pls.scores.index]
    respondent = pd.DataFrame(
        {
            lv: 100
            * ((raw[cols] * rescaled[cols]).sum(axis=1) - scales[lv][0])
            / (scales[lv][1] - scales[lv][0])
            for lv, cols in pls.blocks.items()
        },
        index=raw.index,
    )

    effects = pls.effects
    to_goal = effects[effects["to"] == goal].set_index("from")["total"]
    raw_goal = unstandardized_total_effects(respondent, edges)[goal]
    model_labels = spec.latents if spec is not None else {}
    given = dict(labels or {})
    table = pd.DataFrame(
        {
            "label": [given.get(lv, model_labels.get(lv, (lv, lv))[0]) for lv in lat],
            "index": point[lat].to_numpy(),
            "r_squared": pls.inner_summary.loc[lat, "r_squared"].to_numpy(),
            "total_effect": [float(to_goal.get(lv, np.nan)) for lv in lat],
            "total_effect_unstandardized": [
                float(raw_goal[lv]) if lv in to_goal.index else np.nan for lv in lat
            ],
            "n_items": [len(pls.blocks[lv]) for lv in lat],
            "interpretable": [lv not in flagged for lv in lat],
        },
        index=pd.Index(lat, name="latent"),
    )
    if pls.bootstrap is not None:
        b = pls.bootstrap
        reps = _index_stack(
            pls,
            b.replicates["weights"],
            b.replicates["item_sds"],
            b.replicates["item_means"],
            scales,
        )
        jack = None
        if b.jackknife is not None:
            j = b.jackknife
            jack = _index_stack(pls, j["weights"], j["item_sds"], j["item_means"], scales)
        ci = b.interval_table(point, reps, jack)
        table["std_error"] = ci["std_error"].to_numpy()
        table["lower"] = ci["lower"].to_numpy()
        table["upper"] = ci["upper"].to_numpy()

    drivers = [lv for lv in lat if lv in to_goal.index]
    importance = to_goal if ipma == "standardized" else raw_goal
    ipa = (
        importance_performance(importance[drivers], point[drivers], performance_max=100.0)
        if drivers
        else pd.DataFrame()
    )

    segs = None
    if segment is not None:
        segs = _segment_indices(
            frame,
            raw,
            segment,
            pls,
            rescaled,
            scales,
            segment_weights,
            fit_args,
            negative_weights,
            flagged,
        )
    share = None
    if complaints is not None:
        comp_index = float(point["COMP"]) if "COMP" in lat else None
        share = complaint_share(frame.loc[raw.index], complaints, segment, level, comp_index)
    return CsiResult(
        complaint_share=share,
        model=None if spec is None else spec.name,
        target=goal,
        indices=table,
        index_weights=index_weights,
        respondent_index=respondent,
        segments=segs,
        importance_performance=ipa,
        dropped_latents=dropped,
        pls=pls,
        negative_weights=negative_weights,
        interpretable=not flagged,
        ipma=ipma,
        n_not_applicable=count_not_applicable(
            not_applicable_mask(frame, [c for cols in blocks.values() for c in cols])
        ),
    )
