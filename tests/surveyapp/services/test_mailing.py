"""E-mail invitations and reminders through a real (local) SMTP server: the links in the
mail open the survey, reminders skip whoever answered or opted out, bounces are recorded
per invitation, a restart mid-send sends nobody twice, the rate limit paces the sends,
and the example file adapter writes one line per message."""

from __future__ import annotations

import json
import re
import socket
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from surveyapp import messaging
from surveyapp import models as m
from surveyapp.services import mailing
from tests.surveyapp.conftest import VALID, make_app, post_page
from tests.surveyapp.research_helpers import add_user, login

pytest_plugins = ["tests.surveyapp.conftest_research"]

PORTS = range(5200, 5300)  # this branch's ports (the machine is shared)


class Inbox:
    """aiosmtpd handler: keeps every accepted message; refuses addresses ``bounce*``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self) -> Counter[str]:
        return Counter(str(msg["To"]) for msg in self.messages)


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 5200-5299")


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def mail_app(tmp_path, smtp, minimal):
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"},
        MAIL_HOST="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_SECURITY="none",
        MAIL_SENDER="survey@example.cn",
        MAIL_RATE_PER_MINUTE=0.0,
        MAIL_REMINDER_INTERVAL_HOURS=1.0,
        MAIL_REMINDERS_MAX=2,
    )
    from surveyapp.services.invitations import create_invitations
    from surveyapp.services.surveys import create_survey

    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sv = create_survey(s, minimal, slug="mail", access="anonymous")
        people = ["ann@example.cn", "bo@example.cn", "cy@example.cn", "bounce@example.cn"]
        create_invitations(s, sv, [{"email": p, "branch": "east"} for p in people])
        create_invitations(s, sv, [{"branch": "west"}])  # no address: never mailed
        app.config["SURVEY_ID"] = sv.id
    add_user(app, "r@example.org", "researcher")
    return app


def _researcher(app):
    c = app.test_client()
    assert login(c, "r@example.org").status_code == 303
    return c


def _invitations(app):
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        return {i.recipient: i for i in s.scalars(select(m.Invitation))}


def _age(app, hours=2):
    """Move every invitation's last message ``hours`` into the past."""
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        for inv in s.scalars(select(m.Invitation).where(m.Invitation.last_mailed_at.is_not(None))):
            inv.last_mailed_at -= timedelta(hours=hours)


def _link(msg: EmailMessage, path: str) -> str:
    body = msg.get_body(("plain",)).get_content()
    return re.search(rf"http://localhost(/{path}/[A-Za-z0-9_-]+)", body).group(1)


