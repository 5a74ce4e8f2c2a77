"""Synthetic records valid by construction, deterministic from a ``random.Random``.

The schema is analysed once, in ``Synthesizer.__init__``: every subschema (after ``$ref`` and ``allOf`` are
followed and merged) becomes a small generator node, so that ``generate`` only walks nodes and draws numbers.
Schemas whose validity cannot be guaranteed by construction (``oneOf`` branches that may overlap, ``not``,
``if``/``else``, ``contains``, ...) are marked *risky*: for those each generated value is checked against the
compiled validator and regenerated, with the same ``rng``, until it passes.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Callable, Iterable
from urllib.parse import unquote, urldefrag, urljoin

from mvptest import formats
from mvptest.formats import cn
from mvptest.spec.refs import BundledSchema
from mvptest.synth import values
from mvptest.synth.regex import compile_pattern, python_search

__all__ = ["Synthesizer"]

SOFT_DEPTH = 5  # below this nesting, only required properties and minItems items are generated
HARD_DEPTH = 32  # a schema that requires infinite nesting stops here (the value will be invalid)
OPTIONAL_PROBABILITY = 0.8
MAX_BRANCHES = 16  # anyOf/oneOf branches compiled per keyword
MAX_NODES = 5000  # beyond this, further combinator variants reuse the first branch only
ATTEMPTS = 30  # whole-value attempts for risky schemas
STRING_TRIES = 12  # candidates per strategy for strings that need checking

_DATA_KEYWORDS = ("const", "enum", "examples", "default")
_RISKY_KEYWORDS = ("not", "dependentSchemas", "propertyNames", "unevaluatedProperties", "unevaluatedItems", "contains",
                   "minContains", "maxContains", "$dynamicRef", "$recursiveRef")
_NEVER: dict[str, Any] = {"x-synth-never": True}
_ANYTHING: dict[str, Any] = {}  # one object, so that its id() in memo keys is stable
_MISSING: Any = object()
_PENDING: Any = object()


class _GiveUp(Exception):
    """A leaf could not produce a valid value; the whole value is drawn again."""


def canon(value: Any) -> str:
    """A key equal for values JSON Schema deems equal (1 == 1.0, True != 1, key order irrelevant)."""

    def norm(v: Any) -> Any:
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [norm(x) for x in v]
        return v

    return json.dumps(norm(value), sort_keys=True, ensure_ascii=False, default=str)


def json_type_ok(value: Any, types: Iterable[str]) -> bool:
    for t in types:
        if t == "null" and value is None:
            return True
        if t == "boolean" and isinstance(value, bool):
            return True
        if t == "string" and isinstance(value, str):
            return True
        if t == "object" and isinstance(value, dict):
            return True
        if t == "array" and isinstance(value, list):
            return True
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if t == "number" or (t == "integer" and (isinstance(value, int) or value.is_integer())):
                return True
    return False


def _search(pattern: str, text: str) -> bool:
    fn = python_search(pattern)
    return bool(fn and fn(text))


def _leaf_validator(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A compiled check of a self-contained scalar schema (no $ref), with our formats asserted."""
    try:
        import jsonschema_rs

        return jsonschema_rs.Draft202012Validator(
            schema, formats=formats.custom_checkers(), validate_formats=True, ignore_unknown_formats=True
        ).is_valid
    except Exception:  # noqa: BLE001 - a pattern the validator cannot compile: fall back to Python
        return None


# =========================================================================== merged facts of one subschema


class _Facts:
    """Everything the pieces of one subschema (its $ref targets and allOf branches) say, merged."""

    def __init__(self) -> None:
        self.never = False
        self.risky = False
        self.types: list[str] | None = None
        self.const: Any = _MISSING
        self.enum: list[Any] | None = None
        self.props: dict[str, list[tuple[Any, str]]] = {}
        self.names: list[str] = []
        self.required: list[str] = []
        self.forbidden: list[str] = []
        self.pattern_props: list[tuple[str, Any, str]] = []
        self.additional: list[tuple[Any, str, list[str], list[str]]] = []
        self.min_props: int | None = None
        self.max_props: int | None = None
        self.dep_required: dict[str, list[str]] = {}
        self.prefix: list[list[tuple[Any, str]]] = []
        self.items: list[tuple[Any, str]] = []
        self.items_false = False
        self.min_items = 0
        self.max_items: int | None = None
        self.unique = False
        self.contains: list[tuple[Any, str]] = []
        self.min_len = 0
        self.max_len: int | None = None
        self.patterns: list[str] = []
        self.formats: list[str] = []
        self.lo: tuple[float, bool] | None = None  # (bound, exclusive)
        self.hi: tuple[float, bool] | None = None
        self.multiples: list[float] = []
        self.combinators: list[tuple[int, str]] = []
        self.kinds: dict[str, bool] = {}  # object/array/string/number keywords seen (for a schema without type)
        self.title = ""
        self.description = ""
        self.unit = ""
        self.source: str | None = None  # the `from` keyword: the field this one is filled from
        self.examples: list[Any] = []

    def leaf_schema(self, *, with_values: bool = True) -> dict[str, Any]:
        """The scalar constraints as a self-contained schema (for candidate checks)."""
        s: dict[str, Any] = {}
        every: list[dict[str, Any]] = []
        if self.types is not None:
            s["type"] = list(self.types)
        if self.min_len:
            s["minLength"] = self.min_len
        if self.max_len is not None:
            s["maxLength"] = self.max_len
        every += [{"pattern": p} for p in self.patterns]
        every += [{"format": x} for x in self.formats]
        if self.lo is not None:
            s["exclusiveMinimum" if self.lo[1] else "minimum"] = self.lo[0]
        if self.hi is not None:
            s["exclusiveMaximum" if self.hi[1] else "maximum"] = self.hi[0]
        every += [{"multipleOf": m} for m in self.multiples]
        if with_values:
            if self.const is not _MISSING:
                s["const"] = self.const
            if self.enum is not None:
                s["enum"] = self.enum
        if every:
            s["allOf"] = every
        return s


