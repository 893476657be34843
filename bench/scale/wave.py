"""The wave launch: respondents, report readers and bootstrap runs through nginx, faults
on a schedule, then the integrity checks and the figures.

Respondents (threads, each a fresh browser: its own cookie) take personal invitations
in turn and answer the eight pages of SERVQUAL-22 (expectation and perception items,
importance points, overall ratings, segments) through the balancer. Some save on a
page, leave and later come back by their resume link (a new browser); some open their
link again after submitting (one-use: the "already answered" page, and a second
response refused: a 303 back to that page). A page answered with 5xx or a refused connection is
checked (the friendly page, never a trace nor a plain error, for respondents and
researchers alike), and sent again a moment later with the same
response id, as a respondent would; only a 303 to the thank-you page acknowledges a
response. Report readers (logged-in researchers) open the survey's dashboard. Bootstrap
runs (ACSI, PLS with resamples) are queued through the web form and followed to the end.
"""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import questionnaires as qn

SLUG = "wave"
RUN_SLUG = "acsi-runs"
PASSWORD = "scale-test-password-1"
EMAIL = "analyst@scale.test"
FRIENDLY = ("请稍后再试", 'class="message message--error"')  # nginx's 50x page, the app's
TRACE = ("Traceback", 'File "/', "werkzeug.exceptions", "<center>nginx</center>")


# -- HTTP ---------------------------------------------------------------------------------
@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str
    seconds: float


@dataclass
class Record:
    """What every client saw, shared by the threads (under ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    respondent_s: list[tuple[float, float]] = field(default_factory=list)  # (when, seconds)
    report_s: list[tuple[float, float]] = field(default_factory=list)
    acked: dict[str, tuple[str, dict[str, str], float]] = field(default_factory=dict)
    saved: dict[str, str] = field(default_factory=dict)  # response id -> resume code
    errors: list[tuple[float, int, str, bool]] = field(
        default_factory=list
    )  # when, status, path, friendly
    unexpected: list[str] = field(default_factory=list)
    unfriendly_bodies: list[str] = field(default_factory=list)
    reused_refused: int = 0
    resumed: int = 0
    give_up_at: float = float("inf")  # time.monotonic() after which failing requests stop

    def add(self, what: list[Any], item: Any) -> None:
        with self.lock:
            what.append(item)


class Browser:
    """One browser: a cookie, requests to nginx, retries after a failure."""

    def __init__(self, port: int, record: Record) -> None:
        self.port = port
        self.record = record
        self.cookie: str | None = None

    def once(self, method: str, path: str, data: dict[str, str] | None = None) -> Reply:
        headers = {"Accept-Language": "zh-Hans"}
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            headers["Cookie"] = self.cookie
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=70)
        t0 = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            text = r.read().decode("utf-8", "replace")
            got = {k.lower(): v for k, v in r.getheaders()}
            status = r.status
        except OSError as exc:
            text, got, status = f"connection failed: {exc}", {}, -1
        finally:
            conn.close()
        cookie = got.get("set-cookie")
        if cookie and cookie.startswith("session="):
            self.cookie = cookie.split(";", 1)[0]
        return Reply(status, got, text, time.perf_counter() - t0)

    def send(self, method: str, path: str, data: dict[str, str] | None = None) -> Reply:
        """The request, sent again after a 5xx or a failed connection (a moment later, as
        a respondent would) until it gets an answer or the record's ``give_up_at`` passes."""
        while True:
            reply = self.once(method, path, data)
            if reply.status == -1 or reply.status >= 500:
                friendly = reply.status == -1 or (
                    any(m in reply.body for m in FRIENDLY)
                    and not any(t in reply.body for t in TRACE)
                )
                self.record.add(
                    self.record.errors, (time.monotonic(), reply.status, path, friendly)
                )
                if not friendly:
                    self.record.add(self.record.unfriendly_bodies, reply.body[:400])
                if time.monotonic() < self.record.give_up_at:
                    time.sleep(1.0)
                    continue
            return reply


def hidden(html: str, name: str) -> str | None:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else None