def test_invitations_and_reminders(mail_app, smtp):
    app, sid = mail_app, mail_app.config["SURVEY_ID"]
    c = _researcher(app)
    r = c.post(f"/research/surveys/{sid}/invitations/send", data={"kind": "invitation"})
    assert r.status_code == 303
    assert smtp.to() == Counter(["ann@example.cn", "bo@example.cn", "cy@example.cn"])
    # the reminder run is scheduled one interval later
    (scheduled,) = app.extensions["manyi_queue"].huey.scheduled()
    assert scheduled.name == "send_messages"
    assert scheduled.args == (sid, "reminder", "http://localhost/")
    assert 3500 < (scheduled.eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds() <= 3600
    first = {str(msg["To"]): msg for msg in smtp.messages}
    ann = first["ann@example.cn"]
    assert "邀请" in str(ann["Subject"])
    assert "Invitation" in str(ann["Subject"])
    body = ann.get_body(("plain",)).get_content()
    assert "您的专属链接" in body
    assert "Your personal link" in body
    invs = _invitations(app)
    assert _link(ann, "i") == f"/i/{invs['ann@example.cn'].token}"
    assert ann["List-Unsubscribe"] == f"<http://localhost/o/{invs['ann@example.cn'].token}>"
    bounce = invs["bounce@example.cn"]
    assert bounce.mail_failed
    assert "550" in bounce.mail_error
    assert invs["ann@example.cn"].sent_at is not None

    # ann answers through her link, bo opts out through his
    respondent = app.test_client()
    url = _link(ann, "i")
    assert respondent.get(url).status_code == 200
    assert post_page(respondent, url, str(uuid.uuid4()), VALID).status_code == 303
    app.test_client().post(_link(first["bo@example.cn"], "o"))

    page = c.get(f"/research/surveys/{sid}/invitations?lang=en").get_data(as_text=True)
    assert "Send 0 reminders" in page  # not an hour yet
    _age(app)
    page = c.get(f"/research/surveys/{sid}/invitations?lang=en").get_data(as_text=True)
    assert "4 with an address: 3 sent, 0 reminded, 1 failed, 0 interrupted, 1 opted out" in page
    assert "1 started, 1 completed" in page
    assert "Send 1 reminder</button>" in page

    for _ in range(4):  # at most MAIL_REMINDERS_MAX reminders, then none
        _age(app)
        c.post(f"/research/surveys/{sid}/invitations/send", data={"kind": "reminder"})
    assert smtp.to() == Counter({"ann@example.cn": 1, "bo@example.cn": 1, "cy@example.cn": 3})
    reminder = smtp.messages[-1]
    assert "Reminder" in str(reminder["Subject"])
    assert "还没有收到" in reminder.get_body(("plain",)).get_content()
    assert _invitations(app)["cy@example.cn"].mails_sent == 3

    # sending the invitations again mails nobody: each has had its invitation
    c.post(f"/research/surveys/{sid}/invitations/send", data={"kind": "invitation"})
    assert len(smtp.messages) == 5


def test_reminders_wait_for_the_interval(mail_app, smtp):
    app, sid = mail_app, mail_app.config["SURVEY_ID"]
    policy_ = mailing.Policy(rate_per_minute=0, max_reminders=2, interval=timedelta(hours=72))
    with app.app_context():
        first = _send(app, sid, _smtp(app), policy=policy_)
        assert (first.sent, first.failed) == (3, 1)
        again = _send(app, sid, _smtp(app), "reminder", policy=policy_)
        assert again.sent == 0
        assert mailing.reminders_pending(sid, policy_)


def _send(app, sid, messenger, kind="invitation", *, policy, **kwargs):
    """One run of the mail task (:func:`mailing.run`) for survey ``sid``."""
    return mailing.run(
        app.extensions["manyi_db"],
        sid,
        kind,
        messenger,
        base_url="http://x/",
        policy=policy,
        **kwargs,
    )


def _smtp(app):
    with app.app_context():
        return messaging.from_config(app.config)


class Killed(BaseException):
    """The worker process dies (not an Exception: nothing catches it)."""


class DiesAfter:
    """A messenger that hands ``n`` messages to the real one, then dies: after the
    server accepted the last one, before the run could record it."""

    def __init__(self, inner, n):
        self.inner, self.n = inner, n

    def __enter__(self):
        self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        self.inner.__exit__(*exc)

    def send(self, message):
        self.inner.send(message)
        self.n -= 1
        if self.n == 0:
            raise Killed


def _restart_mid_send(app, smtp):
    """A worker killed after the server accepted the second message, before it recorded
    it; then the restarted worker (a fresh run of the same task) sends the rest."""
    sid = app.config["SURVEY_ID"]
    policy_ = mailing.Policy(rate_per_minute=0)
    with app.app_context():
        with pytest.raises(Killed):
            _send(app, sid, DiesAfter(_smtp(app), 2), policy=policy_)
        assert sum(smtp.to().values()) == 2
        return _send(app, sid, _smtp(app), policy=policy_)


def test_a_restart_mid_send_sends_nobody_twice(mail_app, smtp):
    app, sid = mail_app, mail_app.config["SURVEY_ID"]
    result = _restart_mid_send(app, smtp)
    with app.app_context():
        assert result.sent == 1
        assert max(smtp.to().values()) == 1
        assert set(smtp.to()) == {"ann@example.cn", "bo@example.cn", "cy@example.cn"}
        progress = _progress(app, sid)
    assert progress["interrupted"] == 1  # handed over, not recorded: never sent again
    assert progress["sent"] == 2


def _progress(app, sid):
    with app.test_request_context():
        return mailing.progress(sid)


def test_a_server_that_is_down_stops_the_run_and_the_next_run_continues(mail_app, smtp):
    app, sid = mail_app, mail_app.config["SURVEY_ID"]
    policy_ = mailing.Policy(rate_per_minute=0)
    with app.app_context():
        down = messaging.SmtpMessenger("127.0.0.1", 1, security="none", sender="a@b.cn")
        result = _send(app, sid, down, policy=policy_)
        assert result.sent == 0
        assert "cannot reach the SMTP server" in result.stopped
        assert _progress(app, sid)["interrupted"] == 0
        assert "cannot reach" in _invitations(app)["ann@example.cn"].mail_error
        result = _send(app, sid, _smtp(app), policy=policy_)
    assert result.sent == 3
    assert _invitations(app)["ann@example.cn"].mail_error is None


def test_the_rate_limit_paces_the_sends(mail_app, smtp):
    app, sid = mail_app, mail_app.config["SURVEY_ID"]
    waits: list[float] = []
    with app.app_context():
        _send(app, sid, _smtp(app), policy=mailing.Policy(rate_per_minute=30), sleep=waits.append)
    assert len(waits) == 3  # before the 2nd, 3rd and 4th message (the 4th bounces)
    assert all(1.5 < w <= 2.0 for w in waits)


def test_a_worker_killed_while_it_keeps_the_pace_leaves_nothing_interrupted(mail_app, smtp):
    """The pause between two messages comes before the next claim: a kill -9 during it
    (most of a paced run's time) leaves no invitation claimed and not recorded, so the
    next run sends every one that is left."""
    app, sid = mail_app, mail_app.config["SURVEY_ID"]

    def killed(_seconds: float) -> None:
        raise Killed

    with app.app_context():
        with pytest.raises(Killed):
            _send(app, sid, _smtp(app), policy=mailing.Policy(rate_per_minute=30), sleep=killed)
        assert sum(smtp.to().values()) == 1
        assert _progress(app, sid)["interrupted"] == 0
        _send(app, sid, _smtp(app), policy=mailing.Policy(rate_per_minute=0))
    assert max(smtp.to().values()) == 1
    assert set(smtp.to()) == {"ann@example.cn", "bo@example.cn", "cy@example.cn"}


def test_a_mail_run_that_loses_the_database_is_run_again(mail_app, smtp, monkeypatch):
    """The database goes away after the first message: the task fails, Huey runs it again
    (its retries) and the new run sends the rest, nobody twice."""
    from sqlalchemy.exc import OperationalError

    from surveyapp import tasks

    app, sid = mail_app, mail_app.config["SURVEY_ID"]
    claim = mailing._claim
    calls = []

    def claim_until_the_database_goes(db, inv_id, k):
        calls.append(inv_id)
        if len(calls) == 2:
            raise OperationalError("UPDATE invitation", {}, ConnectionError("server closed"))
        return claim(db, inv_id, k)

    monkeypatch.setattr(mailing, "_claim", claim_until_the_database_goes)
    queue = app.extensions["manyi_queue"]
    with app.app_context():
        queue.send_messages(sid, "invitation", "http://x/")
    assert sum(smtp.to().values()) == 1
    (retry,) = queue.huey.scheduled()
    assert retry.name == "send_messages"
    assert retry.retries == tasks.MAIL_RETRIES - 1
    eta = (retry.eta - datetime.now(UTC).replace(tzinfo=None)).total_seconds()
    assert 0 < eta <= tasks.MAIL_RETRY_DELAY_S
    with app.app_context():  # what the worker does once the delay has passed
        queue.huey.execute(retry, timestamp=retry.eta)
    assert smtp.to() == Counter(["ann@example.cn", "bo@example.cn", "cy@example.cn"])


def test_file_adapter_writes_one_line_per_message(tmp_path, minimal):
    outbox = tmp_path / "sms" / "outbox.jsonl"
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"},
        MESSAGE_ADAPTER="file",
        MESSAGE_OUTBOX=str(outbox),
        MAIL_RATE_PER_MINUTE=0.0,
    )
    from surveyapp.services.invitations import create_invitations
    from surveyapp.services.surveys import create_survey

    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sv = create_survey(s, minimal, slug="sms", access="anonymous")
        create_invitations(s, sv, [{"email": "13800000000"}, {"email": "13900000000"}])
        sid = sv.id
    with app.app_context():
        app.extensions["manyi_queue"].send_messages(sid, "invitation", "https://s.example.cn/")
    lines = [json.loads(x) for x in outbox.read_text("utf-8").splitlines()]
    assert [x["to"] for x in lines] == ["13800000000", "13900000000"]
    assert "https://s.example.cn/i/" in lines[0]["text"]


