"""Shared fixtures: ``cli`` runs the mvptest command line in-process and captures what it prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

# Deterministic output: no colours, a wide console (rich reads COLUMNS), no tracebacks on request.
CLI_ENV: dict[str, str | None] = {"NO_COLOR": "1", "COLUMNS": "200", "MVPTEST_DEBUG": None}


@dataclass(frozen=True)
class CliResult:
    """What one ``mvptest`` invocation did: main()'s return value and the text it printed."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:  # shown by pytest when an assertion on the result fails
        return f"exit {self.exit_code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """``cli("validate", path, "--spec", spec)`` -> CliResult. Arguments may be paths; they are passed as text.

    Runs ``mvptest.cli.main(argv)`` inside click's CliRunner isolation (stdout and stderr captured apart,
    environment overridden for the call only); the exit code is main()'s return value.
    """
    from mvptest.cli import main

    runner = CliRunner()

    def run(*args: str | Path) -> CliResult:
        argv = [str(a) for a in args]
        with runner.isolation(env=CLI_ENV) as (out, err, _mixed):
            try:
                code = main(argv)
            finally:
                import sys

                sys.stdout.flush()
                sys.stderr.flush()
        return CliResult(int(code), out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace"))

    return run
