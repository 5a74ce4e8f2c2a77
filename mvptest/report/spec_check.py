"""The console report of ``spec check``: every problem as compilers print it, then one summary line."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from mvptest.errors import Problem
from mvptest.events import BaseHandler, Event, Item
from mvptest.i18n import _
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
        severity = {"error": _("error"), "warning": _("warning")}.get(problem.severity, problem.severity)
        self.err.print(f"{escape(str(problem.where))}: [{colour}]{escape(severity)}[/]: {escape(problem.message)}",
                       soft_wrap=True, emoji=False)
        if problem.hint:
            self.err.print(escape(_("  hint: {hint}").format(hint=problem.hint)), soft_wrap=True, emoji=False)

    def finish(self, result: Any) -> None:
        if not isinstance(result, SpecCheckReport):
            return
        summary = escape(_("{files} file(s): {interfaces} interface(s), {requirements} requirement(s), "
                           "{scenarios} scenario(s)").format(files=result.files, interfaces=result.interfaces,
                                                            requirements=result.requirements, scenarios=result.scenarios))
        if result.errors:
            problems = "[red]" + escape(_("{n} problem(s)").format(n=len(result.errors))) + "[/]"
            self.out.print(_("{summary}; {problems}").format(summary=summary, problems=problems))
        elif not result.files:
            self.out.print(escape(_("no spec, requirement or scenario found (files need a top-level 'kind')")))
        else:
            self.out.print(_("{summary}: {ok}").format(summary=summary, ok="[green]" + escape(_("ok")) + "[/]"))
