"""Run the plan with Locust, locally or as a master with workers, and yield the run's events. The engine never prints.

The Locust adapter only: it starts Locust, feeds the recorder and hands back a RunOutcome (mvptest.run.outcome);
the summary and the verdict are built by the run's session (mvptest.run.session). The worker side is in
mvptest.load.worker; local workers start through the private entry point mvptest.load.worker_main.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import gevent
from locust.env import Environment
from locust.event import Events
from locust.runners import STATE_MISSING, STATE_STOPPED

from mvptest import handshake
from mvptest.errors import MvptestError, TargetUnreachable
from mvptest.events import Event, Note
from mvptest.load.common import FINAL_KEY, PLAN_MESSAGE, PLAN_REQUEST, Stop, listen, quiet_interrupts, stop_on_signals, watch_loop
from mvptest.load.users import CONFIG, ArrivalUser, PilotUser, configure
from mvptest.masking import public_url
from mvptest.run.outcome import (
    LOST_REASON,
    LoadFinished,
    LoadProgress,
    LoadStarted,
    RunOutcome,
    cpu_table,
    load_progress,
    load_started,
)
from mvptest.run.plan import RunPlan
from mvptest.run.recorder import CpuClock, Recorder
from mvptest.run.stalls import stalls_of

__all__ = ["LoadFinished", "LoadProgress", "LoadStarted", "RunFinished", "RunOutcome", "Stop", "preflight",
           "run_local", "run_master", "stop_on_signals"]

RunFinished = LoadFinished  # the former name, kept for tests/load_probe.py and one release
STARTUP_GRACE_S = 3.0  # a target that answered nothing but transport errors for this long is unreachable
# Open model: each arrival user ends its schedule at its own deadline (its start + the duration), which comes a
# little after the runner's (the spawn message travels, the user greenlet starts). The stop waits this long past
# the runner's deadline so that it never cuts a schedule short; it costs no arrival, only this much wall time.
ARRIVAL_GRACE_S = 1.0
Decide = Callable[[Recorder], "str | None"]  # duration: auto: the verdict decided so far, or None


def preflight(base_url: str, timeout: float = 3.0, *, tls: Any = None) -> None:
    """Fail fast (exit 3) when nothing answers at the target: refused, unknown host, TLS failure (named as such)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except socket.gaierror:
        raise TargetUnreachable(f"cannot resolve the target host {host!r}", where=public_url(base_url),
                                hint="check the host name, or run against the built-in sandbox") from None
    except ConnectionRefusedError:
        raise TargetUnreachable(f"connection refused at {host}:{port}", where=public_url(base_url),
                                hint="is the provider running? mvptest run without --target uses the sandbox") from None
    except TimeoutError:
        raise TargetUnreachable(f"no answer from {host}:{port} within {timeout:g} s", where=public_url(base_url)) from None
    except OSError as exc:
        raise TargetUnreachable(f"cannot connect to {host}:{port}: {exc.strerror or exc}", where=public_url(base_url)) from None
    try:
        if parts.scheme == "https":
            import gevent.ssl

            from mvptest.net import tls as tls_

            tls_.handshake(sock, host, tls, where=public_url(base_url), create=gevent.ssl.create_default_context)
    finally:
        sock.close()


def _outcome(recorder: Recorder, started: float, ended: float, interrupted: bool, base_url: str, workers: int,
             locust_warned: bool, lost: list[str], env: Environment) -> RunOutcome:
    recorder.load_ended = recorder.load_ended or ended
    return RunOutcome(recorder, started, ended, interrupted, base_url, workers,
                      recorder.cpu_saturated or locust_warned or bool(recorder.cpu_warnings), lost,
                      _locust_percentiles(env), env.stats.total.num_requests, generator_cpu_s=recorder.generator_cpu_s,
                      generator_cpu=cpu_table(recorder), stalls=stalls_of(recorder, started, ended))


def _user_plan(plan: RunPlan, workers: int) -> tuple[type, int, float]:
    if plan.rate:
        n = max(1, workers)
        return ArrivalUser, n, float(n)
    return PilotUser, plan.users, plan.spawn_rate


def _locust_percentiles(env: Environment) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for (name, _method), entry in env.stats.entries.items():
        out[name] = {f"p{int(q * 100) if q < 0.999 else 999}": entry.get_response_time_percentile(q)
                     for q in (0.5, 0.9, 0.95, 0.99, 0.999)}
    return out


