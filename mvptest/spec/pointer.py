"""JSON Pointer (RFC 6901), once for the whole program: escape and unescape tokens, split and join, get and put.

mvptest also writes ``*`` as a token meaning "every item of this array" (``/items/*/amount``); ``get`` and ``put``
here take concrete pointers, ``nodes`` walks the ``*``.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise
from typing import Any


def escape(token: Any) -> str:
    """One reference token: ``~`` as ``~0``, ``/`` as ``~1``."""
    return str(token).replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def split(pointer: str) -> list[str]:
    """``/a/b~1c`` -> ``["a", "b/c"]``; ``""`` (the whole document) -> ``[]``."""
    if not pointer:
        return []
    return [unescape(t) for t in pointer.split("/")[1:]]


def join(tokens: Iterable[Any]) -> str:
    """``["a", "b/c", 0]`` -> ``/a/b~1c/0``."""
    return "".join("/" + escape(t) for t in tokens)


def child(pointer: str, token: Any) -> str:
    return pointer + "/" + escape(token)


def get(document: Any, pointer: str) -> tuple[bool, Any]:
    """(found, value) at a concrete pointer; an array index is a decimal token."""
    node = document
    for token in split(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False, None
    return True, node


def nodes(document: Any, tokens: list[str]) -> list[Any]:
    """Every node the tokens reach; ``*`` walks every item of a list."""
    found = [document]
    for token in tokens:
        nxt: list[Any] = []
        for node in found:
            if token == "*" and isinstance(node, list):
                nxt.extend(node)
            elif isinstance(node, dict) and token in node:
                nxt.append(node[token])
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                nxt.append(node[int(token)])
        found = nxt
    return found


def put(document: Any, pointer: str, value: Any) -> None:
    """Set the value at a concrete pointer in place, creating objects on the way; an array on the way is stepped
    into by an index it has, any other value there is replaced by an object. ValueError for the whole document
    (``""``), which cannot be replaced in place."""
    tokens = split(pointer)
    if not tokens:
        raise ValueError("cannot put a value at the whole document (pointer '')")
    node = document
    for token, after in pairwise(tokens):
        nxt = _index(node, token)
        if nxt is _ABSENT:
            nxt = node.get(token)
            if not isinstance(nxt, dict) and _index(nxt, after) is _ABSENT:
                nxt = node[token] = {}
        node = nxt
    if _index(node, tokens[-1]) is not _ABSENT:
        node[int(tokens[-1])] = value
    else:
        node[tokens[-1]] = value


_ABSENT = object()


def _index(node: Any, token: str) -> Any:
    """The item of an array at a decimal token it has, else _ABSENT."""
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    return _ABSENT
