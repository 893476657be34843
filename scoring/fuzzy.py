"""Fuzzy comprehensive evaluation (模糊综合评价法).

A factor set U = {u_1..u_n} (the indicators), a comment set V = {v_1..v_m} (the grades,
e.g. 很满意 / 满意 / 一般 / 不满意 / 很不满意), a weight vector A over U and a membership
matrix R (n x m, r_ij = degree to which factor i is judged to be grade j) give the
evaluation vector B = A ∘ R under a composition operator. Multi-level evaluation feeds
each factor's B as a row of its parent's R.

Public functions:

- :func:`fuzzy_evaluate`: from tidy survey data (and/or continuous indicators with
  membership functions, and/or given membership rows) through a hierarchy of any depth;
- :func:`fuzzy_compose`: B = A ∘ R for one weight vector and one matrix;
- :func:`survey_membership`, :func:`function_membership`: the membership matrix alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import skfuzzy

from scoring._results import Result, parameters_of
from scoring._validation import (
    check_choice,
    check_columns,
    check_frame,
    check_numeric,
    column_floats,
    not_applicable_mask,
    py_label,
    shown,
    warn_small_sample,
)
from scoring.errors import DataError, InsufficientDataError, SpecificationError
from scoring.weights import ahp_weights, as_weights

__all__ = [
    "OPERATORS",
    "FuzzyResult",
    "function_membership",
    "fuzzy_compose",
    "fuzzy_evaluate",
    "survey_membership",
]

Operator = Literal["min_max", "product_max", "min_bounded_sum", "weighted_average"]
#: Composition operators, keyed on their formula (see :func:`fuzzy_compose`).
OPERATORS: tuple[str, ...] = ("min_max", "product_max", "min_bounded_sum", "weighted_average")
MissingFuzzy = Literal["answered", "listwise"]

ROW_TOL = 1e-6
ROOT_ID = "overall"


# --------------------------------------------------------------------------- composition


def _compose(a: np.ndarray, r: np.ndarray, operator: str) -> np.ndarray:
    """B = A ∘ R without checks; ``r`` is (..., n, m), ``a`` is (n,)."""
    col = a[:, None]
    if operator == "weighted_average":  # M(·,⊕): b_j = min(1, Σ_i a_i r_ij)
        b = np.minimum(1.0, np.einsum("i,...ij->...j", a, r))
    elif operator == "product_max":  # M(·,∨): b_j = max_i a_i r_ij
        b = np.max(col * r, axis=-2)
    elif operator == "min_max":  # M(∧,∨): b_j = max_i min(a_i, r_ij)
        b = np.max(np.minimum(col, r), axis=-2)
    else:  # M(∧,⊕): b_j = min(1, Σ_i min(a_i, r_ij))
        b = np.minimum(1.0, np.sum(np.minimum(col, r), axis=-2))
    return np.asarray(b, dtype="float64")


def _normalise(b: np.ndarray, where: str) -> np.ndarray:
    total = b.sum(axis=-1, keepdims=True)
    if np.any(total == 0):
        msg = (
            f"{where}: the evaluation vector B is all zeros, so it cannot be normalised; "
            "check that the weights and the membership rows are not all zero."
        )
        raise DataError(msg)
    out: np.ndarray = b / total
    return out


def _check_membership_rows(r: np.ndarray, labels: Sequence[Any], name: str) -> None:
    with np.errstate(invalid="ignore"):
        bad_cells = ~np.isfinite(r) | (r < 0) | (r > 1)
    if bad_cells.any():
        i, j = (int(v[0]) for v in np.nonzero(bad_cells))
        msg = (
            f"{name} row {py_label(labels[i])!r} holds {float(r[i, j])!r} in grade column {j}; "
            "memberships must lie in [0, 1]."
        )
        raise DataError(msg)
    sums = r.sum(axis=1)
    bad = np.abs(sums - 1.0) > ROW_TOL
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"{name} row {py_label(labels[i])!r} sums to {sums[i]:.6g}, not 1: each row must be "
            "a distribution over the grades (shares of respondents). Divide the row by its "
            "sum or pass check_rows=False for a non-normalised fuzzy relation."
        )
        raise DataError(msg)


def fuzzy_compose(
    weights: Any,
    membership: Any,
    *,
    operator: Operator = "weighted_average",
    normalise: bool = False,
    check_rows: bool = True,
) -> np.ndarray:
    """Evaluation vector B = A ∘ R (the matrix form of fuzzy comprehensive evaluation).

    Parameters
    ----------
    weights : array-like, mapping or Series
        A, one weight per row of R, summing to 1 (see :func:`scoring.weights.given_weights`).
    membership : array-like or pandas.DataFrame
        R, n factors x m grades, entries in [0, 1].
    operator : {"weighted_average", "min_max", "product_max", "min_bounded_sum"}
        The composition operator, named after its formula (see Notes).
    normalise : bool, default False
        Divide B by its sum.
    check_rows : bool, default True
        Require every row of R to sum to 1 (a distribution over the grades).

    Returns
    -------
    numpy.ndarray
        B, length m, entries in [0, 1].

    Raises
    ------
    SpecificationError
        Bad weights (wrong length, negative, not summing to 1) or an unknown operator.
    DataError
        R entries outside [0, 1] or rows that are not distributions (naming the row);
        an all-zero B with ``normalise=True``.

    Notes
    -----
    With a_i the weights and r_ij the memberships:

    ========================  =========  ===============================
    ``operator``              model      b_j
    ========================  =========  ===============================
    ``"min_max"``             M(∧,∨)     max_i min(a_i, r_ij)
    ``"product_max"``         M(·,∨)     max_i a_i·r_ij
    ``"min_bounded_sum"``     M(∧,⊕)     min(1, Σ_i min(a_i, r_ij))
    ``"weighted_average"``    M(·,⊕)     min(1, Σ_i a_i·r_ij)
    ========================  =========  ===============================

    Chinese texts name them 主因素决定型 (M(∧,∨)), 主因素突出型 (M(·,∨)),
    加权平均型 (M(·,⊕)) and, for M(∧,⊕), variously 主因素突出型 or 取小上界和型: the
    name 主因素突出型 is given to M(·,∨) in some sources and to M(∧,⊕) in others, which
    is why the options are keyed on the formula, not the name. Only the weighted average
    uses every factor's membership in proportion to its weight; the ∨ operators keep only
    the dominant factor for each grade, and the ∧ operators cap each membership at the
    weight. The ⊕ sums are bounded at 1; with normalised rows and weights M(·,⊕) never
    reaches the bound, so B already sums to 1.

    References
    ----------
    .. [1] Zadeh, L. A. (1965). Fuzzy sets. Information and Control, 8(3), 338-353.
    .. [2] 汪培庄 (1983). 模糊集合论及其应用. 上海科学技术出版社.
    .. [3] 司守奎, 孙兆亮 (2015). 数学建模算法与应用 (第2版). 国防工业出版社, 模糊综合评价.

    Examples
    --------
    >>> from scoring.fuzzy import fuzzy_compose
    >>> R = [[0.2, 0.7, 0.1, 0.0], [0.0, 0.4, 0.5, 0.1], [0.2, 0.3, 0.4, 0.1]]
    >>> fuzzy_compose([0.5, 0.3, 0.2], R).round(4).tolist()
    [0.14, 0.53, 0.28, 0.05]
    >>> fuzzy_compose([0.5, 0.3, 0.2], R, operator="min_max").round(4).tolist()
    [0.2, 0.5, 0.3, 0.1]
    """
    check_choice("operator", operator, OPERATORS)
    if isinstance(membership, pd.DataFrame):
        labels: list[Any] = list(membership.index)
        r = membership.to_numpy(dtype="float64")
    else:
        r = np.asarray(membership, dtype="float64")
        labels = list(range(r.shape[0])) if r.ndim == 2 else []
    if r.ndim != 2 or r.shape[1] < 1:
        msg = f"membership must be a 2-D matrix (factors x grades); got shape {r.shape}."
        raise SpecificationError(msg)
    a = as_weights(weights, labels, name="weights").to_numpy()
    if check_rows:
        _check_membership_rows(r, labels, "membership")
    b = _compose(a, r, operator)
    return _normalise(b, "fuzzy_compose") if normalise else b


# ---------------------------------------------------------------------- membership matrix


_RESULT_COLUMNS = {
    "segment",
    "node",
    "parent",
    "level",
    "kind",
    "weight",
    "n",
    "grade",
    "ratio",
    "alpha",
    "score",
}


def _grade_table(grades: Any) -> tuple[list[Any], list[str]]:
    """Answer codes and string labels of the comment set, in comment-set order."""
    if isinstance(grades, Mapping):
        codes, labels = list(grades.keys()), [str(v) for v in grades.values()]
    elif isinstance(grades, Sequence) and not isinstance(grades, str):
        codes = list(grades)
        labels = [str(c) for c in codes]
    else:
        msg = (
            "grades must be the answer codes in comment-set order, e.g. [5, 4, 3, 2, 1], "
            "or a mapping code -> label, e.g. {5: 'very satisfied', ...}; "
            f"got {grades!r}."
        )
        raise SpecificationError(msg)
    if len(codes) < 2:
        msg = f"grades needs at least two grades; got {codes!r}."
        raise SpecificationError(msg)
    clash = sorted(set(labels) & _RESULT_COLUMNS)
    if clash:
        msg = (
            f"grade label(s) {clash} clash with result columns {sorted(_RESULT_COLUMNS)}; "
            "give the grades other labels (grades={code: label})."
        )
        raise SpecificationError(msg)
    if len(set(labels)) != len(labels) or len(set(map(repr, codes))) != len(codes):
        msg = f"grades must be distinct; got {codes!r} with labels {labels!r}."
        raise SpecificationError(msg)
    return codes, labels


def _integer_lut(codes: list[Any]) -> tuple[int, np.ndarray] | None:
    """For whole-number grade codes: (lowest code, table offset+1 -> grade position)."""
    if not all(isinstance(c, int | np.integer) and not isinstance(c, bool) for c in codes):
        return None
    lo, hi = int(min(codes)), int(max(codes))
    if hi - lo > 10_000:
        return None
    lut = np.full(hi - lo + 3, -1, dtype=np.int8)
    for pos, c in enumerate(codes):
        lut[int(c) - lo + 1] = pos
    return lo, lut


def _fast_codes(v: np.ndarray, lo: int, lut: np.ndarray) -> np.ndarray | None:
    """Grade positions by table look-up; None when some cell is not a grade."""
    with np.errstate(invalid="ignore"):
        t = v - lo
        ii = t.astype(np.int64)  # NaN and inf become garbage, caught below
    np.clip(ii, -1, len(lut) - 2, out=ii)
    ii += 1
    code = lut[ii]
    answered = code >= 0
    ii -= 1
    n_valid = v.size - int(np.count_nonzero(np.isnan(v)))
    if np.count_nonzero(answered) != n_valid or np.any((ii != t) & answered):
        return None
    return code


def _grade_codes(df: pd.DataFrame, cols: list[str], codes: list[Any]) -> np.ndarray:
    """(n, k) int8 array: position of each answer in ``codes``; -1 for a missing answer."""
    n, g = len(df), len(codes)
    out = np.empty((n, len(cols)), dtype=np.int8, order="F")  # columns contiguous
    numeric = all(isinstance(c, int | float | np.number) and not isinstance(c, bool) for c in codes)
    if numeric:
        table = _integer_lut(codes)
        gv = np.asarray(codes, dtype="float64")
        order = np.argsort(gv)
        sorted_codes = gv[order]
        for i, c in enumerate(cols):
            v = column_floats(df, c)
            if table is not None:
                fast = _fast_codes(v, *table)
                if fast is not None:
                    out[:, i] = fast
                    continue
            # General path (also locates the first bad cell for the message).
            pos = np.minimum(np.searchsorted(sorted_codes, v), g - 1)
            miss = np.isnan(v)
            bad = (sorted_codes[pos] != v) & ~miss
            if bad.any():
                _bad_answer(df, c, int(np.flatnonzero(bad)[0]), codes, int(bad.sum()))
            col = order[pos].astype(np.int8)
            col[miss] = -1
            out[:, i] = col
        return out
    for i, c in enumerate(cols):
        s = df[c]
        cat = pd.Categorical(s, categories=codes)
        bad = (cat.codes == -1) & s.notna().to_numpy()
        if bad.any():
            _bad_answer(df, c, int(np.flatnonzero(bad)[0]), codes, int(bad.sum()))
        out[:, i] = cat.codes
    return out


def _bad_answer(df: pd.DataFrame, col: str, r: int, codes: list[Any], count: int) -> None:
    msg = (
        f"data column {col!r} row {shown(df.index[r])} holds {shown(df[col].iloc[r])}, "
        f"which is not one of the grades {shown(codes)} ({count} such cell(s)). Recode the "
        "answers or add the grade."
    )
    raise DataError(msg)


def _count_grades(codes: np.ndarray, seg: np.ndarray, n_seg: int, g: int) -> np.ndarray:
    """counts[s, i, j]: answers of grade j to column i in segment s (n_seg buckets)."""
    out = np.empty((n_seg, codes.shape[1], g), dtype=np.int64)
    if n_seg == 1:  # no segments: g comparisons on int8 beat a bincount
        for i in range(codes.shape[1]):
            col = codes[:, i]
            out[0, i] = [np.count_nonzero(col == j) for j in range(g)]
        return out
    base = seg.astype(np.int64) * (g + 1) + 1
    for i in range(codes.shape[1]):
        cnt = np.bincount(base + codes[:, i], minlength=n_seg * (g + 1))
        out[:, i, :] = cnt.reshape(n_seg, g + 1)[:, 1:]
    return out


def survey_membership(
    data: pd.DataFrame,
    *,
    factors: Sequence[str],
    grades: Sequence[Any] | Mapping[Any, Any],
    missing: MissingFuzzy = "answered",
) -> pd.DataFrame:
    """Membership matrix R from survey answers: share of respondents per grade.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, one column per factor (item) holding grade codes.
    factors : sequence of str
        The factor columns, in order.
    grades : sequence or mapping
        The answer codes in comment-set order (e.g. ``[5, 4, 3, 2, 1]``), or
        ``{code: label}``. Columns of R are the labels (as strings).
    missing : {"answered", "listwise"}, default "answered"
        ``"answered"``: r_ij = (answers of grade j to factor i) / (answers to factor i),
        so each factor uses every respondent who answered it; ``"listwise"``: only
        respondents who answered every factor count.

    Returns
    -------
    pandas.DataFrame
        R, indexed by factor, one column per grade, plus nothing else; rows sum to 1.

    Raises
    ------
    DataError
        An answer that is not one of the grades (naming column and row).
    InsufficientDataError
        A factor nobody answered.

    Examples
    --------
    >>> import pandas as pd
    >>> from scoring.fuzzy import survey_membership
    >>> df = pd.DataFrame({"q1": [5, 4, 4, None], "q2": [3, 3, 2, 1]})
    >>> survey_membership(df, factors=["q1", "q2"], grades=[5, 4, 3, 2, 1])
               5         4    3     2     1
    q1  0.333333  0.666667  0.0  0.00  0.00
    q2  0.000000  0.000000  0.5  0.25  0.25
    """
    df = check_frame(data)
    codes, labels = _grade_table(grades)
    cols = check_columns(df, list(factors))
    counts, answered = _leaf_counts(df, cols, codes, missing, None)
    _require_answers(answered[0], cols, "")
    return pd.DataFrame(counts[0] / answered[0][:, None], index=cols, columns=labels)


def _leaf_counts(
    df: pd.DataFrame,
    cols: list[str],
    codes: list[Any],
    missing: str,
    seg: np.ndarray | None,
    n_seg: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Counts (S+1, k, m) and answered (S+1, k); bucket 0 is the whole sample."""
    check_choice("missing", missing, ("answered", "listwise"))
    c = _grade_codes(df, cols, codes)
    if missing == "listwise":
        # a not-applicable cell is not missing: its row still counts for its other items
        na = not_applicable_mask(df, cols)
        gap = c < 0 if na is None else (c < 0) & ~na
        c[gap.any(axis=1)] = -1
    g = len(codes)
    if seg is None:
        counts = _count_grades(c, np.zeros(len(df), dtype=np.int64), 1, g)
    else:
        # Segment buckets 1..S; rows without a segment go to an extra bucket S+1 that only
        # feeds the whole-sample total.
        s = np.where(seg < 0, n_seg + 1, seg + 1)
        per = _count_grades(c, s, n_seg + 2, g)
        per[0] = per.sum(axis=0)
        counts = per[: n_seg + 1]
    return counts, counts.sum(axis=-1)


