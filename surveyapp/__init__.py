"""manyi survey app: Flask app, storage and the ``manyi`` CLI.

>>> app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "x",
...                   "INSTANCE_PATH": "/tmp/manyi-doctest"})
>>> sorted(bp for bp in app.blueprints)
['api', 'auth', 'people', 'reports', 'research', 'survey']
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web app.

    Parameters
    ----------
    config
        Settings that override the environment (``DATABASE_URL``, ``SECRET_KEY``,
        ``MANYI_*``) and the defaults in :mod:`surveyapp.config`. Tests pass
        ``{"TESTING": True, "DATABASE": path}``; with ``TESTING`` the tables are created
        directly, otherwise the schema comes from Alembic (``manyi db upgrade``).
    """
    # lazy: `import surveyapp` (the CLI, scoring notebooks) must not load Flask's extensions
    from surveyapp import (
        api,
        auth,
        db,
        distribution,
        errors,
        i18n,
        people,
        research,
        security,
        survey,
    )
    from surveyapp import config as cfg  # lazy: as above
    from surveyapp.reports import views as reports  # lazy: as above

    settings = cfg.build(config)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"], instance_relative_config=True)
    app.config.update(settings)

    # extensions: storage, then CSRF / sessions / rate limits, then languages
    database = db.init_app(app)
    if app.config["CREATE_TABLES"]:
        db.create_all(database)
    security.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    # blueprints: respondents, researchers' accounts, pages, JSON API, dashboards
    survey.init_app(app)
    distribution.init_app(app)
    auth.init_app(app)
    research.init_app(app)
    people.init_app(app)
    api.init_app(app)
    reports.init_app(app)

    @app.url_defaults
    def _static_version(endpoint: str, values: dict[str, Any]) -> None:
        # a static URL carries its file's content hash, so a load balancer may cache it
        # for a year (deploy/nginx.conf) and a new release still reaches every browser
        if endpoint == "static" and "filename" in values:
            values.setdefault("v", _static_hash(app.static_folder or "", values["filename"]))

    @app.get("/healthz")
    def healthz() -> tuple[dict[str, str], int]:
        # the app answers and its database does: what a load balancer should ask
        if not db.healthy(database):
            return {"status": "unavailable", "database": "unreachable"}, 503
        return {"status": "ok", "database": "ok"}, 200

    return app


@functools.cache
def _static_hash(folder: str, filename: str) -> str:
    """The first 12 hex digits of the SHA-256 of a static file ("" if there is none)."""
    path = Path(folder) / filename
    if not path.is_file():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
