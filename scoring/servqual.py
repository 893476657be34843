"""SERVQUAL: perception-minus-expectation gap scores, SERVPERF and the zone of tolerance.

Public functions:

- :func:`servqual` -- score a tidy export frame whose columns follow the export rule
  ``<item>_<role code>`` (``rel1_e`` expectation, ``rel1_p`` perception, ``rel1_ade``
  adequate, ``rel1_des`` desired); the caller gives dimension -> item ids;
- :func:`servqual_gaps` -- the same from explicit perception / expectation frames whose
  columns are the item ids (the notebook form ``servqual_gaps(p, e, dimensions=dims)``).

Both return a :class:`ServqualResult`. Intervals and tests come from
:mod:`scoring.inference`.

Implementation note: the computation runs column by column on numpy views of the frame
(one item at a time, accumulating per-respondent dimension sums), so that a million
responses never need a second copy of the whole frame. Items whose answers are whole
numbers (the usual Likert data) take an integer path: int16 codes, per-respondent sums in
integers, and every item statistic (means, sd, t, Wilcoxon) from a histogram of the
differences P - E -- the same numbers as the float path, which other items take. The
gap histogram and the histogram of each role's answers (for ``roles``) come from one
``bincount`` of the (P, E) answer pairs. After the items, each dimension is finished on
1-D arrays (no (n, k) float temporaries), and segment statistics gather each score once
in level order (a radix sort of the codes).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from questionnaires import ROLE_SUFFIXES
from scoring._results import Result, parameters_of
from scoring._validation import (
    MISSING_RULES,
    MissingRule,
    check_choice,
    check_columns,
    check_frame,
    check_mapping,
    check_numeric,
    check_range,
    not_applicable_mask,
    shown,
)
from scoring.errors import DataError, InsufficientDataError, SpecificationError
from scoring.inference import (
    holm,
    intervals_from_stats,
    kruskal_wallis,
    mean_interval,
    welch_anova_from_stats,
    wilcoxon_signed_rank,
)

__all__ = ["ROLE_SUFFIXES", "ServqualResult", "servqual", "servqual_gaps"]

MISSING_TEXT = {
    "pairwise": (
        "pairwise: each item uses the respondents who answered both of its roles; a "
        "respondent's dimension score is the mean of the items they answered in it, and "
        "their overall score the mean of the dimensions they have"
    ),
    "listwise": "listwise: respondents with any missing answer (or allocation) are dropped",
    "item_mean": (
        "item_mean: each missing answer is replaced by the mean of its column "
        "(allocations are never imputed; a row with a missing allocation has no weighted score)"
    ),
}


# ---------------------------------------------------------------------------- result


@dataclass(frozen=True, slots=True, kw_only=True)
class ServqualResult(Result):
    """Result of :func:`servqual` and :func:`servqual_gaps`.

    Attributes
    ----------
    model : str
        ``"servqual"`` (P - E gaps) or ``"servperf"`` (perceptions only).
    items : pandas.DataFrame
        One row per item: ``item, dimension, n, expectation, perception, gap, sd, se,
        ci_low, ci_high, t, df, p_value, p_holm, wilcoxon_stat, wilcoxon_p,
        wilcoxon_p_holm``. sd, se and the interval describe the gap (SERVQUAL) or the
        perception (SERVPERF, where expectation, gap and the tests are NaN).
    dimensions : pandas.DataFrame
        One row per dimension with the columns ``dimension, n, expectation, perception,
        gap, sd, se, ci_low, ci_high`` over respondents' dimension scores.
    overall : pandas.DataFrame
        One row per overall measure (``servqual``, ``servqual_weighted``, ``servperf``,
        ``servperf_weighted``, ``expectation``, ``perception``, ``msa``, ``mss`` where
        available): ``measure, n, mean, sd, se, ci_low, ci_high``.
    scores : pandas.DataFrame
        Per respondent (index of the data after the missing rule): one column per
        dimension, ``overall`` and, with weights, ``weighted``.
    roles : pandas.DataFrame or None
        Expectation and perception each on its own, per item and per dimension:
        ``level`` (``item`` or ``dimension``), ``name``, ``role`` (``expectation``,
        ``perception``), ``n, mean, sd, se, ci_low, ci_high`` -- what SERVPERF on that
        one role gives. Under ``pairwise`` a role uses every answer of that role (a
        respondent's dimension level is the mean of the items they rated in that role,
        whether or not they rated the other role), so ``n`` and ``mean`` may differ
        slightly from the item and dimension tables, whose E and P means are over the
        answered pairs; under ``listwise`` and ``item_mean`` both use the same rows.
        SERVPERF results have perception rows only. (Overall E and P with their
        intervals are the ``expectation`` and ``perception`` rows of ``overall``.)
    zone_of_tolerance : pandas.DataFrame or None
        With adequate and desired roles: ``level, name, n, perception, adequate,
        desired, msa, msa_ci_low, msa_ci_high, mss, mss_ci_low, mss_ci_high``.
    weights : pandas.DataFrame or None
        ``dimension, weight, source``: the mean normalised importance weight (share of
        1) per dimension, from respondents' allocations or fixed by the researcher.
    segments : pandas.DataFrame or None
        ``segment, level, score, n, mean, sd, se, ci_low, ci_high`` per segment column,
        level and score column.
    segment_tests : pandas.DataFrame or None
        ``segment, score, levels, n, welch_f, welch_df1, welch_df2, welch_p,
        kruskal_h, kruskal_p`` (Welch's ANOVA and Kruskal-Wallis across levels).
    missing : str
        The missing-data rule applied; ``missing_rule`` states it in words.
    missing_rule : str
    n_respondents : int
        Rows scored (after listwise deletion).
    confidence : float
    scale : tuple of float
    reverse : tuple of str
        The reverse-coded items, recoded ``min + max - x`` in every role before scoring.
    """

    model: str
    items: pd.DataFrame
    dimensions: pd.DataFrame
    overall: pd.DataFrame
    scores: pd.DataFrame
    zone_of_tolerance: pd.DataFrame | None
    weights: pd.DataFrame | None
    segments: pd.DataFrame | None
    segment_tests: pd.DataFrame | None
    missing: str
    missing_rule: str
    n_respondents: int
    confidence: float
    scale: tuple[float, float]
    roles: pd.DataFrame | None = None
    reverse: tuple[str, ...] = ()

    def dimension_scores(self) -> pd.Series:
        """Dimension -> mean gap (SERVQUAL, P − E) or mean perception (SERVPERF)."""
        column = "gap" if self.model == "servqual" else "perception"
        return pd.Series(
            self.dimensions[column].to_numpy(dtype="float64"),
            index=pd.Index(self.dimensions["dimension"], name="dimension"),
            name=self.model,
        )

    @property
    def n_used(self) -> int:
        """Respondents scored (see ``missing_rule``)."""
        return int(self.n_respondents)

    @property
    def parameters(self) -> dict[str, Any]:
        """``model``, ``confidence``, ``scale`` and ``reverse``."""
        return parameters_of(self, ("model", "confidence", "scale", "reverse"))

    def summary(self) -> pd.DataFrame:
        """Items, dimensions and overall measures in one tidy table (``level`` column)."""
        cols = ["n", "expectation", "perception", "gap", "sd", "ci_low", "ci_high"]
        items = self.items.rename(columns={"item": "name"})[["name", "dimension", *cols]]
        dims = self.dimensions.rename(columns={"dimension": "name"})[["name", *cols]]
        overall = self.overall.rename(columns={"measure": "name", "mean": "gap"})
        overall = overall[["name", "n", "gap", "sd", "ci_low", "ci_high"]]
        return pd.concat(
            [
                items.assign(level="item"),
                dims.assign(level="dimension"),
                overall.assign(level="overall"),
            ],
            ignore_index=True,
        )[["level", "name", "dimension", *cols]]


# ---------------------------------------------------------------------------- input


@dataclass(frozen=True, slots=True)
class _Columns:
    """Column names per role, one per item (None for an absent role)."""

    perception: list[str]
    expectation: list[str] | None
    adequate: list[str] | None
    desired: list[str] | None


def _column(df: pd.DataFrame, col: str, scale: tuple[float, float], name: str) -> np.ndarray:
    """A numeric column as a float64 array (a view when already float64), range checked."""
    arr = _floats(df, col, name)
    _check_scale(df, col, arr, scale, name)
    return arr


def _check_scale(
    df: pd.DataFrame, col: str, arr: np.ndarray, scale: tuple[float, float], name: str
) -> None:
    # fmin/fmax skip NaN without copying the answered cells
    if arr.size and (np.fmin.reduce(arr) < scale[0] or np.fmax.reduce(arr) > scale[1]):
        check_range(pd.DataFrame({col: arr}, index=df.index), scale[0], scale[1], name)


def _floats(df: pd.DataFrame, col: str, name: str) -> np.ndarray:
    s = df[col]
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return np.asarray(s.to_numpy(dtype="float64", na_value=np.nan))
    return np.asarray(check_numeric(df, [col], name)[col].to_numpy())


def _item_column(
    df: pd.DataFrame,
    col: str,
    scale: tuple[float, float],
    name: str,
    impute: bool,
    want_ints: bool = True,
    decimals: bool = False,
    skip: np.ndarray | None = None,
) -> tuple[np.ndarray, _Ints | None]:
    """A rating column as float64 (range checked, imputed under ``item_mean``) and, when
    it holds whole numbers only (and ``want_ints``), as :class:`_Ints`. Unless
    ``decimals``, an answer between the scale points (``4.5``) is refused. ``skip``
    marks not-applicable cells, which ``item_mean`` leaves empty."""
    arr = _floats(df, col, name)
    ints = _small_ints(arr, scale) if want_ints else None
    if ints is None and not decimals:
        frame = pd.DataFrame({col: arr}, index=df.index)
        check_range(frame, scale[0], scale[1], name, integer=True)
    elif ints is None:
        _check_scale(df, col, arr, scale, name)
    elif ints.low < scale[0] or ints.high > scale[1]:
        check_range(pd.DataFrame({col: arr}, index=df.index), scale[0], scale[1], name)
    if impute and np.isnan(arr).any():
        # a not-applicable cell stays empty: it is not a missing answer
        fill = np.isnan(arr) if skip is None else np.isnan(arr) & ~skip
        return np.where(fill, np.nanmean(arr), arr), None
    return arr, ints


# Whole-number items on a scale inside [-_INT_LIMIT, _INT_LIMIT] take the integer path:
# int16 codes, per-respondent sums in integers, item statistics from a histogram of the
# differences. Its limit keeps P - E plus the histogram offset inside int16.
_INT_LIMIT = 8000


@dataclass(frozen=True, slots=True)
class _Ints:
    """A whole-number column as int16 ``codes`` (0 where ``nan``), its NaN mask (None
    when complete) and the smallest and largest answer."""

    codes: np.ndarray
    nan: np.ndarray | None
    low: int
    high: int


def _small_ints(arr: np.ndarray, scale: tuple[float, float]) -> _Ints | None:
    """``arr`` as :class:`_Ints` when every answer is a whole number inside int16.

    None when the column holds fractions or larger values (the float path then checks
    the range and reports them); the caller checks ``low`` and ``high`` against the scale.
    """
    if not -_INT_LIMIT <= scale[0] < scale[1] <= _INT_LIMIT:
        return None
    # fmin/fmax skip NaN; beyond int16 the cast would wrap
    low, high = np.fmin.reduce(arr), np.fmax.reduce(arr)
    if np.isnan(low):  # no answers at all: nothing to check
        low, high = math.ceil(scale[0]), math.floor(scale[1])
    elif not -_INT_LIMIT <= low <= high <= _INT_LIMIT:
        return None
    with np.errstate(invalid="ignore"):  # NaN casts to an arbitrary value, zeroed below
        codes = arr.astype(np.int16)
    n_exact = int(np.count_nonzero(codes.astype("float64") == arr))
    nan = None
    if n_exact < arr.size:
        nan = np.isnan(arr)
        if n_exact + int(np.count_nonzero(nan)) < arr.size:
            return None
        codes[nan] = 0
    return _Ints(codes, nan, int(low), int(high))


def _role_columns(items: list[str], role: str, suffixes: Mapping[str, str]) -> list[str]:
    return [f"{i}{suffixes[role]}" for i in items]


def _present(df: pd.DataFrame, cols: list[str]) -> list[bool]:
    return [c in df.columns for c in cols]


def _optional_role(
    df: pd.DataFrame, items: list[str], role: str, suffixes: Mapping[str, str], why: str
) -> list[str] | None:
    cols = _role_columns(items, role, suffixes)
    have = _present(df, cols)
    if not any(have):
        return None
    if not all(have):
        lacking = [i for i, h in zip(items, have, strict=True) if not h]
        msg = (
            f"{role} and perception cover different item sets: no {role} column for items "
            f"{lacking} (expected {[c for c, h in zip(cols, have, strict=True) if not h]}). "
            f"{why}"
        )
        raise SpecificationError(msg)
    return cols


def _listwise(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    # a not-applicable cell is not a missing answer: its row stays
    na = not_applicable_mask(df, columns)
    keep = np.ones(len(df), dtype=bool)
    for j, c in enumerate(columns):
        keep &= df[c].notna().to_numpy() if na is None else df[c].notna().to_numpy() | na[:, j]
    if keep.all():
        return df
    if not keep.any():
        msg = (
            "no respondent answered every item, so missing='listwise' leaves nothing; "
            "use missing='pairwise' or missing='item_mean'."
        )
        raise InsufficientDataError(msg)
    return df.loc[keep]


@dataclass(frozen=True, slots=True)
class _Weights:
    kind: str  # "allocation" | "fixed"
    columns: dict[str, str]
    fixed: dict[str, float]


def _check_weights(weights: Any, dims: list[str]) -> _Weights | None:
    if weights is None:
        return None
    if not isinstance(weights, Mapping) or set(map(str, weights)) != set(dims):
        got = list(weights) if isinstance(weights, Mapping) else type(weights).__name__
        msg = (
            "weights must map every dimension to an allocation column (str) or to a fixed "
            f"weight (number); dimensions are {dims}, got {got}."
        )
        raise SpecificationError(msg)
    values = [weights[d] for d in dims]
    if all(isinstance(v, str) for v in values):
        return _Weights("allocation", {d: str(weights[d]) for d in dims}, {})
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        w = np.asarray(values, dtype="float64")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            msg = (
                "fixed weights must be non-negative numbers with a positive sum; "
                f"got {dict(weights)}."
            )
            raise SpecificationError(msg)
        return _Weights("fixed", {}, {d: float(x) for d, x in zip(dims, w / w.sum(), strict=True)})
    msg = f"weights must be all column names or all numbers; got {dict(weights)}."
    raise SpecificationError(msg)


def _weight_columns(
    df: pd.DataFrame, spec: _Weights | None, dims: list[str], normalise: bool
) -> tuple[list[np.ndarray] | list[float], np.ndarray | None, str]:
    """Per-dimension weights (shares of 1), the rows with a complete allocation, source.

    Allocation weights are 1-D arrays, 0 in rows with an incomplete allocation (whose
    weighted score is NaN); fixed weights are numbers and every row is complete.
    """
    if spec is None:
        return [], None, ""
    if spec.kind == "fixed":
        return [spec.fixed[d] for d in dims], np.ones(len(df), dtype=bool), "fixed"
    cols = [spec.columns[d] for d in dims]
    check_columns(df, cols, "data (allocation columns)")
    w = [_column(df, c, (0.0, math.inf), "data") for c in cols]
    incomplete = np.isnan(w[0])
    total = w[0].copy()
    for col in w[1:]:
        incomplete |= np.isnan(col)
        total += col
    complete = ~incomplete
    if normalise:
        zero = complete & (total <= 0)
        if zero.any():
            row = df.index[int(np.argmax(zero))]
            msg = f"allocation columns {cols} sum to 0 in row {shown(row)}; cannot normalise."
            raise DataError(msg)
    else:
        bad = complete & (np.abs(total - 100.0) > 1e-6)
        if bad.any():
            r = int(np.argmax(bad))
            msg = (
                f"allocation columns {cols} must sum to 100 in each row; row {shown(df.index[r])} "
                f"sums to {total[r]:g} ({int(bad.sum())} row(s) in all). Fix the data or pass "
                "normalise_weights=True to rescale each row to its own total."
            )
            raise DataError(msg)
    shares = []
    for col in w:
        share = col / total if normalise else col / 100.0
        share[incomplete] = 0.0
        shares.append(share)
    return shares, complete, "allocation"


# ---------------------------------------------------------------------------- core


def _nan_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is 0 (no answers), without temporaries of the full size."""
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=np.asarray(den) > 0)
    return out


