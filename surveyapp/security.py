"""Security setup: CSRF on every form, security headers, rate limits, proxies.

Each framework is used as its documentation says:

- CSRF: Flask-WTF's ``CSRFProtect`` checks every POST/PUT/PATCH/DELETE of the app (the
  token is the ``csrf_token`` hidden field or the ``X-CSRFToken`` header). An API
  blueprint that authenticates by token can be exempted with ``csrf.exempt(bp)``.
- Sessions: Flask's signed cookie sessions, unchanged.
- Headers: a Content-Security-Policy that allows only this origin's scripts and styles
  (no inline scripts or styles anywhere in the templates), ``frame-ancestors 'none'``
  (survey pages: see :mod:`surveyapp.distribution`), and the usual companions; answer
  pages are never cached.
- Rate limits: Flask-Limiter's :data:`limiter` (the application-factory pattern of its
  documentation); a view takes a limit from a setting with :func:`rate_limit`
  (``SUBMIT_RATE_LIMIT`` on the answer routes, ``RESUME_RATE_LIMIT`` on resume-code
  look-ups, ``LOGIN_RATE_LIMIT`` on log-ins). Counters live in limits' own storage:
  memory, or Redis when ``RATELIMIT_STORAGE_URI`` (env ``MANYI_RATELIMIT_STORAGE_URI``)
  says ``redis://...``, which is what several processes behind a load balancer need.
  Like every extension object of that pattern, the limiter holds the settings of the app
  it was last initialised with (storage, ``RATELIMIT_ENABLED``): one app per process, as
  gunicorn runs it; tests build their apps one after another. ``manyi serve`` runs one
  process (of threads) unless the store is shared (:mod:`surveyapp.cli.web`), so every
  limit holds at its configured number, on every HTTP method (HEAD included).
- Ids: the app's ``<int:...>`` URL converter is :class:`IdConverter` (Werkzeug's own,
  with the ``max`` its documentation offers set to the largest BIGINT), so an id beyond
  what a database can hold is 404 instead of an overflow; query arguments that are ids or
  page numbers are read with ``type=`` :func:`id_arg` / :func:`page_arg`.
- A malformed ``Referer`` (which Flask-WTF's HTTPS check would fail to parse) is 400.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request
from flask_limiter import Limiter, RouteLimit
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

csrf = CSRFProtect()
# storage, strategy and RATELIMIT_ENABLED come from the app's config (RATELIMIT_*)
limiter = Limiter(get_remote_address)


def rate_limit(setting: str) -> RouteLimit:
    """Decorator: limit a view per client address by the config ``setting`` (a limits
    string such as ``"120/minute;2000/hour"``, read on each request), on every HTTP
    method of the route. The views of one setting share one budget per address."""
    return limiter.shared_limit(lambda: str(current_app.config[setting]), scope=setting.lower())


MAX_ID = 2**63 - 1  # the largest key of a BIGINT column (and of SQLite's INTEGER)
MAX_PAGE = 10**9  # far beyond any list; keeps OFFSET = (page - 1) * size within MAX_ID


class IdConverter(IntegerConverter):
    """``<int:...>`` for database keys: 0 to :data:`MAX_ID`; a larger number matches no
    route (404) instead of overflowing the database driver."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def id_arg(raw: str) -> int:
    """``type=`` for a query argument that is a key: a whole number 0..:data:`MAX_ID`
    (``ValueError`` otherwise, so ``request.args.get`` gives its default)."""
    value = int(raw)
    if not 0 <= value <= MAX_ID:
        msg = f"an id is a whole number from 0 to {MAX_ID}; got {raw[:30]!r}"
        raise ValueError(msg)
    return value


def page_arg(raw: str) -> int:
    """``type=`` for a page number: 1..:data:`MAX_PAGE` (``ValueError`` otherwise)."""
    value = int(raw)
    if not 1 <= value <= MAX_PAGE:
        msg = f"a page is a whole number from 1 to {MAX_PAGE}; got {raw[:30]!r}"
        raise ValueError(msg)
    return value


def _refuse_malformed_referer() -> None:
    referer = request.headers.get("Referer")
    if referer:
        try:
            urlsplit(referer)
        except ValueError:
            abort(400)


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


def init_app(app: Flask) -> None:
    """Install the id converter (before any route is added), CSRF, rate limits, headers."""
    app.url_map.converters["int"] = IdConverter
    # before CSRFProtect's own check, which parses the Referer over HTTPS
    app.before_request(_refuse_malformed_referer)
    csrf.init_app(app)
    limiter.init_app(app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )

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
