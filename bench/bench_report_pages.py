"""Benchmark: the report pages of issue 17 (overview, section pages, segments, PDF) with
100,000 customer responses over 4 waves and linked audiences.

Data (built once per schema revision in ``--workdir``, a SQLite file): a study with four
customer waves of servqual22, 25,000 simulated customers each (``simulate`` with seed
``wave index``), and manager (400), staff (1,000) and audit (400) surveys in the latest
wave (:func:`surveyapp.reports.demo.add_linked_audiences`, i.e. ``import_frame``). The
customers are stored through the fastest existing path, ``bench_export.insert_responses``: one
``response`` row each with its ``values_json`` written by ``executemany`` (no ``answer``
rows: the report reads ``values_json`` only; ``import_frame`` would take minutes). Each
comment is made distinct (:func:`distinct_comments`), as real ones are.

Every request goes through the whole Flask app in-process (``app.test_client()``, logged
in as a researcher, zh-Hans): "server time" is the time of ``client.get``, i.e. routing,
auth, the data versions that key the cache (one aggregate query), the cache, reading
the frames (from the frame cache, plus the responses written since) and building on a
miss, rendering -- no network. The report cache is the default ``FileSystemCache``
(``CACHE_DIR`` in the workdir).

Cases (medians of ``--repeat`` runs):

- *warm*: the overview and each section page, data unchanged (after one visit);
- *segment switch*: the overview with ``?segment=branch=<code>``, first visit of each
  segment (a cache miss: the report is built for the segment), then switching back and
  forth between two visited segments (warm);
- *after new responses*: ``--new`` responses added to the latest wave, then the first view
  of the overview, against the scoring alone: every call the view made into the
  ``scoring`` package (:class:`ScoringCalls` records them: the methods, the five-gap
  model, the wave comparison, the screening), made again alone with the same arguments
  right after it in the same process (three times: their median); the median of the
  paired ratios. For comparison
  with earlier runs, also against ``build.run_methods`` alone on the latest wave;
- *transfer*: the overview's HTML and every asset it links (CSS, JS), raw and gzip
  (level 6), on the first visit; a later visit as a browser makes it: the HTML again,
  conditional requests (``If-None-Match`` / ``If-Modified-Since``) for assets that have a
  validator and no fresh ``max-age``, nothing for those still fresh;
- *PDF*: ``report.pdf`` with the queue in immediate mode (the 202/303 request that renders
  it plus the request that fetches it), report warm in the cache.

    python bench/bench_report_pages.py [--repeat 3] [--new 50] [--workdir DIR]
        [--profile] [--profile-new]
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gzip
import inspect
import json
import os
import pstats
import re
import sqlite3
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench_export import insert_responses  # the script directory is on sys.path
from sqlalchemy import func, select

WAVES = ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4")
PER_WAVE = 25_000
LINKED = {"manager": 400, "staff": 1000, "audit": 400}
EMAIL, PASSWORD = "bench@example.org", "bench password 17"
GOAL_MS = 300.0
#: in the database file's name: 2 since the comments are made distinct
DATA_VERSION = 2


def distinct_comments(data: Any, tag: str) -> Any:
    """``data`` with each comment made distinct by `` (#<tag>-<row>)``. The simulation
    draws from a dozen texts, while real comments are mostly all different; the number
    and brackets are no tokens (the counts are unchanged), but a text read before is
    found again only where it would be on real data (``scoring.text.read_texts``)."""
    said = data["comment"].notna() & data["comment"].astype("string").str.strip().ne("")
    rows = [f" (#{tag}-{k})" for k in range(int(said.sum()))]
    data.loc[said, "comment"] = data.loc[said, "comment"] + rows
    return data


class ScoringCalls:
    """Records the calls the report code (``surveyapp.reports``: ``build``, ``views``,
    ``runs``) makes into the ``scoring`` package while :attr:`recording`, to make them
    again alone (:meth:`replay`): the scoring time of a view without the view.

    Every function of ``scoring`` that those modules hold by name, and every function of
    a ``scoring`` module they hold (``instrument.run_methods``), is wrapped; a call made
    while another recorded one runs is part of it, not recorded again. Not counted as
    scoring: ``jsonable`` (turning results into the report's plain data is arranging).
    Replayed calls that raised raise again (a ``ScoringError`` the page turns into a
    notice) and are timed all the same; warnings are silenced as the report keeps them.
    A replay meets the caches of ``scoring`` as the view left them (the comments'
    readings), so it can only be faster than the calls were in the view.
    """

    EXCLUDED = frozenset({"jsonable"})

    def __init__(self, modules: list[Any]) -> None:
        self.recording = False
        self.calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []
        self.in_view_ms = 0.0  # the recorded calls' time while they were made
        self._depth = 0
        self._wrapped: dict[int, Any] = {}
        for mod in modules:
            for name, value in list(vars(mod).items()):
                if inspect.ismodule(value) and value.__name__.startswith("scoring"):
                    for fname, f in list(vars(value).items()):
                        if self._scoring_function(fname, f):
                            setattr(value, fname, self._wrap(f))
                elif self._scoring_function(name, value):
                    setattr(mod, name, self._wrap(value))

    def _scoring_function(self, name: str, f: Any) -> bool:
        module = getattr(f, "__module__", None) or ""
        return (
            inspect.isfunction(f)
            and module.split(".")[0] == "scoring"
            and not name.startswith("_")
            and name not in self.EXCLUDED
        )

    def _wrap(self, f: Any) -> Any:
        if id(f) in self._wrapped:
            return self._wrapped[id(f)]

        @functools.wraps(f)
        def call(*args: Any, **kwargs: Any) -> Any:
            if not self.recording or self._depth:
                return f(*args, **kwargs)
            self._depth += 1
            start = time.perf_counter()
            try:
                return f(*args, **kwargs)
            finally:
                self._depth -= 1
                self.calls.append((f, args, kwargs))
                self.in_view_ms += (time.perf_counter() - start) * 1000

        self._wrapped[id(f)] = call
        return call

    def replay(self) -> float:
        """The recorded calls made again, in order: their time in ms."""
        from scoring.errors import ScoringError

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            for f, args, kwargs in self.calls:
                try:
                    f(*args, **kwargs)
                except ScoringError:
                    pass
            return (time.perf_counter() - start) * 1000


def load() -> str:
    """The 1-, 5- and 15-minute load averages (``/proc/loadavg``)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def make_app(db: Path, workdir: Path) -> Any:
    from surveyapp import create_app

    return create_app(
        {
            "TESTING": True,
            "DATABASE": db,
            "SECRET_KEY": "bench",
            "CREATE_TABLES": True,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "QUEUE_IMMEDIATE": True,
            "CACHE_TYPE": "FileSystemCache",
            "CACHE_DIR": str(workdir / "cache"),
        }
    )


def build_db(db: Path, workdir: Path) -> None:
    import questionnaires as qn
    from questionnaires.simulate import simulate
    from surveyapp import models as m
    from surveyapp.reports.demo import add_linked_audiences
    from surveyapp.services.accounts import hash_password
    from surveyapp.services.surveys import create_survey

    app = make_app(db, workdir)
    database = app.extensions["manyi_db"]
    q = qn.builtin("servqual22")
    with app.app_context(), database.write() as s:
        s.add(m.User(email=EMAIL, role="admin", password_hash=hash_password(PASSWORD)))
        study = m.Study(slug="bench17", name="Bench 17", description="simulated")
        s.add(study)
        s.flush()
        ids = [
            create_survey(s, q, slug=f"bench-{w}".lower(), wave=w, study=study, status="closed").id
            for w in WAVES
        ]
    with app.app_context():
        add_linked_audiences(database, ids[-1], seed=len(WAVES) - 1, sizes=LINKED)
    database.dispose()
    cols = list(q.columns(meta=False))
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    for k, (w, sid) in enumerate(zip(WAVES, ids, strict=True)):
        data = simulate(q, PER_WAVE, seed=k, survey=f"bench-{w}".lower(), wave=w).data
        insert_responses(con, sid, distinct_comments(data, w), cols)
    con.close()


def timed(client: Any, url: str, **kw: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    r = client.get(url, **kw)
    ms = (time.perf_counter() - start) * 1000
    assert r.status_code in (200, 202, 303), (url, r.status_code)
    return ms, r


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def head_bytes(r: Any) -> int:
    return len(f"HTTP/1.1 {r.status}\r\n") + sum(len(f"{k}: {v}\r\n") for k, v in r.headers.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--new", type=int, default=50, help="responses added per 'new data' run")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "manyi-bench17")
    ap.add_argument("--profile", action="store_true", help="cProfile the warm overview")
    ap.add_argument(
        "--profile-new",
        action="store_true",
        help="cProfile, after the timed runs, one more first view after --new responses",
    )
    args = ap.parse_args()

    import questionnaires as qn
    from questionnaires.simulate import simulate
    from surveyapp import db as dbm
    from surveyapp import models as m
    from surveyapp.db import head_revision
    from surveyapp.reports import build, render, runs, views
    from surveyapp.services import exports

    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / f"pages-schema{head_revision()}-data{DATA_VERSION}.sqlite"
    if not db.exists():
        t = time.perf_counter()
        build_db(db, args.workdir)
        mib = db.stat().st_size / 2**20
        print(f"built {db.name} ({mib:.0f} MiB) in {time.perf_counter() - t:.0f} s")
    app = make_app(db, args.workdir)
    database = app.extensions["manyi_db"]
    with app.app_context():
        views.cache.clear()
    with database.sessions() as s:
        latest = s.scalar(
            m.Survey.__table__.select()
            .with_only_columns(m.Survey.id)
            .where(m.Survey.wave == WAVES[-1], m.Survey.audience == "customer")
        )
        n_all = s.scalar(select(func.count()).select_from(m.Response))
    print(f"{os.cpu_count()} CPUs, load {load()}; {n_all:,} responses stored; survey {latest}")
    client = app.test_client()
    r = client.post("/research/login", data={"email": EMAIL, "password": PASSWORD})
    assert r.status_code == 303, r.status_code
    hdr = {"Accept-Language": "zh-Hans"}
    base = f"/research/reports/surveys/{latest}"
    pages = {"overview": base, **{p: f"{base}/sections/{p}" for p in views.SECTION_PAGES}}
    out: dict[str, Any] = {"load_start": load()}

    # -- cold, then warm pages --------------------------------------------------------
    cold, _ = timed(client, base, headers=hdr)
    print(f"overview, cold (empty cache): {cold:.0f} ms   load {load()}")
    out["cold_ms"] = cold
    for url in pages.values():
        timed(client, url, headers=hdr)
    warm: dict[str, float] = {}
    sizes: dict[str, tuple[int, int]] = {}
    linked_assets: set[bytes] = set()
    for name, url in pages.items():
        visits = [timed(client, url, headers=hdr) for _ in range(args.repeat)]
        warm[name] = med([ms for ms, _r in visits])
        body = visits[-1][1].get_data()
        sizes[name] = (len(body), len(gzip.compress(body, 6)))
        linked_assets |= set(re.findall(rb'(?:src|href)="(/[^"]+\.(?:js|css)[^"]*)"', body))
    # the floor of a warm page: the data versions the cache key is computed from
    with app.app_context():
        sv = dbm.session().get(m.Survey, latest)
        waves, linked = views.linked_surveys(sv)
        ids = [w.id for w in waves] + [x.id for x in linked.values()]
        read = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            versions = exports.data_versions(dbm.session(), ids)
            read.append((time.perf_counter() - start) * 1000)
    print(
        f"the data versions alone ({sum(v.complete for v in versions.values()):,} responses "
        f"in {len(ids)} surveys): median {med(read):.0f} ms"
    )
    print(f"warm pages, median of {args.repeat} (goal <= {GOAL_MS:.0f} ms)   load {load()}")
    for name, ms in warm.items():
        print(
            f"  {name:<12} {ms:7.0f} ms  {'met' if ms <= GOAL_MS else 'NOT met'}; "
            f"without the version query {ms - med(read):6.0f} ms; "
            f"HTML {sizes[name][0] / 1e3:.0f} kB, {sizes[name][1] / 1e3:.0f} kB gzip"
        )
    print(f"assets linked by the pages: {sorted(a.decode() for a in linked_assets)}")
    out["warm_ms"], out["read_ms"], out["html_sizes"] = warm, read, sizes

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        client.get(base, headers=hdr)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)

    # -- segment switch ---------------------------------------------------------------
    q = qn.builtin("servqual22")
    codes = [c.code for c in q.segments[0].choices][:2]
    seg_urls = [f"{base}?segment={q.segments[0].id}={c}" for c in codes]
    first = [timed(client, u, headers=hdr)[0] for u in seg_urls]
    switch = [timed(client, seg_urls[i % 2], headers=hdr)[0] for i in range(2 * args.repeat)]
    print(f"segment, first visit (builds it): {', '.join(f'{x:.0f}' for x in first)} ms")
    print(
        f"segment switch, warm: median {med(switch):.0f} ms of {len(switch)}  "
        f"({'met' if med(switch) <= GOAL_MS else 'NOT met'})   load {load()}"
    )
    out["segment_first_ms"], out["segment_switch_ms"] = first, med(switch)

    # -- transfer ---------------------------------------------------------------------
    ms, page = timed(client, base, headers=hdr)
    html = page.get_data()
    assets = sorted(set(re.findall(rb'(?:src|href)="(/[^"]+\.(?:js|css)[^"]*)"', html)))
    first_raw, first_gz = len(html), len(gzip.compress(html, 6))
    first_head = head_bytes(page)
    later_raw, later_gz, later_head = len(html), len(gzip.compress(html, 6)), head_bytes(page)
    print(
        f"overview HTML {first_raw / 1e3:.0f} kB raw, {first_gz / 1e3:.0f} kB gzip; "
        f"Content-Encoding: {page.headers.get('Content-Encoding')}, "
        f"ETag: {page.headers.get('ETag')}, Cache-Control: {page.headers.get('Cache-Control')}"
    )
    for a in assets:
        url = a.decode().replace("&amp;", "&")
        r = client.get(url, headers=hdr)
        body = r.get_data()
        cc = r.headers.get("Cache-Control", "")
        first_raw += len(body)
        first_gz += len(gzip.compress(body, 6))
        first_head += head_bytes(r)
        fresh = re.search(r"max-age=(\d+)", cc) and "no-cache" not in cc
        note = "fresh (max-age), not requested"
        if not fresh:
            cond = {}
            if r.headers.get("ETag"):
                cond["If-None-Match"] = r.headers["ETag"]
            if r.headers.get("Last-Modified"):
                cond["If-Modified-Since"] = r.headers["Last-Modified"]
            r2 = client.get(url, headers={**hdr, **cond})
            b2 = r2.get_data()
            later_raw += len(b2)
            later_gz += len(gzip.compress(b2, 6)) if b2 else 0
            later_head += head_bytes(r2)
            note = f"revalidated: {r2.status_code}, {len(b2)} B"
        gz = len(gzip.compress(body, 6))
        print(
            f"  {url:<45} {len(body) / 1e3:8.1f} kB raw {gz / 1e3:7.1f} kB gzip"
            f"  Cache-Control={cc!r}; later: {note}"
        )
    for a in sorted(linked_assets - set(assets)):  # what the section pages add (charts)
        r = client.get(a.decode().replace("&amp;", "&"), headers=hdr)
        body = r.get_data()
        print(
            f"  section pages add {a.decode()}: {len(body) / 1e3:.0f} kB raw, "
            f"{len(gzip.compress(body, 6)) / 1e3:.0f} kB gzip, "
            f"Cache-Control={r.headers.get('Cache-Control')!r}, ETag={r.headers.get('ETag')}"
        )
    print(
        f"first visit: {first_raw / 1e6:.2f} MB raw, {first_gz / 1e6:.2f} MB gzip "
        f"(+{first_head / 1e3:.1f} kB headers) (goal <= 1.5 MB)"
    )
    print(
        f"later visit: {later_raw / 1e3:.0f} kB raw, {later_gz / 1e3:.0f} kB gzip "
        f"(+{later_head / 1e3:.1f} kB headers) (goal <= 100 kB)"
    )
    out["transfer"] = {
        "first_raw": first_raw,
        "first_gz": first_gz,
        "later_raw": later_raw,
        "later_gz": later_gz,
        "first_head": first_head,
        "later_head": later_head,
    }

    # -- PDF --------------------------------------------------------------------------
    pdf_ms = []
    for _ in range(max(1, args.repeat - 1)):
        start = time.perf_counter()
        r = client.get(f"{base}/report.pdf", headers=hdr)
        if r.status_code == 303:
            r = client.get(r.headers["Location"], headers=hdr)
        pdf_ms.append((time.perf_counter() - start) * 1000)
        assert r.mimetype == "application/pdf", (r.status_code, r.mimetype)
    print(
        f"PDF (warm report, immediate queue): median {med(pdf_ms) / 1000:.1f} s, "
        f"{len(r.get_data()) / 1e6:.1f} MB  (goal <= 10 s)   load {load()}"
    )
    with app.test_request_context():
        sv = dbm.session().get(m.Survey, latest)
        rep = views.survey_report(sv, segment=None, language="zh-Hans", exclude_suspects=True)
        start = time.perf_counter()
        render.render_pdf(rep, language="zh-Hans")
        alone = (time.perf_counter() - start) * 1000
    print(f"PDF rendering alone (render.render_pdf, as the worker does): {alone / 1000:.1f} s")
    out["pdf_ms"], out["pdf_render_ms"] = pdf_ms, alone

    # -- after new responses: first view vs scoring alone ----------------------------
    cols = list(q.columns(meta=False))
    recorder = ScoringCalls([build, views, runs])
    ratios, views_ms, scoring_ms, methods_ms, in_view_calls = [], [], [], [], []
    in_view_ms: list[float] = []
    for k in range(args.repeat):
        data = simulate(q, args.new, seed=100 + k, survey="bench-2026-q4", wave=WAVES[-1]).data
        data = distinct_comments(data, f"new{time.time_ns()}")
        con = sqlite3.connect(db)
        insert_responses(con, latest, data, cols, source="bench-new")
        con.close()
        recorder.calls.clear()
        recorder.in_view_ms = 0.0
        recorder.recording = True
        v_ms, _ = timed(client, base, headers=hdr)
        recorder.recording = False
        s_ms = med([recorder.replay() for _ in range(3)])
        with app.app_context(), database.sessions() as s:
            frame = exports.responses_frame(s, [latest])
            frame = views._screened(q, frame)
            start = time.perf_counter()
            build.run_methods(q, frame, params={"csi": build.csi_params(frame)})
            r_ms = (time.perf_counter() - start) * 1000
        views_ms.append(v_ms)
        scoring_ms.append(s_ms)
        methods_ms.append(r_ms)
        ratios.append(v_ms / s_ms)
        names = sorted({f.__name__ for f, _a, _k in recorder.calls})
        in_view_calls.append(len(recorder.calls))
        in_view_ms.append(recorder.in_view_ms)
        print(
            f"  +{args.new} responses: first view {v_ms:.0f} ms (scoring in it "
            f"{recorder.in_view_ms:.0f} ms), its scoring alone {s_ms:.0f} ms "
            f"({len(recorder.calls)} calls: {', '.join(names)}), ratio {v_ms / s_ms:.2f}; "
            f"run_methods alone {r_ms:.0f} ms ({len(frame):,} rows), ratio {v_ms / r_ms:.2f}"
            f"   load {load()}"
        )
    print(
        f"after new responses: median ratio {med(ratios):.2f} (goal <= 1.5: "
        f"{'met' if med(ratios) <= 1.5 else 'NOT met'}); to run_methods alone "
        f"{med([v / r for v, r in zip(views_ms, methods_ms, strict=True)]):.2f}"
    )
    out["new"] = {
        "view_ms": views_ms,
        "scoring_ms": scoring_ms,
        "ratios": ratios,
        "run_methods_ms": methods_ms,
        "scoring_calls": in_view_calls,
        "scoring_in_view_ms": in_view_ms,
    }
    if args.profile_new:
        data = simulate(q, args.new, seed=200, survey="bench-2026-q4", wave=WAVES[-1]).data
        data = distinct_comments(data, f"new{time.time_ns()}")
        con = sqlite3.connect(db)
        insert_responses(con, latest, data, cols, source="bench-new")
        con.close()
        prof = cProfile.Profile()
        prof.enable()
        client.get(base, headers=hdr)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
    con = sqlite3.connect(db)
    with con:  # the stored data stay 100,000 customers for the next run
        con.execute("DELETE FROM response WHERE source = 'bench-new'")
    con.close()
    out["load_end"] = load()
    (args.workdir / "last-run.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
