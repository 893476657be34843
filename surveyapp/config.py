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
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting of the app: its name (``MANYI_<name>`` in the environment), the type
    an environment value is read as, the default and what it does (the README's settings
    table says the same; a test compares them)."""

    name: str
    type: type
    default: Any
    help: str


#: Every setting of manyi, in one table. Flask's and its extensions' own settings that
#: manyi sets a default for are here too; any other Flask setting can still be given.
SETTINGS: tuple[Setting, ...] = (
    # storage
    Setting("DATABASE_URL", str, None,
            "SQLAlchemy URL of the database (`postgresql://user@host/db` needs the "
            "`postgres` extra); empty: `sqlite:///<instance>/manyi.sqlite`."),
    Setting("SECRET_KEY", str, None,
            "Signs sessions and CSRF tokens; empty: generated once into "
            "`<instance>/secret_key`. Give every app server the same key."),
    Setting("SQLITE_BUSY_TIMEOUT_MS", int, 10_000,
            "How long a SQLite writer waits for the write lock before it gives up (well "
            "below gunicorn's 30 s worker time-out)."),
    Setting("SQLITE_WAL_AUTOCHECKPOINT", int, 10_000,
            "WAL pages (4 KiB) before a commit copies them back into the database file."),
    Setting("DB_POOL_SIZE", int, 5, "PostgreSQL connections kept open per process."),
    Setting("DB_MAX_OVERFLOW", int, 10,
            "PostgreSQL connections opened beyond `DB_POOL_SIZE` under load."),
    Setting("DB_CONNECT_TIMEOUT_S", float, 5.0,
            "PostgreSQL: seconds to open a connection, or to wait for a free one in the "
            "pool, before the request gets the 'database unavailable' page."),
    Setting("DB_STATEMENT_TIMEOUT_S", float, 20.0,
            "PostgreSQL: the server cancels a statement (or a lock wait) after this many "
            "seconds; below gunicorn's 30 s worker time-out."),
    Setting("CREATE_TABLES", bool, None,
            "Create the tables directly instead of by the migrations; empty: only when "
            "`TESTING`."),
    # respondents
    Setting("MIN_SECONDS", float, 30.0,
            "A completed response faster than this many seconds is flagged too fast."),
    Setting("SUBMIT_RATE_LIMIT", str, "120/minute;2000/hour",
            "Requests per client address to the answer pages, the thank-you and landing "
            "pages and short links (every method)."),
    Setting("RESUME_RATE_LIMIT", str, "30/minute;300/hour",
            "Requests per client address to the resume pages (every method)."),
    Setting("RESUME_DAYS", int, 30,
            "Days after its last save that a partial response can be continued by its "
            "resume code, its link or the browser that saved it."),
    Setting("DEFAULT_LANGUAGE", str, "zh-Hans",
            "Language of a page when the browser asks for none the survey offers."),
    # researchers
    Setting("LOGIN_LIFETIME_HOURS", float, 12.0, "A researcher's login ends after this."),
    Setting("LOGIN_IDLE_MINUTES", float, 60.0,
            "A researcher's login ends after this long without a request."),
    Setting("LOGIN_RATE_LIMIT", str, "10/minute;100/hour",
            "Requests per client address to the login page (every method)."),
    # reports and long work
    Setting("REPORT_RUN_BUDGET_S", float, 600.0,
            "A queued scoring run (a bootstrap) is stopped after this many seconds."),
    Setting("REPORT_RUN_STALE_S", float, 120.0,
            "A running scoring run whose worker gave no heartbeat this long is marked "
            "failed (a killed worker)."),
    Setting("QUEUE_URL", str, None,
            "The task queue of `manyi worker`: `redis://host:port/db` (Huey on Redis); "
            "empty: a SQLite file `<instance>/queue.sqlite`."),
    Setting("QUEUE_IMMEDIATE", bool, None,
            "Run queued tasks at once in the process that queues them (no worker); "
            "empty: only when `TESTING`."),
    Setting("QUEUE_WORKERS", int, 2, "Tasks one `manyi worker` process does at once."),
    # distribution: e-mail and other messengers (surveyapp.messaging)
    Setting("MESSAGE_ADAPTER", str, "smtp",
            "How invitations are sent: `smtp` (the `MAIL_*` settings) or `file` (the "
            "example adapter: one JSON line per message in `MESSAGE_OUTBOX`)."),
    Setting("MESSAGE_OUTBOX", str, None,
            "File of the `file` adapter; empty: `<instance>/outbox.jsonl`."),
    Setting("MAIL_HOST", str, None, "SMTP server of the invitations; empty: no e-mail."),
    Setting("MAIL_PORT", int, 587, "Port of the SMTP server."),
    Setting("MAIL_SECURITY", str, "starttls",
            "`starttls`, `ssl` (SMTPS, usually port 465) or `none` (a local relay)."),
    Setting("MAIL_USERNAME", str, None, "Login at the SMTP server; empty: no login."),
    Setting("MAIL_PASSWORD", str, None, "Password of `MAIL_USERNAME`."),
    Setting("MAIL_SENDER", str, "manyi@localhost", "The From address of the invitations."),
    Setting("MAIL_TIMEOUT_S", float, 30.0, "Seconds to wait for the SMTP server."),
    Setting("MAIL_RATE_PER_MINUTE", float, 600.0,
            "At most this many messages a minute (the mail provider's limit); 0: no limit."),
    Setting("MAIL_REMINDERS_MAX", int, 2, "Reminders a non-responder gets at most."),
    Setting("MAIL_REMINDER_INTERVAL_HOURS", float, 72.0,
            "Least time between two messages to one recipient, and from the invitation "
            "to the first reminder."),
    Setting("DISTRIBUTION_RATE_LIMIT", str, "120/minute;2000/hour",
            "Requests per client address to the researchers' link, QR, poster and "
            "sending pages (every method)."),
    Setting("PUBLIC_URL", str, None,
            "The address respondents reach the app at (e.g. `https://survey.example.cn`), "
            "for the links in messages, QR codes and posters; empty: the address of the "
            "researcher's request."),
    Setting("FRAME_ANCESTORS", str, None,
            "Origins that may show a survey in a frame, separated by spaces (e.g. "
            "`https://intranet.example.cn`); empty: none."),
    Setting("CACHE_TYPE", str, "FileSystemCache",
            "Flask-Caching backend of the report cache: `FileSystemCache`, "
            "`SimpleCache` (per process) or `RedisCache`."),
    Setting("CACHE_DIR", str, None,
            "Folder of the `FileSystemCache`; empty: `<instance>/cache`."),
    Setting("CACHE_THRESHOLD", int, 500,
            "Entries (reports, and the response frames they were built from: tens of MB for "
            "100,000 responses) the file or simple cache keeps before it evicts the oldest."),
    Setting("REPORT_FRAME_ROWS", int, 120_000,
            "Response rows (about 1.1 kB each at 65 columns) each app process also keeps "
            "in its own memory: the frames its reports were last built from, so a report "
            "rebuilt after new responses neither reads them from the cache again nor from "
            "the database; 0: none."),
    Setting("CACHE_DEFAULT_TIMEOUT", int, 86_400,
            "Seconds a cached report lives (0: until evicted)."),
    Setting("CACHE_REDIS_URL", str, None,
            "Server of the `RedisCache`, e.g. `redis://127.0.0.1:6379/1`."),
    # deployment
    Setting("RATELIMIT_STORAGE_URI", str, "memory://",
            "Where Flask-Limiter counts: `memory://` (per process) or "
            "`redis://host:port` (shared by every process)."),
    Setting("RATELIMIT_ENABLED", bool, True, "Apply the rate limits at all."),
    Setting("TRUSTED_PROXIES", int, 0,
            "Reverse proxies in front of the app whose `X-Forwarded-*` headers are trusted."),
    Setting("HSTS", bool, False, "Send Strict-Transport-Security (only behind HTTPS)."),
    Setting("SESSION_COOKIE_SECURE", bool, False,
            "Send the session cookie over HTTPS only (set it behind HTTPS)."),
    Setting("SESSION_COOKIE_HTTPONLY", bool, True, "Hide the session cookie from scripts."),
    Setting("SESSION_COOKIE_SAMESITE", str, "Lax", "The session cookie's SameSite rule."),
    Setting("WTF_CSRF_TIME_LIMIT", int, None,
            "Seconds a form's CSRF token is valid; empty: for the browser session, so a "
            "long page never fails."),
    Setting("MAX_CONTENT_LENGTH", int, 1_000_000, "Largest request body in bytes."),
    Setting("BABEL_DEFAULT_LOCALE", str, "zh_Hans", "Locale of messages outside a request."),
)  # fmt: skip

#: name -> default, for :func:`build`
DEFAULTS: dict[str, Any] = {s.name: s.default for s in SETTINGS}
_TYPES: dict[str, type] = {s.name: s.type for s in SETTINGS}

_BOOL = {"1": True, "true": True, "yes": True, "on": True}
_BOOL |= {"0": False, "false": False, "no": False, "off": False}


def _parse_env_value(name: str, raw: str) -> Any:
    """Turn an environment string into the setting's type (bool, int, float); a setting
    not in :data:`SETTINGS` is given as it is, or as JSON when it looks like JSON."""
    kind = _TYPES.get(name)
    if kind is bool:
        if raw.lower() not in _BOOL:
            msg = f"MANYI_{name} must be one of {sorted(_BOOL)}; got {raw!r}."
            raise ValueError(msg)
        return _BOOL[raw.lower()]
    if kind is int or kind is float:
        try:
            return kind(raw)
        except ValueError:
            msg = f"MANYI_{name} must be a {kind.__name__}; got {raw!r}."
            raise ValueError(msg) from None
    if kind is None and raw[:1] in "[{":
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
    if merged.get("QUEUE_IMMEDIATE") is None:
        merged["QUEUE_IMMEDIATE"] = bool(merged.get("TESTING"))
    if not merged.get("CACHE_DIR"):
        merged["CACHE_DIR"] = str(instance / "cache")
    if merged.get("CREATE_TABLES") is None:
        merged["CREATE_TABLES"] = bool(merged.get("TESTING"))
    return merged
