"""Driver analysis: what moves overall satisfaction, and what to fix first.

OLS of overall satisfaction on attribute ratings or dimension scores (HC3 robust errors,
standardized betas), relative importance (Johnson's relative weights and the Shapley /
LMG decomposition of R²), ordered logit and probit for an ordinal satisfaction item, and
the importance–performance table that turns importance and performance into priorities.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from scoring._validation import (
    check_choice,
)
from scoring.errors import (
    SpecificationError,
)

__all__ = ["importance_performance"]

Cut = Literal["mean", "median"]
Link = Literal["logit", "probit"]
DriverMissing = Literal["listwise", "item_mean"]
Array = NDArray[Any]

QUADRANTS = {
    (True, False): "concentrate here",
    (True, True): "keep up the good work",
    (False, False): "low priority",
    (False, True): "possible overkill",
}


def _cut_value(values: pd.Series, cut: Cut | float, name: str) -> float:
    if isinstance(cut, str):
        check_choice(name, cut, ("mean", "median"))
        return float(values.mean() if cut == "mean" else values.median())
    return float(cut)


def importance_performance(
    importance: Mapping[str, float] | pd.Series,
    performance: Mapping[str, float] | pd.Series,
    *,
    performance_max: float = 100.0,
    importance_cut: Cut | float = "mean",
    performance_cut: Cut | float = "mean",
) -> pd.DataFrame:
    """Importance–performance table ordered by what to fix first.

    Parameters
    ----------
    importance : mapping or Series
        Driver -> importance (a total effect, a standardized beta, a relative weight).
    performance : mapping or Series
        Driver -> performance on a 0–``performance_max`` scale (an index, a mean).
    performance_max : float
        Best possible performance (100 for an index).
    importance_cut, performance_cut : {"mean", "median"} or float
        Where the quadrant lines are drawn (Martilla & James use the grand means).

    Returns
    -------
    DataFrame
        One row per driver (index ``driver``), sorted by ``priority``: ``importance``,
        ``performance``, ``quadrant``, ``potential`` and ``priority`` (1 = fix first).

    Raises
    ------
    SpecificationError
        When the two mappings name different drivers or are empty.

    Notes
    -----
    Quadrants (Martilla & James, 1977): high importance and low performance =
    "concentrate here"; high/high = "keep up the good work"; low/low = "low priority";
    low importance, high performance = "possible overkill". Within and across quadrants
    drivers are ranked by the improvement potential
    ``potential = importance × (performance_max − performance) / performance_max``, the
    gain in the outcome if the driver were raised to the top of its scale — the
    ACSI "impact × room to improve" reading of the priority map.

    References
    ----------
    .. [1] Martilla, J. A., & James, J. C. (1977). Importance-performance analysis.
       *Journal of Marketing*, 41(1), 77-79.
    .. [2] Fornell, C., Johnson, M. D., Anderson, E. W., Cha, J., & Bryant, B. E. (1996).
       The American Customer Satisfaction Index: Nature, purpose, and findings.
       *Journal of Marketing*, 60(4), 7-18.

    Examples
    --------
    >>> from scoring.drivers import importance_performance
    >>> t = importance_performance({"price": 0.5, "staff": 0.2, "speed": 0.4},
    ...                            {"price": 60, "staff": 85, "speed": 80})
    >>> t["priority"].to_dict()
    {'price': 1, 'speed': 2, 'staff': 3}
    >>> t["quadrant"].tolist()
    ['concentrate here', 'keep up the good work', 'possible overkill']
    """
    imp = pd.Series(importance, dtype="float64")
    perf = pd.Series(performance, dtype="float64")
    if imp.empty or set(imp.index) != set(perf.index):
        msg = (
            "importance and performance must name the same, non-empty set of drivers; "
            f"got {sorted(map(str, imp.index))} and {sorted(map(str, perf.index))}."
        )
        raise SpecificationError(msg)
    perf = perf.reindex(imp.index)
    ic = _cut_value(imp, importance_cut, "importance_cut")
    pc = _cut_value(perf, performance_cut, "performance_cut")
    quad = [QUADRANTS[(bool(i >= ic), bool(p >= pc))] for i, p in zip(imp, perf, strict=True)]
    out = pd.DataFrame(
        {
            "importance": imp,
            "performance": perf,
            "quadrant": quad,
            "potential": imp * (performance_max - perf) / performance_max,
        }
    )
    out.index = pd.Index([str(i) for i in imp.index], name="driver")
    out = out.sort_values("potential", ascending=False, kind="stable")
    out["priority"] = np.arange(1, len(out) + 1)
    return out
