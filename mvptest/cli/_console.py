"""Rich consoles for the commands: reports on stdout, progress and messages on stderr."""

from __future__ import annotations

from rich.console import Console

from mvptest.cli import STATE


def consoles() -> tuple[Console, Console]:
    """(stdout console for reports, stderr console for progress and notes); NO_COLOR is honoured by rich."""
    kwargs = {"no_color": True} if STATE.color is False else {}
    return Console(highlight=False, **kwargs), Console(stderr=True, highlight=False, **kwargs)
