"""Display conditions: the language (parsed, never eval'd), its rules, and the loader's
checks (malformed, unknown and later references, which is what a cycle needs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import questionnaires as qn
from questionnaires.conditions import ConditionError, holds, parse

DATA = Path(__file__).parent / "data"


@pytest.fixture
def minimal() -> qn.Questionnaire:
    return qn.load(DATA / "minimal.yaml")


ANSWERS = {"sat": 2.0, "branch": "sh", "channel_web": 1.0, "channel_app": 0.0, "note": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${sat} <= 2", True),
        ("${sat} < 2", False),
        ("${sat} = 2 and ${branch} = 'sh'", True),
        ("${sat} = 5 or not ${branch} != 'sh'", True),
        ("selected(${branch}, 'sh')", True),
        ("selected(${channel}, 'web') and not selected(${channel}, 'app')", True),
        ("answered(${sat}) and unanswered(${missing})", True),
        ("${missing} != 1", False),  # an unanswered answer makes every comparison false
        ("${branch} < 'z'", False),  # texts compare by = and != only
        ("${branch} = 1", False),  # a text is never equal to a number
        ("param('branch') = 'bj'", True),
        ("param('region') = 'north'", False),
        ("(${sat} > 1) and (${sat} < 3)", True),
        ("${sat}", True),
        ("${note}", False),
        ("-1 < 0", True),
    ],
)
def test_conditions_evaluate_by_the_documented_rules(text, expected):
    assert holds(text, ANSWERS, {"branch": "bj"}) is expected


def test_no_condition_always_holds():
    assert holds(None, {}, {}) is True


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("${sat} == 2", 8),
        ("(${sat} = 1", 11),
        ("${sat} = ", 9),
        ("__import__('os')", 0),
        ("selected(${branch})", 18),
        ("${sat} = 1 ; drop", 11),
    ],
)
def test_malformed_conditions_name_the_character(text, position):
    with pytest.raises(ConditionError) as err:
        parse(text)
    assert err.value.position == position


def test_references_in_order():
    assert parse("${a} = 1 or selected(${b}, 'x') and answered(${a})").references == ("a", "b")


def _with(minimal: qn.Questionnaire, **relevant: str) -> dict:
    data = minimal.to_dict()
    for item in data["pages"][0]["items"]:
        if item["id"] in relevant:
            item["relevant"] = relevant[item["id"]]
    return data


def test_a_condition_is_stored_on_its_item(minimal):
    q = qn.from_dict(_with(minimal, comment="${sat} <= 2"))
    assert q.item("comment").relevant == "${sat} <= 2"


@pytest.mark.parametrize(
    ("relevant", "message"),
    [
        ({"comment": "${sat} <="}, "does not parse at character 10"),
        ({"comment": "${nothing} = 1"}, "${nothing}, which is no item or answer column"),
        ({"sat": "${comment} = 'x'"}, "${comment}, which is asked at or after this point"),
        ({"sat": "${sat} = 1"}, "${sat}, which is asked at or after this point"),
        # a cycle needs a later reference somewhere: refused there
        ({"sat": "${branch} = 'sh'", "branch": "${sat} = 1"}, "${branch}, which is asked at"),
    ],
)
def test_bad_conditions_are_refused_with_their_place(minimal, relevant, message):
    with pytest.raises(qn.QuestionnaireError) as err:
        qn.from_dict(_with(minimal, **relevant), source="mine.yaml")
    text = str(err.value)
    assert message in text
    assert "mine.yaml" in text
    assert re.search(r"pages\[0\]\.items\[\d\]\.relevant", text)
