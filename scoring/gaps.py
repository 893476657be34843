"""The five service-quality gaps (Parasuraman, Zeithaml & Berry, 1985).

Public function :func:`service_gaps` combines linked data sets keyed by item id --
customers (E, P), managers (M, S), staff or audit (D, C) -- each a separate DataFrame with
its own respondents, and returns a :class:`GapsResult`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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
)
from scoring.errors import DataError, InsufficientDataError, ScoringError, SpecificationError
from scoring.inference import mean_interval, welch_test_from_stats
from scoring.reliability import cronbach_alpha
from scoring.servqual import ROLE_SUFFIXES

__all__ = ["GAPS", "GapsResult", "service_gaps"]

#: gap -> (minuend role, subtrahend role): the gap is mean(minuend) - mean(subtrahend).
GAPS: Mapping[str, tuple[str, str]] = {
    "understanding": ("manager_estimate", "expectation"),  # M - E
    "procedure": ("standard", "manager_estimate"),  # S - M
    "behaviour": ("delivered", "standard"),  # D - S
    "promotion": ("delivered", "promised"),  # D - C
    "perception": ("perception", "delivered"),  # P - D
}
#: the customer gap P - E, which the four gaps below decompose exactly
CUSTOMER_GAP = ("perception", "expectation")
DECOMPOSITION = ("perception", "behaviour", "procedure", "understanding")

_SOURCE = {
    "expectation": "customers",
    "perception": "customers",
    "manager_estimate": "managers",
    "standard": "managers",
    "delivered": "staff",
    "promised": "staff",
}
_LETTER = {
    "expectation": "E",
    "perception": "P",
    "manager_estimate": "M",
    "standard": "S",
    "delivered": "D",
    "promised": "C",
}
_SOURCE_TEXT = {"customers": "customers", "managers": "managers", "staff": "staff/audit"}


@dataclass(frozen=True, slots=True, kw_only=True)
class GapsResult(Result):
    """Result of :func:`service_gaps`.

    Attributes
    ----------
    items : pandas.DataFrame
        One row per computable (gap, item): ``gap, item, dimension, estimate, se, df,
        ci_low, ci_high, n_a, n_b, method`` (``paired`` when both roles come from the
        same respondents, else ``welch``). The ``customer`` gap P - E is included.
    dimensions : pandas.DataFrame
        The same per (gap, dimension), over respondents' dimension scores.
    identity : pandas.DataFrame
        Where P, D, S, M and E are all present: ``level, name, customer_gap, perception,
        behaviour, procedure, understanding, total, residual`` with
        ``customer_gap = P - E`` and ``total`` the sum of the four gaps.
    ranking : pandas.DataFrame
        Per dimension, the computable gaps of the decomposition ranked by size:
        ``dimension, rank, gap, estimate, share`` (share of the customer gap).
    unavailable : pandas.DataFrame
        ``gap, items, reason``: gaps that could not be computed (``items`` = "all") or
        only for some items (the items that lack a role).
    roles : pandas.DataFrame
        ``role, letter, source, items, n``: which roles were found, where, for how many
        items and respondents.
    causes : pandas.DataFrame or None
        Gap-cause scales: ``gap, scale, source, k, n, mean, sd, se, ci_low, ci_high,
        alpha``.
    missing : str
    confidence : float
    """

    items: pd.DataFrame
    dimensions: pd.DataFrame
    identity: pd.DataFrame
    ranking: pd.DataFrame
    unavailable: pd.DataFrame
    roles: pd.DataFrame
    causes: pd.DataFrame | None
    missing: str
    confidence: float

    def summary(self) -> pd.DataFrame:
        """The per-dimension gap table."""
        return self.dimensions


@dataclass(frozen=True, slots=True)
class _Role:
    frame: pd.DataFrame  # numeric, missing rule applied; columns = item ids
    source: str


def _load_roles(
    frames: Mapping[str, pd.DataFrame | None],
    items: list[str],
    scale: tuple[float, float],
    missing: str,
    suffixes: Mapping[str, str],
) -> dict[str, _Role]:
    roles: dict[str, _Role] = {}
    for source, data in frames.items():
        if data is None:
            continue
        df = check_frame(data, source)
        wanted = {
            role: [i for i in items if f"{i}{suffixes[role]}" in df.columns]
            for role, src in _SOURCE.items()
            if src == source
        }
        cols = [f"{i}{suffixes[r]}" for r, its in wanted.items() for i in its]
        if not cols:
            continue
        values = check_numeric(df, cols, source)
        check_range(values, scale[0], scale[1], source)
        values = apply_missing_rule(values, missing, source)
        for role, its in wanted.items():
            if its:
                sub = values[[f"{i}{suffixes[role]}" for i in its]]
                roles[role] = _Role(sub.set_axis(its, axis=1), source)
    return roles


def _row_scores(role: _Role, items: list[str]) -> np.ndarray:
    """Per respondent mean of the role's answers over ``items`` (NaN if none answered)."""
    return np.asarray(role.frame[items].mean(axis=1, skipna=True).to_numpy(dtype="float64"))


