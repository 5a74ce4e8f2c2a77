"""Load YAML or JSON documents safely, keeping the line of every value for located error messages."""

from __future__ import annotations

import codecs
import json
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mvptest.errors import InputError, Location, Problem
from mvptest.spec import pointer

try:  # libyaml when available: the same safe semantics, faster
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - pure-Python fallback
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _Loader(_BaseLoader):
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


@dataclass
class Document:
    """A parsed file: its data, and the (line, column) of each JSON Pointer inside it."""

    path: Path
    data: Any
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def locate(self, where: str | Iterable[str | int] = "") -> Location:
        """The location of a pointer, or of its nearest ancestor whose position is known."""
        ptr = where if isinstance(where, str) else pointer.join(where)
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
MAX_DEPTH = 200  # nesting levels; a spec needs a few dozen, and everything downstream walks the data recursively
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024  # a spec, schema or scenario; MVPTEST_MAX_SPEC_MB raises it


def max_document_bytes() -> int:
    """The size limit of one spec, schema, scenario or adapter file (8 MB unless MVPTEST_MAX_SPEC_MB says more)."""
    raw = os.environ.get("MVPTEST_MAX_SPEC_MB", "")
    try:
        return max(1, int(float(raw) * 1024 * 1024)) if raw.strip() else MAX_DOCUMENT_BYTES
    except ValueError:
        return MAX_DOCUMENT_BYTES


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _node_where(node: yaml.Node, path: Path) -> Location:
    return Location(display_path(path), node.start_mark.line + 1, node.start_mark.column + 1)


def _check_aliases(root: yaml.Node, path: Path) -> None:
    """Reject recursive aliases, alias bombs and nesting deeper than MAX_DEPTH, without recursion.

    Everything downstream walks the data as a tree, recursively: a value that contains itself, expands
    to millions of values or nests thousands deep must be refused here, located, before it is built.
    """
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            sizes[key] = 1 + sum(sizes[id(k)] for k in kids)
            heights[key] = 1 + max((heights[id(k)] for k in kids), default=0)
            active.discard(key)
            if sizes[key] > MAX_EXPANDED_NODES:
                raise InputError(
                    f"expands to more than {MAX_EXPANDED_NODES:,} values through YAML aliases",
                    where=Location(display_path(path), node.start_mark.line + 1),
                    hint="a spec does not need nested aliases; write the values out",
                )
            continue
        if key in sizes:
            continue
        if key in active:
            raise InputError(
                "holds a recursive YAML alias (a value that contains itself)",
                where=_node_where(node, path),
                hint="replace the alias (*name) with a copy of the value",
            )
        active.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in sizes)
    if heights[id(root)] > MAX_DEPTH:
        raise _too_deep(_deepest(root, heights), path)


def _deepest(root: yaml.Node, heights: dict[int, int]) -> yaml.Node:
    """The node at depth MAX_DEPTH + 1 on the deepest path: where the nesting goes past the limit."""
    node = root
    for _ in range(MAX_DEPTH):
        kids = _children(node)
        if not kids:
            break
        node = max(kids, key=lambda k: heights[id(k)])
    return node


