"""The verdict rules (mvptest/run/targets.py and the summary built on them): three outcomes, their reasons, the run record.

The statistics themselves (Clopper-Pearson bounds, order-statistic ranks, the chance of passing) are checked
against independent references in tests/test_verdict_stats.py; this file checks what a run's record says.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from mvptest.report.html import render_html
from mvptest.report.junit import render_junit
from mvptest.run import targets as T
from mvptest.run.histogram import Histogram
from mvptest.run.plan import RunPlan, build_plan
from mvptest.run.recorder import Recorder
from mvptest.run.summary import build_summary

ROOT = Path(__file__).resolve().parents[1]
PILOT = ROOT / "scenarios" / "pilot-enterprise-registration.yaml"
SCENARIOS = Path(__file__).resolve().parent / "data" / "scenarios"
MARKET = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"
REG = "market-supervision/enterprise-registration"
SEARCH = "market-supervision/enterprise-search"


def hist_of(*values_ms: float, n: int = 1) -> Histogram:
    h = Histogram()
    for v in values_ms:
        h.record(int(v * 1000 + 0.5), n)
    return h


# --------------------------------------------------------------------------- success-rate target


def test_zero_requests_never_pass() -> None:
    r = T.success_rate_result(0, 0, 0.999)
    assert (r.name, r.threshold, r.measured, r.outcome, r.met) == ("success_rate", 0.999, None, "inconclusive", False)
    assert r.detail["reason"] == "no requests were made"
    assert r.detail["requests_needed"] == 2995
    # even with a target nobody could miss, and even when the latency results pass
    assert T.success_rate_result(0, 0, 0.0001).met is False
    passing = T.latency_result("p95", 100, hist_of(1.0, n=100))
    assert passing.outcome == "pass"
    assert T.verdict([passing], total_requests=0) == "fail"
    assert T.verdict([], total_requests=10) == "fail"


def test_a_clean_run_too_short_to_support_the_target_is_inconclusive_and_says_how_many_more() -> None:
    short = T.success_rate_result(2994, 2994, 0.999)
    assert short.outcome == "inconclusive" and short.measured == 1.0 and short.met is False
    assert short.detail["reason"] == (
        "success rate 100 % of 2,994 calls cannot be told from the target 99.9 %: at 95 % confidence it lies "
        "between 99.8999 % and 100 %; 1 more call without failure would pass it (2,995 in all)")
    assert T.success_rate_result(2995, 2995, 0.999).outcome == "pass"
    assert T.success_rate_result(9, 9, 0.999).outcome == "inconclusive"
    assert T.success_rate_result(299, 299, 0.99).outcome == "pass"  # a lower target needs fewer calls


def test_the_point_estimate_no_longer_decides() -> None:
    """9,990 of 10,000 is exactly 99.9 %: the old rule passed it; its lower bound is 99.83 %."""
    at = T.success_rate_result(9990, 10_000, 0.999)
    assert at.measured == 0.999 and at.outcome == "inconclusive"
    assert at.detail["further_calls"] is None  # at the observed rate no number of calls decides it
    assert "no number of further calls decides it" in at.detail["reason"]


def test_a_clear_miss_fails_and_says_by_how_much() -> None:
    bad = T.success_rate_result(995, 1000, 0.999)
    assert bad.outcome == "fail"
    high = bad.detail["interval"]["high"]
    assert high < 0.999 and high == pytest.approx(T.cp_upper(995, 1000), abs=1e-6)
    assert bad.detail["reason"] == ("success rate 99.5 % of 1,000 calls is below the target 99.9 %: at 95 % "
                                           "confidence it is at most 99.8028 %, 0.0972 percentage points short")
    good = T.success_rate_result(999_900, 1_000_000, 0.999)
    assert good.outcome == "pass" and "reason" not in good.detail


def test_a_target_of_one_never_passes_and_stays_valid_json() -> None:
    result = T.success_rate_result(5000, 5000, 1.0)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))  # no Infinity in summary.json
    assert data["requests_needed"] is None and data["outcome"] == "inconclusive"
    assert "no number of calls can show a failure rate of 0" in data["reason"]


def test_to_dict_carries_the_contract_fields_and_the_interval_with_its_level() -> None:
    d = T.success_rate_result(995, 1000, 0.99).to_dict()
    assert {k: d[k] for k in ("name", "threshold", "measured", "met", "outcome")} == {
        "name": "success_rate", "threshold": 0.99, "measured": 0.995, "met": False, "outcome": "inconclusive"}
    assert d["interval"]["confidence"] == 0.95 and d["interval"]["low"] < 0.99 < d["interval"]["high"]
    d99 = T.success_rate_result(995, 1000, 0.99, confidence=0.99).to_dict()
    assert d99["interval"]["confidence"] == 0.99 and d99["interval"]["low"] < d["interval"]["low"]


def test_dropped_arrivals_count_as_failed_calls() -> None:
    clean = T.success_rate_result(35_000, 35_000, 0.999)
    assert clean.outcome == "pass"
    dropped = T.success_rate_result(35_000, 35_000, 0.999, dropped=100)
    assert dropped.outcome == "fail" and dropped.detail["requests"] == 35_100 and dropped.detail["failures"] == 100
    assert dropped.measured == round(35_000 / 35_100, 6) and dropped.detail["dropped_arrivals"] == 100


# --------------------------------------------------------------------------- latency targets


def test_latency_needs_an_upper_bound_within_the_threshold() -> None:
    # 1,000 calls at 99.9 ms: every order statistic is 99.9 ms (one bucket), the upper bound too
    assert T.latency_result("p95", 100, hist_of(99.9, n=1000)).outcome == "pass"
    # 40 calls: too few for an upper bound of p95 (59 are needed), so not a pass however fast
    few = T.latency_result("p95", 100, hist_of(1.0, n=40))
    assert few.outcome == "inconclusive" and few.detail["interval"]["high"] is None
    assert "40 calls are too few for an upper bound at 95 % confidence" in few.detail["reason"]
    # 1,000 calls at 100.2 ms: the lower bound is above the threshold
    slow = T.latency_result("p95", 100, hist_of(100.2, n=1000))
    assert slow.outcome == "fail" and slow.detail["interval"]["low"] > 100
    r = T.latency_result("p99", 250, hist_of(12.34567, n=1000))
    assert (r.name, r.threshold, r.measured) == ("latency_p99_ms", 250, 12.346)


def test_latency_not_measured_is_not_a_pass() -> None:
    r = T.latency_result("p95", 100, None)
    assert r.outcome == "inconclusive" and r.measured is None and "no calls" in r.detail["reason"]


def test_evaluate_puts_the_success_rate_first_then_each_percentile() -> None:
    h = Histogram()
    h.record_many([80_000] * 9_000 + [300_000] * 1_000)  # p95 300 ms, p50 80 ms
    results = T.evaluate(successes=10_000, requests=10_000, latency=h, success_rate=0.999,
                         latency_targets={"p50": 100, "p95": 250})
    assert [(r.name, r.outcome) for r in results] == [
        ("success_rate", "pass"), ("latency_p50_ms", "pass"), ("latency_p95_ms", "fail")]
    assert T.verdict(results, total_requests=10_000) == "fail"
    assert T.verdict(results[:2], total_requests=10_000) == "pass"
    undecided = T.success_rate_result(1000, 1000, 0.999)
    assert T.verdict([*results[:2], undecided], total_requests=10_000) == "inconclusive"
    assert T.verdict([*results, undecided], total_requests=10_000) == "fail"  # a fail outranks the undecided


# --------------------------------------------------------------------------- summary: verdict, calls, generator


def recorder_with(key: str, *, ok: int, status: int = 0, latency_ms: float = 5.0, fail_ms: float | None = None) -> Recorder:
    rec = Recorder()
    for i in range(ok):
        rec.record(key, latency_ms=latency_ms, category=None, start_time=1000.0 + i / 1000)
    for _ in range(status):
        rec.record(key, latency_ms=fail_ms if fail_ms is not None else latency_ms, category="status",
                   start_time=1000.5, sample={"status": 500})
    return rec


def summary_of(rec: Recorder, *, cpu: bool = False, plan: RunPlan | None = None, **kw) -> dict:
    plan = plan or build_plan(PILOT)
    return build_summary(run_id="r1", plan=plan, recorder=rec, started_at=1000.0, finished_at=1010.0,
                         interrupted=False, target_url="http://127.0.0.1:1", workers=0, cpu_saturated=cpu, **kw)


def test_summary_of_a_run_without_requests_fails() -> None:
    s = summary_of(Recorder())
    assert s["verdict"] == "fail" and s["requests"] == 0 and s["verdict_reason"] == "no requests were made"
    itf = s["interfaces"][0]
    assert itf["requests"] == 0 and itf["success_rate"] is None
    assert [t["met"] for t in itf["targets"]] == [False, False]
    assert "zero requests never passes" in s["note"]
    json.dumps(s, allow_nan=False)


def test_summary_verdict_follows_the_targets() -> None:
    s = summary_of(recorder_with(REG, ok=3000, latency_ms=5.0))
    assert s["verdict"] == "pass" and s["verdict_reason"] == "every target is met" and s["confidence"] == 0.95
    itf = s["interfaces"][0]
    assert itf["latency_ms"]["p95"] == 5.0
    assert [(t["name"], t["threshold"], t["outcome"]) for t in itf["targets"]] == [
        ("success_rate", 0.999, "pass"), ("latency_p95_ms", 100.0, "pass")]
    slow = summary_of(recorder_with(REG, ok=3000, latency_ms=100.2))
    assert slow["verdict"] == "fail"
    assert slow["interfaces"][0]["targets"][1]["outcome"] == "fail"
    assert slow["verdict_reason"].startswith(f"{REG}: p95 100.2 ms of 3,000 calls is above 100 ms")
    failing = summary_of(recorder_with(REG, ok=997, status=3))
    assert failing["verdict"] == "inconclusive"  # 99.7 % of 1,000: the bounds straddle 99.9 %
    assert failing["interfaces"][0]["failures"] == {"transport": 0, "status": 3, "schema": 0}
    assert failing["interfaces"][0]["success_rate"] == 0.997
    assert failing["verdict_reason"].startswith(f"{REG}: success rate 99.7 % of 1,000 calls cannot be told")
    missed = summary_of(recorder_with(REG, ok=9900, status=100))
    assert missed["verdict"] == "fail"


def test_latency_is_judged_on_all_calls_and_the_successful_figure_is_beside_it() -> None:
    """10,000 calls at 5 ms and 600 that failed after 2 s: the consumer waited 2 s for each of them."""
    s = summary_of(recorder_with(REG, ok=10_000, status=600, latency_ms=5.0, fail_ms=2000.0))
    itf = s["interfaces"][0]
    assert itf["latency_ms"]["p95"] == 2000.0 and itf["latency_ms_successful"]["p95"] == 5.0
    assert itf["latency_ms_all_calls"] == itf["latency_ms"]  # the former name, kept for one release
    assert itf["targets"][1]["measured"] == 2000.0 and itf["targets"][1]["outcome"] == "fail"
    assert s["percentile_method"].startswith("nearest rank") and "failed calls included" in s["percentile_method"]


def test_saturated_generator_turns_a_latency_miss_into_inconclusive_and_keeps_a_pass() -> None:
    """A generator out of CPU only adds delay: a latency miss may be its own, a pass holds all the same."""
    rec = recorder_with(REG, ok=3000)
    calm, hot = summary_of(rec), summary_of(rec, cpu=True)
    assert calm["generator_cpu_saturated"] is False and "warning" not in calm and calm["verdict"] == "pass"
    assert hot["generator_cpu_saturated"] is True and "ran out of CPU" in hot["warning"]
    assert hot["verdict"] == "pass" and hot["verdict_reason"] == "every target is met"
    slow = recorder_with(REG, ok=3000, latency_ms=150.0)
    assert summary_of(slow)["verdict"] == "fail"
    s = summary_of(slow, cpu=True)
    assert s["verdict"] == "inconclusive" and s["interfaces"][0]["targets"][1]["outcome"] == "inconclusive"
    assert s["verdict_reason"].startswith("the load generator ran out of CPU: its own delay is in the latency figures")
    assert "but the load generator ran out of CPU and its own delay is in this figure" in s["verdict_reason"]
    # a provider that answers 5xx fails whatever the generator's CPU
    assert summary_of(recorder_with(REG, ok=9900, status=100), cpu=True)["verdict"] == "fail"


def test_drops_of_a_saturated_generator_are_not_held_against_the_provider() -> None:
    """The issue's --rate 8000 run: 60 % dropped by a generator out of CPU. Not a fail of the provider."""
    plan = build_plan(PILOT, rate=500.0, duration="10s")
    rec = recorder_with(REG, ok=4000)
    rec.intended, rec.dropped = 5000, 1000
    s = summary_of(rec, plan=plan, cpu=True)
    assert s["interfaces"][0]["targets"][0]["outcome"] == "pass" and "dropped_arrivals" not in s["interfaces"][0]
    assert s["verdict"] == "inconclusive"
    assert s["verdict_reason"].startswith("the load generator ran out of CPU: its own delay is in the latency figures "
                                          "and 1,000 planned arrivals were dropped")


