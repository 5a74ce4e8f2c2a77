"""The validate engine: stream records from files, check each, aggregate per field; emits events, never prints."""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mvptest import events
from mvptest.errors import ConfigError, InputError, InternalError, SpecError
from mvptest.spec.check import load_specs
from mvptest.spec.loader import display_path, load_document
from mvptest.spec.refs import bundle_schema
from mvptest.spec.select import select_interfaces
from mvptest.validation.aggregate import Aggregator, FileResult, ValidationSummary
from mvptest.validation.compiled import CompiledSchema
from mvptest.validation.readers import (
    BLANK,
    CHUNK,
    DEFAULT_LIMITS,
    Limits,
    NdjsonSource,
    Unparsable,
    check_json_encoding,
    deeper_than,
    line_batches,
    open_source,
    parse_line,
    too_deep,
)

PROGRESS_EVERY = 50_000


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class ReadProgress(events.Progress):
    """Bytes of a data file read so far (``done`` of ``total``, unit bytes), and the records checked in them."""

    records: int = 0


def _progress(path: Path, records: int, bytes_done: int, size: int) -> ReadProgress:
    return ReadProgress(path.name or "<stdin>", bytes_done, size, "bytes", records=records)


@dataclass(frozen=True)
class Finished:
    """The stream's last event: what was found (not handed to handlers; the session finishes with it)."""

    summary: ValidationSummary


Event = ReadProgress | events.Item | Finished


# --------------------------------------------------------------------------- what to validate against


@dataclass
class SchemaChoice:
    compiled: CompiledSchema
    name: str  # e.g. market-supervision/enterprise-registration


def choose_schema(
    *,
    spec: Path | None,
    interface: str | None,
    schema: Path | None,
    spec_root: Path | None = None,
    mask: bool = True,
) -> SchemaChoice:
    """The compiled schema that ``validate`` checks records against: an interface's response, a requirement's
    schema, or a bare JSON Schema file."""
    if (spec is None) == (schema is None):
        raise ConfigError("give exactly one of --spec or --schema", hint="mvptest validate DATA --spec SPEC")
    if interface and spec is None:
        raise ConfigError("--interface needs --spec")
    if schema is not None:
        doc = load_document(schema)
        bundled, problems = bundle_schema(doc.data, document=doc, pointer="", root=spec_root or schema.resolve().parent)
        from mvptest.errors import Problem
        from mvptest.validation.compiled import compile_error

        if not problems:
            message = compile_error(bundled)
            if message:
                problems = [Problem(doc.locate(), f"schema does not compile: {message}")]
        if problems:
            raise SpecError(problems)
        return SchemaChoice(CompiledSchema(bundled, mask=mask), display_path(schema))
    assert spec is not None  # by the check above
    specs = load_specs([spec], spec_root=spec_root)
    if specs.errors:
        raise SpecError(specs.errors)
    if specs.requirements and not specs.interfaces:
        req = specs.requirements[0]
        return SchemaChoice(
            CompiledSchema(req.schema, format_options=req.format_options, sensitive=req.sensitive, mask=mask),
            req.key,
        )
    if not specs.interfaces:
        raise InputError("holds no interface or requirement to validate against", where=display_path(spec))
    itf = select_interfaces(specs.interfaces, [interface] if interface else [], where=display_path(spec), single=True)[0]
    return SchemaChoice(
        CompiledSchema(itf.response_schema, format_options=itf.format_options, sensitive=itf.sensitive, mask=mask),
        itf.key,
    )


# --------------------------------------------------------------------------- the run


