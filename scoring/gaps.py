"""The five service-quality gaps (Parasuraman, Zeithaml & Berry, 1985).

Public function :func:`service_gaps` combines linked data sets keyed by item id --
customers (E, P), managers (M, S), contact staff and/or a service audit (D, C) -- each a
separate DataFrame with its own respondents, and returns a :class:`GapsResult`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from questionnaires import CUSTOMER_GAP, GAP_ROLES, ROLE_SUFFIXES
from scoring._results import Result
from scoring._validation import (
    MISSING_RULES,
    MissingRule,
    apply_missing_rule,
    check_choice,
    check_frame,
    check_mapping,
    check_numeric,
    check_range,
    not_applicable_mask,
    shown,
)
from scoring.errors import DataError, InsufficientDataError, ScoringError, SpecificationError
from scoring.inference import holm, mean_interval, welch_test_from_stats
from scoring.reliability import cronbach_alpha

__all__ = ["GAP_ROLES", "GapsResult", "service_gaps"]

# GAP_ROLES (gap -> (minuend role, subtrahend role)) and CUSTOMER_GAP (P - E) are the
# vocabulary of the questionnaire format; the customer gap is decomposed exactly into
DECOMPOSITION = ("perception", "behaviour", "procedure", "understanding")

#: role -> the sources that may give it, in the default order of preference
_SOURCES: Mapping[str, tuple[str, ...]] = {
    "expectation": ("customers",),
    "perception": ("customers",),
    "manager_estimate": ("managers",),
    "standard": ("managers",),
    "delivered": ("audit", "staff"),
    "promised": ("audit", "staff"),
}
_LETTER = {
    "expectation": "E",
    "perception": "P",
    "manager_estimate": "M",
    "standard": "S",
    "delivered": "D",
    "promised": "C",
}
_SOURCE_TEXT = {
    "customers": "customers",
    "managers": "managers",
    "staff": "staff/audit",
    "audit": "staff/audit",
}
#: where a cause scale's columns are looked up, in order
_CAUSE_ORDER = ("managers", "staff", "audit", "customers")
DELIVERED_CHOICES = ("audit", "staff")
_TABLE_COLUMNS = ["estimate", "se", "df", "ci_low", "ci_high", "t", "p", "p_holm", "method"]
_LEVEL_COLUMNS = ["role", "letter", "source", "level", "name", "n", "mean", "sd", "se"]
_LEVEL_COLUMNS += ["ci_low", "ci_high"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GapsResult(Result):
    """Result of :func:`service_gaps`.

    Attributes
    ----------
    items : pandas.DataFrame
        One row per computable (gap, item): ``gap, item, dimension, estimate, se, df,
        ci_low, ci_high, t, p, p_holm, method, n_a, n_b, n_pairs`` (``method`` is
        ``paired`` when both roles come from the same respondents, else ``welch``;
        ``p_holm`` adjusts ``p`` over the items of one gap; ``n_pairs`` counts the
        respondents who gave both roles of a paired gap, NaN for Welch). The
        ``customer`` gap P - E is included.
    dimensions : pandas.DataFrame
        The same per (gap, dimension) over respondents' dimension scores, with ``items``
        (how many items the gap covers there); ``p_holm`` adjusts over the dimensions
        of one gap.
    levels : pandas.DataFrame
        Each role on its own: ``role, letter, source, level, name, n, mean, sd, se,
        ci_low, ci_high`` per item and per dimension (a respondent's dimension level is
        the mean of the items they answered in it).
    identity : pandas.DataFrame
        Where P, D, S, M and E are all present: ``level, name, customer_gap, perception,
        behaviour, procedure, understanding, total, residual, exact`` with
        ``customer_gap = P - E``, ``total`` the sum of the four gaps and ``exact``
        whether they agree up to floating-point rounding (1e-9).
    ranking : pandas.DataFrame
        Per dimension, the computable gaps of the decomposition ranked by size:
        ``dimension, rank, gap, estimate, share`` (share of the customer gap).
    unavailable : pandas.DataFrame
        ``gap, items, reason``: gaps that could not be computed (``items`` = "all") or
        only for some items (the items that lack a role).
    roles : pandas.DataFrame
        ``role, letter, source, items, n``: which roles were found, where, for how many
        items and respondents.
    sources : pandas.DataFrame
        ``source, n, segmented``: the rows of each source frame used (after the
        segment filter) and whether the segment filter applied to it (a frame without
        the segment column is used whole).
    causes : pandas.DataFrame or None
        Gap-cause scales: ``gap, scale, source, k, n, mean, sd, se, ci_low, ci_high,
        alpha``.
    segment : tuple of (str, str) or None
        The segment filter ``(column, value)``.
    delivered : str
        The preferred source of D and C (``"audit"`` or ``"staff"``).
    missing : str
    confidence : float
    """

    items: pd.DataFrame
    dimensions: pd.DataFrame
    levels: pd.DataFrame
    identity: pd.DataFrame
    ranking: pd.DataFrame
    unavailable: pd.DataFrame
    roles: pd.DataFrame
    sources: pd.DataFrame
    causes: pd.DataFrame | None
    segment: tuple[str, str] | None
    delivered: str
    missing: str
    confidence: float

    def summary(self) -> pd.DataFrame:
        """The per-dimension gap table."""
        return self.dimensions


class _Role:
    """One role's answers (numeric, missing rule applied; columns = item ids), with the
    respondent scores and their description cached: the gaps, the levels and the
    identity ask for the same item sets again."""

    __slots__ = ("_described", "_scores", "at", "frame", "source", "values")

    def __init__(self, frame: pd.DataFrame, source: str) -> None:
        self.frame = frame
        self.source = source
        self.values = frame.to_numpy(dtype="float64")
        self.at = {c: k for k, c in enumerate(frame.columns)}
        self._scores: dict[tuple[str, ...], np.ndarray] = {}
        self._described: dict[tuple[tuple[str, ...], float], dict[str, float]] = {}

    def scores(self, items: Sequence[str]) -> np.ndarray:
        """Per respondent mean of the role's answers over ``items`` (NaN if none answered)."""
        key = tuple(items)
        if key not in self._scores:
            values = self.values[:, [self.at[i] for i in key]]
            if values.shape[1] == 1:
                self._scores[key] = values[:, 0]
            else:
                answered = ~np.isnan(values)
                count = answered.sum(axis=1)
                total = np.where(answered, values, 0.0).sum(axis=1)
                out = np.full(count.shape, np.nan)
                np.divide(total, count, out=out, where=count > 0)
                self._scores[key] = out
        return self._scores[key]

    def describe(self, items: Sequence[str], confidence: float) -> dict[str, float]:
        """n, mean, sd, se and t interval of :meth:`scores` over ``items``."""
        key = (tuple(items), confidence)
        if key not in self._described:
            self._described[key] = mean_interval(self.scores(items), confidence=confidence).row()
        return self._described[key]