def test_dropped_arrivals_fail_a_run_that_counted_only_successes(tmp_path: Path) -> None:
    """The issue's overloaded run: 60 % of the planned arrivals dropped, every call sent succeeded."""
    plan = build_plan(PILOT, rate=500.0, duration="10s")
    rec = recorder_with(REG, ok=2000)
    rec.intended, rec.dropped = 5000, 3000
    s = summary_of(rec, plan=plan)
    assert s["calls"] == {"planned": 5000, "sent": 2000, "completed": 2000, "dropped": 3000}
    itf = s["interfaces"][0]
    assert itf["success_rate"] == 1.0 and itf["dropped_arrivals"] == 3000
    assert itf["targets"][0]["measured"] == 0.4 and itf["targets"][0]["outcome"] == "fail"
    assert s["verdict"] == "fail"
    assert s["verdict_reason"].startswith("3,000 arrivals the generator dropped (too many calls in flight) count as "
                                          "failed calls: calls the consumer would have made")
    junit = ET.fromstring(render_junit(s))
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert (props["calls_planned"], props["calls_sent"], props["calls_completed"], props["calls_dropped"]) == (
        "5000", "2000", "2000", "3000")
    assert props["confidence"] == "0.95"


def test_dropped_arrivals_are_apportioned_by_weight_across_interfaces() -> None:
    plan = build_plan(SCENARIOS / "targets-layers.yaml", rate=100.0)
    rec = recorder_with(REG, ok=500)
    rec.dropped = 7
    s = summary_of(rec, plan=plan)
    assert [i.get("dropped_arrivals", 0) for i in s["interfaces"]] == [4, 3]  # equal weights: 3.5 each, 7 in all


