"""Run the plan with Locust: local, master with local workers, or master/worker across machines; emits events.

The engine never prints. Events go to reporters (live console, result files) through the generator it returns.
"""

from __future__ import annotations

import signal
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import urlsplit

import gevent
from locust.env import Environment
from locust.event import Events
from locust.runners import MASTER_HEARTBEAT_TIMEOUT, STATE_MISSING, STATE_STOPPED

from mvptest.errors import MvptestError, TargetUnreachable, ConfigError
from mvptest.load.users import CONFIG, ArrivalUser, PilotUser, configure
from mvptest.masking import public_url
from mvptest.run.summary import LOST_REASON
from mvptest.run.plan import RunPlan
from mvptest.run.recorder import CPU_SATURATED, LAG_SATURATED_MS, CpuClock, Recorder
from mvptest.run.stalls import StallReport, stalls_of

PLAN_MESSAGE = "mvptest_plan"
PLAN_REQUEST = "mvptest_plan_request"  # a worker asks once its handler is registered: a plan pushed earlier is lost
FINAL_KEY = "mvptest_final"  # in a worker's report: its users have stopped, nothing more will come
STARTUP_GRACE_S = 3.0  # a target that answered nothing but transport errors for this long is unreachable
# Open model: each arrival user ends its schedule at its own deadline (its start + the duration), which comes a
# little after the runner's (the spawn message travels, the user greenlet starts). The stop waits this long past
# the runner's deadline so that it never cuts a schedule short; it costs no arrival, only this much wall time.
ARRIVAL_GRACE_S = 1.0
LAG_TICK_S = 0.05  # the event-loop watch: a timer this long, and by how much it fires late


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class RunStarted:
    plan: RunPlan
    base_url: str
    workers: int


@dataclass(frozen=True)
class Tick:
    elapsed_s: float
    remaining_s: float
    recorder: Recorder
    users: int


@dataclass(frozen=True)
class Notice:
    level: str  # info | warning
    text: str


@dataclass
class RunOutcome:
    recorder: Recorder
    started_at: float
    finished_at: float
    interrupted: bool
    base_url: str
    workers: int
    cpu_saturated: bool
    workers_lost: list[str] = field(default_factory=list)
    locust_percentiles: dict[str, dict[str, float]] = field(default_factory=dict)
    locust_requests: int = 0  # Locust's own count, to hold ours against
    # CPU seconds of every load process over its load window (local: this one; distributed: the workers' sum)
    generator_cpu_s: float | None = None
    # per process ("local", each worker's id, "master"): cpu_s, wall_s, fraction (of one core), saturated
    generator_cpu: dict[str, dict[str, Any]] = field(default_factory=dict)
    stalls: StallReport | None = None  # throughput dips and calls queued behind slow ones (mvptest.run.stalls)

    def generator_record(self) -> dict[str, Any]:
        """What the generator says about itself, as plain data for summary.json (key "generator", say)."""
        rec = self.recorder
        open_model = rec.planned is not None
        lag = rec.loop_lag
        return {
            "calls": rec.calls(),
            "schedule": rec.schedule(),
            "latency_from": "planned send time" if open_model else "send",
            "service_ms": {k: r.service(ok=False).summary_ms() for k, r in sorted(rec.interfaces.items())}
            if open_model else None,
            "cpu": self.generator_cpu,
            "cpu_saturated": self.cpu_saturated,
            "cpu_busy": rec.cpu_busy,  # a core's CPU_SATURATED wanted, whether or not it showed in the timing
            "timing_lagged": rec.timing_lagged,
            "cpu_saturated_at": CPU_SATURATED,
            "loop_lag_saturated_ms": LAG_SATURATED_MS,
            "locust_cpu_warnings": rec.cpu_warnings,
            "loop_lag_ms": {**lag.summary_ms({"p50": 0.5, "p90": 0.9, "p99": 0.99}), "ticks": lag.count},
            "stalls": self.stalls.to_dict() if self.stalls is not None else None,
        }


@dataclass(frozen=True)
class RunFinished:
    outcome: RunOutcome


Event = RunStarted | Tick | Notice | RunFinished


# --------------------------------------------------------------------------- helpers


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
    except (TimeoutError, socket.timeout):
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


