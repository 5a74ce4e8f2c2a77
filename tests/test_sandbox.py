"""The built-in sandbox (`mvptest sandbox`): valid synthetic data, injected faults, HTTP robustness, the CLI.

Most tests run the real server in this process (SandboxThread, 127.0.0.1, port 0) and talk to it with
requests, http.client or raw sockets; two run `mvptest sandbox` as a child process (port in use, SIGINT).
Fault draws come from the seed, so the statistical tests are deterministic as well as bounded.
"""

from __future__ import annotations

import http.client
import json
import math
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from mvptest.sandbox.app import SandboxApp
from mvptest.sandbox.faults import FaultConfig, LatencyModel
from mvptest.sandbox.server import SandboxProcess, SandboxThread
from mvptest.spec.check import load_specs
from mvptest.spec.model import Interface
from mvptest.synth import Synthesizer
from mvptest.validation.compiled import CompiledSchema

ROOT = Path(__file__).resolve().parents[1]
MARKET = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"
SOCIAL = ROOT / "specs" / "social-security" / "insured-person.yaml"

REGISTRATION = "market-supervision/enterprise-registration"
SEARCH = "market-supervision/enterprise-search"
INSURED = "social-security/insured-person"

VALID_USCC = "91110000600037341L"  # the spec's example
LEGACY_FUJIAN_USCC = "91350100M0001TGQXM"  # fails the 18th character only: a warning under the market spec
VALID_ID = "11010519491231002X"  # the social-security spec's example


# --------------------------------------------------------------------------- specs and helpers


def _interfaces() -> dict[str, Interface]:
    specset = load_specs([MARKET, SOCIAL])
    assert not specset.errors, specset.errors
    return {itf.key: itf for itf in specset.interfaces}


ITFS = _interfaces()


def validator(key: str) -> CompiledSchema:
    """The response validator exactly as `mvptest validate` builds it (validation/engine.py)."""
    itf = ITFS[key]
    return CompiledSchema(itf.response_schema, format_options=itf.format_options, sensitive=itf.sensitive)


def param_values(key: str, name: str, rng: random.Random, n: int) -> list[Any]:
    """n distinct synthetic values of one parameter, valid for its schema."""
    param = next(p for p in ITFS[key].parameters if p.name == name)
    synth = Synthesizer(param.schema)
    out: list[Any] = []
    while len(out) < n:
        value = synth.generate(rng)
        if value not in out:
            out.append(value)
    return out


@dataclass
class Sandbox:
    """One in-process sandbox and the ways to talk to it."""

    thread: SandboxThread
    app: SandboxApp

    @property
    def url(self) -> str:
        return self.thread.url

    @property
    def port(self) -> int:
        return self.thread.server.port

    def get(self, target: str, **kw: Any) -> requests.Response:
        return requests.get(self.url + target, timeout=kw.pop("timeout", 5), **kw)

    def connection(self, timeout: float = 5) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def stats(self) -> dict[str, Any]:
        resp = self.get("/__mvptest/stats")
        assert resp.status_code == 200
        return resp.json()

    def open_connections(self) -> int:
        return len(self.thread.server.connections)


def _start(keys: list[str], *, seed: int = 0, faults: FaultConfig | None = None) -> Sandbox:
    app = SandboxApp([ITFS[k] for k in keys], seed=seed, faults=faults)
    thread = SandboxThread(app, host="127.0.0.1", port=0)
    thread.start()
    return Sandbox(thread, app)


@pytest.fixture(scope="module")
def shared() -> Iterator[Sandbox]:
    """Every interface of both specs, seed 1, no faults. Tests that count in /__mvptest/stats use their own."""
    box = _start([REGISTRATION, SEARCH, INSURED], seed=1)
    yield box
    box.thread.stop()


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """``sandbox(keys, seed=..., **fault_config)`` -> a fresh Sandbox, stopped when the test ends."""
    started: list[Sandbox] = []

    def start(keys: list[str] | None = None, *, seed: int = 0, **faults: Any) -> Sandbox:
        box = _start(keys or [REGISTRATION], seed=seed, faults=FaultConfig(**faults) if faults else None)
        started.append(box)
        return box

    yield start
    for box in started:
        box.thread.stop()


