"""A researcher's whole round trip in a real browser.

Log in, upload an XLSForm questionnaire, open the survey, generate 20 invitations,
download their links; two respondents answer through the respondent pages; the export in
CSV, XLSX and SPSS .sav then holds exactly those two responses, with the answers that
were given and the labels intact (read back with pandas and pyreadstat).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest

import questionnaires as qn
from questionnaires.xlsform import write_xlsform
from tests.browser.test_survey_browser import answers, fill
from tests.surveyapp.conftest import DATA, live_server, make_app
from tests.surveyapp.research_helpers import PASSWORD, add_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(tmp_path):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, WTF_CSRF_ENABLED=True, MIN_SECONDS=0.0)
    add_user(app, "res@example.org", "researcher")
    with live_server(app) as base:
        yield app, base


def download(page, selector: str, target: Path) -> Path:
    with page.expect_download() as info:
        page.click(selector)
    info.value.save_as(target)
    return target


def test_upload_invite_answer_export(server, chromium, tmp_path):
    app, base = server
    q = qn.load(DATA / "minimal.yaml")
    workbook = tmp_path / "bank_survey.xlsx"
    write_xlsform(q, workbook)

    researcher = chromium.new_context(locale="en-GB", accept_downloads=True)
    page = researcher.new_page()
    page.goto(f"{base}/research/?lang=en")
    assert "/research/login" in page.url
    page.fill('input[name="email"]', "res@example.org")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/research/(\?.*)?$"))

    # upload the XLSForm and create the survey
    page.goto(f"{base}/research/surveys/new")
    page.set_input_files('input[name="upload"]', str(workbook))
    page.fill('input[name="slug"]', "bank-2026q1")
    page.fill('input[name="wave"]', "2026-Q1")
    page.check('input[name="access"][value="invitation"]')
    page.click('form button[type="submit"].button--primary')
    page.wait_for_url(re.compile(r"/research/surveys/\d+$"))
    survey_url = page.url
    assert "Minimal questionnaire" in page.content()

    # open it
    page.click("text=Open now")
    page.wait_for_url(survey_url)
    assert "badge--open" in page.content()

    # 20 invitations, links for the mail merge
    page.goto(survey_url + "/invitations")
    page.fill('input[name="count"]', "20")
    page.click("text=Generate invitations")
    page.wait_for_url(re.compile(r"/invitations$"))
    assert "20 invitations, 0 used, 20 unused." in page.content()
    links_csv = download(page, 'a[data-download="links"]', tmp_path / "links.csv")
    raw = links_csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    links = [row["link"] for row in csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))]
    assert len(links) == 20
    assert len(set(links)) == 20

    # two respondents answer through the respondent pages
    given = [answers(q, seed) for seed in (1, 2)]
    for link, values, lang in zip(links[:2], given, ("zh-CN", "en-GB"), strict=True):
        respondent = chromium.new_context(locale=lang)
        rpage = respondent.new_page()
        rpage.goto(link)
        fill(rpage, q, 0, values)
        with rpage.expect_navigation(url=re.compile(r"/thanks$")):
            rpage.click('button[name="action"][value="submit"]')
        respondent.close()

    page.goto(survey_url + "/invitations?state=used")
    assert "20 invitations, 2 used, 18 unused." in page.content()

    # exports in three formats
    page.goto(survey_url)
    files = {
        fmt: download(page, f'a[data-export="{fmt}"]', tmp_path / f"export.{fmt}")
        for fmt in ("csv", "xlsx", "sav")
    }
    frames = {
        "csv": pd.read_csv(files["csv"], encoding="utf-8-sig"),
        "xlsx": pd.read_excel(files["xlsx"], sheet_name="responses"),
    }
    sav, meta = pyreadstat.read_sav(str(files["sav"]))
    frames["sav"] = sav
    code_of = {i: c.code for i, c in enumerate(q.item("branch").choices, start=1)}
    columns = q.columns(meta=False)

    def normal(row: dict, fmt: str) -> str:
        out = {}
        for col in columns:
            v = row.get(col)
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                v = None
            elif fmt == "sav" and col == "branch":
                v = code_of[int(v)]
            elif not isinstance(v, str):
                v = float(v)
            out[col] = v
        return json.dumps(out, sort_keys=True, ensure_ascii=False)

    expected = sorted(normal(v, "given") for v in given)
    for fmt, frame in frames.items():
        assert list(frame.columns) == list(q.columns()), fmt
        assert len(frame) == 2, fmt
        assert set(frame["wave"]) == {"2026-Q1"}, fmt
        assert set(frame["status"]) == {"complete"}, fmt
        got = sorted(normal(row, fmt) for row in frame.to_dict("records"))
        assert got == expected, fmt
    # labels intact
    # labels in the researcher's language (en here)
    assert meta.variable_value_labels["branch"] == {1.0: "Beijing", 2.0: "Shanghai"}
    assert meta.variable_value_labels["sat"] == {1.0: "Very dissatisfied", 5.0: "Very satisfied"}
    assert meta.column_names_to_labels["tan1_e"] == "Modern equipment: Expectation"
    assert set(frames["csv"]["comment"]) == {given[0]["comment"]}
    codebook = {r[0]: r[1:] for r in openpyxl.load_workbook(files["xlsx"])["columns"].values}
    assert codebook["branch"][1] == "bj = Beijing; sh = Shanghai"
    researcher.close()
