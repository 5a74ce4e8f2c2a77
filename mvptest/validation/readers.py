"""Streaming readers for data files: JSON arrays, NDJSON, CSV (UTF-8, UTF-8 with BOM, GB18030) and .xlsx."""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from mvptest.errors import InputError, Location
from mvptest.spec.loader import display_path
from mvptest.spec.refs import BundledSchema

SAMPLE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Unparsable:
    """A line or row that is not a record at all."""

    message: str


def detect_kind(path: Path) -> str:
    """ndjson, json, csv or xlsx: by suffix, then by the first bytes."""
    suffix = path.suffix.lower()
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".xls":
        raise InputError(
            "is an old binary Excel file (.xls), which mvptest does not read",
            where=display_path(path),
            hint="save it as .xlsx or CSV in Excel",
        )
    head = _head(path)
    if head.startswith(b"PK"):
        return "xlsx"
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first == b"[":
        return "json"
    if first == b"{":
        return "ndjson" if _first_line_is_json(head) else "json"
    if suffix == ".json":
        return "json"
    return "csv"


def _head(path: Path, n: int = SAMPLE_BYTES) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(n)
    except FileNotFoundError:
        raise InputError("no such file", where=display_path(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a data file", where=display_path(path)) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", where=display_path(path)) from None


def _first_line_is_json(head: bytes) -> bool:
    line = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """utf-8-sig when there is a BOM; utf-8 when the first 64 KiB decode as UTF-8; else gb18030 (Excel, zh-CN)."""
    head = _head(path)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < SAMPLE_BYTES)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=len(head) < SAMPLE_BYTES)
        return "gb18030"
    except UnicodeDecodeError:
        raise InputError(
            "is neither UTF-8 nor GB18030 text",
            where=display_path(path),
            hint="name the encoding with --encoding",
        ) from None


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
    """One data file: yields (line or row number, record or Unparsable); ``position`` is the bytes read so far."""

    kind = ""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.encoding = ""
        self._raw: BinaryIO | None = None

    @property
    def position(self) -> int:
        try:
            return self._raw.tell() if self._raw and not self._raw.closed else self.size
        except (OSError, ValueError):
            return self.size

    def __iter__(self) -> Iterator[tuple[int | None, Any]]:  # pragma: no cover - interface
        raise NotImplementedError


class JsonArraySource(RecordSource):
    """A JSON array (streamed element by element with ijson), or a single JSON object."""

    kind = "json"

    def __iter__(self) -> Iterator[tuple[int | None, Any]]:
        import ijson

        self.encoding = "utf-8"
        with self.path.open("rb") as raw:
            self._raw = raw
            if raw.read(3) != codecs.BOM_UTF8:
                raw.seek(0)
            first = _head(self.path).lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
            if first != b"[":
                text = raw.read().decode("utf-8", errors="replace")
                try:
                    yield 1, json.loads(text)
                except json.JSONDecodeError as exc:
                    raise InputError(f"is not valid JSON: {exc.msg}", where=Location(display_path(self.path), exc.lineno, exc.colno)) from None
                return
            index = 0
            try:
                for item in ijson.items(raw, "item", use_float=True):
                    index += 1
                    yield index, item
            except ijson.common.IncompleteJSONError as exc:
                raise InputError(
                    f"is not valid JSON after element {index}: {str(exc).splitlines()[0][:200]}",
                    where=display_path(self.path),
                    hint="a JSON file must be one array of records; for one record per line use .ndjson",
                ) from None


class NdjsonSource(RecordSource):
    """One JSON value per line; blank lines are skipped. (The engine has a faster loop for the common case.)"""

    kind = "ndjson"

    def __iter__(self) -> Iterator[tuple[int | None, Any]]:
        import orjson

        self.encoding = "utf-8"
        with self.path.open("rb") as raw:
            self._raw = raw
            for lineno, line in enumerate(raw, 1):
                if lineno == 1 and line.startswith(codecs.BOM_UTF8):
                    line = line[3:]
                try:
                    yield lineno, orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    if line.strip():
                        yield lineno, Unparsable(f"not JSON: {exc}")


