"""The report cache's key: a data version per survey read by one aggregate query
(``exports.data_versions``) instead of the frame. Every change that alters a score must
change the key; what is not data (partial answers, test responses) must not."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from flask import Flask
from sqlalchemy import select

import questionnaires as qn
from questionnaires.simulate import simulate
from surveyapp import models as m
from surveyapp.reports import runs
from surveyapp.services import exports, studies
from surveyapp.services.responses import PageSave, import_frame, store_page
from surveyapp.services.surveys import create_survey, get_or_create_snapshot
from tests.surveyapp.research_helpers import ANSWERS

PARAMS = {"segment": None, "language": "en", "exclude_suspects": True}


def _key(app: Flask, survey_id: int, params: dict[str, Any] = PARAMS) -> str:
    """The report key of a survey read alone (as ``views.survey_report`` computes it)."""
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        sv = s.get(m.Survey, survey_id)
        return runs.report_key("full", [sv], exports.data_versions(s, [survey_id]), params)


def _save(app: Flask, survey_id: int, rid: str, *, final: bool) -> str:
    """One page saved by the respondents' write path (``final``: submitted)."""
    with app.app_context():
        db = app.extensions["manyi_db"]
        with db.sessions() as s:
            survey = s.get(m.Survey, survey_id)
            survey.questionnaire()
        save = PageSave(rid, 0, dict(ANSWERS), final, "en", m.utcnow() - timedelta(minutes=3))
        return store_page(db, survey, None, save).kind


def _pk(app: Flask, rid: str) -> int:
    with app.extensions["manyi_db"].sessions() as s:
        return int(s.scalar(select(m.Response.id).where(m.Response.response_id == rid)))


@pytest.fixture
def survey(any_app: Flask, minimal: qn.Questionnaire) -> tuple[Flask, int, list[str]]:
    """A survey of the minimal instrument with three complete responses."""
    with any_app.app_context(), any_app.extensions["manyi_db"].write() as s:
        sid = create_survey(s, minimal, slug="key").id
    rids = [str(uuid.uuid4()) for _ in range(3)]
    for rid in rids:
        assert _save(any_app, sid, rid, final=True) == "completed"
    return any_app, sid, rids


def test_every_change_to_the_scored_data_changes_the_key(survey) -> None:
    app, sid, rids = survey
    seen = [_key(app, sid)]

    def changed() -> None:
        key = _key(app, sid)
        assert key not in seen, f"change {len(seen)} kept an earlier key"
        seen.append(key)

    assert _key(app, sid) == seen[0]  # nothing changed: the same key
    # a partial response is not data: the same key; its completion is: a new key
    partial = str(uuid.uuid4())
    assert _save(app, sid, partial, final=False) == "saved"
    assert _key(app, sid) == seen[-1]
    assert _save(app, sid, partial, final=True) == "completed"
    changed()
    # a new response
    assert _save(app, sid, str(uuid.uuid4()), final=True) == "completed"
    changed()
    # a quarantine, and its undo
    with app.app_context():
        assert studies.set_quarantine_many(sid, [rids[0]], True, reason="x", user_id=None) == 1
    changed()
    with app.app_context():
        assert studies.set_quarantine_many(sid, [rids[0]], False, reason="", user_id=None) == 1
    changed()
    # one response quarantined and another restored: as many scored as before
    with app.app_context():
        studies.set_quarantine(_pk(app, rids[1]), True, reason="x", user_id=None)
    changed()
    with app.app_context():
        studies.set_quarantine_many(sid, [rids[2]], True, reason="x", user_id=None)
        studies.set_quarantine(_pk(app, rids[1]), False, reason="", user_id=None)
    changed()
    # an answer edited through the ORM (scripts, tests; values_json is dropped)
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        answer = s.get(m.Answer, (_pk(app, rids[0]), "tan1_p"))
        answer.num = 1.0
    changed()
    # a response's segments changed (what an erasure does)
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        s.get(m.Response, _pk(app, rids[0])).segments = {"branch": "bj"}
    changed()
    # a deletion
    with app.app_context():
        studies.delete_response(_pk(app, partial), reason="test", user_id=None)
    changed()


def test_a_deletion_then_a_new_response_changes_the_key(survey) -> None:
    """SQLite may give a new row the id of the newest deleted one: same count, same
    largest id, same sum of ids; the update time still tells them apart."""
    app, sid, rids = survey
    before = _key(app, sid)
    with app.app_context():
        studies.delete_response(_pk(app, rids[-1]), reason="test", user_id=None)
    assert _save(app, sid, str(uuid.uuid4()), final=True) == "completed"
    assert _key(app, sid) != before