def test_unknown_adapter_is_named():
    with pytest.raises(ValueError, match="MESSAGE_ADAPTER must be one of"):
        messaging.from_config({"MESSAGE_ADAPTER": "pigeon"})


def _survey_of(app, minimal, slug, n):
    """A survey with ``n`` invitations to p0@example.cn...; its id."""
    from surveyapp.services.invitations import create_invitations
    from surveyapp.services.surveys import create_survey

    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sv = create_survey(s, minimal, slug=slug, access="anonymous")
        create_invitations(s, sv, [{"email": f"p{i}@example.cn"} for i in range(n)])
        return sv.id


def test_the_claims_hold_on_every_backend(any_app, minimal, tmp_path):
    """The restart test again on SQLite and PostgreSQL, through the file adapter."""
    app = any_app
    sid = _survey_of(app, minimal, "claims", 7)
    outbox = tmp_path / "outbox.jsonl"
    policy_ = mailing.Policy(rate_per_minute=0)
    with app.app_context():
        with pytest.raises(Killed):
            _send(app, sid, DiesAfter(messaging.FileMessenger(outbox), 3), policy=policy_)
        result = _send(app, sid, messaging.FileMessenger(outbox), policy=policy_)
    sent = Counter(json.loads(line)["to"] for line in outbox.read_text("utf-8").splitlines())
    assert result.sent == 4
    assert len(sent) == 7
    assert max(sent.values()) == 1
    progress = _progress(app, sid)
    assert (progress["sent"], progress["interrupted"]) == (6, 1)


