"""manyi survey app: Flask app, storage and the ``manyi`` CLI.

>>> app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", "SECRET_KEY": "x",
...                   "INSTANCE_PATH": "/tmp/manyi-doctest"})
>>> sorted(bp for bp in app.blueprints)
['api', 'auth', 'reports', 'research', 'survey']
"""

from __future__ import annotations

from collections.abc import Mapping
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
    from surveyapp import config as cfg
    from surveyapp import db, errors, i18n, security, survey

    settings = cfg.build(config)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"], instance_relative_config=True)
    app.config.update(settings)

    database = db.init_app(app)
    if app.config["CREATE_TABLES"]:
        db.create_all(database)
    security.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    survey.init_app(app)
    from surveyapp import research  # researchers' side: accounts, pages, JSON API

    research.init_app(app)
    from surveyapp.reports import views as reports  # dashboards, scoring runs, reports

    reports.init_app(app)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
