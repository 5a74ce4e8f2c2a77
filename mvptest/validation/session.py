"""The ``validate`` session: choose the schema, stream every file through the engine, hand the events on.

``validate_files(config, handlers)`` is the one core call of ``mvptest validate``. It never prints: the console,
JSON, Markdown and CSV reports are handlers (mvptest/report/validation.py). Events: ``ReadProgress`` (bytes read,
records checked; one with nothing read yet as each file starts) and ``Item("file", FileResult)`` per file; then
``finish(ValidationSummary)``, also when interrupted (the summary covers the records checked, marked interrupted).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path

from mvptest.events import Handler, Session, run_session
from mvptest.validation.aggregate import ValidationSummary
from mvptest.validation.engine import Event, Finished, choose_schema, validate_stream
from mvptest.validation.readers import DEFAULT_LIMITS, Limits


@dataclass(frozen=True)
class ValidateConfig:
    """What ``mvptest validate`` was asked: the data, what to check it against, how to read it."""

    data: tuple[Path, ...]
    spec: Path | None = None
    interface: str | None = None
    schema: Path | None = None  # a bare JSON Schema file instead of a spec
    spec_root: Path | None = None
    mask: bool = True
    encoding: str | None = None
    sheet: str | None = None
    max_examples: int = 3
    jobs: int = 0  # processes for large NDJSON files; 0: one per core
    limits: Limits = field(default=DEFAULT_LIMITS)


def validate_files(config: ValidateConfig, handlers: Handler) -> ValidationSummary:
    """Validate every record of every file against the schema the config names; the summary of what was found."""
    choice = choose_schema(spec=config.spec, interface=config.interface, schema=config.schema,
                           spec_root=config.spec_root, mask=config.mask)
    stream = validate_stream(list(config.data), choice, encoding=config.encoding, sheet=config.sheet,
                             max_examples=config.max_examples, jobs=config.jobs, limits=config.limits)
    return run_session(handlers, Session("validate", choice.name), lambda: _drive(stream, handlers))


def _drive(stream: Generator[Event, None, None], handlers: Handler) -> ValidationSummary:
    """Hand every event to the handlers; a Ctrl-C while a handler runs is passed to the engine, which then ends
    with the summary of what it checked (a Ctrl-C inside the engine is handled there)."""
    while True:
        try:
            for event in stream:
                if isinstance(event, Finished):
                    return event.summary
                handlers.handle(event)
            raise AssertionError("the engine ended without a summary")
        except KeyboardInterrupt:
            try:
                event = stream.throw(KeyboardInterrupt())
            except StopIteration:
                raise KeyboardInterrupt from None
            if isinstance(event, Finished):
                return event.summary
            handlers.handle(event)
