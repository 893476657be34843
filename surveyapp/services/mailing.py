"""Invitations and reminders by e-mail (or another messenger), run on the task queue.

Who gets a message
    *Invitation*: every invitation with a recipient that has had no message yet.
    *Reminder*: every invitation whose response is not completed, that had its invitation
    and fewer than ``max_reminders`` reminders, the last at least ``interval`` ago.
    Never: an address on the opt-out list (:class:`~surveyapp.models.OptOut`, kept
    forever), an invitation whose delivery failed for good (a bounce).

Sending nobody twice
    Message number *k* of an invitation (0 the invitation, 1.. the reminders) is sent only
    after a transaction moved ``mails_claimed`` from *k* to *k + 1* and set
    ``mail_claimed_at`` (a conditional UPDATE: two workers, or a worker restarted mid-run,
    cannot both win). After the messenger accepted it, ``mails_sent`` becomes *k + 1*. A
    run killed between the two leaves ``mails_claimed > mails_sent``: the message may or
    may not have left, so a run never sends it again by itself, and the page shows it as
    *interrupted*. The state is in the database, not in the worker's memory. A kill -9 of
    a sending worker leaves at most one invitation per sending thread *interrupted* (the
    one between its claim and its record: its delivery and two short transactions; the
    pause that keeps the rate comes before the claim). SMTP gives a client no way to ask
    whether a message it handed over arrived, so exactly once cannot be promised across a
    kill; the scale test (``bench/scale``) measures how often the window is hit.

    Message *k* of an invitation always carries the same Message-ID
    (:func:`message_id`: a hash of the invitation's token, and *k*; the messenger adds
    its domain). A researcher who would rather risk a repeat than a lost invitation
    presses "Send the interrupted again" (:func:`release_interrupted`): the interrupted
    claims older than :func:`lease` go back to *k*, and the next run sends them. A
    recipient whose first copy did arrive gets the same message again (the same
    Message-ID, which mailboxes that collapse duplicates show once); nobody gets two
    different ones. The lease keeps a delivery a live worker is making from being
    released: it is :data:`LEASE_TIMEOUTS` times the SMTP timeout (``MAIL_TIMEOUT_S``),
    longer than a delivery that does not fail with a timeout takes, unless a server
    answers each of its commands just before the timeout (then the claim may be
    released while it is under way, and the message arrives twice, with the same
    Message-ID). A claim from before revision 0010 has no time and counts as old.

Failures
    :class:`~surveyapp.messaging.PermanentFailure` (the server refused the address): the
    invitation is marked failed with the server's reply. :class:`TemporaryFailure` (server
    down): the claim is released, the reply recorded, and the run stops; the next run
    continues where this one stopped.

Rate
    At most ``rate_per_minute`` messages a minute (the provider's limit), paced evenly.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from surveyapp import audit, messaging
from surveyapp import db as dbm
from surveyapp import models as m

Kind = Literal["invitation", "reminder"]
# the message templates: plain text (no HTML escaping), rendered in the worker, which has
# no request (so not through Flask's render_template and its context processors)
_MAIL = Environment(
    loader=PackageLoader("surveyapp", "templates/mail"),
    autoescape=False,  # noqa: S701 - plain-text mail, never shown as HTML
    undefined=StrictUndefined,
)
BATCH = 200  # invitations read per query
#: an interrupted claim may be released once it is this many SMTP timeouts old
LEASE_TIMEOUTS = 2.0


@dataclass(frozen=True, slots=True)
class Policy:
    """How a run sends: the pace and the reminder rules (from the settings)."""

    rate_per_minute: float = 600.0
    max_reminders: int = 2
    interval: timedelta = timedelta(hours=72)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Policy:
        return cls(
            rate_per_minute=float(config["MAIL_RATE_PER_MINUTE"]),
            max_reminders=int(config["MAIL_REMINDERS_MAX"]),
            interval=timedelta(hours=float(config["MAIL_REMINDER_INTERVAL_HOURS"])),
        )


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one run did."""

    sent: int
    failed: int
    stopped: str | None  # the temporary failure that stopped the run, or None


# -- opt-outs ---------------------------------------------------------------------------------
def _address(recipient: str | None) -> str:
    return (recipient or "").strip().lower()


