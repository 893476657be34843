"""Scale test: a wave launch on two app servers behind nginx, with faults (issue 20).

``make scale-test`` (``python -m bench.scale``) starts, on loopback ports, a fresh
PostgreSQL database (reached through a TCP proxy the test controls), a throwaway Redis,
two gunicorn app servers, one ``manyi worker``, a local SMTP server (aiosmtpd) and nginx,
all configured by the files in ``deploy/`` (:mod:`bench.scale.cluster`). Then:

1. quiet checks: static files come from nginx compressed and cached for a year; a
   respondent whose requests alternate between the two app servers (nginx's round-robin,
   read from its access log) answers, saves, resumes and submits; a researcher logged in
   on one server uses a CSRF token of the other;
2. the wave launch (:mod:`bench.scale.wave`): a researcher presses "Send N
   invitations" (the app's own mail task on the worker, issue 16, to the SMTP server);
   respondents take their personal links from the mails as they arrive and answer;
   report readers open the dashboard; a bootstrap run; the figures are taken from a
   window without faults, and the respondents' own CPU cost from a second one with the
   readers paused;
3. the faults, one after another under the same load: kill -9 an app server and start
   it again; kill -9 the worker while it sends the invitations (started again, sending
   pressed again); kill -9 the worker during a bootstrap run (the run is failed as
   stale, asked again and finishes); restart Redis; the database unreachable for 10 s
   (the proxy stopped);
4. the checks: every acknowledged response stored exactly once with the answers sent,
   no invitation completed twice, every error page friendly (never a trace nor a plain
   error page), every run finished, the mailing finished; then the researcher presses
   "Send the interrupted again" (the ones a killed worker had handed over and not yet
   recorded, once their claims are older than the lease, see
   :mod:`surveyapp.services.mailing`) and every recipient has the invitation, none
   lost, and one who got it more than once got the same Message-ID each time.
   :func:`run` returns the figures and the problems; the command exits 1 on any problem.
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.scale import smtp_sink, wave
from bench.scale.cluster import Cluster, Ports

__all__ = ["Plan", "Result", "run"]

FAULTS = ("app", "mail", "worker", "redis", "database")
#: MAIL_TIMEOUT_S of the cluster: the lease before an interrupted message may be sent
#: again is two of them (``surveyapp.services.mailing.lease``), short enough to wait for
MAIL_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Plan:
    """How big and how long the test is."""

    folder: Path
    admin_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    base_port: int = 5800
    invitations: int = 20_000  # all mailed by the worker at the wave's launch
    mail_rate_per_minute: float = 0.0  # MAIL_RATE_PER_MINUTE of the worker; 0: no pacing
    # the SMTP server's pause between taking a message and answering 250: a worker killed
    # a moment after a mail arrived is then almost surely inside a delivery
    smtp_delay_s: float = 0.0
    respondents: int = 8  # answering at once
    readers: int = 2  # report readers at once
    measure_s: float = 30.0  # the window without faults that the figures come from
    fault_gap_s: float = 15.0  # load between two faults
    faults: tuple[str, ...] = FAULTS
    bootstrap: int = 200  # resamples of each bootstrap run
    run_responses: int = 500  # responses of the survey the runs score
    save_share: float = 0.2  # respondents who save on a page, leave and resume
    reuse_share: float = 0.1  # respondents who open their used link again
    think_s: float = 0.2  # a respondent's pause between pages
    seed: int = 0


@dataclass
class Result:
    figures: dict[str, Any] = field(default_factory=dict)
    faults: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# -- setup ------------------------------------------------------------------------------------
@dataclass
class Setup:
    survey_id: int
    runs_survey_id: int
    tokens: list[str]
    q: Any


def _setup(cluster: Cluster, plan: Plan) -> Setup:
    """The wave's survey and invitations, the survey the runs score, a researcher."""
    import questionnaires as qn
    from questionnaires.simulate import simulate
    from surveyapp import create_app
    from surveyapp import models as m
    from surveyapp.services.accounts import hash_password
    from surveyapp.services.invitations import create_invitations
    from surveyapp.services.responses import import_frame
    from surveyapp.services.surveys import create_survey

    env = cluster.env("setup")
    config = {k.removeprefix("MANYI_"): v for k, v in env.items() if k.startswith("MANYI_")}
    config.update(
        DATABASE_URL=cluster.direct_url,
        SECRET_KEY=env["SECRET_KEY"],
        INSTANCE_PATH=env["MANYI_INSTANCE"],
        QUEUE_IMMEDIATE=False,
    )
    config.pop("INSTANCE", None)
    config.pop("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", None)
    app = create_app(config)
    database = app.extensions["manyi_db"]
    q = qn.builtin("servqual22")
    acsi = qn.builtin("acsi")
    with database.write() as s:
        s.add(
            m.User(
                email=wave.EMAIL,
                name="Analyst",
                role="admin",
                password_hash=hash_password(wave.PASSWORD),
            )
        )
        survey = create_survey(s, q, slug=wave.SLUG, access="invitation", wave="2026-W1")
        segments = [{"email": f"r{i}@scale.test"} for i in range(plan.invitations)]
        tokens = [inv.token for inv in create_invitations(s, survey, segments)]
        runs_survey = create_survey(s, acsi, slug=wave.RUN_SLUG)
    sim = simulate(acsi, plan.run_responses, seed=plan.seed, survey=wave.RUN_SLUG)
    import_frame(database, runs_survey, sim.data, source="simulated")
    # the wave's first day, imported: the dashboard has data from the start
    sim = simulate(q, plan.run_responses, seed=plan.seed, survey=wave.SLUG)
    import_frame(database, survey, sim.data, source="simulated")
    database.dispose()
    return Setup(survey.id, runs_survey.id, tokens, q)


