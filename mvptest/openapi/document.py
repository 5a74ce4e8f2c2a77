"""One OpenAPI 3.0/3.1 or Swagger 2.0 document, converted in memory into an interface spec and its schemas."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mvptest.errors import InputError
from mvptest.openapi.notes import Notes
from mvptest.openapi.operations import METHODS, Operation, OperationConverter
from mvptest.openapi.request import NO_BODY
from mvptest.openapi.schemas import SchemaConverter
from mvptest.openapi.source import Source
from mvptest.spec.loader import display_path

TARGETS = {"success_rate": 0.999, "latency_ms": {"p95": 100}}


@dataclass
class Imported:
    """What an import produces before anything is written."""

    name: str  # the spec's file stem
    spec: dict[str, Any]
    schemas: dict[str, Any]
    operations: list[Operation]
    notes: Notes
    source: str
    title: str = ""
    version_label: str = ""
    headers: dict[str, str] = field(default_factory=dict)


def document_version(data: Any, path: Path) -> int:
    """2, 30 or 31; bad input naming the file when it is not an OpenAPI or Swagger document."""
    where = display_path(path)
    if isinstance(data, dict) and str(data.get("swagger", "")).startswith("2"):
        return 2
    if isinstance(data, dict) and isinstance(data.get("openapi"), str):
        m = re.match(r"3\.(\d+)", data["openapi"])
        if m:
            return 30 if m.group(1) == "0" else 31
        raise InputError(f"is OpenAPI {data['openapi']}, which mvptest does not import", where=where,
                         hint="mvptest imports OpenAPI 3.0, 3.1 and Swagger 2.0")
    if isinstance(data, dict) and "kind" in data:
        raise InputError("is an mvptest spec already (it has a 'kind'), not an OpenAPI document", where=where,
                         hint="check it with: mvptest spec check " + where)
    raise InputError("is not an OpenAPI or Swagger document (no top-level 'openapi: 3.x' or 'swagger: \"2.0\"')",
                     where=where, hint="give the OpenAPI 3.0/3.1 or Swagger 2.0 description of the interface")


def base_path(data: dict[str, Any], version: int, notes: Notes) -> str:
    """Swagger 2.0's basePath, or the path of the first server (its variables at their defaults)."""
    if version == 2:
        return str(data.get("basePath") or "").rstrip("/")
    servers = data.get("servers") or []
    if not servers or not isinstance(servers[0], dict):
        return ""
    url = str(servers[0].get("url", ""))
    for name, var in (servers[0].get("variables") or {}).items():
        url = url.replace("{" + name + "}", str((var or {}).get("default", "")))
    if len(servers) > 1:
        notes.add("servers", f"{len(servers) - 1} more server(s) not converted: paths start with the first's")
    return urlsplit(url).path.rstrip("/") if "://" in url else url.rstrip("/")


def spec_name(data: dict[str, Any], path: Path) -> str:
    title = str((data.get("info") or {}).get("title") or "")
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug or re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "interfaces"


def convert_document(path: Path, department: str) -> Imported:
    """Read ``path`` (and the files its $refs name) and convert every operation."""
    source = Source(path)
    data = source.data
    version = document_version(data, path)
    notes = Notes()
    schemas = SchemaConverter(source, version, notes)
    ops = OperationConverter(source, version, schemas, notes, base_path(data, version, notes))
    info = data.get("info") or {}
    converted = list(_operations(source, ops, notes))
    _document_notes(data, version, notes)
    where = display_path(path)
    if not converted:
        raise InputError("describes no operation mvptest can test (no paths with GET, POST, PUT, PATCH, DELETE "
                         "or HEAD)", where=where, hint="; ".join(notes.lines()[:3]) or "add paths to the document")
    label = f"{info.get('title', '')} {info.get('version', '')}".strip()
    spec: dict[str, Any] = {
        "kind": "interface",
        "department": {"id": department},
        "description": f"{label}: imported from {path.name} by mvptest import openapi".strip(),
        "targets": TARGETS,
        "interfaces": [op.interface for op in converted],
    }
    for op in converted:
        status = op.interface["response"]["status"]
        if status in NO_BODY:
            text = op.interface.get("description", "")
            op.interface["description"] = (text + "\n\n" if text else "") + f"Success: {status} without a body."
    headers: dict[str, str] = {}
    for op in converted:
        headers.update(op.headers)
    return Imported(spec_name(data, path), spec, schemas.files, converted, notes, where,
                    title=str(info.get("title", "")), version_label=label, headers=headers)


def _operations(source: Source, ops: OperationConverter, notes: Notes) -> Any:
    base = source.root
    for template, raw_item in (source.data.get("paths") or {}).items():
        item, item_base = source.deref(raw_item, base)
        if not isinstance(item, dict):
            notes.add(str(template), "path item: a remote $ref, not fetched: not converted")
            continue
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                converted = ops.convert(str(template), method, op, item.get("parameters") or [], item_base)
                if converted is not None:
                    yield converted


def _document_notes(data: dict[str, Any], version: int, notes: Notes) -> None:
    if data.get("webhooks"):
        notes.add("webhooks", f"{len(data['webhooks'])} webhook(s) not converted (calls the provider makes, "
                              "not calls to it)")
    if version == 2 and data.get("host"):
        notes.add("host", f"host {data['host']} not converted: give the provider's URL with run --target")
    if version != 2 and (data.get("servers") or [{}])[0].get("url", "").find("://") > 0:
        notes.add("servers", f"server {data['servers'][0]['url']} not converted: give it with run --target")