def _connect(port: int, timeout: float = 5) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_responses(sock: socket.socket, methods: list[str]) -> tuple[list[tuple[int, dict[str, str], bytes]], bool]:
    """Read one response per request method (HEAD answers have no body) from a raw socket.

    Returns the parsed responses (status, lower-cased headers, body) and whether the server closed the
    connection (EOF or reset): waited for only when the last response says ``Connection: close``, or when the
    server stops before all the responses asked for.
    """
    buf = b""
    out: list[tuple[int, dict[str, str], bytes]] = []
    closed = False
    while True:
        while len(out) < len(methods):
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = 0 if methods[len(out)] == "HEAD" else int(headers.get("content-length", "0"))
            if len(buf) < end + 4 + length:
                break
            out.append((int(head[0].split()[1]), headers, buf[end + 4:end + 4 + length]))
            buf = buf[end + 4 + length:]
        if len(out) == len(methods) and out[-1][1].get("connection") != "close":
            break
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        except TimeoutError:
            break  # the connection stays open
        if not chunk:  # everything received was parsed above
            closed = True
            break
        buf += chunk
    return out, closed


def exchange(port: int, payload: bytes, methods: list[str] | None = None, *, timeout: float = 3):
    """Send raw bytes on a fresh connection; the responses and whether the server closed the connection."""
    with _connect(port, timeout) as sock:
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early and closed: the answer is still in our receive buffer
        return read_responses(sock, methods or ["GET"])