def _require_answers(answered: np.ndarray, cols: Sequence[str], where: str) -> None:
    none = [c for c, a in zip(cols, answered, strict=True) if a == 0]
    if none:
        msg = (
            f"factor column(s) {none} have no answers{where}, so their membership rows are "
            "undefined; drop them from the hierarchy or collect data."
        )
        raise InsufficientDataError(msg)


_SHAPES: dict[str, tuple[Any, int]] = {
    "triangular": (skfuzzy.trimf, 3),
    "trapezoidal": (skfuzzy.trapmf, 4),
    "gaussian": (skfuzzy.gaussmf, 2),
}


def _membership_functions(spec: Any, m: int, name: str) -> list[tuple[str, list[float]]]:
    """Parse one column's membership spec into (shape, params) per grade."""
    if not isinstance(spec, Mapping) or len(spec) != 1:
        msg = (
            f"{name} must be a mapping with one key: 'thresholds', 'triangular', "
            f"'trapezoidal', 'gaussian' or 'functions'; got {spec!r}."
        )
        raise SpecificationError(msg)
    ((kind, params),) = spec.items()
    check_choice(f"{name} kind", kind, ("thresholds", *_SHAPES, "functions"))
    if kind == "thresholds":
        t = np.asarray(params, dtype="float64")
        if t.shape != (m,):
            msg = f"{name}['thresholds'] needs one value per grade ({m}); got {params!r}."
            raise SpecificationError(msg)
        d = np.diff(t)
        if not ((d > 0).all() or (d < 0).all()):
            msg = (
                f"{name}['thresholds'] must be strictly ascending or strictly descending "
                f"in grade order; got {params!r}."
            )
            raise SpecificationError(msg)
        return [("thresholds", t.tolist())]
    items = (
        list(params)
        if kind == "functions"
        else [(kind, p) for p in (params if isinstance(params, Sequence) else [])]
    )
    if len(items) != m:
        msg = f"{name}[{kind!r}] needs one function per grade ({m}); got {params!r}."
        raise SpecificationError(msg)
    out = []
    for j, item in enumerate(items):
        try:
            shape, p = item
            p = [float(v) for v in p]
        except (TypeError, ValueError):
            msg = f"{name}[{kind!r}][{j}] must be [shape, [parameters]]; got {item!r}."
            raise SpecificationError(msg) from None
        check_choice(f"{name}[{kind!r}][{j}] shape", shape, tuple(_SHAPES))
        need = _SHAPES[shape][1]
        if len(p) != need or (shape != "gaussian" and p != sorted(p)):
            msg = (
                f"{name}[{kind!r}][{j}]: a {shape} function needs {need} parameters"
                f"{'' if shape == 'gaussian' else ' in ascending order'}; got {p!r}."
            )
            raise SpecificationError(msg)
        if shape == "gaussian" and p[1] <= 0:
            msg = f"{name}[{kind!r}][{j}]: the Gaussian sigma must be > 0; got {p[1]!r}."
            raise SpecificationError(msg)
        out.append((str(shape), p))
    return out


