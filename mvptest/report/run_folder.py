"""The run folder as a handler: at the end of a run, every file of results/<run-id>/, atomically, or a fallback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mvptest.errors import MvptestError
from mvptest.events import BaseHandler, Event, Written


class RunFolder(BaseHandler):
    """Writes summary.json, junit.xml, report.html, timeseries.csv and histograms.json when the run finishes.

    The session creates and probes the folder before any load (mvptest.run.folder.prepare_run_dir); this writes it.
    When the folder fails at the end the record goes under the temporary folder: ``result.record_dir`` says where,
    ``result.record_problem`` why. When no folder takes it, ``result.record_error`` holds the error (exit 4), raised
    by the session once every handler has finished. ``tell`` hears a Written event per file."""

    def __init__(self, tell: Callable[[Event], None] | None = None) -> None:
        self.tell = tell

    def finish(self, result: Any) -> None:
        from mvptest.run.folder import RUN_FILES, write_run_or_fallback
        from mvptest.run.summary import histograms, timeseries_rows

        rec = result.outcome.recorder
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
