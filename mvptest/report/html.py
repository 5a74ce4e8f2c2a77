"""report.html: one self-contained page (inline CSS and SVG, nothing fetched) that opens offline."""

from __future__ import annotations

import html
from typing import Any

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Microsoft YaHei",sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#f3f3f3}
.pass{color:#0a7d27;font-weight:bold}.fail{color:#b3001b;font-weight:bold}.warn{color:#a15c00}
.inconclusive{color:#a15c00;font-weight:bold}
.num{text-align:right;font-variant-numeric:tabular-nums}svg{border:1px solid #ddd;background:#fcfcfc}
small{color:#666}code{background:#f5f5f5;padding:0 .2em}
"""


def _e(x: Any) -> str:
    return html.escape("" if x is None else str(x))


def _chart(rows: list[list[Any]], key: str, width: int = 1000, height: int = 220) -> str:
    pts = [(int(r[0]), int(r[2]), int(r[3]), r[5]) for r in rows if r[1] == key]
    if not pts:
        return "<p><small>no calls</small></p>"
    t_max = max(p[0] for p in pts) or 1
    rps_max = max(p[1] for p in pts) or 1
    lat = [float(p[3]) for p in pts if p[3] not in ("", None)]
    lat_max = max(lat) if lat else 1
    pad = 40

    def x(t: int) -> float:
        return pad + (width - 2 * pad) * t / t_max

    def y(v: float, vmax: float) -> float:
        return height - pad + (-(height - 2 * pad) * v / vmax)

    rps_line = " ".join(f"{x(t):.1f},{y(n, rps_max):.1f}" for t, n, _, _ in pts)
    fail_line = " ".join(f"{x(t):.1f},{y(f, rps_max):.1f}" for t, _, f, _ in pts)
    p95_line = " ".join(f"{x(t):.1f},{y(float(p), lat_max):.1f}" for t, _, _, p in pts if p not in ("", None))
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f'<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="{rps_line}"/>'
        f'<polyline fill="none" stroke="#b3001b" stroke-width="1.5" points="{fail_line}"/>'
        f'<polyline fill="none" stroke="#a15c00" stroke-width="1.5" stroke-dasharray="4 2" points="{p95_line}"/>'
        f'<text x="{pad}" y="15" font-size="12" fill="#1f6feb">requests/s (max {rps_max:,})</text>'
        f'<text x="{pad + 220}" y="15" font-size="12" fill="#b3001b">failures/s</text>'
        f'<text x="{pad + 330}" y="15" font-size="12" fill="#a15c00">p95 ms (max {lat_max:g})</text>'
        f'<text x="{pad}" y="{height - 10}" font-size="11">0 s</text>'
        f'<text x="{width - pad - 30}" y="{height - 10}" font-size="11">{t_max} s</text></svg>'
    )


def _bounds(t: dict[str, Any]) -> str:
    interval = t.get("interval")
    if not interval:
        return "observed" if t["name"] != "success_rate" else "-"
    low, high = interval.get("low"), interval.get("high")
    return f"{'-' if low is None else low} .. {'-' if high is None else high}"


def render_html(summary: dict[str, Any], rows: list[list[Any]]) -> str:
    verdict = summary["verdict"]
    parts = [
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        f"<title>mvptest {_e(summary['scenario'])}: {_e(verdict)}</title><style>{_CSS}</style></head><body>",
        f"<h1>mvptest run <code>{_e(summary['scenario'])}</code>: "
        f"<span class=\"{_e(verdict)}\">{_e(verdict.upper())}</span></h1>",
        f"<p>Run <code>{_e(summary['run_id'])}</code> against <code>{_e(summary['target'])}</code>"
        f"{' (built-in sandbox)' if summary.get('sandbox') else ''}, {summary['workers'] or 'no'} worker(s), "
        f"{_e(summary['started_at'])} to {_e(summary['finished_at'])} ({summary['duration_s']:g} s), "
        f"{summary['requests']:,} requests, {summary['achieved_rps']:,} req/s.</p>",
    ]
    if summary.get("interrupted"):
        parts.append("<p class=\"warn\">The run was interrupted: the figures cover what was measured until then.</p>")
    level = f"{summary.get('confidence', 0.95) * 100:g} %"
    if verdict != "pass" and summary.get("verdict_reason"):
        why = "Why it is inconclusive" if verdict == "inconclusive" else "Why it fails"
        parts.append(f"<p class=\"{_e(verdict)}\">{why}: {_e(summary['verdict_reason'])}</p>")
    parts.append(f"<p><small>The verdict, at {level} confidence: {_e(summary.get('verdict_rules', ''))}. Percentiles: "
                 f"{_e(summary.get('percentile_method', 'nearest rank'))}.</small></p>")
    calls = summary.get("calls") or {}
    if calls:
        parts.append("<table><tr>" + "".join(f"<th>calls {k}</th>" for k in ("planned", "sent", "completed", "dropped"))
                     + "</tr><tr>" + "".join(f"<td class=num>{_e('-' if calls.get(k) is None else f'{calls[k]:,}')}</td>"
                                             for k in ("planned", "sent", "completed", "dropped")) + "</tr></table>")
    parts.extend(f"<p class=\"warn\">{_e(summary[key])}</p>" for key in ("note", "warning") if summary.get(key))
    load = summary.get("load", {})
    if load.get("basis"):
        parts.append(f"<p>Judged under: {_e(load['basis'])}.</p>")
    if load.get("model") == "open":
        parts.append(f"<p>Open model: intended {load.get('intended_rps')} req/s ({load.get('intended_requests', 0):,} arrivals), "
                     f"achieved {summary['achieved_rps']} req/s, {load.get('dropped_arrivals', 0):,} arrivals dropped.</p>")
    for itf in summary["interfaces"]:
        parts.append(f"<h2>{_e(itf['key'])} <small>{_e(itf.get('title'))}</small></h2>")
        parts.append(f"<table><tr><th>target</th><th>threshold</th><th>measured</th><th>bounds at {level}</th>"
                     "<th>result</th><th>detail</th></tr>")
        for t in itf["targets"]:
            outcome = t.get("outcome") or ("pass" if t["met"] else "fail")
            detail = []
            if t["name"] == "success_rate" and "requests_needed" in t:
                needed = t["requests_needed"]
                detail.append(f"{needed:,} calls with no failure support the target" if needed is not None
                              else "no number of calls can show a failure rate of 0")
            if t.get("reason"):
                detail.append(str(t["reason"]))
            parts.append(f"<tr><td>{_e(t['name'])}</td><td class=num>{_e(t['threshold'])}</td>"
                         f"<td class=num>{_e(t['measured'])}</td>"
                         f"<td class=num>{_e(_bounds(t))}</td><td class={_e(outcome)}>{_e(outcome)}</td>"
                         f"<td>{_e('; '.join(detail))}</td></tr>")
        parts.append("</table>")
        f = itf["failures"]
        parts.append(f"<p>{itf['requests']:,} requests, {itf['successes']:,} successes; failures: transport {f['transport']:,}, "
                     f"status {f['status']:,}, schema {f['schema']:,}.</p>")
        lat = itf["latency_ms"]
        rows_ms = [("all calls (judged)", lat), ("successful calls", itf.get("latency_ms_successful") or {})]
        if itf.get("service_ms"):
            rows_ms.append(("service time (from the actual send)", itf["service_ms"]))
        parts.append("<table><tr><th>latency ms</th>" + "".join(f"<th>{k}</th>" for k in lat) + "</tr>"
                     + "".join(f"<tr><td>{_e(label)}</td>" + "".join(f"<td class=num>{_e(v.get(k))}</td>" for k in lat)
                               + "</tr>" for label, v in rows_ms) + "</table>"
                     "<small>from mvptest's histogram (microsecond resolution); percentiles by nearest rank; failed "
                     "calls count with the time the consumer waited</small>")
        parts.append(_chart(rows, itf["key"]))
        samples = itf.get("failure_samples") or {}
        if any(samples.values()):
            parts.append("<h3>Failure samples (values masked)</h3>"
                         "<table><tr><th>kind</th><th>status</th><th>request</th><th>what</th></tr>")
            for cat, items in samples.items():
                for s in items:
                    fields = "; ".join(f"{x['field']} {x['kind']} {x['expected']}" for x in s.get("fields", []))
                    parts.append(f"<tr><td>{_e(cat)}</td><td>{_e(s.get('status'))}</td><td><code>{_e(s.get('url'))}</code></td>"
                                 f"<td>{_e(s.get('message'))}{(': ' + _e(fields)) if fields else ''}</td></tr>")
            parts.append("</table>")
    parts.append("<p><small>Generated by mvptest; this page loads nothing from the network.</small></p></body></html>")
    return "\n".join(parts)
