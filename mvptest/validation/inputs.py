"""Opening a data argument (file, pipe or ``-``) within limits, and telling its format and encoding from its head."""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mvptest.errors import InputError
from mvptest.spec.loader import display_path
from mvptest.validation.coerce import Coercer, coerce_text, put_value

__all__ = ["Coercer", "coerce_text", "put_value"]  # re-exported: cells are coerced in validation/coerce.py

SAMPLE_BYTES = 64 * 1024
CHUNK = 1 << 20
STDIN = "-"
MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """What one data file may hold before it is refused (or a record counted invalid); each has a validate option."""

    record_bytes: int = 16 * MiB  # one line, record, row or JSON element (--max-record-size)
    depth: int = 256  # JSON nesting (--max-depth)
    rows: int = 1_048_576  # .xlsx rows, Excel's own maximum (--max-rows)
    columns: int = 1_024  # .xlsx columns (--max-columns)
    shared_strings: int = 500_000  # .xlsx distinct strings, counted before they are loaded (--max-shared-strings)
    zip_ratio: float = 100.0  # uncompressed/compressed size of any .xlsx part over 16 MiB (--max-zip-ratio)
    unzipped_bytes: int = 4096 * MiB  # all parts of an .xlsx together, uncompressed
    spool_bytes: int = 1024 * MiB  # an .xlsx read from a pipe is copied to a temporary file up to this size


DEFAULT_LIMITS = Limits()
ZIP_RATIO_MIN_BYTES = 16 * MiB


def human_size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" or n == int(n) else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n} GiB"  # pragma: no cover


_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$", re.I)


