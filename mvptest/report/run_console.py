"""The live console of ``mvptest run``: a handler of the run's events (elapsed, remaining, req/s, success, p95).

It imports no locust: the events and the outcome are plain data (mvptest.run.outcome)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from mvptest.events import BaseHandler, Event, Note, Stage
from mvptest.i18n import _
from mvptest.report.run_text import (
    bounds_text,
    measured_text,
    outcome_of,
    outcome_word,
    pct,
    target_label,
    target_sentence,
    threshold_text,
    verdict_word,
)
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
            label = {"info": _("note:"), "warning": _("warning:")}.get(event.level, f"{event.level}:")
            self.err.print(f"[{colour}]{escape(label)}[/] {escape(event.text)}")
        elif isinstance(event, (LoadFinished, Stage)):
            self.stop()

    def _started(self, event: LoadStarted) -> None:
        plan = event.plan
        assert plan is not None
        load = (_("{rate} req/s (open model)").format(rate=f"{plan.rate:g}") if plan.rate
                else _("{users} users").format(users=plan.users))
        from mvptest.masking import public_url

        where = (_("{url} (built-in sandbox)").format(url=event.base_url) if plan.uses_sandbox
                 else public_url(event.base_url))
        workers = _(", {n} workers").format(n=event.workers) if event.workers else ""
        self.err.print(escape(_("mvptest run {name}: {load} for {duration} s against {where}").format(
            name=plan.name, load=load, duration=f"{plan.duration_s:g}", where=where) + workers), soft_wrap=True)
        if self.err.is_terminal:
            self._live = Live(console=self.err, refresh_per_second=2, transient=True)
            self._live.start()

    def finish(self, result: Any) -> None:
        self.stop()
        if result.record_problem is not None:
            self.err.print(("[yellow]" + escape(_("warning:")) + "[/] ") + escape(_(
                "could not write {run_dir} at the end ({problem}); the run's record is in {record_dir} instead").format(
                run_dir=result.run_dir, problem=result.record_problem, record_dir=result.record_dir)), soft_wrap=True)
        self.final(result.summary, result.record_dir if result.record_dir is not None else _("(not written)"))

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
        table = Table(title=_("{done} s elapsed, {left} s to go, {users} users").format(
            done=f"{event.done:.0f}", left=f"{event.remaining_s:.0f}", users=event.users), title_justify="left")
        table.add_column(_("interface"), overflow="fold")  # wraps a long key at 80 columns, never cuts it
        for col in (_("requests"), _("req/s"), _("success"), _("p95 ms (all calls)")):
            table.add_column(col, justify="right", overflow="fold")
        for key, rec in sorted(_interfaces(event)):
            rate = rec.successes / rec.requests if rec.requests else 0
            p95 = rec.latency_all.percentile(0.95)
            table.add_row(escape(key), f"{rec.requests:,}", f"{rates.get(key, 0):,.0f}", pct(rate, 3),
                          "-" if p95 is None else f"{p95 / 1000:.2f}")
        return table

    def _line(self, event: LoadProgress) -> str:
        rates = self._rates(event)
        parts = []
        for key, rec in sorted(_interfaces(event)):
            p95 = rec.latency_all.percentile(0.95)
            rate = rec.successes / rec.requests if rec.requests else 0
            parts.append(_("{key}: {requests} req, {rate}/s, {ok} ok, p95 {p95}").format(
                key=key, requests=f"{rec.requests:,}", rate=f"{rates.get(key, 0):,.0f}", ok=pct(rate, 3),
                p95="-" if p95 is None else f"{p95 / 1000:.2f} ms"))
        head = _("[{done} s, {left} s left]").format(done=f"{event.done:4.0f}", left=f"{event.remaining_s:3.0f}")
        return head + " " + "; ".join(parts or [_("no calls yet")])

    def final(self, summary: dict[str, Any], run_dir: Any) -> None:
        """The final report: per interface a heading (never cut) and its targets; the reasons; the verdict."""
        out = self.out
        level = _level(summary)
        out.print(_("mvptest run {name}: {requests} requests, {rps} req/s").format(
            name=escape(str(summary.get("scenario", "?"))), requests=f"{summary.get('requests', 0):,}",
            rps=f"{summary.get('achieved_rps', 0):,}"), soft_wrap=True)
        for itf in summary.get("interfaces", []):
            out.print(_interface_table(itf, level))
        calls = summary.get("calls") or {}
        if calls:
            names = {"planned": _("planned"), "sent": _("sent"), "completed": _("completed"), "dropped": _("dropped")}
            shown = ", ".join(f"{names[k]} {'-' if calls.get(k) is None else format(calls[k], ',')}" for k in names)
            out.print("[dim]" + escape(_("calls")) + f": {escape(shown)}[/]")
        out.print("[dim]" + escape(_("percentiles: {method}; bounds one-sided at {level} confidence").format(
            method=_(str(summary.get("percentile_method", "nearest rank"))), level=level)) + "[/]")
        self._reasons(summary)
        verdict = str(summary.get("verdict", "fail"))
        colour = {"pass": "green", "inconclusive": "yellow"}.get(verdict, "red")
        suffix = (_(" (interrupted: partial results)") if summary.get("interrupted")
                  else _(" (incomplete: a worker was lost)") if summary.get("workers_lost") else "")
        said, results = escape(_("verdict:")), escape(_("results:"))
        out.print(f"{said} [{colour}]{escape(verdict_word(verdict))}[/]{escape(suffix)}   {results} "
                  f"{escape(str(run_dir))}", soft_wrap=True)

    def _reasons(self, summary: dict[str, Any]) -> None:
        out = self.out
        for itf in summary.get("interfaces", []):
            for t in itf.get("targets") or []:
                if t.get("reason") and outcome_of(t) != "pass":
                    label = (("[red]" + escape(_("missed:")) + "[/]") if outcome_of(t) == "fail"
                             else ("[yellow]" + escape(_("undecided:")) + "[/]"))
                    out.print(f"{label} {escape(target_sentence(itf['key'], t))} ({escape(t['reason'])})")
        for key in ("warning", "stall_warning"):
            if summary.get(key):
                out.print("[yellow]" + escape(_("warning:")) + f"[/] {escape(summary[key])}")
        if (summary.get("calls") or {}).get("dropped"):
            out.print(("[yellow]" + escape(_("dropped:")) + "[/] ") + escape(_(
                "{n:,} arrivals the generator could not send (too many calls in flight) count as failed calls: "
                "calls the consumer would have made").format(n=summary["calls"]["dropped"])))
        if summary.get("note"):
            out.print("[yellow]" + escape(_("note:")) + f"[/] {escape(summary['note'])}")
        for worker in summary.get("workers_lost") or []:
            out.print("[red]" + escape(_("incomplete:")) + f"[/] {escape(LOST_REASON.format(worker))}", soft_wrap=True)


def _interfaces(event: LoadProgress) -> Any:
    return event.recorder.interfaces.items() if event.recorder is not None else ()


def _level(summary: dict[str, Any]) -> str:
    return f"{summary.get('confidence', 0.95) * 100:g} %"


_COLOURS = {"pass": "green", "fail": "red", "inconclusive": "yellow"}


def _interface_table(itf: dict[str, Any], level: str) -> Group:
    """One interface: its key on a line of its own (a terminal wraps it, nothing cuts it), then a table of its
    targets whose cells wrap at spaces only (numbers and units stay whole at 80 columns)."""
    key = str(itf.get("key") or itf.get("id") or "?")
    heading = Text.assemble((key, "bold"), ("  " + str(itf.get("title") or ""), "dim"))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    table.add_column(_("target"), overflow="fold", min_width=7)
    table.add_column(_("threshold"), no_wrap=True)
    table.add_column(_("measured"), no_wrap=True, justify="right")
    table.add_column(_("calls"), no_wrap=True, justify="right")
    table.add_column(_("bounds at {level}").format(level=level), overflow="fold")
    table.add_column(_("result"), overflow="fold")
    for t in itf.get("targets") or []:
        outcome = outcome_of(t)
        calls = t.get("requests", itf.get("requests"))
        table.add_row(escape(target_label(t["name"])), threshold_text(t), measured_text(t),
                      "-" if calls is None else f"{calls:,}", bounds_text(t),
                      f"[{_COLOURS.get(outcome, 'red')}]{escape(outcome_word(outcome))}[/]")
    lines: list[Any] = [heading, table]
    f = itf.get("failures") or {}
    if any(f.values()) or itf.get("dropped_arrivals"):
        dropped = _(", dropped {n:,}").format(n=itf["dropped_arrivals"]) if itf.get("dropped_arrivals") else ""
        lines.append(Text("  " + _("failures: transport {transport:,}, status {status:,}, schema {schema:,}").format(
            transport=f.get("transport", 0), status=f.get("status", 0), schema=f.get("schema", 0)) + dropped))
    ok = (itf.get("latency_ms_successful") or {}).get("p95")
    if ok is not None:
        lines.append(Text("  " + _("p95 of the successful calls: {ms} (not judged)").format(ms=f"{ok:,.3f} ms"),
                          style="dim"))
    return Group(*lines)
