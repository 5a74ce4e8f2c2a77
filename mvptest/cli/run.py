"""``mvptest run``: the pilot test: load, every response validated, exact latency, a verdict against targets."""

from __future__ import annotations

import time
from pathlib import Path

import click

from mvptest.errors import ExitCode, MvptestError, UsageError
from mvptest.masking import public_url

_PATH = click.Path(path_type=Path)


def _checked_run_id(run_id: str) -> str:
    if not run_id or run_id in (".", "..") or any(c in run_id for c in "/\\\0") or run_id != run_id.strip():
        raise UsageError(f"--run-id {run_id!r}: give a plain folder name (no slash, not . or ..)",
                         hint="e.g. --run-id pilot-2024-06-01")
    return run_id


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
@click.option("--ca-bundle", type=_PATH, metavar="FILE", help="PEM of a private CA to trust (besides the system's); overrides the scenario's tls: ca_bundle.")
@click.option("--client-cert", type=_PATH, metavar="FILE", help="Client certificate for mutual TLS (PEM; may hold the key too).")
@click.option("--client-key", type=_PATH, metavar="FILE", help="Private key of --client-cert (PEM, unencrypted).")
@click.option("--run-id", "run_id", metavar="ID", help="The run's folder name under --results-dir (default: time-scenario-random).")
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

    Writes results/<run-id>/ (summary.json, junit.xml, report.html, timeseries.csv, histograms.json).
    Exit 0 on PASS, 1 on FAIL or INCONCLUSIVE, 2 bad input, 3 target unreachable,
    130 interrupted (partial results written).

    The results folder is created and probed before any load (exit 2 when it cannot be written).
    If it fails at the end, the record goes to a folder under the temporary directory, named on the
    console. A run that lost a worker never passes (exit 1, the reason in summary.json).
    """
    from mvptest.load import engine  # first: locust monkey-patches the process on import

    if scenario is None:  # the pilot: ./scenarios/ in a checkout, else the copy installed with mvptest
        from mvptest.examples import default_scenario

        scenario = default_scenario()

    from rich.markup import escape

    from mvptest.cli._console import consoles
    from mvptest.report.run_console import RunConsole
    from mvptest.run.summary import build_summary, histograms, timeseries_rows
    from mvptest.run.folder import discard_if_empty, prepare_run_dir, write_run_or_fallback
    from mvptest.run.plan import build_plan, new_run_id
    from mvptest.sandbox.server import SandboxProcess

    if expect_workers and not master:
        raise UsageError("--expect-workers needs --master")
    if master and workers:
        raise UsageError("--workers starts local workers; --master waits for remote ones: give one of them",
                         hint="mvptest run --master --expect-workers N, then mvptest worker --master HOST:PORT on each machine")
    if rate and users:
        raise UsageError("--rate (an arrival rate, the open model) and --users (the closed model) exclude each other")
    plan = build_plan(scenario, target=target, duration=duration, users=users, rate=rate, workers=workers,
                      allow_hosts=allow_hosts, success_rate=success_rate, latency_targets=_latency_targets(latency_ms),
                      spec_root=spec_root, ca_bundle=ca_bundle, client_cert=client_cert, client_key=client_key,
                      load_processes=(expect_workers or 1) if master else None, confidence=confidence)
    run_id = _checked_run_id(run_id) if run_id is not None else new_run_id(plan.name)
    run_dir = results_dir / run_id
    created = prepare_run_dir(run_dir)  # before the sandbox and any load: exit 2, nothing sent
    out, err = consoles()
    for note in plan.notes:
        err.print(f"[cyan]note:[/] {escape(note)}")
    for warning in plan.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    reporter = RunConsole(err, out)
    sandbox = None
    sandbox_stats = None
    outcome = None
    base_url = public_url(plan.target) if not plan.uses_sandbox else "sandbox"
    started = time.time()
    try:
        if plan.uses_sandbox:
            sb = plan.sandbox
            args = ["--seed", str(sb.seed), "--latency-ms", sb.latency_ms, "--error-rate", str(sb.error_rate),
                    "--invalid-rate", str(sb.invalid_rate), "--reset-rate", str(sb.reset_rate),
                    "--timeout-rate", str(sb.timeout_rate), "--hang-s", str(max(plan.timeout_s * 3, 30))]
            for ip in plan.interfaces:
                args += ["--interface", ip.interface.key]
            sandbox = SandboxProcess([Path(p) for p in plan.spec_paths], args=args)
            base_url = sandbox.start()
        else:
            base_url = plan.target.rstrip("/")
        if master:
            events = engine.run_master(plan, base_url, workers=expect_workers or plan.workers or 1,
                                       bind_host=master_bind_host, bind_port=master_port, spawn_local=False,
                                       wait_s=wait_workers)
        elif plan.workers:
            events = engine.run_master(plan, base_url, workers=plan.workers, wait_s=wait_workers)
        else:
            events = engine.run_local(plan, base_url)
        for event in events:
            reporter.handle(event)
            if isinstance(event, engine.RunFinished):
                outcome = event.outcome
        assert outcome is not None
        if sandbox is not None:
            sandbox_stats = sandbox.stats()
    except KeyboardInterrupt:
        if outcome is not None:
            raise
        # Interrupted before the load began (while the sandbox or the workers started): nothing was measured, and
        # the run folder still says so, as CI expects of every interrupted run.
        from mvptest.run.recorder import Recorder

        outcome = engine.RunOutcome(Recorder(), started, time.time(), True, base_url, 0, False)
    except BaseException:
        discard_if_empty(created)  # nothing was measured (unreachable, bad input, a bug): no empty run folder left
        raise
    finally:
        reporter.stop()
        if sandbox is not None:
            sandbox.stop()
    rec = outcome.recorder
    summary = build_summary(run_id=run_id, plan=plan, recorder=rec, started_at=outcome.started_at,
                            finished_at=outcome.finished_at, interrupted=outcome.interrupted, target_url=public_url(base_url),
                            workers=outcome.workers, cpu_saturated=outcome.cpu_saturated,
                            workers_lost=outcome.workers_lost, locust_percentiles=outcome.locust_percentiles,
                            locust_requests=outcome.locust_requests, generator_cpu_s=outcome.generator_cpu_s,
                            generator=outcome.generator_record(), stalls=outcome.stalls)
    if sandbox is not None and sandbox_stats:
        summary["sandbox_stats"] = sandbox_stats  # the server's own count, to hold the client's against
    try:
        written, problem = write_run_or_fallback(run_dir, summary, timeseries_rows(rec, outcome.started_at), histograms(rec))
    except MvptestError:
        reporter.final(summary, "(not written)")
        raise
    if problem is not None:
        err.print(f"[yellow]warning:[/] could not write {escape(str(run_dir))} at the end ({escape(problem)}); "
                  f"the run's record is in {escape(str(written))} instead", soft_wrap=True)
    reporter.final(summary, written)
    if outcome.interrupted:
        return ExitCode.INTERRUPTED
    return ExitCode.OK if summary["verdict"] == "pass" else ExitCode.CHECK_FAILED
