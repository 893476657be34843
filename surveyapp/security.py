"""Security setup: CSRF on every form, security headers, rate limits, proxies.

Each framework is used as its documentation says:

- CSRF: Flask-WTF's ``CSRFProtect`` checks every POST/PUT/PATCH/DELETE of the app (the
  token is the ``csrf_token`` hidden field or the ``X-CSRFToken`` header). An API
  blueprint that authenticates by token can be exempted with ``csrf.exempt(bp)``.
- Sessions: Flask's signed cookie sessions, unchanged.
- Headers: a Content-Security-Policy that allows only this origin's scripts and styles
  (no inline scripts or styles anywhere in the templates), ``frame-ancestors 'none'``,
  and the usual companions; answer pages are never cached.
- Rate limits: Flask-Limiter's :data:`limiter` (the application-factory pattern of its
  documentation); a view takes a limit from a setting with :func:`rate_limit`
  (``SUBMIT_RATE_LIMIT`` on the answer routes, ``RESUME_RATE_LIMIT`` on resume-code
  look-ups, ``LOGIN_RATE_LIMIT`` on log-ins). Counters live in limits' own storage:
  memory, or Redis when ``RATELIMIT_STORAGE_URI`` (env ``MANYI_RATELIMIT_STORAGE_URI``)
  says ``redis://...``, which is what several processes behind a load balancer need.
  Like every extension object of that pattern, the limiter holds the settings of the app
  it was last initialised with (storage, ``RATELIMIT_ENABLED``): one app per process, as
  gunicorn runs it; tests build their apps one after another.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter, RouteLimit
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

csrf = CSRFProtect()
# storage, strategy and RATELIMIT_ENABLED come from the app's config (RATELIMIT_*)
limiter = Limiter(get_remote_address)


def rate_limit(setting: str) -> RouteLimit:
    """Decorator: limit a view per client address by the config ``setting`` (a limits
    string such as ``"120/minute;2000/hour"``, read on each request), on every HTTP
    method of the route. The views of one setting share one budget per address."""
    return limiter.shared_limit(lambda: str(current_app.config[setting]), scope=setting.lower())


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
