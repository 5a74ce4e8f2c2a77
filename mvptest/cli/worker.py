"""``mvptest worker``: a load worker for a distributed run; it receives the plan from the master."""

from __future__ import annotations

import click

from mvptest.errors import UsageError


@click.command()
@click.option("--master", "master", required=True, metavar="HOST[:PORT]", help="The master's address (port 5557 by default).")
def worker(master: str) -> int:
    """Run Locust users for a master started with `mvptest run --master` (or --workers N).

    \b
    The worker needs no spec or scenario: the master sends the plan, and the worker sends back
    its measurements (exact latency histograms, failure samples) every few seconds.

    \b
    Example:
      mvptest run scenarios/pilot-enterprise-registration.yaml --master --expect-workers 2 --master-bind-host 0.0.0.0
      mvptest worker --master 10.0.0.5:5557        # on each load machine
    """
    from mvptest.load import engine  # first: locust monkey-patches the process on import

    host, _, port = master.rpartition(":") if ":" in master else (master, "", "5557")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f"--master {master!r}: the port must be a number from 1 to 65535")
    click.echo(f"mvptest worker: joining the master at {host or '127.0.0.1'}:{port}; it sends the plan when the run "
               "starts (Ctrl-C to stop)", err=True)
    return engine.run_worker(host or "127.0.0.1", int(port),
                             on_notice=lambda text: click.echo(f"mvptest worker: {text}", err=True))
