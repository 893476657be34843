"""manyi questionnaires: the instrument format and the built-in instruments.

An instrument is a YAML file (format ``manyi/1``, JSON Schema in ``schema.json``) that
:func:`load` validates and turns into frozen dataclasses. Built-in instruments ship in
``questionnaires/instruments/`` and are loaded by id with :func:`builtin`.

>>> import questionnaires as qn
>>> q = qn.builtin("servqual22")
>>> q.item("rel1").columns()
('rel1_e', 'rel1_p')
"""

from __future__ import annotations

from questionnaires.errors import Problem, QuestionnaireError
from questionnaires.loader import (
    builtin,
    builtin_ids,
    content_hash,
    from_dict,
    load,
    loads,
    resolve,
    schema,
    validate,
)
from questionnaires.model import (
    AUDIENCES,
    CUSTOMER_GAP,
    GAP_ROLES,
    GAPS,
    ITEM_TYPES,
    LANGUAGES,
    META_COLUMNS,
    METHODS,
    NOT_APPLICABLE_COLUMN,
    ROLE_CODES,
    ROLE_SUFFIXES,
    Choice,
    CsiSpec,
    Dimension,
    FuzzyFactor,
    FuzzySpec,
    Grade,
    Item,
    Page,
    Questionnaire,
    Scale,
    ScoringSpec,
    Text,
    order_column,
    role_column,
)

__all__ = [
    "AUDIENCES",
    "CUSTOMER_GAP",
    "GAP_ROLES",
    "GAPS",
    "ITEM_TYPES",
    "LANGUAGES",
    "META_COLUMNS",
    "METHODS",
    "NOT_APPLICABLE_COLUMN",
    "ROLE_CODES",
    "ROLE_SUFFIXES",
    "Choice",
    "CsiSpec",
    "Dimension",
    "FuzzyFactor",
    "FuzzySpec",
    "Grade",
    "Item",
    "Page",
    "Problem",
    "Questionnaire",
    "QuestionnaireError",
    "Scale",
    "ScoringSpec",
    "Text",
    "builtin",
    "builtin_ids",
    "content_hash",
    "from_dict",
    "load",
    "loads",
    "resolve",
    "order_column",
    "role_column",
    "schema",
    "validate",
]
