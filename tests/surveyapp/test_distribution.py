"""Distribution: links that stay alive beside invitations, branch links with signed
segments, their QR codes, short links and opt-outs; recipients uploads from the web."""

from __future__ import annotations

import io
import re
import uuid
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from surveyapp import models as m
from surveyapp.services import invitations
from tests.surveyapp.conftest import VALID, add_survey, post_page
from tests.surveyapp.test_research import audit_actions, db_session, multipart

pytest_plugins = ["tests.surveyapp.conftest_research"]


def _responses(app):
    with app.app_context(), db_session(app) as s:
        return list(s.scalars(select(m.Response).order_by(m.Response.id)))


def _answer(client, url):
    """Open ``url`` (path and query) and submit a complete response through it."""
    assert client.get(url).status_code == 200
    return post_page(client, url, str(uuid.uuid4()), VALID)


# -- links that stay alive -------------------------------------------------------------------------
def test_anonymous_link_keeps_answering_after_invitations_are_added(app, client_as, minimal):
    sid, _tokens = add_survey(app, minimal, slug="open1")
    c = client_as("researcher")
    r = c.post(f"/research/surveys/{sid}/invitations?lang=en", data={"count": "3"})
    assert r.status_code == 303
    respondent = app.test_client()
    assert _answer(respondent, "/s/open1").status_code == 303
    with app.app_context(), db_session(app) as s:
        token = s.scalars(select(m.Invitation.token).where(m.Invitation.survey_id == sid)).first()
        assert s.get(m.Survey, sid).access == "anonymous"
    assert _answer(app.test_client(), f"/i/{token}").status_code == 303
    assert [(r.invitation_id is None, r.status) for r in _responses(app)] == [
        (True, "complete"),
        (False, "complete"),
    ]
    html = c.get(f"/research/surveys/{sid}?lang=en").get_data(as_text=True)
    for way in ("anonymous", "invitation"):
        row = re.search(rf'<tr data-way="{way}">.*?</tr>', html, re.S).group(0)
        assert "works" in row
        assert re.findall(r"<td>(\d+)</td>", row) == ["1", "0"]  # complete, partial


def test_access_changes_only_by_a_confirmed_action(app, client_as, minimal):
    sid, _ = add_survey(app, minimal, slug="acc")
    c = client_as("researcher")
    r = c.post(
        f"/research/surveys/{sid}/access?lang=en",
        data={"access": "invitation"},
        follow_redirects=True,
    )
    assert "Tick the confirmation box" in r.get_data(as_text=True)
    assert app.test_client().get("/s/acc").status_code == 200
    c.post(f"/research/surveys/{sid}/access", data={"access": "invitation", "confirm": "yes"})
    assert app.test_client().get("/s/acc").status_code == 403
    html = c.get(f"/research/surveys/{sid}?lang=en").get_data(as_text=True)
    row = re.search(r'<tr data-way="anonymous">.*?</tr>', html, re.S).group(0)
    assert ">off<" in row
    c.post(f"/research/surveys/{sid}/access", data={"access": "anonymous", "confirm": "yes"})
    assert app.test_client().get("/s/acc").status_code == 200
    assert audit_actions(app).count(("access_changed", "survey")) == 2
    assert c.post(f"/research/surveys/{sid}/access", data={"access": "x"}).status_code == 400


def test_viewer_cannot_change_access_or_make_links(app, client_as, minimal):
    sid, _ = add_survey(app, minimal, slug="v")
    c = client_as("viewer")
    form = {"access": "invitation", "confirm": "yes"}
    assert c.post(f"/research/surveys/{sid}/access", data=form).status_code == 403
    assert c.post(f"/research/surveys/{sid}/links", data={"channel": "x"}).status_code == 403


# -- branch links, QR codes, short links -------------------------------------------------------
def _make_link(app, c, sid, channel="poster", segments="branch=east"):
    r = c.post(f"/research/surveys/{sid}/links", data={"channel": channel, "segments": segments})
    assert r.status_code == 303
    with app.app_context(), db_session(app) as s:
        return s.scalars(select(m.SurveyLink).order_by(m.SurveyLink.id.desc())).first()


