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
stored (``User.api_token_hash``): a fast hash is enough for a secret that cannot be
guessed, and it lets a request find its user by an indexed lookup.

The login page (:mod:`surveyapp.auth`) and ``manyi users`` (:mod:`surveyapp.cli.users`)
call these functions; each change is written with its audit record in one transaction.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

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


def token_user(s: Session, token: str) -> m.User | None:
    """The active user whose API token is ``token``, or None."""
    row = s.scalar(select(m.User).where(m.User.api_token_hash == hash_token(token)))
    return row if row is not None and row.active else None


def active_user(s: Session, user_id: int) -> m.User | None:
    """The active user with the primary key ``user_id``, or None."""
    row = s.get(m.User, user_id)
    return row if row is not None and row.active else None


def _existing(s: Session, email: str) -> m.User:
    user = find_user(s, email)
    if user is None:
        msg = f"no user with the e-mail {email!r}; see 'manyi users list'."
        raise AccountError(msg)
    return user


def list_users() -> list[m.User]:
    with get_db().sessions() as s:
        return list(s.scalars(select(m.User).order_by(m.User.email)))


# -- changes (each one transaction with its audit record) ---------------------------------
def create_user(
    email: str, *, role: str, password_hash: str, name: str | None = None, via: str = "cli"
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
        audit.record(s, "created", user, detail={"role": role, "via": via})
    return user


def set_role(email: str, role: str, *, via: str = "cli") -> tuple[m.User, str]:
    """Change the role of an account; returns the user and its former role."""
    check_role(role)
    with get_db().write() as s:
        user = _existing(s, email)
        old = user.role
        user.role = role
        audit.record(s, "role_changed", user, detail={"from": old, "to": role, "via": via})
    return user, old


def reset_password(email: str, password_hash: str, *, via: str = "cli") -> m.User:
    """Store a new password hash (from :func:`hash_password`) for an account."""
    with get_db().write() as s:
        user = _existing(s, email)
        user.password_hash = password_hash
        audit.record(s, "password_reset", user, detail={"via": via})
    return user


def issue_token(email: str, *, via: str = "cli") -> str:
    """A new API token for an account (the old one stops working); shown once."""
    token, hashed = new_api_token()
    with get_db().write() as s:
        user = _existing(s, email)
        user.api_token_hash = hashed
        audit.record(s, "token_issued", user, detail={"via": via})
    return token


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
        return user
    with database.write() as ws:
        detail = {"email": normalise_email(email)[:100]}
        audit.record(ws, "login_failed", object_type="user", detail=detail, user_id=None)
    return None
