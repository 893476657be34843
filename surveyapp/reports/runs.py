"""Stored, reproducible scoring runs (:class:`surveyapp.models.ScoringRun`), and the cache
of report sections.

A run is identified by what went into it: the method, its parameters (canonical JSON,
hashed), the questionnaire snapshot's content hash and a hash of the tidy frame it scored
(:func:`frame_hash`: column names, dtypes and every cell). Asking again for a run whose
four inputs are unchanged returns the stored row (:func:`get_or_start`) without
recomputing; new responses change the data hash and so make a new run.

The stored result is the method's ``to_dict()`` without the per-respondent tables
(:data:`PER_RESPONDENT`): they grow with the data and no page shows them. A CSI run keeps
its PLS assessment (:func:`pls_tables`): with a bootstrap, this is where the report's
bootstrap p-values and intervals are (the pages never bootstrap on a view).

Short runs are computed in the request. Long runs -- any run with ``bootstrap > 0``
(:func:`is_long`) -- are handed to the task queue (:mod:`surveyapp.tasks`, Huey) and done
by :func:`execute` in a ``manyi worker`` process. The queue holds only the run's id and
time budget; the row holds the rest, so a queued run survives a restart of the web
process and waits for a worker. While it runs, :func:`execute`:

- writes the real progress into the row (the bootstrap's ``progress(done, total)``
  callback of :func:`scoring.pls.fit_pls`, at most twice a second);
- stops at the next progress call when the row no longer says ``running``: a user
  cancelled it (:func:`cancel`: ``failed`` with "cancelled by ...") or deleted it;
- stops when its time budget (``REPORT_RUN_BUDGET_S``, default 600 s, counted from the
  start in the worker) is spent: ``failed`` with the reason;
- gives a heartbeat (a time stamp the queue keeps, :func:`surveyapp.tasks.Queue.beat`).

A worker killed outright (SIGKILL, a lost machine) leaves its run ``running`` with an
old heartbeat. :func:`fail_stale` marks such runs ``failed`` ("the worker stopped ...;
start the run again") once the heartbeat is older than ``REPORT_RUN_STALE_S`` (default
120 s); ``manyi worker`` calls it when it starts and the run pages call it on every view.
Stale runs are failed rather than re-queued: a run that killed its worker (e.g. out of
memory) would kill the next one too, and a failed run is not reused, so asking again
starts it afresh.

Report sections (the dashboard's full report) are kept in a cache with eviction
(:func:`cached_report`; Flask-Caching, ``CACHE_*`` settings), keyed by the surveys'
snapshots and their data versions (:func:`surveyapp.services.exports.data_versions`: one
aggregate query, so a cached page reads no response).
Rows of the method ``report:*`` that older versions stored in ``scoring_run`` are no
longer read or written; they are left alone and hidden from the run list.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypedDict, cast

import numpy as np
import pandas as pd
from sqlalchemy import CursorResult, Update, and_, or_, select, update
from sqlalchemy.orm import Session

import questionnaires as qn
from scoring._results import jsonable
from scoring.errors import ScoringError
from scoring.instrument import score
from surveyapp import audit
from surveyapp import models as m
from surveyapp.db import Database
from surveyapp.services import exports

__all__ = [
    "METHODS",
    "PER_RESPONDENT",
    "cached_frame",
    "cached_report",
    "cancel",
    "compact",
    "compute",
    "delete_run",
    "execute",
    "fail_stale",
    "frame_hash",
    "get_or_start",
    "params_hash",
    "pls_tables",
    "validate_params",
]

#: the methods a stored run can use: every method of the format but the five-gap model,
#: which needs the linked audiences (the dashboard's five-gap section has it)
METHODS: tuple[str, ...] = tuple(mth for mth in qn.METHODS if mth != "gaps")
PER_RESPONDENT = frozenset({"scores", "composite", "respondent_index", "driver_scores", "pls"})
MAX_BOOTSTRAP = 5000
PROGRESS_EVERY_S = 0.5  # the longest gap between two progress writes of a running run

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


def pls_tables(pls: Any) -> dict[str, pd.DataFrame]:
    """The assessment tables of a PLS fit without its per-respondent scores (what
    ``manyi score csi`` prints): paths with f², VIF and -- with a bootstrap -- their
    bootstrap p-values and intervals, reliability and validity, item VIF, model fit,
    and with a bootstrap the HTMT (with its one-sided tests), total and indirect
    effects and R² as bootstrapped; PLSpredict when it ran."""
    tables = {
        "pls_paths": pls.path_assessment(),
        "pls_reliability": pls.reliability_validity(),
        "pls_item_vif": pls.item_vif,
        "pls_model_fit": pls.model_fit,
    }
    if pls.bootstrap is not None:
        b = pls.bootstrap
        tables |= {"pls_htmt": b.htmt, "pls_effects": b.effects, "pls_r_squared": b.r_squared}
        if b.fit_test is not None:
            tables["pls_fit_test"] = b.fit_test
    if pls.prediction is not None:
        tables["pls_predict"] = pls.prediction.items
    return tables


def compact(result: Any) -> dict[str, Any]:
    """``result.to_dict()`` without the per-respondent tables (:data:`PER_RESPONDENT`);
    a CSI result keeps its PLS assessment (:func:`pls_tables`) instead of the whole fit."""
    out: dict[str, Any] = {"type": type(result).__name__}
    for f in dataclasses.fields(result):
        if f.name == "pls":
            out |= {k: jsonable(t) for k, t in pls_tables(result.pls).items()}
        if f.name in PER_RESPONDENT:
            continue
        out[f.name] = jsonable(getattr(result, f.name))
    return out


def compute(
    q: qn.Questionnaire, frame: pd.DataFrame, method: str, params: Mapping[str, Any]
) -> Any:
    """Run ``method`` on ``frame`` with the instrument's mappings (the result object)."""
    return score(q, method, frame, **params)


