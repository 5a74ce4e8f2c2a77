"""The statistics under the verdict (mvptest/run/targets.py) against known truth: pure functions, no run.

References, computed here by other means than the code under test (scipy is not in the venv):
- the Clopper-Pearson bound as the root of the binomial tail P(X >= s | p) = 1 - c, the tail summed term by term
  with exact binomial coefficients and the root found by bisection (the code inverts a beta continued fraction);
- closed forms: with no failure the lower bound is (1 - c)^(1/n); with no success the upper bound 1 - (1 - c)^(1/n);
- textbook two-sided 95 % Clopper-Pearson intervals (one-sided 97.5 % bounds): 5 of 10 -> 0.1871-0.8129,
  1 of 10 -> 0.0025-0.4450, 0 of 10 -> 0-0.3085 (e.g. Brown, Cai & DasGupta 2001, and every exact-CI table);
- order-statistic ranks from the binomial distribution summed with exact fractions.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mvptest.run import targets as T
from mvptest.run.histogram import Histogram

ORDER = {"fail": 0, "inconclusive": 1, "pass": 2}
# The default pilot: 20 users x 20 s against the sandbox at about 1,750 calls/s (README), so about 35,000 calls.
PILOT_CALLS = 35_000


def tail_reference(s: int, n: int, p: float) -> float:
    """P(X >= s) for X ~ Binomial(n, p), summed term by term (exact coefficients, floating-point powers)."""
    return math.fsum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(s, n + 1))


def lower_reference(s: int, n: int, c: float = 0.95) -> float:
    """The one-sided Clopper-Pearson lower bound: the p at which P(X >= s | p) = 1 - c, by bisection."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if tail_reference(s, n, mid) < 1 - c:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


# --------------------------------------------------------------------------- Clopper-Pearson bounds


def test_no_failure_in_2996_calls_puts_the_lower_bound_just_above_99_9() -> None:
    low = T.cp_lower(2996, 2996)
    assert low == pytest.approx(0.05 ** (1 / 2996), abs=1e-15)
    assert round(low, 4) == 0.9990 and low >= 0.999


@pytest.mark.parametrize("s,n", [(2994, 2996), (2990, 3000), (34_975, 35_000), (34_954, 35_000), (9, 10), (3, 40)])
def test_lower_bound_is_the_root_of_the_binomial_tail(s: int, n: int) -> None:
    assert T.cp_lower(s, n) == pytest.approx(lower_reference(s, n), abs=1e-10)


@pytest.mark.parametrize("s,n,low,high", [(5, 10, 0.1871, 0.8129), (1, 10, 0.0025, 0.4450), (0, 10, 0.0, 0.3085)])
def test_textbook_exact_intervals(s: int, n: int, low: float, high: float) -> None:
    assert round(T.cp_lower(s, n, 0.975), 4) == low
    assert round(T.cp_upper(s, n, 0.975), 4) == high


@pytest.mark.parametrize("n", [1, 10, 300, 2995, 1_000_000])
def test_bounds_at_the_edges_have_their_closed_forms(n: int) -> None:
    assert T.cp_lower(n, n) == pytest.approx(0.05 ** (1 / n), rel=1e-14)
    assert T.cp_upper(0, n) == pytest.approx(1 - 0.05 ** (1 / n), rel=1e-12)
    assert T.cp_upper(n, n) == 1.0 and T.cp_lower(0, n) == 0.0


def test_upper_bound_mirrors_the_lower_bound_of_the_failures() -> None:
    for s, n in ((34_960, 35_000), (995, 1000), (7, 19)):
        assert T.cp_upper(s, n) == pytest.approx(1 - T.cp_lower(n - s, n), abs=1e-12)


def test_requests_needed_is_the_least_clean_run_that_passes() -> None:
    """(1 - c)^(1/n) >= t from n = ceil(ln(1 - c) / ln t) on: 2,995 for 99.9 % (the rule of three said 2,996)."""
    assert T.requests_needed(0.999) == 2995 == math.ceil(math.log(0.05) / math.log(0.999))
    assert T.success_outcome(2995, 2995, 0.999) == "pass"
    assert T.success_outcome(2994, 2994, 0.999) == "inconclusive"
    assert (T.requests_needed(0.99), T.requests_needed(0.9), T.requests_needed(0.999, 0.99)) == (299, 29, 4603)
    assert T.requests_needed(1.0) is None


# --------------------------------------------------------------------------- the three regions and their boundaries