def _run_loop(env: Environment, plan: RunPlan, recorder: Recorder, stop: Stop, started: float, *,
              decide: Decide | None, lost: list[str] | None = None) -> Iterator[Event]:
    deadline = started + plan.duration_s
    runner = env.runner
    assert runner is not None
    reported_missing: set[str] = set()
    seq = plan.sequential
    next_look = started + seq["check_every_s"] if seq else float("inf")
    while not stop.requested:
        now = time.time()
        if now >= deadline:
            break
        gevent.sleep(min(1.0, deadline - now))
        if runner.state == STATE_STOPPED:
            break
        elapsed = time.time() - started
        if seq and time.time() >= next_look:
            next_look += seq["check_every_s"]
            decided = decide(recorder) if decide is not None else None
            if decided is not None:
                seq["decided"] = decided
                seq["stopped_at_s"] = round(elapsed, 1)
                yield Note(f"the verdict is decided after {elapsed:.0f} s ({decided}): stopping "
                           f"(duration: auto, one look every {seq['check_every_s']:g} s)")
                break
        if elapsed >= STARTUP_GRACE_S:
            _check_reachable(plan, recorder, elapsed)
        if lost is not None and hasattr(runner, "clients"):
            yield from _newly_missing(runner, reported_missing, lost)
        yield load_progress(elapsed, max(0.0, deadline - time.time()), recorder, runner.user_count)


def _check_reachable(plan: RunPlan, recorder: Recorder, elapsed: float) -> None:
    if recorder.total_successes:
        return
    total = sum(r.requests for r in recorder.interfaces.values())
    # only refused/DNS/TLS: calls that time out or are reset reached something, and are a result (exit 1)
    if total and recorder.connect_failures == total:
        raise TargetUnreachable(f"every call in the first {elapsed:.0f} s failed to connect ({total} calls)",
                                where=public_url(plan.target), hint="is the provider running and reachable?")


def _newly_missing(runner: Any, reported: set[str], lost: list[str]) -> Iterator[Event]:
    for node in runner.clients.values():
        if node.state == STATE_MISSING and node.id not in reported:
            reported.add(node.id)
            lost.append(node.id)
            yield Note(f"worker {node.id} stopped answering; what it reported is kept, "
                       "and the run cannot pass (its calls since its last report are uncounted)", "warning")


# --------------------------------------------------------------------------- local


def run_local(plan: RunPlan, base_url: str, *, stop: Stop | None = None, decide: Decide | None = None) -> Iterator[Event]:
    """The load in this process; ends with LoadFinished (also when ``stop`` was set)."""
    stop = stop or Stop()
    quiet_interrupts()
    recorder = Recorder()
    configure(plan, base_url, arrival_users=1)
    ArrivalUser.recorder = recorder
    user_class, users, spawn_rate = _user_plan(plan, 0)
    env = Environment(user_classes=[user_class], events=Events(), host=base_url, stop_timeout=plan.timeout_s)
    listen(env, recorder)
    runner = env.create_local_runner()
    preflight(base_url, tls=plan.tls)
    recorder.planned = plan.planned_calls
    started = time.time()
    yield load_started(plan, base_url, 0)
    clock = CpuClock()
    clock.start()
    CONFIG.on_schedule_end = clock.mark
    watch = gevent.spawn(watch_loop, recorder)
    runner.start(users, spawn_rate=spawn_rate, wait=False)
    interrupted = False
    ended = 0.0
    try:
        yield from _run_loop(env, plan, recorder, stop, started, decide=decide)
        ended = time.time()
        clock.mark()
        interrupted = stop.requested
        _arrival_grace(plan, stop)
    finally:
        ended = ended or time.time()
        recorder.load_ended = time.time()
        runner.quit()
        watch.kill(block=False)
    recorder.cpu["local"] = clock.stop()
    _planned_at_early_stop(plan, recorder)
    yield LoadFinished(_outcome(recorder, started, ended, interrupted, base_url, 0,
                                bool(getattr(runner, "cpu_warning_emitted", False)), [], env))


# --------------------------------------------------------------------------- master and workers