def is_long(params: Mapping[str, Any]) -> bool:
    """Whether a run with these parameters goes to the queue (a bootstrap)."""
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
    enqueue: Callable[[int], object],
) -> tuple[m.ScoringRun, bool]:
    """The stored run of these inputs, or a new one (computed now or queued).

    Returns ``(run, created)``. A short run is finished when this returns (``done`` or
    ``failed`` with the scoring error's message); a long one (:func:`is_long`) is
    ``queued`` and handed to ``enqueue(run_id)`` (the task queue, which calls
    :func:`execute`).
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
            progress=0.0,
            created_by_id=user_id,
            **keys,
        )
        ws.add(run)
        ws.flush()
        audit.record(ws, "created", run, detail={"method": method}, user_id=user_id)
    if is_long(params):
        enqueue(run.id)
    else:
        _mark_running(db, run.id)
        result, error = _run_here(q, frame, method, params)
        _finish(db, run.id, result, error)
    with db.sessions() as s:
        row = s.get(m.ScoringRun, run.id)
        assert row is not None  # just written; a delete needs another request
        return row, True


def _run_here(
    q: qn.Questionnaire,
    frame: pd.DataFrame,
    method: str,
    params: Mapping[str, Any],
) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return compact(compute(q, frame, method, params)), None
    except (ScoringError, ValueError, TypeError) as exc:
        return None, str(exc)


def _changed(ws: Session, statement: Update) -> bool:
    """Run an UPDATE; whether it changed a row (its WHERE holds the expected status)."""
    return bool(cast(CursorResult[Any], ws.execute(statement)).rowcount)


def _mark_running(db: Database, run_id: int) -> bool:
    """``queued`` -> ``running``; False when the run was cancelled or deleted meanwhile."""
    with db.write() as ws:
        return _changed(
            ws,
            update(m.ScoringRun)
            .where(m.ScoringRun.id == run_id, m.ScoringRun.status == "queued")
            .values(status="running", progress=0.0),
        )


def _set_progress(db: Database, run_id: int, progress: float) -> bool:
    """Write the progress of a running run; False when it no longer runs (cancelled,
    deleted or marked stale)."""
    with db.write() as ws:
        return _changed(
            ws,
            update(m.ScoringRun)
            .where(m.ScoringRun.id == run_id, m.ScoringRun.status == "running")
            .values(progress=round(float(progress), 4)),
        )


def _finish(db: Database, run_id: int, result: dict[str, Any] | None, error: str | None) -> None:
    """Store the outcome of a running run (nothing when it was cancelled meanwhile)."""
    values: dict[str, Any] = {
        "result": result,
        "error": error,
        "status": "done" if error is None else "failed",
        "finished_at": m.utcnow(),
    }
    if error is None:
        values["progress"] = 1.0
    with db.write() as ws:
        ws.execute(
            update(m.ScoringRun)
            .where(m.ScoringRun.id == run_id, m.ScoringRun.status == "running")
            .values(**values)
        )


# ------------------------------------------------------------------------------ the task


class _Stop(Exception):
    """Raised by the progress callback to end a run (``reason``: why; None: cancelled)."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason)
        self.reason = reason


