"""Generator nodes: each compiled subschema draws its values with ``gen(rng, depth, overrides, strict)``.

The node classes are public so that drift (synth/drift.py) can walk a compiled schema beside a record.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from mvptest import formats
from mvptest.formats import places
from mvptest.synth.analysis import Facts, canon, is_number

__all__ = ["Array", "Bool", "Choice", "Const", "Enum", "GiveUp", "Never", "Node", "Null", "Number", "Object", "Ref",
           "Rule", "Scope", "String", "annotate", "leaf_validator"]

SOFT_DEPTH = 5  # below this nesting, only required properties and minItems items are generated
HARD_DEPTH = 32  # a schema that requires infinite nesting stops here (the value will be invalid)
OPTIONAL_PROBABILITY = 0.8
STRING_TRIES = 12  # candidates per strategy for strings that need checking


class GiveUp(Exception):
    """A leaf could not produce a valid value; the whole value is drawn again."""


def leaf_validator(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A compiled check of a self-contained scalar schema (no $ref), with our formats asserted."""
    try:
        import jsonschema_rs

        return jsonschema_rs.Draft202012Validator(
            schema, formats=formats.custom_checkers(), validate_formats=True, ignore_unknown_formats=True
        ).is_valid
    except Exception:
        return None


class Node:
    """A compiled subschema. ``gen(rng, depth, overrides, strict)`` returns one value."""

    name = ""
    title = ""
    fmt: str | None = None
    hint: str | None = None  # what a text field holds, judged from its name: company, address, person, ...
    max_len: int | None = None
    unit = ""
    description = ""
    source: str | None = None

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        return False

    def target(self) -> Node:
        return self


class Ref(Node):
    """A node still being built when a recursive reference reached it."""

    def __init__(self) -> None:
        self.node: Node | None = None

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        assert self.node is not None
        return self.node.gen(rng, depth, ov, strict)

    def target(self) -> Node:
        node: Node = self
        for _ in range(64):
            if not isinstance(node, Ref) or node.node is None:
                break
            node = node.node
        return node


def annotate(node: Node, name: str, f: Facts) -> Node:
    node.name = name
    node.title = f.title
    node.description = f.description
    node.unit = f.unit
    node.source = f.source
    return node


class Never(Node):
    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        if strict:
            raise GiveUp
        return None


class Const(Node):
    def __init__(self, value: Any) -> None:
        self.value = value
        self.mutable = isinstance(value, (dict, list))

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        return copy.deepcopy(self.value) if self.mutable else self.value

    def accepts(self, value: Any) -> bool:
        return canon(value) == canon(self.value)


class Enum(Node):
    def __init__(self, options: list[Any]) -> None:
        self.options = options
        self.keys = [canon(v) for v in options]
        self.mutable = any(isinstance(v, (dict, list)) for v in options)

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        v = self.options[rng.randrange(len(self.options))]
        return copy.deepcopy(v) if self.mutable else v

    def accepts(self, value: Any) -> bool:
        return canon(value) in self.keys


class Null(Node):
    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        return None

    def accepts(self, value: Any) -> bool:
        return value is None


class Bool(Node):
    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        return rng.random() < 0.5

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)


class Choice(Node):
    """anyOf / oneOf / if-then-else: one precompiled variant per branch, picked at random."""

    def __init__(self, variants: list[Node], keyword: str) -> None:
        self.variants = variants
        self.keyword = keyword

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        return self.variants[rng.randrange(len(self.variants))].gen(rng, depth, ov, strict)

    def accepts(self, value: Any) -> bool:
        return any(v.target().accepts(value) for v in self.variants)


class String(Node):
    def __init__(self, strategies: list[Callable[[random.Random], str]], check: Callable[[Any], bool] | None,
                 leaf: dict[str, Any]) -> None:
        self.strategies = strategies
        self.check = check
        self.leaf = leaf
        self._accepts: Callable[[Any], bool] | None = None

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        if self.check is None:
            return self.strategies[0](rng)
        check = self.check
        v = ""
        for strategy in self.strategies:
            for _ in range(STRING_TRIES):
                v = strategy(rng)
                if check(v):
                    return v
        if strict:
            raise GiveUp
        return v

    def accepts(self, value: Any) -> bool:
        if self._accepts is None:
            self._accepts = leaf_validator(self.leaf) or (lambda v: isinstance(v, str))
        return self._accepts(value)


