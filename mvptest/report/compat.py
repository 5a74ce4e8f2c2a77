"""Reports of ``compat`` as handlers of its session: the console view, and the format-issue report a department
sends (JSON, Markdown, CSV), in the consumer's terms; the suggested adapter as YAML."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mvptest import atomic
from mvptest.compat.engine import PairResult
from mvptest.compat.session import CompatReport
from mvptest.events import BaseHandler, Event, Handler, Item, Note, Progress, Written
from mvptest.report.files import file_reports


def _dept(name: str, key: str) -> str:
    return f"{name} ({key})" if name else key


def _pair_title(p: PairResult) -> str:
    prov = p.provider.department.name or p.provider.department.id
    cons = p.consumer.department.name or p.consumer.department.id
    return f"{cons} ← {prov}: {p.consumer.title or p.consumer.id} ({p.consumer.key} ← {p.provider.key})"


def _evidence_cell(issue: Any) -> str:
    if not issue.has_evidence:
        return "schemas"
    note = "" if issue.predicted else " (data only" + (", provider defect)" if issue.provider_defects else ")")
    return f"{issue.failing:,}/{issue.checked:,}{note}"


def _field_cell(issue: Any) -> str:
    """Both sides' names: the consumer's field and title, and the provider's own field it comes from."""
    consumer = f"{issue.field} {issue.title}".strip()
    if not issue.provider_field or (issue.provider_field == issue.field and issue.provider_title in ("", issue.title)):
        return consumer
    return f"{consumer} ← {issue.provider_field} {issue.provider_title}".strip()


def _kind_cell(issue: Any) -> str:
    return issue.kind + (f" ({issue.aspect})" if issue.aspect else "")


def _fix_cell(issue: Any) -> str:
    """The step that fixes it, or the decision it needs, or what the departments must agree on."""
    text = issue.suggestion
    if issue.decide:
        text += "; DECIDE " + ", ".join(issue.decide)
    if issue.data_shows and issue.data_shows not in text:
        text += f" (the data shows {issue.data_shows})"
    return text


def _rate_text(p: PairResult) -> str:
    text = (f"standardization rate {_pct(p.standardization_rate)} by the schemas ({len(p.compatible_fields)} of "
            f"{len(p.required_fields)} required fields)")
    data = p.data_standard_fields
    if data is not None:
        text += f", {_pct(p.data_standardization_rate or 0.0)} by the data ({len(data)} of {len(p.required_fields)})"
    return text


WIDE_TABLE = 120  # columns a terminal needs for the issue table; narrower ones get a list


def render_short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _pct(x: float) -> str:
    return f"{x * 100:.1f} %"


