"""Benchmark: exporting simulated SERVQUAL responses from SQLite (run on demand).

Data: ``questionnaires.simulate.simulate(servqual22, n, seed=0)`` stored in a SQLite file
the way the respondent pages store it (one ``response`` row with its ``values_json``, and
one ``answer`` row per non-missing export column: about 54 answers per response). The
database is built once per size and schema revision and kept in ``--workdir``.

Cases, each in a fresh Python process (so peak memory is the case's own):

- ``floor``: ``DataFrame.to_csv`` of the same tidy frame (``exports.responses_frame``,
  read before the clock starts) -- the time pandas needs just to *write* it;
- ``csv``: ``exports.write_export(..., "csv")`` -- reading the database in chunks,
  pivoting, formatting and writing, streamed;
- ``xlsx``: openpyxl write-only workbook; ``sav``: pyreadstat with labels.

Time is the best of ``--repeat`` runs, floor and CSV interleaved (floor, csv, floor,
csv, ...) so both see the same machine load. Peak memory is the growth of the process's
maximum resident set size during the case (``VmHWM`` after minus before), which
covers numpy and SQLite buffers that tracemalloc would miss; "before" is the current
RSS just before the case starts (after imports, and for the floor after reading the frame).

    python bench/bench_export.py [--n 100000] [--small 25000] [--repeat 3]

Goals: CSV <= 2x the floor; CSV memory flat in n (the same at both sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FORMATS = ("csv", "xlsx", "sav")


def _rss_mib() -> float:
    """Current resident set size (Linux ``/proc/self/statm``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _max_rss_mib() -> float:
    """Peak resident set size of this process (``VmHWM``).

    Not ``getrusage().ru_maxrss``: on Linux a child started by ``subprocess`` inherits
    its parent's peak there, so after the parent built a database every case reported
    the parent's size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    msg = "/proc/self/status has no VmHWM line (Linux only)"
    raise RuntimeError(msg)


# -- the database ------------------------------------------------------------------------------
def insert_responses(
    con: sqlite3.Connection,
    survey_id: int,
    data: Any,
    cols: list[str],
    *,
    source: str = "simulated",
    first_id: int | None = None,
) -> None:
    """Store the simulated frame ``data`` as complete responses of ``survey_id``, the fast
    way: one ``response`` row each with its ``values_json`` (no ``answer`` rows).

    Response ids are ``UUID(int=first_id + row + 1)`` (reproducible) or random (None)."""
    import numpy as np
    import pandas as pd

    from surveyapp import models as m

    started = data["started_at"].str.replace("T", " ").str.rstrip("Z").tolist()
    submitted = data["submitted_at"].str.replace("T", " ").str.rstrip("Z").tolist()
    suspect = np.where(data["suspect"].to_numpy(dtype=bool), '{"straight_lining": true}', "{}")
    # response.values_json as the respondent pages write it with the answers
    # (models.encode_values of the response's non-missing columns)
    records = data[cols].astype(object).to_dict("records")
    values_json = [
        m.encode_values(
            {c: v if isinstance(v, str) else float(v) for c, v in rec.items() if not pd.isna(v)}
        )
        for rec in records
    ]
    ids = [
        str(uuid.UUID(int=first_id + i + 1, version=4))
        if first_id is not None
        else str(uuid.uuid4())
        for i in range(len(data))
    ]
    rows = [
        (rid, survey_id, "complete", lang, st, st, sub, 0, "{}", sus, 0, source, vj)
        for rid, lang, st, sub, sus, vj in zip(
            ids,
            data["language"].tolist(),
            started,
            submitted,
            suspect.tolist(),
            values_json,
            strict=True,
        )
    ]
    with con:
        con.executemany(
            "INSERT INTO response (response_id, survey_id, status, language, started_at, "
            "updated_at, submitted_at, page_reached, segments, suspect, quarantined, source, "
            "values_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def build(db: Path, n: int) -> int:
    """Store ``n`` simulated responses in ``db`` (once); return the survey id."""
    import numpy as np

    import questionnaires as qn
    from questionnaires.simulate import simulate
    from surveyapp import create_app
    from surveyapp.services.surveys import create_survey

    app = create_app(
        {"TESTING": True, "DATABASE": db, "SECRET_KEY": "bench", "CREATE_TABLES": True}
    )
    q = qn.builtin("servqual22")
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        survey_id = create_survey(s, q, slug="bench", wave="sim").id
    app.extensions["manyi_db"].dispose()
    data = simulate(q, n, seed=0).data
    answer_cols = list(q.columns(meta=False))
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    insert_responses(con, survey_id, data, answer_cols, first_id=0)
    pks = np.array(
        [r[0] for r in con.execute("SELECT id FROM response ORDER BY id")], dtype=np.int64
    )
    for col in answer_cols:
        series = data[col]
        present = series.notna().to_numpy()
        if series.dtype.kind in "iuf" or str(series.dtype) in ("Int16", "Int64", "Float64"):
            values = series[present].astype("float64").tolist()
            sql = 'INSERT INTO answer (response_pk, "column", num) VALUES (?, ?, ?)'
        else:
            values = series[present].astype(str).tolist()
            sql = 'INSERT INTO answer (response_pk, "column", text) VALUES (?, ?, ?)'
        with con:
            con.executemany(
                sql, zip(pks[present].tolist(), [col] * len(values), values, strict=True)
            )
    con.close()
    return survey_id


# -- one case in a fresh process ---------------------------------------------------------------
def child(case: str, db: Path, out: Path) -> None:
    from surveyapp import db as dbm
    from surveyapp.services import exports

    database = dbm.Database(f"sqlite:///{db}")
    with database.sessions() as s:
        frame = exports.responses_frame(s, [1]) if case == "floor" else None
        before = _rss_mib()
        start = time.perf_counter()
        if case == "floor":
            frame.to_csv(out, index=False)  # type: ignore[union-attr]
            n = len(frame)  # type: ignore[arg-type]
        else:
            n = exports.write_export(s, [1], case, out)
        elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "case": case,
                "n": n,
                "seconds": elapsed,
                "peak_mib": _max_rss_mib() - before,
                "bytes": out.stat().st_size,
            }
        )
    )


def run_case(case: str, db: Path, workdir: Path) -> dict:
    out = workdir / f"out-{case}.{'csv' if case == 'floor' else case}"
    proc = subprocess.run(
        [sys.executable, __file__, "--child", case, "--db", str(db), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE.parent,
    )
    out.unlink(missing_ok=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--small", type=int, default=25_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "manyi-bench")
    ap.add_argument("--child", choices=["floor", *FORMATS])
    ap.add_argument("--db", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.db, args.out)
        return
    from surveyapp.db import head_revision

    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    results = {}
    for n in (args.small, args.n):
        db = args.workdir / f"export-{n}-schema{head_revision()}.sqlite"
        if not db.exists():
            t = time.perf_counter()
            build(db, n)
            print(
                f"built {db.name} ({db.stat().st_size / 2**20:.0f} MiB) "
                f"in {time.perf_counter() - t:.0f} s"
            )
        best: dict[str, dict] = {}
        for _ in range(args.repeat):
            for case in ("floor", "csv"):
                r = run_case(case, db, args.workdir)
                if case not in best or r["seconds"] < best[case]["seconds"]:
                    best[case] = r
        for case in ("xlsx", "sav"):
            best[case] = run_case(case, db, args.workdir)
        results[n] = best
        floor = best["floor"]["seconds"]
        print(f"\nn = {n:,} responses")
        print(f"{'case':<6} {'time':>9} {'x floor':>8} {'peak RSS growth':>16} {'file':>9}")
        for case in ("floor", *FORMATS):
            r = best[case]
            print(
                f"{case:<6} {r['seconds']:>8.2f}s {r['seconds'] / floor:>7.2f}x "
                f"{r['peak_mib']:>13.0f} MiB {r['bytes'] / 2**20:>6.1f} MiB"
            )
    small, big = results[args.small]["csv"], results[args.n]["csv"]
    print(
        f"\nCSV peak RSS growth: {small['peak_mib']:.0f} MiB at {args.small:,}, "
        f"{big['peak_mib']:.0f} MiB at {args.n:,}"
    )
    ratio = big["seconds"] / results[args.n]["floor"]["seconds"]
    print(f"goal CSV <= 2x floor: {'met' if ratio <= 2 else 'NOT met'} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