# -- the same Message-ID for a repeat, and sending the interrupted again ----------------------
def _by_to(smtp) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for msg in smtp.messages:
        out.setdefault(str(msg["To"]), []).append(str(msg["Message-ID"]))
    return out


def test_a_message_keeps_its_message_id(mail_app, smtp):
    """Message k of an invitation has one Message-ID (sent twice, the same header); another
    message of it, or another invitation, has another. The link's token is not in it."""
    app = mail_app
    invs = _invitations(app)
    ann, bo = invs["ann@example.cn"], invs["bo@example.cn"]
    assert mailing.message_id(ann, 0) == mailing.message_id(ann, 0)
    ids = {mailing.message_id(ann, 0), mailing.message_id(ann, 1), mailing.message_id(bo, 0)}
    assert len(ids) == 3
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        survey = s.get(m.Survey, app.config["SURVEY_ID"])
        message = mailing.compose(survey, ann, "http://x/", "invitation")
    assert message.message_id == mailing.message_id(ann, 0)
    with _smtp(app) as messenger:
        messenger.send(message)
        messenger.send(message)
    first, again = (str(msg["Message-ID"]) for msg in smtp.messages)
    assert first == again == f"<{mailing.message_id(ann, 0)}@example.cn>"
    assert ann.token not in first
    assert re.fullmatch(r"<[0-9a-f]{32}\.0@example\.cn>", first)


