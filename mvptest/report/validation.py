"""Reports of ``validate`` as handlers of its session: the console, and JSON, Markdown and CSV files."""

from __future__ import annotations

import csv
import functools
import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from mvptest import atomic, i18n
from mvptest.events import BaseHandler, Event, Handler, Item, Written
from mvptest.i18n import _
from mvptest.report.compat_text import excel_safe
from mvptest.report.files import file_reports, md_cell
from mvptest.report.provenance import csv_headers, csv_values, markdown_lines, provenance, sha256_file, spec_entry
from mvptest.validation.aggregate import ValidationSummary
from mvptest.validation.engine import ReadProgress


class ValidateConsole(BaseHandler):
    """Progress on stderr while large files are read (where a person watches), then the per-field table on
    stdout, the files written and what the verdict rests on."""

    def __init__(self, out: Console, err: Console, *, max_rows: int = 40) -> None:
        self.out = out
        self.err = err
        self.max_rows = max_rows
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def handle(self, event: Event) -> None:
        if isinstance(event, ReadProgress):
            self._read(event)
        elif isinstance(event, Item) and event.kind == "file":
            self._stop()
        elif isinstance(event, Written):
            self.err.print(escape(_("wrote {path}").format(path=event.path) + (f" ({event.what})" if event.what else "")))

    def finish(self, result: Any) -> None:
        self._stop()
        if not isinstance(result, ValidationSummary):
            return  # the session failed: its error is said at the edge
        self.summary(result)
        if result.interrupted:
            self.err.print(escape(_("interrupted: the report covers the records checked before the interrupt")))
        for path in result.empty_files:
            self.err.print(escape(_("no records found in {path}: nothing was validated").format(path=path)))

    def _read(self, event: ReadProgress) -> None:
        if self._progress is None and event.done == 0 and self.err.is_terminal and (event.total or 0) > 2_000_000:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[records]:,} records"),
                TimeRemainingColumn(), console=self.err, transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(escape(event.label), total=event.total, records=0)
        elif self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=event.done, records=event.records)

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def summary(self, summary: ValidationSummary) -> None:
        # Every value from the user's files goes through escape(): a "[/]" in data is text, not console markup.
        data = summary.to_dict()
        out = self.out
        for f in data["files"]:
            enc = f" ({f['encoding']})" if f["kind"] in ("csv", "xlsx") else ""
            out.print(escape(_("{path}: {kind}{encoding}, {records} records, {invalid} invalid").format(
                path=f["path"], kind=f["kind"], encoding=enc, records=f"{f['records']:,}", invalid=f"{f['invalid']:,}")),
                overflow="fold")
        issues = data["issues"]
        if issues and out.width < WIDE_TABLE:
            self._issue_list(summary, issues[: self.max_rows])
        elif issues:
            out.print(self._table(summary, issues[: self.max_rows]))
        if len(issues) > self.max_rows:
            out.print(_("... and {n} more issues; see --json-out or --md-out").format(n=len(issues) - self.max_rows))
        out.print(_verdict_line(summary, data))

    def _table(self, summary: ValidationSummary, issues: list[dict[str, Any]]) -> Table:
        table = Table(title=escape(_("Field report against {schema}").format(schema=summary.schema_name)),
                      show_lines=False, title_justify="left")
        for header in _headers(summary):
            # fold: a long field, code or pattern wraps onto the next line; nothing is cut
            table.add_column(header, overflow="fold", justify="right" if header == _("count") else "left")
        for issue in issues:
            field = escape(issue["field"] or _("(record)"))
            if issue["severity"] == "warning":
                field += " [yellow]" + escape(_("(warning)")) + "[/]"
            table.add_row(field, *(escape(str(x)) for x in (
                issue["kind"], issue["expected"], f"{issue['count']:,}", ", ".join(issue["examples"]),
                issue["message"], issue.get("suggestion", ""))))
        return table

    def _issue_list(self, summary: ValidationSummary, issues: list[dict[str, Any]]) -> None:
        """The issues one under another, for a terminal too narrow for seven columns (80 columns, a CI log)."""
        out = self.out
        out.print(escape(_("Field report against {schema}").format(schema=summary.schema_name)), overflow="fold")
        for issue in issues:
            severity = "[red]" + escape(_("error")) + "[/]" if issue["severity"] == "error" else (
                "[yellow]" + escape(_("warning")) + "[/]")
            out.print(f"[bold]{escape(issue['field'] or _('(record)'))}[/]  {escape(issue['kind'])} {severity}  "
                      + escape(_("{count} records").format(count=f"{issue['count']:,}")), overflow="fold")
            out.print("  " + escape(_("expected: {expected}").format(expected=issue["expected"])), overflow="fold")
            out.print("  " + escape(_("problem: {message}").format(message=issue["message"])), overflow="fold")
            if issue["examples"]:
                label = _("examples (masked)") if summary.masked else _("examples")
                out.print("  " + escape(f"{label}: " + ", ".join(issue["examples"])), overflow="fold")
            if issue.get("suggestion"):
                out.print("  " + escape(_("suggestion: {suggestion}").format(suggestion=issue["suggestion"])),
                          overflow="fold")


