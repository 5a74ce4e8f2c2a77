"""The console report of ``spec check``: every problem as compilers print it, then one summary line."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from mvptest.errors import Problem
from mvptest.events import BaseHandler, Event, Item
from mvptest.spec.session import SpecCheckReport


class SpecCheckConsole(BaseHandler):
    """Problems on stderr as they come (file:line:col: severity: message, and the hint), the summary on stdout."""

    def __init__(self, out: Console, err: Console) -> None:
        self.out = out
        self.err = err

    def handle(self, event: Event) -> None:
        if isinstance(event, Item) and isinstance(event.value, Problem):
            self.problem(event.value)

    def problem(self, problem: Problem) -> None:
        colour = "red" if problem.severity == "error" else "yellow"
        # Messages quote the user's own text ("[/]" in a path or value): never read it as console markup.
        self.err.print(f"{escape(str(problem.where))}: [{colour}]{problem.severity}[/]: {escape(problem.message)}",
                       soft_wrap=True, emoji=False)
        if problem.hint:
            self.err.print(f"  hint: {escape(problem.hint)}", soft_wrap=True, emoji=False)

    def finish(self, result: Any) -> None:
        if not isinstance(result, SpecCheckReport):
            return
        summary = (f"{result.files} file(s): {result.interfaces} interface(s), {result.requirements} requirement(s), "
                   f"{result.scenarios} scenario(s)")
        if result.errors:
            self.out.print(f"{summary}; [red]{len(result.errors)} problem(s)[/]")
        elif not result.files:
            self.out.print("no spec, requirement or scenario found (files need a top-level 'kind')")
        else:
            self.out.print(f"{summary}: [green]ok[/]")