# -- CPU from /proc ---------------------------------------------------------------------------
def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_tier(cluster: Cluster) -> dict[str, float]:
    """CPU seconds so far of each tier's live processes (PostgreSQL: the backends of the
    test database; its shared background processes serve other databases too)."""
    tiers: dict[str, set[int]] = {
        "app servers": set().union(*(cluster.services[n].pids() for n in cluster.app_names)),
        "worker": cluster.services["worker"].pids(),
        "nginx": cluster.services["nginx"].pids(),
        "redis": cluster.services["redis"].pids(),
        "db proxy (test only)": cluster.services["proxy"].pids(),
        "smtp server (test only)": cluster.services["smtp"].pids(),
        "load generator": {os.getpid()},
    }
    pg = set()
    for cmd in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmd.read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text.startswith("postgres:") and f" {cluster.db_name} " in text:
            pg.add(int(cmd.parent.name))
    tiers["postgresql"] = pg
    return {tier: sum(_cpu(p) for p in pids) for tier, pids in tiers.items()}


# -- quiet checks -----------------------------------------------------------------------------
def _check_static(cluster: Cluster, setup: Setup, problems: list[str]) -> None:
    browser = wave.Browser(cluster.ports.nginx, wave.Record())
    page = browser.send("GET", f"/i/{setup.tokens[-1]}")
    src = wave.re.search(r'src="(/static/js/survey\.js\?v=[0-9a-f]{12})"', page.body)
    if not src:
        problems.append("the survey page's script URL carries no ?v= content hash")
        return
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", cluster.ports.nginx, timeout=10)
    conn.request("GET", src.group(1), headers={"Accept-Encoding": "gzip"})
    r = conn.getresponse()
    r.read()
    conn.close()
    if r.status != 200 or r.getheader("Content-Encoding") != "gzip":
        problems.append(f"static file not served gzipped by nginx ({r.status})")
    if "max-age=31536000" not in (r.getheader("Cache-Control") or ""):
        problems.append(f"static file without a long cache header: {r.getheader('Cache-Control')}")


def _upstreams(log: Path, offset: int) -> list[str]:
    with log.open("rb") as fh:
        fh.seek(offset)
        lines = fh.read().decode("utf-8", "replace").splitlines()
    return [ln.split()[-3] for ln in lines if "/i/" in ln or "/r/" in ln]


def _check_round_robin(cluster: Cluster, setup: Setup, problems: list[str]) -> wave.Record:
    """One respondent alone: nginx alternates its requests between the two servers; it
    saves on page 3, resumes in a new browser and submits."""
    record = wave.Record()
    log = cluster.folder / "nginx" / "access.log"
    offset = log.stat().st_size
    record.give_up_at = time.monotonic() + 30
    resp = wave.Respondent(
        setup.tokens[-1], setup.q, cluster.ports.nginx, record, random.Random(1), save_at=3
    )
    resp.answer()
    time.sleep(0.5)  # nginx writes the log line after the response
    hosts = _upstreams(log, offset)
    alternating = all(a != b for a, b in zip(hosts, hosts[1:], strict=False))
    if len(set(hosts)) != 2 or not alternating:
        problems.append(f"a lone respondent's requests did not alternate: {hosts}")
    if len(record.acked) != 1 or record.unexpected or record.errors:
        problems.append(f"the alternating respondent failed: {record.unexpected} {record.errors}")
    return record


