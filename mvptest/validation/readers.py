"""Bounded streaming readers for data files: JSON arrays, NDJSON, CSV (UTF-8, UTF-8 with BOM, GB18030) and .xlsx."""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import json
import os
import re
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator

from mvptest.errors import InputError, Location
from mvptest.spec.loader import display_path
from mvptest.spec.refs import BundledSchema

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
            raise InputError(f"cannot be read: {exc.strerror or exc}", where=self.label) from None
        self._replay = _Replay(self.head, self._f)
        self.stream: BinaryIO = io.BufferedReader(self._replay, buffer_size=SAMPLE_BYTES)  # type: ignore[assignment]

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
            raise InputError("no such file", where=self.label, hint="check the path (relative paths start from the current folder)") from None
        except OSError as exc:
            raise InputError(f"cannot be read: {exc.strerror}", where=self.label) from None
        self._check_mode(st.st_mode)
        self.regular = stat.S_ISREG(st.st_mode)
        self.size = st.st_size if self.regular else 0
        try:
            return open(self.path, "rb", buffering=0)
        except OSError as exc:
            raise InputError(f"cannot be read: {exc.strerror}", where=self.label) from None

    def _stdin(self) -> Any:
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:
            raise InputError("standard input is closed", where=self.label, hint="pipe the data in: mvptest validate - < export.ndjson")
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
            raise InputError("is a directory, expected a data file", where=self.label, hint="name the files inside it, e.g. DIR/*.csv")
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
    _refuse_nul_head(data)


def _refuse_nul_head(data: DataInput) -> None:
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


# --------------------------------------------------------------------------- bounded lines and depth


class Oversized(int):
    """Stands for a line longer than the limit in a batch of lines: its length, never its bytes."""


def line_batches(read: Callable[[int], bytes], limit: int, chunk: int = CHUNK) -> Iterator[list[Any]]:
    """Lines (bytes, without the newline) in batches; a line over ``limit`` bytes is skipped, not held, and
    appears as ``Oversized(length)``. Memory stays below ``limit`` + ``chunk`` whatever the input."""
    pending: list[bytes] = []  # the start of a line that continues in the next chunk, in pieces (no quadratic joins)
    held = 0
    skipping = -1  # >= 0 while dropping an over-long line: its length so far
    while True:
        data = read(chunk)
        if not data:
            break
        batch: list[Any] = []
        if skipping >= 0:
            i = data.find(b"\n")
            if i < 0:
                skipping += len(data)
                continue
            batch.append(Oversized(skipping + i))
            skipping = -1
            data = data[i + 1:]
        parts = data.split(b"\n")
        if len(parts) == 1:  # no line ends in this chunk
            held += len(data)
            if held > limit:
                skipping, pending, held = held, [], 0
            elif data:
                pending.append(data)
            if batch:
                yield batch
            continue
        if pending:
            pending.append(parts[0])
            parts[0] = b"".join(pending)
            pending = []
        tail = parts.pop()
        held = len(tail)
        if tail:
            pending = [tail]
        if max(map(len, parts)) > limit:
            parts = [Oversized(len(p)) if len(p) > limit else p for p in parts]
        if held > limit:
            skipping, pending, held = held, [], 0
        if batch:
            batch.extend(parts)
            parts = batch
        yield parts
    if skipping >= 0:
        yield [Oversized(skipping)]
    elif pending:
        yield [b"".join(pending)]


