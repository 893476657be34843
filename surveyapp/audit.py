"""The audit log: who created, opened, closed, exported, deleted or quarantined what.

A record is written in the *same transaction* as the change it describes
(``with get_db().write() as s: ...; audit.record(s, "opened", survey)``), so the log and
the data never disagree: a rolled-back change leaves no record, a committed one always has
its record. Exports change nothing, so they get a transaction of their own
(:func:`record_now`). The app never updates or deletes a record. This is a service: the
caller says who acted (``user_id``); it knows nothing of the request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from surveyapp import models as m
from surveyapp.db import get_db

ACTIONS = (
    "created",
    "opened",
    "closed",
    "scheduled",
    "exported",
    "deleted",
    "quarantined",
    "restored",
    "invited",
    "role_changed",
    "password_reset",
    "token_issued",
    "token_revoked",
    "logged_in",
    "login_failed",
    "sessions_ended",
    "deactivated",
    "reactivated",
    "teams_changed",
    "team_assigned",
    "erased",
    "purged",
    # distribution
    "access_changed",
    "link_created",
    "mail_queued",
    "mail_released",  # interrupted messages given back to the next run
    # a study's branding (services.branding)
    "branded",
)


def record(
    s: Session,
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    detail: dict[str, Any] | None = None,
    user_id: int | None = None,
) -> m.AuditLog:
    """Add one audit record to the session ``s`` (committed with the caller's change).

    ``obj`` is a model instance (its table name and primary key are recorded), or give
    ``object_type`` and ``object_id``. ``user_id`` is the acting user: the blueprints pass
    the logged-in or API-token user's id; ``None`` means the shell (the CLI) or the app.
    """
    if action not in ACTIONS:
        msg = f"audit action must be one of {list(ACTIONS)}; got {action!r}."
        raise ValueError(msg)
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = obj.id if object_id is None else object_id
    if object_type is None:
        msg = "audit.record needs an object or an object_type."
        raise ValueError(msg)
    row = m.AuditLog(
        user_id=user_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id)[:64],
        detail=dict(detail or {}),
    )
    s.add(row)
    return row


def record_now(action: str, obj: Any = None, **kwargs: Any) -> None:
    """Write one audit record in a transaction of its own (for actions that change nothing)."""
    with get_db().write() as s:
        record(s, action, obj, **kwargs)
