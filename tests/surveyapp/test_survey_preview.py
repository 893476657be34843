"""Preview and test mode: a researcher answers a draft; the answers are test responses,
left out of exports, reports, scoring and the response counts, and deleted in one action."""

from __future__ import annotations

import re

from sqlalchemy import select

from surveyapp import models as m
from surveyapp.services import exports
from tests.surveyapp.conftest import VALID, add_survey, post_page


def _rid(html: str) -> str:
    return re.search(r'name="response_id" value="([0-9a-f-]{36})"', html).group(1)


def test_a_draft_in_preview_stores_test_responses_deleted_in_one_action(app, client_as, minimal):
    survey_id, _ = add_survey(app, minimal, status="draft")
    stranger = app.test_client()
    assert stranger.get("/s/demo?lang=en").status_code == 404  # a draft is not public
    viewer = client_as("viewer")
    assert viewer.get(f"/research/surveys/{survey_id}/preview").status_code == 403
    researcher = client_as("researcher")
    r = researcher.get(f"/research/surveys/{survey_id}/preview")
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/s/demo")
    page = researcher.get("/s/demo?lang=en").text
    assert 'id="preview-banner"' in page
    r = post_page(researcher, "/s/demo", _rid(page), VALID)
    assert r.headers["Location"].endswith("/s/demo/thanks")
    assert "Thank you" in researcher.get(r.headers["Location"]).text
    db = app.extensions["manyi_db"]
    with db.sessions() as s:
        [resp] = s.scalars(select(m.Response)).all()
        assert (resp.status, resp.source) == ("complete", m.TEST_SOURCE)
        # not data: exports (and so reports and scoring, which read them) leave it out
        assert exports.count_responses(s, [survey_id], include_partial=True) == 0
        assert len(exports.responses_frame(s, [survey_id])) == 0
    assert stranger.get("/s/demo").status_code == 404  # still a draft for everyone else
    shown = researcher.get(f"/research/surveys/{survey_id}?lang=en").text
    assert "1 test responses from preview" in shown
    assert "0 complete" in shown
    r = researcher.post(f"/research/surveys/{survey_id}/test-responses/delete")
    assert r.status_code == 303
    with db.sessions() as s:
        assert s.scalars(select(m.Response)).all() == []
        [log] = s.scalars(select(m.AuditLog).where(m.AuditLog.action == "deleted")).all()
        assert log.detail["test_responses"] == 1
