"""Recipients of personal invitations: the CSV a researcher uploads, checked row by row.

A file that cannot be used is refused whole, with an :class:`InvitationError` that names
the file, the row and the column of the first problem and says how to fix it.
"""

from __future__ import annotations

import csv
import io
import re

from surveyapp.services.studies import SEGMENT_NAME

MAX_INVITATIONS = 50_000  # per upload
MAX_INVITATION_BYTES = 5_000_000
MAX_CELL = 300
RECIPIENT_HEADERS = ("email", "recipient", "e-mail", "mail")


class InvitationError(ValueError):
    """A recipients CSV that cannot be used; the message names the row and column."""


def parse_recipients(data: bytes, filename: str = "recipients.csv") -> list[dict[str, str]]:
    """Rows of a recipients CSV: an optional ``email`` column plus segment columns.

    The header names the segments (letters, digits, underscore, starting with a letter);
    every row becomes one invitation whose segment values travel with its response.
    Raises :class:`InvitationError` naming the file, row and column of the first problem.
    """
    if len(data) > MAX_INVITATION_BYTES:
        msg = f"{filename}: is {len(data)} bytes; the limit is {MAX_INVITATION_BYTES}."
        raise InvitationError(msg)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = f"{filename}: is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8."
        raise InvitationError(msg) from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        msg = f"{filename}: is empty; the first row must name the columns (email, segments)."
        raise InvitationError(msg) from None
    names = [h.strip() for h in header]
    seen: set[str] = set()
    for j, name in enumerate(names, start=1):
        lowered = name.lower()
        if lowered in RECIPIENT_HEADERS:
            names[j - 1] = "email"
            lowered = "email"
        elif not SEGMENT_NAME.match(name):
            msg = (
                f"{filename}: row 1, column {j}: the heading {name[:40]!r} is not a valid "
                "segment name; use letters, digits and underscores, starting with a letter "
                "(at most 40 characters)."
            )
            raise InvitationError(msg)
        if lowered in seen:
            msg = f"{filename}: row 1, column {j}: the heading {name!r} appears twice."
            raise InvitationError(msg)
        seen.add(lowered)
    rows: list[dict[str, str]] = []
    try:
        for i, raw in enumerate(reader, start=2):
            if not any(cell.strip() for cell in raw):
                continue
            if len(raw) > len(names):
                msg = (
                    f"{filename}: row {i} has {len(raw)} cells but the header names "
                    f"{len(names)} columns; remove the extra cells or add headings."
                )
                raise InvitationError(msg)
            row: dict[str, str] = {}
            for j, (name, cell) in enumerate(zip(names, raw, strict=False), start=1):
                value = cell.strip()
                if len(value) > MAX_CELL:
                    msg = (
                        f"{filename}: row {i}, column {j} ({name}): {len(value)} characters; "
                        f"the limit is {MAX_CELL}."
                    )
                    raise InvitationError(msg)
                if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", value):
                    msg = f"{filename}: row {i}, column {j} ({name}): control characters."
                    raise InvitationError(msg)
                if value:
                    row[name] = value
            rows.append(row)
            if len(rows) > MAX_INVITATIONS:
                msg = f"{filename}: more than {MAX_INVITATIONS} rows; split the file."
                raise InvitationError(msg)
    except csv.Error as exc:
        msg = f"{filename}: row {reader.line_num}: not valid CSV ({exc})."
        raise InvitationError(msg) from None
    if not rows:
        msg = f"{filename}: has a header but no recipients."
        raise InvitationError(msg)
    return rows