def is_opted_out(s: Session, recipient: str | None) -> bool:
    """Whether ``recipient`` asked for no more mail."""
    if not recipient:
        return False
    found = s.scalar(select(m.OptOut.id).where(m.OptOut.address == _address(recipient)))
    return found is not None


def opt_out(invitation_id: int) -> None:
    """Put the invitation's recipient on the opt-out list (for good; twice is once)."""
    dbm.release()
    try:
        with dbm.get_db().write() as ws:
            inv = ws.get(m.Invitation, invitation_id)
            if inv is None or not inv.recipient:
                return
            ws.add(m.OptOut(address=_address(inv.recipient), invitation_id=inv.id))
    except IntegrityError:
        pass  # already on the list (another request got there first)


def opted_out_of(recipients: list[str | None]) -> set[str]:
    """Which of ``recipients`` (lower-cased) are on the opt-out list."""
    wanted = {_address(r) for r in recipients if r}
    if not wanted:
        return set()
    query = select(m.OptOut.address).where(m.OptOut.address.in_(wanted))
    return set(dbm.session().scalars(query))


def started_of(invitation_ids: list[int]) -> set[int]:
    """Which of the invitations have a response (partial or complete)."""
    if not invitation_ids:
        return set()
    query = select(m.Response.invitation_id).where(m.Response.invitation_id.in_(invitation_ids))
    return {i for i in dbm.session().scalars(query.distinct()) if i is not None}


# -- who gets a message -------------------------------------------------------------------------
def _not_opted_out() -> Any:
    inv = m.Invitation
    return ~select(m.OptOut.id).where(m.OptOut.address == func.lower(inv.recipient)).exists()


def _due(survey_id: int, kind: Kind, policy: Policy, now: datetime) -> Any:
    inv = m.Invitation
    conds = [
        inv.survey_id == survey_id,
        inv.recipient.is_not(None),
        inv.mail_failed.is_(False),
        inv.mails_claimed == inv.mails_sent,  # not interrupted
        _not_opted_out(),
    ]
    if kind == "invitation":
        conds.append(inv.mails_sent == 0)
    else:
        conds += [
            inv.used_at.is_(None),
            inv.mails_sent >= 1,
            inv.mails_sent <= policy.max_reminders,
            inv.last_mailed_at <= now - policy.interval,
            or_(inv.expires_at.is_(None), inv.expires_at > now),
        ]
    return and_(*conds)


def due_count(survey_id: int, kind: Kind, policy: Policy, now: datetime | None = None) -> int:
    """How many invitations a run of ``kind`` would message now."""
    query = select(func.count()).where(_due(survey_id, kind, policy, now or m.utcnow()))
    return dbm.session().scalar(query) or 0


def reminders_pending(survey_id: int, policy: Policy) -> bool:
    """Whether some invitation may still get a reminder later (not answered, not opted
    out, not failed, fewer than the maximum reminders so far)."""
    inv = m.Invitation
    conds = [
        inv.survey_id == survey_id,
        inv.recipient.is_not(None),
        inv.used_at.is_(None),
        inv.mail_failed.is_(False),
        inv.mails_claimed == inv.mails_sent,
        inv.mails_sent >= 1,
        inv.mails_sent <= policy.max_reminders,
        _not_opted_out(),
    ]
    with dbm.get_db().sessions() as s:
        return s.scalar(select(inv.id).where(*conds).limit(1)) is not None


# -- the run ---------------------------------------------------------------------------------
def _titles(survey: m.Survey) -> tuple[str, str]:
    q = survey.questionnaire()
    if survey.title:
        return survey.title, survey.title
    return q.title.get("zh-Hans"), q.title.get("en")


def message_id(invitation: m.Invitation, k: int) -> str:
    """The left part of the Message-ID of message ``k`` of ``invitation``: the same for
    every attempt, different for another message or invitation. The token is the link's
    secret, so only a hash of it is shown."""
    digest = hashlib.sha256(f"manyi-message-id:{invitation.token}".encode()).hexdigest()
    return f"{digest[:32]}.{k}"