def _decode(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1
    return found[0].text


def test_qr_code_decodes_to_a_link_that_tags_the_response(app, client_as, minimal):
    sid, _ = add_survey(app, minimal, slug="branchy")
    c = client_as("researcher")
    link = _make_link(app, c, sid)
    assert link.segments == {"branch": "east"}
    assert link.channel == "poster"
    r = c.get(f"/research/surveys/{sid}/links/{link.code}/qr.png")
    assert r.status_code == 200
    assert r.mimetype == "image/png"
    url = _decode(r.data)
    assert url == f"http://localhost/l/{link.code}"
    svg = c.get(f"/research/surveys/{sid}/links/{link.code}/qr.svg")
    assert svg.mimetype == "image/svg+xml"
    assert b"<svg" in svg.data
    respondent = app.test_client()
    hop = respondent.get(urlsplit(url).path)
    assert hop.status_code == 302
    target = urlsplit(hop.headers["Location"])
    assert target.path == "/s/branchy"
    assert "k=" in target.query
    assert _answer(respondent, f"{target.path}?{target.query}").status_code == 303
    (resp,) = _responses(app)
    assert resp.segments == {"branch": "east", "channel": "poster", "link": link.code}
    html = c.get(f"/research/surveys/{sid}?lang=en").get_data(as_text=True)
    row = re.search(rf'<tr data-way="{link.code}">.*?</tr>', html, re.S).group(0)
    assert re.findall(r"<td>(\d+)</td>", row) == ["1", "0"]
    assert 'data-channel="poster">poster: 1<' in html


def test_the_plain_survey_qr_code_opens_the_anonymous_link(app, client_as, minimal):
    sid, _ = add_survey(app, minimal, slug="plain")
    r = client_as("viewer").get(f"/research/surveys/{sid}/qr.png")
    assert _decode(r.data) == "http://localhost/s/plain"
    assert client_as("viewer").get(f"/research/surveys/{sid}/qr.gif").status_code == 404


def test_public_url_setting_goes_into_the_qr_code(tmp_path, minimal):
    from tests.surveyapp.conftest import make_app
    from tests.surveyapp.research_helpers import add_user, login

    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, PUBLIC_URL="https://survey.example.cn/")
    sid, _ = add_survey(app, minimal, slug="pub")
    add_user(app, "r@example.org", "researcher")
    c = app.test_client()
    login(c, "r@example.org")
    assert (
        _decode(c.get(f"/research/surveys/{sid}/qr.png").data) == "https://survey.example.cn/s/pub"
    )


def test_a_tampered_segment_parameter_is_refused(app, client_as, minimal):
    sid, _ = add_survey(app, minimal, slug="tamper")
    other, _ = add_survey(app, minimal, slug="other")
    c = client_as("researcher")
    link = _make_link(app, c, sid)
    target = urlsplit(app.test_client().get(f"/l/{link.code}").headers["Location"])
    tag = target.query.removeprefix("k=")
    payload, _dot, signature = tag.partition(".")
    forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    respondent = app.test_client()
    for url in (f"/s/tamper?k={forged}", f"/s/tamper?k={tag[:-3]}", f"/s/other?k={tag}"):
        r = respondent.get(url)
        assert r.status_code == 400, url
        assert post_page(respondent, url, str(uuid.uuid4()), VALID).status_code == 400
    assert _responses(app) == []
    assert app.test_client().get("/l/nosuchcode").status_code == 404


def test_branch_links_are_off_with_the_anonymous_link(app, client_as, minimal):
    sid, _ = add_survey(app, minimal, slug="offlinks")
    c = client_as("researcher")
    link = _make_link(app, c, sid)
    c.post(f"/research/surveys/{sid}/access", data={"access": "invitation", "confirm": "yes"})
    target = app.test_client().get(f"/l/{link.code}").headers["Location"]
    assert app.test_client().get(target).status_code == 403


@pytest.mark.parametrize(
    ("channel", "segments", "message"),
    [
        ("", "branch=east", "The channel is a name"),
        ("poster", "branch", "write each segment as name=value"),
        ("poster", "网点=东", "a segment name uses letters"),
        ("poster", "channel=x", "is not channel or link"),
        ("poster", "a=1, a=2", "given twice"),
    ],
)
def test_bad_links_are_refused_with_a_message(app, client_as, minimal, channel, segments, message):
    sid, _ = add_survey(app, minimal, slug="bad")
    r = client_as("researcher").post(
        f"/research/surveys/{sid}/links?lang=en",
        data={"channel": channel, "segments": segments},
        follow_redirects=True,
    )
    assert message in r.get_data(as_text=True)
    with app.app_context(), db_session(app) as s:
        assert s.scalars(select(m.SurveyLink)).first() is None


