"""Stalls in a run's per-second series: throughput dips, and calls queued behind a slow one (no locust here).

The closed model hides a stalling provider: while it holds a response, the user waiting for it sends nothing, so
the calls that would have met the stall are never made (coordinated omission) and the percentiles look healthy.
What the stall leaves is a hole in the request rate, and a few very slow calls at its edge. Both are read here
from what the recorder keeps: requests and the slowest call per second (frozen seconds keep both), and the run's
latency histogram of all calls.

Rules (each constant below):
- the steady window is every full second from the end of the ramp (every user running) to the stop;
- a second is *low* when its requests fall below LOW_FRACTION of the window's median rate, and the calls it
  *omitted* are the median minus what it sent;
- a *dip* is a run of consecutive low seconds that together omitted at least DIP_LOSS_S seconds' worth of the
  median rate (a 1 s stall that straddles two seconds halves each of them: neither alone is a hole, both are);
- a dip is *queued* (calls queued behind a slow one) when the slowest call started in it, or in the second before
  it, took QUEUE_FACTOR times the run's p99 or more: the users were waiting on the provider;
- the run is *inconclusive* on latency when the omitted calls reach INCONCLUSIVE_OMITTED (1 %) of the calls the
  window would have made (sent + omitted): that many calls, each slow, could move the p99. A percentile pX is
  hidden from view (``hides_percentile``) once the omitted share reaches 1 - X (5 % for p95).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

LOW_FRACTION = 0.7
DIP_LOSS_S = 0.5
QUEUE_FACTOR = 5.0
INCONCLUSIVE_OMITTED = 0.01
MIN_WINDOW_S = 3  # fewer full seconds with every user running: not assessed
MIN_MEDIAN_RPS = 10.0  # below this a second's count is too noisy to call a dip


@dataclass(frozen=True)
class Dip:
    """Consecutive dip seconds; seconds are counted from the run's start (as in timeseries.csv)."""

    first_s: int
    last_s: int
    min_rps: int
    depth: float  # 1 - min_rps / median: 1.0 is a second with no call sent at all
    omitted_calls: int
    max_latency_ms: float | None  # the slowest call started in the dip or the second before it
    queued: bool

    def to_dict(self) -> dict[str, Any]:
        return {"first_s": self.first_s, "last_s": self.last_s, "seconds": self.last_s - self.first_s + 1,
                "min_rps": self.min_rps, "depth": round(self.depth, 3), "omitted_calls": self.omitted_calls,
                "max_latency_ms": self.max_latency_ms, "queued": self.queued}


@dataclass(frozen=True)
class StallReport:
    assessed: bool
    reason: str | None = None  # why not assessed
    window: tuple[int, int] | None = None  # first and last second of the steady window, from the run's start
    median_rps: float | None = None
    dips: list[Dip] = field(default_factory=list)
    window_seconds: int = 0
    sent_in_window: int = 0
    p99_ms: float | None = None
    max_ms: float | None = None

    @property
    def stalled_seconds(self) -> int:
        return sum(d.last_s - d.first_s + 1 for d in self.dips)

    @property
    def stalled_fraction(self) -> float:
        """Share of the window's seconds that were dips."""
        return self.stalled_seconds / self.window_seconds if self.window_seconds else 0.0

    @property
    def omitted_calls(self) -> int:
        return sum(d.omitted_calls for d in self.dips)

    @property
    def omitted_fraction(self) -> float:
        """Omitted calls over the calls the window would have made (sent + omitted)."""
        would = self.sent_in_window + self.omitted_calls
        return self.omitted_calls / would if would else 0.0

    @property
    def queued(self) -> bool:
        return any(d.queued for d in self.dips)

    @property
    def inconclusive(self) -> bool:
        return self.assessed and self.omitted_fraction >= INCONCLUSIVE_OMITTED

    def hides_percentile(self, q: float) -> bool:
        """Whether the omitted calls are numerous enough to move the q-quantile (e.g. 0.95) of latency."""
        return self.assessed and bool(self.dips) and self.omitted_fraction >= 1 - q

    def message(self) -> str | None:
        """One sentence for the console and the verdict reason; None when there is nothing to say."""
        if not self.dips:
            return None
        cause = ("calls queued behind slow responses (the provider stalled)" if self.queued
                 else "no slow calls beside them (did the generator pause?)")
        return (f"the request rate fell below {LOW_FRACTION:.0%} of its median ({self.median_rps:g}/s) in "
                f"{self.stalled_seconds} of {self.window_seconds} s, {cause}: about {self.omitted_calls:,} calls "
                f"({self.omitted_fraction:.1%}) were never sent, so the closed model's latency hides what they "
                f"would have met" + ("; the latency verdict is inconclusive" if self.inconclusive else "")
                + " (run it with --rate to time every call from its planned send)")

    def to_dict(self) -> dict[str, Any]:
        if not self.assessed:
            return {"assessed": False, "reason": self.reason}
        return {"assessed": True, "window_s": list(self.window) if self.window else None,
                "median_rps": self.median_rps, "low_below": LOW_FRACTION, "dip_loss_s": DIP_LOSS_S,
                "dips": [d.to_dict() for d in self.dips],
                "stalled_seconds": self.stalled_seconds, "stalled_fraction": round(self.stalled_fraction, 4),
                "omitted_calls": self.omitted_calls, "omitted_fraction": round(self.omitted_fraction, 5),
                "queued": self.queued, "p99_ms": self.p99_ms, "max_ms": self.max_ms,
                "inconclusive_at": INCONCLUSIVE_OMITTED, "inconclusive": self.inconclusive,
                "message": self.message()}