def validate_stream(
    files: Sequence[Path],
    choice: SchemaChoice,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
    max_examples: int = 3,
    jobs: int = 0,
    limits: Limits = DEFAULT_LIMITS,
) -> Generator[Event, None, None]:
    """Validate every record of every file; yields ReadProgress, Item("file", FileResult) per file and finally
    Finished(summary).

    ``jobs`` > 1 validates large NDJSON files on that many processes (0: one per core). A KeyboardInterrupt,
    raised here or thrown in at a ``yield``, ends the run with a summary of the records checked so far.
    """
    jobs = jobs or default_jobs()
    compiled = choice.compiled
    agg = Aggregator(compiled.masker, max_examples=max_examples)
    results: list[FileResult] = []
    started = time.perf_counter()
    interrupted = False
    current: tuple[str, str, str, int, int, float] | None = None
    try:
        for path in files:
            source = open_source(path, bundled=compiled.bundled, encoding=encoding, sheet=sheet, limits=limits)
            try:
                t0 = time.perf_counter()
                before_records, before_invalid = agg.records, agg.invalid
                label = source.label
                current = (label, source.kind, source.encoding or "utf-8", before_records, before_invalid, t0)
                yield _progress(path, 0, 0, source.size)
                if isinstance(source, NdjsonSource) and jobs > 1 and source.data.regular and source.size >= PARALLEL_MIN_BYTES:
                    check_json_encoding(source.data)
                    source.close()
                    yield from _ndjson_parallel(path, compiled, agg, label, source.size, jobs, max_examples, limits)
                elif isinstance(source, NdjsonSource):
                    yield from _ndjson_fast(source.open_lines(), compiled, agg, label, path, source.size, limits,
                                            position=lambda: source.position)  # noqa: B023 - read within this iteration
                else:
                    yield from _records(source, compiled, agg, label)
                current = (label, source.kind, source.encoding or "utf-8", before_records, before_invalid, t0)
            finally:
                source.close()
            current = None
            result = FileResult(
                label, source.kind, source.encoding or "utf-8", agg.records - before_records,
                agg.invalid - before_invalid, time.perf_counter() - t0,
            )
            results.append(result)
            yield events.Item("file", result)
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM: what was measured so far is still reported, marked interrupted.
        interrupted = True
        if current is not None:
            label, kind, enc, before_records, before_invalid, t0 = current
            results.append(FileResult(label, kind, enc, agg.records - before_records, agg.invalid - before_invalid,
                                      time.perf_counter() - t0))
    yield Finished(ValidationSummary(choice.name, agg, results, time.perf_counter() - started,
                                     compiled.masker.enabled, interrupted=interrupted))


def _records(source: Any, compiled: CompiledSchema, agg: Aggregator, label: str) -> Iterator[Event]:
    """Every record of a CSV, JSON or .xlsx source; only records whose check finished are counted."""
    checked = 0
    invalid_before = agg.invalid
    try:
        for line, record in source:
            where = f"{label}:{line}" if line is not None else label
            if isinstance(record, Unparsable):
                agg.add_unparsable(record.message, where, record.raw, kind=record.kind)
            elif not isinstance(record, dict):
                agg.add_unparsable("a record must be a JSON object", where, _as_json(record))
            elif not compiled.is_valid(record):
                agg.add_failures(compiled.errors(record), where)
            checked += 1
            if checked % PROGRESS_EVERY == 0:
                yield _progress(source.path, checked, source.position, source.size)
    finally:
        # An interrupt inside the aggregator can land after the record was counted invalid: count it as checked.
        agg.records += max(checked, agg.invalid - invalid_before)


def _ndjson_fast(
    batches: Iterator[list[Any]], compiled: CompiledSchema, agg: Aggregator, label: str, path: Path, size: int,
    limits: Limits, *, position: Callable[[], int], first_line: int = 1,
) -> Iterator[Event]:
    """The hot loop: orjson + a compiled yes/no per line; only failing lines pay for detailed errors.

    ``batches`` come from ``readers.line_batches`` (bounded lines). Only lines whose check finished are counted,
    even when the loop is interrupted, so a partial report stays consistent.
    """
    import orjson

    loads = orjson.loads
    decode_error = orjson.JSONDecodeError
    is_valid = compiled.is_valid
    add_failures = agg.add_failures
    errors = compiled.errors
    depth = limits.depth
    lineno = first_line - 1
    checked = 0
    invalid_before = agg.invalid
    try:
        for lines in batches:
            for line in lines:
                n = lineno + 1
                try:
                    record = loads(line)
                except decode_error:
                    value = parse_line(line, limits)  # the slow path says why
                    if value is not BLANK:
                        agg.add_unparsable(value.message, f"{label}:{n}", value.raw, kind=value.kind)
                        checked += 1
                    lineno = n
                    continue
                if line.count(b"[") + line.count(b"{") > depth and deeper_than(record, depth):
                    bad = too_deep(limits)
                    agg.add_unparsable(bad.message, f"{label}:{n}", kind=bad.kind)
                elif type(record) is not dict:
                    agg.add_unparsable("a record must be a JSON object", f"{label}:{n}", _as_json(record))
                elif not is_valid(record):
                    add_failures(errors(record), f"{label}:{n}")
                checked += 1
                lineno = n
            yield _progress(path, checked, min(position(), size) if size else position(), size)
    finally:
        agg.records += max(checked, agg.invalid - invalid_before)


def _as_json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)[:80]


# --------------------------------------------------------------------------- the same loop on several cores

