"""A schema as a table of fields (JSON Pointer -> the facts a comparison needs), through $ref, objects and arrays."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from mvptest.spec.refs import BundledSchema
from mvptest.spec.walk import nullable_branch, walk

_TYPE_ORDER = ("object", "array", "string", "number", "integer", "boolean", "null")


@dataclass
class FieldInfo:
    pointer: str  # /a/b, with * for array items
    schema: dict[str, Any]  # resolved, shallow (allOf merged)
    required: bool  # required by its parent object
    parent_required: bool = True  # every ancestor object is required (or the root)
    title: str = ""

    @property
    def types(self) -> set[str]:
        t = self.schema.get("type")
        if isinstance(t, str):
            return {t}
        if isinstance(t, list):
            return {str(x) for x in t}
        if "enum" in self.schema or "const" in self.schema:
            values = self.schema.get("enum") or [self.schema.get("const")]
            return {_json_type(v) for v in values}
        return set()

    @property
    def effectively_required(self) -> bool:
        return self.required and self.parent_required

    def get(self, key: str, default: Any = None) -> Any:
        return self.schema.get(key, default)

    def describe(self) -> str:
        """What this field is, in a few words: type, format, unit, enum, length, range, pattern."""
        parts = [" or ".join(sorted(self.types, key=_TYPE_ORDER.index)) or "any"]
        s = self.schema
        if s.get("format"):
            parts.append(f"format {s['format']}")
        if s.get("x-unit"):
            parts.append(f"in {s['x-unit']}")
        if "enum" in s:
            values = ", ".join(_short(v) for v in s["enum"][:8]) + (", ..." if len(s["enum"]) > 8 else "")
            parts.append(f"one of {values}")
        if "minLength" in s or "maxLength" in s:
            parts.append(f"length {s.get('minLength', 0)}..{s.get('maxLength', '')}")
        if "minimum" in s or "maximum" in s:
            parts.append(f"range {s.get('minimum', '')}..{s.get('maximum', '')}")
        if s.get("pattern"):
            parts.append(f"pattern {s['pattern']}")
        return ", ".join(parts)


def _short(v: Any) -> str:
    import json

    return f'"{v}"' if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def _json_type(v: Any) -> str:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if v is None:
        return "null"
    return "array" if isinstance(v, list) else "object"


def _merge_all_of(node: dict[str, Any], bundled: BundledSchema, base: str) -> dict[str, Any]:
    """One field's facts in one dict: its allOf branches merged in (its own keys first), a nullable anyOf/oneOf
    [X, {type: null}] read as X with null allowed."""
    out = {k: v for k, v in node.items() if k != "allOf"}
    for sub in node.get("allOf", []) if isinstance(node.get("allOf"), list) else []:
        sub, sub_base = bundled.resolve(sub, base)
        if isinstance(sub, dict):
            sub = _merge_all_of(sub, bundled, sub_base)
            for k, v in sub.items():
                if k == "properties" and isinstance(v, dict):
                    out.setdefault("properties", {})
                    out["properties"] = {**v, **out["properties"]}
                elif k == "required" and isinstance(v, list):
                    out["required"] = sorted(set(out.get("required", [])) | set(v))
                else:
                    out.setdefault(k, v)
    real = nullable_branch(bundled, node, base)
    if real is not None:
        for k, v in _merge_all_of(real[0], bundled, real[1]).items():
            out.setdefault(k, v)
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
        elif isinstance(t, list) and "null" not in t:
            out["type"] = [*t, "null"]
    return out


def field_table(bundled: BundledSchema, *, max_depth: int = 8) -> dict[str, FieldInfo]:
    """Every named field reachable through properties and items, with its resolved schema and whether it is required."""
    table: dict[str, FieldInfo] = {}
    for f in walk(bundled, max_depth=max_depth):
        resolved = _merge_all_of(f.schema if isinstance(f.schema, dict) else {}, bundled, f.base)
        table[f.pointer] = FieldInfo(f.pointer, resolved, f.required, f.parent_required, str(resolved.get("title", "")))
    return table


def leaf_fields(table: dict[str, FieldInfo]) -> list[FieldInfo]:
    """Fields that hold values (not objects that only group other fields)."""
    parents: set[str] = set()
    for p in table:
        parts = p.split("/")
        parents.update("/".join(parts[:i]) for i in range(2, len(parts)))
    return [f for p, f in table.items() if p not in parents or f.types - {"object", "array"}]


def clone_table(table: dict[str, FieldInfo]) -> dict[str, FieldInfo]:
    return {p: FieldInfo(f.pointer, copy.deepcopy(f.schema), f.required, f.parent_required, f.title) for p, f in table.items()}


@dataclass
class FieldRef:
    """Where a consumer field's value comes from at the provider."""

    consumer: str
    provider: str
    via: str = "same name"  # same name | from | adapter
    notes: list[str] = field(default_factory=list)
