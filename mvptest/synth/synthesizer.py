"""Synthetic records valid by construction, deterministic from a ``random.Random``.

The schema is analysed once, in ``Synthesizer.__init__`` (synth/analysis.py: every subschema with its ``$ref``
targets and ``allOf`` branches, merged), and compiled into generator nodes (synth/nodes.py), so that ``generate``
only walks nodes and draws numbers. Schemas whose validity cannot be guaranteed by construction (``oneOf``
branches that may overlap, ``not``, ``if``/``else``, ``contains``, ...) are marked *risky*: for those each generated
value is checked against the compiled validator and regenerated, with the same ``rng``, until it passes.

A record is internally consistent as a provider's real ones are: one place per record (formats/places.py) for its
codes, address and enterprise name, and the rules of formats/derive.py between its fields (a credit code's
division, a resident ID's birth date and gender, dates in order, ``from:`` copies).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from mvptest import formats
from mvptest.formats import derive, places
from mvptest.spec import pointer
from mvptest.spec.refs import BundledSchema
from mvptest.synth import values
from mvptest.synth.analysis import ANYTHING, MISSING, Analyzer, Facts, Piece, canon, intersect_types, json_type_ok
from mvptest.synth.drift import drift
from mvptest.synth.nodes import (
    Array,
    Bool,
    Choice,
    Const,
    Enum,
    GiveUp,
    Never,
    Node,
    Null,
    Number,
    Object,
    Ref,
    Rule,
    Scope,
    String,
    annotate,
    leaf_validator,
)
from mvptest.synth.regex import compile_pattern, python_search

__all__ = ["Synthesizer"]

MAX_BRANCHES = 16  # anyOf/oneOf branches compiled per keyword
MAX_NODES = 5000  # beyond this, further combinator variants reuse the first branch only
ATTEMPTS = 30  # whole-value attempts for risky schemas
_PENDING: Any = object()


class Synthesizer:
    """Synthetic values for one schema.

    ``generate(rng, overrides=None)`` returns a value valid against the schema (``overrides`` sets top-level
    properties, echoed as given); ``drift(record, rng)`` returns an invalid copy and what was changed.
    """

    def __init__(self, bundled: BundledSchema) -> None:
        self.bundled = bundled
        self.analysis = Analyzer(bundled)
        self._risky = False
        self.scope = Scope()
        self._memo: dict[Any, Any] = {}
        self._refs: dict[Any, Ref] = {}
        self._objects: list[Object] = []
        self._validator: Callable[[Any], bool] | None = None
        self._validator_built = False
        flat: list[Piece] = []
        self.analysis.flat_into(bundled.schema, bundled.root_uri, frozenset(), flat, ())
        self.root: Node = self._compile(tuple(flat), "")
        for obj in self._objects:
            self._derive_rules(obj)
        self._memo.clear()

    @property
    def risky(self) -> bool:
        return self._risky or self.analysis.risky

    @risky.setter
    def risky(self, value: bool) -> None:
        self._risky = value

    def __reduce__(self) -> tuple[Any, ...]:
        # the nodes hold closures; another process rebuilds them from the schema
        return (Synthesizer, (self.bundled,))

    # -- public API --------------------------------------------------------------------------------
    def generate(self, rng: random.Random, overrides: dict[str, Any] | None = None, *,
                 place: places.Place | None = None) -> Any:
        """One value valid against the schema, drawn from ``rng``; ``overrides`` sets top-level properties and
        ``place`` the division its codes, addresses and names are in (one drawn per record when None)."""
        self.scope.place = place
        try:
            return self._generate(rng, overrides or None)
        finally:
            self.scope.place = None

    def _generate(self, rng: random.Random, ov: dict[str, Any] | None) -> Any:
        root = self.root
        if not self.risky:
            for _ in range(ATTEMPTS - 1):
                try:
                    return root.gen(rng, 0, ov, True)
                except GiveUp:
                    continue
            return root.gen(rng, 0, ov, False)
        is_valid = self.is_valid
        value: Any = None
        for attempt in range(ATTEMPTS):
            strict = attempt < ATTEMPTS - 1
            try:
                value = root.gen(rng, 0, ov, strict)
            except GiveUp:
                continue
            if is_valid is None or is_valid(value):
                return value
        return value

    def drift(self, record: Any, rng: random.Random) -> tuple[Any, str]:
        """An invalid deep copy of ``record``, mutated the way real providers drift, and what was done."""
        return drift(self.root, record, rng, self.is_valid)

    @property
    def is_valid(self) -> Callable[[Any], bool] | None:
        """The compiled validator's yes/no (None when the schema cannot be compiled)."""
        if not self._validator_built:
            try:
                from mvptest.validation.compiled import CompiledSchema

                self._validator = CompiledSchema(self.bundled, mask=False).is_valid
            except Exception:
                self._validator = None
            self._validator_built = True
        return self._validator

    # -- compiling -------------------------------------------------------------------------------
    def _compile(self, pieces: tuple[tuple[Any, str, frozenset[str]], ...], name: str) -> Node:
        key = (tuple((id(d), b, s) for d, b, s in pieces), name)
        node = self._memo.get(key)
        if node is _PENDING:
            ref = self._refs.get(key)
            if ref is None:
                ref = self._refs[key] = Ref()
            return ref
        if node is not None:
            return node
        self._memo[key] = _PENDING
        try:
            node = self._build(pieces, name)
        except RecursionError:
            node = Never()
            self.risky = True
        self._memo[key] = node
        ref = self._refs.pop(key, None)
        if ref is not None:
            ref.node = node
        return node

    def _child(self, schemas: list[tuple[Any, str]], name: str) -> Node:
        return self._compile(self.analysis.flat(schemas), name)

    def _build(self, pieces: tuple[tuple[Any, str, frozenset[str]], ...], name: str) -> Node:
        f = self.analysis.merge(pieces)
        if f.risky:
            self.risky = True
        if f.never:
            self.risky = True
            return Never()
        if f.combinators:
            return self._build_choice(pieces, f, name)
        if f.const is not MISSING:
            return annotate(Const(f.const), name, f)
        if f.enum is not None:
            return annotate(self._build_enum(f), name, f)
        kind = self._pick_type(f)
        if kind == "object":
            node: Node = self._build_object(f, name)
        elif kind == "array":
            node = self._build_array(f, name)
        elif kind in ("integer", "number"):
            node = self._build_number(f, name, kind == "integer")
        elif kind == "boolean":
            node = Bool()
        elif kind == "null":
            node = Null()
        else:
            node = self._build_string(f, name)
        return annotate(node, name, f)

    def _pick_type(self, f: Facts) -> str:
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

    def _build_choice(self, pieces: tuple[tuple[Any, str, frozenset[str]], ...], f: Facts, name: str) -> Node:
        idx, kw = f.combinators[0]
        d, base, skip = pieces[idx]
        rest = list(pieces)
        rest[idx] = (d, base, skip | {kw})
        variants: list[Node] = []
        if kw == "if":
            self.risky = True
            then = list(rest)
            self.analysis.flat_into(d["if"], base, frozenset(), then, ())
            if "then" in d:
                self.analysis.flat_into(d["then"], base, frozenset(), then, ())
            otherwise = list(rest)
            if "else" in d:
                self.analysis.flat_into(d["else"], base, frozenset(), otherwise, ())
            variants = [self._compile(tuple(then), name), self._compile(tuple(otherwise), name)]
        else:
            branches = d[kw][:MAX_BRANCHES] if len(self._memo) < MAX_NODES else d[kw][:1]
            if len(d[kw]) > len(branches):
                self.risky = True
            for sub in branches:
                flat = list(rest)
                self.analysis.flat_into(sub, base, frozenset(), flat, ())
                variants.append(self._compile(tuple(flat), name))
            if kw == "oneOf" and len(d[kw]) > 1 and not self._disjoint(d[kw], base):
                self.risky = True
        node = Choice(variants, kw)
        return annotate(node, name, f)

    def _disjoint(self, branches: list[Any], base: str) -> bool:
        """True when no value can match two oneOf branches (different types, values or discriminators)."""
        sigs = []
        for sub in branches:
            f = self.analysis.merge(self.analysis.flat([(sub, base)]))
            if f.combinators or f.never:
                return False
            values_ = None
            if f.const is not MISSING:
                values_ = [canon(f.const)]
            elif f.enum is not None:
                values_ = [canon(v) for v in f.enum]
            tags: dict[str, list[str]] = {}
            for prop in f.required:
                if prop in f.props:
                    pf = self.analysis.merge(self.analysis.flat(f.props[prop]))
                    if pf.const is not MISSING:
                        tags[prop] = [canon(pf.const)]
                    elif pf.enum is not None:
                        tags[prop] = [canon(v) for v in pf.enum]
            sigs.append((f.types, values_, tags))
        for i in range(len(sigs)):
            for j in range(i + 1, len(sigs)):
                (ta, va, ga), (tb, vb, gb) = sigs[i], sigs[j]
                if ta is not None and tb is not None and not intersect_types(ta, tb):
                    continue
                if va is not None and vb is not None and not set(va) & set(vb):
                    continue
                if any(p in gb and not set(ga[p]) & set(gb[p]) for p in ga):
                    continue
                return False
        return True

    def _build_enum(self, f: Facts) -> Node:
        options = list(f.enum or [])
        leaf = f.leaf_schema(with_values=False)
        check = leaf_validator(leaf) if leaf else None
        if check is not None:
            fitting = [v for v in options if check(v)]
        elif f.types is not None:
            fitting = [v for v in options if json_type_ok(v, f.types)]
        else:
            fitting = options
        if not fitting:
            self.risky = True
            if not options:
                return Never()
            fitting = options
        return Enum(fitting)

    def _build_object(self, f: Facts, name: str) -> Node:
        required = set(f.required)
        props: list[tuple[str, Node, bool]] = []
        for prop in f.names:
            if prop in f.forbidden:
                if prop in required:
                    self.risky = True
                else:
                    continue
            schemas = f.props.get(prop)
            child = self._child(schemas, prop) if schemas else self._child([(ANYTHING, "")], prop)
            props.append((prop, child, prop in required))
        extra = None
        if f.min_props is not None and len(props) < f.min_props:
            extras = [(ap, b) for ap, b, _, _ in f.additional]
            if any(ap is False for ap, _ in extras) or f.pattern_props:
                self.risky = True
            else:
                extra = self._child([(ap, b) for ap, b in extras if isinstance(ap, dict)] or [(ANYTHING, "")], "extra")
        node = Object(props, f, extra)
        self._objects.append(node)
        return node

    def _build_array(self, f: Facts, name: str) -> Node:
        prefix = [self._child(p, name) for p in f.prefix]
        items: Node | None
        if f.items_false:
            items = None
        else:
            items = self._child(f.items or [(ANYTHING, "")], name)
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
        return Array(prefix, items, lo, hi, f.unique, contains)

    def _build_number(self, f: Facts, name: str, integer: bool) -> Node:
        hint = values.amount_hint(name, f.title, f.description, f.unit)
        check = None
        if len(f.multiples) > 1 or any(not float(m).is_integer() for m in f.multiples):
            check = leaf_validator(f.leaf_schema(with_values=False))
        node = Number(f, integer, hint, check)
        if node.kr is None and (integer or node.multiple is not None):
            self.risky = True  # no multiple within the bounds
        if f.lo is not None and f.hi is not None and (f.lo[0] > f.hi[0] or (f.lo[0] == f.hi[0] and (f.lo[1] or f.hi[1]))):
            self.risky = True
        return node

    def _build_string(self, f: Facts, name: str) -> Node:
        strategies: list[Callable[[random.Random], str]] = []
        need_check = len(f.formats) > 1 or len(f.patterns) > 0
        primary = None
        for fmt in f.formats:
            g = self._placed(fmt) or values.format_generator(fmt)
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
            check = leaf_validator(f.leaf_schema(with_values=False)) or self._python_check(f)
        node = String(strategies, check, f.leaf_schema())
        node.fmt = f.formats[0] if f.formats else None
        node.hint = values.text_hint(name, f.title, f.description)
        node.max_len = f.max_len
        return node

    @staticmethod
    def _python_check(f: Facts) -> Callable[[Any], bool]:
        searches = [python_search(p) for p in f.patterns]
        fmts = [formats.REGISTRY[x].check for x in f.formats if x in formats.REGISTRY]
        lo, hi = f.min_len, f.max_len

        def check(v: Any) -> bool:
            return (isinstance(v, str) and lo <= len(v) and (hi is None or len(v) <= hi)
                    and all(s is None or s(v) for s in searches) and all(c(v) for c in fmts))

        return check

    def _text_strategy(self, f: Facts, name: str) -> Callable[[random.Random], str]:
        lo, hi = f.min_len, f.max_len
        hint = values.text_hint(name, f.title, f.description)
        special = values.TEXT_HINTS.get(hint or "")
        in_place = values.PLACE_HINTS.get(hint or "")
        scope = self.scope
        if in_place is not None:
            special = lambda rng: in_place(rng, scope.place)
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

    def _placed(self, fmt: str) -> Callable[[random.Random], str] | None:
        """A code of a format that carries a division, issued in the record's place when it has one."""
        entry = formats.DIVISION_FORMATS.get(fmt)
        if entry is None:
            return None
        issue, scope = entry[0], self.scope
        return lambda rng: issue(rng, scope.place.code if scope.place else None)

    # -- derivations -----------------------------------------------------------------------------
    def _derive_rules(self, obj: Object) -> None:
        """The rules between an object's fields (formats/derive.py), and whether it draws a place for its record."""
        children = {name: node.target() for name, node, _ in obj.props}
        usccs = [n for n, c in children.items() if c.fmt == "cn-uscc"]
        rids = [n for n, c in children.items() if c.fmt == "cn-resident-id"]
        uscc = derive.prefer(usccs, derive.USCC_NAMES) if usccs else ""
        rid = derive.prefer(rids, derive.ID_NAMES) if rids else ""
        for name, child in children.items():
            if child.fmt == "cn-admin-division" and uscc:
                obj.rules.append(Rule(name, (uscc,), derive.division_from(uscc), child))
            if rid and child.fmt in ("date", "date-compact"):
                make = derive.birth_from if derive.is_birth(child.name, child.title) else derive.after_birth
                obj.rules.append(Rule(name, (rid,), make(rid, child.fmt), child))
            pair = _gender_pair(child) if rid else None
            if pair:
                obj.rules.append(Rule(name, (rid,), derive.gender_from(rid, *pair), child))
        dates = [n for n, c in children.items() if c.fmt in derive.DATE_FORMATS]
        for name in dates:
            earlier = tuple(derive.later_than(name, dates))
            if earlier:
                obj.rules.append(Rule(name, earlier, derive.date_order(earlier, children[name].fmt or "date"), children[name],
                                      any_source=True))
        for name, child in children.items():
            src = child.source
            if isinstance(src, str) and re.fullmatch(r"/[^/]+", src):
                other = pointer.unescape(src[1:])
                if other in children and other != name:
                    obj.rules.append(Rule(name, (other,), _copy_of(other), child))
        placed = [(n, formats.DIVISION_FORMATS[c.fmt][1]) for n, c in children.items() if c.fmt in formats.DIVISION_FORMATS]
        if placed or any(c.hint in values.PLACE_HINTS for c in children.values()):
            obj.scope = self.scope
            obj.place_from = sorted(placed, key=lambda p: (p[0] != uscc, p[0] != rid))


def _gender_pair(node: Node) -> tuple[Any, Any] | None:
    if isinstance(node, Enum) and derive.is_gender(node.name, node.title):
        return derive.gender_values(node.options)
    return None


def _copy_of(field: str) -> Callable[[dict[str, Any], Any], Any]:
    import copy

    return lambda record, current: copy.deepcopy(record[field])
