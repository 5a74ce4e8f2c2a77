"""Schema analysis for the synthesizer: the schemas that bind one value ($ref, allOf), merged into one set of facts."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from mvptest.spec.refs import BundledSchema
from mvptest.synth.regex import python_search

__all__ = ["ANYTHING", "MISSING", "NEVER", "Analyzer", "Facts", "Piece", "canon", "intersect_types", "is_number",
           "json_type_ok"]

RISKY_KEYWORDS = ("not", "dependentSchemas", "propertyNames", "unevaluatedProperties", "unevaluatedItems", "contains",
                  "minContains", "maxContains", "$dynamicRef", "$recursiveRef")
NEVER: dict[str, Any] = {"x-synth-never": True}
ANYTHING: dict[str, Any] = {}  # one object, so that its id() in memo keys is stable
MISSING: Any = object()

Piece = tuple[Any, str, frozenset[str]]  # a schema, its base URI, the combinator keywords already expanded


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
        if isinstance(value, (int, float)) and not isinstance(value, bool) and (
                t == "number" or (t == "integer" and (isinstance(value, int) or value.is_integer()))):
            return True
    return False


def name_matches(pattern: str, text: str) -> bool:
    fn = python_search(pattern)
    return bool(fn and fn(text))


class Facts:
    """Everything the pieces of one subschema (its $ref targets and allOf branches) say, merged."""

    def __init__(self) -> None:
        self.never = False
        self.risky = False
        self.types: list[str] | None = None
        self.const: Any = MISSING
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
            if self.const is not MISSING:
                s["const"] = self.const
            if self.enum is not None:
                s["enum"] = self.enum
        if every:
            s["allOf"] = every
        return s


def tighter(cur: tuple[float, bool] | None, new: tuple[float, bool], lower: bool) -> tuple[float, bool]:
    if cur is None:
        return new
    if (new[0] > cur[0]) if lower else (new[0] < cur[0]):
        return new
    if new[0] == cur[0] and new[1]:
        return new
    return cur


def intersect_types(a: list[str], b: list[str]) -> list[str]:
    out: list[str] = []
    for t in a:
        if t in b:
            r = t
        elif (t == "number" and "integer" in b) or (t == "integer" and "number" in b):
            r = "integer"
        else:
            continue
        if r not in out:
            out.append(r)
    return out


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class Analyzer:
    """Flattens a subschema with everything it is also bound by and merges the pieces' facts.

    References are followed by the bundle's one resolver (``BundledSchema.deref``); one that names nothing in
    the tree makes the schema *risky* (each value is then checked against the validator).
    """

    def __init__(self, bundled: BundledSchema) -> None:
        self.bundled = bundled
        self.risky = False

    def flat_into(self, schema: Any, base: str, skip: frozenset[str], out: list[tuple[Any, str, frozenset[str]]],
                   seen: tuple[int, ...]) -> None:
        """Append ``schema`` and everything it is also bound by ($ref targets, allOf branches) to ``out``."""
        if schema is False:
            out.append((NEVER, base, frozenset()))
            return
        if not isinstance(schema, dict) or id(schema) in seen:
            return
        seen = (*seen, id(schema))
        base = self.bundled.base_of(schema, base)
        out.append((schema, base, skip))
        for key in ("$ref", "$dynamicRef"):
            ref = schema.get(key)
            if isinstance(ref, str):
                found = self.bundled.deref(ref, base)
                if found is None:
                    self.risky = True
                else:
                    self.flat_into(found[0], found[1], frozenset(), out, seen)
        branches = schema.get("allOf")
        if isinstance(branches, list):
            for sub in branches:
                self.flat_into(sub, base, frozenset(), out, seen)

    def flat(self, schemas: Iterable[tuple[Any, str]]) -> tuple[tuple[Any, str, frozenset[str]], ...]:
        out: list[tuple[Any, str, frozenset[str]]] = []
        for schema, base in schemas:
            self.flat_into(schema, base, frozenset(), out, ())
        return tuple(out)

    # -- merging ---------------------------------------------------------------------------------
    def merge(self, pieces: tuple[tuple[Any, str, frozenset[str]], ...]) -> Facts:
        f = Facts()
        for idx, (d, base, skip) in enumerate(pieces):
            if d is NEVER:
                f.never = True
                continue
            t = d.get("type")
            if isinstance(t, str):
                t = [t]
            if isinstance(t, list):
                ts = [x for x in t if isinstance(x, str)]
                f.types = ts if f.types is None else intersect_types(f.types, ts)
            if "const" in d:
                if f.const is MISSING:
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
            for kw in RISKY_KEYWORDS:
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
                if name in own or any(name_matches(p, name) for p in own_patterns):
                    continue
                if ap is False:
                    if name not in f.forbidden:
                        f.forbidden.append(name)
                elif isinstance(ap, dict):
                    f.props.setdefault(name, []).append((ap, base))
        for pattern, sub, base in f.pattern_props:
            for name in f.names:
                if name_matches(pattern, name):
                    f.props.setdefault(name, []).append((sub, base))
        return f

    @staticmethod
    def _merge_object(f: Facts, d: dict[str, Any], base: str) -> None:
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
    def _merge_array(f: Facts, d: dict[str, Any], base: str) -> None:
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
    def _merge_scalar(f: Facts, d: dict[str, Any]) -> None:
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
            if isinstance(v, (int, float)) and is_number(v):
                f.kinds["number"] = True
                if lower:
                    f.lo = tighter(f.lo, (v, excl), True)
                else:
                    f.hi = tighter(f.hi, (v, excl), False)
        m = d.get("multipleOf")
        if isinstance(m, (int, float)) and is_number(m) and m > 0:
            f.multiples.append(m)
            f.kinds["number"] = True
