"""Actions that close the loop (issue 17, item 7): an action created from the first
wave's "fix first" is listed, audited, and the second wave's overview shows beside it
the tested change of its dimension -- the numbers of the waves section (Welch's test)."""

from __future__ import annotations

import re

from sqlalchemy import select

from surveyapp import models as m


def test_an_action_shows_the_tested_change_in_the_next_wave(app, gap_study, client_as) -> None:
    first, latest = gap_study["first"], gap_study["customer"]
    assert first != latest  # the demo study has two waves
    c = client_as("researcher")
    overview = c.get(f"/research/reports/surveys/{first}?lang=en").get_data(as_text=True)
    targets = re.findall(r'<option value="([a-z]+(?::[a-z]+)?)"', overview)
    assert "rel:procedure" in targets or "rel" in targets
    r = c.post(
        f"/research/reports/surveys/{first}/actions",
        data={"target": "rel:procedure", "owner": "", "due_wave": "2026-Q2", "note": "scripts"},
    )
    assert r.status_code == 303
    bad = c.post(f"/research/reports/surveys/{first}/actions", data={"target": "nope"})
    assert bad.status_code == 303
    with app.extensions["manyi_db"].sessions() as s:
        rows = s.scalars(select(m.ReportAction)).all()
        logged = s.scalars(
            select(m.AuditLog).where(m.AuditLog.object_type == "report_action")
        ).all()
    assert [(a.dimension, a.gap, a.owner) for a in rows] == [
        ("rel", "procedure", "Service design")  # the procedure gap's team by default
    ]
    assert len(logged) == 1
    # the first wave's page: decided now, its change shows in the next wave
    html = c.get(f"/research/reports/surveys/{first}?lang=en").get_data(as_text=True)
    assert 'data-action-state="this-wave"' in html
    # the second wave's page: the tested change of reliability since the first wave
    html = c.get(f"/research/reports/surveys/{latest}?lang=en").get_data(as_text=True)
    found = re.search(r'data-action-change="([-0-9.e]+)" data-action-p="([-0-9.e]+)"', html)
    assert found is not None, html[html.find('id="actions"') :][:2000]
    with app.app_context():
        from surveyapp.reports.views import survey_report  # only here: needs the app

        sv = app.extensions["manyi_db"].sessions().get(m.Survey, latest)
        rep = survey_report(sv, segment=None, language="en", exclude_suspects=True)
    entry = next(w for w in rep["waves"]["all"]["waves"] if w["wave"] == sv.wave)
    change = entry["change"]["rel"]
    assert float(found.group(1)) == change["diff"]
    assert float(found.group(2)) == change["p"]
    # viewers read the actions but cannot add one
    assert (
        client_as("viewer")
        .post(f"/research/reports/surveys/{latest}/actions", data={"target": "rel"})
        .status_code
        == 403
    )


def test_a_study_names_its_own_gap_owners(app, gap_study, client_as) -> None:
    sid = gap_study["customer"]
    c = client_as("researcher")
    html = c.get(f"/research/reports/surveys/{sid}?lang=en").get_data(as_text=True)
    assert 'data-owner="procedure">Owner: Service design<' in html  # the default
    r = c.post(f"/research/reports/surveys/{sid}/owners", data={"owner-procedure": "Branch ops"})
    assert r.status_code == 303
    html = c.get(f"/research/reports/surveys/{sid}?lang=en").get_data(as_text=True)
    assert 'data-owner="procedure">Owner: Branch ops<' in html
    # a new action on that gap takes the study's team
    c.post(f"/research/reports/surveys/{sid}/actions", data={"target": "rel:procedure"})
    with app.extensions["manyi_db"].sessions() as s:
        assert s.scalars(select(m.ReportAction.owner)).all() == ["Branch ops"]
        assert s.scalars(select(m.GapOwner.owner)).all() == ["Branch ops"]
    # an empty name restores the default
    c.post(f"/research/reports/surveys/{sid}/owners", data={"owner-procedure": ""})
    html = c.get(f"/research/reports/surveys/{sid}?lang=en").get_data(as_text=True)
    assert 'data-owner="procedure">Owner: Service design<' in html
    assert client_as("viewer").post(f"/research/reports/surveys/{sid}/owners").status_code == 403
