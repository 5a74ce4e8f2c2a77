"""Durations as specs and the command line write them: 30, "30s", "2m", "1h30m", "250ms"."""

from __future__ import annotations

import re
from typing import Any

from mvptest.errors import ConfigError

_DURATION_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)")


def parse_duration(value: Any, *, what: str = "duration") -> float:
    """Seconds from 30, "30s", "2m", "1h30m", "250ms"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise ConfigError(f"{what} must be positive, got {value}", hint="write a duration greater than 0, such as 30s or 2m")
        return float(value)
    text = str(value).strip().lower()
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return parse_duration(float(text), what=what)
    parts = _DURATION_RE.findall(text)
    if not parts or _DURATION_RE.sub("", text).strip():
        raise ConfigError(f"cannot read {what} {value!r}", hint="write it as 30s, 2m, 1h30m or 250ms")
    total = sum(float(n) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[u] for n, u in parts)
    if total <= 0:
        raise ConfigError(f"{what} must be positive, got {value!r}", hint="write a duration greater than 0, such as 30s or 2m")
    return total
