"""``mvptest worker``: a load worker for a distributed run; it receives the plan from the master."""

from __future__ import annotations

from pathlib import Path

import click

from mvptest.errors import UsageError
from mvptest.events import BaseHandler, Event, Note

_PATH = click.Path(path_type=Path)


@click.command()
@click.option("--master", "master", required=True, metavar="HOST[:PORT]", help="The master's address (port 5557 by default).")
@click.option("--wait-master", "wait_master", type=click.FloatRange(0, min_open=True), default=60, show_default=True,
              metavar="SECONDS", help="Give up (exit 3) when no master answers with the plan within this time.")
@click.option("--ca-bundle", type=_PATH, metavar="FILE", help="PEM of a private CA to trust; overrides the master's.")
@click.option("--client-cert", type=_PATH, metavar="FILE", help="This machine's client certificate for mutual TLS (PEM).")
@click.option("--client-key", type=_PATH, metavar="FILE", help="Private key of --client-cert (PEM, unencrypted).")
def worker(master: str, wait_master: float, ca_bundle: Path | None = None, client_cert: Path | None = None,
           client_key: Path | None = None) -> int:
    """Run Locust users for a master started with `mvptest run --master` (or --workers N).

    \b
    The worker needs no spec or scenario: the master sends the plan, and the worker sends back
    its measurements (exact latency histograms, failure samples) every few seconds.

    \b
    Example:
      mvptest run scenarios/pilot-enterprise-registration.yaml --master --expect-workers 2 --master-bind-host 0.0.0.0
      mvptest worker --master 10.0.0.5:5557        # on each load machine
    """
    from mvptest.load.worker import WorkerConfig, run_worker
    from mvptest.load.worker_main import exit_interrupted  # first: locust monkey-patches the process on import

    host, _, port = master.rpartition(":") if ":" in master else (master, "", "5557")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f"--master {master!r}: the port must be a number from 1 to 65535")
    config = WorkerConfig(host or "127.0.0.1", int(port), wait_master, ca_bundle, client_cert, client_key)
    return run_worker(config, _Notes(), before_joined=exit_interrupted).exit_code


class _Notes(BaseHandler):
    """What a person at the worker should know, on standard error."""

    def handle(self, event: Event) -> None:
        if isinstance(event, Note):
            click.echo(f"mvptest worker: {event.text}", err=True)
