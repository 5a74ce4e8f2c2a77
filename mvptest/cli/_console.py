"""Rich consoles for the commands: reports on stdout, progress and messages on stderr."""

from __future__ import annotations

import os

from rich.console import Console

from mvptest.cli import STATE


def consoles() -> tuple[Console, Console]:
    """(stdout console for reports, stderr console for progress and notes); NO_COLOR is honoured by rich."""
    kwargs: dict = {"no_color": True} if STATE.color is False else {}
    out = Console(highlight=False, **kwargs)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(highlight=False, width=140, **kwargs)  # logs and pipes: wide enough for a field table
    err = Console(stderr=True, highlight=False, **kwargs)
    if not err.is_terminal and "COLUMNS" not in os.environ:
        err = Console(stderr=True, highlight=False, width=140, **kwargs)
    return out, err