def _listen(env: Environment, recorder: Recorder) -> None:
    # Calls are recorded by the users themselves (users.call): no listener between a call and its count.
    CONFIG.recorder = recorder

    def on_cpu_warning(**_: Any) -> None:
        recorder.cpu_warnings += 1

    def on_spawning_complete(**_: Any) -> None:
        if recorder.all_running_at is None:
            recorder.all_running_at = time.time()

    if hasattr(env.events, "cpu_warning"):
        env.events.cpu_warning.add_listener(on_cpu_warning)
    env.events.spawning_complete.add_listener(on_spawning_complete)


def _watch_loop(recorder: Recorder) -> None:
    """A greenlet: how late a LAG_TICK_S timer fires, every tick (a busy or starved event loop fires it late)."""
    while True:
        t = time.perf_counter()
        gevent.sleep(LAG_TICK_S)
        recorder.loop_lag.record(int((time.perf_counter() - t - LAG_TICK_S) * 1e6))


def _cpu_table(recorder: Recorder) -> dict[str, dict[str, Any]]:
    fractions, demand = recorder.cpu_fractions(), recorder.cpu_demand()
    return {k: {"window_cpu_s": round(cpu, 3), "window_s": round(wall, 3), "cpu_s": round(total, 3),
                "runqueue_wait_s": None if wait is None else round(wait, 3),
                "fraction": None if fractions[k] is None else round(fractions[k], 3),
                "demand": None if demand[k] is None else round(demand[k], 3),
                "busy": k != "master" and demand[k] is not None and demand[k] >= CPU_SATURATED}
            for k, (cpu, wall, total, wait) in sorted(recorder.cpu.items())}


def _outcome(recorder: Recorder, started: float, ended: float, interrupted: bool, base_url: str, workers: int,
             locust_warned: bool, lost: list[str], env: Environment) -> RunOutcome:
    recorder.load_ended = recorder.load_ended or ended
    return RunOutcome(recorder, started, ended, interrupted, base_url, workers,
                      recorder.cpu_saturated or locust_warned or bool(recorder.cpu_warnings), lost,
                      _locust_percentiles(env), env.stats.total.num_requests, generator_cpu_s=recorder.generator_cpu_s,
                      generator_cpu=_cpu_table(recorder), stalls=stalls_of(recorder, started, ended))


def _user_plan(plan: RunPlan, workers: int) -> tuple[type, int, float]:
    if plan.rate:
        n = max(1, workers)
        return ArrivalUser, n, float(n)
    return PilotUser, plan.users, plan.spawn_rate


def _locust_percentiles(env: Environment) -> dict[str, dict[str, float]]:
    out = {}
    for (name, _method), entry in env.stats.entries.items():
        out[name] = {f"p{int(q * 100) if q < 0.999 else 999}": entry.get_response_time_percentile(q)
                     for q in (0.5, 0.9, 0.95, 0.99, 0.999)}
    return out


class _Stop:
    """SIGINT/SIGTERM set a flag the loop reads; the run then writes what it measured."""

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            gevent.signal_handler(sig, self.set)

    def set(self) -> None:
        self.requested = True


def _run_loop(env: Environment, plan: RunPlan, recorder: Recorder, stop: _Stop, started: float,
              *, watch_unreachable: bool, lost: list[str] | None = None) -> Iterator[Event]:
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
            from mvptest.run.summary import sequential_decision

            decided = sequential_decision(plan, recorder)
            if decided is not None:
                seq["decided"] = decided
                seq["stopped_at_s"] = round(elapsed, 1)
                yield Notice("info", f"the verdict is decided after {elapsed:.0f} s ({decided}): stopping "
                             f"(duration: auto, one look every {seq['check_every_s']:g} s)")
                break
        if watch_unreachable and elapsed >= STARTUP_GRACE_S and recorder.total_successes == 0:
            total = sum(r.requests for r in recorder.interfaces.values())
            # only refused/DNS/TLS: calls that time out or are reset reached something, and are a result (exit 1)
            if total and recorder.connect_failures == total:
                raise TargetUnreachable(f"every call in the first {elapsed:.0f} s failed to connect ({total} calls)",
                                        where=public_url(plan.target), hint="is the provider running and reachable?")
        if lost is not None and hasattr(runner, "clients"):
            for node in runner.clients.values():
                if node.state == STATE_MISSING and node.id not in reported_missing:
                    reported_missing.add(node.id)
                    lost.append(node.id)
                    yield Notice("warning", f"worker {node.id} stopped answering; what it reported is kept, "
                                 "and the run cannot pass (its calls since its last report are uncounted)")
        yield Tick(elapsed, max(0.0, deadline - time.time()), recorder, runner.user_count)


