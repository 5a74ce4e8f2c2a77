"""Each OpenAPI operation as one interface of an interface spec: id, path, parameters, request and response."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvptest.openapi.notes import Notes
from mvptest.openapi.params import ParameterWriter
from mvptest.openapi.request import request_body, response_part
from mvptest.openapi.schemas import SchemaConverter
from mvptest.openapi.source import Source

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SPEC_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}


@dataclass
class Operation:
    """One converted operation: the interface entry, its security headers and its response examples."""

    interface: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    examples: list[Any] = field(default_factory=list)


def interface_id(raw: str | None, method: str, path: str, taken: set[str]) -> str:
    """``findPetsByStatus`` -> ``find-pets-by-status``; without an operationId, the method and the path."""
    text = raw or f"{method} {path}"
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", text).lower()
    base = re.sub(r"[^a-z0-9_]+", "-", text).strip("-_") or method.lower()
    if not base[0].isalnum():
        base = "op-" + base
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name)
    return name


class OperationConverter:
    """Converts the operations of one document (its version, base path, security and media defaults)."""

    def __init__(self, source: Source, version: int, schemas: SchemaConverter, notes: Notes, base_path: str) -> None:
        self.source, self.version, self.schemas, self.notes = source, version, schemas, notes
        self.base_path = base_path
        self.version_label = str((source.data.get("info") or {}).get("version", "1.0"))
        self.taken: set[str] = set()
        doc = source.data
        self.security_schemes = (doc.get("securityDefinitions") if version == 2
                                 else (doc.get("components") or {}).get("securitySchemes")) or {}
        self.global_security = doc.get("security")
        self.produces = doc.get("produces") or []
        self.consumes = doc.get("consumes") or []

    def convert(self, path: str, method: str, op: dict[str, Any], item_params: list[Any],
                base: Path) -> Operation | None:
        where = f"{method.upper()} {path}" + (f" ({op['operationId']})" if op.get("operationId") else "")
        if method.upper() not in _SPEC_METHODS:
            self.notes.add(where, f"{method.upper()} is not a method an interface spec runs: not converted")
            return None
        params = ParameterWriter(self.schemas, self.version, self.notes, where)
        for raw in self._merged(item_params, op.get("parameters") or [], base, where):
            params.add(*raw)
        full = self._full_path(path, op, where)
        itf: dict[str, Any] = {"id": interface_id(op.get("operationId"), method, full, self.taken)}
        title = _title(op)
        if title:
            itf["title"] = title
        itf["version"] = self.version_label
        itf.update(method=method.upper(), path=full)
        if isinstance(op.get("description"), str) and op["description"].strip():
            itf["description"] = op["description"].strip()
        parameters = self._path_params(full, params.out, where)
        if parameters:
            itf["parameters"] = parameters
        request = request_body(self, op, params, base, where)
        if request:
            itf["request"] = request
        response, examples = response_part(self, op, method.upper(), base, where)
        itf["response"] = response
        if op.get("deprecated"):
            self.notes.add(where, "deprecated: converted like any other operation")
        for key in ("callbacks", "links"):
            if op.get(key):
                self.notes.add(where, f"{key} not converted (an interface spec describes one call)")
        return Operation(itf, self._headers(op, where), examples)

    def _merged(self, item_params: list[Any], op_params: list[Any], base: Path,
                where: str) -> list[tuple[dict[str, Any], Path]]:
        """Path-item parameters overridden by the operation's (same name and location), refs followed."""
        merged: dict[tuple[str, str], tuple[dict[str, Any], Path]] = {}
        for raw in [*item_params, *op_params]:
            node, node_base = self.source.deref(raw, base)
            if not isinstance(node, dict):
                self.notes.add(where, f"parameter {raw.get('$ref') if isinstance(raw, dict) else raw!r}: "
                                      "a remote $ref, not fetched: not converted")
                continue
            merged[(str(node.get("name")), str(node.get("in")))] = (node, node_base)
        return list(merged.values())

    def _full_path(self, path: str, op: dict[str, Any], where: str) -> str:
        if op.get("servers"):
            self.notes.add(where, "servers of the operation not converted: the document's base path is used")
        full = (self.base_path.rstrip("/") + "/" + path.lstrip("/")) if self.base_path else path
        return full if full.startswith("/") else "/" + full

    def _path_params(self, full: str, params: dict[str, Any], where: str) -> dict[str, Any]:
        """Every ``{name}`` of the template declared ``in: path``, and no path parameter the template lacks."""
        named = re.findall(r"{([^}]+)}", full)
        for name in named:
            if params.get(name, {}).get("in") != "path":
                params[name] = {"in": "path", "required": True, "schema": {"type": "string"}}
                self.notes.add(where, f"path parameter {name!r} is not declared: added as a string")
        for name in [n for n, p in params.items() if p["in"] == "path" and n not in named]:
            del params[name]
            self.notes.add(where, f"path parameter {name!r} is not in the path template: not converted")
        return params

    def _headers(self, op: dict[str, Any], where: str) -> dict[str, str]:
        """The security the operation needs, as headers filled from the environment."""
        requirements = op.get("security", self.global_security) or []
        headers: dict[str, str] = {}
        for requirement in requirements[:1]:  # the first alternative: any one of them authorises the call
            for name in requirement or {}:
                scheme = self.security_schemes.get(name)
                if not isinstance(scheme, dict):
                    self.notes.add(where, f"security scheme {name!r} is not defined: not converted")
                    continue
                header = security_header(name, scheme)
                if header is None:
                    self.notes.add(where, f"security scheme {name!r} ({scheme.get('type')}, in "
                                          f"{scheme.get('in', 'n/a')}) cannot be a header: not converted")
                else:
                    headers[header[0]] = header[1]
        if len(requirements) > 1:
            self.notes.add(where, "alternative security requirements: only the first is written as headers")
        return headers


def env_name(scheme: str) -> str:
    """A security scheme's name as an environment variable: ``petstore_auth`` -> ``PETSTORE_AUTH``."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", scheme)
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper() or "API_TOKEN"


def security_header(name: str, scheme: dict[str, Any]) -> tuple[str, str] | None:
    """(header, value with ``${ENV}``) for one security scheme, or None when it is not a header."""
    kind, var = scheme.get("type"), env_name(name)
    if kind == "apiKey":
        return (str(scheme.get("name")), f"${{{var}}}") if scheme.get("in") == "header" else None
    if kind == "basic" or (kind == "http" and str(scheme.get("scheme", "")).lower() == "basic"):
        return "Authorization", f"Basic ${{{var}_BASIC}}"
    if kind in ("http", "oauth2", "openIdConnect"):
        prefix = str(scheme.get("scheme") or "Bearer").capitalize() if kind == "http" else "Bearer"
        return "Authorization", f"{prefix} ${{{var}_TOKEN}}"
    return None


def _title(op: dict[str, Any]) -> str:
    summary = op.get("summary")
    if isinstance(summary, str) and summary.strip():
        return " ".join(summary.split())
    return ""
