"""junit.xml for CI pages: one test case per target per interface (validates against Jenkins' junit-10.xsd).

Each case is named "<interface key>: <target>", so names are unique across interfaces (a viewer that groups by name
alone still counts every case); the classname is the interface key."""

from __future__ import annotations

import socket
from typing import Any
from xml.etree import ElementTree as ET

from mvptest.i18n import _
from mvptest.report.run_text import outcome_word, pct, target_label


def _case_name(t: dict[str, Any]) -> str:
    name = target_label(t["name"])
    if t.get("threshold") is None:
        return name
    if t["name"] == "success_rate":
        return f"{name} >= {t['threshold'] * 100:g} %"
    return f"{name} <= {t['threshold']:g} ms"


def case_name(key: str, t: dict[str, Any]) -> str:
    """The test case's name: unique across interfaces."""
    return f"{key}: {_case_name(t)}"


def _measured(t: dict[str, Any]) -> str:
    if t.get("measured") is None:
        return _("not measured")
    if t["name"] == "success_rate":
        return pct(t["measured"])
    return f"{t['measured']:g} ms"


def _bounds(t: dict[str, Any], level: str) -> str:
    interval = t.get("interval")
    if not interval:
        return ""
    low, high = interval.get("low"), interval.get("high")
    if t["name"] == "success_rate":
        shown = f"{pct(low)} - {pct(high)}"
    else:
        shown = " - ".join("-" if v is None else f"{v:g}" for v in (low, high)) + " ms"
    return "; " + _("bounds at {level} (one-sided each) {bounds}").format(level=level, bounds=shown)


def render_junit(summary: dict[str, Any]) -> bytes:
    tests = failures = 0
    suites = ET.Element("testsuites", name="mvptest")
    suite = ET.SubElement(suites, "testsuite", name=f"mvptest run {summary.get('scenario', '?')}", errors="0",
                          timestamp=str(summary.get("started_at", "1970-01-01T00:00:00"))[:19],
                          hostname=socket.gethostname(), id=str(summary.get("run_id", "")))
    props = ET.SubElement(suite, "properties")
    for name in ("run_id", "target", "workers", "verdict", "verdict_reason", "confidence", "percentile_method",
                 "interrupted", "incomplete", "requests", "generator_cpu_saturated"):
        ET.SubElement(props, "property", name=name, value=str(summary.get(name)))
    calls = summary.get("calls") or {}
    for name in ("planned", "sent", "completed", "dropped"):  # side by side: what the generator did of its plan
        if name in calls:
            ET.SubElement(props, "property", name=f"calls_{name}", value=str(calls[name]))
    level = f"{summary.get('confidence', 0.95) * 100:g} %"
    duration = f"{float(summary.get('duration_s') or 0):.3f}"
    for itf in summary["interfaces"]:
        key = str(itf.get("key") or itf.get("id") or "?")
        for t in itf.get("targets") or []:
            tests += 1
            case = ET.SubElement(suite, "testcase", classname=key, name=case_name(key, t), time=duration)
            outcome = t.get("outcome") or ("pass" if t["met"] else "fail")
            text = _case_text(key, itf, t, outcome) + _bounds(t, level)
            if t.get("reason"):
                text += f"; {t['reason']}"
            if not t["met"]:
                failures += 1
                kind = "inconclusive" if outcome == "inconclusive" else "target-missed"
                fail = ET.SubElement(case, "failure", type=kind, message=_("{outcome}: measured {measured}").format(
                    outcome=outcome_word(outcome), measured=_measured(t)))
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
        fail = ET.SubElement(case, "failure", type="run-incomplete",
                             message=_("{n} worker(s) lost mid-run").format(n=len(lost)))
        fail.text = summary.get("verdict_reason") or ""
    if summary.get("interrupted") or summary.get("incomplete"):
        out = ET.SubElement(suite, "system-err")
        out.text = (_("the run was interrupted: the figures cover what was measured until then")
                    if summary.get("interrupted") else
                    _("the run is incomplete: {reason}").format(reason=summary.get("verdict_reason", "")))
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("time", duration)
    suites.set("tests", str(tests))
    suites.set("failures", str(failures))
    suites.set("errors", "0")
    suites.set("time", duration)
    ET.indent(suites)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="utf-8") + b"\n"


def _case_text(key: str, itf: dict[str, Any], t: dict[str, Any], outcome: str) -> str:
    f = itf.get("failures") or {}
    dropped = (_(", dropped arrivals {n:,}").format(n=itf["dropped_arrivals"]) if itf.get("dropped_arrivals") else "")
    return _("{case}: {outcome}, measured {measured} over {requests:,} requests (failures: transport {transport}, "
             "status {status}, schema {schema}{dropped})").format(
        case=case_name(key, t), outcome=outcome, measured=_measured(t), requests=itf.get("requests") or 0,
        transport=f.get("transport", 0), status=f.get("status", 0), schema=f.get("schema", 0), dropped=dropped)