# --------------------------------------------------------------------------- local


def run_local(plan: RunPlan, base_url: str) -> Iterator[Event]:
    recorder = Recorder()
    configure(plan, base_url, arrival_users=1)
    ArrivalUser.recorder = recorder
    user_class, users, spawn_rate = _user_plan(plan, 0)
    env = Environment(user_classes=[user_class], events=Events(), host=base_url, stop_timeout=plan.timeout_s)
    _listen(env, recorder)
    runner = env.create_local_runner()
    stop = _Stop()
    stop.install()
    preflight(base_url, tls=plan.tls)
    recorder.planned = plan.planned_calls
    started = time.time()
    yield RunStarted(plan, base_url, 0)
    clock = CpuClock()
    clock.start()
    CONFIG.on_schedule_end = clock.mark
    watch = gevent.spawn(_watch_loop, recorder)
    runner.start(users, spawn_rate=spawn_rate, wait=False)
    interrupted = False
    ended = 0.0
    try:
        yield from _run_loop(env, plan, recorder, stop, started, watch_unreachable=True)
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
    yield RunFinished(_outcome(recorder, started, ended, interrupted, base_url, 0,
                               bool(getattr(runner, "cpu_warning_emitted", False)), [], env))


# --------------------------------------------------------------------------- master and workers


def run_master(plan: RunPlan, base_url: str, *, workers: int, bind_host: str = "127.0.0.1", bind_port: int = 0,
               spawn_local: bool = True, wait_s: float = 60.0) -> Iterator[Event]:
    """A Locust master; with ``spawn_local`` it starts ``workers`` local worker processes itself."""
    recorder = Recorder()
    recorder.planned = plan.planned_calls
    user_class, users, spawn_rate = _user_plan(plan, workers)
    configure(plan, base_url, arrival_users=workers)
    env = Environment(user_classes=[user_class], events=Events(), host=base_url, stop_timeout=plan.timeout_s)
    env.events.spawning_complete.add_listener(
        lambda **_: setattr(recorder, "all_running_at", recorder.all_running_at or time.time()))
    wire = plan.to_wire()
    wire["base_url"] = base_url
    wire["arrival_users"] = workers

    final: set[str] = set()

    def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
        payload = data.get("mvptest")
        if payload:
            recorder.merge_wire(payload)
        if data.get(FINAL_KEY):
            final.add(client_id)

    env.events.worker_report.add_listener(on_worker_report)
    if bind_port == 0:
        with socket.socket() as s:
            s.bind((bind_host if bind_host != "*" else "0.0.0.0", 0))
            bind_port = s.getsockname()[1]
    runner = env.create_master_runner(master_bind_host=bind_host, master_bind_port=bind_port)
    planned: set[str] = set()

    def on_plan_request(environment: Environment, msg: Any, **_: Any) -> None:
        planned.add(msg.node_id)
        runner.send_message(PLAN_MESSAGE, wire, client_id=msg.node_id)

    runner.register_message(PLAN_REQUEST, on_plan_request)
    stop = _Stop()
    stop.install()
    preflight(base_url, tls=plan.tls)
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []
    if spawn_local:
        import tempfile

        connect = "127.0.0.1" if bind_host in ("*", "0.0.0.0") else bind_host
        for _ in range(workers):
            log = tempfile.TemporaryFile()  # not a pipe: a chatty worker must never block on a full pipe
            logs.append(log)
            # A session of their own: Ctrl-C in a terminal reaches the master only, which stops them in order
            # (a worker interrupted by the terminal itself could die before its last report).
            procs.append(subprocess.Popen([sys.executable, "-m", "mvptest", "worker", "--master", f"{connect}:{bind_port}"],
                                          stdout=subprocess.DEVNULL, stderr=log, start_new_session=True))
    else:
        yield Notice("info", f"master listening on {bind_host}:{bind_port}; waiting up to {wait_s:g} s for "
                             f"{workers} worker(s) (--wait-workers)")
    try:
        deadline = time.time() + wait_s

        def ready() -> list[str]:
            return [c.id for c in runner.clients.ready if c.id in planned]

        while len(ready()) < workers:
            if stop.requested:
                raise KeyboardInterrupt
            if time.time() > deadline:
                raise TargetUnreachable(f"only {len(ready())} of {workers} worker(s) joined the master at "
                                        f"{bind_host}:{bind_port} within {wait_s:g} s; nothing was run",
                                        hint="start them with: mvptest worker --master HOST:PORT, or wait longer "
                                             "with --wait-workers SECONDS")
            for p, log in zip(procs, logs):
                if p.poll() is not None:
                    log.seek(0)
                    err = log.read().decode(errors="replace").strip().splitlines()
                    raise MvptestError(f"a local worker exited before the run ({err[-1] if err else p.returncode})")
            gevent.sleep(0.1)
        participants = ready()
        gevent.sleep(0.2)  # settle: every participant has been sent the plan, ahead of the spawn message
        started = time.time()
        yield RunStarted(plan, base_url, workers)
        clock = CpuClock()
        clock.start()
        runner.start(users, spawn_rate=spawn_rate, wait=False)
        lost: list[str] = []
        interrupted = False
        ended = 0.0
        try:
            yield from _run_loop(env, plan, recorder, stop, started, watch_unreachable=True, lost=lost)
            ended = time.time()
            clock.mark()
            interrupted = stop.requested
            _arrival_grace(plan, stop)
        finally:
            ended = ended or time.time()
            recorder.load_ended = time.time()
            _stop_workers(runner, participants, final, plan.timeout_s)
            runner.quit()
            recorder.cpu["master"] = clock.stop()
        # A worker that sent no final report died or was cut off: its calls since its last report are not counted.
        for client_id in participants:
            if client_id not in final and client_id not in lost:
                lost.append(client_id)
                yield Notice("warning", LOST_REASON.format(client_id))
        _planned_at_early_stop(plan, recorder)
        yield RunFinished(_outcome(recorder, started, ended, interrupted, base_url, workers,
                                   bool(getattr(runner, "worker_cpu_warning_emitted", False)), lost, env))
    finally:
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in logs:
            log.close()


