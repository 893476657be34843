"""Suspect-response screening: speeders, straight-liners, copied answers, replays.

:func:`screen_responses` flags each response of a tidy export by the usual careless- or
fraudulent-responding indicators (Meade & Craig, 2012; Curran, 2016) and returns one
boolean column per reason plus ``suspect`` (any of them). The flags are evidence to look
at, not a verdict: the report shows the headline figures with and without them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from scoring._validation import check_columns, check_frame
from scoring.errors import DataError, SpecificationError

__all__ = ["SCREENING_FLAGS", "quarantined", "screen_responses"]

#: The columns of :func:`screen_responses`, in order (``suspect`` is any of the others).
SCREENING_FLAGS: tuple[str, ...] = (
    "too_fast",
    "straight_lining",
    "identical_ep",
    "reused_token",
    "honeypot",
    "flagged",
    "suspect",
)


def _numbers(data: pd.DataFrame, col: str) -> np.ndarray:
    """A column as float, NaN where unanswered: float32 when it holds whole numbers only
    (exact below 2**24, half the memory traffic of float64)."""
    column = data[col]
    if pd.api.types.is_integer_dtype(column.dtype):
        return column.to_numpy(dtype=np.float32, na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(column.dtype):
        column = pd.to_numeric(column, errors="coerce")
    return column.to_numpy(dtype="float64", na_value=np.nan)


#: The reasons an export's ``suspect`` cell can name (the app's own flags and the
#: screening reasons the export adds), read back by :func:`screen_responses`.
_REASONS: tuple[str, ...] = SCREENING_FLAGS[:-2]


# the quarantine mark of a ``suspect`` cell, and the reason that follows it to the end
_QUARANTINED = r"(?:^|;)\s*quarantined\s*(?::.*)?$"


def _flag_texts(column: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """The distinct flag texts of a ``suspect`` column and each row's position among them
    (the patterns then run on the few distinct texts, not on every row)."""
    codes, distinct = pd.factorize(column.astype("string").fillna("").to_numpy())
    return codes, pd.Series(distinct, dtype="string")


def _named(text: pd.Series, codes: np.ndarray, name: str) -> np.ndarray:
    found = text.str.contains(rf"(?:^|;)\s*{name}\s*(?:;|$)", regex=True)
    return np.asarray(found.to_numpy(bool)[codes], dtype=bool)


def _app_flags(column: pd.Series) -> dict[str, np.ndarray]:
    """The app's own flags from the export's ``suspect`` column, per row.

    The database export joins the flag names with ``;`` (``too_fast;honeypot``,
    ``straight_lining;quarantined``); a simulated or older file holds a boolean (``True``
    counts as another flag). Returns one array per reason of :data:`SCREENING_FLAGS` but
    ``flagged``, and ``other`` (any other flag but ``quarantined``).
    """
    n = len(column)
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        flagged = column.astype("boolean").fillna(False).to_numpy(bool)
        return {**{r: np.zeros(n, bool) for r in _REASONS}, "other": flagged}
    codes, text = _flag_texts(column)
    text = text.str.replace(_QUARANTINED, "", regex=True)
    known = "|".join(_REASONS)
    rest = text.str.replace(rf"\b(?:{known})\b|[;\s]", "", regex=True)
    return {
        **{r: _named(text, codes, r) for r in _REASONS},
        "other": rest.str.len().gt(0).to_numpy(bool)[codes],
    }


def quarantined(data: pd.DataFrame, *, app_flags: str = "suspect") -> pd.Series:
    """Which responses of an export were quarantined by a researcher, indexed like ``data``.

    A quarantined response is in an export only when asked for (``manyi export
    --quarantined``); its ``suspect`` cell then ends with ``quarantined``, followed by
    the researcher's reason after a colon when one was given. A frame without the
    column has none.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"suspect": ["", "too_fast;quarantined: a test entry", None]})
    >>> quarantined(df).tolist()
    [False, True, False]
    """
    frame = check_frame(data)
    if app_flags not in frame.columns or not (
        pd.api.types.is_string_dtype(frame[app_flags])
        or pd.api.types.is_object_dtype(frame[app_flags])
    ):
        return pd.Series(False, index=frame.index, name="quarantined")
    codes, text = _flag_texts(frame[app_flags])
    marked = text.str.contains(_QUARANTINED, regex=True).to_numpy(bool)[codes]
    return pd.Series(marked, index=frame.index, name="quarantined")


def screen_responses(
    data: pd.DataFrame,
    *,
    ratings: Mapping[str, Sequence[str]],
    pairs: Sequence[tuple[str, str]] = (),
    duration: str | None = "duration_s",
    min_seconds: float | None = None,
    median_share: float = 1 / 3,
    min_items: int = 5,
    start_token: str | None = None,
    honeypot: str | Sequence[bool] | np.ndarray | pd.Series | None = "honeypot",
    app_flags: str | None = "suspect",
) -> pd.DataFrame:
    """Flag suspect responses; one boolean column per reason, indexed like ``data``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per response (the tidy export).
    ratings : mapping of str to sequence of str
        Group (e.g. a rating role) -> its rating columns, for straight-lining. Columns
        missing from ``data`` are skipped; a group with fewer than ``min_items`` present
        columns is not screened.
    pairs : sequence of (str, str)
        ``(expectation column, perception column)`` of each item rated in both roles.
    duration : str or None, default "duration_s"
        Column of completion times in seconds (skipped when absent).
    min_seconds : float, optional
        Speeder threshold; default ``median_share`` of the median duration.
    median_share : float, default 1/3
        Share of the median duration below which a response is too fast.
    min_items : int, default 5
        Fewest answered ratings (or E/P pairs) for the straight-lining and identical-E/P
        screens: with fewer, equal answers are not evidence.
    start_token : str, optional
        Column holding each response's start token (or its exact start time); a value
        shared by two or more responses marks them all ``reused_token`` (a replayed form).
    honeypot : str or array-like of bool, default "honeypot"
        Column name (used when present) or one boolean per row: the hidden field was
        filled.
    app_flags : str or None, default "suspect"
        The export's column of flags (``too_fast;honeypot``, or a boolean): a named
        reason of :data:`SCREENING_FLAGS` adds to that reason (so a file exported with
        its flags screens the same again), any other flag (but ``quarantined``, see
        :func:`quarantined`) becomes ``flagged``.

    Returns
    -------
    pandas.DataFrame
        Boolean columns :data:`SCREENING_FLAGS`: ``too_fast`` (duration below the
        threshold), ``straight_lining`` (every answered rating of a group -- at least
        ``min_items`` -- the same value), ``identical_ep`` (E equals P on every pair
        answered in both, at least ``min_items``), ``reused_token``, ``honeypot``,
        ``flagged`` (an app flag not counted by another reason) and ``suspect`` (any).

    Raises
    ------
    DataError
        If a named column is missing (other than the optional defaults) or ``honeypot``
        does not have one value per row.
    SpecificationError
        If ``median_share`` is not in (0, 1] or ``min_items`` is below 2.

    Notes
    -----
    Speeding, long strings of one answer and copied answer blocks are the standard
    indicators of insufficient-effort responding (Meade & Craig, 2012; Curran, 2016);
    the one-third-of-the-median speeder rule follows Greszki, Meyer & Schoen (2015).
    Missing durations are never too fast.

    References
    ----------
    .. [1] Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey
       data. Psychological Methods, 17(3), 437-455.
    .. [2] Curran, P. G. (2016). Methods for the detection of carelessly invalid
       responses in survey data. Journal of Experimental Social Psychology, 66, 4-19.
    .. [3] Greszki, R., Meyer, M., & Schoen, H. (2015). Exploring the effects of removing
       "too fast" responses and respondents from web surveys. Public Opinion Quarterly,
       79(2), 471-503.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"duration_s": [300, 20, 280, 310],
    ...                    "q1": [1, 3, 4, 2], "q2": [2, 3, 4, 5], "q3": [5, 3, 4, 1]})
    >>> flags = screen_responses(df, ratings={"all": ["q1", "q2", "q3"]}, min_items=3)
    >>> flags[["too_fast", "straight_lining", "suspect"]].to_numpy().tolist()
    [[False, False, False], [True, True, True], [False, True, True], [False, False, False]]
    """
    frame = check_frame(data)
    if not 0 < median_share <= 1:
        msg = f"median_share must lie in (0, 1]; got {median_share!r}."
        raise SpecificationError(msg)
    if min_items < 2:
        msg = f"min_items must be at least 2 (one answer cannot be straight); got {min_items!r}."
        raise SpecificationError(msg)
    named = [c for c in (start_token,) if c is not None]
    named += [c for pair in pairs for c in pair]
    check_columns(frame, named)
    n = len(frame)
    out = pd.DataFrame(index=frame.index)

    too_fast = np.zeros(n, bool)
    if duration is not None and duration in frame.columns:
        dur = _numbers(frame, duration).astype("float64")
        limit = min_seconds
        if limit is None and np.isfinite(dur).any():
            limit = float(np.nanmedian(dur)) * median_share
        if limit is not None and math.isfinite(limit):
            too_fast = dur < limit

    # Column by column on 1-D arrays (each stays in cache): running per-respondent
    # highest and lowest answer and answer count per group, no items x respondents copies.
    straight = np.zeros(n, bool)
    values: dict[str, np.ndarray] = {}
    for cols in ratings.values():
        present = [c for c in cols if c in frame.columns]
        if len(present) < min_items:
            continue
        answered = np.zeros(n, dtype=np.int32)
        high: np.ndarray | None = None
        low: np.ndarray | None = None
        for col in present:
            x = values[col] = _numbers(frame, col)
            answered += ~np.isnan(x)
            high = x.copy() if high is None else np.fmax(high, x, out=high)
            low = x.copy() if low is None else np.fmin(low, x, out=low)
        straight |= (answered >= min_items) & (high == low)

    identical = np.zeros(n, bool)
    if pairs:
        n_both = np.zeros(n, dtype=np.int32)
        differ = np.zeros(n, bool)
        for e_col, p_col in pairs:
            e = values[e_col] if e_col in values else _numbers(frame, e_col)
            p = values[p_col] if p_col in values else _numbers(frame, p_col)
            both = ~np.isnan(e) & ~np.isnan(p)
            n_both += both
            differ |= both & (e != p)
        identical = (n_both >= min_items) & ~differ

    reused = np.zeros(n, bool)
    if start_token is not None:
        token = frame[start_token]
        reused = (token.notna() & token.duplicated(keep=False)).to_numpy(bool)

    trap = np.zeros(n, bool)
    if isinstance(honeypot, str):
        if honeypot in frame.columns:
            trap = frame[honeypot].astype("boolean").fillna(False).to_numpy(bool)
    elif honeypot is not None:
        trap = np.asarray(honeypot, dtype=bool)
        if trap.shape != (n,):
            msg = f"honeypot must give one boolean per row ({n}); got shape {trap.shape}."
            raise DataError(msg)

    app = (
        _app_flags(frame[app_flags])
        if app_flags is not None and app_flags in frame.columns
        else dict.fromkeys((*_REASONS, "other"), np.zeros(n, bool))
    )
    out["too_fast"] = too_fast | app["too_fast"]
    out["straight_lining"] = straight | app["straight_lining"]
    out["identical_ep"] = identical | app["identical_ep"]
    out["reused_token"] = reused | app["reused_token"]
    out["honeypot"] = trap | app["honeypot"]
    counted = out.to_numpy(bool).any(axis=1)
    out["flagged"] = app["other"] & ~counted
    out["suspect"] = counted | out["flagged"].to_numpy(bool)
    return out
