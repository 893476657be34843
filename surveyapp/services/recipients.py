"""Recipients of personal invitations: the CSV or XLSX file a researcher uploads, checked
row by row.

What Excel users in China actually save is accepted: CSV in UTF-8, UTF-8 with a byte
order mark and GB18030 (a superset of GBK, what "CSV" means in Excel on Chinese Windows),
detected or chosen in the form; XLSX workbooks (the first sheet); and Chinese column
headings for the usual columns (``邮箱``, ``网点``, ``地区``...; :data:`HEADER_ALIASES`).

A file that cannot be used is refused whole, with an :class:`InvitationError` that names
the file, the row and the column of the first problem and says how to fix it, in the
language of the page (Flask-Babel's ``gettext``; outside a request, English). Files that
are not tables at all (binary data, a header of 100,000 columns) are refused before any
row is read.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from typing import Literal

from flask_babel import gettext as _
from flask_babel import ngettext

from surveyapp.services.studies import SEGMENT_NAME

MAX_INVITATIONS = 50_000  # per upload
MAX_INVITATION_BYTES = 5_000_000
MAX_COLUMNS = 100  # segments a recipient row may carry; a wider file is not a list of people
MAX_CELL = 300
ENCODINGS = ("auto", "utf-8", "gb18030")
Encoding = Literal["auto", "utf-8", "gb18030"]

#: the recipient's address column, under its usual names (compared case-insensitively)
RECIPIENT_HEADERS = ("email", "recipient", "e-mail", "mail", "邮箱", "电子邮件", "电子邮箱", "邮件")
#: Chinese headings of the usual segment columns -> the segment name they become (segment
#: names are export column names: ASCII letters, digits and underscores)
HEADER_ALIASES = {
    "网点": "branch",
    "分行": "branch",
    "支行": "branch",
    "分店": "branch",
    "门店": "store",
    "地区": "region",
    "区域": "region",
    "大区": "region",
    "省份": "province",
    "省": "province",
    "城市": "city",
    "渠道": "channel",
    "部门": "department",
    "产品": "product",
    "客户类型": "customer_type",
    "客户等级": "tier",
    "等级": "tier",
    "语言": "language",
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XLSX_MAGIC = b"PK\x03\x04"


class InvitationError(ValueError):
    """A recipients file that cannot be used; the message names the row and column."""


def parse_recipients(
    data: bytes, filename: str = "recipients.csv", *, encoding: Encoding = "auto"
) -> list[dict[str, str]]:
    """Rows of a recipients file: an optional ``email`` column plus segment columns.

    ``data`` is a CSV (``encoding``: ``"auto"`` detects UTF-8, UTF-8 with BOM and
    GB18030/GBK) or an XLSX workbook. The header names the segments (letters, digits,
    underscore, starting with a letter, or a heading of :data:`HEADER_ALIASES`); every
    row becomes one invitation whose segment values travel with its response.
    Raises :class:`InvitationError` naming the file, row and column of the first problem.
    """
    if len(data) > MAX_INVITATION_BYTES:
        raise InvitationError(
            _(
                "%(file)s: is %(n)d bytes; the limit is %(limit)d. Split it into smaller files.",
                file=filename,
                n=len(data),
                limit=MAX_INVITATION_BYTES,
            )
        )
    if data.startswith(_XLSX_MAGIC):
        rows = _xlsx_rows(data, filename)
    else:
        rows = _csv_rows(_decode(data, filename, encoding), filename)
    return _check_rows(rows, filename)


def _decode(data: bytes, filename: str, encoding: Encoding) -> str:
    if b"\x00" in data[:65536]:
        raise InvitationError(
            _(
                "%(file)s: is not a text file (it holds binary data). Save the list as CSV "
                "or as an Excel workbook (.xlsx).",
                file=filename,
            )
        )
    if encoding == "auto":
        encoding = "gb18030"
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass  # not UTF-8: Excel on Chinese Windows saves GBK, read as GB18030
    codec = "utf-8-sig" if encoding == "utf-8" else "gb18030"
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise InvitationError(
            _(
                "%(file)s: is not %(encoding)s text (byte %(byte)d). Choose the file's "
                "encoding in the form, or save it as CSV UTF-8.",
                file=filename,
                encoding="UTF-8" if encoding == "utf-8" else "GB18030/GBK",
                byte=exc.start,
            )
        ) from None


def _csv_rows(text: str, filename: str) -> Iterator[list[str]]:
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        yield from reader
    except csv.Error as exc:
        raise InvitationError(
            _(
                "%(file)s: row %(row)d: not valid CSV (%(problem)s).",
                file=filename,
                row=reader.line_num,
                problem=str(exc),
            )
        ) from None


def _xlsx_rows(data: bytes, filename: str) -> Iterator[list[str]]:
    # openpyxl only for a workbook upload (it is slow to import)
    import openpyxl  # noqa: PLC0415 - only for a workbook upload

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise InvitationError(
            _(
                "%(file)s: is not a readable Excel workbook. Save it again as .xlsx or as CSV.",
                file=filename,
            )
        ) from None
    try:
        sheet = book.worksheets[0]
        if (sheet.max_column or 0) > MAX_COLUMNS:
            raise _too_wide(filename)
        for values in sheet.iter_rows(values_only=True):
            yield ["" if v is None else _cell_text(v) for v in values]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _too_wide(filename: str) -> InvitationError:
    return InvitationError(
        _(
            "%(file)s: row 1 has more than %(n)d columns; a list of recipients needs an "
            "e-mail column and a few segment columns. Remove the other columns.",
            file=filename,
            n=MAX_COLUMNS,
        )
    )


def _header(raw: list[str], filename: str) -> list[str]:
    if len(raw) > MAX_COLUMNS:
        raise _too_wide(filename)
    names = [h.strip().lstrip("\ufeff") for h in raw]
    while names and not names[-1]:  # Excel's trailing empty columns
        names.pop()
    seen: set[str] = set()
    for j, name in enumerate(names, start=1):
        lowered = name.lower()
        if lowered in RECIPIENT_HEADERS:
            name = "email"
        elif name in HEADER_ALIASES:
            name = HEADER_ALIASES[name]
        elif not SEGMENT_NAME.match(name):
            raise InvitationError(
                _(
                    "%(file)s: row 1, column %(col)d: the heading %(name)s is not a valid "
                    "segment name; use letters, digits and underscores, starting with a "
                    "letter (at most 40 characters), or one of %(known)s.",
                    file=filename,
                    col=j,
                    name=repr(name[:40]),
                    known="、".join(["邮箱", *list(HEADER_ALIASES)[:8]]),
                )
            )
        if name.lower() in seen:
            raise InvitationError(
                _(
                    "%(file)s: row 1, column %(col)d: the heading %(name)s appears twice.",
                    file=filename,
                    col=j,
                    name=repr(raw[j - 1].strip()),
                )
            )
        seen.add(name.lower())
        names[j - 1] = name
    return names


def _check_rows(rows: Iterable[list[str]], filename: str) -> list[dict[str, str]]:
    it = iter(rows)
    try:
        names = _header(next(it), filename)
    except StopIteration:
        raise InvitationError(
            _(
                "%(file)s: is empty; the first row must name the columns (email, segments).",
                file=filename,
            )
        ) from None
    out: list[dict[str, str]] = []
    for i, raw in enumerate(it, start=2):
        cells = list(raw)
        while len(cells) > len(names) and not cells[-1].strip():
            cells.pop()
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(names):
            raise InvitationError(
                ngettext(
                    "%(file)s: row %(row)d has %(n)d cells but the header names %(k)d "
                    "column; remove the extra cells or add headings.",
                    "%(file)s: row %(row)d has %(n)d cells but the header names %(k)d "
                    "columns; remove the extra cells or add headings.",
                    len(names),
                    file=filename,
                    row=i,
                    n=len(cells),
                    k=len(names),
                )
            )
        out.append(_row(names, cells, filename, i))
        if len(out) > MAX_INVITATIONS:
            raise InvitationError(
                _(
                    "%(file)s: more than %(n)d rows; split the file.",
                    file=filename,
                    n=MAX_INVITATIONS,
                )
            )
    if not out:
        raise InvitationError(_("%(file)s: has a header but no recipients.", file=filename))
    return out


def _row(names: list[str], cells: list[str], filename: str, i: int) -> dict[str, str]:
    row: dict[str, str] = {}
    for j, (name, cell) in enumerate(zip(names, cells, strict=False), start=1):
        value = cell.strip()
        if len(value) > MAX_CELL:
            raise InvitationError(
                _(
                    "%(file)s: row %(row)d, column %(col)d (%(name)s): %(n)d characters; "
                    "the limit is %(limit)d.",
                    file=filename,
                    row=i,
                    col=j,
                    name=name,
                    n=len(value),
                    limit=MAX_CELL,
                )
            )
        if _CONTROL.search(value):
            raise InvitationError(
                _(
                    "%(file)s: row %(row)d, column %(col)d (%(name)s): control characters; "
                    "remove them.",
                    file=filename,
                    row=i,
                    col=j,
                    name=name,
                )
            )
        if value:
            row[name] = value
    return row
