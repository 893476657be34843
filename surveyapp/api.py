"""The JSON API under ``/api/v1``: surveys, responses and exports.

Authentication is by token only: ``Authorization: Bearer <token>`` (issue one with
``manyi users token EMAIL`` or on the API tokens page); the session cookie is ignored
here, which is why the API needs no CSRF token. Roles apply as on the pages, narrowed by
the token's scopes (:mod:`surveyapp.services.accounts`), and so do teams: another team's
survey or response is 404.
Errors are JSON ``{"error": ..., "status": ...}``. The OpenAPI 3 description is at
``/api/v1/openapi.json``; a test keeps its paths equal to the registered routes. The views
parse the request, call the services (:mod:`surveyapp.services.studies`,
:mod:`~surveyapp.services.exports`) and return JSON, as the research pages do.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, abort, request, url_for
from werkzeug.exceptions import HTTPException, NotFound

import questionnaires as qn
from surveyapp import models as m
from surveyapp import security
from surveyapp.auth import (
    acting_teams,
    acting_user,
    acting_user_id,
    owned_response,
    owned_survey,
    requires,
)
from surveyapp.downloads import export_download
from surveyapp.i18n import current_language
from surveyapp.reports import build
from surveyapp.reports.views import SUSPECTS, exclude_suspects, survey_report
from surveyapp.services import exports, studies
from surveyapp.services.accounts import SCOPE_OF

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_LIMIT = 1000


def _iso(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def survey_json(sv: m.Survey, stats: dict[str, int] | None = None) -> dict[str, Any]:
    q = sv.questionnaire()
    out: dict[str, Any] = {
        "id": sv.id,
        "slug": sv.slug,
        "title": sv.title or q.title.get("en"),
        "questionnaire": {"id": q.id, "version": q.version, "hash": sv.snapshot.content_hash},
        "audience": sv.audience,
        "wave": sv.wave,
        "study": sv.study.slug if sv.study else None,
        "status": sv.status,
        "state": sv.state(),
        "access": sv.access,
        "languages": list(sv.languages),
        "opens_at": _iso(sv.opens_at),
        "closes_at": _iso(sv.closes_at),
        "link": url_for("survey.anonymous", slug=sv.slug, _external=True),
    }
    if stats is not None:
        out["counts"] = stats
    return out


def response_json(resp: m.Response) -> dict[str, Any]:
    values = {}
    for col, value in sorted(resp.values().items()):
        values[col] = int(value) if isinstance(value, float) and value.is_integer() else value
    return {
        "id": resp.id,
        "response_id": resp.response_id,
        "survey": resp.survey.slug,
        "status": resp.status,
        "language": resp.language,
        "suspect": sorted(k for k, v in (resp.suspect or {}).items() if v),
        "quarantined": resp.quarantined,
        "segments": dict(resp.segments or {}),
        "started_at": _iso(resp.started_at),
        "submitted_at": _iso(resp.submitted_at),
        "duration_s": resp.duration_s,
        "values": values,
        # answer columns of items not shown by their condition (not missing), and the
        # item order each randomised page showed (page id -> item ids)
        "not_applicable": sorted(resp.not_applicable or []),
        "shown_order": dict(resp.shown_order or {}),
    }


# -- routes -------------------------------------------------------------------------------------
@bp.get("/openapi.json")
@requires("view")
def openapi() -> Any:
    return openapi_spec()


@bp.get("/me")
@requires("view")
def me() -> Any:
    user = acting_user()
    if user is None:  # pragma: no cover - requires() refused it
        abort(401)
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role}


@bp.get("/surveys")
@requires("view")
def surveys() -> Any:
    rows = studies.all_surveys(acting_teams())
    stats = studies.survey_stats([sv.id for sv in rows])
    return {"items": [survey_json(sv, stats[sv.id]) for sv in rows]}


@bp.get("/surveys/<int:survey_id>")
@requires("view")
def survey(survey_id: int) -> Any:
    sv = owned_survey(survey_id)
    out = survey_json(sv, studies.survey_stats([sv.id])[sv.id])
    out["columns"] = list(sv.questionnaire().columns())
    return out


@bp.post("/surveys/<int:survey_id>/open")
@requires("manage")
def survey_open(survey_id: int) -> Any:
    owned_survey(survey_id)
    studies.set_state(survey_id, "open", user_id=acting_user_id(), detail={"via": "api"})
    return survey_json(studies.survey(survey_id))


@bp.post("/surveys/<int:survey_id>/close")
@requires("manage")
def survey_close(survey_id: int) -> Any:
    owned_survey(survey_id)
    studies.set_state(survey_id, "closed", user_id=acting_user_id(), detail={"via": "api"})
    return survey_json(studies.survey(survey_id))


@bp.get("/surveys/<int:survey_id>/responses")
@requires("view")
def responses(survey_id: int) -> Any:
    """Responses in id order, ``limit`` at a time; ``next`` is the ``after`` of the next page."""
    owned_survey(survey_id)
    status = request.args.get("status", "complete")
    if status not in ("complete", "partial", "all"):
        return _error(f"status must be one of complete, partial, all; got {status!r}.", 400)
    limit = request.args.get("limit", 100 if "limit" not in request.args else None, type=int)
    after = request.args.get(
        "after", 0 if "after" not in request.args else None, type=security.id_arg
    )
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        return _error(f"limit must be a whole number from 1 to {MAX_LIMIT}.", 400)
    if after is None:
        return _error("after must be a whole number (the 'next' of the previous page).", 400)
    rows, total = studies.responses_after(
        survey_id,
        after=after,
        limit=limit,
        status=status,
        include_quarantined=request.args.get("quarantined", "0") in ("1", "true", "yes"),
    )
    return {
        "items": [response_json(x) for x in rows],
        "total": total,
        "next": rows[-1].id if len(rows) == limit else None,
    }


@bp.get("/responses/<response_id>")
@requires("view")
def response(response_id: str) -> Any:
    resp = owned_response(response_id)
    return response_json(resp)


@bp.get("/surveys/<int:survey_id>/export.<fmt>")
@requires("export")
def export(survey_id: int, fmt: str) -> Any:
    sv = owned_survey(survey_id)
    if fmt not in exports.FORMATS:
        return _error(f"format must be one of {', '.join(exports.FORMATS)}; got {fmt!r}.", 404)
    try:
        return export_download([sv.id], fmt, sv.slug)
    except ValueError as exc:
        return _error(str(exc), 422)


@bp.get("/surveys/<int:survey_id>/report.json")
@requires("view")
def report(survey_id: int) -> Any:
    """The survey's report as the dashboard shows it, every number unrounded (the same
    JSON as ``manyi report SURVEY --out FILE.json``); like the pages it leaves the
    suspect responses out unless ``?suspects=include``."""
    sv = owned_survey(survey_id)
    lang = request.args.get("lang")
    language = lang if lang in qn.LANGUAGES else current_language()
    try:
        segment = build.parse_segment(sv.questionnaire(), request.args.get("segment"))
        exclude = exclude_suspects(request.args.get("suspects"))
    except ValueError as exc:
        return _error(str(exc), 400)
    try:
        return survey_report(sv, segment=segment, language=language, exclude_suspects=exclude)
    except ValueError as exc:  # scoring's errors included: too few responses, bad data
        return _error(str(exc), 422)


# -- errors ---------------------------------------------------------------------------------------
def _error(message: str, status: int) -> Any:
    return {"error": message, "status": status}, status


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    return _error(exc.description or exc.name, exc.code or 500)


@bp.errorhandler(studies.NotFound)
def _not_found(exc: studies.NotFound) -> Any:
    return _http_error(NotFound())


# -- OpenAPI --------------------------------------------------------------------------------------
_ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, permission: str, params: list[str] | None = None, **extra: Any) -> Any:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Needs the permission `{permission}` and a token with the scope "
        f"`{SCOPE_OF[permission]}`. Another team's survey or response is 404.",
        "responses": {
            "200": extra.pop("ok", {"description": "OK", "content": {"application/json": {}}}),
            "401": {
                "description": "No or unknown token",
                "content": {"application/json": {"schema": _ERROR}},
            },
            "403": {
                "description": "The role lacks the permission, or the token the scope",
                "content": {"application/json": {"schema": _ERROR}},
            },
        },
    }
    parameters = []
    for name in params or []:
        schema: dict[str, Any] = {"type": "integer"} if name == "survey_id" else {"type": "string"}
        if name == "fmt":
            schema = {"type": "string", "enum": list(exports.FORMATS)}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    for name, schema, text in extra.pop("query", []):
        parameters.append({"name": name, "in": "query", "schema": schema, "description": text})
    if parameters:
        op["parameters"] = parameters
    op.update(extra)
    return op


def openapi_spec() -> dict[str, Any]:
    """The OpenAPI 3.1 description of this API."""
    page_q = [
        ("status", {"type": "string", "enum": ["complete", "partial", "all"]}, "default complete"),
        ("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "default 100"),
        ("after", {"type": "integer"}, "the 'next' of the previous page"),
        ("quarantined", {"type": "boolean"}, "include quarantined responses"),
    ]
    export_q = [
        ("partial", {"type": "boolean"}, "include partial responses"),
        ("quarantined", {"type": "boolean"}, "include quarantined responses"),
        ("lang", {"type": "string", "enum": ["zh-Hans", "en"]}, "language of labels"),
    ]
    report_q = [
        ("segment", {"type": "string"}, "five gaps for one segment level, e.g. branch=east"),
        ("lang", {"type": "string", "enum": ["zh-Hans", "en"]}, "language of labels"),
        (
            "suspects",
            {"type": "string", "enum": list(SUSPECTS), "default": SUSPECTS[0]},
            "responses flagged as suspect: left out of every score (exclude, the default, "
            "as on the report pages and in manyi score) or kept (include); the count left "
            "out is suspects_left_out",
        ),
    ]
    files = {
        "description": "The export file",
        "content": {exports.MEDIA_TYPES[f].split(";")[0]: {} for f in exports.FORMATS},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "manyi API",
            "version": "1",
            "description": "Surveys, responses and exports of manyi (满意). Authenticate with "
            "'Authorization: Bearer <token>' (manyi users token EMAIL, or the API tokens page).",
        },
        "servers": [{"url": "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                    "required": ["error", "status"],
                }
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/openapi.json": {"get": _op("This description", "view")},
            "/me": {"get": _op("The token's user", "view")},
            "/surveys": {"get": _op("All surveys with their response counts", "view")},
            "/surveys/{survey_id}": {
                "get": _op("One survey with its export columns", "view", ["survey_id"])
            },
            "/surveys/{survey_id}/open": {"post": _op("Open the survey", "manage", ["survey_id"])},
            "/surveys/{survey_id}/close": {
                "post": _op("Close the survey", "manage", ["survey_id"])
            },
            "/surveys/{survey_id}/responses": {
                "get": _op("Responses, a page at a time", "view", ["survey_id"], query=page_q)
            },
            "/responses/{response_id}": {
                "get": _op("One response by its response_id", "view", ["response_id"])
            },
            "/surveys/{survey_id}/report.json": {
                "get": _op(
                    "The dashboard's report with every number unrounded (five gaps, "
                    "SERVQUAL, what to fix first, waves, methods, data quality)",
                    "view",
                    ["survey_id"],
                    query=report_q,
                )
            },
            "/surveys/{survey_id}/export.{fmt}": {
                "get": _op(
                    "The tidy export (CSV, XLSX or SPSS .sav)",
                    "export",
                    ["survey_id", "fmt"],
                    query=export_q,
                    ok=files,
                )
            },
        },
    }


def rule_to_openapi(rule: str) -> str:
    """``/api/v1/surveys/<int:survey_id>`` -> ``/surveys/{survey_id}``."""
    path = rule.removeprefix(bp.url_prefix or "")
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", path)


def init_app(app: Flask) -> None:
    security.csrf.exempt(bp)  # token-authenticated; the cookie session is never used here
    app.register_blueprint(bp)
