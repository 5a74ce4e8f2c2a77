"""TLS and mutual TLS: a private CA made in the test, loopback HTTPS providers, real `mvptest run` and `compat --live`.

Every run is a subprocess (Locust patches the process that imports it). The providers are small threaded HTTPS
servers on 127.0.0.1:0 that count the requests they answered, so that what a run counted is held against what the
provider saw. Certificates come from trustme: one CA for servers, one for clients, one nobody trusts.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

ROOT = Path(__file__).resolve().parents[1]
BODY = b'{"ok": true, "name": "\xe5\xb8\x82\xe5\x9c\xba"}'

SPEC = """\
kind: interface
department: {id: test-dept, name: 测试局}
interfaces:
  - id: ping
    title: ping
    version: "1.0"
    method: GET
    path: /api/ping
    response:
      status: 200
      schema: {type: object, required: [ok, name], properties: {ok: {const: true}, name: {type: string}}}
    targets: {success_rate: 0.95, latency_ms: {p95: 2000}}  # a short run on a busy machine: TLS is what is tested
"""

REQUIREMENT = """\
kind: requirement
department: {id: consumer, name: 消费局}
consumes: test-dept/ping
usage: {mode: realtime, peak_rps: 5}
schema: {type: object, required: [ok], properties: {ok: {type: boolean}}}
"""


def scenario(tls: str = "") -> str:
    return f"""\