def get_request(target: str, *, close: bool = False, method: str = "GET") -> bytes:
    extra = "Connection: close\r\n" if close else ""
    return f"{method} {target} HTTP/1.1\r\nHost: sandbox\r\n{extra}\r\n".encode()


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def within_binomial(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    mean = n * p
    return abs(count - mean) <= sigmas * math.sqrt(n * p * (1 - p))


# --------------------------------------------------------------------------- valid data


def test_a_thousand_responses_are_valid_against_the_spec(shared: Sandbox) -> None:
    """1,000 requests over three interfaces of two specs: every answer is the spec's status, JSON, and valid
    under the validator `mvptest validate` uses (strictly: not even a warning), echoing its path parameter."""
    rng = random.Random(2024)
    validators = {key: validator(key) for key in ITFS}
    usccs = param_values(REGISTRATION, "uscc", rng, 200)
    ids = param_values(INSURED, "idNumber", rng, 200)
    names = param_values(SEARCH, "name", rng, 50)
    per_interface: Counter = Counter()
    with requests.Session() as session:
        for i in range(1000):
            key = (REGISTRATION, SEARCH, INSURED)[i % 3]
            if key == REGISTRATION:
                echo = ("uscc", rng.choice(usccs))
                target = f"/api/v1/enterprises/{quote(echo[1])}"
            elif key == INSURED:
                echo = ("idNumber", rng.choice(ids))
                target = f"/api/v1/insured-persons/{quote(echo[1])}"
            else:
                echo = None
                target = f"/api/v1/enterprises?name={quote(rng.choice(names))}"
                if rng.random() < 0.5:
                    target += f"&page={rng.randint(1, 50)}"
            resp = session.get(shared.url + target, timeout=5)
            assert resp.status_code == ITFS[key].response_status, (target, resp.text)
            assert resp.headers["Content-Type"].startswith("application/json")
            body = resp.json()
            errors = validators[key].errors(body)
            assert validators[key].is_valid(body) and errors == [], (target, errors)
            if echo is not None:
                assert body[echo[0]] == echo[1], target
            per_interface[key] += 1
    assert sum(per_interface.values()) == 1000
    assert min(per_interface.values()) >= 333


def test_same_parameter_same_record_echoing_it(shared: Sandbox) -> None:
    rng = random.Random(7)
    usccs = param_values(REGISTRATION, "uscc", rng, 15)
    first = {u: shared.get(f"/api/v1/enterprises/{u}").content for u in usccs}
    for u in usccs:
        again = shared.get(f"/api/v1/enterprises/{u}")  # a new connection, later: the same bytes
        assert again.status_code == 200
        assert again.content == first[u]
        assert again.json()["uscc"] == u
    assert len({json.loads(b)["enterpriseName"] + json.loads(b)["registeredAddress"] for b in first.values()}) == len(usccs)

    # the insured person echoes the resident ID, and what the ID encodes agrees with it
    for id_number in [*param_values(INSURED, "idNumber", rng, 10), VALID_ID]:
        a = shared.get(f"/api/v1/insured-persons/{id_number}")
        b = shared.get(f"/api/v1/insured-persons/{id_number}")
        assert a.status_code == 200 and a.content == b.content
        person = a.json()
        assert person["idNumber"] == id_number
        assert person["birthDate"] == f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"
        assert person["gender"] == ("1" if int(id_number[16]) % 2 else "2")


def test_codes_the_spec_downgrades_to_warnings_are_served(shared: Sandbox) -> None:
    """The market spec makes a legacy Fujian check character a warning, the social-security spec a lower-case x:
    a provider serves those records, so the sandbox must not reject them as malformed parameters."""
    resp = shared.get(f"/api/v1/enterprises/{LEGACY_FUJIAN_USCC}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["uscc"] == LEGACY_FUJIAN_USCC
    errors = validator(REGISTRATION).errors(body)
    assert [(e.field, e.severity, e.code) for e in errors] == [("/uscc", "warning", "legacy-check-char")]
    # the same rule covers any code whose organisation code passes and whose last character does not
    assert shared.get(f"/api/v1/enterprises/{VALID_USCC[:-1]}X").json()["uscc"] == VALID_USCC[:-1] + "X"

    lower = VALID_ID[:-1] + "x"
    resp = shared.get(f"/api/v1/insured-persons/{lower}")
    assert resp.status_code == 200, resp.text
    assert resp.json()["idNumber"] == lower
    assert [(e.field, e.severity) for e in validator(INSURED).errors(resp.json())] == [("/idNumber", "warning")]


# --------------------------------------------------------------------------- documented errors


@pytest.mark.parametrize(
    ("target", "parameter", "where", "error"),
    [
        ("/api/v1/enterprises/911100006000373X1L", "uscc", "path", "invalid-parameter"),  # organisation code check
        ("/api/v1/enterprises/Z1110000600037341L", "uscc", "path", "invalid-parameter"),  # outside the alphabet
        ("/api/v1/enterprises/9111000060003734", "uscc", "path", "invalid-parameter"),  # 16 characters
        ("/api/v1/enterprises/91110000600037341l", "uscc", "path", "invalid-parameter"),  # lower case
        ("/api/v1/enterprises/%E4%B8%AD%E6%96%87", "uscc", "path", "invalid-parameter"),  # not a code at all
        ("/api/v1/insured-persons/110105194912310021", "idNumber", "path", "invalid-parameter"),  # check character
        ("/api/v1/insured-persons/110105194913310029", "idNumber", "path", "invalid-parameter"),  # 13th month
        ("/api/v1/enterprises?name=x", "name", "query", "invalid-parameter"),  # minLength 2
        ("/api/v1/enterprises", "name", "query", "missing-parameter"),
        ("/api/v1/enterprises?name=ab&page=0", "page", "query", "invalid-parameter"),
        ("/api/v1/enterprises?name=ab&page=two", "page", "query", "invalid-parameter"),
    ],
)
def test_bad_parameter_is_400_json_naming_it(shared: Sandbox, target: str, parameter: str, where: str, error: str) -> None:
    resp = shared.get(target)
    assert resp.status_code == 400
    assert resp.headers["Content-Type"].startswith("application/json")
    body = resp.json()
    assert body["error"] == error
    assert body["parameter"] == parameter
    assert body["in"] == where
    assert parameter in body["message"]


def test_unknown_path_is_404_json_listing_the_interfaces(shared: Sandbox) -> None:
    for target in ("/", "/api/v1/companies/91110000600037341L", "/api/v1/enterprises/91110000600037341L/extra"):
        resp = shared.get(target)
        assert resp.status_code == 404, target
        body = resp.json()
        assert body["error"] == "not-found"
        assert "GET /api/v1/enterprises/{uscc}" in body["interfaces"]
    resp = shared.get("/__mvptest/nothing")
    assert resp.status_code == 404 and "/__mvptest/stats" in resp.json()["endpoints"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405_with_allow(shared: Sandbox, method: str) -> None:
    resp = requests.request(method, f"{shared.url}/api/v1/enterprises/{VALID_USCC}", json={}, timeout=5)
    assert resp.status_code == 405
    assert resp.headers["Allow"] == "GET"
    assert resp.json()["error"] == "method-not-allowed" and resp.json()["allowed"] == ["GET"]
    head = requests.head(f"{shared.url}/api/v1/enterprises/{VALID_USCC}", timeout=5)  # HEAD is GET without a body
    assert head.status_code == 200 and head.content == b"" and int(head.headers["Content-Length"]) > 0


@pytest.mark.parametrize(
    ("name", "payload", "status", "message"),
    [
        ("huge body", b"POST /api/v1/enterprises/91110000600037341L HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\n\r\n"
         + b"x" * (1024 * 1024 + 1), 413, "body is larger than 1048576 bytes"),
        ("declared huge body, none sent", b"POST /api/v1/enterprises/91110000600037341L HTTP/1.1\r\nHost: x\r\n"
         b"Content-Length: 2097152\r\n\r\n", 413, "body is larger than 1048576 bytes"),  # refused before the body
        ("huge URI", get_request("/api/v1/enterprises/" + "9" * 9000), 414, "longer than 8192 bytes"),
        ("huge headers", b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"v" * 1000) for i in range(70))
         + b"\r\n", 431, "headers are larger than 65536 bytes"),
    ],
)
def test_size_limits(shared: Sandbox, name: str, payload: bytes, status: int, message: str) -> None:
    responses, closed = exchange(shared.port, payload)
    assert len(responses) == 1, name
    got, headers, body = responses[0]
    assert got == status, (name, body)
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"] == "bad-request" and message in json.loads(body)["message"]
    assert closed and headers["connection"] == "close"
    assert shared.get("/__mvptest/health").json() == {"status": "ok"}


def test_size_limits_through_requests(shared: Sandbox) -> None:
    """The same limits as an ordinary client sees them."""
    assert requests.post(f"{shared.url}/api/v1/enterprises/{VALID_USCC}", data=b"x" * (2 * 1024 * 1024), timeout=5).status_code == 413
    assert shared.get("/" + "a" * 10_000).status_code == 414
    assert shared.get("/", headers={f"X-Pad-{i}": "v" * 1000 for i in range(70)}).status_code == 431
    # just under every limit is an ordinary request
    assert shared.get(f"/api/v1/enterprises/{VALID_USCC}?" + "a" * 8000).status_code == 200
    assert shared.get(f"/api/v1/enterprises/{VALID_USCC}", headers={f"X-Pad-{i}": "v" * 1000 for i in range(60)}).status_code == 200


@pytest.mark.parametrize(
    "payload",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost x\r\n\r\n",  # no colon
        b"GET /api/v1/enterprises/9111000060003734\xe4\xb8\xad HTTP/1.1\r\nHost: x\r\n\r\n",  # raw UTF-8 in the target
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  # an HTTP/2 client
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)),  # a TLS client hello (https://)
        b"\x00\xff" * 100,
    ],
)
def test_malformed_http_is_400_and_the_server_stays_up(shared: Sandbox, payload: bytes) -> None:
    responses, closed = exchange(shared.port, payload)
    assert [r[0] for r in responses] == [400]
    assert json.loads(responses[0][2])["error"] == "bad-request"
    assert "malformed HTTP request" in json.loads(responses[0][2])["message"]
    assert closed
    assert shared.get(f"/api/v1/enterprises/{VALID_USCC}").json()["uscc"] == VALID_USCC