WIDE_TABLE = 120  # columns a terminal needs for the issue table; narrower ones get a list


def _headers(summary: ValidationSummary) -> list[str]:
    return [_("field"), _("kind"), _("expected"), _("count"),
            _("examples (masked)") if summary.masked else _("examples"), _("problem"), _("suggestion")]


def _verdict_line(summary: ValidationSummary, data: dict[str, Any]) -> str:
    rate = _(" in {seconds} s ({rate} records/s)").format(
        seconds=f"{data['seconds']:.2f}", rate=f"{data['records_per_second']:,}") if data["records_per_second"] else ""
    if summary.empty_files and not data["invalid"]:
        verdict = "[red]" + escape(_("nothing was validated")) + "[/]"
    elif summary.ok:
        verdict = "[green]" + escape(_("all valid")) + "[/]"
    else:
        verdict = "[red]" + escape(_("{n} invalid").format(n=f"{data['invalid']:,}")) + "[/]"
    warn = _(", {n} valid with warnings").format(n=f"{data['with_warnings']:,}") if data["with_warnings"] else ""
    return _("{records} records: {valid} valid, {verdict}{warnings}{rate}").format(
        records=f"{data['records']:,}", valid=f"{data['valid']:,}", verdict=verdict, warnings=escape(warn), rate=rate)


# --------------------------------------------------------------------------- files


class Sources:
    """Where the report's schema came from (the command's options), for the provenance of the files written."""

    def __init__(self, spec: Path | None = None, schema: Path | None = None, spec_root: Path | None = None) -> None:
        self.spec, self.schema, self.spec_root = spec, schema, spec_root

    def specs(self, name: str) -> list[dict[str, Any]]:
        if self.schema is not None:
            return [{"id": name, "kind": "schema", "version": None, "file": str(self.schema),
                     "sha256": sha256_file(self.schema)}]
        if self.spec is None:
            return []
        from mvptest.spec.check import load_specs

        loaded = load_specs([self.spec], spec_root=self.spec_root)
        found: list[Any] = [x for x in loaded.interfaces if x.key == name]
        found += [x for x in loaded.requirements if x.key == name]
        return [spec_entry(x) for x in found[:1]] or [{"id": name, "file": str(self.spec),
                                                      "sha256": sha256_file(self.spec)}]


def _provenance(summary: ValidationSummary, sources: Sources | None) -> dict[str, Any]:
    src = sources or Sources()
    return provenance(specs=src.specs(summary.schema_name), data=[f.path for f in summary.files])


def to_dict(summary: ValidationSummary, sources: Sources | None = None) -> dict[str, Any]:
    data = summary.to_dict()
    data["provenance"] = _provenance(summary, sources)
    return data


