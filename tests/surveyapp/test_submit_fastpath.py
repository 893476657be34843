"""The submission hot path: fast validation agrees with WTForms, caches follow the
instrument, the in-memory rate-limit storage starts no thread per request."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict

import questionnaires as qn
from surveyapp import forms
from surveyapp import models as m
from surveyapp.security import SweptMemoryStorage
from tests.surveyapp.conftest import VALID, add_survey, make_app, post_page


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
def test_fast_validation_agrees_with_wtforms(ctx_app, wide, post, partial):
    from_valid, dropped, added = post
    base = {**VALID, "a-age": "33"} if from_valid else {}
    data: MultiDict[str, str] = MultiDict(
        [(k, v) for k, v in base.items() if k not in dropped] + list(added)
    )  # a name given twice: both travel, the first counts (as in a browser post)
    with ctx_app.test_request_context("/", headers={"Accept-Language": "en"}):
        form = forms.page_form(wide, 0, data, partial=partial)
        expected = form.values() if form.validate() else None
        assert forms.validated_values(wide, 0, data, partial=partial) == expected


def test_fast_validation_on_a_valid_servqual_page(ctx_app):
    import bench.bench_submit as bench

    q = bench.one_page_servqual()
    data = MultiDict(bench.form_values(q))
    with ctx_app.test_request_context("/"):
        form = forms.page_form(q, 0, data)
        assert form.validate()
        values = forms.validated_values(q, 0, data)
    assert values == form.values()
    assert len(values) == len(q.columns(meta=False))


def test_cached_forms_follow_the_instrument(tmp_path, minimal):
    """Form classes and validation plans are keyed by the instrument's content: a survey
    whose snapshot changes (same page id, other scale) is checked against the new one."""
    data = minimal.to_dict()
    sat = data["scales"][1]
    sat["max"] = 10  # sat5 -> 1..10
    sat["labels"] = {type(k)(10) if int(k) == 5 else k: v for k, v in sat["labels"].items()}
    wider = qn.from_dict(data, source="minimal, sat 1..10")
    assert wider.content_hash != minimal.content_hash
    post = MultiDict({**VALID, "a-sat": "9"})
    app = make_app({"DATABASE": tmp_path / "t.sqlite"})
    with app.test_request_context("/"):
        assert forms.validated_values(minimal, 0, post) is None
        assert forms.validated_values(wider, 0, post)["sat"] == 9.0  # type: ignore[index]
        assert forms.validated_values(minimal, 0, post) is None
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
    assert r.status_code == 422
    assert "The points must add up to 100; they add up to 101." in r.text
    r = post_page(client, "/s/demo?lang=en", str(uuid.uuid4()), {**VALID, "a-sat": "6"})
    assert r.status_code == 422
    assert "Choose a whole number from 1 to 5." in r.text


def test_memory_rate_limit_storage_starts_no_thread_per_hit():
    storage = SweptMemoryStorage("manyi-memory://")
    time.sleep(0.05)  # the one timer MemoryStorage starts on construction has run
    before = threading.active_count()
    for n in range(300):
        storage.incr(f"client-{n % 3}", 60)
        assert threading.active_count() == before
    assert storage.get("client-0") == 100


def test_memory_rate_limit_storage_sweeps_forgotten_counters():
    storage = SweptMemoryStorage("manyi-memory://")
    time.sleep(0.05)  # the one timer MemoryStorage starts on construction has run
    storage.incr("gone", 0.01)
    time.sleep(0.02)
    storage.incr("kept", 60)
    assert "gone" in storage.storage  # not swept yet: at most once per SWEEP_SECONDS
    storage._next_sweep = 0.0
    storage.incr("kept", 60)
    assert "gone" not in storage.storage
    assert storage.get("kept") == 2


def test_memory_uri_selects_the_swept_storage(tmp_path):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, RATELIMIT_ENABLED=True)
    limiter = app.extensions["manyi_limiter"]
    with app.app_context():
        assert isinstance(limiter.storage, SweptMemoryStorage)


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


def test_rate_limit_is_checked_once_per_request_and_still_enforced(tmp_path, minimal):
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"}, RATELIMIT_ENABLED=True, SUBMIT_RATE_LIMIT="3/minute"
    )
    add_survey(app, minimal)
    limiter = app.extensions["manyi_limiter"]
    hits = []
    strategy = limiter.limiter
    hit = strategy.hit
    strategy.hit = lambda item, *key, **kw: hits.append(key) or hit(item, *key, **kw)
    request_hook = []
    check = limiter._check_request_limit
    limiter._check_request_limit = lambda *a, **k: request_hook.append(1) or check(*a, **k)
    client = app.test_client()
    statuses = [
        post_page(client, "/s/demo", str(uuid.uuid4()), VALID).status_code for _ in range(4)
    ]
    assert statuses == [303, 303, 303, 429]
    assert hits == [("submit_rate_limit", "127.0.0.1")] * 4  # one counter hit per request
    assert request_hook == []  # not Flask-Limiter's app-wide hook as well
    assert client.get("/s/demo").status_code == 200  # GET: not limited
    refused = client.post("/s/demo", data={"response_id": str(uuid.uuid4())},
                          headers={"Accept-Language": "en"})  # fmt: skip
    assert refused.status_code == 429
    assert "Too many requests" in refused.get_data(as_text=True)  # the friendly page


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


def test_app_wide_limits_keep_flask_limiters_request_hook(tmp_path, minimal):
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"}, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2/minute"
    )
    add_survey(app, minimal)
    client = app.test_client()
    assert [client.get("/s/demo").status_code for _ in range(3)] == [200, 200, 429]


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
    assert post_page(client, "/s/demo", rid, first, action="save").status_code == 200
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
    """The answers travel as arrays on PostgreSQL: an all-NULL array still stores."""
    from datetime import timedelta

    from surveyapp.survey import PageSave, create_survey, store_page

    db = any_app.extensions["manyi_db"]
    with any_app.app_context(), db.write() as s:
        survey = create_survey(s, minimal, slug="kinds")
    survey.questionnaire()
    save = PageSave(str(uuid.uuid4()), 0, values, False, "en", m.utcnow() - timedelta(minutes=1))
    for _first_then_general_path in range(2):  # the second save replaces the answers
        with any_app.app_context():
            assert store_page(db, survey, None, save).kind == "saved"
        with db.sessions() as s:
            (resp,) = s.scalars(select(m.Response)).all()
            stored = {a.column: a.value for a in resp.answers}
        assert stored == values
        assert resp.values_json == m.encode_values(values)


def test_submission_checks_out_one_connection_on_postgres(any_app, minimal):
    """On PostgreSQL the survey read and the first save run on the request's one
    connection of the driver pool (autocommit: no BEGIN/COMMIT round trips); SQLite takes
    a connection for each, given back at once. Nothing stays checked out."""
    from sqlalchemy import event

    add_survey(any_app, minimal)
    db = any_app.extensions["manyi_db"]
    engines = [db.engine] if db._driver_engine is None else [db.engine, db._driver_engine]
    checkouts = []
    for engine in engines:
        event.listen(engine, "checkout", lambda *_a: checkouts.append(1))
    client = any_app.test_client()
    rid = str(uuid.uuid4())
    assert post_page(client, "/s/demo", rid, VALID).status_code == 303
    assert len(checkouts) == (2 if db.is_sqlite else 1)
    assert all(e.pool.checkedout() == 0 for e in engines)  # given back when the request ended
    assert post_page(client, "/s/nope", rid, VALID).status_code == 404
    assert all(e.pool.checkedout() == 0 for e in engines)
    with db.sessions() as s:
        (resp,) = s.scalars(select(m.Response)).all()
        assert (resp.response_id, resp.status, len(resp.answers)) == (rid, "complete", 11)


def _stored_rows(db) -> list[dict[str, object]]:
    from sqlalchemy import text

    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM response ORDER BY id")).mappings().all()
        answers = conn.execute(
            text('SELECT response_pk, "column", num, text FROM answer ORDER BY "column"')
        ).all()
    out = []
    for row in rows:
        mine = {c: (n, t) for pk, c, n, t in answers if pk == row["id"]}
        out.append({**row, "answers": mine})
    return out


def test_driver_path_stores_what_the_general_path_stores(any_app, minimal, monkeypatch):
    """A first save written on the bare driver (db.DriverTable: SQLAlchemy's own type
    processing) is the same, column by column and answer by answer, as one written by
    the general SQLAlchemy path; dates keep SQLite's stored text format."""
    import re

    from surveyapp import survey as survey_module

    add_survey(any_app, minimal)
    db = any_app.extensions["manyi_db"]
    client = any_app.test_client()
    post = {**VALID, "a-comment": '引号 "quoted" 和 \\ backslash'}
    assert post_page(client, "/s/demo", str(uuid.uuid4()), post).status_code == 303
    calls = []
    real = survey_module._insert_first_save
    monkeypatch.setattr(survey_module, "_insert_first_save", lambda *a: calls.append(real) and None)
    assert post_page(client, "/s/demo", str(uuid.uuid4()), post).status_code == 303
    # nothing stored by the fast path: with the survey from the cache, then read afresh;
    # then the general path stored it
    assert len(calls) == 2
    fast, general = _stored_rows(db)
    varying = {"id", "response_id", "resume_code", "started_at", "updated_at", "submitted_at"}
    assert {k: v for k, v in fast.items() if k not in varying} == {
        k: v for k, v in general.items() if k not in varying
    }
    assert fast["answers"]["comment"] == (None, post["a-comment"])
    for key in ("started_at", "updated_at", "submitted_at"):
        assert type(fast[key]) is type(general[key])
        if db.is_sqlite:  # stored as text: the same format
            shape = re.sub(r"\d", "9", str(general[key]))
            assert re.sub(r"\d", "9", str(fast[key])) == shape
    with db.sessions() as s:
        responses = s.scalars(select(m.Response).order_by(m.Response.id)).all()
        assert [r.started_at.tzinfo is not None for r in responses] == [True, True]
        assert responses[0].suspect == responses[1].suspect == {"too_fast": True}


