"""The comments page (issue 17, item 5): the customers' own words per text item, their
word and phrase counts, sentiment, per segment and per wave of the study (a wave filter);
searchable; each linked to its response; every count in the page equal to the report's
JSON (the API)."""

from __future__ import annotations

import re

from surveyapp import models as m
from tests.surveyapp.research_helpers import add_token


def _api_json(app, survey_id: int, extra: str = "") -> dict:
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        token = add_token(s, s.query(m.User).filter_by(email="viewer@example.org").one())
    r = app.test_client().get(
        f"/api/v1/surveys/{survey_id}/report.json?lang=zh-Hans{extra}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200
    return r.json


def test_comment_counts_equal_the_json_and_search_and_links(app, gap_study, client_as) -> None:
    sid = gap_study["customer"]
    c = client_as("viewer")  # the page and the API leave the suspect responses out alike
    base = f"/research/reports/surveys/{sid}/sections/comments?lang=zh-Hans"
    r = c.get(base)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    item = _api_json(app, sid)["comments"]["items"][0]
    assert item["item"] == "comment"
    assert item["n"] > 10
    assert f'data-comments-n="{item["n"]}"' in html
    words = dict(
        re.findall(
            r'<tr data-term="([^"]+)"><th scope="row">[^<]*</th><td data-count="(\d+)"',
            html.split('data-terms="words"')[1].split("</table>")[0],
        )
    )
    assert words == {w["term"]: str(w["count"]) for w in item["words"]}
    assert sum(item["sentiment"].values()) == item["n"]
    listed = re.findall(r'data-comment="([^"]+)" data-sentiment="(\w+)"', html)
    assert listed == [(x["response_id"], x["sentiment"]) for x in item["comments"]]
    assert "/research/responses/" in html  # each comment links to its response
    assert "正面" in html
    # search: only the comments holding the words, and how many
    r = c.get(f"{base}&q=太长")
    found = r.get_data(as_text=True)
    expected = [x for x in item["comments"] if "太长" in x["text"]]
    assert expected
    assert len(re.findall(r"data-comment=", found)) == len(expected)
    assert f'data-matches="{len(expected)}"' in found


def test_comments_of_every_wave_with_a_wave_filter(app, gap_study, client_as) -> None:
    """The demo study has two customer waves: the comments page of the later one lists
    both waves' comments, counts per wave equal to the JSON's (scoring.text per wave),
    each linked to its response in its own survey; ?wave= lists one wave only, and the
    suspects switch counts the same way in the page and the JSON."""
    sid = gap_study["customer"]
    c = client_as("viewer")
    counted = {}
    for switch in ("", "&suspects=include"):
        base = f"/research/reports/surveys/{sid}/sections/comments?lang=zh-Hans{switch}"
        html = c.get(base).get_data(as_text=True)
        item = _api_json(app, sid, switch)["comments"]["items"][0]
        waves = {w["wave"]: w["n"] for w in item["by_wave"]}
        assert len(waves) == 2, waves
        assert sum(waves.values()) == item["n"]
        counted[switch] = item["n"]
        shown = dict(re.findall(r'data-wave="([^"]+)" data-wave-n="(\d+)"', html))
        assert shown == {w: str(n) for w, n in waves.items()}
        assert f'data-comments-n="{item["n"]}"' in html
        listed = re.findall(r'data-comment="([^"]+)"', html)
        assert listed == [x["response_id"] for x in item["comments"]]
        assert {x["wave"] for x in item["comments"]} == set(waves)
        # each listed comment links to its response, whichever wave it came from
        assert html.count('href="/research/responses/') == len(listed)
        for wave, n in waves.items():
            one = c.get(f"{base}&wave={wave}").get_data(as_text=True)
            mine = [x["response_id"] for x in item["comments"] if x["wave"] == wave]
            assert re.findall(r'data-comment="([^"]+)"', one) == mine
            assert len(mine) == n  # fewer than COMMENTS_LISTED: every one is listed
            assert f'data-wave-listed="{n}"' in one
            assert f'<option value="{wave}" selected>' in one
    assert counted["&suspects=include"] > counted[""]  # the demo's suspects commented too
