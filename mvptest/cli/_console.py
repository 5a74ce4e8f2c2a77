"""The invocation's environment: the consoles and streams a command writes to, passed in rather than global.

As httpie's ``Environment``: a command asks for ``environment()`` (or receives one in a test) and hands its
consoles to the report handlers; the core never sees them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import IO, Any

from rich.console import Console

from mvptest.cli import STATE


def _console(*, stderr: bool, color: bool | None) -> Console:
    kwargs: dict[str, Any] = {"no_color": True} if color is False else {}
    console = Console(stderr=stderr, highlight=False, **kwargs)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, highlight=False, width=140, **kwargs)  # logs and pipes: wide enough for a table
    return console


@dataclass
class Environment:
    """What one invocation writes to and reads from: reports on stdout, progress and messages on stderr."""

    stdout: Console
    stderr: Console
    stdin: IO[bytes] = field(default_factory=lambda: sys.stdin.buffer)
    debug: bool = False

    @property
    def interactive(self) -> bool:
        """Progress bars and spinners only where a person watches (stderr is a terminal)."""
        return self.stderr.is_terminal


def environment() -> Environment:
    """The environment of this invocation, from the command line's global options (NO_COLOR honoured by rich)."""
    return Environment(_console(stderr=False, color=STATE.color), _console(stderr=True, color=STATE.color), debug=STATE.debug)


def consoles() -> tuple[Console, Console]:
    """(stdout console for reports, stderr console for progress and notes)."""
    env = environment()
    return env.stdout, env.stderr