def _segmented(
    frames: Mapping[str, pd.DataFrame | None], segment: tuple[str, str] | None
) -> tuple[dict[str, pd.DataFrame], dict[str, bool]]:
    """The given frames, each cut to the rows of ``segment`` when it has the column."""
    given = {s: check_frame(f, s) for s, f in frames.items() if f is not None}
    if segment is None:
        return given, dict.fromkeys(given, False)
    if not (isinstance(segment, tuple | list) and len(segment) == 2):
        msg = f"segment must be a (column, value) pair such as ('branch', 'east'); got {segment!r}."
        raise SpecificationError(msg)
    column, value = str(segment[0]), str(segment[1])
    applied = {s: column in f.columns for s, f in given.items()}
    if not any(applied.values()):
        msg = (
            f"segment column {column!r} is in none of the frames given ({', '.join(given)}); "
            "check its name."
        )
        raise SpecificationError(msg)
    out = {}
    for s, f in given.items():
        if applied[s]:
            # cells compared as text, so a code stored as 1 or "1" is the same level
            keep = f[column].astype("string").eq(value).fillna(False).to_numpy(dtype=bool)
            f = f.loc[keep]
        out[s] = f
    return out, applied


def _load_roles(
    frames: Mapping[str, pd.DataFrame],
    items: list[str],
    scale: tuple[float, float],
    missing: str,
    suffixes: Mapping[str, str],
    delivered: str,
) -> dict[str, _Role]:
    # role -> source: the first source in the order of preference with any of its columns
    chosen: dict[str, tuple[str, list[str]]] = {}
    for role, candidates in _SOURCES.items():
        if role in ("delivered", "promised") and delivered == "staff":
            candidates = candidates[::-1]
        for source in candidates:
            df = frames.get(source)
            if df is None:
                continue
            its = [i for i in items if f"{i}{suffixes[role]}" in df.columns]
            if its:
                chosen[role] = (source, its)
                break
    roles: dict[str, _Role] = {}
    for source, df in frames.items():
        mine = {r: its for r, (s, its) in chosen.items() if s == source}
        if not mine:
            continue
        cols = [f"{i}{suffixes[r]}" for r, its in mine.items() for i in its]
        values = check_numeric(df, cols, source)
        check_range(values, scale[0], scale[1], source)
        na = not_applicable_mask(df, cols)
        values = apply_missing_rule(values, missing, source, not_applicable=na)
        for role, its in mine.items():
            sub = values[[f"{i}{suffixes[role]}" for i in its]]
            roles[role] = _Role(sub.set_axis(its, axis=1), source)
    return roles


