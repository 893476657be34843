"""The ``distribution`` blueprint: the public side of sending a survey out.

URLs
----
``/l/<code>``     a short link (a QR code, a poster): redirects to the survey's page with
                  the link's signed segments (:mod:`surveyapp.services.links`)
``/o/<token>``    opt out of the mail of an invitation (GET asks, POST records it)

Both are public and rate-limited per client address by ``SUBMIT_RATE_LIMIT``; the opt-out
form carries a CSRF token like every form.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, request, url_for

from surveyapp import db as dbm
from surveyapp import security
from surveyapp.i18n import set_language_for
from surveyapp.services import invitations, links, mailing

bp = Blueprint("distribution", __name__)


@bp.route("/l/<code>")
@security.rate_limit("SUBMIT_RATE_LIMIT")
def short_link(code: str) -> Any:
    link = links.by_code(dbm.session(), code)
    if link is None or link.survey.status == "draft":
        abort(404)
    tag = links.tag_of(current_app.config["SECRET_KEY"], link)
    return redirect(url_for("survey.anonymous", slug=link.survey.slug, k=tag), code=302)


@bp.route("/o/<token>", methods=["GET", "POST"])
@security.rate_limit("SUBMIT_RATE_LIMIT")
def opt_out(token: str) -> Any:
    invitation = invitations.by_token(dbm.session(), token)
    if invitation is None:
        abort(404)
    survey = invitation.survey
    set_language_for(survey.languages)
    done = mailing.is_opted_out(dbm.session(), invitation.recipient)
    if request.method == "POST" and not done:
        mailing.opt_out(invitation.id)
        done = True
    return render_template("distribution/opt_out.html", survey=survey, token=token, done=done)


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