def _evaluate_functions(x: np.ndarray, fns: list[tuple[str, list[float]]]) -> np.ndarray:
    """(n, m) memberships of values ``x`` (no NaN), each row normalised to sum 1."""
    if fns[0][0] == "thresholds":
        t = np.asarray(fns[0][1])
        m = len(t)
        order = np.argsort(t)
        eye = np.eye(m)
        # Piecewise linear between neighbouring thresholds; full membership beyond the ends.
        return np.column_stack([np.interp(x, t[order], eye[j][order]) for j in range(m)])
    cols = [
        skfuzzy.gaussmf(x, p[0], p[1]) if shape == "gaussian" else _SHAPES[shape][0](x, p)
        for shape, p in fns
    ]
    return np.column_stack(cols)


def function_membership(
    data: pd.DataFrame | Mapping[str, float],
    *,
    functions: Mapping[str, Any],
    grades: Sequence[Any] | Mapping[Any, Any],
) -> pd.DataFrame:
    """Membership matrix R for continuous indicators, from membership functions.

    Parameters
    ----------
    data : pandas.DataFrame or mapping
        One row per respondent (or evaluated unit) with one column per indicator, or a
        mapping ``{indicator: value}`` for a single evaluated object.
    functions : mapping
        ``{indicator: spec}`` where spec is plain data (as a questionnaire declares it):

        - ``{"thresholds": [t_1, ..., t_m]}``: one value per grade, strictly monotone;
          membership is piecewise linear between neighbouring thresholds (a value at t_j
          is fully grade j; between t_j and t_j+1 it is shared linearly) and full in the
          end grade beyond either end;
        - ``{"triangular": [[a, b, c], ...]}``, ``{"trapezoidal": [[a, b, c, d], ...]}``,
          ``{"gaussian": [[mean, sigma], ...]}``: one parameter list per grade
          (scikit-fuzzy's ``trimf``, ``trapmf``, ``gaussmf``);
        - ``{"functions": [["triangular", [a, b, c]], ["trapezoidal", [...]], ...]}``:
          mixed shapes, one per grade.
    grades : sequence or mapping
        The comment set; its labels name the columns of R.

    Returns
    -------
    pandas.DataFrame
        R, indexed by indicator, rows summing to 1.

    Raises
    ------
    SpecificationError
        A malformed spec (naming the indicator and grade).
    DataError
        A value outside every grade's function (all memberships 0), naming column and row.
    InsufficientDataError
        An indicator with no values.

    Notes
    -----
    Each value's memberships μ_j(x) are divided by Σ_j μ_j(x), so that every respondent
    carries weight 1 (triangular functions that form a partition of unity, and the
    thresholds form, are unchanged by this). The row of R is the mean of these
    normalised vectors over the respondents with a value (missing values are skipped:
    the answered-only rule).

    References
    ----------
    .. [1] Zadeh, L. A. (1965). Fuzzy sets. Information and Control, 8(3), 338-353.
    .. [2] Warner, J. et al. scikit-fuzzy (skfuzzy.trimf, trapmf, gaussmf).

    Examples
    --------
    >>> from scoring.fuzzy import function_membership
    >>> function_membership({"wait": 7.0}, functions={"wait": {"thresholds": [2, 5, 10]}},
    ...                     grades={"a": "fast", "b": "ok", "c": "slow"})
          fast   ok  slow
    wait   0.0  0.6   0.4
    """
    _, labels = _grade_table(grades)
    if isinstance(data, Mapping) and not isinstance(data, pd.DataFrame):
        data = pd.DataFrame({k: [v] for k, v in data.items()})
    df = check_frame(data)
    cols = check_columns(df, list(functions))
    rows = _function_rows(df, cols, functions, len(labels))
    r = np.vstack([_segment_means(mu, None, 0)[0][0] for mu in rows])
    return pd.DataFrame(r, index=cols, columns=labels)


