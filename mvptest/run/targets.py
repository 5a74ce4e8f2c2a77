"""Pure functions from measurements and targets to a verdict: pass, fail or inconclusive, from confidence bounds.

The rules, at one confidence level ``c`` (default 0.95) for the whole run:

* Success rate, s successes of n calls, target t. The one-sided Clopper-Pearson (exact binomial) bounds are
  L = B(1 - c; s, n - s + 1) and U = B(c; s + 1, n - s), B(q; a, b) the q-quantile of the beta distribution
  (L = 0 when s = 0, U = 1 when s = n). pass when L >= t, fail when U < t, inconclusive otherwise. Both bounds
  fall as failures rise, so more failures never help. With no failure L = (1 - c)^(1/n): 2,995 clean calls
  support 99.9 % at 95 %.
* A latency percentile q (p95: q = 0.95) of n calls, threshold T. Distribution-free order-statistic bounds:
  the upper bound is the k-th smallest call, k the least rank with P(Bin(n, q) <= k - 1) >= c; the lower bound
  the j-th, j the greatest rank with P(Bin(n, q) >= j) >= c. pass when the upper bound <= T, fail when the lower
  bound > T, inconclusive otherwise (also when n is too small for an upper bound: fewer than 59 calls for p95).
  The order statistics are read from the histogram (mvptest/run/histogram.py), the upper one at its bucket's top
  and the lower one at its bucket's bottom (at most 0.1 % of the value wider than exact).
* ``max`` and ``mean`` have no distribution-free interval: they are judged on the value observed.

The beta distribution is computed here with the math module only (the regularised incomplete beta function by
its continued fraction, Numerical Recipes 6.4, inverted by safeguarded Newton steps): no scipy at run time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mvptest.run.histogram import Histogram

DEFAULT_CONFIDENCE = 0.95
OUTCOMES = ("pass", "inconclusive", "fail")  # best first
PERCENTILE_METHOD = ("nearest rank: the value at rank ceil(q x n) of the n calls, failed calls included, read from a "
                     "histogram with at most 0.05 % relative error")
QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999}
MAX_FURTHER = 10**9  # the search for "further calls that would decide it" stops here

_EPS = 1e-15
_TINY = 1e-300


# --------------------------------------------------------------------------- the beta and binomial distributions


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz), for x < (a + 1) / (a + b + 2)."""
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1 + aa * d
            d = 1 / (d if abs(d) > _TINY else _TINY)
            c = 1 + aa / c
            c = c if abs(c) > _TINY else _TINY
            delta = d * c
            h *= delta
        if abs(delta - 1) < _EPS:
            break
    return h


def _log_front(a: float, b: float, x: float) -> float:
    return math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b): the beta(a, b) distribution's CDF at x."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    if x < (a + 1) / (a + b + 2):
        return math.exp(_log_front(a, b, x)) * _betacf(a, b, x) / a
    return 1 - math.exp(_log_front(a, b, x)) * _betacf(b, a, 1 - x) / b


def beta_ppf(q: float, a: float, b: float) -> float:
    """The q-quantile of the beta(a, b) distribution: x with I_x(a, b) = q (Newton steps kept inside a bracket)."""
    if q <= 0:
        return 0.0
    if q >= 1:
        return 1.0
    lo, hi = 0.0, 1.0
    mean, sd = a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    x = min(1 - 1e-12, max(1e-12, mean + NormalDist().inv_cdf(q) * sd))
    for _ in range(200):
        f = betainc(a, b, x) - q
        if f == 0:
            return x
        if f < 0:
            lo = x
        else:
            hi = x
        if hi - lo <= 4e-16 * max(hi, 1e-300):
            break
        log_pdf = _log_front(a, b, x) - math.log(x) - math.log1p(-x)
        pdf = math.exp(log_pdf) if log_pdf < 700 else math.inf
        step = f / pdf if pdf > 0 else math.inf  # a pdf that underflows: bisect
        nxt = x - step
        if not (lo < nxt < hi):
            nxt = (lo + hi) / 2
        if nxt == x:
            break
        x = nxt
    return x


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return betainc(n - k, k + 1, 1 - p)


# --------------------------------------------------------------------------- success rate: Clopper-Pearson


def cp_lower(successes: float, n: float, confidence: float = DEFAULT_CONFIDENCE) -> float:
    """The one-sided Clopper-Pearson lower bound of a success rate at ``confidence``."""
    if n <= 0 or successes <= 0:
        return 0.0
    if successes >= n:
        return (1 - confidence) ** (1 / n)
    return beta_ppf(1 - confidence, successes, n - successes + 1)


