"""The scale test's SMTP server: aiosmtpd (the dev extra) accepting every message and
writing one JSON line per accepted recipient to a file, so the test can count the mails
each recipient got (and take the invitation link from them).

``python bench/scale/smtp_sink.py PORT LOGFILE [DELAY_S]`` (on 127.0.0.1). A line (with
the message's Message-ID) is written and flushed before the server answers 250: a
message the server accepted is in the file. ``DELAY_S``: a pause between the line and the
250, as a slow server's; a client killed in it has handed the message over without
knowing it (what the scale test's "interrupted" are).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

LINK = re.compile(r"/i/([A-Za-z0-9_-]+)")


class Sink:
    def __init__(self, path: Path, delay_s: float = 0.0) -> None:
        self.out = path.open("a", encoding="utf-8")
        self.lock = threading.Lock()
        self.delay_s = delay_s

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        mail = message_from_bytes(envelope.content, policy=policy.default)
        body = mail.get_body(preferencelist=("plain",))
        link = LINK.search(body.get_content() if body is not None else "")
        line = {
            "at": time.time(),
            "message_id": str(mail["Message-ID"]),
            "token": link.group(1) if link else None,
        }
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.out.write(json.dumps({**line, "to": rcpt}) + "\n")
            self.out.flush()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return "250 OK"


def read(path: Path) -> list[dict[str, Any]]:
    """The accepted messages so far, one per recipient."""
    if not path.exists():
        return []
    lines = path.read_text("utf-8").splitlines()
    return [json.loads(ln) for ln in lines if ln.endswith("}")]


class Mailbox:
    """What the server accepted, read as it arrives (each line once)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.lock = threading.Lock()

    def new(self) -> list[dict[str, Any]]:
        """The messages accepted since the last call."""
        with self.lock:
            if not self.path.exists():
                return []
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
            end = data.rfind(b"\n") + 1  # whole lines only
            self.offset += end
        return [json.loads(ln) for ln in data[:end].decode("utf-8").splitlines() if ln]


def main(port: int, path: Path, delay_s: float = 0.0) -> None:
    controller = Controller(Sink(path, delay_s), hostname="127.0.0.1", port=port)
    controller.start()
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
