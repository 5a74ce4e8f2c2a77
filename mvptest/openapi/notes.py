"""What an import could not convert, listed for the user: never dropped silently."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Notes:
    """Items not converted (each with where it is), and counted conversions worth knowing about."""

    items: list[tuple[str, str]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, where: str, message: str) -> None:
        if (where, message) not in self.items:
            self.items.append((where, message))

    def count(self, message: str) -> None:
        self.counts[message] += 1

    def lines(self) -> list[str]:
        """One line each: the items first, then the counted conversions."""
        out = [f"{where}: {message}" for where, message in self.items]
        out += [f"{message} ({n}x)" for message, n in sorted(self.counts.items())]
        return out
