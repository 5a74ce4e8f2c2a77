"""The values no sample, message or file may hold (the run's header values, what ``${ENV}`` gave), in one set per process."""

from __future__ import annotations

import json
import re
from typing import Any

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