def deeper_than(value: Any, limit: int) -> bool:
    """True when ``value`` nests more than ``limit`` arrays/objects; iterative, so any depth is safe."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if type(node) is dict else node if type(node) is list else ()
        stack.extend((c, depth + 1) for c in children if type(c) in (dict, list))
    return False


def might_be_deeper(line: bytes, limit: int) -> bool:
    """A cheap bound: a line with at most ``limit`` brackets cannot nest deeper than ``limit``."""
    return line.count(b"[") + line.count(b"{") > limit


def oversized(size: int, limits: Limits) -> Unparsable:
    return Unparsable(f"record of {human_size(size)} is over the {human_size(limits.record_bytes)} limit (--max-record-size)", "size")


def too_deep(limits: Limits) -> Unparsable:
    return Unparsable(f"nested deeper than {limits.depth} levels (--max-depth)", "depth")


BLANK = Unparsable("a blank line", "blank")


def parse_line(line: Any, limits: Limits) -> Any:
    """One NDJSON line as a value, or Unparsable; BLANK for a blank line."""
    import orjson

    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        if type(line) is Oversized:
            return oversized(line, limits)
        if not line.strip():
            return BLANK
        if "depth limit" in str(exc):
            return too_deep(limits)
        return Unparsable(f"not JSON: {str(exc).split(':')[0]}", raw=_raw_text(line))
    if might_be_deeper(line, limits.depth) and deeper_than(value, limits.depth):
        return too_deep(limits)
    return value


def _raw_text(line: bytes) -> str:
    return line[:80].decode("utf-8", errors="replace").strip()


# --------------------------------------------------------------------------- coercion of text cells by schema type

_INT_RE = re.compile(r"^[+-]?[0-9]+$")
_NUM_RE = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
_TRUE = {"true", "1", "是", "y", "yes"}
_FALSE = {"false", "0", "否", "n", "no"}


def _types(schema: Any) -> list[str]:
    if not isinstance(schema, dict):
        return []
    t = schema.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [str(x) for x in t]
    enum = schema.get("enum") or ([schema["const"]] if "const" in schema else [])
    kinds = {("integer" if isinstance(v, int) and not isinstance(v, bool) else "number" if isinstance(v, float) else "string") for v in enum}
    return sorted(kinds)


def coerce_text(text: str, schema: Any) -> Any:
    """A text value (CSV cell, query parameter) as the type its schema asks for; unchanged when it cannot be."""
    types = _types(schema)
    if "string" in types or not types:
        return text
    stripped = text.strip()
    if "integer" in types and _INT_RE.match(stripped):
        return int(stripped)
    if "number" in types and _NUM_RE.match(stripped):
        value = float(stripped)
        return int(value) if value.is_integer() and "." not in stripped and "e" not in stripped.lower() else value
    if "boolean" in types:
        if stripped.lower() in _TRUE:
            return True
        if stripped.lower() in _FALSE:
            return False
    if ("object" in types or "array" in types) and stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    if "null" in types and stripped.lower() == "null":
        return None
    return text  # left as text: the validator reports it, with the value as evidence


class Coercer:
    """Turns a table row (header -> cell) into a record, giving each cell the type its field's schema asks for."""

    def __init__(self, bundled: BundledSchema | None) -> None:
        self.fields: dict[str, Any] = dict(bundled.fields()) if bundled else {}
        self._titles = {
            str(s.get("title")): p for p, s in self.fields.items() if isinstance(s, dict) and s.get("title") and p.count("/") == 1
        }

    def pointer_for(self, header: str) -> str:
        h = header.strip()
        if h.startswith("/"):
            return h
        if "/" + h in self.fields:
            return "/" + h
        if h in self._titles:
            return self._titles[h]
        lowered = {p.lower(): p for p in self.fields if p.count("/") == 1}
        return lowered.get("/" + h.lower(), "/" + h.replace("~", "~0").replace("/", "~1"))

    def coerce_text(self, pointer: str, text: str) -> Any:
        return coerce_text(text, self.fields.get(pointer))

    def coerce_cell(self, pointer: str, value: Any) -> Any:
        """A typed spreadsheet cell: dates become the string form the field's format asks for."""
        schema = self.fields.get(pointer)
        types = _types(schema)
        fmt = schema.get("format") if isinstance(schema, dict) else None
        if isinstance(value, str):
            return self.coerce_text(pointer, value)
        if isinstance(value, datetime.datetime):
            if fmt == "date-compact":
                return value.strftime("%Y%m%d")
            if fmt == "date-time":
                return value.isoformat()
            if value.time() == datetime.time(0, 0):
                return value.date().isoformat()
            return value.isoformat(sep=" ")
        if isinstance(value, datetime.date):
            return value.strftime("%Y%m%d") if fmt == "date-compact" else value.isoformat()
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            if "string" in types:
                return str(int(value))
            if "integer" in types or not types:
                return int(value)
        if isinstance(value, int) and not isinstance(value, bool) and "string" in types:
            return str(value)
        return value

    def record(self, headers: list[str], pointers: list[str], cells: list[Any], *, typed: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for pointer, cell in zip(pointers, cells):
            if cell is None or cell == "":
                continue  # an empty cell is an absent field
            value = self.coerce_cell(pointer, cell) if typed else self.coerce_text(pointer, cell)
            put_value(out, pointer, value)
        return out


def put_value(out: dict[str, Any], pointer: str, value: Any) -> None:
    """Set the value at a JSON Pointer, creating the objects on the way."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    node = out
    for token in tokens[:-1]:
        nxt = node.get(token)
        if not isinstance(nxt, dict):
            nxt = node[token] = {}
        node = nxt
    node[tokens[-1]] = value


# --------------------------------------------------------------------------- record sources


class RecordSource:
    """One data input: yields (line or row number, record or Unparsable); ``position`` is the bytes read so far."""

    kind = ""

    def __init__(self, data: DataInput, limits: Limits) -> None:
        self.data = data
        self.path = data.path
        self.label = data.label
        self.size = data.size
        self.limits = limits
        self.encoding = ""

    @property
    def position(self) -> int:
        return self.data.bytes_read

    def close(self) -> None:
        self.data.close()

    def __iter__(self) -> Iterator[tuple[int | None, Any]]:  # pragma: no cover - interface
        raise NotImplementedError


class _ElementTooLarge(Exception):
    pass


class _CountingReader:
    """Hands ijson the stream and stops it when one array element grows past the record limit."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self.limit = limit
        self.since_item = 0

    def read(self, n: int = -1) -> bytes:
        if n == 0:
            return b""  # ijson asks for nothing to learn whether the stream gives bytes
        data = self._stream.read1(min(n, CHUNK) if n > 0 else CHUNK)
        self.since_item += len(data)
        if self.since_item > self.limit + 2 * CHUNK:
            raise _ElementTooLarge
        return data


class JsonArraySource(RecordSource):
    """A JSON array (streamed element by element with ijson), or a single JSON document (one record)."""

    kind = "json"

    def __iter__(self) -> Iterator[tuple[int | None, Any]]:
        check_json_encoding(self.data)
        self.encoding = "utf-8"
        stream = self.data.stream
        if self.data.head.startswith(codecs.BOM_UTF8):
            stream.read(3)
        if self.data.head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"[":
            yield 1, self._single(stream)
            return
        yield from self._array(stream)

    def _single(self, stream: BinaryIO) -> Any:
        import orjson

        text = stream.read(self.limits.record_bytes + 1)
        if len(text) > self.limits.record_bytes:
            return oversized(len(text) + _drain(stream), self.limits)
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            if "depth limit" in str(exc):
                return too_deep(self.limits)
            if not text.strip():
                raise InputError("is empty", where=self.label, hint="a JSON data file holds an array of records") from None
            raise InputError(f"is not valid JSON: {exc.msg}", where=Location(self.label, exc.lineno, exc.colno)) from None
        if might_be_deeper(text, self.limits.depth) and deeper_than(value, self.limits.depth):
            return too_deep(self.limits)
        return value

    def _array(self, stream: BinaryIO) -> Iterator[tuple[int | None, Any]]:
        import ijson

        reader = _CountingReader(stream, self.limits.record_bytes)
        index = 0
        try:
            for item in ijson.items(reader, "item", use_float=True):
                index += 1
                reader.since_item = 0
                if type(item) in (dict, list) and deeper_than(item, self.limits.depth):
                    yield index, too_deep(self.limits)
                else:
                    yield index, item
        except _ElementTooLarge:
            raise InputError(
                f"element {index + 1} of the array is larger than the {human_size(self.limits.record_bytes)} record limit",
                where=self.label, hint="raise --max-record-size, or write one record per line (NDJSON)",
            ) from None
        except (ijson.common.IncompleteJSONError, ijson.common.JSONError, UnicodeDecodeError) as exc:
            raise InputError(
                f"is not valid JSON after element {index}: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}",
                where=self.label,
                hint="a JSON file must be one array of records; for one record per line use .ndjson",
            ) from None


def _drain(stream: BinaryIO) -> int:
    """Read to the end without keeping anything; the number of bytes skipped."""
    n = 0
    while True:
        data = stream.read1(CHUNK)
        if not data:
            return n
        n += len(data)


class NdjsonSource(RecordSource):
    """One JSON value per line; blank lines are skipped. (The engine has a faster loop for the common case.)"""

    kind = "ndjson"

    def open_lines(self) -> Iterator[list[Any]]:
        """Batches of lines, the BOM dropped (see ``line_batches``)."""
        check_json_encoding(self.data)
        self.encoding = "utf-8"
        if self.data.head.startswith(codecs.BOM_UTF8):
            self.data.stream.read(3)
        return line_batches(self.data.stream.read1, self.limits.record_bytes)

    def __iter__(self) -> Iterator[tuple[int | None, Any]]:
        lineno = 0
        for batch in self.open_lines():
            for line in batch:
                lineno += 1
                value = parse_line(line, self.limits)
                if value is not BLANK:
                    yield lineno, value


class _TextLines:
    """Physical lines of a text stream, each at most the limit, decoded one by one (so a decoding error names its
    line); over-long lines and lines with NUL are replaced by an empty line and remembered, so the CSV reader's
    line numbers stay true and memory stays bounded."""

    def __init__(self, stream: BinaryIO, encoding: str, limit: int, label: str) -> None:
        self.stream = stream
        self.encoding = encoding
        self.decode = codecs.getincrementaldecoder(encoding)().decode
        self.limit = limit
        self.label = label
        self.number = 0
        self.bad: list[tuple[int, Unparsable]] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = self.stream.readline(self.limit + 1)
        if not raw:
            raise StopIteration
        self.number += 1
        if len(raw) > self.limit and not raw.endswith(b"\n"):
            size = len(raw)
            while True:
                rest = self.stream.readline(CHUNK)
                size += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            self.bad.append((self.number, Unparsable(
                f"line of {human_size(size)} is over the {human_size(self.limit)} limit (--max-record-size)", "size")))
            return "\n"
        try:
            line = self.decode(raw)
        except UnicodeDecodeError as exc:
            raise InputError(
                f"is not valid {self.encoding} on line {self.number}: {exc.reason}", where=Location(self.label, self.number),
                hint="name the file's encoding with --encoding (Excel in Chinese Windows saves CSV as gb18030)",
            ) from None
        if "\x00" in line:
            self.bad.append((self.number, Unparsable("contains a NUL character: a binary or UTF-16 row in a text file")))
            return "\n"
        return line


class _NoBadLines:
    number = 0
    bad: list[tuple[int, Unparsable]] = []


class CsvSource(RecordSource):
    kind = "csv"

    def __init__(self, data: DataInput, limits: Limits, coercer: Coercer, encoding: str | None) -> None:
        super().__init__(data, limits)
        self.coercer = coercer
        self.encoding = encoding or encoding_of(data.head, data.label)
        self.headers: list[str] = []

    def __iter__(self) -> Iterator[tuple[int | None, Any]]:
        try:
            info = codecs.lookup(self.encoding)
        except LookupError:
            raise InputError(f"unknown encoding {self.encoding!r}", where=self.label, hint="try utf-8, utf-8-sig or gb18030") from None
        if info.name == "utf-8" and self.data.head.startswith(codecs.BOM_UTF8):
            self.encoding = "utf-8-sig"  # the BOM is not part of the first header
        csv.field_size_limit(max(self.limits.record_bytes, 131072))
        if info.name.startswith("utf-16"):  # a newline byte may sit inside a character: decode as a whole
            text: Any = io.TextIOWrapper(self.data.stream, encoding=self.encoding, newline="")
            yield from self._rows(csv.reader(text, self._dialect(), strict=True), _NoBadLines())
            return
        _refuse_nul_head(self.data)
        lines = _TextLines(self.data.stream, self.encoding, self.limits.record_bytes, self.label)
        yield from self._rows(csv.reader(lines, self._dialect(), strict=True), lines)

    def _dialect(self) -> Any:
        sample = self.data.head.decode(self.encoding, errors="replace").lstrip("\ufeff")
        first_line = sample.splitlines()[0] if sample else ","
        try:
            return csv.Sniffer().sniff(first_line or ",", delimiters=",;\t|")
        except csv.Error:
            return csv.excel

    def _rows(self, reader: Any, lines: _TextLines) -> Iterator[tuple[int | None, Any]]:
        headers: list[str] | None = None
        while headers is None:
            try:
                headers = next(reader, None)
            except csv.Error as exc:
                raise InputError(f"has a header row that is not valid CSV: {exc}", where=Location(self.label, lines.number)) from None
            if headers is None:
                return
            if lines.bad:
                number, bad = lines.bad[0]
                raise InputError(f"has a header row that cannot be read: {bad.message}", where=Location(self.label, number))
            if not headers:
                headers = None  # blank lines before the header
        headers[0] = headers[0].lstrip("\ufeff")
        self.headers = headers
        pointers = [self.coercer.pointer_for(h) for h in headers]
        last = reader.line_num
        while True:
            try:
                row = next(reader, None)
            except csv.Error as exc:
                yield from self._flush(lines)
                why = str(exc)
                if "unexpected end of data" in why:
                    why = f"a quote opened on line {last + 1} is never closed"
                yield lines.number, Unparsable(f"not valid CSV: {why}")
                last = lines.number
                continue
            yield from self._flush(lines)
            if row is None:
                return
            first, last = last + 1, reader.line_num
            if not row or all(c == "" for c in row):
                continue
            if len(row) != len(headers):
                why = f"{len(row)} cells where the header has {len(headers)}"
                if any("\n" in c or "\r" in c for c in row) and last > first:
                    why += f"; a quote opened on line {first} is not closed before line {last}"
                yield last, Unparsable(why)
                continue
            yield last, self.coercer.record(headers, pointers, row, typed=False)

    @staticmethod
    def _flush(lines: _TextLines) -> Iterator[tuple[int | None, Any]]:
        while lines.bad:
            yield lines.bad.pop(0)


class XlsxSource(RecordSource):
    """An .xlsx sheet read in openpyxl's streaming mode, after its zip has been checked against the limits."""

    kind = "xlsx"

    def __init__(self, data: DataInput, limits: Limits, coercer: Coercer, sheet: str | None) -> None:
        super().__init__(data, limits)
        self.coercer = coercer
        self.sheet = sheet
        self.headers: list[str] = []

    def __iter__(self) -> Iterator[tuple[int | None, Any]]:
        if self.data.regular and str(self.path) != STDIN:
            yield from self._read(self.path)
            return
        with tempfile.NamedTemporaryFile(prefix="mvptest-", suffix=".xlsx") as tmp:
            self._spool(tmp)
            yield from self._read(Path(tmp.name))

    def _spool(self, tmp: Any) -> None:
        total = 0
        while True:
            data = self.data.stream.read1(CHUNK)
            if not data:
                break
            total += len(data)
            if total > self.limits.spool_bytes:
                raise InputError(f"is an .xlsx stream over {human_size(self.limits.spool_bytes)}", where=self.label,
                                 hint="give the workbook as a file, or export it as CSV")
            tmp.write(data)
        tmp.flush()

    def _read(self, path: Path) -> Iterator[tuple[int | None, Any]]:
        import zipfile

        import openpyxl

        try:
            with zipfile.ZipFile(path) as zf:
                check_xlsx_zip(zf, self.label, self.limits)
        except zipfile.BadZipFile:
            raise InputError("is not a readable .xlsx workbook (not a zip archive)", where=self.label,
                             hint="an .xlsx file is a zip archive; save the file again as .xlsx or CSV in Excel") from None
        except XLSX_ERRORS as exc:
            raise InputError(f"is not a readable .xlsx workbook ({type(exc).__name__})", where=self.label) from None
        _bound_openpyxl_dimension_scan()
        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except XLSX_ERRORS as exc:
            raise InputError(f"is not a readable .xlsx workbook ({type(exc).__name__})", where=self.label) from None
        try:
            ws = self._worksheet(wb)
            self.encoding = f"sheet {ws.title}"
            with ws._get_source() as part:  # the sheet's XML in the zip, before openpyxl builds any row of it
                check_sheet_rows(part, ws.title, self.label, self.limits)
            yield from self._rows(ws)
        except XLSX_ERRORS as exc:
            raise InputError(f"is not a readable .xlsx workbook ({type(exc).__name__} in the sheet)", where=self.label) from None
        finally:
            wb.close()

    def _worksheet(self, wb: Any) -> Any:
        if self.sheet is not None:
            if self.sheet not in wb.sheetnames:
                raise InputError(f"has no sheet {self.sheet!r}", where=self.label, hint="sheets: " + ", ".join(wb.sheetnames))
            return wb[self.sheet]
        if not wb.worksheets:
            raise InputError("has no worksheet", where=self.label)
        return wb.worksheets[0]

    def _rows(self, ws: Any) -> Iterator[tuple[int | None, Any]]:
        limits = self.limits
        # As the sheet declares them (openpyxl's max_row would read the whole sheet when there is no declaration).
        rows, cols = getattr(ws, "_max_row", None) or 0, getattr(ws, "_max_column", None) or 0
        if rows > limits.rows or cols > limits.columns:
            raise InputError(
                f"sheet {ws.title!r} declares {rows:,} rows and {cols:,} columns; the limits are {limits.rows:,} rows "
                f"(--max-rows) and {limits.columns:,} columns (--max-columns)", where=self.label,
                hint="raise the limit if the sheet is really that large, or delete the empty rows and columns in Excel")
        ws.reset_dimensions()  # read the rows that are there, not the declared box
        header_row = next(ws.iter_rows(max_row=1, values_only=True), None)
        if header_row is None:
            return
        headers = ["" if h is None else str(h) for h in header_row[: limits.columns + 1]]
        while headers and headers[-1] == "":
            headers.pop()
        if len(headers) > limits.columns:
            raise InputError(f"sheet {ws.title!r} has more than {limits.columns:,} header cells (--max-columns)", where=self.label)
        if not headers:
            return
        self.headers = headers
        pointers = [self.coercer.pointer_for(h) for h in headers]
        for number, row in enumerate(ws.iter_rows(min_row=2, max_col=len(headers), values_only=True), 2):
            if number > limits.rows:
                raise InputError(f"sheet {ws.title!r} has more than {limits.rows:,} rows (--max-rows)", where=self.label,
                                 hint="raise --max-rows if the sheet is really that large")
            if all(c is None or c == "" for c in row):
                continue
            yield number, self.coercer.record(headers, pointers, list(row), typed=True)


def _xlsx_errors() -> tuple[type[BaseException], ...]:
    """What openpyxl and zipfile raise on a damaged workbook (a damaged workbook is bad input, not a bug)."""
    import struct
    import zipfile
    import zlib

    return (zipfile.BadZipFile, zlib.error, struct.error, KeyError, OSError, ValueError, TypeError, SyntaxError,
            AttributeError, IndexError, EOFError, NotImplementedError, RuntimeError, AssertionError)


XLSX_ERRORS = _xlsx_errors()
_SI_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s>/]")
_ROW_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_SHEET_PART_RE = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.I)
_DIMENSION_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s[^>]*?ref=\"([A-Za-z]{1,3}[0-9]{1,7}(?::[A-Za-z]{1,3}[0-9]{1,7})?)\"")