def write_json(summary: ValidationSummary, path: Path, sources: Sources | None = None) -> None:
    atomic.write_text(path, json.dumps(to_dict(summary, sources), ensure_ascii=False, indent=2) + "\n")


_md_cell = md_cell


def render_markdown(summary: ValidationSummary, sources: Sources | None = None) -> str:
    data = to_dict(summary, sources)
    warn = _(", {n} valid with warnings").format(n=f"{data['with_warnings']:,}") if data["with_warnings"] else ""
    lines = [
        _("# Field format report: {schema}").format(schema=summary.schema_name), "",
        *markdown_lines(data["provenance"]), "",
        _("{records} records checked: **{valid} valid**, **{invalid} invalid**{warnings}.").format(
            records=f"{data['records']:,}", valid=f"{data['valid']:,}", invalid=f"{data['invalid']:,}", warnings=warn),
        "",
        "| " + " | ".join((_("file"), _("kind"), _("records"), _("invalid"))) + " |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {_md_cell(f['path'])} | {f['kind']} | {f['records']:,} | {f['invalid']:,} |" for f in data["files"]]
    lines += ["", _("## Issues by field"), ""]
    if not data["issues"]:
        lines.append(_("No issues."))
    else:
        heads = [_("field"), _("kind"), _("severity"), _("expected"), _("count"),
                 _("examples (masked)") if summary.masked else _("examples"), _("where"), _("problem"), _("suggestion")]
        lines += ["| " + " | ".join(heads) + " |", "|---|---|---|---|---:|---|---|---|---|"]
        for i in data["issues"]:
            lines.append(
                "| " + " | ".join(_md_cell(x) for x in (
                    f"`{i['field']}`" if i["field"] else _("(record)"), i["kind"], _severity(i["severity"]),
                    i["expected"], f"{i['count']:,}", ", ".join(f"`{e}`" for e in i["examples"]),
                    ", ".join(i["locations"]), i["message"], i.get("suggestion", ""),
                )) + " |"
            )
    lines.append("")
    return "\n".join(lines)


def _severity(severity: str) -> str:
    return {"error": _("error"), "warning": _("warning")}.get(severity, severity)


def write_markdown(summary: ValidationSummary, path: Path, sources: Sources | None = None) -> None:
    atomic.write_text(path, render_markdown(summary, sources))


CSV_KEYS = ["field", "kind", "severity", "expected", "count", "examples", "locations", "message", "suggestion"]


def csv_header() -> list[str]:
    """The header row in the report's language (English: the machine names of CSV_KEYS)."""
    return [_("field"), _("kind"), _("severity"), _("expected"), _("count"), _("examples"), _("locations"),
            _("problem"), _("suggestion")]


def write_csv(summary: ValidationSummary, path: Path, sources: Sources | None = None) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    prov = _provenance(summary, sources)
    header = csv_header() if i18n.language() != "en" else list(CSV_KEYS)
    writer.writerow(header + csv_headers())
    for i in summary.to_dict()["issues"]:
        writer.writerow([excel_safe(x) for x in (
            i["field"], i["kind"], i["severity"], i["expected"], i["count"], " | ".join(i["examples"]),
            " | ".join(i["locations"]), i["message"], i.get("suggestion", ""), *csv_values(prov),
        )])
    # UTF-8 with BOM so that Excel on Chinese Windows opens it without mojibake.
    atomic.write_text(path, buf.getvalue(), encoding="utf-8-sig")


def file_handlers(*, json_out: Path | None = None, md_out: Path | None = None, csv_out: Path | None = None,
                  notify: Handler | None = None, sources: Sources | None = None) -> list[Handler]:
    """The report files asked for, each a handler that writes when the session finishes (a new format: one more
    writer here and its option; no engine code)."""
    writers = [functools.partial(w, sources=sources) for w in (write_json, write_markdown, write_csv)]
    return file_reports(((json_out, writers[0]), (md_out, writers[1]), (csv_out, writers[2])), notify)