def _t_test(estimate: float, se: float, df: float) -> tuple[float, float]:
    """t and two-sided p of ``estimate / se`` on ``df`` degrees of freedom."""
    if not (se > 0 and df > 0):
        return math.nan, math.nan
    t = estimate / se
    # = 2 * scipy.stats.t.sf(|t|, df): the ufunc itself, without the distribution
    # object's argument checks (a report asks for hundreds of these)
    return t, float(2.0 * special.stdtr(df, -abs(t)))


def _gap_row(a: _Role, b: _Role, items: list[str], confidence: float) -> dict[str, Any]:
    sa, sb = a.describe(items, confidence), b.describe(items, confidence)
    if a.source == b.source:
        # same respondents rated both roles: paired interval from their differences;
        # the estimate stays the difference of role means so the identity is exact
        sd = mean_interval(a.scores(items) - b.scores(items), confidence=confidence).row()
        est = sa["mean"] - sb["mean"]
        half = sd["ci_high"] - sd["mean"]
        out: dict[str, Any] = {"estimate": est, "se": sd["se"], "df": sd["n"] - 1.0}
        out |= {"ci_low": est - half, "ci_high": est + half, "method": "paired"}
        out["t"], out["p"] = _t_test(est, out["se"], out["df"])
        n_pairs = float(sd["n"])
    else:
        w = welch_test_from_stats(
            n_a=int(sa["n"]),
            mean_a=sa["mean"],
            sd_a=sa["sd"],
            n_b=int(sb["n"]),
            mean_b=sb["mean"],
            sd_b=sb["sd"],
            confidence=confidence,
        )
        out = {"estimate": w.estimate, "se": w.se, "df": w.df}
        out |= {"ci_low": w.ci_low, "ci_high": w.ci_high, "method": "welch"}
        out |= {"t": w.t, "p": w.p}
        n_pairs = math.nan
    return out | {"n_a": sa["n"], "n_b": sb["n"], "n_pairs": n_pairs}


def _absent_note(
    role: str, frames: Mapping[str, pd.DataFrame], segment: tuple[str, str] | None
) -> str:
    """Why a role is absent: no frame of its source, or none left in the segment."""
    given = [s for s in _SOURCES[role] if s in frames]
    if not given:
        return f" (no {_SOURCES[role][0]} data)"
    if segment is not None and all(len(frames[s]) == 0 for s in given):
        return f" (no {' or '.join(given)} in segment {segment[0]} = {shown(segment[1])})"
    return ""