def cp_upper(successes: float, n: float, confidence: float = DEFAULT_CONFIDENCE) -> float:
    """The one-sided Clopper-Pearson upper bound of a success rate at ``confidence``."""
    if n <= 0 or successes >= n:
        return 1.0
    if successes <= 0:
        return 1 - (1 - confidence) ** (1 / n)
    return beta_ppf(confidence, successes + 1, n - successes)


def success_outcome(successes: float, n: float, target: float, confidence: float = DEFAULT_CONFIDENCE) -> str:
    if n <= 0:
        return "inconclusive"
    if cp_lower(successes, n, confidence) >= target:
        return "pass"
    if cp_upper(successes, n, confidence) < target:
        return "fail"
    return "inconclusive"


def requests_needed(target: float, confidence: float = DEFAULT_CONFIDENCE) -> int | None:
    """Calls with no failure needed for the lower bound to reach the target: the least n with (1 - c)^(1/n) >= t,
    n = ceil(ln(1 - c) / ln t) (2,995 for 99.9 % at 95 %; the rule of three, 3/(1 - t), says 3,000).
    None for a target of 1: no number of calls can show a failure rate of 0."""
    if target >= 1:
        return None  # not math.inf: summary.json must stay valid JSON
    if target <= 0:
        return 1
    n = max(1, math.ceil(math.log(1 - confidence) / math.log(target)))
    while cp_lower(n, n, confidence) < target:  # floating point: the formula and the bound must agree exactly
        n += 1
    while n > 1 and cp_lower(n - 1, n - 1, confidence) >= target:
        n -= 1
    return n