PARALLEL_MIN_BYTES = 32 * 1024 * 1024


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _split(path: Path, size: int, jobs: int) -> list[tuple[int, int]]:
    """Byte ranges of about equal size, each starting at the start of a line (found without reading whole lines)."""
    bounds = [0]
    with path.open("rb") as f:
        for k in range(1, jobs):
            pos = _next_line_start(f, max(size * k // jobs, bounds[-1]), size)
            if pos >= size:
                break
            bounds.append(pos)
    bounds.append(size)
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _next_line_start(f: Any, pos: int, size: int) -> int:
    f.seek(pos)
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            return size
        i = chunk.find(b"\n")
        if i >= 0:
            return pos + i + 1
        pos += len(chunk)


def _count_lines_before(path: Path, offset: int) -> int:
    count = 0
    with path.open("rb") as f:
        while offset > 0:
            chunk = f.read(min(16 << 20, offset))
            if not chunk:
                break
            count += chunk.count(b"\n")
            offset -= len(chunk)
    return count


def _worker(index: int, path: Path, start: int, end: int, compiled: CompiledSchema, label: str,
            max_examples: int, limits: Limits, counters: Any, queue: Any) -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    agg = Aggregator(compiled.masker, max_examples=max_examples)
    try:
        first = _count_lines_before(path, start) + 1
        with path.open("rb") as f:
            f.seek(start)
            if start == 0 and f.read(3) != b"\xef\xbb\xbf":
                f.seek(0)
            remaining = [end - f.tell()]

            def read(n: int) -> bytes:
                data = f.read(min(n, remaining[0]))
                remaining[0] -= len(data)
                return data

            batches = line_batches(read, limits.record_bytes)
            for event in _ndjson_fast(batches, compiled, agg, label, path, end, limits, position=f.tell,
                                      first_line=first):
                if isinstance(event, ReadProgress):
                    counters[2 * index] = event.records
                    counters[2 * index + 1] = int(event.done) - start
        queue.put((index, agg, None))
    except KeyboardInterrupt:
        queue.put((index, agg, "interrupted"))  # what this worker counted is kept
    except BaseException as exc:  # reported to the parent, which raises it there
        queue.put((index, None, f"{type(exc).__name__}: {exc}"))


def _ndjson_parallel(path: Path, compiled: CompiledSchema, agg: Aggregator, label: str, size: int,
                     jobs: int, max_examples: int, limits: Limits) -> Iterator[Event]:
    import multiprocessing
    import queue as queue_mod

    ranges = _split(path, size, jobs)
    ctx = multiprocessing.get_context("spawn")  # no inherited threads or locks
    results = ctx.Queue()
    counters = ctx.Array("q", 2 * len(ranges), lock=False)  # per worker: records, bytes done
    procs = [
        ctx.Process(target=_worker, args=(i, path, a, b, compiled, label, max_examples, limits, counters, results), daemon=True)
        for i, (a, b) in enumerate(ranges)
    ]
    for p in procs:
        p.start()
    parts: dict[int, Aggregator] = {}
    try:
        yield from _collect(procs, results, counters, parts, path, size)
    except KeyboardInterrupt:
        # Ask every worker for what it has counted, then report that.
        for p in procs:
            if p.is_alive() and p.pid:
                os.kill(p.pid, signal.SIGINT)
        deadline = time.monotonic() + 5
        while len(parts) < len(procs) and time.monotonic() < deadline:
            try:
                index, part, _ = results.get(timeout=0.2)
            except queue_mod.Empty:
                continue
            if part is not None:
                parts[index] = part
        for part in parts.values():
            agg.merge(part)
        raise
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join(timeout=5)
    for i in range(len(procs)):
        agg.merge(parts[i])


def _collect(procs: list[Any], results: Any, counters: Any, parts: dict[int, Aggregator], path: Path,
             size: int) -> Iterator[Event]:
    import queue as queue_mod

    while len(parts) < len(procs):
        try:
            index, part, error = results.get(timeout=0.25)
        except queue_mod.Empty:
            dead = [p for i, p in enumerate(procs) if i not in parts and p.exitcode not in (None, 0)]
            if dead:
                raise InternalError(f"a validation worker died (exit {dead[0].exitcode})") from None
            values = counters[:]
            yield _progress(path, sum(values[0::2]), min(size, sum(values[1::2])), size)
            continue
        if error == "interrupted" and part is not None:
            parts[index] = part
            raise KeyboardInterrupt
        if error is not None:
            raise InternalError(f"a validation worker failed: {error}")
        parts[index] = part
