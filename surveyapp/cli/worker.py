"""``manyi worker``: the task queue's consumer (Huey), doing the long work:
scoring runs, PDF reports and the invitation mail.

It builds the app from the same settings as ``manyi serve`` (environment, instance
folder), so it reads the same database and the same queue (``QUEUE_URL``: the SQLite
queue in the instance folder by default, or Redis). On start it marks the runs whose
worker died as failed (:func:`surveyapp.reports.runs.fail_stale`). Stop it with Ctrl-C
(SIGINT: running tasks finish first) or SIGTERM (at once; their runs are marked failed
``REPORT_RUN_STALE_S`` seconds later).
"""

from __future__ import annotations

import logging

import click

from surveyapp.cli._common import UsageProblem, existing_instance
from surveyapp.cli.web import _app, _check_schema


@click.command("worker")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Tasks done at once (threads) [default: QUEUE_WORKERS, 2].",
)
def worker_cmd(workers: int | None) -> None:
    """Do the queued long work (scoring runs, PDF reports, mail); runs until stopped."""
    from surveyapp.reports import runs  # lazy: the scoring stack only for this command

    existing_instance()
    app = _app()
    _check_schema(app)
    if app.config["QUEUE_IMMEDIATE"]:
        msg = "QUEUE_IMMEDIATE is on: tasks run where they are queued, a worker has nothing to do."
        raise UsageProblem(msg)
    queue = app.extensions["manyi_queue"]
    stale = runs.fail_stale(
        app.extensions["manyi_db"],
        queue.last_beat,
        stale_after_s=float(app.config["REPORT_RUN_STALE_S"]),
    )
    if stale:
        click.echo(f"marked {len(stale)} stale run(s) failed: {', '.join(map(str, stale))}")
    count = workers or int(app.config["QUEUE_WORKERS"])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    where = type(queue.huey).__name__
    click.echo(f"worker: {count} thread(s) on the {where} queue; stop with Ctrl-C")
    # periodic: the hourly purge of contact details past their study's retention period
    consumer = queue.huey.create_consumer(workers=count, worker_type="thread", periodic=True)
    consumer.run()


COMMANDS = [worker_cmd]
