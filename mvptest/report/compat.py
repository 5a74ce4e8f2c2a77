"""Reports of ``compat`` as handlers of its session: the console view here; the format-issue report a department
sends (JSON, Markdown, CSV, in the consumer's terms) and the suggested adapter in compat_files.py."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mvptest.compat.engine import PairResult
from mvptest.compat.session import CompatReport
from mvptest.events import BaseHandler, Event, Item, Note, Progress, Written
from mvptest.i18n import _
from mvptest.report.compat_files import (  # noqa: F401  (the files' writers, re-exported for their callers)
    CSV_COLUMNS,
    AdapterFiles,
    file_handlers,
    render_adapter,
    render_markdown,
    write_adapter,
    write_csv,
    write_json,
    write_markdown,
)
from mvptest.report.compat_text import (  # noqa: F401  (excel_safe: re-exported)
    cause_lines,
    dept,
    described,
    evidence_cell,
    excel_safe,
    field_cell,
    fix_cell,
    kind_cell,
    pair_title,
    pct,
    rate_text,
    severity_name,
)

WIDE_TABLE = 120  # columns a terminal needs for the issue table; narrower ones get a list


def render_short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _red(text: str) -> str:
    return f"[red]{escape(text)}[/]"


def _yellow(text: str) -> str:
    return f"[yellow]{escape(text)}[/]"


class CompatConsole(BaseHandler):
    """Each pair on stdout as it is checked (the matrix at the end with --all); on stderr the notes, the files
    written, and while sampling the records checked (where a person watches). Every text from a spec or the data
    goes through escape(): a pattern ``^[a-z0-9][0-9]+$`` or a value ``[bold]x[/bold]`` prints as written."""

    def __init__(self, out: Console, err: Console, *, masked: bool = True) -> None:
        self.out = out
        self.err = err
        self.masked = masked
        self._status: Any = None  # rich Status while a pair is sampled

    def handle(self, event: Event) -> None:
        if isinstance(event, Progress):
            self._sampling(event)
        elif isinstance(event, Item) and event.kind == "pair":
            self._stop()
            self.pair(event.value)
        elif isinstance(event, Note):
            prefix = _yellow(_("warning:")) + " " if event.level == "warning" else ""
            self.err.print(prefix + escape(event.text))
        elif isinstance(event, Written):
            self.err.print(escape(_("wrote {path}").format(path=event.path) + (f" ({event.what})" if event.what else "")))

    def finish(self, result: Any) -> None:
        self._stop()
        if not isinstance(result, CompatReport):
            return  # the session failed: its error is said at the edge
        if result.matrix:
            self.matrix(result)
        if result.interrupted:
            self.err.print(escape(_("interrupted: the report covers the records sampled so far")))

    def _sampling(self, event: Progress) -> None:
        if not self.err.is_terminal:
            return
        label = escape(event.label)
        if self._status is None:
            self._status = self.err.status(label + escape(_(": sampling...")))
            self._status.start()
        if event.done:
            self._status.update(label + escape(_(": {n} records checked").format(n=f"{int(event.done):,}")))

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def pair(self, p: PairResult) -> None:
        out = self.out
        out.print(f"[bold]{escape(pair_title(p))}[/]", overflow="fold")
        if p.adapter is not None:
            out.print(escape(_("adapter: {source} ({n} steps)").format(source=p.adapter.source, n=len(p.adapter.steps))),
                      overflow="fold")
        if p.evidence is not None:
            out.print(escape(_evidence_line(p)), overflow="fold")
        for note in p.notes:
            out.print(_yellow(_("warning:")) + " " + escape(note), overflow="fold")
        if p.no_evidence:
            out.print(_red(_("no usable record")) + escape(
                _(": the evidence cannot support a verdict (see what gave no record above)")))
        if p.issues and out.width < WIDE_TABLE:
            self._issue_list(p)
        elif p.issues:
            out.print(self._table(p))
        if p.compatible:
            verdict = "[green]" + escape(_("compatible")) + "[/]"
        else:
            verdict = _red(_("not judged") if p.no_evidence and not p.errors else _("incompatible"))
        warnings = len(p.issues) - len(p.errors)
        out.print(verdict + escape(_(": {errors} errors, {warnings} warnings; {rate}").format(
            errors=len(p.errors), warnings=warnings, rate=rate_text(p))), overflow="fold")
        for d in p.decisions():
            out.print(_yellow(_("DECIDE")) + " " + escape(d), overflow="fold")
        out.print()

    def _table(self, p: PairResult) -> Table:
        table = Table(show_lines=False, title_justify="left")
        evidence = p.evidence is not None
        cols = [_("field (consumer ← provider)"), _("kind"), _("consumer requires"),
                _("provider sends") + (_(" (after the adapter)") if p.adapter is not None else "")]
        if evidence:
            cols += [_("failing/checked"), _("examples (masked)") if self.masked else _("examples")]
        for col in [*cols, _("suggestion")]:
            table.add_column(col, overflow="fold")
        for i in p.issues:
            kind = escape(kind_cell(i)) + (" " + _yellow(_("(warning)")) if i.severity == "warning" else "")
            row = [escape(field_cell(i)), kind, escape(described(i.consumer)), escape(described(i.provider))]
            if evidence:
                row += [escape(evidence_cell(i)), escape(", ".join(i.examples)) if not i.causes else ""]
            fix = "\n".join(cause_lines(i)) if i.causes else fix_cell(i)
            table.add_row(*row, escape(fix))
        return table

    def _issue_list(self, p: PairResult) -> None:
        """The issues one under another, for a terminal too narrow for seven columns (80 columns, a CI log)."""
        out = self.out
        for i in p.issues:
            severity = _red(_("error")) if i.severity == "error" else _yellow(_("warning"))
            out.print(f"[bold]{escape(field_cell(i))}[/]  {escape(kind_cell(i))} {severity}", overflow="fold")
            out.print("  " + escape(_("consumer requires: {what}").format(what=described(i.consumer))), overflow="fold")
            after = _(" (after the adapter)") if p.adapter is not None else ""
            out.print("  " + escape(_("provider sends{after}: {what}").format(after=after, what=described(i.provider))),
                      overflow="fold")
            if after and i.provider_own and i.provider_own != i.provider:
                out.print("  " + escape(_("provider's own schema: {what}").format(what=i.provider_own)), overflow="fold")
            if i.has_evidence:
                shown = ", ".join(i.examples) if not i.causes else ""
                line = _("{evidence} records").format(evidence=evidence_cell(i)) + (
                    _("; e.g. {examples}").format(examples=render_short(shown)) if shown else "")
                out.print("  " + escape(line), overflow="fold")
            if i.causes:
                for line in cause_lines(i):
                    out.print("  " + escape(_("fix: {fix}").format(fix=line)), overflow="fold")
            else:
                out.print("  " + escape(_("fix: {fix}").format(fix=fix_cell(i))), overflow="fold")

    def matrix(self, report: CompatReport) -> None:
        table = Table(title=escape(_("Department matrix")), title_justify="left")
        for col, right in ((_("consumer"), False), (_("provider"), False), (_("compatible"), False),
                           (_("errors"), True), (_("warnings"), True), (_("standardization rate"), True)):
            table.add_column(col, justify="right" if right else "left", overflow="fold")
        for p in report.pairs:
            table.add_row(
                escape(dept(p.consumer.department.name, p.consumer.key)),
                escape(dept(p.provider.department.name, p.provider.key)),
                "[green]" + escape(_("yes")) + "[/]" if p.compatible else _red(_("no")), str(len(p.errors)),
                str(len(p.issues) - len(p.errors)),
                f"{pct(p.standardization_rate)} ({len(p.compatible_fields)}/{len(p.required_fields)})",
            )
        self.out.print(table)
        if report.compatible:
            verdict = "[green]" + escape(_("all pairs compatible")) + "[/]"
        else:
            verdict = _red(_("{n} of {total} pairs incompatible").format(
                n=sum(not p.compatible for p in report.pairs), total=len(report.pairs)))
        data = report.data_standardization_rate
        self.out.print(verdict + escape(_("; standardization rate {rate} by the schemas over every pair").format(
            rate=pct(report.standardization_rate)) + (_(", {rate} by the data").format(rate=pct(data))
                                                      if data is not None else "")), overflow="fold")


def _evidence_line(p: PairResult) -> str:
    ev = p.evidence
    assert ev is not None
    text = _("evidence: {source}: {records} records checked, {failing} fail the consumer's requirement").format(
        source=ev.source, records=f"{ev.records:,}", failing=f"{ev.failing_records:,}")
    if ev.unusable:
        unusable = ", ".join(f"{why}: {n}" for why, n in sorted(ev.unusable.items()))
        text += _("; {n} gave no record ({why})").format(n=sum(ev.unusable.values()), why=unusable)
    return text + (_("; interrupted") if ev.interrupted else "")
