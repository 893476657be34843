"""The export download, shared by the research pages and the API: the query string's
options (``partial``, ``quarantined``, ``lang``) in, a streamed file out; the export itself
is built by :func:`surveyapp.services.exports.build_export`."""

from __future__ import annotations

from flask import Response, request, stream_with_context

import questionnaires as qn
from surveyapp.auth import acting_user_id
from surveyapp.i18n import current_language
from surveyapp.services import exports


def _truthy(value: str | None) -> bool:
    return value in ("1", "true", "yes")


def export_download(survey_ids: list[int], fmt: str, slug: str) -> Response:
    """The export of ``survey_ids`` in ``fmt`` as an attachment; ``ValueError`` when it
    cannot be built (the blueprint says so in its own way)."""
    args = request.args
    lang = args.get("lang")
    export = exports.build_export(
        survey_ids,
        fmt,
        slug,
        language=lang if lang in qn.LANGUAGES else current_language(),
        include_partial=_truthy(args.get("partial")),
        include_quarantined=_truthy(args.get("quarantined")),
        user_id=acting_user_id(),
    )
    headers = {"Content-Disposition": f'attachment; filename="{export.filename}"'}
    if export.size is not None:
        headers["Content-Length"] = str(export.size)
    return Response(stream_with_context(export.body), mimetype=export.media_type, headers=headers)
