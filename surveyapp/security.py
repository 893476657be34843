"""Security setup: CSRF on every form, security headers, rate limits, proxies.

- CSRF: Flask-WTF's ``CSRFProtect`` checks every POST/PUT/PATCH/DELETE of the app (the
  token is the ``csrf_token`` hidden field or the ``X-CSRFToken`` header). An API
  blueprint that authenticates by token can be exempted with ``csrf.exempt(bp)``.
- Headers: a Content-Security-Policy that allows only this origin's scripts and styles
  (no inline scripts or styles anywhere in the templates), ``frame-ancestors 'none'``,
  and the usual companions; answer pages are never cached.
- Rate limits (Flask-Limiter): every answer POST is limited per client address by
  ``SUBMIT_RATE_LIMIT``; counters live in memory, or in Redis when
  ``RATELIMIT_STORAGE_URI`` (env ``MANYI_RATELIMIT_STORAGE_URI``) says ``redis://...``,
  which is what several processes behind a load balancer need. The in-memory counters
  are :class:`SweptMemoryStorage`: limits' own ``MemoryStorage`` starts a timer thread
  to expire counters whenever the last one has finished, which under steady load is a
  new thread for almost every request (~1-3 ms each); here stale counters are swept in
  the request itself, at most once per ``SWEEP_SECONDS``.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import flask
from flask import Flask, Request, abort, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect, same_origin
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse_many
from limits.storage import MemoryStorage
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response


def _keep(store: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    """``store[key] = value``, emptying ``store`` first when it holds ``limit`` entries
    (clearing is atomic, unlike evicting one entry while other threads add theirs)."""
    if len(store) >= limit:
        store.clear()
    store[key] = value


class RememberingCSRFProtect(CSRFProtect):  # type: ignore[misc]
    """Flask-WTF's CSRF protection, remembering the signed tokens that passed.

    Flask-WTF checks the posted token's signature on every post (a new serializer, key
    derivation, HMAC, base64, JSON). A respondent posts the same token with every page,
    and a token that passed once passes again, for the same session token and key, until
    its time limit. So a pass is remembered with the token's expiry (at most
    ``REMEMBERED`` tokens), and a later post of it skips only the signature check: the
    exemptions, methods and, over HTTPS, the Referer check run as in Flask-WTF's
    :meth:`~flask_wtf.csrf.CSRFProtect.protect`. Anything not remembered, or expired,
    takes Flask-WTF's own check.
    """

    REMEMBERED = 4096
    SALT = "wtf-csrf-token"  # Flask-WTF's, to read a token's signing time

    def __init__(self, app: Flask | None = None) -> None:
        # (posted token, session token, key, time limit) -> last second it is valid
        self._passed: dict[tuple[Any, ...], float] = {}
        super().__init__(app)

    def protect(self, apply_exemptions: bool = False) -> None:
        cfg = current_app.config
        if apply_exemptions and (not request.endpoint or self._is_exempt()):
            return
        if request.method not in cfg["WTF_CSRF_METHODS"]:
            return
        token = self._get_csrf_token()
        stored = session.get(cfg["WTF_CSRF_FIELD_NAME"])
        key = (token, stored, cfg.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key,
               cfg["WTF_CSRF_TIME_LIMIT"])  # fmt: skip
        last = self._passed.get(key) if token and isinstance(stored, str) else None
        # whole seconds, as itsdangerous counts a token's age
        if last is None or int(time.time()) > last:
            super().protect()  # raises (a 400) unless the post passes
            self._remember(key)
            return
        if request.is_secure and cfg["WTF_CSRF_SSL_STRICT"]:  # as Flask-WTF's protect
            if not request.referrer:
                self._error_response("The referrer header is missing.")
            if not same_origin(request.referrer, f"https://{request.host}/"):
                self._error_response("The referrer does not match the host.")
        g.csrf_valid = True

    def _remember(self, key: tuple[Any, ...]) -> None:
        token, stored, secret, limit = key
        if not token or not isinstance(stored, str):
            return
        try:
            _, signed_at = URLSafeTimedSerializer(secret, salt=self.SALT).loads(
                token, return_timestamp=True
            )
        except BadSignature:  # not Flask-WTF's salt after all: nothing is remembered
            return
        last = math.inf if limit is None else int(signed_at.timestamp()) + int(limit)
        _keep(self._passed, key, last, self.REMEMBERED)


csrf = RememberingCSRFProtect()

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # resume links and invitation tokens are in URLs: never leak them to other sites.
    # Not "no-referrer": over HTTPS Flask-WTF's CSRF check requires a same-origin Referer
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SweptMemoryStorage(MemoryStorage):
    """limits' in-memory storage without a timer thread per request.

    Every counter is still checked for expiry when it is read (``MemoryStorage.get``);
    the sweep that drops counters nobody reads again (clients that went away), which
    ``MemoryStorage`` runs in a fresh ``threading.Timer`` 10 ms after any hit, runs
    inline here at most once per ``SWEEP_SECONDS``.
    """

    STORAGE_SCHEME = ["manyi-memory"]
    SWEEP_SECONDS = 5.0

    def __init__(self, uri: str | None = None, **options: Any) -> None:
        super().__init__(uri, **options)
        self._sweep_lock = threading.Lock()
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    # replaces MemoryStorage's private hook, called before every incr/decr/acquire
    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - name-mangled hook
        now = time.monotonic()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        finally:
            self._sweep_lock.release()


class RememberingCookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with each distinct cookie verified once per process.

    Flask builds a new serializer and verifies the cookie (key derivation, HMAC, base64,
    JSON) on every request: 0.11 ms of a submission's 1.4 ms in the worker under load
    (bench/README.md, "Fifth pass"). The verdict depends only on the cookie's text and
    the keys, apart from its age. So the serializer is built once per key set, and a
    verified cookie's contents and signing time are remembered (at most ``REMEMBERED``
    cookies, per serializer, so a changed ``SECRET_KEY`` verifies afresh); the age is
    checked on every request, against the same ``permanent_session_lifetime`` Flask uses.
    Only flat sessions (text, numbers, booleans, None) are remembered: each request gets
    its own copy, and no value inside it is shared (a session holding a list, such as
    flashed messages, is verified every time, as by Flask).
    """

    REMEMBERED = 4096

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], URLSafeTimedSerializer | None] = {}
        # cookie text -> (its serializer, signing time in whole seconds, contents)
        self._verified: dict[str, tuple[URLSafeTimedSerializer, int, dict[str, Any]]] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        found = self._serializers.get(keys, False)
        if found is False:
            found = super().get_signing_serializer(app)
            _keep(self._serializers, keys, found, 8)
        return found  # type: ignore[return-value]

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        signer = self.get_signing_serializer(app)
        if signer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = self._verified.get(cookie)
        # the age as itsdangerous computes it (whole seconds); an older cookie takes the
        # full check below, which refuses it
        if known is not None and known[0] is signer and int(time.time()) - known[1] <= max_age:
            return self.session_class(known[2])
        try:
            data, signed_at = signer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and all(
            v is None or isinstance(v, str | int | float) for v in data.values()
        ):
            remembered = (signer, int(signed_at.timestamp()), dict(data))
            _keep(self._verified, cookie, remembered, self.REMEMBERED)
        return self.session_class(data)

    def save_session(self, app: Flask, session: SessionMixin, response: flask.Response) -> None:
        """Flask's, without reading seven cookie settings first when the cookie is not
        set again (an unchanged session, unless permanent ones are refreshed)."""
        if not session.modified and not (
            session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]
        ):
            if session.accessed:  # response.vary.add, without parsing an absent header
                if "Vary" in response.headers:
                    response.vary.add("Cookie")
                else:
                    response.headers["Vary"] = "Cookie"
            return
        super().save_session(app, session, response)