def _check_researcher(cluster: Cluster, setup: Setup, plan: Plan, problems: list[str]) -> int:
    """Log in on app server 1, take a CSRF token from server 2, post it to server 1 (the
    first bootstrap run). Returns the run's id."""
    first, second = cluster.ports.apps[:2]
    browser = wave.log_in(first, wave.Record(give_up_at=time.monotonic() + 30))
    browser.port = second
    page = browser.send("GET", f"/research/reports/surveys/{setup.runs_survey_id}/runs")
    if page.status != 200:
        problems.append(f"a session from server 1 is not logged in on server 2: {page.status}")
    browser.port = first
    return wave.queue_run(browser, setup.runs_survey_id, plan.bootstrap, 1, token_page=page)


# -- the load ----------------------------------------------------------------------------------
class Load:
    """Respondent and reader threads until :meth:`stop`. Respondents take the invitation
    links of the mails as they arrive (each once) until then; visits under way finish (a
    failing request gives up ``grace_s`` after stop)."""

    def __init__(self, cluster: Cluster, setup: Setup, plan: Plan, grace_s: float = 90) -> None:
        self.cluster, self.setup, self.plan = cluster, setup, plan
        self.record = wave.Record()
        self.grace_s = grace_s
        self._stop = threading.Event()
        self.reading = threading.Event()  # cleared: the report readers pause
        self.reading.set()
        self.mailbox = smtp_sink.Mailbox(cluster.mailbox)
        self._tokens: list[str] = []
        self._taken = {setup.tokens[-1]}  # the quiet respondent's, answered before the mail
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _next_token(self) -> str | None:
        """The link of the next invitation mail (waiting for the mailing); None once the
        load stops or every invitation was taken."""
        while not self._stop.is_set():
            with self._lock:
                if not self._tokens:
                    arrived = (mail["token"] for mail in self.mailbox.new())
                    self._tokens = [t for t in arrived if t and t not in self._taken]
                    self._tokens.reverse()
                if self._tokens:
                    token = self._tokens.pop()
                    self._taken.add(token)
                    return token
                if len(self._taken) >= len(self.setup.tokens):
                    return None
            self._stop.wait(0.2)
        return None

    def _respondent(self, k: int) -> None:
        rng = random.Random(self.plan.seed * 1000 + k)
        n_pages = len(self.setup.q.pages)
        while not self._stop.is_set():
            token = self._next_token()
            if token is None:
                if not self._stop.is_set():
                    self.record.add(
                        self.record.unexpected, "ran out of invitations: raise --invitations"
                    )
                return
            save_at = rng.randrange(n_pages - 1) if rng.random() < self.plan.save_share else None
            wave.Respondent(
                token,
                self.setup.q,
                self.cluster.ports.nginx,
                self.record,
                rng,
                save_at=save_at,
                reuse=rng.random() < self.plan.reuse_share,
                think_s=self.plan.think_s,
            ).answer()

    def start(self) -> None:
        port = self.cluster.ports.nginx
        readers = [wave.log_in(port, self.record) for _ in range(self.plan.readers)]
        for k in range(self.plan.respondents):
            self._threads.append(threading.Thread(target=self._respondent, args=(k,), daemon=True))
        for browser in readers:
            self._threads.append(
                threading.Thread(
                    target=wave.read_reports,
                    args=(browser, self.setup.survey_id, self._stop, self.reading),
                    daemon=True,
                )
            )
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self.record.give_up_at = time.monotonic() + self.grace_s
        self._stop.set()
        for t in self._threads:
            t.join()


# -- faults -------------------------------------------------------------------------------------
def _window(record: wave.Record, start: float, end: float) -> dict[str, Any]:
    with record.lock:
        errors = [e for e in record.errors if start <= e[0] < end]
        acked = sum(1 for _t, _v, at in record.acked.values() if start <= at < end)

    def who(path: str) -> str:
        return "researchers" if path.startswith("/research") else "respondents"

    return {
        "error pages": len(errors),
        "of which not friendly": sum(1 for e in errors if not e[3]),
        "statuses": sorted({f"{e[1]} to {who(e[2])}" for e in errors}),
        "acknowledged in window": acked,
    }


