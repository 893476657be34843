"""The research pages: surveys, studies, uploads, invitations, responses; XSS and CSRF."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from sqlalchemy import select

import questionnaires as qn
from questionnaires.xlsform import write_xlsform
from questionnaires.yamlio import dump_yaml
from surveyapp import models as m
from surveyapp.services import studies
from surveyapp.services.surveys import create_survey
from tests.surveyapp.conftest import DATA, make_app
from tests.surveyapp.research_helpers import add_response, add_user

XSS = "<script>alert(1)</script>"


def db_session(app):
    return app.extensions["manyi_db"].sessions()


def audit_actions(app):
    with app.app_context(), db_session(app) as s:
        return [
            (a.action, a.object_type) for a in s.scalars(select(m.AuditLog).order_by(m.AuditLog.id))
        ]


def multipart(client, url, form):
    """POST ``form`` as multipart, encoded in memory (the test client's own encoder spools
    large bodies to a temporary file that it never closes)."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    values = {
        k: FileStorage(io.BytesIO(v[0]), filename=v[1]) if isinstance(v, tuple) else v
        for k, v in form.items()
    }
    boundary, body = encode_multipart(values)
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def upload(client, name, data, **fields):
    form = {"upload": (data, name), "access": "invitation", **fields}
    return multipart(client, "/research/surveys/new?lang=en", form)


# -- dashboard -------------------------------------------------------------------------------
def test_dashboard_counts_per_wave(client_as, survey_with_data):
    html = client_as("viewer").get("/research/").get_data(as_text=True)
    row = re.search(r"wave1</small>.*?</tr>", html, re.S).group(0)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    # complete, partial, completion, suspect, quarantined, invitations
    assert cells == ["2", "1", "67 %", "2", "1", "4"]


# -- creating surveys ------------------------------------------------------------------------
def test_create_from_builtin_in_a_study(app, client_as):
    c = client_as("researcher")
    r = c.post("/research/studies/new", data={"name": "Bank 2026", "slug": "bank"})
    assert r.status_code == 303
    for wave in ("2026-Q1", "2026-Q2"):
        r = c.post(
            "/research/surveys/new",
            data={
                "builtin": "servqual22",
                "study": "1",
                "wave": wave,
                "access": "invitation",
                "languages": ["zh-Hans", "en"],
            },
        )
        assert r.status_code == 303, r.get_data(as_text=True)
    r = c.post(
        "/research/surveys/new",
        data={
            "builtin": "servqual22_staff",
            "study": "1",
            "wave": "2026-Q1",
            "access": "anonymous",
        },
    )
    assert r.status_code == 303
    with app.app_context(), db_session(app) as s:
        surveys = s.scalars(select(m.Survey).order_by(m.Survey.id)).all()
        assert [(x.audience, x.wave, x.status) for x in surveys] == [
            ("customer", "2026-Q1", "draft"),
            ("customer", "2026-Q2", "draft"),
            ("staff", "2026-Q1", "draft"),
        ]
        assert surveys[0].snapshot_id == surveys[1].snapshot_id  # one immutable snapshot
    html = c.get("/research/studies/1").get_data(as_text=True)
    assert "2026-Q2" in html
    assert "staff" in html
    # the same wave and audience twice in one study is refused, not stored twice
    r = c.post(
        "/research/surveys/new",
        data={"builtin": "servqual22", "study": "1", "wave": "2026-Q1", "access": "invitation"},
    )
    assert r.status_code == 409
    assert ("created", "survey") in audit_actions(app)


def test_create_from_uploaded_yaml_and_xlsform(app, client_as, tmp_path, minimal):
    c = client_as("researcher")
    r = upload(c, "minimal.yaml", (DATA / "minimal.yaml").read_bytes(), slug="y1")
    assert r.status_code == 303, r.get_data(as_text=True)
    path = tmp_path / "servqual.xlsx"
    write_xlsform(qn.builtin("servqual22"), path)
    r = upload(c, "servqual.xlsx", path.read_bytes(), slug="x1")
    assert r.status_code == 303, r.get_data(as_text=True)
    with app.app_context(), db_session(app) as s:
        x1 = s.scalar(select(m.Survey).where(m.Survey.slug == "x1"))
        assert x1.questionnaire().columns() == qn.builtin("servqual22").columns()


def test_choose_something(client_as):
    r = client_as("researcher").post("/research/surveys/new?lang=en", data={"access": "invitation"})
    assert r.status_code == 422
    assert "Choose a built-in questionnaire or upload a file." in r.get_data(as_text=True)


