"""The submission path: the WTForms form is the one validator and stores only values the
instrument allows, forms follow the instrument, rate limits, and how a page is stored."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict

import questionnaires as qn
from surveyapp import forms
from surveyapp import models as m
from tests.surveyapp.conftest import VALID, add_survey, make_app, post_page, shown_again


def _with_number(q: qn.Questionnaire) -> qn.Questionnaire:
    """``q`` with a required number item (bounds 0..120) and an optional one on page 0."""
    data = q.to_dict()
    items = data["pages"][0]["items"]
    items.append({"id": "age", "type": "number", "minimum": 0, "maximum": 120,
                  "text": {"zh-Hans": "年龄", "en": "Age"}})  # fmt: skip
    items.append({"id": "spend", "type": "number", "required": False,
                  "text": {"zh-Hans": "花费", "en": "Spend"}})  # fmt: skip
    return qn.from_dict(data, source="minimal + number")


@pytest.fixture(scope="module")
def wide(minimal: qn.Questionnaire) -> qn.Questionnaire:
    return _with_number(minimal)


@pytest.fixture(scope="module")
def ctx_app(tmp_path_factory: pytest.TempPathFactory):
    return make_app({"DATABASE": tmp_path_factory.mktemp("fp") / "t.sqlite"})


FIELDS = [*VALID, "a-channel_app", "a-age", "a-spend", "a-unknown"]
raw_values = st.one_of(
    st.sampled_from(["1", "4", "5", "7", "8", "40", "60", "100", "0", "bj", "sh", "y", "false"]),
    st.sampled_from(["", " ", " 7 ", "07", "+3", "-0", "1e2", "4.0", "NaN", "inf", "1e400"]),
    st.sampled_from(["١", "７", "𝟙", "\x00", "a\r\nb", "\u3000", "\ufeff1", "x" * 2100]),
    st.sampled_from(["3.5", "-1", "121", "120", ".5", "5.", "9" * 16, "1_0"]),
    st.integers(-(10**10), 10**10).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=12),
)
posts = st.tuples(
    st.booleans(),  # start from a valid post
    st.lists(st.sampled_from(FIELDS), max_size=4),  # dropped fields
    st.lists(  # added values
        st.one_of(
            st.tuples(st.sampled_from(FIELDS), raw_values),
            st.tuples(  # check boxes: WTForms' false values and look-alikes
                st.sampled_from(["a-channel_app", "a-channel_web"]),
                st.sampled_from(["", "false", "False", "0", "off", "y"]),
            ),
        ),
        max_size=5,
    ),
)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(post=posts, partial=st.booleans())
def test_the_form_passes_only_values_the_instrument_allows(ctx_app, wide, post, partial):
    """Generated posts: a page the form passes has a value (or None) for every column of
    the page, each allowed by the instrument (``forms.column_checks``, the rule imports
    are held to); a page it refuses names the items at fault. A post checked without
    binding the form (``check_post``, the blueprint's way) gets the same verdict."""
    from_valid, dropped, added = post
    base = {**VALID, "a-age": "33"} if from_valid else {}
    data: MultiDict[str, str] = MultiDict(
        [(k, v) for k, v in base.items() if k not in dropped] + list(added)
    )  # a name given twice: both travel, the first counts (as in a browser post)
    checks = forms.column_checks(wide)
    page = wide.pages[0]
    with ctx_app.test_request_context("/", headers={"Accept-Language": "en"}):
        form = forms.page_form(wide, 0, data, partial=partial)
        valid = form.validate()
        values = form.values()
        assert forms.check_post(wide, 0, data, partial=partial) == (form.item_errors, values)
    if not valid:
        assert form.item_errors
        assert set(form.item_errors) <= {item.id for item in page.items}
        return
    assert set(values) == {c for item in page.items for c in item.columns()}
    assert all(v is None or checks[c](v) for c, v in values.items())


def test_a_valid_servqual_page_passes_with_every_column(ctx_app):
    import bench.bench_submit as bench

    q = bench.one_page_servqual()
    data = MultiDict(bench.form_values(q))
    with ctx_app.test_request_context("/"):
        form = forms.page_form(q, 0, data)
        assert form.validate()
        values = form.values()
        assert forms.check_post(q, 0, data) == ({}, values)
    assert len(values) == len(q.columns(meta=False))
    assert None not in values.values()


def test_cached_forms_follow_the_instrument(tmp_path, minimal):
    """Form classes are keyed by the instrument's content: a survey whose snapshot
    changes (same page id, other scale) is checked against the new one."""
    data = minimal.to_dict()
    sat = data["scales"][1]
    sat["max"] = 10  # sat5 -> 1..10
    sat["labels"] = {type(k)(10) if int(k) == 5 else k: v for k, v in sat["labels"].items()}
    wider = qn.from_dict(data, source="minimal, sat 1..10")
    assert wider.content_hash != minimal.content_hash
    post = MultiDict({**VALID, "a-sat": "9"})
    app = make_app({"DATABASE": tmp_path / "t.sqlite"})
    with app.test_request_context("/"):
        assert not forms.page_form(minimal, 0, post).validate()
        assert forms.page_form(wider, 0, post).validate()
        assert forms.page_form_class(minimal, minimal.pages[0]) is forms.page_form_class(
            minimal, minimal.pages[0]
        )


def test_invalid_post_still_gets_messages_and_stores_nothing(tmp_path, minimal):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"})
    add_survey(app, minimal)
    client = app.test_client()
    r = post_page(client, "/s/demo?lang=en", str(uuid.uuid4()), {**VALID, "a-imp_tan": "41"})
    r = shown_again(client, r)
    assert "The points must add up to 100; they add up to 101: take away 1." in r.text
    r = post_page(client, "/s/demo?lang=en", str(uuid.uuid4()), {**VALID, "a-sat": "6"})
    assert "Choose a whole number from 1 to 5." in shown_again(client, r).text


def test_survey_settings_are_read_on_every_request(tmp_path, minimal):
    """The POST path reads the survey row each time (only the immutable snapshot is
    cached): closing, reopening or switching access takes effect on the next request."""
    app = make_app({"DATABASE": tmp_path / "t.sqlite"})
    survey_id, _ = add_survey(app, minimal)
    client = app.test_client()
    db = app.extensions["manyi_db"]

    def set_survey(**values: object) -> None:
        with db.write() as s:
            s.execute(update(m.Survey).where(m.Survey.id == survey_id).values(**values))

    assert post_page(client, "/s/demo", str(uuid.uuid4()), VALID).status_code == 303
    set_survey(status="closed")
    assert post_page(client, "/s/demo", str(uuid.uuid4()), VALID).status_code == 410
    set_survey(status="open", access="invitation")
    assert post_page(client, "/s/demo", str(uuid.uuid4()), VALID).status_code == 403
    set_survey(access="anonymous", status="draft")
    assert post_page(client, "/s/demo", str(uuid.uuid4()), VALID).status_code == 404
    set_survey(status="open", min_seconds=0.0)
    rid = str(uuid.uuid4())
    assert post_page(client, "/s/demo", rid, VALID).status_code == 303
    with db.sessions() as s:
        stored = s.scalars(select(m.Response).where(m.Response.status == "complete")).all()
        assert len(stored) == 2
        assert next(r for r in stored if r.response_id == rid).suspect == {}  # not too fast


def test_rate_limit_covers_every_method_of_the_answer_routes(tmp_path, minimal):
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"}, RATELIMIT_ENABLED=True, SUBMIT_RATE_LIMIT="3/minute"
    )
    add_survey(app, minimal)
    client = app.test_client()
    statuses = [
        post_page(client, "/s/demo", str(uuid.uuid4()), VALID).status_code for _ in range(3)
    ]
    assert statuses == [303, 303, 303]
    assert client.get("/s/demo").status_code == 429
    refused = client.post("/s/demo", data={"response_id": str(uuid.uuid4())},
                          headers={"Accept-Language": "en"})  # fmt: skip
    assert refused.status_code == 429
    assert "Too many requests" in refused.get_data(as_text=True)  # the friendly page
    assert client.get("/s/demo/thanks").status_code == 429  # and the thank-you page