def test_upgrade_request_is_answered_once_then_closed(shared: Sandbox) -> None:
    """Upgrade (WebSocket) and CONNECT are answered as plain HTTP/1.1, exactly once, and the connection closes:
    a second, unsolicited response would be read as the answer to the client's next request."""
    upgrade = (f"GET /api/v1/enterprises/{VALID_USCC} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\n\r\n").encode()
    with _connect(shared.port, timeout=1) as sock:
        sock.sendall(upgrade)
        responses, closed = read_responses(sock, ["GET", "GET"])  # ask for two: there must be one
    assert [r[0] for r in responses] == [200] and closed
    assert json.loads(responses[0][2])["uscc"] == VALID_USCC
    assert responses[0][1]["connection"] == "close"

    responses, closed = exchange(shared.port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", ["GET", "GET"], timeout=1)
    assert len(responses) == 1 and responses[0][0] in (400, 404, 405) and closed


def test_absolute_form_target_is_served(shared: Sandbox) -> None:
    """RFC 9112 3.2.2: a server must accept ``GET http://host/path`` (what a client behind a proxy setting sends)."""
    responses, _ = exchange(shared.port, get_request(f"http://127.0.0.1:{shared.port}/api/v1/enterprises/{VALID_USCC}", close=True))
    assert responses[0][0] == 200 and json.loads(responses[0][2])["uscc"] == VALID_USCC
    responses, _ = exchange(shared.port, get_request(f"http://sandbox/api/v1/enterprises?name={quote('科技')}&page=2", close=True))
    assert responses[0][0] == 200 and "items" in json.loads(responses[0][2])


# --------------------------------------------------------------------------- connections


def test_pipelined_requests_are_answered_in_order(shared: Sandbox) -> None:
    other = param_values(REGISTRATION, "uscc", random.Random(5), 1)[0]
    payload = (get_request(f"/api/v1/enterprises/{VALID_USCC}") + get_request(f"/api/v1/enterprises/{VALID_USCC}", method="HEAD")
               + get_request("/nowhere") + get_request(f"/api/v1/enterprises/{other}", close=True))
    with _connect(shared.port) as sock:
        sock.sendall(payload)  # four requests in one write
        responses, closed = read_responses(sock, ["GET", "HEAD", "GET", "GET"])
    assert [r[0] for r in responses] == [200, 200, 404, 200]
    assert json.loads(responses[0][2])["uscc"] == VALID_USCC
    assert responses[1][2] == b"" and responses[1][1]["content-length"] == str(len(responses[0][2]))
    assert json.loads(responses[2][2])["error"] == "not-found"
    assert json.loads(responses[3][2])["uscc"] == other
    assert closed  # the last one asked for Connection: close


def _kernel_send_buffer_max() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 * 1024 * 1024


def test_a_client_that_reads_late_gets_every_pipelined_response_in_order(shared: Sandbox) -> None:
    """Flow control: a client pipelines more responses than the kernel can buffer and reads none of them.
    The server stops reading from it (no unbounded buffering), serves other clients meanwhile, and resumes
    when the client reads: every response arrives, in order."""
    usccs = param_values(REGISTRATION, "uscc", random.Random(3), 20)
    size = min(len(shared.get(f"/api/v1/enterprises/{u}").content) for u in usccs) + 100  # + the head
    n = (_kernel_send_buffer_max() + 2 * 1024 * 1024) // size
    payload = b"".join(get_request(f"/api/v1/enterprises/{usccs[i % 20]}") for i in range(n))
    before = set(shared.thread.server.connections)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", shared.port))
    sender = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
    try:
        sender.start()
        # the server's side of this connection ends up paused: its peer does not read
        assert wait_until(lambda: any(c.paused for c in set(shared.thread.server.connections) - before), timeout=10)
        started = time.perf_counter()
        assert shared.get("/__mvptest/health", timeout=2).status_code == 200
        assert shared.get(f"/api/v1/enterprises/{VALID_USCC}", timeout=2).status_code == 200
        assert time.perf_counter() - started < 1.0
        responses, _ = read_responses(sock, ["GET"] * n)
        sender.join(5)
    finally:
        sock.close()
    assert len(responses) == n
    assert all(status == 200 for status, _, _ in responses)
    assert [json.loads(body)["uscc"] for _, _, body in responses] == [usccs[i % 20] for i in range(n)]


def test_idle_and_slow_clients_do_not_block_others(shared: Sandbox) -> None:
    baseline = shared.open_connections()
    idle = [_connect(shared.port) for _ in range(200)]
    slow = _connect(shared.port)
    request = get_request(f"/api/v1/enterprises/{VALID_USCC}")
    try:
        slow.sendall(request[:20])  # half a request line, the rest comes later
        assert wait_until(lambda: shared.open_connections() >= baseline + 201), shared.open_connections()
        with requests.Session() as session:
            for _ in range(20):
                started = time.perf_counter()
                resp = session.get(f"{shared.url}/api/v1/enterprises/{VALID_USCC}", timeout=2)
                assert resp.status_code == 200 and time.perf_counter() - started < 1.0
            del resp  # its file object would keep the client socket open
        for byte in request[20:]:  # the rest, a byte at a time
            slow.sendall(bytes([byte]))
            time.sleep(0.001)
        responses, closed = read_responses(slow, ["GET"])
        assert responses[0][0] == 200 and json.loads(responses[0][2])["uscc"] == VALID_USCC and not closed
    finally:
        for sock in [*idle, slow]:
            sock.close()
    # the server notices every close: nothing leaks
    assert wait_until(lambda: shared.open_connections() <= baseline), shared.open_connections()
    assert shared.get("/__mvptest/health").status_code == 200


# --------------------------------------------------------------------------- seeds


def test_same_seed_same_data_and_faults_other_seed_different(sandbox) -> None:
    keys = [REGISTRATION, INSURED]
    a, b, c = (sandbox(keys, seed=s, error_rate=0.3, invalid_rate=0.3) for s in (5, 5, 6))
    rng = random.Random(11)
    targets = [f"/api/v1/enterprises/{u}" for u in param_values(REGISTRATION, "uscc", rng, 20)]
    targets += [f"/api/v1/insured-persons/{i}" for i in param_values(INSURED, "idNumber", rng, 20)]
    targets *= 3  # 120 requests: fault draws vary per request, data per parameter

    def observe(box: Sandbox) -> list[tuple[int, str | None, bytes]]:
        with requests.Session() as session:
            return [(r.status_code, r.headers.get("X-Mvptest-Drift"), r.content)
                    for r in (session.get(box.url + t, timeout=5) for t in targets)]

    seen_a, seen_b, seen_c = observe(a), observe(b), observe(c)
    assert seen_a == seen_b
    assert Counter(s for s, _, _ in seen_a)[500] > 10 and sum(1 for _, d, _ in seen_a if d) > 10
    assert [s for s, _, _ in seen_a] != [s for s, _, _ in seen_c]  # other fault draws

    # the clean records: identical under seed 5, different under seed 6, for every parameter
    clean: dict[str, dict[str, bytes]] = {name: {} for name in "abc"}
    for name, seen in zip("abc", (seen_a, seen_b, seen_c)):
        for target, (status, drift, body) in zip(targets, seen):
            if status == 200 and drift is None:
                clean[name][target] = body
    common = set(clean["a"]) & set(clean["c"])
    assert len(common) >= 20
    assert all(clean["a"][t] != clean["c"][t] for t in common)
    assert all(clean["a"][t] == clean["b"][t] for t in set(clean["a"]) & set(clean["b"]))
    assert a.get("/__mvptest/routes").json() == b.get("/__mvptest/routes").json()


# --------------------------------------------------------------------------- faults


def test_fault_rates_are_within_binomial_bounds_and_stats_match_the_client(sandbox) -> None:
    n = 2000
    rates = {"error": 0.10, "invalid": 0.10, "reset": 0.05, "timeout": 0.01}
    box = sandbox([REGISTRATION], seed=3, error_rate=rates["error"], invalid_rate=rates["invalid"],
                  reset_rate=rates["reset"], timeout_rate=rates["timeout"], hang_s=0.05)
    check = validator(REGISTRATION)
    seen: Counter = Counter()
    conn: http.client.HTTPConnection | None = None
    for _ in range(n):
        conn = conn or box.connection()
        started = time.perf_counter()
        try:
            conn.request("GET", f"/api/v1/enterprises/{VALID_USCC}")
            resp = conn.getresponse()
            body = resp.read()
        except http.client.RemoteDisconnected:
            # held, then closed without a byte: the "timeout" fault (hang_s = 0.05 s here)
            assert time.perf_counter() - started >= 0.05
            seen["timeout"] += 1
            conn.close()
            conn = None
            continue
        except (ConnectionResetError, http.client.IncompleteRead):
            seen["reset"] += 1  # the response started, then the connection was reset
            conn.close()
            conn = None
            continue
        if resp.status == 500:
            assert json.loads(body)["error"] == "injected-fault"
            seen["error"] += 1
        elif resp.getheader("X-Mvptest-Drift"):
            assert resp.status == 200
            errors = check.errors(json.loads(body))
            assert any(e.severity == "error" for e in errors), resp.getheader("X-Mvptest-Drift")
            seen["invalid"] += 1
        else:
            assert resp.status == 200 and check.is_valid(json.loads(body))
            seen["ok"] += 1
    if conn is not None:
        conn.close()

    assert sum(seen.values()) == n
    for outcome, p in rates.items():
        assert within_binomial(seen[outcome], n, p), (outcome, seen[outcome], n * p)
    assert within_binomial(seen["ok"], n, 1 - sum(rates.values()))

    stats = box.stats()
    assert stats["requests"] == n
    assert stats["outcomes"] == dict(seen)  # exactly what the client observed
    assert stats["interfaces"][REGISTRATION]["outcomes"] == dict(seen)
    assert stats["faults"] == {"latency_ms": "none", "error_rate": 0.1, "invalid_rate": 0.1, "reset_rate": 0.05,
                               "timeout_rate": 0.01}
    assert stats["seed"] == 3


def test_fixed_latency_is_measured_by_the_client_and_reported_by_the_stats(sandbox) -> None:
    box = sandbox([REGISTRATION], latency=LatencyModel.parse("30"))
    n = 15
    conn = box.connection()
    measured = []
    for _ in range(n):
        started = time.perf_counter()
        conn.request("GET", f"/api/v1/enterprises/{VALID_USCC}")
        resp = conn.getresponse()
        resp.read()
        measured.append(time.perf_counter() - started)
        assert resp.status == 200
    conn.close()
    assert min(measured) >= 0.030, measured
    assert sorted(measured)[n // 2] < 0.030 + 0.100  # the delay, not something far slower

    stats = box.stats()
    for summary in (stats["injected_delay_ms"], stats["interfaces"][REGISTRATION]["injected_delay_ms"]):
        assert summary["p50"] == pytest.approx(30, abs=0.02)
        assert summary["max"] == 30.0 and summary["mean"] == 30.0
    histogram = stats["injected_delay_histogram"]
    assert histogram["count"] == n and histogram["min"] == histogram["max"] == 30_000 and histogram["sum"] == n * 30_000
    assert stats["faults"]["latency_ms"] == "30"

    # pipelined requests wait their turn: three delays, one after the other, in order
    usccs = param_values(REGISTRATION, "uscc", random.Random(9), 3)
    with _connect(box.port) as sock:
        started = time.perf_counter()
        sock.sendall(b"".join(get_request(f"/api/v1/enterprises/{u}", close=i == 2) for i, u in enumerate(usccs)))
        responses, closed = read_responses(sock, ["GET"] * 3)
        elapsed = time.perf_counter() - started
    assert [r[0] for r in responses] == [200, 200, 200] and closed
    assert [json.loads(r[2])["uscc"] for r in responses] == usccs
    assert elapsed >= 3 * 0.030


def test_no_client_measures_less_than_the_injected_delay_under_concurrency(sandbox) -> None:
    """With four clients keeping the event loop busy, a millisecond-granular timer fired early: clients measured
    1.4 ms for an injected 2 ms (about one call in ten). A delay is now held for at least its full length."""
    box = sandbox([REGISTRATION], latency=LatencyModel.parse("2"))
    measured: list[float] = []

    def client() -> None:
        conn = box.connection()
        for _ in range(100):
            started = time.perf_counter()
            conn.request("GET", f"/api/v1/enterprises/{VALID_USCC}")
            conn.getresponse().read()
            measured.append(time.perf_counter() - started)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(measured) == 400
    assert min(measured) >= 0.002, sorted(measured)[:5]
    histogram = box.stats()["injected_delay_histogram"]
    assert histogram["count"] == 400 and histogram["min"] == histogram["max"] == 2000


def test_reset_rate_gives_connection_errors(sandbox) -> None:
    box = sandbox([REGISTRATION], reset_rate=1.0)
    for _ in range(5):
        with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
            box.get(f"/api/v1/enterprises/{VALID_USCC}")
    conn = box.connection()
    conn.request("GET", f"/api/v1/enterprises/{VALID_USCC}")
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead)):
        conn.getresponse().read()  # a 200 status line, then the connection is reset mid-body
    conn.close()
    stats = box.stats()
    assert stats["outcomes"] == {"reset": 6} and stats["requests"] == 6


