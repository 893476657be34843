"""Questionnaires that researchers upload (YAML or XLSForm), checked before a survey uses
them: the loader's own checks, and no HTML markup or script in any text (respondents see
the texts as plain text).

The size limits are the loader's own (:data:`UPLOAD_LIMITS`): a file above its limit is
:class:`UploadTooLarge` before it is parsed, so the page can say the limit in the user's
language. No message names a folder of the server: the workbook is read from a
temporary file, and the problems name the uploaded file's name only."""

from __future__ import annotations

import re
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from werkzeug.utils import secure_filename

import questionnaires as qn
from questionnaires.loader import MAX_BYTES as YAML_MAX_BYTES
from questionnaires.xlsform import MAX_XLSX_BYTES

UPLOAD_LIMITS = {"yaml": YAML_MAX_BYTES, "xlsx": MAX_XLSX_BYTES}
"""The largest questionnaire file of each kind, in bytes."""


class UploadTooLarge(ValueError):
    """An uploaded questionnaire file above its kind's limit."""

    def __init__(self, kind: str, size: int) -> None:
        self.kind = kind
        self.size = size
        self.limit = UPLOAD_LIMITS[kind]
        super().__init__(f"the {kind} file has {size} bytes; the limit is {self.limit}")


def upload_kind(filename: str) -> str:
    """``"xlsx"`` for a workbook, ``"yaml"`` otherwise (what the limits go by)."""
    return "xlsx" if Path(filename).suffix.lower() in (".xlsx", ".xls") else "yaml"


MARKUP = re.compile(
    r"<\s*/?\s*(script|iframe|object|embed|style|link|meta|svg|img|form|input|base)\b"
    r"|javascript\s*:|\bon[a-z]+\s*=",
    re.IGNORECASE,
)


def markup_problems(q: qn.Questionnaire) -> list[qn.Problem]:
    """Texts of ``q`` holding HTML markup or script (refused on upload)."""
    problems: list[qn.Problem] = []

    def walk(obj: Any, path: str) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, f"{path}[{i}]")
        elif isinstance(obj, str) and MARKUP.search(obj):
            found = MARKUP.search(obj)
            shown = found.group(0) if found else ""
            problems.append(
                qn.Problem(
                    path,
                    f"contains HTML markup or script ({shown!r}); questionnaire texts are "
                    "shown as plain text",
                    "remove the markup and write plain text",
                )
            )

    walk(q.to_dict(), "")
    return problems


def _without_folder(exc: qn.QuestionnaireError, folder: str, name: str) -> qn.QuestionnaireError:
    """``exc`` with the temporary folder taken out of every message (a library's error
    text may quote the path it read)."""

    def clean(text: str) -> str:
        return text.replace(str(Path(folder) / name), name).replace(folder, "")

    problems = [
        replace(p, path=clean(p.path), message=clean(p.message), fix=clean(p.fix))
        for p in exc.problems
    ]
    return qn.QuestionnaireError(name, problems)


def load_upload(filename: str, data: bytes) -> qn.Questionnaire:
    """Validate an uploaded instrument (YAML or XLSForm); raise ``QuestionnaireError``, or
    :class:`UploadTooLarge` for a file above its limit."""
    name = secure_filename(filename) or "upload"
    suffix = Path(name).suffix.lower()
    kind = upload_kind(name)
    if len(data) > UPLOAD_LIMITS[kind]:
        raise UploadTooLarge(kind, len(data))
    if suffix in (".xlsx", ".xls"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            try:
                q = qn.load(path)
            except qn.QuestionnaireError as exc:
                raise _without_folder(exc, tmp, name) from None
    elif suffix in (".yaml", ".yml", ".json", ""):
        q = qn.loads(data, source=name)
    else:
        problem = qn.Problem(
            "", f"has the extension {suffix!r}", "upload a .yaml file or an XLSForm .xlsx"
        )
        raise qn.QuestionnaireError(name, [problem])
    problems = markup_problems(q)
    if problems:
        raise qn.QuestionnaireError(name, problems)
    return q
