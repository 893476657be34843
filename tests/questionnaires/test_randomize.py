"""Random item order per page (``randomize: true``) or per dimension (``randomize:
dimension``): reproducible per response, and the per-dimension order keeps each
dimension's run of items in place."""

from __future__ import annotations

import hashlib
import itertools
import random

import pytest

import questionnaires as qn


def _servqual(randomize: object) -> qn.Questionnaire:
    """servqual22 with its first three pages' items on page 0 (in that order)."""
    data = qn.builtin("servqual22").to_dict()
    pages = data["pages"]
    pages[0]["items"] = [i for p in pages[:3] for i in p["items"]]
    pages[0]["randomize"] = randomize
    data["pages"] = pages[:1] + pages[3:]
    return qn.from_dict(data)


def _runs(items: tuple[qn.Item, ...]) -> list[tuple[str | None, list[str]]]:
    return [(d, [i.id for i in g]) for d, g in itertools.groupby(items, key=lambda i: i.dimension)]


def test_dimension_order_shuffles_within_each_dimension_only():
    page = _servqual("dimension").pages[0]
    listed = _runs(page.items)
    assert len(listed) > 1  # the page holds several dimensions
    seen = set()
    for n in range(20):
        shown = page.shown_order(f"00000000-0000-0000-0000-{n:012d}")
        runs = _runs(shown)
        assert [d for d, _ in runs] == [d for d, _ in listed]  # the runs keep their places
        for (_, ids), (_, listed_ids) in zip(runs, listed, strict=True):
            assert sorted(ids) == sorted(listed_ids)
        assert page.shown_order(f"00000000-0000-0000-0000-{n:012d}") == shown  # reproducible
        seen.add(tuple(i.id for i in shown))
    assert len(seen) > 1


def test_items_order_is_unchanged_for_stored_responses():
    """``randomize: true`` keeps the order it had before the per-dimension mode existed
    (responses stored then are shown and exported the same)."""
    page = _servqual(True).pages[0]
    assert page.randomize == "items"
    rid = "3f2b9c1e-0000-4000-8000-000000000001"
    expected = list(page.items)
    random.Random(hashlib.sha256(f"{rid}/{page.id}".encode()).digest()).shuffle(expected)
    assert list(page.shown_order(rid)) == expected


@pytest.mark.parametrize(("value", "expected"), [(False, None), ("items", "items")])
def test_randomize_values(value, expected):
    assert _servqual(value).pages[0].randomize == expected


def test_dimension_order_without_dimensions_is_refused():
    data = qn.builtin("servqual22").to_dict()
    data["pages"][-1]["randomize"] = "dimension"
    data["pages"][-1]["items"] = [
        {k: v for k, v in i.items() if k != "dimension"} for i in data["pages"][-1]["items"]
    ]
    with pytest.raises(qn.QuestionnaireError) as err:
        qn.from_dict(data, source="d.yaml")
    assert "randomize: is 'dimension' but no item of the page has a dimension" in str(err.value)


def test_an_unknown_randomize_value_is_refused_with_its_path():
    data = qn.builtin("servqual22").to_dict()
    data["pages"][1]["randomize"] = "blocks"
    with pytest.raises(qn.QuestionnaireError) as err:
        qn.from_dict(data, source="d.yaml")
    assert "pages[1].randomize" in str(err.value)