def _needs(pair: tuple[str, str]) -> str:
    return " and ".join(f"{_LETTER[r]} ({_SOURCE_TEXT[_SOURCES[r][0]]})" for r in pair)


def _with_holm(rows: list[dict[str, Any]], key: list[str]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=[*key, *_TABLE_COLUMNS, "n_a", "n_b", "n_pairs"])
    p = table["p"].to_numpy(dtype="float64")
    adjusted = np.full(p.shape, np.nan)
    for gap in table["gap"].unique():
        at = (table["gap"] == gap).to_numpy()
        adjusted[at] = holm(p[at])
    table["p_holm"] = adjusted
    return table


def _levels(
    roles: Mapping[str, _Role], dims: Mapping[str, list[str]], confidence: float
) -> pd.DataFrame:
    rows = []
    for role, r in roles.items():
        have = list(r.frame.columns)
        groups = [("item", i, [i]) for i in have]
        groups += [("dimension", d, [i for i in its if i in have]) for d, its in dims.items()]
        for level, name, its in groups:
            if its:
                st = r.describe(its, confidence)
                rows.append(
                    {
                        "role": role,
                        "letter": _LETTER[role],
                        "source": r.source,
                        "level": level,
                        "name": name,
                        **st,
                    }
                )
    return pd.DataFrame(rows, columns=_LEVEL_COLUMNS)


