"""Masking of sensitive values in every report: named fields, personal formats, and values that look personal."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

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


# --------------------------------------------------------------------------- secrets

SCRUBBED = "***"
SECRET_MIN_LEN = 4  # shorter values cannot be told apart from ordinary text; a 3-character secret is none
TOKEN_MIN_LEN = 8  # a word inside a header value (a cookie's value, a key=value pair) counted as a secret
_CREDENTIAL_HEADER_RE = re.compile(r"authorization|cookie|token|secret|passw|api-?key|credential|session|signature",
                                   re.I)
_WORD_SPLIT_RE = re.compile(r"[\s,;]+")
_AUTH_SCHEMES = {"bearer", "basic", "token", "digest", "apikey", "hmac", "negotiate"}
_PLAIN_HEADERS = {"accept", "accept-language", "accept-encoding", "content-type", "user-agent", "connection",
                  "cache-control", "pragma", "host", "expect"}


class Secrets:
    """Values that no sample, message or file may hold: header values of the run and what came from ``${ENV}``.

    ``scrub`` replaces every occurrence, also JSON-escaped, percent-encoded or HTML-escaped (the forms a provider
    echoes them back in), with ``***``. One set per process (``SECRETS``): a run has one set of headers."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._re: re.Pattern[str] | None = None

    def __bool__(self) -> bool:
        return bool(self._values)

    def add(self, value: str) -> None:
        """One secret value, in every form it may come back in."""
        if len(value) < SECRET_MIN_LEN:
            return
        import html
        from urllib.parse import quote, quote_plus

        forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], quote(value, safe=""),
                 quote(value), quote_plus(value), html.escape(value)}
        new = forms - self._values
        if new:
            self._values |= new
            self._re = None

    def add_header(self, name: str, value: str) -> None:
        """A header value sent on every call: the whole value, its credentials and its long words.

        Content negotiation (Accept*, Content-Type, User-Agent, ...) carries no secret of its own; a ``${ENV}``
        value inside one is still added where it is substituted."""
        if name.lower() in _PLAIN_HEADERS:
            return
        credential = bool(_CREDENTIAL_HEADER_RE.search(name))
        self.add(value.strip())
        words = _WORD_SPLIT_RE.split(value.strip())
        if len(words) > 1 and words[0].lower() in _AUTH_SCHEMES:
            scheme, words = words[0].lower(), words[1:]
            self.add(" ".join(words))
            if scheme == "basic" and words:
                self._add_basic(words[0])
        for word in words:
            part = word.partition("=")[2] if "=" in word else word
            if len(part) >= TOKEN_MIN_LEN or credential:
                self.add(part)

    def _add_basic(self, token: str) -> None:
        import base64
        import binascii

        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return
        self.add(decoded)
        self.add(decoded.partition(":")[2])

    def add_headers(self, headers: dict[str, str]) -> None:
        for name, value in headers.items():
            self.add_header(name, value)

    def clear(self) -> None:
        self._values.clear()
        self._re = None

    def scrub(self, text: str) -> str:
        if not self._values or not text:
            return text
        if self._re is None:
            self._re = re.compile("|".join(re.escape(v) for v in sorted(self._values, key=len, reverse=True)))
        return self._re.sub(SCRUBBED, text)

    def scrub_data(self, data: Any) -> Any:
        """Every string in a sample (keys included), scrubbed; other values as they are."""
        if not self._values:
            return data
        if isinstance(data, str):
            return self.scrub(data)
        if isinstance(data, dict):
            return {self.scrub(k) if isinstance(k, str) else k: self.scrub_data(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.scrub_data(v) for v in data]
        return data


# This process's secrets: ${ENV} values as they are substituted (spec.env.substitute_env) and the run's header
# values (load.users.configure). Masker.show, mask_free_text and the run recorder scrub with it.
SECRETS = Secrets()
