"""Bounded streaming readers for data files: JSON arrays, NDJSON, CSV (UTF-8, UTF-8 with BOM, GB18030) and .xlsx."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mvptest.errors import InputError, Location
from mvptest.spec.refs import BundledSchema
from mvptest.validation.coerce import Coercer, coerce_text, put_value
from mvptest.validation.inputs import (
    CHUNK,
    DEFAULT_LIMITS,
    DataInput,
    Limits,
    Unparsable,
    check_json_encoding,
    detect_kind,
    encoding_of,
    human_size,
    parse_size,
    refuse_nul_head,
)

# the readers, and the names their callers import from here: inputs are opened in validation/inputs.py, cells
# coerced in validation/coerce.py, workbooks read in validation/xlsx.py
__all__ = [
    "BLANK",
    "CHUNK",
    "DEFAULT_LIMITS",
    "Coercer",
    "CsvSource",
    "DataInput",
    "JsonArraySource",
    "Limits",
    "NdjsonSource",
    "Oversized",
    "RecordSource",
    "Unparsable",
    "check_json_encoding",
    "coerce_text",
    "deeper_than",
    "detect_kind",
    "encoding_of",
    "human_size",
    "line_batches",
    "might_be_deeper",
    "open_source",
    "oversized",
    "parse_line",
    "parse_size",
    "put_value",
    "too_deep",
]

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
        parts: list[Any] = data.split(b"\n")  # bytes, and Oversized for a line over the limit
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
    return Unparsable(f"record of {human_size(size)} is over the {human_size(limits.record_bytes)} limit (--max-record-size)",
                      "size")


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

    def __init__(self, stream: io.BufferedReader[Any], limit: int) -> None:
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

    def _single(self, stream: io.BufferedReader[Any]) -> Any:
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
            raise InputError(f"is not valid JSON: {exc.msg}", where=Location(self.label, exc.lineno, exc.colno),
                             hint="check for a missing comma, quote or bracket there") from None
        if might_be_deeper(text, self.limits.depth) and deeper_than(value, self.limits.depth):
            return too_deep(self.limits)
        return value

    def _array(self, stream: io.BufferedReader[Any]) -> Iterator[tuple[int | None, Any]]:
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


def _drain(stream: io.BufferedReader[Any]) -> int:
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

    def __init__(self, stream: io.BufferedReader[Any], encoding: str, limit: int, label: str) -> None:
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
            raise InputError(f"unknown encoding {self.encoding!r}", where=self.label,
                             hint="try utf-8, utf-8-sig or gb18030") from None
        if info.name == "utf-8" and self.data.head.startswith(codecs.BOM_UTF8):
            self.encoding = "utf-8-sig"  # the BOM is not part of the first header
        csv.field_size_limit(max(self.limits.record_bytes, 131072))
        if info.name.startswith("utf-16"):  # a newline byte may sit inside a character: decode as a whole
            text: Any = io.TextIOWrapper(self.data.stream, encoding=self.encoding, newline="")
            yield from self._rows(csv.reader(text, self._dialect(), strict=True), _NoBadLines())
            return
        refuse_nul_head(self.data)
        lines = _TextLines(self.data.stream, self.encoding, self.limits.record_bytes, self.label)
        yield from self._rows(csv.reader(lines, self._dialect(), strict=True), lines)

    def _dialect(self) -> Any:
        sample = self.data.head.decode(self.encoding, errors="replace").lstrip("\ufeff")
        first_line = sample.splitlines()[0] if sample else ","
        try:
            return csv.Sniffer().sniff(first_line or ",", delimiters=",;\t|")
        except csv.Error:
            return csv.excel

    def _rows(self, reader: Any, lines: _TextLines | _NoBadLines) -> Iterator[tuple[int | None, Any]]:
        headers: list[str] | None = None
        while headers is None:
            try:
                headers = next(reader, None)
            except csv.Error as exc:
                raise InputError(f"has a header row that is not valid CSV: {exc}", where=Location(self.label, lines.number),
                                 hint="the first row names the columns; save the file as CSV (UTF-8 or GB18030)") from None
            if headers is None:
                return
            if lines.bad:
                number, bad = lines.bad[0]
                raise InputError(f"has a header row that cannot be read: {bad.message}", where=Location(self.label, number),
                                 hint="the first row names the columns; save the file as CSV (UTF-8 or GB18030)")
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
    def _flush(lines: _TextLines | _NoBadLines) -> Iterator[tuple[int | None, Any]]:
        while lines.bad:
            yield lines.bad.pop(0)


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
        from mvptest.validation.xlsx import XlsxSource  # openpyxl and the zip checks only for a workbook

        return XlsxSource(data, limits, Coercer(bundled), sheet)
    if kind == "ndjson":
        return NdjsonSource(data, limits)
    return JsonArraySource(data, limits)