def _bound_openpyxl_dimension_scan() -> None:
    """openpyxl 3.1 opens every read-only sheet by looking for its <dimension>; when a sheet has none it parses
    the whole sheet into memory (an .xlsx row bomb: gigabytes, minutes). Read the declaration from the sheet's
    first 64 KiB instead, where the schema puts it; without one, the size stays unknown, as openpyxl allows."""
    from openpyxl.utils.cell import range_boundaries
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    if getattr(ReadOnlyWorksheet._get_size, "_mvptest_bounded", False):
        return

    def _get_size(self: Any) -> None:
        with self._get_source() as src:
            head = src.read(SAMPLE_BYTES)
        m = _DIMENSION_RE.search(head)
        if m:
            ref = m.group(1).decode()
            bounds = range_boundaries(ref if ":" in ref else f"{ref}:{ref}")
            if None not in bounds:
                self._min_column, self._min_row, self._max_column, self._max_row = bounds

    _get_size._mvptest_bounded = True  # type: ignore[attr-defined]
    ReadOnlyWorksheet._get_size = _get_size


def check_xlsx_zip(zf: Any, label: str, limits: Limits) -> None:
    """Refuse, before anything is decompressed, what would not fit: encrypted parts, zip bombs, too many strings."""
    infos = zf.infolist()
    names = {i.filename for i in infos}
    if not any(n.lower().endswith("workbook.xml") for n in names):
        raise InputError("is a zip archive but not an .xlsx workbook (no xl/workbook.xml)", where=label,
                         hint="save the sheet as .xlsx or CSV in Excel")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise InputError(f"has an encrypted part ({info.filename})", where=label, hint="remove the password in Excel and save again")
        total += info.file_size
        if info.file_size > ZIP_RATIO_MIN_BYTES and info.file_size > limits.zip_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise InputError(
                f"part {info.filename} expands {ratio:,.0f} times ({human_size(info.compress_size)} to "
                f"{human_size(info.file_size)}), over the {limits.zip_ratio:g} limit: a zip bomb, or a sheet of empty rows",
                where=label, hint="raise --max-zip-ratio if the workbook is genuine")
    if total > limits.unzipped_bytes:
        raise InputError(f"expands to {human_size(total)}, over the {human_size(limits.unzipped_bytes)} limit", where=label,
                         hint="export the sheet as CSV")
    for info in infos:
        if _SHEET_PART_RE.match(info.filename):
            # Counted before openpyxl opens the workbook: it would take minutes (and gigabytes) to find too many.
            if _count_tags(zf, info, _ROW_RE, limits.rows) > limits.rows:
                raise InputError(f"sheet part {info.filename} has more than {limits.rows:,} rows (--max-rows)", where=label,
                                 hint="raise --max-rows if the sheet is really that large, or export it as CSV")
        if info.filename.lower().endswith("sharedstrings.xml"):
            count = _count_tags(zf, info, _SI_RE, limits.shared_strings)
            if count > limits.shared_strings:
                raise InputError(
                    f"holds more than {limits.shared_strings:,} shared strings ({info.filename}); openpyxl would load them "
                    "all into memory", where=label, hint="raise --max-shared-strings, or export the sheet as CSV")