def test_regions_of_a_pilot_sized_run_at_99_9() -> None:
    """35,000 calls: pass up to 25 failures, fail from 46; between them the bounds straddle 99.9 %."""
    n = PILOT_CALLS
    assert lower_reference(n - 25, n) >= 0.999 > lower_reference(n - 26, n)  # the pass edge, by the reference
    outcomes = {f: T.success_outcome(n - f, n, 0.999) for f in (0, 25, 26, 35, 45, 46, 200)}
    assert outcomes == {0: "pass", 25: "pass", 26: "inconclusive", 35: "inconclusive", 45: "inconclusive",
                        46: "fail", 200: "fail"}
    assert T.cp_upper(n - 46, n) < 0.999 <= T.cp_upper(n - 45, n)


def test_the_cases_of_the_issue() -> None:
    # 5 failures in 6,665 calls (a provider at 99.88 % passed this 31 % of the time): not a pass now
    assert T.success_outcome(6660, 6665, 0.999) == "inconclusive"
    # the old rule was not monotone: 0 failures in 2,995 failed, 3 in 3,000 passed
    assert T.success_outcome(2995, 2995, 0.999) == "pass"
    assert T.success_outcome(2997, 3000, 0.999) == "inconclusive"
    # a clean 35,000-call pilot passes; 3,000 clean calls pass too, by 5 calls
    assert T.success_outcome(PILOT_CALLS, PILOT_CALLS, 0.999) == "pass"


def test_further_calls_for_a_clean_short_run_are_the_rest_of_the_requests_needed() -> None:
    assert T.further_calls(1000, 1000, 0.999) == 1995
    r = T.success_rate_result(1000, 1000, 0.999)
    assert r.outcome == "inconclusive" and r.detail["further_calls"] == 1995
    assert "1,995 more calls without failure would pass it (2,995 in all)" in r.detail["reason"]


def test_further_calls_at_the_observed_rate_decide_it_and_no_fewer() -> None:
    more = T.further_calls(6660, 6665, 0.999)
    assert more is not None
    n = 6665 + more
    p = 6660 / 6665
    assert T.cp_lower(n * p, n) >= 0.999 > T.cp_lower((n - 1) * p, n - 1)
    # the normal approximation z^2 p(1-p)/(p-t)^2 is in the same range (the exact bound is more cautious)
    z = 1.6448536269514722
    assert 1.0 <= n / (z * z * p * (1 - p) / (p - 0.999) ** 2) <= 1.5
    # below the target, towards a fail: 2 failures in 1,000 (99.8 %) are not yet enough
    down = T.further_calls(998, 1000, 0.999)
    assert down is not None and T.cp_upper(0.998 * (1000 + down), 1000 + down) < 0.999
    assert T.further_calls(999, 1000, 0.999) is None  # exactly at the target: nothing decides it


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 200_000), f=st.integers(0, 200_000), t=st.sampled_from([0.9, 0.99, 0.999, 0.9995]))
def test_more_failures_never_help(n: int, f: int, t: float) -> None:
    f = f % n
    s = n - f
    assert T.cp_lower(s - 1, n) <= T.cp_lower(s, n) and T.cp_upper(s - 1, n) <= T.cp_upper(s, n)
    assert ORDER[T.success_outcome(s - 1, n, t)] <= ORDER[T.success_outcome(s, n, t)]
    # one more call: a success never hurts, a failure never helps
    assert ORDER[T.success_outcome(s + 1, n + 1, t)] >= ORDER[T.success_outcome(s, n, t)]
    assert ORDER[T.success_outcome(s, n + 1, t)] <= ORDER[T.success_outcome(s, n, t)]


# --------------------------------------------------------------------------- the chance of passing, by simulation


def binomial_draw(rng: random.Random, n: int, p: float) -> int:
    """Failures in n calls each failing with probability p, exactly: the gaps between failures are geometric."""
    log_q, k, pos = math.log1p(-p), 0, 0
    while True:
        pos += int(math.log(1 - rng.random()) / log_q) + 1
        if pos > n:
            return k
        k += 1


def test_pass_rate_of_providers_near_the_target() -> None:
    """20,000 simulated pilots of 35,000 calls per provider (seed 10). A pilot passes when its failures are at most
    the pass edge (25: the rule is monotone in failures, checked above), so the exact pass probability is the
    binomial CDF there; the Monte Carlo rate must agree with it within 4 standard errors (0.6 points at 5 %)."""
    n, draws = PILOT_CALLS, 20_000
    edge = max(f for f in range(60) if T.success_outcome(n - f, n, 0.999) == "pass")
    assert edge == 25
    rng = random.Random(10)
    for provider, bound in ((0.9985, 0.05), (0.999, 0.05), (0.9995, None)):
        exact = T.binom_cdf(edge, n, 1 - provider)
        passed = sum(binomial_draw(rng, n, 1 - provider) <= edge for _ in range(draws)) / draws
        se = math.sqrt(max(exact * (1 - exact), 1 / draws) / draws)
        assert abs(passed - exact) <= 4 * se, (provider, passed, exact)
        if bound is not None:
            assert exact <= bound  # by construction: a provider at (or below) the target passes at most 1 - c
            assert passed <= bound + 4 * se, (provider, passed)
        else:
            assert passed >= 0.95  # a provider at 99.95 % passes a pilot of this size nearly always
    assert T.binom_cdf(edge, n, 0.0015) < 1e-4  # 99.85 %: about 2 pilots in 100,000


