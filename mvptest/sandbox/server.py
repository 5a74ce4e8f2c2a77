"""The sandbox's HTTP/1.1 server: asyncio (uvloop) with httptools' parser, built to outrun any load generator.

A hand-written protocol because the sandbox must never be the bottleneck of a run on the same machine:
frameworks on top of asyncio cost 3-5x per request. httptools (the parser uvicorn uses) does the parsing;
this file does keep-alive, pipelining in order, limits, idle timeouts, delays, resets and hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import errno
import signal
import socket
import struct
import threading
import time
from collections import deque
from typing import Any

import httptools

from mvptest.errors import ConfigError, MvptestError
from mvptest.sandbox.app import Reply, SandboxApp

MAX_URL = 8 * 1024
MAX_HEADERS = 64 * 1024
MAX_BODY = 1024 * 1024
IDLE_TIMEOUT_S = 75.0  # keep-alive connections with nothing to say
PARTIAL_TIMEOUT_S = 30.0  # a request that never finishes arriving (slowloris)

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 404: "Not Found",
            405: "Method Not Allowed", 413: "Payload Too Large", 414: "URI Too Long",
            431: "Request Header Fields Too Large", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}
_STATUS_LINES = {code: f"HTTP/1.1 {code} {reason}\r\n".encode() for code, reason in _REASONS.items()}


class _Clock:
    """The Date header, formatted once a second."""

    def __init__(self) -> None:
        self._second = 0
        self._value = b""

    def date(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = email.utils.formatdate(now, usegmt=True).encode()
        return self._value


class _Connection(asyncio.Protocol):
    __slots__ = (
        "body",
        "busy",
        "closing",
        "header_bytes",
        "keep_alive_flags",
        "last_activity",
        "parser",
        "partial_since",
        "paused",
        "queue",
        "server",
        "timer",
        "transport",
        "upgrade_answered",
        "url",
    )

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body = b""
        self.header_bytes = 0
        self.queue: deque[tuple[bytes, bytes, bytes, bool]] = deque()  # pipelined requests, answered in order
        self.busy = False
        self.closing = False
        self.paused = False
        self.last_activity = time.monotonic()
        self.partial_since: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.upgrade_answered = False

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.server.connections.discard(self)
        if self.timer is not None:
            self.timer.cancel()

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        if self.partial_since is None:
            self.partial_since = self.last_activity
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # A complete request asking to switch protocols (Upgrade, CONNECT) is answered as plain HTTP/1.1 and
            # the connection closes after it (on_message_complete); the parser cannot read on past it.
            if not self.upgrade_answered:
                self._fail(400, "protocol upgrades are not supported")
        except httptools.HttpParserError as exc:
            # httptools wraps what a callback raised; a limit we enforce comes back with its own status
            cause = exc.__context__ or exc.__cause__
            if isinstance(cause, _TooLarge):
                self._fail(cause.status, cause.message)
            else:
                self._fail(400, f"malformed HTTP request: {exc}")
        except _TooLarge as exc:
            self._fail(exc.status, exc.message)

    def pause_writing(self) -> None:  # the client does not read its responses: stop reading its requests
        self.paused = True
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.paused = False
        if self.transport is not None and not self.closing:
            self.transport.resume_reading()

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.body = b""
        self.header_bytes = 0

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > MAX_URL:
            raise _TooLarge(414, f"the request target is longer than {MAX_URL} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value) + 4
        if self.header_bytes > MAX_HEADERS:
            raise _TooLarge(431, f"the request headers are larger than {MAX_HEADERS} bytes")
        if name.lower() == b"content-length" and value.strip().isdigit() and int(value) > MAX_BODY:
            # refused up front: the client need not send a body the server will not read
            raise _TooLarge(413, f"the request body is larger than {MAX_BODY} bytes")

    def on_body(self, body: bytes) -> None:
        self.body += body
        if len(self.body) > MAX_BODY:
            raise _TooLarge(413, f"the request body is larger than {MAX_BODY} bytes")

    def on_message_complete(self) -> None:
        self.partial_since = None
        keep_alive = self.parser.should_keep_alive()
        if self.parser.should_upgrade():  # answered without switching; nothing after it can be parsed
            self.upgrade_answered = True
            keep_alive = False
        self.queue.append((self.parser.get_method(), self.url, self.body, keep_alive))
        if not self.busy:
            self._next()

    # -- answering
    def _next(self) -> None:
        while self.queue and not self.closing:
            method, url, body, keep_alive = self.queue.popleft()
            try:
                reply, _ = self.server.app.handle(method.decode("ascii", "replace"), url.decode("latin-1"), body)
            except Exception as exc:
                reply = Reply(500, b'{"error":"sandbox-bug","message":"%s"}' % type(exc).__name__.encode())
            if reply.action == "hang":
                self.busy = True
                self.server.hung += 1
                self._later(reply.delay_s, self._close)
                return
            if reply.delay_s > 0:
                self.busy = True
                self._later(reply.delay_s, self._deliver, reply, keep_alive, method)
                return
            if not self._deliver(reply, keep_alive, method, resume=False):
                return
        self.busy = False

    def _later(self, delay_s: float, callback: Any, *args: Any) -> None:
        """Call back once ``delay_s`` of real time has passed. uvloop's timers count whole milliseconds from the
        loop's cached clock and fire up to a millisecond early, which would make an injected delay shorter than
        the delay the stats report (a client could measure 4.4 ms for an injected 5 ms); an early timer re-arms."""
        deadline = time.monotonic() + delay_s
        self.timer = self.server.loop.call_later(delay_s, self._when_due, deadline, callback, args)

    def _when_due(self, deadline: float, callback: Any, args: tuple[Any, ...]) -> None:
        remaining = deadline - time.monotonic()
        if remaining > 0 and not self.closing:
            self.timer = self.server.loop.call_later(remaining, self._when_due, deadline, callback, args)
            return
        callback(*args)

    def _deliver(self, reply: Reply, keep_alive: bool, method: bytes, resume: bool = True) -> bool:
        self.timer = None
        transport = self.transport
        if transport is None or self.closing:
            return False
        if reply.action == "reset":
            self._reset()
            return False
        head = [_STATUS_LINES.get(reply.status) or f"HTTP/1.1 {reply.status} Status\r\n".encode(),
                b"Server: mvptest-sandbox\r\nDate: ", self.server.clock.date(),
                b"\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ", str(len(reply.body)).encode(), b"\r\n"]
        for name, value in reply.headers:
            head.append(f"{name}: {value}\r\n".encode("latin-1", "replace"))
        if not keep_alive:
            head.append(b"Connection: close\r\n")
        head.append(b"\r\n")
        if method != b"HEAD":
            head.append(reply.body)
        transport.write(b"".join(head))
        if not keep_alive:
            self._close()
            return False
        if resume:
            self.busy = False
            self._next()
        return True

    def _fail(self, status: int, message: str) -> None:
        if self.transport is None or self.closing:
            return
        body = b'{"error":"bad-request","message":%s}' % _json_str(message)
        self.server.app.stats.count(None, "bad_request", None)
        self.transport.write(_STATUS_LINES.get(status, _STATUS_LINES[400]) + b"Content-Type: application/json; charset=utf-8\r\n"
                             b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
        self._close()

    def _reset(self) -> None:
        """Start a response, then reset the connection (RST): a client cannot take it for a stale keep-alive
        connection and silently retry, as it would if the reset came before any byte."""
        transport = self.transport
        self.closing = True
        if transport is None:
            return
        transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"partial\":")
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()

    def _close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.close()

    def sweep(self, now: float) -> None:
        if self.busy:
            return
        stalled = self.partial_since is not None and now - self.partial_since > PARTIAL_TIMEOUT_S
        if stalled or now - self.last_activity > IDLE_TIMEOUT_S:
            self._close()


class _TooLarge(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json_str(text: str) -> bytes:
    import orjson

    return orjson.dumps(text)


class SandboxServer:
    """Binds, serves and stops; run it in the main thread (``serve_forever``) or in a thread (``SandboxThread``)."""

    def __init__(self, app: SandboxApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.connections: set[_Connection] = set()
        self.clock = _Clock()
        self.hung = 0
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self._server: asyncio.base_events.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        try:
            self._server = await self.loop.create_server(
                lambda: _Connection(self), self.host, self.port, backlog=4096, reuse_address=True,
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"port {self.port} on {self.host} is in use",
                                 hint="choose another --port, or --port 0 for a free one") from None
            if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES, socket.EAI_NONAME if hasattr(socket, "EAI_NONAME") else -2):
                raise ConfigError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from None
            raise ConfigError(f"cannot listen on {self.host}:{self.port}: {exc}") from None
        self.port = self._server.sockets[0].getsockname()[1]
        self._sweeper = self.loop.create_task(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(5)
            now = time.monotonic()
            for conn in list(self.connections):
                conn.sweep(now)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn._close()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio still works
        return asyncio.new_event_loop()


def serve_forever(server: SandboxServer, *, on_ready: Any = None) -> None:
    """Serve until SIGINT or SIGTERM, then close every connection and return."""
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    stop = asyncio.Event()

    async def main() -> None:
        await server.start()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        if on_ready is not None:
            on_ready(server)
        await stop.wait()
        await server.stop()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


class SandboxThread:
    """The sandbox on a background thread of this process: ``with SandboxThread(app) as url: ...``."""

    def __init__(self, app: SandboxApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = SandboxServer(app, host=host, port=port)
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def start(self, timeout: float = 10) -> str:
        self._thread = threading.Thread(target=self._run, name="mvptest-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise MvptestError("the sandbox did not start in time")
        if self._error is not None:
            raise self._error
        return self.url

    def _run(self) -> None:
        loop = _new_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            try:
                await self.server.start()
            except BaseException as exc:
                self._error = exc
                self._ready.set()
                return
            self._ready.set()
            await self._stop.wait()
            await self.server.stop()

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


from mvptest.sandbox.process import SandboxProcess  # noqa: E402  (its home; imported from here too)

__all__ = ["SandboxProcess", "SandboxServer", "SandboxThread", "serve_forever"]