def _score(
    df: pd.DataFrame,
    cols: _Columns,
    items: list[str],
    dims: dict[str, list[str]],
    *,
    scale: tuple[float, float],
    weights: _Weights | None,
    normalise_weights: bool,
    segment: list[str],
    missing: str,
    confidence: float,
    name: str,
    decimals: bool = False,
) -> ServqualResult:
    all_cols = [
        c
        for group in (cols.perception, cols.expectation, cols.adequate, cols.desired)
        if group
        for c in group
    ]
    if weights is not None and weights.kind == "allocation":
        all_cols += list(weights.columns.values())
    if missing == "listwise":
        df = _listwise(df, all_cols)
    n = len(df)
    dim_names = list(dims)
    dim_of = {i: d for d, its in dims.items() for i in its}
    dim_index = {d: j for j, d in enumerate(dim_names)}
    servqual_model = cols.expectation is not None
    zot = cols.adequate is not None and cols.desired is not None

    impute = missing == "item_mean"
    na = not_applicable_mask(df, all_cols) if impute else None
    na_of = {} if na is None else {c: na[:, j] for j, c in enumerate(all_cols)}

    def get(col: str, ints: bool = True) -> tuple[np.ndarray, _Ints | None]:
        return _item_column(df, col, scale, name, impute, ints, decimals, na_of.get(col))

    # per-respondent dimension sums, accumulated item by item: in integers for
    # whole-number items, in floats (allocated when first needed) for the others
    k = len(dim_names)
    widest = max(len(its) for its in dims.values())
    bound = max(abs(scale[0]), abs(scale[1])) * widest
    int_type = np.int16 if bound < _INT_LIMIT * 4 and widest < 2**14 else np.int32
    isums = {a: np.zeros((n, k), dtype=int_type, order="F") for a in ("e", "p")}
    counts = np.zeros((n, k), dtype=np.int32 if widest >= 2**14 else np.int16, order="F")
    fsums: dict[str, np.ndarray] = {}

    def fsum(key: str) -> np.ndarray:
        if key not in fsums:
            fsums[key] = np.zeros((n, k), order="F")
        return fsums[key]

    # each role on its own (ServqualResult.roles): sums of every answer of the role and
    # how many items each respondent left unanswered in it; SERVPERF's own statistics
    # already describe P alone
    miss_type = np.int8 if widest < 2**7 else counts.dtype
    roles = (
        (
            {a: np.zeros((n, k), dtype=int_type, order="F") for a in ("e", "p")},
            {a: np.zeros((n, k), dtype=miss_type, order="F") for a in ("e", "p")},
        )
        if servqual_model
        else None
    )
    role_items: dict[str, list[tuple[int, float, float]]] = {"e": [], "p": []}
    float_dims: set[int] = set()  # dimensions with float-path items (role sums in fsums)

    zcounts = np.zeros((n, k), order="F") if zot else None
    item_rows: list[dict[str, Any]] = []
    zot_rows: list[dict[str, Any]] = []
    for j, item in enumerate(items):
        d = dim_index[dim_of[item]]
        p, p_int = get(cols.perception[j])
        e, e_int = get(cols.expectation[j]) if cols.expectation is not None else (None, None)
        if p_int is not None and (e is None or e_int is not None):
            gaps, hist, mean_e, mean_p, role_hists = _int_item(
                p_int, e_int, isums, counts, d, roles
            )
            if roles is not None and e is not None:
                for key, arr in (("e", e), ("p", p)):
                    role_items[key].append(
                        _moments(*role_hists[key]) if role_hists else _moments(arr)
                    )
            st_score = mean_interval(
                gaps.astype("float64"), counts=hist, confidence=confidence
            ).row()
            want_wilcoxon = servqual_model and st_score["n"] > 1
            wilcoxon = wilcoxon_signed_rank(gaps, counts=hist) if want_wilcoxon else None
        else:
            score = p - e if e is not None else p  # Q = P - E (Parasuraman et al., 1988)
            ok = ~np.isnan(score)
            if not ok.all():
                score = np.where(ok, score, 0.0)
            fsum("score")[:, d] += score
            fsum("p")[:, d] += np.where(ok, p, 0.0) if not ok.all() else p
            if e is not None:
                fsum("e")[:, d] += np.where(ok, e, 0.0) if not ok.all() else e
            counts[:, d] += ok
            if roles is not None and e is not None:
                float_dims.add(d)
                for key, arr in (("e", e), ("p", p)):
                    answered = ~np.isnan(arr)
                    fsum(f"role_{key}")[:, d] += np.where(answered, arr, 0.0)
                    roles[1][key][:, d] += ~answered
                    role_items[key].append(_moments(arr))
            sv = score[ok]
            st_score = mean_interval(sv, confidence=confidence).row()
            mean_e = float(e[ok].mean()) if e is not None and ok.any() else math.nan
            mean_p = float(p[ok].mean()) if ok.any() else math.nan
            want_wilcoxon = servqual_model and st_score["n"] > 1
            wilcoxon = wilcoxon_signed_rank(sv) if want_wilcoxon else None
        row: dict[str, Any] = {
            "item": item,
            "dimension": dim_of[item],
            "n": st_score["n"],
            "expectation": mean_e,
            "perception": mean_p,
            "gap": st_score["mean"] if servqual_model else math.nan,
            **{key: st_score[key] for key in ("sd", "se", "ci_low", "ci_high")},
        }
        if want_wilcoxon:
            with np.errstate(divide="ignore", invalid="ignore"):
                t = (
                    st_score["mean"] / st_score["se"]
                    if st_score["se"] > 0
                    else (
                        math.copysign(math.inf, st_score["mean"]) if st_score["mean"] else math.nan
                    )
                )
            row |= {"t": t, "df": st_score["n"] - 1}
            row["p_value"] = (
                float(2 * stats.t.sf(abs(t), st_score["n"] - 1)) if not math.isnan(t) else math.nan
            )
            if wilcoxon is not None:
                row["wilcoxon_stat"], row["wilcoxon_p"] = wilcoxon.statistic, wilcoxon.p
        else:
            row |= {"t": math.nan, "df": math.nan, "p_value": math.nan}
            row |= {"wilcoxon_stat": math.nan, "wilcoxon_p": math.nan}
        item_rows.append(row)
        if zot and cols.adequate is not None and cols.desired is not None and zcounts is not None:
            ade, des = get(cols.adequate[j], False)[0], get(cols.desired[j], False)[0]
            msa, mss = p - des, p - ade  # Parasuraman, Zeithaml & Berry (1994)
            zok = ~(np.isnan(msa) | np.isnan(mss))
            parts = {"msa": msa, "mss": mss, "ade": ade, "des": des, "zp": p}
            for key, arr in parts.items():
                fsum(key)[:, d] += np.where(zok, arr, 0.0)
            zcounts[:, d] += zok
            zot_rows.append(
                _zot_row("item", item, {k_: a[zok] for k_, a in parts.items()}, confidence)
            )

    def total(key: str, j: int) -> np.ndarray:
        """Respondents' sums of ``score``, ``e`` or ``p`` in dimension ``j`` (both paths)."""
        if key == "score":
            out = np.subtract(isums["p"][:, j], isums["e"][:, j], dtype="float64")
        else:
            out = isums[key][:, j].astype("float64")
        if key in fsums:
            out += fsums[key][:, j]
        return out

    items_df = pd.DataFrame(item_rows)
    items_df["p_holm"] = holm(items_df["p_value"].to_numpy(dtype="float64"))
    items_df["wilcoxon_p_holm"] = holm(items_df["wilcoxon_p"].to_numpy(dtype="float64"))
    items_df = items_df[
        [
            "item",
            "dimension",
            "n",
            "expectation",
            "perception",
            "gap",
            "sd",
            "se",
            "ci_low",
            "ci_high",
            "t",
            "df",
            "p_value",
            "p_holm",
            "wilcoxon_stat",
            "wilcoxon_p",
            "wilcoxon_p_holm",
        ]
    ]

    # empty dimensions first (the more useful message), then empty items
    answered = counts.sum(axis=0)
    for dname in dim_names:
        if answered[dim_index[dname]] == 0:
            msg = (
                f"dimension {dname!r} has no answered items (items {dims[dname]}): no "
                "respondent rated both roles of any of them; check the column names or drop "
                "the dimension."
            )
            raise InsufficientDataError(msg)
    empty = items_df.loc[items_df["n"] == 0, "item"].tolist()
    if empty:
        msg = (
            f"item(s) {empty} have no respondent with both roles answered; drop them from "
            "dimensions or check the data."
        )
        raise InsufficientDataError(msg)

    # One dimension at a time on 1-D arrays: (n, k) float temporaries of a million rows
    # exceed malloc's mmap ceiling and would be page-faulted afresh on every use.
    label = "servqual" if servqual_model else "servperf"
    w_cols, complete, source = _weight_columns(df, weights, dim_names, normalise_weights)
    n_dims: np.ndarray = np.zeros(n, dtype=np.int16 if k < 2**15 else np.int64)
    row_sums = {key: np.zeros(n) for key in ("score", "e", "p")}
    weighted = np.zeros(n) if weights is not None else None
    score_cols: dict[str, np.ndarray] = {}
    dim_rows = []
    role_dims: dict[str, list[tuple[int, float, float]]] = {"e": [], "p": []}
    for j, dname in enumerate(dim_names):
        has = counts[:, j] > 0
        n_has = int(np.count_nonzero(has))
        means = {}
        for key in ("score", "e", "p"):
            # the ratio is 0 where nobody answered (sum 0), NaN is set below
            ratio = total(key, j)
            np.divide(ratio, counts[:, j], out=ratio, where=has)
            row_sums[key] += ratio
            means[key] = float(ratio.sum()) / n_has  # numpy.nanmean of the NaN version
            if key == "score":
                dim_score = ratio
        np.add(n_dims, has, out=n_dims)
        if n_has < n:
            dim_score[~has] = np.nan
        st_d = mean_interval(
            dim_score if n_has == n else dim_score[has], confidence=confidence
        ).row()
        dim_rows.append(
            {
                "dimension": dname,
                "n": st_d["n"],
                "expectation": means["e"] if servqual_model else math.nan,
                "perception": means["p"],
                "gap": st_d["mean"] if servqual_model else math.nan,
                **{key: st_d[key] for key in ("sd", "se", "ci_low", "ci_high")},
            }
        )
        score_cols[dname] = dim_score
        if weighted is not None:  # sum_d (w_d / 100) * gap_d per respondent
            weighted += w_cols[j] * dim_score
        if roles is not None:
            for key in ("e", "p"):
                extra = fsums[f"role_{key}"][:, j] if j in float_dims else None
                role_dims[key].append(
                    _role_level(
                        roles[0][key][:, j], roles[1][key][:, j], len(dims[dname]), extra, scale
                    )
                )
    dims_df = pd.DataFrame(dim_rows)
    roles_df = _roles_table(items, dim_names, role_items, role_dims, items_df, dims_df, confidence)

    # overall: unweighted = mean of the respondent's dimension scores
    overall = _nan_ratio(row_sums["score"], n_dims)
    overall_rows = [{"measure": label, **mean_interval(overall, confidence=confidence).row()}]
    score_cols["overall"] = overall

    weights_df = None
    if weighted is not None and complete is not None:
        weighted[~complete] = np.nan
        overall_rows.append(
            {"measure": f"{label}_weighted", **mean_interval(weighted, confidence=confidence).row()}
        )
        score_cols["weighted"] = weighted
        n_complete = int(np.count_nonzero(complete))
        # the mean allocation of respondents with a complete allocation (zero elsewhere)
        mean_w = (
            [float(np.sum(w)) / n_complete if isinstance(w, np.ndarray) else w for w in w_cols]
            if n_complete
            else [math.nan] * k
        )
        weights_df = pd.DataFrame({"dimension": dim_names, "weight": mean_w, "source": source})
    if servqual_model:
        e_row = _nan_ratio(row_sums["e"], n_dims)
        overall_rows.append(
            {"measure": "expectation", **mean_interval(e_row, confidence=confidence).row()}
        )
    p_row = _nan_ratio(row_sums["p"], n_dims)
    overall_rows.append(
        {"measure": "perception", **mean_interval(p_row, confidence=confidence).row()}
    )

    zot_df = None
    if zot and zcounts is not None:
        zdims = {key: _nan_ratio(fsums[key], zcounts) for key in ("msa", "mss", "ade", "des", "zp")}
        for dname in dim_names:
            j = dim_index[dname]
            zok = zcounts[:, j] > 0
            zot_rows.append(
                _zot_row("dimension", dname, {k_: a[zok, j] for k_, a in zdims.items()}, confidence)
            )
        for key in ("msa", "mss"):
            overall_rows.append(
                {
                    "measure": key,
                    **mean_interval(_row_mean(zdims[key]), confidence=confidence).row(),
                }
            )
        zot_df = pd.DataFrame(zot_rows)

    seg_df, seg_tests = _segments(df, segment, score_cols, confidence) if segment else (None, None)
    # copy=False: one block per column instead of a consolidated copy of all of them
    scores = pd.DataFrame(score_cols, index=df.index, copy=False)
    return ServqualResult(
        model=label,
        items=items_df,
        dimensions=dims_df,
        overall=pd.DataFrame(overall_rows),
        scores=scores,
        zone_of_tolerance=zot_df,
        weights=weights_df,
        segments=seg_df,
        segment_tests=seg_tests,
        missing=missing,
        missing_rule=MISSING_TEXT[missing],
        n_respondents=n,
        confidence=confidence,
        scale=(float(scale[0]), float(scale[1])),
        roles=roles_df,
    )


