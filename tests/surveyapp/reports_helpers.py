"""Helpers of the report tests (importable; the fixtures are in conftest_reports.py)."""

from __future__ import annotations

from typing import Any

from flask import Flask

import questionnaires as qn
from questionnaires.simulate import simulate
from surveyapp import models as m
from surveyapp.services.responses import import_frame
from surveyapp.services.surveys import create_survey

SMALL = {"customer": 240, "manager": 30, "staff": 60, "audit": 30}


def store(app: Flask, q: qn.Questionnaire, slug: str, n: int, seed: int, **kw: Any) -> int:
    """A closed survey ``slug`` of ``q`` with ``n`` simulated responses; its id."""
    db = app.extensions["manyi_db"]
    with db.write() as s:
        sv = create_survey(s, q, slug=slug, status="closed", **kw)
    with db.sessions() as s:
        sv = s.get(m.Survey, sv.id)
        sv.questionnaire()  # load the snapshot while the session is open
    data = simulate(q, n, seed=seed, survey=slug, wave=kw.get("wave") or "sim").data
    import_frame(db, sv, data, source="simulated")
    return int(sv.id)
