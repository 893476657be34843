"""The reports blueprint: roles, dashboards equal to the scoring API, no cross-survey leaks."""

from __future__ import annotations

import re
from typing import Any

import pytest
from numpy.testing import assert_allclose

from scoring.gaps import service_gaps
from scoring.instrument import gaps_inputs
from surveyapp import models as m
from surveyapp.reports import build
from surveyapp.services import exports


def _frame(app, survey_id: int) -> Any:
    with app.extensions["manyi_db"].sessions() as s:
        return exports.responses_frame(s, [survey_id])


def _values(html: str, attr: str) -> dict[str, float]:
    """``data-<attr>="key"`` elements' first ``data-value`` inside them, in order."""
    out = {}
    for key, block in re.findall(rf'data-{attr}="([^"]+)"(.*?)</(?:article|tr)>', html, re.S):
        found = re.search(r'class="customer-gap" data-value="([^"]+)"', block) or re.search(
            r'data-value="([^"]+)"', block
        )
        if found and key not in out:
            out[key] = float(found.group(1))
    return out


def test_dashboard_numbers_equal_the_scoring_api(app, gap_study, client_as, monkeypatch) -> None:
    c = client_as("viewer")
    page = f"/research/reports/surveys/{gap_study['customer']}/sections/five-gaps?lang=en"
    frame = _frame(app, gap_study["customer"])
    with app.app_context():
        sv = app.extensions["manyi_db"].sessions().get(m.Survey, gap_study["customer"])
        q = sv.questionnaire()
    suspect = build.suspects(q, frame)["suspect"].to_numpy(bool)
    assert suspect.any()  # the demo study has honeypot responses
    clean = frame.loc[~suspect].reset_index(drop=True)
    # by default suspects are left out of every score; the switch brings them back
    for url, data in ((page, clean), (f"{page}&suspects=include", frame)):
        r = c.get(url)
        assert r.status_code == 200, r.get_data(as_text=True)[:2000]
        html = r.get_data(as_text=True)
        # the customer gap P - E of each five-gap card and item row: scoring.gaps
        ref = service_gaps(**gaps_inputs(customers=(q, data)))
        dims = ref.dimensions.set_index(["gap", "dimension"]).loc["customer", "estimate"]
        shown = _values(html, "dimension")
        assert set(shown) == set(dims.index)
        for d, v in shown.items():
            assert_allclose(v, dims[d], rtol=1e-12)
        items = ref.items.set_index(["gap", "item"]).loc["customer", "estimate"]
        for it, v in _values(html, "item").items():
            assert_allclose(v, items[it], rtol=1e-12)
        assert f'data-source="customer">{len(data)}<' in html
    assert f'data-left-out="{int(suspect.sum())}"' in c.get(page).get_data(as_text=True)
    assert "data-missing-gap" not in html  # all four audiences are there
    assert "<script>" not in html  # CSP: no inline script
    # the charts are the server's SVG, as in the HTML report and the PDF: no chart data
    # for a script to draw
    assert 'type="application/json"' not in html
    assert html.count('class="chart-svg chart-svg--wide"') >= 5
    assert html.count('class="chart-svg chart-svg--narrow"') >= 5
    # the cached report is reused: a second request builds nothing new
    built = []
    full_report = build.full_report
    monkeypatch.setattr(
        build, "full_report", lambda *a, **k: built.append(1) or full_report(*a, **k)
    )
    assert c.get(f"/research/reports/surveys/{gap_study['customer']}?lang=en").status_code == 200
    assert built == []
    assert (
        c.get(f"/research/reports/surveys/{gap_study['customer']}?lang=zh-Hans").status_code == 200
    )
    assert built == [1]  # another language is another entry


