"""Stored scoring runs: reproducible, not recomputed; long runs through the queue (here in
Huey's immediate mode; tests/surveyapp/test_tasks.py runs a real worker)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask

import questionnaires as qn
from questionnaires.simulate import simulate
from scoring.instrument import score
from surveyapp import models as m
from surveyapp.reports import runs
from surveyapp.services import exports
from tests.surveyapp.reports_helpers import store


def _queue(app: Flask, budget_s: float = 600.0) -> Any:
    """What the run form hands long runs to: the app's queue (immediate in the tests)."""
    return lambda run_id: app.extensions["manyi_queue"].scoring_run(run_id, budget_s)


def _frame(app: Flask, survey_id: int) -> tuple[m.Survey, Any]:
    db = app.extensions["manyi_db"]
    with db.sessions() as s:
        sv = s.get(m.Survey, survey_id)
        assert sv is not None
        sv.questionnaire()  # load the snapshot before the session closes
        return sv, exports.responses_frame(s, [survey_id])


def test_unchanged_run_is_not_recomputed(app, gap_study, monkeypatch) -> None:
    db = app.extensions["manyi_db"]
    sv, frame = _frame(app, gap_study["customer"])
    calls = []
    real = runs.compute

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(runs, "compute", counting)
    with app.app_context():
        first, created = runs.get_or_start(
            db,
            survey=sv,
            frame=frame,
            method="servqual",
            params={"confidence": 0.9},
            user_id=None,
            enqueue=_queue(app),
        )
        again, created_again = runs.get_or_start(
            db,
            survey=sv,
            frame=frame,
            method="servqual",
            params={"confidence": 0.9},
            user_id=None,
            enqueue=_queue(app),
        )
    assert created
    assert not created_again
    assert again.id == first.id
    assert calls == ["servqual"]
    assert first.status == "done"
    assert first.progress == 1.0
    assert first.n_responses == len(frame)
    assert first.snapshot_hash == sv.snapshot.content_hash
    # the stored result is the scoring API's, without per-respondent tables
    direct = score(sv.questionnaire(), "servqual", frame, confidence=0.9).to_dict()
    assert "scores" not in first.result
    assert first.result["dimensions"] == direct["dimensions"]
    # other parameters, or one more response: a new run
    with app.app_context():
        other, created = runs.get_or_start(
            db,
            survey=sv,
            frame=frame,
            method="servqual",
            params={},
            user_id=None,
            enqueue=_queue(app),
        )
    assert created
    assert other.id != first.id
    from surveyapp.services.responses import import_frame

    import_frame(db, sv, simulate(sv.questionnaire(), 1, seed=123, survey=sv.slug).data)
    sv2, frame2 = _frame(app, sv.id)
    assert runs.frame_hash(frame2) != runs.frame_hash(frame)
    with app.app_context():
        newer, created = runs.get_or_start(
            db,
            survey=sv2,
            frame=frame2,
            method="servqual",
            params={"confidence": 0.9},
            user_id=None,
            enqueue=_queue(app),
        )
    assert created
    assert newer.n_responses == len(frame) + 1


def test_failed_run_keeps_the_scoring_message(app, gap_study) -> None:
    db = app.extensions["manyi_db"]
    sv, frame = _frame(app, gap_study["customer"])
    with app.app_context():
        run, _ = runs.get_or_start(
            db, survey=sv, frame=frame, method="csi", params={}, user_id=None, enqueue=_queue(app)
        )
    assert run.status == "failed"
    assert "no 'scoring.csi' section" in run.error


