"""OpenAPI parameters (path, query, header; Swagger 2.0 form fields) as interface spec parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mvptest.openapi.notes import Notes
from mvptest.openapi.schemas import SchemaConverter

# Swagger 2.0: the keys of a non-body parameter (and of its items) that are JSON Schema keywords
_SWAGGER_SCHEMA_KEYS = ("type", "format", "items", "default", "maximum", "exclusiveMaximum", "minimum",
                        "exclusiveMinimum", "maxLength", "minLength", "pattern", "maxItems", "minItems",
                        "uniqueItems", "enum", "multipleOf", "x-nullable")
_DEFAULT_STYLE = {"query": "form", "path": "simple", "header": "simple"}  # explode: true for form only


def swagger_schema(param: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema a Swagger 2.0 parameter (or items object) describes with its own keys."""
    out = {k: param[k] for k in _SWAGGER_SCHEMA_KEYS if k in param}
    if isinstance(out.get("items"), dict):
        out["items"] = swagger_schema(out["items"])
    return out


class ParameterWriter:
    """Collects an operation's parameters into the spec's ``parameters`` mapping, listing what it cannot keep."""

    def __init__(self, schemas: SchemaConverter, version: int, notes: Notes, where: str) -> None:
        self.schemas, self.version, self.notes, self.where = schemas, version, notes, where
        self.out: dict[str, dict[str, Any]] = {}
        self.form: dict[str, Any] = {}  # Swagger 2.0 formData fields, the request body's properties
        self.form_required: list[str] = []
        self.body: dict[str, Any] | None = None  # Swagger 2.0 in: body

    def add(self, param: dict[str, Any], base: Path) -> None:
        name, location = str(param.get("name", "")), param.get("in")
        where = f"{self.where} parameter {name!r}"
        if location == "body":
            self.body = param
            return
        if self.version == 2:
            schema: Any = swagger_schema(param)
        else:
            schema = param.get("schema")
            if schema is None and isinstance(param.get("content"), dict) and param["content"]:
                media, obj = next(iter(param["content"].items()))
                schema = (obj or {}).get("schema")
                self.notes.add(where, f"serialised as {media} (content): mvptest sends the value as text")
        converted = self.schemas.convert(schema if schema is not None else {}, base, where)
        if location == "formData":
            self.form[name] = converted
            if param.get("required"):
                self.form_required.append(name)
            return
        if location not in ("path", "query", "header"):
            self.notes.add(where, f"in: {location} parameters are not part of an interface spec: not converted")
            return
        if name in self.out:
            self.notes.add(where, f"a second parameter named {name!r} (in: {location}): not converted")
            return
        self._style(param, location, converted, where)
        for key in ("allowEmptyValue", "allowReserved", "deprecated"):
            if param.get(key):
                self.notes.add(where, f"{key}: true not converted (no such key in an interface spec)")
        self.out[name] = self._entry(param, location, converted)

    def _entry(self, param: dict[str, Any], location: str, schema: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {"in": location}
        if param.get("required") or location == "path":
            entry["required"] = True
        if isinstance(param.get("description"), str) and param["description"].strip():
            entry["description"] = param["description"].strip()
        entry["schema"] = schema
        example = _example(param)
        if example is not None:
            entry["example"] = example
        return entry

    def _style(self, param: dict[str, Any], location: str, schema: Any, where: str) -> None:
        """Arrays and objects: how the document serialises them, which an interface spec cannot say yet."""
        types = schema.get("type") if isinstance(schema, dict) else None
        kinds = set(types) if isinstance(types, list) else {types}
        if not kinds & {"array", "object"}:
            return
        if self.version == 2:
            how = f"collectionFormat {param.get('collectionFormat', 'csv')}"
        else:
            style = param.get("style", _DEFAULT_STYLE.get(location, "form"))
            how = f"style {style}, explode {str(param.get('explode', style == 'form')).lower()}"
        self.notes.add(where, f"{how} not converted (an interface spec has no serialisation key; mvptest sends "
                              "arrays and objects as JSON text)")


def _example(param: dict[str, Any]) -> Any:
    for key in ("example", "x-example"):
        if key in param:
            return param[key]
    examples = param.get("examples")
    if isinstance(examples, dict) and examples:
        first = next(iter(examples.values()))
        if isinstance(first, dict) and "value" in first:
            return first["value"]
    return None