def service_gaps(
    *,
    dimensions: Mapping[str, Sequence[str]],
    customers: pd.DataFrame | None = None,
    managers: pd.DataFrame | None = None,
    staff: pd.DataFrame | None = None,
    audit: pd.DataFrame | None = None,
    delivered: Literal["audit", "staff"] = "audit",
    segment: tuple[str, str] | None = None,
    scale: tuple[float, float] = (1, 7),
    cause_scales: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    cause_scale_range: tuple[float, float] | None = None,
    missing: MissingRule = "pairwise",
    confidence: float = 0.95,
    suffixes: Mapping[str, str] = ROLE_SUFFIXES,
) -> GapsResult:
    """Five-gap breakdown of service quality from linked customer, manager and staff data.

    Parameters
    ----------
    dimensions : mapping of str to sequence of str
        Dimension -> item ids, shared by every questionnaire.
    customers : pandas.DataFrame, optional
        Customer responses: ``<item>_e`` (expectation E) and ``<item>_p`` (perception P).
    managers : pandas.DataFrame, optional
        Management responses: ``<item>_m`` (managers' estimate of customers'
        expectations M) and ``<item>_s`` (service standard S).
    staff : pandas.DataFrame, optional
        Contact-staff self-assessment: ``<item>_d`` (service delivered D) and ``<item>_c``
        (level promised in communications C).
    audit : pandas.DataFrame, optional
        A service audit (mystery shopper) with the same ``<item>_d`` and ``<item>_c``
        columns.
    delivered : {'audit', 'staff'}
        Where D and C come from when both ``staff`` and ``audit`` have them (an
        observer's rating by default); each falls back to the other source when the
        preferred one lacks that role's columns.
    segment : (column, value), optional
        Keep only the rows whose ``column`` equals ``value`` (compared as text) in every
        frame that has the column; a frame without it is used whole, which
        ``GapsResult.sources`` reports.
    scale : (min, max)
        Rating scale of the role columns.
    cause_scales : mapping, optional
        Gap -> {scale name: [columns]} of the gap-cause scales (e.g. ``{"behaviour":
        {"role_conflict": ["rc1", "rc2", "rc3"]}}``); each scale's columns are looked up
        in managers, then staff, then audit, then customers (all in one frame).
    cause_scale_range : (min, max), optional
        Range of the cause-scale answers (default: ``scale``).
    missing : {'pairwise', 'listwise', 'item_mean'}
        Applied within each source frame to its role columns.
    confidence : float
        Level of the intervals.
    suffixes : mapping
        Role -> column suffix (the export rule by default).

    Returns
    -------
    GapsResult

    Raises
    ------
    InsufficientDataError
        No gap at all can be computed from the sources given; fewer than 2 customer
        responses (in the segment).
    SpecificationError
        Unknown gap in ``cause_scales``; a segment column in none of the frames.
    DataError
        Non-numeric or out-of-range answers; cause-scale columns in no source.
    ValueError
        ``missing`` or ``delivered`` not one of the choices.

    Notes
    -----
    Per item, with role means over each source's own respondents: understanding
    ``M - E``, procedure ``S - M``, behaviour ``D - S``, promotion ``D - C``, perception
    ``P - D``, and the customer gap ``P - E``. A dimension's role mean is the mean of
    respondents' mean answer over the dimension's items that both roles of the gap
    cover. Roles from different sources are independent samples:
    ``se = sqrt(s_a^2/n_a + s_b^2/n_b)`` with a Welch-Satterthwaite t interval and
    test [3]_. Roles from the same source (P and E, M and S, D and C) are paired: the
    interval and the t test use the per-respondent differences (their sd and count).
    The estimate is always the difference of role means, so the identity
    ``P - E = (P - D) + (D - S) + (S - M) + (M - E)`` holds exactly on the means; with
    missing answers the estimate of a paired gap can differ slightly from the mean of
    the differences. The result reports both sides of the identity and the
    floating-point residual. ``t = estimate / se``; ``p_holm`` is Holm's (1979) step-down
    adjustment over the items (or dimensions) of one gap. Gaps of the decomposition
    are ranked per dimension by absolute size. Gap-cause scales (Zeithaml, Berry &
    Parasuraman, 1988) are described by the mean of respondents' mean answer over the
    scale's items, with a t interval and Cronbach's alpha.

    References
    ----------
    .. [1] Parasuraman, A., Zeithaml, V. A., & Berry, L. L. (1985). A conceptual model of
       service quality and its implications for future research. Journal of Marketing,
       49(4), 41-50.
    .. [2] Zeithaml, V. A., Berry, L. L., & Parasuraman, A. (1988). Communication and
       control processes in the delivery of service quality. Journal of Marketing,
       52(2), 35-48.
    .. [3] Welch, B. L. (1947). The generalization of 'Student's' problem when several
       different population variances are involved. Biometrika, 34(1/2), 28-35.
    .. [4] Holm, S. (1979). A simple sequentially rejective multiple test procedure.
       Scandinavian Journal of Statistics, 6(2), 65-70.

    Examples
    --------
    >>> import pandas as pd
    >>> from scoring.gaps import service_gaps
    >>> cust = pd.DataFrame({"a_e": [6, 7, 6], "a_p": [5, 5, 6]})
    >>> mgr = pd.DataFrame({"a_m": [6, 5], "a_s": [5, 5]})
    >>> res = service_gaps(dimensions={"d": ["a"]}, customers=cust, managers=mgr)
    >>> res.items.set_index("gap")["estimate"].round(3).to_dict()
    {'understanding': -0.833, 'procedure': -0.5, 'customer': -1.0}
    >>> res.unavailable["gap"].tolist()
    ['behaviour', 'promotion', 'perception']
    """
    check_choice("missing", missing, MISSING_RULES)
    check_choice("delivered", delivered, DELIVERED_CHOICES)
    dims = check_mapping(dimensions, "dimensions")
    items = [i for its in dims.values() for i in its]
    dim_of = {i: d for d, its in dims.items() for i in its}
    given = {"customers": customers, "managers": managers, "staff": staff, "audit": audit}
    frames, segmented = _segmented(given, segment)
    if "customers" in frames and len(frames["customers"]) < 2:
        n = len(frames["customers"])
        msg = (
            f"segment {segment[0]} = {shown(segment[1])} has {n} customer response(s); the five "
            "gaps need at least 2: choose another level."
            if segment is not None and segmented["customers"]
            else f"customers has {n} response(s); the five gaps need at least 2."
        )
        raise InsufficientDataError(msg)
    # a source the segment leaves without rows gives no role (its gaps are unavailable)
    answered = {src: f for src, f in frames.items() if len(f) or not segmented[src]}
    roles = _load_roles(answered, items, scale, missing, suffixes, delivered)

    all_gaps = {**GAP_ROLES, "customer": CUSTOMER_GAP}
    item_rows: list[dict[str, Any]] = []
    dim_rows: list[dict[str, Any]] = []
    unavailable: list[dict[str, str]] = []
    for gap, (ra, rb) in all_gaps.items():
        absent = [r for r in (ra, rb) if r not in roles]
        if absent:
            why = ", ".join(f"{_LETTER[r]}{_absent_note(r, frames, segment)}" for r in absent)
            reason = f"{gap}: needs {_needs((ra, rb))}; missing: {why}"
            unavailable.append({"gap": gap, "items": "all", "reason": reason})
            continue
        a, b = roles[ra], roles[rb]
        covered = [i for i in items if i in a.frame.columns and i in b.frame.columns]
        lacking = [i for i in items if i not in covered]
        if lacking:
            reason = f"{gap}: items {lacking} lack {_LETTER[ra]} or {_LETTER[rb]} columns"
            unavailable.append(
                {"gap": gap, "items": ", ".join(lacking) if covered else "all", "reason": reason}
            )
        for item in covered:
            item_rows.append(
                {"gap": gap, "item": item, "dimension": dim_of[item]}
                | _gap_row(a, b, [item], confidence)
            )
        for dname, its in dims.items():
            sub = [i for i in its if i in covered]
            if sub:
                dim_rows.append(
                    {"gap": gap, "dimension": dname, "items": len(sub)}
                    | _gap_row(a, b, sub, confidence)
                )
    if not item_rows:
        reasons = "; ".join(u["reason"] for u in unavailable)
        msg = f"no gap can be computed from the data given: {reasons}."
        raise InsufficientDataError(msg)

    dim_table = _with_holm(dim_rows, ["gap", "dimension", "items"])
    identity = _identity(roles, dims, items, confidence)
    ranking = _ranking(dim_table)
    role_rows = [
        {
            "role": r,
            "letter": _LETTER[r],
            "source": role.source,
            "items": role.frame.shape[1],
            "n": int(role.frame.notna().any(axis=1).sum()),
        }
        for r, role in roles.items()
    ]
    source_rows = [{"source": s, "n": len(f), "segmented": segmented[s]} for s, f in frames.items()]
    causes = None
    if cause_scales is not None:
        causes = _causes(cause_scales, frames, cause_scale_range or scale, missing, confidence)
    return GapsResult(
        items=_with_holm(item_rows, ["gap", "item", "dimension"]),
        dimensions=dim_table,
        levels=_levels(roles, dims, confidence),
        identity=identity,
        ranking=ranking,
        unavailable=pd.DataFrame(unavailable, columns=["gap", "items", "reason"]),
        roles=pd.DataFrame(role_rows, columns=["role", "letter", "source", "items", "n"]),
        sources=pd.DataFrame(source_rows, columns=["source", "n", "segmented"]),
        causes=causes,
        segment=None if segment is None else (str(segment[0]), str(segment[1])),
        delivered=delivered,
        missing=missing,
        confidence=confidence,
    )


