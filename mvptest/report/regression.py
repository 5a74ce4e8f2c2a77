"""Reports of ``mvptest compare``: the console table, JSON and Markdown, as handlers of the comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mvptest import atomic
from mvptest.events import BaseHandler
from mvptest.i18n import _
from mvptest.run.compare import Change, Comparison


def _label(c: Change) -> str:
    if c.measure.startswith("latency_"):
        return _("{percentile} latency (ms)").format(percentile=c.measure[len("latency_"):-3])
    return {"success_rate": _("success rate"), "throughput_rps": _("throughput (calls/s)")}.get(c.measure, c.measure)


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
        out.print(escape(_("baseline {baseline}  →  new {new}").format(baseline=result.baseline.run_id,
                                                                      new=result.new.run_id)), overflow="fold")
        for note in result.notes:
            out.print("[yellow]" + escape(_("note:")) + f"[/] {escape(note)}", overflow="fold")
        for itf in result.interfaces:
            table = Table(title=escape(f"{itf.key} {itf.title}".strip()), title_justify="left")
            for col, left in ((_("measure"), True), (_("baseline"), False), (_("new"), False), (_("change"), False),
                              ("", True)):
                table.add_column(col, justify="left" if left else "right", overflow="fold")
            for c in itf.changes:
                table.add_row(escape(_label(c)), _value(c, c.baseline), _value(c, c.new), _change(c),
                              "[red]" + escape(_("regression")) + "[/]" if c.regression else "")
            out.print(table)
        for key in result.only_baseline:
            out.print("[yellow]" + escape(_("only in the baseline:")) + "[/] " + escape(
                _("{key} (not run this time: not compared)").format(key=key)), overflow="fold")
        for key in result.only_new:
            out.print("[yellow]" + escape(_("only in the new run:")) + "[/] " + escape(
                _("{key} (no baseline yet)").format(key=key)), overflow="fold")
        if result.regressions:
            out.print("[red]" + escape(_("regression")) + "[/]" + escape(
                _(": {n} measure(s) past the allowed change").format(n=len(result.regressions))))
            for key, c in result.regressions:
                out.print(f"  {escape(key)}: {escape(c.reason)}", overflow="fold")
        else:
            out.print("[green]" + escape(_("no regression")) + "[/] " + escape(_(
                "(allowed: latency +{pct} % and at least {ms} ms, throughput -{pct} %, success rate -{pp} percentage "
                "points beyond chance)").format(pct=f"{result.max_regression_pct:g}", ms=f"{result.min_latency_ms:g}",
                                                pp=f"{result.max_success_drop_pp:g}")), overflow="fold")


class JsonComparison(BaseHandler):
    def __init__(self, path: Path) -> None:
        self.path = path

    def finish(self, result: Comparison) -> None:
        atomic.write_text(self.path, json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")


class MarkdownComparison(BaseHandler):
    def __init__(self, path: Path) -> None:
        self.path = path

    def finish(self, result: Comparison) -> None:
        lines = [_("# Run comparison: {baseline} → {new}").format(baseline=result.baseline.run_id,
                                                                  new=result.new.run_id), ""]
        lines.append("**" + _("Regression") + "**" if result.regressions else _("No regression."))
        lines += [f"- {n}" for n in result.notes]
        lines.append("")
        for itf in result.interfaces:
            lines += [f"## {itf.key} {itf.title}".rstrip(), "",
                      "| " + " | ".join((_("measure"), _("baseline"), _("new"), _("change"))) + " | |",
                      "|---|---:|---:|---:|---|"]
            lines += [f"| {_label(c)} | {_value(c, c.baseline)} | {_value(c, c.new)} | {_change(c)} | "
                      f"{_('regression: {reason}').format(reason=c.reason) if c.regression else ''} |"
                      for c in itf.changes]
            lines.append("")
        for key in result.only_baseline:
            lines.append(_("- only in the baseline: `{key}`").format(key=key))
        for key in result.only_new:
            lines.append(_("- only in the new run: `{key}`").format(key=key))
        atomic.write_text(self.path, "\n".join(lines).rstrip() + "\n")
