"""What `mvptest run` puts on the wire (mvptest/load/client.py): cookies kept as Locust keeps them, targets quoted as before.

The users send each request straight on geventhttpclient's HTTPClient (no per-call URL parsing, no retry loop, no
empty cookie jar walk). These tests hold what a real loopback server received against what Locust's
FastHttpSession would have sent: the cookie a provider sets comes back on every later call, and every request
target is the one geventhttpclient's URL quoting (requests' requote_uri) makes of the path.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import product
from pathlib import Path
from urllib.parse import quote

import pytest
from requests.utils import requote_uri
from test_run import describe, mvptest, run_env, the_run_dir

BODY = json.dumps({"name": "厦门测试科技有限公司"}, ensure_ascii=False).encode()
CODES = ["A-1", "甲乙", "a b", "x/y", "100%"]
NAMES = ["科技", "x&y=z", "plain", "~tilde_.-"]
SPEC = """\
kind: interface
department: {id: test-dept, name: 测试局}
interfaces:
  - id: item
    title: one item
    version: "1.0"
    method: GET
    path: /items/{code}/详情
    parameters:
      code: {in: path, schema: {type: string}}
      name: {in: query, schema: {type: string}}
    response:
      status: 200
      schema: {type: object, required: [name], properties: {name: {type: string, minLength: 1}}}
"""


class Seen:
    """What the server received: the raw request target and the Cookie header of every request, in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str | None]] = []


def _server(seen: Seen) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real provider
        wbufsize = -1  # the head and the body in one write (http.server flushes after each request) ...
        disable_nagle_algorithm = True  # ... and no 40 ms wait for a delayed ACK

        def do_GET(self) -> None:  # the name http.server calls
            with seen.lock:
                first = not seen.requests
                seen.requests.append((self.path, self.headers.get("Cookie")))
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(BODY)))
            if first:
                self.send_header("Set-Cookie", "sid=s1; Path=/")
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def provider() -> Iterator[tuple[str, Seen]]:
    seen = Seen()
    server = _server(seen)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _run(tmp_path: Path, url: str, users: int) -> dict[str, object]:
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        "kind: scenario\nname: wire\nspecs: [spec.yaml]\n"
        f"load: {{users: {users}, spawn_rate: {users}, duration: 2s, timeout: 2s}}\n"
        f"data: {{code: {{values: {json.dumps(CODES, ensure_ascii=False)}}}, "
        f"name: {{values: {json.dumps(NAMES, ensure_ascii=False)}}}}}\n"
        "targets: {success_rate: 0.99, latency_ms: {p95: 1000}}\n", encoding="utf-8")
    proc = mvptest("run", scenario, "--target", url, "--results-dir", tmp_path / "results", env=run_env(), timeout=60)
    assert proc.returncode == 0, describe(proc)
    summary = json.loads((the_run_dir(tmp_path / "results") / "summary.json").read_text(encoding="utf-8"))
    return summary["interfaces"][0]


def test_a_cookie_the_provider_sets_is_sent_back_on_every_later_call(provider, tmp_path) -> None:
    """One user, one session: the first call carries no cookie, each later one the cookie the first answer set."""
    url, seen = provider
    itf = _run(tmp_path, url, users=1)
    with seen.lock:
        requests = list(seen.requests)
    assert itf["requests"] == itf["successes"] == len(requests) > 10
    assert requests[0][1] is None
    assert [cookie for _, cookie in requests[1:]] == ["sid=s1"] * (len(requests) - 1)


def test_every_request_target_is_quoted_as_geventhttpclient_quotes_it(provider, tmp_path) -> None:
    """Values are quoted when the request is built ('%', ' ', '/', '&', non-ASCII); the spec's own non-ASCII path
    segment only by the URL quoting that FastHttpSession applies, which the direct path must apply as well."""
    url, seen = provider
    itf = _run(tmp_path, url, users=2)
    expected = {requote_uri(f"/items/{quote(code, safe='')}/详情?name={quote(name)}") for code, name in product(CODES, NAMES)}
    with seen.lock:
        targets = [target for target, _ in seen.requests]
    assert itf["requests"] == itf["successes"] == len(targets)
    assert set(targets) <= expected
    # 20 combinations drawn at random for hundreds of calls: each appears (a miss has odds below 1e-10)
    assert set(targets) == expected, sorted(expected - set(targets))
    assert "/items/A-1/%E8%AF%A6%E6%83%85?name=plain" in expected  # the spec's own non-ASCII segment quoted too
