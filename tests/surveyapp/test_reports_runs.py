"""Stored scoring runs: reproducible, not recomputed, long runs in the background."""

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
            db, survey=sv, frame=frame, method="servqual", params={"confidence": 0.9}, user_id=None
        )
        again, created_again = runs.get_or_start(
            db, survey=sv, frame=frame, method="servqual", params={"confidence": 0.9}, user_id=None
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
            db, survey=sv, frame=frame, method="servqual", params={}, user_id=None
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
        )
    assert created
    assert newer.n_responses == len(frame) + 1


def test_failed_run_keeps_the_scoring_message(app, gap_study) -> None:
    db = app.extensions["manyi_db"]
    sv, frame = _frame(app, gap_study["customer"])
    with app.app_context():
        run, _ = runs.get_or_start(
            db, survey=sv, frame=frame, method="csi", params={}, user_id=None
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


def test_bootstrap_runs_in_the_background_with_progress(app) -> None:
    db = app.extensions["manyi_db"]
    sv, frame = _acsi_survey(app, 300)
    params = runs.validate_params("csi", {"bootstrap": "200", "seed": "3"})
    t0 = time.monotonic()
    with app.app_context():
        run, created = runs.get_or_start(
            db, survey=sv, frame=frame, method="csi", params=params, user_id=None
        )
    assert created
    assert time.monotonic() - t0 < 2.0  # the request does not wait for the bootstrap
    assert run.status in ("queued", "running")
    # meanwhile another (short) run is served at once
    with app.app_context():
        quick, _ = runs.get_or_start(
            db, survey=sv, frame=frame, method="reliability", params={}, user_id=None
        )
    assert quick.status == "done"
    seen = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with db.sessions() as s:
            row = s.get(m.ScoringRun, run.id)
            seen.add((row.status, row.progress))
            if row.status in ("done", "failed"):
                break
        time.sleep(0.1)
    assert row.status == "done", row.error
    assert any(st == "running" and 0 < p < 1 for st, p in seen)
    direct = score(sv.questionnaire(), "csi", frame, bootstrap=200, seed=3).to_dict()
    assert row.result["indices"] == direct["indices"]
    with app.app_context():
        again, created = runs.get_or_start(
            db, survey=sv, frame=frame, method="csi", params=params, user_id=None
        )
    assert not created
    assert again.id == run.id


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
            budget_s=0.2,
        )
    # a spawned interpreter alone needs longer than 0.2 s to import the scoring stack
    row = runs.wait(db, run.id, timeout=60)
    assert row.status == "failed"
    assert "time budget of 0.2 s" in row.error


def test_delete_is_logged(app, gap_study) -> None:
    db = app.extensions["manyi_db"]
    sv, frame = _frame(app, gap_study["customer"])
    with app.app_context():
        run, _ = runs.get_or_start(
            db, survey=sv, frame=frame, method="pca", params={}, user_id=None
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
            db, survey=sv, frame=frame, method="servqual", params={}, user_id=None
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
