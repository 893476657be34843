"""Not-applicable answers stored apart from missing ones and exported with a marker; the
item order of a randomised page stored with the response and exported (issue 15)."""

from __future__ import annotations

import re

import openpyxl
import pandas as pd
import pyreadstat
import pytest
from sqlalchemy import select

import questionnaires as qn
import scoring
from surveyapp import models as m
from surveyapp.services import exports
from tests.surveyapp.conftest import VALID, add_survey
from tests.surveyapp.test_survey_conditions import P1, _post, _rid, branching  # noqa: F401

ITEM_ID = re.compile(r'class="item item--\w+[^"]*" id="item-(\w+)"')
CHANNELS = ["channel_app", "channel_web"]


def _responses(app) -> list[m.Response]:
    with app.extensions["manyi_db"].sessions() as s:
        out = list(s.scalars(select(m.Response).order_by(m.Response.id)))
        for resp in out:
            _ = resp.answers
        return out


def _answer(client, *, sat: str, branch: str, comment: str | None = None) -> None:
    """One complete response of ``branching``: dissatisfied respondents see page 2 (a
    comment); only the Shanghai branch is asked the channels."""
    rid = _rid(client.get("/s/demo?lang=en").text)
    r = _post(client, rid, 0, "next", P1 | {"a-sat": sat})
    if r.headers["Location"].endswith("?page=1"):
        r = _post(client, rid, 1, "next", {"a-comment": comment or ""})
    last = {"a-imp_tan": "40", "a-imp_rel": "60", "a-branch": branch}
    r = _post(client, rid, 2, "submit", last)
    assert r.headers["Location"].endswith("/s/demo/thanks")


@pytest.fixture
def answered(app, branching):  # noqa: F811
    """Three responses: satisfied in Beijing (comment and channels not applicable),
    dissatisfied in Beijing with a comment, dissatisfied in Shanghai who ticked no
    channel and wrote no comment (required there: so here it is answered)."""
    sid, _ = add_survey(app, branching)
    _answer(app.test_client(), sat="5", branch="bj")
    _answer(app.test_client(), sat="1", branch="bj", comment="=cmd|' /C calc'!A0")
    return sid


def test_completion_stores_the_columns_not_applicable(app, answered):
    first, second = _responses(app)
    assert first.not_applicable == ["channel_app", "channel_web", "comment"]
    assert second.not_applicable == CHANNELS
    assert "comment" not in first.values()


def test_frame_and_scoring_see_not_applicable_apart_from_missing(app, answered, branching):  # noqa: F811
    with app.extensions["manyi_db"].sessions() as s:
        frame = exports.responses_frame(s, [answered])
    assert list(frame[qn.NOT_APPLICABLE_COLUMN]) == [
        "channel_app;channel_web;comment",
        "channel_app;channel_web",
    ]
    assert frame[CHANNELS].isna().all().all()  # empty cells, as a missing answer's
    mask = scoring.not_applicable_mask(frame, ["comment", *CHANNELS])
    assert mask.tolist() == [[True, True, True], [False, True, True]]
    cols = list(frame.columns)
    # after the answer columns, before the segment columns
    assert cols.index(qn.NOT_APPLICABLE_COLUMN) == len(branching.columns())


