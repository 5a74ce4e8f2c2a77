"""Whether a JSON Pointer names a place that values of a (bundled) schema can hold, read statically and conservatively."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mvptest.spec.pointer import join, split
from mvptest.spec.refs import BundledSchema

MAX_NODES = 2000  # schema nodes looked at for one pointer; past it the pointer is taken as valid
MAX_FRONTIER = 64  # alternative places one pointer may be at; past it the pointer is taken as valid

_OBJECT_WORDS = ("properties", "patternProperties", "additionalProperties", "unevaluatedProperties", "required",
                 "propertyNames", "minProperties", "maxProperties", "dependentRequired", "dependentSchemas")
_ARRAY_WORDS = ("items", "prefixItems", "additionalItems", "unevaluatedItems", "contains", "minItems", "maxItems",
                "uniqueItems")
_TYPE_NAMES = {"string": "a string", "number": "a number", "integer": "an integer", "boolean": "a boolean",
               "null": "null", "object": "an object", "array": "an array"}


class _GiveUp(Exception):
    """The schema is too large, recursive in place or unresolvable here: the pointer is not judged."""


@dataclass
class _Step:
    """Where one pointer token leads from one value: the child schemas, and whether it may lead anywhere."""

    children: list[tuple[Any, str]] = field(default_factory=list)
    open: bool = False  # anything may be there (an open map, an unconstrained array item)
    declares: bool = False  # the schema lists what it holds here: a token outside the list names nothing

    def merge(self, other: _Step) -> None:
        self.children += other.children
        self.open |= other.open
        self.declares |= other.declares


@dataclass
class _Walk:
    bundled: BundledSchema
    nodes: int = 0
    active: set[tuple[int, str]] = field(default_factory=set)

    def conjuncts(self, node: Any, base: str) -> list[tuple[Any, str]]:
        """The node with its $ref targets and allOf branches: schemas that all apply to the same value."""
        out: list[tuple[Any, str]] = []
        seen: set[tuple[int, str]] = set()
        stack = [(node, base)]
        while stack:
            n, b = stack.pop()
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise _GiveUp
            if isinstance(n, bool):
                out.append((n, b))
                continue
            if not isinstance(n, dict) or "$dynamicRef" in n or "$recursiveRef" in n:
                raise _GiveUp
            if (id(n), b) in seen:
                continue
            seen.add((id(n), b))
            out.append((n, b))
            if "$ref" in n:
                if not isinstance(n["$ref"], str):
                    raise _GiveUp
                target, tbase = self.bundled.resolve({"$ref": n["$ref"]}, b)
                if isinstance(target, dict) and "$ref" in target:
                    raise _GiveUp  # an anchor, a cycle or a target outside the bundle
                stack.append((target, tbase))
            branches = n.get("allOf")
            if isinstance(branches, list):
                stack.extend((sub, b) for sub in branches)
        return out

    def step(self, node: Any, base: str, token: str, kind: str) -> _Step | None:
        """Where ``token`` leads from a value of ``node`` when the value is of ``kind`` (object or array);
        None when no such value can be there (the schema says it is something else, or false)."""
        key = (id(node), base)
        if key in self.active:
            raise _GiveUp  # an anyOf that refers back to itself at the same value
        self.active.add(key)
        try:
            views = self.conjuncts(node, base)
            if kind not in self.types(views):
                return None
            out = _Step()
            for view, vbase in views:
                if isinstance(view, dict):
                    own = _object_step(view, vbase, token) if kind == "object" else _array_step(view, vbase, token)
                    out.merge(own)
                    for group in _alternatives(view):
                        found = self.group(group, vbase, token, kind)
                        if found is None:
                            return None
                        out.merge(found)
            return out
        finally:
            self.active.discard(key)

    def types(self, views: list[tuple[Any, str]]) -> set[str]:
        """The JSON types a value described by all of ``views`` may have (none when one of them is false)."""
        return set() if any(v is False for v, _ in views) else kinds_of(v for v, _ in views)

    def value_types(self, node: Any, base: str, depth: int = 0) -> set[str]:
        """Like ``types``, narrowed by anyOf and oneOf: {string, null} for anyOf: [{type: string}, {type: null}]."""
        views = self.conjuncts(node, base)
        out = self.types(views)
        for view, vbase in views:
            for key in ("anyOf", "oneOf"):
                branches = view.get(key) if isinstance(view, dict) else None
                if isinstance(branches, list) and branches and depth < 16:
                    out &= set().union(*(self.value_types(b, vbase, depth + 1) for b in branches))
        return out

    def group(self, branches: list[Any], base: str, token: str, kind: str) -> _Step | None:
        """One of ``branches`` holds the value: the union of where they lead, None when none can be of ``kind``."""
        out, any_fits = _Step(), False
        for branch in branches:
            found = self.step(branch, base, token, kind)
            if found is None:
                continue
            any_fits = True
            if not found.declares and kind in (_declared_types(self.conjuncts(branch, base)) or set()):
                found.open = True  # a branch that is "any object" (or array) holds anything here
            out.merge(found)
        return out if any_fits else None


def kinds_of(views: Any) -> set[str]:
    """The JSON types a value described by all of ``views`` may have: declared types, else the keywords used."""
    views = list(views)
    declared = _declared_types([(v, "") for v in views])
    if declared is not None:
        return declared
    implied = set()
    for view in views:
        if isinstance(view, dict):
            implied |= {"object"} if any(w in view for w in _OBJECT_WORDS) else set()
            implied |= {"array"} if any(w in view for w in _ARRAY_WORDS) else set()
    return implied or set(_TYPE_NAMES)


def _declared_types(views: list[tuple[Any, str]]) -> set[str] | None:
    types: set[str] | None = None
    for view, _ in views:
        t = view.get("type") if isinstance(view, dict) else None
        if isinstance(t, str):
            t = [t]
        if isinstance(t, list) and all(isinstance(x, str) for x in t):
            types = set(t) if types is None else types & set(t)
    return types


def _alternatives(view: dict[str, Any]) -> list[list[Any]]:
    """Groups of schemas of which one applies: anyOf, oneOf, if/then/else, and each dependentSchemas (or not)."""
    groups = [view[k] for k in ("anyOf", "oneOf") if isinstance(view.get(k), list) and view[k]]
    if "if" in view:
        groups.append([view.get("then", True), view.get("else", True)])
    dependent = view.get("dependentSchemas")
    if isinstance(dependent, dict):
        groups.extend([sub, True] for sub in dependent.values())
    return groups


def _object_step(view: dict[str, Any], base: str, token: str) -> _Step:
    out = _Step()
    props: dict[str, Any] = view["properties"] if isinstance(view.get("properties"), dict) else {}
    patterns: dict[str, Any] = view["patternProperties"] if isinstance(view.get("patternProperties"), dict) else {}
    out.declares = bool(props or patterns)
    if token in props:
        out.children.append((props[token], base))
        return out
    matched = False
    for pattern, sub in patterns.items():
        try:
            hit = re.search(pattern, token) is not None
        except (re.error, TypeError):
            hit = True  # an ECMA-only pattern: it may match
        if hit:
            matched = True
            out.children.append((sub, base))
    if not matched:
        for word in ("additionalProperties", "unevaluatedProperties"):
            _rest(out, view.get(word), base)
    return out


def _array_step(view: dict[str, Any], base: str, token: str) -> _Step:
    out = _Step()
    prefix = view.get("prefixItems")
    items = view.get("items")
    if isinstance(items, list):  # draft 2019-09 and older: items as a list, additionalItems for the rest
        prefix, items = items, view.get("additionalItems")
    prefix = prefix if isinstance(prefix, list) else []
    out.declares = bool(prefix)
    if token.isdigit() and int(token) < len(prefix):
        out.children.append((prefix[int(token)], base))
        return out
    if token == "*":
        out.children += [(sub, base) for sub in prefix]
    if items is None and prefix:
        out.open = True  # items after the prefix may be anything
    _rest(out, items, base)
    return out


def _rest(out: _Step, schema: Any, base: str) -> None:
    """additionalProperties, unevaluatedProperties or items: what holds the names or indexes not listed."""
    if schema is None:
        return
    out.declares = True
    if schema is True:
        out.open = True
    elif schema is not False:
        out.children.append((schema, base))


def unreachable(bundled: BundledSchema, pointer: str) -> str | None:
    """None when values of the schema can hold something at ``pointer`` (or it cannot be judged); otherwise why
    not, in a few words ("" when the last step names a field that is not declared)."""
    tokens = split(pointer.rstrip("/"))
    walk = _Walk(bundled)
    frontier: list[tuple[Any, str]] = [(bundled.schema, bundled.root_uri)]
    try:
        for i, token in enumerate(tokens):
            kinds = ("object", "array") if token == "*" or token.isdigit() else ("object",)
            children: list[tuple[Any, str]] = []
            fitted: set[str] = set()
            for node, base in frontier:
                for kind in kinds:
                    step = walk.step(node, base, token, kind)
                    if step is None:
                        continue
                    fitted.add(kind)
                    if step.open or not (step.children or step.declares):
                        return None  # an open map, an unconstrained item, or a value whose fields are not listed
                    children += step.children
            if not children and fitted == {"object"} and len(kinds) == 2:
                return f"{join(tokens[:i]) or 'the response'} is an object, not an array"
            if not children:
                return "" if fitted else _not_a_container(walk, frontier, tokens[:i])
            frontier = list({(id(n), b): (n, b) for n, b in children}.values())
            if len(frontier) > MAX_FRONTIER:
                return None
    except _GiveUp:
        return None
    return None


def _not_a_container(walk: _Walk, frontier: list[tuple[Any, str]], done: list[str]) -> str:
    """Why the next token cannot step into the value at ``done``: it is a string, an array, or nothing at all."""
    types: set[str] = set()
    for node, base in frontier:
        types |= walk.value_types(node, base)
    pointer = join(done)
    where = pointer or "the response"
    names = " or ".join(_TYPE_NAMES[t] for t in _TYPE_NAMES if t in types)
    if not names:
        return f"{where} can hold no value"
    if "array" in types:
        return f"{where} is {names}: step into its items with {pointer}/* or {pointer}/0"
    return f"{where} is {names}, which has no fields"

