"""Reports of ``validate`` as handlers of its session: the console, and JSON, Markdown and CSV files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from mvptest import atomic
from mvptest.events import BaseHandler, Event, Handler, Item, Written
from mvptest.report.compat import excel_safe
from mvptest.report.files import file_reports
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
            self.err.print(f"wrote {escape(str(event.path))}" + (f" ({escape(event.what)})" if event.what else ""))

    def finish(self, result: Any) -> None:
        self._stop()
        if not isinstance(result, ValidationSummary):
            return  # the session failed: its error is said at the edge
        self.summary(result)
        if result.interrupted:
            self.err.print("interrupted: the report covers the records checked before the interrupt")
        for path in result.empty_files:
            self.err.print(f"no records found in {escape(path)}: nothing was validated")

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
            out.print(escape(f"{f['path']}: {f['kind']}{enc}, {f['records']:,} records, {f['invalid']:,} invalid"))
        issues = data["issues"]
        if issues:
            table = Table(title=escape(f"Field report against {summary.schema_name}"), show_lines=False, title_justify="left")
            table.add_column("field")
            table.add_column("kind")
            table.add_column("expected")
            table.add_column("count", justify="right")
            table.add_column("examples (masked)" if summary.masked else "examples")
            table.add_column("problem")
            table.add_column("suggestion")
            for issue in issues[: self.max_rows]:
                field = escape(issue["field"] or "(record)")
                if issue["severity"] == "warning":
                    field += " [yellow](warning)[/]"
                table.add_row(
                    field, *(escape(str(x)) for x in (
                        issue["kind"], issue["expected"], f"{issue['count']:,}", ", ".join(issue["examples"]),
                        issue["message"], issue.get("suggestion", ""),
                    )),
                )
            out.print(table)
            if len(issues) > self.max_rows:
                out.print(f"... and {len(issues) - self.max_rows} more issues; see --json-out or --md-out")
        rate = f" in {data['seconds']:.2f} s ({data['records_per_second']:,} records/s)" if data["records_per_second"] else ""
        if summary.empty_files and not data["invalid"]:
            verdict = "[red]nothing was validated[/]"
        else:
            verdict = "[green]all valid[/]" if summary.ok else f"[red]{data['invalid']:,} invalid[/]"
        warn = f", {data['with_warnings']:,} valid with warnings" if data["with_warnings"] else ""
        out.print(f"{data['records']:,} records: {data['valid']:,} valid, {verdict}{warn}{rate}")


def write_json(summary: ValidationSummary, path: Path) -> None:
    atomic.write_text(path, json.dumps(summary.to_dict(), ensure_ascii=False, indent=2) + "\n")


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(summary: ValidationSummary) -> str:
    data = summary.to_dict()
    lines = [
        f"# Field format report: {summary.schema_name}",
        "",
        f"{data['records']:,} records checked: **{data['valid']:,} valid**, **{data['invalid']:,} invalid**"
        + (f", {data['with_warnings']:,} valid with warnings" if data["with_warnings"] else "")
        + ".",
        "",
        "| file | kind | records | invalid |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {_md_cell(f['path'])} | {f['kind']} | {f['records']:,} | {f['invalid']:,} |" for f in data["files"]]
    lines += ["", "## Issues by field", ""]
    if not data["issues"]:
        lines.append("No issues.")
    else:
        lines += [
            "| field | kind | severity | expected | count | examples" + (" (masked)" if summary.masked else "")
            + " | where | problem | suggestion |",
            "|---|---|---|---|---:|---|---|---|---|",
        ]
        for i in data["issues"]:
            lines.append(
                "| " + " | ".join(_md_cell(x) for x in (
                    f"`{i['field']}`" if i["field"] else "(record)", i["kind"], i["severity"], i["expected"], f"{i['count']:,}",
                    ", ".join(f"`{e}`" for e in i["examples"]), ", ".join(i["locations"]), i["message"], i.get("suggestion", ""),
                )) + " |"
            )
    lines.append("")
    return "\n".join(lines)


def write_markdown(summary: ValidationSummary, path: Path) -> None:
    atomic.write_text(path, render_markdown(summary))


def write_csv(summary: ValidationSummary, path: Path) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["field", "kind", "severity", "expected", "count", "examples", "locations", "message", "suggestion"])
    for i in summary.to_dict()["issues"]:
        writer.writerow([excel_safe(x) for x in (
            i["field"], i["kind"], i["severity"], i["expected"], i["count"], " | ".join(i["examples"]),
            " | ".join(i["locations"]), i["message"], i.get("suggestion", ""),
        )])
    # UTF-8 with BOM so that Excel on Chinese Windows opens it without mojibake.
    atomic.write_text(path, buf.getvalue(), encoding="utf-8-sig")


def file_handlers(*, json_out: Path | None = None, md_out: Path | None = None, csv_out: Path | None = None,
                  notify: Handler | None = None) -> list[Handler]:
    """The report files asked for, each a handler that writes when the session finishes (a new format: one more
    writer here and its option; no engine code)."""
    return file_reports(((json_out, write_json), (md_out, write_markdown), (csv_out, write_csv)), notify)
