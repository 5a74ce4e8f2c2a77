"""Interface specs, requirement specs and scenarios as typed objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvptest.errors import Location
from mvptest.spec.refs import BundledSchema

DEFAULT_SUCCESS_RATE = 0.999
DEFAULT_LATENCY_MS = {"p95": 100.0}


@dataclass(frozen=True)
class Department:
    id: str
    name: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.id})" if self.name else self.id


@dataclass(frozen=True)
class Targets:
    success_rate: float = DEFAULT_SUCCESS_RATE
    latency_ms: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_LATENCY_MS))

    @classmethod
    def merged(cls, *layers: dict[str, Any] | None) -> Targets:
        """Later layers override earlier ones; latency percentiles override one by one."""
        rate = DEFAULT_SUCCESS_RATE
        latency: dict[str, float] = {}
        explicit_latency = False
        for layer in layers:
            if not layer:
                continue
            if "success_rate" in layer:
                rate = float(layer["success_rate"])
            if layer.get("latency_ms"):
                if not explicit_latency:
                    latency = {}
                explicit_latency = True
                latency.update({k: float(v) for k, v in layer["latency_ms"].items()})
        return cls(rate, latency if explicit_latency else dict(DEFAULT_LATENCY_MS))


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | header
    schema: BundledSchema | None
    required: bool


@dataclass
class Interface:
    """One provider interface: request shape, response schema, sensitive fields, targets."""

    department: Department
    id: str
    title: str
    version: str
    method: str
    path: str
    parameters: list[Parameter]
    response_status: int
    response_schema: BundledSchema
    request_schema: BundledSchema | None
    sensitive: tuple[str, ...]
    targets: Targets
    format_options: dict[str, dict[str, str]]
    source: Location

    @property
    def key(self) -> str:
        return f"{self.department.id}/{self.id}"


@dataclass
class Requirement:
    """What one consuming department needs from a provider interface, in its own formats."""

    department: Department
    id: str
    title: str
    consumes: str
    usage: dict[str, Any]
    schema: BundledSchema
    sensitive: tuple[str, ...]
    format_options: dict[str, dict[str, str]]
    targets: dict[str, Any] | None
    source: Location
    consumes_at: Location

    @property
    def key(self) -> str:
        return f"{self.department.id}/{self.id}"


@dataclass
class Scenario:
    """What to run: specs, target, load; the run issue gives these keys their behaviour."""

    name: str
    path: Path
    data: dict[str, Any]
    spec_paths: list[Path]
    source: Location
    document: Any = None  # the parsed file, to locate problems found later


@dataclass
class SpecSet:
    """Everything loaded from a set of paths, with every problem found on the way."""

    interfaces: list[Interface] = field(default_factory=list)
    requirements: list[Requirement] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    problems: list = field(default_factory=list)  # list[Problem]

    @property
    def errors(self) -> list:
        return [p for p in self.problems if p.severity == "error"]

    def interface(self, key: str) -> Interface | None:
        for itf in self.interfaces:
            if key in (itf.key, itf.id):
                return itf
        return None