def _over_budget(budget: float) -> str:
    return (
        f"the run exceeded its time budget of {budget:g} s and was stopped; "
        "use fewer bootstrap samples or ask an administrator for a longer "
        "REPORT_RUN_BUDGET_S."
    )


def execute(db: Database, run_id: int, *, budget_s: float, beat: Callable[[], object]) -> str:
    """Do a queued run (the body of the queue's task); returns its final status.

    ``beat()`` is called at the start and with every progress write (the heartbeat that
    :func:`fail_stale` reads). The run re-reads its survey's data and refuses to score
    data that changed since it was queued (its data hash would be wrong).
    """
    start = time.monotonic()
    beat()
    if not _mark_running(db, run_id):
        return "skipped"  # cancelled or deleted while queued
    with db.sessions() as s:
        row = s.get(m.ScoringRun, run_id)
        if row is None or row.survey_id is None:
            return "skipped"
        survey = s.get(m.Survey, row.survey_id)
        assert survey is not None  # the foreign key cascades
        q = survey.questionnaire()
        frame = exports.responses_frame(s, [survey.id])
        method, params, data_hash = row.method, dict(row.parameters), row.data_hash
    if frame_hash(frame) != data_hash:
        _finish(
            db,
            run_id,
            None,
            "the survey's responses changed after this run was queued; start the run "
            "again to score the current data.",
        )
        return "failed"
    last = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - start > budget_s:
            raise _Stop(_over_budget(budget_s))
        if now - last < PROGRESS_EVERY_S and done < total:
            return
        last = now
        beat()
        if not _set_progress(db, run_id, 0.99 * done / max(total, 1)):
            raise _Stop(None)

    try:
        result: dict[str, Any] | None = compact(
            compute(q, frame, method, {**params, "progress": progress})
        )
        error: str | None = None
    except _Stop as stop:
        if stop.reason is None:
            return "cancelled"
        result, error = None, stop.reason
    except (ScoringError, ValueError, TypeError) as exc:
        result, error = None, str(exc)
    except Exception as exc:  # noqa: BLE001 - reported on the run, never a traceback
        result, error = None, f"the run failed unexpectedly ({type(exc).__name__}: {exc})"
    _finish(db, run_id, result, error)
    return "done" if error is None else "failed"


def cancel(db: Database, run_id: int, *, by: str) -> bool:
    """Cancel a queued or running run: ``failed`` with "cancelled by <by>"; the task
    stops at its next progress call. False when the run had already ended."""
    with db.write() as ws:
        return _changed(
            ws,
            update(m.ScoringRun)
            .where(m.ScoringRun.id == run_id, m.ScoringRun.status.in_(("queued", "running")))
            .values(status="failed", error=f"cancelled by {by}", finished_at=m.utcnow()),
        )


def fail_stale(
    db: Database, last_beat: Callable[[int], float | None], *, stale_after_s: float
) -> list[int]:
    """Mark ``failed`` every running run whose heartbeat (``last_beat(run_id)``, a
    ``time.time()`` stamp, None when there is none) is older than ``stale_after_s``;
    return their ids. Queued runs are left alone: they wait for a worker."""
    with db.sessions() as s:
        running = list(s.scalars(select(m.ScoringRun.id).where(m.ScoringRun.status == "running")))
    now = time.time()
    stale = []
    for run_id in running:
        beat = last_beat(run_id)
        if beat is None or now - beat > stale_after_s:
            stale.append(run_id)
    if stale:
        msg = (
            f"the worker doing this run stopped (no sign of life for {stale_after_s:g} s); "
            "start the run again."
        )
        with db.write() as ws:
            ws.execute(
                update(m.ScoringRun)
                .where(m.ScoringRun.id.in_(stale), m.ScoringRun.status == "running")
                .values(status="failed", error=msg, finished_at=m.utcnow())
            )
    return stale