def test_csv_marks_not_applicable_cells(app, answered, tmp_path):
    path = tmp_path / "out.csv"
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        exports.write_export(s, [answered], "csv", path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(frame["channel_web"]) == [exports.NA_TEXT, exports.NA_TEXT]
    assert list(frame["comment"]) == [exports.NA_TEXT, "'=cmd|' /C calc'!A0"]  # formula-safe
    assert list(frame["imp_tan"]) == ["40", "40"]
    assert list(frame["not_applicable"]) == [
        "channel_app;channel_web;comment",
        "channel_app;channel_web",
    ]


def test_xlsx_marks_not_applicable_cells_and_the_codebook_says_so(app, answered, tmp_path):
    path = tmp_path / "out.xlsx"
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        exports.write_export(s, [answered], "xlsx", path, language="en")
    wb = openpyxl.load_workbook(path)
    rows = list(wb["responses"].values)
    head = rows[0]
    first = dict(zip(head, rows[1], strict=True))
    assert first["channel_app"] == exports.NA_TEXT
    assert first["comment"] == exports.NA_TEXT
    assert first["sat"] == 5
    codebook = {r[0]: r for r in wb["columns"].values}
    assert "n/a = Not applicable (not shown by its condition)" in codebook["channel_app"][2]
    assert "n/a" not in (codebook["sat"][2] or "")  # sat is always asked


def test_spss_codes_not_applicable_as_a_labelled_user_missing_value(app, answered, tmp_path):
    path = tmp_path / "out.sav"
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        exports.write_export(s, [answered], "sav", path, language="en")
    data, meta = pyreadstat.read_sav(str(path), user_missing=True)
    assert list(data["channel_app"]) == [exports.NA_CODE, exports.NA_CODE]
    assert list(data["comment"]) == [exports.NA_TEXT, "=cmd|' /C calc'!A0"]
    assert meta.variable_value_labels["channel_app"][exports.NA_CODE].startswith("Not applicable")
    assert meta.missing_ranges["channel_app"] == [{"lo": -4.0, "hi": -4.0}]
    plain, _ = pyreadstat.read_sav(str(path))  # user-missing read as missing by default
    assert plain["channel_app"].isna().all()


# -- random order ----------------------------------------------------------------------------
@pytest.fixture
def shuffled(minimal) -> qn.Questionnaire:
    data = minimal.to_dict()
    data["pages"][0]["randomize"] = True
    return qn.from_dict(data)


def test_the_stored_order_is_the_rendered_order_and_is_exported(app, shuffled, tmp_path):
    sid, _ = add_survey(app, shuffled)
    shown = []
    for _ in range(3):
        client = app.test_client()
        page = client.get("/s/demo?lang=en").text
        shown.append(ITEM_ID.findall(page))
        form = {"response_id": _rid(page), "page": "0", "action": "submit", **VALID}
        assert client.post("/s/demo?lang=en", data=form).status_code == 303
    stored = [r.shown_order for r in _responses(app)]
    assert stored == [{"main": order} for order in shown]
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        frame = exports.responses_frame(s, [sid])
        exports.write_export(s, [sid], "csv", tmp_path / "o.csv")
    assert list(frame["order_main"]) == [";".join(o) for o in shown]
    csv = pd.read_csv(tmp_path / "o.csv", dtype=str)
    assert list(csv["order_main"]) == [";".join(o) for o in shown]


def test_a_page_in_listed_order_stores_and_exports_no_order(app, minimal, client):
    sid, _ = add_survey(app, minimal)
    page = client.get("/s/demo?lang=en").text
    form = {"response_id": _rid(page), "page": "0", "action": "submit", **VALID}
    client.post("/s/demo?lang=en", data=form)
    assert _responses(app)[0].shown_order is None
    with app.extensions["manyi_db"].sessions() as s:
        frame = exports.responses_frame(s, [sid])
    assert not [c for c in frame.columns if c.startswith("order_")]
    assert qn.NOT_APPLICABLE_COLUMN not in frame.columns  # no display condition


def test_tidy_and_scoring_agree_on_the_column_name():
    assert qn.NOT_APPLICABLE_COLUMN == scoring.NOT_APPLICABLE


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav"])
def test_an_export_read_back_for_manyi_score_keeps_not_applicable_apart(
    app,
    answered,
    branching,  # noqa: F811
    tmp_path,
    fmt,
):
    from surveyapp.datafiles import read_responses

    path = tmp_path / f"out.{fmt}"
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        exports.write_export(s, [answered], fmt, path, language="en")
    frame = read_responses(path, branching)
    assert frame[CHANNELS].isna().all().all()  # no marker left in the answers
    mask = scoring.not_applicable_mask(frame, ["comment", *CHANNELS])
    assert mask.tolist() == [[True, True, True], [False, True, True]]


def test_the_response_page_shows_not_applicable_apart_from_missing(app, answered, client_as):
    first, second = _responses(app)
    html = client_as("viewer").get(f"/research/responses/{first.id}?lang=en").text
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*channel_app(?:(?!</tr>).)*</tr>", html, re.S)
    assert row is not None
    assert "n/a" in row.group(0)
    assert "Not applicable (not shown by its condition)" in row.group(0)
    html = client_as("viewer").get(f"/research/responses/{second.id}?lang=en").text
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*>comment<(?:(?!</tr>).)*</tr>", html, re.S)
    assert "Not applicable" not in row.group(0)  # answered


def test_the_api_gives_not_applicable_and_the_shown_order(app, answered, tokens, client):
    first, _ = _responses(app)
    headers = {"Authorization": f"Bearer {tokens['viewer']}"}
    body = client.get(f"/api/v1/responses/{first.response_id}", headers=headers).get_json()
    assert body["not_applicable"] == ["channel_app", "channel_web", "comment"]
    assert body["shown_order"] == {}


def test_storage_and_export_on_sqlite_and_postgresql(any_app, branching):  # noqa: F811
    data = branching.to_dict()
    data["pages"][2]["randomize"] = True
    sid, _ = add_survey(any_app, qn.from_dict(data))
    client = any_app.test_client()
    rid = _rid(client.get("/s/demo?lang=en").text)
    _post(client, rid, 0, "next", P1 | {"a-sat": "5"})
    page3 = client.get("/s/demo?lang=en&page=2").text
    shown = ITEM_ID.findall(page3)
    r = _post(client, rid, 2, "submit", {"a-imp_tan": "40", "a-imp_rel": "60", "a-branch": "bj"})
    assert r.headers["Location"].endswith("/s/demo/thanks")
    (resp,) = _responses(any_app)
    assert resp.not_applicable == ["channel_app", "channel_web", "comment"]
    assert resp.shown_order == {"p3": shown}
    with any_app.extensions["manyi_db"].sessions() as s:
        frame = exports.responses_frame(s, [sid])
    assert frame.loc[0, qn.NOT_APPLICABLE_COLUMN] == "channel_app;channel_web;comment"
    assert frame.loc[0, "order_p3"] == ";".join(shown)
