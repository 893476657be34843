"""Stored, reproducible scoring runs (:class:`surveyapp.models.ScoringRun`).

A run is identified by what went into it: the method, its parameters (canonical JSON,
hashed), the questionnaire snapshot's content hash and a hash of the tidy frame it scored
(:func:`frame_hash`: column names, dtypes and every cell). Asking again for a run whose
four inputs are unchanged returns the stored row (:func:`get_or_start`) without
recomputing; new responses change the data hash and so make a new run.

The stored result is the method's ``to_dict()`` without the per-respondent tables
(:data:`PER_RESPONDENT`): they grow with the data and no page shows them.

Short runs are computed in the request. Long runs -- any run with ``bootstrap > 0`` --
go to a separate process (``multiprocessing`` with the *spawn* start method, so it
shares nothing with the web process and holds no GIL the web process needs), watched by
a thread of the web process that writes the progress into the row every half second and
stops the process when the time budget (``REPORT_RUN_BUDGET_S``, default 600 s) is
spent. The child first fits the model once without the bootstrap and reports how long
that took; the progress is the elapsed time over ``(bootstrap + 1)`` times that, capped
at 95 % until the result arrives -- an estimate, and labelled as one on the page.
Dashboard sections are stored the same way, as runs of the method ``report:<section>``.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypedDict

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

import questionnaires as qn
from scoring._results import jsonable
from scoring.errors import ScoringError
from surveyapp import audit
from surveyapp import models as m
from surveyapp.db import Database

__all__ = [
    "METHODS",
    "PER_RESPONDENT",
    "compact",
    "compute",
    "delete_run",
    "frame_hash",
    "get_or_start",
    "params_hash",
    "stored_report",
    "validate_params",
]

METHODS: tuple[str, ...] = ("servqual", "index", "reliability", "pca", "drivers", "csi", "fuzzy")
PER_RESPONDENT = frozenset({"scores", "composite", "respondent_index", "driver_scores", "pls"})
DEFAULT_BUDGET_S = 600.0
MAX_BOOTSTRAP = 5000

# parameter -> (kind, allowed values or (min, max)); what the run form may set per method
_CONF = ("float", (0.5, 0.999))
_MISSING = ("choice", ("pairwise", "listwise", "item_mean"))
PARAMETERS: dict[str, dict[str, tuple[str, Any]]] = {
    "servqual": {"missing": _MISSING, "confidence": _CONF, "segment": ("segment", None)},
    "index": {"missing": _MISSING, "confidence": _CONF, "top_box": ("int", (1, 5))},
    "reliability": {"missing": ("choice", ("pairwise", "listwise")), "confidence": _CONF},
    "pca": {
        "retain": ("choice", ("kaiser", "cumulative")),
        "cumulative": ("float", (0.5, 0.99)),
        "segment": ("segment", None),
    },
    "drivers": {"cov_type": ("choice", ("HC3", "HC1", "nonrobust")), "level": _CONF},
    "csi": {
        "bootstrap": ("int", (0, MAX_BOOTSTRAP)),
        "seed": ("int", (0, 2**31 - 1)),
        "level": _CONF,
        "segment": ("segment", None),
    },
    "fuzzy": {
        "operator": (
            "choice",
            ("weighted_average", "min_max", "product_max", "min_bounded_sum"),
        ),
    },
}


def validate_params(
    method: str, raw: Mapping[str, Any], *, segments: Sequence[str] = ()
) -> dict[str, Any]:
    """Check and convert a run's parameters (from a form: strings); empty values are unset.

    Raises ``ValueError`` naming the parameter, what it must be and what was given.
    """
    if method not in PARAMETERS:
        msg = f"method must be one of {', '.join(METHODS)}; got {method!r}."
        raise ValueError(msg)
    spec = PARAMETERS[method]
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None or value == "":
            continue
        if name not in spec:
            msg = f"{method} takes the parameters {', '.join(spec)}; got {name!r}."
            raise ValueError(msg)
        kind, allowed = spec[name]
        text = str(value).strip()
        if kind == "choice":
            if text not in allowed:
                msg = f"{name} must be one of {', '.join(allowed)}; got {text!r}."
                raise ValueError(msg)
            out[name] = text
        elif kind == "segment":
            if text not in segments:
                msg = (
                    f"segment must be one of the survey's segments {list(segments)}; got {text!r}."
                )
                raise ValueError(msg)
            out[name] = text
        else:
            lo, hi = allowed
            try:
                number: float = int(text) if kind == "int" else float(text)
            except ValueError:
                msg = f"{name} must be a {'whole ' if kind == 'int' else ''}number; got {text!r}."
                raise ValueError(msg) from None
            if not (lo <= number <= hi) or (isinstance(number, float) and math.isnan(number)):
                msg = f"{name} must lie between {lo} and {hi}; got {text}."
                raise ValueError(msg)
            out[name] = number
    if out.get("bootstrap") and "seed" not in out:
        out["seed"] = 1  # a bootstrap is only reproducible with its seed
    return out


def params_hash(params: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``params``.

    >>> params_hash({"b": 1, "a": 2}) == params_hash({"a": 2, "b": 1})
    True
    """
    text = json.dumps(jsonable(dict(params)), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def frame_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a tidy frame: column names, dtypes, then every row's hash (in order).

    >>> a = pd.DataFrame({"x": [1, 2]})
    >>> frame_hash(a) == frame_hash(a.copy()), frame_hash(a) == frame_hash(a.iloc[::-1])
    (True, False)
    """
    h = hashlib.sha256()
    h.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode("utf-8"))
    h.update(str(len(frame)).encode("ascii"))
    if len(frame):
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64)
        h.update(rows.tobytes())
    return h.hexdigest()


def compact(result: Any) -> dict[str, Any]:
    """``result.to_dict()`` without the per-respondent tables (:data:`PER_RESPONDENT`)."""
    import dataclasses

    out: dict[str, Any] = {"type": type(result).__name__}
    for f in dataclasses.fields(result):
        if f.name in PER_RESPONDENT:
            continue
        out[f.name] = jsonable(getattr(result, f.name))
    return out


def compute(
    q: qn.Questionnaire, frame: pd.DataFrame, method: str, params: Mapping[str, Any]
) -> Any:
    """Run ``method`` on ``frame`` with the instrument's mappings (the result object)."""
    from scoring.instrument import score
    from surveyapp.reports.build import _run_index

    if method == "index":
        return _run_index(q, frame, **params)
    return score(q, method, frame, **params)


def is_long(params: Mapping[str, Any]) -> bool:
    return int(params.get("bootstrap") or 0) > 0


# ------------------------------------------------------------------------------ lookup


class _RunKeys(TypedDict):
    """The inputs that identify a stored run (see :func:`find_run`)."""

    method: str
    snapshot_hash: str
    data_hash: str
    parameters_hash: str


def find_run(
    s: Session,
    *,
    method: str,
    snapshot_hash: str,
    data_hash: str,
    parameters_hash: str,
    survey_id: int | None,
    study_id: int | None = None,
) -> m.ScoringRun | None:
    """The newest stored run with exactly these inputs that did not fail (or None)."""
    conditions = [
        m.ScoringRun.method == method,
        m.ScoringRun.snapshot_hash == snapshot_hash,
        m.ScoringRun.data_hash == data_hash,
        m.ScoringRun.parameters_hash == parameters_hash,
        m.ScoringRun.survey_id.is_(None)
        if survey_id is None
        else m.ScoringRun.survey_id == survey_id,
        m.ScoringRun.status != "failed",
    ]
    if study_id is not None:
        conditions.append(m.ScoringRun.study_id == study_id)
    return s.scalar(
        select(m.ScoringRun).where(*conditions).order_by(m.ScoringRun.id.desc()).limit(1)
    )


def get_or_start(
    db: Database,
    *,
    survey: m.Survey,
    frame: pd.DataFrame,
    method: str,
    params: Mapping[str, Any],
    user_id: int | None,
    budget_s: float = DEFAULT_BUDGET_S,
    background: bool | None = None,
) -> tuple[m.ScoringRun, bool]:
    """The stored run of these inputs, or a new one (computed now or in the background).

    Returns ``(run, created)``. A short run is finished when this returns (``done`` or
    ``failed`` with the scoring error's message); a long one is ``queued``/``running``.
    """
    q = survey.questionnaire()
    keys: _RunKeys = {
        "method": method,
        "snapshot_hash": survey.snapshot.content_hash,
        "data_hash": frame_hash(frame),
        "parameters_hash": params_hash(params),
    }
    with db.sessions() as s:
        found = find_run(s, **keys, survey_id=survey.id)
        if found is not None:
            return found, False
    with db.write() as ws:
        run = m.ScoringRun(
            survey_id=survey.id,
            study_id=survey.study_id,
            wave=survey.wave,
            parameters=jsonable(dict(params)),
            n_responses=int(len(frame)),
            status="queued",
            created_by_id=user_id,
            **keys,
        )
        ws.add(run)
        ws.flush()
        audit.record(ws, "created", run, detail={"method": method}, user_id=user_id)
    long = is_long(params) if background is None else background
    if long:
        payload = (json.dumps(q.to_dict(), ensure_ascii=False), frame, method, dict(params))
        thread = threading.Thread(
            target=_supervise,
            args=(db, run.id, payload, budget_s),
            daemon=True,
            name=f"manyi-run-{run.id}",
        )
        thread.start()
        return run, True
    _finish(db, run.id, *_run_here(q, frame, method, params))
    with db.sessions() as s:
        done = s.get(m.ScoringRun, run.id)
        assert done is not None  # just written
        return done, True


def _run_here(
    q: qn.Questionnaire, frame: pd.DataFrame, method: str, params: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return compact(compute(q, frame, method, params)), None
    except (ScoringError, ValueError, TypeError) as exc:
        return None, str(exc)


def _finish(db: Database, run_id: int, result: dict[str, Any] | None, error: str | None) -> None:
    with db.write() as ws:
        row = ws.get(m.ScoringRun, run_id)
        if row is None:  # deleted meanwhile
            return
        row.result = result
        row.error = error
        row.status = "done" if error is None else "failed"
        row.progress = 1.0
        row.finished_at = m.utcnow()


def _set_progress(db: Database, run_id: int, progress: float, status: str = "running") -> bool:
    with db.write() as ws:
        row = ws.get(m.ScoringRun, run_id)
        if row is None:
            return False
        row.progress = round(float(progress), 4)
        row.status = status
        return True


# ------------------------------------------------------------------------------ background


def _child(
    conn: Any, content: str, frame: pd.DataFrame, method: str, params: dict[str, Any]
) -> None:
    """Body of the spawned process: a timing fit without bootstrap, then the full fit."""
    try:
        q = qn.from_dict(json.loads(content), source="scoring run")
        if is_long(params):
            t0 = time.perf_counter()
            compute(q, frame, method, {**params, "bootstrap": 0})
            conn.send(("estimate", (time.perf_counter() - t0) * (int(params["bootstrap"]) + 1)))
        conn.send(("done", compact(compute(q, frame, method, params))))
    except (ScoringError, ValueError, TypeError) as exc:
        conn.send(("error", str(exc)))
    except Exception as exc:  # noqa: BLE001 - reported on the run, never a traceback
        conn.send(("error", f"the run failed unexpectedly ({type(exc).__name__}: {exc})"))
    finally:
        conn.close()


def _over_budget(budget: float) -> str:
    return (
        f"the run exceeded its time budget of {budget:g} s and was stopped; "
        "use fewer bootstrap samples or ask an administrator for a longer "
        "REPORT_RUN_BUDGET_S."
    )


def _supervise(
    db: Database, run_id: int, payload: tuple[str, pd.DataFrame, str, dict[str, Any]], budget: float
) -> None:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, *payload), daemon=True)
    start = time.monotonic()
    _set_progress(db, run_id, 0.02)
    proc.start()
    child.close()
    estimate: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    try:
        while True:
            if parent.poll(0.5):
                try:
                    kind, value = parent.recv()
                except EOFError:
                    error = "the scoring process ended without a result"
                    break
                if kind == "estimate":
                    estimate = max(float(value), 0.1)
                    if time.monotonic() - start <= budget:
                        continue
                    error = _over_budget(budget)
                    break
                if kind == "done":
                    result = value
                else:
                    error = str(value)
                break
            elapsed = time.monotonic() - start
            if elapsed > budget:
                error = _over_budget(budget)
                break
            if not proc.is_alive() and not parent.poll(0):
                error = f"the scoring process stopped (exit code {proc.exitcode})"
                break
            progress = 0.05 if estimate is None else 0.1 + 0.85 * min(elapsed / estimate, 1.0)
            if not _set_progress(db, run_id, min(progress, 0.95)):
                error = "deleted"
                break
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(5)
        parent.close()
    if error != "deleted":
        _finish(db, run_id, result, error)