# -- tokens ---------------------------------------------------------------------------------------
def test_invitation_tokens_never_start_a_formula():
    tokens = [invitations.new_token() for _ in range(2000)]
    assert all(t[0].isalpha() for t in tokens)
    assert len(set(tokens)) == len(tokens)


# -- recipients uploads -------------------------------------------------------------------------
def _upload(c, sid, data, name, **fields):
    return multipart(
        c,
        f"/research/surveys/{sid}/invitations?lang=en",
        {"recipients": (data, name), **fields},
    )


def test_gbk_upload_with_chinese_headers(app, client_as, minimal):
    sid, _ = add_survey(app, minimal, slug="gbk")
    c = client_as("researcher")
    data = "邮箱,网点\nzhang@example.cn,东区支行\n".encode("gbk")
    assert _upload(c, sid, data, "客户名单.csv").status_code == 303
    with app.app_context(), db_session(app) as s:
        (inv,) = s.scalars(select(m.Invitation)).all()
    assert (inv.recipient, inv.segments) == ("zhang@example.cn", {"branch": "东区支行"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ((",".join(f"c{i}" for i in range(100_000)) + "\n").encode(), "more than 100 columns"),
        (bytes(range(256)) * 40, "binary data"),
        ("邮箱,城市\na@x,北京\n".encode("gbk"), "not UTF-8 text"),  # UTF-8 chosen
    ],
)
def test_bad_uploads_are_refused_with_a_message(app, client_as, minimal, data, message):
    sid, _ = add_survey(app, minimal, slug="badup")
    c = client_as("researcher")
    r = _upload(c, sid, data, "people.csv", encoding="utf-8")
    assert r.status_code == 303
    page = c.get(r.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "people.csv: " in page
    assert message in page
    with app.app_context(), db_session(app) as s:
        assert s.scalars(select(m.Invitation)).first() is None


def test_a_50_mb_upload_is_refused_in_the_page_language(app, client_as, minimal):
    sid, _ = add_survey(app, minimal, slug="huge")
    c = client_as("researcher")
    data = b"email\n" + b"someone@example.cn\n" * (50_000_000 // 19)
    r = multipart(
        c, f"/research/surveys/{sid}/invitations?lang=zh-Hans", {"recipients": (data, "x.csv")}
    )
    assert r.status_code == 303
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "文件太大；请拆分为每个不超过 5 MB 的文件。" in page
    with app.app_context(), db_session(app) as s:
        assert s.scalars(select(m.Invitation)).first() is None


# -- opt-out ------------------------------------------------------------------------------------
def test_opt_out_link_records_the_address_for_good(app, minimal):
    sid, tokens = add_survey(app, minimal, slug="opt", invitations=1)
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        inv = s.scalars(select(m.Invitation)).one()
        inv.recipient = "Zhang@Example.cn"
    c = app.test_client()
    assert "No more e-mail?" in c.get(f"/o/{tokens[0]}?lang=en").get_data(as_text=True)
    r = c.post(f"/o/{tokens[0]}?lang=en")
    assert "You will get no more e-mail" in r.get_data(as_text=True)
    c.post(f"/o/{tokens[0]}")  # twice is once
    with app.app_context(), db_session(app) as s:
        assert s.scalars(select(m.OptOut.address)).all() == ["zhang@example.cn"]
    assert c.get("/o/nosuchtoken").status_code == 404


# -- posters ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("size", "width_mm"), [("A4", 210), ("A5", 148)])
def test_poster_pdf_is_bilingual_with_the_short_link(app, client_as, minimal, size, width_mm):
    from pypdf import PdfReader

    sid, _ = add_survey(app, minimal, slug="poster")
    c = client_as("researcher")
    link = _make_link(app, c, sid, channel="counter", segments="branch=east")
    r = c.get(f"/research/surveys/{sid}/links/{link.code}/poster.pdf?size={size}")
    assert r.status_code == 200
    assert r.mimetype == "application/pdf"
    pdf = PdfReader(io.BytesIO(r.data))
    assert len(pdf.pages) == 1
    assert round(float(pdf.pages[0].mediabox.width) / 72 * 25.4) == width_mm
    text = pdf.pages[0].extract_text()
    assert minimal.title.get("zh-Hans") in text
    assert minimal.title.get("en") in text
    assert f"/l/{link.code}" in text
    assert "branch: east" in text
    assert "扫码" in text
    assert c.get(f"/research/surveys/{sid}/poster.pdf?size=A3").status_code == 404
    assert c.get(f"/research/surveys/{sid}/links/nope/poster.pdf").status_code == 404


# -- messenger cards and frames -------------------------------------------------------------------
def test_survey_pages_carry_a_share_card(app, minimal):
    add_survey(app, minimal, slug="card")
    html = app.test_client().get("/s/card?lang=zh-Hans").get_data(as_text=True)
    title = minimal.title.get("zh-Hans")
    assert f'<meta property="og:title" content="{title}">' in html
    # an absolute address (a messenger fetches it), versioned by the file's content hash
    image_url = re.search(r'<meta property="og:image" content="([^"]+)">', html).group(1)
    assert re.fullmatch(r"http://localhost/static/img/share\.png\?v=[0-9a-f]+", image_url)
    with app.test_client().get(image_url.removeprefix("http://localhost")) as image:
        assert image.status_code == 200
    assert "og:title" not in app.test_client().get("/").get_data(as_text=True)


def test_frames_are_refused_unless_the_origin_is_allowed(tmp_path, minimal):
    from tests.surveyapp.conftest import make_app

    plain = make_app({"DATABASE": tmp_path / "a.sqlite"})
    add_survey(plain, minimal, slug="f")
    csp = plain.test_client().get("/s/f").headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    allowed = make_app(
        {"DATABASE": tmp_path / "b.sqlite"},
        FRAME_ANCESTORS="https://intranet.example.cn https://*.example.com",
    )
    add_survey(allowed, minimal, slug="f")
    c = allowed.test_client()
    csp = c.get("/s/f").headers["Content-Security-Policy"]
    assert csp.endswith("frame-ancestors https://intranet.example.cn https://*.example.com")
    assert "frame-ancestors 'none'" in c.get("/research/login").headers["Content-Security-Policy"]
    with pytest.raises(ValueError, match="FRAME_ANCESTORS: 'javascript:alert' is not an origin"):
        make_app({"DATABASE": tmp_path / "c.sqlite"}, FRAME_ANCESTORS="javascript:alert")


# -- tracking -----------------------------------------------------------------------------------
def test_invitations_page_tracks_each_invitation_and_exports_non_responders(
    app, client_as, minimal
):
    import csv

    from tests.surveyapp.research_helpers import add_response

    sid, tokens = add_survey(app, minimal, slug="track", invitations=3)
    with app.app_context(), db_session(app) as s:
        ids = list(s.scalars(select(m.Invitation.id).order_by(m.Invitation.id)))
    add_response(app, sid, invitation_id=ids[0])
    add_response(app, sid, invitation_id=ids[1], status="partial")
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        s.get(m.Invitation, ids[0]).used_at = m.utcnow()
    c = client_as("researcher")
    html = c.get(f"/research/surveys/{sid}/invitations?lang=en").get_data(as_text=True)
    rows = re.findall(r"<tr><td>\d+</td>.*?</tr>", html, re.S)
    assert ["started" in r for r in rows] == [False, True, False]
    rate = re.search(r'<table class="data" data-rates="branch">.*?</table>', html, re.S).group(0)
    assert re.findall(r"<td>([^<]*)</td>", rate) == ["3", "2", "1", "33 %"]
    body = c.get(f"/research/surveys/{sid}/nonresponders.csv").data.decode("utf-8-sig")
    listed = [row["token"] for row in csv.DictReader(io.StringIO(body))]
    assert listed == tokens[1:]
    assert client_as("viewer").get(f"/research/surveys/{sid}/nonresponders.csv").status_code == 403


def test_sending_without_mail_settings_is_refused_with_a_message(app, client_as, minimal):
    sid, _ = add_survey(app, minimal, slug="nomail", invitations=1)
    c = client_as("researcher")
    html = c.get(f"/research/surveys/{sid}/invitations?lang=en").get_data(as_text=True)
    assert "data-mail-off" in html
    r = c.post(
        f"/research/surveys/{sid}/invitations/send?lang=en",
        data={"kind": "invitation"},
        follow_redirects=True,
    )
    assert "Sending is not set up" in r.get_data(as_text=True)
    assert (
        c.post(f"/research/surveys/{sid}/invitations/send", data={"kind": "x"}).status_code == 400
    )
