"""Hostile content and files (issue 22, item 8): characters XML forbids are refused at
intake and removed from every export; a workbook declaring a huge sheet is refused before
its rows are read; the upload limits are the loader's and are stated in the UI language;
no message names a folder of the server."""

from __future__ import annotations

import io
import re
import time
import uuid
import zipfile
from pathlib import Path

import openpyxl
import pyreadstat
import pytest

import questionnaires as qn
from questionnaires.loader import MAX_BYTES
from questionnaires.xlsform import MAX_XLSX_BYTES, write_xlsform
from surveyapp.services import exports
from tests.surveyapp.conftest import VALID, add_survey, post_page, shown_again
from tests.surveyapp.research_helpers import ANSWERS, add_response, login

pytest_plugins = ["tests.surveyapp.conftest_research"]

HOSTILE = "good\uffff\ufffe service\x0b"  # a lone surrogate cannot even be stored
CLEAN = "good service"


@pytest.fixture
def hostile_survey(app, minimal):
    """A survey whose stored response (as an import would store it) and segment hold
    characters that XML forbids."""
    survey_id, _tokens = add_survey(app, minimal, slug="hostile")
    add_response(app, survey_id, {**ANSWERS, "comment": HOSTILE}, segments={"note": HOSTILE})
    return survey_id


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_every_export_drops_what_xml_forbids(app, tmp_path, hostile_survey, fmt):
    path = tmp_path / f"out.{fmt}"
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        assert exports.write_export(s, [hostile_survey], fmt, path, language="en") == 1
    if fmt == "xlsx":
        wb = openpyxl.load_workbook(path)  # the workbook opens
        rows = list(wb["responses"].values)
        header = list(rows[0])
        assert rows[1][header.index("comment")] == CLEAN
        assert rows[1][header.index("seg_note")] == CLEAN
    elif fmt == "csv":
        text = path.read_bytes().decode("utf-8-sig")  # strict UTF-8: no lone surrogate
        assert CLEAN in text
        assert "\uffff" not in text
    else:
        frame, _meta = pyreadstat.read_sav(str(path))
        assert frame["comment"].tolist() == [CLEAN]


def test_the_export_download_of_a_hostile_survey_opens(app, users, hostile_survey):
    client = app.test_client()
    login(client, users["researcher"])
    r = client.get(f"/research/surveys/{hostile_survey}/export.xlsx")
    assert r.status_code == 200
    openpyxl.load_workbook(io.BytesIO(r.data))


@pytest.mark.parametrize("bad", ["\uffff", "\ufffe", "\x0b"])
def test_a_respondent_cannot_store_what_xml_forbids(app, client, minimal, bad):
    survey_id, _ = add_survey(app, minimal)
    r = post_page(client, "/s/demo", str(uuid.uuid4()), {**VALID, "a-comment": f"ok{bad}ok"})
    page = shown_again(client, r).text  # refused: the page again, with its message
    assert 'id="err-comment"' in page
    with app.extensions["manyi_db"].sessions() as s:
        assert exports.count_responses(s, [survey_id], include_partial=True) == 0


# -- XLSForm with a huge declared sheet -----------------------------------------------------
def _huge_dimension_xlsform(minimal: qn.Questionnaire, folder: Path) -> bytes:
    """A valid XLSForm with a 5,000-row notes sheet whose sheets all declare the largest
    sheet Excel allows: read-only openpyxl pads every row to 16,384 cells."""
    src = folder / "m.xlsx"
    write_xlsform(minimal, src)
    wb = openpyxl.load_workbook(src)
    notes = wb.create_sheet("notes")
    for i in range(1, 5001):
        notes.cell(row=i, column=1, value="x")
    wb.save(src)
    out = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                text = re.sub(
                    r'<dimension ref="[^"]*"\s*/>',
                    '<dimension ref="A1:XFD1048576"/>',
                    data.decode(),
                )
                assert "XFD1048576" in text
                data = text.encode()
            zout.writestr(info, data)
    return out.getvalue()


def test_a_workbook_declaring_a_huge_sheet_is_refused_at_once(app, users, minimal, tmp_path):
    client = app.test_client()
    login(client, users["researcher"])
    small = tmp_path / "warm.xlsx"
    write_xlsform(minimal, small)
    qn.load(small)  # the libraries imported: the time below is the refusal's own
    assert client.get("/research/surveys/new").status_code == 200  # the page's choices too
    data = _huge_dimension_xlsform(minimal, tmp_path)
    started = time.monotonic()
    r = client.post(
        "/research/surveys/new",
        data={"upload": (io.BytesIO(data), "huge.xlsx"), "access": "anonymous"},
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )
    took = time.monotonic() - started
    assert r.status_code == 422
    assert "declares 1048576 rows and 16384 columns" in r.text
    assert took < 2.0, took


# -- upload limits and messages ------------------------------------------------------------------
def _multipart(filename: str, payload: bytes) -> tuple[bytes, str]:
    """A multipart body with the upload and the access field, built here: the test
    client's own builder spools a large file to a temporary file it never closes when the
    app refuses the body unread."""
    boundary = "manyi-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="access"\r\n\r\nanonymous\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="upload"; filename="{filename}"'
        "\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + payload + f"\r\n--{boundary}--\r\n".encode(), boundary


@pytest.mark.parametrize(
    ("name", "size", "lang", "expected"),
    [
        ("q.yaml", MAX_BYTES + 1, "en", "at most 1 MB (YAML) or 5 MB (XLSForm .xlsx)"),
        ("q.xlsx", MAX_XLSX_BYTES + 1, "en", "at most 1 MB (YAML) or 5 MB (XLSForm .xlsx)"),
        ("q.xlsx", MAX_XLSX_BYTES + 1, "zh-Hans", "最多 1 MB（YAML）或 5 MB（XLSForm .xlsx）"),
        ("q.xlsx", MAX_XLSX_BYTES + 200_000, "en", "at most 1 MB (YAML) or 5 MB (XLSForm .xlsx)"),
    ],
)
def test_the_upload_limits_are_the_loaders_and_said_in_the_ui_language(
    app, users, name, size, lang, expected
):
    client = app.test_client()
    login(client, users["researcher"])
    body, boundary = _multipart(name, b"x" * size)
    r = client.post(
        "/research/surveys/new",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"Accept-Language": lang},
    )
    assert r.status_code == 413
    assert expected in r.text


def test_a_file_at_the_limit_is_read_not_refused_for_its_size(app, users):
    client = app.test_client()
    login(client, users["researcher"])
    body, boundary = _multipart("q.yaml", b"#" * MAX_BYTES)
    r = client.post(
        "/research/surveys/new", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert r.status_code == 422  # read: not a questionnaire, but not too large either


@pytest.mark.parametrize(
    "data",
    [b"PK\x03\x04 not really a zip", b"not a workbook at all", b""],
    ids=["zip", "text", "empty"],
)
def test_no_message_names_a_server_folder(app, users, data, tmp_path):
    client = app.test_client()
    login(client, users["researcher"])
    r = client.post(
        "/research/surveys/new",
        data={"upload": (io.BytesIO(data), "q.xlsx"), "access": "anonymous"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    assert "/tmp" not in r.text
    assert str(Path.cwd()) not in r.text
    assert "q.xlsx" in r.text