def wait(db: Database, run_id: int, timeout: float = 120.0) -> m.ScoringRun:
    """Poll until the run is done or failed (tests and the CLI)."""
    end = time.monotonic() + timeout
    while True:
        with db.sessions() as s:
            row = s.get(m.ScoringRun, run_id)
            if row is None:
                msg = f"scoring run {run_id} does not exist."
                raise LookupError(msg)
            if row.status in ("done", "failed") or time.monotonic() > end:
                return row
        time.sleep(0.2)


def delete_run(db: Database, run_id: int, *, user_id: int | None) -> bool:
    """Delete a stored run (logged); False when it does not exist."""
    with db.write() as ws:
        row = ws.get(m.ScoringRun, run_id)
        if row is None:
            return False
        audit.record(ws, "deleted", row, detail={"method": row.method}, user_id=user_id)
        ws.delete(row)
    return True


# ------------------------------------------------------------------------------ report sections


def stored_report(
    db: Database,
    *,
    section: str,
    surveys: Sequence[m.Survey],
    frames: Sequence[pd.DataFrame],
    params: Mapping[str, Any],
    build: Callable[[], dict[str, Any]],
    user_id: int | None,
) -> dict[str, Any]:
    """A report section stored as the run ``report:<section>`` of ``surveys[0]``.

    The inputs are every survey's snapshot and frame (a five-gap section reads the
    linked manager / staff / audit surveys too): unchanged inputs return the stored
    section, anything new builds and stores it.
    """
    main = surveys[0]
    method = f"report:{section}"[:30]
    snap = hashlib.sha256("|".join(s.snapshot.content_hash for s in surveys).encode()).hexdigest()
    data = hashlib.sha256("|".join(frame_hash(f) for f in frames).encode()).hexdigest()
    keys: _RunKeys = {
        "method": method,
        "snapshot_hash": snap,
        "data_hash": data,
        "parameters_hash": params_hash(params),
    }
    with db.sessions() as s:
        found = find_run(s, **keys, survey_id=main.id)
        if found is not None and found.status == "done" and found.result is not None:
            return found.result
    result = build()
    with db.write() as ws:
        ws.add(
            m.ScoringRun(
                survey_id=main.id,
                study_id=main.study_id,
                wave=main.wave,
                parameters=jsonable(dict(params)),
                n_responses=int(sum(len(f) for f in frames)),
                status="done",
                progress=1.0,
                result=result,
                created_by_id=user_id,
                finished_at=m.utcnow(),
                **keys,
            )
        )
    return result
