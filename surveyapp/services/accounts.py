"""Accounts of the researchers' side: roles, passwords, API tokens and the changes to them.

Roles and what they may do (:data:`ROLE_PERMISSIONS`):

============  ==============================================================
viewer        ``view``: survey lists, responses, reports
researcher    ``view``, ``manage`` (create / open / close surveys, invitations,
              quarantine and restore), ``export``
admin         everything, plus ``delete`` (logged) and ``users``
============  ==============================================================

Passwords are hashed with Argon2id (argon2-cffi); a hash made with weaker parameters is
upgraded at the next login. API tokens are random 256-bit secrets; only their SHA-256 is
stored (:class:`~surveyapp.models.ApiToken`): a fast hash is enough for a secret that
cannot be guessed, and it lets a request find its user by an indexed lookup. A user has
any number of tokens, each with a name, scopes (:data:`SCOPES`: ``read``, ``export``,
``manage``; a token may do what its user's role allows *and* its scopes cover), an
expiry (:data:`TOKEN_DAYS` by default), a revocation time and its last use (written at
most once a minute).

Sessions: every session cookie carries the user's ``session_version`` next to the user's
id (:func:`session_user` checks both on every request). :func:`end_sessions` raises it,
and so do a password reset, a role change and a deactivation: every session of that
user, on every device and every copy of its cookie, ends at its next request.

Teams: a user belongs to any number of teams (:class:`~surveyapp.models.Team`); studies
and surveys belong to one team or to none (unassigned). :func:`visible_teams` gives the
team ids whose data a user sees (``None``: all of them, for administrators).

The login page (:mod:`surveyapp.auth`), the people pages (:mod:`surveyapp.people`) and
``manyi users`` (:mod:`surveyapp.cli.users`) call these functions; each change is
written with its audit record in one transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from surveyapp import audit
from surveyapp import models as m
from surveyapp.db import get_db

ROLES: tuple[str, ...] = ("viewer", "researcher", "admin")  # in increasing power
PERMISSIONS: tuple[str, ...] = ("view", "manage", "export", "delete", "users")
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"view"}),
    "researcher": frozenset({"view", "manage", "export"}),
    "admin": frozenset(PERMISSIONS),
}
MIN_PASSWORD = 10
SCOPES: tuple[str, ...] = ("read", "export", "manage")
# the scope an API request needs for a permission or role of requires()
SCOPE_OF: dict[str, str] = {
    "view": "read",
    "export": "export",
    "manage": "manage",
    "delete": "manage",
    "users": "manage",
    "viewer": "read",
    "researcher": "manage",
    "admin": "manage",
}
TOKEN_DAYS = 90  # a new token's life unless told otherwise
MAX_TOKEN_DAYS = 730
LAST_USE_EVERY_S = 60  # how stale a token's last use may get before it is written again

_hasher = PasswordHasher()
# verified against when the e-mail is unknown, so a wrong address costs the same time
_DUMMY_HASH = _hasher.hash("manyi-dummy-password")


class AccountError(ValueError):
    """An account change that cannot be made; the message says what to do instead."""


def allowed(role: str, need: str) -> bool:
    """Whether ``role`` grants ``need`` (a permission, or a role meaning "at least that role")."""
    if need in ROLES:
        return role in ROLES and ROLES.index(role) >= ROLES.index(need)
    return need in ROLE_PERMISSIONS.get(role, frozenset())


# -- passwords and tokens -----------------------------------------------------------------
def check_password_strength(password: str) -> None:
    """Raise ``ValueError`` unless ``password`` has at least :data:`MIN_PASSWORD` characters."""
    if len(password) < MIN_PASSWORD:
        msg = f"password must have at least {MIN_PASSWORD} characters; got {len(password)}."
        raise ValueError(msg)


def hash_password(password: str) -> str:
    """Argon2id hash of ``password`` (checked with :func:`check_password_strength`)."""
    check_password_strength(password)
    return _hasher.hash(password)


def verify_password(user: m.User | None, password: str) -> bool:
    """True when ``password`` is the user's; constant work whether or not the user exists."""
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return user is not None


def needs_rehash(user: m.User) -> bool:
    try:
        return _hasher.check_needs_rehash(user.password_hash)
    except InvalidHashError:  # pragma: no cover - hashes are always ours
        return True


def hash_token(token: str) -> str:
    """SHA-256 (hex) of an API token: what ``User.api_token_hash`` stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_api_token() -> tuple[str, str]:
    """A fresh API token and its hash: ``(token, hash)``; show the token once, store the hash."""
    token = "manyi_" + secrets.token_urlsafe(32)
    return token, hash_token(token)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str:
    """The normalised ``email``, or :class:`AccountError` when it is not an address."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        msg = f"{email!r} is not an e-mail address."
        raise AccountError(msg)
    return email


def check_role(role: str) -> str:
    if role not in ROLES:
        msg = f"role must be one of {', '.join(ROLES)}; got {role!r}."
        raise ValueError(msg)
    return role