def test_driver_connection_that_died_is_replaced(postgres_url, tmp_path, minimal):
    """The driver pool does not ping before lending: a connection whose server process
    is gone fails, is dropped, and the read or write runs once more on a new one; the
    response is stored once."""
    from sqlalchemy import create_engine, text

    from tests.surveyapp.conftest import _truncate

    _truncate(postgres_url)
    database = {"DATABASE_URL": postgres_url, "CREATE_TABLES": False, "INSTANCE_PATH": tmp_path}
    app = make_app(database)
    try:
        add_survey(app, minimal)
        db = app.extensions["manyi_db"]
        client = app.test_client()
        assert post_page(client, "/s/demo", str(uuid.uuid4()), VALID).status_code == 303
        pool = db._driver_engine.pool
        assert pool.checkedin() == 1
        fairy = db._driver_engine.raw_connection()
        pid = fairy.dbapi_connection.info.backend_pid
        fairy.close()
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.dispose()
        rid = str(uuid.uuid4())
        assert post_page(client, "/s/demo", rid, VALID).status_code == 303
        with db.sessions() as s:
            ids = s.scalars(select(m.Response.response_id)).all()
        assert len(ids) == 2
        assert rid in ids
    finally:
        app.extensions["manyi_db"].dispose()


def test_first_saves_use_a_recent_survey_read_checked_when_stored(any_app, minimal, monkeypatch):
    """A first-page POST may use the survey this process read moments ago (no read of its
    own), but its save is stored only while the survey row is unchanged: a change made
    meanwhile, through the ORM or plain SQL, takes effect at once. GETs always read."""
    from sqlalchemy import text

    from surveyapp import survey as survey_module

    survey_id, _ = add_survey(any_app, minimal)
    db = any_app.extensions["manyi_db"]
    reads: list[str] = []
    real = survey_module._read_survey
    monkeypatch.setattr(
        survey_module, "_read_survey", lambda slug: reads.append(slug) or real(slug)
    )
    client = any_app.test_client()

    def post() -> int:
        return post_page(client, "/s/demo", str(uuid.uuid4()), VALID).status_code

    assert [post(), post(), post()] == [303, 303, 303]
    assert len(reads) == 1  # the later two used the survey read by the first
    with db.write() as s:  # closed through the ORM
        s.get(m.Survey, survey_id).status = "closed"
    assert post() == 410
    assert len(reads) == 2  # the cached survey's save was refused, then read afresh
    with db.write() as s:  # reopened by plain SQL, without the too-fast flag
        s.execute(
            text("UPDATE survey SET status = 'open', min_seconds = 0 WHERE id = :id"),
            {"id": survey_id},
        )
    assert post() == 303
    assert client.get("/s/demo").status_code == 200
    assert client.get("/s/demo").status_code == 200
    assert len(reads) == 5  # a closed survey in the cache is not used; GETs read
    with db.sessions() as s:
        stored = s.scalars(select(m.Response).order_by(m.Response.id)).all()
    assert [r.status for r in stored] == ["complete"] * 4
    assert [bool(r.suspect) for r in stored] == [True, True, True, False]  # min_seconds 0 seen
    monkeypatch.setattr(survey_module, "SURVEY_CACHE_SECONDS", -1.0)  # expired on arrival
    assert post() == 303
    assert post() == 303
    assert len(reads) == 7