def _roles_table(
    items: list[str],
    dim_names: list[str],
    role_items: Mapping[str, list[tuple[int, float, float]]],
    role_dims: Mapping[str, list[tuple[int, float, float]]],
    items_df: pd.DataFrame,
    dims_df: pd.DataFrame,
    confidence: float,
) -> pd.DataFrame:
    """:attr:`ServqualResult.roles` from each role's (n, mean, sd) per item and dimension;
    SERVPERF (no ``role_items``) takes P from the item and dimension tables."""
    keys: list[tuple[str, str, str]] = []
    moments: list[tuple[int, float, float]] = []
    for level, names, per_role, table in (
        ("item", items, role_items, items_df),
        ("dimension", dim_names, role_dims, dims_df),
    ):
        for key, role in (("e", "expectation"), ("p", "perception")):
            if per_role[key]:
                found = per_role[key]
            elif key == "p":
                found = list(zip(table["n"], table["perception"], table["sd"], strict=True))
            else:
                continue
            keys += [(level, name, role) for name in names]
            moments += found
    out = pd.DataFrame(keys, columns=["level", "name", "role"])
    n, mean, sd = zip(*moments, strict=True) if moments else ((), (), ())
    return pd.concat([out, intervals_from_stats(n, mean, sd, confidence=confidence)], axis=1)