# -- finding users ------------------------------------------------------------------------
def find_user(s: Session, email: str) -> m.User | None:
    return s.scalar(select(m.User).where(func.lower(m.User.email) == normalise_email(email)))


def session_user(s: Session, user_id: int, version: int) -> m.User | None:
    """The active user ``user_id`` if its session version is still ``version``, or None."""
    row = s.get(m.User, user_id)
    if row is None or not row.active or row.session_version != version:
        return None
    return row


def visible_teams(user: m.User) -> frozenset[int] | None:
    """The ids of the teams whose studies ``user`` sees; None (every team) for admins."""
    if user.role == "admin":
        return None
    return frozenset(t.id for t in user.teams)


def token_user(s: Session, token: str) -> tuple[m.User, m.ApiToken] | None:
    """The active user whose unexpired, unrevoked API token is ``token``, with the token;
    or None."""
    row = s.scalar(select(m.ApiToken).where(m.ApiToken.token_hash == hash_token(token)))
    if row is None or row.state() != "active" or not row.user.active:
        return None
    return row.user, row


def record_token_use(token_id: int, when: Any) -> None:
    """Store ``when`` as the token's last use (the caller skips it while the stored one is
    fresher than :data:`LAST_USE_EVERY_S`)."""
    with get_db().write() as s:
        row = s.get(m.ApiToken, token_id)
        if row is not None:
            row.last_used_at = when


def _existing(s: Session, email: str) -> m.User:
    user = find_user(s, email)
    if user is None:
        msg = f"no user with the e-mail {email!r}; see 'manyi users list'."
        raise AccountError(msg)
    return user


def list_users() -> list[m.User]:
    with get_db().sessions() as s:
        return list(
            s.scalars(select(m.User).options(selectinload(m.User.teams)).order_by(m.User.email))
        )


def get_user(user_id: int) -> m.User:
    """The account ``user_id`` (teams loaded); :class:`AccountError` when there is none."""
    with get_db().sessions() as s:
        user = s.get(m.User, user_id, options=[selectinload(m.User.teams)])
    if user is None:
        msg = f"no user {user_id}"
        raise AccountError(msg)
    return user


def list_teams() -> list[m.Team]:
    with get_db().sessions() as s:
        return list(s.scalars(select(m.Team).order_by(m.Team.name)))


def _bump(user: m.User) -> None:
    # every session cookie of the user names the old version: all of them end
    user.session_version = (user.session_version or 0) + 1


# -- changes (each one transaction with its audit record) ---------------------------------
def create_user(
    email: str,
    *,
    role: str,
    password_hash: str,
    name: str | None = None,
    via: str = "cli",
    actor: int | None = None,
) -> m.User:
    """Create an active account; :class:`AccountError` when the e-mail is taken."""
    email = check_email(email)
    check_role(role)
    with get_db().write() as s:
        if find_user(s, email) is not None:
            msg = f"a user with the e-mail {email!r} exists; use 'manyi users reset-password'."
            raise AccountError(msg)
        user = m.User(email=email, name=name, role=role, password_hash=password_hash, active=True)
        s.add(user)
        s.flush()
        audit.record(s, "created", user, detail={"role": role, "via": via}, user_id=actor)
    return user


def set_role(
    email: str, role: str, *, via: str = "cli", actor: int | None = None
) -> tuple[m.User, str]:
    """Change the role of an account (ending its sessions); returns the user and its
    former role. ``actor`` is the acting user's id (None: the shell)."""
    check_role(role)
    with get_db().write() as s:
        user = _existing(s, email)
        old = user.role
        user.role = role
        _bump(user)
        audit.record(
            s, "role_changed", user, detail={"from": old, "to": role, "via": via}, user_id=actor
        )
    return user, old


def reset_password(
    email: str, password_hash: str, *, via: str = "cli", actor: int | None = None
) -> m.User:
    """Store a new password hash (from :func:`hash_password`) for an account and end
    its sessions."""
    with get_db().write() as s:
        user = _existing(s, email)
        user.password_hash = password_hash
        _bump(user)
        audit.record(s, "password_reset", user, detail={"via": via}, user_id=actor)
    return user


def set_active(email: str, active: bool, *, via: str = "cli", actor: int | None = None) -> m.User:
    """Deactivate an account (ending its sessions; its API tokens stop working) or
    re-activate it."""
    with get_db().write() as s:
        user = _existing(s, email)
        if user.id == actor and not active:
            msg = "you cannot deactivate your own account; ask another administrator."
            raise AccountError(msg)
        user.active = active
        _bump(user)
        action = "reactivated" if active else "deactivated"
        audit.record(s, action, user, detail={"via": via}, user_id=actor)
    return user


