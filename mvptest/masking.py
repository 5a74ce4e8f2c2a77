"""Masking of sensitive values in every report: named fields, personal formats, and values that look personal."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from mvptest.spec.pointer import split
from mvptest.spec.secrets import SCRUBBED, SECRET_MIN_LEN, SECRETS, TOKEN_MIN_LEN, Secrets

__all__ = ["SCRUBBED", "SECRETS", "SECRET_MIN_LEN", "TOKEN_MIN_LEN", "Masker", "Secrets", "mask_free_text", "mask_text",
           "public_url", "render"]  # the secrets live in spec/secrets.py: ${ENV} substitution (spec/env.py) adds to them

# Values that are personal whatever field they turn up in: ID numbers (18 or 15 digits) and mobile numbers,
# also inside a longer text (a broken line, a record that is not an object).
_PERSONAL_VALUE_RE = re.compile(r"(?<![0-9])(?:(?:\+?86)?1[3-9][0-9]{9}|[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
MAX_SHOWN = 60
# A person's name: Chinese characters, with the middle dot of transliterated names (· or •), nothing else.
_NAME_RE = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]+(?:[·•・.][\u4e00-\u9fff\u3400-\u4dbf]+)*")


def mask_text(text: str) -> str:
    """Keep a short head and tail so a person can recognise a value's shape, hide the rest."""
    n = len(text)
    if n <= 1:
        return "*"
    if n <= 4 or _NAME_RE.fullmatch(text):  # a name: the family name only (张**), as the usual convention; also a
        return text[0] + "*" * (n - 1)   # long minority name written with a middle dot (阿卜杜·...)
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
    return all(p in ("*", t) for p, t in zip(pattern, tokens))


def _tokens(field: str) -> tuple[str, ...]:
    return tuple(split(field))


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
        """The value as a report may print it: secrets scrubbed and values masked before it is cut to length."""
        if value is None:
            return "(absent)"
        full = SECRETS.scrub(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        if not self.enabled:
            return render(full)
        if self.is_sensitive(field):
            return render(mask_text(full))
        return render(_PERSONAL_VALUE_RE.sub(_mask_match, full))


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
    """An error message as a report may show it: secrets, personal values and URL credentials masked, length capped."""
    text = SECRETS.scrub(text)
    text = re.sub(r"//[^/@\s]+@", "//***@", text)
    text = _PERSONAL_VALUE_RE.sub(_mask_match, text)
    return text if len(text) <= limit else text[: limit - 3] + "..."