def test_segment_filter_and_item_drill_down(app, gap_study, client_as) -> None:
    c = client_as("viewer")
    sid = gap_study["customer"]
    five = f"/research/reports/surveys/{sid}/sections/five-gaps"
    r = c.get(f"{five}?segment=branch=east&lang=zh-Hans")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'data-segment="branch=east"' in html
    frame = _frame(app, sid)
    with app.app_context():
        q = app.extensions["manyi_db"].sessions().get(m.Survey, sid).questionnaire()
    frame = frame.loc[~build.suspects(q, frame)["suspect"].to_numpy(bool)]  # left out
    east = frame.loc[(frame["branch"] == "east").fillna(False)]
    assert f'data-source="customer">{len(east)}<' in html
    ref = service_gaps(**gaps_inputs(customers=(q, east))).items.set_index(["gap", "item"])
    r = c.get(f"/research/reports/surveys/{sid}/items/rel1?segment=branch=east")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    got = float(re.search(r'class="customer-gap" data-value="([^"]+)"', page).group(1))
    assert_allclose(got, ref.loc[("customer", "rel1"), "estimate"], rtol=1e-12)
    assert "可靠性" in page
    bad = c.get(f"/research/reports/surveys/{sid}?segment=branch=mars")
    assert bad.status_code == 303
    assert c.get(f"/research/reports/surveys/{sid}/items/nope").status_code == 404


def test_missing_sources_are_explained(gap_study, client_as) -> None:
    html = (
        client_as("viewer")
        .get(f"/research/reports/surveys/{gap_study['other']}/sections/five-gaps?lang=en")
        .get_data(as_text=True)
    )
    for gap in ("understanding", "procedure", "behaviour", "perception", "promotion"):
        assert f'data-missing-gap="{gap}"' in html
    assert "servqual22_manager" in html


@pytest.mark.parametrize("role", ["viewer", "researcher", "admin"])
def test_everyone_logged_in_can_read(gap_study, client_as, role: str) -> None:
    c = client_as(role)
    sid = gap_study["customer"]
    for url in (
        "/research/reports/",
        f"/research/reports/surveys/{sid}/runs",
        f"/research/reports/surveys/{sid}/sections/five-gaps",
    ):
        assert c.get(url).status_code == 200, url


def test_viewer_cannot_run_or_delete(app, gap_study, client_as) -> None:
    sid = gap_study["customer"]
    viewer, researcher = client_as("viewer"), client_as("researcher")
    assert (
        viewer.post(
            f"/research/reports/surveys/{sid}/runs", data={"method": "servqual"}
        ).status_code
        == 403
    )
    r = researcher.post(
        f"/research/reports/surveys/{sid}/runs",
        data={"method": "servqual", "servqual-confidence": "0.9"},
    )
    assert r.status_code == 303
    run_url = r.headers["Location"]
    run_id = int(run_url.rstrip("/").rsplit("/", 1)[1])
    page = viewer.get(run_url).get_data(as_text=True)
    assert 'data-status="done"' in page
    assert "Delete this run" not in page
    assert "删除" not in page
    assert viewer.get(f"/research/reports/runs/{run_id}.json").json["status"] == "done"
    assert viewer.post(f"/research/reports/runs/{run_id}/delete").status_code == 403
    # the same run again is not recomputed
    again = researcher.post(
        f"/research/reports/surveys/{sid}/runs",
        data={"method": "servqual", "servqual-confidence": "0.9"},
    )
    assert again.headers["Location"] == run_url
    bad = researcher.post(
        f"/research/reports/surveys/{sid}/runs",
        data={"method": "servqual", "servqual-confidence": "7"},
        follow_redirects=True,
    )
    assert "confidence must lie between 0.5 and 0.999" in bad.get_data(as_text=True)
    assert researcher.post(f"/research/reports/runs/{run_id}/delete").status_code == 303
    assert viewer.get(run_url).status_code == 404
    with app.extensions["manyi_db"].sessions() as s:
        actions = {a.action for a in s.query(m.AuditLog).filter_by(object_type="scoring_run")}
    assert actions == {"created", "deleted"}


def test_anonymous_is_sent_to_login(gap_study, client_as) -> None:
    c = client_as(None)
    sid = gap_study["customer"]
    for url in (
        f"/research/reports/surveys/{sid}",
        f"/research/reports/surveys/{sid}/report.html",
        f"/research/reports/surveys/{sid}/sections/five-gaps",
    ):
        r = c.get(url)
        assert r.status_code == 302
        assert "/research/login" in r.headers["Location"]
    assert (
        c.post(f"/research/reports/surveys/{sid}/runs", data={"method": "servqual"}).status_code
        == 302
    )


