"""What a run measured, per interface: counts by outcome, exact latency histograms, a per-second series, samples.

Fed from the load engine's request events; mergeable by addition, so that workers ship deltas to the master
and a worker that dies keeps what it had sent. Every sample is scrubbed of the run's secrets as it is kept, here
and again when a worker's arrive at the master (masking.SECRETS). No locust import here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from mvptest.histogram import Histogram
from mvptest.masking import SECRETS

CATEGORIES = ("transport", "status", "schema")
MAX_SAMPLES = 5


QUANTILES = (0.5, 0.95, 0.99)  # of each second, for timeseries.csv
LIVE_SECONDS = 60  # a second's histogram is kept whole this long, then reduced to its percentiles (memory stays flat)


@dataclass
class Second:
    """One second of one interface: counts, and the latency of its successful calls (µs).

    Once LIVE_SECONDS newer seconds exist, the histogram is reduced to the QUANTILES it gives (``freeze``): a soak of
    hours keeps a few numbers per second, not a histogram of hundreds of buckets. A late report for a frozen second
    (a worker's, at most a few seconds late) still adds its counts."""

    requests: int = 0
    failures: int = 0
    latency: Histogram | None = field(default_factory=Histogram)
    frozen: tuple[float | None, ...] | None = None

    def merge(self, other: Second) -> None:
        self.requests += other.requests
        self.failures += other.failures
        if self.latency is not None and other.latency is not None:
            self.latency.merge(other.latency)

    def freeze(self) -> None:
        if self.latency is not None:
            self.frozen = self.percentiles()
            self.latency = None

    def percentiles(self) -> tuple[float | None, ...]:
        """p50, p95, p99 of the second's successful calls in µs (None when it had none)."""
        if self.latency is None:
            return self.frozen or (None,) * len(QUANTILES)
        return tuple(self.latency.percentile(q) for q in QUANTILES)


@dataclass
class InterfaceRecord:
    requests: int = 0
    successes: int = 0
    failures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    latency_ok: Histogram = field(default_factory=Histogram)  # successful calls: what the targets judge
    latency_all: Histogram = field(default_factory=Histogram)  # every call that completed or failed
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})
    seconds: dict[int, Second] = field(default_factory=dict)
    frozen_below: int | None = field(default=None, compare=False)  # seconds below this are frozen

    def freeze_before(self, cutoff: int) -> None:
        """Freeze every second older than ``cutoff`` (walks each second once over the whole run)."""
        start = self.frozen_below if self.frozen_below is not None else min(self.seconds, default=cutoff)
        for k in range(start, cutoff):
            sec = self.seconds.get(k)
            if sec is not None:
                sec.freeze()
        self.frozen_below = max(start, cutoff)

    def merge(self, other: InterfaceRecord) -> None:
        self.requests += other.requests
        self.successes += other.successes
        for c, n in other.failures.items():
            self.failures[c] = self.failures.get(c, 0) + n
        self.latency_ok.merge(other.latency_ok)
        self.latency_all.merge(other.latency_all)
        for c, items in other.samples.items():
            mine = self.samples.setdefault(c, [])
            mine.extend(SECRETS.scrub_data(x) for x in items[: max(0, MAX_SAMPLES - len(mine))])
        for sec, s in other.seconds.items():
            mine = self.seconds.get(sec)
            if mine is None:
                mine = self.seconds[sec] = Second(latency=Histogram() if s.latency is not None else None,
                                                  frozen=s.frozen)
            mine.merge(s)
        if other.seconds:
            self.freeze_before(max(self.seconds) - LIVE_SECONDS)

    def to_wire(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "successes": self.successes,
            "failures": self.failures,
            "latency_ok": self.latency_ok.to_dict(),
            "latency_all": self.latency_all.to_dict(),
            "samples": self.samples,
            "seconds": {str(k): [s.requests, s.failures, s.latency.to_dict() if s.latency is not None else None,
                                 s.frozen] for k, s in self.seconds.items()},
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> InterfaceRecord:
        rec = cls(
            requests=int(data["requests"]),
            successes=int(data["successes"]),
            failures={k: int(v) for k, v in data["failures"].items()},
            latency_ok=Histogram.from_dict(data["latency_ok"]),
            latency_all=Histogram.from_dict(data["latency_all"]),
            samples={k: list(v) for k, v in data["samples"].items()},
        )
        for k, item in data.get("seconds", {}).items():
            req, fail, hist = item[:3]
            frozen = tuple(item[3]) if len(item) > 3 and item[3] is not None else None
            rec.seconds[int(k)] = Second(int(req), int(fail), Histogram.from_dict(hist) if hist is not None else None,
                                         frozen)
        return rec


class Recorder:
    """Counts every call of a run; ``drain()`` hands over what was counted since the last drain (for workers)."""

    def __init__(self) -> None:
        self.interfaces: dict[str, InterfaceRecord] = {}
        self.started = time.time()
        self.intended = 0  # open model: arrivals scheduled
        self.dropped = 0  # open model: arrivals not sent because too many calls were in flight
        self.cpu_warnings = 0
        self.connect_failures = 0  # transport failures before a connection stood: refused, DNS, TLS

    def _rec(self, key: str) -> InterfaceRecord:
        rec = self.interfaces.get(key)
        if rec is None:
            rec = self.interfaces[key] = InterfaceRecord()
        return rec

    def wants_sample(self, key: str, category: str) -> bool:
        """Whether a failure of this kind would still be kept as a sample (a sample costs CPU to build)."""
        rec = self.interfaces.get(key)
        return rec is None or len(rec.samples.get(category, ())) < MAX_SAMPLES

    def record(self, key: str, *, latency_ms: float, category: str | None, start_time: float,
               sample: dict[str, Any] | None = None) -> None:
        """One call: ``category`` None for a success, else transport | status | schema."""
        rec = self._rec(key)
        us = int(latency_ms * 1000 + 0.5)
        rec.requests += 1
        rec.latency_all.record(us)
        second = int(start_time)
        sec = rec.seconds.get(second)
        if sec is None:
            sec = rec.seconds[second] = Second()
            rec.freeze_before(second - LIVE_SECONDS)
        sec.requests += 1
        if category is None:
            rec.successes += 1
            rec.latency_ok.record(us)
            if sec.latency is not None:
                sec.latency.record(us)
        else:
            rec.failures[category] = rec.failures.get(category, 0) + 1
            sec.failures += 1
            if sample is not None and len(rec.samples.setdefault(category, [])) < MAX_SAMPLES:
                rec.samples[category].append(SECRETS.scrub_data(sample))

    def merge(self, other: Recorder) -> None:
        for key, rec in other.interfaces.items():
            self._rec(key).merge(rec)
        self.intended += other.intended
        self.dropped += other.dropped
        self.cpu_warnings += other.cpu_warnings
        self.connect_failures += other.connect_failures

    def drain(self) -> dict[str, Any]:
        """Everything counted since the last drain, as plain data (msgpack/JSON), and reset."""
        wire = {
            "interfaces": {k: r.to_wire() for k, r in self.interfaces.items()},
            "intended": self.intended,
            "dropped": self.dropped,
            "cpu_warnings": self.cpu_warnings,
            "connect_failures": self.connect_failures,
        }
        self.interfaces = {}
        self.intended = self.dropped = self.cpu_warnings = self.connect_failures = 0
        return wire

    def merge_wire(self, wire: dict[str, Any]) -> None:
        other = Recorder()
        other.interfaces = {k: InterfaceRecord.from_wire(v) for k, v in wire.get("interfaces", {}).items()}
        other.intended = int(wire.get("intended", 0))
        other.dropped = int(wire.get("dropped", 0))
        other.cpu_warnings = int(wire.get("cpu_warnings", 0))
        other.connect_failures = int(wire.get("connect_failures", 0))
        self.merge(other)

    @property
    def total_requests(self) -> int:
        return sum(r.requests for r in self.interfaces.values())

    @property
    def total_successes(self) -> int:
        return sum(r.successes for r in self.interfaces.values())