def test_submit_limit_counts_both_answer_routes_and_has_two_windows(tmp_path, minimal):
    """SUBMIT_RATE_LIMIT may name several limits ("a;b"): each counts every hit and any
    refuses; anonymous and invitation posts of one address share the budget."""
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"},
        RATELIMIT_ENABLED=True,
        SUBMIT_RATE_LIMIT="100/minute;3/hour",
    )
    _, tokens = add_survey(app, minimal, slug="inv", invitations=2)
    add_survey(app, minimal, slug="demo")
    client = app.test_client()
    codes = [post_page(client, "/s/demo", str(uuid.uuid4()), VALID).status_code for _ in range(2)]
    codes.append(post_page(client, f"/i/{tokens[0]}", str(uuid.uuid4()), VALID).status_code)
    codes.append(post_page(client, f"/i/{tokens[1]}", str(uuid.uuid4()), VALID).status_code)
    assert codes == [303, 303, 303, 429]


def test_respondent_submission_loads_no_user(tmp_path, minimal):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"})
    add_survey(app, minimal)
    manager = app.login_manager
    loaded = []
    loader = manager._user_callback
    manager._user_callback = lambda uid: loaded.append(uid) or loader(uid)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = "999"  # a login cookie: not looked up to store an answer
    assert post_page(client, "/s/demo", str(uuid.uuid4()), VALID).status_code == 303
    assert loaded == []


