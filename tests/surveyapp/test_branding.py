"""A study's branding (issue 15 item 8): set on the study page by a researcher, refused
with a message naming the field, shown on the respondent pages (a stylesheet file under
the strict CSP, the logo served with its media type and a long cache), in the PDF
report and on the counter posters; no branding keeps the neutral look."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from surveyapp import models as m
from surveyapp.reports import render
from tests.surveyapp.conftest import add_survey, make_app
from tests.surveyapp.research_helpers import add_user
from tests.surveyapp.services.test_branding import image
from tests.surveyapp.test_research import (
    _logged_in_with_csrf,
    audit_actions,
    db_session,
    multipart,
)

pytest_plugins = ["tests.surveyapp.conftest_research"]

ORG = "东方银行 Eastern Bank"


@pytest.fixture
def study(app, minimal):
    """A study with an open anonymous survey (slug "brand") in it: the study's id."""
    sid, _ = add_survey(app, minimal, slug="brand")
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        st = m.Study(slug="st", name="Customer study 2026")
        s.add(st)
        s.flush()
        s.get(m.Survey, sid).study_id = st.id
        return st.id


def _post(client, study_id, lang="en", **fields):
    form = {"org_name": "", "primary": "", "accent": "", **fields}
    return multipart(client, f"/research/studies/{study_id}/branding?lang={lang}", form)


def _study_row(app, study_id):
    with app.app_context(), db_session(app) as s:
        st = s.get(m.Study, study_id)
        return st.brand_name, st.brand_primary, st.brand_accent, st.brand_logo_type


def test_neutral_survey_page_has_no_brand(app, study) -> None:
    html = app.test_client().get("/s/brand?lang=en").get_data(as_text=True)
    assert "brand.css" not in html
    assert "manyi" in html
    assert "brand--org" not in html