def _problems(html):
    return [
        re.sub(r"&#3[49];|&quot;", "'", x)
        for x in re.findall(r"<li><code>(.*?)</code></li>", html, re.S)
    ]


HOSTILE = [
    ("broken.yaml", b"format: manyi/1\nid: [unclosed\n", "broken.yaml:3: is not valid YAML"),
    ("deep.yaml", b"x: " + b"[" * 60 + b"]" * 60 + b"\n", "nested more than 20 levels deep"),
    ("fake.xlsx", b"PK\x03\x04 not really a zip", "is not an .xlsx workbook"),
    ("notes.txt", b"hello", "has the extension '.txt'"),
]


@pytest.mark.parametrize(("name", "data", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_upload_is_refused_with_the_loader_lines(app, client_as, name, data, message):
    r = upload(client_as("researcher"), name, data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "cannot be used" in html
    assert any(message in line for line in _problems(html)), _problems(html)
    with app.app_context(), db_session(app) as s:
        assert s.scalar(select(m.Survey)) is None


def test_script_in_labels_is_refused(client_as, minimal):
    data = minimal.to_dict()
    data["pages"][0]["items"][0]["text"]["en"] = f"Modern {XSS}"
    data["title"]["zh-Hans"] = '<img src=x onerror="alert(1)">'
    text = dump_yaml(qn.from_dict(data))
    r = upload(client_as("researcher"), "evil.yaml", text.encode())
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    lines = _problems(html)
    assert any("pages[0].items[0].text.en: contains HTML markup" in x for x in lines), lines
    assert any("title.zh-Hans" in x for x in lines)
    assert XSS not in html  # the refusal itself shows the markup as text
    assert "&lt;script" in html


def test_xlsform_errors_name_the_cell(client_as, tmp_path, minimal):
    path = tmp_path / "bad.xlsx"
    write_xlsform(minimal, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["survey"]
    header = [c.value for c in ws[1]]
    col = next(
        i for i, h in enumerate(header, 1) if h and h.startswith("label") and "zh" in h.lower()
    )
    ws.cell(row=2, column=col).value = None
    wb.save(path)
    r = upload(client_as("researcher"), "bad.xlsx", path.read_bytes())
    assert r.status_code == 422
    lines = _problems(r.get_data(as_text=True))
    assert any(line.startswith("bad.xlsx: survey!") for line in lines), lines


def test_upload_above_the_request_limit_is_a_clear_413(client_as):
    r = upload(client_as("researcher"), "huge.yaml", b"x" * 7_000_000)
    assert r.status_code == 413
    assert "too large" in r.get_data(as_text=True)


def test_problem_heading_is_translated(client_as):
    c = client_as("researcher")
    form = {"upload": (b"a: [\n", "b.yaml"), "access": "invitation"}
    r = multipart(c, "/research/surveys/new?lang=zh-Hans", form)
    html = r.get_data(as_text=True)
    assert "问卷" in re.search(r'<h2 id="problems-heading">(.*?)</h2>', html).group(1)


# -- open / close / schedule -------------------------------------------------------------------
def test_open_close_schedule_are_audited(app, client_as, minimal):
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sid = create_survey(s, minimal, slug="d1", status="draft").id
    c = client_as("researcher")
    assert c.get("/s/d1").status_code == 404  # a draft is not served
    assert c.post(f"/research/surveys/{sid}/open").status_code == 303
    assert c.get("/s/d1").status_code == 200
    assert c.post(f"/research/surveys/{sid}/close").status_code == 303
    assert c.get("/s/d1").status_code == 410
    r = c.post(
        f"/research/surveys/{sid}/schedule",
        data={"opens_at": "2099-01-01T09:00", "closes_at": "2099-02-01T09:00"},
    )
    assert r.status_code == 303
    with app.app_context(), db_session(app) as s:
        sv = s.get(m.Survey, sid)
        assert sv.opens_at.isoformat() == "2099-01-01T09:00:00+00:00"
    c.post(f"/research/surveys/{sid}/open")
    assert [a for a, t in audit_actions(app) if t == "survey"] == [
        "opened",
        "closed",
        "scheduled",
        "opened",
    ]
    r = c.post(
        f"/research/surveys/{sid}/schedule?lang=en",
        data={"opens_at": "tomorrow"},
        follow_redirects=True,
    )
    assert "must be a date and time" in r.get_data(as_text=True)


# -- invitations -----------------------------------------------------------------------------
def test_recipients_csv_with_segments(app, client_as, minimal):
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sid = create_survey(s, minimal, slug="inv", access="invitation").id
    c = client_as("researcher")
    data = "\ufeffEmail,region,tier\na@example.org,北,gold\nb@example.org,=1+1,silver\n".encode()
    r = multipart(c, f"/research/surveys/{sid}/invitations", {"recipients": (data, "people.csv")})
    assert r.status_code == 303
    r = c.post(f"/research/surveys/{sid}/invitations", data={"count": "3"})
    with app.app_context(), db_session(app) as s:
        invs = s.scalars(select(m.Invitation).order_by(m.Invitation.id)).all()
    assert len(invs) == 5
    assert invs[0].recipient == "a@example.org"
    assert invs[0].segments == {"region": "北", "tier": "gold"}
    body = c.get(f"/research/surveys/{sid}/invitations.csv").data
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 5
    assert rows[0]["link"].endswith("/i/" + invs[0].token)
    assert rows[1]["region"] == "'=1+1"  # neutralised for the mail merge
    assert rows[0]["used"] == "no"
    add_response(app, sid, invitation_id=invs[0].id)
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        s.get(m.Invitation, invs[0].id).used_at = m.utcnow()
    unused = c.get(f"/research/surveys/{sid}/invitations.csv?state=unused").data.decode("utf-8-sig")
    assert invs[0].token not in unused
    assert len(list(csv.DictReader(io.StringIO(unused)))) == 4
    html = c.get(f"/research/surveys/{sid}/invitations?state=used").get_data(as_text=True)
    assert invs[0].token in html
    assert invs[1].token not in html
    assert ("invited", "survey") in audit_actions(app)


def test_bad_invitation_count_is_flashed(app, client_as, survey_with_data):
    c = client_as("researcher")
    r = c.post(
        f"/research/surveys/{survey_with_data['id']}/invitations?lang=en",
        data={"count": "-5"},
        follow_redirects=True,
    )
    assert "whole number from 1 to 50000" in r.get_data(as_text=True)


# -- responses ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "n"),
    [
        ("", 4),
        ("?status=complete", 2),
        ("?status=partial", 1),
        ("?status=suspect", 1),
        ("?status=quarantined", 1),
        ("?segment=region%3DN", 2),
        ("?segment=region%3DS&status=partial", 1),
    ],
)
def test_response_filters(client_as, survey_with_data, query, n):
    html = (
        client_as("viewer")
        .get(f"/research/surveys/{survey_with_data['id']}/responses{query}")
        .get_data(as_text=True)
    )
    assert len(re.findall(r'href="/research/responses/\d+"', html)) == n


def test_response_pagination(app, client_as, survey_with_data):
    for _ in range(60):
        add_response(app, survey_with_data["id"])
    c = client_as("viewer")
    url = f"/research/surveys/{survey_with_data['id']}/responses"
    first = c.get(url).get_data(as_text=True)
    second = c.get(url + "?page=2").get_data(as_text=True)
    assert len(re.findall(r'href="/research/responses/\d+"', first)) == 50
    assert len(re.findall(r'href="/research/responses/\d+"', second)) == 14
    assert 'rel="next"' in first


def test_single_response_shows_labels(client_as, survey_with_data):
    pk = survey_with_data["responses"][0]
    html = client_as("viewer").get(f"/research/responses/{pk}?lang=en").get_data(as_text=True)
    assert "Shanghai" in html
    assert "Modern equipment: Expectation" in html


def test_quarantine_restore_and_admin_delete(app, client_as, survey_with_data):
    pk = survey_with_data["responses"][0]
    c = client_as("researcher")
    assert (
        c.post(
            f"/research/responses/{pk}/quarantine", data={"reason": "straight-lining"}
        ).status_code
        == 303
    )
    with app.app_context(), db_session(app) as s:
        assert s.get(m.Response, pk).quarantined is True
    assert c.post(f"/research/responses/{pk}/restore").status_code == 303
    with app.app_context(), db_session(app) as s:
        assert s.get(m.Response, pk).quarantined is False
    assert c.post(f"/research/responses/{pk}/delete", data={"confirm": "yes"}).status_code == 403
    admin = client_as("admin")
    admin.post(f"/research/responses/{pk}/delete")  # without confirmation: nothing happens
    with app.app_context(), db_session(app) as s:
        assert s.get(m.Response, pk) is not None
    r = admin.post(f"/research/responses/{pk}/delete", data={"confirm": "yes", "reason": "test"})
    assert r.status_code == 303
    with app.app_context(), db_session(app) as s:
        assert s.get(m.Response, pk) is None
        assert s.scalar(select(m.Answer).where(m.Answer.response_pk == pk)) is None
        entry = s.scalar(select(m.AuditLog).where(m.AuditLog.action == "deleted"))
        assert entry.detail["answers"] == 11
        assert entry.detail["reason"] == "test"
        assert entry.user_id is not None
    assert [a for a, t in audit_actions(app) if t == "response"] == [
        "quarantined",
        "restored",
        "deleted",
    ]
    assert "deleted" in admin.get("/research/audit").get_data(as_text=True)


def test_export_download_is_audited(app, client_as, survey_with_data):
    c = client_as("researcher")
    r = c.get(f"/research/surveys/{survey_with_data['id']}/export.csv")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"].startswith('attachment; filename="wave1-responses-')
    assert r.data.count(b"\r\n") == 3
    assert ("exported", "survey") in audit_actions(app)
    r = c.get(f"/research/surveys/{survey_with_data['id']}/export.pdf")
    assert r.status_code == 404


# -- XSS and CSRF --------------------------------------------------------------------------------
def test_typed_text_is_escaped_everywhere(app, client_as, minimal):
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        st = m.Study(slug="x", name=XSS)
        s.add(st)
        s.flush()
        sid = create_survey(s, minimal, slug="xss", title=XSS, wave=XSS, study=st).id
    pk = add_response(app, sid, {"comment": XSS, "branch": "sh"}, segments={"region": XSS})
    c = client_as("admin")
    c.post(f"/research/responses/{pk}/quarantine", data={"reason": XSS})
    for url in [
        "/research/",
        f"/research/surveys/{sid}",
        f"/research/surveys/{sid}/responses",
        f"/research/responses/{pk}",
        "/research/studies",
        "/research/studies/1",
        "/research/audit",
    ]:
        html = c.get(url).get_data(as_text=True)
        assert XSS not in html, url
    assert "&lt;script&gt;" in c.get(f"/research/responses/{pk}").get_data(as_text=True)


@pytest.fixture
def csrf_app(tmp_path):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, WTF_CSRF_ENABLED=True)
    add_user(app, "a@example.org", "admin")
    return app


def _logged_in_with_csrf(app):
    c = app.test_client()
    html = c.get("/research/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    r = c.post(
        "/research/login",
        data={"email": "a@example.org", "password": "correct horse battery", "csrf_token": token},
    )
    assert r.status_code == 303
    return c


def test_state_changes_need_the_csrf_token(csrf_app, minimal):
    with csrf_app.app_context(), csrf_app.extensions["manyi_db"].write() as s:
        sid = create_survey(s, minimal, slug="c1", status="draft").id
    c = _logged_in_with_csrf(csrf_app)
    for url in [
        f"/research/surveys/{sid}/open",
        f"/research/surveys/{sid}/close",
        f"/research/surveys/{sid}/invitations",
        "/research/studies/new",
    ]:
        assert c.post(url, data={"count": "2", "name": "n", "slug": "s"}).status_code == 400, url
    with csrf_app.app_context(), db_session(csrf_app) as s:
        assert s.get(m.Survey, sid).status == "draft"
        assert s.scalar(select(m.Invitation)) is None
    html = c.get(f"/research/surveys/{sid}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert c.post(f"/research/surveys/{sid}/open", data={"csrf_token": token}).status_code == 303


def test_logout_needs_csrf(csrf_app):
    c = _logged_in_with_csrf(csrf_app)
    assert c.post("/research/logout").status_code == 400
    assert c.get("/research/").status_code == 200


def test_the_studies_service_works_without_a_request(app, survey_with_data):
    """What the pages do, the CLI and the task queue can do: an app context is enough, the
    actor is the caller's to say, and a missing row is NotFound rather than an HTTP error."""
    sid = survey_with_data["id"]
    pk = survey_with_data["responses"][0]
    with app.app_context():
        assert studies.set_state(sid, "closed", user_id=None).status == "closed"
        assert studies.survey(sid).status == "closed"  # the read session sees the change
        studies.set_quarantine(pk, True, reason="bot", user_id=None)
        assert studies.survey_stats([sid])[sid]["quarantined"] == 2  # one was already
        with pytest.raises(studies.NotFound, match="no survey 9999"):
            studies.set_state(9999, "open", user_id=None)
    with app.app_context(), db_session(app) as s:
        log = s.scalars(select(m.AuditLog).order_by(m.AuditLog.id)).all()
        assert [(a.action, a.user_id) for a in log] == [("closed", None), ("quarantined", None)]
        assert log[1].detail["reason"] == "bot"