def test_timeout_rate_holds_requests_past_a_short_client_timeout(sandbox) -> None:
    box = sandbox([REGISTRATION], timeout_rate=1.0, hang_s=0.6)
    started = time.perf_counter()
    with pytest.raises(requests.exceptions.ReadTimeout):
        box.get(f"/api/v1/enterprises/{VALID_USCC}", timeout=0.2)
    assert time.perf_counter() - started >= 0.2
    assert box.get("/__mvptest/health", timeout=1).status_code == 200  # others are served meanwhile

    # held for hang_s, then closed without an answer
    conn = box.connection(timeout=5)
    started = time.perf_counter()
    conn.request("GET", f"/api/v1/enterprises/{VALID_USCC}")
    with pytest.raises(http.client.RemoteDisconnected):
        conn.getresponse()
    assert time.perf_counter() - started >= 0.6 - 0.01
    conn.close()
    stats = box.stats()
    assert stats["outcomes"] == {"timeout": 2}


def test_stats_count_every_kind_of_request_and_reset_on_request(sandbox) -> None:
    box = sandbox([REGISTRATION, SEARCH])
    assert box.get(f"/api/v1/enterprises/{VALID_USCC}").status_code == 200
    assert box.get("/api/v1/enterprises?name=ab").status_code == 200
    assert box.get("/api/v1/enterprises/123").status_code == 400
    assert box.get("/api/v1/enterprises").status_code == 400
    assert box.get("/missing").status_code == 404
    assert requests.delete(f"{box.url}/api/v1/enterprises/{VALID_USCC}", timeout=5).status_code == 405
    assert exchange(box.port, b"GARBAGE\r\n\r\n")[0][0][0] == 400
    box.get("/__mvptest/health")
    box.get("/__mvptest/routes")  # control requests are not counted

    stats = box.get("/__mvptest/stats?reset=1").json()
    assert stats["requests"] == 7
    assert stats["outcomes"] == {"ok": 2, "bad_request": 3, "not_found": 1, "method_not_allowed": 1}
    assert stats["interfaces"][REGISTRATION]["outcomes"] == {"ok": 1, "bad_request": 1}
    assert stats["interfaces"][SEARCH]["outcomes"] == {"ok": 1, "bad_request": 1}
    assert box.stats()["requests"] == 0  # reset=1 started a new count


