"""Screening that acts (issue 17, item 6): the data-quality page names the suspect
responses with their reasons; a researcher quarantines the ticked ones in bulk with a
reason (audited), every score leaves them out and each method card says so, and
restoring them undoes it. Another survey's responses cannot be touched from here."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from surveyapp import models as m


def _suspects(html: str) -> list[str]:
    return re.findall(r'data-suspect="([^"]+)"', html)


def test_bulk_quarantine_is_audited_counted_and_undone(app, gap_study, client_as) -> None:
    sid = gap_study["customer"]
    page = f"/research/reports/surveys/{sid}/sections/quality?lang=en"
    viewer = client_as("viewer").get(page).get_data(as_text=True)
    named = _suspects(viewer)
    assert named  # the demo study marks honeypots
    assert "Quarantine the ticked responses" not in viewer  # a viewer cannot act
    c = client_as("researcher")
    html = c.get(page).get_data(as_text=True)
    assert _suspects(html) == named
    url = f"/research/reports/surveys/{sid}/quarantine"
    # no reason: refused, nothing changes
    r = c.post(url, data={"response": named[:2], "action": "quarantine", "reason": ""})
    assert r.status_code == 303
    db = app.extensions["manyi_db"]
    with db.sessions() as s:
        q_count = select(func.count()).select_from(m.Response)
        assert s.scalar(q_count.where(m.Response.quarantined.is_(True))) == 0
    # another survey's response id is ignored
    foreign = next(iter(gap_study["other_ids"]))
    r = c.post(
        url,
        data={"response": [*named[:2], foreign], "action": "quarantine", "reason": "bot-like"},
    )
    assert r.status_code == 303
    with db.sessions() as s:
        held = set(s.scalars(select(m.Response.response_id).where(m.Response.quarantined)))
        logged = s.scalars(select(m.AuditLog).where(m.AuditLog.action == "quarantined")).all()
    assert held == set(named[:2])
    assert sorted(a.detail["response_id"] for a in logged) == sorted(named[:2])
    assert {a.detail["reason"] for a in logged} == {"bot-like"}
    # every score leaves them out; each method card says how many
    methods = c.get(f"/research/reports/surveys/{sid}/sections/methods?lang=en").get_data(
        as_text=True
    )
    assert re.findall(r'data-excluded="(\d+)"', methods)
    assert set(re.findall(r'data-excluded="(\d+)"', methods)) == {"2"}
    # the other suspects are left out by default (the switch brings them back)
    assert set(re.findall(r'data-suspects-left-out="(\d+)"', methods)) == {str(len(named) - 2)}
    included = c.get(
        f"/research/reports/surveys/{sid}/sections/methods?lang=en&suspects=include"
    ).get_data(as_text=True)
    assert "data-suspects-left-out" not in included
    html = c.get(page).get_data(as_text=True)
    assert not set(named[:2]) & set(_suspects(html))
    assert set(re.findall(r'data-quarantined="([^"]+)"', html)) == set(named[:2])
    # undo
    r = c.post(url, data={"response": named[:2], "action": "restore", "reason": "checked"})
    assert r.status_code == 303
    with db.sessions() as s:
        assert s.scalar(q_count.where(m.Response.quarantined.is_(True))) == 0
        restored = s.scalar(
            select(func.count()).select_from(m.AuditLog).where(m.AuditLog.action == "restored")
        )
    assert restored == 2
    assert _suspects(c.get(page).get_data(as_text=True)) == named


def test_viewer_cannot_quarantine(gap_study, client_as) -> None:
    sid = gap_study["customer"]
    r = client_as("viewer").post(
        f"/research/reports/surveys/{sid}/quarantine",
        data={"response": ["x"], "action": "quarantine", "reason": "r"},
    )
    assert r.status_code == 403
