"""Links and tracking as services, on SQLite and PostgreSQL (their JSON paths differ):
responses counted per way in and per channel, response rates per segment."""

from __future__ import annotations

from surveyapp import models as m
from surveyapp.services import links, mailing
from surveyapp.services.invitations import create_invitations
from surveyapp.services.surveys import create_survey
from tests.surveyapp.research_helpers import add_response


def test_counts_per_link_channel_and_segment(any_app, minimal):
    app = any_app
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sv = create_survey(s, minimal, slug="cnt", access="anonymous")
        invs = create_invitations(
            s, sv, [{"branch": "east"}, {"branch": "east"}, {"branch": "west"}, {}]
        )
        s.add(m.SurveyLink(code="Poster01", survey_id=sv.id, channel="poster", segments={}))
        s.add(m.SurveyLink(code="Wechat01", survey_id=sv.id, channel="wechat", segments={}))
        sid, inv_ids = sv.id, [i.id for i in invs]
    poster = {"branch": "east", "channel": "poster", "link": "Poster01"}
    add_response(app, sid)  # anonymous
    add_response(app, sid, status="partial")
    add_response(app, sid, segments=poster)
    add_response(app, sid, segments=poster, status="partial")
    add_response(app, sid, segments=poster, quarantined=True)  # left out
    add_response(app, sid, invitation_id=inv_ids[0], segments={"branch": "east"})
    add_response(app, sid, invitation_id=inv_ids[2], segments={"branch": "west"}, status="partial")
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        s.get(m.Invitation, inv_ids[0]).used_at = m.utcnow()
    with app.test_request_context():
        counts = links.response_counts(sid)
        assert {w: (c.complete, c.partial) for w, c in counts.items()} == {
            "anonymous": (1, 1),
            "Poster01": (1, 1),
            "invitation": (1, 1),
        }
        channels = dict(links.channel_counts(counts, links.links_of(sid)))
        assert [(ch, c.complete, c.partial) for ch, c in channels.items()] == [
            ("anonymous", 1, 1),
            ("invitation", 1, 1),
            ("poster", 1, 1),
        ]
        rates = mailing.rates_by_segment(sid, ["branch"])
    assert [(r.value, r.invited, r.started, r.completed, r.rate) for r in rates["branch"]] == [
        ("", 1, 0, 0, 0),
        ("east", 2, 1, 1, 50),
        ("west", 1, 1, 0, 0),
    ]
