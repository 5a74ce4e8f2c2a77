"""The live console of ``mvptest run``: a handler of the run's events (elapsed, remaining, req/s, success, p95).

It imports no locust: the events and the outcome are plain data (mvptest.run.outcome)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from mvptest.events import BaseHandler, Event, Note, Stage
from mvptest.run.outcome import LOST_REASON, LoadFinished, LoadProgress, LoadStarted


class RunConsole(BaseHandler):
    """Progress and notes on ``err``; the final table and the verdict on ``out``."""

    def __init__(self, *, out: Console, err: Console) -> None:
        self.err = err
        self.out = out
        self._live: Live | None = None
        self._last_counts: dict[str, int] = {}
        self._last_elapsed = 0.0
        self._last_line = -10.0

    def handle(self, event: Event) -> None:
        if isinstance(event, LoadStarted):
            self._started(event)
        elif isinstance(event, LoadProgress):
            if self._live is not None:
                self._live.update(self._table(event))
            elif event.done - self._last_line >= 5:
                self._last_line = event.done
                self.err.print(self._line(event), soft_wrap=True, markup=False)
        elif isinstance(event, Note):
            self.stop()
            colour = "yellow" if event.level == "warning" else "cyan"
            label = "note" if event.level == "info" else event.level
            self.err.print(f"[{colour}]{label}:[/] {escape(event.text)}")
        elif isinstance(event, (LoadFinished, Stage)):
            self.stop()

    def _started(self, event: LoadStarted) -> None:
        plan = event.plan
        assert plan is not None
        load = f"{plan.rate:g} req/s (open model)" if plan.rate else f"{plan.users} users"
        from mvptest.masking import public_url

        where = f"{event.base_url} (built-in sandbox)" if plan.uses_sandbox else public_url(event.base_url)
        self.err.print(f"mvptest run {escape(plan.name)}: {load} for {plan.duration_s:g} s against {escape(where)}"
                       + (f", {event.workers} workers" if event.workers else ""))
        if self.err.is_terminal:
            self._live = Live(console=self.err, refresh_per_second=2, transient=True)
            self._live.start()

    def finish(self, result: Any) -> None:
        self.stop()
        if result.record_problem is not None:
            self.err.print(f"[yellow]warning:[/] could not write {escape(str(result.run_dir))} at the end "
                           f"({escape(result.record_problem)}); the run's record is in "
                           f"{escape(str(result.record_dir))} instead", soft_wrap=True)
        self.final(result.summary, result.record_dir if result.record_dir is not None else "(not written)")

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _rates(self, event: LoadProgress) -> dict[str, float]:
        dt = max(1e-6, event.done - self._last_elapsed)
        out = {}
        for key, rec in _interfaces(event):
            out[key] = (rec.requests - self._last_counts.get(key, 0)) / dt
            self._last_counts[key] = rec.requests
        self._last_elapsed = event.done
        return out

    def _table(self, event: LoadProgress) -> Table:
        rates = self._rates(event)
        table = Table(title=f"{event.done:5.0f} s elapsed, {event.remaining_s:4.0f} s to go, {event.users} users",
                      title_justify="left")
        for col in ("interface", "requests", "req/s", "success", "p95 ms (all calls)"):
            table.add_column(col, justify="right" if col != "interface" else "left")
        for key, rec in sorted(_interfaces(event)):
            rate = rec.successes / rec.requests if rec.requests else 0
            p95 = rec.latency_all.percentile(0.95)
            table.add_row(escape(key), f"{rec.requests:,}", f"{rates.get(key, 0):,.0f}", f"{rate:.3%}",
                          "-" if p95 is None else f"{p95 / 1000:.2f}")
        return table

    def _line(self, event: LoadProgress) -> str:
        rates = self._rates(event)
        parts = []
        for key, rec in sorted(_interfaces(event)):
            p95 = rec.latency_all.percentile(0.95)
            rate = rec.successes / rec.requests if rec.requests else 0
            parts.append(f"{key}: {rec.requests:,} req, {rates.get(key, 0):,.0f}/s, {rate:.3%} ok, "
                         f"p95 {'-' if p95 is None else f'{p95 / 1000:.2f} ms'}")
        return f"[{event.done:4.0f} s, {event.remaining_s:3.0f} s left] " + "; ".join(parts or ["no calls yet"])

    def final(self, summary: dict[str, Any], run_dir: Any) -> None:
        out = self.out
        level = _level(summary)
        table = Table(title=f"mvptest run {escape(summary['scenario'])}: {summary['requests']:,} requests, "
                            f"{summary['achieved_rps']:,} req/s", title_justify="left")
        for col in ("interface", "target", "threshold", "measured", f"bounds at {level}", "result"):
            table.add_column(col)
        for itf in summary["interfaces"]:
            for t in itf["targets"]:
                table.add_row(escape(itf["key"]), t["name"], *_target_cells(t))
            f = itf["failures"]
            if any(f.values()) or itf.get("dropped_arrivals"):
                dropped = f", dropped {itf['dropped_arrivals']:,}" if itf.get("dropped_arrivals") else ""
                table.add_row("", "[dim]failures[/]", "", f"transport {f['transport']:,}, status {f['status']:,}, "
                              f"schema {f['schema']:,}{dropped}", "", "")
            ok = (itf.get("latency_ms_successful") or {}).get("p95")
            if ok is not None:
                table.add_row("", "[dim]p95 successful calls[/]", "", f"{ok:.3f} ms", "", "[dim]not judged[/]")
        calls = summary.get("calls") or {}
        if calls:
            shown = ", ".join(f"{k} {'-' if calls.get(k) is None else format(calls[k], ',')}"
                              for k in ("planned", "sent", "completed", "dropped"))
            table.add_row("[dim]run[/]", "[dim]calls[/]", "", shown, "", "")
        out.print(table)
        out.print(f"[dim]percentiles: {escape(summary.get('percentile_method', 'nearest rank'))}; bounds one-sided at "
                  f"{level} confidence[/]")
        for itf in summary["interfaces"]:
            for t in itf["targets"]:
                if t.get("reason") and t.get("outcome", "fail" if not t["met"] else "pass") != "pass":
                    label = "[red]missed:[/]" if t.get("outcome") == "fail" else "[yellow]undecided:[/]"
                    out.print(f"{label} {escape(itf['key'])} {t['name']}: {escape(t['reason'])}")
        if summary.get("warning"):
            out.print(f"[yellow]warning:[/] {escape(summary['warning'])}")
        if summary.get("stall_warning"):
            out.print(f"[yellow]warning:[/] {escape(summary['stall_warning'])}")
        if calls.get("dropped"):
            out.print(f"[yellow]dropped:[/] {calls['dropped']:,} arrivals the generator could not send (too many calls "
                      "in flight) count as failed calls: calls the consumer would have made")
        if summary.get("note"):
            out.print(f"[yellow]note:[/] {escape(summary['note'])}")
        for worker in summary.get("workers_lost") or []:
            out.print(f"[red]incomplete:[/] {escape(LOST_REASON.format(worker))}")
        verdict = summary["verdict"]
        colour = {"pass": "green", "inconclusive": "yellow"}.get(verdict, "red")
        suffix = (" (interrupted: partial results)" if summary.get("interrupted")
                  else " (incomplete: a worker was lost)" if summary.get("workers_lost") else "")
        out.print(f"verdict: [{colour}]{verdict.upper()}[/]{suffix}   results: {escape(str(run_dir))}")


def _interfaces(event: LoadProgress) -> Any:
    return event.recorder.interfaces.items() if event.recorder is not None else ()


def _level(summary: dict[str, Any]) -> str:
    return f"{summary.get('confidence', 0.95) * 100:g} %"


_RESULTS = {"pass": "[green]pass[/]", "fail": "[red]fail[/]", "inconclusive": "[yellow]inconclusive[/]"}


def _target_cells(t: dict[str, Any]) -> tuple[str, str, str, str]:
    """threshold, measured, bounds and result of one target, as the final table shows them."""
    interval = t.get("interval") or {}
    if t["name"] == "success_rate":
        threshold = f">= {t['threshold']:.2%}"
        measured = "-" if t["measured"] is None else f"{t['measured']:.4%} of {t.get('requests', 0):,}"
        bounds = (f"{interval['low']:.4%} .. {interval['high']:.4%}" if interval else "-")
    else:
        threshold = f"<= {t['threshold']:g} ms"
        measured = "-" if t["measured"] is None else f"{t['measured']:.3f} ms"
        low, high = interval.get("low"), interval.get("high")
        bounds = (f"{'-' if low is None else f'{low:.3f}'} .. {'-' if high is None else f'{high:.3f}'} ms"
                  if interval else "observed")
    outcome = t.get("outcome") or ("pass" if t["met"] else "fail")
    return threshold, measured, bounds, _RESULTS.get(outcome, outcome)
