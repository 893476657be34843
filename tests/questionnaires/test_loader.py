"""The questionnaire format: loading, the export column rule, and error reporting."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import questionnaires as qn

DATA = Path(__file__).parent / "data"
MINIMAL = DATA / "minimal.yaml"


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(MINIMAL.read_text("utf-8"))


def problems_of(data: dict) -> list[str]:
    with pytest.raises(qn.QuestionnaireError) as info:
        qn.from_dict(data, source="broken.yaml")
    return info.value.messages


def test_minimal_loads_into_frozen_dataclasses():
    q = qn.load(MINIMAL)
    assert q.id == "minimal"
    assert q.item("tan1").roles == ("expectation", "perception")
    assert q.item("tan1").scale.n_points == 7
    assert q.item("sat").scale.labels[5].zh_hans == "很满意"
    with pytest.raises(AttributeError):
        q.id = "other"  # type: ignore[misc]
    assert q.scoring.importance == "imp"
    assert [s.id for s in q.segments] == ["branch"]


def test_export_column_rule():
    q = qn.load(MINIMAL)
    assert q.columns(meta=False) == (
        "tan1_e",
        "tan1_p",
        "rel1_e",
        "rel1_p",
        "imp_tan",
        "imp_rel",
        "sat",
        "branch",
        "channel_app",
        "channel_web",
        "comment",
    )
    assert q.columns()[: len(qn.META_COLUMNS)] == qn.META_COLUMNS
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", c) for c in q.columns())
    assert q.dimension_columns(role="expectation") == {"tan": ["tan1_e"], "rel": ["rel1_e"]}
    assert q.item("rel1").column("perception") == "rel1_p"
    with pytest.raises(ValueError, match="is not rated as 'standard'"):
        q.item("rel1").column("standard")


def test_content_hash_is_stable_and_sensitive(raw):
    a = qn.from_dict(raw).content_hash
    assert a == qn.from_dict(copy.deepcopy(raw)).content_hash
    raw["title"]["en"] = "Changed"
    assert qn.from_dict(raw).content_hash != a


def test_to_dict_round_trips(raw):
    q = qn.from_dict(raw)
    assert qn.from_dict(q.to_dict()).to_dict() == q.to_dict()
    from questionnaires.yamlio import dump_yaml

    again = qn.loads(dump_yaml(q))
    assert again.to_dict() == q.to_dict()
    assert again.content_hash == q.content_hash


def test_all_missing_translations_are_listed_at_once(raw):
    del raw["title"]["zh-Hans"]
    raw["pages"][0]["items"][0]["text"] = {"en": "Modern equipment"}
    raw["pages"][0]["items"][4]["choices"][1]["label"] = {"zh-Hans": "上海"}
    msgs = problems_of(raw)
    assert len(msgs) == 3
    assert "broken.yaml: title.zh-Hans: missing Chinese (zh-Hans) translation" in msgs[0]
    assert any("pages[0].items[0].text.zh-Hans" in m for m in msgs)
    assert any("pages[0].items[4].choices[1].label.en: missing English (en)" in m for m in msgs)
    assert all("Fix:" in m for m in msgs)


@pytest.mark.parametrize(
    ("mutate", "path", "words"),
    [
        (lambda d: d.pop("id"), "", "'id' is required"),
        (lambda d: d.update(audience="boss"), "audience", "is not allowed"),
        (lambda d: d.update(extra=1), "", "unknown key(s) ['extra']"),
        (lambda d: d["scales"][0].update(max=1), "scales[0].max", "not above min"),
        (lambda d: d["scales"][0].update(max=12), "scales[0].max", "maximum"),
        (lambda d: d["scales"][0]["labels"].pop(7), "scales[0].labels", "end point 7"),
        (lambda d: d["pages"][0]["items"][0].update(scale="nope"), "items[0].scale", "unknown"),
        (lambda d: d["pages"][0]["items"][0].update(id="Bad Id"), "items[0].id", "valid id"),
        (lambda d: d["pages"][0]["items"][1].update(id="tan1"), "items[1].id", "already used"),
        (lambda d: d["pages"][0]["items"][1].update(roles=["desired"]), "roles", "no heading"),
        (lambda d: d["pages"][0]["items"][5].update(scale="agree7"), "items[5].scale", "apply"),
        (lambda d: d["scoring"].update(overall="comment"), "scoring.overall", "rating"),
        (lambda d: d["scoring"].update(methods=["csi"]), "scoring.methods", "scoring.csi"),
        (lambda d: d["pages"][0]["items"][4].update(choices=[]), "choices", "minItems"),
    ],
)
def test_each_problem_names_path_and_fix(raw, mutate, path, words):
    mutate(raw)
    msgs = problems_of(raw)
    assert any(path in m and words in m for m in msgs), msgs
    assert all(m.startswith("broken.yaml") and "Fix:" in m for m in msgs), msgs


def test_column_collision_is_reported(raw):
    raw["pages"][0]["items"].append(
        {"id": "tan1_e", "type": "text", "text": {"zh-Hans": "冲突", "en": "Clash"}}
    )
    msgs = problems_of(raw)
    assert any("export column 'tan1_e' is also produced by item 'tan1'" in m for m in msgs)


def test_meta_column_collision_is_reported(raw):
    raw["pages"][0]["items"][6]["id"] = "status"
    msgs = problems_of(raw)
    assert any("also produced by the response metadata" in m for m in msgs)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("format: manyi/1\nid: [unclosed\n", "is not valid YAML"),
        ("a: &x [1]\nb: *x\n", "YAML alias"),
        ("- just\n- a list\n", "must be a mapping"),
        ("x: " + "[" * 30 + "]" * 30 + "\n", "nested more than"),
        (b"\xff\xfe bad", "is not UTF-8"),
    ],
)
def test_unreadable_files(text, words):
    with pytest.raises(qn.QuestionnaireError, match=re.escape(words)):
        qn.loads(text, source="up.yaml")


def test_oversized_file_is_refused(tmp_path):
    f = tmp_path / "huge.yaml"
    f.write_text("# " + "x" * (qn.loader.MAX_BYTES + 10))
    with pytest.raises(qn.QuestionnaireError, match="the limit is"):
        qn.load(f)


def test_missing_file_names_path(tmp_path):
    with pytest.raises(qn.QuestionnaireError, match="cannot be read"):
        qn.load(tmp_path / "nope.yaml")


def test_resolve_unknown():
    with pytest.raises(qn.QuestionnaireError, match="neither a built-in questionnaire"):
        qn.resolve("no-such-instrument")


def test_schema_is_valid_json_schema():
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(qn.schema())


# -- property-based: corrupted files give only QuestionnaireError with located messages --
_BASE = yaml.safe_load(MINIMAL.read_text("utf-8"))
_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 20),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


_ALL_PATHS = [p for p in _paths(_BASE) if p]


@st.composite
def corrupted(draw):
    data = copy.deepcopy(_BASE)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_ALL_PATHS))
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["replace", "delete", "dup"]))
            if action == "replace":
                parent[path[-1]] = draw(_JUNK)
            elif action == "delete":
                del parent[path[-1]]
            elif isinstance(parent, list):
                parent.append(copy.deepcopy(parent[path[-1]]))
        except (KeyError, IndexError, TypeError):
            continue
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corrupted())
def test_corrupted_files_fail_cleanly(data):
    text = yaml.safe_dump(data, allow_unicode=True)
    error = None
    try:
        q = qn.loads(text, source="fuzz.yaml")
    except qn.QuestionnaireError as exc:
        error = exc
    if error is not None:
        assert error.problems
        for line in error.messages:
            assert line.startswith("fuzz.yaml")
            assert "Traceback" not in line
            # the defensive catch-all of the loader must never be what answers
            assert "could not be read" not in line
        return
    # A mutation that still yields a valid instrument must give a usable one.
    assert q.columns()
    json.dumps(q.to_dict())


def test_csi_blocks_must_be_ratings(raw):
    raw["scoring"]["methods"] = ["csi"]
    raw["scoring"]["csi"] = {
        "model": "custom",
        "satisfaction": "SAT",
        "blocks": {"SAT": ["sat"], "SEG": ["branch"]},
        "labels": {
            "SAT": {"zh-Hans": "满意", "en": "Satisfaction"},
            "SEG": {"zh-Hans": "网点", "en": "Branch"},
        },
        "paths": [["SEG", "SAT"]],
    }
    msgs = problems_of(raw)
    assert any("scoring.csi.blocks.SEG" in m and "is not a rating" in m for m in msgs), msgs
