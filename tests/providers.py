"""Misbehaving loopback HTTP/1.1 providers for tests: raw sockets, one thread per connection, a log of what they saw.

A real provider fails in ways a well-behaved framework never shows: it resets after reading a request, dies in the
middle of a body, closes a keep-alive connection without saying so, drips one byte at a time, declares more body
than it sends, answers with a broken status line, echoes the caller's credentials back. ``Provider`` does each of
these on purpose, on 127.0.0.1 and a free port, and counts what it did (``Provider.log``), so that a test can hold a
client's counts against the provider's own::

    with Provider("reset-after-request", body=BODY, every=20) as p:
        run(f"--target {p.url}")
    p.log.requests   # requests read in full
    p.log.resets     # connections reset (RST) by the provider, each after reading a request
    p.log.responses  # responses sent in full

Modes (the fault applies to every ``every``-th request the provider reads, counted over all connections; the
other requests get the normal answer: 200, ``body``, keep-alive):

- ``ok``: the normal answer to every request.
- ``reset-after-request``: read the request, then reset the connection without answering.
- ``reset-mid-body``: send the head and half of the body, then reset.
- ``close-after-response``: answer in full (keep-alive, no ``Connection: close``), then close the sending side.
  A request that still arrives on that connection is read, counted (``late_requests``) and reset.
- ``reset-on-reuse``: answer the first request of each connection; reset the connection at the second one
  (reset after a complete response: the next keep-alive request on that connection fails).
- ``drip``: send the answer one byte every ``drip_s`` seconds until it is done or the client goes away.
- ``truncated``: declare a Content-Length ``missing`` bytes larger than the body, send the body, then close.
- ``bad-status-line``: answer ``HTTP/1.1 OKAY`` (no status code), then close.
- ``echo-headers``: answer 200 with ``echo(headers)`` as the body (default: JSON holding every request header).
- ``no-content``: answer 204 without a body, keep-alive.
- ``slow``: wait ``delay_s`` seconds, then the normal answer.
- ``refuse``: answer normally; after ``down_after`` answers, go down for ``down_s`` seconds (the listening socket
  is closed, so connections are refused; open connections are closed once idle, and a request that still
  arrives on one is counted and reset), then listen again on the same port.

The log counts only what the provider did or saw; refused connections never reach it, so they are not in it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MODES = ("ok", "reset-after-request", "reset-mid-body", "close-after-response", "reset-on-reuse", "drip",
         "truncated", "bad-status-line", "echo-headers", "no-content", "slow", "refuse")
FAULTY = {"reset-after-request", "reset-mid-body", "close-after-response", "drip", "truncated", "bad-status-line"}
MAX_HEAD = 64 * 1024


@dataclass
class Log:
    """What the provider saw and did; every counter is updated under one lock and read with ``snapshot()``."""

    connections: int = 0  # connections accepted
    requests: int = 0  # requests read in full (late ones included)
    responses: int = 0  # responses sent in full
    resets: int = 0  # connections reset (RST) after reading a request or part of the answer
    late_requests: int = 0  # requests that arrived on a connection the provider had already closed for sending
    incomplete: int = 0  # answers begun and not finished: dripped, truncated, cut by a reset
    bad_status: int = 0  # answers with a broken status line
    closes: int = 0  # connections the provider closed for sending after a complete answer
    downs: int = 0  # times the provider went down (refuse mode)
    headers: list[dict[str, str]] = field(default_factory=list)  # the first few requests' headers, for checks
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return {k: v for k, v in vars(self).items() if isinstance(v, int)}


def default_echo(headers: dict[str, str]) -> bytes:
    """A body that carries every request header back (a provider that dumps its request into an error body)."""
    return json.dumps({"echo": True, "headers": headers}).encode()


class _Conn:
    """One accepted connection; ``lock`` orders the provider's own close against the handler's answer."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.lock = threading.Lock()
        self.busy = False
        self.half_closed = False  # the provider sent FIN: any further request is late
        self.close_when_idle = False
        self.served = 0  # requests answered on this connection
        self.buffer = b""


