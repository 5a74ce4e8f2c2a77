"""A load generator that is honest about itself (issue 10, items 3 and 4): what it planned, sent, completed and
dropped; latency from the planned send time in the open model; stalls the closed model hides; its own CPU.

Every run is ``python tests/load_probe.py OUT.json run ...``: the real ``mvptest run`` (CLI, engine, Locust, workers,
files) in a subprocess, with the RunOutcome's generator record written beside summary.json. The providers are
loopback servers in this process whose behaviour is set exactly: one that holds every response for 1 s every 5 s,
one that never answers within the run.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from providers import ITEM_BODY, item_spec
from test_run import PILOT, ROOT, describe, run_env, the_run_dir

PROBE = Path(__file__).resolve().parent / "load_probe.py"
BODY = ITEM_BODY
SCENARIO = """\
kind: scenario
name: honesty
specs: [spec.yaml]
load: {users: 4, spawn_rate: 100, duration: 2s, timeout: %(timeout)s%(think)s}
targets: {success_rate: 0.99, latency_ms: {p95: 100}}
"""


class Server:
    """A threaded loopback HTTP/1.1 server answering BODY. ``period``/``hold``: from its start, for ``hold`` seconds of
    every ``period`` it holds each response until that stall ends (a request arriving mid-stall waits out the
    rest). ``never``: it reads each request and answers none while it runs. It counts what it read and held."""

    def __init__(self, *, period: float = 0.0, hold: float = 0.0, never: bool = False) -> None:
        self.period, self.hold, self.never = period, hold, never
        self.requests = self.held = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()  # head and body are two writes: without NODELAY, Nagle holds the body 40 ms
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                with server.lock:
                    server.requests += 1
                if server.never:
                    server.stopping.wait(30)
                    return
                wait = server.stall_left()
                if wait > 0:
                    with server.lock:
                        server.held += 1
                    time.sleep(wait)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(BODY)))
                self.end_headers()
                self.wfile.write(BODY)

            def log_message(self, *_: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.t0 = 0.0

    def stall_left(self) -> float:
        if not self.period:
            return 0.0
        phase = (time.monotonic() - self.t0) % self.period
        return self.hold - phase if phase < self.hold else 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Server:
        self.t0 = time.monotonic()
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def scenario(tmp_path: Path):
    def write(timeout: str = "5s", think: str | None = None) -> Path:
        (tmp_path / "spec.yaml").write_text(item_spec(), encoding="utf-8")
        path = tmp_path / "scenario.yaml"
        path.write_text(SCENARIO % {"timeout": timeout, "think": f", think_time: {think}" if think else ""},
                        encoding="utf-8")
        return path

    return write


def probe(tmp_path: Path, *args: Any, env: dict[str, str] | None = None, timeout: float = 90) -> tuple[dict, dict]:
    """Run ``mvptest run ARGS`` through the probe; the generator record and summary.json."""
    out, results = tmp_path / "probe.json", tmp_path / "results"
    proc = subprocess.run([sys.executable, str(PROBE), str(out), "run", *map(str, args), "--results-dir", str(results)],
                          cwd=ROOT, env=env or run_env(), capture_output=True, text=True, encoding="utf-8",
                          timeout=timeout)
    assert proc.returncode in (0, 1), describe(proc)
    summary = json.loads((the_run_dir(results) / "summary.json").read_text(encoding="utf-8"))
    return json.loads(out.read_text(encoding="utf-8")), summary


# --------------------------------------------------------------------------- stalls: closed versus open model


def test_closed_model_hides_a_stall_in_its_percentiles_and_the_stall_finding_says_so(tmp_path: Path, scenario) -> None:
    with Server(period=5, hold=1) as server:
        got, summary = probe(tmp_path, scenario(), "--target", server.url, "--duration", "7s", "--users", "4")
    itf = next(iter(got["interfaces"].values()))
    lat = itf["latency_all"]
    # The closed model's blind spot, as in the issue: the 4 users wait out each stall, so only the few calls in
    # flight when it began meet it (the server held `held` of them) and the p99 stays at loopback speed.
    assert server.held <= 4 * 3, server.held  # at most 4 users x the stalls (7 s of load, 2 s of startup: <= 3)
    assert lat["p99"] < 100 and lat["max"] >= 900, lat  # a held call waited out (most of) a 1 s stall
    assert not itf["separate_service"] and itf["service_all"] == lat  # closed model: one measurement
    stalls = got["generator"]["stalls"]
    assert stalls["assessed"] and stalls["dips"], stalls
    # Each 1 s stall leaves about 1 s of calls unsent: between a quarter and two seconds' worth (a second at the
    # edge of the window can miss part of a stall, the rate of a loaded machine varies), and queued behind slow calls.
    assert all(d["queued"] for d in stalls["dips"]), stalls
    assert 0.25 <= stalls["omitted_calls"] / stalls["median_rps"] / len(stalls["dips"]) <= 2.0, stalls
    assert 0.05 <= stalls["omitted_fraction"] <= 0.45 and stalls["inconclusive"] is True, stalls
    assert "inconclusive" in stalls["message"] and "--rate" in stalls["message"]
    assert summary["requests"] == got["generator"]["calls"]["completed"] == got["generator"]["calls"]["sent"]
    # and the verdict: the targets look met (p99 at loopback speed) but the stall hid the calls that would have
    # met it: never a pass, and the reason says why
    assert summary["verdict"] == "inconclusive", summary["verdict_reason"]
    assert "were never sent" in summary["verdict_reason"] and summary["stall_warning"] == stalls["message"]
    assert summary["generator"]["stalls"]["inconclusive"] is True


def test_open_model_times_each_call_from_its_planned_send_and_keeps_the_service_time(tmp_path: Path, scenario) -> None:
    with Server(period=5, hold=1) as server:
        got, summary = probe(tmp_path, scenario(), "--target", server.url, "--duration", "6s", "--rate", "200")
    itf = next(iter(got["interfaces"].values()))
    gen = got["generator"]
    # About a fifth of the arrivals land in a stall and wait out its rest (uniform over 0..1 s): p99 ~ 0.95 s.
    assert itf["latency_all"]["p99"] >= 800, itf
    assert itf["separate_service"] and gen["latency_from"] == "planned send time"
    # Service time is timed from the actual send, so never above the time from the planned one, and the calls that
    # met no stall were answered at loopback speed either way.
    assert itf["service_all"]["max"] <= itf["latency_all"]["max"] and itf["service_all"]["p50"] < 50, itf
    assert summary["interfaces"][0]["latency_ms_all_calls"] == itf["latency_all"]  # what summary.json now shows
    calls = gen["calls"]
    schedule = gen["schedule"]
    assert calls["planned"] == schedule["due"] == 1200 and calls["dropped"] == 0  # 200/s x 6 s; 2,000 may be in flight
    # 200 calls a second leave the generator idle most of the time: it sends on time (tolerance: 5 % sent 10 ms or
    # more late, for a neighbour that takes the core for a moment on a busy machine)
    assert schedule["sent_late"] <= 0.05 * calls["sent"], schedule
    assert calls["sent"] == calls["completed"] == summary["requests"] == server.requests, (calls, server.requests)
    assert server.held >= 0.1 * server.requests, (server.held, server.requests)  # the stalls met ~20 % of calls


# --------------------------------------------------------------------------- the generator's own CPU


def test_an_overloaded_generator_says_so_even_in_a_short_run(tmp_path: Path) -> None:
    got, summary = probe(tmp_path, PILOT, "--rate", "8000", "--duration", "3s", "--success-rate", "0.5")
    cpu = got["generator"]["cpu"]["local"]
    # 8,000 arrivals a second is more than one Python process can send and time: it runs flat out from the start.
    assert cpu["demand"] >= 0.9 and cpu["busy"], cpu
    assert got["generator"]["timing_lagged"], got["generator"]  # its calls went out late, its loop ran late
    assert summary["generator_cpu_saturated"] is True and got["cpu_saturated"] is True
    assert abs(summary["generator_cpu_s"] - cpu["cpu_s"]) < 0.002 and cpu["window_s"] < 3.5
    calls = got["generator"]["calls"]
    schedule = got["generator"]["schedule"]
    assert calls["planned"] == 24000 and calls["sent"] + calls["dropped"] == schedule["due"] <= calls["planned"]
    assert schedule["sent_late"] >= 0.5 * calls["sent"], schedule  # behind its schedule from the first second
    assert calls["completed"] == summary["requests"] <= calls["sent"]
    itf = next(iter(got["interfaces"].values()))
    # Behind its schedule, the generator sends late: time from the planned send exceeds the service time.
    assert itf["latency_all"]["p50"] > itf["service_all"]["p50"] + 20, itf


def test_a_light_run_is_not_saturated(tmp_path: Path, scenario) -> None:
    with Server() as server:
        got, summary = probe(tmp_path, scenario(think="0.1s"), "--target", server.url, "--duration", "3s",
                             "--users", "2")
    cpu = got["generator"]["cpu"]["local"]
    assert cpu["demand"] < 0.5 and not cpu["busy"], cpu  # 2 users, 20 calls a second: a few % of a core
    assert 2.5 <= cpu["window_s"] <= 4 and summary["generator_cpu_saturated"] is False
    assert got["generator"]["calls"]["planned"] is None and server.requests == summary["requests"]


# --------------------------------------------------------------------------- dropped arrivals across workers


def test_dropped_arrivals_are_counted_across_workers(tmp_path: Path, scenario) -> None:
    # A provider that answers nothing within the run, and 10 calls in flight per arrival user: each worker sends
    # its first 10 arrivals, which hold their slot until they time out (4 s, after the 2 s schedule), and drops the
    # rest. So, by construction: sent = completed = 2 x 10, and dropped = the arrivals that came due - 20.
    with Server(never=True) as server:
        got, summary = probe(tmp_path, scenario(timeout="4s"), "--target", server.url, "--duration", "2s",
                             "--rate", "100", "--workers", "2", env=run_env(MVPTEST_MAX_IN_FLIGHT="10"))
    gen = got["generator"]
    calls = gen["calls"]
    assert calls["planned"] == 200
    assert calls["sent"] == calls["completed"] == 20 == server.requests == summary["requests"], (calls, server.requests)
    assert summary["interfaces"][0]["failures"]["transport"] == 20  # every one timed out
    # Each worker's arrivals come due on its own clock; one that receives the spawn late on a loaded machine is cut
    # at the master's stop (see test_run's open-model worker test): tolerance 5 % of the schedule.
    assert 190 <= summary["load"]["intended_requests"] <= 200
    assert calls["dropped"] == summary["load"]["intended_requests"] - 20 == summary["load"]["dropped_arrivals"]
    workers = {k: v for k, v in gen["cpu"].items() if k != "master"}
    assert len(workers) == 2 and "master" in gen["cpu"], gen["cpu"]
    assert all(v["window_s"] >= 1.5 and not v["busy"] for v in workers.values()), gen["cpu"]
    assert abs(got["generator_cpu_s"] - sum(v["cpu_s"] for v in workers.values())) < 0.01