SHEET_BLOCK = 64 * 1024


def check_sheet_rows(part: BinaryIO, title: str, label: str, limits: Limits) -> None:
    """Refuse the first row of a sheet with more cells than --max-columns or more bytes than --max-record-size, as
    soon as it passes the limit: one pass of expat over the sheet's XML, one block held. openpyxl's streaming
    reader builds each row whole, however wide (one row of 2,000,000 cells: 1.1 GB), so this runs before it."""
    from xml.parsers import expat

    parser = expat.ParserCreate()
    parser.ordered_attributes = True  # a list, cheaper than a dict: this runs once per element
    columns, record_bytes = limits.columns, limits.record_bytes
    depth, in_data, row, row_start, cells = 0, False, 0, -1, 0  # row_start: offset of the open row, -1 between rows

    def start(name: str, attrs: list[str]) -> None:
        nonlocal depth, in_data, row, row_start, cells
        depth += 1
        if row_start >= 0:
            if depth == 4:  # a cell, or anything else directly in the row: openpyxl holds it all
                cells += 1
                if cells > columns:
                    raise _too_wide(title, row, label, limits)
        elif depth == 3 and in_data:
            if _local(name) == "row":
                row = _row_number(attrs, row)
            row_start, cells = parser.CurrentByteIndex, 0
        elif depth == 2:
            in_data = _local(name) == "sheetData"

    def end(name: str) -> None:
        nonlocal depth, row_start
        if depth == 3 and row_start >= 0:
            if parser.CurrentByteIndex + len(name) + 3 - row_start > record_bytes:  # up to the end of </row>
                raise _too_large(title, row, label, limits)
            row_start = -1
        depth -= 1

    def doctype(*_: Any) -> None:
        raise InputError(f"sheet {title!r} has a DOCTYPE declaration, which no .xlsx sheet has (its entities could "
                         "expand without bound)", where=label, hint="save the workbook again in Excel")

    parser.StartElementHandler, parser.EndElementHandler, parser.StartDoctypeDeclHandler = start, end, doctype
    fed = 0
    try:
        while block := part.read(SHEET_BLOCK):
            parser.Parse(block, False)
            fed += len(block)
            if row_start >= 0 and fed - row_start > record_bytes:
                raise _too_large(title, row, label, limits)  # a row still open past the limit: a huge value or tag
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise InputError(f"is not a readable .xlsx workbook (the XML of sheet {title!r} is malformed: {exc})",
                         where=label, hint="save the workbook again in Excel, or export the sheet as CSV") from None


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _row_number(attrs: list[str], previous: int) -> int:
    """A <row>'s r attribute, or one more than the row before (as openpyxl numbers it)."""
    for key, value in zip(attrs[::2], attrs[1::2]):
        if key == "r" and value.isdigit():
            return int(value)
    return previous + 1


