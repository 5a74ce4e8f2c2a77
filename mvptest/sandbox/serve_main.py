"""``python -m mvptest.sandbox.serve_main CONFIG``: the sandbox as a child process of a run (private, no CLI).

CONFIG is a JSON object (mvptest.sandbox.config.SandboxConfig) in the first argument or on standard input.
Standard output carries one JSON line: {"ready": true, "url": "http://127.0.0.1:PORT", "pid": N} once it listens,
or {"error": ..., "hint": ..., "exit_code": 2}. It serves until SIGINT or SIGTERM and then says on standard error
what it served; GET /__mvptest/stats answers the same as data.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mvptest import handshake
from mvptest.errors import InputError, SpecError
from mvptest.sandbox.config import SandboxConfig

if TYPE_CHECKING:
    from mvptest.sandbox.app import SandboxApp


def build_app(config: SandboxConfig) -> SandboxApp:
    """The app the configuration asks for: its specs' interfaces (or the ones named), with the faults."""
    from mvptest.sandbox.app import SandboxApp
    from mvptest.sandbox.faults import FaultConfig, LatencyModel
    from mvptest.spec.check import load_specs

    loaded = load_specs([Path(p) for p in config.specs], spec_root=Path(config.spec_root) if config.spec_root else None)
    if loaded.errors:
        raise SpecError(loaded.errors)
    where = ", ".join(config.specs)
    chosen = loaded.interfaces
    if config.interfaces:
        chosen = [i for i in loaded.interfaces if i.id in config.interfaces or i.key in config.interfaces]
        missing = set(config.interfaces) - {i.id for i in chosen} - {i.key for i in chosen}
        if missing:
            raise InputError(f"has no interface {sorted(missing)[0]!r}", where=where,
                             hint="interfaces: " + ", ".join(i.key for i in loaded.interfaces))
    if not chosen:
        raise InputError("holds no interface to serve", where=where, hint="the sandbox serves kind: interface specs")
    faults = FaultConfig(latency=LatencyModel.parse(config.latency_ms), error_rate=config.error_rate,
                         invalid_rate=config.invalid_rate, reset_rate=config.reset_rate,
                         timeout_rate=config.timeout_rate, hang_s=config.hang_s)
    return SandboxApp(chosen, seed=config.seed, faults=faults)


def main(argv: list[str]) -> int:
    from mvptest.sandbox.server import SandboxServer, serve_forever

    config = SandboxConfig.from_json(handshake.read_config(argv))
    app = build_app(config)
    server = SandboxServer(app, host=config.host, port=config.port)

    def ready(srv: SandboxServer) -> None:
        handshake.answer(ready=True, url=srv.url, pid=os.getpid())

    serve_forever(server, on_ready=ready)
    stats: dict[str, Any] = app.stats.to_dict()
    sys.stderr.write(f"stopped after {stats['requests']:,} requests: {stats['outcomes']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(handshake.serve(main))