def _planned_at_early_stop(plan: RunPlan, recorder: Recorder) -> None:
    """duration: auto stopped the run once decided: what it planned is what came due until then."""
    if plan.sequential and plan.sequential.get("decided") and recorder.planned is not None:
        recorder.planned = recorder.intended


def _arrival_grace(plan: RunPlan, stop: _Stop) -> None:
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


def _quiet_interrupts() -> None:
    """Ctrl-C or SIGTERM that lands while gevent's hub runs is raised in the hub, which prints a traceback before
    handing it to the main greenlet; the command then handles it as an interruption. Print the rest as before."""
    hub = gevent.get_hub()
    print_exception = hub.print_exception

    def quiet(context: Any, kind: Any, value: Any, tb: Any) -> None:
        if isinstance(kind, type) and issubclass(kind, (KeyboardInterrupt, SystemExit)):
            return
        print_exception(context, kind, value, tb)

    hub.print_exception = quiet


_quiet_interrupts()


def _exit_interrupted() -> None:
    sys.stderr.write("Interrupted before the run started: nothing was measured.\n")
    sys.stderr.flush()
    os._exit(130)


def run_worker(master_host: str, master_port: int, *, on_notice: Any = None, wait_s: float = 60.0,
               tls_override: Any = None) -> int:
    """A worker: receives the plan from the master, runs its share of users, reports our measurements.

    ``on_notice(text)`` hears what a person at the worker should know: the plan arrived, the run is over. A master
    that does not answer, or sends no plan, within ``wait_s`` seconds is unreachable (exit 3): no wait is endless."""
    notice = on_notice or (lambda text: None)
    from mvptest.run.plan import RunPlan as _Plan

    recorder = Recorder()
    env = Environment(user_classes=[PilotUser, ArrivalUser], events=Events())
    _listen(env, recorder)
    # Until the runner is up, joining can block (a master that is not there): a signal then ends the worker at once,
    # with nothing measured to keep.
    early = [gevent.signal_handler(sig, _exit_interrupted) for sig in (signal.SIGINT, signal.SIGTERM)]
    joined = time.time()
    where = f"{master_host}:{master_port}"
    no_master = TargetUnreachable(f"no master answered at {where} within {wait_s:g} s",
                                  hint="start `mvptest run --master` there first (is the port open?), or wait longer "
                                       "with --wait-master SECONDS")
    try:
        # Locust's own join retries for five minutes; ours is bounded by --wait-master.
        with gevent.Timeout(wait_s, no_master):
            runner = env.create_worker_runner(master_host, master_port)
    except (KeyboardInterrupt, TargetUnreachable):
        raise
    except Exception as exc:  # noqa: BLE001 - zmq errors are many; all mean the same to the user
        raise ConfigError(f"cannot reach the master at {where}: {exc or type(exc).__name__}") from None

    def on_plan(environment: Environment, msg: Any, **_: Any) -> None:
        data = msg.data
        plan = _Plan.from_wire(data)
        if tls_override is not None:  # this worker's own --ca-bundle/--client-cert win over the master's
            plan.tls = tls_override(plan.tls)
        configure(plan, data["base_url"], arrival_users=int(data.get("arrival_users", 1)))
        ArrivalUser.recorder = recorder
        environment.host = data["base_url"]
        got_plan["at"] = time.time()
        notice(f"plan {plan.name!r} received: load goes to {public_url(data['base_url'])}")

    got_plan: dict[str, float] = {}
    runner.register_message(PLAN_MESSAGE, on_plan)
    gevent.spawn(runner.send_message, PLAN_REQUEST)  # may wait for a master that is not there yet
    stopped = {"users": False}
    clock = CpuClock()
    watch: list[Any] = []

    def on_test_start(**_: Any) -> None:  # the master's spawn message: this worker's load window begins
        if not watch:
            clock.start()
            CONFIG.on_schedule_end = clock.mark  # open model: the arrival schedule's end ends the window
            watch.append(gevent.spawn(_watch_loop, recorder))

    def on_test_stop(**_: Any) -> None:
        stopped["users"] = True  # every report from now on carries everything: mark it final
        if watch:
            clock.mark()
            clock.stop()
            watch[0].kill(block=False)

    env.events.test_start.add_listener(on_test_start)
    env.events.test_stop.add_listener(on_test_stop)

    def on_report(client_id: str, data: dict[str, Any]) -> None:
        if watch:
            recorder.cpu[client_id] = clock.reading()  # cumulative: the master keeps the latest
        data["mvptest"] = recorder.drain()
        if stopped["users"]:
            data[FINAL_KEY] = True

    env.events.report_to_master.add_listener(on_report)
    for handler in early:
        handler.cancel()
    stop = _Stop()
    stop.install()
    while len(runner.greenlet) > 0:  # a gevent Group: empty once the master says quit
        if not got_plan and time.time() - joined > wait_s:
            with gevent.Timeout(2, False):
                runner.quit()
            raise TargetUnreachable(f"the master at {where} answered but sent no plan within {wait_s:g} s",
                                    hint="is it an `mvptest run --master` of the same mvptest version?")
        if _master_silent(runner, wait_s):
            break
        if stop.requested:
            with gevent.Timeout(5, False):  # a master that is gone must not keep the worker
                runner.stop()  # users stop gracefully; then one last report, as on the master's quit
                try:
                    runner._send_stats()
                except Exception:  # noqa: BLE001 - the master may be gone already
                    pass
                runner.quit()
            break
        gevent.sleep(0.2)
    if not stop.requested and _master_silent(runner, min(wait_s, MASTER_HEARTBEAT_TIMEOUT - 1)):
        with gevent.Timeout(5, False):
            runner.quit()
        raise TargetUnreachable(f"lost the master at {where}: no heartbeat for {min(wait_s, MASTER_HEARTBEAT_TIMEOUT):g} s "
                                "(what this worker measured since its last report is not counted)",
                                hint="the master's run is incomplete; run it again")
    notice("stopped (interrupted)" if stop.requested else "the master ended the run")
    return 130 if stop.requested else 0


def _master_silent(runner: Any, seconds: float) -> bool:
    """The master sent no heartbeat for ``seconds`` (it answers each of ours, every second)."""
    last = getattr(runner, "last_heartbeat_timestamp", None)
    return bool(last) and time.time() - last > seconds
