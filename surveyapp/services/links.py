"""Public links to an anonymous survey per branch or channel, their QR codes, and the
responses that came through each link.

A :class:`~surveyapp.models.SurveyLink` is a short code (``/l/<code>``) for one survey and
one set of segment values (``branch=east``) and a channel (``counter``, ``poster``,
``wechat``). The short link redirects to the survey's anonymous page with a *tag*: the
link's segments, signed with the app's secret key (itsdangerous), so the response is
tagged ``branch=east`` without asking the respondent and nobody can forge a tag for a
branch by editing the address (a tampered tag is refused by :func:`read_tag`).

A tagged response carries the link's segments plus ``channel`` and ``link`` (the short
code), so the survey page can count the responses of each link and each channel.
"""

from __future__ import annotations

import io
import re
import secrets
import string
from dataclasses import dataclass
from typing import Literal

import segno
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from surveyapp import audit
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.services.studies import SEGMENT_NAME

TAG_SALT = "manyi-survey-link"
CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 8
CHANNEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
MAX_VALUE = 100  # characters of one segment value on a link
RESERVED = ("channel", "link")  # segment names a link sets itself
QR_FORMATS = ("svg", "png")
QrFormat = Literal["svg", "png"]


class LinkError(ValueError):
    """A link that cannot be made (a bad channel or segment); the message says why."""


class BadTag(ValueError):
    """A link tag that was changed, belongs to another survey or cannot be read."""


def new_code() -> str:
    """A fresh short code: letters and digits only (never a formula in a spreadsheet)."""
    return secrets.choice(string.ascii_letters) + "".join(
        secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH - 1)
    )


def _signer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=TAG_SALT)


def tag_of(secret: str, link: m.SurveyLink) -> str:
    """The signed tag the link's address carries (``?k=...``)."""
    payload = {"v": link.survey_id, "s": link_segments(link)}
    return str(_signer(secret).dumps(payload))


def link_segments(link: m.SurveyLink) -> dict[str, str]:
    """The segments a response through ``link`` is tagged with."""
    return {**link.segments, "channel": link.channel, "link": link.code}


def read_tag(secret: str, raw: str, survey_id: int) -> dict[str, str]:
    """The segments of a tag made by :func:`tag_of` for ``survey_id``; :class:`BadTag` if
    it was changed, made for another survey or is not a tag at all."""
    try:
        payload = _signer(secret).loads(raw[:2000])
    except BadSignature:
        msg = "the link's tag does not match its signature"
        raise BadTag(msg) from None
    if not isinstance(payload, dict) or payload.get("v") != survey_id:
        msg = "the link's tag belongs to another survey"
        raise BadTag(msg)
    segments = payload.get("s")
    if not isinstance(segments, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in segments.items()
    ):
        msg = "the link's tag holds no segments"
        raise BadTag(msg)
    return dict(segments)


def parse_segments(text: str) -> dict[str, str]:
    """``"branch=east, region=north"`` (also ``；`` ``，`` or new lines between pairs) as a
    mapping; :class:`LinkError` naming the pair that is wrong."""
    out: dict[str, str] = {}
    for raw in re.split(r"[,;\n，；]", text or ""):
        pair = raw.strip()
        if not pair:
            continue
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not value:
            raise LinkError(
                _("%(pair)s: write each segment as name=value, e.g. branch=east.", pair=pair[:60])
            )
        if not SEGMENT_NAME.match(name) or name in RESERVED:
            raise LinkError(
                _(
                    "%(name)s: a segment name uses letters, digits and underscores, starts "
                    "with a letter, and is not channel or link.",
                    name=name[:60],
                )
            )
        if len(value) > MAX_VALUE or re.search(r"[\x00-\x1f]", value):
            raise LinkError(
                _(
                    "%(name)s: the value may have at most %(n)d characters and no control "
                    "characters.",
                    name=name,
                    n=MAX_VALUE,
                )
            )
        if name in out:
            raise LinkError(_("%(name)s: the segment is given twice.", name=name))
        out[name] = value
    return out


