"""``mvptest sandbox``: serve a provider interface from its spec, with synthetic data and injected faults."""

from __future__ import annotations

from pathlib import Path

import click

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
@click.option("--invalid-rate", default=0.0, type=_RATE,
              help="Share of 200 responses whose body violates the schema, as real providers drift.")
@click.option("--reset-rate", default=0.0, type=_RATE, help="Share of requests whose connection is reset.")
@click.option("--timeout-rate", default=0.0, type=_RATE, help="Share of requests never answered (the client times out).")
@click.option("--hang-s", default=300.0, show_default=True, type=click.FloatRange(0.1),
              help="How long an unanswered request is held.")
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
    from mvptest.cli._console import environment
    from mvptest.report.sandbox import SandboxConsole
    from mvptest.sandbox.config import SandboxConfig
    from mvptest.sandbox.session import ServeConfig, serve_sandbox

    settings = SandboxConfig(tuple(map(str, specs)), interfaces, host=host, port=port, seed=seed, latency_ms=latency_ms,
                             error_rate=error_rate, invalid_rate=invalid_rate, reset_rate=reset_rate,
                             timeout_rate=timeout_rate, hang_s=hang_s, spec_root=str(spec_root) if spec_root else None)
    env = environment()
    return serve_sandbox(ServeConfig(settings, adapter), SandboxConsole(env.stdout, env.stderr)).exit_code