def test_second_save_of_a_response_updates_it(tmp_path, minimal):
    """A first save inserts with ON CONFLICT DO NOTHING; the next save of the same id
    conflicts, inserts nothing and updates the stored response instead."""
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, MIN_SECONDS=0.0)
    add_survey(app, minimal)
    client = app.test_client()
    rid = str(uuid.uuid4())
    first = {k: v for k, v in VALID.items() if k != "a-sat"}
    assert post_page(client, "/s/demo", rid, first, action="save").status_code == 303
    assert post_page(client, "/s/demo", rid, {**VALID, "a-sat": "2"}).status_code == 303
    assert post_page(client, "/s/demo", rid, VALID).status_code == 303  # already complete
    db = app.extensions["manyi_db"]
    with db.sessions() as s:
        (resp,) = s.scalars(select(m.Response)).all()
        answers = {a.column: a.num if a.text is None else a.text for a in resp.answers}
    assert resp.status == "complete"
    assert answers["sat"] == 2.0
    assert resp.values_json == m.encode_values(answers)
    assert len(answers) == len(VALID) + 1  # the unticked channel_app is stored as 0


@pytest.mark.parametrize(
    "values",
    [{"comment": "仅文字 only text"}, {"tan1_e": 6.0, "imp_tan": 0.1 + 0.2}, {}],
    ids=["texts-only", "numbers-only", "nothing"],
)
def test_answers_of_one_kind_are_stored_as_sent(any_app, minimal, values):
    """A page of texts only, numbers only or nothing stores exactly that, on the first
    save (insert) and the next (update)."""
    from datetime import timedelta

    from surveyapp.services.responses import PageSave, store_page
    from surveyapp.services.surveys import create_survey

    db = any_app.extensions["manyi_db"]
    with any_app.app_context(), db.write() as s:
        survey = create_survey(s, minimal, slug="kinds")
    survey.questionnaire()
    save = PageSave(str(uuid.uuid4()), 0, values, False, "en", m.utcnow() - timedelta(minutes=1))
    for _first_then_second_save in range(2):  # the second save replaces the answers
        with any_app.app_context():
            assert store_page(db, survey, None, save).kind == "saved"
        with db.sessions() as s:
            (resp,) = s.scalars(select(m.Response)).all()
            stored = {a.column: a.value for a in resp.answers}
        assert stored == values
        assert resp.values_json == m.encode_values(values)


def test_submission_checks_out_one_connection(any_app, minimal):
    """A request holds at most one pooled connection: the read session's is given back
    (db.release) before the page's write transaction takes one. Nothing stays checked
    out."""
    from sqlalchemy import event

    add_survey(any_app, minimal)
    db = any_app.extensions["manyi_db"]
    held: list[int] = []
    event.listen(db.engine, "checkout", lambda *_a: held.append(db.engine.pool.checkedout()))
    client = any_app.test_client()
    rid = str(uuid.uuid4())
    assert post_page(client, "/s/demo", rid, VALID).status_code == 303
    assert held
    assert max(held) == 1
    assert db.engine.pool.checkedout() == 0  # given back when the request ended
    assert post_page(client, "/s/nope", rid, VALID).status_code == 404
    assert db.engine.pool.checkedout() == 0
    with db.sessions() as s:
        (resp,) = s.scalars(select(m.Response)).all()
        assert (resp.response_id, resp.status, len(resp.answers)) == (rid, "complete", 11)