def _claimed_ago(app, seconds):
    """Move every claim ``seconds`` into the past."""
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        for inv in s.scalars(select(m.Invitation).where(m.Invitation.mail_claimed_at.is_not(None))):
            inv.mail_claimed_at -= timedelta(seconds=seconds)


def test_the_interrupted_are_sent_again_with_the_same_message_id(mail_app, smtp):
    app, sid = mail_app, mail_app.config["SURVEY_ID"]
    _restart_mid_send(app, smtp)
    invs = _invitations(app).values()
    (cut,) = [i for i in invs if i.mails_claimed > i.mails_sent and not i.mail_failed]
    assert cut.recipient == "bo@example.cn"
    assert _by_to(smtp)[cut.recipient] == [f"<{mailing.message_id(cut, 0)}@example.cn>"]
    c = _researcher(app)
    url = f"/research/surveys/{sid}/invitations/resend-interrupted"
    page = c.get(f"/research/surveys/{sid}/invitations?lang=en").get_data(as_text=True)
    assert "Send the 1 interrupted message again" in page
    assert "the same Message-ID" in page
    # unconfirmed: nothing happens
    c.post(url, data={})
    # a claim younger than the lease may be a delivery under way: it stays
    r = c.post(url, data={"confirm": "yes"}, follow_redirects=True)
    assert "None to send again" in r.get_data(as_text=True)
    assert len(smtp.messages) == 3
    assert _progress(app, sid)["interrupted"] == 1
    with app.app_context():
        lease = mailing.lease(app.config)
    assert lease == timedelta(seconds=2 * app.config["MAIL_TIMEOUT_S"])
    _claimed_ago(app, lease.total_seconds() + 1)
    r = c.post(url, data={"confirm": "yes"}, follow_redirects=True)
    assert "Sending 1 interrupted message again" in r.get_data(as_text=True)
    got = _by_to(smtp)
    assert got[cut.recipient] == [f"<{mailing.message_id(cut, 0)}@example.cn>"] * 2
    assert all(len(ids) == 1 for to, ids in got.items() if to != cut.recipient)
    again = _invitations(app)[cut.recipient]
    assert (again.mails_claimed, again.mails_sent) == (1, 1)
    assert _progress(app, sid)["interrupted"] == 0
    page = c.get(f"/research/surveys/{sid}/invitations?lang=en").get_data(as_text=True)
    assert "interrupted message" not in page
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        (entry,) = s.scalars(select(m.AuditLog).where(m.AuditLog.action == "mail_released"))
    assert entry.detail == {"invitation": 1, "reminder": 0}


