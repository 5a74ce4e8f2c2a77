"""``python -m mvptest.load.worker_main CONFIG``: a local load worker started by the master (private, no CLI).

CONFIG is a JSON object (mvptest.load.worker.WorkerConfig: master_host, master_port, wait_s, ...) in the first
argument or on standard input. Standard output carries one JSON line: {"ready": true, "master": "HOST:PORT"} once
joined, or {"error": ..., "hint": ..., "exit_code": N}; what a person should know goes to standard error.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import mvptest.load  # noqa: F401  (first: locust monkey-patches the process on import)
from mvptest import handshake
from mvptest.events import BaseHandler, Event, Note, Stage
from mvptest.load.worker import WorkerConfig, run_worker


def exit_interrupted() -> None:
    """A signal while joining: end the process now, with exit 130.

    os._exit because nothing else ends it: Locust's join turns KeyboardInterrupt into exit 1, and its ZeroMQ
    socket holds an unsent message, so a normal exit would wait for that message forever (linger)."""
    sys.stderr.write("Interrupted before the run started: nothing was measured.\n")
    sys.stderr.flush()
    os._exit(130)


class _Answer(BaseHandler):
    """Notes to standard error for a person; the handshake line on standard output once joined."""

    def handle(self, event: Event) -> None:
        if isinstance(event, Stage) and event.name == "joined":
            handshake.answer(ready=True, master=event.detail)
        elif isinstance(event, Note):
            sys.stderr.write(f"mvptest worker: {event.text}\n")
            sys.stderr.flush()


def main(argv: list[str]) -> int:
    config = WorkerConfig.from_json(handshake.read_config(argv))
    return run_worker(config, _Answer(), before_joined=exit_interrupted).exit_code


def entry(argv: list[Any] | None = None) -> int:
    return handshake.serve(main, argv)


if __name__ == "__main__":
    sys.exit(entry())
