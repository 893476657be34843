"""The task queue (Huey): work too long for a request, done by ``manyi worker``.

:func:`init_app` builds the queue from the settings and registers its tasks:

- ``QUEUE_URL`` unset: Huey's ``SqliteHuey`` with the file ``queue.sqlite`` in the
  instance folder (nothing to install or run besides ``manyi worker``);
  ``redis://host:port/db``: Huey's ``PriorityRedisHuey`` (workers on several machines).
- ``QUEUE_IMMEDIATE`` (default: on when ``TESTING``): Huey's immediate mode, a task runs
  in the calling process when it is queued; no worker needed.

Tasks:

``scoring_run(run_id, budget_s)``
    A long scoring run (:func:`surveyapp.reports.runs.execute`).
``report_pdf(survey_id, report, language)``
    The PDF of a built report (WeasyPrint takes seconds; the report itself is built and
    cached in the request). Its result, kept by Huey until read, is
    ``(survey_id, pdf bytes, None)`` or ``(survey_id, None, message)``.
``purge_contacts()``
    Periodic, every hour (minute 7): the recipients of invitations older than their
    study's retention period are purged (:func:`surveyapp.services.privacy.purge_expired`).

``send_messages(survey_id, kind, base_url)``
    Invitations (``kind="invitation"``) or reminders by e-mail or another messenger
    (:func:`surveyapp.services.mailing.run`); while reminders remain, it schedules its
    next reminder run one ``MAIL_REMINDER_INTERVAL_HOURS`` later. A run that fails (the
    database unreachable for a moment) is run again by Huey :data:`MAIL_RETRY_DELAY_S`
    later, up to :data:`MAIL_RETRIES` times; the claims make the new run continue where
    the failed one stopped, mailing nobody twice.

The queue keeps a heartbeat per running run in Huey's key-value storage
(:meth:`Queue.beat`); :func:`surveyapp.reports.runs.fail_stale` reads it.

A task closes over the Flask app that registered it, so the worker's tasks use the
worker's own settings and database connections (``manyi worker`` builds the app from the
same environment and instance folder as the web processes).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from huey import Huey, PriorityRedisHuey, SqliteHuey, crontab

from surveyapp import messaging
from surveyapp.reports import render, runs
from surveyapp.services import mailing, privacy

try:  # optional: Redis is the queue's store only when QUEUE_URL says so
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    #: the store of the queue (or of the report cache) is unreachable for a moment (a
    #: Redis restart, a locked file)
    STORE_DOWN: tuple[type[Exception], ...] = (
        sqlite3.OperationalError,
        RedisConnectionError,
        RedisTimeoutError,
    )
except ImportError:  # pragma: no cover - the redis extra is not installed
    STORE_DOWN = (sqlite3.OperationalError,)

log = logging.getLogger(__name__)

#: a mail run that failed is run again this many times, this many seconds apart (Huey's
#: retries): a database outage of up to ten minutes does not end a mailing
MAIL_RETRIES = 20
MAIL_RETRY_DELAY_S = 30

__all__ = ["Queue", "get_queue", "init_app", "make_huey"]


def make_huey(config: Mapping[str, Any]) -> Huey:
    """The Huey instance the settings ask for (``QUEUE_URL``, ``QUEUE_IMMEDIATE``)."""
    url = config.get("QUEUE_URL")
    immediate = bool(config.get("QUEUE_IMMEDIATE"))
    if url:
        url = str(url)
        if not url.startswith(("redis://", "rediss://", "unix://")):
            msg = (
                f"QUEUE_URL must be a Redis URL (redis://host:port/db); got {url!r}. "
                "Leave it unset for the SQLite queue in the instance folder."
            )
            raise ValueError(msg)
        return PriorityRedisHuey("manyi", url=url, immediate=immediate)
    path = Path(config["INSTANCE_PATH"]) / "queue.sqlite"
    return SqliteHuey("manyi", filename=str(path), immediate=immediate)


@dataclass(frozen=True)
class Queue:
    """The app's Huey instance and its tasks."""

    huey: Huey
    scoring_run: Any  # Huey task: scoring_run(run_id, budget_s) queues a long run
    report_pdf: Any  # Huey task: report_pdf(survey_id, report, language) -> its Result
    purge_contacts: Any  # Huey periodic task: every hour, the retention periods' purge
    send_messages: Any  # Huey task: send_messages(survey_id, kind, base_url)

    def beat(self, run_id: int) -> None:
        """Record that the run is alive now (its heartbeat). While the queue's store is
        unreachable (a Redis restart) the heartbeat is skipped, not the run: only a run
        without heartbeats for ``REPORT_RUN_STALE_S`` is marked failed."""
        try:
            self.huey.put(_beat_key(run_id), time.time())
        except STORE_DOWN as exc:
            log.warning("heartbeat of run %s skipped: the queue's store is down (%s)", run_id, exc)

    def last_beat(self, run_id: int) -> float | None:
        """The run's last heartbeat (``time.time()``), None when it has none."""
        value = self.huey.get(_beat_key(run_id), peek=True)
        return None if value is None else float(value)

    def forget(self, run_id: int) -> None:
        """Drop the run's heartbeat (the run ended; a heartbeat left in a store that was
        down does no harm: the run is no longer ``running``)."""
        try:
            self.huey.get(_beat_key(run_id))
        except STORE_DOWN as exc:
            log.warning(
                "heartbeat of run %s not dropped: the queue's store is down (%s)", run_id, exc
            )


