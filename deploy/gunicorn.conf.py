"""gunicorn settings of one manyi app server (``gunicorn -c deploy/gunicorn.conf.py
'surveyapp:create_app()'``).

The app's own settings come from the environment (``deploy/manyi.env``); this file sets
only how gunicorn runs it. Every value can be overridden from the environment:
``MANYI_BIND`` (address, default ``127.0.0.1:8000``), ``WEB_CONCURRENCY`` (worker
processes, gunicorn's own variable; default 2 per core). Each worker builds its own app
and so its own database pool (no ``preload_app``: connections must not cross a fork).
"""

import multiprocessing
import os

bind = os.environ.get("MANYI_BIND", "127.0.0.1:8000")
# sync workers: a request holds its process; nginx buffers slow clients in front
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count()))
worker_class = "sync"
# a request longer than this is killed (the report pages build in well under it)
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