#: A per-role histogram: distinct answers and how many respondents gave each.
_Hist = tuple[np.ndarray, np.ndarray]


def _int_item(
    p: _Ints,
    e: _Ints | None,
    isums: Mapping[str, np.ndarray],
    counts: np.ndarray,
    d: int,
    roles: tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray]] | None = None,
) -> tuple[np.ndarray, np.ndarray, float, float, dict[str, _Hist] | None]:
    """One whole-number item: add its answered pairs to the respondents' sums of
    dimension ``d`` and return the histogram of its gaps (distinct gaps, counts), its
    mean expectation and perception over the answered pairs and, when ``roles`` (sums and
    missing-answer counts per role, for :attr:`ServqualResult.roles`) is given, the
    histogram of each role's answers (None when the scale is too wide for the joint
    histogram; the caller then describes the float columns).

    Every item statistic follows from the histograms, so no float copy of the column is
    made; the means are exact, as sums of whole numbers are.
    """
    masks = [m for m in (p.nan, None if e is None else e.nan) if m is not None]
    missing = masks[0] if len(masks) == 1 else (masks[0] | masks[1]) if masks else None
    lo = p.low - (e.high if e is not None else 0)
    hi = p.high - (e.low if e is not None else 0)
    size = hi - lo + 1
    joint = _joint_hist(p, e) if e is not None and roles is not None else None
    role_hists = None
    if joint is not None:
        hist, role_hists = joint
    else:
        # Q = P - E (Parasuraman et al., 1988), shifted to 0..hi-lo for bincount
        code = p.codes - e.codes if e is not None else p.codes.copy()
        code -= np.int16(lo)
        if missing is not None:
            code[missing] = size
        hist = np.bincount(code, minlength=size + 1)[:size]
    if missing is None:
        isums["p"][:, d] += p.codes
        e_answered = e.codes if e is not None else None
        counts[:, d] += 1
    else:
        # codes are 0 where their own answer is missing, ``ok`` also clears the partner's
        ok = ~missing
        isums["p"][:, d] += p.codes * ok
        e_answered = e.codes * ok if e is not None else None
        counts[:, d] += ok
    if roles is not None and e is not None:
        # each role on its own: every answer of it (codes are 0 where unanswered)
        rsums, rmiss = roles
        for key, x in (("p", p), ("e", e)):
            rsums[key][:, d] += x.codes
            if x.nan is not None:
                rmiss[key][:, d] += x.nan
    gaps = np.arange(lo, hi + 1, dtype=np.int64)
    n = int(hist.sum())
    if e_answered is None or n == 0:
        return gaps, hist, math.nan, float(hist @ gaps) / n if n else math.nan, role_hists
    isums["e"][:, d] += e_answered
    sum_e = int(e_answered.sum())
    return gaps, hist, sum_e / n, (sum_e + int(hist @ gaps)) / n, role_hists