def create_link(
    survey_id: int, channel: str, segments: dict[str, str], *, user_id: int | None
) -> m.SurveyLink:
    """A new short link of the survey for ``channel`` and ``segments`` (audited)."""
    channel = channel.strip()
    if not CHANNEL_NAME.match(channel):
        raise LinkError(
            _(
                "The channel is a name like counter, poster or wechat: letters, digits, - "
                "and _, starting with a letter."
            )
        )
    for _attempt in range(5):
        try:
            dbm.release()
            with dbm.get_db().write() as ws:
                survey = ws.get(m.Survey, survey_id)
                if survey is None:
                    raise LinkError(_("No such survey."))
                link = m.SurveyLink(
                    code=new_code(),
                    survey_id=survey_id,
                    channel=channel,
                    segments=dict(segments),
                    created_by_id=user_id,
                )
                ws.add(link)
                ws.flush()
                detail = {"code": link.code, "channel": channel, "segments": dict(segments)}
                audit.record(ws, "link_created", survey, detail=detail, user_id=user_id)
            return link
        except IntegrityError:
            continue  # a code drawn twice: draw again
    msg = "could not draw a free short code"
    raise RuntimeError(msg)


def links_of(survey_id: int) -> list[m.SurveyLink]:
    """The survey's links, oldest first."""
    query = select(m.SurveyLink).where(m.SurveyLink.survey_id == survey_id)
    return list(dbm.session().scalars(query.order_by(m.SurveyLink.id)))


def by_code(s: Session, code: str) -> m.SurveyLink | None:
    """The link of a short code."""
    return s.scalar(select(m.SurveyLink).where(m.SurveyLink.code == code[:16]))


def qr_code(url: str, fmt: QrFormat, *, scale: int = 8) -> bytes:
    """The QR code of ``url`` as SVG or PNG (segno; error correction M, quiet zone 4)."""
    qr = segno.make_qr(url, error="m")
    buf = io.BytesIO()
    qr.save(buf, kind=fmt, scale=scale, border=4)
    return buf.getvalue()


# -- responses per link and channel ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LinkCount:
    """Responses (not quarantined) that came through one way in: the anonymous link,
    personal invitations, or one short link."""

    way: str  # "anonymous", "invitation" or a link's code
    complete: int
    partial: int


def response_counts(survey_id: int) -> dict[str, LinkCount]:
    """Per way in (``"anonymous"``, ``"invitation"``, each link's code): the complete and
    partial responses, quarantined ones left out."""
    r = m.Response
    link = r.segments["link"].as_string()
    rows = dbm.session().execute(
        select(r.invitation_id.is_not(None), link, r.status, func.count())
        .where(r.survey_id == survey_id, r.quarantined.is_(False))
        .group_by(r.invitation_id.is_not(None), link, r.status)
    )
    acc: dict[str, dict[str, int]] = {}
    for invited, code, status, n in rows:
        way = "invitation" if invited else (code or "anonymous")
        acc.setdefault(way, {"complete": 0, "partial": 0})[status] += int(n)
    return {w: LinkCount(w, c["complete"], c["partial"]) for w, c in acc.items()}


def channel_counts(
    counts: dict[str, LinkCount], links: list[m.SurveyLink]
) -> list[tuple[str, LinkCount]]:
    """The counts of :func:`response_counts` summed per channel (anonymous, invitation,
    then each link channel in the order first made)."""
    channel_of: dict[str, str] = {lk.code: lk.channel for lk in links}
    out: dict[str, list[int]] = {"anonymous": [0, 0], "invitation": [0, 0]}
    for way, c in counts.items():
        channel = channel_of.get(way, way if way in out else "link")
        slot = out.setdefault(channel, [0, 0])
        slot[0] += c.complete
        slot[1] += c.partial
    return [(ch, LinkCount(ch, v[0], v[1])) for ch, v in out.items()]
