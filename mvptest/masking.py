"""Masking of sensitive values in every report: named fields, personal formats, and values that look personal."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

# Values that are personal whatever field they turn up in: ID numbers (18 or 15 digits) and mobile numbers,
# also inside a longer text (a broken line, a record that is not an object).
_PERSONAL_VALUE_RE = re.compile(r"(?<![0-9])(?:(?:\+?86)?1[3-9][0-9]{9}|[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
MAX_SHOWN = 60


def mask_text(text: str) -> str:
    """Keep a short head and tail so a person can recognise a value's shape, hide the rest."""
    n = len(text)
    if n <= 1:
        return "*"
    if n <= 4:  # a Chinese name: the family name only (张**), as the usual convention
        return text[0] + "*" * (n - 1)
    head = min(6, n // 3)
    tail = min(4, n // 5)
    return text[:head] + "*" * (n - head - tail) + text[n - tail:]


def render(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _matches(pattern: tuple[str, ...], tokens: tuple[str, ...]) -> bool:
    """A sensitive pointer covers a field when it is a prefix of it; '*' matches any one token."""
    if len(pattern) > len(tokens):
        return False
    return all(p == "*" or p == t for p, t in zip(pattern, tokens))


def _tokens(pointer: str) -> tuple[str, ...]:
    return tuple(pointer.split("/")[1:]) if pointer else ()


class Masker:
    """Decides, per field and value, what a report may show."""

    def __init__(self, sensitive: Iterable[str] = (), *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._patterns = [_tokens(p) for p in sensitive]

    def add(self, pointers: Iterable[str]) -> None:
        self._patterns.extend(_tokens(p) for p in pointers)

    def is_sensitive(self, field: str) -> bool:
        tokens = _tokens(field)
        # array indices in the field match '*' or the same index in the pattern
        return any(_matches(p, tokens) for p in self._patterns)

    def show(self, field: str, value: Any) -> str:
        """The value as a report may print it."""
        if value is None:
            return "(absent)"
        text = render(value)
        if not self.enabled:
            return text
        if self.is_sensitive(field):
            full = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            return render(mask_text(full))
        return _PERSONAL_VALUE_RE.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group()
    from mvptest.formats import cn

    if len(found) == 18 and cn.check_uscc(found) and not cn.check_resident_id(found):
        return found  # an all-digit credit code: public, and what the report is about
    return mask_text(found)


def public_url(url: str) -> str:
    """A URL as a report may show it: no user, password or query (credentials and tokens travel there)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "(a URL that cannot be parsed)"
    if not parts.scheme or not parts.netloc:
        return url.split("?", 1)[0]
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}" + ("?..." if parts.query else "")


def mask_free_text(text: str, limit: int = 300) -> str:
    """An error message as a report may show it: personal values and URL credentials masked, the length capped."""
    text = re.sub(r"//[^/@\s]+@", "//***@", text)
    text = _PERSONAL_VALUE_RE.sub(_mask_match, text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