def _beat_key(run_id: int) -> str:
    return f"manyi:run-heartbeat:{run_id}"


def init_app(app: Flask) -> Queue:
    """Build the queue, register its tasks and keep it as ``app.extensions["manyi_queue"]``."""
    huey = make_huey(app.config)

    def scoring_run(run_id: int, budget_s: float) -> None:
        queue: Queue = app.extensions["manyi_queue"]
        with app.app_context():
            try:
                runs.execute(
                    app.extensions["manyi_db"],
                    run_id,
                    budget_s=budget_s,
                    beat=lambda: queue.beat(run_id),
                )
            finally:
                queue.forget(run_id)

    def report_pdf(
        survey_id: int, report: dict[str, Any], language: str
    ) -> tuple[int, bytes | None, str | None]:
        try:
            return survey_id, render.render_pdf(report, language=language), None
        except render.FontMissingError as exc:
            return survey_id, None, str(exc)

    def purge_contacts() -> int:
        with app.app_context():
            return privacy.purge_expired(app.extensions["manyi_db"])

    def send_messages(survey_id: int, kind: mailing.Kind, base_url: str) -> None:
        with app.app_context():
            policy = mailing.Policy.from_config(app.config)
            result = mailing.run(
                app.extensions["manyi_db"],
                survey_id,
                kind,
                messaging.from_config(app.config),
                base_url=base_url,
                policy=policy,
            )
            if result.stopped is None and mailing.reminders_pending(survey_id, policy):
                # the next reminders fall due one interval from now
                delay = policy.interval.total_seconds()
                queue.send_messages.schedule((survey_id, "reminder", base_url), delay=delay)

    queue = Queue(
        huey=huey,
        scoring_run=huey.task(name="scoring_run")(scoring_run),
        report_pdf=huey.task(name="report_pdf")(report_pdf),
        purge_contacts=huey.periodic_task(crontab(minute="7"), name="purge_contacts")(
            purge_contacts
        ),
        send_messages=huey.task(
            name="send_messages", retries=MAIL_RETRIES, retry_delay=MAIL_RETRY_DELAY_S
        )(send_messages),
    )
    app.extensions["manyi_queue"] = queue
    return queue


def get_queue() -> Queue:
    """The current app's queue."""
    queue: Queue = current_app.extensions["manyi_queue"]
    return queue
