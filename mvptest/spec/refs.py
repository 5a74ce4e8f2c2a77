"""Resolve a schema's file ``$ref``s inside the spec tree into one self-contained compound schema."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urldefrag, urljoin, urlsplit

from mvptest.errors import InputError, Location, Problem
from mvptest.spec.loader import Document, display_path, load_document

# Keywords whose values are data, not schemas: a "$ref" inside them is not a reference.
_DATA_KEYWORDS = frozenset({"const", "enum", "examples", "default"})


@dataclass
class BundledSchema:
    """A compound schema (external files embedded under ``$defs`` by their file URI) and its resources."""

    schema: Any
    root_uri: str
    resources: dict[str, Any] = field(default_factory=dict)  # uri (no fragment) -> resource as written

    def resolve(self, node: Any, base_uri: str | None = None) -> tuple[Any, str]:
        """Follow ``$ref`` chains from ``node`` to the schema they name; returns (schema, its base URI)."""
        base = base_uri or self.root_uri
        seen = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            target = urljoin(base, node["$ref"])
            if target in seen:
                break
            seen.add(target)
            uri, fragment = urldefrag(target)
            resource = self.resources.get(uri)
            if resource is None:
                break
            found = _follow_pointer(resource, unquote(fragment))
            if found is _MISSING:
                break
            node, base = found, uri
        return node, base

    def fields(self, *, max_depth: int = 8) -> list[tuple[str, Any]]:
        """Every named field reachable through properties and items: (pointer with '*' for items, schema)."""
        out: list[tuple[str, Any]] = []

        def visit(node: Any, base: str, pointer: str, depth: int) -> None:
            node, base = self.resolve(node, base)
            if not isinstance(node, dict) or depth > max_depth:
                return
            for sub in node.get("allOf", []) if isinstance(node.get("allOf"), list) else []:
                visit(sub, base, pointer, depth + 1)
            props = node.get("properties")
            if isinstance(props, dict):
                for name, sub in props.items():
                    child = pointer + "/" + name.replace("~", "~0").replace("/", "~1")
                    resolved, _ = self.resolve(sub, base)
                    out.append((child, resolved))
                    visit(sub, base, child, depth + 1)
            items = node.get("items")
            if isinstance(items, dict):
                visit(items, base, pointer + "/*", depth + 1)

        visit(self.schema, self.root_uri, "", 0)
        return out

    def top_level_properties(self) -> dict[str, Any]:
        """The resolved schema of each top-level property."""
        return {p[1:]: s for p, s in self.fields(max_depth=0) if p.count("/") == 1}


_MISSING = object()


def _follow_pointer(data: Any, pointer: str) -> Any:
    if pointer in ("", "/"):
        return data if pointer == "" else (data.get("") if isinstance(data, dict) else _MISSING)
    if not pointer.startswith("/"):
        return _MISSING  # an anchor; not followed here
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(data, dict) and token in data:
            data = data[token]
        elif isinstance(data, list) and token.isdigit() and int(token) < len(data):
            data = data[int(token)]
        else:
            return _MISSING
    return data


_REF_SAFE = "/#:~%?&=@+$,;!*'()[]"


def encode_ref(ref: str) -> str:
    """A $ref as a valid URI reference: file names with spaces or Chinese characters are percent-encoded."""
    return quote(ref, safe=_REF_SAFE)


def _encode_refs(node: Any) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            node["$ref"] = encode_ref(ref)
        for key, value in node.items():
            if key not in _DATA_KEYWORDS:
                _encode_refs(value)
    elif isinstance(node, list):
        for item in node:
            _encode_refs(item)


def file_uri(path: Path) -> str:
    return path.resolve().as_uri()


class _Bundler:
    def __init__(self, root: Path, problems: list[Problem]) -> None:
        self.root = root.resolve()
        self.problems = problems
        self.resources: dict[str, Any] = {}
        self.documents: dict[str, Document] = {}

    def _load(self, path: Path, where: Location) -> Any:
        uri = file_uri(path)
        if uri in self.resources:
            return self.resources[uri]
        try:
            doc = load_document(path)
        except InputError as exc:
            self.problems.append(Problem(exc.where or where, f"$ref target {exc.message}", exc.hint))
            return _MISSING
        self.problems.extend(doc.problems)
        self.resources[uri] = doc.data
        self.documents[uri] = doc
        self._walk(doc.data, uri, doc, "")
        return doc.data

    def _walk(self, node: Any, base: str, doc: Document | None, pointer: str) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                self._check_ref(ref, base, doc, pointer + "/$ref")
            for key, value in node.items():
                if key in _DATA_KEYWORDS:
                    continue
                self._walk(value, base, doc, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                self._walk(item, base, doc, f"{pointer}/{i}")

    def _check_ref(self, ref: str, base: str, doc: Document | None, pointer: str) -> None:
        where = doc.locate(pointer) if doc else Location("<schema>")
        target = urljoin(base, encode_ref(ref))
        uri, fragment = urldefrag(target)
        scheme = urlsplit(uri).scheme
        if scheme != "file":
            self.problems.append(
                Problem(
                    where,
                    f"$ref {ref!r} points outside the spec tree to {uri}; mvptest never fetches schemas",
                    "copy the schema into the spec tree and refer to it by a relative path",
                )
            )
            return
        path = Path(unquote(urlsplit(uri).path))
        if not path.resolve().is_relative_to(self.root):
            self.problems.append(
                Problem(
                    where,
                    f"$ref {ref!r} leaves the spec tree ({display_path(self.root)})",
                    "keep referenced schemas under the spec's folder, or widen the tree with --spec-root",
                )
            )
            return
        if uri == base:
            resource = self.resources.get(uri, _MISSING)
        elif not path.is_file():
            self.problems.append(Problem(where, f"$ref {ref!r} does not resolve: no file {display_path(path)}", "check the relative path; it resolves from the file that contains the $ref"))
            return
        else:
            resource = self._load(path, where)
        if resource is _MISSING:
            return
        if fragment and _follow_pointer(resource, unquote(fragment)) is _MISSING:
            self.problems.append(Problem(where, f"$ref {ref!r} does not resolve: no {fragment!r} in {display_path(path)}", "check the JSON Pointer after '#'"))


def bundle_schema(
    schema: Any, *, document: Document, pointer: str, root: Path
) -> tuple[BundledSchema, list[Problem]]:
    """Embed every file the schema refers to (transitively) and return the compound schema.

    ``document`` and ``pointer`` say where the schema is written (for located errors and as the base
    for relative references); ``root`` is the spec tree no reference may leave.
    """
    problems: list[Problem] = []
    bundler = _Bundler(root, problems)
    # The document holding the schema is the base of its relative refs; a schema that is a whole file
    # keeps that file's URI, an inline one is addressed inside its spec file.
    base = file_uri(document.path)
    root_schema = copy.deepcopy(schema)
    bundler.resources[base] = root_schema
    bundler._walk(root_schema, base, document, pointer)
    resources = dict(bundler.resources)
    for data in resources.values():
        _encode_refs(data)
    compound: Any = root_schema
    if isinstance(root_schema, dict):
        compound = dict(root_schema)
        compound["$id"] = base
        embedded = {uri: _as_resource(uri, data) for uri, data in resources.items() if uri != base}
        if embedded:
            defs = dict(compound.get("$defs") or {})
            defs.update({f"mvptest:{uri}": res for uri, res in embedded.items()})
            compound["$defs"] = defs
    resources[base] = compound
    return BundledSchema(compound, base, resources), problems


def _as_resource(uri: str, data: Any) -> Any:
    if isinstance(data, dict):
        out = dict(data)
        if "$id" in out and out["$id"] != uri:
            out["x-declared-id"] = out["$id"]
        out["$id"] = uri
        return out
    return data
