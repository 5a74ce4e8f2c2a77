"""Fault injection for the sandbox: latency distributions and the rates of errors, drifted bodies, resets, hangs."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field
from statistics import NormalDist

from mvptest.errors import ConfigError

LATENCY_GRAMMAR = (
    "latency is one of: 20 (fixed ms), fixed:20, uniform:10,50, normal:MEAN,SD, lognormal:MEDIAN,SIGMA, "
    "or percentiles such as p50=20,p99=80; append +1%@150 for a 1 % share of 150 ms spikes"
)

_NORMAL = NormalDist()
_SPIKE_RE = re.compile(r"\+\s*([0-9.]+)\s*%\s*@\s*([0-9.]+)")


@dataclass(frozen=True)
class LatencyModel:
    """How long the sandbox waits before answering, in milliseconds."""

    kind: str = "none"  # none | fixed | uniform | normal | lognormal | quantiles
    params: tuple[float, ...] = ()
    # quantiles: points (z, ln ms) of the quantile function on the normal scale, interpolated linearly
    points: tuple[tuple[float, float], ...] = ()
    spikes: tuple[tuple[float, float], ...] = ()  # (probability, ms)
    text: str = ""

    @classmethod
    def parse(cls, text: str | float | int | None) -> LatencyModel:
        if text is None:
            return cls()
        raw = str(text).strip()
        if raw in ("", "0", "none"):
            return cls(text=raw)
        spikes = tuple((float(p) / 100, float(ms)) for p, ms in _SPIKE_RE.findall(raw))
        base = _SPIKE_RE.sub("", raw).strip()
        if sum(p for p, _ in spikes) > 1:
            raise ConfigError(f"latency {raw!r}: spike shares add up to more than 100 %", hint=LATENCY_GRAMMAR)
        try:
            model = cls._parse_base(base)
        except (ValueError, IndexError):
            raise ConfigError(f"cannot read latency {raw!r}", hint=LATENCY_GRAMMAR) from None
        return cls(model.kind, model.params, model.points, spikes, raw)

    @classmethod
    def _parse_base(cls, base: str) -> LatencyModel:
        if base in ("", "0", "none"):
            return cls()
        if re.fullmatch(r"[0-9.]+", base):
            return cls("fixed", (float(base),))
        if base.lower().startswith("p"):
            pts = []
            for part in base.split(","):
                name, _, value = part.strip().partition("=")
                digits = name.strip().lower()[1:]
                if not digits.isdigit():
                    raise ValueError(part)
                q = int(digits) / 100 if len(digits) == 1 else float("0." + digits)  # p5, p50, p999
                ms = float(value)
                if not (0 < q < 1) or ms <= 0:
                    raise ValueError(part)
                pts.append((_NORMAL.inv_cdf(q), math.log(ms)))
            pts.sort()
            if any(b[1] < a[1] for a, b in zip(pts, pts[1:])):
                raise ValueError("percentiles must not decrease")
            if len(pts) == 1:
                return cls("fixed", (math.exp(pts[0][1]),))
            return cls("quantiles", (), tuple(pts))
        kind, _, args = base.partition(":")
        values = tuple(float(x) for x in args.split(",")) if args else ()
        need = {"fixed": 1, "uniform": 2, "normal": 2, "lognormal": 2}
        if kind not in need or len(values) != need[kind] or any(v < 0 for v in values):
            raise ValueError(base)
        if kind == "uniform" and values[1] < values[0]:
            raise ValueError(base)
        return cls(kind, values)

    def sample_ms(self, rng: random.Random) -> float:
        if self.spikes:
            u = rng.random()
            acc = 0.0
            for p, ms in self.spikes:
                acc += p
                if u < acc:
                    return ms
        k = self.kind
        if k == "none":
            return 0.0
        if k == "fixed":
            return self.params[0]
        if k == "uniform":
            return rng.uniform(self.params[0], self.params[1])
        if k == "normal":
            return max(0.0, rng.gauss(self.params[0], self.params[1]))
        if k == "lognormal":
            return self.params[0] * math.exp(rng.gauss(0.0, self.params[1]))
        return math.exp(_interpolate(self.points, rng.gauss(0.0, 1.0)))

    @property
    def active(self) -> bool:
        return self.kind != "none" or bool(self.spikes)

    def describe(self) -> str:
        return self.text or "none"


def _interpolate(points: tuple[tuple[float, float], ...], z: float) -> float:
    """Piecewise-linear in (z, ln ms), extended linearly past both ends: two points make a lognormal."""
    if z <= points[0][0]:
        (z0, y0), (z1, y1) = points[0], points[1]
    elif z >= points[-1][0]:
        (z0, y0), (z1, y1) = points[-2], points[-1]
    else:
        for (z0, y0), (z1, y1) in zip(points, points[1:]):
            if z0 <= z <= z1:
                break
    if z1 == z0:
        return y0
    return y0 + (y1 - y0) * (z - z0) / (z1 - z0)


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
            raise ConfigError(f"the fault rates add up to {total:g}, more than 1")

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