kind: scenario
name: tls-pilot
specs: [spec.yaml]
target: https://127.0.0.1:1
load: {{users: 2, spawn_rate: 2, duration: 2s, timeout: 5s}}
{tls}"""


# --------------------------------------------------------------------------- providers


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real provider
    disable_nagle_algorithm = True  # headers and body are written apart: no 40 ms delayed-ACK stall per call

    def do_GET(self) -> None:
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.requests += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: Any) -> None:
        pass


class HttpsProvider(ThreadingHTTPServer):
    """HTTPS on 127.0.0.1:0; the handshake runs in the connection's thread; counts requests and refused handshakes."""

    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.lock = threading.Lock()
        self.requests = 0
        self.refused: list[str] = []
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            conn = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            with self.lock:
                self.refused.append(getattr(exc, "reason", None) or type(exc).__name__)
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that goes away mid-connection (the run's stop) is no test failure


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Server CA, client CA, a stranger CA; PEM files written where the tests pass them."""
    d = tmp_path_factory.mktemp("pki")
    server_ca, client_ca, stranger = trustme.CA(), trustme.CA(), trustme.CA()
    server = server_ca.issue_cert("127.0.0.1", "localhost")
    elsewhere = server_ca.issue_cert("provider.example.gov.cn")
    client = client_ca.issue_cert("tax-bureau-client.example")
    outsider = stranger.issue_cert("tax-bureau-client.example")
    server_ca.cert_pem.write_to_path(str(d / "ca.pem"))
    stranger.cert_pem.write_to_path(str(d / "stranger-ca.pem"))
    client.cert_chain_pems[0].write_to_path(str(d / "client.crt"))
    client.private_key_pem.write_to_path(str(d / "client.key"))
    outsider.cert_chain_pems[0].write_to_path(str(d / "outsider.crt"))
    outsider.private_key_pem.write_to_path(str(d / "outsider.key"))
    (d / "client-both.pem").write_bytes(client.private_key_pem.bytes() + client.cert_chain_pems[0].bytes())
    return {"dir": d, "server_ca": server_ca, "client_ca": client_ca, "server": server, "elsewhere": elsewhere,
            "key_text": client.private_key_pem.bytes().decode()}


def _serve(cert: trustme.LeafCert, client_ca: trustme.CA | None = None) -> Iterator[HttpsProvider]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no request without a client certificate it trusts
        client_ca.configure_trust(ctx)
    server = HttpsProvider(ctx)
    server.thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def provider(pki: dict[str, Any]) -> Iterator[HttpsProvider]:
    yield from _serve(pki["server"])


@pytest.fixture
def mtls_provider(pki: dict[str, Any]) -> Iterator[HttpsProvider]:
    yield from _serve(pki["server"], pki["client_ca"])


@pytest.fixture
def pilot(tmp_path: Path) -> Path:
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    (tmp_path / "req.yaml").write_text(REQUIREMENT, encoding="utf-8")
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario(), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- helpers


def mvptest(*args: Any, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MVPTEST_DEBUG"}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", "PYTHONUNBUFFERED": "1"})
    return subprocess.run([sys.executable, "-m", "mvptest", *map(str, args)], cwd=ROOT, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def start(*args: Any) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "MVPTEST_DEBUG"}
    env.update({"NO_COLOR": "1", "COLUMNS": "200", "PYTHONUNBUFFERED": "1"})
    return subprocess.Popen([sys.executable, "-m", "mvptest", *map(str, args)], cwd=ROOT, env=env, text=True,
                            encoding="utf-8", stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run(scenario_path: Path, target: str, *args: Any) -> subprocess.CompletedProcess[str]:
    return mvptest("run", scenario_path, "--target", target, "--results-dir", scenario_path.parent / "results", *args)


def summary_of(scenario_path: Path) -> dict[str, Any]:
    dirs = [p for p in (scenario_path.parent / "results").iterdir() if p.name != "latest"]  # latest: a link to it
    assert len(dirs) == 1, dirs
    return json.loads((dirs[0] / "summary.json").read_text(encoding="utf-8"))


def assert_counted(scenario_path: Path, server: HttpsProvider, proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """A passing run whose every call succeeded, counted exactly as the provider answered them."""
    assert proc.returncode == 0, describe(proc)
    s = summary_of(scenario_path)
    itf = s["interfaces"][0]
    assert s["verdict"] == "pass" and itf["requests"] > 0
    assert itf["successes"] == itf["requests"], itf
    # Exact: the stop lets calls in flight finish, so the provider answered exactly the calls the run counted.
    assert server.requests == s["requests"] == itf["requests"]
    assert server.refused == []
    return s


def no_key_material(folder: Path, key_text: str) -> None:
    body = "".join(line for line in key_text.splitlines() if "-----" not in line)
    for f in folder.rglob("*"):
        if f.is_file():
            text = f.read_text(encoding="utf-8", errors="replace")
            assert "PRIVATE KEY" not in text and body[:40] not in text, f


# --------------------------------------------------------------------------- run


def test_run_without_the_private_ca_is_unreachable_and_says_certificate(pilot: Path, provider: HttpsProvider) -> None:
    proc = run(pilot, provider.url)
    assert proc.returncode == 3, describe(proc)
    assert "certificate verify failed: self-signed / unknown CA" in proc.stderr
    assert "--ca-bundle FILE" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert provider.requests == 0  # nothing was sent: the handshake failed before any request


def test_run_with_ca_bundle_counts_every_call_the_provider_answered(pilot: Path, provider: HttpsProvider,
                                                                      pki: dict[str, Any]) -> None:
    proc = run(pilot, provider.url, "--ca-bundle", pki["dir"] / "ca.pem")
    assert_counted(pilot, provider, proc)


def test_mtls_without_client_certificate_is_unreachable_and_says_so(pilot: Path, mtls_provider: HttpsProvider,
                                                                    pki: dict[str, Any]) -> None:
    proc = run(pilot, mtls_provider.url, "--ca-bundle", pki["dir"] / "ca.pem")
    assert proc.returncode == 3, describe(proc)
    assert "the server wants a client certificate (mutual TLS), and none was sent" in proc.stderr
    assert "--client-cert FILE" in proc.stderr and "Traceback" not in proc.stderr
    assert mtls_provider.requests == 0 and len(mtls_provider.refused) == 1  # the preflight handshake only


def test_mtls_with_client_certificate_passes(pilot: Path, mtls_provider: HttpsProvider, pki: dict[str, Any]) -> None:
    d = pki["dir"]
    proc = run(pilot, mtls_provider.url, "--ca-bundle", d / "ca.pem", "--client-cert", d / "client.crt",
               "--client-key", d / "client.key")
    assert_counted(pilot, mtls_provider, proc)
    no_key_material(pilot.parent / "results", pki["key_text"])
    assert "PRIVATE KEY" not in proc.stdout + proc.stderr


def test_scenario_tls_key_with_a_worker_gets_the_pem_over_the_wire(pilot: Path, mtls_provider: HttpsProvider,
                                                                   pki: dict[str, Any]) -> None:
    """Paths relative to the scenario; the worker process gets PEM contents in the plan, not paths."""
    certs = pilot.parent / "certs"
    certs.mkdir()
    for name in ("ca.pem", "client-both.pem"):
        (certs / name).write_bytes((pki["dir"] / name).read_bytes())
    pilot.write_text(scenario("tls: {ca_bundle: certs/ca.pem, client_cert: certs/client-both.pem, verify: true}\n"),
                     encoding="utf-8")
    proc = run(pilot, mtls_provider.url, "--workers", "1")
    s = assert_counted(pilot, mtls_provider, proc)
    assert s["workers"] == 1
    no_key_material(pilot.parent / "results", pki["key_text"])


def test_remote_worker_verifies_with_its_own_ca_bundle(pilot: Path, provider: HttpsProvider, pki: dict[str, Any],
                                                      tmp_path: Path) -> None:
    """The load itself verifies (Locust's FastHttpUser does not by default), and a worker's --ca-bundle overrides the
    master's: the master trusts the provider's CA, the worker trusts another, so each of its calls fails verification."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    master = start("run", pilot, "--target", provider.url, "--ca-bundle", pki["dir"] / "ca.pem", "--master",
                   "--expect-workers", "1", "--master-port", port, "--results-dir", tmp_path / "results")
    worker = start("worker", "--master", f"127.0.0.1:{port}", "--ca-bundle", pki["dir"] / "stranger-ca.pem")
    try:
        m_out, m_err = master.communicate(timeout=90)
        _, w_err = worker.communicate(timeout=30)
    finally:
        for proc in (master, worker):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert master.returncode == 1, m_out + m_err
    assert worker.returncode == 0, w_err
    s = summary_of(pilot)
    itf = s["interfaces"][0]
    assert itf["requests"] > 0 and itf["successes"] == 0
    assert itf["failures"]["transport"] == itf["requests"]
    assert provider.requests == 0  # no request got past the handshake
    messages = {x["message"] for x in itf["failure_samples"]["transport"]}
    assert messages and all(m.startswith("certificate verify failed: self-signed / unknown CA") for m in messages), messages


def test_run_bad_tls_files_are_bad_input_naming_the_file(pilot: Path, pki: dict[str, Any]) -> None:
    d = pki["dir"]
    (pilot.parent / "not.pem").write_text("hello\n", encoding="ascii")
    proc = run(pilot, "https://127.0.0.1:1", "--ca-bundle", pilot.parent / "missing.pem")
    assert proc.returncode == 2, describe(proc)
    assert "missing.pem: no such file" in proc.stderr and "Traceback" not in proc.stderr
    proc = run(pilot, "https://127.0.0.1:1", "--client-cert", d / "client.crt", "--client-key", d / "outsider.key")
    assert proc.returncode == 2, describe(proc)
    assert "outsider.key: the private key does not match the certificate" in proc.stderr
    # in the scenario: the message names the scenario's line
    pilot.write_text(scenario("tls:\n  ca_bundle: not.pem\n"), encoding="utf-8")
    proc = run(pilot, "https://127.0.0.1:1")
    assert proc.returncode == 2, describe(proc)
    assert "scenario.yaml:7" in proc.stderr and "tls.ca_bundle" in proc.stderr and "not.pem" in proc.stderr
    assert "is not a PEM certificate bundle" in proc.stderr
    assert not (pilot.parent / "results").exists() or not any((pilot.parent / "results").iterdir())


def test_scenario_refuses_tls_verify_false(pilot: Path) -> None:
    pilot.write_text(scenario("tls: {verify: false}\n"), encoding="utf-8")
    proc = mvptest("spec", "check", pilot)
    assert proc.returncode == 2, describe(proc)
    assert "tls.verify" in proc.stderr + proc.stdout


# --------------------------------------------------------------------------- compat --live


def compat_live(pilot: Path, url: str, *args: Any) -> subprocess.CompletedProcess[str]:
    return mvptest("compat", pilot.parent / "spec.yaml", pilot.parent / "req.yaml", "--live", url, "--samples", "5",
                   "--rate", "100", *args)


def test_compat_live_names_the_certificate_not_refused_connections(pilot: Path, provider: HttpsProvider,
                                                                   pki: dict[str, Any]) -> None:
    proc = compat_live(pilot, provider.url)
    assert proc.returncode == 3, describe(proc)
    assert "certificate verify failed: self-signed / unknown CA" in proc.stderr
    assert "refuses connections" not in proc.stderr and "Traceback" not in proc.stderr
    proc = compat_live(pilot, provider.url, "--ca-bundle", pki["dir"] / "ca.pem")
    assert proc.returncode == 0, describe(proc)
    assert provider.requests == 5


def test_compat_live_mutual_tls(pilot: Path, mtls_provider: HttpsProvider, pki: dict[str, Any]) -> None:
    d = pki["dir"]
    proc = compat_live(pilot, mtls_provider.url, "--ca-bundle", d / "ca.pem")
    assert proc.returncode == 3, describe(proc)
    assert "the server wants a client certificate (mutual TLS), and none was sent" in proc.stderr
    proc = compat_live(pilot, mtls_provider.url, "--ca-bundle", d / "ca.pem", "--client-cert", d / "outsider.crt",
                       "--client-key", d / "outsider.key")
    assert proc.returncode == 3, describe(proc)
    assert "the server does not trust the client certificate" in proc.stderr
    proc = compat_live(pilot, mtls_provider.url, "--ca-bundle", d / "ca.pem", "--client-cert", d / "client-both.pem")
    assert proc.returncode == 0, describe(proc)
    assert mtls_provider.requests == 5


def test_compat_live_hostname_mismatch(pilot: Path, pki: dict[str, Any]) -> None:
    for server in _serve(pki["elsewhere"]):
        proc = compat_live(pilot, server.url, "--ca-bundle", pki["dir"] / "ca.pem")
        assert proc.returncode == 3, describe(proc)
        assert "hostname mismatch" in proc.stderr and server.requests == 0


@pytest.mark.parametrize("args, message", [
    (["--ca-bundle", "{tmp}/missing.pem"], "missing.pem: no such file"),
    (["--ca-bundle", "{tmp}/not.pem"], "not.pem: is not a PEM certificate bundle"),
    (["--client-cert", "{pki}/client.crt"], "client.crt: holds no private key"),
    (["--client-key", "{pki}/client.key"], "--client-key needs --client-cert"),
    (["--client-cert", "{pki}/client.crt", "--client-key", "{tmp}/encrypted.key"], "is an encrypted private key"),
    (["--client-cert", "{pki}/client.crt", "--client-key", "{pki}/ca.pem"], "is not a PEM private key"),
])
def test_compat_bad_tls_files_exit_2(pilot: Path, pki: dict[str, Any], args: list[str], message: str) -> None:
    tmp = pilot.parent
    (tmp / "not.pem").write_text("not a certificate\n", encoding="ascii")
    (tmp / "encrypted.key").write_text("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
                                       encoding="ascii")
    proc = compat_live(pilot, "https://127.0.0.1:1", *[a.format(tmp=tmp, pki=pki["dir"]) for a in args])
    assert proc.returncode == 2, describe(proc)
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.count("error:") == 1
