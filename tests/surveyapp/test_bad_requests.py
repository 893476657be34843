"""Requests that used to end in 500 get a 4xx (issue 22, item 10): ids beyond a BIGINT in
paths and query arguments, a malformed HTTPS Referer, codes with a trailing newline, and
YAML dates that do not exist."""

from __future__ import annotations

import io
import re
import uuid

import pytest

from surveyapp.security import MAX_ID, id_arg, page_arg
from tests.surveyapp.conftest import VALID, add_survey, make_app
from tests.surveyapp.research_helpers import login

pytest_plugins = ["tests.surveyapp.conftest_research"]

BIG = 2**63  # one more than the largest BIGINT
HUGE = 10**30


@pytest.fixture
def admin(app, users, survey_with_data):
    app.testing = False  # unhandled errors become the 500 page, as in production
    client = app.test_client()
    assert login(client, users["admin"]).status_code == 303
    return client


@pytest.mark.parametrize("n", [BIG, HUGE])
@pytest.mark.parametrize(
    "path",
    [
        "/research/surveys/{n}",
        "/research/studies/{n}",
        "/research/responses/{n}",
        "/research/surveys/{n}/responses",
        "/research/surveys/{n}/export.csv",
        "/research/reports/surveys/{n}",
        "/research/reports/runs/{n}",
        "/api/v1/surveys/{n}",
    ],
)
def test_an_id_beyond_a_bigint_in_a_path_is_404(app, admin, tokens, path, n):
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    r = admin.get(path.format(n=n), headers=headers)
    assert r.status_code == 404, r.status_code


def test_the_largest_bigint_is_an_ordinary_unknown_id(admin):
    assert admin.get(f"/research/surveys/{MAX_ID}").status_code == 404


@pytest.mark.parametrize("n", [BIG, HUGE, -1])
@pytest.mark.parametrize("arg", ["page", "wave"])
def test_huge_page_and_wave_arguments_are_not_a_500(admin, survey_with_data, arg, n):
    r = admin.get(f"/research/surveys/{survey_with_data['id']}/responses?{arg}={n}")
    assert r.status_code == 200  # read as absent: the first page, this wave
    assert admin.get(f"/research/audit?page={n}").status_code == 200


@pytest.mark.parametrize("after", [str(BIG), str(HUGE), "-1", "x"])
def test_an_api_after_beyond_a_bigint_is_400(app, tokens, survey_with_data, after):
    app.testing = False
    r = app.test_client().get(
        f"/api/v1/surveys/{survey_with_data['id']}/responses?after={after}",
        headers={"Authorization": f"Bearer {tokens['admin']}"},
    )
    assert r.status_code == 400
    assert "after" in r.json["error"]


def test_id_and_page_arguments():
    assert id_arg("0") == 0
    assert id_arg(str(MAX_ID)) == MAX_ID
    assert page_arg("3") == 3
    for bad in (str(BIG), "-1"):
        with pytest.raises(ValueError, match="whole number"):
            id_arg(bad)
    with pytest.raises(ValueError, match="invalid literal"):
        id_arg("x")
    for bad in ("0", str(BIG)):
        with pytest.raises(ValueError, match="whole number"):
            page_arg(bad)


@pytest.mark.parametrize("referer", ["https://[survey.example/s/demo", "http://[::1/"])
def test_a_malformed_https_referer_is_400(tmp_path, minimal, referer):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, WTF_CSRF_ENABLED=True)
    app.testing = False
    add_survey(app, minimal)
    client = app.test_client()
    html = client.get("/s/demo", base_url="https://survey.example").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    data = {"response_id": str(uuid.uuid4()), "page": "0", "action": "submit", "csrf_token": token}
    r = client.post(
        "/s/demo",
        data=data | VALID,
        base_url="https://survey.example",
        headers={"Referer": referer},
    )
    assert r.status_code == 400


@pytest.mark.parametrize("slug", ["abc\n", "abc\r\n"])
def test_a_code_with_a_trailing_newline_is_refused(admin, slug):
    r = admin.post("/research/studies/new", data={"name": "Study", "slug": slug})
    assert r.status_code == 422
    r = admin.post(
        "/research/surveys/new",
        data={"builtin": "service_short", "slug": slug, "access": "anonymous"},
    )
    assert r.status_code == 422


def test_a_yaml_date_that_does_not_exist_is_a_422_naming_it(admin, minimal):
    from questionnaires.yamlio import dump_yaml

    text = dump_yaml(minimal).replace("version:", "published: 2026-02-30\nversion:", 1)
    r = admin.post(
        "/research/surveys/new",
        data={"upload": (io.BytesIO(text.encode()), "q.yaml"), "access": "anonymous"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    assert "2026" in r.text or "date" in r.text