class Provider:
    """A loopback HTTP/1.1 server that misbehaves as its ``mode`` says (see the module docstring)."""

    def __init__(self, mode: str = "ok", *, body: bytes = b'{"ok": true}', every: int = 1, status: int = 200,
                 drip_s: float = 0.5, delay_s: float = 0.05, missing: int = 50, down_after: int = 200,
                 down_s: float = 0.5, echo: Callable[[dict[str, str]], bytes] = default_echo,
                 content_type: str = "application/json", content_encoding: str | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
        self.mode = mode
        self.body = body
        self.every = max(1, every)
        self.status = status
        self.drip_s = drip_s
        self.delay_s = delay_s
        self.missing = missing
        self.down_after = down_after
        self.down_s = down_s
        self.echo = echo
        self.content_type = content_type
        if content_encoding:  # sent with every answer: the body is given already encoded
            self.content_type += f"\r\nContent-Encoding: {content_encoding}"
        self.log = Log()
        self.port = 0
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._conns: set[_Conn] = set()
        self._conns_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._down_pending = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Provider:
        self._listener = self._listen(0)
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept_loop)
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)  # wakes a handler blocked in recv (close alone does not)
            except OSError:
                pass
            _close(c.sock)
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> Provider:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _listen(self, port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(128)
        s.settimeout(0.05)  # the accept loop looks at the stop flag this often
        return s

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        t.start()
        self._threads.append(t)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            if self._down_pending:
                self._go_down()
            listener = self._listener
            assert listener is not None
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    break
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(sock)
            with self._conns_lock:
                self._conns.add(conn)
            self.log.add(connections=1)
            self._spawn(self._serve, conn)
        if self._listener is not None:
            self._listener.close()

    def _go_down(self) -> None:
        """Refuse mode: stop listening, close the open connections once idle, listen again after ``down_s``."""
        self._down_pending = False
        assert self._listener is not None
        self._listener.close()
        self.log.add(downs=1)
        with self._conns_lock:
            conns = list(self._conns)
        for c in conns:
            with c.lock:
                if c.busy:
                    c.close_when_idle = True
                else:
                    self._half_close(c)
        self._stopping.wait(self.down_s)
        self._listener = self._listen(self.port)

    # ------------------------------------------------------------------ one connection

    def _serve(self, conn: _Conn) -> None:
        try:
            while not self._stopping.is_set():
                head = self._read_request(conn)
                if head is None:
                    return
                with conn.lock:
                    late = conn.half_closed
                    conn.busy = True
                with self.log.lock:
                    self.log.requests += 1
                    n = self.log.requests
                    if len(self.log.headers) < 5:
                        self.log.headers.append(head)
                if late:
                    self.log.add(late_requests=1)
                    self._reset(conn)
                    return
                if not self._answer(conn, head, n):
                    return
                with conn.lock:
                    conn.busy = False
                    conn.served += 1
                    if conn.close_when_idle:
                        self._half_close(conn)
        except OSError:
            return
        finally:
            with self._conns_lock:
                self._conns.discard(conn)
            _close(conn.sock)

    def _read_request(self, conn: _Conn) -> dict[str, str] | None:
        """The next request's headers (lower-case names), its body read and dropped; None at end of stream."""
        while b"\r\n\r\n" not in conn.buffer:
            data = conn.sock.recv(65536)
            if not data:
                return None
            conn.buffer += data
            if len(conn.buffer) > MAX_HEAD:
                raise OSError("request head too large")
        head, _, rest = conn.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {"request-line": lines[0]}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(rest) < length:
            data = conn.sock.recv(65536)
            if not data:
                return None
            rest += data
        conn.buffer = rest[length:]
        return headers

    def _faulted(self, n: int) -> bool:
        return self.mode in FAULTY and n % self.every == 0

    def _answer(self, conn: _Conn, head: dict[str, str], n: int) -> bool:
        """Answer one request as the mode says; False when the connection is finished."""
        mode = self.mode
        if mode == "reset-on-reuse" and conn.served >= 1:
            self._reset(conn)
            return False
        if mode == "refuse" and n == self.down_after:
            self._down_pending = True  # the accept loop goes down once this answer is out
        if mode == "slow":
            time.sleep(self.delay_s)
        if mode == "echo-headers":
            body = self.echo({k: v for k, v in head.items() if k != "request-line"})
            self._send(conn, _response(self.status, body, self.content_type))
            return True
        if mode == "no-content":
            self._send(conn, b"HTTP/1.1 204 No Content\r\n\r\n")
            return True
        if not self._faulted(n):
            self._send(conn, _response(self.status, self.body, self.content_type))
            return True
        full = _response(self.status, self.body, self.content_type)
        if mode == "reset-after-request":
            self._reset(conn)
            return False
        if mode == "reset-mid-body":
            conn.sock.sendall(full[: len(full) - len(self.body) // 2])
            self.log.add(incomplete=1)
            self._reset(conn)
            return False
        if mode == "close-after-response":
            self._send(conn, full)
            with conn.lock:
                self._half_close(conn)
            return True  # keep reading: a request that still comes is late, counted and reset
        if mode == "drip":
            self.log.add(incomplete=1)
            for i in range(len(full)):
                if self._stopping.is_set():
                    return False
                conn.sock.sendall(full[i:i + 1])
                time.sleep(self.drip_s)
            self.log.add(incomplete=-1, responses=1)
            return True
        if mode == "truncated":
            conn.sock.sendall(_response(self.status, self.body, self.content_type, declared=len(self.body) + self.missing))
            self.log.add(incomplete=1)
            conn.sock.shutdown(socket.SHUT_WR)
            return False
        if mode == "bad-status-line":
            conn.sock.sendall(b"HTTP/1.1 OKAY\r\nContent-Length: 0\r\n\r\n")
            self.log.add(bad_status=1)
            conn.sock.shutdown(socket.SHUT_WR)
            return False
        raise AssertionError(mode)

    def _send(self, conn: _Conn, data: bytes) -> None:
        conn.sock.sendall(data)
        self.log.add(responses=1)

    def _half_close(self, conn: _Conn) -> None:
        """Close the sending side (FIN) and keep reading; the caller holds ``conn.lock``."""
        if not conn.half_closed:
            conn.half_closed = True
            with contextlib.suppress(OSError):
                conn.sock.shutdown(socket.SHUT_WR)
            self.log.add(closes=1)

    def _reset(self, conn: _Conn) -> None:
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.sock.close()
        self.log.add(resets=1)


def _response(status: int, body: bytes, content_type: str, *, declared: int | None = None) -> bytes:
    reason = {200: "OK", 201: "Created", 404: "Not Found", 500: "Internal Server Error"}.get(status, "Status")
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body) if declared is None else declared}\r\n\r\n")
    return head.encode("latin-1") + body


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


# --------------------------------------------------------------------------- a spec and a body for these providers

ITEM_BODY = json.dumps({"name": "厦门测试科技有限公司", "code": "91350200MA2XXXXX0T"}, ensure_ascii=False).encode()


def item_spec(status: int = 200) -> str:
    """An interface spec (GET /items/{id}) whose response schema ITEM_BODY meets; ``status`` is the one it expects."""
    return ITEM_SPEC % {"status": status}


ITEM_SPEC = """\
kind: interface
department: {id: test-dept, name: 测试局}
interfaces:
  - id: item
    title: one item
    version: "1.0"
    method: GET
    path: /items/{id}
    parameters:
      id: {in: path, schema: {type: string, pattern: "^[0-9]{4}$"}}
    response:
      status: %(status)d
      schema:
        type: object
        required: [name, code]
        properties:
          name: {type: string, minLength: 1}
          code: {type: string, pattern: "^[0-9A-Z]{18}$"}
"""