class CsvSource(RecordSource):
    kind = "csv"

    def __init__(self, path: Path, coercer: Coercer, encoding: str | None) -> None:
        super().__init__(path)
        self.coercer = coercer
        self.encoding = encoding or detect_encoding(path)

    def __iter__(self) -> Iterator[tuple[int | None, Any]]:
        try:
            info = codecs.lookup(self.encoding)
        except LookupError:
            raise InputError(
                f"unknown encoding {self.encoding!r}", where=display_path(self.path),
                hint="try utf-8, utf-8-sig or gb18030",
            ) from None
        if info.name == "utf-8" and _head(self.path, 3) == codecs.BOM_UTF8:
            self.encoding = "utf-8-sig"  # the BOM is not part of the first header
        with self.path.open("rb") as raw:
            self._raw = raw
            text = io.TextIOWrapper(raw, encoding=self.encoding, newline="")
            line_num = 0
            try:
                first_line = text.readline()
                text.seek(0)
                dialect: Any = csv.excel
                try:
                    dialect = csv.Sniffer().sniff(first_line or ",", delimiters=",;\t|")
                except csv.Error:
                    pass
                reader = csv.reader(text, dialect)
                headers = next(reader, None)
                if headers is None:
                    return
                headers[0] = headers[0].lstrip("\ufeff")
                pointers = [self.coercer.pointer_for(h) for h in headers]
                for row in reader:
                    line = line_num = reader.line_num
                    if not row or all(c == "" for c in row):
                        continue
                    if len(row) != len(headers):
                        yield line, Unparsable(f"{len(row)} cells where the header has {len(headers)}")
                        continue
                    yield line, self.coercer.record(headers, pointers, row, typed=False)
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"is not valid {self.encoding} after line {line_num}: {exc.reason}",
                    where=Location(display_path(self.path), line_num + 1),
                    hint="name the file's encoding with --encoding (Excel in Chinese Windows saves CSV as gb18030)",
                ) from None
            except csv.Error as exc:
                raise InputError(f"is not valid CSV: {exc}", where=Location(display_path(self.path), line_num + 1)) from None


class XlsxSource(RecordSource):
    kind = "xlsx"

    def __init__(self, path: Path, coercer: Coercer, sheet: str | None) -> None:
        super().__init__(path)
        self.coercer = coercer
        self.sheet = sheet

    def __iter__(self) -> Iterator[tuple[int | None, Any]]:
        import zipfile

        import openpyxl

        try:
            wb = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise InputError(f"is not a readable .xlsx workbook ({type(exc).__name__})", where=display_path(self.path)) from None
        try:
            if self.sheet is not None:
                if self.sheet not in wb.sheetnames:
                    raise InputError(
                        f"has no sheet {self.sheet!r}",
                        where=display_path(self.path),
                        hint="sheets: " + ", ".join(wb.sheetnames),
                    )
                ws = wb[self.sheet]
            else:
                ws = wb.worksheets[0]
            self.encoding = f"sheet {ws.title}"
            rows = ws.iter_rows(values_only=True)
            headers_row = next(rows, None)
            if headers_row is None:
                return
            headers = ["" if h is None else str(h) for h in headers_row]
            while headers and headers[-1] == "":
                headers.pop()
            pointers = [self.coercer.pointer_for(h) for h in headers]
            for number, row in enumerate(rows, 2):
                cells = list(row[: len(headers)])
                if all(c is None or c == "" for c in cells):
                    continue
                yield number, self.coercer.record(headers, pointers, cells, typed=True)
        finally:
            wb.close()


def open_source(path: Path, *, bundled: BundledSchema | None, encoding: str | None = None, sheet: str | None = None) -> RecordSource:
    kind = detect_kind(path)
    if kind == "csv":
        return CsvSource(path, Coercer(bundled), encoding)
    if kind == "xlsx":
        return XlsxSource(path, Coercer(bundled), sheet)
    if kind == "ndjson":
        return NdjsonSource(path)
    return JsonArraySource(path)
