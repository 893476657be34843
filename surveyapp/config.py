"""Configuration of the web app: defaults, the environment, the instance folder.

Precedence, lowest first: the defaults below, the environment (``DATABASE_URL``,
``SECRET_KEY`` and every ``MANYI_<NAME>`` variable, which sets ``<NAME>``), then the
mapping given to :func:`surveyapp.create_app`.

The instance folder holds what belongs to one installation: the SQLite database and the
generated secret key. It is ``$MANYI_INSTANCE`` when set, else ``./instance`` in the
current directory (Flask's own default for an installed package would be under
``sys.prefix/var``, which is read-only or shared in many installs, so manyi picks an
explicit, visible place). Tests pass ``DATABASE`` (a path) and get the folder of that
file as instance folder.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    # storage
    "DATABASE_URL": None,  # None -> sqlite:///<instance>/manyi.sqlite
    "SQLITE_BUSY_TIMEOUT_MS": 30_000,
    # WAL pages (4 KiB) before a commit copies them back into the database file. Such a
    # checkpoint runs inside a commit, under the write lock, with an fsync; each process
    # also checkpoints every db.CHECKPOINT_EVERY writes outside the lock, so this (~40 MiB,
    # SQLite's own default is 1,000) is the backstop (bench/README.md)
    "SQLITE_WAL_AUTOCHECKPOINT": 10_000,
    # PostgreSQL connections kept in a process's pool (a request uses at most one at a time)
    "DB_POOL_SIZE": 5,
    "DB_MAX_OVERFLOW": 10,
    "CREATE_TABLES": None,  # None -> only when TESTING; otherwise Alembic (manyi db upgrade)
    # respondent side
    "MIN_SECONDS": 30.0,  # a completed response faster than this is flagged too_fast
    "SUBMIT_RATE_LIMIT": "120/minute;2000/hour",  # per client address, on answer posts
    "RESUME_RATE_LIMIT": "30/minute;300/hour",  # per client address, resume-code look-ups
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_ENABLED": True,
    "DEFAULT_LANGUAGE": "zh-Hans",
    "TRUSTED_PROXIES": 0,  # number of reverse proxies whose X-Forwarded-* to trust
    "HSTS": False,  # send Strict-Transport-Security (only behind HTTPS)
    # Flask / extensions
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "WTF_CSRF_TIME_LIMIT": None,  # valid for the browser session: a long page must not fail
    "MAX_CONTENT_LENGTH": 1_000_000,
    "BABEL_DEFAULT_LOCALE": "zh_Hans",
}

_BOOL = {"1": True, "true": True, "yes": True, "on": True}
_BOOL |= {"0": False, "false": False, "no": False, "off": False}


def _parse_env_value(name: str, raw: str) -> Any:
    """Turn an environment string into the type of the default (bool, int, float)."""
    default = DEFAULTS.get(name)
    if isinstance(default, bool):
        if raw.lower() not in _BOOL:
            msg = f"MANYI_{name} must be one of {sorted(_BOOL)}; got {raw!r}."
            raise ValueError(msg)
        return _BOOL[raw.lower()]
    if isinstance(default, int | float):
        try:
            return type(default)(raw)
        except ValueError:
            msg = f"MANYI_{name} must be a {type(default).__name__}; got {raw!r}."
            raise ValueError(msg) from None
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def from_environ(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings the environment gives (``DATABASE_URL``, ``SECRET_KEY``, ``MANYI_*``)."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for key, raw in env.items():
        if key.startswith("MANYI_") and key != "MANYI_INSTANCE":
            name = key.removeprefix("MANYI_")
            out[name] = _parse_env_value(name, raw)
    if env.get("DATABASE_URL"):
        out["DATABASE_URL"] = env["DATABASE_URL"]
    if env.get("SECRET_KEY"):
        out["SECRET_KEY"] = env["SECRET_KEY"]
    return out


def instance_path(config: Mapping[str, Any] | None = None) -> Path:
    """The instance folder (absolute): ``INSTANCE_PATH``, ``$MANYI_INSTANCE`` or ``./instance``.

    When only a ``DATABASE`` file is given (tests), its folder is the instance folder.
    """
    config = config or {}
    if config.get("INSTANCE_PATH"):
        return Path(config["INSTANCE_PATH"]).resolve()
    if config.get("DATABASE"):
        return Path(config["DATABASE"]).resolve().parent
    env = os.environ.get("MANYI_INSTANCE")
    return Path(env).resolve() if env else (Path.cwd() / "instance").resolve()


def database_url(config: Mapping[str, Any], instance: Path) -> str:
    """The SQLAlchemy URL: ``DATABASE_URL``, ``DATABASE`` (a SQLite file) or the default."""
    if config.get("DATABASE"):
        return f"sqlite:///{Path(config['DATABASE']).resolve()}"
    url = config.get("DATABASE_URL")
    if url:
        url = str(url)
        # people paste Heroku-style URLs; SQLAlchemy needs the driver named for psycopg 3
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgres://")
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
    return f"sqlite:///{instance / 'manyi.sqlite'}"


def secret_key(instance: Path) -> str:
    """The secret key kept in ``<instance>/secret_key``, generated on first use."""
    path = instance / "secret_key"
    if path.is_file():
        key = path.read_text("utf-8").strip()
        if key:
            return key
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # create with owner-only permissions; O_EXCL so two processes starting at once agree
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key


def build(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, environment and ``config`` into the final settings."""
    given = dict(config or {})
    merged: dict[str, Any] = dict(DEFAULTS)
    merged.update(from_environ())
    merged.update(given)
    instance = instance_path(merged)
    instance.mkdir(parents=True, exist_ok=True)
    merged["INSTANCE_PATH"] = str(instance)
    merged["SQLALCHEMY_URL"] = database_url(merged, instance)
    if not merged.get("SECRET_KEY"):
        merged["SECRET_KEY"] = secret_key(instance)
    if merged.get("CREATE_TABLES") is None:
        merged["CREATE_TABLES"] = bool(merged.get("TESTING"))
    return merged
