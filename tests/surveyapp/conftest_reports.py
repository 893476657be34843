"""Fixtures of the report tests: an app with the demo gap study stored (linked customer,
manager, staff and audit surveys with simulated answers), and a second, unrelated survey.
Load with ``pytest_plugins = ["tests.surveyapp.conftest_research",
"tests.surveyapp.conftest_reports"]``."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

import questionnaires as qn
from questionnaires.simulate import simulate
from surveyapp import models as m
from surveyapp.reports.demo import seed_gap_study, store_frame
from surveyapp.survey import create_survey

SMALL = {"customer": 240, "manager": 30, "staff": 60, "audit": 30}


@pytest.fixture
def gap_study(app: Flask) -> dict[str, Any]:
    """The demo study (small sizes) plus an unrelated survey ``other`` with its own data.

    Returns ``{"study": id, "customer": id of the latest customer wave, "first": id of the
    first wave, "manager"/"staff"/"audit": ids, "other": id}``.
    """
    db = app.extensions["manyi_db"]
    with app.app_context(), db.write() as s:
        study = seed_gap_study(s, sizes=SMALL)
        surveys = s.scalars(select(m.Survey).where(m.Survey.study_id == study.id)).all()
        out: dict[str, Any] = {"study": study.id}
        for sv in sorted(surveys, key=lambda x: x.wave or ""):
            out[sv.audience] = sv.id
            if sv.audience == "customer" and "first" not in out:
                out["first"] = sv.id
        q = qn.builtin("servqual22")
        other = create_survey(s, q, slug="other-company", wave="2026-Q2", status="closed")
        data = simulate(q, 80, seed=99, survey="other-company", wave="2026-Q2").data
        store_frame(s, other, data)
        out["other"] = other.id
        out["other_ids"] = set(data["response_id"].astype(str))
    return out