class _Master:
    """A Locust master, its plan for the workers and what their reports say."""

    def __init__(self, plan: RunPlan, base_url: str, workers: int, bind_host: str, bind_port: int) -> None:
        self.recorder = recorder = Recorder()
        recorder.planned = plan.planned_calls
        self.user_class, self.users, self.spawn_rate = _user_plan(plan, workers)
        configure(plan, base_url, arrival_users=workers)
        self.env = env = Environment(user_classes=[self.user_class], events=Events(), host=base_url,
                                     stop_timeout=plan.timeout_s)
        env.events.spawning_complete.add_listener(
            lambda **_: setattr(recorder, "all_running_at", recorder.all_running_at or time.time()))
        wire = plan.to_wire()
        wire["base_url"] = base_url
        wire["arrival_users"] = workers
        self.final: set[str] = set()
        env.events.worker_report.add_listener(self._on_worker_report)
        if bind_port == 0:
            with socket.socket() as s:
                s.bind((bind_host if bind_host != "*" else "0.0.0.0", 0))
                bind_port = s.getsockname()[1]
        self.bind_host, self.bind_port = bind_host, bind_port
        self.runner = runner = env.create_master_runner(master_bind_host=bind_host, master_bind_port=bind_port)
        self.planned: set[str] = set()

        def on_plan_request(environment: Environment, msg: Any, **_: Any) -> None:
            self.planned.add(msg.node_id)
            runner.send_message(PLAN_MESSAGE, wire, client_id=msg.node_id)

        runner.register_message(PLAN_REQUEST, on_plan_request)

    def _on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        payload = data.get("mvptest")
        if payload:
            self.recorder.merge_wire(payload)
        if data.get(FINAL_KEY):
            self.final.add(client_id)

    def ready(self) -> list[str]:
        return [c.id for c in self.runner.clients.ready if c.id in self.planned]