# configuration of limits that only the app-wide before_request check enforces
APP_WIDE_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")


def _storage_uri(uri: str) -> str:
    """``memory://`` means :class:`SweptMemoryStorage`; other URIs are limits' own."""
    return "manyi-memory://" if uri.strip() == "memory://" else uri


def init_app(app: Flask) -> None:
    app.session_interface = RememberingCookieSessions()
    csrf.init_app(app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=_storage_uri(str(app.config["RATELIMIT_STORAGE_URI"])),
        # no X-RateLimit-* headers: respondents have no use for them, and reading the
        # window for them cost a second storage look-up on every limited request
        headers_enabled=False,
    )
    app.extensions["manyi_limiter"] = limiter
    if not any(app.config.get(k) for k in APP_WIDE_LIMITS):
        # Flask-Limiter checks every request twice: app-wide in a before_request hook
        # (default, application, blueprint and meta limits) and again in each route
        # decorator (the route's own limits). manyi sets only route limits, so the hook
        # resolves an empty set on every request; the decorators are the one check.
        # (absent when RATELIMIT_ENABLED is off: Flask-Limiter then registers nothing)
        hooks = app.before_request_funcs.get(None, [])
        hooks[:] = [f for f in hooks if f != limiter._check_request_limit]
        # Its after-request and teardown hooks serve only its own checks (the request
        # context they keep, the X-RateLimit headers, deductions on a response): the
        # route limits of limit() use none of them, so they would do nothing per request.
        own = ("Limiter.__inject_headers", "Limiter.__release_context")
        for registry in (app.after_request_funcs, app.teardown_request_funcs):
            funcs = registry.get(None, [])
            funcs[:] = [f for f in funcs if _qualname(f) not in own]

    headers = dict(HEADERS)
    if app.config.get("HSTS"):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    # pages may hold a respondent's answers: no shared or back-button caches
    html_headers = {**headers, "Cache-Control": "no-store"}

    @app.after_request
    def _headers(response: Response) -> Response:
        # each header unless the view set its own (one pass, not a setdefault per name)
        wanted = html_headers if response.mimetype == "text/html" else headers
        own = {k.lower() for k in response.headers.keys()}
        response.headers.extend((k, v) for k, v in wanted.items() if k.lower() not in own)
        return response


