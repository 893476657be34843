"""gunicorn settings of one manyi app server (``gunicorn -c deploy/gunicorn.conf.py
'surveyapp:create_app()'``).

The app's own settings come from the environment (``deploy/manyi.env``); this file sets
only how gunicorn runs it. Every value can be overridden from the environment:
``MANYI_BIND`` (address, default ``127.0.0.1:8000``), ``WEB_CONCURRENCY`` (worker
processes, gunicorn's own variable; default 2 per core), ``MANYI_GUNICORN_THREADS``
(threads per worker, default 4). Each worker builds its own app and so its own database
pool (no ``preload_app``: connections must not cross a fork); give that pool at least
one connection per thread (``MANYI_DB_POOL_SIZE`` in ``deploy/manyi.env``).
"""

import multiprocessing
import os

bind = os.environ.get("MANYI_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
# gthread workers (what `manyi serve` runs too): a report page that takes seconds to build
# holds one thread, and the respondents' pages sent to the same worker meanwhile are served
# by its other threads instead of waiting behind it (bench/README.md, "Scale-out":
# respondent p99 with report readers active x 0.43 against sync workers). A request's
# own state is its database session (flask.g); counters and cache are in Redis.
worker_class = "gthread"
threads = int(os.environ.get("MANYI_GUNICORN_THREADS", "4"))
# a worker that stops answering gunicorn's heartbeat this long is killed and replaced.
# With threads, one slow request no longer stops the heartbeat: its end comes from the
# database's statement_timeout (DB_STATEMENT_TIMEOUT_S) and nginx's proxy_read_timeout.
timeout = int(os.environ.get("MANYI_GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5  # nginx keeps upstream connections open (``keepalive`` in nginx.conf)
# recycle workers now and then, staggered, so a slow leak never takes a server down
max_requests = 5000
max_requests_jitter = 500
# nginx on the same host sets X-Forwarded-*; the app trusts it by MANYI_TRUSTED_PROXIES
forwarded_allow_ips = os.environ.get("MANYI_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("MANYI_ACCESS_LOG") or None  # nginx logs every request already
errorlog = "-"
loglevel = os.environ.get("MANYI_LOG_LEVEL", "warning")
proc_name = "manyi-web"
