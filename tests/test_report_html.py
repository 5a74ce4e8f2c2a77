"""report.html in a real browser: a faulty pilot run's page opens offline in headless Chromium, every chart drawn
with data points, no console error, no request leaving the page; the screenshot is kept as a test artifact.

The run is a subprocess (Locust patches the process that imports it); Chromium is Debian's ``chromium``
(``apt-get install -y chromium``; .ci/run installs it). Without it the browser test skips, saying so."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_run import ROOT, describe, mvptest

from mvptest.report.run_text import pct

ARTIFACTS = ROOT / "results" / "test-artifacts"
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
REG = "market-supervision/enterprise-registration"


def faulty_scenario(folder: Path) -> Path:
    """The pilot on the sandbox with every fault class and latency spikes (p99 150 ms against a 120 ms target)."""
    path = folder / "faulty.yaml"
    path.write_text(f"""kind: scenario
name: faulty-pilot
specs: [{(ROOT / "specs/market-supervision/enterprise-registration.yaml").as_posix()}]
consumers: [{(ROOT / "specs/tax/enterprise-registration.yaml").as_posix()}]
interfaces: [{REG}]
target: sandbox
sandbox: {{seed: 7, latency_ms: "p50=5,p99=150", error_rate: 0.03, invalid_rate: 0.03, reset_rate: 0.02}}
load: {{users: 4, spawn_rate: 2, duration: 3s, timeout: 5s}}
targets: {{success_rate: 0.999, latency_ms: {{p95: 100, p99: 120}}}}
""", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def faulty_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    folder = tmp_path_factory.mktemp("faulty")
    proc = mvptest("run", faulty_scenario(folder), "--results-dir", folder / "results", "--run-id", "faulty",
                   timeout=90)
    return proc, folder / "results" / "faulty"


# Chromium's own services (clock, sign-in, updates) call these whatever the page; the page itself names no host
BROWSER_HOSTS = re.compile(r"^(?:[a-z0-9-]+\.)*(?:google\.com|googleapis\.com|gstatic\.com|gvt1\.com)$")


@contextlib.contextmanager
def recording_proxy() -> Iterator[tuple[int, list[str]]]:
    """A proxy on loopback that answers nothing: it records the first line of every request and closes. Every
    request the browser makes goes here (all names resolve to nothing else), so nothing leaves the machine."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    seen: list[str] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                with contextlib.suppress(OSError):
                    seen.append(conn.recv(512).split(b"\r\n")[0].decode("latin-1"))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], seen
    finally:
        server.close()
        thread.join(timeout=5)


def requested_hosts(lines: list[str]) -> set[str]:
    """Hosts of 'GET http://host/...' and 'CONNECT host:443' request lines."""
    found = set()
    for line in lines:
        m = re.match(r"^(?:CONNECT ([^: ]+)|[A-Z]+ [a-z]+://([^/: ]+))", line)
        if m:
            found.add(m.group(1) or m.group(2))
    return found


