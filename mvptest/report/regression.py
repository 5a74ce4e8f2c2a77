"""Reports of ``mvptest compare``: the console table, JSON and Markdown, as handlers of the comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mvptest import atomic
from mvptest.events import BaseHandler
from mvptest.run.compare import Change, Comparison

_LABELS = {"success_rate": "success rate", "throughput_rps": "throughput (calls/s)"}


def _label(c: Change) -> str:
    if c.measure.startswith("latency_"):
        return c.measure[len("latency_"):-3] + " latency (ms)"
    return _LABELS.get(c.measure, c.measure)


def _value(c: Change, v: float | None) -> str:
    if v is None:
        return "-"
    if c.measure == "success_rate":
        return f"{v * 100:.3f} %"
    return f"{v:,.1f}" if c.measure == "throughput_rps" else f"{v:g}"


def _change(c: Change) -> str:
    if c.baseline is None or c.new is None:
        return "-"
    if c.measure == "success_rate":
        return f"{(c.new - c.baseline) * 100:+.3f} pp"
    pct = c.change_pct
    return "-" if pct is None else f"{pct:+.1f} %"


class ConsoleComparison(BaseHandler):
    """The side-by-side table on stdout, the verdict line after it."""

    def __init__(self, out: Any, err: Any) -> None:
        self.out, self.err = out, err

    def finish(self, result: Comparison) -> None:
        from rich.markup import escape
        from rich.table import Table

        out = self.out
        out.print(f"baseline {escape(result.baseline.run_id)}  →  new {escape(result.new.run_id)}")
        for note in result.notes:
            out.print(f"[yellow]note:[/] {escape(note)}")
        for itf in result.interfaces:
            table = Table(title=escape(f"{itf.key} {itf.title}".strip()), title_justify="left")
            for col in ("measure", "baseline", "new", "change", ""):
                table.add_column(col, justify="left" if col in ("measure", "") else "right", overflow="fold")
            for c in itf.changes:
                table.add_row(_label(c), _value(c, c.baseline), _value(c, c.new), _change(c),
                              "[red]regression[/]" if c.regression else "")
            out.print(table)
        for key in result.only_baseline:
            out.print(f"[yellow]only in the baseline:[/] {escape(key)} (not run this time: not compared)")
        for key in result.only_new:
            out.print(f"[yellow]only in the new run:[/] {escape(key)} (no baseline yet)")
        if result.regressions:
            out.print(f"[red]regression[/]: {len(result.regressions)} measure(s) past the allowed change")
            for key, c in result.regressions:
                out.print(f"  {escape(key)}: {escape(c.reason)}")
        else:
            out.print(f"[green]no regression[/] (allowed: latency +{result.max_regression_pct:g} % and at least "
                      f"{result.min_latency_ms:g} ms, throughput -{result.max_regression_pct:g} %, success rate "
                      f"-{result.max_success_drop_pp:g} percentage points beyond chance)")


class JsonComparison(BaseHandler):
    def __init__(self, path: Path) -> None:
        self.path = path

    def finish(self, result: Comparison) -> None:
        atomic.write_text(self.path, json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")


class MarkdownComparison(BaseHandler):
    def __init__(self, path: Path) -> None:
        self.path = path

    def finish(self, result: Comparison) -> None:
        lines = [f"# Run comparison: {result.baseline.run_id} → {result.new.run_id}", ""]
        lines.append("**Regression**" if result.regressions else "No regression.")
        lines += [f"- {n}" for n in result.notes]
        lines.append("")
        for itf in result.interfaces:
            lines += [f"## {itf.key} {itf.title}".rstrip(), "", "| measure | baseline | new | change | |",
                      "|---|---:|---:|---:|---|"]
            lines += [f"| {_label(c)} | {_value(c, c.baseline)} | {_value(c, c.new)} | {_change(c)} | "
                      f"{'regression: ' + c.reason if c.regression else ''} |" for c in itf.changes]
            lines.append("")
        for key in result.only_baseline:
            lines.append(f"- only in the baseline: `{key}`")
        for key in result.only_new:
            lines.append(f"- only in the new run: `{key}`")
        atomic.write_text(self.path, "\n".join(lines).rstrip() + "\n")