def test_reporters_show_the_three_outcomes(tmp_path: Path) -> None:
    s = summary_of(recorder_with(REG, ok=1000))
    assert s["verdict"] == "inconclusive"
    root = ET.fromstring(render_junit(s))
    failures = list(root.iter("failure"))
    assert [f.get("type") for f in failures] == ["inconclusive"]
    assert "1,995 more calls without failure would pass it" in (failures[0].text or "")
    assert "bounds at 95 % (one-sided each)" in (failures[0].text or "")
    page = render_html(s, [])
    assert "Why it is inconclusive" in page and 'class=inconclusive' in page and "Clopper-Pearson" in page


# --------------------------------------------------------------------------- the confidence level


def test_confidence_from_the_scenario_the_command_line_and_to_workers(tmp_path: Path) -> None:
    assert build_plan(PILOT).confidence == 0.95
    scenario = tmp_path / "c.yaml"
    scenario.write_text(f"kind: scenario\nname: c\nspecs: [{MARKET.as_posix()}]\ntargets: {{confidence: 0.99}}\n",
                        encoding="utf-8")
    plan = build_plan(scenario)
    assert plan.confidence == 0.99
    assert build_plan(scenario, confidence=0.9).confidence == 0.9
    assert RunPlan.from_wire(plan.to_wire()).confidence == 0.99
    s = summary_of(recorder_with(REG, ok=3000), plan=plan)
    assert s["confidence"] == 0.99
    assert s["verdict"] == "inconclusive"  # 3,000 clean calls support 99.9 % at 95 %, not at 99 % (4,603)
    assert s["interfaces"][0]["targets"][0]["requests_needed"] == 4603