class Number(Node):
    def __init__(self, f: Facts, integer: bool, hint: tuple[float, float, list[float]] | None,
                 check: Callable[[Any], bool] | None) -> None:
        self.integer = integer
        self.check = check
        self.leaf = f.leaf_schema()
        self._accepts: Callable[[Any], bool] | None = None
        lo, hi = f.lo, f.hi
        self.lo, self.hi = lo, hi
        self.nice: list[float] = []
        self.a, self.b = self._range(hint)
        self.step: int | None = None
        self.multiple: float | None = None
        if integer:
            step = 1
            for m in f.multiples:
                try:
                    num = Fraction(str(m)).numerator
                except (ValueError, ZeroDivisionError):
                    continue
                step = step * num // math.gcd(step, num)
            self.step = step
            self.decimals = 0
            self.kr = self._krange(step)
            if self.kr is None:  # the realistic range holds no multiple: use the schema's bounds
                self.a, self.b = (lo[0] if lo else -10**6), (hi[0] if hi else 10**6)
                self.kr = self._krange(step)
            self.nice = [v for v in self.nice if float(v).is_integer() and int(v) % step == 0]
        elif f.multiples:
            self.multiple = f.multiples[0]
            self.kr = self._krange(self.multiple)
            if self.kr is None:
                self.a, self.b = (lo[0] if lo else -10**6), (hi[0] if hi else 10**6)
                self.kr = self._krange(self.multiple)
            try:
                exp = Decimal(str(self.multiple)).normalize().as_tuple().exponent
                self.decimals = max(0, -int(exp))
            except (InvalidOperation, ValueError, TypeError):
                self.decimals = 6
            self.nice = []
        else:
            self.kr = None
            self.decimals = 2 if (self.b - self.a) >= 0.5 else 6

    def _range(self, hint: tuple[float, float, list[float]] | None) -> tuple[float, float]:
        """The drawing range: the schema's bounds, narrowed to a realistic range where a hint gives one."""
        a = self.lo[0] if self.lo else None
        b = self.hi[0] if self.hi else None
        if hint is not None and (a is None or hint[1] >= a) and (b is None or hint[0] <= b):
            a2 = hint[0] if a is None else max(a, hint[0])
            b2 = hint[1] if b is None else min(b, hint[1])
            if a2 <= b2:
                a, b = a2, b2
                self.nice = [v for v in hint[2] if self._in_bounds(v)]
        if a is None and b is None:
            return 0, 1000
        if a is None:
            assert b is not None
            return (max(0, b - 1000) if b >= 0 else b - 1000), b
        if b is None:
            return a, a + 1000
        return a, b

    def _in_bounds(self, v: float) -> bool:
        lo, hi = self.lo, self.hi
        if lo is not None and (v < lo[0] or (lo[1] and v == lo[0])):
            return False
        return not (hi is not None and (v > hi[0] or (hi[1] and v == hi[0])))

    def _krange(self, m: float) -> tuple[int, int] | None:
        if m <= 0:
            return None
        k0 = math.ceil(self.a / m)
        k1 = math.floor(self.b / m)
        while k0 <= k1 and not self._in_bounds(k0 * m):
            k0 += 1
        while k1 >= k0 and not self._in_bounds(k1 * m):
            k1 -= 1
        return (k0, k1) if k0 <= k1 else None

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        for _ in range(8):
            v = self._draw(rng)
            if self._in_bounds(v) and (self.check is None or self.check(v)):
                return v
        if strict and (self.check is not None or not self._in_bounds(v)):
            raise GiveUp
        return v

    def _draw(self, rng: random.Random) -> Any:
        if self.nice and rng.random() < 0.4:
            v = self.nice[rng.randrange(len(self.nice))]
            return int(v) if self.integer or float(v).is_integer() else v
        if self.integer:
            if self.kr is None:
                return int(self.a)
            return rng.randint(*self.kr) * (self.step or 1)
        if self.multiple is not None:
            if self.kr is None:
                return self.a
            v = rng.randint(*self.kr) * self.multiple
            v = round(v, self.decimals)
            return int(v) if self.decimals == 0 and float(v).is_integer() else v
        v = round(rng.uniform(self.a, self.b), self.decimals)
        if not self._in_bounds(v):
            v = (self.a + self.b) / 2
        return v

    def accepts(self, value: Any) -> bool:
        if self._accepts is None:
            self._accepts = leaf_validator(self.leaf) or is_number
        return self._accepts(value)


class Array(Node):
    def __init__(self, prefix: list[Node], items: Node | None, lo: int, hi: int, unique: bool,
                 contains: Node | None) -> None:
        self.prefix = prefix
        self.items = items
        self.lo, self.hi = lo, hi
        self.unique = unique
        self.contains = contains

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        if depth >= HARD_DEPTH:
            if strict:
                raise GiveUp
            return []
        n = self.lo if depth >= SOFT_DEPTH else rng.randint(self.lo, self.hi)
        if self.items is None:
            n = min(n, len(self.prefix))
        out: list[Any] = []
        seen: list[str] = []
        tries = 0
        while len(out) < n and tries < n * 6 + 6:
            tries += 1
            i = len(out)
            node = self.prefix[i] if i < len(self.prefix) else self.items
            assert node is not None
            v = node.gen(rng, depth + 1, None, strict)
            if self.unique:
                k = canon(v)
                if k in seen:
                    continue
                seen.append(k)
            out.append(v)
        if self.contains is not None and not out[:1]:
            out.append(self.contains.gen(rng, depth + 1, None, strict))
        elif self.contains is not None:
            out[0] = self.contains.gen(rng, depth + 1, None, strict)
        if strict and len(out) < self.lo:
            raise GiveUp
        return out

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list)