def test_a_corrected_import_changes_the_key(survey, minimal) -> None:
    """Imported responses deleted and imported again with other answers but the same
    times (and, on SQLite, the same ids): the import's write time tells them apart."""
    app, sid, _rids = survey
    db = app.extensions["manyi_db"]
    with db.sessions() as s:
        sv = s.get(m.Survey, sid)
        sv.questionnaire()
    first = simulate(minimal, 2, seed=1, survey="key").data
    import_frame(db, sv, first)
    before = _key(app, sid)
    with db.sessions() as s:
        pks = list(s.scalars(select(m.Response.id).where(m.Response.source == "import")))
    with app.app_context():
        for pk in pks:
            studies.delete_response(pk, reason="wrong file", user_id=None)
    fixed = simulate(minimal, 2, seed=2, survey="key").data
    fixed[["response_id", "started_at", "submitted_at"]] = first[
        ["response_id", "started_at", "submitted_at"]
    ]
    import_frame(db, sv, fixed)
    assert _key(app, sid) != before


def test_test_responses_do_not_change_the_key(survey) -> None:
    app, sid, _rids = survey
    before = _key(app, sid)
    rid = str(uuid.uuid4())
    assert _save(app, sid, rid, final=True) == "completed"
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        s.get(m.Response, _pk(app, rid)).source = m.TEST_SOURCE
    assert _key(app, sid) == before


def test_parameters_and_the_questionnaire_change_the_key(survey, minimal) -> None:
    app, sid, _rids = survey
    before = _key(app, sid)
    assert _key(app, sid, {**PARAMS, "exclude_suspects": False}) != before  # the switch
    assert _key(app, sid, {**PARAMS, "segment": ["branch", "sh"]}) != before
    assert _key(app, sid, {**PARAMS, "language": "zh-Hans"}) != before
    # another snapshot of the instrument (an edited questionnaire)
    edited = qn.from_dict({**minimal.to_dict(), "version": "2"})
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sv = s.get(m.Survey, sid)
        sv.snapshot = get_or_create_snapshot(s, edited)
    assert _key(app, sid) != before
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        s.get(m.Survey, sid).title = "Renamed"
    assert _key(app, sid) != before


def test_data_versions_count_the_scored_responses(survey) -> None:
    app, sid, rids = survey
    with app.app_context():
        studies.set_quarantine_many(sid, [rids[0]], True, reason="x", user_id=None)
    with app.extensions["manyi_db"].sessions() as s:
        versions = exports.data_versions(s, [sid, sid + 100])
        pks = [_pk(app, r) for r in rids]
        frame = exports.responses_frame(s, [sid])
    v = versions[sid]
    assert (v.complete, v.quarantined, v.last_id) == (3, 1, max(pks))
    assert v.scored_id_sum == pks[1] + pks[2]
    assert v.complete - v.quarantined == len(frame)
    assert versions[sid + 100] == exports.DataVersion(0, 0, 0, 0, None)


def test_the_cached_frame_equals_a_fresh_read_after_every_change(survey, monkeypatch) -> None:
    """The frame cache adds the responses written since (new, completed, edited,
    restored) to the cached frame, and reads everything again after a deletion or a
    quarantine: either way the frame is the one a full read gives."""
    from cachelib import SimpleCache

    app, sid, rids = survey
    cache = SimpleCache()
    reads: list[bool] = []  # True: only the changes were read
    real = exports.responses_frame_ids

    def spying(*args: Any, **kwargs: Any) -> Any:
        reads.append(bool(kwargs.get("where")))
        return real(*args, **kwargs)

    monkeypatch.setattr(exports, "responses_frame_ids", spying)

    def check(expect_reads: list[bool]) -> None:
        with app.app_context(), app.extensions["manyi_db"].sessions() as s:
            sv = s.get(m.Survey, sid)
            versions = exports.data_versions(s, [sid])
            got = runs.cached_frame(cache, s, [sv], versions)
            assert reads == expect_reads
            fresh = real(s, [sid])[0]
        pd.testing.assert_frame_equal(got, fresh)
        reads.clear()

    check([False])  # the first read: everything
    check([])  # unchanged: nothing read
    partial = str(uuid.uuid4())
    assert _save(app, sid, partial, final=False) == "saved"
    check([])  # a partial response is not data
    assert _save(app, sid, str(uuid.uuid4()), final=True) == "completed"
    check([True])
    assert _save(app, sid, partial, final=True) == "completed"  # an older id completed
    check([True])
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        s.get(m.Answer, (_pk(app, rids[0]), "tan1_p")).num = 1.0  # an edit
    check([True])
    with app.app_context():
        studies.set_quarantine_many(sid, [rids[1]], True, reason="x", user_id=None)
    check([True, False])  # one fewer: read again
    with app.app_context():
        studies.set_quarantine_many(sid, [rids[1]], False, reason="", user_id=None)
    check([True])  # restored: it joins again, in its place
    with app.app_context():
        studies.delete_response(_pk(app, rids[2]), reason="test", user_id=None)
    check([True, False])


