"""The console of ``sandbox``: where it listens (the first line on stdout), its routes and faults, and what it did."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from mvptest.events import BaseHandler, Event, Item, Note
from mvptest.sandbox.session import Listening, SandboxResult


class SandboxConsole(BaseHandler):
    """``listening on URL`` on stdout, flushed (scripts and tests read it); the rest on stderr."""

    def __init__(self, out: Console, err: Console) -> None:
        self.out = out
        self.err = err

    def handle(self, event: Event) -> None:
        if isinstance(event, Note):
            self.err.print(("[yellow]warning:[/] " if event.level == "warning" else "") + escape(event.text))
        elif isinstance(event, Item) and isinstance(event.value, Listening):
            self.listening(event.value)

    def listening(self, srv: Listening) -> None:
        self.out.print(f"listening on {srv.url}", markup=False, highlight=False, soft_wrap=True)  # rich flushes each print
        err = self.err
        for route in srv.routes:
            err.print(escape(f"  {route.method:6} {route.path}   e.g. {srv.url}{route.example}"))
        err.print(escape(f"  stats: {srv.url}/__mvptest/stats   faults: {srv.faults}   seed: {srv.seed}"))
        if srv.adapted:
            adapted = ", ".join(srv.adapted)
            err.print(escape(f"  adapted by {srv.adapter} ({adapted}): the consumer's view, not the provider's schema"))
        err.print("Ctrl-C to stop")

    def finish(self, result: Any) -> None:
        if isinstance(result, SandboxResult):
            stats = result.stats
            self.err.print(escape(f"stopped after {stats['requests']:,} requests: {stats['outcomes']}"))
