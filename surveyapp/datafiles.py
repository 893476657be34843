"""Read response data files (CSV, XLSX, SPSS .sav) into the tidy export frame.

The tidy frame is the hand-over point between storage and scoring (ARCHITECTURE.md): one
row per response, one column per answer, named by the export column rule. Files from
other tools often differ in letter case (``IMAG1`` for ``imag1``); columns are matched to
the questionnaire case-insensitively and renamed to the canonical names. Problems are
reported with the file name, and where it applies the row and column.
"""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import pandas as pd

from questionnaires import Questionnaire

READERS = (".csv", ".txt", ".xlsx", ".sav")


class DataFileError(ValueError):
    """A data file cannot be used; the message names the file and how to fix it."""


def read_table(path: str | Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read a CSV, XLSX or SPSS .sav file as a DataFrame.

    A CSV's text encoding is ``encoding`` when given, else detected: UTF-8 (with or
    without BOM) when the bytes are valid UTF-8, else GB18030 (which covers GBK and
    GB2312, the encodings Chinese Excel saves "CSV" in).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if not p.is_file():
        msg = f"{p}: no such data file; check the path."
        raise DataFileError(msg)
    try:
        if suffix in (".csv", ".txt"):
            text = _decode(p, encoding)
            if not text.strip():
                msg = f"{p.name}: is empty; save the data with a header row and responses."
                raise DataFileError(msg)
            return pd.read_csv(io.StringIO(text), sep=None, engine="python")
        if suffix == ".xlsx":
            return pd.read_excel(p, engine="openpyxl")
        if suffix == ".sav":
            import pyreadstat  # lazy: only a .sav file needs pyreadstat, slow to import

            frame, _meta = pyreadstat.read_sav(str(p))
            return frame
    except DataFileError:
        raise
    except Exception as exc:  # any failure of a reader means this file cannot be used
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = (
            f"{p.name}: cannot be read as {suffix[1:].upper()} ({first}); "
            "save it again as UTF-8 CSV, XLSX or SPSS .sav."
        )
        raise DataFileError(msg) from None
    msg = f"{p.name}: unsupported file type {suffix!r}; use one of {', '.join(READERS)}."
    raise DataFileError(msg)


def _decode(p: Path, encoding: str | None) -> str:
    """The text of the CSV file ``p`` in ``encoding``, or detected (see :func:`read_table`)."""
    raw = p.read_bytes()
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            msg = f"unknown encoding {encoding!r}; use e.g. utf-8 or gb18030."
            raise DataFileError(msg) from None
        tried = ["utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding]
    else:
        tried = ["utf-8-sig", "gb18030"]
    for name in tried:
        try:
            return raw.decode(name)
        except UnicodeDecodeError:
            continue
    named = encoding if encoding is not None else "UTF-8 or GB18030/GBK"
    msg = (
        f"{p.name}: is not valid {named} text; save it again as CSV UTF-8 "
        "(in Excel: Save As > CSV UTF-8)."
    )
    raise DataFileError(msg)


def align_columns(frame: pd.DataFrame, q: Questionnaire, *, source: str) -> pd.DataFrame:
    """Rename columns that match the questionnaire's export columns up to letter case.

    Columns the questionnaire does not know are kept as they are (segment columns from
    invitations, for instance). Two columns that differ only in case are an error.
    """
    wanted = {c.lower(): c for c in q.columns()}
    renames: dict[str, str] = {}
    seen: dict[str, str] = {}
    for col in map(str, frame.columns):
        key = col.strip().lower()
        if key in seen:
            msg = (
                f"{source}: columns {seen[key]!r} and {col!r} differ only in letter case; "
                "keep one of them."
            )
            raise DataFileError(msg)
        seen[key] = col
        if key in wanted and col != wanted[key]:
            renames[col] = wanted[key]
    return frame.rename(columns=renames)


def read_responses(
    path: str | Path, q: Questionnaire, *, encoding: str | None = None
) -> pd.DataFrame:
    """Read a data file for ``q``: canonical column names, row labels = file row numbers.

    The index is the row number as a spreadsheet user sees it (header = row 1, first
    response = row 2), so an error from :mod:`scoring` that names a row points at the
    right line of the file.
    """
    p = Path(path)
    frame = align_columns(read_table(p, encoding=encoding), q, source=p.name)
    if frame.empty:
        msg = f"{p.name}: holds no responses (only a header or nothing)."
        raise DataFileError(msg)
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    return frame
