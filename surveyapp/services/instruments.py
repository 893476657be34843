"""Questionnaires that researchers upload (YAML or XLSForm), checked before a survey uses
them: the loader's own checks, and no HTML markup or script in any text (respondents see
the texts as plain text)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from werkzeug.utils import secure_filename

import questionnaires as qn

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


def load_upload(filename: str, data: bytes) -> qn.Questionnaire:
    """Validate an uploaded instrument (YAML or XLSForm); raise ``QuestionnaireError``."""
    name = secure_filename(filename) or "upload"
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xls"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            q = qn.load(path)
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