def test_binomial_cdf_against_exact_fractions() -> None:
    n, p = 300, Fraction(1, 50)
    for k in (0, 3, 6, 12, 299):
        exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))
        assert T.binom_cdf(k, n, float(p)) == pytest.approx(float(exact), rel=1e-11, abs=1e-300)


# --------------------------------------------------------------------------- latency: order-statistic bounds


def ranks_reference(n: int, q: Fraction, c: Fraction = Fraction(95, 100)) -> tuple[int | None, int | None]:
    cdf, total = [], Fraction(0)  # cdf[i] = P(B <= i)
    for i in range(n + 1):
        total += math.comb(n, i) * q**i * (1 - q) ** (n - i)
        cdf.append(total)
    upper = next((k for k in range(1, n + 1) if cdf[k - 1] >= c), None)
    lower = next((j for j in range(n, 0, -1) if 1 - cdf[j - 1] >= c), None)
    return lower, upper


@pytest.mark.parametrize("n", [20, 58, 59, 200, 1000])
def test_quantile_ranks_against_exact_fractions(n: int) -> None:
    assert T.quantile_ranks(n, 0.95) == ranks_reference(n, Fraction(95, 100))
    assert T.quantile_ranks(n, 0.5) == ranks_reference(n, Fraction(1, 2))


def test_p95_needs_59_calls_for_an_upper_bound() -> None:
    assert T.quantile_ranks(58, 0.95)[1] is None and T.quantile_ranks(59, 0.95)[1] == 59  # 1 - 0.95^59 >= 0.95


def histogram_ms(values_ms: list[float]) -> Histogram:
    h = Histogram()
    for v in values_ms:
        h.record(int(v * 1000 + 0.5))
    return h


def test_p95_of_99_ms_on_200_calls_is_not_a_pass() -> None:
    """200 calls spread evenly, the 190th (nearest-rank p95) at 99 ms: the upper bound is the 196th, 102.1 ms."""
    h = histogram_ms([i * 99 / 190 for i in range(1, 201)])
    r = T.latency_result("p95", 100, h)
    assert r.measured == pytest.approx(99.0, rel=5e-4)
    assert r.outcome == "inconclusive"
    assert r.detail["interval"]["high_rank"] == 196 and r.detail["interval"]["low_rank"] == 185
    assert r.detail["interval"]["high"] == pytest.approx(196 * 99 / 190, rel=1e-3)
    assert "may exceed 100 ms" in r.detail["reason"] and r.detail["further_calls"] > 0


def test_p95_on_20000_tightly_spread_calls_passes_and_a_slow_one_fails() -> None:
    rng = random.Random(3)
    tight = histogram_ms([rng.uniform(20, 30) for _ in range(20_000)])
    r = T.latency_result("p95", 100, tight)
    assert r.outcome == "pass" and r.detail["interval"]["high"] < 30.0
    slow = histogram_ms([rng.uniform(50, 106) for _ in range(20_000)])  # p95 about 103 ms
    r = T.latency_result("p95", 100, slow)
    assert r.outcome == "fail" and r.detail["interval"]["low"] > 100
    assert "at least" in r.detail["reason"]


def test_latency_bounds_are_read_conservatively_from_the_histogram() -> None:
    """Above 2.048 ms a bucket is up to 1/1024 of its value wide: the upper bound is its top, the lower its bottom."""
    rng = random.Random(5)
    values = sorted(rng.randint(2_000, 400_000) for _ in range(5000))
    h = Histogram()
    h.record_many(values)
    j, k = T.quantile_ranks(5000, 0.99)
    assert j is not None and k is not None
    assert T.value_at_rank(h, k, side="high") >= values[k - 1]
    assert T.value_at_rank(h, j, side="low") <= values[j - 1]
    assert T.value_at_rank(h, k, side="high") <= values[k - 1] * (1 + 1 / 1024)


def test_max_and_mean_are_judged_on_the_observed_value() -> None:
    h = histogram_ms([10, 20, 30])
    assert T.latency_result("max", 30, h).outcome == "pass" and T.latency_result("max", 29.9, h).outcome == "fail"
    assert T.latency_result("mean", 20, h).outcome == "pass"
    assert T.latency_result("p95", 100, Histogram()).outcome == "inconclusive"
