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


MAX_EXPANDED_NODES = 1_000_000


def _check_aliases(root: yaml.Node, path: Path) -> None:
    """Reject recursive aliases and alias bombs: everything downstream walks the data as a tree."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise InputError(
                "holds a recursive YAML alias (a value that contains itself)",
                where=Location(display_path(path), node.start_mark.line + 1, node.start_mark.column + 1),
                hint="replace the alias (*name) with a copy of the value",
            )
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(v) for v in node.value)
        active.discard(key)
        sizes[key] = total
        if total > MAX_EXPANDED_NODES:
            raise InputError(
                f"expands to more than {MAX_EXPANDED_NODES:,} values through YAML aliases",
                where=Location(display_path(path), node.start_mark.line + 1),
                hint="a spec does not need nested aliases; write the values out",
            )
        return total

    size(root)


def _record_positions(
    node: yaml.Node, pointer: str, out: dict[str, tuple[int, int]], problems: list[Problem], path: Path,
    seen: set[int] | None = None,
) -> None:
    out.setdefault(pointer, (node.start_mark.line + 1, node.start_mark.column + 1))
    visited = set() if seen is None else seen
    if id(node) in visited:
        return  # an alias: its target's lines were recorded where it was defined
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = pointer + "/" + escape_pointer_token(key)
            line = key_node.start_mark.line + 1
            if key in keys_seen:
                problems.append(
                    Problem(
                        Location(display_path(path), line, key_node.start_mark.column + 1),
                        f"duplicate key {key!r} (first at line {keys_seen[key]}); the later value silently wins",
                        "remove one of them",
                    )
                )
            keys_seen[key] = line
            out[child] = (line, key_node.start_mark.column + 1)
            _record_positions(value_node, child, out, problems, path, visited)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _record_positions(item, f"{pointer}/{i}", out, problems, path, visited)


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
        if node is not None:
            _check_aliases(node, path)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        last_line = text.count("\n") + (0 if text.endswith("\n") else 1)
        line = min(mark.line + 1, max(1, last_line)) if mark else None
        where = Location(display_path(path), line, mark.column + 1 if mark and mark.line + 1 == line else None)
        what = exc.problem or "syntax error"
        context = exc.context_mark
        if exc.context and context is not None and (mark is None or context.line != mark.line):
            what += f" ({exc.context} at line {context.line + 1})"
        elif exc.context:
            what = f"{exc.context}: {what}"
        raise InputError(f"is not valid YAML: {what}", where=where, hint="check the indentation, brackets and quoting there") from None
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
