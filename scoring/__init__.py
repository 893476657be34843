"""manyi scoring: pure computation on tidy response DataFrames.

No I/O happens here: no Flask, no database, no files, no network. Every public function
takes a DataFrame (one row per response) plus plain mappings (item -> dimension, blocks,
paths, weights) and returns a tidy DataFrame or a frozen result object with
``summary()``, ``to_frame()`` and ``to_dict()``.

>>> import scoring as sc
>>> sorted(set(sc.__all__))[:3]
['ConvergenceWarning', 'DataError', 'InsufficientDataError']
"""

from __future__ import annotations

from scoring.errors import (
    ConvergenceWarning,
    DataError,
    InsufficientDataError,
    ScoringError,
    SingularMatrixError,
    SpecificationError,
)

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "InsufficientDataError",
    "ScoringError",
    "SingularMatrixError",
    "SpecificationError",
]

# Each method module adds its public names below (one block per module, kept sorted).
