"""The ``sandbox`` session: build the provider app from its specs (faults, an adapter's view) and serve it until stopped.

``serve_sandbox(config, handlers)`` is the one core call of ``mvptest sandbox``. It never prints: the console
(mvptest/report/sandbox.py) says where it listens. The serving settings are the ones a sandbox process reads
(mvptest/sandbox/config.py); the command adds an adapter's view. Events: ``Note`` (listening beyond loopback),
``Item("listening", Listening)`` once the port is bound; then ``finish(SandboxResult)`` with what the server did.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvptest.errors import ExitCode, InputError, SpecError
from mvptest.events import Handler, Item, Note, Session, run_session
from mvptest.sandbox.config import SandboxConfig
from mvptest.spec.model import Interface
from mvptest.spec.select import select_interfaces


@dataclass(frozen=True)
class ServeConfig:
    """What ``mvptest sandbox`` was asked: the settings a sandbox process reads too, and an adapter's view."""

    sandbox: SandboxConfig
    adapter: Path | None = None  # serve the adapted view (the consumer's) of the interfaces it adapts


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    example: str  # a request path that gets a 200


@dataclass(frozen=True)
class Listening:
    """The sandbox is serving: where, what, and with which faults."""

    url: str
    routes: tuple[Route, ...]
    faults: dict[str, object]
    seed: int
    adapter: Path | None = None
    adapted: tuple[str, ...] = ()  # interface keys served through the adapter


@dataclass
class SandboxResult:
    """What the server did until it was stopped (GET /__mvptest/stats shows the same)."""

    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK


def serve_sandbox(config: ServeConfig, handlers: Handler) -> SandboxResult:
    """Serve until SIGINT or SIGTERM; a spec, an option or a port that does not work is raised before listening."""
    return run_session(handlers, Session("sandbox"), lambda: _serve(config, handlers))


def _serve(serve: ServeConfig, handlers: Handler) -> SandboxResult:
    from mvptest.sandbox.app import SandboxApp
    from mvptest.sandbox.faults import FaultConfig, LatencyModel
    from mvptest.sandbox.server import SandboxServer, serve_forever

    config = serve.sandbox
    chosen = _interfaces(config)
    faults = FaultConfig(latency=LatencyModel.parse(config.latency_ms), error_rate=config.error_rate,
                         invalid_rate=config.invalid_rate, reset_rate=config.reset_rate, timeout_rate=config.timeout_rate,
                         hang_s=config.hang_s)
    transforms = _transforms(serve.adapter, chosen)
    app = SandboxApp(chosen, seed=config.seed, faults=faults, transforms=transforms)
    server = SandboxServer(app, host=config.host, port=config.port)
    if not _loopback(config.host):
        handlers.handle(Note(f"listening on {config.host}, reachable from other machines", level="warning"))

    def ready(srv: SandboxServer) -> None:
        routes = tuple(Route(r.interface.method, r.interface.path, app.describe_route(r)["example"]) for r in app.routes)
        handlers.handle(Item("listening", Listening(srv.url, routes, faults.describe(), config.seed, serve.adapter,
                                                    tuple(transforms))))

    serve_forever(server, on_ready=ready)
    return SandboxResult(app.stats.to_dict())


def _interfaces(config: SandboxConfig) -> list[Interface]:
    """The interfaces of the specs that the config names (all when it names none)."""
    from mvptest.spec.check import load_specs

    loaded = load_specs([Path(p) for p in config.specs], spec_root=Path(config.spec_root) if config.spec_root else None)
    if loaded.errors:
        raise SpecError(loaded.errors)
    where = ", ".join(config.specs)
    if not loaded.interfaces:
        raise InputError("holds no interface to serve", where=where, hint="the sandbox serves kind: interface specs")
    return select_interfaces(loaded.interfaces, config.interfaces, where=where)


def _transforms(adapter_path: Path | None, chosen: list[Interface]) -> dict[str, Any]:
    """Interface key -> the adapter's apply, for the interfaces the adapter names (all when it names none)."""
    if adapter_path is None:
        return {}
    from mvptest.compat.adapter import load_adapter

    adapter = load_adapter(adapter_path)
    keys = [i.key for i in chosen if not adapter.provider or adapter.provider in (i.key, i.id)]
    if not keys:
        raise InputError(f"adapts {adapter.provider}, which these specs do not serve", where=str(adapter_path),
                         hint="interfaces: " + ", ".join(i.key for i in chosen))
    return dict.fromkeys(keys, adapter.apply)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name ("localhost"): as before, no warning