@dataclass(frozen=True)
class Rule:
    """``target`` set from other fields of the same object: ``derive(record, current)`` returns the value, or None to
    keep the drawn one. The rule applies when every source is present (``any_source``: at least one)."""

    target: str
    sources: tuple[str, ...]
    derive: Callable[[dict[str, Any], Any], Any]
    node: Node
    any_source: bool = False

    def apply(self, out: dict[str, Any]) -> None:
        present = [s in out for s in self.sources]
        if self.target not in out or not (any(present) if self.any_source else all(present)):
            return
        try:
            value = self.derive(out, out[self.target])
        except (ValueError, TypeError, IndexError, KeyError):
            return
        if value is not None and self.node.accepts(value):
            out[self.target] = value


class Scope:
    """What one record's fields share while it is drawn: the place (a division) its codes, address and names agree on."""

    def __init__(self) -> None:
        self.place: places.Place | None = None


class Object(Node):
    def __init__(self, props: list[tuple[str, Node, bool]], f: Facts, extra: Node | None) -> None:
        self.props = props
        self.names = [p[0] for p in props]
        self.required = [r for r in f.required if r not in f.forbidden]
        self.min_props = f.min_props
        self.max_props = f.max_props
        self.deps = {k: [x for x in v if x in self.names] for k, v in f.dep_required.items()}
        self.extra = extra
        self.rules: list[Rule] = []
        self.simple = not self.deps and self.min_props is None and self.max_props is None
        # set when the object holds fields that name a place: the scope it draws one into, and the overridable
        # fields (with the offset of their division digits) that decide the place when they are given
        self.scope: Scope | None = None
        self.place_from: list[tuple[str, int]] = []

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        scope = self.scope
        if scope is None or scope.place is not None:  # no place here, or the enclosing record's
            return self._gen(rng, depth, ov, strict)
        scope.place = self._place(rng, ov)
        try:
            return self._gen(rng, depth, ov, strict)
        finally:
            scope.place = None

    def _place(self, rng: random.Random, ov: dict[str, Any] | None) -> places.Place:
        for name, offset in self.place_from:
            value = ov.get(name) if ov else None
            if isinstance(value, str):
                found = places.place_of(value[offset:offset + 6])
                if found is not None:
                    return found
        return places.draw(rng)

    def _gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        if depth >= HARD_DEPTH:
            if strict:
                raise GiveUp
            return {}
        deep = depth >= SOFT_DEPTH
        out: dict[str, Any] = {}
        d1 = depth + 1
        if self.simple:
            for name, node, req in self.props:
                if ov is not None and name in ov:
                    out[name] = ov[name]
                elif req or (not deep and rng.random() < OPTIONAL_PROBABILITY):
                    out[name] = node.gen(rng, d1, None, strict)
        else:
            self._gen_counted(rng, d1, deep, ov, strict, out)
        if ov:
            for k, v in ov.items():
                if k not in out:
                    out[k] = v
        for rule in self.rules:
            if not (ov and rule.target in ov):
                rule.apply(out)
        return out

    def _gen_counted(self, rng: random.Random, d1: int, deep: bool, ov: dict[str, Any] | None, strict: bool,
                     out: dict[str, Any]) -> None:
        present = [req or bool(ov and name in ov) or (not deep and rng.random() < OPTIONAL_PROBABILITY)
                   for name, _, req in self.props]
        index = {name: i for i, name in enumerate(self.names)}
        fixed = [req or bool(ov and name in ov) for name, _, req in self.props]
        extra_ov = sum(1 for k in (ov or {}) if k not in index)
        if self.min_props is not None:
            for i in range(len(present)):
                if sum(present) + extra_ov >= self.min_props:
                    break
                present[i] = True
        changed = True
        while changed and self.deps:
            changed = False
            for i, name in enumerate(self.names):
                if present[i]:
                    for dep in self.deps.get(name, ()):
                        if not present[index[dep]]:
                            present[index[dep]] = changed = True
        if self.max_props is not None:
            needed = {dep for j, n in enumerate(self.names) if present[j] for dep in self.deps.get(n, ())}
            for i in reversed(range(len(present))):
                if sum(present) + extra_ov <= self.max_props:
                    break
                if present[i] and not fixed[i] and self.names[i] not in needed:
                    present[i] = False
                    needed = {dep for j, n in enumerate(self.names) if present[j] for dep in self.deps.get(n, ())}
        for i, (name, node, _) in enumerate(self.props):
            if not present[i]:
                continue
            out[name] = ov[name] if ov is not None and name in ov else node.gen(rng, d1, None, strict)
        if self.min_props is not None and self.extra is not None:
            k = 1
            while len(out) + extra_ov < self.min_props and k < 1000:
                key = f"extra{k}"
                k += 1
                if key not in out and not (ov and key in ov):
                    out[key] = self.extra.gen(rng, d1, None, strict)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)
