"""The run record: summary.json (CONTRACTS.md), the per-second series and the histograms, built from measurements."""

from __future__ import annotations

import datetime
from typing import Any

from mvptest import targets as targets_mod
from mvptest.run.plan import RunPlan
from mvptest.run.recorder import CATEGORIES, Recorder

SCHEMA_VERSION = 1
LOST_REASON = "worker {} was lost mid-run; its calls since its last report are uncounted"


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).astimezone().isoformat(timespec="milliseconds")


def build_summary(*, run_id: str, plan: RunPlan, recorder: Recorder, started_at: float, finished_at: float,
                  interrupted: bool, target_url: str, workers: int, cpu_saturated: bool,
                  workers_lost: list[str] | None = None, locust_percentiles: dict[str, Any] | None = None,
                  locust_requests: int | None = None, generator_cpu_s: float | None = None) -> dict[str, Any]:
    """summary.json: one entry per interface with its counts, latency and every target's result; the verdict."""
    interfaces = []
    all_results = []
    elapsed = max(1e-9, finished_at - started_at)
    for ip in plan.interfaces:
        key = ip.interface.key
        rec = recorder.interfaces.get(key)
        requests = rec.requests if rec else 0
        successes = rec.successes if rec else 0
        latency = rec.latency_ok.summary_ms() if rec else {k: None for k in ("p50", "p90", "p95", "p99", "p999", "max", "mean")}
        results = targets_mod.evaluate(
            successes=successes, requests=requests, latency_ms=latency,
            success_rate=ip.targets.success_rate, latency_targets=ip.targets.latency_ms,
        )
        all_results.extend(results)
        entry: dict[str, Any] = {
            "id": ip.interface.id,
            "key": key,
            "title": ip.interface.title,
            "requests": requests,
            "successes": successes,
            "failures": {c: (rec.failures.get(c, 0) if rec else 0) for c in CATEGORIES},
            "success_rate": round(successes / requests, 6) if requests else None,
            "latency_ms": latency,
            "latency_ms_all_calls": rec.latency_all.summary_ms() if rec else None,
            "throughput_rps": round(requests / elapsed, 2),
            "targets": [r.to_dict() for r in results],
            "failure_samples": rec.samples if rec else {c: [] for c in CATEGORIES},
        }
        if locust_percentiles and key in locust_percentiles:
            entry["locust_percentiles_ms"] = locust_percentiles[key]
        interfaces.append(entry)
    total = recorder.total_requests
    verdict = targets_mod.verdict(all_results, total_requests=total)
    reasons = _verdict_reasons(interfaces, total, interrupted, workers_lost or [])
    incomplete = bool(interrupted or workers_lost)
    if incomplete:
        verdict = "fail"  # a run cut short or with calls uncounted never passes: its figures cover only a part
    summary: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "scenario": plan.name,
        "scenario_file": plan.scenario_path,
        "started_at": _iso(started_at),
        "finished_at": _iso(finished_at),
        "duration_s": round(finished_at - started_at, 3),
        "interrupted": interrupted,
        "incomplete": incomplete,  # interrupted, or a worker lost: the run did not complete as planned
        "verdict": verdict,
        "verdict_reason": "; ".join(reasons) if verdict == "fail" else "every target is met",
        "target": target_url,
        "sandbox": plan.uses_sandbox,
        "workers": workers,
        "load": {"model": "open" if plan.rate else "closed", "users": None if plan.rate else plan.users,
                 "spawn_rate": None if plan.rate else plan.spawn_rate, "rate": plan.rate,
                 "duration_s": plan.duration_s, "think_time_s": plan.think_time_s, "timeout_s": plan.timeout_s},
        "requests": total,
        "locust_requests": locust_requests,
        "achieved_rps": round(total / elapsed, 2),
        "generator_cpu_saturated": cpu_saturated,
        # CPU of the generating process while the load ran (in-process runs): its cost per call
        "generator_cpu_s": None if generator_cpu_s is None else round(generator_cpu_s, 3),
        "generator_cpu_us_per_request": (round(generator_cpu_s / total * 1e6, 1)
                                         if generator_cpu_s is not None and total else None),
        "interfaces": interfaces,
    }
    if plan.rate:
        summary["load"]["intended_requests"] = recorder.intended
        summary["load"]["dropped_arrivals"] = recorder.dropped
        summary["load"]["intended_rps"] = plan.rate
    if workers_lost:
        summary["workers_lost"] = workers_lost
    if total == 0:
        summary["note"] = "no requests were made: a run with zero requests never passes"
    if cpu_saturated:
        summary["warning"] = "the load generator ran out of CPU: its latency figures are not trustworthy"
    return summary


def _verdict_reasons(interfaces: list[dict[str, Any]], total: int, interrupted: bool,
                     workers_lost: list[str]) -> list[str]:
    """Why a run fails, most telling first: calls uncounted, the run cut short, no calls, then each target missed."""
    reasons = [LOST_REASON.format(w) for w in workers_lost]
    if interrupted:
        reasons.append("the run was interrupted: its figures cover only the part that ran")
    if total == 0:
        reasons.append("no requests were made")
    for itf in interfaces:
        for t in itf["targets"]:
            if not t["met"]:
                measured = "not measured" if t["measured"] is None else f"measured {t['measured']}"
                why = f": {t['reason']}" if t.get("reason") else ""
                reasons.append(f"{itf['key']}: {t['name']} missed ({measured}, threshold {t['threshold']}){why}")
    return reasons


def timeseries_rows(recorder: Recorder, started_at: float) -> list[list[Any]]:
    """One row per second and interface: requests, failures, p50/p95/p99 of successful calls (ms)."""
    rows = []
    t0 = int(started_at)
    for key, rec in sorted(recorder.interfaces.items()):
        for sec in sorted(rec.seconds):
            s = rec.seconds[sec]
            p = s.percentiles()
            rows.append([sec - t0, key, s.requests, s.failures] + ["" if v is None else round(v / 1000, 3) for v in p])
    return rows


TIMESERIES_HEADER = ["second", "interface", "requests", "failures", "p50_ms", "p95_ms", "p99_ms"]


def histograms(recorder: Recorder) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "unit": "us",
        "interfaces": {key: {"successful_calls": rec.latency_ok.to_dict(), "all_calls": rec.latency_all.to_dict()}
                       for key, rec in sorted(recorder.interfaces.items())},
    }