def _tighter(cur: tuple[float, bool] | None, new: tuple[float, bool], lower: bool) -> tuple[float, bool]:
    if cur is None:
        return new
    if (new[0] > cur[0]) if lower else (new[0] < cur[0]):
        return new
    if new[0] == cur[0] and new[1]:
        return new
    return cur


def _intersect_types(a: list[str], b: list[str]) -> list[str]:
    out: list[str] = []
    for t in a:
        if t in b:
            r = t
        elif t == "number" and "integer" in b or t == "integer" and "number" in b:
            r = "integer"
        else:
            continue
        if r not in out:
            out.append(r)
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


# =========================================================================== generator nodes


class _Node:
    """A compiled subschema. ``gen(rng, depth, overrides, strict)`` returns one value."""

    name = ""
    title = ""
    fmt: str | None = None
    max_len: int | None = None
    unit = ""
    description = ""
    source: str | None = None

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        return False

    def target(self) -> _Node:
        return self


class _Ref(_Node):
    """A node still being built when a recursive reference reached it."""

    def __init__(self) -> None:
        self.node: _Node | None = None

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        assert self.node is not None
        return self.node.gen(rng, depth, ov, strict)

    def target(self) -> _Node:
        node: _Node = self
        for _ in range(64):
            if not isinstance(node, _Ref) or node.node is None:
                break
            node = node.node
        return node


def _annotate(node: _Node, name: str, f: _Facts) -> _Node:
    node.name = name
    node.title = f.title
    node.description = f.description
    node.unit = f.unit
    node.source = f.source
    return node


class _Never(_Node):
    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        if strict:
            raise _GiveUp
        return None


class _Const(_Node):
    def __init__(self, value: Any) -> None:
        self.value = value
        self.mutable = isinstance(value, (dict, list))

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        return copy.deepcopy(self.value) if self.mutable else self.value

    def accepts(self, value: Any) -> bool:
        return canon(value) == canon(self.value)


class _Enum(_Node):
    def __init__(self, options: list[Any]) -> None:
        self.options = options
        self.keys = [canon(v) for v in options]
        self.mutable = any(isinstance(v, (dict, list)) for v in options)

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        v = self.options[rng.randrange(len(self.options))]
        return copy.deepcopy(v) if self.mutable else v

    def accepts(self, value: Any) -> bool:
        return canon(value) in self.keys


class _Null(_Node):
    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        return None

    def accepts(self, value: Any) -> bool:
        return value is None


class _Bool(_Node):
    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        return rng.random() < 0.5

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)


class _Choice(_Node):
    """anyOf / oneOf / if-then-else: one precompiled variant per branch, picked at random."""

    def __init__(self, variants: list[_Node], keyword: str) -> None:
        self.variants = variants
        self.keyword = keyword

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        return self.variants[rng.randrange(len(self.variants))].gen(rng, depth, ov, strict)

    def accepts(self, value: Any) -> bool:
        return any(v.target().accepts(value) for v in self.variants)


class _String(_Node):
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
            raise _GiveUp
        return v

    def accepts(self, value: Any) -> bool:
        if self._accepts is None:
            self._accepts = _leaf_validator(self.leaf) or (lambda v: isinstance(v, str))
        return self._accepts(value)


