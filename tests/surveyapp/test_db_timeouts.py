"""A hung or locked database gives the friendly 503 page within seconds, never a dropped
connection at gunicorn's 30 s; ``/healthz`` asks the database (issue 22, item 9)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from surveyapp import config as cfg
from surveyapp.cli.web import GUNICORN_TIMEOUT_S
from tests.surveyapp.conftest import add_survey, make_app

PROXY_PORT = 5420  # this suite's port range (5400-5499)


class Proxy:
    """A TCP proxy to PostgreSQL that can stop forwarding: it still accepts connections
    (so the client's connect succeeds) but never passes a byte on (a hung server)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.forwarding = True
        self.sock = socket.create_server(("127.0.0.1", PROXY_PORT), reuse_port=True)
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if not self.forwarding:
                self.held.append(client)  # accepted, never answered
                continue
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                while not self.forwarding:
                    time.sleep(0.05)  # hung: hold the bytes
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()
        for s in self.held:
            s.close()


@contextmanager
def proxied(url: str) -> Iterator[tuple[Proxy, str]]:
    parsed = make_url(url)
    proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    try:
        yield proxy, parsed.set(host="127.0.0.1", port=PROXY_PORT).render_as_string(False)
    finally:
        proxy.close()


def test_every_database_time_out_ends_well_before_gunicorns():
    defaults = {s.name: s.default for s in cfg.SETTINGS}
    assert defaults["SQLITE_BUSY_TIMEOUT_MS"] / 1000 <= GUNICORN_TIMEOUT_S / 2
    assert defaults["DB_CONNECT_TIMEOUT_S"] <= GUNICORN_TIMEOUT_S / 4
    assert defaults["DB_STATEMENT_TIMEOUT_S"] < GUNICORN_TIMEOUT_S


def test_healthz_asks_the_database(tmp_path):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"})
    r = app.test_client().get("/healthz")
    assert r.status_code == 200
    assert r.json == {"status": "ok", "database": "ok"}
    (tmp_path / "t.sqlite").unlink()
    (tmp_path / "t.sqlite").mkdir()  # a database file that cannot be opened
    app.extensions["manyi_db"].dispose()
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    assert r.json["database"] == "unreachable"
    assert str(tmp_path) not in r.text


@pytest.mark.postgres
def test_a_hung_database_gives_the_friendly_page_within_10_seconds(postgres_url, tmp_path, minimal):
    with proxied(postgres_url) as (proxy, url):
        app = make_app(
            {"DATABASE_URL": url, "CREATE_TABLES": False, "INSTANCE_PATH": tmp_path},
            DB_CONNECT_TIMEOUT_S=3.0,
        )
        app.testing = False
        add_survey(app, minimal, slug="hung")
        assert app.test_client().get("/s/hung").status_code == 200
        proxy.forwarding = False
        app.extensions["manyi_db"].dispose()  # the next request needs a new connection
        for path in ("/s/hung", "/healthz", "/r/ABCD2345"):
            started = time.monotonic()
            r = app.test_client().get(path)
            took = time.monotonic() - started
            assert r.status_code == 503, (path, r.status_code)
            assert took < 10, (path, took)
        page = app.test_client().get("/s/hung", headers={"Accept-Language": "en"})
        assert "try again in a moment" in page.text
        assert "5420" not in page.text
        assert "127.0.0.1" not in page.text
        proxy.forwarding = True
        app.extensions["manyi_db"].dispose()


@pytest.mark.postgres
def test_a_locked_row_gives_the_friendly_page_not_a_wait(postgres_url, tmp_path, minimal):
    app = make_app(
        {"DATABASE_URL": postgres_url, "CREATE_TABLES": False, "INSTANCE_PATH": tmp_path},
        DB_STATEMENT_TIMEOUT_S=2.0,
    )
    app.testing = False
    survey_id, _tokens = add_survey(app, minimal, slug="locked")
    engine = app.extensions["manyi_db"].engine
    with engine.connect() as holder:
        holder.execute(text("LOCK TABLE survey IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        r = app.test_client().get("/s/locked")
        took = time.monotonic() - started
        holder.rollback()
    assert r.status_code == 503
    assert took < 10
    assert survey_id
    app.extensions["manyi_db"].dispose()


def test_every_page_during_a_database_outage_is_the_friendly_page(tmp_path, minimal):
    """Respondents and a logged-in researcher alike get the bilingual 503 page while the
    database is down (the page itself must not ask the database who is logged in)."""
    from tests.surveyapp.research_helpers import PASSWORD, add_user, login

    app = make_app({"DATABASE": tmp_path / "t.sqlite"})
    app.testing = False  # the error handlers, not the test client's exceptions
    survey_id, tokens = add_survey(app, minimal, slug="down", invitations=1)
    add_user(app, "analyst@example.org", "admin")
    researcher = app.test_client()
    assert login(researcher, "analyst@example.org").status_code == 303
    assert researcher.get(f"/research/surveys/{survey_id}").status_code == 200
    (tmp_path / "t.sqlite").unlink()
    (tmp_path / "t.sqlite").mkdir()  # a database that cannot be opened
    app.extensions["manyi_db"].dispose()
    respondent = app.test_client()
    pages = [
        (respondent, "GET", "/s/down"),
        (respondent, "GET", f"/i/{tokens[0]}"),
        (respondent, "POST", "/s/down"),
        (researcher, "GET", "/research/"),
        (researcher, "GET", f"/research/surveys/{survey_id}"),
        (researcher, "GET", f"/research/reports/surveys/{survey_id}"),
        (researcher, "POST", f"/research/surveys/{survey_id}/invitations/send"),
        (app.test_client(), "POST", "/research/login"),  # a login asks the database
    ]
    for language, says in (("en", "try again in a moment"), ("zh-Hans", "请稍后再试")):
        for client, method, path in pages:
            data = {"email": "analyst@example.org", "password": PASSWORD}
            r = client.open(path, method=method, data=data, headers={"Accept-Language": language})
            assert r.status_code == 503, (path, r.status_code, r.text[:300])
            assert says in r.text, (path, language, r.text[:300])
            assert 'class="message message--error"' in r.text
            assert "Traceback" not in r.text
            assert str(tmp_path) not in r.text
    # the page's style still loads for a logged-in researcher (static files need no user)
    with researcher.get("/static/css/manyi.css") as css:
        assert css.status_code == 200
