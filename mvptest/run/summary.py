"""The run record: summary.json (CONTRACTS.md), the per-second series and the histograms, built from measurements."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from mvptest.run import targets as targets_mod
from mvptest.run.outcome import LOST_REASON
from mvptest.run.plan import RunPlan
from mvptest.run.recorder import CATEGORIES, Recorder

SCHEMA_VERSION = 1
__all__ = ["LOST_REASON", "SCHEMA_VERSION", "build_summary", "conditions", "histograms", "sequential_decision",
           "timeseries_rows"]


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).astimezone().isoformat(timespec="milliseconds")


def build_summary(*, run_id: str, plan: RunPlan, recorder: Recorder, started_at: float, finished_at: float,
                  interrupted: bool, target_url: str, workers: int, cpu_saturated: bool,
                  workers_lost: list[str] | None = None, locust_percentiles: dict[str, Any] | None = None,
                  locust_requests: int | None = None, generator_cpu_s: float | None = None,
                  generator: dict[str, Any] | None = None, stalls: Any = None) -> dict[str, Any]:
    """summary.json: one entry per interface with its counts, latency and every target's result; the verdict.

    Latency targets judge every call (a failed call's time is time the consumer waited). Open-model arrivals the
    generator dropped (too many calls in flight: the provider fell behind) count as failed calls of the interfaces
    they would have gone to (apportioned by weight). A generator out of CPU can only make a provider look worse:
    then its drops are not the provider's and a latency miss is not either (both make the run inconclusive instead),
    while a pass and a success-rate miss stand (targets.discount_saturated_generator)."""
    interfaces = []
    all_results = []
    elapsed = max(1e-9, finished_at - started_at)
    calls = _calls(plan, recorder)
    blamed = 0 if cpu_saturated else calls["dropped"] or 0  # drops counted against the provider
    for ip, dropped, results in _judged(plan, recorder, calls, cpu_saturated=cpu_saturated):
        all_results.extend(results)
        interfaces.append(_interface_entry(ip, recorder, dropped, results, elapsed, locust_percentiles))
    total = recorder.total_requests
    incomplete = bool(interrupted or workers_lost)
    verdict = targets_mod.verdict(all_results, total_requests=total)
    if incomplete:
        verdict = "fail"  # a run cut short or with calls uncounted never passes: its figures cover only a part
    elif verdict == "pass" and cpu_saturated and calls["dropped"]:
        verdict = "inconclusive"  # the load planned was not all sent, and not for the provider's sake
    stalled = bool(stalls is not None and not plan.rate and stalls.inconclusive and verdict == "pass")
    if stalled:
        verdict = "inconclusive"  # closed model: calls never sent during a stall hide what they would have met
    reason = _verdict_reason(verdict, interfaces, total=total, interrupted=interrupted, workers_lost=workers_lost or [],
                             cpu_saturated=cpu_saturated, dropped=calls["dropped"] or 0, blamed=blamed)
    stall_message = stalls.message() if stalls is not None and not plan.rate else None
    if stalled and stall_message:
        reason = "; ".join(part for part in (reason, stall_message) if part)
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
        "verdict_reason": reason,
        "confidence": plan.confidence,  # of every bound the verdict uses (one-sided)
        "verdict_rules": VERDICT_RULES,
        "percentile_method": targets_mod.PERCENTILE_METHOD,
        "latency_basis": "all calls (failed calls included); latency_ms_successful beside",
        "target": target_url,
        "sandbox": plan.uses_sandbox,
        "workers": workers,
        "load": {"model": "open" if plan.rate else "closed", "users": None if plan.rate else plan.users,
                 "spawn_rate": None if plan.rate else plan.spawn_rate, "rate": plan.rate,
                 "duration_s": plan.duration_s, "think_time_s": plan.think_time_s, "timeout_s": plan.timeout_s},
        "calls": calls,
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
    _add_context(summary, plan, recorder, generator=generator, stall_message=stall_message, workers_lost=workers_lost,
                 total=total, cpu_saturated=cpu_saturated)
    summary["conditions"] = conditions(plan)
    return summary


def conditions(plan: RunPlan) -> dict[str, Any]:
    """What a report needs to say what was run: versions, every spec file's sha256, the interfaces' versions, the
    sandbox's faults and the consumers (no header, no credential: the target is in summary["target"], public)."""
    import hashlib
    import platform

    from mvptest import __version__

    specs = []
    for path in [plan.scenario_path, *plan.spec_paths]:
        try:
            digest: str | None = hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None
        except OSError:
            digest = None
        specs.append({"path": str(path), "sha256": digest, "kind": "scenario" if path == plan.scenario_path else "spec"})
    return {
        "versions": {"mvptest": __version__, "python": platform.python_version(), "locust": _dist_version("locust"),
                     "geventhttpclient": _dist_version("geventhttpclient")},
        "files": [f for f in specs if f["path"]],
        "interfaces": [{"key": ip.interface.key, "id": ip.interface.id, "version": ip.interface.version,
                        "title": ip.interface.title, "method": ip.interface.method, "path": ip.interface.path,
                        "weight": ip.weight} for ip in plan.interfaces],
        "sandbox_faults": ({"seed": plan.sandbox.seed, "latency_ms": plan.sandbox.latency_ms,
                            "error_rate": plan.sandbox.error_rate, "invalid_rate": plan.sandbox.invalid_rate,
                            "reset_rate": plan.sandbox.reset_rate, "timeout_rate": plan.sandbox.timeout_rate}
                           if plan.uses_sandbox else None),
        "consumers": list(plan.consumers),
    }


def _dist_version(name: str) -> str | None:
    """An installed distribution's version, read from its metadata (importing locust would patch the process)."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _interface_entry(ip: Any, recorder: Recorder, dropped: int, results: list[Any], elapsed: float,
                     locust_percentiles: dict[str, Any] | None) -> dict[str, Any]:
    """One interface of summary.json: its counts, latency (all calls and successful ones) and targets."""
    key = ip.interface.key
    rec = recorder.interfaces.get(key)
    requests = rec.requests if rec else 0
    successes = rec.successes if rec else 0
    latency_all = rec.latency_all.summary_ms() if rec else dict.fromkeys(_LATENCY_KEYS)
    entry: dict[str, Any] = {
        "id": ip.interface.id,
        "key": key,
        "title": ip.interface.title,
        "requests": requests,
        "successes": successes,
        "failures": {c: (rec.failures.get(c, 0) if rec else 0) for c in CATEGORIES},
        "success_rate": round(successes / requests, 6) if requests else None,
        "latency_ms": latency_all,  # every call, failed ones included: what the latency targets judge
        "latency_ms_successful": rec.latency_ok.summary_ms() if rec else dict.fromkeys(_LATENCY_KEYS),
        "latency_ms_all_calls": latency_all,  # the former name of latency_ms, kept for one release
        "throughput_rps": round(requests / elapsed, 2),
        "targets": [r.to_dict() for r in results],
        "failure_samples": rec.samples if rec else {c: [] for c in CATEGORIES},
    }
    if dropped:
        entry["dropped_arrivals"] = dropped
    service = rec.service_all if rec else None
    if service is not None:
        entry["service_ms"] = service.summary_ms()  # open model: from the actual send, beside latency_ms
    if locust_percentiles and key in locust_percentiles:
        entry["locust_percentiles_ms"] = locust_percentiles[key]
    return entry


def _add_context(summary: dict[str, Any], plan: RunPlan, recorder: Recorder, *, generator: dict[str, Any] | None,
                 stall_message: str | None, workers_lost: list[str] | None, total: int, cpu_saturated: bool) -> None:
    """What the verdict was judged under and what weakens it: duration: auto, the generator, drops, lost workers."""
    if plan.sequential:
        seq = plan.sequential
        summary["sequential"] = {
            "looks": seq["looks"], "check_every_s": seq["check_every_s"], "max_duration_s": seq["max_duration_s"],
            "overall_confidence": seq["overall_confidence"], "per_look_confidence": round(seq["per_look_confidence"], 6),
            "decided": seq.get("decided"), "stopped_at_s": seq.get("stopped_at_s"),
            "rule": ("duration: auto looks at the verdict every check_every_s and stops at the first look where every "
                     "target is decided; each look decides at 1 - (1 - c)/looks (Bonferroni), so the chance of a "
                     "wrong pass or fail over the whole run stays at most 1 - c"),
        }
    if generator is not None:
        summary["generator"] = generator  # every load process: CPU, event-loop lateness, the stall analysis
    if stall_message:
        summary["stall_warning"] = stall_message
    if getattr(plan, "load_basis", None):
        summary["load"]["basis"] = plan.load_basis  # the load the verdict was judged under, in one sentence
    if plan.rate:
        summary["load"]["intended_requests"] = recorder.intended
        summary["load"]["dropped_arrivals"] = recorder.dropped
        summary["load"]["intended_rps"] = plan.rate
    if workers_lost:
        summary["workers_lost"] = workers_lost
    if total == 0:
        summary["note"] = "no requests were made: a run with zero requests never passes"
    if cpu_saturated:
        summary["warning"] = ("the load generator ran out of CPU: its latency figures are not trustworthy (only too "
                              "high), so a latency target it missed is inconclusive; spread the load over workers "
                              "(--workers N) or lower it")


_LATENCY_KEYS = ("p50", "p90", "p95", "p99", "p999", "max", "mean")
VERDICT_RULES = ("pass when every target's bound clears it at the stated confidence (success rate: the one-sided "
                 "Clopper-Pearson lower bound >= target; a percentile: its order-statistic upper bound <= threshold); "
                 "fail when one is missed beyond its bound (upper bound < target, lower bound > threshold); "
                 "inconclusive otherwise; dropped arrivals count as failed calls; a generator out of CPU turns a "
                 "latency miss, and its own drops, into inconclusive; a run interrupted, with a worker lost or "
                 "without calls fails")


def _calls(plan: RunPlan, recorder: Recorder) -> dict[str, int | None]:
    """Planned (open model: rate x duration), sent, completed and dropped calls, side by side."""
    calls = dict(recorder.calls())
    if calls.get("planned") is None and plan.rate:
        calls["planned"] = plan.planned_calls
    calls["sent"] = max(calls.get("sent") or 0, calls["completed"] or 0)  # a call with an outcome was sent
    return calls


def _judged(plan: RunPlan, recorder: Recorder, calls: dict[str, Any], *,
            cpu_saturated: bool) -> list[tuple[Any, int, list[targets_mod.TargetResult]]]:
    """Every interface's target results, as the verdict judges them: all calls, the drops counted against the
    provider apportioned by weight, a saturated generator's latency misses discounted. (interface plan, the drops
    it was charged, its results) per interface, in the plan's order."""
    blamed = 0 if cpu_saturated else calls["dropped"] or 0
    out = []
    for ip, dropped in zip(plan.interfaces, _apportion(blamed, [ip.weight for ip in plan.interfaces])):
        rec = recorder.interfaces.get(ip.interface.key)
        results = targets_mod.evaluate(
            successes=rec.successes if rec else 0, requests=rec.requests if rec else 0,
            latency=rec.latency_all if rec else None, success_rate=ip.targets.success_rate,
            latency_targets=ip.targets.latency_ms, confidence=plan.confidence, dropped=dropped,
        )
        if cpu_saturated:
            results = targets_mod.discount_saturated_generator(results)
        out.append((ip, dropped, results))
    return out


