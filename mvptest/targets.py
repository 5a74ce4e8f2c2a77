"""Pure functions from measurements and targets to a verdict: success rate with its confidence, latency percentiles."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion: honest near 0 and 1, where the normal approximation fails."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def requests_needed(target: float) -> int | None:
    """Requests with zero failures needed before a 95 % upper bound on the failure rate reaches 1 - target.

    The rule of three with its exact constant: with no failure in n trials, the one-sided 95 % upper bound
    of the failure rate is 1 - 0.05**(1/n), a little below -ln(0.05)/n = 2.996/n; so n = ceil(2.996/(1 - target))
    is enough (2996 for 99.9 %). None for a target of 1: no number of requests can show a failure rate of 0.
    """
    if target >= 1:
        return None  # not math.inf: summary.json must stay valid JSON
    if target <= 0:
        return 1
    # rounded first: 1 - 0.9 is 0.09999999999999998 in floating point, which must not make 30 into 31
    return max(1, math.ceil(round(-math.log(0.05) / (1 - target), 9)))


def requests_needed_wilson(target: float, z: float = Z95) -> int | None:
    """Requests with zero failures before the two-sided 95 % Wilson interval clears the target: its lower bound
    for n successes of n is n / (n + z^2), so n >= target z^2 / (1 - target) (3,838 for 99.9 %)."""
    if target >= 1:
        return None
    if target <= 0:
        return 1
    return max(1, math.ceil(round(target * z * z / (1 - target), 9)))


@dataclass(frozen=True)
class TargetResult:
    name: str  # success_rate | latency_p95_ms | ...
    threshold: float
    measured: float | None
    met: bool
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "threshold": self.threshold, "measured": self.measured, "met": self.met}
        out.update(self.detail)
        return out


def success_rate_result(successes: int, requests: int, threshold: float) -> TargetResult:
    """Met when the measured rate reaches the threshold over at least the requests needed to support it.

    The detail says whether the evidence supports the target (the Wilson lower bound reaches it) and how
    many requests would be needed with zero failures; a run with zero requests never passes.
    """
    if requests <= 0:
        return TargetResult("success_rate", threshold, None, False,
                            {"reason": "no requests were made", "requests_needed": requests_needed(threshold)})
    rate = successes / requests
    low, high = wilson_interval(successes, requests)
    needed = requests_needed(threshold)
    needed_wilson = requests_needed_wilson(threshold)
    detail: dict[str, Any] = {
        "ci95": [round(low, 6), round(high, 6)],
        "requests": requests,
        "requests_needed": needed,  # rule of three: one-sided 95 %, zero failures
        "requests_needed_wilson": needed_wilson,  # zero failures, the two-sided Wilson interval above the target
        "conclusive": low >= threshold or high < threshold,  # by the Wilson interval shown beside the rate
    }
    if needed is not None and requests < needed:
        # Too short to tell: even with no failure, so few calls cannot show the target is met. A CI gate must not
        # pass a smoke run against a rollout target (the rule of three: 3/(1 - target) calls).
        detail["reason"] = (f"too few requests to support {threshold:.4%}: {requests:,} of the {needed:,} needed "
                            "with no failure; run longer or with more users")
        return TargetResult("success_rate", threshold, round(rate, 6), False, detail)
    if rate >= threshold and low < threshold:
        more = (f"with no failure, {needed:,} requests put the one-sided 95 % bound at the target (rule of three) "
                f"and {needed_wilson:,} lift this interval above it" if needed is not None and needed_wilson is not None
                else "no number of requests can show a failure rate of 0")
        detail["note"] = (f"{requests:,} requests cannot support {threshold:.4%}: the 95 % interval reaches down to "
                          f"{low:.4%}; {more}")
    return TargetResult("success_rate", threshold, round(rate, 6), rate >= threshold, detail)


def latency_result(key: str, threshold_ms: float, measured_ms: float | None) -> TargetResult:
    name = f"latency_{key}_ms"
    if measured_ms is None:
        return TargetResult(name, threshold_ms, None, False, {"reason": "no successful requests to measure"})
    return TargetResult(name, threshold_ms, round(measured_ms, 3), measured_ms <= threshold_ms)


def evaluate(*, successes: int, requests: int, latency_ms: dict[str, float | None], success_rate: float,
             latency_targets: dict[str, float]) -> list[TargetResult]:
    """Every target of one interface: the success rate first, then each latency percentile it names."""
    results = [success_rate_result(successes, requests, success_rate)]
    for key, threshold in latency_targets.items():
        results.append(latency_result(key, threshold, latency_ms.get(key)))
    return results


def verdict(results: Iterable[TargetResult], *, total_requests: int) -> str:
    """pass only when every target is met and at least one request was made."""
    results = list(results)
    if total_requests <= 0 or not results:
        return "fail"
    return "pass" if all(r.met for r in results) else "fail"
