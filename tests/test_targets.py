"""The verdict rules (mvptest/targets.py and the summary built on them), as pure functions with exact values.

Expected intervals are computed here independently: the Wilson bounds as the two roots of the quadratic
(p̂ - π)² = z² π (1 - π) / n, with z from the standard normal distribution.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from statistics import NormalDist

import pytest

from mvptest import targets as T
from mvptest.run.plan import build_plan
from mvptest.run.recorder import Recorder
from mvptest.results.summary import build_summary

ROOT = Path(__file__).resolve().parents[1]
PILOT = ROOT / "scenarios" / "pilot-enterprise-registration.yaml"
SCENARIOS = Path(__file__).resolve().parent / "data" / "scenarios"
MARKET = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"
REG = "market-supervision/enterprise-registration"
SEARCH = "market-supervision/enterprise-search"

Z = NormalDist().inv_cdf(0.975)


def wilson_reference(successes: int, n: int) -> tuple[float, float]:
    """The Wilson score interval as the roots of (1 + z²/n) π² - (2p̂ + z²/n) π + p̂² = 0."""
    p = successes / n
    a = 1 + Z * Z / n
    b = -(2 * p + Z * Z / n)
    c = p * p
    disc = math.sqrt(b * b - 4 * a * c)
    return (-b - disc) / (2 * a), (-b + disc) / (2 * a)


# --------------------------------------------------------------------------- Wilson interval


def test_z_is_the_two_sided_95_percent_quantile() -> None:
    assert T.Z95 == pytest.approx(Z, abs=1e-12)


def test_wilson_of_zero_requests_is_the_whole_range() -> None:
    assert T.wilson_interval(0, 0) == (0.0, 1.0)


def test_wilson_no_failure_in_3000() -> None:
    low, high = T.wilson_interval(3000, 3000)
    assert low == pytest.approx(3000 / (3000 + Z * Z), abs=1e-12)  # closed form when p̂ = 1
    assert low == pytest.approx(wilson_reference(3000, 3000)[0], abs=1e-12)
    assert low == pytest.approx(0.998721, abs=1e-6)
    assert high == 1.0


def test_wilson_five_failures_in_1000() -> None:
    low, high = T.wilson_interval(995, 1000)
    ref_low, ref_high = wilson_reference(995, 1000)
    assert low == pytest.approx(ref_low, abs=1e-12)
    assert high == pytest.approx(ref_high, abs=1e-12)
    assert (round(low, 5), round(high, 5)) == (0.98835, 0.99786)


@pytest.mark.parametrize("successes,n", [(1, 1), (0, 1), (0, 50), (25, 50), (9990, 10000), (999_000, 1_000_000)])
def test_wilson_matches_the_quadratic_and_is_symmetric(successes: int, n: int) -> None:
    low, high = T.wilson_interval(successes, n)
    ref_low, ref_high = wilson_reference(successes, n)
    assert low == pytest.approx(max(0.0, ref_low), abs=1e-12)
    assert high == pytest.approx(min(1.0, ref_high), abs=1e-12)
    assert low - 1e-12 <= successes / n <= high + 1e-12
    # the interval of the failures mirrors the interval of the successes
    f_low, f_high = T.wilson_interval(n - successes, n)
    assert f_low == pytest.approx(1 - high, abs=1e-12)
    assert f_high == pytest.approx(1 - low, abs=1e-12)


# --------------------------------------------------------------------------- requests needed (rule of three)


def exact_zero_failure_bound(n: int) -> float:
    """The exact one-sided 95 % upper bound of a failure rate after n calls without failure."""
    return 1 - 0.05 ** (1 / n)


def test_requests_needed_for_99_9_percent_is_2996() -> None:
    assert T.requests_needed(0.999) == 2996
    assert T.requests_needed(0.999) == math.ceil(-math.log(0.05) / 0.001)


@pytest.mark.parametrize("target", [0.5, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999])
def test_requests_needed_is_about_three_over_the_failure_budget_and_enough(target: float) -> None:
    n = T.requests_needed(target)
    assert n is not None
    assert n == pytest.approx(3 / (1 - target), rel=0.01)  # "~3/(1-target)"
    assert exact_zero_failure_bound(n) <= 1 - target  # n clean calls support the target
    # and n is close to the fewest that do: -ln(0.05)/(1-t) exceeds the exact ln(0.05)/ln(t) by about 1.5
    assert exact_zero_failure_bound(n - 3) > 1 - target


def test_requests_needed_is_not_thrown_off_by_floating_point() -> None:
    """1 - 0.9 is 0.09999999999999998: 29.957..., not a rounding artefact one higher."""
    assert T.requests_needed(0.9) == 30
    assert T.requests_needed(0.99) == 300


def test_requests_needed_for_a_target_of_one_is_none_and_stays_valid_json() -> None:
    assert T.requests_needed(1.0) is None
    result = T.success_rate_result(5000, 5000, 1.0)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))  # no Infinity in summary.json
    assert data["requests_needed"] is None
    assert data["met"] is True
    assert "no number of requests" in data["note"]


# --------------------------------------------------------------------------- success-rate target


def test_zero_requests_never_pass() -> None:
    r = T.success_rate_result(0, 0, 0.999)
    assert (r.name, r.threshold, r.measured, r.met) == ("success_rate", 0.999, None, False)
    assert r.detail["reason"] == "no requests were made"
    assert r.detail["requests_needed"] == 2996
    # even with a target nobody could miss, and even when the latency results say "met"
    assert T.success_rate_result(0, 0, 0.0001).met is False
    met_latency = T.latency_result("p95", 100, 1.0)
    assert T.verdict([met_latency], total_requests=0) == "fail"
    assert T.verdict([], total_requests=10) == "fail"


def test_success_rate_at_the_boundary() -> None:
    at = T.success_rate_result(9990, 10_000, 0.999)
    assert at.met is True and at.measured == 0.999
    below = T.success_rate_result(9989, 10_000, 0.999)
    assert below.met is False and below.measured == 0.9989


def test_a_run_too_short_to_support_the_target_never_passes() -> None:
    """Even with no failure, fewer calls than the rule of three asks cannot show 99.9 %: a smoke run must not pass a
    rollout gate."""
    short = T.success_rate_result(2995, 2995, 0.999)
    assert short.met is False and short.measured == 1.0
    assert short.detail["reason"] == ("too few requests to support 99.9000%: 2,995 of the 2,996 needed with no failure; "
                                      "run longer or with more users")
    assert T.success_rate_result(2996, 2996, 0.999).met is True
    assert T.success_rate_result(9, 9, 0.999).met is False
    assert T.success_rate_result(300, 300, 0.99).met is True  # a lower target needs fewer calls


def test_clean_run_too_short_to_support_the_target_passes_with_a_note() -> None:
    r = T.success_rate_result(3000, 3000, 0.999)
    assert r.met is True and r.measured == 1.0
    low, _ = wilson_reference(3000, 3000)
    assert r.detail["ci95"] == [round(low, 6), 1.0]
    assert r.detail["requests"] == 3000 and r.detail["requests_needed"] == 2996
    assert r.detail["conclusive"] is False  # the Wilson lower bound 0.99872 is below 0.999
    assert "3,000 requests cannot support 99.9000%" in r.detail["note"]
    assert "2,996" in r.detail["note"]


def test_long_run_is_conclusive_both_ways() -> None:
    good = T.success_rate_result(999_900, 1_000_000, 0.999)
    assert good.met is True and good.detail["conclusive"] is True and "note" not in good.detail
    bad = T.success_rate_result(995, 1000, 0.999)  # upper bound 0.99786 < 0.999: clearly short
    assert bad.met is False and bad.detail["conclusive"] is True


def test_to_dict_carries_the_contract_fields() -> None:
    d = T.success_rate_result(995, 1000, 0.99).to_dict()
    assert {k: d[k] for k in ("name", "threshold", "measured", "met")} == {
        "name": "success_rate", "threshold": 0.99, "measured": 0.995, "met": True}


# --------------------------------------------------------------------------- latency targets


def test_latency_target_boundary_is_inclusive() -> None:
    assert T.latency_result("p95", 100, 100.0).met is True
    assert T.latency_result("p95", 100, 100.001).met is False
    assert T.latency_result("p95", 100, 99.999).met is True
    r = T.latency_result("p99", 250, 12.34567)
    assert (r.name, r.threshold, r.measured) == ("latency_p99_ms", 250, 12.346)


def test_latency_not_measured_is_missed() -> None:
    r = T.latency_result("p95", 100, None)
    assert r.met is False and r.measured is None and "no successful requests" in r.detail["reason"]


def test_evaluate_puts_the_success_rate_first_then_each_percentile() -> None:
    results = T.evaluate(successes=5000, requests=5000, latency_ms={"p95": 80.0, "p99": 300.0},
                         success_rate=0.999, latency_targets={"p95": 100, "p99": 250})
    assert [(r.name, r.met) for r in results] == [("success_rate", True), ("latency_p95_ms", True), ("latency_p99_ms", False)]
    assert T.verdict(results, total_requests=5000) == "fail"
    assert T.verdict(results[:2], total_requests=5000) == "pass"


# --------------------------------------------------------------------------- summary: verdict, CPU flag


def recorder_with(key: str, *, ok: int, status: int = 0, latency_ms: float = 5.0) -> Recorder:
    rec = Recorder()
    for i in range(ok):
        rec.record(key, latency_ms=latency_ms, category=None, start_time=1000.0 + i / 1000)
    for i in range(status):
        rec.record(key, latency_ms=latency_ms, category="status", start_time=1000.5, sample={"status": 500})
    return rec


def summary_of(rec: Recorder, *, cpu: bool = False) -> dict:
    plan = build_plan(PILOT)
    return build_summary(run_id="r1", plan=plan, recorder=rec, started_at=1000.0, finished_at=1010.0,
                         interrupted=False, target_url="http://127.0.0.1:1", workers=0, cpu_saturated=cpu)


def test_summary_of_a_run_without_requests_fails() -> None:
    s = summary_of(Recorder())
    assert s["verdict"] == "fail" and s["requests"] == 0
    itf = s["interfaces"][0]
    assert itf["requests"] == 0 and itf["success_rate"] is None
    assert [t["met"] for t in itf["targets"]] == [False, False]
    assert "zero requests never passes" in s["note"]
    json.dumps(s, allow_nan=False)


def test_summary_verdict_follows_the_targets() -> None:
    s = summary_of(recorder_with(REG, ok=3000, latency_ms=5.0))
    assert s["verdict"] == "pass"
    itf = s["interfaces"][0]
    assert itf["latency_ms"]["p95"] == 5.0
    assert [(t["name"], t["threshold"], t["met"]) for t in itf["targets"]] == [
        ("success_rate", 0.999, True), ("latency_p95_ms", 100.0, True)]
    slow = summary_of(recorder_with(REG, ok=3000, latency_ms=100.001))
    assert slow["verdict"] == "fail"
    assert slow["interfaces"][0]["targets"][1]["met"] is False
    failing = summary_of(recorder_with(REG, ok=997, status=3))
    assert failing["verdict"] == "fail"
    assert failing["interfaces"][0]["failures"] == {"transport": 0, "status": 3, "schema": 0}
    assert failing["interfaces"][0]["success_rate"] == 0.997


def test_saturated_generator_is_flagged_without_changing_the_verdict() -> None:
    rec = recorder_with(REG, ok=3000)
    calm = summary_of(rec)
    hot = summary_of(rec, cpu=True)
    assert calm["generator_cpu_saturated"] is False and "warning" not in calm
    assert hot["generator_cpu_saturated"] is True
    assert "ran out of CPU" in hot["warning"]
    assert hot["verdict"] == calm["verdict"] == "pass"


# --------------------------------------------------------------------------- overrides: spec < scenario < CLI


def targets_by_key(plan) -> dict[str, tuple[float, dict[str, float]]]:
    return {ip.interface.key: (ip.targets.success_rate, ip.targets.latency_ms) for ip in plan.interfaces}


def test_targets_from_the_spec_when_the_scenario_names_none(tmp_path: Path) -> None:
    scenario = tmp_path / "no-targets.yaml"
    scenario.write_text(f"kind: scenario\nname: no-targets\nspecs: [{MARKET.as_posix()}]\n", encoding="utf-8")
    plan = build_plan(scenario)
    assert targets_by_key(plan) == {REG: (0.999, {"p95": 100.0}), SEARCH: (0.999, {"p95": 200.0})}


def test_scenario_targets_override_the_spec_percentile_by_percentile() -> None:
    plan = build_plan(SCENARIOS / "targets-layers.yaml")
    assert targets_by_key(plan) == {
        REG: (0.99, {"p95": 100.0, "p99": 250.0}),
        SEARCH: (0.99, {"p95": 200.0, "p99": 250.0}),
    }


def test_command_line_targets_override_the_scenario() -> None:
    plan = build_plan(SCENARIOS / "targets-layers.yaml", success_rate=0.95, latency_targets={"p95": 50.0})
    assert targets_by_key(plan) == {
        REG: (0.95, {"p95": 50.0, "p99": 250.0}),
        SEARCH: (0.95, {"p95": 50.0, "p99": 250.0}),
    }


def test_wilson_requests_needed_is_where_the_interval_clears_the_target() -> None:
    from mvptest.targets import requests_needed_wilson, wilson_interval

    n = requests_needed_wilson(0.999)
    assert n == 3838
    assert wilson_interval(n, n)[0] >= 0.999 > wilson_interval(n - 1, n - 1)[0]
    r = T.success_rate_result(2996, 2996, 0.999)
    assert r.detail["requests_needed"] == 2996 and r.detail["requests_needed_wilson"] == 3838
    assert "2,996" in r.detail["note"] and "3,838" in r.detail["note"]
    assert T.success_rate_result(3838, 3838, 0.999).detail["conclusive"] is True


# --------------------------------------------------------------------------- the per-second series stays small


def _long_run(rec: Recorder, seconds: int, *, t0: int = 5000) -> None:
    import random

    rng = random.Random(7)
    for sec in range(seconds):
        for i in range(50):
            rec.record(REG, latency_ms=rng.uniform(1, 300), category=None if i % 10 else "status",
                       start_time=t0 + sec + i / 50)


def test_old_seconds_are_reduced_to_their_percentiles_and_the_series_is_unchanged() -> None:
    from mvptest.histogram import Histogram
    from mvptest.run.recorder import LIVE_SECONDS
    from mvptest.results.summary import timeseries_rows

    rec = Recorder()
    _long_run(rec, 300)
    itf = rec.interfaces[REG]
    live = [k for k, s in itf.seconds.items() if s.latency is not None]
    # only the newest LIVE_SECONDS keep a histogram: memory per second of a long soak is a few numbers
    assert len(itf.seconds) == 300 and len(live) == LIVE_SECONDS + 1 and min(live) == 5000 + 300 - 1 - LIVE_SECONDS
    rows = timeseries_rows(rec, 5000.0)
    assert len(rows) == 300 and all(r[2] == 50 and r[3] == 5 for r in rows)
    # the frozen seconds give exactly what their whole histograms gave
    whole = Histogram()
    import random

    rng = random.Random(7)
    for i in range(50):
        v = rng.uniform(1, 300)
        if i % 10:
            whole.record(int(v * 1000 + 0.5))
    assert rows[0][4:] == [round(whole.percentile(q) / 1000, 3) for q in (0.5, 0.95, 0.99)]


def test_frozen_seconds_travel_and_merge_on_the_master() -> None:
    worker = Recorder()
    _long_run(worker, 120)
    master = Recorder()
    master.merge_wire(worker.drain())
    late = Recorder()  # a late report for a second the master has frozen: its counts still arrive
    late.record(REG, latency_ms=5.0, category=None, start_time=5000.5)
    master.merge_wire(late.drain())
    first = master.interfaces[REG].seconds[5000]
    assert first.latency is None and first.frozen is not None and first.requests == 51
    assert master.interfaces[REG].requests == 120 * 50 + 1
