"""What a run measured, per interface: counts by outcome, exact latency histograms, a per-second series, samples.

Fed from the load engine's request events; mergeable by addition, so that workers ship deltas to the master
and a worker that dies keeps what it had sent. Every sample is scrubbed of the run's secrets as it is kept, here
and again when a worker's arrive at the master (masking.SECRETS). No locust import here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from mvptest.masking import SECRETS
from mvptest.run.histogram import Histogram

CATEGORIES = ("transport", "status", "schema")
MAX_SAMPLES = 5


QUANTILES = (0.5, 0.95, 0.99)  # of each second, for timeseries.csv
LIVE_SECONDS = 60  # a second's histogram is kept whole this long, then reduced to its percentiles (memory stays flat)
# A load process that wanted this fraction of one core over its load window (from its users' start to the end of
# the schedule or duration) cannot time its calls: its own delays show up as the provider's latency. "Wanted": the
# CPU time it got plus the time it waited, runnable, for a core the machine's other processes held (Linux
# /proc/self/schedstat; the CPU time alone where that is missing): a generator starved on a busy machine is as
# unable to keep time as one that spends all it gets.
CPU_SATURATED = 0.90
MIN_CPU_WINDOW_S = 0.2  # a window shorter than this says nothing about saturation
# ... and saturated only when that cost shows in its timing: its event loop ran a 50 ms timer LAG_SATURATED_MS late
# or more at the 90th percentile (a twentieth of the pilot's 100 ms target; p90, so that one slow tick at the start,
# while users spawn and connect, does not decide), or, open model, it sent SENT_LATE_SATURATED of its calls late.
# A closed model without think time runs the generator flat out by design: measured on loopback, 2 and 20 users at
# 98-99 % of a core kept a loop lag p90 of 0.2-0.5 ms, and their figures stand; --rate 8000: p90 12 ms.
LAG_SATURATED_MS = 5.0
SENT_LATE_SATURATED = 0.01
LATE_SEND_S = 0.010  # open model: a call sent this long after its planned time was sent late (the generator lagged)


class CpuClock:
    """This process's CPU time (all threads: time.process_time) against wall time, from ``start()`` on.

    ``mark()`` ends the load window (the schedule's or the duration's end: the wait for the last calls after it
    would dilute the fraction); ``stop()`` ends the count of CPU seconds (the last calls' cost included)."""

    def __init__(self) -> None:
        self.cpu0 = self.wall0 = 0.0
        self.wait0: float | None = None
        self.window: tuple[float, float, float | None] | None = None
        self.final: tuple[float, float, float, float | None] | None = None

    def start(self) -> None:
        self.cpu0, self.wall0, self.wait0 = time.process_time(), time.monotonic(), _runqueue_wait()
        self.window = self.final = None

    def mark(self) -> None:
        if self.window is None and self.final is None:
            self.window = self._now()

    def stop(self) -> tuple[float, float, float, float | None]:
        if self.final is None:
            self.final = self.reading()
        return self.final

    def reading(self) -> tuple[float, float, float, float | None]:
        """CPU s and wall s of the load window (so far, or as marked), CPU s to now, and the window's run-queue wait
        in s (None where unknown); fixed once stopped."""
        if self.final is not None:
            return self.final
        cpu = time.process_time() - self.cpu0
        window = self.window or self._now()
        return window[0], window[1], cpu, window[2]

    def _now(self) -> tuple[float, float, float | None]:
        wait = _runqueue_wait()
        return (time.process_time() - self.cpu0, time.monotonic() - self.wall0,
                None if wait is None or self.wait0 is None else max(0.0, wait - self.wait0))


def _runqueue_wait() -> float | None:
    """Seconds this process's main thread has waited, runnable, for a CPU (Linux schedstat), or None."""
    try:
        with open("/proc/self/schedstat", encoding="ascii") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


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
    max_us: int = 0  # the slowest call of the second, failed ones included (kept when frozen)

    def merge(self, other: Second) -> None:
        self.requests += other.requests
        self.failures += other.failures
        self.max_us = max(self.max_us, other.max_us)
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
    # Open model: latency_* is timed from each call's planned send time (wrk2's correction for coordinated
    # omission), service_* from its actual send. None in the closed model, where the two are one measurement:
    # read them with service(), which then gives latency_*.
    service_ok: Histogram | None = None
    service_all: Histogram | None = None
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})
    seconds: dict[int, Second] = field(default_factory=dict)
    frozen_below: int | None = field(default=None, compare=False)  # seconds below this are frozen

    def service(self, ok: bool = True) -> Histogram:
        """Service time (from the actual send) of successful (``ok``) or all calls."""
        own = self.service_ok if ok else self.service_all
        if own is not None:
            return own
        return self.latency_ok if ok else self.latency_all

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
        if other.service_all is not None:
            for name in ("service_ok", "service_all"):
                theirs = getattr(other, name)
                if getattr(self, name) is None:
                    setattr(self, name, Histogram())
                if theirs is not None:
                    getattr(self, name).merge(theirs)
        for c, items in other.samples.items():
            mine = self.samples.setdefault(c, [])
            mine.extend(SECRETS.scrub_data(x) for x in items[: max(0, MAX_SAMPLES - len(mine))])
        for sec, s in other.seconds.items():
            second = self.seconds.get(sec)
            if second is None:
                second = self.seconds[sec] = Second(latency=Histogram() if s.latency is not None else None,
                                                    frozen=s.frozen)
            second.merge(s)
        if other.seconds:
            self.freeze_before(max(self.seconds) - LIVE_SECONDS)

    def to_wire(self) -> dict[str, Any]:
        wire = {
            "requests": self.requests,
            "successes": self.successes,
            "failures": self.failures,
            "latency_ok": self.latency_ok.to_dict(),
            "latency_all": self.latency_all.to_dict(),
            "samples": self.samples,
            "seconds": {str(k): [s.requests, s.failures, s.latency.to_dict() if s.latency is not None else None,
                                 s.frozen, s.max_us] for k, s in self.seconds.items()},
        }
        if self.service_all is not None and self.service_ok is not None:
            wire["service_ok"] = self.service_ok.to_dict()
            wire["service_all"] = self.service_all.to_dict()
        return wire

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
        if "service_all" in data:
            rec.service_ok = Histogram.from_dict(data["service_ok"])
            rec.service_all = Histogram.from_dict(data["service_all"])
        for k, item in data.get("seconds", {}).items():
            req, fail, hist = item[:3]
            frozen = tuple(item[3]) if len(item) > 3 and item[3] is not None else None
            rec.seconds[int(k)] = Second(int(req), int(fail), Histogram.from_dict(hist) if hist is not None else None,
                                         frozen, int(item[4]) if len(item) > 4 else 0)
        return rec


