"""The sandbox's latency model and its one grammar ("20", "uniform:10,50", "p50=20,p99=80+1%@150"), checked once."""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from itertools import pairwise
from statistics import NormalDist
from typing import Any

from mvptest.errors import ConfigError, Problem

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
            if any(b[1] < a[1] for a, b in pairwise(pts)):
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
        (z0, y0), (z1, y1) = next((a, b) for a, b in pairwise(points) if a[0] <= z <= b[0])
    if z1 == z0:
        return y0
    return y0 + (y1 - y0) * (z - z0) / (z1 - z0)


def latency_problem(document: Any, pointer: str = "/sandbox/latency_ms") -> Problem | None:
    """What is wrong with a scenario's sandbox latency (located at ``pointer`` in the loaded document), or None.
    spec check reports it; the run plan raises it: one grammar, read by the same code."""
    sandbox = document.data.get("sandbox") if isinstance(document.data, dict) else None
    if not isinstance(sandbox, dict) or "latency_ms" not in sandbox:
        return None
    try:
        LatencyModel.parse(sandbox["latency_ms"])
    except ConfigError as exc:
        return Problem(document.locate(pointer), f"sandbox.latency_ms: {exc.message}", exc.hint)
    return None