def test_sending_the_interrupted_again_is_refused_without_csrf_right_or_team(
    tmp_path, smtp, minimal
):
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"},
        WTF_CSRF_ENABLED=True,
        MAIL_HOST="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_SECURITY="none",
        MAIL_RATE_PER_MINUTE=0.0,
    )
    from surveyapp.services.accounts import hash_password
    from surveyapp.services.invitations import create_invitations
    from surveyapp.services.surveys import create_survey
    from tests.surveyapp.research_helpers import PASSWORD

    with app.app_context(), app.extensions["manyi_db"].write() as s:
        team_a, team_b = m.Team(name="A"), m.Team(name="B")
        s.add_all([team_a, team_b])
        s.flush()
        sv = create_survey(s, minimal, slug="mail", access="anonymous")
        sv.team_id = team_a.id
        (inv,) = create_invitations(s, sv, [{"email": "ann@example.cn"}])
        inv.mails_claimed, inv.mail_claimed_at = 1, m.utcnow() - timedelta(days=1)
        for email, role, team in (
            ("r@example.org", "researcher", team_a),
            ("v@example.org", "viewer", team_a),
            ("b@example.org", "researcher", team_b),
        ):
            s.add(
                m.User(email=email, role=role, password_hash=hash_password(PASSWORD), teams=[team])
            )
        sid = sv.id
    url = f"/research/surveys/{sid}/invitations/resend-interrupted"

    def client(email):
        c = app.test_client()
        html = c.get("/research/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        data = {"email": email, "password": PASSWORD, "csrf_token": token}
        assert c.post("/research/login", data=data).status_code == 303
        page = c.get("/research/").get_data(as_text=True)  # the session's token after login
        return c, re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    owner, token = client("r@example.org")
    assert owner.post(url, data={"confirm": "yes"}).status_code == 400  # no CSRF token
    viewer, vtoken = client("v@example.org")
    assert viewer.post(url, data={"confirm": "yes", "csrf_token": vtoken}).status_code == 403
    stranger, btoken = client("b@example.org")
    assert stranger.post(url, data={"confirm": "yes", "csrf_token": btoken}).status_code == 404
    assert smtp.messages == []
    assert _progress(app, sid)["interrupted"] == 1
    r = owner.post(url, data={"confirm": "yes", "csrf_token": token})
    assert r.status_code == 303
    assert smtp.to() == Counter(["ann@example.cn"])
    assert _progress(app, sid)["interrupted"] == 0


def test_releasing_the_interrupted_holds_on_every_backend(any_app, minimal, tmp_path):
    """Through the file adapter: the interrupted invitation and reminder come back to the
    next run of their kind only once their claims are older than the lease; the repeat has
    the same message id; nothing else is sent again."""
    app = any_app
    sid = _survey_of(app, minimal, "release", 5)
    outbox = tmp_path / "outbox.jsonl"
    policy_ = mailing.Policy(rate_per_minute=0, interval=timedelta(0))

    def run(kind, messenger=None):
        return _send(app, sid, messenger or messaging.FileMessenger(outbox), kind, policy=policy_)

    with app.app_context():
        with pytest.raises(Killed):
            run("invitation", DiesAfter(messaging.FileMessenger(outbox), 2))
        run("invitation")
        with pytest.raises(Killed):  # and a reminder run killed at its first message
            run("reminder", DiesAfter(messaging.FileMessenger(outbox), 1))
        lease = timedelta(minutes=1)
        assert mailing.release_interrupted(sid, lease) == {"invitation": 0, "reminder": 0}
        assert _progress(app, sid)["interrupted"] == 2
        _claimed_ago(app, 61)
        assert mailing.release_interrupted(sid, lease) == {"invitation": 1, "reminder": 1}
        assert _progress(app, sid)["interrupted"] == 0
        assert mailing.release_interrupted(sid, lease) == {"invitation": 0, "reminder": 0}
        assert run("invitation").sent == 1  # p1's invitation again
        assert run("reminder").sent == 5  # p0's reminder again, the others' first
    ids: dict[str, list[str]] = {}
    for line in outbox.read_text("utf-8").splitlines():
        ids.setdefault(json.loads(line)["to"], []).append(json.loads(line)["id"])
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        invs = {i.recipient: i for i in s.scalars(select(m.Invitation))}
    p0, p1 = invs["p0@example.cn"], invs["p1@example.cn"]
    assert ids[p0.recipient] == [mailing.message_id(p0, 0)] + [mailing.message_id(p0, 1)] * 2
    assert ids[p1.recipient] == [mailing.message_id(p1, 0)] * 2 + [mailing.message_id(p1, 1)]
    for p in ("p2", "p3", "p4"):
        inv = invs[f"{p}@example.cn"]
        assert ids[inv.recipient] == [mailing.message_id(inv, 0), mailing.message_id(inv, 1)]
    assert all((i.mails_claimed, i.mails_sent) == (2, 2) for i in invs.values())
