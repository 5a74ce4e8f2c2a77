"""The run folder as a handler: at the end of a run, every file of results/<run-id>/, atomically, or a fallback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mvptest.errors import MvptestError
from mvptest.events import BaseHandler, Event, Note, Written
from mvptest.i18n import _
from mvptest.run.outcome import LoadProgress, LoadStarted


class RunFolder(BaseHandler):
    """Writes summary.json, junit.xml, report.html, timeseries.csv and histograms.json when the run finishes, then
    points results/latest at the folder.

    The session creates and probes the folder before any load (mvptest.run.folder.prepare_run_dir); this writes it.
    When the folder fails at the end the record goes under the temporary folder: ``result.record_dir`` says where,
    ``result.record_problem`` why. When no folder takes it, ``result.record_error`` holds the error (exit 4), raised
    by the session once every handler has finished. ``tell`` hears a Written event per file.

    While the load runs it keeps the users running each second (from the engine's progress events): the report's
    users-over-time chart, as summary["load"]["users_series"]."""

    def __init__(self, tell: Callable[[Event], None] | None = None) -> None:
        self.tell = tell
        self.users: list[list[float]] = []

    def handle(self, event: Event) -> None:
        if isinstance(event, LoadStarted):
            self.users = [[0.0, 0]]
        elif isinstance(event, LoadProgress):
            t = round(float(event.done), 1)
            if not self.users or t > self.users[-1][0]:
                self.users.append([t, event.users])

    def finish(self, result: Any) -> None:
        from mvptest.run.folder import RUN_FILES, link_latest, write_run_or_fallback
        from mvptest.run.summary import histograms, timeseries_rows

        if result is None:
            return
        rec = result.outcome.recorder
        if len(self.users) > 1:
            result.summary.setdefault("load", {})["users_series"] = self.users
        try:
            where, problem = write_run_or_fallback(result.run_dir, result.summary,
                                                   timeseries_rows(rec, result.outcome.started_at), histograms(rec))
        except MvptestError as exc:
            result.record_error = exc
            return
        result.record_dir, result.record_problem = where, problem
        result.written = [where / name for name in RUN_FILES]
        for path in result.written:
            if self.tell is not None:
                self.tell(Written(path, "the run's record"))
        why = link_latest(result.run_dir.parent, where)
        if why is not None and self.tell is not None:
            self.tell(Note(_("could not point {link} at this run ({why})").format(
                link=result.run_dir.parent / "latest", why=why), "warning"))


class Rendered:
    """What ``rerender`` wrote: the files, and what the run's folder lacked."""

    def __init__(self, run_dir: Path, summary: dict[str, Any], written: list[Path], missing: list[str]) -> None:
        self.run_dir, self.summary, self.written, self.missing = run_dir, summary, written, missing
        self.record_problem: str | None = None
        self.record_dir: Path | None = run_dir

    @property
    def exit_code(self) -> int:
        return 0


def rerender(run_dir: Path, handler: Any, *, html_out: Path | None = None) -> Rendered:
    """Re-render report.html (or ``html_out``) and junit.xml of a finished run from its files; ``handler`` hears a
    Note per missing part, a Written per file, and ``final(summary, run_dir)`` (the console's table)."""
    from mvptest import atomic
    from mvptest.report.html import render_html
    from mvptest.report.junit import render_junit
    from mvptest.run.folder import read_run

    summary, rows, histograms, missing = read_run(run_dir)
    missing += _missing_fields(summary)
    for text in missing:
        handler.handle(Note(text, "warning"))
    page = html_out if html_out is not None else run_dir / "report.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic.write_bytes(page, render_html(summary, rows, histograms, missing).encode("utf-8"))
        atomic.write_bytes(run_dir / "junit.xml", render_junit(summary))
    except OSError as exc:
        from mvptest.errors import InputError

        raise InputError(f"cannot write the reports ({exc.strerror or type(exc).__name__})",
                         where=str(exc.filename or run_dir), hint="give --html FILE in a folder you can write") from None
    written = [page, run_dir / "junit.xml"]
    for path in written:
        handler.handle(Written(path, "a report of the run"))
        handler.handle(Note(_("wrote {path}").format(path=path)))
    handler.final(summary, run_dir)
    return Rendered(run_dir, summary, written, missing)


def _missing_fields(summary: dict[str, Any]) -> list[str]:
    """What an earlier version's summary.json lacks that the reports show, one sentence each."""
    said = []
    if "conditions" not in summary:
        said.append(_("summary.json has no conditions (versions, spec hashes): an earlier version wrote it"))
    if any("outcome" not in t for i in summary.get("interfaces", []) for t in i.get("targets") or []):
        said.append(_("summary.json has no intervals or outcomes per target: met / missed is shown as recorded"))
    if "confidence" not in summary:
        said.append(_("summary.json does not state the verdict's confidence: 95 % is assumed"))
    return said