def compose(
    survey: m.Survey, invitation: m.Invitation, base_url: str, kind: Kind
) -> messaging.Message:
    """The bilingual message of an invitation or reminder (``templates/mail/*.txt``):
    message number ``invitation.mails_sent``, the one a run sends next."""
    title_zh, title_en = _titles(survey)
    base = base_url.rstrip("/")
    opt_out_link = f"{base}/o/{invitation.token}"
    ctx = {
        "title_zh": title_zh,
        "title_en": title_en,
        "link": f"{base}/i/{invitation.token}",
        "opt_out": opt_out_link,
        "reminder": kind == "reminder",
    }
    return messaging.Message(
        recipient=str(invitation.recipient),
        subject=" ".join(_MAIL.get_template("subject.txt").render(ctx).split()),
        text=_MAIL.get_template("invitation.txt").render(ctx).strip() + "\n",
        unsubscribe=opt_out_link,
        message_id=message_id(invitation, invitation.mails_sent),
    )


def run(
    db: dbm.Database,
    survey_id: int,
    kind: Kind,
    messenger: messaging.Messenger,
    *,
    base_url: str,
    policy: Policy,
    on_sent: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """Send every message of ``kind`` that is due now; see the module's docstring.

    ``on_sent(invitation_id)`` is called after each recorded delivery (progress, tests).
    """
    gap = 60.0 / policy.rate_per_minute if policy.rate_per_minute > 0 else 0.0
    sent = failed = 0
    last = 0.0
    after_id = 0
    with messenger:
        while True:
            now = m.utcnow()
            with db.sessions() as s:
                survey = s.get(m.Survey, survey_id)
                if survey is None:
                    break
                rows = list(
                    s.scalars(
                        select(m.Invitation)
                        .where(_due(survey_id, kind, policy, now), m.Invitation.id > after_id)
                        .order_by(m.Invitation.id)
                        .limit(BATCH)
                    )
                )
                messages = [
                    (inv.id, inv.mails_sent, compose(survey, inv, base_url, kind)) for inv in rows
                ]
            if not messages:
                break
            for inv_id, k, message in messages:
                after_id = inv_id
                # the pause before the claim: a worker killed while it keeps the pace leaves
                # nothing half-done; between claim and record there is only the delivery
                wait = last + gap - time.monotonic()
                if wait > 0:
                    sleep(wait)
                if not _claim(db, inv_id, k):
                    continue  # another worker has it
                last = time.monotonic()
                try:
                    messenger.send(message)
                except messaging.PermanentFailure as exc:
                    _record(db, inv_id, k, error=str(exc)[:1000], failed=True)
                    failed += 1
                    continue
                except messaging.TemporaryFailure as exc:
                    _release(db, inv_id, k, str(exc)[:1000])
                    return RunResult(sent, failed, str(exc))
                _record(db, inv_id, k)
                sent += 1
                if on_sent is not None:
                    on_sent(inv_id)
    return RunResult(sent, failed, None)


_I = m.Invitation


def _claim(db: dbm.Database, inv_id: int, k: int) -> bool:
    with db.write() as ws:
        result = ws.execute(
            update(_I)
            .where(_I.id == inv_id, _I.mails_claimed == k, _I.mails_sent == k)
            .values(mails_claimed=k + 1, mail_claimed_at=m.utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _record(
    db: dbm.Database, inv_id: int, k: int, *, error: str | None = None, failed: bool = False
) -> None:
    now = m.utcnow()
    with db.write() as ws:
        if failed:
            values: dict[str, Any] = {"mail_failed": True, "mail_error": error}
        else:
            # mails_claimed too: a claim released while this delivery was still under way
            # (see lease()) is taken back, so mails_claimed never falls behind mails_sent
            # (which would keep every later message of the invitation from being claimed)
            values = {
                "mails_claimed": k + 1,
                "mails_sent": k + 1,
                "last_mailed_at": now,
                "mail_error": None,
            }
            if k == 0:
                values["sent_at"] = now
        ws.execute(update(_I).where(_I.id == inv_id).values(**values))


def _release(db: dbm.Database, inv_id: int, k: int, error: str) -> None:
    with db.write() as ws:
        ws.execute(
            update(_I)
            .where(_I.id == inv_id, _I.mails_claimed == k + 1)
            .values(mails_claimed=k, mail_error=error)
        )


def lease(config: Mapping[str, Any]) -> timedelta:
    """How old an interrupted claim must be before it may be released: longer than a
    live worker's delivery takes (:data:`LEASE_TIMEOUTS` SMTP timeouts)."""
    timeout = float(config.get("MAIL_TIMEOUT_S") or 30.0)
    return timedelta(seconds=LEASE_TIMEOUTS * timeout)


def _interrupted() -> Any:
    inv = m.Invitation
    return and_(inv.mails_claimed > inv.mails_sent, inv.mail_failed.is_(False))


def release_interrupted(
    survey_id: int, older_than: timedelta, *, user_id: int | None = None
) -> dict[Kind, int]:
    """Give the interrupted messages of the survey claimed more than ``older_than`` ago
    back to the next run (``mails_claimed = mails_sent``), with an audit record; a claim
    that is younger may be a delivery under way and stays. Returns how many invitations
    and how many reminders the next run of each kind will send again."""
    inv = m.Invitation
    before = m.utcnow() - older_than
    old = or_(inv.mail_claimed_at.is_(None), inv.mail_claimed_at < before)
    released: dict[Kind, int] = {"invitation": 0, "reminder": 0}
    kinds: tuple[tuple[Kind, Any], ...] = (
        ("invitation", inv.mails_sent == 0),
        ("reminder", inv.mails_sent > 0),
    )
    dbm.release()
    with dbm.get_db().write() as ws:
        for kind, which in kinds:
            result = ws.execute(
                update(inv)
                .where(inv.survey_id == survey_id, _interrupted(), old, which)
                .values(mails_claimed=inv.mails_sent)
            )
            released[kind] = int(result.rowcount)  # type: ignore[attr-defined]
        if any(released.values()):
            survey = ws.get(m.Survey, survey_id)
            detail: dict[str, Any] = {str(k): n for k, n in released.items()}
            audit.record(ws, "mail_released", survey, detail=detail, user_id=user_id)
    return released


# -- progress and tracking --------------------------------------------------------------------
def progress(survey_id: int) -> dict[str, int]:
    """Per survey: invitations with a recipient, sent, reminded, failed, interrupted,
    opted out, started and completed."""
    inv = m.Invitation
    opted = select(m.OptOut.id).where(m.OptOut.address == func.lower(inv.recipient)).exists()
    started = select(m.Response.id).where(m.Response.invitation_id == inv.id).exists()

    def n(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    counts = {
        "with_recipient": func.count(inv.recipient),
        "sent": n(inv.sent_at.is_not(None)),
        "reminded": n(inv.mails_sent > 1),
        "failed": n(inv.mail_failed.is_(True)),
        "interrupted": n(_interrupted()),
        "opted_out": n(opted),
        "started": n(started),
        "completed": n(inv.used_at.is_not(None)),
    }
    row = dbm.session().execute(select(*counts.values()).where(inv.survey_id == survey_id)).one()
    return {k: int(v or 0) for k, v in zip(counts, row, strict=True)}


@dataclass(frozen=True, slots=True)
class SegmentRate:
    """The invitations of one segment value and how many of them were answered."""

    value: str
    invited: int
    started: int
    completed: int

    @property
    def rate(self) -> int:
        """Completed per invited, in whole per cent."""
        return round(100 * self.completed / self.invited) if self.invited else 0


def rates_by_segment(survey_id: int, names: list[str]) -> dict[str, list[SegmentRate]]:
    """Per segment name of the invitations (``branch``, ``region``...): per value, the
    invitations, the started and the completed responses (the response rate)."""
    inv = m.Invitation
    started = select(m.Response.id).where(m.Response.invitation_id == inv.id).exists()
    out: dict[str, list[SegmentRate]] = {}
    s = dbm.session()
    for name in names:
        value = inv.segments[name].as_string()
        rows = s.execute(
            select(
                value,
                func.count(),
                func.sum(case((started, 1), else_=0)),
                func.count(inv.used_at),
            )
            .where(inv.survey_id == survey_id)
            .group_by(value)
        )
        rates = [
            SegmentRate("" if v is None else str(v), int(n), int(st or 0), int(c))
            for v, n, st, c in rows
        ]
        out[name] = sorted(rates, key=lambda r: r.value)  # no value first, on every backend
    return out
