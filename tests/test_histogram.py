"""The latency histogram (mvptest/run/histogram.py): exact below 2.048 ms, bounded relative error above, mergeable.

Every expected value comes from a sorted list of the raw values (nearest-rank percentile, the rank computed
with exact fractions), never from the histogram itself.
"""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction

import pytest

from mvptest.run.histogram import SUB_BITS, Histogram, bucket_bounds, bucket_index

EXACT_BELOW = 2 ** SUB_BITS  # 2048 µs
MAX_REL_ERROR = 1 / 2048  # half a bucket over its smallest value: the documented "0.05 %"
QUANTILES = (0.001, 0.01, 0.07, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999)


def exact_percentile(values: list[int], q: float) -> int:
    """Nearest rank: the smallest value with at least q of all values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(Fraction(str(q)) * len(ordered)))
    return ordered[rank - 1]


def histogram_of(values: list[int]) -> Histogram:
    h = Histogram()
    h.record_many(values)
    return h


def latencies(rng: random.Random, n: int) -> list[int]:
    """Log-uniform from 1 µs to 100 s, with a dense cluster around 2 ms (the exact/approximate border)."""
    out = []
    for _ in range(n):
        if rng.random() < 0.2:
            out.append(rng.randint(1900, 2200))
        else:
            out.append(int(10 ** rng.uniform(0, 8)))
    return out


# --------------------------------------------------------------------------- buckets


def test_bucket_of_a_value_contains_it_and_is_at_most_1_1024_of_it_wide() -> None:
    rng = random.Random(1)
    values = list(range(5000)) + [2 ** k + d for k in range(11, 62) for d in (-1, 0, 1)]
    values += [rng.randrange(2 ** 50) for _ in range(20000)]
    for v in values:
        low, high = bucket_bounds(bucket_index(v))
        assert low <= v <= high, v
        if v < EXACT_BELOW:
            assert low == high == v
        else:
            assert (high - low + 1) / low <= 1 / 1024, v


def test_bucket_index_never_decreases_with_the_value() -> None:
    """percentile() walks the buckets in index order: that is value order only if indexes are monotonic."""
    previous = -1
    for v in range(300_000):
        idx = bucket_index(v)
        assert idx >= previous, v
        previous = idx
    for k in range(12, 62):  # across every power of two up to 2**62
        assert bucket_index(2 ** k - 1) < bucket_index(2 ** k) <= bucket_index(2 ** k + 1)


# --------------------------------------------------------------------------- exact below 2.048 ms


def test_every_microsecond_value_below_2048_round_trips_exactly() -> None:
    for v in range(EXACT_BELOW):
        h = Histogram()
        h.record(v)
        h.record(v + 1 if v + 1 < EXACT_BELOW else v)  # a neighbour must not pull the percentile off the value
        assert h.percentile(0.5) == v


def test_percentiles_below_2048_us_equal_the_sorted_list_exactly() -> None:
    rng = random.Random(2)
    values = [rng.randrange(EXACT_BELOW) for _ in range(10_001)]
    h = histogram_of(values)
    for q in QUANTILES:
        assert h.percentile(q) == exact_percentile(values, q), q
    summary = h.summary_ms()
    assert summary["p50"] == round(exact_percentile(values, 0.5) / 1000, 3)
    assert summary["p999"] == round(exact_percentile(values, 0.999) / 1000, 3)
    assert summary["max"] == max(values) / 1000


def test_nearest_rank_is_not_thrown_off_by_floating_point() -> None:
    """0.07 * 100 is 7.000000000000001 in floating point: the 7th of 100 values, not the 8th."""
    h = histogram_of(list(range(1, 101)))
    assert h.percentile(0.07) == 7
    assert h.percentile(0.29) == 29  # 0.29 * 100 = 28.999999999999996
    assert h.percentile(0.57) == 57  # 0.57 * 100 = 56.99999999999999


# --------------------------------------------------------------------------- bounded error above


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_relative_error_of_percentiles_is_bounded_over_random_data(seed: int) -> None:
    rng = random.Random(seed)
    values = latencies(rng, 20_000)
    h = histogram_of(values)
    worst = 0.0
    for q in QUANTILES:
        exact = exact_percentile(values, q)
        got = h.percentile(q)
        assert got is not None
        if exact < EXACT_BELOW:
            assert got == exact, q
        else:
            err = abs(got - exact) / exact
            worst = max(worst, err)
            assert err <= MAX_REL_ERROR, (q, exact, got)
    assert h.percentile(0) == min(values)
    assert h.percentile(1) == max(values)
    assert worst > 0  # the data really exercised the approximate range


def test_count_sum_min_max_and_mean_are_exact() -> None:
    rng = random.Random(6)
    values = latencies(rng, 5000)
    h = histogram_of(values)
    assert h.count == len(values)
    assert h.total == sum(values)
    assert (h.min, h.max) == (min(values), max(values))
    assert h.mean() == sum(values) / len(values)
    assert h.summary_ms()["mean"] == round(sum(values) / len(values) / 1000, 3)
    assert sum(h.counts.values()) == len(values)


# --------------------------------------------------------------------------- merge


def test_merge_by_addition_equals_the_histogram_of_the_union() -> None:
    rng = random.Random(7)
    a, b, c = latencies(rng, 3000), latencies(rng, 1), latencies(rng, 7000)
    merged = Histogram()
    for part in (a, b, c):
        merged.merge(histogram_of(part))
    whole = histogram_of(a + b + c)
    assert merged.counts == whole.counts
    assert (merged.count, merged.total, merged.min, merged.max) == (whole.count, whole.total, whole.min, whole.max)
    for q in QUANTILES:
        assert merged.percentile(q) == whole.percentile(q)
    assert merged.summary_ms() == whole.summary_ms()
    # order does not matter
    other = histogram_of(c)
    other.merge(histogram_of(a))
    other.merge(histogram_of(b))
    assert other.counts == whole.counts and other.min == whole.min and other.max == whole.max


def test_merge_with_an_empty_histogram_changes_nothing_either_way() -> None:
    values = [5, 7, 3000, 10 ** 7]
    h = histogram_of(values)
    h.merge(Histogram())
    assert (h.count, h.total, h.min, h.max) == (4, sum(values), 5, 10 ** 7)
    empty = Histogram()
    empty.merge(histogram_of(values))
    assert empty.counts == h.counts
    assert (empty.count, empty.total, empty.min, empty.max) == (4, sum(values), 5, 10 ** 7)


# --------------------------------------------------------------------------- serialisation


def test_json_round_trip_keeps_everything() -> None:
    rng = random.Random(8)
    values = latencies(rng, 4000)
    h = histogram_of(values)
    data = json.loads(json.dumps(h.to_dict(), allow_nan=False))
    assert data["unit"] == "us" and data["sub_bucket_bits"] == SUB_BITS and data["count"] == len(values)
    back = Histogram.from_dict(data)
    assert back.counts == h.counts
    assert (back.count, back.total, back.min, back.max) == (h.count, h.total, h.min, h.max)
    assert back.summary_ms() == h.summary_ms()
    # a round-tripped histogram still merges like the original
    back.merge(histogram_of(values))
    twice = histogram_of(values + values)
    assert back.counts == twice.counts and back.total == twice.total


def test_empty_histogram_round_trips_and_answers_none() -> None:
    h = Histogram()
    assert all(h.percentile(q) is None for q in (0, 0.5, 1))
    assert h.mean() is None
    assert h.summary_ms() == dict.fromkeys(("p50", "p90", "p95", "p99", "p999", "max", "mean"))
    back = Histogram.from_dict(json.loads(json.dumps(h.to_dict(), allow_nan=False)))
    assert back.count == 0 and back.min is None and back.max is None and back.percentile(0.5) is None


# --------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize("value", [0, 1, 2047, 2048, 2049, 99_999, 123_456_789, 2 ** 40 + 12345])
def test_a_single_value_is_every_percentile_exactly(value: int) -> None:
    h = Histogram()
    h.record(value)
    for q in (0, 0.001, 0.5, 0.95, 0.999, 1):
        assert h.percentile(q) == value
    assert h.summary_ms()["p95"] == round(value / 1000, 3)
    assert h.summary_ms()["max"] == round(value / 1000, 3)


def test_huge_values_keep_the_relative_error_bound() -> None:
    values = [10 ** 9, 10 ** 9 + 1, 3 * 10 ** 11, 2 ** 50 + 7, 2 ** 50 + 99_999]
    h = histogram_of(values)
    for q in (0.2, 0.4, 0.6, 0.8, 1.0):
        exact = exact_percentile(values, q)
        assert abs(h.percentile(q) - exact) / exact <= MAX_REL_ERROR
    assert h.total == sum(values)


def test_negative_values_count_as_zero_and_n_counts_repeats() -> None:
    h = Histogram()
    h.record(-5)
    h.record(1500, n=9)
    assert h.count == 10 and h.min == 0 and h.max == 1500 and h.total == 13500
    assert h.percentile(0.1) == 0
    assert h.percentile(0.11) == 1500
