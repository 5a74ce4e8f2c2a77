"""Per-field aggregation of validation errors: counts by JSON Pointer and kind, a few masked examples each."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mvptest.errors import ExitCode
from mvptest.i18n import _
from mvptest.masking import Masker
from mvptest.validation.compiled import FieldError

SCHEMA_VERSION = 1
MAX_FIELDS = 10_000  # distinct (field, kind) pairs kept; beyond, errors still count in the totals


def _bump(counter: Counter, key: str, limit: int = 64) -> None:
    """Count ``key``, keeping at most ``limit`` distinct keys (values vary; memory must not)."""
    if key in counter or len(counter) < limit:
        counter[key] += 1


@dataclass
class Issue:
    field: str
    kind: str
    expected: str
    severity: str
    message: str
    count: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)
    locations: list[str] = dataclasses.field(default_factory=list)
    suggestions: Counter = dataclasses.field(default_factory=Counter)
    codes: Counter = dataclasses.field(default_factory=Counter)
    messages: Counter = dataclasses.field(default_factory=Counter)
    # what each suggestion explains: its own examples (one suggestion per cause, never shown with a value it
    # does not explain)
    suggestion_examples: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def suggestion_list(self) -> list[dict[str, Any]]:
        """Each suggestion with the count of failures it explains and examples of those failures only."""
        return [{"suggestion": text, "count": n, "examples": self.suggestion_examples.get(text, [])}
                for text, n in self.suggestions.most_common()]

    def suggestion_text(self) -> str:
        """One line: the suggestion alone when it explains every failure, else each with its count and examples."""
        parts = []
        for s in self.suggestion_list():
            if s["count"] == self.count:
                return str(s["suggestion"])
            shown = ", ".join(s["examples"])
            parts.append(_("{suggestion} ({count} of {total}, e.g. {examples})").format(
                suggestion=s["suggestion"], count=s["count"], total=self.count, examples=shown) if shown else
                _("{suggestion} ({count} of {total})").format(suggestion=s["suggestion"], count=s["count"],
                                                              total=self.count))
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "field": self.field,
            "kind": self.kind,
            "expected": self.expected,
            "severity": self.severity,
            "count": self.count,
            "examples": self.examples,
            "locations": self.locations,
            "message": self.messages.most_common(1)[0][0] if self.messages else self.message,
        }
        if self.codes:
            out["codes"] = dict(self.codes.most_common())
        if self.suggestions:
            out["suggestion"] = self.suggestion_text()
            out["suggestions"] = self.suggestion_list()
        return out


class Aggregator:
    """Collects what a validation run found; mergeable so that parallel readers can be summed."""

    def __init__(self, masker: Masker, *, max_examples: int = 3) -> None:
        self.masker = masker
        self.max_examples = max_examples
        self.records = 0
        self.invalid = 0
        self.with_warnings = 0
        self.dropped = 0
        self._issues: dict[tuple[str, str, str, str, str], Issue] = {}

    @property
    def valid(self) -> int:
        return self.records - self.invalid

    def add_failures(self, errors: Iterable[FieldError], location: str) -> bool:
        """Record the problems of one record that failed the fast check. True when the record is invalid."""
        invalid = warned = False
        for err in errors:
            if err.severity == "ignore":
                continue
            if err.severity == "error":
                invalid = True
            else:
                warned = True
            self._add(err, location)
        if invalid:
            self.invalid += 1
        elif warned:
            self.with_warnings += 1
        return invalid

    def add_unparsable(self, message: str, location: str, raw: str = "", *, kind: str = "parse") -> None:
        """A line or row that is not a record (kind parse), too large (size) or too deep (depth); ``raw`` is its
        text as evidence (masked like any value)."""
        self.invalid += 1
        self._add(FieldError("", kind, _UNPARSABLE_EXPECTED.get(kind, "a JSON object"), message, raw or None), location)

    def _add(self, err: FieldError, location: str) -> None:
        message = err.message
        # Format failures of one field share a message only when they fail the same way.
        key = (err.field, err.kind, err.expected, err.severity, err.code)
        issue = self._issues.get(key)
        if issue is None:
            if len(self._issues) >= MAX_FIELDS:
                self.dropped += 1
                return
            issue = self._issues[key] = Issue(err.field, err.kind, err.expected, err.severity, message)
        issue.count += 1
        if err.code:
            _bump(issue.codes, err.code)
        known = err.value is not None
        if err.suggestion:
            _bump(issue.suggestions, err.suggestion)
            explained = issue.suggestion_examples.setdefault(err.suggestion, []) if err.suggestion in issue.suggestions else []
            if known and len(explained) < self.max_examples and err.suggestion in issue.suggestions:
                _add_example(explained, self.masker.show(err.field, err.value), self.max_examples)
        _bump(issue.messages, message)
        if len(issue.examples) < self.max_examples and known:
            shown = self.masker.show(err.field, err.value)
            if shown not in issue.examples:
                issue.examples.append(shown)
                issue.locations.append(location)
        elif err.value is None and not issue.examples and len(issue.locations) < self.max_examples:
            issue.locations.append(location)  # nothing to show (a missing field): say where

    def merge(self, other: Aggregator) -> None:
        self.records += other.records
        self.invalid += other.invalid
        self.with_warnings += other.with_warnings
        self.dropped += other.dropped
        for key, theirs in other._issues.items():
            mine = self._issues.get(key)
            if mine is None:
                self._issues[key] = theirs
                continue
            mine.count += theirs.count
            mine.codes.update(theirs.codes)
            mine.suggestions.update(theirs.suggestions)
            mine.messages.update(theirs.messages)
            for text, examples in theirs.suggestion_examples.items():
                for ex in examples:
                    _add_example(mine.suggestion_examples.setdefault(text, []), ex, self.max_examples)
            if not theirs.examples and not mine.examples:
                mine.locations.extend(theirs.locations[: self.max_examples - len(mine.locations)])
            for ex, loc in zip(theirs.examples, theirs.locations):
                if len(mine.examples) < self.max_examples and ex not in mine.examples:
                    mine.examples.append(ex)
                    mine.locations.append(loc)

    def issues(self) -> list[Issue]:
        order = {"error": 0, "warning": 1}
        return sorted(self._issues.values(), key=lambda i: (order.get(i.severity, 2), -i.count, i.field, i.kind))

    def fields(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for issue in self.issues():
            entry = out.setdefault(issue.field, {"errors": 0, "warnings": 0, "kinds": {}})
            entry["errors" if issue.severity == "error" else "warnings"] += issue.count
            entry["kinds"][issue.kind] = entry["kinds"].get(issue.kind, 0) + issue.count
        return out


def _add_example(examples: list[str], shown: str, limit: int) -> None:
    if len(examples) < limit and shown not in examples:
        examples.append(shown)


_UNPARSABLE_EXPECTED = {"parse": "a JSON object", "size": "a record within the size limit",
                        "depth": "a record within the nesting limit"}


@dataclass
class FileResult:
    path: str
    kind: str
    encoding: str
    records: int
    invalid: int
    seconds: float


@dataclass
class ValidationSummary:
    """What ``validate`` found, in the shape of CONTRACTS.md's ``validate --json-out``."""

    schema_name: str
    aggregator: Aggregator
    files: list[FileResult]
    seconds: float
    masked: bool
    interrupted: bool = False

    @property
    def empty_files(self) -> list[str]:
        """Files in which no record was found: a gate must not pass on an empty export."""
        return [] if self.interrupted else [f.path for f in self.files if f.records == 0]

    @property
    def ok(self) -> bool:
        return self.aggregator.invalid == 0 and not self.interrupted and not self.empty_files

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        return ExitCode.OK if self.ok else ExitCode.CHECK_FAILED

    def to_dict(self) -> dict[str, Any]:
        agg = self.aggregator
        return {
            "schema_version": SCHEMA_VERSION,
            "schema": self.schema_name,
            "interrupted": self.interrupted,
            "ok": self.ok,
            "empty_files": self.empty_files,
            "records": agg.records,
            "valid": agg.valid,
            "invalid": agg.invalid,
            "with_warnings": agg.with_warnings,
            "masked": self.masked,
            "seconds": round(self.seconds, 3),
            "records_per_second": round(agg.records / self.seconds) if self.seconds > 0 else None,
            "files": [
                {"path": f.path, "kind": f.kind, "encoding": f.encoding, "records": f.records, "invalid": f.invalid}
                for f in self.files
            ],
            "fields": agg.fields(),
            "issues": [i.to_dict() for i in agg.issues()],
        }