def _apportion(total: int, weights: list[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder): whole calls that add up exactly."""
    if not total or not weights:
        return [0] * len(weights)
    wsum = sum(weights) or 1.0
    raw = [total * w / wsum for w in weights]
    out = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)[: total - sum(out)]:
        out[i] += 1
    return out


def _verdict_reason(verdict: str, interfaces: list[dict[str, Any]], *, total: int, interrupted: bool,
                    workers_lost: list[str], cpu_saturated: bool, dropped: int, blamed: int) -> str:
    """One sentence: why the run is not a pass, most telling first (calls uncounted, the run cut short, no calls,
    the generator, then each target failed, then each undecided), or that every target is met."""
    counted = (f"{blamed:,} arrivals the generator dropped (too many calls in flight) count as failed calls: calls "
               "the consumer would have made") if blamed else ""
    if verdict == "pass":
        return "every target is met" + (f" ({counted})" if counted else "")
    reasons = [LOST_REASON.format(w) for w in workers_lost]
    if interrupted:
        reasons.append("the run was interrupted: its figures cover only the part that ran")
    if total == 0:
        reasons.append("no requests were made")
        return "; ".join(reasons)
    if cpu_saturated:
        reasons.append("the load generator ran out of CPU: its own delay is in the latency figures"
                       + (f" and {dropped:,} planned arrivals were dropped" if dropped else "")
                       + ", which cannot be held against the provider (spread the load over workers or lower it)")
    if counted:
        reasons.append(counted)
    reasons.extend(f"{itf['key']}: {t.get('reason') or t['name'] + ' ' + outcome}"
                   for outcome in ("fail", "inconclusive") for itf in interfaces for t in itf["targets"]
                   if t.get("outcome") == outcome)
    return "; ".join(reasons)


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


def sequential_decision(plan: RunPlan, recorder: Recorder) -> str | None:
    """With ``duration: auto``: "pass" or "fail" once every interface's targets are decided at the per-look
    confidence (plan.confidence, Bonferroni over the looks), judged as the summary judges them (drops counted);
    None while any is undecided. (Whether the generator ran out of CPU is known at the end only: a latency fail
    it causes becomes inconclusive there, and the summary's verdict is the one that stands.)"""
    if any(not recorder.interfaces.get(ip.interface.key) for ip in plan.interfaces):
        return None
    results = [r for _, _, rs in _judged(plan, recorder, _calls(plan, recorder), cpu_saturated=False) for r in rs]
    outcome = targets_mod.verdict(results, total_requests=recorder.total_requests)
    return outcome if outcome in ("pass", "fail") else None