class _LocalWorkers:
    """Worker processes on this machine, started through the private entry point with a JSON configuration."""

    def __init__(self) -> None:
        self.procs: list[tuple[subprocess.Popen[bytes], Any, Any]] = []

    def start(self, count: int, host: str, port: int) -> None:
        config = json.dumps({"master_host": host, "master_port": port})
        for _ in range(count):
            # files, not pipes: a chatty worker must never block on a full pipe
            out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
            # A session of their own: Ctrl-C in a terminal reaches the master only, which stops them in order
            # (a worker interrupted by the terminal itself could die before its last report).
            proc = subprocess.Popen([sys.executable, "-m", "mvptest.load.worker_main", config],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
            self.procs.append((proc, out, err))

    def check(self) -> None:
        """A worker that exited before the run: its handshake's error, or the last line it wrote."""
        for proc, out, err in self.procs:
            if proc.poll() is None:
                continue
            out.seek(0)
            lines = out.read().decode(errors="replace").splitlines()
            if lines:
                data = handshake.parse(lines[-1], who="a local worker")
                if "error" in data:
                    handshake.raise_error(data, who="a local worker exited before the run")
            err.seek(0)
            text = err.read().decode(errors="replace").strip().splitlines()
            raise MvptestError(f"a local worker exited before the run ({text[-1] if text else proc.returncode})")

    def close(self) -> None:
        for proc, out, err in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            out.close()
            err.close()


def run_master(plan: RunPlan, base_url: str, *, workers: int, bind_host: str = "127.0.0.1", bind_port: int = 0,
               spawn_local: bool = True, wait_s: float = 60.0, stop: Stop | None = None,
               decide: Decide | None = None) -> Iterator[Event]:
    """A Locust master; with ``spawn_local`` it starts ``workers`` local worker processes itself. Ends with
    LoadFinished; ``stop`` set while the workers join ends it with nothing measured."""
    stop = stop or Stop()
    quiet_interrupts()
    master = _Master(plan, base_url, workers, bind_host, bind_port)
    preflight(base_url, tls=plan.tls)
    local = _LocalWorkers()
    if spawn_local:
        local.start(workers, "127.0.0.1" if bind_host in ("*", "0.0.0.0") else bind_host, master.bind_port)
    else:
        yield Note(f"master listening on {bind_host}:{master.bind_port}; waiting up to {wait_s:g} s for "
                   f"{workers} worker(s) (--wait-workers)")
    try:
        t0 = time.time()
        if not _await_workers(master, local, workers, wait_s, stop):
            yield LoadFinished(RunOutcome.nothing_measured(t0, time.time(), base_url))
            return
        yield from _master_load(master, plan, base_url, workers, stop, decide)
    finally:
        local.close()


def _await_workers(master: _Master, local: _LocalWorkers, workers: int, wait_s: float, stop: Stop) -> bool:
    """Until every worker has joined and asked for the plan: True; False when ``stop`` was set first."""
    deadline = time.time() + wait_s
    while len(master.ready()) < workers:
        if stop.requested:
            return False
        if time.time() > deadline:
            raise TargetUnreachable(f"only {len(master.ready())} of {workers} worker(s) joined the master at "
                                    f"{master.bind_host}:{master.bind_port} within {wait_s:g} s; nothing was run",
                                    hint="start them with: mvptest worker --master HOST:PORT, or wait longer "
                                         "with --wait-workers SECONDS")
        local.check()
        gevent.sleep(0.1)
    return True


def _master_load(master: _Master, plan: RunPlan, base_url: str, workers: int, stop: Stop,
                 decide: Decide | None) -> Iterator[Event]:
    env, runner, recorder = master.env, master.runner, master.recorder
    participants = master.ready()
    gevent.sleep(0.2)  # settle: every participant has been sent the plan, ahead of the spawn message
    started = time.time()
    yield load_started(plan, base_url, workers)
    clock = CpuClock()
    clock.start()
    runner.start(master.users, spawn_rate=master.spawn_rate, wait=False)
    lost: list[str] = []
    interrupted = False
    ended = 0.0
    try:
        yield from _run_loop(env, plan, recorder, stop, started, decide=decide, lost=lost)
        ended = time.time()
        clock.mark()
        interrupted = stop.requested
        _arrival_grace(plan, stop)
    finally:
        ended = ended or time.time()
        recorder.load_ended = time.time()
        _stop_workers(runner, participants, master.final, plan.timeout_s)
        runner.quit()
        recorder.cpu["master"] = clock.stop()
    # A worker that sent no final report died or was cut off: its calls since its last report are not counted.
    for client_id in participants:
        if client_id not in master.final and client_id not in lost:
            lost.append(client_id)
            yield Note(LOST_REASON.format(client_id), "warning")
    _planned_at_early_stop(plan, recorder)
    yield LoadFinished(_outcome(recorder, started, ended, interrupted, base_url, workers,
                                bool(getattr(runner, "worker_cpu_warning_emitted", False)), lost, env))


def _planned_at_early_stop(plan: RunPlan, recorder: Recorder) -> None:
    """duration: auto stopped the run once decided: what it planned is what came due until then."""
    if plan.sequential and plan.sequential.get("decided") and recorder.planned is not None:
        recorder.planned = recorder.intended


def _arrival_grace(plan: RunPlan, stop: Stop) -> None:
    """Open model: let every arrival user reach its own deadline before the stop (see ARRIVAL_GRACE_S)."""
    if not plan.rate or (plan.sequential and plan.sequential.get("decided")):
        return  # closed model, or stopped on purpose once the verdict was decided
    end = time.time() + ARRIVAL_GRACE_S
    while not stop.requested and time.time() < end:
        gevent.sleep(min(0.1, max(0.0, end - time.time())))


def _stop_workers(runner: Any, participants: list[str], final: set[str], stop_timeout: float) -> None:
    """Tell every worker to quit and wait for its last report, so that no call is left uncounted.

    Locust's own stop message would do for the users, but its master forgets a worker the moment the worker
    says it stopped, and then never sends it the quit message: the worker would linger for a minute, and its
    last report (up to 3 s of calls) could come after the master stopped listening. Locust's quit message
    stops the users gracefully (calls in flight finish), sends a last report and exits; the worker marks
    that report final.
    """
    from locust.runners import WORKER_REPORT_INTERVAL

    for client_id in participants:
        runner.send_message("quit", None, client_id=client_id)
    end = time.time() + stop_timeout + WORKER_REPORT_INTERVAL + 2
    while time.time() < end:
        missing = {node.id for node in runner.clients.values() if node.state == STATE_MISSING}
        if all(cid in final or cid in missing for cid in participants):
            return
        gevent.sleep(0.05)


