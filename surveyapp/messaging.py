"""How invitations reach people: the messenger interface, SMTP, and an example adapter.

A *messenger* delivers one message to one recipient. The mailing service
(:mod:`surveyapp.services.mailing`) decides who gets which message, when, and records the
outcome per invitation; a messenger only delivers. To add SMS or WeChat, write a class
with the three members of :class:`Messenger` that calls the provider's API (an SMS
gateway's HTTP API, WeChat's template messages) and raise:

- :class:`PermanentFailure` when the provider refuses the recipient for good (an unknown
  address or number, a bounce): the invitation is marked failed and never tried again;
- :class:`TemporaryFailure` when the provider cannot be reached or asks to retry later:
  the invitation is released for the next run and the run stops.

Then return it from :func:`from_config` for a ``MESSAGE_ADAPTER`` value of its own.
:class:`FileMessenger` is the working example: it appends each message as one JSON line
to ``MESSAGE_OUTBOX``, for a gateway that picks messages up from a file, or for a trial.

``MESSAGE_ADAPTER``: ``smtp`` (the default; ``MAIL_*`` settings) or ``file``.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

__all__ = [
    "FileMessenger",
    "Message",
    "Messenger",
    "PermanentFailure",
    "SmtpMessenger",
    "TemporaryFailure",
    "from_config",
]

ADAPTERS = ("smtp", "file")


class PermanentFailure(Exception):
    """The recipient is refused for good (a bounce); do not try again."""


class TemporaryFailure(Exception):
    """The message could not be delivered now (server down, try later)."""


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one recipient: a subject, a plain-text body, an HTML body."""

    recipient: str
    subject: str
    text: str
    html: str | None = None
    # RFC 2369 unsubscribe address (the opt-out page), when the channel has headers
    unsubscribe: str | None = None
    # the same for every attempt at this message (the left part of an RFC 5322
    # Message-ID; the messenger adds its domain): a repeat is the same message, which
    # mailboxes that collapse duplicates show once. None: a new one per attempt
    message_id: str | None = None


class Messenger(Protocol):
    """Delivers messages; used as a context manager around one run of sends (a connection
    is opened once, not per message)."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def send(self, message: Message) -> None:
        """Deliver ``message`` or raise :class:`PermanentFailure` / :class:`TemporaryFailure`."""


class SmtpMessenger:
    """E-mail through an SMTP server (``MAIL_HOST``, ``MAIL_PORT``, ``MAIL_SECURITY``:
    ``starttls``, ``ssl`` or ``none``; ``MAIL_USERNAME``/``MAIL_PASSWORD`` when the server
    wants a login), with the standard library's :mod:`smtplib`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        sender: str,
        timeout: float = 30.0,
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            msg = f"MAIL_SECURITY must be starttls, ssl or none; got {security!r}"
            raise ValueError(msg)
        self.host, self.port, self.security = host, port, security
        self.username, self.password = username, password
        self.sender, self.timeout = sender, timeout
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()

    def _close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        try:
            if self.security == "ssl":
                context = ssl.create_default_context()
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            msg = f"the SMTP server {self.host}:{self.port} refused the login: {exc.smtp_code}"
            raise TemporaryFailure(msg) from None
        except (smtplib.SMTPException, OSError) as exc:
            msg = f"cannot reach the SMTP server {self.host}:{self.port}: {exc}"
            raise TemporaryFailure(msg) from None
        self._smtp = smtp
        return smtp

    def message_id(self, message: Message) -> str:
        """The Message-ID header: ``<message.message_id@the sender's domain>``, the same
        on every worker for the same message; a random one when the message has none."""
        domain = self.sender.rpartition("@")[2]
        if message.message_id is None:
            return make_msgid(domain=domain or None)
        return f"<{message.message_id}@{domain or 'localhost'}>"

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = formataddr(("", message.recipient))
        mail["Subject"] = message.subject
        mail["Message-ID"] = self.message_id(message)
        if message.unsubscribe:
            # the page asks before it records (a POST with a CSRF token), so no RFC 8058
            # one-click header: a mail client's blind POST could not pass the CSRF check
            mail["List-Unsubscribe"] = f"<{message.unsubscribe}>"
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        smtp = self._connect()
        try:
            refused = smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [f"{code} {_text(text)}" for code, text in exc.recipients.values()]
            raise PermanentFailure("; ".join(codes)) from None
        except smtplib.SMTPResponseException as exc:
            reply = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(reply) from None
            self._close()
            raise TemporaryFailure(reply) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._close()
            raise TemporaryFailure(str(exc)) from None
        if refused:
            raise PermanentFailure(str(refused))


def _text(reply: bytes | str) -> str:
    """An SMTP server's reply text (smtplib gives bytes)."""
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


class FileMessenger:
    """The example adapter: appends each message as one JSON line (UTF-8) to a file.

    An SMS or WeChat gateway that reads an outbox file takes it from there; a real adapter
    for a provider's API has the same three members."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh: Any = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fh = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            msg = f"cannot open the outbox {self.path}: {exc}"
            raise TemporaryFailure(msg) from None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def send(self, message: Message) -> None:
        if self._fh is None:
            msg = "FileMessenger.send outside its with-block"
            raise RuntimeError(msg)
        line = {"to": message.recipient, "subject": message.subject, "text": message.text}
        if message.message_id is not None:
            line["id"] = message.message_id  # the same on a repeat: a gateway may skip it
        try:
            self._fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            self._fh.flush()  # one message written is one message sent
        except OSError as exc:
            raise TemporaryFailure(str(exc)) from None


def can_send(config: Mapping[str, Any]) -> bool:
    """Whether the settings name a way to send (a file adapter, or an SMTP host)."""
    return config.get("MESSAGE_ADAPTER") == "file" or bool(config.get("MAIL_HOST"))


def from_config(config: Mapping[str, Any]) -> Messenger:
    """The messenger the settings ask for (``MESSAGE_ADAPTER``)."""
    adapter = str(config.get("MESSAGE_ADAPTER") or "smtp")
    if adapter == "file":
        outbox = config.get("MESSAGE_OUTBOX") or Path(config["INSTANCE_PATH"]) / "outbox.jsonl"
        return FileMessenger(outbox)
    if adapter != "smtp":
        msg = f"MESSAGE_ADAPTER must be one of {ADAPTERS}; got {adapter!r}"
        raise ValueError(msg)
    if not config.get("MAIL_HOST"):
        msg = "MAIL_HOST is not set: the app cannot send e-mail (see the README, Configuration)"
        raise TemporaryFailure(msg)
    return SmtpMessenger(
        str(config["MAIL_HOST"]),
        int(config.get("MAIL_PORT") or 25),
        security=str(config.get("MAIL_SECURITY") or "starttls"),
        username=config.get("MAIL_USERNAME") or None,
        password=config.get("MAIL_PASSWORD") or None,
        sender=str(config.get("MAIL_SENDER") or "manyi@localhost"),
        timeout=float(config.get("MAIL_TIMEOUT_S") or 30.0),
    )
