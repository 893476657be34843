"""The ``distribution`` blueprint: the public side of sending a survey out.

URLs
----
``/l/<code>``     a short link (a QR code, a poster): redirects to the survey's page with
                  the link's signed segments (:mod:`surveyapp.services.links`)
``/o/<token>``    opt out of the mail of an invitation (GET asks, POST records it)

Both are public and rate-limited per client address by ``SUBMIT_RATE_LIMIT``; the opt-out
form carries a CSRF token like every form.

For the respondents' pages (the ``survey`` blueprint) it also provides

- share metadata (Open Graph ``og:*`` tags: title, description, image), so a survey link
  pasted into WeChat or another messenger shows a card (``distribution/_share.html``,
  included by ``base.html``);
- the ``FRAME_ANCESTORS`` allow-list: origins that may show a survey in a frame. Empty
  (the default) keeps ``frame-ancestors 'none'``; otherwise the survey pages' CSP names
  those origins (a CSP ``frame-ancestors`` overrides ``X-Frame-Options`` in browsers).
  The pages of a survey the session previews also allow this origin (``'self'``): the
  researchers' preview shows them in a phone frame and a desktop frame.
"""

from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp import security
from surveyapp import survey as respondent
from surveyapp.i18n import current_language, set_language_for
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


ORIGIN = re.compile(r"^https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$")


def frame_ancestors(setting: str | None) -> str:
    """The CSP ``frame-ancestors`` source list of the ``FRAME_ANCESTORS`` setting (origins
    separated by spaces or commas); ``'none'`` when empty. A value that is not an origin
    is refused at start-up, naming it."""
    origins = [o for o in re.split(r"[\s,]+", setting or "") if o]
    for origin in origins:
        if not ORIGIN.match(origin):
            msg = (
                f"FRAME_ANCESTORS: {origin!r} is not an origin; give origins like "
                "https://intranet.example.cn or https://*.example.cn, separated by spaces."
            )
            raise ValueError(msg)
    return " ".join(origins) or "'none'"


def share_card(survey: m.Survey) -> dict[str, str]:
    """What a messenger shows for a link to ``survey``: title, description, image, URL."""
    q = survey.questionnaire()
    language = current_language()  # the card speaks the page's language
    title = survey.title or q.title.get(language)
    description = q.description.get(language) if q.description else title
    base = current_app.config.get("PUBLIC_URL")
    image = url_for("static", filename="img/share.png", _external=not base)
    if base:
        image = str(base).rstrip("/") + image
    return {"title": title, "description": description[:200], "image": image}


def init_app(app: Flask) -> None:
    """Register the blueprint, the share card and the survey pages' frame allow-list:
    the ``FRAME_ANCESTORS`` origins, and this origin for a page of a survey that the
    session previews (the researchers' phone-and-desktop preview frames it). Every
    other page keeps ``frame-ancestors 'none'``."""
    app.register_blueprint(bp)
    ancestors = frame_ancestors(app.config.get("FRAME_ANCESTORS"))
    app.jinja_env.globals["share_card"] = share_card

    @app.after_request
    def _frame_ancestors(response: Response) -> Response:
        # runs before security's header hook, which keeps a header a view already set
        if request.blueprint != "survey":
            return response
        sources = ancestors
        if response.mimetype == "text/html" and respondent.previewed():
            sources = " ".join(s for s in ("'self'", ancestors) if s != "'none'")
        if sources != "'none'":
            csp = security.CSP.replace("frame-ancestors 'none'", f"frame-ancestors {sources}")
            response.headers["Content-Security-Policy"] = csp
            response.headers["X-Frame-Options"] = "SAMEORIGIN"  # ignored beside the CSP
        return response