def parse_size(text: str) -> int:
    """Bytes from 16MiB, 512k, 1G, 1048576 (units are binary: k = 1024)."""
    m = _SIZE_RE.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a size; write e.g. 16MiB, 512KiB or 1048576")
    unit = (m.group(2) or "b").lower()[:1]
    return int(float(m.group(1)) * {"b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit])


@dataclass(frozen=True)
class Unparsable:
    """A line or row that is not a record at all (kind parse), too large (size) or nested too deep (depth)."""

    message: str
    kind: str = "parse"
    raw: str = ""


def label_for(path: Path) -> str:
    return "<stdin>" if str(path) == STDIN else display_path(path)


# --------------------------------------------------------------------------- opening: files, pipes, standard input


class _Replay(io.RawIOBase):
    """The peeked head again, then the rest of the stream: format detection never needs to seek."""

    def __init__(self, head: bytes, f: Any) -> None:
        self._head = memoryview(head)
        self._f = f
        self._read_into = getattr(f, "readinto1", None) or f.readinto
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if len(self._head):
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
        else:
            n = self._read_into(b) or 0
        self.done += n
        return n


class DataInput:
    """One data argument opened once: a file, a pipe (/dev/stdin, <(...)) or ``-``; devices and folders refused."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = label_for(path)
        self.regular = False
        self.size = 0
        self._f = self._open()
        try:
            self.head = self._peek()
        except OSError as exc:
            self.close()
            raise InputError(f"cannot be read: {exc.strerror or exc}", where=self.label,
                             hint="check the file's permissions (ls -l); a file on a network share may be offline") from None
        self._replay = _Replay(self.head, self._f)
        self.stream = io.BufferedReader(self._replay, buffer_size=SAMPLE_BYTES)

    @property
    def bytes_read(self) -> int:
        return self._replay.done

    @property
    def suffix(self) -> str:
        return "" if str(self.path) == STDIN else self.path.suffix.lower()

    def _open(self) -> Any:
        if str(self.path) == STDIN:
            return self._stdin()
        try:
            st = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            raise InputError("no such file", where=self.label,
                             hint="check the path (relative paths start from the current folder)") from None
        except OSError as exc:
            raise InputError(f"cannot be read: {exc.strerror}", where=self.label,
                             hint="check the file's permissions (ls -l); a file on a network share may be offline") from None
        self._check_mode(st.st_mode)
        self.regular = stat.S_ISREG(st.st_mode)
        self.size = st.st_size if self.regular else 0
        try:
            return open(self.path, "rb", buffering=0)
        except OSError as exc:
            raise InputError(f"cannot be read: {exc.strerror}", where=self.label,
                             hint="check the file's permissions (ls -l); a file on a network share may be offline") from None

    def _stdin(self) -> Any:
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:
            raise InputError("standard input is closed", where=self.label,
                             hint="pipe the data in: mvptest validate - < export.ndjson")
        try:
            fd = stdin.fileno()
        except (OSError, ValueError):
            return stdin  # not a real descriptor (an embedding or a test harness): read it as a stream
        if os.isatty(fd):
            raise InputError("standard input is a terminal, not data", where=self.label,
                             hint="pipe the data in: cat export.ndjson | mvptest validate - ...")
        st = os.fstat(fd)
        self._check_mode(st.st_mode)
        self.regular = stat.S_ISREG(st.st_mode)
        return stdin

    def _check_mode(self, mode: int) -> None:
        if stat.S_ISDIR(mode):
            raise InputError("is a directory, expected a data file", where=self.label,
                             hint="name the files inside it, e.g. DIR/*.csv")
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            raise InputError("is a device, not a data file", where=self.label,
                             hint="give a data file, a pipe, or - for standard input")

    def _peek(self) -> bytes:
        read_into = getattr(self._f, "readinto1", None) or self._f.readinto
        buf = bytearray(SAMPLE_BYTES)
        view = memoryview(buf)
        got = 0
        while got < SAMPLE_BYTES:
            n = read_into(view[got:])
            if not n:
                break
            got += n
        view.release()
        return bytes(buf[:got])

    def close(self) -> None:
        f = self._f
        if f is not None and str(self.path) != STDIN:
            f.close()
        self._f = None


# --------------------------------------------------------------------------- format and encoding, from the peeked head

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def detect_kind(data: DataInput) -> str:
    """ndjson, json, csv or xlsx: by suffix, then by the first bytes."""
    suffix, head = data.suffix, data.head
    if head.startswith(_OLE_MAGIC):
        if suffix == ".xls":
            raise InputError("is an old binary Excel file (.xls), which mvptest does not read", where=data.label,
                             hint="save it as .xlsx or CSV in Excel")
        raise InputError("is a password-protected (encrypted) workbook or an old .xls file, not an .xlsx",
                         where=data.label, hint="remove the password and save it as .xlsx or CSV in Excel")
    if suffix == ".xls":
        raise InputError("is an old binary Excel file (.xls), which mvptest does not read", where=data.label,
                         hint="save it as .xlsx or CSV in Excel")
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix in (".xlsx", ".xlsm") or head.startswith(b"PK"):
        return "xlsx"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    first = stripped[:1]
    if first == b"[":
        return "json"
    if first == b"{":
        if b"\n" not in stripped.rstrip(b"\r\n") and len(head) == SAMPLE_BYTES:
            return "ndjson"  # one line longer than the sample: NDJSON (a pretty-printed object has line breaks)
        return "ndjson" if _first_line_is_json(stripped) else "json"
    if suffix == ".json":
        return "json"
    return "csv"


def _first_line_is_json(head: bytes) -> bool:
    line = head.split(b"\n", 1)[0]
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def check_json_encoding(data: DataInput) -> None:
    """JSON is UTF-8 (RFC 8259): UTF-16 or binary data is refused up front instead of failing on every line."""
    head = data.head
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError("is UTF-16 text; JSON and NDJSON data must be UTF-8", where=data.label,
                         hint="convert it: iconv -f UTF-16 -t UTF-8 FILE > FILE.utf8")
    refuse_nul_head(data)


def refuse_nul_head(data: DataInput) -> None:
    start = data.head[:4096]
    if start.count(b"\x00") * 10 > len(start):  # UTF-16 without a BOM, or binary; a stray NUL is one bad row
        raise InputError("contains NUL bytes near its start: it is binary, or UTF-16 text without a byte-order mark",
                         where=data.label, hint="export the data as UTF-8 (or GB18030) text")


def encoding_of(head: bytes, label: str) -> str:
    """utf-8-sig when there is a BOM; utf-8 when the first 64 KiB decode as UTF-8; else gb18030 (Excel, zh-CN)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for name in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(name)().decode(head, final=len(head) < SAMPLE_BYTES)
            return name
        except UnicodeDecodeError:
            pass
    raise InputError("is neither UTF-8 nor GB18030 text", where=label, hint="name the encoding with --encoding")


def detect_encoding(path: Path) -> str:
    """The encoding of a text file from its first 64 KiB (see ``encoding_of``)."""
    data = DataInput(path)
    try:
        return encoding_of(data.head, data.label)
    finally:
        data.close()
