"""junit.xml for CI pages: one test case per target per interface (validates against Jenkins' junit-10.xsd)."""

from __future__ import annotations

import socket
from typing import Any
from xml.etree import ElementTree as ET

_NAMES = {"success_rate": "success rate", "latency_p50_ms": "latency p50", "latency_p90_ms": "latency p90",
          "latency_p95_ms": "latency p95", "latency_p99_ms": "latency p99", "latency_p999_ms": "latency p99.9",
          "latency_max_ms": "latency max", "latency_mean_ms": "latency mean"}


def _case_name(t: dict[str, Any]) -> str:
    name = _NAMES.get(t["name"], t["name"])
    if t["name"] == "success_rate":
        return f"{name} >= {t['threshold'] * 100:g} %"
    return f"{name} <= {t['threshold']:g} ms"


def _measured(t: dict[str, Any]) -> str:
    if t["measured"] is None:
        return "not measured"
    if t["name"] == "success_rate":
        return f"{t['measured'] * 100:.4f} %"
    return f"{t['measured']:g} ms"


def _bounds(t: dict[str, Any], level: str) -> str:
    interval = t.get("interval")
    if not interval:
        return ""
    low, high = interval.get("low"), interval.get("high")
    if t["name"] == "success_rate":
        return f"; bounds at {level} (one-sided each) {low * 100:.4f}-{high * 100:.4f} %"
    shown = [("-" if v is None else f"{v:g}") for v in (low, high)]
    return f"; bounds at {level} (one-sided each) {shown[0]}-{shown[1]} ms"


def render_junit(summary: dict[str, Any]) -> bytes:
    tests = failures = 0
    suites = ET.Element("testsuites", name="mvptest")
    suite = ET.SubElement(suites, "testsuite", name=f"mvptest run {summary['scenario']}", errors="0",
                          timestamp=summary["started_at"][:19], hostname=socket.gethostname(), id=summary["run_id"])
    props = ET.SubElement(suite, "properties")
    for name in ("run_id", "target", "workers", "verdict", "verdict_reason", "confidence", "percentile_method",
                 "interrupted", "incomplete", "requests", "generator_cpu_saturated"):
        ET.SubElement(props, "property", name=name, value=str(summary.get(name)))
    calls = summary.get("calls") or {}
    for name in ("planned", "sent", "completed", "dropped"):  # side by side: what the generator did of its plan
        if name in calls:
            ET.SubElement(props, "property", name=f"calls_{name}", value=str(calls[name]))
    level = f"{summary.get('confidence', 0.95) * 100:g} %"
    duration = f"{summary.get('duration_s', 0):.3f}"
    for itf in summary["interfaces"]:
        for t in itf["targets"]:
            tests += 1
            case = ET.SubElement(suite, "testcase", classname=itf["key"], name=_case_name(t), time=duration)
            outcome = t.get("outcome") or ("pass" if t["met"] else "fail")
            text = (f"{itf['key']}: {_case_name(t)}: {outcome}, measured {_measured(t)} over {itf['requests']:,} "
                    f"requests (failures: transport {itf['failures']['transport']}, status "
                    f"{itf['failures']['status']}, schema {itf['failures']['schema']}"
                    + (f", dropped arrivals {itf['dropped_arrivals']:,}" if itf.get("dropped_arrivals") else "") + ")")
            text += _bounds(t, level)
            if t.get("reason"):
                text += f"; {t['reason']}"
            if not t["met"]:
                failures += 1
                kind = "inconclusive" if outcome == "inconclusive" else "target-missed"
                fail = ET.SubElement(case, "failure", type=kind, message=f"{outcome}: measured {_measured(t)}")
                fail.text = text
            else:
                out = ET.SubElement(case, "system-out")
                out.text = text
    lost = summary.get("workers_lost") or []
    if lost:
        # Not a target, but the gate: a run that lost a worker never passes, and a CI page must show why.
        tests += 1
        failures += 1
        case = ET.SubElement(suite, "testcase", classname="run", name="every worker reported to the end", time=duration)
        fail = ET.SubElement(case, "failure", type="run-incomplete", message=f"{len(lost)} worker(s) lost mid-run")
        fail.text = summary.get("verdict_reason") or ""
    if summary.get("interrupted") or summary.get("incomplete"):
        out = ET.SubElement(suite, "system-err")
        out.text = ("the run was interrupted: the figures cover what was measured until then"
                    if summary.get("interrupted") else f"the run is incomplete: {summary.get('verdict_reason', '')}")
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("time", duration)
    suites.set("tests", str(tests))
    suites.set("failures", str(failures))
    suites.set("errors", "0")
    suites.set("time", duration)
    ET.indent(suites)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="utf-8") + b"\n"