@pytest.mark.parametrize(
    ("method", "raw", "match"),
    [
        ("servqual", {"confidence": "2"}, "confidence must lie between 0.5 and 0.999; got 2"),
        ("servqual", {"missing": "drop"}, "missing must be one of pairwise, listwise"),
        ("csi", {"bootstrap": "ten"}, "bootstrap must be a whole number; got 'ten'"),
        ("csi", {"bootstrap": "99999"}, "bootstrap must lie between 0 and 5000"),
        ("servqual", {"segment": "region"}, "segment must be one of the survey's segments"),
        ("servqual", {"bootstrap": "5"}, "servqual takes the parameters missing, confidence"),
        ("magic", {}, "method must be one of servqual"),
    ],
)
def test_bad_parameters(method: str, raw: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        runs.validate_params(method, raw, segments=["branch"])


def test_parameters_convert_and_seed_the_bootstrap() -> None:
    got = runs.validate_params("csi", {"bootstrap": "50", "level": "0.9", "segment": ""})
    assert got == {"bootstrap": 50, "level": 0.9, "seed": 1}


def _acsi_survey(app: Flask, n: int) -> tuple[m.Survey, Any]:
    return _frame(app, store(app, qn.builtin("acsi"), "acsi", n, 4, wave="2026-Q1"))


def test_bootstrap_run_goes_through_the_queue_with_progress(app, monkeypatch) -> None:
    db = app.extensions["manyi_db"]
    sv, frame = _acsi_survey(app, 300)
    params = runs.validate_params("csi", {"bootstrap": "200", "seed": "3"})
    queued: list[int] = []
    seen: list[float] = []
    real_progress = runs._set_progress

    def recording(db_: Any, run_id: int, progress: float) -> bool:
        seen.append(progress)
        return real_progress(db_, run_id, progress)

    monkeypatch.setattr(runs, "PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr(runs, "_set_progress", recording)

    def enqueue(run_id: int) -> None:
        queued.append(run_id)
        _queue(app)(run_id)  # immediate mode: the task runs here

    with app.app_context():
        run, created = runs.get_or_start(
            db, survey=sv, frame=frame, method="csi", params=params, user_id=None, enqueue=enqueue
        )
        # a short run is never queued
        quick, _ = runs.get_or_start(
            db,
            survey=sv,
            frame=frame,
            method="reliability",
            params={},
            user_id=None,
            enqueue=enqueue,
        )
    assert created
    assert queued == [run.id]
    assert quick.status == "done"
    assert run.status == "done", run.error
    assert run.progress == 1.0
    assert len(seen) >= 10
    assert seen == sorted(seen)
    assert 0 < seen[0] < seen[-1] < 1
    with_progress = runs.compute(
        sv.questionnaire(), frame, "csi", {**params, "progress": lambda done, total: None}
    )
    assert run.result["indices"] == runs.compact(with_progress)["indices"]
    direct = score(sv.questionnaire(), "csi", frame, bootstrap=200, seed=3).to_dict()
    got = run.result["indices"]
    assert got["index"] == direct["indices"]["index"]
    for mine, theirs in zip(got["data"], direct["indices"]["data"], strict=True):
        numbers = [v for v in theirs if isinstance(v, float)]
        assert [v for v in mine if isinstance(v, float)] == pytest.approx(numbers, rel=1e-12)
    with app.app_context():
        again, created = runs.get_or_start(
            db, survey=sv, frame=frame, method="csi", params=params, user_id=None, enqueue=enqueue
        )
    assert not created
    assert again.id == run.id
    assert queued == [run.id]


def test_time_budget_stops_a_long_run(app) -> None:
    db = app.extensions["manyi_db"]
    sv, frame = _acsi_survey(app, 300)
    with app.app_context():
        run, _ = runs.get_or_start(
            db,
            survey=sv,
            frame=frame,
            method="csi",
            params={"bootstrap": 50000, "seed": 1},
            user_id=None,
            enqueue=_queue(app, budget_s=0.2),
        )
    assert run.status == "failed"
    assert "time budget of 0.2 s" in run.error
    assert run.result is None


def test_cancel_stops_a_queued_run_before_it_starts(app) -> None:
    db = app.extensions["manyi_db"]
    sv, frame = _acsi_survey(app, 60)
    beats: list[int] = []
    with app.app_context():
        run, _ = runs.get_or_start(
            db,
            survey=sv,
            frame=frame,
            method="csi",
            params={"bootstrap": 20, "seed": 1},
            user_id=None,
            enqueue=lambda run_id: None,  # no worker yet
        )
    assert run.status == "queued"
    assert runs.cancel(db, run.id, by="ana@example.org")
    assert not runs.cancel(db, run.id, by="ana@example.org")  # already ended
    assert runs.execute(db, run.id, budget_s=60, beat=lambda: beats.append(1)) == "skipped"
    row = runs.wait(db, run.id, timeout=0)
    assert (row.status, row.error, row.result) == ("failed", "cancelled by ana@example.org", None)


def test_stale_running_runs_are_failed(app) -> None:
    db = app.extensions["manyi_db"]
    sv, frame = _acsi_survey(app, 60)
    ids = []
    for seed in (1, 2, 3):
        with app.app_context():
            run, _ = runs.get_or_start(
                db,
                survey=sv,
                frame=frame,
                method="csi",
                params={"bootstrap": 20, "seed": seed},
                user_id=None,
                enqueue=lambda run_id: None,
            )
        ids.append(run.id)
    fresh, old, never = ids
    assert runs._mark_running(db, fresh)
    assert runs._mark_running(db, old)
    now = time.time()
    beats = {fresh: now - 5, old: now - 500}
    # the third run is still queued: it waits for a worker and is not stale
    assert runs.fail_stale(db, beats.get, stale_after_s=120) == [old]
    with db.sessions() as s:
        assert s.get(m.ScoringRun, fresh).status == "running"
        assert s.get(m.ScoringRun, never).status == "queued"
        row = s.get(m.ScoringRun, old)
        assert row.status == "failed"
        assert "no sign of life for 120 s" in row.error


def test_delete_is_logged(app, gap_study) -> None:
    db = app.extensions["manyi_db"]
    sv, frame = _frame(app, gap_study["customer"])
    with app.app_context():
        run, _ = runs.get_or_start(
            db, survey=sv, frame=frame, method="pca", params={}, user_id=None, enqueue=_queue(app)
        )
        assert runs.delete_run(db, run.id, user_id=None)
        assert not runs.delete_run(db, run.id, user_id=None)
    with db.sessions() as s:
        assert s.get(m.ScoringRun, run.id) is None
        logged = s.query(m.AuditLog).filter_by(object_type="scoring_run", action="deleted").all()
        assert [a.object_id for a in logged] == [str(run.id)]


def test_find_run_matches_survey_and_study_exactly(app, gap_study) -> None:
    db = app.extensions["manyi_db"]
    sv, frame = _frame(app, gap_study["customer"])
    assert sv.study_id is not None
    with app.app_context():
        run, _ = runs.get_or_start(
            db,
            survey=sv,
            frame=frame,
            method="servqual",
            params={},
            user_id=None,
            enqueue=_queue(app),
        )
    keys: Any = {
        "method": "servqual",
        "snapshot_hash": run.snapshot_hash,
        "data_hash": run.data_hash,
        "parameters_hash": run.parameters_hash,
    }
    with db.sessions() as s:

        def found(**where: Any) -> int | None:
            hit = runs.find_run(s, **keys, **where)
            return None if hit is None else hit.id

        assert found(survey_id=sv.id) == run.id  # any study
        assert found(survey_id=sv.id, study_id=sv.study_id) == run.id
        assert found(survey_id=sv.id, study_id=sv.study_id + 1) is None
        assert found(survey_id=sv.id + 1000) is None
        assert found(survey_id=None) is None  # the run has a survey
        s.get(m.ScoringRun, run.id).status = "failed"
        s.flush()
        assert found(survey_id=sv.id) is None  # failed runs are never reused


def _count_builds(monkeypatch) -> list[str]:
    from surveyapp.reports import build

    built: list[str] = []
    real = build.full_report

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(kwargs["language"])
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "full_report", counting)
    return built


def test_report_sections_are_cached_not_stored_as_runs(app, gap_study, monkeypatch) -> None:
    from surveyapp.reports import views

    built = _count_builds(monkeypatch)
    db = app.extensions["manyi_db"]
    with app.test_request_context():
        sv = db.sessions().get(m.Survey, gap_study["customer"])
        first = views.survey_report(sv, segment=None, language="en")
        again = views.survey_report(sv, segment=None, language="en")
    assert again == first
    assert built == ["en"]
    with db.sessions() as s:
        assert s.query(m.ScoringRun).count() == 0  # no report:* rows any more
    # one more response changes the data hash: a miss, built again
    from surveyapp.services.responses import import_frame

    import_frame(db, sv, simulate(sv.questionnaire(), 1, seed=99, survey=sv.slug).data)
    with app.test_request_context():
        sv = db.sessions().get(m.Survey, gap_study["customer"])
        newer = views.survey_report(sv, segment=None, language="en")
    assert built == ["en", "en"]
    assert newer["five_gaps"] != first["five_gaps"]


def test_report_cache_evicts_beyond_its_threshold(app, gap_study, monkeypatch) -> None:
    from surveyapp.reports import views

    app.config["CACHE_THRESHOLD"] = 2
    views.cache.init_app(app)  # the app's cache with the smaller threshold
    built = _count_builds(monkeypatch)
    db = app.extensions["manyi_db"]
    asked = [
        (None, "en"),
        (None, "zh-Hans"),
        (("branch", "east"), "en"),
        (("branch", "west"), "en"),
    ]
    with app.test_request_context():
        sv = db.sessions().get(m.Survey, gap_study["customer"])
        for segment, language in asked:
            views.survey_report(sv, segment=segment, language=language)
        assert len(built) == 4
        kept = [
            views.survey_report(sv, segment=segment, language=language)
            for segment, language in asked
        ]
    assert len(kept) == 4
    # FileSystemCache prunes to its threshold before it stores more than threshold + 1
    # entries, so at least one of the four was evicted and had to be built again
    assert len(built) > 4