#: how far apart the sides of the identity may be from rounding alone (scale points)
_ROUNDING = 1e-9
_IDENTITY_ROLES = ("perception", "delivered", "standard", "manager_estimate", "expectation")


def _identity(
    roles: Mapping[str, _Role],
    dims: Mapping[str, list[str]],
    items: list[str],
    confidence: float,
) -> pd.DataFrame:
    cols = ["level", "name", "customer_gap", *DECOMPOSITION, "total", "residual", "exact"]
    if any(r not in roles for r in _IDENTITY_ROLES):
        return pd.DataFrame(columns=cols)
    full = [i for i in items if all(i in roles[r].frame.columns for r in _IDENTITY_ROLES)]
    groups = [("item", i, [i]) for i in full]
    groups += [("dimension", d, [i for i in its if i in full]) for d, its in dims.items()]
    rows = []
    for level, name, its in groups:
        if not its:
            continue
        # the same means as the gap estimates (mean of the finite respondent scores)
        m = {r: roles[r].describe(its, confidence)["mean"] for r in _IDENTITY_ROLES}
        parts = {
            "perception": m["perception"] - m["delivered"],
            "behaviour": m["delivered"] - m["standard"],
            "procedure": m["standard"] - m["manager_estimate"],
            "understanding": m["manager_estimate"] - m["expectation"],
        }
        customer = m["perception"] - m["expectation"]
        total = math.fsum(parts.values())
        rows.append(
            {
                "level": level,
                "name": name,
                "customer_gap": customer,
                **parts,
                "total": total,
                "residual": customer - total,
                # the gaps telescope: only floating-point rounding can separate the sides
                "exact": abs(customer - total) <= _ROUNDING,
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _ranking(dim_table: pd.DataFrame) -> pd.DataFrame:
    cols = ["dimension", "rank", "gap", "estimate", "share"]
    if dim_table.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for dname, group in dim_table.groupby("dimension", sort=False):
        est = group.set_index("gap")["estimate"]
        customer = est.get("customer", math.nan)
        parts = est[[g for g in DECOMPOSITION if g in est.index]]
        order = parts.abs().sort_values(ascending=False, kind="stable").index
        for rank, gap in enumerate(order, start=1):
            share = parts[gap] / customer if customer else math.nan
            rows.append(
                {
                    "dimension": dname,
                    "rank": rank,
                    "gap": gap,
                    "estimate": float(parts[gap]),
                    "share": share,
                }
            )
    return pd.DataFrame(rows, columns=cols)


def _causes(
    cause_scales: Mapping[str, Mapping[str, Sequence[str]]],
    frames: Mapping[str, pd.DataFrame],
    scale: tuple[float, float],
    missing: str,
    confidence: float,
) -> pd.DataFrame:
    unknown = [g for g in cause_scales if g not in GAP_ROLES]
    if unknown:
        msg = f"cause_scales has unknown gap(s) {unknown}; gaps are {list(GAP_ROLES)}."
        raise SpecificationError(msg)
    present = {s: frames[s] for s in _CAUSE_ORDER if s in frames}
    rows = []
    for gap, scales in cause_scales.items():
        checked = check_mapping(scales, f"cause_scales[{gap!r}]", allow_shared=True)
        for name, cols in checked.items():
            found = [(s, f) for s, f in present.items() if set(cols) <= set(f.columns)]
            if not found:
                msg = (
                    f"cause scale {gap}/{name}: columns {list(cols)} are not all in one of the "
                    f"frames given ({list(present)}); check the column names."
                )
                raise DataError(msg)
            source, frame = found[0]
            if len(frame) == 0:  # none of this source in the segment: nothing to describe
                st = mean_interval(np.empty(0), confidence=confidence).row()
                row = {"gap": gap, "scale": name, "source": source, "k": len(cols), **st}
                rows.append(row | {"alpha": math.nan})
                continue
            values = check_numeric(frame, cols, source)
            check_range(values, scale[0], scale[1], source)
            na = not_applicable_mask(frame, cols)
            values = apply_missing_rule(values, missing, source, not_applicable=na)
            st = mean_interval(
                values.mean(axis=1).to_numpy(dtype="float64"), confidence=confidence
            ).row()
            alpha = math.nan
            if len(cols) > 1:
                try:
                    # on the source frame: its not-applicable cells are left out, not imputed
                    alpha = cronbach_alpha(frame, items=cols, missing=missing).alpha  # type: ignore[arg-type]
                except ScoringError:
                    alpha = math.nan  # e.g. a constant scale: alpha undefined, not an error
            rows.append(
                {"gap": gap, "scale": name, "source": source, "k": len(cols), **st, "alpha": alpha}
            )
    return pd.DataFrame(rows)
