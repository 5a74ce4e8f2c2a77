"""Resolve a schema's file ``$ref``s inside the spec tree into one self-contained compound schema."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urldefrag, urljoin, urlsplit

from mvptest.errors import InputError, Location, Problem
from mvptest.spec import pointer
from mvptest.spec.loader import Document, display_path, load_document

escape = pointer.escape

# Keywords whose values are data, not schemas: a "$ref" inside them is not a reference.
_DATA_KEYWORDS = frozenset({"const", "enum", "examples", "default"})


@dataclass
class BundledSchema:
    """A compound schema (external files embedded under ``$defs`` by their file URI) and its resources.

    ``resolve`` and ``deref`` are the program's one ``$ref`` resolver: they follow JSON Pointers, embedded
    ``$id`` resources and ``$anchor`` names, only inside ``resources`` (a reference never leaves the spec tree:
    nothing is fetched), and stop on a cycle.
    """

    schema: Any
    root_uri: str
    resources: dict[str, Any] = field(default_factory=dict)  # uri (no fragment) -> resource as written
    _index: _Index | None = field(default=None, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # the index holds object identities: another process rebuilds it
        return {"schema": self.schema, "root_uri": self.root_uri, "resources": self.resources, "_index": None}

    @property
    def index(self) -> _Index:
        if self._index is None:
            self._index = _Index(self)
        return self._index

    def base_of(self, node: Any, base: str) -> str:
        """The base URI of ``node``'s own keywords: ``base``, changed by an embedded ``$id``."""
        if isinstance(node, dict) and isinstance(node.get("$id"), str) and node["$id"] and not self.index.is_root(node):
            return urldefrag(urljoin(base, node["$id"]))[0]
        return base

    def deref(self, ref: str, base: str) -> tuple[Any, str] | None:
        """One step: the schema ``ref`` names from ``base`` and its base URI; None when nothing in the tree has it."""
        uri, fragment = urldefrag(urljoin(base, ref))
        index = self.index
        resource = self.resources.get(uri, _MISSING)
        if resource is _MISSING:
            resource = index.ids.get(uri, _MISSING)
        if resource is _MISSING:
            return None
        fragment = unquote(fragment)
        if not fragment.startswith("/"):
            return (resource, self.base_of(resource, uri)) if fragment == "" else index.anchors.get((uri, fragment))
        node, here = resource, self.base_of(resource, uri)
        for token in pointer.split(fragment):
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return None
            here = self.base_of(node, here)
        return node, here

    def resolve(self, node: Any, base_uri: str | None = None) -> tuple[Any, str]:
        """Follow ``$ref`` chains from ``node`` to the schema they name; returns (schema, its base URI).

        A reference that names nothing in the tree, or that comes back to one already followed, ends the chain:
        the node holding it is returned.
        """
        base = self.base_of(node, base_uri or self.root_uri)
        seen = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            target = urljoin(base, node["$ref"])
            if target in seen:
                break
            seen.add(target)
            found = self.deref(node["$ref"], base)
            if found is None:
                break
            node, base = found
        return node, base

    def fields(self, *, max_depth: int = 8) -> list[tuple[str, Any]]:
        """Every named field reachable through properties and items: (pointer with '*' for items, schema)."""
        from mvptest.spec.walk import walk

        return [(f.pointer, f.schema) for f in walk(self, max_depth=max_depth)]

    def top_level_properties(self) -> dict[str, Any]:
        """The resolved schema of each top-level property."""
        return {p[1:]: s for p, s in self.fields(max_depth=0) if p.count("/") == 1}


_MISSING = object()


class _Index:
    """The embedded ``$id`` resources and ``$anchor`` names of a bundle (the resources themselves are roots)."""

    def __init__(self, bundled: BundledSchema) -> None:
        self.roots = {id(r) for r in bundled.resources.values()} | {id(bundled.schema)}
        self.ids: dict[str, Any] = {}
        self.anchors: dict[tuple[str, str], tuple[Any, str]] = {}
        for uri, resource in bundled.resources.items():
            self._collect(resource, uri)

    def is_root(self, node: Any) -> bool:
        return id(node) in self.roots

    def _collect(self, resource: Any, uri: str) -> None:
        stack = [(resource, uri, True)]
        while stack:
            node, base, top = stack.pop()
            if isinstance(node, list):
                stack.extend((v, base, False) for v in node)
                continue
            if not isinstance(node, dict):
                continue
            sid = node.get("$id")
            if isinstance(sid, str) and sid and id(node) not in self.roots:
                base = urldefrag(urljoin(base, sid))[0]
                self.ids.setdefault(base, node)
            for key in ("$anchor", "$dynamicAnchor"):
                name = node.get(key)
                if isinstance(name, str):
                    self.anchors.setdefault((base, name), (node, base))
            for key, value in node.items():
                if key in _DATA_KEYWORDS or (top and key == "$defs" and isinstance(value, dict)):
                    continue
                stack.append((value, base, False))
            defs = node.get("$defs") if top else None
            if isinstance(defs, dict):  # the compound's embedded copies of other resources are indexed as those
                stack.extend((v, base, False) for k, v in defs.items() if not str(k).startswith("mvptest:"))