class Recorder:
    """Counts every call of a run; ``drain()`` hands over what was counted since the last drain (for workers)."""

    def __init__(self) -> None:
        self.interfaces: dict[str, InterfaceRecord] = {}
        self.started = time.time()
        self.planned: int | None = None  # open model: round(rate x duration), set where the run is led
        self.intended = 0  # open model: arrivals whose planned time came (planned, unless the run was cut short)
        self.dropped = 0  # open model: arrivals not sent because too many calls were in flight
        self.sent = 0  # calls sent, both models (a call sent and not completed was cut off at the stop)
        self.sent_late = 0  # open model: calls sent LATE_SEND_S or more after their planned time
        self.cpu_warnings = 0
        self.connect_failures = 0  # transport failures before a connection stood: refused, DNS, TLS
        # Per load process ("local", or each worker's id; "master" for the master itself): CPU s and wall s over
        # its load window, CPU s until its users stopped, run-queue wait s over the window (None: unknown), as
        # CpuClock.reading(); cumulative: a worker's every report carries its figures so far, the last one wins.
        self.cpu: dict[str, tuple[float, float, float, float | None]] = {}
        self.loop_lag = Histogram()  # µs by which a 50 ms timer of a load process's event loop fired late
        self.all_running_at: float | None = None  # epoch: every user started (the end of the ramp)
        self.load_ended: float | None = None  # epoch: the stop was given

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
               sample: dict[str, Any] | None = None, service_ms: float | None = None) -> None:
        """One call: ``category`` None for a success, else transport | status | schema.

        ``service_ms``: open model only, the time from the actual send (``latency_ms`` is then from the planned one)."""
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
        sec.max_us = max(sec.max_us, us)
        if service_ms is not None:
            service_us = int(service_ms * 1000 + 0.5)
            if rec.service_all is None or rec.service_ok is None:
                rec.service_all, rec.service_ok = Histogram(), Histogram()
            rec.service_all.record(service_us)
            if category is None:
                rec.service_ok.record(service_us)
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
        self.sent += other.sent
        self.sent_late += other.sent_late
        self.cpu_warnings += other.cpu_warnings
        self.connect_failures += other.connect_failures
        self.cpu.update(other.cpu)  # cumulative figures: the latest reading of a process replaces the earlier
        self.loop_lag.merge(other.loop_lag)

    def drain(self) -> dict[str, Any]:
        """Everything counted since the last drain, as plain data (msgpack/JSON), and reset (CPU: cumulative)."""
        wire = {
            "interfaces": {k: r.to_wire() for k, r in self.interfaces.items()},
            "intended": self.intended,
            "dropped": self.dropped,
            "sent": self.sent,
            "sent_late": self.sent_late,
            "cpu_warnings": self.cpu_warnings,
            "connect_failures": self.connect_failures,
            "cpu": {k: list(v) for k, v in self.cpu.items()},
            "loop_lag": self.loop_lag.to_dict(),
        }
        self.interfaces = {}
        self.intended = self.dropped = self.sent = self.sent_late = self.cpu_warnings = self.connect_failures = 0
        self.loop_lag = Histogram()
        return wire

    def merge_wire(self, wire: dict[str, Any]) -> None:
        other = Recorder()
        other.interfaces = {k: InterfaceRecord.from_wire(v) for k, v in wire.get("interfaces", {}).items()}
        other.intended = int(wire.get("intended", 0))
        other.dropped = int(wire.get("dropped", 0))
        other.sent = int(wire.get("sent", 0))
        other.sent_late = int(wire.get("sent_late", 0))
        other.cpu_warnings = int(wire.get("cpu_warnings", 0))
        other.connect_failures = int(wire.get("connect_failures", 0))
        other.cpu = {str(k): (float(v[0]), float(v[1]), float(v[2]), None if v[3] is None else float(v[3]))
                     for k, v in wire.get("cpu", {}).items()}
        if "loop_lag" in wire:
            other.loop_lag = Histogram.from_dict(wire["loop_lag"])
        self.merge(other)

    # ------------------------------------------------------------------ what the generator says about itself

    @property
    def completed(self) -> int:
        """Calls that ended with an outcome (a success or a counted failure)."""
        return self.total_requests

    def calls(self) -> dict[str, int | None]:
        """Planned, sent, completed and dropped side by side (planned: open model only); sent - completed: calls
        cut off at the stop."""
        return {"planned": self.planned, "sent": self.sent, "completed": self.completed, "dropped": self.dropped}

    def schedule(self) -> dict[str, int] | None:
        """Open model: arrivals due (their planned time came: planned - due is what the stop came before, the
        generator being behind or the run cut short) and calls sent LATE_SEND_S or more late. None: closed model."""
        if self.planned is None:
            return None
        return {"due": self.intended, "sent_late": self.sent_late, "late_after_ms": int(LATE_SEND_S * 1000)}

    def cpu_fractions(self) -> dict[str, float | None]:
        """Each process's CPU time over its load window, as a fraction of one core (None: window too short)."""
        return {k: (cpu / wall if wall >= MIN_CPU_WINDOW_S else None) for k, (cpu, wall, _, _) in self.cpu.items()}

    def cpu_demand(self) -> dict[str, float | None]:
        """Each process's CPU time plus run-queue wait over its load window, as a fraction of one core: the share
        of a core it wanted (the CPU time alone where the wait is unknown; None: window too short)."""
        return {k: ((cpu + (wait or 0.0)) / wall if wall >= MIN_CPU_WINDOW_S else None)
                for k, (cpu, wall, _, wait) in self.cpu.items()}

    @property
    def cpu_busy(self) -> bool:
        """A load process (the master itself excluded: it times no call) wanted CPU_SATURATED of a core or more."""
        return any(f is not None and f >= CPU_SATURATED for k, f in self.cpu_demand().items() if k != "master")

    @property
    def timing_lagged(self) -> bool:
        """The load processes' event loops ran late (LAG_SATURATED_MS at p90), or calls went out late."""
        lag = self.loop_lag.percentile(0.9)
        late = self.planned is not None and self.sent and self.sent_late >= SENT_LATE_SATURATED * self.sent
        return bool(late) or (lag is not None and lag >= LAG_SATURATED_MS * 1000)

    @property
    def cpu_saturated(self) -> bool:
        """Busy (a core's CPU_SATURATED wanted) and it showed in the timing (``timing_lagged``)."""
        return self.cpu_busy and self.timing_lagged

    @property
    def generator_cpu_s(self) -> float | None:
        """CPU seconds of every load process until its users stopped (the master's own excluded)."""
        load = [total for k, (_, _, total, _) in self.cpu.items() if k != "master"]
        return sum(load) if load else None

    @property
    def total_requests(self) -> int:
        return sum(r.requests for r in self.interfaces.values())

    @property
    def total_successes(self) -> int:
        return sum(r.successes for r in self.interfaces.values())