def find_stalls(series: Mapping[int, tuple[int, int]], *, first: int, last: int, p99_us: float | None,
                max_us: float | None, origin: int = 0) -> StallReport:
    """Dips in ``series`` (epoch second -> (requests, slowest call in µs)) over the seconds ``first``..``last``.

    A second missing from the series sent nothing: it counts as 0 requests. ``origin``: the run's first second,
    so that the findings read as timeseries.csv does."""
    n = last - first + 1
    if n < MIN_WINDOW_S:
        return StallReport(False, f"fewer than {MIN_WINDOW_S} full seconds with every user running")
    counts = [series.get(s, (0, 0))[0] for s in range(first, last + 1)]
    median = float(statistics.median(counts))
    p99_ms = None if p99_us is None else round(p99_us / 1000, 3)
    max_ms = None if max_us is None else round(max_us / 1000, 3)
    if median < MIN_MEDIAN_RPS:
        return StallReport(False, f"the median rate ({median:g}/s) is under {MIN_MEDIAN_RPS:g}/s: too few calls a "
                                  "second to tell a dip from chance")
    dips: list[Dip] = []
    run: list[int] = []
    for second in range(first, last + 2):  # one past the end closes the last run
        req = series.get(second, (0, 0))[0] if second <= last else math.inf
        if req < LOW_FRACTION * median:
            run.append(second)
            continue
        if run:
            dip = _dip(series, run, median, p99_us, origin)
            if dip.omitted_calls >= DIP_LOSS_S * median:
                dips.append(dip)
            run = []
    return StallReport(True, None, (first - origin, last - origin), median, dips, n, sum(counts), p99_ms, max_ms)


def _dip(series: Mapping[int, tuple[int, int]], seconds: list[int], median: float, p99_us: float | None,
         origin: int) -> Dip:
    counts = [series.get(s, (0, 0))[0] for s in seconds]
    slowest = max(series.get(s, (0, 0))[1] for s in [seconds[0] - 1, *seconds])
    lowest = min(counts)
    queued = bool(slowest) and p99_us is not None and slowest >= QUEUE_FACTOR * p99_us
    return Dip(seconds[0] - origin, seconds[-1] - origin, lowest, 1 - lowest / median,
               round(sum(median - c for c in counts)), round(slowest / 1000, 3) if slowest else None, queued)


def stalls_of(recorder: Any, started_at: float, ended_at: float) -> StallReport:
    """The run's stall report from its Recorder: every interface summed, one series for the run."""
    from mvptest.run.histogram import Histogram

    series: dict[int, tuple[int, int]] = {}
    everything = Histogram()
    for rec in recorder.interfaces.values():
        everything.merge(rec.latency_all)
        for second, s in rec.seconds.items():
            req, slow = series.get(second, (0, 0))
            series[second] = (req + s.requests, max(slow, s.max_us))
    running = recorder.all_running_at if recorder.all_running_at is not None else started_at
    end = recorder.load_ended if recorder.load_ended is not None else ended_at
    first = math.ceil(max(running, started_at))
    last = math.floor(end) - 1
    return find_stalls(series, first=first, last=last, p99_us=everything.percentile(0.99), max_us=everything.max,
                       origin=int(started_at))