def _gap_row(a: _Role, b: _Role, items: list[str], confidence: float) -> dict[str, Any]:
    xa, xb = _row_scores(a, items), _row_scores(b, items)
    sa, sb = (
        mean_interval(xa, confidence=confidence).row(),
        mean_interval(xb, confidence=confidence).row(),
    )
    if a.source == b.source:
        # same respondents rated both roles: paired interval from their differences;
        # the estimate stays the difference of role means so the identity is exact
        sd = mean_interval(xa - xb, confidence=confidence).row()
        est = sa["mean"] - sb["mean"]
        half = sd["ci_high"] - sd["mean"]
        out: dict[str, Any] = {"estimate": est, "se": sd["se"], "df": sd["n"] - 1.0}
        out |= {"ci_low": est - half, "ci_high": est + half, "method": "paired"}
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
    return out | {"n_a": sa["n"], "n_b": sb["n"]}


def _needs(gap: str, pair: tuple[str, str]) -> str:
    return " and ".join(f"{_LETTER[r]} ({_SOURCE_TEXT[_SOURCE[r]]})" for r in pair)


def service_gaps(
    *,
    dimensions: Mapping[str, Sequence[str]],
    customers: pd.DataFrame | None = None,
    managers: pd.DataFrame | None = None,
    staff: pd.DataFrame | None = None,
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
        Contact-staff self-assessment or audit: ``<item>_d`` (service delivered D) and
        ``<item>_c`` (level promised in communications C).
    scale : (min, max)
        Rating scale of the role columns.
    cause_scales : mapping, optional
        Gap -> {scale name: [columns]} of the gap-cause scales (e.g. ``{"behaviour":
        {"role_conflict": ["rc1", "rc2", "rc3"]}}``); each scale's columns are looked up
        in managers, then staff, then customers (all in one frame).
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
        No gap at all can be computed from the sources given.
    SpecificationError
        Unknown gap in ``cause_scales``.
    DataError
        Non-numeric or out-of-range answers; cause-scale columns in no source.

    Notes
    -----
    Per item, with role means over each source's own respondents: understanding
    ``M - E``, procedure ``S - M``, behaviour ``D - S``, promotion ``D - C``, perception
    ``P - D``, and the customer gap ``P - E``. A dimension's role mean is the mean of
    respondents' mean answer over the dimension's items that both roles of the gap
    cover. Roles from different sources are independent samples:
    ``se = sqrt(s_a^2/n_a + s_b^2/n_b)`` with a Welch-Satterthwaite t interval. Roles
    from the same source (P and E, M and S, D and C) are paired: the interval uses the
    per-respondent differences. The estimate is always the difference of role means, so
    the identity ``P - E = (P - D) + (D - S) + (S - M) + (M - E)`` holds exactly on
    the means; the result reports both sides and the floating-point residual. Gaps of
    the decomposition are ranked per dimension by absolute size.

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
    dims = check_mapping(dimensions, "dimensions")
    items = [i for its in dims.values() for i in its]
    dim_of = {i: d for d, its in dims.items() for i in its}
    frames = {"customers": customers, "managers": managers, "staff": staff}
    roles = _load_roles(frames, items, scale, missing, suffixes)

    all_gaps = {**GAPS, "customer": CUSTOMER_GAP}
    item_rows: list[dict[str, Any]] = []
    dim_rows: list[dict[str, Any]] = []
    unavailable: list[dict[str, str]] = []
    for gap, (ra, rb) in all_gaps.items():
        absent = [r for r in (ra, rb) if r not in roles]
        if absent:
            why = ", ".join(
                f"{_LETTER[r]}"
                + ("" if frames[_SOURCE[r]] is not None else f" (no {_SOURCE[r]} data)")
                for r in absent
            )
            reason = f"{gap}: needs {_needs(gap, (ra, rb))}; missing: {why}"
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

    identity = _identity(roles, dims, items, dim_of)
    ranking = _ranking(pd.DataFrame(dim_rows))
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
    causes = None
    if cause_scales is not None:
        causes = _causes(cause_scales, frames, cause_scale_range or scale, missing, confidence)
    return GapsResult(
        items=pd.DataFrame(item_rows),
        dimensions=pd.DataFrame(dim_rows),
        identity=identity,
        ranking=ranking,
        unavailable=pd.DataFrame(unavailable, columns=["gap", "items", "reason"]),
        roles=pd.DataFrame(role_rows, columns=["role", "letter", "source", "items", "n"]),
        causes=causes,
        missing=missing,
        confidence=confidence,
    )


_IDENTITY_ROLES = ("perception", "delivered", "standard", "manager_estimate", "expectation")


def _identity(
    roles: Mapping[str, _Role],
    dims: Mapping[str, list[str]],
    items: list[str],
    dim_of: dict[str, str],
) -> pd.DataFrame:
    cols = ["level", "name", "customer_gap", *DECOMPOSITION, "total", "residual"]
    if any(r not in roles for r in _IDENTITY_ROLES):
        return pd.DataFrame(columns=cols)
    full = [i for i in items if all(i in roles[r].frame.columns for r in _IDENTITY_ROLES)]
    groups = [("item", i, [i]) for i in full]
    groups += [("dimension", d, [i for i in its if i in full]) for d, its in dims.items()]
    rows = []
    for level, name, its in groups:
        if not its:
            continue
        m = {r: float(np.nanmean(_row_scores(roles[r], its))) for r in _IDENTITY_ROLES}
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
    frames: Mapping[str, pd.DataFrame | None],
    scale: tuple[float, float],
    missing: str,
    confidence: float,
) -> pd.DataFrame:
    unknown = [g for g in cause_scales if g not in GAPS]
    if unknown:
        msg = f"cause_scales has unknown gap(s) {unknown}; gaps are {list(GAPS)}."
        raise SpecificationError(msg)
    present = {s: frames[s] for s in ("managers", "staff", "customers") if frames[s] is not None}
    rows = []
    for gap, scales in cause_scales.items():
        checked = check_mapping(scales, f"cause_scales[{gap!r}]", allow_shared=True)
        for name, cols in checked.items():
            found = [
                (s, f) for s, f in present.items() if f is not None and set(cols) <= set(f.columns)
            ]
            if not found:
                msg = (
                    f"cause scale {gap}/{name}: columns {list(cols)} are not all in one of the "
                    f"frames given ({list(present)}); check the column names."
                )
                raise DataError(msg)
            source, frame = found[0]
            values = check_numeric(frame, cols, source)
            check_range(values, scale[0], scale[1], source)
            values = apply_missing_rule(values, missing, source)
            st = mean_interval(
                values.mean(axis=1).to_numpy(dtype="float64"), confidence=confidence
            ).row()
            alpha = math.nan
            if len(cols) > 1:
                try:
                    alpha = cronbach_alpha(values, missing=missing).alpha  # type: ignore[arg-type]
                except ScoringError:
                    alpha = math.nan  # e.g. a constant scale: alpha undefined, not an error
            rows.append(
                {"gap": gap, "scale": name, "source": source, "k": len(cols), **st, "alpha": alpha}
            )
    return pd.DataFrame(rows)
