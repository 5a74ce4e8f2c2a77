"""``mvptest run``: the pilot test: load, every response validated, exact latency, a verdict against targets."""

from __future__ import annotations

from pathlib import Path

import click

from mvptest.errors import UsageError

_PATH = click.Path(path_type=Path)


def _latency_targets(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    out = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        key = key.strip().lower()
        if key not in ("p50", "p90", "p95", "p99", "p999", "max", "mean"):
            raise UsageError(f"--latency-ms: unknown percentile {key!r}", hint="write it as p95=100 or p95=100,p99=250")
        try:
            out[key] = float(value)
        except ValueError:
            raise UsageError(f"--latency-ms: {value!r} is not a number of milliseconds") from None
    return out


@click.command()
@click.argument("scenario", type=_PATH, required=False)
@click.option("--target", help="Base URL of the provider (default: the scenario's, or the built-in sandbox).")
@click.option("--duration", help="How long to load, e.g. 30s, 2m; auto: until the verdict is decided (max_duration, 10m).")
@click.option("--users", type=click.IntRange(1), help="Concurrent users (closed model).")
@click.option("--rate", type=click.FloatRange(0, min_open=True), help="Requests per second (open model) instead of users.")
@click.option("--workers", type=click.IntRange(0), help="Local Locust worker processes (0: run in this process).")
@click.option("--results-dir", type=_PATH, default=Path("results"), show_default=True, help="Where results/<run-id>/ goes.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="HOST", help="Allow load to this non-loopback host.")
@click.option("--success-rate", type=click.FloatRange(0, 1, min_open=True), help="Override the success-rate target, e.g. 0.999.")
@click.option("--latency-ms", "latency_ms", metavar="pXX=MS,...", help="Override latency targets, e.g. p95=100,p99=250.")
@click.option("--confidence", type=click.FloatRange(0.5, 1, min_open=True, max_open=True), metavar="LEVEL",
              help="Confidence of the bounds the verdict uses (default 0.95, or the scenario's targets: confidence).")
@click.option("--master", "master", is_flag=True, help="Run as a Locust master and wait for remote workers.")
@click.option("--expect-workers", type=click.IntRange(1), help="With --master: how many workers to wait for.")
@click.option("--master-bind-host", default="127.0.0.1", show_default=True, help="With --master: address workers connect to.")
@click.option("--master-port", default=5557, show_default=True, type=click.IntRange(1, 65535), help="With --master: port.")
@click.option("--spec-root", type=_PATH, help="Folder that $ref may not leave.")
@click.option("--ca-bundle", type=_PATH, metavar="FILE",
              help="PEM of a private CA to trust (besides the system's); overrides the scenario's tls: ca_bundle.")
@click.option("--client-cert", type=_PATH, metavar="FILE", help="Client certificate for mutual TLS (PEM; may hold the key too).")
@click.option("--client-key", type=_PATH, metavar="FILE", help="Private key of --client-cert (PEM, unencrypted).")
@click.option("--run-id", "run_id", metavar="ID",
              help="The run's folder name under --results-dir (default: time-scenario-random).")
@click.option("--wait-workers", "wait_workers", type=click.FloatRange(0, min_open=True), default=60, show_default=True,
              metavar="SECONDS", help="With --master or --workers: give up (exit 3) when the workers have not joined by then.")
def run(scenario: Path | None, target: str | None, duration: str | None, users: int | None, rate: float | None,
        workers: int | None, results_dir: Path, allow_hosts: tuple[str, ...], success_rate: float | None,
        latency_ms: str | None, master: bool, expect_workers: int | None, master_bind_host: str, master_port: int,
        spec_root: Path | None, run_id: str | None, wait_workers: float, ca_bundle: Path | None = None,
        client_cert: Path | None = None, client_key: Path | None = None, confidence: float | None = None) -> int:
    """Run SCENARIO: Locust load, every response validated, a verdict against the interface's targets.

    \b
    Success of a call: no transport error, the expected status, a JSON body valid against the
    interface schema. Latency: measured by the client at microsecond resolution (not Locust's
    rounded buckets). Targets come from the spec, the scenario, then --success-rate/--latency-ms.
    Each call is sent once (a reset is the failed call it was, never retried) and the scenario's
    load.timeout bounds it whole: connect, first byte and full body. A body over 16 MiB
    (MVPTEST_MAX_BODY_MB), also once decompressed, is a failed call.

    Without SCENARIO, runs the pilot: scenarios/pilot-enterprise-registration.yaml in the current
    folder, or the copy installed with mvptest (against the built-in sandbox).

    \b
    Examples:
      mvptest run
      mvptest run scenarios/pilot-enterprise-registration.yaml
      mvptest run scenarios/pilot-enterprise-registration.yaml --duration 2m --users 50 --workers 2
      mvptest run scenarios/pilot-enterprise-registration.yaml --target http://127.0.0.1:8080 --rate 200

    \b
    Verdict, at one confidence level (95 % unless --confidence): PASS when the one-sided
    Clopper-Pearson lower bound of the success rate reaches its target and the order-statistic
    upper bound of each percentile (nearest rank, over all calls, failed ones included) is within
    its threshold; FAIL when a bound shows a target missed; INCONCLUSIVE otherwise, with the
    further calls that would decide it. Open-model arrivals dropped count as failed calls; a
    generator out of CPU (which can only make a provider look worse) turns a latency miss and its
    own drops into INCONCLUSIVE.

    Writes results/<run-id>/ (summary.json, junit.xml, report.html, timeseries.csv, histograms.json)
    and points results/latest at it (a symlink; where symlinks fail, a file naming the folder), so a
    CI job reads results/latest/junit.xml without globbing; --run-id ID names the folder instead.
    Exit 0 on PASS, 1 on FAIL or INCONCLUSIVE, 2 bad input, 3 target unreachable,
    130 interrupted (partial results written).

    The results folder is created and probed before any load (exit 2 when it cannot be written).
    If it fails at the end, the record goes to a folder under the temporary directory, named on the
    console. A run that lost a worker never passes (exit 1, the reason in summary.json).
    """
    from mvptest.cli._console import environment
    from mvptest.load import engine  # first: locust monkey-patches the process on import
    from mvptest.report.run_console import RunConsole
    from mvptest.run.session import RunConfig, StopFlag, run_pilot

    _check_options(master=master, workers=workers, expect_workers=expect_workers, rate=rate, users=users)
    if scenario is None:  # the pilot: ./scenarios/ in a checkout, else the copy installed with mvptest
        from mvptest.examples import default_scenario

        scenario = default_scenario()
    config = RunConfig(scenario, target=target, duration=duration, users=users, rate=rate, workers=workers,
                       results_dir=results_dir, run_id=run_id, allow_hosts=allow_hosts, success_rate=success_rate,
                       latency_targets=_latency_targets(latency_ms), confidence=confidence, master=master,
                       expect_workers=expect_workers, master_bind_host=master_bind_host, master_port=master_port,
                       wait_workers=wait_workers, spec_root=spec_root, ca_bundle=ca_bundle, client_cert=client_cert,
                       client_key=client_key)
    env = environment()
    stop = StopFlag()
    engine.stop_on_signals(stop)  # Ctrl-C, SIGTERM: stop the load, write what was measured, exit 130
    return run_pilot(config, RunConsole(out=env.stdout, err=env.stderr), stop=stop).exit_code


def _check_options(*, master: bool, workers: int | None, expect_workers: int | None, rate: float | None,
                   users: int | None) -> None:
    if expect_workers and not master:
        raise UsageError("--expect-workers needs --master")
    if master and workers:
        raise UsageError("--workers starts local workers; --master waits for remote ones: give one of them",
                         hint="mvptest run --master --expect-workers N, then mvptest worker --master HOST:PORT on each machine")
    if rate and users:
        raise UsageError("--rate (an arrival rate, the open model) and --users (the closed model) exclude each other")