# --------------------------------------------------------------------------- the command line


def test_cli_port_in_use_exits_2_with_a_clear_message() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "mvptest", "sandbox", str(MARKET), "--port", str(port)],
                                capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert result.returncode == 2, result
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr
    assert "--port 0" in result.stderr  # the hint
    assert "listening on" not in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--latency-ms", "soon"], "cannot read latency 'soon'"),
        (["--latency-ms", "uniform:50,10"], "cannot read latency"),
        (["--error-rate", "0.6", "--reset-rate", "0.6"], "add up to 1.2, more than 1"),
        (["--error-rate", "1.5"], "--error-rate"),
        (["--interface", "nope"], "has no interface 'nope'"),
    ],
)
def test_cli_bad_options_exit_2(cli, args: list[str], message: str) -> None:
    result = cli("sandbox", MARKET, "--port", "0", *args)
    assert result.exit_code == 2, result
    assert message in result.output
    assert "listening on" not in result.stdout


def test_cli_missing_spec_exits_2(cli, tmp_path: Path) -> None:
    result = cli("sandbox", tmp_path / "nope.yaml", "--port", "0")
    assert result.exit_code == 2, result
    assert "no such file or folder" in result.stderr


def test_cli_sandbox_serves_the_same_data_and_stops_cleanly_on_sigint() -> None:
    proc = SandboxProcess(MARKET, args=["--seed", "7"])
    url = proc.start()
    try:
        assert url.startswith("http://127.0.0.1:")
        resp = requests.get(f"{url}/api/v1/enterprises/{VALID_USCC}", timeout=5)
        assert resp.status_code == 200
        # another process, the same seed: the same bytes as the in-process app
        app = SandboxApp([ITFS[REGISTRATION], ITFS[SEARCH]], seed=7)
        assert resp.content == app.handle("GET", f"/api/v1/enterprises/{VALID_USCC}")[0].body

        idle = http.client.HTTPConnection(url.split("//")[1].split(":")[0], int(url.rsplit(":", 1)[1]), timeout=5)
        idle.request("GET", "/api/v1/enterprises?name=ab")
        assert idle.getresponse().read()  # a keep-alive connection left open

        assert proc.proc is not None
        started = time.monotonic()
        proc.proc.send_signal(signal.SIGINT)
        code = proc.proc.wait(timeout=10)
        assert time.monotonic() - started < 5
        assert code == 0
        stderr = proc.proc.stderr.read() if proc.proc.stderr else ""
        assert "stopped after 2 requests" in stderr, stderr
        assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):  # the open connection was closed
            idle.request("GET", "/api/v1/enterprises?name=ab")
            idle.getresponse()
        idle.close()
        with pytest.raises(requests.ConnectionError):  # nothing listens any more
            requests.get(url + "/__mvptest/health", timeout=2)
    finally:
        proc.stop()