def _answer_codes(x: _Ints, offset: int) -> np.ndarray:
    """``x``'s answers minus ``offset`` (so at least 1), and 0 where unanswered."""
    if offset == 0:
        return x.codes  # answers are at least 1 and unanswered cells already 0
    out = x.codes - np.int16(offset)
    if x.nan is not None:
        out[x.nan] = 0
    return out


def _joint_hist(p: _Ints, e: _Ints) -> tuple[np.ndarray, dict[str, _Hist]] | None:
    """Histogram of the gaps P - E (as :func:`_int_item`'s) and of each role's answers,
    from one ``bincount`` of the (P, E) answer pairs, a row and a column 0 holding the
    respondents who left that role unanswered. None when the scales are too wide for
    int16 pair codes."""
    off_p = 0 if p.low >= 1 else p.low - 1
    off_e = 0 if e.low >= 1 else e.low - 1
    rows, cols = p.high - off_p + 1, e.high - off_e + 1
    if rows * cols >= 2**15:
        return None
    code = _answer_codes(p, off_p) * np.int16(cols)
    code += _answer_codes(e, off_e)
    joint = np.bincount(code, minlength=rows * cols).reshape(rows, cols)
    in_p = slice(p.low - off_p, p.high - off_p + 1)
    in_e = slice(e.low - off_e, e.high - off_e + 1)
    pairs = joint[in_p, in_e]
    # cell (i, j) holds P = p.low + i and E = e.low + j: Q - min(Q) = i - j + e.high - e.low
    i, j = np.ogrid[: pairs.shape[0], : pairs.shape[1]]
    where = (i - j + (e.high - e.low)).ravel()
    size = p.high - p.low + e.high - e.low + 1
    # float weights are exact here: counts of at most 2**53 respondents
    hist = np.bincount(where, weights=pairs.ravel(), minlength=size).astype(np.int64)
    roles = {
        "p": (np.arange(p.low, p.high + 1, dtype="float64"), joint[in_p, :].sum(axis=1)),
        "e": (np.arange(e.low, e.high + 1, dtype="float64"), joint[:, in_e].sum(axis=0)),
    }
    return hist, roles


