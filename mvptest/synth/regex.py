"""Strings matching a JSON Schema ``pattern``, built with rstr's Xeger, deterministic and thread-safe.

rstr is used as the engine, with four adjustments for synthetic test data:
- alphabets built from sets (``\\W``, negated classes) are sorted, so that a seed gives the same string in every
  process whatever PYTHONHASHSEED is;
- ``.`` and negated classes draw from printable characters without control whitespace;
- unbounded repeats (``*``, ``+``, ``{n,}``) stay short (at most 8 more than the minimum);
- each pattern is parsed once; one Xeger per thread is pointed at the caller's ``random.Random``.
"""

from __future__ import annotations

import random
import re
import string
import sys
import threading
from collections.abc import Callable
from itertools import chain
from typing import Any

import rstr

if sys.version_info >= (3, 11):
    import re._parser as _sre_parse
else:  # pragma: no cover - Python 3.10
    import sre_parse as _sre_parse

_REPEAT_EXTRA = 8
_SAFE_PRINTABLE = "".join(c for c in string.printable if c not in "\t\n\r\x0b\x0c")
_ANY = string.ascii_letters + string.digits

# ECMA-262 spellings Python's re does not know, rewritten to an equivalent (or narrower) Python form.
_ECMA_REWRITES: tuple[tuple[str, str], ...] = (
    (r"\p{Han}", "\u4e00-\u9fa5"),
    (r"\p{Script=Han}", "\u4e00-\u9fa5"),
    (r"\p{sc=Han}", "\u4e00-\u9fa5"),
    (r"\p{L}", "A-Za-z\u4e00-\u9fa5"),
    (r"\p{Letter}", "A-Za-z\u4e00-\u9fa5"),
    (r"\p{Lu}", "A-Z"),
    (r"\p{Ll}", "a-z"),
    (r"\p{N}", "0-9"),
    (r"\p{Nd}", "0-9"),
)


def _splice(inner: str) -> Callable[[re.Match[str]], str]:
    return lambda m: m.group(1) + inner


def python_pattern(pattern: str) -> str:
    """The pattern in Python's dialect, as far as a light rewrite gets (named groups, a few \\p classes)."""
    out = re.sub(r"\(\?<([A-Za-z_][A-Za-z0-9_]*)>", r"(?P<\1>", pattern)
    for ecma, py in _ECMA_REWRITES:
        if ecma in out:
            # inside a class the range is spliced in; outside, it becomes a class of its own
            out = re.sub(r"(\[[^\]]*?)" + re.escape(ecma), _splice(py), out)
            out = out.replace(ecma, "[" + py + "]")
    return out


class _Xeger(rstr.Xeger):
    def __init__(self) -> None:
        super().__init__(random.Random(0))
        self._alphabets = {name: "".join(sorted(chars)) for name, chars in self._alphabets.items()}
        cases = dict(self._cases)
        cases["any"] = lambda x: self._random.choice(_ANY)
        cases["not_literal"] = lambda x: self._random.choice(_SAFE_PRINTABLE.replace(chr(x), "") or _ANY)
        self._cases = cases
        self._classes: dict[int, tuple[Any, list[str]]] = {}

    def _handle_in(self, value: Any) -> Any:
        # a character class always yields the same candidates: computed once per parsed class
        key = id(value)
        found = self._classes.get(key)
        if found is None or found[0] is not value:
            candidates = list(chain(*(self._handle_state(i) for i in value)))
            if candidates and candidates[0] is False:
                excluded = set(candidates[1:])
                candidates = [c for c in _SAFE_PRINTABLE if c not in excluded] or [
                    c for c in string.printable if c not in excluded
                ]
            if len(self._classes) > 4096:
                self._classes.clear()
            found = self._classes[key] = (value, candidates)
        candidates = found[1]
        return candidates[self._random.randrange(len(candidates))] if candidates else ""

    def _handle_repeat(self, start_range: int, end_range: int, value: Any) -> str:
        end_range = min(end_range, start_range + _REPEAT_EXTRA)
        times = self._random.randint(start_range, end_range)
        return "".join("".join(self._handle_state(i) for i in value) for _ in range(times))

    def build(self, parsed: Any, rng: random.Random) -> str:
        self._random = rng
        try:
            return self._build_string(parsed)
        finally:
            self._cache.clear()


_LOCAL = threading.local()


def _xeger() -> _Xeger:
    x = getattr(_LOCAL, "xeger", None)
    if x is None:
        x = _LOCAL.xeger = _Xeger()
    return x


def compile_pattern(pattern: str) -> Callable[[random.Random], str] | None:
    """A generator of strings for ``pattern``, or None when the pattern cannot be parsed here.

    The generator is best effort (lookarounds and back-references are not honoured): callers check the result.
    """
    source = python_pattern(pattern)
    try:
        parsed = _sre_parse.parse(source)
    except (re.error, ValueError, TypeError, OverflowError, RecursionError):
        return None

    def generate(rng: random.Random) -> str:
        try:
            return _xeger().build(parsed, rng)
        except (KeyError, IndexError, ValueError, TypeError, AttributeError, RecursionError):
            return ""

    return generate


def python_search(pattern: str) -> Callable[[str], bool] | None:
    """``re.search`` for the pattern in Python's dialect, or None when Python cannot compile it."""
    try:
        rx = re.compile(python_pattern(pattern))
    except (re.error, ValueError, TypeError, OverflowError, RecursionError):
        return None
    return lambda s: rx.search(s) is not None
