"""Static URLs carry their file's content hash, so a balancer may cache them for a year."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from tests.surveyapp.conftest import add_survey

STATIC = Path(__file__).resolve().parents[2] / "surveyapp" / "static"


def test_static_urls_carry_the_content_hash(app, client, minimal):
    add_survey(app, minimal)
    html = client.get("/s/demo").text
    found = re.search(r'src="/static/js/survey\.js\?v=([0-9a-f]{12})"', html)
    assert found, "the survey page's script has no ?v= hash"
    digest = hashlib.sha256((STATIC / "js" / "survey.js").read_bytes()).hexdigest()
    assert found.group(1) == digest[:12]
    with client.get(f"/static/js/survey.js?v={found.group(1)}") as r:
        assert r.status_code == 200


def test_a_missing_static_file_gets_an_empty_hash(app):
    with app.test_request_context():
        from flask import url_for

        assert url_for("static", filename="none-such.css") == "/static/none-such.css?v="
