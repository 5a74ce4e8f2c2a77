"""OpenAPI 3.0 / Swagger 2.0 schema objects to JSON Schema 2020-12, each named schema bundled as its own file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mvptest import formats
from mvptest.errors import Location
from mvptest.openapi.notes import Notes
from mvptest.openapi.source import Source, Target

_ONE = ("items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames",
        "unevaluatedItems", "unevaluatedProperties", "additionalItems")
_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
# OpenAPI's own formats: not in mvptest's catalogue, kept as an annotation (spec check rejects unknown formats)
_ANNOTATION = "x-openapi-format"
_EXTRA = {"byte": {"contentEncoding": "base64"}, "binary": {"contentMediaType": "application/octet-stream"}}
SCHEMA_DIR = "schemas/"


def safe_name(raw: str) -> str:
    """A definition name as a file and ref name: ``Result«EnterpriseVO»`` -> ``Result_EnterpriseVO``."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("._-")
    return name if re.search(r"[A-Za-z0-9]", name) else ""


class SchemaConverter:
    """Converts schema objects; each ``$ref`` target becomes one file under schemas/ (``files``)."""

    def __init__(self, source: Source, version: int, notes: Notes) -> None:
        self.source, self.version, self.notes = source, version, notes
        self.known = formats.known_names()
        self.names: dict[Target, str] = {}
        self.files: dict[str, Any] = {}
        self._taken: set[str] = set()

    # ------------------------------------------------------------------ refs

    def ref(self, ref: str, base: Path, where: str, at: Location | None = None) -> dict[str, Any]:
        """``{"$ref": "schemas/Name.json"}`` for a local ref, converting its target once; a remote ref is listed."""
        target = self.source.target(ref, base)
        if target is None:
            self.notes.add(where, f"remote $ref {ref} not fetched (mvptest never fetches a URL): any value accepted")
            return {"x-openapi-unresolved-ref": ref}
        name = self.names.get(target)
        if name is None:
            name = self.names[target] = self._new_name(target)
            self.files[name] = True  # a placeholder while converting: a recursive ref finds the name
            node = self.source.get(target, where=at)
            self.files[name] = self.convert(node, target.path, f"schema {name}")
        return {"$ref": f"{SCHEMA_DIR}{name}.json"}

    def _new_name(self, target: Target) -> str:
        tokens = [t for t in target.pointer.split("/") if t]
        raw = tokens[-1] if tokens else target.path.stem
        if len(tokens) > 2 and tokens[:2] != ["components", "schemas"]:
            raw = "-".join(tokens[-2:])
        base = safe_name(raw.replace("~1", "/").replace("~0", "~")) or "schema"
        name, n = base, 1
        while name.lower() in self._taken:
            n += 1
            name = f"{base}-{n}"
        self._taken.add(name.lower())
        if name != raw:
            self.notes.add(f"schema {raw}", f"written as schemas/{name}.json (a valid file and $ref name)")
        return name

    # ------------------------------------------------------------------ schemas

    def convert(self, node: Any, base: Path, where: str) -> Any:
        """One schema object, converted; ``where`` names it in the notes."""
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("$ref"), str):
            out = self.ref(node["$ref"], base, where)
            if self.version < 31:
                return out  # OpenAPI 3.0 and Swagger 2.0 ignore the siblings of $ref
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**out, **self._keywords(rest, base, where)} if rest else out
        return self._keywords(node, base, where)

    def _keywords(self, node: dict[str, Any], base: Path, where: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        nullable = False
        for key, value in node.items():
            if key in _ONE and isinstance(value, dict):
                out[key] = self.convert(value, base, where)
            elif key in _MAPS and isinstance(value, dict):
                out[key] = {k: self.convert(v, base, f"{where}/{k}" if key == "properties" else where)
                            for k, v in value.items()}
            elif key in _LISTS and isinstance(value, list):
                out[key] = [self.convert(v, base, where) for v in value]
            elif key in ("nullable", "x-nullable") and self.version < 31:
                nullable = value is True
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
                self._exclusive(node, out, key, value)
            elif key in ("example", "x-example"):
                out.setdefault("examples", [value])
            elif key == "required" and not isinstance(value, list):
                self.notes.add(where, f"required: {value!r} inside a schema is not JSON Schema: dropped")
            else:
                out.setdefault(key, value)
        self._format(out, where)
        if out.get("type") == "file":
            out["type"] = "string"
            out.setdefault("contentMediaType", "application/octet-stream")
            self.notes.count("type: file written as a string with contentMediaType application/octet-stream")
        return _nullable(out) if nullable else out

    def _exclusive(self, node: dict[str, Any], out: dict[str, Any], key: str, value: bool) -> None:
        bound = "minimum" if key == "exclusiveMinimum" else "maximum"
        if value and isinstance(node.get(bound), (int, float)):
            out[key] = node[bound]
            out["__drop_" + bound] = True
            self.notes.count(f"boolean {key} turned into the number of {bound}")

    def _format(self, out: dict[str, Any], where: str) -> None:
        for bound in ("minimum", "maximum"):
            if out.pop("__drop_" + bound, False):
                out.pop(bound, None)
        fmt = out.get("format")
        if not isinstance(fmt, str) or fmt in self.known:
            return
        del out["format"]
        out[_ANNOTATION] = fmt
        for k, v in _EXTRA.get(fmt, {}).items():
            out.setdefault(k, v)
        self.notes.count(f"format {fmt!r} kept as the annotation {_ANNOTATION} (not a format mvptest checks)")


def _nullable(out: dict[str, Any]) -> dict[str, Any]:
    """``nullable: true``: null joins the types (and the enum); a schema without a type is wrapped in anyOf."""
    t = out.get("type")
    if isinstance(t, str):
        out["type"] = [t, "null"] if t != "null" else t
    elif isinstance(t, list):
        out["type"] = t if "null" in t else [*t, "null"]
    else:
        return {"anyOf": [out, {"type": "null"}]}
    if isinstance(out.get("enum"), list) and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def local_refs(schema: Any) -> Any:
    """A schema as written into schemas/: its refs to siblings without the folder prefix."""
    if isinstance(schema, dict):
        return {k: (v[len(SCHEMA_DIR):] if k == "$ref" and isinstance(v, str) and v.startswith(SCHEMA_DIR)
                    else local_refs(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [local_refs(v) for v in schema]
    return schema