def chromium(proxy_port: int, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    offline = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
               f"--proxy-server=http://127.0.0.1:{proxy_port}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
               "--disable-background-networking", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([CHROMIUM, *offline, *args], capture_output=True, text=True, timeout=timeout)


def test_the_faulty_run_writes_a_report_with_every_section(faulty_run) -> None:
    proc, run_dir = faulty_run
    assert proc.returncode == 1, describe(proc)  # faults: the success-rate target is missed
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    s = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    [itf] = s["interfaces"]
    for fetch in ("<script", "<link", "src=", "href=", "@import", "url("):
        assert fetch not in page  # self-contained
    assert '"PingFang SC","Microsoft YaHei","Noto Sans CJK SC"' in page  # CJK from system fonts
    # the verdict first: the badge and the sentence come before any table
    assert page.index("The run fails") < page.index("<table")
    assert f"{REG}: success rate" in page and "misses &gt;= 99.9 %" in page
    # rates as percentages, never raw decimals
    assert pct(itf["success_rate"]) in page and str(itf["success_rate"]) not in page
    for heading in ("Targets", "Request statistics", "Response time percentiles (all calls)", "Failures",
                    "Failures by distinct message", "Failure samples (values masked)",
                    "Schema failures by field", "Compatibility with the consumers", "Format issues by field",
                    "Conditions of the run"):
        assert f">{heading}" in page, heading
    for kind in ("run-rps", "load", "rps", "latency", "percentiles", "histogram"):
        assert f'data-chart="{kind}"' in page, kind
    # the conditions: versions and the spec's content hash, the sandbox's faults
    cond = s["conditions"]
    assert cond["versions"]["locust"] and cond["versions"]["python"]
    spec = next(f for f in cond["files"] if f["kind"] == "spec")
    assert re.fullmatch(r"[0-9a-f]{64}", spec["sha256"]) and spec["sha256"] in page
    assert "error_rate=0.03" in page and "reset_rate=0.02" in page
    # failure counts by class, exactly as summary.json has them (which the sandbox's own count checks, test_run)
    for cat, n in itf["failures"].items():
        assert n > 0 and f"<td>{cat}</td><td class=num>{n:,}</td>" in page
    assert "/establishedDate" in page and "date-compact" in page  # the consumer's format issue, by field
    assert s["load"]["users_series"][-1][1] == 4  # users over time, as the engine reported them


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install -y chromium; .ci/run installs it)")
def test_report_opens_offline_in_chromium_with_charts_and_no_errors(faulty_run, tmp_path: Path) -> None:
    proc, run_dir = faulty_run
    assert proc.returncode == 1, describe(proc)
    url = (run_dir / "report.html").resolve().as_uri()
    control = tmp_path / "control.html"  # a page that fetches: proves the proxy sees what a page requests
    control.write_text('<!doctype html><p>x</p><img src="http://mvptest-probe.invalid/x.png">', encoding="utf-8")
    with recording_proxy() as (port, seen):
        chromium(port, "--dump-dom", control.as_uri())
        assert "mvptest-probe.invalid" in requested_hosts(seen), seen
        seen.clear()
        dom = chromium(port, "--dump-dom", url)
        page_requests = {h for h in requested_hosts(seen) if not BROWSER_HOSTS.match(h)}
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert not page_requests, page_requests  # no request left the page
    s = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    rows = (run_dir / "timeseries.csv").read_text(encoding="utf-8").strip().splitlines()[1:]
    charts = re.findall(r'<figure class="chart" data-chart="([a-z-]+)">(.*?)</figure>', dom.stdout, re.S)
    kinds = [k for k, _ in charts]
    assert kinds == ["run-rps", "load", "rps", "latency", "percentiles", "histogram"], kinds
    body = dict(charts)
    # exact by construction: one marker per second per series (requests/s and failures/s), three latency series
    assert body["rps"].count('<circle class="pt"') == 2 * len(rows)
    assert body["run-rps"].count('<circle class="pt"') == 2 * len(rows)
    with_latency = sum(1 for r in rows if r.split(",")[4])
    assert body["latency"].count('<circle class="pt"') == 3 * with_latency
    assert body["latency"].count('class="target"') == 2  # p95 and p99 targets drawn as lines
    assert body["histogram"].count('<rect class="bar"') == 40
    assert body["percentiles"].count('<circle class="pt"') >= 20
    assert body["load"].count('<circle class="pt"') == len(s["load"]["users_series"])
    for _kind, svg in charts:
        assert svg.count('class="tick"') >= 4 and 'class="grid"' in svg and 'class="label"' in svg  # axes
    errors = [line for line in dom.stderr.splitlines() if "Uncaught" in line or "CONSOLE(" in line]
    assert not errors, errors
    shot = tmp_path / "report.png"
    with recording_proxy() as (port, _seen):
        taken = chromium(port, "--window-size=1200,5200", f"--screenshot={shot}", "--hide-scrollbars", url)
    assert taken.returncode == 0 and shot.stat().st_size > 50_000, taken.stderr[-2000:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "report.png")