def end_sessions(user_id: int, *, via: str = "web", actor: int | None = None) -> None:
    """End every session of the user ``user_id`` (log-out, "log out everywhere")."""
    with get_db().write() as s:
        user = s.get(m.User, user_id)
        if user is None:
            return
        _bump(user)
        audit.record(s, "sessions_ended", user, detail={"via": via}, user_id=actor)


def create_team(name: str, *, via: str = "cli", actor: int | None = None) -> m.Team:
    """A new team; :class:`AccountError` when the name is taken or empty."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        msg = f"a team name has 1 to 100 characters; got {len(name)}."
        raise AccountError(msg)
    with get_db().write() as s:
        if s.scalar(select(m.Team).where(m.Team.name == name)) is not None:
            msg = f"a team named {name!r} exists."
            raise AccountError(msg)
        team = m.Team(name=name)
        s.add(team)
        s.flush()
        audit.record(s, "created", team, detail={"via": via}, user_id=actor)
    return team


def set_teams(
    email: str, team_names: list[str], *, via: str = "cli", actor: int | None = None
) -> m.User:
    """Make ``team_names`` the teams of an account (ending its sessions)."""
    with get_db().write() as s:
        user = _existing(s, email)
        wanted = sorted(set(team_names))
        teams = list(s.scalars(select(m.Team).where(m.Team.name.in_(wanted))))
        unknown = sorted(set(wanted) - {t.name for t in teams})
        if unknown:
            msg = f"no team named {unknown[0]!r}; create it first."
            raise AccountError(msg)
        old = sorted(t.name for t in user.teams)
        user.teams = teams
        _bump(user)
        detail = {"from": old, "to": wanted, "via": via}
        audit.record(s, "teams_changed", user, detail=detail, user_id=actor)
    return user


def check_scopes(scopes: list[str]) -> list[str]:
    """The scopes sorted in :data:`SCOPES` order; ``ValueError`` for an unknown or none."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        msg = f"scopes are one or more of {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}."
        raise AccountError(msg)
    return [x for x in SCOPES if x in scopes]


def issue_token(
    email: str,
    *,
    name: str = "token",
    scopes: list[str] | None = None,
    days: int | None = TOKEN_DAYS,
    via: str = "cli",
    actor: int | None = None,
) -> str:
    """A new API token for an account (``scopes`` default: all; expiring after ``days``,
    never for None); the token is returned once and only its hash is stored."""
    chosen = check_scopes(list(SCOPES) if scopes is None else scopes)
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        msg = f"a token lives 1 to {MAX_TOKEN_DAYS} days; got {days}."
        raise AccountError(msg)
    name = " ".join(name.split())[:100] or "token"
    token, hashed = new_api_token()
    now = m.utcnow()
    with get_db().write() as s:
        user = _existing(s, email)
        row = m.ApiToken(
            user_id=user.id,
            name=name,
            token_hash=hashed,
            scopes=chosen,
            created_at=now,
            expires_at=now + timedelta(days=days) if days is not None else None,
        )
        s.add(row)
        s.flush()
        detail = {"token": row.id, "name": name, "scopes": chosen, "days": days, "via": via}
        audit.record(s, "token_issued", user, detail=detail, user_id=actor)
    return token


def list_tokens(email: str) -> list[m.ApiToken]:
    """The API tokens of an account, newest first."""
    with get_db().sessions() as s:
        user = _existing(s, email)
        query = select(m.ApiToken).where(m.ApiToken.user_id == user.id)
        return list(s.scalars(query.order_by(m.ApiToken.id.desc())))


def revoke_token(email: str, token_id: int, *, via: str = "cli", actor: int | None = None) -> None:
    """Revoke one API token of an account (it stops working at once)."""
    with get_db().write() as s:
        user = _existing(s, email)
        row = s.get(m.ApiToken, token_id)
        if row is None or row.user_id != user.id:
            msg = f"{email} has no token {token_id}; see 'manyi users tokens {email}'."
            raise AccountError(msg)
        if row.revoked_at is None:
            row.revoked_at = m.utcnow()
            detail = {"token": row.id, "name": row.name, "via": via}
            audit.record(s, "token_revoked", user, detail=detail, user_id=actor)


def log_in(email: str, password: str) -> m.User | None:
    """The active user whose e-mail and password these are, with the login recorded
    (and a weak hash upgraded); None, with the failure recorded, otherwise."""
    database = get_db()
    with database.sessions() as s:
        row = find_user(s, email)
    if verify_password(row, password) and row is not None and row.active:
        with database.write() as ws:
            user = ws.get(m.User, row.id)
            if user is None:  # deleted between the read and the write
                return None
            user.last_login_at = m.utcnow()
            if needs_rehash(user):
                user.password_hash = _hasher.hash(password)
            audit.record(ws, "logged_in", user, user_id=user.id)
            _ = user.teams  # loaded now: the caller reads them after the transaction
        return user
    with database.write() as ws:
        detail = {"email": normalise_email(email)[:100]}
        audit.record(ws, "login_failed", object_type="user", detail=detail, user_id=None)
    return None
