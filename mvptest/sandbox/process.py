"""The sandbox as a child process of a run: started through its private entry point, answered by a JSON handshake."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mvptest import handshake
from mvptest.errors import InputError, MvptestError
from mvptest.sandbox.config import SandboxConfig


class SandboxProcess:
    """The sandbox as a child process (``python -m mvptest.sandbox.serve_main CONFIG``): its URL comes from the JSON
    handshake on its first line of output. Give a SandboxConfig, or specs and ``mvptest sandbox``-style ``args``."""

    def __init__(self, specs: Path | Sequence[Path] | None = None, *, args: Sequence[str] = (), host: str = "127.0.0.1",
                 port: int = 0, cpu: int | None = None, config: SandboxConfig | None = None) -> None:
        if config is None:
            paths = [specs] if isinstance(specs, (str, Path)) else list(specs or ())
            config = SandboxConfig.from_args(paths, args, host=host, port=port)
        self.config = config
        self.cmd = [sys.executable, "-m", "mvptest.sandbox.serve_main", json.dumps(config.to_json())]
        if cpu is not None and hasattr(os, "sched_setaffinity"):
            self.cmd = ["taskset", "-c", str(cpu), *self.cmd]
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 20) -> str:
        """Start it and wait for its handshake; the error it answered (bad spec, port in use) is raised as such."""
        # its own session: a Ctrl-C at the terminal reaches the run, which reads the sandbox's stats and then stops it
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, encoding="utf-8", env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                     start_new_session=True)
        assert self.proc.stdout is not None
        line = _readline(self.proc.stdout, timeout)
        if not line.strip():
            gone = self.proc.poll() is not None
            tail = (self.proc.stderr.read() if gone and self.proc.stderr else "").strip().splitlines()
            self.stop()
            raise InputError(f"the sandbox did not start: {tail[-1] if tail else f'no answer within {timeout:g} s'}")
        try:
            data = handshake.parse(line, who="the sandbox")
            if "error" in data:
                handshake.raise_error(data, who="the sandbox did not start")
        except MvptestError:
            self.stop()
            raise
        self.url = str(data["url"])
        return self.url

    def stats(self) -> dict[str, Any] | None:
        """The sandbox's own count (GET /__mvptest/stats), without the raw histogram; None if it cannot answer."""
        import urllib.request

        try:
            with urllib.request.urlopen(self.url + "/__mvptest/stats", timeout=5) as resp:
                data = json.loads(resp.read())
        except (OSError, ValueError):
            return None
        data.pop("injected_delay_histogram", None)
        return data

    def stop(self, timeout: float = 10) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                with contextlib.suppress(Exception):
                    stream.close()
        return self.proc.returncode

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def _readline(stream: Any, timeout: float) -> str:
    """One line from a child's pipe, or "" when none comes within ``timeout`` seconds (or it closes)."""
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0] if box else ""
