"""The console of ``sandbox``: where it listens (the first line on stdout), its routes and faults, and what it did."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from mvptest.events import BaseHandler, Event, Item, Note
from mvptest.i18n import _
from mvptest.sandbox.session import Listening, SandboxResult


class SandboxConsole(BaseHandler):
    """``listening on URL`` on stdout, flushed (scripts and tests read it); the rest on stderr."""

    def __init__(self, out: Console, err: Console) -> None:
        self.out = out
        self.err = err

    def handle(self, event: Event) -> None:
        if isinstance(event, Note):
            self.err.print(("[yellow]" + escape(_("warning:")) + "[/] " if event.level == "warning" else "") + escape(event.text))
        elif isinstance(event, Item) and isinstance(event.value, Listening):
            self.listening(event.value)

    def listening(self, srv: Listening) -> None:
        self.out.print(f"listening on {srv.url}", markup=False, highlight=False, soft_wrap=True)  # rich flushes each print
        err = self.err
        for route in srv.routes:
            err.print(escape(f"  {route.method:6} {route.path}   " + _("e.g. {url}").format(url=srv.url + route.example)),
                      overflow="fold")
        err.print(escape("  " + _("stats: {url}   faults: {faults}   seed: {seed}").format(
            url=f"{srv.url}/__mvptest/stats", faults=srv.faults, seed=srv.seed)), overflow="fold")
        if srv.adapted:
            err.print(escape("  " + _("adapted by {adapter} ({fields}): the consumer's view, not the provider's schema").format(
                adapter=srv.adapter, fields=", ".join(srv.adapted))), overflow="fold")
        err.print(escape(_("Ctrl-C to stop")))

    def finish(self, result: Any) -> None:
        if isinstance(result, SandboxResult):
            stats = result.stats
            self.err.print(escape(_("stopped after {n} requests: {outcomes}").format(
                n=f"{stats['requests']:,}", outcomes=stats["outcomes"])))