def _function_rows(
    df: pd.DataFrame, cols: list[str], functions: Mapping[str, Any], m: int
) -> list[np.ndarray]:
    """Per indicator: (n, m) normalised memberships, NaN rows for missing values."""
    x = check_numeric(df, cols)
    out = []
    for c in cols:
        fns = _membership_functions(functions[c], m, f"functions[{c!r}]")
        v = x[c].to_numpy()
        ok = ~np.isnan(v)
        if not ok.any():
            msg = f"data column {c!r} has no values, so its membership row is undefined."
            raise InsufficientDataError(msg)
        mu = np.full((len(v), m), np.nan)
        raw = _evaluate_functions(v[ok], fns)
        total = raw.sum(axis=1)
        if (total <= 0).any():
            r = int(np.flatnonzero(ok)[np.flatnonzero(total <= 0)[0]])
            msg = (
                f"data column {c!r} row {py_label(df.index[r])!r} holds {v[r]:g}, outside "
                "every grade's membership function; widen the functions or clean the data."
            )
            raise DataError(msg)
        mu[ok] = raw / total[:, None]
        out.append(mu)
    return out


# ---------------------------------------------------------------------------- hierarchy


@dataclass(frozen=True, slots=True)
class _Node:
    id: str
    parent: str | None
    level: int
    children: tuple[_Node, ...] = ()
    weights: np.ndarray | None = None
    operator: str = "weighted_average"
    leaves: tuple[str, ...] = field(default=())


