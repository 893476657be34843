"""Named errors and warnings raised by :mod:`scoring`.

Every error is a subclass of :class:`ValueError` (or :class:`TypeError`), so code that
catches the built-in exceptions keeps working; the names tell a caller *what kind* of
problem it was without parsing the message. Messages follow one pattern: what is wrong,
where (argument, column, row), what was received, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "InsufficientDataError",
    "NoDimensionScoresError",
    "ScoringError",
    "SingularMatrixError",
    "SmallSampleWarning",
    "SpecificationError",
]


class ScoringError(ValueError):
    """Base class of every input error raised by :mod:`scoring`."""


class DataError(ScoringError):
    """The response data are unusable as given.

    Raised for missing columns, non-numeric cells, values outside the scale and similar
    problems; the message names the column and the row label.
    """


class SpecificationError(ScoringError):
    """The model or mapping is inconsistent (unknown item, cycle in paths, bad weights)."""


class InsufficientDataError(ScoringError):
    """Too few usable observations for the requested computation."""


class NoDimensionScoresError(ScoringError):
    """The method's result has no score per dimension (a driver model estimates
    importance, reliability estimates consistency), or lacks the mapping to compute one."""


class SingularMatrixError(ScoringError):
    """A matrix that must be inverted or decomposed is singular or not positive definite."""


class ConvergenceWarning(UserWarning):
    """An iterative fit stopped at its iteration limit before meeting its tolerance."""


class SmallSampleWarning(UserWarning):
    """A result was computed from too few respondents (or too little variation) to be
    trusted; the message says which figure and how many respondents it rests on."""