def test_the_waves_frame_joins_the_cached_frames_in_id_order(survey, minimal) -> None:
    """Two waves whose responses interleave: the joined frame is the one a read of both
    gives, also when one wave has a segment column the other lacks."""
    from cachelib import SimpleCache

    app, sid, _rids = survey
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        other = create_survey(s, minimal, slug="key-2").id
    for target in (other, sid, other):
        assert _save(app, target, str(uuid.uuid4()), final=True) == "completed"
    cache = SimpleCache()

    def check() -> None:
        with app.app_context(), app.extensions["manyi_db"].sessions() as s:
            surveys = [s.get(m.Survey, sid), s.get(m.Survey, other)]
            versions = exports.data_versions(s, [sid, other])
            got = runs.cached_frame(cache, s, surveys, versions)
            fresh = exports.responses_frame(s, [sid, other])
        pd.testing.assert_frame_equal(got, fresh)

    check()
    check()  # from the cache
    assert _save(app, sid, str(uuid.uuid4()), final=True) == "completed"
    check()
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        pk = s.scalar(select(m.Response.id).where(m.Response.survey_id == other).limit(1))
        s.get(m.Response, pk).segments = {"region": "north"}
    check()


def test_frames_kept_in_memory_are_not_read_again_and_are_copies(survey) -> None:
    """:class:`runs.LocalFrames`: an unchanged frame comes from the process's memory
    without a lookup in the shared cache, a changed one adds only the changes to it; a
    caller that changes its frame changes nothing kept; beyond its rows nothing is kept."""
    from cachelib import SimpleCache

    app, sid, _rids = survey
    lookups: list[str] = []

    writes: list[str] = []

    class Spying(SimpleCache):
        def get(self, key: str) -> Any:
            lookups.append(key)
            return super().get(key)

        def set(self, key: str, value: Any, timeout: int | None = None) -> bool:
            writes.append(key)
            return bool(super().set(key, value, timeout))

    cache, local = Spying(), runs.LocalFrames(1000)

    def read() -> pd.DataFrame:
        with app.app_context(), app.extensions["manyi_db"].sessions() as s:
            sv = s.get(m.Survey, sid)
            got = runs.cached_frame(cache, s, [sv], exports.data_versions(s, [sid]), local)
            pd.testing.assert_frame_equal(got, exports.responses_frame(s, [sid]))
            return got

    read()
    assert len(lookups) == 1  # the first read: a miss
    first = read()
    assert len(lookups) == 1  # from memory
    first["survey"] = "changed"  # a column of the caller's copy replaced
    assert (read()["survey"] != "changed").all()
    again = read()
    again.loc[0, "survey"] = "changed"  # a value changed in place (copy-on-write)
    again.iloc[0, 0] = None
    assert (read()["survey"] != "changed").all()
    assert _save(app, sid, str(uuid.uuid4()), final=True) == "completed"
    assert len(read()) == 4
    assert len(lookups) == 1  # the changes added to the process's copy
    assert len(writes) == 1  # the whole read only: the shared copy gets no increments
    other = runs.LocalFrames(1000)  # another process: the shared copy plus the changes
    local, mine = other, local
    assert len(read()) == 4
    assert len(lookups) == 2
    local = runs.LocalFrames(0)  # a process that keeps nothing writes the increments
    assert _save(app, sid, str(uuid.uuid4()), final=True) == "completed"
    assert len(read()) == 5
    assert len(writes) == 2
    local = mine
    none = runs.LocalFrames(0)
    none.put("k", {"versions": {}, "frame": first, "ids": None})
    assert none.get("k") is None
    two = runs.LocalFrames(7)  # rows: one frame of 4 and one of 3 fit, not a third
    for key in ("a", "b", "c"):
        two.put(key, {"versions": {}, "frame": first.head(4 if key == "a" else 3), "ids": None})
    assert two.get("a") is None
    assert two.get("b") is not None
    assert two.get("c") is not None