@dataclass
class Stage:
    """What a fault (or another step of the wave) works with."""

    cluster: Cluster
    setup: Setup
    plan: Plan
    researcher: wave.Browser
    runs: dict[str, Any]
    mail: dict[str, Any] = field(
        default_factory=lambda: {
            "kills while sending": 0,
            "database outages while sending": 0,
            "sending pressed": 0,
            "sent again pressed": 0,
        }
    )


def _fault_app(stage: Stage) -> str:
    cluster = stage.cluster
    cluster.restart(cluster.app_names[0], kill=True, down_s=3.0)
    return "kill -9 app server 1 (gunicorn master and workers), 3 s down, started again"


def _fault_redis(stage: Stage) -> str:
    stage.cluster.restart("redis", kill=False, down_s=3.0)
    return "Redis stopped (SIGTERM), 3 s down, started again (append-only file kept)"


def _fault_database(stage: Stage) -> str:
    """The database unreachable for 10 s. A mailing under way fails and is run again by
    Huey's retries (``surveyapp.tasks.MAIL_RETRY_DELAY_S`` later)."""
    sending = _unmailed(stage.cluster, stage.setup.survey_id) > 0
    if sending:
        stage.mail["database outages while sending"] += 1
    stage.cluster.restart("proxy", kill=True, down_s=10.0)
    if sending:  # a run that failed between a claim and its record left it interrupted
        stage.mail["last kill"] = time.monotonic()
    return "PostgreSQL unreachable for 10 s (the TCP proxy killed), then reachable again"


def _count_invitations(cluster: Cluster, survey_id: int, *where: Any) -> int:
    from sqlalchemy import create_engine, func, select

    from surveyapp import models as m

    inv = m.Invitation
    engine = create_engine(cluster.direct_url)
    with engine.connect() as conn:
        n = conn.execute(
            select(func.count()).where(
                inv.survey_id == survey_id, inv.recipient.is_not(None), *where
            )
        ).scalar()
    engine.dispose()
    return int(n or 0)


def _unmailed(cluster: Cluster, survey_id: int) -> int:
    """Invitations of the wave that no sending has claimed yet."""
    from surveyapp import models as m

    inv = m.Invitation
    return _count_invitations(
        cluster, survey_id, inv.mails_claimed == 0, inv.mail_failed.is_(False)
    )


def send_invitations(stage: Stage) -> None:
    """The researcher presses "Send N invitations" (again)."""
    wave.send_invitations(stage.researcher, stage.setup.survey_id)
    stage.mail["sending pressed"] += 1


def _restart_worker(stage: Stage) -> None:
    """kill -9 the worker, start it again 1 s later. A mailing under way dies with it
    (its queued task was taken): the researcher, whose page shows the sending stopped,
    presses "Send N invitations" again, as the issue's runs are asked again."""
    sending = _unmailed(stage.cluster, stage.setup.survey_id) > 0
    stage.cluster.services["worker"].kill9()
    if sending:
        stage.mail["kills while sending"] += 1
        stage.mail["last kill"] = time.monotonic()  # after every claim of the killed worker
    time.sleep(1.0)
    stage.cluster.services["worker"].start()
    if sending:
        send_invitations(stage)


def _fault_mail(stage: Stage) -> str:
    """kill -9 the worker while it sends the invitations (a mail arrived a moment ago);
    start it again and send again: nobody mailed twice, the mailing finishes."""
    box = stage.cluster.mailbox
    size = box.stat().st_size if box.exists() else 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (box.stat().st_size if box.exists() else 0) <= size:
        time.sleep(0.05)
    if _unmailed(stage.cluster, stage.setup.survey_id) == 0:
        stage.mail["problem"] = (
            "the mailing had ended before the worker was killed: raise --invitations "
            "(or lower --mail-rate)"
        )
    mailed = len(smtp_sink.read(box))
    _restart_worker(stage)
    stage.mail["killed at"] = mailed
    return (
        f"kill -9 the worker while it sends the invitations ({mailed} mailed), started "
        "again 1 s later; sending pressed again"
    )


def _fault_worker(stage: Stage) -> str:
    """Queue a bootstrap run, kill -9 the worker while it runs, start the worker again:
    the run is failed as stale (no heartbeat); asked again, it runs to the end. (A
    mailing still under way is sent again, see :func:`_restart_worker`.)"""
    researcher, setup, runs = stage.researcher, stage.setup, stage.runs
    resamples = _max_bootstrap()
    run_id = wave.queue_run(researcher, setup.runs_survey_id, resamples, 2)
    state = wave.wait_run(
        researcher, run_id, 120, lambda st: st.get("status") == "running" and st["progress"] > 0
    )
    runs["killed"] = run_id
    runs["killed at"] = dict(state)
    _restart_worker(stage)
    if state.get("status") != "running":
        runs["problem"] = f"the run was not running when the worker was killed: {state}"
    # a run page marks it failed once its heartbeat is REPORT_RUN_STALE_S old
    state = wave.wait_run(researcher, run_id, 60, lambda st: st.get("status") in DONE)
    runs["killed after"] = dict(state)
    runs["again"] = wave.queue_run(researcher, setup.runs_survey_id, resamples, 2)
    return "kill -9 the worker during a bootstrap run, started again 1 s later; run asked again"


