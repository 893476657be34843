"""Shared behaviour of result objects: JSON-safe ``to_dict()``.

Result classes are frozen dataclasses (``@dataclass(frozen=True, slots=True,
kw_only=True)``) that inherit :class:`Result`. ``to_dict()`` walks their fields and turns
DataFrames into ``{"columns": [...], "index": [...], "data": [[...]]}`` (pandas' "split"
orientation), Series into ``{label: value}``, numpy scalars into Python numbers and NaN
into ``None``, so ``json.dumps(result.to_dict())`` always works.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


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