class CompatConsole(BaseHandler):
    """Each pair on stdout as it is checked (the matrix at the end with --all); on stderr the notes, the files
    written, and while sampling the records checked (where a person watches)."""

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
            prefix = "[yellow]warning:[/] " if event.level == "warning" else ""
            self.err.print(prefix + escape(event.text))
        elif isinstance(event, Written):
            self.err.print(f"wrote {escape(str(event.path))}" + (f" ({escape(event.what)})" if event.what else ""))

    def finish(self, result: Any) -> None:
        self._stop()
        if not isinstance(result, CompatReport):
            return  # the session failed: its error is said at the edge
        if result.matrix:
            self.matrix(result)
        if result.interrupted:
            self.err.print("interrupted: the report covers the records sampled so far")

    def _sampling(self, event: Progress) -> None:
        if not self.err.is_terminal:
            return
        label = escape(event.label)
        if self._status is None:
            self._status = self.err.status(f"{label}: sampling...")
            self._status.start()
        if event.done:
            self._status.update(f"{label}: {int(event.done):,} records checked")

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def pair(self, p: PairResult) -> None:
        out = self.out
        out.print(f"[bold]{_pair_title(p)}[/]")
        if p.adapter is not None:
            out.print(f"adapter: {p.adapter.source} ({len(p.adapter.steps)} steps)")
        if p.evidence is not None:
            ev = p.evidence
            unusable = ", ".join(f"{why}: {n}" for why, n in sorted(ev.unusable.items()))
            out.print(f"evidence: {ev.source}: {ev.records:,} records checked, {ev.failing_records:,} fail the consumer's "
                      f"requirement" + (f"; {sum(ev.unusable.values())} gave no record ({unusable})" if unusable else "")
                      + ("; [yellow]interrupted[/]" if ev.interrupted else ""))
        for note in p.notes:
            out.print(f"[yellow]warning:[/] {note}")
        if p.no_evidence:
            out.print("[red]no usable record[/]: the evidence cannot support a verdict (see what gave no record above)")
        if p.issues and out.width < WIDE_TABLE:
            self._issue_list(p)
        elif p.issues:
            table = Table(show_lines=False, title_justify="left")
            evidence = p.evidence is not None
            cols = ["field (consumer ← provider)", "kind", "consumer requires",
                    "provider sends" + (" (after the adapter)" if p.adapter is not None else "")]
            if evidence:
                cols += ["failing/checked", "examples (masked)" if self.masked else "examples"]
            for col in [*cols, "suggestion"]:
                table.add_column(col, overflow="fold")
            for i in p.issues:
                kind = _kind_cell(i) + (" [yellow](warning)[/]" if i.severity == "warning" else "")
                row = [_field_cell(i), kind, i.consumer, i.provider]
                if evidence:
                    row += [_evidence_cell(i), ", ".join(i.examples)]
                table.add_row(*row, _fix_cell(i))
            out.print(table)
        verdict = "[green]compatible[/]" if p.compatible else (
            "[red]not judged[/]" if p.no_evidence and not p.errors else "[red]incompatible[/]")
        warnings = len(p.issues) - len(p.errors)
        out.print(f"{verdict}: {len(p.errors)} errors, {warnings} warnings; {_rate_text(p)}")
        for d in p.decisions():
            out.print(f"[yellow]DECIDE[/] {d}")
        out.print()

    def _issue_list(self, p: PairResult) -> None:
        """The issues one under another, for a terminal too narrow for seven columns (80 columns, a CI log)."""
        out = self.out
        for i in p.issues:
            severity = "[red]error[/]" if i.severity == "error" else "[yellow]warning[/]"
            out.print(f"[bold]{escape(_field_cell(i))}[/]  {escape(_kind_cell(i))} {severity}")
            out.print(f"  consumer requires: {escape(i.consumer)}", overflow="fold")
            after = " (after the adapter)" if p.adapter is not None else ""
            out.print(f"  provider sends{after}: {escape(i.provider)}", overflow="fold")
            if after and i.provider_own and i.provider_own != i.provider:
                out.print(f"  provider's own schema: {escape(i.provider_own)}", overflow="fold")
            if i.has_evidence:
                shown = ", ".join(i.examples)
                out.print(f"  {_evidence_cell(i)} records" + (f"; e.g. {escape(render_short(shown))}" if shown else ""),
                          overflow="fold")
            out.print(f"  fix: {escape(_fix_cell(i))}", overflow="fold")

    def matrix(self, report: CompatReport) -> None:
        table = Table(title="Department matrix", title_justify="left")
        for col in ("consumer", "provider", "compatible", "errors", "warnings", "standardization rate"):
            table.add_column(col, justify="right" if col in ("errors", "warnings", "standardization rate") else "left")
        for p in report.pairs:
            table.add_row(
                _dept(p.consumer.department.name, p.consumer.key), _dept(p.provider.department.name, p.provider.key),
                "[green]yes[/]" if p.compatible else "[red]no[/]", str(len(p.errors)), str(len(p.issues) - len(p.errors)),
                f"{_pct(p.standardization_rate)} ({len(p.compatible_fields)}/{len(p.required_fields)})",
            )
        self.out.print(table)
        verdict = "[green]all pairs compatible[/]" if report.compatible else (
            f"[red]{sum(not p.compatible for p in report.pairs)} of {len(report.pairs)} pairs incompatible[/]")
        data = report.data_standardization_rate
        self.out.print(f"{verdict}; standardization rate {_pct(report.standardization_rate)} by the schemas over every pair"
                       + (f", {_pct(data)} by the data" if data is not None else ""))


# --------------------------------------------------------------------------- files