# -- respondents -----------------------------------------------------------------------------
def page_values(q: qn.Questionnaire, index: int, rng: random.Random) -> dict[str, str]:
    """Valid answers to every item of page ``index``, drawn from ``rng``."""
    out: dict[str, str] = {}
    for item in q.pages[index].items:
        if item.type == "rating":
            for col in item.columns():
                out[f"a-{col}"] = str(rng.randint(item.scale.min, item.scale.max))
        elif item.type == "allocation":
            n = len(item.choices)
            cuts = sorted(rng.randint(0, item.total) for _ in range(n - 1))
            shares = [b - a for a, b in zip([0, *cuts], [*cuts, item.total], strict=True)]
            out.update({f"a-{c}": str(v) for c, v in zip(item.columns(), shares, strict=True)})
        elif item.type == "single_choice":
            out[f"a-{item.id}"] = rng.choice(item.choices).code
        elif item.type == "text":
            out[f"a-{item.id}"] = rng.choice(["服务很好", "good service", "排队太久了"])
    return out


@dataclass
class Respondent:
    """One invitation's respondent; :meth:`answer` plays the whole visit."""

    token: str
    q: qn.Questionnaire
    port: int
    record: Record
    rng: random.Random
    save_at: int | None = None  # page on which they save and leave (then resume)
    reuse: bool = False  # open the link again after submitting
    think_s: float = 0.0  # pause before each page is sent
    sent: dict[str, str] = field(default_factory=dict)

    def _page(self, reply: Reply) -> tuple[int, dict[str, str]] | None:
        if reply.status != 200:
            self.record.add(self.record.unexpected, f"page {reply.status}: {reply.body[:200]}")
            return None
        state = {k: hidden(reply.body, k) for k in ("csrf_token", "response_id", "started", "page")}
        if any(v is None for v in state.values()):
            self.record.add(self.record.unexpected, f"no form in page: {reply.body[:200]}")
            return None
        return int(state["page"] or 0), {k: str(v) for k, v in state.items()}

    def _timed(self, browser: Browser, method: str, path: str, data: Any = None) -> Reply:
        reply = browser.send(method, path, data)
        self.record.add(self.record.respondent_s, (time.monotonic(), reply.seconds))
        return reply

    def _follow(self, browser: Browser, reply: Reply) -> Reply:
        """Post/Redirect/Get: a stored page answers 303; the browser then loads the page
        it names (the next page, or the saved-answers page)."""
        if reply.status != 303:
            return reply
        target = urllib.parse.urlsplit(reply.headers.get("location", ""))
        path = target.path + (f"?{target.query}" if target.query else "")
        return self._timed(browser, "GET", path)

    def answer(self) -> None:
        path = f"/i/{self.token}"
        browser = Browser(self.port, self.record)
        page = self._page(self._timed(browser, "GET", path))
        n = len(self.q.pages)
        while page is not None:
            index, state = page
            values = page_values(self.q, index, self.rng)
            self.sent.update(values)
            last = index == n - 1
            action = "submit" if last else "next"
            if self.save_at == index:
                action = "save"
            data = {**values, **state, "action": action}
            time.sleep(self.think_s)
            reply = self._timed(browser, "POST", path, data)
            if action == "save":
                reply = self._follow(browser, reply)
                link = re.search(r'href="[^"]*/r/([A-Z0-9]+)"', reply.body)
                if reply.status != 200 or not link:
                    self.record.add(self.record.unexpected, f"save {reply.status}")
                    return
                self.save_at = None
                with self.record.lock:
                    self.record.saved[state["response_id"]] = link.group(1)
                # gone; back later in a new browser, by the resume link
                time.sleep(self.rng.uniform(0.5, 2.0))
                browser = Browser(self.port, self.record)
                resumed = self._timed(browser, "GET", f"/r/{link.group(1)}")
                page = self._page(self._follow(browser, resumed))
                with self.record.lock:
                    self.record.resumed += 1
                continue
            if last:
                if reply.status == 303 and "/thanks" in reply.headers.get("location", ""):
                    with self.record.lock:
                        self.record.acked[state["response_id"]] = (
                            self.token,
                            dict(self.sent),
                            time.monotonic(),
                        )
                else:
                    self.record.add(self.record.unexpected, f"submit {reply.status}")
                break
            page = self._page(self._follow(browser, reply))
        if self.reuse:
            self._reuse(path)

    def _reuse(self, path: str) -> None:
        """Open the used link in a new browser: the "already answered" page, no form; a
        second response posted to it anyway is refused (a 303 back to that page)."""
        browser = Browser(self.port, self.record)
        first = browser.send("GET", path)
        if first.status != 200 or hidden(first.body, "response_id") is not None:
            self.record.add(self.record.unexpected, f"used link showed a form ({first.status})")
            return
        start = browser.send("GET", "/resume")  # any form of the site gives a CSRF token
        last = len(self.q.pages) - 1
        data = {
            **page_values(self.q, last, self.rng),
            "csrf_token": hidden(start.body, "csrf_token") or "",
            "response_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "page": str(last),
            "started": "",
            "action": "submit",
        }
        second = browser.send("POST", path, data)
        # refused: the link's "already answered" page (Post/Redirect/Get), nothing stored;
        # the end-of-run check counts the invitation's responses
        shown = self._follow(browser, second) if second.status == 303 else second
        if second.status != 303 or shown.status != 200 or hidden(shown.body, "response_id"):
            self.record.add(
                self.record.unexpected, f"second response to a used link: {second.status}"
            )
            return
        with self.record.lock:
            self.record.reused_refused += 1


