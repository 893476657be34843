"""Recipients files as Chinese Excel users save them: GBK/GB18030, UTF-8 with BOM, XLSX,
Chinese headings; every problem named by file, row and column, in the page's language;
files that are not lists of people (binary, 100,000 columns, 50 MB) refused."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from surveyapp.services.recipients import InvitationError, parse_recipients

CHINESE = "邮箱,网点,地区\nzhang@example.cn,东区支行,华东\nli@example.cn,西区支行,华西\n"
EXPECTED = [
    {"email": "zhang@example.cn", "branch": "东区支行", "region": "华东"},
    {"email": "li@example.cn", "branch": "西区支行", "region": "华西"},
]


@pytest.mark.parametrize("codec", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_chinese_headers_import_in_every_encoding_excel_saves(codec):
    assert parse_recipients(CHINESE.encode(codec), "名单.csv") == EXPECTED


def test_encoding_chosen_in_the_form_wins():
    data = CHINESE.encode("gbk")
    assert parse_recipients(data, "a.csv", encoding="gb18030") == EXPECTED
    with pytest.raises(InvitationError, match=r"a.csv: is not UTF-8 text \(byte \d+\)"):
        parse_recipients(data, "a.csv", encoding="utf-8")


def test_xlsx_with_chinese_headers():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["邮箱", "网点", "地区", None])
    sheet.append(["zhang@example.cn", "东区支行", "华东", None])
    sheet.append(["li@example.cn", "西区支行", "华西"])
    sheet.append([None, None, None])
    buf = io.BytesIO()
    book.save(buf)
    assert parse_recipients(buf.getvalue(), "名单.xlsx") == EXPECTED


def test_number_cells_of_a_workbook_read_as_written():
    book = openpyxl.Workbook()
    book.active.append(["email", "store"])
    book.active.append(["a@example.cn", 1024])
    buf = io.BytesIO()
    book.save(buf)
    assert parse_recipients(buf.getvalue(), "x.xlsx") == [
        {"email": "a@example.cn", "store": "1024"}
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("email\n", "no recipients"),
        ("email,1bad\nx,y\n", "row 1, column 2: the heading '1bad' is not a valid segment name"),
        ("email,region,region\n", "row 1, column 3: the heading 'region' appears twice"),
        ("邮箱,地区,区域\n", "row 1, column 3: the heading '区域' appears twice"),
        ("email,region\na@x,N,extra\n", "row 2 has 3 cells"),
        ("email,region\na@x," + "y" * 400 + "\n", "row 2, column 2 (region): 400 characters"),
        ("email,region\na@x,b\x01\n", "row 2, column 2 (region): control characters"),
    ],
)
def test_errors_name_row_and_column(text, message):
    with pytest.raises(InvitationError, match=re.escape(message)):
        parse_recipients(text.encode(), "people.csv")


def test_errors_in_the_page_language(app):
    with app.test_request_context("/?lang=zh-Hans", headers={"Accept-Language": "zh-CN"}):
        with pytest.raises(InvitationError) as exc:
            parse_recipients(b"email,region,region\n", "people.csv")
    assert "第 1 行" in str(exc.value)
    assert "第 3 列" in str(exc.value)


def test_a_hundred_thousand_columns_is_refused():
    header = ",".join(f"c{i}" for i in range(100_000)) + "\n"
    with pytest.raises(InvitationError, match="more than 100 columns"):
        parse_recipients(header.encode(), "wide.csv")


def test_binary_file_is_refused():
    with pytest.raises(InvitationError, match="binary data"):
        parse_recipients(bytes(range(256)) * 20, "photo.csv")


def test_a_broken_workbook_is_refused():
    with pytest.raises(InvitationError, match="not a readable Excel workbook"):
        parse_recipients(b"PK\x03\x04" + b"\x00junk" * 50, "x.xlsx")


def test_too_many_bytes_is_refused():
    with pytest.raises(InvitationError, match="the limit is 5000000"):
        parse_recipients(b"email\n" + b"a@example.cn\n" * 500_000, "big.csv")
