"""Shared behaviour of result objects: JSON-safe ``to_dict()`` and the method interface.

Result classes are frozen dataclasses (``@dataclass(frozen=True, slots=True,
kw_only=True)``) that inherit :class:`Result`. ``to_dict()`` walks their fields and turns
DataFrames into ``{"columns": [...], "index": [...], "data": [[...]]}`` (pandas' "split"
orientation), Series into ``{label: value}``, numpy scalars into Python numbers and NaN
into ``None``, so ``json.dumps(result.to_dict())`` always works.

The result of every scoring *method* (what :func:`scoring.instrument.run_methods` returns)
also follows :class:`MethodResult`: ``dimension_scores()``, ``n_used`` and
``parameters``, so a report can show any method without knowing which one it is.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from scoring.errors import NoDimensionScoresError


def jsonable(obj: Any) -> Any:
    """Convert ``obj`` recursively into JSON-safe Python objects."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        f = float(obj)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, pd.DataFrame):
        return {
            "columns": [jsonable(c) for c in obj.columns],
            "index": [jsonable(i) for i in obj.index],
            "data": [[jsonable(v) for v in row] for row in obj.itertuples(index=False)],
        }
    if isinstance(obj, pd.Series):
        return {str(jsonable(k)): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, Mapping):
        return {str(jsonable(k)): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    if hasattr(obj, "item"):
        return jsonable(obj.item())
    return str(obj)


class Result:
    """Mixin for frozen result dataclasses.

    Subclasses implement :meth:`summary` (one tidy table for display) and may override
    :meth:`to_frame` (defaults to ``summary()``).
    """

    __slots__ = ()

    def summary(self) -> pd.DataFrame:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:
        """Return the main result table (by default the same as :meth:`summary`)."""
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """Return every field as JSON-safe Python objects (see :func:`jsonable`)."""
        out: dict[str, Any] = {"type": type(self).__name__}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[f.name] = jsonable(getattr(self, f.name))
        return out

    def dimension_scores(self) -> pd.Series:
        """Dimension -> score on the method's own scale (see :class:`MethodResult`).

        Raises
        ------
        NoDimensionScoresError
            Unless the result class says otherwise: most results have none.
        """
        msg = f"{type(self).__name__} has no score per dimension."
        raise NoDimensionScoresError(msg)


@runtime_checkable
class MethodResult(Protocol):
    """What every scoring method's result offers besides its own fields.

    ``dimension_scores()``
        A Series dimension -> score on the method's scale (higher is better), named by
        the method's nodes (dimension ids, CSI latents, fuzzy factors); raises
        :class:`~scoring.errors.NoDimensionScoresError` if the method has none.
    ``n_used``
        Rows (respondents) the fit actually used, after its missing-data rule.
    ``parameters``
        The options the fit used, JSON-safe (e.g. ``{"model": "servqual", ...}``).
    """

    def summary(self) -> pd.DataFrame: ...

    def to_dict(self) -> dict[str, Any]: ...

    def dimension_scores(self) -> pd.Series: ...

    @property
    def n_used(self) -> int: ...

    @property
    def parameters(self) -> dict[str, Any]: ...


def parameters_of(result: object, names: tuple[str, ...]) -> dict[str, Any]:
    """``{name: getattr(result, name)}`` made JSON-safe: the ``parameters`` of a result."""
    return {name: jsonable(getattr(result, name)) for name in names}
