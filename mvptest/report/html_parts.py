"""The sections of report.html: overview, Locust-style tables, charts, failures, compatibility, conditions."""

from __future__ import annotations

import datetime
import html
import math
from dataclasses import dataclass
from typing import Any

from mvptest.i18n import _
from mvptest.report.charts import Axis, Series, bar_chart, clock, clock_tip, line_chart
from mvptest.report.run_text import display_url, ms, pct, target_label, verdict_word
from mvptest.run.histogram import Histogram, bucket_bounds

BLUE, RED, AMBER, GREEN, PURPLE, GREY = "#1f6feb", "#c62828", "#b26a00", "#0a7d27", "#7b3fb3", "#5b6472"
PERCENTILES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)  # Locust's table, and further


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _num(x: Any) -> float | None:
    if x in ("", None):
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


@dataclass
class Second:
    t: float
    requests: int
    failures: int
    p50: float | None
    p95: float | None
    p99: float | None


def per_second(rows: list[list[Any]]) -> dict[str, list[Second]]:
    """timeseries.csv rows (lists, numbers or text) by interface, in time order."""
    out: dict[str, list[Second]] = {}
    for r in rows:
        if len(r) < 4:
            continue
        p = [_num(v) for v in [*r[4:7], None, None, None][:3]]
        out.setdefault(str(r[1]), []).append(Second(float(r[0]), int(float(r[2])), int(float(r[3])), *p))
    for seconds in out.values():
        seconds.sort(key=lambda s: s.t)
    return out


def _started(summary: dict[str, Any]) -> float | None:
    try:
        return datetime.datetime.fromisoformat(str(summary["started_at"])).timestamp()
    except (KeyError, ValueError):
        return None


def _time_axis(summary: dict[str, Any]) -> Axis:
    return Axis(_("time (clock time; seconds from the start in the tooltips)"), fmt=clock(_started(summary)),
                min_step=1.0, tip=clock_tip(_started(summary)))


