"""Weighting methods shared by every scoring method.

Four ways to obtain a weight vector over indicators (items, dimensions, first-level
factors):

- :func:`given_weights`: weights stated by the researcher, validated;
- :func:`ahp_weights`: the analytic hierarchy process (Saaty 1977, 1980) from a pairwise
  comparison matrix, with the consistency ratio check;
- :func:`entropy_weights`: the entropy weight method (熵权法) from a data matrix;
- :func:`allocation_weights`: the respondents' constant-sum (100-point) allocations, as
  used by the weighted SERVQUAL score (Parasuraman, Zeithaml & Berry 1988).

Each returns weights as a :class:`pandas.Series` named ``"weight"`` (``given_weights``) or
a result object whose ``weights`` attribute is that Series; any scoring function that
accepts weights accepts either.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.linalg

from scoring._results import Result
from scoring._validation import (
    check_choice,
    check_frame,
    check_min_rows,
    check_numeric,
    py_label,
)
from scoring.errors import DataError, SpecificationError

__all__ = [
    "SAATY_RANDOM_INDEX",
    "AhpResult",
    "AllocationResult",
    "EntropyResult",
    "ahp_weights",
    "allocation_weights",
    "as_weights",
    "entropy_weights",
    "given_weights",
]

#: Saaty's random consistency index RI for n = 1..15 (Saaty 1980, Table 1.7; the values
#: for n = 11..15 are the ones Saaty reports from larger simulations). RI[n - 1].
SAATY_RANDOM_INDEX: tuple[float, ...] = (
    0.0,
    0.0,
    0.58,
    0.90,
    1.12,
    1.24,
    1.32,
    1.41,
    1.45,
    1.49,
    1.51,
    1.48,
    1.56,
    1.57,
    1.59,
)

WEIGHT_TOL = 1e-6


def given_weights(
    weights: Mapping[Any, float] | Sequence[float] | pd.Series | Any,
    *,
    names: Sequence[Any] | None = None,
    normalise: bool = False,
    name: str = "weights",
) -> pd.Series:
    """Validate weights stated by the researcher.

    Parameters
    ----------
    weights : mapping, Series, sequence or result object
        ``{indicator: weight}``, a Series indexed by indicator, a plain sequence aligned
        with ``names``, or any result object with a ``weights`` Series attribute (e.g.
        :class:`AhpResult`).
    names : sequence, optional
        The indicators the weights are for, in order. A mapping must cover exactly these;
        a sequence must have the same length. When omitted the mapping's keys are used
        (a sequence is labelled 0, 1, ...).
    normalise : bool, default False
        Divide by the sum instead of requiring it to be 1.
    name : str
        Argument name used in error messages.

    Returns
    -------
    pandas.Series
        Float weights named ``"weight"``, indexed by indicator, summing to 1.

    Raises
    ------
    SpecificationError
        Missing or unknown indicators, negative or non-finite weights, or a sum other than
        1 (within 1e-6) without ``normalise=True``.

    Examples
    --------
    >>> from scoring.weights import given_weights
    >>> given_weights({"a": 2, "b": 6}, normalise=True).tolist()
    [0.25, 0.75]
    """
    if hasattr(weights, "weights") and isinstance(weights.weights, pd.Series):
        weights = weights.weights
    if isinstance(weights, Mapping | pd.Series):
        w = pd.Series(dict(weights.items()), dtype="object")
        if names is not None:
            missing = [n for n in names if n not in w.index]
            extra = [k for k in w.index if k not in list(names)]
            if missing or extra:
                msg = (
                    f"{name} must give one weight per indicator {list(names)}; "
                    f"missing: {missing}, unknown: {extra}."
                )
                raise SpecificationError(msg)
            w = w.loc[list(names)]
    else:
        if isinstance(weights, str) or not isinstance(weights, Sequence | np.ndarray):
            msg = f"{name} must be a mapping or a sequence of numbers; got {weights!r}."
            raise SpecificationError(msg)
        values = list(weights)
        labels = list(names) if names is not None else list(range(len(values)))
        if len(values) != len(labels):
            msg = (
                f"{name} has {len(values)} value(s) but there are {len(labels)} indicators "
                f"{labels}; give one weight per indicator."
            )
            raise SpecificationError(msg)
        w = pd.Series(values, index=labels, dtype="object")
    try:
        arr = w.to_numpy(dtype="float64")
    except (TypeError, ValueError):
        msg = f"{name} must be numbers; got {dict(w.items())!r}."
        raise SpecificationError(msg) from None
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        label, value = py_label(w.index[i]), float(arr[i])
        msg = f"{name} must be finite and non-negative; {label!r} has {value!r}."
        raise SpecificationError(msg)
    total = float(arr.sum())
    if normalise:
        if total <= 0:
            msg = f"{name} sum to 0, so they cannot be normalised; give a positive weight."
            raise SpecificationError(msg)
        arr = arr / total
    elif abs(total - 1.0) > WEIGHT_TOL:
        msg = (
            f"{name} must sum to 1; they sum to {total:.6g}. "
            "Fix the weights or pass normalise=True to divide them by their sum."
        )
        raise SpecificationError(msg)
    return pd.Series(arr, index=w.index, name="weight")


def as_weights(
    weights: Any, names: Sequence[Any], *, normalise: bool = False, name: str = "weights"
) -> pd.Series:
    """Weights for ``names``: equal when ``weights`` is None or ``"equal"``, else validated."""
    if weights is None or (isinstance(weights, str) and weights == "equal"):
        return pd.Series(np.full(len(names), 1.0 / len(names)), index=list(names), name="weight")
    return given_weights(weights, names=names, normalise=normalise, name=name)


# ----------------------------------------------------------------------------------- AHP


@dataclass(frozen=True, slots=True, kw_only=True)
class AhpResult(Result):
    """Result of :func:`ahp_weights`.

    Attributes
    ----------
    weights : pandas.Series
        Normalised principal eigenvector (sums to 1), named ``"weight"``.
    lambda_max : float
        Principal eigenvalue λmax.
    ci : float
        Consistency index (λmax − n)/(n − 1).
    ri : float
        Saaty's random index for this n (or the one given).
    cr : float
        Consistency ratio CI/RI (0 for n ≤ 2).
    consistent : bool
        ``cr < 0.1``.
    matrix : pandas.DataFrame
        The pairwise comparison matrix as used.
    """

    weights: pd.Series
    lambda_max: float
    ci: float
    ri: float
    cr: float
    consistent: bool
    matrix: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """One row per indicator: weight, with λmax, CI, RI, CR repeated for display."""
        out = self.weights.rename_axis("indicator").reset_index()
        out["lambda_max"] = self.lambda_max
        out["ci"] = self.ci
        out["ri"] = self.ri
        out["cr"] = self.cr
        return out


def _pairwise_matrix(
    matrix: Any, names: Sequence[Any] | None, reciprocal_tol: float
) -> pd.DataFrame:
    if isinstance(matrix, pd.DataFrame):
        labels = list(matrix.index)
        if names is None and list(matrix.columns) != labels:
            msg = (
                "matrix must have the same labels on rows and columns; got rows "
                f"{labels} and columns {list(matrix.columns)}."
            )
            raise SpecificationError(msg)
        values = matrix.to_numpy()
    else:
        values = np.asarray(matrix, dtype="object")
        labels = list(range(values.shape[0])) if values.ndim == 2 else []
    if values.ndim != 2 or values.shape[0] != values.shape[1] or values.shape[0] == 0:
        msg = (
            f"matrix must be a square pairwise comparison matrix (n x n); got shape {values.shape}."
        )
        raise SpecificationError(msg)
    n = values.shape[0]
    if names is not None:
        if len(names) != n:
            msg = f"names has {len(names)} label(s) but matrix is {n} x {n}."
            raise SpecificationError(msg)
        labels = list(names)
    try:
        a = values.astype("float64")
    except (TypeError, ValueError):
        msg = "matrix must hold numbers (write 1/3 as 0.3333 or as a float)."
        raise SpecificationError(msg) from None
    for i in range(n):
        for j in range(n):
            v = a[i, j]
            if not np.isfinite(v) or v <= 0:
                msg = (
                    f"matrix[{labels[i]!r}, {labels[j]!r}] must be a positive number; "
                    f"got {values[i, j]!r}."
                )
                raise SpecificationError(msg)
    for i in range(n):
        if abs(a[i, i] - 1.0) > reciprocal_tol:
            msg = (
                f"matrix[{labels[i]!r}, {labels[i]!r}] must be 1 (an indicator is equally "
                f"important as itself); got {float(a[i, i])!r}."
            )
            raise SpecificationError(msg)
        for j in range(i + 1, n):
            if abs(a[i, j] * a[j, i] - 1.0) > reciprocal_tol:
                msg = (
                    f"matrix is not reciprocal at [{labels[i]!r}, {labels[j]!r}] = "
                    f"{float(a[i, j])!r} and [{labels[j]!r}, {labels[i]!r}] = {float(a[j, i])!r}; "
                    f"a_ji must equal 1/a_ij (within {reciprocal_tol:g} relative)."
                )
                raise SpecificationError(msg)
    return pd.DataFrame(a, index=labels, columns=labels)


def ahp_weights(
    matrix: Any,
    *,
    names: Sequence[Any] | None = None,
    allow_inconsistent: bool = False,
    random_index: float | None = None,
    reciprocal_tol: float = 0.02,
) -> AhpResult:
    """Weights from an AHP pairwise comparison matrix (层次分析法).

    Parameters
    ----------
    matrix : array-like or pandas.DataFrame
        Square matrix with ``a_ij`` = importance of indicator i relative to j on Saaty's
        1–9 scale, ``a_ii = 1`` and ``a_ji = 1/a_ij``. A DataFrame's labels name the
        indicators.
    names : sequence, optional
        Indicator labels (default: the DataFrame labels, else 0..n-1).
    allow_inconsistent : bool, default False
        Return the result even when CR ≥ 0.1 (``consistent`` is then False).
    random_index : float, optional
        Override Saaty's random index (needed for n > 15).
    reciprocal_tol : float, default 0.02
        Tolerance on ``|a_ij · a_ji − 1|`` so that judgments typed as 0.33 for 1/3 pass.

    Returns
    -------
    AhpResult

    Raises
    ------
    SpecificationError
        Non-square, non-positive or non-reciprocal matrix (naming the cell); CR ≥ 0.1
        without ``allow_inconsistent=True``; n > 15 without ``random_index``.

    Notes
    -----
    The weights are the principal right eigenvector of A (``scipy.linalg.eig``),
    normalised to sum 1; λmax is its eigenvalue. Consistency index
    ``CI = (λmax − n)/(n − 1)`` and ratio ``CR = CI / RI(n)`` with Saaty's random index
    (:data:`SAATY_RANDOM_INDEX`); CR < 0.1 is acceptable (Saaty 1980). For n ≤ 2 every
    reciprocal matrix is consistent and CR is defined as 0.

    References
    ----------
    .. [1] Saaty, T. L. (1977). A scaling method for priorities in hierarchical
       structures. Journal of Mathematical Psychology, 15(3), 234-281.
    .. [2] Saaty, T. L. (1980). The Analytic Hierarchy Process. McGraw-Hill.

    Examples
    --------
    >>> from scoring.weights import ahp_weights
    >>> res = ahp_weights([[1, 2, 4], [1 / 2, 1, 2], [1 / 4, 1 / 2, 1]], names=["a", "b", "c"])
    >>> res.weights.round(4).tolist(), round(res.cr, 6)
    ([0.5714, 0.2857, 0.1429], 0.0)
    """
    a = _pairwise_matrix(matrix, names, reciprocal_tol)
    n = a.shape[0]
    eigvals, eigvecs = scipy.linalg.eig(a.to_numpy())
    k = int(np.argmax(eigvals.real))
    lam = float(eigvals[k].real)
    vec = np.abs(eigvecs[:, k].real)
    w = pd.Series(vec / vec.sum(), index=a.index, name="weight")
    if n <= 2:
        ci, ri, cr = 0.0, 0.0, 0.0
    else:
        if random_index is None:
            if n > len(SAATY_RANDOM_INDEX):
                msg = (
                    f"Saaty's random index is tabulated for n <= {len(SAATY_RANDOM_INDEX)}; "
                    f"the matrix is {n} x {n}. Pass random_index= explicitly."
                )
                raise SpecificationError(msg)
            ri = SAATY_RANDOM_INDEX[n - 1]
        else:
            ri = float(random_index)
        # λmax ≥ n for a positive reciprocal matrix; clip round-off below n.
        ci = max(lam - n, 0.0) / (n - 1)
        cr = ci / ri
    if cr >= 0.1 and not allow_inconsistent:
        msg = (
            f"the pairwise comparison matrix is too inconsistent: CR = {cr:.4f} >= 0.1 "
            f"(lambda_max = {lam:.4f}, CI = {ci:.4f}, RI = {ri}). Revise the judgments or "
            "pass allow_inconsistent=True."
        )
        raise SpecificationError(msg)
    return AhpResult(weights=w, lambda_max=lam, ci=ci, ri=ri, cr=cr, consistent=cr < 0.1, matrix=a)


# ------------------------------------------------------------------------------- entropy


@dataclass(frozen=True, slots=True, kw_only=True)
class EntropyResult(Result):
    """Result of :func:`entropy_weights`.

    Attributes
    ----------
    weights : pandas.Series
        w_j = d_j / Σ d_j, named ``"weight"``.
    entropy : pandas.Series
        Information entropy e_j of each indicator.
    divergence : pandas.Series
        Degree of divergence d_j = 1 − e_j.
    n : int
        Rows used.
    """

    weights: pd.Series
    entropy: pd.Series
    divergence: pd.Series
    n: int

    def summary(self) -> pd.DataFrame:
        """One row per indicator: entropy, divergence, weight."""
        return pd.DataFrame(
            {
                "indicator": self.weights.index,
                "entropy": self.entropy.to_numpy(),
                "divergence": self.divergence.to_numpy(),
                "weight": self.weights.to_numpy(),
            }
        )


def entropy_weights(
    data: pd.DataFrame,
    *,
    items: Sequence[str] | None = None,
    standardise: Literal["min_max", "share"] = "min_max",
    negative: Sequence[str] = (),
) -> EntropyResult:
    """Entropy weight method (熵权法) from a data matrix.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per evaluated unit (respondent, branch, period), one column per indicator.
    items : sequence of str, optional
        Indicator columns (default: all columns).
    standardise : {"min_max", "share"}, default "min_max"
        ``"min_max"``: x' = (x − min)/(max − min) (or (max − x)/(max − min) for the
        ``negative`` indicators), the usual first step; ``"share"``: use the raw
        non-negative values directly.
    negative : sequence of str
        Cost-type indicators (higher is worse); only with ``"min_max"``.

    Returns
    -------
    EntropyResult

    Raises
    ------
    DataError
        Missing values (the method has no missing-data rule: impute or drop first),
        a constant indicator under ``"min_max"``, negative values or an all-zero column
        under ``"share"`` (p_ij would divide by zero).
    InsufficientDataError
        Fewer than two rows.

    Notes
    -----
    p_ij = x'_ij / Σ_i x'_ij, e_j = −(1/ln n) Σ_i p_ij ln p_ij (with 0·ln 0 = 0),
    d_j = 1 − e_j, w_j = d_j / Σ_j d_j. An indicator whose values vary more carries more
    information and gets more weight.

    References
    ----------
    .. [1] Shannon, C. E. (1948). A mathematical theory of communication. Bell System
       Technical Journal, 27(3), 379-423.
    .. [2] Zeleny, M. (1982). Multiple Criteria Decision Making. McGraw-Hill (entropy
       as a measure of an attribute's contrast intensity).

    Examples
    --------
    >>> import pandas as pd
    >>> from scoring.weights import entropy_weights
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 1, 1, 4]})
    >>> entropy_weights(df).weights.round(3).tolist()
    [0.213, 0.787]
    """
    check_choice("standardise", standardise, ("min_max", "share"))
    df = check_frame(data)
    cols = list(items) if items is not None else [str(c) for c in df.columns]
    x = check_numeric(df, cols)
    if x.isna().any().any():
        col = next(c for c in cols if x[c].isna().any())
        row = x.index[x[col].isna().to_numpy()][0]
        msg = (
            f"data column {col!r} has a missing value in row {py_label(row)!r}; the entropy weight "
            "method needs complete data: drop or impute missing answers first."
        )
        raise DataError(msg)
    n = len(x)
    check_min_rows(n, 2, "entropy_weights")
    unknown = [c for c in negative if c not in cols]
    if unknown:
        msg = f"negative names indicator(s) {unknown} that are not among items {cols}."
        raise SpecificationError(msg)
    v = x.to_numpy(dtype="float64")
    if standardise == "min_max":
        lo, hi = v.min(axis=0), v.max(axis=0)
        span = hi - lo
        for j, c in enumerate(cols):
            if span[j] == 0:
                msg = (
                    f"data column {c!r} is constant ({lo[j]:g}); min-max standardisation "
                    "divides by zero. Drop the indicator (it carries no information)."
                )
                raise DataError(msg)
        z = (v - lo) / span
        neg = [cols.index(c) for c in negative]
        z[:, neg] = 1.0 - z[:, neg]
    else:
        if negative:
            msg = "negative indicators need standardise='min_max'."
            raise SpecificationError(msg)
        if (v < 0).any():
            r, j = (int(i[0]) for i in np.nonzero(v < 0))
            msg = (
                f"data column {cols[j]!r} has negative value {v[r, j]:g} in row "
                f"{py_label(x.index[r])!r}; standardise='share' needs non-negative data."
            )
            raise DataError(msg)
        z = v
    colsum = z.sum(axis=0)
    zero = [c for j, c in enumerate(cols) if colsum[j] == 0]
    if zero:
        msg = f"data column(s) {zero} sum to zero, so their shares p_ij divide by zero."
        raise DataError(msg)
    p = z / colsum
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    e = -plogp.sum(axis=0) / math.log(n)
    d = 1.0 - e
    if d.sum() <= 0:
        msg = "every indicator has maximal entropy (no variation); entropy weights are undefined."
        raise DataError(msg)
    return EntropyResult(
        weights=pd.Series(d / d.sum(), index=cols, name="weight"),
        entropy=pd.Series(e, index=cols, name="entropy"),
        divergence=pd.Series(d, index=cols, name="divergence"),
        n=n,
    )


# ---------------------------------------------------------------------------- allocation


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocationResult(Result):
    """Result of :func:`allocation_weights`.

    Attributes
    ----------
    weights : pandas.Series
        Mean share per dimension, named ``"weight"``.
    n : int
        Respondents used.
    n_dropped : int
        Respondents dropped (no allocation, or a bad total with ``on_bad_total="drop"``).
    n_rescaled : int
        Respondents whose allocation was rescaled to the total.
    """

    weights: pd.Series
    n: int
    n_dropped: int
    n_rescaled: int

    def summary(self) -> pd.DataFrame:
        """One row per dimension with its weight."""
        return self.weights.rename_axis("dimension").reset_index()


def allocation_weights(
    data: pd.DataFrame,
    *,
    columns: Sequence[str] | Mapping[Any, str],
    total: float = 100.0,
    on_bad_total: Literal["error", "rescale", "drop"] = "error",
    tol: float = 1e-6,
) -> AllocationResult:
    """Weights from respondents' constant-sum (100-point) importance allocations.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    columns : sequence of str or mapping
        The allocation columns, or ``{dimension: column}`` to name the weights after the
        dimensions.
    total : float, default 100
        The points each respondent was asked to allocate.
    on_bad_total : {"error", "rescale", "drop"}, default "error"
        What to do with a row whose points do not sum to ``total``: raise naming the row;
        divide the row by its own sum (each respondent's relative importances kept); or
        drop the row.
    tol : float
        Absolute tolerance on the row sum.

    Returns
    -------
    AllocationResult

    Raises
    ------
    DataError
        Negative or non-numeric points, a bad row total under ``"error"``.
    InsufficientDataError
        No usable respondent.

    Notes
    -----
    Missing-answer rule: a blank cell in a row that has at least one answer counts as 0
    points (the respondent gave that dimension nothing); a row with no answer at all is
    dropped. Then w_d = mean_i (x_id / Σ_d x_id), the mean share per dimension, which
    sums to 1. This is the weighting of the weighted SERVQUAL score
    (Parasuraman, Zeithaml & Berry 1988).

    References
    ----------
    .. [1] Parasuraman, A., Zeithaml, V. A., & Berry, L. L. (1988). SERVQUAL: A
       multiple-item scale for measuring consumer perceptions of service quality.
       Journal of Retailing, 64(1), 12-40.

    Examples
    --------
    >>> import pandas as pd
    >>> from scoring.weights import allocation_weights
    >>> df = pd.DataFrame({"w_t": [20, 10], "w_r": [50, 30], "w_e": [30, 60]})
    >>> res = allocation_weights(df, columns={"T": "w_t", "R": "w_r", "E": "w_e"})
    >>> res.weights.round(6).tolist()
    [0.15, 0.4, 0.45]
    """
    check_choice("on_bad_total", on_bad_total, ("error", "rescale", "drop"))
    df = check_frame(data)
    if isinstance(columns, Mapping):
        labels, cols = list(columns.keys()), list(columns.values())
    else:
        labels, cols = list(columns), list(columns)
    x = check_numeric(df, cols)
    answered = x.notna().any(axis=1).to_numpy()
    v = x.to_numpy(dtype="float64")[answered]
    idx = x.index[answered]
    v = np.nan_to_num(v, nan=0.0)
    if (v < 0).any():
        r, j = (int(i[0]) for i in np.nonzero(v < 0))
        msg = (
            f"data column {cols[j]!r} row {py_label(idx[r])!r} allocates {v[r, j]:g} points; "
            "points must be >= 0."
        )
        raise DataError(msg)
    sums = v.sum(axis=1)
    bad = np.abs(sums - total) > tol
    n_dropped = int((~answered).sum())
    n_rescaled = 0
    if bad.any():
        if on_bad_total == "error":
            r = int(np.flatnonzero(bad)[0])
            msg = (
                f"row {py_label(idx[r])!r} allocates {sums[r]:g} points in {cols}, not {total:g} "
                f"({int(bad.sum())} such row(s)). Fix the data or pass "
                "on_bad_total='rescale' or 'drop'."
            )
            raise DataError(msg)
        if on_bad_total == "drop":
            n_dropped += int(bad.sum())
            v, sums = v[~bad], sums[~bad]
        else:
            zero = sums == 0
            n_dropped += int(zero.sum())
            v, sums = v[~zero], sums[~zero]
            n_rescaled = int(bad.sum() - zero.sum())
    check_min_rows(len(v), 1, "allocation_weights")
    share = (v / sums[:, None]).mean(axis=0)
    return AllocationResult(
        weights=pd.Series(share, index=labels, name="weight"),
        n=len(v),
        n_dropped=n_dropped,
        n_rescaled=n_rescaled,
    )
