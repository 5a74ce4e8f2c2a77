"""$ref cycles no value can end: a loop on one value (a validator never returns), or one no finite value satisfies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from mvptest.errors import Location, Problem
from mvptest.spec.pointer import escape
from mvptest.spec.refs import BundledSchema

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
        self.bundled = BundledSchema(None, "", resources)  # the one resolver, for $ref, $id and $anchor alike
        self.nodes: dict[_Node, Any] = {}
        self.bases: dict[_Node, str] = {}
        self.where: dict[int, _Node] = {}  # a subschema object -> its node
        for uri, data in resources.items():
            self._collect(uri, data)

    def _collect(self, uri: str, root: Any) -> None:
        stack: list[tuple[str, Any, str]] = [("", root, uri)]
        while stack:
            ptr, node, base = stack.pop()
            if (uri, ptr) in self.nodes or not isinstance(node, (dict, bool)):
                continue
            self.nodes[(uri, ptr)] = node
            if isinstance(node, bool):
                continue
            self.where.setdefault(id(node), (uri, ptr))
            base = self.bundled.base_of(node, base)
            self.bases[(uri, ptr)] = base
            for key, value in node.items():
                here = f"{ptr}/{escape(key)}"
                if key in _SAME_ONE or key in _DOWN_ONE:
                    stack.append((here, value, base))
                elif key in _SAME_MANY or key == "prefixItems" or (key == "items" and isinstance(value, list)):
                    if isinstance(value, list):
                        stack.extend((f"{here}/{i}", v, base) for i, v in enumerate(value))
                elif key in _DOWN_MAP and isinstance(value, dict):
                    if key == "$defs" and ptr == "":
                        value = {k: v for k, v in value.items() if not str(k).startswith("mvptest:")}
                    stack.extend((f"{here}/{escape(k)}", v, base) for k, v in value.items())

    def ref_target(self, node: _Node) -> _Node | None:
        schema = self.nodes[node]
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if not isinstance(ref, str):
            return None
        found = self.bundled.deref(ref, self.bases.get(node, node[0]))
        if found is None:
            return None
        if isinstance(found[0], dict):
            return self.where.get(id(found[0]))
        uri, fragment = urldefrag(urljoin(self.bases.get(node, node[0]), ref))
        target = (uri, unquote(fragment))
        return target if target in self.nodes else None

    def same_instance(self, node: _Node) -> list[_Node]:
        """Subschemas evaluated against the very value ``node`` is evaluated against."""
        schema = self.nodes[node]
        if not isinstance(schema, dict):
            return []
        out = [t for t in [self.ref_target(node)] if t is not None]
        uri, ptr = node
        out.extend((uri, f"{ptr}/{key}") for key in _SAME_ONE if key in schema)
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
        props: dict[str, Any] = schema["properties"] if isinstance(schema.get("properties"), dict) else {}
        if only == "object" and isinstance(schema.get("required"), list):
            groups.extend([(uri, f"{ptr}/properties/{escape(name)}")] for name in schema["required"]
                          if isinstance(name, str) and name in props
                          and (uri, f"{ptr}/properties/{escape(name)}") in self.nodes)
        min_items = schema.get("minItems")
        if only == "array" and isinstance(min_items, int) and not isinstance(min_items, bool) and min_items >= 1:
            prefix: list[Any] = schema["prefixItems"] if isinstance(schema.get("prefixItems"), list) else []
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
            "$ref cycle on one value: " + " -> ".join(map(name, [*loop, start]))
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
            "no finite value satisfies this schema: the $ref cycle " + " -> ".join(map(name, [*loop, start]))
            + " is required at every level",
            "give the cycle a way out: drop the property from required, allow null (type: [object, 'null']) "
            "or let the array be empty (minItems: 0)",
        ))
    return problems
