"""Resolve a schema's file ``$ref``s inside the spec tree into one self-contained compound schema."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, unquote, urldefrag, urljoin, urlsplit

from mvptest.errors import InputError, Location, Problem
from mvptest.spec.loader import Document, display_path, escape_pointer_token as escape, load_document

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


# --------------------------------------------------------------------------- $ref cycles

# Keywords that apply a subschema to the same instance (a loop through them alone never ends), and the rest.
_SAME_ONE = ("not", "if", "then", "else")
_SAME_MANY = ("allOf", "anyOf", "oneOf")
_DOWN_ONE = ("items", "contains", "additionalProperties", "propertyNames", "unevaluatedItems",
             "unevaluatedProperties", "contentSchema", "additionalItems")
_DOWN_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")

_Node = tuple[str, str]  # (resource uri, JSON Pointer inside it)


class _SchemaGraph:
    """Every subschema of a set of resources, the $ref between them, and which ones a value must satisfy."""

    def __init__(self, resources: dict[str, Any]) -> None:
        self.resources = resources
        self.nodes: dict[_Node, Any] = {}
        for uri, data in resources.items():
            self._collect(uri, data)

    def _collect(self, uri: str, root: Any) -> None:
        stack: list[tuple[str, Any]] = [("", root)]
        while stack:
            ptr, node = stack.pop()
            if (uri, ptr) in self.nodes or not isinstance(node, (dict, bool)):
                continue
            self.nodes[(uri, ptr)] = node
            if isinstance(node, bool):
                continue
            for key, value in node.items():
                here = f"{ptr}/{escape(key)}"
                if key in _SAME_ONE or key in _DOWN_ONE:
                    stack.append((here, value))
                elif key in _SAME_MANY or key == "prefixItems" or (key == "items" and isinstance(value, list)):
                    if isinstance(value, list):
                        stack.extend((f"{here}/{i}", v) for i, v in enumerate(value))
                elif key in _DOWN_MAP and isinstance(value, dict):
                    if key == "$defs" and ptr == "":
                        value = {k: v for k, v in value.items() if not str(k).startswith("mvptest:")}
                    stack.extend((f"{here}/{escape(k)}", v) for k, v in value.items())

    def ref_target(self, node: _Node) -> _Node | None:
        schema = self.nodes[node]
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if not isinstance(ref, str):
            return None
        uri, fragment = urldefrag(urljoin(node[0], ref))
        target = (uri, unquote(fragment))
        return target if target in self.nodes else None

    def same_instance(self, node: _Node) -> list[_Node]:
        """Subschemas evaluated against the very value ``node`` is evaluated against."""
        schema = self.nodes[node]
        if not isinstance(schema, dict):
            return []
        out = [t for t in [self.ref_target(node)] if t is not None]
        uri, ptr = node
        for key in _SAME_ONE:
            if key in schema:
                out.append((uri, f"{ptr}/{key}"))
        for key in (*_SAME_MANY, "dependentSchemas"):
            value = schema.get(key)
            names = range(len(value)) if isinstance(value, list) else value if isinstance(value, dict) else ()
            out.extend((uri, f"{ptr}/{key}/{escape(k)}") for k in names)
        return [n for n in out if n in self.nodes]

    def must_groups(self, node: _Node) -> list[list[_Node]]:
        """What a finite value of ``node`` needs: every group must have at least one finitely satisfiable member."""
        schema = self.nodes[node]
        if schema is False:
            return [[]]
        if not isinstance(schema, dict):
            return []
        uri, ptr = node
        groups: list[list[_Node]] = []
        target = self.ref_target(node)
        if target is not None:
            groups.append([target])
        for key in _SAME_MANY:
            members = [(uri, f"{ptr}/{key}/{i}") for i in range(len(schema[key]))] if isinstance(schema.get(key), list) else []
            members = [m for m in members if m in self.nodes]
            if key == "allOf":
                groups.extend([m] for m in members)
            elif members:
                groups.append(members)
        kind = schema.get("type")
        only = kind if isinstance(kind, str) else kind[0] if isinstance(kind, list) and len(kind) == 1 else None
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        if only == "object" and isinstance(schema.get("required"), list):
            for name in schema["required"]:
                if isinstance(name, str) and name in props and (uri, f"{ptr}/properties/{escape(name)}") in self.nodes:
                    groups.append([(uri, f"{ptr}/properties/{escape(name)}")])
        min_items = schema.get("minItems")
        if only == "array" and isinstance(min_items, int) and not isinstance(min_items, bool) and min_items >= 1:
            prefix = schema.get("prefixItems") if isinstance(schema.get("prefixItems"), list) else []
            groups.extend([(uri, f"{ptr}/prefixItems/{i}")] for i in range(min(min_items, len(prefix))))
            if min_items > len(prefix) and (uri, f"{ptr}/items") in self.nodes:
                groups.append([(uri, f"{ptr}/items")])
        return [g for g in groups if all(m in self.nodes for m in g)]

    def finite(self) -> set[_Node]:
        """The subschemas some finite value satisfies (least fixed point, linear: the 'productive symbols' method)."""
        groups = {n: self.must_groups(n) for n in self.nodes}
        waiting = {n: len(g) for n, g in groups.items()}
        watchers: dict[_Node, list[tuple[_Node, int]]] = {}
        for owner, owner_groups in groups.items():
            for gi, members in enumerate(owner_groups):
                for m in members:
                    watchers.setdefault(m, []).append((owner, gi))
        done: set[tuple[_Node, int]] = set()
        finite = {n for n, count in waiting.items() if count == 0}
        queue = list(finite)
        while queue:
            for owner, gi in watchers.get(queue.pop(), ()):
                if (owner, gi) in done:
                    continue
                done.add((owner, gi))
                waiting[owner] -= 1
                if waiting[owner] == 0 and owner not in finite:
                    finite.add(owner)
                    queue.append(owner)
        self._groups = groups
        return finite


def _cycles(nodes: list[_Node], edges: Callable[[_Node], list[_Node]]) -> list[list[_Node]]:
    """Strongly connected components that hold a cycle (Tarjan, iterative), each as a list of nodes."""
    index: dict[_Node, int] = {}
    low: dict[_Node, int] = {}
    on_stack: set[_Node] = set()
    stack: list[_Node] = []
    out: list[list[_Node]] = []
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(edges(start)))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges(child))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges(node):
                    out.append(component)
    return out


def _loop_path(component: list[_Node], edges: Callable[[_Node], list[_Node]], start: _Node) -> list[_Node]:
    """One cycle through ``start`` inside its component, start first (breadth-first, so the shortest)."""
    members = set(component)
    previous: dict[_Node, _Node] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in edges(node):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return path[::-1]
                if child in members and child not in previous:
                    previous[child] = node
                    nxt.append(child)
        frontier = nxt
    return [start]


def cycle_problems(resources: dict[str, Any], locate: Callable[[str, str], Location]) -> list[Problem]:
    """$ref cycles no value can end: a loop of $ref/allOf/anyOf/... on one value (a validator never returns),
    and a loop through required properties or non-empty arrays with no optional way out (no finite value)."""
    graph = _SchemaGraph(resources)
    order = sorted(graph.nodes)
    problems: list[Problem] = []
    reported: set[_Node] = set()

    def name(node: _Node) -> str:
        return f"{Path(unquote(urlsplit(node[0]).path)).name}#{node[1]}"

    def entry(component: list[_Node], edges: Callable[[_Node], list[_Node]]) -> _Node:
        members = set(component)
        refs = [n for n in sorted(component) if graph.ref_target(n) in members]
        return refs[0] if refs else sorted(component)[0]

    for component in _cycles(order, graph.same_instance):
        start = entry(component, graph.same_instance)
        loop = _loop_path(component, graph.same_instance, start)
        reported.update(component)
        problems.append(Problem(
            locate(start[0], start[1] + ("/$ref" if graph.ref_target(start) else "")),
            "$ref cycle on one value: " + " -> ".join(map(name, loop + [start]))
            + "; validating it never ends",
            "every $ref loop must pass through a property or an array item (properties: or items:)",
        ))
    finite = graph.finite()
    stuck = [n for n in order if n not in finite]
    stuck_set = set(stuck)

    def blocking(node: _Node) -> list[_Node]:
        return [m for g in graph._groups[node] for m in g if m in stuck_set and not any(x in finite for x in g)]

    for component in _cycles(stuck, blocking):
        if reported & set(component):
            continue
        start = entry(component, blocking)
        loop = _loop_path(component, blocking, start)
        problems.append(Problem(
            locate(start[0], start[1] + ("/$ref" if graph.ref_target(start) else "")),
            "no finite value satisfies this schema: the $ref cycle " + " -> ".join(map(name, loop + [start]))
            + " is required at every level",
            "give the cycle a way out: drop the property from required, allow null (type: [object, 'null']) "
            "or let the array be empty (minItems: 0)",
        ))
    return problems