def _too_wide(title: str, row: int, label: str, limits: Limits) -> InputError:
    return InputError(
        f"sheet {title!r} row {row:,} has more than {limits.columns:,} cells; the limit is {limits.columns:,} columns "
        "(--max-columns)", where=label,
        hint="raise --max-columns if the rows are really that wide, or delete the unused columns in Excel")


def _too_large(title: str, row: int, label: str, limits: Limits) -> InputError:
    limit = human_size(limits.record_bytes)
    return InputError(
        f"sheet {title!r} row {row:,} takes more than {limit} of the sheet's XML; the limit is {limit} a row "
        "(--max-record-size)", where=label, hint="raise --max-record-size if the row is genuine, or export the sheet as CSV")


def _count_tags(zf: Any, info: Any, pattern: re.Pattern[bytes], limit: int) -> int:
    """How many elements ``pattern`` finds in a zip part, streamed; stops counting past ``limit``."""
    count, carry = 0, b""
    with zf.open(info) as part:
        while True:
            data = part.read(CHUNK)
            if not data:
                return count + len(pattern.findall(carry))
            block = carry + data
            count += len(pattern.findall(block))
            carry = block[-24:]
            count -= len(pattern.findall(carry))  # counted again with the next block
            if count > limit:
                return count


def open_source(path: Path, *, bundled: BundledSchema | None, encoding: str | None = None, sheet: str | None = None,
                limits: Limits = DEFAULT_LIMITS) -> RecordSource:
    """The reader for one data argument (file, pipe or ``-``); refuses what is not data with an InputError."""
    data = DataInput(path)
    try:
        kind = detect_kind(data)
    except InputError:
        data.close()
        raise
    if kind == "csv":
        return CsvSource(data, limits, Coercer(bundled), encoding)
    if kind == "xlsx":
        return XlsxSource(data, limits, Coercer(bundled), sheet)
    if kind == "ndjson":
        return NdjsonSource(data, limits)
    return JsonArraySource(data, limits)