def _too_deep(node: yaml.Node | None, path: Path, line: int | None = None, column: int | None = None) -> InputError:
    where = _node_where(node, path) if node is not None else Location(display_path(path), line, column)
    return InputError(
        f"is nested more than {MAX_DEPTH} levels deep",
        where=where,
        hint="a spec needs a few levels of objects and arrays; this looks generated or corrupt",
    )


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def _check_json_depth(text: str, path: Path) -> None:
    """Find nesting deeper than MAX_DEPTH before json.loads, which recurses (RecursionError at ~1,000 levels)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        ch = m.group()
        if ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                pos = m.start()
                line = text.count("\n", 0, pos) + 1
                raise _too_deep(None, path, line, pos - (text.rfind("\n", 0, pos) + 1) + 1)
        elif ch in "]}":
            depth -= 1


def _record_positions(
    node: yaml.Node, at: str, out: dict[str, tuple[int, int]], problems: list[Problem], path: Path,
    seen: set[int] | None = None,
) -> None:
    out.setdefault(at, (node.start_mark.line + 1, node.start_mark.column + 1))
    visited = set() if seen is None else seen
    if id(node) in visited:
        return  # an alias: its target's lines were recorded where it was defined
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = pointer.child(at, key)
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
            _record_positions(item, f"{at}/{i}", out, problems, path, visited)


_WIDE_BOMS = {codecs.BOM_UTF32_LE: "UTF-32", codecs.BOM_UTF32_BE: "UTF-32", codecs.BOM_UTF16_LE: "UTF-16",
              codecs.BOM_UTF16_BE: "UTF-16"}


def _decode(raw: bytes, path: Path) -> str:
    """UTF-8 text (a BOM is allowed); UTF-16, binary data and other encodings are named as such."""
    for bom, name in _WIDE_BOMS.items():
        if raw.startswith(bom):
            raise InputError(f"is {name} text, not UTF-8", where=display_path(path),
                             hint="save it as UTF-8 (in Notepad: Save as, Encoding: UTF-8)")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise InputError(
            "holds binary data (a NUL byte), not YAML or JSON text",
            where=Location(display_path(path), raw[:nul].count(b"\n") + 1),
            hint="name a YAML or JSON file here; is it an Excel, archive or image file with a .yaml/.json name?",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            "is not UTF-8 text",
            where=Location(display_path(path), line),
            hint="save spec files as UTF-8 (a file from a Chinese Windows editor is often GB18030)",
        ) from None
    if not text.strip():
        raise InputError("is empty", where=display_path(path), hint="a spec starts with kind: interface, requirement, "
                         "scenario or adapter")
    return text


def _size(n: int) -> str:
    return f"{round(n / 1048576, 2):g} MB" if n >= 1048576 else f"{max(1, round(n / 1024))} KB"


def read_limited(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a spec-like file; refuses folders, devices and files over the size limit, located."""
    limit = max_document_bytes() if limit is None else limit
    shown = display_path(path)
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise InputError("no such file", where=shown,
                         hint="check the path; a path inside a spec resolves from that spec's folder") from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", where=shown,
                         hint="check the file's permissions (ls -l); a file on a network share may be offline") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError("is a directory, expected a file", where=shown, hint="name a YAML or JSON file inside it")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        raise InputError("is not a regular file (a device or socket)", where=shown, hint="name a YAML or JSON file")
    too_big = InputError(
        f"is larger than {_size(limit)}, the limit for a spec, schema, scenario or adapter file",
        where=shown, hint="is it a data export? validate data with mvptest validate; to allow a larger spec, "
        "set MVPTEST_MAX_SPEC_MB",
    )
    if stat.S_ISREG(st.st_mode) and st.st_size > limit:
        raise too_big
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", where=shown,
                         hint="check the file's permissions (ls -l); a file on a network share may be offline") from None
    if len(raw) > limit:
        raise too_big
    return raw


def load_document(path: Path) -> Document:
    """Parse a YAML or JSON file. Raises InputError (located) when it cannot be read or parsed."""
    text = _decode(read_limited(path), path)
    if path.suffix.lower() == ".json":
        return _load_json(text, path)
    return _load_yaml(text, path)


def _char_at(text: str, line: int, column: int) -> str:
    """The character at a 0-based line and column, or '' past the end."""
    start = 0
    for _ in range(line):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    return text[start + column: start + column + 1]


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
        hint = "check the indentation, brackets and quoting there"
        if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
            what, hint = "a tab character (YAML indents with spaces only)", "replace the tabs with spaces"
        raise InputError(f"is not valid YAML: {what}", where=where, hint=hint) from None
    except yaml.reader.ReaderError as exc:
        pos = max(0, min(int(exc.position), len(text)))
        line = text.count("\n", 0, pos) + 1
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise InputError(f"is not valid YAML: character {char} is not allowed ({exc.reason})",
                         where=Location(display_path(path), line, pos - (text.rfind("\n", 0, pos) + 1) + 1),
                         hint="remove the control character; save the file as plain UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise InputError(f"is not valid YAML: {str(exc).splitlines()[0]}", where=display_path(path),
                         hint="check the file's YAML syntax; save it as plain UTF-8 text") from None
    finally:
        loader.dispose()
    if node is None:
        raise InputError("holds no YAML document (only comments)", where=display_path(path),
                         hint="a spec starts with kind: interface, requirement, scenario or adapter")
    doc = Document(path, data)
    if node is not None:
        _record_positions(node, "", doc.positions, doc.problems, path)
    return doc


def _not_json(name: str, text: str, path: Path) -> Any:
    pos = text.find(name)
    raise InputError(f"is not valid JSON: {name} is not a JSON number",
                     where=Location(display_path(path), text.count("\n", 0, pos) + 1 if pos >= 0 else None),
                     hint="write a number, or null")


def _load_json(text: str, path: Path) -> Document:
    _check_json_depth(text, path)
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(items)
        if len(out) < len(items):
            keys = [k for k, _ in items]
            duplicates.extend(k for k in dict.fromkeys(keys) if keys.count(k) > 1)
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=lambda name: _not_json(name, text, path))
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
        doc.problems[:] = [Problem(Location(display_path(path)), f"duplicate key {k!r}; the later value silently wins",
                                   "remove one of them") for k in duplicates]
    finally:
        loader.dispose()
    return doc