def _node_weights(spec: Any, node_id: str, child_ids: list[str], normalise: bool) -> np.ndarray:
    name = f"weights of {node_id!r}"
    if isinstance(spec, Mapping) and "ahp" in spec:
        res = ahp_weights(
            spec["ahp"],
            names=child_ids,
            allow_inconsistent=bool(spec.get("allow_inconsistent", False)),
        )
        return res.weights.to_numpy()
    return as_weights(spec, child_ids, normalise=normalise, name=name).to_numpy()


_NODE_KEYS = {
    "id",
    "label",
    "children",
    "items",
    "factors",
    "weights",
    "ahp",
    "operator",
    "normalise_weights",
}


def _node_fields(spec: Mapping[str, Any], parent: str | None) -> tuple[str, list[Any], Any]:
    """id, children and weight spec of a mapping node (both accepted spellings)."""
    unknown = set(spec) - _NODE_KEYS
    if unknown:
        msg = (
            f"hierarchy node {spec.get('id', '?')!r} has unknown key(s) {sorted(unknown)}; "
            f"allowed: {', '.join(sorted(_NODE_KEYS))}."
        )
        raise SpecificationError(msg)
    if "id" not in spec and parent is not None:
        msg = f"a hierarchy node under {parent!r} has no 'id': {dict(spec)!r}."
        raise SpecificationError(msg)
    node_id = str(spec.get("id", ROOT_ID))
    given = [k for k in ("children", "items", "factors") if spec.get(k)]
    if len(given) > 1:
        msg = (
            f"hierarchy node {node_id!r} lists {given}; give its children once, as "
            "'children' (columns and nodes), 'items' (columns) or 'factors' (nodes)."
        )
        raise SpecificationError(msg)
    kids = list(spec[given[0]]) if given else []
    w_spec = spec.get("weights")
    if spec.get("ahp") is not None:
        if w_spec is not None:
            msg = f"hierarchy node {node_id!r} gives both 'weights' and 'ahp'; give one."
            raise SpecificationError(msg)
        w_spec = {"ahp": spec["ahp"]}
    return node_id, kids, w_spec


def _parse(
    spec: Any,
    *,
    parent: str | None,
    level: int,
    default_operator: str,
    normalise_weights: bool,
    seen: set[str],
    root_weights: Any = None,
) -> _Node:
    if isinstance(spec, str):
        kids: list[Any] = []
        node_id, w_spec, op, norm = spec, None, default_operator, normalise_weights
    elif isinstance(spec, Mapping):
        node_id, kids, w_spec = _node_fields(spec, parent)
        op = str(spec.get("operator") or default_operator)
        norm = bool(spec.get("normalise_weights", normalise_weights))
    else:
        msg = (
            f"a hierarchy node under {parent!r} must be a column name or a mapping "
            f"with 'id' and 'children'; got {spec!r}."
        )
        raise SpecificationError(msg)
    if node_id in seen:
        msg = f"hierarchy id {node_id!r} appears twice; ids and columns must be unique."
        raise SpecificationError(msg)
    seen.add(node_id)
    check_choice(f"operator of {node_id!r}", op, OPERATORS)
    if not kids:
        if parent is None:
            msg = f"the hierarchy root {node_id!r} has no children; list the factor columns."
            raise SpecificationError(msg)
        return _Node(node_id, parent, level, leaves=(node_id,))
    if root_weights is not None:
        if w_spec is not None:
            msg = "weights are given both in the hierarchy root and as weights=; give one."
            raise SpecificationError(msg)
        w_spec = root_weights
    children = tuple(
        _parse(
            k,
            parent=node_id,
            level=level + 1,
            default_operator=default_operator,
            normalise_weights=normalise_weights,
            seen=seen,
        )
        for k in kids
    )
    ids = [c.id for c in children]
    return _Node(
        node_id,
        parent,
        level,
        children=children,
        weights=_node_weights(w_spec, node_id, ids, norm),
        operator=op,
        leaves=tuple(leaf for c in children for leaf in c.leaves),
    )


def _as_tree(factors: Any) -> Any:
    """Normalise the accepted shapes of ``factors`` into the nested-node form."""
    if isinstance(factors, Mapping) and {"id", "children", "items", "factors"} & set(factors):
        return factors
    if isinstance(factors, Mapping):
        return {
            "id": ROOT_ID,
            "children": [
                v if isinstance(v, Mapping) else {"id": str(k), "children": list(v)}
                for k, v in factors.items()
            ],
        }
    if isinstance(factors, Sequence) and not isinstance(factors, str):
        return {"id": ROOT_ID, "children": list(factors)}
    msg = (
        "factors must be a list of columns, a mapping factor -> list of columns, or a "
        f"nested node {{'id', 'weights', 'children'}}; got {factors!r}."
    )
    raise SpecificationError(msg)


def _walk(node: _Node) -> list[_Node]:
    out = [node]
    for c in node.children:
        out.extend(_walk(c))
    return out


# ------------------------------------------------------------------------------- result


@dataclass(frozen=True, slots=True, kw_only=True)
class FuzzyResult(Result):
    """Result of :func:`fuzzy_evaluate`.

    Attributes
    ----------
    evaluation : pandas.DataFrame
        One row per node of the hierarchy (root first, then depth-first), whole sample:
        ``node``, ``parent``, ``level`` (0 = root), ``kind`` ("factor" for nodes with
        children, "item" for leaves), ``weight`` (within its parent), ``n`` (answers
        for an item, respondents for the root), one column per grade (B of a factor, the
        membership row R_i of an item), ``grade`` (maximum membership), ``ratio``
        (β/γ), ``alpha`` (α-criterion), ``score`` (S = B·c, NaN without grade scores).
    segments : pandas.DataFrame or None
        The same columns plus a leading ``segment`` column, for every segment.
    B : pandas.Series
        Evaluation vector of the root (whole sample).
    grade : str
        Maximum-membership grade of the root.
    ratio, alpha : float
        Decisiveness of ``grade`` (see :func:`fuzzy_evaluate` Notes).
    score : float
        S = B·cᵀ of the root (NaN without ``grade_scores``).
    membership : pandas.DataFrame
        R of the items (whole sample).
    operator : str
    normalised : bool
    missing : str
    n : int
        Respondents in the data (0 when only given membership rows were used).
    """

    evaluation: pd.DataFrame
    segments: pd.DataFrame | None
    B: pd.Series
    grade: str
    ratio: float
    alpha: float
    score: float
    membership: pd.DataFrame
    operator: str
    normalised: bool
    missing: str
    n: int

    def dimension_scores(self) -> pd.Series:
        """First-level factor -> score S = B·cᵀ (NaN without grade scores)."""
        first = self.evaluation.loc[self.evaluation["level"] == 1]
        return pd.Series(
            first["score"].to_numpy(dtype="float64"),
            index=pd.Index(first["node"].astype(str), name="dimension"),
            name="fuzzy",
        )

    @property
    def n_used(self) -> int:
        """Respondents in the data (0 when only membership rows were given)."""
        return int(self.n)

    @property
    def parameters(self) -> dict[str, Any]:
        """``operator`` and ``normalised``."""
        return parameters_of(self, ("operator", "normalised"))

    def summary(self) -> pd.DataFrame:
        """The per-node evaluation of the whole sample (``evaluation``)."""
        return self.evaluation


