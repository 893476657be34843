"""Preview and test mode: a researcher answers a draft; the answers are test responses,
left out of exports, reports, scoring and the response counts, and deleted in one action."""

from __future__ import annotations

import re

from sqlalchemy import select

from surveyapp import models as m
from surveyapp.services import exports
from tests.surveyapp.conftest import VALID, add_survey, make_app, post_page
from tests.surveyapp.research_helpers import add_user, login


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
    assert "1 test response from preview" in shown
    assert "0 complete" in shown
    r = researcher.post(f"/research/surveys/{survey_id}/test-responses/delete")
    assert r.status_code == 303
    with db.sessions() as s:
        assert s.scalars(select(m.Response)).all() == []
        [log] = s.scalars(select(m.AuditLog).where(m.AuditLog.action == "deleted")).all()
        assert log.detail["test_responses"] == 1


def _frame_ancestors(response) -> str:
    csp = response.headers["Content-Security-Policy"]
    return next(d for d in csp.split("; ") if d.startswith("frame-ancestors"))


def test_preview_on_a_phone_and_a_desktop_frames_only_preview_pages(app, client_as, minimal):
    """The devices page shows the preview in two frames of this origin; the survey's
    pages allow framing by 'self' only while this session previews that survey."""
    survey_id, _ = add_survey(app, minimal)
    researcher = client_as("researcher")
    before = researcher.get("/s/demo?lang=en")
    assert _frame_ancestors(before) == "frame-ancestors 'none'"  # not previewed yet
    r = researcher.get(f"/research/surveys/{survey_id}/preview/devices?lang=en")
    assert r.status_code == 200
    assert _frame_ancestors(r) == "frame-ancestors 'none'"  # the research page itself
    assert r.headers["X-Frame-Options"] == "DENY"
    frames = re.findall(r'<iframe src="([^"]+)" title="([^"]+)"', r.text)
    grant = f"/research/surveys/{survey_id}/preview"  # each frame: the grant, then /s/demo
    assert frames == [(grant, "Preview on a phone"), (grant, "Preview on a desktop")]
    assert researcher.get(grant).headers["Location"] == "/s/demo"
    assert "Phone, 390 px wide" in r.text
    zh = researcher.get(f"/research/surveys/{survey_id}/preview/devices?lang=zh-Hans")
    assert "手机，宽 390 像素" in zh.text
    for url in ("/s/demo", "/s/demo/thanks"):
        framed = researcher.get(url)
        assert _frame_ancestors(framed) == "frame-ancestors 'self'", url
        assert framed.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert _frame_ancestors(researcher.get("/")) == "frame-ancestors 'none'"  # no survey
    assert _frame_ancestors(researcher.get("/s/demo/brand.css")) == "frame-ancestors 'none'"
    # a respondent's browser (no preview) never allows a frame
    assert _frame_ancestors(app.test_client().get("/s/demo")) == "frame-ancestors 'none'"
    # a viewer may not preview (another team's member: the authorization matrix)
    assert (
        client_as("viewer").get(f"/research/surveys/{survey_id}/preview/devices").status_code == 403
    )


def test_preview_frames_add_self_to_the_configured_origins(tmp_path, minimal):
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"}, FRAME_ANCESTORS="https://intranet.example.cn"
    )
    survey_id, _ = add_survey(app, minimal)
    client = app.test_client()
    add_user(app, "r@example.org", "researcher")
    assert login(client, "r@example.org").status_code == 303
    client.get(f"/research/surveys/{survey_id}/preview")  # what each frame opens first
    framed = client.get("/s/demo")
    assert _frame_ancestors(framed) == "frame-ancestors 'self' https://intranet.example.cn"
    other = app.test_client().get("/s/demo")
    assert _frame_ancestors(other) == "frame-ancestors https://intranet.example.cn"


def test_static_files_do_not_send_back_the_session(app, client_as, minimal):
    """A logged-in browser loads a page's stylesheets while the preview frames are being
    granted; their responses must not set the session cookie (with what the stylesheet's
    request carried), or the frames' grant is lost (a 404 in a frame)."""
    survey_id, _ = add_survey(app, minimal, status="draft")
    researcher = client_as("researcher")
    stale = researcher.get_cookie("session").value  # what a stylesheet request carries
    assert "Set-Cookie" in researcher.get(f"/research/surveys/{survey_id}/preview").headers
    researcher.set_cookie("session", stale)
    css = researcher.get("/static/css/manyi.css")
    css.close()  # a file response
    assert css.status_code == 200
    assert "Set-Cookie" not in css.headers
    page = researcher.get("/research/")  # a page (activity) does write the session
    assert page.status_code == 200