def wait(db: Database, run_id: int, timeout: float = 120.0) -> m.ScoringRun:
    """Poll until the run is done or failed, or ``timeout`` seconds passed (tests, CLI)."""
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
    """Delete a stored run (logged); False when it does not exist. A running task stops
    at its next progress call."""
    with db.write() as ws:
        row = ws.get(m.ScoringRun, run_id)
        if row is None:
            return False
        audit.record(ws, "deleted", row, detail={"method": row.method}, user_id=user_id)
        ws.delete(row)
    return True


# ------------------------------------------------------------------------------ report sections


class Cache(Protocol):
    """What :func:`cached_report` needs of a cache (Flask-Caching's ``Cache``, cachelib)."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> Any: ...


class LocalFrames:
    """The report frames this process read last, kept in its memory beside the shared
    cache, at most ``max_rows`` response rows in all (the least recently used go first;
    0 keeps none): a report rebuilt after new responses then neither unpickles its
    frames from the cache nor reads them again, and the changes it added to a frame are
    not written back to the shared cache (see :func:`cached_frame`). Each entry is what
    the shared cache keeps (``versions``, ``frame``, ``ids``); :meth:`get` and
    :meth:`put` take shallow copies of the frame, which copy-on-write (pandas 3) makes
    independent: no caller changes the kept one. Safe across threads."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self._entries: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
        return {**found, "frame": found["frame"].copy(deep=False)}

    def put(self, key: str, entry: dict[str, Any]) -> bool:
        """Keep ``entry`` (in place of the one under ``key``); False when it is larger
        than all there is room for."""
        rows = len(entry["frame"])
        with self._lock:
            self._entries.pop(key, None)
            if rows > self.max_rows:
                return False
            self._entries[key] = {**entry, "frame": entry["frame"].copy(deep=False)}
            while sum(len(e["frame"]) for e in self._entries.values()) > self.max_rows:
                self._entries.popitem(last=False)
            return True


def cached_frame(
    cache: Cache,
    s: Session,
    surveys: Sequence[m.Survey],
    versions: Mapping[int, exports.DataVersion],
    local: LocalFrames | None = None,
) -> pd.DataFrame:
    """The report frame of ``surveys`` (:func:`~surveyapp.services.exports.responses_frame`:
    complete, not quarantined responses), from frames kept in ``cache`` per survey with
    the data version each was read at and its rows' primary keys (and in ``local``, this
    process's memory, when given: looked up first).

    An unchanged version returns the cached frame. Otherwise only the responses written
    since are read -- those with a larger id or a later ``updated_at`` than the cached
    version (new, completed, edited, restored) -- and replace or join the cached rows;
    the result is used when it has exactly the scored responses the new version counts
    (their number and the sum of their ids), the same columns and dtypes, else (a
    deletion or quarantine, a new segment column) the whole frame is read again. Several
    surveys' frames (the waves) are joined in id order when their columns agree, which
    is then the frame one read of them all gives; else they are read and kept together.
    So a new response re-reads nothing of the other waves. A frame read whole is written
    to ``cache``; one that only had changes added is written there only when ``local``
    cannot keep it (the shared copy then stays at the last whole read, and every process
    adds what changed since: the count and id checks above make that the current frame).
    """
    parts = [_cached_frame(cache, s, [sv], versions, local) for sv in surveys]
    frame, pks = parts[0]
    if len(parts) == 1:
        return frame
    same = all(
        list(f.columns) == list(frame.columns) and f.dtypes.equals(frame.dtypes)
        for f, _pks in parts
    )
    if not same:  # e.g. another segment column in one wave: the union of their columns
        return _cached_frame(cache, s, surveys, versions, local)[0]
    pks = np.concatenate([p for _f, p in parts])
    joined = pd.concat([f for f, _pks in parts], ignore_index=True)
    if pks.size and not bool(np.all(pks[1:] > pks[:-1])):  # waves answered at once
        joined = joined.iloc[np.argsort(pks, kind="stable")].reset_index(drop=True)
    return joined