def _decisiveness(b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index of the max, ratio β/γ and α-criterion, on B normalised to sum 1."""
    m = b.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        p = b / b.sum(axis=-1, keepdims=True)
        top = np.sort(p, axis=-1)
        beta, gamma = top[..., -1], top[..., -2]
        ratio = np.where(gamma > 0, beta / gamma, np.inf)
        alpha = np.where(gamma > 0, (m * beta - 1) / (2 * gamma * (m - 1)), np.inf)
    best = np.argmax(np.nan_to_num(b, nan=-1.0), axis=-1)
    return best, ratio, alpha


def fuzzy_evaluate(
    data: pd.DataFrame | None = None,
    *,
    factors: Any,
    grades: Sequence[Any] | Mapping[Any, Any],
    grade_scores: Sequence[float] | Mapping[Any, float] | None = None,
    weights: Any = None,
    operator: Operator = "weighted_average",
    normalise: bool = True,
    normalise_weights: bool = False,
    missing: MissingFuzzy = "answered",
    functions: Mapping[str, Any] | None = None,
    membership: pd.DataFrame | None = None,
    segment: str | None = None,
) -> FuzzyResult:
    """Fuzzy comprehensive evaluation (模糊综合评价) of survey data, any number of levels.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        One row per respondent. Item columns hold grade codes (see ``grades``); columns
        named in ``functions`` hold continuous values. May be None when every item's
        membership row is given in ``membership``.
    factors : list, mapping or nested node
        The factor hierarchy, as plain data (the questionnaire's scoring section declares
        the same shape). Three forms:

        1. ``["q1", "q2", ...]``: one level; the root's children are the item columns.
        2. ``{"tangibles": ["q1", "q2"], "reliability": ["q3", "q4"], ...}``: two
           levels, factors -> items (items within a factor weighted equally; use form 3
           for item weights). ``weights`` then weighs the factors.
        3. A nested node, recursively, of any depth::

               {"id": "overall", "weights": [0.4, 0.6], "operator": "weighted_average",
                "children": [
                    {"id": "tangibles", "weights": {"q1": 0.7, "q2": 0.3},
                     "children": ["q1", "q2"]},
                    {"id": "service", "weights": {"ahp": [[1, 3], [1/3, 1]]},
                     "children": ["q3", {"id": "q4"}]}]}

           A node is a mapping with ``id`` (unique; optional at the root, default
           "overall") and ``children`` (nodes, or column names for the items), and
           optionally ``weights`` (over its children: a list in children order, a
           mapping child id -> weight, ``"equal"`` (the default), or ``{"ahp": matrix}``
           for AHP weights with the CR < 0.1 check, plus ``"allow_inconsistent": true``
           to override it), ``operator`` (overrides ``operator`` for this node) and
           ``normalise_weights``. A leaf is a column name (or ``{"id": column}``).
           The questionnaire format's spelling is accepted as well: ``items`` (column
           names) or ``factors`` (child nodes) instead of ``children``, ``ahp: matrix``
           instead of ``weights: {"ahp": matrix}``, and a ``label`` (ignored here).
           In form 2, factor names "id", "children", "items" and "factors" are
           reserved (they mark form 3).
    grades : sequence or mapping
        The comment set V in order, as the answer codes (``[5, 4, 3, 2, 1]``) or a
        mapping code -> label (``{5: "很满意", 4: "满意", ...}``). Grade columns of the
        results are the labels as strings.
    grade_scores : sequence or mapping, optional
        The grade-score vector c (e.g. ``[100, 80, 60, 40, 20]``), in grade order or
        label -> score. Without it ``score`` is NaN.
    weights : optional
        Weights of the root's children (when the root node does not declare them):
        sequence, mapping, ``"equal"``, ``{"ahp": matrix}`` or a weights result object
        (:mod:`scoring.weights`). Default equal.
    operator : {"weighted_average", "min_max", "product_max", "min_bounded_sum"}
        Composition operator (see :func:`fuzzy_compose`); the default M(·,⊕) is the
        weighted average.
    normalise : bool, default True
        Normalise every node's B to sum 1 (so that it is a distribution when it becomes a
        row of the parent's R). With False, B is the raw composition at every level and
        the rows fed upwards by the operators other than the weighted average do not
        sum to 1; grade, ratio, alpha and score are still computed on B/ΣB.
    normalise_weights : bool, default False
        Divide every node's weights by their sum instead of requiring the sum to be 1.
    missing : {"answered", "listwise"}, default "answered"
        Missing-answer rule for the membership rows: shares among the respondents who
        answered the item, or among those who answered every item.
    functions : mapping, optional
        Membership-function specs for continuous indicator columns (see
        :func:`function_membership`); their rows are mean normalised memberships.
    membership : pandas.DataFrame, optional
        Given membership rows (index = item ids, columns = grade labels), e.g. an expert
        panel's votes; rows must be distributions.
    segment : str, optional
        Column whose values define segments; every segment is evaluated through the whole
        hierarchy (``segments``). Respondents with no segment count in the whole sample
        only.

    Returns
    -------
    FuzzyResult

    Raises
    ------
    SpecificationError
        Bad hierarchy (unknown keys, duplicate ids, empty root), bad weights (naming the
        node; not summing to 1 unless ``normalise_weights``), AHP CR ≥ 0.1, bad grades or
        membership-function specs.
    DataError
        Answers that are not grades (naming column and row); given membership rows that
        are not distributions; an all-zero B under ``normalise``.
    InsufficientDataError
        An item nobody answered (in the whole sample).

    Warns
    -----
    SmallSampleWarning
        Fewer than 10 respondents in ``data``: each answer then moves a membership
        degree by more than 0.1. Answers off the grades (``99``, ``4.5`` on grades 1-5)
        are refused as above; constant items and fewer rows than items are no problem
        for membership degrees.

    Notes
    -----
    Items: r_ij = (answers of grade j to item i) / (answers to item i) under the default
    answered-only rule. Each factor node k with children's rows R_k and weights A_k gets
    B_k = A_k ∘ R_k (operator as in :func:`fuzzy_compose`), normalised to
    B_k / Σ_j b_kj when ``normalise``; its B_k is a row of its parent's R. In a segment
    with no answer to some item, the rows depending on it are NaN.

    *Maximum membership*: the grade j* = argmax_j b_j (the first on ties). How decisive
    it is, with β the largest and γ the second largest entry of B/ΣB and m grades:
    ``ratio = β/γ`` (1 = tie, ∞ when γ = 0) and the α-criterion of Chinese texts
    (刘开第 et al.) ``α = (m·β − 1) / (2·γ·(m − 1))``: α = ∞ (γ = 0) fully decisive,
    α ≥ 1 very decisive, 0.5 ≤ α < 1 fairly decisive, 0 < α < 0.5 weakly decisive,
    α = 0 (uniform B) not at all. Because grades are ordered, the maximum-membership
    rule ignores how the rest of B is spread; the weighted-average score
    S = B·cᵀ = Σ_j b_j c_j (with B normalised to sum 1) uses all of it.

    References
    ----------
    .. [1] Zadeh, L. A. (1965). Fuzzy sets. Information and Control, 8(3), 338-353.
    .. [2] 汪培庄 (1983). 模糊集合论及其应用. 上海科学技术出版社.
    .. [3] 司守奎, 孙兆亮 (2015). 数学建模算法与应用 (第2版). 国防工业出版社.
    .. [4] 刘开第, 庞彦军, 吴和琴 et al. 模糊综合评判中最大隶属原则的有效性度量
       (the α-criterion).
    .. [5] Saaty, T. L. (1980). The Analytic Hierarchy Process. McGraw-Hill.

    Examples
    --------
    >>> import pandas as pd
    >>> from scoring.fuzzy import fuzzy_evaluate
    >>> df = pd.DataFrame({"q1": [5, 4, 4, 3], "q2": [5, 5, 4, 2], "q3": [3, 3, 4, 4]})
    >>> df = pd.concat([df] * 3, ignore_index=True)  # 12 respondents
    >>> res = fuzzy_evaluate(
    ...     df, factors={"product": ["q1", "q2"], "service": ["q3"]},
    ...     grades={5: "VS", 4: "S", 3: "N", 2: "D", 1: "VD"},
    ...     grade_scores=[100, 80, 60, 40, 20], weights=[0.6, 0.4])
    >>> res.B.round(4).tolist(), res.grade, round(res.score, 2)
    ([0.225, 0.425, 0.275, 0.075, 0.0], 'S', 76.0)
    >>> res.evaluation[["node", "parent", "kind", "weight", "grade"]]
          node   parent    kind  weight grade
    0  overall     None  factor     NaN     S
    1  product  overall  factor     0.6    VS
    2       q1  product    item     0.5     S
    3       q2  product    item     0.5    VS
    4  service  overall  factor     0.4     S
    5       q3  service    item     1.0     S
    """
    check_choice("operator", operator, OPERATORS)
    check_choice("missing", missing, ("answered", "listwise"))
    codes, labels = _grade_table(grades)
    m = len(labels)
    root = _parse(
        _as_tree(factors),
        parent=None,
        level=0,
        default_operator=operator,
        normalise_weights=normalise_weights,
        seen=set(),
        root_weights=weights,
    )
    c = _grade_scores(grade_scores, labels)

    # --- leaf membership rows, shape (S+1, m) per leaf; bucket 0 = whole sample
    leaves = list(root.leaves)
    given = _given_rows(membership, labels)
    fn_cols = [x for x in leaves if functions and x in functions]
    stray = [k for k in (functions or {}) if k not in leaves]
    if stray:
        msg = f"functions names column(s) {stray} that are not items of the hierarchy {leaves}."
        raise SpecificationError(msg)
    survey_cols = [x for x in leaves if x not in given and x not in fn_cols]
    df: pd.DataFrame | None = None
    seg_labels: list[Any] = []
    seg_codes: np.ndarray | None = None
    if survey_cols or fn_cols or segment is not None:
        if data is None:
            msg = (
                f"data is needed for item(s) {(survey_cols + fn_cols)[:8]}; pass the "
                "response frame or give their rows in membership=."
            )
            raise SpecificationError(msg)
        df = check_frame(data)
        check_columns(df, survey_cols + fn_cols + ([segment] if segment else []))
        if missing == "listwise":
            # Listwise: only respondents who answered every data-derived item count.
            # (a not-applicable cell is not missing: its row stays)
            used = survey_cols + fn_cols
            na = not_applicable_mask(df, used)
            answered = df[used].notna().to_numpy()
            whole = np.all(answered if na is None else answered | na, axis=1)
            df = df.loc[whole]
        if segment is not None:
            seg_codes, uniq = pd.factorize(df[segment], sort=True)
            seg_labels = [py_label(u) for u in uniq]
    n_seg = len(seg_labels)
    rows: dict[str, np.ndarray] = {}
    counts_n: dict[str, np.ndarray] = {}
    if survey_cols:
        cnt, ans = _leaf_counts(_need(df), survey_cols, codes, "answered", seg_codes, n_seg)
        _require_answers(ans[0], survey_cols, " in the whole sample")
        with np.errstate(divide="ignore", invalid="ignore"):
            share = cnt / ans[..., None]
        for i, col in enumerate(survey_cols):
            rows[col] = share[:, i, :]
            counts_n[col] = ans[:, i]
    if fn_cols:
        mus = _function_rows(_need(df), fn_cols, _need(functions), m)
        for col, mu in zip(fn_cols, mus, strict=True):
            rows[col], counts_n[col] = _segment_means(mu, seg_codes, n_seg)
    for col in leaves:
        if col in given:
            rows[col] = np.tile(given[col], (n_seg + 1, 1))
            counts_n[col] = np.full(n_seg + 1, np.nan)  # given rows: no respondents counted

    # --- compose bottom-up
    values: dict[str, np.ndarray] = {}

    def visit(node: _Node) -> np.ndarray:
        if not node.children:
            values[node.id] = rows[node.id]
            return rows[node.id]
        r = np.stack([visit(ch) for ch in node.children], axis=-2)  # (S+1, k, m)
        b = _compose(_need(node.weights), r, node.operator)
        if normalise:
            where = f"node {node.id!r}"
            ok = ~np.isnan(b).any(axis=-1)
            b[ok] = _normalise(b[ok], where)
        values[node.id] = b
        return b

    visit(root)
    n_resp = 0 if df is None else len(df)
    if df is not None:
        warn_small_sample(n_resp, "the fuzzy evaluation (its membership degrees)")
    frames = _node_frames(root, values, counts_n, labels, c, n_resp, seg_codes, n_seg)
    evaluation = frames[0]
    segments = None
    if segment is not None:
        parts = []
        for s, lab in enumerate(seg_labels, start=1):
            f = frames[s]
            f.insert(0, "segment", lab)
            parts.append(f)
        segments = pd.concat(parts, ignore_index=True)
    top = evaluation.iloc[0]
    return FuzzyResult(
        evaluation=evaluation,
        segments=segments,
        B=pd.Series(values[root.id][0], index=labels, name=root.id),
        grade=str(top["grade"]),
        ratio=float(top["ratio"]),
        alpha=float(top["alpha"]),
        score=float(top["score"]),
        membership=pd.DataFrame(
            np.vstack([rows[x][0] for x in leaves]), index=leaves, columns=labels
        ),
        operator=operator,
        normalised=normalise,
        missing=missing,
        n=n_resp,
    )


def _need(x: Any) -> Any:
    """Narrow an Optional that the control flow guarantees (for the type checker)."""
    if x is None:  # pragma: no cover - guarded by the callers
        msg = "internal error: a required value is missing"
        raise RuntimeError(msg)
    return x


def _any_nan(mus: list[np.ndarray]) -> np.ndarray:
    out = np.zeros(len(mus[0]), dtype=bool)
    for mu in mus:
        out |= np.isnan(mu).any(axis=1)
    return out


def _segment_means(
    mu: np.ndarray, seg: np.ndarray | None, n_seg: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean membership over answered rows: (S+1, m) and answered counts (S+1,)."""
    ok = ~np.isnan(mu).any(axis=1)
    out = np.full((n_seg + 1, mu.shape[1]), np.nan)
    n = np.zeros(n_seg + 1)
    out[0], n[0] = mu[ok].mean(axis=0), ok.sum()
    if seg is not None:
        for s in range(n_seg):
            sel = ok & (seg == s)
            n[s + 1] = sel.sum()
            if n[s + 1]:
                out[s + 1] = mu[sel].mean(axis=0)
    return out, n