def _qualname(f: Any) -> str:
    return str(getattr(getattr(f, "func", f), "__qualname__", ""))


def limit(app: Flask, endpoints: list[str], setting: str, methods: list[str]) -> None:
    """Rate-limit ``methods`` of ``endpoints`` per client address by the config ``setting``
    (``SUBMIT_RATE_LIMIT`` for answer posts, ``RESUME_RATE_LIMIT`` for resume-code look-ups,
    which would otherwise let anyone guess codes, ``LOGIN_RATE_LIMIT`` for log-ins); the
    endpoints of one setting share one budget per address. Every route limit of the app
    goes through here.

    The check runs in a thin view wrapper with Flask-Limiter's own strategy and storage
    (``Limiter.limiter``: the configured in-memory or Redis counters), once per request,
    and a request over the limit gets the 429 page. Flask-Limiter's route decorator did
    the same through its generic machinery (exemptions, dynamic limits, per-request
    context), which cost a tenth of a submission's server time (bench/README.md).
    """
    limiter: Limiter = app.extensions["manyi_limiter"]
    items = parse_many(str(app.config[setting]))  # parsed once, not per request
    scope = setting.lower()
    for endpoint in endpoints:
        view: Callable[..., Any] = app.view_functions[endpoint]

        def limited(*args: Any, _view: Callable[..., Any] = view, **kwargs: Any) -> Any:
            if limiter.enabled and request.method in methods:
                strategy = limiter.limiter
                address = get_remote_address()
                # every limit counts the hit (as Flask-Limiter does), then any may refuse
                if not all([strategy.hit(item, scope, address) for item in items]):
                    abort(429)
            return _view(*args, **kwargs)

        app.view_functions[endpoint] = functools.wraps(view)(limited)
