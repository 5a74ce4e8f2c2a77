"""Table cells (CSV text, typed spreadsheet cells, query parameters) as the types their fields' schemas ask for."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

from mvptest.spec.pointer import child, put
from mvptest.spec.refs import BundledSchema

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
    kinds = {("integer" if isinstance(v, int) and not isinstance(v, bool) else "number" if isinstance(v, float) else "string")
             for v in enum}
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
        return lowered.get("/" + h.lower(), child("", h))

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


put_value = put  # the name the record builders and older callers use (spec/pointer.py put)