@pytest.mark.parametrize("value", [0.5, 1, 1.5, 0.3])
def test_a_confidence_out_of_range_is_bad_input_naming_the_line(tmp_path: Path, value: float) -> None:
    from mvptest.errors import SpecError

    scenario = tmp_path / "c.yaml"
    scenario.write_text(f"kind: scenario\nname: c\nspecs: [{MARKET.as_posix()}]\ntargets: {{confidence: {value}}}\n",
                        encoding="utf-8")
    with pytest.raises(SpecError) as exc:
        build_plan(scenario)
    assert "c.yaml:4" in str(exc.value) and "confidence" in str(exc.value)


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


# --------------------------------------------------------------------------- the per-second series stays small


def _long_run(rec: Recorder, seconds: int, *, t0: int = 5000) -> None:
    import random

    rng = random.Random(7)
    for sec in range(seconds):
        for i in range(50):
            rec.record(REG, latency_ms=rng.uniform(1, 300), category=None if i % 10 else "status",
                       start_time=t0 + sec + i / 50)


def test_old_seconds_are_reduced_to_their_percentiles_and_the_series_is_unchanged() -> None:
    from mvptest.run.histogram import Histogram
    from mvptest.run.recorder import LIVE_SECONDS
    from mvptest.run.summary import timeseries_rows

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