def _max_bootstrap() -> int:
    """The most resamples a run may ask for: long enough to kill its worker midway."""
    from surveyapp.reports.runs import MAX_BOOTSTRAP

    return MAX_BOOTSTRAP


#: the faults; each returns what it did (played in the order of ``Plan.faults``)
FAULT_ACTIONS = {
    "app": _fault_app,
    "mail": _fault_mail,
    "worker": _fault_worker,
    "redis": _fault_redis,
    "database": _fault_database,
}
DONE = ("done", "failed")


def _pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile in milliseconds (nearest rank)."""
    s = sorted(values)
    if not s:
        return float("nan")
    return round(s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] * 1000, 1)


def _warm_up(cluster: Cluster) -> None:
    """Each gunicorn worker loads the app on its first requests: not part of the figures."""
    for port in cluster.ports.apps:
        for _ in range(3 * cluster.web_workers):
            wave.Browser(port, wave.Record()).send("GET", "/healthz")


def run(plan: Plan) -> Result:
    """Start the cluster, play the wave with its faults, check, stop everything."""
    result = Result()
    problems = result.problems
    cluster = Cluster(
        plan.folder,
        Ports.from_base(plan.base_port, 2),
        plan.admin_url,
        extra_env={
            # every client is 127.0.0.1: the limits stay on (counted in Redis), high
            "MANYI_SUBMIT_RATE_LIMIT": "1000000/minute",
            "MANYI_RESUME_RATE_LIMIT": "1000000/minute",
            "MANYI_LOGIN_RATE_LIMIT": "1000/minute",
            "MANYI_MIN_SECONDS": "0",
            "MANYI_REPORT_RUN_STALE_S": "5",
            "MANYI_MAIL_RATE_PER_MINUTE": str(plan.mail_rate_per_minute),
            "MANYI_MAIL_TIMEOUT_S": str(MAIL_TIMEOUT_S),
        },
        smtp_delay_s=plan.smtp_delay_s,
    )
    with cluster:
        setup = _setup(cluster, plan)
        _warm_up(cluster)
        _check_static(cluster, setup, problems)
        quiet = _check_round_robin(cluster, setup, problems)
        runs: dict[str, Any] = {"first": _check_researcher(cluster, setup, plan, problems)}
        researcher = wave.log_in(cluster.ports.nginx, wave.Record())
        stage = Stage(cluster, setup, plan, researcher, runs)

        load = Load(cluster, setup, plan)
        load.record.acked.update(quiet.acked)
        load.start()
        send_invitations(stage)  # the wave's launch: respondents answer as mails arrive
        try:
            time.sleep(3.0)  # every respondent under way
            t0, cpu0, wall0 = time.monotonic(), cpu_by_tier(cluster), time.time()
            time.sleep(plan.measure_s)
            t1, cpu1, wall1 = time.monotonic(), cpu_by_tier(cluster), time.time()
            _figures(result, load.record, (t0, t1), cpu0, cpu1, plan)
            mailed = [x for x in smtp_sink.read(cluster.mailbox) if wall0 <= x["at"] < wall1]
            worker_cpu = cpu1["worker"] - cpu0["worker"]
            result.figures["mail in the measured window"] = {
                "mails": len(mailed),
                "mails/s": round(len(mailed) / (wall1 - wall0), 1),
                "worker CPU s per mail": round(worker_cpu / len(mailed), 4) if mailed else None,
            }
            # the respondents' own cost: a second window with the readers paused
            load.reading.clear()
            time.sleep(3.0)  # dashboards under way finish
            t2, cpu2 = time.monotonic(), cpu_by_tier(cluster)
            time.sleep(plan.measure_s / 2)
            t3, cpu3 = time.monotonic(), cpu_by_tier(cluster)
            load.reading.set()
            _respondent_cost(result, load.record, (t2, t3), cpu2, cpu3)
            for name in plan.faults:
                start = time.monotonic()
                what = FAULT_ACTIONS[name](stage)
                time.sleep(plan.fault_gap_s)  # the load goes on after the restart
                window = _window(load.record, start, time.monotonic())
                result.faults.append({"fault": name, "what": what, **window})
        finally:
            load.stop()
        for key in ("first", "again"):
            if key in runs:
                state = wave.wait_run(
                    researcher, runs[key], 600, lambda st: st.get("status") in DONE
                )
                if state.get("status") != "done":
                    problems.append(f"bootstrap run {runs[key]} ({key}) ended as {state}")
        if "problem" in runs:
            problems.append(runs["problem"])
        elif "killed" in runs and runs.get("killed after", {}).get("status") != "failed":
            problems.append(f"the run of the killed worker was not failed: {runs['killed after']}")
        if "again" in runs and runs["again"] == runs["killed"]:
            problems.append("asking again for the killed run returned the killed run")
        _check_integrity(cluster, setup, load.record, result)
        _worker_figures(cluster, runs, result)
        _check_mail(stage, result)
    return result


def _figures(
    result: Result,
    record: wave.Record,
    window: tuple[float, float],
    cpu0: dict[str, float],
    cpu1: dict[str, float],
    plan: Plan,
) -> None:
    """Throughput, latencies and CPU per response of ``window`` (no faults in it)."""
    t0, t1 = window
    with record.lock:
        done = sum(1 for _t, _v, at in record.acked.values() if t0 <= at < t1)
        resp = [s for at, s in record.respondent_s if t0 <= at < t1]
        report = [s for at, s in record.report_s if t0 <= at < t1]
    seconds = t1 - t0
    cpu = {tier: cpu1[tier] - cpu0.get(tier, 0.0) for tier in cpu1}
    result.figures.update(
        {
            "window s": round(seconds, 1),
            "respondents at once": plan.respondents,
            "report readers": plan.readers,
            "responses completed": done,
            "responses/s": round(done / seconds, 2),
            "respondent requests/s": round(len(resp) / seconds, 1),
            "respondent p50 ms": _pct(resp, 50),
            "respondent p99 ms": _pct(resp, 99),
            "report pages": len(report),
            "report p50 ms": _pct(report, 50),
            "report p99 ms": _pct(report, 99),
            "CPU s per response": {t: round(c / max(done, 1), 4) for t, c in cpu.items()},
            "CPU share of the window": {t: round(c / seconds, 2) for t, c in cpu.items()},
            "load average": round(os.getloadavg()[0], 1),
        }
    )


def _respondent_cost(
    result: Result,
    record: wave.Record,
    window: tuple[float, float],
    cpu0: dict[str, float],
    cpu1: dict[str, float],
) -> None:
    """CPU per response of ``window``, in which only respondents were active."""
    t0, t1 = window
    with record.lock:
        done = sum(1 for _t, _v, at in record.acked.values() if t0 <= at < t1)
        resp = [s for at, s in record.respondent_s if t0 <= at < t1]
    result.figures["respondents only"] = {
        "window s": round(t1 - t0, 1),
        "responses/s": round(done / (t1 - t0), 2),
        "respondent p50 ms": _pct(resp, 50),
        "respondent p99 ms": _pct(resp, 99),
        "CPU s per response": {
            t: round((c - cpu0.get(t, 0.0)) / max(done, 1), 4) for t, c in cpu1.items()
        },
    }


def _same(sent: str, stored: str | None) -> bool:
    """Whether a stored answer is the posted one (numbers compared as numbers)."""
    if stored is None:
        return False
    try:
        return float(sent) == float(stored)
    except ValueError:
        return sent == stored


def _check_integrity(cluster: Cluster, setup: Setup, record: wave.Record, result: Result) -> None:
    """Every acknowledged response stored once with the answers sent; no invitation
    completed twice; every error page friendly; nothing unexpected."""
    from sqlalchemy import create_engine, func, select

    from surveyapp import models as m

    problems = result.problems
    engine = create_engine(cluster.direct_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.Response.response_id, m.Response.status).where(
                m.Response.survey_id == setup.survey_id, m.Response.invitation_id.is_not(None)
            )
        ).all()
        answers: dict[str, dict[str, str]] = {}
        query = (
            select(m.Response.response_id, m.Answer.column, m.Answer.num, m.Answer.text)
            .join(m.Answer, m.Answer.response_pk == m.Response.id)
            .where(m.Response.survey_id == setup.survey_id, m.Response.status == "complete")
        )
        for rid, col, num, text in conn.execute(query):
            answers.setdefault(rid, {})[col] = text if text is not None else f"{num:g}"
        invitations_done = conn.execute(
            select(func.count(func.distinct(m.Response.completed_invitation_id))).where(
                m.Response.survey_id == setup.survey_id
            )
        ).scalar()
    engine.dispose()
    stored_ids = [r.response_id for r in rows if r.status == "complete"]
    acked = record.acked
    lost = sorted(set(acked) - set(stored_ids))
    doubled = len(stored_ids) - len(set(stored_ids))
    invitations_doubled = len(stored_ids) - int(invitations_done or 0)
    wrong = []
    for rid, (_token, sent, _at) in acked.items():
        got = answers.get(rid, {})
        for name, value in sent.items():
            col = name.removeprefix("a-")
            if not _same(value, got.get(col)):
                wrong.append(f"{rid} {col}: sent {value!r}, stored {got.get(col)!r}")
                break
    unfriendly = [e for e in record.errors if not e[3]]
    result.figures.update(
        {
            "acknowledged responses": len(acked),
            "stored complete": len(stored_ids),
            "stored but never acknowledged": len(set(stored_ids) - set(acked)),
            "lost": len(lost),
            "doubled": doubled,
            "invitations completed twice": invitations_doubled,
            "answers differing from what was sent": len(wrong),
            "saved and resumed": record.resumed,
            "used links refused a second response": record.reused_refused,
            "error pages seen": len(record.errors),
            "error pages not friendly": len(unfriendly),
        }
    )
    if lost:
        problems.append(f"{len(lost)} acknowledged response(s) not stored, e.g. {lost[:3]}")
    if doubled or invitations_doubled:
        problems.append(f"doubled: {doubled} responses, {invitations_doubled} invitations")
    if wrong:
        problems.append(f"{len(wrong)} response(s) stored other answers, e.g. {wrong[:3]}")
    if unfriendly:
        problems.append(
            f"{len(unfriendly)} error page(s) not friendly, e.g. {unfriendly[:3]}: "
            f"{record.unfriendly_bodies[:1]}"
        )
    if record.unexpected:
        problems.append(f"{len(record.unexpected)} unexpected answer(s): {record.unexpected[:5]}")
    if not acked:
        problems.append("no response was acknowledged")


def _mail_rows(cluster: Cluster, survey_id: int) -> list[Any]:
    from sqlalchemy import create_engine, select

    from surveyapp import models as m

    inv = m.Invitation
    engine = create_engine(cluster.direct_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(inv.recipient, inv.mails_claimed, inv.mails_sent, inv.mail_failed).where(
                inv.survey_id == survey_id
            )
        ).all()
    engine.dispose()
    return list(rows)


def _interrupted(rows: list[Any]) -> set[str]:
    return {r.recipient for r in rows if r.mails_claimed > r.mails_sent and not r.mail_failed}


def _send_interrupted_again(stage: Stage, interrupted: set[str]) -> None:
    """Once the lease of the killed worker's claims has passed, the researcher presses
    "Send the interrupted again" (through nginx) and waits until they are recorded as
    sent; again, up to three times, if a claim was younger than the lease."""
    from surveyapp.services import mailing

    lease = mailing.lease({"MAIL_TIMEOUT_S": MAIL_TIMEOUT_S}).total_seconds()
    wait = stage.mail.get("last kill", 0.0) + lease + 1.0 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    for _ in range(3):
        stage.mail["sent again pressed"] += 1
        said = wave.send_interrupted_again(stage.researcher, stage.setup.survey_id)
        stage.mail["page said"] = said
        deadline = time.monotonic() + lease + 30.0
        while time.monotonic() < deadline:
            rows = _mail_rows(stage.cluster, stage.setup.survey_id)
            if interrupted <= {r.recipient for r in rows if r.mails_sent >= 1}:
                time.sleep(2.0)  # the last message recorded
                return
            time.sleep(1.0)


def _check_mail(stage: Stage, result: Result, timeout_s: float = 1800.0) -> None:
    """The mailing finishes; the interrupted (handed over by a killed worker, not
    recorded) are sent again once the lease has passed; every recipient got the
    invitation, and one who got it more than once got the same Message-ID each time."""
    from collections import Counter

    cluster, survey_id, problems = stage.cluster, stage.setup.survey_id, result.problems
    if _unmailed(cluster, survey_id) > 500:  # the mailing alone: its CPU per mail
        cpu0, wall0 = cpu_by_tier(cluster), time.time()
        time.sleep(20.0)
        cpu1, wall1 = cpu_by_tier(cluster), time.time()
        n = sum(1 for x in smtp_sink.read(cluster.mailbox) if wall0 <= x["at"] < wall1)
        result.figures["mail alone (after the load)"] = {
            "mails/s": round(n / (wall1 - wall0), 1),
            "CPU s per mail": {t: round((cpu1[t] - cpu0[t]) / max(n, 1), 5) for t in cpu1},
            "load average": round(os.getloadavg()[0], 1),
        }
    deadline = time.monotonic() + timeout_s
    while _unmailed(cluster, survey_id) and time.monotonic() < deadline:
        time.sleep(1.0)
    time.sleep(2.0)  # the last message recorded
    interrupted = _interrupted(_mail_rows(cluster, survey_id))
    arrived_before = {x["to"] for x in smtp_sink.read(cluster.mailbox)} & interrupted
    if interrupted:
        _send_interrupted_again(stage, interrupted)
    rows = _mail_rows(cluster, survey_id)
    mails = smtp_sink.read(cluster.mailbox)
    got = Counter(x["to"] for x in mails)
    ids: dict[str, set[str]] = {}
    for x in mails:
        ids.setdefault(x["to"], set()).add(x["message_id"])
    recipients = {r.recipient for r in rows}
    unclaimed = {r.recipient for r in rows if r.mails_claimed == 0}
    lost = recipients - set(got)
    repeated = {r for r in recipients if got[r] > 1 and len(ids[r]) == 1}
    different = {r for r in recipients if len(ids.get(r, ())) > 1}
    at = sorted(x["at"] for x in mails)
    kills = stage.mail["kills while sending"] + stage.mail["database outages while sending"]
    result.figures["mail"] = {
        "invitations": len(recipients),
        "mailed once": sum(1 for r in recipients if got[r] == 1),
        "repeated with the same Message-ID": len(repeated),
        "lost": len(lost),
        "doubled with different Message-IDs": len(different),
        "interrupted (claimed, not recorded) after the mailing": len(interrupted),
        "interrupted that had arrived before they were sent again": len(arrived_before),
        "interrupted after sending them again": len(_interrupted(rows)),
        "worker kills while sending": stage.mail["kills while sending"],
        "database outages while sending": stage.mail["database outages while sending"],
        "sending pressed": stage.mail["sending pressed"],
        "sending the interrupted again pressed": stage.mail["sent again pressed"],
        "mails/s first to last (all phases, faults included)": (
            round(len(mails) / (at[-1] - at[0]), 1) if len(at) > 1 else None
        ),
        "not for this wave": len(set(got) - recipients),
    }
    if "page said" in stage.mail:
        result.figures["mail"]["the page said after sending again"] = stage.mail["page said"]
    if "problem" in stage.mail:
        problems.append(stage.mail["problem"])
    if unclaimed:
        problems.append(f"the mailing did not finish: {len(unclaimed)} invitation(s) never sent")
    if lost:
        problems.append(f"{len(lost)} invitation(s) lost (never arrived), e.g. {sorted(lost)[:3]}")
    if different:
        example = sorted(different)[:3]
        problems.append(
            f"{len(different)} recipient(s) got the invitation with different Message-IDs,"
            f" e.g. {example}"
        )
    if _interrupted(rows):
        problems.append(f"{len(_interrupted(rows))} invitation(s) still interrupted")
    if len(interrupted) > kills:
        problems.append(
            f"{len(interrupted)} interrupted invitations after {kills} kill(s) or outage(s)"
        )


def _worker_figures(cluster: Cluster, runs: dict[str, Any], result: Result) -> None:
    """Bootstrap resamples per second of the finished runs (queued to finished)."""
    from sqlalchemy import create_engine, select

    from surveyapp import models as m

    ids = [runs[k] for k in ("first", "again") if k in runs]
    engine = create_engine(cluster.direct_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                m.ScoringRun.status,
                m.ScoringRun.parameters.label("params"),
                m.ScoringRun.created_at,
                m.ScoringRun.finished_at,
            ).where(m.ScoringRun.id.in_(ids))
        ).all()
    engine.dispose()
    rates = [
        r.params["bootstrap"] / (r.finished_at - r.created_at).total_seconds()
        for r in rows
        if r.status == "done" and r.finished_at is not None
    ]
    result.figures["bootstrap resamples/s (queued to done)"] = (
        round(statistics.median(rates), 1) if rates else None
    )
    result.figures["runs"] = {str(k): v for k, v in runs.items()}
