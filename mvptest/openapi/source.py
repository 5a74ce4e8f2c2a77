"""The files of an OpenAPI document: loaded once each, and local ``$ref``s (across files) resolved, never fetched."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mvptest.errors import InputError, Location
from mvptest.spec import pointer
from mvptest.spec.loader import Document, display_path, load_document


@dataclass(frozen=True)
class Target:
    """Where a ``$ref`` points: a file and a JSON Pointer inside it."""

    path: Path
    pointer: str

    @property
    def label(self) -> str:
        return f"{display_path(self.path)}#{self.pointer}"


@dataclass
class Source:
    """The document's files, keyed by resolved path; refs resolve from the file that names them."""

    root: Path
    docs: dict[Path, Document] = field(default_factory=dict)

    def document(self, path: Path) -> Document:
        path = path.resolve()
        doc = self.docs.get(path)
        if doc is None:
            doc = self.docs[path] = load_document(path)
        return doc

    @property
    def data(self) -> Any:
        return self.document(self.root).data

    def locate(self, target: Target) -> Location:
        return self.document(target.path).locate(target.pointer)

    def target(self, ref: str, base: Path) -> Target | None:
        """The target of ``ref`` named in ``base``; None for a remote reference (http:, https:, urn:, //host)."""
        parts = urlsplit(ref)
        if parts.scheme or parts.netloc:
            return None
        path = (base.parent / unquote(parts.path)).resolve() if parts.path else base.resolve()
        return Target(path, unquote(parts.fragment))

    def get(self, target: Target, *, where: Location | None = None) -> Any:
        """The node a target names; bad input (located at the ``$ref``) when the file or the pointer is missing."""
        if not target.path.is_file():
            raise InputError(f"$ref names {display_path(target.path)}, which does not exist", where=where,
                             hint="local $refs are relative to the file that holds them")
        found, node = pointer.get(self.document(target.path).data, target.pointer)
        if not found:
            raise InputError(f"$ref names {target.label}, which is not in that file", where=where,
                             hint="check the JSON Pointer after '#'")
        return node

    def deref(self, node: Any, base: Path, *, depth: int = 0) -> tuple[Any, Path]:
        """A non-schema object (parameter, response, request body, path item) with its ``$ref`` chain followed."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and depth < 32:
            target = self.target(node["$ref"], base)
            if target is None:
                return None, base
            node, base, depth = self.get(target), target.path, depth + 1
        return node, base
