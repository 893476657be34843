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
from surveyapp import models as m
from surveyapp.reports.demo import seed_gap_study
from tests.surveyapp.reports_helpers import SMALL, store


@pytest.fixture
def gap_study(app: Flask) -> dict[str, Any]:
    """The demo study (small sizes) plus an unrelated survey ``other`` with its own data.

    Returns ``{"study": id, "customer": id of the latest customer wave, "first": id of the
    first wave, "manager"/"staff"/"audit": ids, "other": id, "other_ids": response ids}``.
    """
    db = app.extensions["manyi_db"]
    study_id = seed_gap_study(db, sizes=SMALL)
    out: dict[str, Any] = {"study": study_id}
    with db.sessions() as s:
        surveys = s.scalars(select(m.Survey).where(m.Survey.study_id == study_id)).all()
        for sv in sorted(surveys, key=lambda x: (x.wave or "", x.id)):
            out[sv.audience] = sv.id
            if sv.audience == "customer" and "first" not in out:
                out["first"] = sv.id
    out["other"] = store(app, qn.builtin("servqual22"), "other-company", 80, 99, wave="2026-Q2")
    with db.sessions() as s:
        out["other_ids"] = set(
            s.scalars(select(m.Response.response_id).where(m.Response.survey_id == out["other"]))
        )
    return out
