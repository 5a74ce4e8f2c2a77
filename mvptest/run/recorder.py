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


@dataclass
class Second:
    """One second of one interface."""

    requests: int = 0
    failures: int = 0
    latency: Histogram = field(default_factory=Histogram)  # successful calls, µs

    def merge(self, other: Second) -> None:
        self.requests += other.requests
        self.failures += other.failures
        self.latency.merge(other.latency)


@dataclass
class InterfaceRecord:
    requests: int = 0
    successes: int = 0
    failures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    latency_ok: Histogram = field(default_factory=Histogram)  # successful calls: what the targets judge
    latency_all: Histogram = field(default_factory=Histogram)  # every call that completed or failed
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})
    seconds: dict[int, Second] = field(default_factory=dict)

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
            self.seconds.setdefault(sec, Second()).merge(s)

    def to_wire(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "successes": self.successes,
            "failures": self.failures,
            "latency_ok": self.latency_ok.to_dict(),
            "latency_all": self.latency_all.to_dict(),
            "samples": self.samples,
            "seconds": {str(k): [s.requests, s.failures, s.latency.to_dict()] for k, s in self.seconds.items()},
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
        for k, (req, fail, hist) in data.get("seconds", {}).items():
            rec.seconds[int(k)] = Second(int(req), int(fail), Histogram.from_dict(hist))
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
        sec = rec.seconds.get(int(start_time))
        if sec is None:
            sec = rec.seconds[int(start_time)] = Second()
        sec.requests += 1
        if category is None:
            rec.successes += 1
            rec.latency_ok.record(us)
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
