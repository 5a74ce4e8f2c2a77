"""Which interfaces of a spec set a command works on: the ones named, the one a requirement consumes, or all."""

from __future__ import annotations

from collections.abc import Sequence

from mvptest.errors import InputError
from mvptest.spec.model import Interface


def select_interfaces(interfaces: Sequence[Interface], wanted: Sequence[str] = (), *, where: str, single: bool = False,
                      consumes: str | None = None, consumer: str = "") -> list[Interface]:
    """The interfaces named in ``wanted`` (by id or department/id, in the specs' order); without names, the one
    ``consumes`` names, else all (``single``: the only one). A name nobody serves, or a choice left open among
    several when one is needed, is an InputError located at ``where`` that lists what there is."""
    if not interfaces:
        raise InputError("holds no interface (kind: interface)", where=where, hint="an interface spec has kind: interface")
    if wanted:
        chosen = [i for i in interfaces if i.id in wanted or i.key in wanted]
        missing = [w for w in wanted if not any(w in (i.id, i.key) for i in chosen)]
        if missing:
            raise InputError(f"has no interface {sorted(missing)[0]!r}", where=where, hint="interfaces: " + _names(interfaces))
        return chosen[:1] if single else chosen
    if consumes is not None:
        found = [i for i in interfaces if consumes in (i.key, i.id)]
        if found:
            return found[:1]
        if len(interfaces) > 1:
            raise InputError(f"has no interface {consumes!r}, which {consumer or 'the requirement'} consumes", where=where,
                             hint="choose one with --interface: " + _names(interfaces))
        return list(interfaces)
    if single and len(interfaces) > 1:
        raise InputError(f"holds {len(interfaces)} interfaces", where=where,
                         hint="choose one with --interface: " + _names(interfaces))
    return list(interfaces[:1]) if single else list(interfaces)


def _names(interfaces: Sequence[Interface]) -> str:
    """Their ids, or their department/id where two departments use one id."""
    ids = [i.id for i in interfaces]
    return ", ".join(ids if len(set(ids)) == len(ids) else [i.key for i in interfaces])
