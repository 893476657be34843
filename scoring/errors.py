"""Named errors and warnings raised by :mod:`scoring`.

Every error is a subclass of :class:`ValueError` (or :class:`TypeError`), so code that
catches the built-in exceptions keeps working; the names tell a caller *what kind* of
problem it was without parsing the message. Messages follow one pattern: what is wrong,
where (argument, column, row), what was received, and how to fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

__all__ = [
    "NEGATIVE_WEIGHTS",
    "ConvergenceWarning",
    "DataError",
    "InsufficientDataError",
    "NegativeWeightError",
    "NegativeWeights",
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


#: Choices of the ``negative_weights`` option of the weighted 0-100 indices.
NEGATIVE_WEIGHTS = ("refuse", "allow")
NegativeWeights = Literal["refuse", "allow"]


class NegativeWeightError(SpecificationError):
    """An index gives an item a negative weight (refused unless ``negative_weights="allow"``).

    A weighted 0-100 index is a weighted mean of the answers only while every weight is
    non-negative; one negative weight puts it off the scale (an ACSI-type index of 135, a
    respondent at -4 or 214). The usual cause is an item worded against the rest of its
    block that is not declared reverse-coded.
    """

    @classmethod
    def check(
        cls,
        weights: Mapping[Any, float],
        blocks: Mapping[Any, str],
        *,
        index: str,
        option: str,
    ) -> list[str]:
        """Apply the ``negative_weights`` rule to ``weights`` (item -> weight).

        ``blocks`` maps an item to the block (latent, dimension) whose index it enters;
        ``index`` names the index in the message. Returns the blocks with a negative
        weight (empty when none) under ``option="allow"``; under ``"refuse"`` raises this
        error naming the first such block and its negative items.
        """
        if option not in NEGATIVE_WEIGHTS:
            msg = f"negative_weights must be one of {list(NEGATIVE_WEIGHTS)}; got {option!r}."
            raise SpecificationError(msg)
        negative = {item: w for item, w in weights.items() if w < 0}
        flagged = list(dict.fromkeys(blocks[item] for item in negative))
        if flagged and option == "refuse":
            block = flagged[0]
            items = ", ".join(
                f"{item!r} ({float(w):.3f})"
                for item, w in negative.items()
                if blocks[item] == block
            )
            msg = (
                f"the {index} of block {block!r} gives item(s) {items} a negative weight: the "
                "index is then not a weighted mean of the answers and can leave 0-100. The "
                "item is most likely worded against the rest of its block: declare it "
                "reverse-coded (reverse: true in the questionnaire, or recode it min + max - x "
                "before scoring), or pass negative_weights='allow' to keep the index flagged "
                "as not interpretable."
            )
            raise cls(msg)
        return flagged


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
