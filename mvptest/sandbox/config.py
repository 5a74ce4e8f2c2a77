"""What a sandbox process serves and injects, as plain data: the JSON its private entry point reads."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from mvptest.errors import ConfigError

_RATES = ("error_rate", "invalid_rate", "reset_rate", "timeout_rate")


@dataclass(frozen=True)
class SandboxConfig:
    """The specs to serve (and which of their interfaces), where to listen, the seed and the faults."""

    specs: tuple[str, ...]
    interfaces: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 0
    latency_ms: str = "0"
    error_rate: float = 0.0
    invalid_rate: float = 0.0
    reset_rate: float = 0.0
    timeout_rate: float = 0.0
    hang_s: float = 300.0
    spec_root: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["specs"], data["interfaces"] = list(self.specs), list(self.interfaces)
        return data

    @classmethod
    def from_json(cls, data: Any) -> SandboxConfig:
        """From plain JSON data; ConfigError naming the setting that is wrong."""
        if not isinstance(data, dict):
            raise ConfigError("the sandbox's configuration must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown sandbox setting {unknown[0]!r}", hint="settings: " + ", ".join(sorted(known)))
        specs = data.get("specs")
        if not isinstance(specs, list) or not specs or not all(isinstance(s, str) for s in specs):
            raise ConfigError("specs: give a list of spec files or folders")
        values = {k: data[k] for k in known if k in data}
        values["specs"] = tuple(specs)
        values["interfaces"] = tuple(str(i) for i in data.get("interfaces") or ())
        _check_types(values)
        return cls(**values)

    @classmethod
    def from_args(cls, specs: Sequence[str | Path], args: Sequence[str], *, host: str, port: int) -> SandboxConfig:
        """From the ``mvptest sandbox`` options a caller of SandboxProcess writes (``--seed 7 --interface ID``)."""
        parser = argparse.ArgumentParser(prog="SandboxProcess", add_help=False, exit_on_error=False)
        parser.add_argument("--interface", dest="interfaces", action="append", default=[])
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--latency-ms", dest="latency_ms", default="0")
        for rate in _RATES:
            parser.add_argument("--" + rate.replace("_", "-"), dest=rate, type=float, default=0.0)
        parser.add_argument("--hang-s", dest="hang_s", type=float, default=300.0)
        parser.add_argument("--spec-root", dest="spec_root", default=None)
        try:
            ns, unknown = parser.parse_known_args(list(map(str, args)))
        except argparse.ArgumentError as exc:
            raise ConfigError(f"sandbox options {' '.join(map(str, args))!r}: {exc}") from None
        if unknown:
            raise ConfigError(f"sandbox options: {unknown[0]!r} is not one the sandbox process takes",
                              hint="options: " + ", ".join(a.option_strings[0] for a in parser._actions))
        values = vars(ns)
        values["interfaces"] = tuple(values["interfaces"])
        return cls(specs=tuple(map(str, specs)), host=host, port=port, **values)


def _check_types(values: dict[str, Any]) -> None:
    checks: dict[str, tuple[type, ...]] = {"host": (str,), "port": (int,), "seed": (int,), "latency_ms": (str, int, float),
                                           "hang_s": (int, float), "spec_root": (str, type(None)),
                                           **dict.fromkeys(_RATES, (int, float))}
    for key, kinds in checks.items():
        if key in values and (not isinstance(values[key], kinds) or isinstance(values[key], bool)):
            raise ConfigError(f"{key}: {values[key]!r} is not a {kinds[0].__name__}")
    if not 0 <= values.get("port", 0) <= 65535:
        raise ConfigError(f"port {values['port']}: give a number from 0 to 65535 (0 picks a free one)")
    if values.get("hang_s", 300.0) < 0.1:
        raise ConfigError(f"hang_s {values['hang_s']}: give at least 0.1 seconds")
    if "latency_ms" in values:
        values["latency_ms"] = str(values["latency_ms"])
