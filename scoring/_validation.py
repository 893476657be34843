"""Input checks shared by every scoring method.

Public functions call these at entry so that a bad argument fails early with a message
that names the argument, the column and the row (see STYLE.md section 4). Nothing here
is public API; the messages are.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from scoring.errors import (
    DataError,
    InsufficientDataError,
    SmallSampleWarning,
    SpecificationError,
)

MissingRule = Literal["listwise", "pairwise", "item_mean"]
MISSING_RULES: tuple[str, ...] = ("listwise", "pairwise", "item_mean")


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Raise unless ``value`` is one of ``choices`` (literal string options)."""
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        msg = f"{name} must be one of {listed}; got {value!r}."
        raise SpecificationError(msg)
    return value


def check_frame(data: Any, name: str = "data") -> pd.DataFrame:
    """Return ``data`` as a DataFrame, or raise :class:`TypeError`."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping) or isinstance(data, np.ndarray):
        return pd.DataFrame(data)
    msg = f"{name} must be a pandas DataFrame (one row per response); got {type(data).__name__}."
    raise TypeError(msg)


def check_columns(df: pd.DataFrame, columns: Iterable[str], name: str = "data") -> list[str]:
    """Raise :class:`DataError` listing every column of ``columns`` absent from ``df``."""
    cols = list(columns)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        have = list(map(str, df.columns[:12]))
        more = "" if len(df.columns) <= 12 else f" ... ({len(df.columns)} in all)"
        msg = (
            f"{name} is missing column(s) {missing}; it has {have}{more}. "
            "Check the questionnaire mapping or rename the columns."
        )
        raise DataError(msg)
    return cols


def _first_bad(mask: pd.Series) -> Any:
    return mask[mask].index[0]


def check_numeric(df: pd.DataFrame, columns: Iterable[str], name: str = "data") -> pd.DataFrame:
    """Return ``df[columns]`` as float64, raising :class:`DataError` on non-numeric cells.

    Empty cells (None, NaN, empty string) are missing values, not errors.
    """
    cols = check_columns(df, columns, name)
    out = {}
    for c in cols:
        s = df[c]
        if pd.api.types.is_bool_dtype(s.dtype):
            out[c] = s.astype("float64")
            continue
        if pd.api.types.is_numeric_dtype(s.dtype):
            out[c] = s.astype("float64")
            continue
        stripped = s.where(~s.isna(), None)
        stripped = stripped.map(lambda v: None if isinstance(v, str) and not v.strip() else v)
        conv = pd.to_numeric(stripped, errors="coerce")
        bad = conv.isna() & stripped.notna()
        if bad.any():
            row = _first_bad(bad)
            msg = (
                f"{name} column {c!r} must be numeric; row {shown(row)} holds {shown(s.loc[row])}"
                f" ({int(bad.sum())} non-numeric cell(s) in all). "
                "Recode the answers as numbers or leave the cell empty for a missing answer."
            )
            raise DataError(msg)
        out[c] = conv.astype("float64")
    return pd.DataFrame(out, index=df.index)


def check_range(
    df: pd.DataFrame, low: float, high: float, name: str = "data", *, integer: bool = True
) -> pd.DataFrame:
    """Raise :class:`DataError` unless every answer lies on the scale ``[low, high]``.

    With ``integer`` (the default: rating points are whole numbers) an answer such as
    ``4.5`` is refused too. The message names the first offending column, its first few
    offending values with their row labels, the count of bad cells and the allowed range.
    Missing answers (NaN) are not checked.
    """
    values = df.to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & ((values < low) | (values > high))
        if integer:
            bad |= ~np.isnan(values) & (values != np.round(values))
    if bad.any():
        c = int(np.nonzero(bad.any(axis=0))[0][0])
        rows = np.nonzero(bad[:, c])[0]
        listed = ", ".join(
            f"row {py_label(df.index[r])!r} holds {float(values[r, c]):g}" for r in rows[:5]
        )
        more = f", ... ({len(rows)} in this column)" if len(rows) > 5 else ""
        whole = f"; the scale takes whole numbers in [{low:g}, {high:g}]" if integer else ""
        msg = (
            f"{name} column {df.columns[c]!r} must hold answers in [{low:g}, {high:g}]; "
            f"{listed}{more} ({int(bad.sum())} bad cell(s) in all{whole}). "
            "Check the scale of the questionnaire or clean the data."
        )
        raise DataError(msg)
    return df


def check_scale(
    df: pd.DataFrame, scale: tuple[float, float] | None, name: str = "data"
) -> pd.DataFrame:
    """Check numeric ``df`` against an optional rating ``scale`` ``(min, max)``.

    ``None`` skips the check (answers of unknown range); otherwise ``max > min`` is
    required and :func:`check_range` refuses answers off the scale or between its points.
    """
    if scale is None:
        return df
    if len(scale) != 2 or not float(scale[1]) > float(scale[0]):
        msg = f"scale must be (min, max) with max > min; got {tuple(scale)!r}."
        raise SpecificationError(msg)
    return check_range(df, float(scale[0]), float(scale[1]), name)


SMALL_SAMPLE_N = 10
"""Below this many respondents a result is computed but comes with a
:class:`~scoring.errors.SmallSampleWarning` (see docs/scoring.md)."""


def warn_small_sample(n: int, what: str, *, minimum: int = SMALL_SAMPLE_N) -> None:
    """Warn with :class:`~scoring.errors.SmallSampleWarning` when ``n < minimum``."""
    if n < minimum:
        msg = (
            f"{what}: based on {n} respondent(s) only (fewer than {minimum}); treat it as "
            "unstable and collect more answers before reporting it."
        )
        warnings.warn(msg, SmallSampleWarning, stacklevel=3)


NOT_APPLICABLE = "not_applicable"
"""The tidy frame's column listing, per response, the answer columns *not applicable*
to it (items hidden by a display condition), joined by ``;``. Such a cell is empty in
the answer column but is not a missing answer: see :func:`apply_missing_rule`."""


def not_applicable_mask(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    """The cells of ``data[columns]`` that are not applicable, as a boolean array
    (rows x columns), read from ``data``'s :data:`NOT_APPLICABLE` column; None when the
    frame has no such column or no such cell among ``columns``."""
    if NOT_APPLICABLE not in data.columns:
        return None
    where = {str(c): j for j, c in enumerate(columns)}
    codes, uniques = pd.factorize(data[NOT_APPLICABLE].to_numpy(dtype=object))
    mask = np.zeros((len(data), len(where)), dtype=bool)
    for k, cell in enumerate(uniques):
        hits = [where[n] for n in str(cell).split(";") if n.strip() in where]
        if hits:
            mask[np.ix_(codes == k, hits)] = True
    return mask if mask.any() else None


def apply_missing_rule(
    df: pd.DataFrame,
    rule: str,
    name: str = "data",
    *,
    not_applicable: np.ndarray | None = None,
    complete: bool = False,
) -> pd.DataFrame:
    """Apply a missing-data rule to numeric ``df``.

    ``listwise`` drops every row with any missing value; ``pairwise`` keeps the frame as it
    is (each statistic uses the rows available to it); ``item_mean`` fills each missing cell
    with its column mean. A column with no answers at all is an error under every rule.

    ``not_applicable`` (boolean, the shape of ``df``; see :func:`not_applicable_mask`)
    marks empty cells of items that did not apply to the respondent. They are never
    missing: ``listwise`` keeps their rows, ``item_mean`` leaves them empty, and
    statistics of an item use the respondents it applied to. A method that needs
    complete rows (``complete=True``) leaves out the rows with such a cell after the
    rule; it reports how many apart from the missing ones (``n_not_applicable``).
    """
    check_choice("missing", rule, MISSING_RULES)
    empty = [c for c in df.columns if df[c].notna().sum() == 0]
    if empty:
        msg = f"{name} column(s) {empty} have no answers at all; drop them or collect data."
        raise InsufficientDataError(msg)
    blank = df.isna().to_numpy()
    na = np.zeros(df.shape, dtype=bool) if not_applicable is None else blank & not_applicable
    missing = blank & ~na
    out = df
    if rule == "listwise":
        keep = ~missing.any(axis=1)
        out, na = df[keep], na[keep]
        if out.empty:
            msg = (
                f"{name}: no row is complete, so listwise deletion leaves nothing; "
                "use missing='pairwise' or missing='item_mean'."
            )
            raise InsufficientDataError(msg)
    elif rule == "item_mean":
        if missing.any():
            means = df.mean().to_numpy(dtype="float64")
            filled = np.where(missing, means[np.newaxis, :], df.to_numpy(dtype="float64"))
            out = pd.DataFrame(filled, index=df.index, columns=df.columns)
    if complete and na.any():
        out = out.loc[np.logical_not(np.any(na, axis=1))]
        if out.empty:
            msg = (
                f"{name}: every row has an item that did not apply to it (not applicable), "
                "so no complete row is left; score the items that apply to everyone."
            )
            raise InsufficientDataError(msg)
    return out


def count_not_applicable(not_applicable: np.ndarray | None) -> int:
    """Rows with at least one not-applicable cell (0 without a mask)."""
    return 0 if not_applicable is None else int(not_applicable.any(axis=1).sum())


def check_min_rows(n: int, minimum: int, what: str) -> None:
    """Raise :class:`InsufficientDataError` when fewer than ``minimum`` rows are usable."""
    if n < minimum:
        msg = f"{what} needs at least {minimum} usable row(s); got {n}."
        raise InsufficientDataError(msg)


def check_mapping(
    mapping: Mapping[str, Sequence[str]], name: str, *, allow_shared: bool = False
) -> dict[str, list[str]]:
    """Validate a group -> columns mapping (dimensions, blocks).

    Every group needs at least one column; unless ``allow_shared`` a column may belong to
    one group only.
    """
    if not isinstance(mapping, Mapping) or not mapping:
        msg = f"{name} must be a non-empty mapping of group -> list of columns; got {mapping!r}."
        raise SpecificationError(msg)
    out: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for group, cols in mapping.items():
        if isinstance(cols, str):
            cols = [cols]
        cols = list(cols)
        if not cols:
            msg = f"{name}[{group!r}] has no columns; give it at least one item."
            raise SpecificationError(msg)
        for c in cols:
            if c in seen and not allow_shared:
                msg = (
                    f"{name}: column {c!r} is in both {seen[c]!r} and {group!r}; "
                    "an item may belong to one group only."
                )
                raise SpecificationError(msg)
            seen[c] = str(group)
        out[str(group)] = cols
    return out


def py_label(value: Any) -> Any:
    """Return a row/column label as a plain Python object, so that messages show ``3``
    rather than ``np.int64(3)``."""
    return value.item() if isinstance(value, np.generic) else value


def shown(value: Any, limit: int = 40) -> str:
    """A data value (or a list of them) as a message quotes it: its ``repr`` as plain
    Python (``3``, not ``np.int64(3)``), and a long one (a 5,000-digit number pasted into
    a spreadsheet) cut to its start and its length.

    >>> import numpy as np
    >>> shown(np.int64(3)), shown([np.float64(2.5), "a"]), shown("9" * 500)
    ('3', "[2.5, 'a']", "'9999999999999999999... (502 characters)")
    """
    if isinstance(value, list | tuple):
        return "[" + ", ".join(shown(v, limit) for v in value) + "]"
    text = repr(py_label(value))
    return text if len(text) <= limit else f"{text[:20]}... ({len(text)} characters)"


def column_floats(df: pd.DataFrame, column: str, name: str = "data") -> np.ndarray:
    """One column as float64 (NaN for missing), without copying a float64 column.

    Numeric columns are converted directly (fast on millions of rows); anything else goes
    through :func:`check_numeric`, which names the row of the first non-numeric cell.
    """
    s = df[column]
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype="float64", na_value=np.nan)
    return check_numeric(df, [column], name)[column].to_numpy()
