"""Whether a scenario's data pool file can feed a run, told from its suffix and first 64 KiB (never parsed whole)."""

from __future__ import annotations

import codecs
import csv
import os
import stat
from pathlib import Path

from mvptest.spec.loader import display_path

POOL_SUFFIXES = (".csv", ".json", ".ndjson", ".jsonl", ".xlsx")
_PEEK_BYTES = 64 * 1024


def pool_file_problem(path: Path, column: str, name: str) -> tuple[str, str] | None:
    """Why a data pool file cannot feed the run (message, hint), from its suffix and first 64 KiB; None when it can."""
    shown = display_path(path.resolve())
    what = f"data pool {name!r}: {shown}"
    try:
        st = os.stat(path)
    except OSError:
        return f"data pool {name!r}: no file {shown}", "paths resolve from the scenario's folder"
    if not stat.S_ISREG(st.st_mode):
        return f"{what} is not a file", "name a CSV, JSON, NDJSON or .xlsx file of real values"
    suffix = path.suffix.lower()
    if suffix not in POOL_SUFFIXES:
        return (f"{what} is not a data file ({suffix or 'no suffix'}); pools are read from "
                + ", ".join(POOL_SUFFIXES), "export the values as CSV (UTF-8 or GB18030) or JSON")
    try:
        with open(path, "rb") as f:
            head = f.read(_PEEK_BYTES)
    except OSError as exc:
        return f"{what} cannot be read: {exc.strerror}", ""
    if not head.strip():
        return f"{what} is empty", "a pool needs at least one value"
    if suffix == ".xlsx":
        return None if head.startswith(b"PK\x03\x04") else (f"{what} is not an .xlsx workbook (not a ZIP file)",
                                                             "save it from Excel as .xlsx, or export CSV")
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"{what} holds binary data, not {suffix[1:].upper()} text", "export the values as CSV or JSON"
    text = _decode_head(head, len(head) < _PEEK_BYTES)
    if text is None:
        return f"{what} is neither UTF-8 nor GB18030 text", "save it as UTF-8"
    text = text.lstrip("\ufeff \t\r\n")
    if suffix == ".json" and not text.startswith("["):
        return f"{what} is not a JSON array", f'write an array of values, or of objects with a "{column}" key'
    if suffix == ".csv":
        header = next(csv.reader([text.splitlines()[0]]), []) if text else []
        if column not in [h.strip().lstrip("\ufeff") for h in header]:
            return f"data pool {name!r}: no column {column!r} in {shown}", "columns: " + ", ".join(header)
    return None


def _decode_head(head: bytes, final: bool) -> str | None:
    """The first bytes of a pool file as text, in the encodings the run reads (a cut last character is fine)."""
    encodings = ("utf-16",) if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else ("utf-8-sig", "gb18030")
    for encoding in encodings:
        try:
            return codecs.getincrementaldecoder(encoding)().decode(head, final=final)
        except UnicodeDecodeError:
            continue
    return None
