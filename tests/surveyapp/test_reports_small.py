"""Reports of empty and tiny surveys: every page answers 200 and says what is missing.

A survey with 0, 1 or 5 responses (issue 17, item 4): the overview, each section page,
the item drill-down (which leads to the five-gap page) and the HTML download all answer
without an error, and each section that cannot be computed names how many responses it
needs -- by scoring's own rules (two for a mean with an interval, k + 2 for a driver model
of k dimensions), in zh-Hans and in English.
"""

from __future__ import annotations

import re

import pytest

import questionnaires as qn
from surveyapp.reports.views import SECTION_PAGES
from tests.surveyapp.reports_helpers import store

PAGES = ("", *(f"/sections/{p}" for p in SECTION_PAGES))


def _survey(app, n: int) -> int:
    q = qn.builtin("servqual22")
    if n == 0:
        from surveyapp.services.surveys import create_survey  # only for the empty survey

        with app.extensions["manyi_db"].write() as s:
            return int(create_survey(s, q, slug="empty", status="open").id)
    return store(app, q, f"tiny{n}", n, seed=n, wave="2026-Q1")


def _needs(html: str) -> dict[str, int]:
    return {k: int(v) for v, k in re.findall(r'data-needs="(\d+)" data-section="(\w+)"', html)}


@pytest.mark.parametrize("n", [0, 1, 5])
@pytest.mark.parametrize("lang", ["zh-Hans", "en"])
def test_every_page_answers_with_what_is_missing(app, client_as, n: int, lang: str) -> None:
    sid = _survey(app, n)
    c = client_as("viewer")
    base = f"/research/reports/surveys/{sid}"
    for page in PAGES:
        r = c.get(f"{base}{page}?lang={lang}")
        html = r.get_data(as_text=True)
        assert r.status_code == 200, (page, html[:3000])
        assert "None" not in re.sub(r"<[^>]+>", " ", html), page
    overview = c.get(f"{base}?lang={lang}").get_data(as_text=True)
    assert 'class="needs-table"' in overview
    five = c.get(f"{base}/sections/five-gaps?lang={lang}").get_data(as_text=True)
    fix = c.get(f"{base}/sections/fix-first?lang={lang}").get_data(as_text=True)
    if n < 2:  # a mean with an interval needs two responses
        assert _needs(five) == {"five_gaps": 2}
        word = "至少需要 2 份" if lang == "zh-Hans" else "at least 2"
        assert word in five
    else:
        assert _needs(five) == {}
        assert 'data-dimension="rel"' in five
    # the driver model of five dimensions: 5 coefficients + intercept + 1 rows
    assert _needs(fix) == {"importance_performance": 7}
    if n == 0:
        assert 'data-needs="0"' in overview  # "no responses yet"
        said = c.get(f"{base}/sections/comments?lang={lang}").get_data(as_text=True)
        word = "至少需要 1 份完整回答" if lang == "zh-Hans" else "at least 1 complete response."
        assert word in said  # one response, in the singular
    else:
        assert 'data-warning="small_n"' in overview
    # the item page leads to the five-gap page, which says what it needs
    r = c.get(f"{base}/items/rel1?lang={lang}")
    assert r.status_code == (303 if n < 2 else 200)
    r = c.get(f"{base}/report.html?lang={lang}")
    assert r.status_code == 200
    assert 'data-section="importance_performance"' in r.get_data(as_text=True)
