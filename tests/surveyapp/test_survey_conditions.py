"""Skip logic on the server: pages and items whose display condition does not hold are
skipped, never required, and store nothing (an answer given before they were hidden is
removed); without JavaScript a same-page condition is decided when the page is posted."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

import questionnaires as qn
from surveyapp import models as m
from tests.surveyapp.conftest import VALID, add_survey, shown_again

P1 = {k: VALID[k] for k in ("a-tan1_e", "a-tan1_p", "a-rel1_e", "a-rel1_p")}


@pytest.fixture
def branching(minimal) -> qn.Questionnaire:
    """Page 1: ratings and satisfaction; page 2 (only if dissatisfied): why; page 3:
    allocation, branch, and channels asked only at the Shanghai branch."""
    data = minimal.to_dict()
    items = {i["id"]: i for i in data["pages"][0]["items"]}
    items["comment"] |= {"required": True}
    items["channel"] |= {"required": True, "relevant": "selected(${branch}, 'sh')"}
    data["pages"] = [
        {"id": "p1", "title": {"zh-Hans": "一", "en": "One"},
         "items": [items["tan1"], items["rel1"], items["sat"]]},
        {"id": "p2", "title": {"zh-Hans": "二", "en": "Why"}, "relevant": "${sat} <= 2",
         "items": [items["comment"]]},
        {"id": "p3", "title": {"zh-Hans": "三", "en": "Three"},
         "items": [items["imp"], items["branch"], items["channel"]]},
    ]  # fmt: skip
    return qn.from_dict(data)


def _rid(html: str) -> str:
    return re.search(r'name="response_id" value="([0-9a-f-]{36})"', html).group(1)


def _post(client, rid: str, page: int, action: str, data: dict[str, str]):
    return client.post("/s/demo?lang=en", data={"response_id": rid, "page": str(page),
                                                 "action": action, **data})  # fmt: skip


def _stored(app) -> m.Response:
    with app.extensions["manyi_db"].sessions() as s:
        resp = s.scalars(select(m.Response)).one()
        _ = resp.answers
        return resp


def test_a_satisfied_respondent_skips_the_why_page(app, client, branching):
    add_survey(app, branching)
    rid = _rid(client.get("/s/demo?lang=en").text)
    r = _post(client, rid, 0, "next", P1 | {"a-sat": "5"})
    assert r.headers["Location"].endswith("?page=2")  # page 2 skipped
    page3 = client.get(r.headers["Location"]).text
    assert "Page 3 of 3" in page3
    assert 'data-relevant="selected(${branch}, &#39;sh&#39;)"' in page3  # for the browser
    r = _post(client, rid, 2, "back", {})
    assert r.headers["Location"].endswith("?page=0")  # Back skips it too
    # at the Beijing branch the channels are not asked: not required, nothing stored
    r = _post(client, rid, 2, "submit", {"a-imp_tan": "40", "a-imp_rel": "60",
                                          "a-branch": "bj", "a-channel_app": "y"})  # fmt: skip
    assert r.headers["Location"].endswith("/s/demo/thanks")
    resp = _stored(app)
    assert resp.status == "complete"
    assert "comment" not in resp.values()
    assert not any(c.startswith("channel") for c in resp.values())


def test_a_dissatisfied_respondent_is_asked_why(app, client, branching):
    add_survey(app, branching)
    rid = _rid(client.get("/s/demo?lang=en").text)
    r = _post(client, rid, 0, "next", P1 | {"a-sat": "1"})
    assert r.headers["Location"].endswith("?page=1")
    assert "Why" in client.get(r.headers["Location"]).text
    r = _post(client, rid, 1, "next", {})
    assert "needs an answer" in shown_again(client, r).text  # asked, so required
    r = _post(client, rid, 1, "next", {"a-comment": "太慢"})
    assert r.headers["Location"].endswith("?page=2")
    # at Shanghai the channels are asked, and required
    p3 = {"a-imp_tan": "40", "a-imp_rel": "60", "a-branch": "sh"}
    r = _post(client, rid, 2, "submit", p3)
    assert "Choose at least one option" in shown_again(client, r).text
    r = _post(client, rid, 2, "submit", p3 | {"a-channel_web": "y"})
    assert r.headers["Location"].endswith("/s/demo/thanks")
    values = _stored(app).values()
    assert values["comment"] == "太慢"
    assert values["channel_web"] == 1.0


def test_an_answer_given_before_its_page_was_skipped_is_removed(app, client, branching):
    add_survey(app, branching)
    rid = _rid(client.get("/s/demo?lang=en").text)
    _post(client, rid, 0, "next", P1 | {"a-sat": "1"})
    _post(client, rid, 1, "next", {"a-comment": "太慢"})
    _post(client, rid, 2, "back", {})
    _post(client, rid, 1, "back", {"a-comment": "太慢"})
    _post(client, rid, 0, "next", P1 | {"a-sat": "5"})  # now satisfied: page 2 is skipped
    r = _post(client, rid, 2, "submit", {"a-imp_tan": "40", "a-imp_rel": "60",
                                          "a-branch": "bj"})  # fmt: skip
    assert r.headers["Location"].endswith("/s/demo/thanks")
    # the completed response must not keep an answer to a page that no longer applies
    values = _stored(app).values()
    assert values["sat"] == 5.0
    assert "comment" not in values


def test_piping_shows_earlier_answers_and_link_parameters_escaped(app, client, branching):
    data = branching.to_dict()
    data["pages"][1]["items"][0]["text"] = {
        "zh-Hans": "您打了 ${sat} 分（${param.branch}）。为什么？",
        "en": "You gave ${sat} (${param.branch}). Why?",
    }
    data["pages"][2]["title"] = {"zh-Hans": "三", "en": "About ${comment}"}
    _, [token] = add_survey(app, qn.from_dict(data), invitations=1)
    with app.extensions["manyi_db"].write() as s:
        s.scalars(select(m.Invitation)).one().segments = {"branch": "<b>徐汇</b>"}
    url = f"/i/{token}"
    rid = _rid(client.get(f"{url}?lang=en").text)
    form = {"response_id": rid, "page": "0", "action": "next", **P1, "a-sat": "2"}
    page2 = client.get(client.post(url, data=form).headers["Location"]).text
    assert "You gave 2 (&lt;b&gt;徐汇&lt;/b&gt;). Why?" in page2
    form = {"response_id": rid, "page": "1", "action": "next", "a-comment": "<i>slow</i>"}
    page3 = client.get(client.post(url, data=form).headers["Location"]).text
    assert "About &lt;i&gt;slow&lt;/i&gt;" in page3
    assert "<i>slow</i>" not in page3


def test_piping_a_later_answer_is_refused(branching):
    data = branching.to_dict()
    data["pages"][0]["items"][0]["text"]["en"] = "Before ${comment}"
    with pytest.raises(qn.QuestionnaireError) as err:
        qn.from_dict(data, source="pipe.yaml")
    assert "pages[0].items[0].text.en: the text shows ${comment}, which is not answered" in str(
        err.value
    )


def test_a_randomised_page_keeps_each_respondents_own_order(app, minimal):
    data = minimal.to_dict()
    data["pages"][0]["randomize"] = True
    add_survey(app, qn.from_dict(data))
    orders = set()
    for _ in range(6):
        client = app.test_client()
        first = client.get("/s/demo?lang=en").text
        order = re.findall(r'class="item item--\w+[^"]*" id="item-(\w+)"', first)
        assert sorted(order) == sorted(i.id for i in minimal.items)
        again = client.get("/s/demo?lang=en").text  # the same response: the same order
        assert re.findall(r'class="item item--\w+[^"]*" id="item-(\w+)"', again) == order
        numbers = re.findall(r'<span class="item__number">(\d+)\.</span>', first)
        assert numbers == [str(n + 1) for n in range(len(numbers))]  # numbered as shown
        orders.add(tuple(order))
    assert len(orders) > 1


def test_piping_and_conditions_read_a_branch_links_signed_segments(app, client, branching):
    """An anonymous response through a branch link (a counter's QR code) pipes and tests
    the link's segments, as an invitation's are."""
    from surveyapp.services import links  # only for this test: the tag a QR code carries

    data = branching.to_dict()
    data["pages"][1]["items"][0]["text"] = {
        "zh-Hans": "您打了 ${sat} 分（${param.branch}）。为什么？",
        "en": "You gave ${sat} (${param.branch}). Why?",
    }
    sid, _ = add_survey(app, qn.from_dict(data))
    link = m.SurveyLink(survey_id=sid, channel="counter", code="east1", segments={"branch": "east"})
    tag = links.tag_of(app.config["SECRET_KEY"], link)
    first = client.get("/s/demo", query_string={"lang": "en", "k": tag})
    rid = _rid(first.text)
    form = {"response_id": rid, "page": "0", "action": "next", **P1, "a-sat": "2"}
    r = client.post("/s/demo", query_string={"lang": "en", "k": tag}, data=form)
    assert r.status_code == 303
    page2 = client.get(r.headers["Location"]).text
    assert "You gave 2 (east). Why?" in page2
