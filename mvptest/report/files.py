"""A report file as a handler: written from the session's result when it finishes, announced as Written."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mvptest.events import BaseHandler, Handler, Written


class FileReport(BaseHandler):
    """Writes ``write(result, path)`` at the end of a session and tells ``notify`` (the console) with a Written event.

    A session that failed finishes with None: nothing is written. An interrupted session finishes with what it
    measured, marked interrupted: that is written."""

    def __init__(self, path: Path, write: Callable[[Any, Path], None], *, notify: Handler | None = None,
                 what: str = "") -> None:
        self.path = path
        self.write = write
        self.notify = notify
        self.what = what

    def finish(self, result: Any) -> None:
        if result is None:
            return
        self.write(result, self.path)
        if self.notify is not None:
            self.notify.handle(Written(self.path, self.what))


def file_reports(targets: Sequence[tuple[Path | None, Callable[[Any, Path], None]]], notify: Handler | None) -> list[Handler]:
    """One FileReport per (path, writer) whose path is given (None: an option not used), in the order given."""
    return [FileReport(path, write, notify=notify) for path, write in targets if path is not None]


def md_cell(text: Any) -> str:
    """Text for one Markdown table cell: a pipe escaped, a line break made a space."""
    return str(text).replace("|", "\\|").replace("\n", " ")
