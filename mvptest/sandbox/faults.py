"""Fault injection for the sandbox: latency distributions and the rates of errors, drifted bodies, resets, hangs."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from mvptest.errors import ConfigError
from mvptest.spec.latency import LATENCY_GRAMMAR, LatencyModel

__all__ = ["LATENCY_GRAMMAR", "FaultConfig", "LatencyModel"]  # the grammar lives in spec/latency.py


@dataclass(frozen=True)
class FaultConfig:
    """What the sandbox injects, per request, drawn from a seeded generator."""

    latency: LatencyModel = field(default_factory=LatencyModel)
    error_rate: float = 0.0
    invalid_rate: float = 0.0
    reset_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_s: float = 300.0  # how long a "timeout" request is held before the connection is closed
    error_status: int = 500

    def __post_init__(self) -> None:
        for name in ("error_rate", "invalid_rate", "reset_rate", "timeout_rate"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigError(f"--{name.replace('_', '-')} {value} is not a rate between 0 and 1", hint="0.01 means 1 %")
        total = self.error_rate + self.invalid_rate + self.reset_rate + self.timeout_rate
        if total > 1:
            raise ConfigError(f"the fault rates add up to {total:g}, more than 1",
                              hint="lower the error, invalid, reset and timeout rates so that together they are at most 1")

    def draw(self, rng: random.Random) -> str:
        """ok | reset | timeout | error | invalid, with the configured probabilities."""
        u = rng.random()
        for outcome, rate in (("reset", self.reset_rate), ("timeout", self.timeout_rate),
                              ("error", self.error_rate), ("invalid", self.invalid_rate)):
            if u < rate:
                return outcome
            u -= rate
        return "ok"

    def describe(self) -> dict[str, object]:
        return {
            "latency_ms": self.latency.describe(),
            "error_rate": self.error_rate,
            "invalid_rate": self.invalid_rate,
            "reset_rate": self.reset_rate,
            "timeout_rate": self.timeout_rate,
        }
