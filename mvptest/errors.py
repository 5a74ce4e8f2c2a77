"""One exception hierarchy for mvptest; each error says what, where and how to fix, and maps to an exit code."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path


class ExitCode(enum.IntEnum):
    """The documented exit codes (CONTRACTS.md)."""

    OK = 0
    CHECK_FAILED = 1  # a target missed, invalid records, an incompatibility, a regression
    BAD_INPUT = 2  # usage error, unreadable or invalid spec/scenario/data file
    UNREACHABLE = 3  # the target could not be reached at all
    INTERNAL = 4  # a bug: please report it
    INTERRUPTED = 130


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file and, where known, a line and column (1-based)."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        text = self.path
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text


class MvptestError(Exception):
    """Base of every error mvptest raises on purpose; rendered once, at the CLI's edge."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, where: Location | str | Path | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = Location(str(where)) if isinstance(where, (str, Path)) else where
        self.hint = hint

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        return prefix + self.message


class ConfigError(MvptestError):
    """A setting does not make sense: an option's or a scenario's value (a duration, a rate, a port, a host the
    network policy refuses). The core raises this; the command line decides how to show it."""

    exit_code = ExitCode.BAD_INPUT


class UsageError(ConfigError):
    """The command line asks for something impossible (raised by mvptest/cli only)."""


class InputError(MvptestError):
    """A file the user handed us cannot be read or does not make sense."""

    exit_code = ExitCode.BAD_INPUT


@dataclass(frozen=True)
class Problem:
    """One finding of ``spec check``: located, explained, with a fix where one is known."""

    where: Location
    message: str
    hint: str = ""
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        return f"{self.where}: {self.severity}: {self.message}" + (f" ({self.hint})" if self.hint else "")


class SpecError(InputError):
    """One or more specs, requirements or scenarios are invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        errors = [p for p in problems if p.severity == "error"] or problems
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        super().__init__(first.message + more, where=first.where, hint=first.hint)
        self.problems = problems


class TargetUnreachable(MvptestError):
    """Nothing answered at the target: refused, DNS, TLS."""

    exit_code = ExitCode.UNREACHABLE


class InternalError(MvptestError):
    """Something mvptest did not expect; the message asks for a report."""

    exit_code = ExitCode.INTERNAL