def _cached_frame(
    cache: Cache,
    s: Session,
    surveys: Sequence[m.Survey],
    versions: Mapping[int, exports.DataVersion],
    local: LocalFrames | None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The frame of ``surveys`` read together, and its rows' primary keys (see
    :func:`cached_frame`)."""
    ids = [sv.id for sv in surveys]
    who = [[sv.id, sv.slug, sv.wave, sv.audience, sv.snapshot.content_hash] for sv in surveys]
    key = "frame:" + hashlib.sha256(json.dumps(who, ensure_ascii=False).encode()).hexdigest()
    current = {i: versions[i] for i in ids}
    # this process's copy first: current, or what the changes since are added to (the
    # shared one would be unpickled only to add the same changes)
    found = local.get(key) if local is not None else None
    if found is None:
        found = cache.get(key)
        if local is not None and found is not None and found["versions"] == current:
            local.put(key, found)
    if found is not None and found["versions"] == current:
        return found["frame"], found["ids"]
    frame = None
    if found is not None:
        frame, pks = _with_changes(s, ids, found, current)
    whole = frame is None
    if frame is None:
        frame, pks = exports.responses_frame_ids(s, ids)
    entry = {"versions": current, "frame": frame, "ids": pks}
    kept = local is not None and local.put(key, entry)
    # a whole read goes to the shared cache; a few changes added to this process's copy
    # do not (pickling every wave's frame again for each new response), so the other
    # processes add the changes since the shared one to it, as this one did
    if whole or not kept:
        cache.set(key, entry)
    return frame, pks


def _with_changes(
    s: Session,
    ids: list[int],
    found: Mapping[str, Any],
    current: Mapping[int, exports.DataVersion],
) -> tuple[pd.DataFrame | None, np.ndarray]:
    """The cached frame with the responses written since its versions (see
    :func:`cached_frame`); ``(None, ...)`` when that is not the current data."""
    r = m.Response
    since = []
    for sid, v in found["versions"].items():
        if v.last_update is None:  # none then: every response is new
            since.append(r.survey_id == sid)
        else:
            since.append(
                and_(r.survey_id == sid, or_(r.id > v.last_id, r.updated_at > v.last_update))
            )
    new, new_pks = exports.responses_frame_ids(s, ids, where=[or_(*since)])
    old, old_pks = found["frame"], found["ids"]
    if list(new.columns) != list(old.columns) or not new.dtypes.equals(old.dtypes):
        return None, old_pks
    keep = ~np.isin(old_pks, new_pks)
    pks = np.concatenate([old_pks[keep], new_pks])
    scored = sum(v.complete - v.quarantined for v in current.values())
    if len(pks) != scored or int(pks.sum()) != sum(v.scored_id_sum for v in current.values()):
        return None, old_pks
    order = np.argsort(pks, kind="stable")
    frame = pd.concat([old.loc[keep], new], ignore_index=True).iloc[order]
    return frame.reset_index(drop=True), pks[order]


def report_key(
    section: str,
    surveys: Sequence[m.Survey],
    versions: Mapping[int, exports.DataVersion],
    params: Mapping[str, Any],
) -> str:
    """The cache key of a report section: its name, every survey's identity (id, slug,
    wave, audience, title, snapshot hash), its data version
    (:func:`~surveyapp.services.exports.data_versions`) and the parameters' hash."""
    parts = [
        json.dumps(
            [s.id, s.slug, s.wave, s.audience, s.title, s.snapshot.content_hash],
            ensure_ascii=False,
        )
        + repr(tuple(versions[s.id]))
        for s in surveys
    ]
    parts.append(params_hash(params))
    return f"report:{section}:" + hashlib.sha256("|".join(parts).encode()).hexdigest()


def cached_report(
    cache: Cache,
    *,
    section: str,
    surveys: Sequence[m.Survey],
    versions: Mapping[int, exports.DataVersion],
    params: Mapping[str, Any],
    build: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """A report section from ``cache``, built and stored on a miss.

    The inputs are every survey (a five-gap section reads the linked manager / staff /
    audit surveys too, the wave comparison the other waves) and its data version, read by
    one aggregate query instead of the responses: unchanged inputs return the cached
    section without reading a response, anything new builds it (``build`` reads the
    frames). The cache evicts by its own rules (a threshold of entries, a timeout), so a
    section may be built again at any time.
    """
    key = report_key(section, surveys, versions, params)
    found = cache.get(key)
    if found is not None:
        return dict(found)
    result = build()
    cache.set(key, result)
    return result