class _Number(_Node):
    def __init__(self, f: _Facts, integer: bool, hint: tuple[float, float, list[float]] | None,
                 check: Callable[[Any], bool] | None) -> None:
        self.integer = integer
        self.check = check
        self.leaf = f.leaf_schema()
        self._accepts: Callable[[Any], bool] | None = None
        lo, hi = f.lo, f.hi
        self.lo, self.hi = lo, hi
        self.nice: list[float] = []
        # the drawing range: the schema's bounds, narrowed to a realistic range where a hint gives one
        a = lo[0] if lo else None
        b = hi[0] if hi else None
        ha, hb = (hint[0], hint[1]) if hint else (None, None)
        if hint and (a is None or hb >= a) and (b is None or ha <= b):
            a2 = ha if a is None else max(a, ha)
            b2 = hb if b is None else min(b, hb)
            if a2 <= b2:
                a, b = a2, b2
                self.nice = [v for v in hint[2] if self._in_bounds(v)]
        if a is None and b is None:
            a, b = 0, 1000
        elif a is None:
            a = max(0, b - 1000) if b >= 0 else b - 1000
        elif b is None:
            b = a + 1000
        self.a, self.b = a, b
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

    def _in_bounds(self, v: float) -> bool:
        lo, hi = self.lo, self.hi
        if lo is not None and (v < lo[0] or (lo[1] and v == lo[0])):
            return False
        if hi is not None and (v > hi[0] or (hi[1] and v == hi[0])):
            return False
        return True

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
            raise _GiveUp
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
            self._accepts = _leaf_validator(self.leaf) or _is_number
        return self._accepts(value)


class _Array(_Node):
    def __init__(self, prefix: list[_Node], items: _Node | None, lo: int, hi: int, unique: bool,
                 contains: _Node | None) -> None:
        self.prefix = prefix
        self.items = items
        self.lo, self.hi = lo, hi
        self.unique = unique
        self.contains = contains

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        if depth >= HARD_DEPTH:
            if strict:
                raise _GiveUp
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
            raise _GiveUp
        return out

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list)


_Rule = tuple[Callable[[Any], Any], str, str, _Node]


class _Object(_Node):
    def __init__(self, props: list[tuple[str, _Node, bool]], f: _Facts, extra: _Node | None) -> None:
        self.props = props
        self.names = [p[0] for p in props]
        self.required = [r for r in f.required if r not in f.forbidden]
        self.min_props = f.min_props
        self.max_props = f.max_props
        self.deps = {k: [x for x in v if x in self.names] for k, v in f.dep_required.items()}
        self.extra = extra
        self.rules: list[_Rule] = []
        self.simple = not self.deps and self.min_props is None and self.max_props is None

    def gen(self, rng: random.Random, depth: int, ov: dict[str, Any] | None, strict: bool) -> Any:
        if depth >= HARD_DEPTH:
            if strict:
                raise _GiveUp
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
        for derive, target, source, node in self.rules:
            if target in out and source in out and not (ov and target in ov):
                try:
                    v = derive(out[source], out[target]) if getattr(derive, "with_current", False) else derive(out[source])
                except (ValueError, TypeError, IndexError, KeyError):
                    continue
                if v is not None and node.accepts(v):
                    out[target] = v
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


# =========================================================================== derivations between fields


def _birth(fmt: str) -> Callable[[Any], Any]:
    def derive(rid: Any) -> Any:
        if not isinstance(rid, str) or len(rid) != 18 or not cn.is_real_date_compact(rid[6:14]):
            return None
        d = rid[6:14]
        return d if fmt == "date-compact" else f"{d[:4]}-{d[4:6]}-{d[6:]}"

    return derive


def _after_birth(fmt: str) -> Callable[..., Any]:
    """A person's other dates (insured since, employed since, ...) fall after the age of 16, not before the birth."""
    import datetime as _dt

    def derive(rid: Any, current: Any) -> Any:
        if not isinstance(rid, str) or len(rid) != 18 or not cn.is_real_date_compact(rid[6:14]) or not isinstance(current, str):
            return None
        digits = current.replace("-", "")
        birth = _dt.date(int(rid[6:10]), int(rid[10:12]), int(rid[12:14]))
        earliest = birth.replace(year=birth.year + 16) if not (birth.month == 2 and birth.day == 29) else birth.replace(
            year=birth.year + 16, day=28)
        today = _dt.date.today()
        if earliest >= today:
            earliest = birth  # a child: any day since the birth
        if len(digits) == 8 and digits.isdigit() and earliest.strftime("%Y%m%d") <= digits <= today.strftime("%Y%m%d"):
            return None  # already plausible
        if earliest >= today:
            return None
        span = (today - earliest).days
        day = earliest + _dt.timedelta(days=int(digits) % span if digits.isdigit() else 0)
        return day.strftime("%Y%m%d") if fmt == "date-compact" else day.isoformat()

    derive.with_current = True  # type: ignore[attr-defined]
    return derive


def _division(uscc: Any) -> Any:
    if isinstance(uscc, str) and len(uscc) == 18:
        return uscc[2:8]
    return None


def _gender(male: Any, female: Any) -> Callable[[Any], Any]:
    def derive(rid: Any) -> Any:
        if isinstance(rid, str) and len(rid) == 18 and rid[16].isdigit():
            return male if int(rid[16]) % 2 else female
        return None

    return derive


def _copy(v: Any) -> Any:
    return copy.deepcopy(v)


def _is_birth(node: _Node) -> bool:
    n = node.name.lower()
    return "birth" in n or n in ("csrq", "dob") or "出生" in node.title


