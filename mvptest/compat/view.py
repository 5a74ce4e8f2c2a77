"""The consumer's view of a provider: the adapter's steps first, then the requirement's ``from:``, in one model.

The static comparison, the evidence and the suggested adapter all read the same view, so that they never
disagree about where a consumer field comes from:

1. a field the adapter writes under the consumer's own name (copy, rename, pick) is read there;
2. otherwise the requirement's ``from:`` (its own, or its nearest ancestor's plus the rest of the pointer);
3. otherwise the field of the same name.

Each view field also knows its origin: the provider's own field it was made from, before any step, which the
reports name and against whose schema a provider's own data defects are found.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from mvptest.compat.adapter import Adapter, copy_value
from mvptest.compat.fields import FieldInfo, clone_table
from mvptest.spec.pointer import get as get_value
from mvptest.spec.pointer import nodes as _nodes
from mvptest.spec.pointer import put as put_value
from mvptest.spec.pointer import split as _tokens


def declared_source(cp: str, consumer: dict[str, FieldInfo]) -> str | None:
    """Where the requirement says a field comes from: its own from:, or its nearest ancestor's from: plus the rest."""
    node = cp
    while node:
        f = consumer.get(node)
        via = f.get("from") if f is not None else None
        if isinstance(via, str) and via.startswith("/"):
            return via.rstrip("/") + cp[len(node):]
        node = node.rsplit("/", 1)[0]
    return None


def _under(pointer: str, prefix: str) -> bool:
    return pointer == prefix or pointer.startswith(prefix + "/")


def _star_depths(pointer: str) -> list[int]:
    return [i for i, t in enumerate(_tokens(pointer)) if t == "*"]


@dataclass
class Move:
    """One consumer field filled from another place of the adapted record."""

    target: str  # the consumer's pointer
    source: str  # the pointer in the adapted provider record
    many: bool = False  # the source goes through an array the target does not: a list where one value is wanted


@dataclass
class ConsumerView:
    """What a consumer reads from a provider after an adapter: field table, origins, and the same on records."""

    consumer: dict[str, FieldInfo]
    adapted: dict[str, FieldInfo]  # the provider's table after the adapter's steps
    adapter: Adapter | None = None
    sources: dict[str, str] = field(default_factory=dict)  # consumer pointer -> pointer in the adapted record
    origins: dict[str, str] = field(default_factory=dict)  # adapted pointer -> the provider's own pointer
    produced: set[str] = field(default_factory=set)  # adapted pointers the adapter wrote
    moves: list[Move] = field(default_factory=list)
    declared: dict[str, str] = field(default_factory=dict)  # consumer pointer -> its from: (when it has one)
    provider: dict[str, FieldInfo] = field(default_factory=dict)  # the provider's own table, before any step

    @classmethod
    def build(cls, provider: dict[str, FieldInfo], consumer: dict[str, FieldInfo],
              adapter: Adapter | None = None) -> ConsumerView:
        origins = {p: p for p in provider}
        produced: set[str] = set()
        if adapter is not None:
            adapted = adapter.apply_fields(provider)
            _follow_steps(adapter, provider, origins, produced)
        else:
            adapted = clone_table(provider)
        view = cls(consumer, adapted, adapter, origins=origins, produced=produced, provider=provider)
        view._resolve()
        return view

    # ------------------------------------------------------------------ resolution

    def _resolve(self) -> None:
        for cp in self.consumer:
            declared = declared_source(cp, self.consumer)
            if declared is not None and declared != cp:
                self.declared[cp] = declared
            if cp in self.adapted and any(_under(cp, p) for p in self.produced):
                src = cp  # the adapter wrote the consumer's own name: that is what it reads
            elif declared is not None and declared in self.adapted:
                src = declared
            elif cp in self.adapted:
                src = cp
            else:
                continue
            self.sources[cp] = src
        # The moves that build the view from the adapted record: the top-most field whose source is elsewhere,
        # and a nested one only where it does not follow from its parent's move.
        for cp in sorted(self.sources, key=lambda p: p.count("/")):
            src = self.sources[cp]
            parent = next((m for m in reversed(self.moves) if cp.startswith(m.target + "/")), None)
            if parent is not None and src == parent.source + cp[len(parent.target):]:
                continue
            if src == cp and parent is None:
                continue
            many = len(_star_depths(src)) > len(_star_depths(cp))
            self.moves.append(Move(cp, src, many))

    def origin(self, cp: str) -> str:
        """The provider's own field a consumer field is made from ("" when the provider does not serve it)."""
        src = self.sources.get(cp)
        if src is None:
            return ""
        return self.origins.get(src, src)

    def own_description(self, cp: str) -> str:
        """The provider's own field behind cp, as its schema describes it (before the adapter)."""
        info = self.provider.get(self.origin(cp))
        return info.describe() if info is not None else ""

    def many(self, cp: str) -> Move | None:
        """The move that gives this consumer field a list of values where it wants one (array versus one value)."""
        return next((m for m in self.moves if m.many and m.target == cp), None)

    def field(self, cp: str) -> FieldInfo | None:
        """The provider's field as the consumer reads it at cp (after the adapter)."""
        src = self.sources.get(cp)
        if src is None:
            return None
        info = self.adapted[src]
        if self.many(cp) is not None:
            schema = {"type": "array", "items": info.schema}
            return FieldInfo(cp, schema, info.required, info.parent_required, info.title)
        return info

    # ------------------------------------------------------------------ records

    def record(self, record: Any) -> Any:
        """A provider record as the consumer reads it: the adapter's steps, then the moves."""
        if not isinstance(record, dict):
            return record
        out = self.adapter.apply(record) if self.adapter is not None else record
        if not self.moves:
            return out
        if out is record:
            out = copy.deepcopy(record)
        for move in self.moves:
            if move.many:
                values = list(_nodes(out, _tokens(move.source)))
                found_array = bool(_nodes(out, _tokens(move.source.split("/*", 1)[0])))
                if found_array:
                    put_value(out, move.target, copy.deepcopy(values))
                continue
            try:
                _overwrite(out, move.source, move.target)
            except ValueError:
                continue  # '*' at different places: the static comparison reports the field
        return out


def _overwrite(record: dict[str, Any], src: str, dst: str) -> None:
    """Copy src to dst; when src is absent, dst is absent too (the consumer reads nothing else there)."""
    if "*" in src or "*" in dst:
        copy_value(record, src, dst)
        return
    found, value = get_value(record, src)
    if found:
        put_value(record, dst, copy.deepcopy(value))
    else:
        _remove(record, dst)


def _remove(record: Any, pointer: str) -> None:
    tokens = _tokens(pointer)
    for parent in _nodes(record, tokens[:-1]):
        if isinstance(parent, dict):
            parent.pop(tokens[-1], None)


def _follow_steps(adapter: Adapter, provider: dict[str, FieldInfo], origins: dict[str, str], produced: set[str]) -> None:
    """Where each field the adapter writes comes from in the provider's own terms."""
    known = set(provider)
    for step in adapter.steps:
        (kind, args), = step.items()
        if kind in ("copy", "rename"):
            src, dst = args["from"], args["to"]
            for p in [p for p in list(origins) if _under(p, src)]:
                origins[dst + p[len(src):]] = origins[p]
                known.add(dst + p[len(src):])
            produced.add(dst)
        elif kind == "pick":
            src, dst = args["from"], args["to"]
            origins[dst] = origins.get(src, src)
            produced.add(dst)