# -- researchers ------------------------------------------------------------------------------
def log_in(port: int, record: Record) -> Browser:
    browser = Browser(port, record)
    page = browser.send("GET", "/research/login")
    token = hidden(page.body, "csrf_token") or ""
    reply = browser.send(
        "POST", "/research/login", {"csrf_token": token, "email": EMAIL, "password": PASSWORD}
    )
    if reply.status != 303:
        msg = f"log-in failed: {reply.status} {reply.body[:300]}"
        raise RuntimeError(msg)
    return browser


def read_reports(
    browser: Browser, survey_id: int, stop: threading.Event, reading: threading.Event
) -> None:
    """A report reader: the dashboard of the wave, again and again while ``reading`` is
    set, until ``stop``."""
    record = browser.record
    while not stop.is_set():
        if not reading.is_set():
            stop.wait(0.2)
            continue
        reply = browser.send("GET", f"/research/reports/surveys/{survey_id}")
        record.add(record.report_s, (time.monotonic(), reply.seconds))
        if reply.status != 200:
            record.add(record.unexpected, f"dashboard {reply.status}: {reply.body[:200]}")
        stop.wait(1.0)


def queue_run(
    browser: Browser, survey_id: int, bootstrap: int, seed: int, token_page: Reply | None = None
) -> int:
    """Queue an ACSI bootstrap run through the run form (its CSRF token from
    ``token_page``, else from the form fetched now); the run's id."""
    page = token_page or browser.send("GET", f"/research/reports/surveys/{survey_id}/runs")
    token = hidden(page.body, "csrf_token") or ""
    data = {
        "csrf_token": token,
        "method": "csi",
        "csi-bootstrap": str(bootstrap),
        "csi-seed": str(seed),
    }
    reply = browser.send("POST", f"/research/reports/surveys/{survey_id}/runs", data)
    found = re.search(r"/runs/(\d+)$", reply.headers.get("location", ""))
    if reply.status != 303 or not found:
        msg = f"queueing a run failed: {reply.status} {reply.body[:300]}"
        raise RuntimeError(msg)
    return int(found.group(1))


def send_invitations(browser: Browser, survey_id: int) -> None:
    """Press "Send N invitations" on the survey's invitations page (the mail task)."""
    page = browser.send("GET", f"/research/surveys/{survey_id}/invitations")
    data = {"csrf_token": hidden(page.body, "csrf_token") or "", "kind": "invitation"}
    reply = browser.send("POST", f"/research/surveys/{survey_id}/invitations/send", data)
    if reply.status != 303:
        msg = f"sending the invitations failed: {reply.status} {reply.body[:300]}"
        raise RuntimeError(msg)


def send_interrupted_again(browser: Browser, survey_id: int) -> str:
    """Press "Send the N interrupted again" (its box ticked); the page's message after it."""
    path = f"/research/surveys/{survey_id}/invitations"
    page = browser.send("GET", path)
    data = {"csrf_token": hidden(page.body, "csrf_token") or "", "confirm": "yes"}
    reply = browser.send("POST", f"{path}/resend-interrupted", data)
    if reply.status != 303:
        msg = f"sending the interrupted again failed: {reply.status} {reply.body[:300]}"
        raise RuntimeError(msg)
    after = browser.send("GET", path).body
    found = re.search(r'<div class="flash[^"]*"[^>]*>(.*?)</div>', after, re.S)
    return found.group(1).strip() if found else ""


def run_state(browser: Browser, run_id: int) -> dict[str, Any]:
    reply = browser.send("GET", f"/research/reports/runs/{run_id}.json")
    if reply.status != 200:
        return {"status": f"http {reply.status}"}
    return dict(json.loads(reply.body))


def wait_run(
    browser: Browser, run_id: int, timeout: float, until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = run_state(browser, run_id)
        if until(state):
            return state
        time.sleep(0.5)
    return state