def _given_rows(membership: pd.DataFrame | None, labels: list[str]) -> dict[str, np.ndarray]:
    if membership is None:
        return {}
    if not isinstance(membership, pd.DataFrame):
        msg = f"membership must be a DataFrame (items x grades); got {type(membership).__name__}."
        raise SpecificationError(msg)
    cols = [str(c) for c in membership.columns]
    if cols != labels:
        msg = f"membership columns must be the grade labels {labels}; got {cols}."
        raise SpecificationError(msg)
    r = membership.to_numpy(dtype="float64")
    _check_membership_rows(r, list(membership.index), "membership")
    return {str(k): r[i] for i, k in enumerate(membership.index)}


def _grade_scores(scores: Any, labels: list[str]) -> np.ndarray | None:
    if scores is None:
        return None
    if isinstance(scores, Mapping):
        keys = [str(k) for k in scores]
        if sorted(keys) != sorted(labels):
            msg = f"grade_scores must give one score per grade {labels}; got keys {keys}."
            raise SpecificationError(msg)
        vals = [scores[k] for k in scores]
        c = np.asarray([vals[keys.index(lab)] for lab in labels], dtype="float64")
    else:
        c = np.asarray(list(scores), dtype="float64")
    if c.shape != (len(labels),) or not np.isfinite(c).all():
        msg = f"grade_scores needs one finite score per grade ({len(labels)}); got {scores!r}."
        raise SpecificationError(msg)
    return c


