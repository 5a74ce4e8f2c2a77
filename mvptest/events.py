"""What the core tells the outside while it works: events, and the handlers that turn them into output.

A core session (``run_pilot``, ``check_compat``, ``validate_files``, ...) never prints. It calls, on the handlers
it is given, ``start(session)`` once, ``handle(event)`` for each thing worth telling, and ``finish(result)`` once
at the end, also when the session was interrupted or failed with what it had measured. The console, JSON, JUnit,
HTML, Markdown and CSV outputs are handlers (``mvptest/report``): adding a report format touches no engine code.

This module imports nothing heavy (no locust, no gevent, no rich): every part of the program may use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar


@dataclass(frozen=True)
class Session:
    """Which command's core session is starting, and when."""

    command: str  # "run", "compat", "validate", "sandbox", "spec check", ...
    title: str = ""
    started_at: float = field(default_factory=time.time)


class Event:
    """Base of every event; each subclass is a frozen dataclass with what a handler needs, already masked."""


@dataclass(frozen=True)
class Note(Event):
    """A sentence for the person running the command: a plan's note, a warning, what was assumed."""

    text: str
    level: str = "info"  # info | warning


@dataclass(frozen=True)
class Progress(Event):
    """Work done so far on long work (records checked, seconds of load run)."""

    label: str
    done: float
    total: float | None = None
    unit: str = ""


@dataclass(frozen=True)
class Written(Event):
    """A file the session wrote, for the person to open."""

    path: Path
    what: str = ""


@dataclass(frozen=True)
class Stage(Event):
    """A step of the session begins (e.g. "sandbox started", "load", "writing the results")."""

    name: str
    detail: str = ""


@dataclass(frozen=True)
class Item(Event):
    """One finished unit of a session's work: a compat pair, a validated file, a run's interface. ``value`` is the
    core's own result object for it (a PairResult, a FileReport, ...)."""

    kind: str
    value: Any


class Handler(Protocol):
    """Turns a session's events into output. Every method is optional to implement: see BaseHandler."""

    def start(self, session: Session) -> None: ...

    def handle(self, event: Event) -> None: ...

    def finish(self, result: Any) -> None: ...


class BaseHandler:
    """A handler that does nothing: subclass it and implement what you need."""

    def start(self, session: Session) -> None:
        return None

    def handle(self, event: Event) -> None:
        return None

    def finish(self, result: Any) -> None:
        return None


class Handlers(BaseHandler):
    """Several handlers as one, called in the order given."""

    def __init__(self, handlers: Iterable[Handler] = ()) -> None:
        self.handlers = list(handlers)

    def add(self, handler: Handler) -> None:
        self.handlers.append(handler)

    def start(self, session: Session) -> None:
        for h in self.handlers:
            h.start(session)

    def handle(self, event: Event) -> None:
        for h in self.handlers:
            h.handle(event)

    def finish(self, result: Any) -> None:
        for h in self.handlers:
            h.finish(result)


class Collect(BaseHandler):
    """Keeps every event: for tests, and for a session that hands events on later."""

    def __init__(self) -> None:
        self.session: Session | None = None
        self.events: list[Event] = []
        self.result: Any = None

    def start(self, session: Session) -> None:
        self.session = session

    def handle(self, event: Event) -> None:
        self.events.append(event)

    def finish(self, result: Any) -> None:
        self.result = result


R = TypeVar("R")


def run_session(handlers: Handler, session: Session, work: Callable[[], R]) -> R:
    """``handlers.start(session)``, then ``work()``, then ``handlers.finish(result)``.

    When the work raises (bad input, an unreachable target, an interrupt it does not keep), the handlers get
    ``finish(None)``: they release what they hold (a progress bar) and write nothing; the error goes on to the edge.
    A handler that fails in ``finish(result)`` (a report that cannot be written) is not finished twice."""
    handlers.start(session)
    try:
        result = work()
    except BaseException:
        handlers.finish(None)
        raise
    handlers.finish(result)
    return result