def write_json(report: CompatReport, path: Path) -> None:
    atomic.write_text(path, json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


_SEVERITY_ZH = {"error": "错误 error", "warning": "警告 warning"}


def render_markdown(report: CompatReport) -> str:
    lines = ["# 接口字段格式问题报告 Format-issue report", ""]
    verdict = "compatible" if report.compatible else "**incompatible**"
    data = report.data_standardization_rate
    lines += [f"{len(report.pairs)} provider/consumer pair(s): {verdict}; standardization rate "
              f"{_pct(report.standardization_rate)} by the schemas" + (f", {_pct(data)} by the data" if data is not None else "")
              + " (标准化率: the share of the consumer's required fields served in its format; docs/compat.md)."
              + (" Examples are masked." if report.masked else ""), ""]
    if len(report.pairs) > 1:
        lines += ["| consumer | provider | compatible | errors | warnings | standardization rate |",
                  "|---|---|---|---:|---:|---:|"]
        for p in report.pairs:
            lines.append(f"| {_md(_dept(p.consumer.department.name, p.consumer.key))} | "
                         f"{_md(_dept(p.provider.department.name, p.provider.key))} | {'yes' if p.compatible else 'no'} | "
                         f"{len(p.errors)} | {len(p.issues) - len(p.errors)} | {_pct(p.standardization_rate)} |")
        lines.append("")
    for p in report.pairs:
        lines += [f"## {_md(_pair_title(p))}", ""]
        lines.append(f"- 需求方 consumer: {_md(_dept(p.consumer.department.name, p.consumer.department.id))}, "
                     f"requirement `{p.consumer.key}` {_md(p.consumer.title)}")
        lines.append(f"- 提供方 provider: {_md(_dept(p.provider.department.name, p.provider.department.id))}, "
                     f"interface `{p.provider.key}` {_md(p.provider.title)}")
        if p.adapter is not None:
            lines.append(f"- adapter applied: `{_md(p.adapter.source)}` ({len(p.adapter.steps)} steps)")
        if p.evidence is not None:
            ev = p.evidence
            lines.append(f"- evidence: {_md(ev.source)}; {ev.records:,} records checked, {ev.failing_records:,} fail the "
                         "consumer's requirement" + ("; interrupted" if ev.interrupted else ""))
        for note in p.notes:
            lines.append(f"- warning: {_md(note)}")
        if p.no_evidence:
            lines.append("- **no usable record**: the evidence cannot support a verdict")
        verdict_zh = "compatible 兼容" if p.compatible else "**incompatible 不兼容**"
        lines.append(f"- 结论 verdict: {verdict_zh}, {len(p.errors)} errors, "
                     f"{len(p.issues) - len(p.errors)} warnings; {_rate_text(p)}")
        for d in p.decisions():
            lines.append(f"- **DECIDE 待决定**: {_md(d)}")
        lines.append("")
        if not p.issues:
            lines += ["No format issues.", ""]
            continue
        by_field: dict[str, list[Any]] = {}
        for i in p.issues:
            by_field.setdefault(i.field, []).append(i)
        for name, issues in by_field.items():
            first = issues[0]
            head = f"### 需求方 consumer `{name}` {_md(first.title)}".rstrip()
            if first.provider_field:
                head += f" ← 提供方 provider `{first.provider_field}` {_md(first.provider_title)}".rstrip()
                if first.provider_own:
                    head += f" ({_md(first.provider_own)})"
            else:
                head += " ← 提供方未提供 not served"
            lines += [head, ""]
            sends = "提供方实际 provider sends" + (" (after the adapter 调整后)" if p.adapter is not None else "")
            lines += ["| 问题类型 kind | 级别 severity | 需求方要求 consumer requires | " + sends + " | "
                      "出现频次 how often | 示例（已脱敏） examples | 调整或决定 step or decision |",
                      "|---|---|---|---|---|---|---|"]
            for i in issues:
                often = (f"{i.failing:,} of {i.checked:,} records" if i.has_evidence else "by the schemas") + (
                    "" if i.predicted else " (only the data shows it)") + (
                    f"; {i.provider_defects:,} break the provider's own schema (a data defect at the provider"
                    + (f": {_places(i)}" if i.defect_at else "") + ")"
                    + (f", e.g. {', '.join(f'`{e}`' for e in i.defect_examples)}" if i.defect_examples else "")
                    if i.provider_defects else "")
                fix = _fix_cell(i) + (f" — step: `{_step_text(i.step)}`" if i.step else "")
                lines.append("| " + " | ".join(_md(x) for x in (
                    _kind_cell(i), _SEVERITY_ZH.get(i.severity, i.severity), i.consumer, i.provider, often,
                    ", ".join(f"`{e}`" for e in i.examples), fix)) + " |")
            lines.append("")
        steps = p.suggested_steps()
        if steps and not p.compatible:
            lines += ["Suggested adapter (`mvptest compat ... --suggest-adapter FILE` writes it):", "", "```yaml",
                      render_adapter(p).rstrip(), "```", ""]
    return "\n".join(lines) + "\n"


def _places(i: Any) -> str:
    more = i.provider_defects - len(i.defect_at)
    return ", ".join(i.defect_at) + (f" and {more} more" if more > 0 else "")


def _step_text(step: dict[str, Any]) -> str:
    return json.dumps(step, ensure_ascii=False)


def write_markdown(report: CompatReport, path: Path) -> None:
    atomic.write_text(path, render_markdown(report))


CSV_COLUMNS = ["consumer_department", "consumer", "provider_department", "provider", "field", "title", "provider_field",
               "provider_title", "kind", "aspect", "severity", "consumer_requires", "provider_sends", "checked", "failing",
               "breaks_provider_schema", "examples", "suggestion", "adapter_step", "decide", "data_shows", "predicted_by_schemas"]


def excel_safe(text: Any) -> Any:
    """A cell Excel will not run as a formula (values from a provider are untrusted text)."""
    if isinstance(text, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def write_csv(report: CompatReport, path: Path) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for p in report.pairs:
        for i in p.issues:
            writer.writerow([excel_safe(x) for x in (
                p.consumer.department.name or p.consumer.department.id, p.consumer.key,
                p.provider.department.name or p.provider.department.id, p.provider.key, i.field, i.title, i.provider_field,
                i.provider_title, i.kind, i.aspect, i.severity, i.consumer, i.provider, i.checked if i.has_evidence else "",
                i.failing if i.has_evidence else "", i.provider_defects if i.has_evidence else "", " | ".join(i.examples),
                i.suggestion, _step_text(i.step) if i.step else "", "; ".join(i.decide), i.data_shows,
                "yes" if i.predicted else "no",
            )])
    # UTF-8 with BOM so that Excel on Chinese Windows opens it without mojibake.
    atomic.write_text(path, buf.getvalue(), encoding="utf-8-sig")


# --------------------------------------------------------------------------- the suggested adapter


def render_adapter(p: PairResult) -> str:
    import yaml

    from mvptest.compat.adapter import Adapter

    steps = p.suggested_steps()
    adapter = Adapter(steps, p.provider.key, p.consumer.key)
    undecided = p.decisions()
    defects = [i for i in p.issues if i.has_evidence and i.provider_defects]
    manual = [i for i in p.issues if not i.step and (i.severity == "error" or not i.predicted)
              and not (i.provider_defects and i.provider_defects == i.failing)]
    head = [
        f"# Adapter: {p.provider.department.name or p.provider.department.id} {p.provider.key} -> "
        f"{p.consumer.department.name or p.consumer.department.id} {p.consumer.key}",
        "# Written by mvptest compat --suggest-adapter. Steps run in order on every provider record;",
        "# check it with: mvptest compat PROVIDER_SPEC CONSUMER_SPEC --adapter THIS_FILE",
    ]
    head += [f"# DECIDE: {d} (null in the map: no consumer code yet; write it there, until then the value passes "
             "unchanged and fails the check)" for d in undecided]
    if manual:
        head.append("# Not adjustable by an adapter (the departments must agree):")
        head += [f"#   {_names(i)} {i.kind}{' (' + i.aspect + ')' if i.aspect else ''}: {i.suggestion}" for i in manual]
    if defects:
        head.append("# Data defects at the provider (values that break its own schema; the provider corrects them):")
        head += [f"#   {_names(i)} {i.kind}: {i.provider_defects} of {i.checked} records"
                 + (f" ({_places(i)})" if i.defect_at else "") for i in defects]
    body = yaml.safe_dump(adapter.to_dict(), allow_unicode=True, sort_keys=False, default_flow_style=None, width=110)
    return "\n".join(head) + "\n" + body


def _names(i: Any) -> str:
    """The consumer's field, and the provider's where it is another."""
    return i.field + (f" ← {i.provider_field}" if i.provider_field and i.provider_field != i.field else "")


def write_adapter(p: PairResult, path: Path) -> None:
    atomic.write_text(path, render_adapter(p))


# --------------------------------------------------------------------------- the reports as handlers


class AdapterFiles(BaseHandler):
    """--suggest-adapter: the adapter of the pair, or with --all one file per pair that needs one, in a folder."""

    def __init__(self, target: Path, *, notify: Handler | None = None) -> None:
        self.target = target
        self.notify = notify

    def finish(self, result: Any) -> None:
        if not isinstance(result, CompatReport) or not result.pairs:
            return
        if not result.matrix:
            self._write(result.pairs[0], self.target)
            return
        for p in result.pairs:
            if p.suggested_steps():
                name = f"{p.consumer.key.replace('/', '--')}__{p.provider.key.replace('/', '--')}.adapter.yaml"
                self._write(p, self.target / name)

    def _write(self, p: PairResult, path: Path) -> None:
        write_adapter(p, path)
        if self.notify is not None:
            self.notify.handle(Written(path, f"{len(p.suggested_steps())} steps"))


def file_handlers(*, json_out: Path | None = None, md_out: Path | None = None, csv_out: Path | None = None,
                  suggest_adapter: Path | None = None, notify: Handler | None = None) -> list[Handler]:
    """The files asked for, each a handler that writes when the session finishes (a new format: one more writer
    here and its option; no engine code)."""
    handlers = file_reports(((json_out, write_json), (md_out, write_markdown), (csv_out, write_csv)), notify)
    if suggest_adapter is not None:
        handlers.append(AdapterFiles(suggest_adapter, notify=notify))
    return handlers