def _follow_pointer(data: Any, at: str) -> Any:
    if at in ("", "/"):
        return data if at == "" else (data.get("") if isinstance(data, dict) else _MISSING)
    if not at.startswith("/"):
        return _MISSING  # an anchor: BundledSchema.deref follows it
    found, value = pointer.get(data, at)
    return value if found else _MISSING


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
        self.deferred: list[tuple[str, str, Location, str]] = []  # (ref, base, where, shown): checked when all is loaded

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
        self._walk(doc.data, uri, doc, "", top=True)
        return doc.data

    def _walk(self, node: Any, base: str, doc: Document | None, at: str, *, top: bool = False) -> None:
        if isinstance(node, dict):
            sid = node.get("$id")
            if isinstance(sid, str) and sid and not top:  # an embedded resource: the base of what it holds
                base = urldefrag(urljoin(base, sid))[0]
            ref = node.get("$ref")
            if isinstance(ref, str):
                self._check_ref(ref, base, doc, at + "/$ref")
            for key, value in node.items():
                if key in _DATA_KEYWORDS:
                    continue
                self._walk(value, base, doc, pointer.child(at, key))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                self._walk(item, base, doc, f"{at}/{i}")

    def _check_ref(self, ref: str, base: str, doc: Document | None, at: str) -> None:
        where = doc.locate(at) if doc else Location("<schema>")
        target = urljoin(base, encode_ref(ref))
        uri, fragment = urldefrag(target)
        scheme = urlsplit(uri).scheme
        if scheme != "file":  # an embedded $id may name it: decided once every file is loaded
            self.deferred.append((ref, base, where, uri))
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
            self.problems.append(Problem(where, f"$ref {ref!r} does not resolve: no file {display_path(path)}",
                                         "check the relative path; it resolves from the file that contains the $ref"))
            return
        else:
            resource = self._load(path, where)
        if resource is _MISSING:
            return
        if fragment and (not unquote(fragment).startswith("/") or _follow_pointer(resource, unquote(fragment)) is _MISSING):
            self.deferred.append((ref, base, where, display_path(path)))  # an anchor, or an embedded $id's pointer

    def check_deferred(self, schema: Any, base: str) -> None:
        """References to anchors and embedded ``$id`` resources, resolved as BundledSchema resolves them."""
        bundled = BundledSchema(schema, base, self.resources)
        for ref, ref_base, where, shown in self.deferred:
            if bundled.deref(encode_ref(ref), ref_base) is not None:
                continue
            uri, fragment = urldefrag(urljoin(ref_base, encode_ref(ref)))
            if uri in self.resources or uri in bundled.index.ids:
                hint = "check the JSON Pointer after '#'" if unquote(fragment).startswith("/") else (
                    "check the $anchor name after '#'")
                self.problems.append(Problem(where, f"$ref {ref!r} does not resolve: no {fragment!r} in {shown}", hint))
            else:
                self.problems.append(Problem(
                    where, f"$ref {ref!r} points outside the spec tree to {uri}; mvptest never fetches schemas",
                    "copy the schema into the spec tree and refer to it by a relative path, or give the "
                    "embedded schema that $id"))


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
    bundler._walk(root_schema, base, document, pointer, top=True)
    bundler.check_deferred(root_schema, base)
    resources = dict(bundler.resources)
    for data in resources.values():
        _encode_refs(data)
    if not problems:  # a $ref that does not resolve is reported as such, not as a cycle

        def locate(uri: str, ptr: str) -> Location:
            return document.locate(pointer + ptr) if uri == base else bundler.documents[uri].locate(ptr)

        problems.extend(cycle_problems(resources, locate))
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


def cycle_problems(resources: dict[str, Any], locate: Callable[[str, str], Location]) -> list[Problem]:
    """$ref cycles no value can end (spec/cycles.py)."""
    from mvptest.spec.cycles import cycle_problems as found

    return found(resources, locate)
