"""The app-wide error pages: friendly 400/403/404/413/429/500 (and the other HTTP errors)
in the request's language, JSON for clients of the API that ask for it, and a logged
traceback (never shown) for an unhandled exception. A database that cannot be reached,
or that does not answer within its time-outs (:mod:`surveyapp.db`), is 503 "try again
in a moment", not 500.

A blueprint may handle an error of its own routes first (the survey blueprint shows a
page again after a CSRF failure); it falls back to :func:`error_page`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from werkzeug.exceptions import HTTPException

ERRORS: dict[int, tuple[Any, Any]] = {
    400: (_l("Bad request"), _l("The page could not understand what was sent.")),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("Check the link you were given; it may be incomplete.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    410: (_l("Gone"), _l("This page is no longer available.")),
    413: (_l("Too much data"), _l("What was sent is too large. Shorten your answers.")),
    422: (_l("Check your answers"), _l("Some answers need your attention.")),
    429: (_l("Too many requests"), _l("Please wait a minute and try again.")),
    503: (
        _l("Temporarily unavailable"),
        _l("The database is not answering. Your saved answers are safe; try again in a moment."),
    ),
    500: (
        _l("Something went wrong"),
        _l("Your answers up to the last saved page are safe. Please try again in a moment."),
    ),
}


def error_page(code: int, detail: Any = None) -> tuple[str, int]:
    """The friendly page of HTTP status ``code`` (with an optional ``detail`` line)."""
    title, text = ERRORS.get(code, ERRORS[500] if code >= 500 else ERRORS[400])
    page = render_template("errors/error.html", code=code, title=title, text=text, detail=detail)
    return page, code


def csrf_error(_exc: CSRFError) -> tuple[str, int]:
    return error_page(400, _l("The form has expired. Go back, reload the page and send it again."))


def http_error(exc: HTTPException) -> Any:
    code = exc.code or 500
    if request.blueprint not in (None, "survey") and request.accept_mimetypes.best == (
        "application/json"
    ):
        return {"error": exc.name, "status": code}, code
    return error_page(code)


def database_unavailable(exc: Exception) -> Any:
    """503 for a database that is unreachable or timed out (the driver's error is logged,
    never shown: it can name hosts and paths)."""
    current_app.logger.error("database unavailable on %s: %s", request.path, exc)
    g.database_down = True  # the page asks nothing of the database (auth's context)
    if request.blueprint == "api":
        return {"error": "the database is not answering; try again later", "status": 503}, 503
    return error_page(503)


def server_error(exc: Exception) -> Any:
    if isinstance(exc, HTTPException):  # pragma: no cover - routed to http_error
        return http_error(exc)
    current_app.logger.exception("unhandled error on %s", request.path)
    return error_page(500)


def init_app(app: Flask) -> None:
    """Register the error handlers."""
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)
    # OperationalError: connection refused, lost or timed out, statement cancelled,
    # SQLite busy; TimeoutError: no free connection in the pool in time
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(SQLAlchemyTimeoutError, database_unavailable)
    app.register_error_handler(Exception, server_error)
