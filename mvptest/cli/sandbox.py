"""``mvptest sandbox``: serve a provider interface from its spec, with synthetic data and injected faults."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from mvptest.errors import ExitCode, InputError, SpecError

_PATH = click.Path(path_type=Path)
_RATE = click.FloatRange(0, 1)


@click.command()
@click.argument("specs", nargs=-1, required=True, type=_PATH)
@click.option("--interface", "interfaces", multiple=True, metavar="ID", help="Serve only these interfaces (repeatable).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port; 0 picks a free one.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the data and of the fault draws.")
@click.option("--latency-ms", default="0", show_default=True, metavar="SPEC",
              help="Injected latency: 20, uniform:10,50, normal:50,10, lognormal:20,0.5, p50=20,p99=80; add +1%@150 for spikes.")
@click.option("--error-rate", default=0.0, type=_RATE, help="Share of requests answered 500.")
@click.option("--invalid-rate", default=0.0, type=_RATE, help="Share of 200 responses whose body violates the schema, as real providers drift.")
@click.option("--reset-rate", default=0.0, type=_RATE, help="Share of requests whose connection is reset.")
@click.option("--timeout-rate", default=0.0, type=_RATE, help="Share of requests never answered (the client times out).")
@click.option("--hang-s", default=300.0, show_default=True, type=click.FloatRange(0.1), help="How long an unanswered request is held.")
@click.option("--adapter", type=_PATH, metavar="FILE",
              help="Serve the adapted view of the adapter's provider interface (mvptest compat --suggest-adapter writes one).")
@click.option("--spec-root", type=_PATH, help="Folder that $ref may not leave (default: the spec's folder).")
def sandbox(specs: tuple[Path, ...], interfaces: tuple[str, ...], host: str, port: int, seed: int, latency_ms: str,
            error_rate: float, invalid_rate: float, reset_rate: float, timeout_rate: float, hang_s: float,
            adapter: Path | None, spec_root: Path | None) -> int:
    """Serve every interface of the SPECS (files or folders) with synthetic data valid by construction.

    \b
    The same path parameter always returns the same record, which echoes it
    (GET /api/v1/enterprises/{uscc} returns that enterprise); a parameter that breaks
    its schema gets 400 naming it; unknown paths get 404. Faults are injected on request,
    drawn from --seed. GET /__mvptest/stats reports what the server did (outcomes and
    injected delays), /__mvptest/routes lists the interfaces with example requests.

    \b
    Examples:
      mvptest sandbox specs/market-supervision/enterprise-registration.yaml
      mvptest sandbox specs/market-supervision/enterprise-registration.yaml --port 0 \\
          --latency-ms p50=20,p99=80 --error-rate 0.001 --invalid-rate 0.01
      mvptest sandbox specs/market-supervision/enterprise-registration.yaml --adapter tax-adapter.yaml

    Runs until Ctrl-C. Exit 2 when the spec is invalid or the port is in use.
    """
    from mvptest.cli._console import consoles
    from mvptest.sandbox.app import SandboxApp
    from mvptest.sandbox.faults import FaultConfig, LatencyModel
    from mvptest.sandbox.server import SandboxServer, serve_forever
    from mvptest.spec.check import load_specs

    out, err = consoles()
    loaded = load_specs(list(specs), spec_root=spec_root)
    if loaded.errors:
        raise SpecError(loaded.errors)
    chosen = loaded.interfaces
    where = str(specs[0]) if len(specs) == 1 else ", ".join(map(str, specs))
    if interfaces:
        chosen = [i for i in loaded.interfaces if i.id in interfaces or i.key in interfaces]
        missing = set(interfaces) - {i.id for i in chosen} - {i.key for i in chosen}
        if missing:
            raise InputError(f"has no interface {sorted(missing)[0]!r}", where=where,
                             hint="interfaces: " + ", ".join(i.key for i in loaded.interfaces))
    if not chosen:
        raise InputError("holds no interface to serve", where=where, hint="the sandbox serves kind: interface specs")
    faults = FaultConfig(latency=LatencyModel.parse(latency_ms), error_rate=error_rate, invalid_rate=invalid_rate,
                         reset_rate=reset_rate, timeout_rate=timeout_rate, hang_s=hang_s)
    transforms = {}
    if adapter is not None:
        from mvptest.compat.adapter import load_adapter

        loaded_adapter = load_adapter(adapter)
        keys = [i.key for i in chosen if not loaded_adapter.provider or loaded_adapter.provider in (i.key, i.id)]
        if not keys:
            raise InputError(f"adapts {loaded_adapter.provider}, which these specs do not serve", where=str(adapter),
                             hint="interfaces: " + ", ".join(i.key for i in chosen))
        transforms = {k: loaded_adapter.apply for k in keys}
    app = SandboxApp(chosen, seed=seed, faults=faults, transforms=transforms)
    server = SandboxServer(app, host=host, port=port)
    try:
        if not ipaddress.ip_address(host).is_loopback:
            err.print(f"[yellow]warning:[/] listening on {host}, reachable from other machines")
    except ValueError:
        pass

    def ready(srv: SandboxServer) -> None:
        print(f"listening on {srv.url}", flush=True)
        for route in app.routes:
            example = app.describe_route(route)["example"]
            err.print(f"  {route.interface.method:6} {route.interface.path}   e.g. {srv.url}{example}")
        err.print(f"  stats: {srv.url}/__mvptest/stats   faults: {faults.describe()}   seed: {seed}")
        if transforms:
            err.print(f"  adapted by {adapter} ({', '.join(transforms)}): the consumer's view, not the provider's schema")
        err.print("Ctrl-C to stop")

    serve_forever(server, on_ready=ready)
    stats = app.stats.to_dict()
    err.print(f"stopped after {stats['requests']:,} requests: {stats['outcomes']}")
    return ExitCode.OK
