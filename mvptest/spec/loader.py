"""Load YAML or JSON documents safely, keeping the line of every value for located error messages."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from mvptest.errors import InputError, Location, Problem

try:  # libyaml when available: the same safe semantics, faster
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - pure-Python fallback
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """SafeLoader with YAML 1.2-like scalars: only true/false are booleans, dates stay strings.

    YAML 1.1 turns ``no`` into False and ``2024-01-01`` into a date object; neither is JSON, and both
    silently change what a schema means.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def to_pointer(parts: Iterable[str | int]) -> str:
    return "".join("/" + escape_pointer_token(p) for p in parts)


@dataclass
class Document:
    """A parsed file: its data, and the (line, column) of each JSON Pointer inside it."""

    path: Path
    data: Any
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def locate(self, pointer: str | Iterable[str | int] = "") -> Location:
        """The location of a pointer, or of its nearest ancestor whose position is known."""
        ptr = pointer if isinstance(pointer, str) else to_pointer(pointer)
        while True:
            pos = self.positions.get(ptr)
            if pos is not None:
                return Location(display_path(self.path), pos[0], pos[1])
            if not ptr:
                return Location(display_path(self.path))
            ptr = ptr.rsplit("/", 1)[0]


def display_path(path: Path) -> str:
    """A path as the user would write it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _record_positions(node: yaml.Node, pointer: str, out: dict[str, tuple[int, int]], problems: list[Problem], path: Path) -> None:
    out.setdefault(pointer, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = pointer + "/" + escape_pointer_token(key)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        Location(display_path(path), line, key_node.start_mark.column + 1),
                        f"duplicate key {key!r} (first at line {seen[key]}); the later value silently wins",
                        "remove one of them",
                    )
                )
            seen[key] = line
            out[child] = (line, key_node.start_mark.column + 1)
            _record_positions(value_node, child, out, problems, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record_positions(item, f"{pointer}/{i}", out, problems, path)


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            "is not UTF-8 text",
            where=Location(display_path(path), line),
            hint="save spec files as UTF-8",
        ) from None


def load_document(path: Path) -> Document:
    """Parse a YAML or JSON file. Raises InputError (located) when it cannot be read or parsed."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", where=display_path(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", where=display_path(path)) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", where=display_path(path)) from None
    text = _decode(raw, path)
    if path.suffix.lower() == ".json":
        return _load_json(text, path)
    return _load_yaml(text, path)


def _load_yaml(text: str, path: Path) -> Document:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(display_path(path), mark.line + 1, mark.column + 1) if mark else Location(display_path(path))
        what = " ".join(filter(None, [exc.context, exc.problem]))
        raise InputError(f"is not valid YAML: {what}", where=where, hint="check the indentation and quoting there") from None
    except yaml.YAMLError as exc:
        raise InputError(f"is not valid YAML: {exc}", where=display_path(path)) from None
    finally:
        loader.dispose()
    doc = Document(path, data)
    if node is not None:
        _record_positions(node, "", doc.positions, doc.problems, path)
    return doc


def _load_json(text: str, path: Path) -> Document:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"is not valid JSON: {exc.msg}",
            where=Location(display_path(path), exc.lineno, exc.colno),
            hint="check for a missing comma, quote or bracket there",
        ) from None
    doc = Document(path, data)
    # JSON is YAML: reuse the YAML composer for line numbers; without them errors name the file only.
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _record_positions(node, "", doc.positions, doc.problems, path)
    except yaml.YAMLError:
        doc.positions.clear()
    finally:
        loader.dispose()
    return doc
