"""The private entry points the core starts (sandbox, local load workers): JSON configuration in, one JSON line out.

Every process here is a real ``python -m mvptest.<...>_main`` subprocess on loopback; nothing imports mvptest.load
in this process (Locust monkey-patches whoever imports it).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
MARKET = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"
VALID_USCC = "91110000600037341L"


def entry(module: str, config: Any, *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    text = config if isinstance(config, str) else json.dumps(config)
    return subprocess.run([sys.executable, "-m", module, text], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", timeout=timeout, stdin=subprocess.DEVNULL)


def one_answer(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc  # the handshake is one line, nothing else on standard output
    return json.loads(lines[0])


# --------------------------------------------------------------------------- the sandbox


def test_sandbox_handshake_gives_the_url_and_it_serves_there() -> None:
    config = {"specs": [str(MARKET)], "interfaces": ["enterprise-registration"], "seed": 7}
    proc = subprocess.Popen([sys.executable, "-m", "mvptest.sandbox.serve_main", json.dumps(config)], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        answer = json.loads(proc.stdout.readline())
        assert answer["ready"] is True and answer["pid"] == proc.pid
        url = answer["url"]
        assert url.startswith("http://127.0.0.1:") and int(url.rsplit(":", 1)[1]) > 0  # port 0: a free one, named
        with urllib.request.urlopen(f"{url}/api/v1/enterprises/{VALID_USCC}", timeout=5) as resp:
            assert resp.status == 200 and json.loads(resp.read())["uscc"] == VALID_USCC
        with urllib.request.urlopen(f"{url}/__mvptest/stats", timeout=5) as resp:
            assert json.loads(resp.read())["requests"] == 1  # the stats endpoint is not counted; the one call is
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert "stopped after 1 requests" in err and "Traceback" not in err


@pytest.mark.parametrize(("config", "message"), [
    ("not json", "the configuration is not JSON"),
    ({"specs": [str(MARKET)], "colour": "red"}, "unknown sandbox setting 'colour'"),
    ({"specs": []}, "specs: give a list of spec files or folders"),
    ({"specs": [str(MARKET)], "port": 70000}, "port 70000: give a number from 0 to 65535"),
    ({"specs": [str(MARKET)], "error_rate": 0.7, "reset_rate": 0.6}, "the fault rates add up to 1.3, more than 1"),
    ({"specs": [str(MARKET)], "latency_ms": "soon"}, "cannot read latency 'soon'"),
    ({"specs": [str(MARKET)], "interfaces": ["nope"]}, "has no interface 'nope'"),
    ({"specs": [str(ROOT / "no-such-spec.yaml")]}, "no such file or folder"),
], ids=["not-json", "unknown-key", "no-specs", "port", "rates", "latency", "interface", "missing-spec"])
def test_sandbox_bad_config_answers_the_error_and_exit_2(config: Any, message: str) -> None:
    proc = entry("mvptest.sandbox.serve_main", config)
    answer = one_answer(proc)
    assert proc.returncode == 2, proc
    assert answer["exit_code"] == 2 and "ready" not in answer
    assert message in answer["error"], answer
    assert "Traceback" not in proc.stderr


def test_sandbox_port_in_use_is_answered_as_an_error() -> None:
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = entry("mvptest.sandbox.serve_main", {"specs": [str(MARKET)], "port": port})
    answer = one_answer(proc)
    assert proc.returncode == 2 and answer["exit_code"] == 2
    assert f"port {port} on 127.0.0.1 is in use" in answer["error"] and "--port 0" in answer["hint"]


def test_sandbox_process_raises_the_answered_error_as_bad_input() -> None:
    from mvptest.errors import ExitCode, InputError
    from mvptest.sandbox.server import SandboxProcess

    with pytest.raises(InputError) as err:
        SandboxProcess(MARKET, args=["--interface", "nope"]).start()
    assert err.value.exit_code == ExitCode.BAD_INPUT
    assert "the sandbox did not start" in str(err.value) and "has no interface 'nope'" in str(err.value)


# --------------------------------------------------------------------------- the load worker


@pytest.mark.parametrize(("config", "message"), [
    ("{", "the configuration is not JSON"),
    ([1, 2], "must be a JSON object"),
    ({"master_port": "5557"}, "master_port '5557': the port must be a number from 1 to 65535"),
    ({"master_port": 0}, "the port must be a number from 1 to 65535"),
    ({"wait_s": -1}, "wait_s -1: give a number of seconds above 0"),
    ({"master": "127.0.0.1:5557"}, "unknown worker setting 'master'"),
], ids=["not-json", "not-object", "port-text", "port-0", "wait", "unknown-key"])
def test_worker_bad_config_answers_the_error_and_exit_2(config: Any, message: str) -> None:
    proc = entry("mvptest.load.worker_main", config)
    answer = one_answer(proc)
    assert proc.returncode == 2, proc
    assert answer == {"error": answer["error"], "hint": answer["hint"], "exit_code": 2}
    assert message in answer["error"], answer
    assert "Traceback" not in proc.stderr


def test_worker_without_master_answers_unreachable_exit_3() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = entry("mvptest.load.worker_main", {"master_host": "127.0.0.1", "master_port": port, "wait_s": 1})
    answer = one_answer(proc)
    assert proc.returncode == 3 and answer["exit_code"] == 3
    assert answer["error"] == f"no master answered at 127.0.0.1:{port} within 1 s"
    assert f"mvptest worker: joining the master at 127.0.0.1:{port}" in proc.stderr  # for a person, on stderr


# --------------------------------------------------------------------------- imports


@pytest.mark.parametrize("module", ["mvptest.report.run_console", "mvptest.run.session", "mvptest.run.outcome",
                                    "mvptest.report.run_folder", "mvptest.sandbox.serve_main", "mvptest.cli.run",
                                    "mvptest.cli.worker"])
def test_importing_loads_no_locust_nor_gevent(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_importing_the_engine_changes_nothing_until_a_run_starts() -> None:
    """Importing mvptest.load.engine monkey-patches (Locust's import does that) but leaves gevent's hub as it is."""
    code = ("import mvptest.load.engine, gevent; hub = gevent.get_hub(); "
            "print(type(hub).print_exception is hub.print_exception.__func__)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
