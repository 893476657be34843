"""Messages with a count agree with it: one response *is*, two responses *are* (ngettext)."""

from __future__ import annotations

import pytest
from flask import render_template_string

from surveyapp.services.recipients import InvitationError, parse_recipients

HEADER = (
    '{% from "reports/_page.html" import header with context %}'
    '{{ header(survey, none, report, "", {}, "", lang) }}'
)


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [
        (
            "en",
            1,
            "1 suspect response is left out of every score (see Data quality); "
            "tick the box above to include it.",
        ),
        (
            "en",
            2,
            "2 suspect responses are left out of every score (see Data quality); "
            "tick the box above to include them.",
        ),
        ("zh-Hans", 1, "已有 1 份可疑回答不计入任何得分"),
        ("zh-Hans", 2, "已有 2 份可疑回答不计入任何得分"),
    ],
)
def test_report_notice_of_left_out_suspects_agrees_with_its_count(app, lang, n, expected):
    report = {"segments": [], "exclude_suspects": True, "suspects_left_out": n, "unavailable": {}}
    survey = {"id": 1, "title": "Survey", "wave": None}
    with app.test_request_context(f"/?lang={lang}"):
        html = render_template_string(HEADER, survey=survey, report=report, lang=lang, page_args={})
    assert f'data-left-out="{n}"' in html
    assert expected in html


@pytest.mark.parametrize(
    ("lang", "header", "expected"),
    [
        ("en", "email", "row 2 has 2 cells but the header names 1 column; remove"),
        ("en", "email,branch", "row 2 has 3 cells but the header names 2 columns; remove"),
        ("zh-Hans", "email", "第 2 行有 2 个单元格，但表头只有 1 列"),
    ],
)
def test_recipients_error_counts_the_header_columns_in_the_right_number(
    app, lang, header, expected
):
    cells = header.count(",") + 2
    data = f"{header}\n{','.join(['a@example.org'] + ['x'] * (cells - 1))}\n".encode()
    with app.test_request_context(f"/?lang={lang}"), pytest.raises(InvitationError) as exc:
        parse_recipients(data, "list.csv")
    assert expected in str(exc.value)


@pytest.mark.parametrize(
    ("lang", "n", "expected"),
    [("en", 1, "1 comment —"), ("en", 2, "2 comments —"), ("zh-Hans", 1, "1 条意见 —")],
)
def test_comment_count_agrees_with_its_noun(app, lang, n, expected):
    item = {
        "item": "remarks",
        "text": "Remarks",
        "n": n,
        "sentiment": {"positive": n, "negative": 0, "neutral": 0},
        "words": [],
        "phrases": [],
        "by_segment": [],
        "by_wave": [],
        "comments": [],
    }
    template = (
        '{% from "reports/_sections.html" import comments with context %}'
        "{{ comments(v, pdf=true) }}"
    )
    with app.test_request_context(f"/?lang={lang}"):
        html = render_template_string(template, v={"items": [item]})
    assert f'<p data-comments-n="{n}">{expected}' in html
