"""What the local, master and worker sides of the Locust adapter share: messages, listeners, the stop flag."""

from __future__ import annotations

import signal
import time
from typing import Any

import gevent
from locust.env import Environment

from mvptest.load.users import CONFIG
from mvptest.run.recorder import Recorder
from mvptest.run.session import StopFlag as Stop

__all__ = ["FINAL_KEY", "PLAN_MESSAGE", "PLAN_REQUEST", "Stop", "listen", "quiet_interrupts", "stop_on_signals",
           "watch_loop"]

PLAN_MESSAGE = "mvptest_plan"
PLAN_REQUEST = "mvptest_plan_request"  # a worker asks once its handler is registered: a plan pushed earlier is lost
FINAL_KEY = "mvptest_final"  # in a worker's report: its users have stopped, nothing more will come
LAG_TICK_S = 0.05  # the event-loop watch: a timer this long, and by how much it fires late


def stop_on_signals(stop: Any) -> list[Any]:
    """SIGINT and SIGTERM set ``stop`` (anything with ``set()``) instead of raising in whatever greenlet runs: the
    load then ends in order and what it measured is kept. Returns the handles (``cancel()`` them to undo)."""
    quiet_interrupts()
    return [gevent.signal_handler(sig, stop.set) for sig in (signal.SIGINT, signal.SIGTERM)]


_QUIETED: list[bool] = []


def quiet_interrupts() -> None:
    """Ctrl-C or SIGTERM that lands while gevent's hub runs is raised in the hub, which prints a traceback before
    handing it to the main greenlet; the command then handles it as an interruption. Print the rest as before."""
    if _QUIETED:
        return
    _QUIETED.append(True)
    hub = gevent.get_hub()
    print_exception = hub.print_exception

    def quiet(context: Any, kind: Any, value: Any, tb: Any) -> None:
        if isinstance(kind, type) and issubclass(kind, (KeyboardInterrupt, SystemExit)):
            return
        print_exception(context, kind, value, tb)

    hub.print_exception = quiet


def listen(env: Environment, recorder: Recorder) -> None:
    """Point the users at ``recorder`` and note Locust's CPU warnings and when every user was running."""
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


def watch_loop(recorder: Recorder) -> None:
    """A greenlet: how late a LAG_TICK_S timer fires, every tick (a busy or starved event loop fires it late)."""
    while True:
        t = time.perf_counter()
        gevent.sleep(LAG_TICK_S)
        recorder.loop_lag.record(int((time.perf_counter() - t - LAG_TICK_S) * 1e6))