def _moments(x: np.ndarray, counts: np.ndarray | None = None) -> tuple[int, float, float]:
    """n, mean and sd (ddof 1) of the finite entries of ``x`` (or of ``x`` repeated
    ``counts`` times), as :func:`scoring.inference.mean_interval` gives them."""
    st = mean_interval(x, counts=counts)
    return st.n, st.mean, st.sd


def _role_level(
    sums: np.ndarray,
    missing: np.ndarray,
    k_d: int,
    extra: np.ndarray | None,
    scale: tuple[float, float],
) -> tuple[int, float, float]:
    """n, mean and sd of respondents' mean answer in one role and dimension.

    ``sums`` are the respondents' sums of that role's whole-number answers in the
    dimension, ``missing`` how many of its ``k_d`` items they left unanswered, ``extra``
    the float-path items' sums (or None). Without float items the (sum, count) pairs
    are few, so one ``bincount`` of them gives the distribution of the means.
    """
    low = k_d * min(0, math.ceil(scale[0]))
    high = k_d * max(0, math.floor(scale[1]))
    width = k_d + 1
    small = (high - low + 1) * width < 2**15 and np.can_cast(missing.dtype, sums.dtype)
    if extra is None and small:
        code = sums - sums.dtype.type(low)
        code *= width
        code += k_d
        code -= missing  # code = (sum - low) * (k_d + 1) + answered
        hist = np.bincount(code, minlength=(high - low + 1) * width)
        cells = np.flatnonzero(hist)
        answered = cells % width
        cells = cells[answered > 0]
        answered = answered[answered > 0]
        values = (cells // width + low) / answered
        return _moments(values, hist[cells])
    total = sums.astype("float64")
    if extra is not None:
        total += extra
    answered = k_d - missing.astype(np.int64)
    has = answered > 0
    return _moments(total[has] / answered[has])


def _row_mean(x: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(x)
    return _nan_ratio(np.where(ok, x, 0.0).sum(axis=1), ok.sum(axis=1))


def _zot_row(
    level: str, name: str, parts: Mapping[str, np.ndarray], confidence: float
) -> dict[str, Any]:
    s_msa, s_mss = (
        mean_interval(parts["msa"], confidence=confidence).row(),
        mean_interval(parts["mss"], confidence=confidence).row(),
    )
    n = s_msa["n"]
    return {
        "level": level,
        "name": name,
        "n": n,
        "perception": float(parts["zp"].mean()) if n else math.nan,
        "adequate": float(parts["ade"].mean()) if n else math.nan,
        "desired": float(parts["des"].mean()) if n else math.nan,
        "msa": s_msa["mean"],
        "msa_ci_low": s_msa["ci_low"],
        "msa_ci_high": s_msa["ci_high"],
        "mss": s_mss["mean"],
        "mss_ci_low": s_mss["ci_low"],
        "mss_ci_high": s_mss["ci_high"],
    }


def _factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray | pd.Index]:
    """Codes (-1 for an empty cell) and sorted levels of a segment column."""
    if pd.api.types.is_string_dtype(values.dtype) and not isinstance(
        values.dtype, pd.CategoricalDtype
    ):
        # the object array behind a string column factorizes about twice as fast
        return pd.factorize(values.to_numpy(), sort=True)
    return pd.factorize(values, sort=True)


def _segments(
    df: pd.DataFrame, segment: list[str], scores: Mapping[str, np.ndarray], confidence: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, tests = [], []
    for col in segment:
        codes, levels = _factorize(df[col])
        k = len(levels)
        sizes = np.bincount(codes + 1, minlength=k + 1)  # [empty cells, level 0, ...]
        lonely = [levels[int(i)] for i in np.nonzero(sizes[1:] == 1)[0]]
        if lonely:
            msg = (
                f"segment column {col!r} has level(s) {list(map(str, lonely))} with a single "
                "respondent; a segment needs at least 2 to estimate its spread. Merge the "
                "level with another one or drop those rows before scoring."
            )
            raise InsufficientDataError(msg)
        # rows grouped by level once (radix sort of small codes); each score is then
        # gathered in that order and every level is a contiguous slice
        small = codes.astype(np.int16 if k < 2**15 else np.int64)
        order = np.argsort(small, kind="stable")[sizes[0] :]
        bounds = np.cumsum(sizes[1:]) - sizes[1:]
        for score, x in scores.items():
            groups = []
            for part in np.split(x[order], bounds[1:]):
                part.sort()  # respondents without this score (NaN) sort last
                if part.size and np.isnan(part[-1]):
                    part = part[: int(np.searchsorted(part, np.nan))]
                groups.append(part)
            nk = np.array([g.size for g in groups], dtype="float64")
            mean = _nan_ratio(np.array([g.sum() for g in groups]), nk)
            ss = np.array([float(((g - m) ** 2).sum()) for g, m in zip(groups, mean, strict=True)])
            var = _nan_ratio(ss, nk - 1)
            se = np.sqrt(var / nk)
            with np.errstate(invalid="ignore"):
                half = stats.t.ppf(0.5 + confidence / 2.0, nk - 1) * se
            for i, level in enumerate(levels):
                rows.append(
                    {
                        "segment": col,
                        "level": level,
                        "score": score,
                        "n": int(nk[i]),
                        "mean": mean[i],
                        "sd": math.sqrt(var[i]) if var[i] >= 0 else math.nan,
                        "se": se[i],
                        "ci_low": mean[i] - half[i],
                        "ci_high": mean[i] + half[i],
                    }
                )
            present = nk > 0
            welch = welch_anova_from_stats(nk[present], mean[present], var[present])
            kruskal = kruskal_wallis([g for g in groups if g.size])
            tests.append(
                {
                    "segment": col,
                    "score": score,
                    "levels": int(present.sum()),
                    "n": int(nk.sum()),
                    "welch_f": welch.f,
                    "welch_df1": welch.df1,
                    "welch_df2": welch.df2,
                    "welch_p": welch.p,
                    "kruskal_h": kruskal.h,
                    "kruskal_p": kruskal.p,
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(tests)


# ---------------------------------------------------------------------------- public


def _common_checks(
    dimensions: Mapping[str, Sequence[str]],
    scale: tuple[float, float],
    missing: str,
    confidence: float,
) -> dict[str, list[str]]:
    check_choice("missing", missing, MISSING_RULES)
    dims = check_mapping(dimensions, "dimensions")
    if len(scale) != 2 or not scale[0] < scale[1]:
        msg = f"scale must be (min, max) with min < max; got {scale!r}."
        raise SpecificationError(msg)
    if not 0 < confidence < 1:
        msg = f"confidence must be between 0 and 1; got {confidence!r}."
        raise SpecificationError(msg)
    return dims


def _segment_list(segment: str | Sequence[str] | None, df: pd.DataFrame) -> list[str]:
    segs = [] if segment is None else [segment] if isinstance(segment, str) else list(segment)
    check_columns(df, segs, "data (segment columns)")
    return segs


def servqual(
    data: pd.DataFrame,
    *,
    dimensions: Mapping[str, Sequence[str]],
    scale: tuple[float, float] = (1, 7),
    weights: Mapping[str, str] | Mapping[str, float] | None = None,
    normalise_weights: bool = False,
    segment: str | Sequence[str] | None = None,
    model: Literal["auto", "servqual", "servperf"] = "auto",
    missing: MissingRule = "pairwise",
    confidence: float = 0.95,
    suffixes: Mapping[str, str] = ROLE_SUFFIXES,
    reverse: Sequence[str] = (),
    decimals: bool = False,
) -> ServqualResult:
    """SERVQUAL gap scores (or SERVPERF) from a tidy export frame.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent. Item ``rel1`` has columns ``rel1_e`` (expectation) and
        ``rel1_p`` (perception); with the zone of tolerance also ``rel1_ade`` (adequate)
        and ``rel1_des`` (desired).
    dimensions : mapping of str to sequence of str
        Dimension -> item ids (not column names), e.g. ``{"tangibles": ["tan1", ...]}``.
    scale : (min, max)
        Rating scale; a value outside it is a :class:`~scoring.errors.DataError`.
    weights : mapping, optional
        Either dimension -> allocation column (each respondent's 100-point allocation of
        importance, the export columns ``<id>_<dimension>`` of an allocation item) or
        dimension -> fixed weight given by the researcher (any non-negative numbers;
        they are rescaled to sum 1).
    normalise_weights : bool
        By default a complete allocation row that does not sum to 100 is an error; with
        ``True`` each row is divided by its own total instead.
    segment : str or sequence of str, optional
        Column(s) to break the scores down by, with a test across their levels.
    model : {'auto', 'servqual', 'servperf'}
        ``auto`` scores SERVPERF when no expectation column exists, else SERVQUAL;
        ``servperf`` ignores expectation columns.
    missing : {'pairwise', 'listwise', 'item_mean'}
        Missing-data rule (stated in the result); see Notes.
    confidence : float
        Level of every interval.
    suffixes : mapping
        Role -> column suffix; defaults to the export rule :data:`ROLE_SUFFIXES`.
    reverse : sequence of str
        Reverse-coded item ids: every role of them (expectation, perception, adequate,
        desired) is recoded ``min + max - x`` before any gap, so that a higher answer
        always means more of the quality. Answers outside ``scale`` are left as they are
        for the scale check to report.
    decimals : bool, default False
        Whether an answer may fall between the scale points (items averaged from
        sub-items, or a scale declared ``decimals: true`` in the questionnaire). By
        default a rating is a whole number and ``4.5`` on a 1-7 scale is a
        :class:`~scoring.errors.DataError`.

    Returns
    -------
    ServqualResult

    Raises
    ------
    DataError
        Missing perception columns, non-numeric cells, values outside ``scale`` (or
        between its points, unless ``decimals``), allocations that do not sum to 100.
    SpecificationError
        Expectation (or adequate/desired) columns for some items only; bad weights;
        ``reverse`` names an item in no dimension.
    InsufficientDataError
        A dimension or item with no answered pair; a segment level with one respondent;
        nothing left after listwise deletion.

    Notes
    -----
    Per respondent and item, ``Q = P - E``. A respondent's dimension score is the mean
    of their item gaps in it, the unweighted SERVQUAL score the mean of their dimension
    scores, and the weighted score ``sum_d (w_d / 100) * Q_d`` with their own allocation
    (or the researcher's fixed weights). Reported means, SDs and t intervals are over
    respondents; with complete data the dimension gap equals the mean of its item gaps
    and the overall score the mean of the dimension gaps. Each item gets a paired t test
    of P against E and a Wilcoxon signed-rank test, both Holm-adjusted across items.
    SERVPERF uses P in place of Q (Cronin & Taylor, 1992). The zone of tolerance gives
    ``MSA = P - desired`` and ``MSS = P - adequate`` (Parasuraman et al., 1994).
    Segments: Welch's ANOVA and Kruskal-Wallis on the per-respondent scores; rows with an
    empty segment cell are left out of that breakdown, and a level with a single
    respondent is an error (not silently dropped).

    Missing data: ``pairwise`` (default) uses, per item, the respondents who answered both
    roles (E and P means in the item table are over those respondents, so gap = P - E
    holds in every row), and per respondent the items and dimensions they answered;
    ``listwise`` keeps only respondents who answered every role column (and allocation);
    ``item_mean`` fills each missing answer with its column mean.

    References
    ----------
    .. [1] Parasuraman, A., Zeithaml, V. A., & Berry, L. L. (1988). SERVQUAL: A
       multiple-item scale for measuring consumer perceptions of service quality.
       Journal of Retailing, 64(1), 12-40.
    .. [2] Parasuraman, A., Berry, L. L., & Zeithaml, V. A. (1991). Refinement and
       reassessment of the SERVQUAL scale. Journal of Retailing, 67(4), 420-450.
    .. [3] Cronin, J. J., & Taylor, S. A. (1992). Measuring service quality: A
       reexamination and extension. Journal of Marketing, 56(3), 55-68.
    .. [4] Parasuraman, A., Zeithaml, V. A., & Berry, L. L. (1994). Alternative scales for
       measuring service quality: A comparative assessment based on psychometric and
       diagnostic criteria. Journal of Retailing, 70(3), 201-230.
    .. [5] Welch, B. L. (1951). On the comparison of several mean values: An alternative
       approach. Biometrika, 38(3/4), 330-336.
    .. [6] Holm, S. (1979). A simple sequentially rejective multiple test procedure.
       Scandinavian Journal of Statistics, 6(2), 65-70.

    Examples
    --------
    >>> import pandas as pd
    >>> from scoring.servqual import servqual
    >>> df = pd.DataFrame({"t1_e": [6, 7, 5], "t1_p": [5, 6, 5],
    ...                    "r1_e": [7, 7, 6], "r1_p": [6, 5, 6],
    ...                    "w_t": [40, 80, 60], "w_r": [60, 20, 40]})
    >>> res = servqual(df, dimensions={"tangibles": ["t1"], "reliability": ["r1"]},
    ...                weights={"tangibles": "w_t", "reliability": "w_r"})
    >>> res.dimensions[["dimension", "gap"]].round(3).to_dict("list")
    {'dimension': ['tangibles', 'reliability'], 'gap': [-0.667, -1.0]}
    >>> res.overall.set_index("measure")["mean"].round(3).to_dict()
    {'servqual': -0.833, 'servqual_weighted': -0.733, 'expectation': 6.333, 'perception': 5.5}
    """
    dims = _common_checks(dimensions, scale, missing, confidence)
    check_choice("model", model, ("auto", "servqual", "servperf"))
    df = check_frame(data)
    items = [i for its in dims.values() for i in its]
    p_cols = _role_columns(items, "perception", suffixes)
    check_columns(df, p_cols, "data (perception columns)")
    e_cols = None
    if model != "servperf":
        why = "Give both roles for every item, or pass model='servperf' to use perceptions only."
        e_cols = _optional_role(df, items, "expectation", suffixes, why)
        if model == "servqual" and e_cols is None:
            check_columns(df, _role_columns(items, "expectation", suffixes), "data")
    zot_why = "The zone of tolerance needs adequate and desired columns for every item."
    ade = _optional_role(df, items, "adequate", suffixes, zot_why)
    des = _optional_role(df, items, "desired", suffixes, zot_why)
    if (ade is None) != (des is None):
        role = "desired" if des is None else "adequate"
        msg = (
            "the zone of tolerance needs both adequate and desired columns; "
            f"no {role} columns found."
        )
        raise SpecificationError(msg)
    rev = _check_reverse(reverse, items)
    if rev:
        df = _reverse_roles(df, [c for c in (p_cols, e_cols, ade, des) if c], items, rev, scale)
    result = _score(
        df,
        _Columns(p_cols, e_cols, ade, des),
        items,
        dims,
        scale=scale,
        weights=_check_weights(weights, list(dims)),
        normalise_weights=normalise_weights,
        segment=_segment_list(segment, df),
        missing=missing,
        confidence=confidence,
        name="data",
        decimals=decimals,
    )
    return dataclasses.replace(result, reverse=tuple(rev)) if rev else result


def _check_reverse(reverse: Sequence[str], items: list[str]) -> list[str]:
    rev = [reverse] if isinstance(reverse, str) else list(reverse)
    stray = [r for r in rev if r not in items]
    if stray:
        msg = (
            f"reverse names item id(s) {stray} that are in no dimension; "
            f"the dimensions hold {items}."
        )
        raise SpecificationError(msg)
    return rev


def _reverse_roles(
    df: pd.DataFrame,
    role_columns: list[list[str]],
    items: list[str],
    reverse: list[str],
    scale: tuple[float, float],
) -> pd.DataFrame:
    """``df`` with the role columns of the ``reverse`` items recoded ``min + max - x``
    (answers inside the scale only; the rest stay for the checks to name)."""
    recoded: dict[str, pd.Series] = {}
    for cols in role_columns:
        for item, col in zip(items, cols, strict=True):
            if item in reverse:
                x = pd.to_numeric(df[col], errors="coerce")
                recoded[col] = df[col].where(~x.between(*scale), scale[0] + scale[1] - x)
    return df.assign(**recoded)


def servqual_gaps(
    perceptions: pd.DataFrame,
    expectations: pd.DataFrame | None = None,
    *,
    dimensions: Mapping[str, Sequence[str]],
    scale: tuple[float, float] = (1, 7),
    weights: pd.DataFrame | Mapping[str, float] | None = None,
    normalise_weights: bool = False,
    segments: pd.DataFrame | pd.Series | None = None,
    adequate: pd.DataFrame | None = None,
    desired: pd.DataFrame | None = None,
    missing: MissingRule = "pairwise",
    confidence: float = 0.95,
    reverse: Sequence[str] = (),
    decimals: bool = False,
) -> ServqualResult:
    """SERVQUAL gaps from explicit perception and expectation frames (columns = item ids).

    Parameters
    ----------
    perceptions, expectations : pandas.DataFrame
        Same rows (index) and the same item columns; ``expectations=None`` scores SERVPERF.
    dimensions : mapping of str to sequence of str
        Dimension -> item ids (columns of the frames).
    weights : DataFrame or mapping, optional
        A frame of allocations with one column per dimension (same rows), or fixed
        weights dimension -> number.
    segments : DataFrame or Series, optional
        Segment column(s) aligned with the rows.
    adequate, desired : pandas.DataFrame, optional
        Zone-of-tolerance roles, same shape as ``perceptions``.
    reverse : sequence of str
        Reverse-coded item ids (columns of the frames), recoded ``min + max - x`` in
        every role before any gap, as in :func:`servqual`.
    scale, normalise_weights, missing, confidence, decimals
        As in :func:`servqual`.

    Returns
    -------
    ServqualResult

    Raises
    ------
    SpecificationError
        The frames hold different item sets.
    DataError
        The frames have different rows, or any problem listed in :func:`servqual`.

    Notes
    -----
    The frames are joined into the export layout (``<item>_p``, ``<item>_e``, ...) and
    scored by :func:`servqual`; formulas and missing-data rules are documented there.

    References
    ----------
    .. [1] Parasuraman, A., Zeithaml, V. A., & Berry, L. L. (1988). Journal of Retailing,
       64(1), 12-40.

    Examples
    --------
    >>> import pandas as pd
    >>> from scoring.servqual import servqual_gaps
    >>> p = pd.DataFrame({"a": [5, 6], "b": [4, 6]})
    >>> e = pd.DataFrame({"a": [6, 6], "b": [6, 7]})
    >>> servqual_gaps(p, e, dimensions={"d": ["a", "b"]}).items["gap"].tolist()
    [-0.5, -1.5]
    """
    p = check_frame(perceptions, "perceptions")
    frames = {"perception": p}
    for role, frame in (
        ("expectation", expectations),
        ("adequate", adequate),
        ("desired", desired),
    ):
        if frame is None:
            continue
        other = check_frame(frame, f"{role}s")
        only_p = [c for c in p.columns if c not in other.columns]
        only_o = [c for c in other.columns if c not in p.columns]
        if only_p or only_o:
            msg = (
                f"perceptions and {role}s must have the same columns; missing in {role}s: "
                f"{only_p}, missing in perceptions: {only_o}."
            )
            raise SpecificationError(msg)
        if not other.index.equals(p.index):
            msg = f"perceptions and {role}s must have the same rows (index); align them first."
            raise DataError(msg)
        frames[role] = other
    parts = [f.add_suffix(ROLE_SUFFIXES[role]) for role, f in frames.items()]
    w_spec: Mapping[str, Any] | None = None
    if isinstance(weights, pd.DataFrame):
        if not weights.index.equals(p.index):
            msg = "weights must have the same rows (index) as perceptions."
            raise DataError(msg)
        parts.append(weights.add_prefix("__w_"))
        w_spec = {str(c): f"__w_{c}" for c in weights.columns}
    elif weights is not None:
        w_spec = weights
    seg_names: list[str] = []
    if segments is not None:
        seg = segments.to_frame() if isinstance(segments, pd.Series) else segments
        parts.append(seg.add_prefix("__s_"))
        seg_names = [f"__s_{c}" for c in seg.columns]
    result = servqual(
        pd.concat(parts, axis=1),
        dimensions=dimensions,
        scale=scale,
        weights=w_spec,
        normalise_weights=normalise_weights,
        segment=seg_names,
        model="servqual" if expectations is not None else "servperf",
        missing=missing,
        confidence=confidence,
        reverse=reverse,
        decimals=decimals,
    )
    if result.segments is None or result.segment_tests is None:
        return result
    segs, tests = result.segments, result.segment_tests
    return dataclasses.replace(
        result,
        segments=segs.assign(segment=segs["segment"].str.removeprefix("__s_")),
        segment_tests=tests.assign(segment=tests["segment"].str.removeprefix("__s_")),
    )