def test_branding_is_saved_and_shown_to_respondents(app, client_as, study) -> None:
    c = client_as("researcher")
    logo = image("PNG")
    r = _post(c, study, org_name=ORG, primary="#1F4E79", accent="#0b5cad", logo=(logo, "l.png"))
    assert r.status_code == 303, r.get_data(as_text=True)
    assert _study_row(app, study) == (ORG, "#1f4e79", "#0b5cad", "image/png")
    assert ("branded", "study") in audit_actions(app)

    html = app.test_client().get("/s/brand?lang=zh-Hans").get_data(as_text=True)
    assert ORG in html
    assert ORG in app.test_client().get("/s/brand/thanks?lang=en").get_data(as_text=True)
    refused = app.test_client().get("/s/brand?k=forged&lang=en")
    assert refused.status_code == 400
    assert ORG in refused.get_data(as_text=True)
    css_url = re.search(r'href="(/s/brand/brand\.css\?v=[^"]+)"', html).group(1)
    logo_url = re.search(r'src="(/s/brand/logo\?v=[0-9a-f]{16})"', html).group(1)
    css = app.test_client().get(css_url)
    assert css.mimetype == "text/css"
    assert "--accent: #0b5cad" in css.get_data(as_text=True)
    assert "max-age=31536000" in css.headers["Cache-Control"]
    served = app.test_client().get(logo_url)
    assert served.mimetype == "image/png"
    assert served.data == logo
    assert "immutable" in served.headers["Cache-Control"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    # the CSP stays strict: no inline style was needed
    assert "unsafe-inline" not in served.headers["Content-Security-Policy"]

    # the researcher sees the current values; blank colours and no logo: neutral again
    page = c.get(f"/research/studies/{study}?lang=en").get_data(as_text=True)
    assert 'value="#1f4e79"' in page
    assert "Remove the logo" in page
    assert _post(c, study, org_name=ORG, remove_logo="y").status_code == 303
    assert _study_row(app, study) == (ORG, None, None, None)
    assert app.test_client().get(logo_url).status_code == 404


@pytest.mark.parametrize(
    ("lang", "fields", "message"),
    [
        ("en", {"primary": "navy"}, "Header colour: write # and six hex digits"),
        ("zh-Hans", {"accent": "#12345"}, "强调色：请写成 # 加六位十六进制数字"),
        ("en", {"accent": "#ffcc00"}, "Accent colour: #ffcc00 reaches only 1.4:1"),
        ("zh-Hans", {"accent": "#999999"}, "强调色：#999999 与页面背景的对比度只有 2.7:1"),
        ("en", {"logo": (b"<svg onload='x()'/>", "logo.svg")}, "Logo: only PNG or JPEG"),
        ("zh-Hans", {"logo": (b"%PDF-1.4 ...", "logo.png")}, "标志：只接受 PNG 或 JPEG 图片"),
        ("en", {"logo": (image("PNG") + bytes(200_000), "big.png")}, "larger than 200 kB"),
    ],
)
def test_bad_branding_is_refused_naming_the_field(app, client_as, study, lang, fields, message):
    c = client_as("researcher")
    r = _post(c, study, lang=lang, org_name="X", **fields)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert _study_row(app, study) == (None, None, None, None)  # nothing written


def test_another_teams_study_is_not_found(app, client_as, study) -> None:
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        team = m.Team(name="Team A")
        s.add(team)
        s.flush()
        s.get(m.Study, study).team_id = team.id
    c = client_as("researcher")
    assert _post(c, study, org_name="Mine now").status_code == 404
    assert c.get(f"/research/studies/{study}/logo").status_code == 404
    assert _study_row(app, study)[0] is None
    assert client_as("viewer").post(f"/research/studies/{study}/branding").status_code in (403, 404)


def test_poster_carries_the_brand(app, client_as, study) -> None:
    c = client_as("researcher")
    _post(c, study, org_name=ORG, primary="#1f4e79", logo=(image("JPEG"), "l.jpg"))
    with app.app_context(), db_session(app) as s:
        sid = s.query(m.Survey).filter_by(slug="brand").one().id
    r = c.get(f"/research/surveys/{sid}/poster.pdf")
    assert r.status_code == 200
    page = PdfReader(io.BytesIO(r.data)).pages[0]
    assert ORG in page.extract_text()
    assert page.images, "the logo is drawn on the poster"


def test_pdf_report_names_the_organisation(app, client_as, study) -> None:
    c = client_as("researcher")
    _post(c, study, org_name=ORG, logo=(image("PNG"), "l.png"))
    with app.app_context(), db_session(app) as s:
        sid = s.query(m.Survey).filter_by(slug="brand").one().id
    r = c.get(f"/research/reports/surveys/{sid}/report.pdf?lang=zh-Hans")
    assert r.status_code == 303, r.get_data(as_text=True)  # immediate queue in the tests
    got = c.get(r.headers["Location"])
    if got.status_code == 303:  # pragma: no cover - a machine without the CJK font
        pytest.skip(render.cjk_font.__doc__ or "no font")
    assert got.mimetype == "application/pdf"
    first = PdfReader(io.BytesIO(got.data)).pages[0]
    assert ORG in first.extract_text()
    assert first.images, "the logo is drawn above the title"
    html = c.get(f"/research/reports/surveys/{sid}/report.html").get_data(as_text=True)
    assert ORG in html
    assert 'class="report-brand__logo" src="data:image/png;base64,' in html


def test_branding_needs_the_csrf_token(tmp_path) -> None:
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, WTF_CSRF_ENABLED=True)
    add_user(app, "a@example.org", "admin")
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        st = m.Study(slug="st", name="Study")
        s.add(st)
        s.flush()
        study_id = st.id
    c = _logged_in_with_csrf(app)
    assert (
        c.post(f"/research/studies/{study_id}/branding", data={"org_name": "X"}).status_code == 400
    )
    page = c.get(f"/research/studies/{study_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = c.post(
        f"/research/studies/{study_id}/branding", data={"org_name": "X", "csrf_token": token}
    )
    assert r.status_code == 303
    assert _study_row(app, study_id)[0] == "X"