def test_reports_never_leak_another_survey(app, gap_study, client_as) -> None:
    c = client_as("viewer")
    own = c.get(f"/research/reports/surveys/{gap_study['customer']}/report.html")
    assert own.status_code == 200
    assert own.headers["Content-Disposition"].startswith("attachment")
    text = own.get_data(as_text=True)
    assert "other-company" not in text
    other = c.get(
        f"/research/reports/surveys/{gap_study['other']}/report.html?suspects=include"
    ).get_data(as_text=True)
    assert "demo-gap" not in other
    assert 'data-source="customer">80<' in other
    assert 'data-source="manager"' not in other
    with app.extensions["manyi_db"].sessions() as s:
        for run in s.query(m.ScoringRun).filter_by(survey_id=gap_study["other"]):
            examples = (run.result or {}).get("data_quality", {}).get("examples", [])
            assert set(examples) <= gap_study["other_ids"]
        logged = s.query(m.AuditLog).filter_by(action="exported", object_type="survey").count()
    assert logged == 2


def test_overview_responses_card_counts_suspects_once(gap_study, client_as) -> None:
    """Left out: "N suspect responses left out"; kept by the switch: "N suspect" -- never both."""
    c = client_as("viewer")
    page = f"/research/reports/surveys/{gap_study['customer']}?lang=en"
    cards = {}
    for switch in ("", "&suspects=include"):
        html = c.get(page + switch).get_data(as_text=True)
        card = re.search(r'data-headline="n">(.*?)</div>', html, re.S)
        assert card, html[:2000]
        cards[switch] = re.sub(r"\s+", " ", card.group(1))
    assert re.search(r"\d+ suspect responses? left out", cards[""])
    assert not re.search(r"· \d+ suspect<", cards[""])
    assert "left out · " not in cards[""].split("suspect response")[-1]
    assert re.search(r"· \d+ suspect</p>", cards["&suspects=include"])
    assert "suspect response left out" not in cards["&suspects=include"]
    assert "suspect responses left out" not in cards["&suspects=include"]


def test_only_the_comments_page_builds_the_comments(app, gap_study, client_as, monkeypatch) -> None:
    """After new responses the overview and the other pages rebuild without segmenting
    and counting every wave's comments; the comments page builds them once, and the
    report JSON carries them (the same section, from the cache)."""
    c = client_as("viewer")
    sid = gap_study["customer"]
    calls: list[int] = []
    real = build.comments_view
    monkeypatch.setattr(build, "comments_view", lambda *a, **k: calls.append(1) or real(*a, **k))
    base = f"/research/reports/surveys/{sid}"
    for page in ("", "/sections/five-gaps", "/sections/waves", "/sections/quality"):
        assert c.get(f"{base}{page}?lang=en").status_code == 200
    assert calls == []
    page = c.get(f"{base}/sections/comments?lang=en")
    assert page.status_code == 200
    assert calls == [1]
    assert c.get(f"{base}/sections/comments?lang=zh-Hans").status_code == 200
    assert calls == [1, 1]  # another language is another entry
    report = c.get(f"{base}/report.html?lang=en")  # the whole report, comments included
    assert report.status_code == 200
    assert calls == [1, 1]
    with app.test_request_context():
        sv = app.extensions["manyi_db"].sessions().get(m.Survey, sid)
        from surveyapp.reports import views

        said = views.survey_report(sv, segment=None, language="en", exclude_suspects=True)
    assert calls == [1, 1]
    assert said["comments"]["items"]
    assert all(item["n"] for item in said["comments"]["items"])


def test_the_waves_are_compared_once_per_build(app, gap_study, client_as, monkeypatch) -> None:
    c = client_as("viewer")
    calls: list[int] = []
    real = build.waves_view
    monkeypatch.setattr(build, "waves_view", lambda *a, **k: calls.append(1) or real(*a, **k))
    r = c.get(f"/research/reports/surveys/{gap_study['customer']}/sections/waves?lang=en")
    assert r.status_code == 200
    assert len(calls) == 1  # every wave of the study, screened once; not the latest alone
