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
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, abort, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from limits import parse_many
from limits.storage import MemoryStorage
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

csrf = CSRFProtect()

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


# configuration of limits that only the app-wide before_request check enforces
APP_WIDE_LIMITS = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")


def _storage_uri(uri: str) -> str:
    """``memory://`` means :class:`SweptMemoryStorage`; other URIs are limits' own."""
    return "manyi-memory://" if uri.strip() == "memory://" else uri


def init_app(app: Flask) -> None:
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