def _node_frames(
    root: _Node,
    values: dict[str, np.ndarray],
    counts_n: dict[str, np.ndarray],
    labels: list[str],
    c: np.ndarray | None,
    n_resp: int,
    seg: np.ndarray | None,
    n_seg: int,
) -> list[pd.DataFrame]:
    """One evaluation frame per bucket (0 = whole sample, then the segments)."""
    nodes = _walk(root)
    weight_of: dict[str, float] = {root.id: np.nan}
    for nd in nodes:
        for ch, w in zip(nd.children, _need(nd.weights) if nd.children else [], strict=True):
            weight_of[ch.id] = float(w)
    b = np.stack([values[nd.id] for nd in nodes], axis=1)  # (S+1, nodes, m)
    best, ratio, alpha = _decisiveness(b)
    with np.errstate(invalid="ignore"):
        score = (b / b.sum(axis=-1, keepdims=True)) @ c if c is not None else None
    seg_n = np.bincount(seg[seg >= 0], minlength=n_seg) if seg is not None else np.zeros(0)
    frames = []
    for s in range(n_seg + 1):
        root_n = n_resp if s == 0 else int(seg_n[s - 1])
        f = pd.DataFrame(
            {
                "node": [nd.id for nd in nodes],
                "parent": pd.Series([nd.parent for nd in nodes], dtype="object"),
                "level": [nd.level for nd in nodes],
                "kind": ["factor" if nd.children else "item" for nd in nodes],
                "weight": [weight_of[nd.id] for nd in nodes],
                "n": [
                    root_n if nd is root else (counts_n[nd.id][s] if not nd.children else np.nan)
                    for nd in nodes
                ],
            }
        )
        for j, lab in enumerate(labels):
            f[lab] = b[s, :, j]
        missing_b = np.isnan(b[s]).any(axis=-1)
        f["grade"] = pd.Series(
            [None if missing_b[i] else labels[best[s, i]] for i in range(len(nodes))],
            dtype="object",
        )
        f["ratio"] = ratio[s]
        f["alpha"] = alpha[s]
        f["score"] = score[s] if score is not None else np.nan
        frames.append(f)
    return frames