def _is_gender(node: _Node) -> bool:
    n = node.name.lower()
    return "gender" in n or n in ("sex", "xb", "xbdm") or "性别" in node.title


def _gender_values(options: list[Any]) -> tuple[Any, Any] | None:
    for male, female in (("1", "2"), (1, 2), ("男", "女"), ("M", "F"), ("male", "female")):
        m = [o for o in options if o == male and type(o) is type(male)]
        w = [o for o in options if o == female and type(o) is type(female)]
        if m and w:
            return m[0], w[0]
    return None


def _prefer(names: list[str], *wanted: str) -> str:
    for w in wanted:
        for n in names:
            if n.lower() == w:
                return n
    return names[0]


# =========================================================================== the synthesizer


class Synthesizer:
    """Synthetic values for one schema.

    ``generate(rng, overrides=None)`` returns a value valid against the schema (``overrides`` sets top-level
    properties, echoed as given); ``drift(record, rng)`` returns an invalid copy and what was changed.
    """

    def __init__(self, bundled: BundledSchema) -> None:
        self.bundled = bundled
        self.risky = False
        self._memo: dict[Any, Any] = {}
        self._refs: dict[Any, _Ref] = {}
        self._objects: list[_Object] = []
        self._ids: dict[str, Any] = {}
        self._anchors: dict[tuple[str, str], tuple[Any, str]] = {}
        self._validator: Callable[[Any], bool] | None = None
        self._validator_built = False
        # A file's own declared $id is replaced by its file URI in the compound schema: do the same.
        self._roots = {id(r) for r in bundled.resources.values() if isinstance(r, dict)}
        for uri, resource in bundled.resources.items():
            self._index(resource, uri)
        flat: list[tuple[Any, str, frozenset[str]]] = []
        self._flat_into(bundled.schema, bundled.root_uri, frozenset(), flat, ())
        self.root: _Node = self._compile(tuple(flat), "")
        for obj in self._objects:
            self._derive_rules(obj)
        self._memo.clear()

    def __reduce__(self) -> tuple[Any, ...]:
        # the nodes hold closures; another process rebuilds them from the schema
        return (Synthesizer, (self.bundled,))

    # -- public API --------------------------------------------------------------------------------
    def generate(self, rng: random.Random, overrides: dict[str, Any] | None = None) -> Any:
        """One value valid against the schema, drawn from ``rng``; ``overrides`` sets top-level properties."""
        ov = overrides or None
        root = self.root
        if not self.risky:
            for _ in range(ATTEMPTS - 1):
                try:
                    return root.gen(rng, 0, ov, True)
                except _GiveUp:
                    continue
            return root.gen(rng, 0, ov, False)
        is_valid = self.is_valid
        value: Any = None
        for attempt in range(ATTEMPTS):
            strict = attempt < ATTEMPTS - 1
            try:
                value = root.gen(rng, 0, ov, strict)
            except _GiveUp:
                continue
            if is_valid is None or is_valid(value):
                return value
        return value

    def drift(self, record: Any, rng: random.Random) -> tuple[Any, str]:
        """An invalid deep copy of ``record``, mutated the way real providers drift, and what was done."""
        from mvptest.synth.drift import drift

        return drift(self, record, rng)

    @property
    def is_valid(self) -> Callable[[Any], bool] | None:
        """The compiled validator's yes/no (None when the schema cannot be compiled)."""
        if not self._validator_built:
            try:
                from mvptest.validation.compiled import CompiledSchema

                self._validator = CompiledSchema(self.bundled, mask=False).is_valid
            except Exception:  # noqa: BLE001 - a schema the validator rejects: generation stays best effort
                self._validator = None
            self._validator_built = True
        return self._validator

    # -- references ------------------------------------------------------------------------------
    def _index(self, node: Any, base: str) -> None:
        """Register embedded $id resources and $anchor names, which BundledSchema.resolve does not follow."""
        stack = [(node, base)]
        while stack:
            n, b = stack.pop()
            if isinstance(n, dict):
                sid = n.get("$id")
                if isinstance(sid, str) and sid and id(n) not in self._roots:
                    b = urldefrag(urljoin(b, sid))[0]
                    self._ids.setdefault(b, n)
                for key in ("$anchor", "$dynamicAnchor"):
                    a = n.get(key)
                    if isinstance(a, str):
                        self._anchors.setdefault((b, a), (n, b))
                for k, v in n.items():
                    if k not in _DATA_KEYWORDS:
                        stack.append((v, b))
            elif isinstance(n, list):
                stack.extend((v, b) for v in n)

    def _deref(self, ref: str, base: str) -> tuple[Any, str] | None:
        target = urljoin(base, ref)
        uri, fragment = urldefrag(target)
        resource = self.bundled.resources.get(uri, _MISSING)
        if resource is _MISSING:
            resource = self._ids.get(uri, _MISSING)
        if resource is _MISSING:
            return None
        fragment = unquote(fragment)
        if not fragment:
            return resource, uri
        if not fragment.startswith("/"):
            return self._anchors.get((uri, fragment))
        node = resource
        for raw in fragment[1:].split("/"):
            token = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return None
        return node, uri

    def _flat_into(self, schema: Any, base: str, skip: frozenset[str], out: list[tuple[Any, str, frozenset[str]]],
                   seen: tuple[int, ...]) -> None:
        """Append ``schema`` and everything it is also bound by ($ref targets, allOf branches) to ``out``."""
        if schema is False:
            out.append((_NEVER, base, frozenset()))
            return
        if not isinstance(schema, dict) or id(schema) in seen:
            return
        seen = seen + (id(schema),)
        sid = schema.get("$id")
        if isinstance(sid, str) and sid and id(schema) not in self._roots:
            base = urldefrag(urljoin(base, sid))[0]
        out.append((schema, base, skip))
        for key in ("$ref", "$dynamicRef"):
            ref = schema.get(key)
            if isinstance(ref, str):
                found = self._deref(ref, base)
                if found is None:
                    self.risky = True
                else:
                    self._flat_into(found[0], found[1], frozenset(), out, seen)
        branches = schema.get("allOf")
        if isinstance(branches, list):
            for sub in branches:
                self._flat_into(sub, base, frozenset(), out, seen)

    def _flat(self, schemas: Iterable[tuple[Any, str]]) -> tuple[tuple[Any, str, frozenset[str]], ...]:
        out: list[tuple[Any, str, frozenset[str]]] = []
        for schema, base in schemas:
            self._flat_into(schema, base, frozenset(), out, ())
        return tuple(out)

    # -- merging ---------------------------------------------------------------------------------
    def _merge(self, pieces: tuple[tuple[Any, str, frozenset[str]], ...]) -> _Facts:
        f = _Facts()
        for idx, (d, base, skip) in enumerate(pieces):
            if d is _NEVER:
                f.never = True
                continue
            t = d.get("type")
            if isinstance(t, str):
                t = [t]
            if isinstance(t, list):
                ts = [x for x in t if isinstance(x, str)]
                f.types = ts if f.types is None else _intersect_types(f.types, ts)
            if "const" in d:
                if f.const is _MISSING:
                    f.const = d["const"]
                elif canon(f.const) != canon(d["const"]):
                    f.never = True
            if isinstance(d.get("enum"), list):
                keys = [canon(v) for v in d["enum"]]
                f.enum = list(d["enum"]) if f.enum is None else [v for v in f.enum if canon(v) in keys]
            self._merge_object(f, d, base)
            self._merge_array(f, d, base)
            self._merge_scalar(f, d)
            for kw in ("anyOf", "oneOf"):
                if kw not in skip and isinstance(d.get(kw), list) and d[kw]:
                    f.combinators.append((idx, kw))
            if "if" not in skip and "if" in d and ("then" in d or "else" in d):
                f.combinators.append((idx, "if"))
            for kw in _RISKY_KEYWORDS:
                if kw in d and d[kw] is not True:
                    f.risky = True
            if not f.title and isinstance(d.get("title"), str):
                f.title = d["title"]
            if not f.description and isinstance(d.get("description"), str):
                f.description = d["description"]
            if not f.unit and isinstance(d.get("x-unit"), str):
                f.unit = d["x-unit"]
            if f.source is None and isinstance(d.get("from"), str):
                f.source = d["from"]
            if isinstance(d.get("examples"), list):
                f.examples.extend(d["examples"])
        # properties: names the object may hold, with every schema each is bound by
        f.names = list(f.props) + [r for r in f.required if r not in f.props]
        for deps in f.dep_required.values():
            f.names += [x for x in deps if x not in f.names]
        for ap, base, own, own_patterns in f.additional:
            for name in f.names:
                if name in own or any(_search(p, name) for p in own_patterns):
                    continue
                if ap is False:
                    if name not in f.forbidden:
                        f.forbidden.append(name)
                elif isinstance(ap, dict):
                    f.props.setdefault(name, []).append((ap, base))
        for pattern, sub, base in f.pattern_props:
            for name in f.names:
                if _search(pattern, name):
                    f.props.setdefault(name, []).append((sub, base))
        return f

    @staticmethod
    def _merge_object(f: _Facts, d: dict[str, Any], base: str) -> None:
        props = d.get("properties")
        own: list[str] = []
        if isinstance(props, dict):
            f.kinds["object"] = True
            for name, sub in props.items():
                f.props.setdefault(str(name), []).append((sub, base))
                own.append(str(name))
        req = d.get("required")
        if isinstance(req, list):
            f.kinds["object"] = True
            for r in req:
                if isinstance(r, str) and r not in f.required:
                    f.required.append(r)
        pp = d.get("patternProperties")
        own_patterns: list[str] = []
        if isinstance(pp, dict):
            f.kinds["object"] = True
            for pattern, sub in pp.items():
                f.pattern_props.append((str(pattern), sub, base))
                own_patterns.append(str(pattern))
        if "additionalProperties" in d:
            f.kinds["object"] = True
            f.additional.append((d["additionalProperties"], base, own, own_patterns))
        if isinstance(d.get("minProperties"), int):
            f.min_props = max(f.min_props or 0, d["minProperties"])
        if isinstance(d.get("maxProperties"), int):
            f.max_props = d["maxProperties"] if f.max_props is None else min(f.max_props, d["maxProperties"])
        deps = d.get("dependentRequired")
        if isinstance(deps, dict):
            for k, v in deps.items():
                if isinstance(v, list):
                    f.dep_required.setdefault(str(k), []).extend(x for x in v if isinstance(x, str))

    @staticmethod
    def _merge_array(f: _Facts, d: dict[str, Any], base: str) -> None:
        prefix = d.get("prefixItems")
        items = d.get("items")
        if isinstance(items, list):  # draft 4-7 tuple form
            prefix, items = items, d.get("additionalItems")
        if isinstance(prefix, list):
            f.kinds["array"] = True
            for i, sub in enumerate(prefix):
                while len(f.prefix) <= i:
                    f.prefix.append([])
                f.prefix[i].append((sub, base))
        if items is False:
            f.items_false = True
            f.kinds["array"] = True
        elif isinstance(items, dict):
            f.items.append((items, base))
            f.kinds["array"] = True
        if isinstance(d.get("minItems"), int):
            f.min_items = max(f.min_items, d["minItems"])
            f.kinds["array"] = True
        if isinstance(d.get("maxItems"), int):
            f.max_items = d["maxItems"] if f.max_items is None else min(f.max_items, d["maxItems"])
            f.kinds["array"] = True
        if d.get("uniqueItems") is True:
            f.unique = True
        if isinstance(d.get("contains"), (dict, bool)):
            f.contains.append((d["contains"], base))
            f.kinds["array"] = True

    @staticmethod
    def _merge_scalar(f: _Facts, d: dict[str, Any]) -> None:
        if isinstance(d.get("minLength"), int):
            f.min_len = max(f.min_len, d["minLength"])
            f.kinds["string"] = True
        if isinstance(d.get("maxLength"), int):
            f.max_len = d["maxLength"] if f.max_len is None else min(f.max_len, d["maxLength"])
            f.kinds["string"] = True
        if isinstance(d.get("pattern"), str) and d["pattern"] not in f.patterns:
            f.patterns.append(d["pattern"])
            f.kinds["string"] = True
        if isinstance(d.get("format"), str) and d["format"] not in f.formats:
            f.formats.append(d["format"])
            f.kinds["string"] = True
        for key, lower, excl in (("minimum", True, False), ("exclusiveMinimum", True, True),
                                 ("maximum", False, False), ("exclusiveMaximum", False, True)):
            v = d.get(key)
            if _is_number(v):
                f.kinds["number"] = True
                if lower:
                    f.lo = _tighter(f.lo, (v, excl), True)
                else:
                    f.hi = _tighter(f.hi, (v, excl), False)
        m = d.get("multipleOf")
        if _is_number(m) and m > 0:
            f.multiples.append(m)
            f.kinds["number"] = True

    # -- compiling -------------------------------------------------------------------------------
    def _compile(self, pieces: tuple[tuple[Any, str, frozenset[str]], ...], name: str) -> _Node:
        key = (tuple((id(d), b, s) for d, b, s in pieces), name)
        node = self._memo.get(key)
        if node is _PENDING:
            ref = self._refs.get(key)
            if ref is None:
                ref = self._refs[key] = _Ref()
            return ref
        if node is not None:
            return node
        self._memo[key] = _PENDING
        try:
            node = self._build(pieces, name)
        except RecursionError:
            node = _Never()
            self.risky = True
        self._memo[key] = node
        ref = self._refs.pop(key, None)
        if ref is not None:
            ref.node = node
        return node

    def _child(self, schemas: list[tuple[Any, str]], name: str) -> _Node:
        return self._compile(self._flat(schemas), name)

    def _build(self, pieces: tuple[tuple[Any, str, frozenset[str]], ...], name: str) -> _Node:
        f = self._merge(pieces)
        if f.risky:
            self.risky = True
        if f.never:
            self.risky = True
            return _Never()
        if f.combinators:
            return self._build_choice(pieces, f, name)
        if f.const is not _MISSING:
            return _annotate(_Const(f.const), name, f)
        if f.enum is not None:
            return _annotate(self._build_enum(f), name, f)
        kind = self._pick_type(f)
        if kind == "object":
            node: _Node = self._build_object(f, name)
        elif kind == "array":
            node = self._build_array(f, name)
        elif kind in ("integer", "number"):
            node = self._build_number(f, name, kind == "integer")
        elif kind == "boolean":
            node = _Bool()
        elif kind == "null":
            node = _Null()
        else:
            node = self._build_string(f, name)
        return _annotate(node, name, f)

    def _pick_type(self, f: _Facts) -> str:
        if f.types is not None:
            for t in f.types:
                if t != "null":
                    return t
            if "null" in f.types:
                return "null"
            self.risky = True  # no type satisfies every piece
        for kind in ("object", "array", "string", "number"):
            if f.kinds.get(kind):
                if kind == "number" and f.multiples and all(float(m).is_integer() for m in f.multiples):
                    return "integer"
                return kind
        return "string"

    def _build_choice(self, pieces: tuple[tuple[Any, str, frozenset[str]], ...], f: _Facts, name: str) -> _Node:
        idx, kw = f.combinators[0]
        d, base, skip = pieces[idx]
        rest = list(pieces)
        rest[idx] = (d, base, skip | {kw})
        variants: list[_Node] = []
        if kw == "if":
            self.risky = True
            then = list(rest)
            self._flat_into(d["if"], base, frozenset(), then, ())
            if "then" in d:
                self._flat_into(d["then"], base, frozenset(), then, ())
            otherwise = list(rest)
            if "else" in d:
                self._flat_into(d["else"], base, frozenset(), otherwise, ())
            variants = [self._compile(tuple(then), name), self._compile(tuple(otherwise), name)]
        else:
            branches = d[kw][:MAX_BRANCHES] if len(self._memo) < MAX_NODES else d[kw][:1]
            if len(d[kw]) > len(branches):
                self.risky = True
            for sub in branches:
                flat = list(rest)
                self._flat_into(sub, base, frozenset(), flat, ())
                variants.append(self._compile(tuple(flat), name))
            if kw == "oneOf" and len(d[kw]) > 1 and not self._disjoint(d[kw], base):
                self.risky = True
        node = _Choice(variants, kw)
        return _annotate(node, name, f)

    def _disjoint(self, branches: list[Any], base: str) -> bool:
        """True when no value can match two oneOf branches (different types, values or discriminators)."""
        sigs = []
        for sub in branches:
            f = self._merge(self._flat([(sub, base)]))
            if f.combinators or f.never:
                return False
            values_ = None
            if f.const is not _MISSING:
                values_ = [canon(f.const)]
            elif f.enum is not None:
                values_ = [canon(v) for v in f.enum]
            tags: dict[str, list[str]] = {}
            for prop in f.required:
                if prop in f.props:
                    pf = self._merge(self._flat(f.props[prop]))
                    if pf.const is not _MISSING:
                        tags[prop] = [canon(pf.const)]
                    elif pf.enum is not None:
                        tags[prop] = [canon(v) for v in pf.enum]
            sigs.append((f.types, values_, tags))
        for i in range(len(sigs)):
            for j in range(i + 1, len(sigs)):
                (ta, va, ga), (tb, vb, gb) = sigs[i], sigs[j]
                if ta is not None and tb is not None and not _intersect_types(ta, tb):
                    continue
                if va is not None and vb is not None and not set(va) & set(vb):
                    continue
                if any(p in gb and not set(ga[p]) & set(gb[p]) for p in ga):
                    continue
                return False
        return True

    def _build_enum(self, f: _Facts) -> _Node:
        options = list(f.enum or [])
        leaf = f.leaf_schema(with_values=False)
        check = _leaf_validator(leaf) if leaf else None
        if check is not None:
            fitting = [v for v in options if check(v)]
        elif f.types is not None:
            fitting = [v for v in options if json_type_ok(v, f.types)]
        else:
            fitting = options
        if not fitting:
            self.risky = True
            if not options:
                return _Never()
            fitting = options
        return _Enum(fitting)

    def _build_object(self, f: _Facts, name: str) -> _Node:
        required = set(f.required)
        props: list[tuple[str, _Node, bool]] = []
        for prop in f.names:
            if prop in f.forbidden:
                if prop in required:
                    self.risky = True
                else:
                    continue
            schemas = f.props.get(prop)
            child = self._child(schemas, prop) if schemas else self._child([(_ANYTHING, "")], prop)
            props.append((prop, child, prop in required))
        extra = None
        if f.min_props is not None and len(props) < f.min_props:
            extras = [(ap, b) for ap, b, _, _ in f.additional]
            if any(ap is False for ap, _ in extras) or f.pattern_props:
                self.risky = True
            else:
                extra = self._child([(ap, b) for ap, b in extras if isinstance(ap, dict)] or [(_ANYTHING, "")], "extra")
        node = _Object(props, f, extra)
        self._objects.append(node)
        return node

    def _build_array(self, f: _Facts, name: str) -> _Node:
        prefix = [self._child(p, name) for p in f.prefix]
        items: _Node | None
        if f.items_false:
            items = None
        else:
            items = self._child(f.items or [(_ANYTHING, "")], name)
        lo = f.min_items
        hi = lo + 3 if f.max_items is None else min(f.max_items, lo + 3)
        if f.max_items is not None and f.max_items < lo:
            self.risky = True
            hi = lo
        if items is None and lo > len(prefix):
            self.risky = True
        contains = None
        if f.contains:
            self.risky = True
            contains = self._child(f.contains + f.items, name)
        return _Array(prefix, items, lo, hi, f.unique, contains)

    def _build_number(self, f: _Facts, name: str, integer: bool) -> _Node:
        hint = values.amount_hint(name, f.title, f.description, f.unit)
        check = None
        if len(f.multiples) > 1 or any(not float(m).is_integer() for m in f.multiples):
            check = _leaf_validator(f.leaf_schema(with_values=False))
        node = _Number(f, integer, hint, check)
        if node.kr is None and (integer or node.multiple is not None):
            self.risky = True  # no multiple within the bounds
        if f.lo is not None and f.hi is not None and (f.lo[0] > f.hi[0] or f.lo[0] == f.hi[0] and (f.lo[1] or f.hi[1])):
            self.risky = True
        return node

    def _build_string(self, f: _Facts, name: str) -> _Node:
        strategies: list[Callable[[random.Random], str]] = []
        need_check = len(f.formats) > 1 or len(f.patterns) > 0
        primary = None
        for fmt in f.formats:
            g = values.format_generator(fmt)
            if g is not None:
                strategies.append(g)
                primary = fmt
                break
        if strategies and (f.min_len > 0 or f.max_len is not None):
            need_check = True
            if primary in ("email", "idn-email"):
                strategies.append(values.short_email)
        for pattern in f.patterns:
            g = compile_pattern(pattern)
            if g is not None:
                strategies.append(g)
        if f.max_len is not None and f.min_len > f.max_len:
            self.risky = True
        text = self._text_strategy(f, name)
        if not strategies or need_check:
            strategies.append(text)
        check = None
        if need_check:
            check = _leaf_validator(f.leaf_schema(with_values=False)) or self._python_check(f)
        node = _String(strategies, check, f.leaf_schema())
        node.fmt = f.formats[0] if f.formats else None
        node.max_len = f.max_len
        return node

    @staticmethod
    def _python_check(f: _Facts) -> Callable[[Any], bool]:
        searches = [python_search(p) for p in f.patterns]
        fmts = [formats.REGISTRY[x].check for x in f.formats if x in formats.REGISTRY]
        lo, hi = f.min_len, f.max_len

        def check(v: Any) -> bool:
            return (isinstance(v, str) and lo <= len(v) and (hi is None or len(v) <= hi)
                    and all(s is None or s(v) for s in searches) and all(c(v) for c in fmts))

        return check

    @staticmethod
    def _text_strategy(f: _Facts, name: str) -> Callable[[random.Random], str]:
        lo, hi = f.min_len, f.max_len
        hint = values.text_hint(name, f.title, f.description)
        special = values.TEXT_HINTS.get(hint or "")
        n_lo = lo if lo > 0 else (0 if hi == 0 else 1)
        n_hi = max(n_lo, 4) + 8
        if hi is not None:
            n_hi = max(min(n_hi, hi), n_lo)
        ascii_ = hint == "code"
        examples = [e for e in f.examples if isinstance(e, str) and lo <= len(e) and (hi is None or len(e) <= hi)]
        if f.patterns or f.formats:
            examples = []

        def text(rng: random.Random) -> str:
            if special is not None:
                v = special(rng)
                if lo <= len(v) and (hi is None or len(v) <= hi):
                    return v
            elif examples and rng.random() < 0.3:
                return examples[rng.randrange(len(examples))]
            n = rng.randint(n_lo, n_hi)
            return values.ascii_text(rng, n) if ascii_ else values.chinese_text(rng, n)

        return text

    # -- derivations -----------------------------------------------------------------------------
    def _derive_rules(self, obj: _Object) -> None:
        children = {name: node.target() for name, node, _ in obj.props}
        usccs = [n for n, c in children.items() if c.fmt == "cn-uscc"]
        rids = [n for n, c in children.items() if c.fmt == "cn-resident-id"]
        for name, child in children.items():
            if child.fmt == "cn-admin-division" and usccs:
                obj.rules.append((_division, name, _prefer(usccs, "uscc", "creditcode", "tyshxydm"), child))
            if rids and child.fmt in ("date", "date-compact") and _is_birth(child):
                obj.rules.append((_birth(child.fmt), name, _prefer(rids, "idnumber", "idcard", "sfzh", "gmsfhm"), child))
            elif rids and child.fmt in ("date", "date-compact"):
                obj.rules.append((_after_birth(child.fmt), name, _prefer(rids, "idnumber", "idcard", "sfzh", "gmsfhm"),
                                  child))
            if rids and isinstance(child, _Enum) and _is_gender(child):
                pair = _gender_values(child.options)
                if pair:
                    obj.rules.append((_gender(*pair), name, _prefer(rids, "idnumber", "idcard", "sfzh", "gmsfhm"), child))
            src = child.source
            if isinstance(src, str) and re.fullmatch(r"/[^/]+", src):
                other = src[1:].replace("~1", "/").replace("~0", "~")
                if other in children and other != name:
                    obj.rules.append((_copy, name, other, child))