def _table(head: list[str], rows: list[list[Any]], numeric_from: int = 1) -> str:
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td{' class=num' if i >= numeric_from else ''}>{_e(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _int(x: Any) -> str:
    return "-" if x is None else f"{x:,}"


# --------------------------------------------------------------------------- the run


def run_overview(summary: dict[str, Any]) -> str:
    head = [_("interface"), _("requests"), _("successes"), _("success rate"), _("transport"), _("status"),
            _("schema"), _("req/s"), _("result")]
    rows = []
    for itf in summary.get("interfaces", []):
        f = itf.get("failures") or {}
        outcomes = {str(t.get("outcome") or ("pass" if t.get("met") else "fail")) for t in itf.get("targets") or []}
        outcome = "fail" if "fail" in outcomes else "inconclusive" if "inconclusive" in outcomes else "pass"
        rows.append([itf.get("key") or itf.get("id"), _int(itf.get("requests")), _int(itf.get("successes")),
                     pct(itf.get("success_rate")), _int(f.get("transport")), _int(f.get("status")),
                     _int(f.get("schema")), itf.get("throughput_rps", "-"), verdict_word(outcome)])
    calls = summary.get("calls") or {}
    extra = ""
    if calls:
        extra = _table([_("calls planned"), _("sent"), _("completed"), _("dropped")],
                       [[_int(calls.get(k)) for k in ("planned", "sent", "completed", "dropped")]], numeric_from=0)
    started, finished = summary.get("started_at", "?"), summary.get("finished_at", "?")
    line = _("Run {run_id} against {target}, {started} to {finished} ({duration} s): {requests} requests, "
             "{rps} req/s.").format(run_id=summary.get("run_id", "?"), target=summary.get("target", "?"),
                                    started=started, finished=finished, duration=summary.get("duration_s", "?"),
                                    requests=_int(summary.get("requests")), rps=summary.get("achieved_rps", "-"))
    return "<h2>" + _e(_("The run")) + f"</h2><p>{_e(line)}</p>" + _table(head, rows) + extra


def run_charts(summary: dict[str, Any], series: dict[str, list[Second]]) -> str:
    """Requests/s and failures/s of the whole run, and users (closed model) or the arrival rate (open) over time."""
    total: dict[float, list[int]] = {}
    for seconds in series.values():
        for s in seconds:
            acc = total.setdefault(s.t, [0, 0])
            acc[0] += s.requests
            acc[1] += s.failures
    out = []
    if total:
        ts = sorted(total)
        out.append(line_chart(_("Requests and failures per second, all interfaces"), "run-rps",
                              [Series(_("requests/s"), BLUE, [(t, total[t][0]) for t in ts]),
                               Series(_("failures/s"), RED, [(t, total[t][1]) for t in ts])],
                              _time_axis(summary), Axis(_("calls per second"), fmt=lambda v: f"{v:,.0f}")))
    out.append(_load_chart(summary, sorted(total.items())))
    return "".join(x for x in out if x)


def _load_chart(summary: dict[str, Any], total: list[tuple[float, list[int]]]) -> str:
    load = summary.get("load") or {}
    users = load.get("users_series") or []
    if load.get("model") == "open" and load.get("rate"):
        end = max([t for t, _v in total] + [float(load.get("duration_s") or 0)])
        planned = [(0.0, float(load["rate"])), (end, float(load["rate"]))]
        achieved = [(t, float(v[0])) for t, v in total]
        return line_chart(_("Arrival rate over time: planned and achieved"), "load",
                          [Series(_("planned arrivals/s"), PURPLE, planned, dash=True),
                           Series(_("achieved calls/s"), BLUE, achieved)],
                          _time_axis(summary), Axis(_("calls per second"), fmt=lambda v: f"{v:,.0f}"))
    if users:
        return line_chart(_("Users over time"), "load", [Series(_("users"), PURPLE, [(float(t), float(u))
                                                                                    for t, u in users])],
                          _time_axis(summary), Axis(_("concurrent users"), fmt=lambda v: f"{v:,.0f}"))
    return ("<p class=muted>" + _e(_("Users over time: not recorded in this run folder.")) + "</p>")


# --------------------------------------------------------------------------- one interface: tables


def histogram_of(histograms: dict[str, Any] | None, key: str) -> Histogram | None:
    data = ((histograms or {}).get("interfaces") or {}).get(key) or {}
    if not data.get("all_calls"):
        return None
    return Histogram.from_dict(data["all_calls"])


def _method_path(summary: dict[str, Any], key: str) -> tuple[str, str]:
    for i in (summary.get("conditions") or {}).get("interfaces") or []:
        if i.get("key") == key:
            return str(i.get("method") or ""), str(i.get("path") or "")
    return "", ""


def request_stats(summary: dict[str, Any], itf: dict[str, Any], rows: list[Second] | None,
                  histograms: dict[str, Any] | None) -> str:
    """Locust's request statistics: requests, failures, req/s, failures/s, min, mean, median, p95, p99, max."""
    key = itf.get("key", "")
    lat = itf.get("latency_ms") or {}
    hist = histogram_of(histograms, key)
    duration = float(summary.get("duration_s") or 0) or None
    fails = sum((itf.get("failures") or {}).values())
    method, path = _method_path(summary, key)
    head = [_("method"), _("path"), _("requests"), _("failures"), _("failure rate"), _("req/s"), _("failures/s"),
            _("min"), _("mean"), _("median"), "p95", "p99", _("max")]
    row = [method or "-", path or "-", _int(itf.get("requests")), _int(fails),
           pct(fails / itf["requests"]) if itf.get("requests") else "-",
           itf.get("throughput_rps", "-"), f"{fails / duration:,.2f}" if duration else "-",
           ms(hist.min / 1000) if hist is not None and hist.min is not None else "-",
           ms(lat.get("mean")), ms(lat.get("p50")), ms(lat.get("p95")), ms(lat.get("p99")), ms(lat.get("max"))]
    note = _("latency of every call, failed ones included (the time the consumer waited), at microsecond resolution")
    return (("<h3>" + _e(_("Request statistics")) + "</h3>") + _table(head, [row], numeric_from=2)
            + f"<p><small>{_e(note)}</small></p>")


def percentile_table(itf: dict[str, Any], hist: Histogram | None) -> str:
    if hist is not None and hist.count:
        cells = [ms(round((hist.percentile(q) or 0) / 1000, 3)) for q in PERCENTILES]
        head = [f"{q * 100:g} %" for q in PERCENTILES]
    else:
        lat = itf.get("latency_ms") or {}
        keys = [k for k in ("p50", "p90", "p95", "p99", "p999", "max") if lat.get(k) is not None]
        if not keys:
            return ""
        head = [{"p999": "99.9 %", "max": "100 %"}.get(k, f"{k[1:]} %") for k in keys]
        cells = [ms(lat[k]) for k in keys]
    return (("<h3>" + _e(_("Response time percentiles (all calls)")) + "</h3>")
            + _table(head, [cells], numeric_from=0))


# --------------------------------------------------------------------------- one interface: charts


def interface_charts(summary: dict[str, Any], itf: dict[str, Any], rows: list[Second] | None,
                     hist: Histogram | None) -> str:
    key = itf.get("key", "")
    out = []
    if rows:
        out.append(line_chart(_("{interface}: requests and failures per second").format(interface=key), "rps",
                              [Series(_("requests/s"), BLUE, [(s.t, s.requests) for s in rows]),
                               Series(_("failures/s"), RED, [(s.t, s.failures) for s in rows])],
                              _time_axis(summary), Axis(_("calls per second"), fmt=lambda v: f"{v:,.0f}")))
        lines = [(float(t["threshold"]), _("target {name} {ms}").format(name=target_label(t["name"]),
                                                                         ms=ms(t["threshold"])), AMBER)
                 for t in itf.get("targets") or [] if t["name"].startswith("latency_") and t.get("threshold")]
        lat = [Series(name, color, [(s.t, v) for s in rows if (v := getattr(s, attr)) is not None], dash=dash)
               for name, color, attr, dash in (("p50", GREEN, "p50", False), ("p95", BLUE, "p95", False),
                                               ("p99", PURPLE, "p99", True))]
        out.append(line_chart(_("{interface}: latency p50 / p95 / p99 per second (successful calls)").format(
            interface=key), "latency", lat, _time_axis(summary), Axis(_("latency (ms)"), fmt=lambda v: f"{v:,.4g}"),
            lines=lines))
    out.append(_percentile_curve(itf, hist))
    out.append(_histogram_bars(itf, hist))
    return "".join(x for x in out if x)


_NINES = [(1.0, "0 %"), (2.0, "50 %"), (10.0, "90 %"), (100.0, "99 %"), (1000.0, "99.9 %"), (10000.0, "99.99 %"),
          (100000.0, "99.999 %")]


def _nines_label(v: float) -> str:
    return f"{(1 - 1 / v) * 100:.4g} %" if v > 1 else "0 %"


def _percentile_curve(itf: dict[str, Any], hist: Histogram | None) -> str:
    """Latency against percentile, the percentile on a log scale of 1 / (1 - q) (HdrHistogram's plot)."""
    key = itf.get("key", "")
    pts: list[tuple[float, float]] = []
    if hist is not None and hist.count:
        seen = 0
        for idx in sorted(hist.counts):
            seen += hist.counts[idx]
            q = seen / (hist.count + 1)
            pts.append((1 / (1 - q), max(bucket_bounds(idx)[1], 1) / 1000))
        step = max(1, len(pts) // 250)
        pts = pts[::step] + ([pts[-1]] if (len(pts) - 1) % step else [])
    else:
        lat = itf.get("latency_ms") or {}
        for k, q in (("p50", .5), ("p90", .9), ("p95", .95), ("p99", .99), ("p999", .999)):
            if lat.get(k):
                pts.append((1 / (1 - q), float(lat[k])))
    if not pts:
        return ""
    top = max(p[0] for p in pts)
    ticks = [v for v, _l in _NINES if v <= top * 1.01] or [1.0]
    lines = [(float(t["threshold"]), _("target {name} {ms}").format(name=target_label(t["name"]), ms=ms(t["threshold"])),
              AMBER) for t in itf.get("targets") or [] if t["name"].startswith("latency_") and t.get("threshold")]
    return line_chart(_("{interface}: latency by percentile (log scales)").format(interface=key), "percentiles",
                      [Series(_("latency"), BLUE, pts)],
                      Axis(_("percentile of calls"), log=True, fmt=_nines_label, ticks=ticks),
                      Axis(_("latency (ms, log scale)"), log=True, fmt=lambda v: f"{v:,.4g}"), lines=lines)


def _histogram_bars(itf: dict[str, Any], hist: Histogram | None) -> str:
    """How many calls took how long: 40 bins, equally wide on a log scale, from the fastest to the slowest call."""
    if hist is None or not hist.count or hist.min is None or hist.max is None:
        return ""
    low, high = max(hist.min, 1) / 1000, max(hist.max, 2) / 1000 * 1.001
    if high <= low * 1.01:
        high = low * 1.5
    n = 40
    edges = [low * (high / low) ** (i / n) for i in range(n + 1)]
    counts = [0] * n
    for idx, c in hist.counts.items():
        a, b = bucket_bounds(idx)
        v = max((a + b) / 2, 1) / 1000
        i = min(n - 1, max(0, int(n * math.log(v / low) / math.log(high / low)))) if v > low else 0
        counts[i] += c
    bars = [(edges[i], edges[i + 1], counts[i]) for i in range(n)]
    return bar_chart(_("{interface}: latency distribution (all calls)").format(interface=itf.get("key", "")),
                     "histogram", bars, Axis(_("latency (ms, log scale)"), log=True, fmt=lambda v: f"{v:,.4g}"),
                     Axis(_("calls")), tip=lambda a, b, c: _("{low}-{high} ms: {count} calls").format(
                         low=f"{a:,.3f}", high=f"{b:,.3f}", count=f"{c:,}"))


# --------------------------------------------------------------------------- one interface: failures


def _at(ts: Any) -> str:
    try:
        return datetime.datetime.fromtimestamp(float(ts)).strftime("%H:%M:%S.%f")[:-3]
    except (TypeError, ValueError, OSError):
        return "-"


def failures(summary: dict[str, Any], itf: dict[str, Any], rows: list[Second] | None) -> str:
    counts = itf.get("failures") or {}
    samples = itf.get("failure_samples") or {}
    n = itf.get("requests") or 0
    if not any(counts.values()):
        return "<h3>" + _e(_("Failures")) + "</h3><p>" + _e(_("No call failed.")) + "</p>"
    started = _started(summary)
    failing = [s.t for s in rows or [] if s.failures]
    last_any = _at(started + failing[-1]) if failing and started is not None else "-"
    by_class = []
    for cat, count in counts.items():
        got = samples.get(cat) or []
        by_class.append([cat, _int(count), pct(count / n) if n else "-", _at(got[0].get("at")) if got else "-",
                         _at(got[-1].get("at")) if got else "-"])
    note = _("Last failure of any class in second {at}. Samples are the first five failures of each class, values "
             "masked.").format(at=last_any)
    out = [("<h3>" + _e(_("Failures")) + "</h3>"),
           _table([_("class"), _("count"), _("share of calls"), _("first seen"), _("last sample")], by_class),
           f"<p><small>{_e(note)}</small></p>"]
    out.append(_messages(samples))
    out.append(_samples(samples))
    out.append(_schema_fields(samples.get("schema") or []))
    return "".join(out)


def _messages(samples: dict[str, list[dict[str, Any]]]) -> str:
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for cat, items in samples.items():
        for s in items:
            grouped.setdefault((cat, str(s.get("message", ""))), []).append(s)
    rows = [[cat, msg, len(items), _at(items[0].get("at")), _at(items[-1].get("at"))]
            for (cat, msg), items in grouped.items()]
    return (("<h3>" + _e(_("Failures by distinct message (among the samples)")) + "</h3>")
            + _table([_("class"), _("message"), _("samples"), _("first seen"), _("last seen")], rows, numeric_from=2))


def _samples(samples: dict[str, list[dict[str, Any]]]) -> str:
    rows = []
    received, expected = _("received"), _("expected")
    for cat, items in samples.items():
        for s in items:
            got = "; ".join(f"{f.get('field')}: {received} {f.get('example') if f.get('example') is not None else '-'}"
                            f", {expected} {f.get('expected')}" for f in s.get("fields") or [])
            status = s.get("status")
            rows.append([cat, _("none") if status in (0, None) else status, display_url(s.get("url")),
                         s.get("message", ""), got, _at(s.get("at"))])
    return (("<h3>" + _e(_("Failure samples (values masked)")) + "</h3>")
            + _table([_("class"), _("status"), _("request"), _("what"), _("received against expected"), _("at")],
                     rows, numeric_from=99))


def _schema_fields(items: list[dict[str, Any]]) -> str:
    by_field: dict[str, dict[str, Any]] = {}
    for s in items:
        for f in s.get("fields") or []:
            entry = by_field.setdefault(str(f.get("field")), {"n": 0, "kinds": set(), "expected": set(), "seen": []})
            entry["n"] += 1
            entry["kinds"].add(str(f.get("kind")))
            entry["expected"].add(str(f.get("expected")))
            if f.get("example") is not None and len(entry["seen"]) < 3:
                entry["seen"].append(str(f["example"]))
    if not by_field:
        return ""
    rows = [[name, e["n"], ", ".join(sorted(e["kinds"])), ", ".join(sorted(e["expected"])), ", ".join(e["seen"])]
            for name, e in sorted(by_field.items(), key=lambda kv: -kv[1]["n"])]
    return (("<h3>" + _e(_("Schema failures by field (among the samples)")) + "</h3>")
            + _table([_("field"), _("samples"), _("kind"), _("expected"), _("received (masked)")], rows,
                     numeric_from=99))


# --------------------------------------------------------------------------- compatibility and conditions


def compat_section(compat: dict[str, Any] | None) -> str:
    if not compat:
        return ""
    pairs = compat.get("pairs") or []
    out = [("<h2>" + _e(_("Compatibility with the consumers")) + "</h2>"),
           ("<p><small>" + _e(_("Compared from the schemas (static, no sampled data).")) + "</small></p>")]
    if compat.get("error"):
        out.append(f'<p class="warn">{_e(compat["error"])}</p>')
    rows = [[f"{p.get('provider')} ({p.get('provider_department', '')})",
             f"{p.get('consumer')} ({p.get('consumer_department', '')})",
             _("compatible") if p.get("compatible") else _("incompatible"),
             pct(p.get("standardization_rate")), f"{p.get('compatible_fields', '-')}/{p.get('required_fields', '-')}"]
            for p in pairs]
    out.append(_table([_("provider"), _("consumer"), _("result"), _("standardization rate"), _("fields compatible")],
                      rows, numeric_from=3))
    for p in pairs:
        issues = p.get("issues") or []
        if not issues:
            continue
        title = _("Format issues by field: {consumer} from {provider}").format(consumer=p.get("consumer"),
                                                                                provider=p.get("provider"))
        out.append(f"<h3>{_e(title)}</h3>")
        out.append(_table([_("field"), _("title"), _("kind"), _("provider sends"), _("consumer expects"),
                           _("suggestion")],
                          [[i.get("field"), i.get("title"), i.get("kind"), i.get("provider"), i.get("consumer"),
                            i.get("suggestion")] for i in issues], numeric_from=99))
    return "".join(out)


def conditions(summary: dict[str, Any]) -> str:
    load = summary.get("load") or {}
    cond = summary.get("conditions") or {}
    gen = summary.get("generator") or {}
    model = load.get("model")
    users = (_("{rate} req/s (open model)").format(rate=load.get("rate")) if model == "open"
             else _("{users} users (closed model)").format(users=load.get("users")) if model else "-")
    faults = cond.get("sandbox_faults")
    versions = cond.get("versions") or {}
    rows = [
        [_("target"), f"{summary.get('target', '-')}" + (_(" (built-in sandbox)") if summary.get("sandbox") else "")],
        [_("load model"), users],
        [_("spawn rate"), f"{load['spawn_rate']:g} users/s" if load.get("spawn_rate") else "-"],
        [_("duration"), _("{planned} s planned, {ran} s ran").format(planned=load.get("duration_s", "-"),
                                                                     ran=summary.get("duration_s", "-"))],
        [_("timeout per call"), f"{load['timeout_s']:g} s" if load.get("timeout_s") is not None else "-"],
        [_("think time"), f"{load['think_time_s']:g} s" if load.get("think_time_s") is not None else "-"],
        [_("workers"), summary.get("workers", "-")],
        [_("load basis"), load.get("basis") or "-"],
        [_("sandbox faults"), ", ".join(f"{k}={v}" for k, v in faults.items()) if faults else "-"],
        [_("generator CPU"), _generator(summary, gen)],
        [_("versions"), ", ".join(f"{k} {v}" for k, v in versions.items() if v) or "-"],
        [_("started, finished"), f"{summary.get('started_at', '-')}, {summary.get('finished_at', '-')}"],
        [_("run id, scenario file"), f"{summary.get('run_id', '-')}, {summary.get('scenario_file', '-')}"],
    ]
    out = [("<h2>" + _e(_("Conditions of the run")) + "</h2>"), _table([_("what"), _("value")], rows, numeric_from=99)]
    files = cond.get("files") or []
    if files:
        out.append(_table([_("file"), _("kind"), "sha256"], [[f.get("path"), f.get("kind"), f.get("sha256") or "-"]
                                                             for f in files], numeric_from=99))
    itfs = cond.get("interfaces") or []
    if itfs:
        out.append(_table([_("interface"), _("version"), _("title"), _("method"), _("path"), _("weight")],
                          [[i.get("key"), i.get("version"), i.get("title"), i.get("method"), i.get("path"),
                            i.get("weight")] for i in itfs], numeric_from=99))
    consumers = cond.get("consumers") or []
    if consumers:
        out.append(_table([_("consumer"), _("department"), _("consumes"), _("usage")],
                          [[c.get("requirement"), c.get("department"), c.get("consumes"),
                            f"{c.get('mode') or '-'}" + (f", peak {c['peak_rps']} req/s" if c.get("peak_rps") else "")]
                           for c in consumers], numeric_from=99))
    return "".join(out)


def _generator(summary: dict[str, Any], gen: dict[str, Any]) -> str:
    bits = [_("out of CPU: latency figures not trustworthy") if summary.get("generator_cpu_saturated")
            else _("not saturated")]
    if gen.get("locust_cpu_warnings"):
        bits.append(_("{n} Locust CPU warnings").format(n=gen["locust_cpu_warnings"]))
    if summary.get("generator_cpu_us_per_request") is not None:
        bits.append(_("{us} µs CPU per call").format(us=summary["generator_cpu_us_per_request"]))
    lag = (gen.get("loop_lag_ms") or {}).get("p90")
    if lag is not None:
        bits.append(_("event-loop lag p90 {lag} ms").format(lag=lag))
    return "; ".join(bits)
