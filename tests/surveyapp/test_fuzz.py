"""Generated form posts never cause a 500 and never store an invalid value (hypothesis)."""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from surveyapp import models as m
from surveyapp.forms import column_checks
from surveyapp.services.responses import required_columns
from tests.surveyapp.conftest import VALID, add_survey

ANSWER_FIELDS = [*VALID, "a-channel_app", "a-unknown"]
META_FIELDS = ["response_id", "page", "action", "website"]

odd_text = st.one_of(
    st.sampled_from(["1", "4", "7", "40", "60", "0", "100", "bj", "sh", "y", "ok"]),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.sampled_from(
        ["", " ", "7", "07", "+3", "1e2", "4.0", "NaN", "inf", "-0", "0x10", "١", "７"]
    ),
    st.sampled_from(["\x00", "\u202e", "\ufeff1", "𝟙", "a\r\nb", "<b>x</b>", "' OR 1=1 --"]),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.just("x" * 5000),
)

posts = st.tuples(
    st.dictionaries(st.sampled_from(ANSWER_FIELDS), odd_text, max_size=3),  # changed answers
    st.lists(st.sampled_from(list(VALID)), max_size=4),  # dropped answers
    st.booleans(),  # start from a valid post?
    st.one_of(  # mostly well-formed hidden fields, sometimes garbage
        st.just({}),
        st.just({}),
        st.dictionaries(st.sampled_from(META_FIELDS), odd_text, max_size=2),
    ),
)


ACTIONS = ["submit"] * 5 + ["save", "save", "next", "back", "lang:en", "x"]


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(post=posts, action=st.sampled_from(ACTIONS))
def test_generated_posts_never_500_and_never_store_invalid_values(
    any_app, any_client, minimal, post, action
):
    app, client = any_app, any_client
    extra, drop, from_valid, meta = post
    if not getattr(app, "_fuzz_survey", False):
        add_survey(app, minimal)
        app._fuzz_survey = True  # type: ignore[attr-defined]
    data = dict(VALID) if from_valid else {}
    for k in drop:
        data.pop(k, None)
    data.update({"response_id": str(uuid.uuid4()), "page": "0", "action": action})
    data.update(extra)
    data.update(meta)
    r = client.post("/s/demo", data=data)
    assert r.status_code in (200, 303, 400, 422)
    event(f"status {r.status_code}")
    assert "Traceback" not in r.text
    _check_store(app, minimal)


def _check_store(app, q) -> None:
    checks = column_checks(q)
    required = {c for _p, c in required_columns(q)}
    alloc = q.item("imp")
    with app.extensions["manyi_db"].sessions() as s:
        for resp in s.scalars(select(m.Response)).all():
            values = resp.values()
            for col, value in values.items():
                assert col in checks, f"stored a column the instrument does not have: {col}"
                assert checks[col](value), f"invalid value stored for {col}: {value!r}"
            shares = [values[c] for c in alloc.columns() if c in values]
            assert shares == [] or (
                len(shares) == len(alloc.columns()) and sum(shares) == alloc.total
            )
            if resp.status == "complete":
                assert required <= set(values)
