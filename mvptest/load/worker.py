"""The worker side of a distributed run: join a master, take its plan, run users, report our measurements."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment
from locust.event import Events
from locust.runners import MASTER_HEARTBEAT_TIMEOUT

from mvptest.errors import ConfigError, ExitCode, TargetUnreachable
from mvptest.events import BaseHandler, Handler, Note, Session, Stage
from mvptest.load.common import FINAL_KEY, PLAN_MESSAGE, PLAN_REQUEST, Stop, listen, quiet_interrupts, watch_loop
from mvptest.load.users import CONFIG, ArrivalUser, PilotUser, configure
from mvptest.masking import public_url
from mvptest.run.recorder import CpuClock, Recorder


@dataclass(frozen=True)
class WorkerConfig:
    """Where the master is, how long to wait for it, and this machine's own TLS files (they win over the plan's)."""

    master_host: str = "127.0.0.1"
    master_port: int = 5557
    wait_s: float = 60.0
    ca_bundle: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {"master_host": self.master_host, "master_port": self.master_port, "wait_s": self.wait_s,
                **{k: None if v is None else str(v) for k, v in (("ca_bundle", self.ca_bundle),
                                                                ("client_cert", self.client_cert),
                                                                ("client_key", self.client_key))}}

    @classmethod
    def from_json(cls, data: Any) -> WorkerConfig:
        """From plain JSON data; ConfigError naming the key that is wrong."""
        if not isinstance(data, dict):
            raise ConfigError("the worker's configuration must be a JSON object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown worker setting {sorted(unknown)[0]!r}")
        port = data.get("master_port", 5557)
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise ConfigError(f"master_port {port!r}: the port must be a number from 1 to 65535")
        wait = data.get("wait_s", 60.0)
        if not isinstance(wait, (int, float)) or isinstance(wait, bool) or wait <= 0:
            raise ConfigError(f"wait_s {wait!r}: give a number of seconds above 0")
        paths = {k: Path(data[k]) if data.get(k) else None for k in ("ca_bundle", "client_cert", "client_key")}
        return cls(str(data.get("master_host") or "127.0.0.1"), port, float(wait), **paths)


@dataclass(frozen=True)
class WorkerResult:
    interrupted: bool

    @property
    def exit_code(self) -> int:
        return ExitCode.INTERRUPTED if self.interrupted else ExitCode.OK


def run_worker(config: WorkerConfig, handlers: Handler | None = None, *, stop: Stop | None = None,
               before_joined: Callable[[], None] | None = None) -> WorkerResult:
    """A worker: receives the plan from the master, runs its share of users, reports our measurements.

    ``handlers`` hear what a person at the worker should know (Note events: the plan arrived, the run is over). A
    master that does not answer, or sends no plan, within ``config.wait_s`` seconds is unreachable (exit 3). SIGINT
    and SIGTERM set ``stop`` once joined; until then joining can block in Locust (which turns Ctrl-C into exit 1),
    so a signal calls ``before_joined()``, which must end the process (the entry points pass one)."""
    out = handlers or BaseHandler()
    stop = stop or Stop()
    where = f"{config.master_host}:{config.master_port}"
    out.start(Session("worker", where))
    out.handle(Note(f"joining the master at {where}; it sends the plan when the run starts (waiting up to "
                    f"{config.wait_s:g} s for it, --wait-master; Ctrl-C to stop)"))
    override = _tls_override(config)  # checked now, not when the plan comes
    quiet_interrupts()
    recorder = Recorder()
    env = Environment(user_classes=[PilotUser, ArrivalUser], events=Events())
    listen(env, recorder)
    early = [gevent.signal_handler(sig, before_joined or _raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)]
    joined = time.time()
    runner = _join(env, config, where)
    out.handle(Stage("joined", where))
    got_plan: dict[str, float] = {}
    _on_plan(runner, recorder, override, got_plan, out)
    gevent.spawn(runner.send_message, PLAN_REQUEST)  # may wait for a master that is not there yet
    _report_measurements(env, recorder)
    for handler in early:
        handler.cancel()
    handles = [gevent.signal_handler(sig, stop.set) for sig in (signal.SIGINT, signal.SIGTERM)]
    try:
        _serve(runner, config, where, stop, got_plan, joined)
    finally:
        for handle in handles:
            handle.cancel()
    out.handle(Note("stopped (interrupted)" if stop.requested else "the master ended the run"))
    result = WorkerResult(stop.requested)
    out.finish(result)
    return result


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


def _tls_override(config: WorkerConfig) -> Callable[[Any], Any] | None:
    from mvptest.net import tls

    own = tls.load(config.ca_bundle, config.client_cert, config.client_key)
    if own is None:
        return None
    return lambda theirs: tls.merged(theirs, own, cli_ca=config.ca_bundle is not None,
                                     cli_cert=config.client_cert is not None)


def _join(env: Environment, config: WorkerConfig, where: str) -> Any:
    no_master = TargetUnreachable(f"no master answered at {where} within {config.wait_s:g} s",
                                  hint="start `mvptest run --master` there first (is the port open?), or wait longer "
                                       "with --wait-master SECONDS")
    try:
        # Locust's own join retries for five minutes; ours is bounded by the configured wait.
        with gevent.Timeout(config.wait_s, no_master):
            return env.create_worker_runner(config.master_host, config.master_port)
    except (KeyboardInterrupt, TargetUnreachable):
        raise
    except Exception as exc:
        raise ConfigError(f"cannot reach the master at {where}: {exc or type(exc).__name__}") from None


def _on_plan(runner: Any, recorder: Recorder, override: Callable[[Any], Any] | None, got_plan: dict[str, float],
             out: Handler) -> None:
    from mvptest.run.plan import RunPlan

    def on_plan(environment: Environment, msg: Any, **_: Any) -> None:
        data = msg.data
        plan = RunPlan.from_wire(data)
        if override is not None:  # this worker's own --ca-bundle/--client-cert win over the master's
            plan.tls = override(plan.tls)
        configure(plan, data["base_url"], arrival_users=int(data.get("arrival_users", 1)))
        ArrivalUser.recorder = recorder
        environment.host = data["base_url"]
        got_plan["at"] = time.time()
        out.handle(Note(f"plan {plan.name!r} received: load goes to {public_url(data['base_url'])}"))

    runner.register_message(PLAN_MESSAGE, on_plan)


def _report_measurements(env: Environment, recorder: Recorder) -> None:
    """Each report to the master carries what was measured since the last one; the last is marked final."""
    stopped = {"users": False}
    clock = CpuClock()
    watch: list[Any] = []

    def on_test_start(**_: Any) -> None:  # the master's spawn message: this worker's load window begins
        if not watch:
            clock.start()
            CONFIG.on_schedule_end = clock.mark  # open model: the arrival schedule's end ends the window
            watch.append(gevent.spawn(watch_loop, recorder))

    def on_test_stop(**_: Any) -> None:
        stopped["users"] = True  # every report from now on carries everything: mark it final
        if watch:
            clock.mark()
            clock.stop()
            watch[0].kill(block=False)

    def on_report(client_id: str, data: dict[str, Any]) -> None:
        if watch:
            recorder.cpu[client_id] = clock.reading()  # cumulative: the master keeps the latest
        data["mvptest"] = recorder.drain()
        if stopped["users"]:
            data[FINAL_KEY] = True

    env.events.test_start.add_listener(on_test_start)
    env.events.test_stop.add_listener(on_test_stop)
    env.events.report_to_master.add_listener(on_report)


def _serve(runner: Any, config: WorkerConfig, where: str, stop: Stop, got_plan: dict[str, float], joined: float) -> None:
    wait_s = config.wait_s
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
                with contextlib.suppress(Exception):  # the master may be gone already
                    runner._send_stats()
                runner.quit()
            return
        gevent.sleep(0.2)
    if not stop.requested and _master_silent(runner, min(wait_s, MASTER_HEARTBEAT_TIMEOUT - 1)):
        with gevent.Timeout(5, False):
            runner.quit()
        raise TargetUnreachable(f"lost the master at {where}: no heartbeat for {min(wait_s, MASTER_HEARTBEAT_TIMEOUT):g} s "
                                "(what this worker measured since its last report is not counted)",
                                hint="the master's run is incomplete; run it again")


def _master_silent(runner: Any, seconds: float) -> bool:
    """The master sent no heartbeat for ``seconds`` (it answers each of ours, every second)."""
    last = getattr(runner, "last_heartbeat_timestamp", None)
    if not last:
        return False
    return bool(time.time() - last > seconds)
