"""The ``spec check`` session: load and lint specs, requirements and scenarios; every problem as an event."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mvptest.errors import ExitCode, Problem
from mvptest.events import Handler, Item, Session, run_session


@dataclass(frozen=True)
class SpecCheckConfig:
    paths: tuple[Path, ...]
    spec_root: Path | None = None
    strict: bool = False  # warnings count as errors


@dataclass
class SpecCheckReport:
    """What was found under the paths, and every problem (located)."""

    files: int = 0
    interfaces: int = 0
    requirements: int = 0
    scenarios: int = 0
    problems: list[Problem] = field(default_factory=list)
    strict: bool = False

    @property
    def errors(self) -> list[Problem]:
        """The problems that fail the check: errors, and with --strict warnings too."""
        return [p for p in self.problems if p.severity == "error" or self.strict]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.BAD_INPUT if self.errors or not self.files else ExitCode.OK


def check_specs(config: SpecCheckConfig, handlers: Handler) -> SpecCheckReport:
    """Every problem of every file under the paths, as ``Item("problem", Problem)``; then the report."""
    return run_session(handlers, Session("spec check"), lambda: _check(config, handlers))


def _check(config: SpecCheckConfig, handlers: Handler) -> SpecCheckReport:
    from mvptest.spec.check import load_specs

    result = load_specs(list(config.paths), spec_root=config.spec_root)
    for problem in result.problems:
        handlers.handle(Item("problem", problem))
    return SpecCheckReport(len(result.files), len(result.interfaces), len(result.requirements), len(result.scenarios),
                           list(result.problems), strict=config.strict)
