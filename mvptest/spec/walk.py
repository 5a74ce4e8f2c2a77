"""One walk over a schema's named fields: through $ref, allOf and a nullable anyOf/oneOf, into properties and items."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mvptest.spec import pointer

if TYPE_CHECKING:
    from mvptest.spec.refs import BundledSchema

__all__ = ["Field", "nullable_branch", "parts", "walk"]

Piece = tuple[Any, str]  # a schema as written and the base URI its references resolve from


@dataclass(frozen=True)
class Field:
    """One named field: its pointer (``*`` for array items), its schema after ``$ref``, and where it is required."""

    pointer: str
    schema: Any  # the property's schema after $ref: the node's own one when it has one, else the first allOf branch's
    base: str
    pieces: tuple[Piece, ...]  # every schema that names this property, in precedence order
    required: bool  # required by its parent object
    parent_required: bool  # every ancestor object is required (or the root)
    depth: int


def nullable_branch(bundled: BundledSchema, node: dict[str, Any], base: str) -> Piece | None:
    """The one real branch of ``anyOf``/``oneOf: [X, {type: null}]`` (resolved), if ``node`` is written so."""
    for key in ("anyOf", "oneOf"):
        branches = node.get(key)
        if not isinstance(branches, list):
            continue
        resolved = [bundled.resolve(b, base) for b in branches]
        real = [(b, bb) for b, bb in resolved if not (isinstance(b, dict) and b.get("type") == "null")]
        if len(real) == 1 and len(real) < len(branches) and isinstance(real[0][0], dict):
            return real[0]
    return None


def parts(bundled: BundledSchema, node: Any, base: str) -> list[tuple[dict[str, Any], str, int]]:
    """The schemas that all describe one value, each resolved: (schema, base, precedence).

    Listed in field order (allOf branches before the node that holds them, as a reader sees inherited fields
    first); precedence 0 is the node itself, then its allOf branches in order, then a nullable anyOf's branch.
    """
    out: list[tuple[dict[str, Any], str, int]] = []
    seen: set[int] = set()
    rank = [0]

    def visit(n: Any, b: str) -> None:
        n, b = bundled.resolve(n, b)
        if not isinstance(n, dict) or id(n) in seen:
            return
        seen.add(id(n))
        mine = rank[0]
        rank[0] += 1
        branches = n.get("allOf")
        for sub in branches if isinstance(branches, list) else ():
            visit(sub, b)
        out.append((n, b, mine))
        extra = nullable_branch(bundled, n, b)
        if extra is not None:
            visit(*extra)

    visit(node, base)
    return out


def walk(bundled: BundledSchema, *, max_depth: int = 8) -> Iterator[Field]:
    """Every named field reachable through properties and items, parents before their children."""
    yield from _visit(bundled, [(bundled.schema, bundled.root_uri)], "", True, 0, max_depth)


def _visit(bundled: BundledSchema, pieces: list[Piece], at: str, parent_required: bool, depth: int,
           max_depth: int) -> Iterator[Field]:
    if depth > max_depth:
        return
    views = [v for node, base in pieces for v in parts(bundled, node, base)]
    required: set[str] = set()
    props: dict[str, list[tuple[int, Any, str]]] = {}
    items: list[Piece] = []
    for view, base, rank in views:
        if isinstance(view.get("required"), list):
            required.update(r for r in view["required"] if isinstance(r, str))
        if isinstance(view.get("properties"), dict):
            for name, sub in view["properties"].items():
                props.setdefault(str(name), []).append((rank, sub, base))
        if isinstance(view.get("items"), dict):
            items.append((view["items"], base))
    for name, found in props.items():
        ordered = tuple((sub, base) for _, sub, base in sorted(found, key=lambda x: x[0]))
        schema, base = bundled.resolve(*ordered[0])
        child = pointer.child(at, name)
        yield Field(child, schema, base, ordered, name in required, parent_required, depth)
        yield from _visit(bundled, list(ordered), child, parent_required and name in required, depth + 1, max_depth)
    if items:
        yield from _visit(bundled, items, at + "/*", parent_required, depth + 1, max_depth)
