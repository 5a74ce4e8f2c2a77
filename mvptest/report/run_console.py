"""The live console of ``mvptest run``: a handler of engine events (elapsed, remaining, req/s, success, p95)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from mvptest.load import engine
from mvptest.results.summary import LOST_REASON


class RunConsole:
    def __init__(self, err: Console, out: Console) -> None:
        self.err = err
        self.out = out
        self._live: Live | None = None
        self._last_counts: dict[str, int] = {}
        self._last_elapsed = 0.0
        self._last_line = -10.0

    def handle(self, event: engine.Event) -> None:
        if isinstance(event, engine.RunStarted):
            plan = event.plan
            load = f"{plan.rate:g} req/s (open model)" if plan.rate else f"{plan.users} users"
            from mvptest.masking import public_url

            where = f"{event.base_url} (built-in sandbox)" if plan.uses_sandbox else public_url(event.base_url)
            self.err.print(f"mvptest run {escape(plan.name)}: {load} for {plan.duration_s:g} s against {escape(where)}"
                           + (f", {event.workers} workers" if event.workers else ""))
            if self.err.is_terminal:
                self._live = Live(console=self.err, refresh_per_second=2, transient=True)
                self._live.start()
        elif isinstance(event, engine.Tick):
            if self._live is not None:
                self._live.update(self._table(event))
            elif event.elapsed_s - self._last_line >= 5:
                self._last_line = event.elapsed_s
                self.err.print(self._line(event), soft_wrap=True, markup=False)
        elif isinstance(event, engine.Notice):
            self.stop()
            colour = "yellow" if event.level == "warning" else "cyan"
            self.err.print(f"[{colour}]{event.level}:[/] {escape(event.text)}")
        elif isinstance(event, engine.RunFinished):
            self.stop()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _rates(self, event: engine.Tick) -> dict[str, float]:
        dt = max(1e-6, event.elapsed_s - self._last_elapsed)
        out = {}
        for key, rec in event.recorder.interfaces.items():
            out[key] = (rec.requests - self._last_counts.get(key, 0)) / dt
            self._last_counts[key] = rec.requests
        self._last_elapsed = event.elapsed_s
        return out

    def _table(self, event: engine.Tick) -> Table:
        rates = self._rates(event)
        table = Table(title=f"{event.elapsed_s:5.0f} s elapsed, {event.remaining_s:4.0f} s to go, {event.users} users",
                      title_justify="left")
        for col in ("interface", "requests", "req/s", "success", "p95 ms"):
            table.add_column(col, justify="right" if col != "interface" else "left")
        for key, rec in sorted(event.recorder.interfaces.items()):
            rate = rec.successes / rec.requests if rec.requests else 0
            p95 = rec.latency_ok.percentile(0.95)
            table.add_row(escape(key), f"{rec.requests:,}", f"{rates.get(key, 0):,.0f}", f"{rate:.3%}",
                          "-" if p95 is None else f"{p95 / 1000:.2f}")
        return table

    def _line(self, event: engine.Tick) -> str:
        rates = self._rates(event)
        parts = []
        for key, rec in sorted(event.recorder.interfaces.items()):
            p95 = rec.latency_ok.percentile(0.95)
            rate = rec.successes / rec.requests if rec.requests else 0
            parts.append(f"{key}: {rec.requests:,} req, {rates.get(key, 0):,.0f}/s, {rate:.3%} ok, "
                         f"p95 {'-' if p95 is None else f'{p95 / 1000:.2f} ms'}")
        return f"[{event.elapsed_s:4.0f} s, {event.remaining_s:3.0f} s left] " + "; ".join(parts or ["no calls yet"])

    def final(self, summary: dict[str, Any], run_dir: Any) -> None:
        out = self.out
        table = Table(title=f"mvptest run {escape(summary['scenario'])}: {summary['requests']:,} requests, "
                            f"{summary['achieved_rps']:,} req/s", title_justify="left")
        for col in ("interface", "target", "threshold", "measured", "result"):
            table.add_column(col)
        for itf in summary["interfaces"]:
            for t in itf["targets"]:
                if t["name"] == "success_rate":
                    measured = "-" if t["measured"] is None else f"{t['measured']:.4%}"
                    if t.get("ci95"):
                        measured += f" (95 % CI {t['ci95'][0]:.4%}-{t['ci95'][1]:.4%})"
                    threshold = f">= {t['threshold']:.2%}"
                else:
                    measured = "-" if t["measured"] is None else f"{t['measured']:.3f} ms"
                    threshold = f"<= {t['threshold']:g} ms"
                result = "[green]met[/]" if t["met"] else "[red]missed[/]"
                table.add_row(escape(itf["key"]), t["name"], threshold, measured, result)
            f = itf["failures"]
            if any(f.values()):
                table.add_row("", "[dim]failures[/]", "", f"transport {f['transport']:,}, status {f['status']:,}, schema {f['schema']:,}", "")
        out.print(table)
        for itf in summary["interfaces"]:
            for t in itf["targets"]:
                if t.get("note"):
                    out.print(f"[yellow]note:[/] {escape(itf['key'])}: {escape(t['note'])}")
                if t.get("reason"):
                    out.print(f"[red]missed:[/] {escape(itf['key'])} {t['name']}: {escape(t['reason'])}")
        if summary.get("warning"):
            out.print(f"[yellow]warning:[/] {escape(summary['warning'])}")
        if summary.get("note"):
            out.print(f"[yellow]note:[/] {escape(summary['note'])}")
        for worker in summary.get("workers_lost") or []:
            out.print(f"[red]incomplete:[/] {escape(LOST_REASON.format(worker))}")
        verdict = summary["verdict"]
        colour = "green" if verdict == "pass" else "red"
        suffix = (" (interrupted: partial results)" if summary.get("interrupted")
                  else " (incomplete: a worker was lost)" if summary.get("workers_lost") else "")
        out.print(f"verdict: [{colour}]{verdict.upper()}[/]{suffix}   results: {escape(str(run_dir))}")