def _least_n(decides: Callable[[int], bool], n: int) -> int | None:
    """The least total N > n with decides(N), by doubling then bisection; None past MAX_FURTHER."""
    lo, hi = n, max(n + 1, 2 * n)
    while not decides(hi):
        if hi >= MAX_FURTHER:
            return None
        lo, hi = hi, min(MAX_FURTHER, 2 * hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if decides(mid):
            hi = mid
        else:
            lo = mid
    return hi


def further_calls(successes: int, n: int, target: float, confidence: float = DEFAULT_CONFIDENCE) -> int | None:
    """Further calls that would decide an inconclusive success rate if they fail at the observed rate.

    N is the least total for which the bound on N calls with N x f/n failures crosses the target (the lower bound
    up to it when the observed rate is above the target, the upper bound below it otherwise); the answer is N - n.
    For large n this is about z^2 p(1 - p)/(p - t)^2 calls in all (p the observed rate, z the normal quantile of
    c). None when the observed rate equals the target (no number of calls decides it) or past 10^9."""
    if n <= 0:
        return requests_needed(target, confidence)
    p = successes / n
    if p == target:
        return None
    if p > target:
        found = _least_n(lambda m: cp_lower(m * p, m, confidence) >= target, n)
    else:
        found = _least_n(lambda m: cp_upper(m * p, m, confidence) < target, n)
    return None if found is None else found - n


# --------------------------------------------------------------------------- latency: order statistics


def quantile_ranks(n: int, q: float, confidence: float = DEFAULT_CONFIDENCE) -> tuple[int | None, int | None]:
    """The ranks (1..n) of the order statistics bounding the q-quantile at ``confidence``, each one-sided.

    Upper: the least k with P(Bin(n, q) <= k - 1) >= c, so that P(quantile <= X_(k)) >= c. Lower: the greatest j
    with P(Bin(n, q) >= j) >= c, so that P(X_(j) <= quantile) >= c. None where n calls cannot give the bound."""
    if n <= 0:
        return None, None
    upper = None
    if binom_cdf(n - 1, n, q) >= confidence:
        lo, hi = 0, n  # binom_cdf(hi - 1) >= c
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if binom_cdf(mid - 1, n, q) >= confidence:
                hi = mid
            else:
                lo = mid
        upper = hi
    lower = None
    if 1 - binom_cdf(0, n, q) >= confidence:
        lo, hi = 1, n + 1  # 1 - binom_cdf(lo - 1) >= c
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if 1 - binom_cdf(mid - 1, n, q) >= confidence:
                lo = mid
            else:
                hi = mid
        lower = lo
    return lower, upper


def value_at_rank(hist: Histogram, rank: int, *, side: str) -> float:
    """The rank-th smallest value (1-based, µs) in a histogram: its bucket's top (side "high") or bottom ("low")."""
    from mvptest.run.histogram import bucket_bounds

    seen = 0
    for idx in sorted(hist.counts):
        seen += hist.counts[idx]
        if seen >= rank:
            low, high = bucket_bounds(idx)
            value = high if side == "high" else low
            return float(min(max(value, hist.min or 0), hist.max or 0))
    return float(hist.max or 0)


def _share_at_or_below(hist: Histogram, threshold_us: float) -> float:
    """The fraction of calls whose bucket midpoint is at or below the threshold (the observed distribution)."""
    from mvptest.run.histogram import bucket_bounds

    below = sum(n for idx, n in hist.counts.items() if sum(bucket_bounds(idx)) / 2 <= threshold_us)
    return below / hist.count if hist.count else 0.0


def latency_further_calls(share: float, n: int, q: float, confidence: float = DEFAULT_CONFIDENCE) -> int | None:
    """Further calls that would decide a percentile if calls keep the observed distribution: ``share`` of them at
    or below the threshold. The least N whose upper rank k(N) <= floor(N x share) (pass) or whose lower rank
    j(N) > floor(N x share) (fail); N - n. None when share equals q or past 10^9."""
    if share == q:
        return None
    if share > q:
        def decides(m: int) -> bool:
            k = quantile_ranks(m, q, confidence)[1]
            return k is not None and k <= math.floor(m * share)
    else:
        def decides(m: int) -> bool:
            j = quantile_ranks(m, q, confidence)[0]
            return j is not None and j > math.floor(m * share)
    found = _least_n(decides, max(1, n))
    return None if found is None else found - n


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class TargetResult:
    name: str  # success_rate | latency_p95_ms | ...
    threshold: float
    measured: float | None
    outcome: str  # pass | fail | inconclusive
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool:
        return self.outcome == "pass"

    def to_dict(self) -> dict[str, Any]:
        out = {"name": self.name, "threshold": self.threshold, "measured": self.measured, "met": self.met,
               "outcome": self.outcome}
        out.update(self.detail)
        return out


def _pct(x: float, rounding: Callable[[float], float] = round) -> str:
    """A rate as a percentage with up to 4 decimals; bounds rounded outwards (math.floor / math.ceil) so that a
    bound just below the target never reads as the target itself."""
    value = rounding(round(x * 1e6, 6)) / 1e4
    return f"{value:.4f}".rstrip("0").rstrip(".") + " %"


def _calls(n: int) -> str:
    return f"{n:,} call" + ("" if n == 1 else "s")


def _level(confidence: float) -> str:
    return f"{confidence * 100:g} %"


def success_rate_result(successes: int, requests: int, threshold: float, *,
                        confidence: float = DEFAULT_CONFIDENCE, dropped: int = 0) -> TargetResult:
    """The success-rate target from Clopper-Pearson bounds; ``dropped`` arrivals count as failed calls."""
    n = requests + dropped
    needed = requests_needed(threshold, confidence)
    if n <= 0:
        return TargetResult("success_rate", threshold, None, "inconclusive",
                            {"reason": "no requests were made", "requests": 0, "requests_needed": needed,
                             "further_calls": needed})
    low, high = cp_lower(successes, n, confidence), cp_upper(successes, n, confidence)
    outcome = success_outcome(successes, n, threshold, confidence)
    rate = successes / n
    detail: dict[str, Any] = {
        "interval": {"low": round(low, 6), "high": round(high, 6), "confidence": confidence,
                     "method": "Clopper-Pearson, each bound one-sided"},
        "requests": n,
        "failures": n - successes,
        "requests_needed": needed,  # clean calls for the lower bound to reach the target
    }
    if dropped:
        detail["dropped_arrivals"] = dropped
    lvl = _level(confidence)
    if outcome == "fail":
        detail["reason"] = (f"success rate {_pct(rate, math.floor)} of {n:,} calls is below the target {_pct(threshold)}: "
                            f"at {lvl} confidence it is at most {_pct(high, math.ceil)}, "
                            f"{_pct(threshold - high, math.floor)[:-2]} percentage points short")
    elif outcome == "inconclusive":
        more = further_calls(successes, n, threshold, confidence)
        detail["further_calls"] = more
        if more is None:
            how = ("no number of calls can show a failure rate of 0" if threshold >= 1
                   else "at the observed rate no number of further calls decides it")
        elif successes == n:
            how = f"{_calls(more).replace(' call', ' more call')} without failure would pass it ({needed:,} in all)"
        else:
            how = f"about {_calls(more).replace(' call', ' more call')} at the observed failure rate would decide it"
        detail["reason"] = (f"success rate {_pct(rate, math.floor)} of {n:,} calls cannot be told from the target "
                            f"{_pct(threshold)}: at {lvl} confidence it lies between {_pct(low, math.floor)} and "
                            f"{_pct(high, math.ceil)}; "
                            f"{how}")
    return TargetResult("success_rate", threshold, round(rate, 6), outcome, detail)


def latency_result(key: str, threshold_ms: float, hist: Histogram | None, *,
                   confidence: float = DEFAULT_CONFIDENCE) -> TargetResult:
    """A latency target from the histogram of the calls it judges: an order-statistic interval for a percentile,
    the observed value for max and mean."""
    name = f"latency_{key}_ms"
    if hist is None or not hist.count:
        return TargetResult(name, threshold_ms, None, "inconclusive", {"reason": "no calls to measure"})
    n = hist.count
    if key not in QUANTILES:
        value = (hist.max or 0) if key == "max" else (hist.mean() or 0.0)
        measured = round(value / 1000, 3)
        outcome = "pass" if measured <= threshold_ms else "fail"
        detail: dict[str, Any] = {"method": "observed value"}
        if outcome == "fail":
            detail["reason"] = f"{key} {measured:g} ms is above {threshold_ms:g} ms by {measured - threshold_ms:.3f} ms"
        return TargetResult(name, threshold_ms, measured, outcome, detail)
    q = QUANTILES[key]
    measured = round((hist.percentile(q) or 0.0) / 1000, 3)
    j, k = quantile_ranks(n, q, confidence)
    low = round(value_at_rank(hist, j, side="low") / 1000, 3) if j is not None else None
    high = round(value_at_rank(hist, k, side="high") / 1000, 3) if k is not None else None
    if high is not None and high <= threshold_ms:
        outcome = "pass"
    elif low is not None and low > threshold_ms:
        outcome = "fail"
    else:
        outcome = "inconclusive"
    detail = {"interval": {"low": low, "high": high, "confidence": confidence, "low_rank": j, "high_rank": k,
                           "method": "order statistics (binomial, distribution-free), each bound one-sided"},
              "requests": n}
    lvl = _level(confidence)
    if outcome == "fail":
        detail["reason"] = (f"{key} {measured:g} ms of {n:,} calls is above {threshold_ms:g} ms: at {lvl} confidence "
                            f"it is at least {low:g} ms, {low - threshold_ms:.3f} ms over")  # type: ignore[operator]
    elif outcome == "inconclusive":
        more = latency_further_calls(_share_at_or_below(hist, threshold_ms * 1000), n, q, confidence)
        detail["further_calls"] = more
        bound = (f"its upper bound at {lvl} confidence is {high:g} ms" if high is not None
                 else f"{n:,} calls are too few for an upper bound at {lvl} confidence")
        how = ("at the observed distribution no number of further calls decides it" if more is None
               else f"about {more:,} more calls like these would decide it")
        detail["reason"] = f"{key} {measured:g} ms of {n:,} calls may exceed {threshold_ms:g} ms: {bound}; {how}"
    return TargetResult(name, threshold_ms, measured, outcome, detail)


def evaluate(*, successes: int, requests: int, latency: Histogram | None, success_rate: float,
             latency_targets: dict[str, float], confidence: float = DEFAULT_CONFIDENCE,
             dropped: int = 0) -> list[TargetResult]:
    """Every target of one interface: the success rate first, then each latency target it names."""
    results = [success_rate_result(successes, requests, success_rate, confidence=confidence, dropped=dropped)]
    for key, threshold in latency_targets.items():
        results.append(latency_result(key, threshold, latency, confidence=confidence))
    return results


def discount_saturated_generator(results: list[TargetResult]) -> list[TargetResult]:
    """A generator out of CPU can only make a provider look worse: its own scheduling delay adds to every latency.
    So a latency target it failed becomes inconclusive; a pass stands, and so does a success-rate result (a reset,
    a wrong status or body is the provider's, and a call timed out at the scenario's timeout is seconds past any
    scheduling delay)."""
    out = []
    for r in results:
        if r.name.startswith("latency_") and r.outcome == "fail":
            detail = dict(r.detail)
            detail["reason"] = (f"{r.detail.get('reason', r.name + ' missed')}, but the load generator ran out of CPU "
                                "and its own delay is in this figure")
            r = TargetResult(r.name, r.threshold, r.measured, "inconclusive", detail)
        out.append(r)
    return out


def verdict(results: Iterable[TargetResult], *, total_requests: int) -> str:
    """pass when every target passes, fail when one fails, inconclusive otherwise; a run without calls fails."""
    results = list(results)
    if total_requests <= 0 or not results:
        return "fail"
    if any(r.outcome == "fail" for r in results):
        return "fail"
    return "pass" if all(r.outcome == "pass" for r in results) else "inconclusive"
