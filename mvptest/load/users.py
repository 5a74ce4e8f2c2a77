"""Locust users generated from the plan: every response checked for transport, status, JSON and schema."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.local
import gevent.pool
import gevent.ssl
import orjson
from geventhttpclient.client import HTTPClient, HTTPClientPool
from geventhttpclient.response import HTTPConnectionClosed
from locust import FastHttpUser, task
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, LocustBadStatusCode
from locust.exception import StopUser
from locust.user.task import LOCUST_STATE_STOPPING

from mvptest.masking import SECRETS, Masker
from mvptest.run.plan import RunPlan
from mvptest.run.requests import RequestFactory
from mvptest.run.recorder import LATE_SEND_S
from mvptest.validation.compiled import CompiledSchema

# Open model: calls in flight per arrival user before arrivals are dropped (MVPTEST_MAX_IN_FLIGHT changes it).
MAX_IN_FLIGHT = max(1, int(os.environ.get("MVPTEST_MAX_IN_FLIGHT", "2000")))
# Validation is a pure function of the body's bytes: a body seen before gets the verdict it got then (a provider
# answers the same parameter with the same bytes). MVPTEST_VERDICT_CACHE=0 parses and validates every body.
VERDICT_CACHE = os.environ.get("MVPTEST_VERDICT_CACHE", "1") != "0"
MAX_VERDICTS = 4096
MAX_CACHED_BODY = 64 * 1024
NO_BODY_STATUSES = frozenset((204, 205, 304))  # HTTP says these carry no body: an empty one is what the spec asks
# A response body larger than this (as sent, and once decompressed) is a failed call, read no further: a provider
# that streams gigabytes (or a gzip bomb) must not take the generator's memory. MVPTEST_MAX_BODY_MB raises it.
MAX_BODY = int(float(os.environ.get("MVPTEST_MAX_BODY_MB", "16")) * 1024 * 1024)
_READ_BLOCK = 64 * 1024
_UNSEEN = object()


class StatusFailure(Exception):
    """The call completed with another status than the interface's."""


class SchemaFailure(Exception):
    """The call completed with the right status but the body is not JSON or breaks the schema."""


class TransportFailure(Exception):
    """The call did not complete: refused, reset, cut short, timed out, not HTTP."""


class BodyRefused(Exception):
    """The response arrived with the right status but its body cannot be judged: too large, or not decodable."""


class CallTimeout(TimeoutError):
    """The whole call (connect, first byte, full body) took longer than the scenario's timeout.

    A TimeoutError (an OSError) on purpose: geventhttpclient releases a socket on OSError wherever the timer
    fires, so that a timed-out connection is closed, never handed to the next call with bytes still coming."""

    def __init__(self, *args: Any) -> None:
        plan = CONFIG.plan
        super().__init__(*(args or (f"no complete response within {plan.timeout_s if plan else 0:g} s",)))


class ClosedBeforeResponse(HTTPConnectionClosed):
    """The connection was closed or reset after the request went out and before any byte of a response."""


# --------------------------------------------------------------------------- one attempt per call

_ATTEMPT = gevent.local.local()  # per greenlet: has the current request taken its connection yet?


class OneAttemptClient(HTTPClient):
    """geventhttpclient's HTTPClient with exactly one attempt per request.

    HTTPClient.request retries on a fresh connection, up to the pool size + 1 times, when the connection is
    closed or reset after the request was sent and before a response (client.py: ``attempts_left``), whatever
    ``max_retries`` says: a provider that resets after reading the request then looks healthy. Each attempt
    takes a socket with ``get_socket()``; a second one within the same request is the retry, refused here, so
    the call fails as it happened. (A pooled connection the provider has already closed is dropped inside
    ``get_socket()`` before anything is sent on it: that is no retry.)"""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        take = self._connection_pool.get_socket

        def get_socket() -> Any:
            if getattr(_ATTEMPT, "taken", False):
                raise ClosedBeforeResponse("the connection was closed or reset after the request was sent, "
                                           "before any response")
            _ATTEMPT.taken = True
            return take()

        self._connection_pool.get_socket = get_socket  # type: ignore[method-assign]

    def request(self, *args: Any, **kw: Any) -> Any:
        _ATTEMPT.taken = False
        try:
            return super().request(*args, **kw)
        finally:
            _ATTEMPT.taken = False


class OneAttemptPool(HTTPClientPool):
    """HTTPClientPool handing out OneAttemptClient, with the arguments FastHttpSession gave its own pool."""

    def get_client(self, url: Any) -> HTTPClient:
        from geventhttpclient.url import URL

        if not isinstance(url, URL):
            url = URL(url)
        key = url.host, url.port
        client = self.clients.get(key)
        if client is None:
            client = self.clients[key] = OneAttemptClient.from_url(url, **self.client_args)
        return client


def one_attempt(session: Any) -> None:
    """Make a FastHttpSession send every request once: no retry by the user agent, none by the HTTP client,
    no redirect followed (a redirect is a second request the provider counts, and a status the spec did not
    ask for). Read from geventhttpclient 2.6 (useragent.UserAgent.urlopen, client.HTTPClient.request)."""
    agent = session.client
    agent.max_retries = 0
    agent.max_redirects = 0
    old = agent.clientpool
    agent.clientpool = OneAttemptPool(**old.client_args)
    old.close()


@dataclass
class _Runtime:
    key: str
    method: str
    status: int
    factory: RequestFactory
    validator: CompiledSchema
    masker: Masker
    verdicts: dict[bytes, Any] = field(default_factory=dict)  # body -> None (valid) or (message, masked fields)


class _Config:
    """Set once per process from the plan (a worker receives it from the master)."""

    plan: RunPlan | None = None
    runtimes: list[_Runtime] = []
    weights: list[float] = []
    headers: dict[str, str] = {}
    arrival_rate_per_user: float = 0.0
    arrival_users: int = 1
    recorder: Any = None
    on_schedule_end: Any = None  # set by the engine: called when an arrival schedule has sent its last call  # this process's Recorder, set by the engine


CONFIG = _Config()


def configure(plan: RunPlan, base_url: str, *, arrival_users: int = 1) -> None:
    runtimes = []
    for ip in plan.interfaces:
        itf = ip.interface
        validator = CompiledSchema(itf.response_schema, format_options=itf.format_options, sensitive=itf.sensitive)
        runtimes.append(_Runtime(itf.key, itf.method, itf.response_status, RequestFactory(itf, plan.pools, seed=plan.seed),
                                 validator, validator.masker))
    CONFIG.plan = plan
    CONFIG.runtimes = runtimes
    CONFIG.weights = [ip.weight for ip in plan.interfaces]
    # gzip and deflate only: both decompress with a bound (Locust would advertise br as well)
    CONFIG.headers = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate", **plan.headers}
    SECRETS.add_headers(plan.headers)  # whatever a provider echoes back of them is scrubbed from every sample
    CONFIG.arrival_rate_per_user = (plan.rate or 0) / max(1, arrival_users)
    CONFIG.arrival_users = max(1, arrival_users)
    # One verifying context for every HTTPS connection (Locust's FastHttpUser does not verify by default).
    from mvptest.net.tls import client_context

    context = client_context(plan.tls, create=gevent.ssl.create_default_context) if base_url.startswith("https") else None
    for cls in (PilotUser, ArrivalUser):
        cls.host = base_url
        cls.network_timeout = plan.timeout_s
        cls.connection_timeout = plan.timeout_s
        cls.insecure = False
        cls.ssl_context_factory = staticmethod(lambda *_, **__: context)


def _sample(rt: _Runtime, url: str, status: int, message: str, fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"url": rt.masker.show("", url), "status": status, "message": message, "at": round(time.time(), 3)}
    if fields:
        out["fields"] = fields
    return SECRETS.scrub_data(out)  # last: the message and field texts may quote what the provider echoed


def call(client: Any, rt: _Runtime, rng: random.Random, planned: float | None = None) -> None:
    """One call, classified and recorded: success, or a failure carrying a masked sample (never a header or secret).

    ``planned`` (open model): the ``time.perf_counter()`` at which the schedule meant to send it. Its latency is then
    timed from there, as wrk2 does: a call sent late because the generator or the provider fell behind counts the
    wait as the consumer would have; the time from the actual send is recorded beside it as its service time.

    Lean on purpose (the generator's CPU per call is what a run can afford): one request through Locust's
    FastHttpSession (``_send_request_safe_mode``: Locust's own error handling, no context manager), sent once
    (``one_attempt``), bounded as a whole by the scenario's timeout (connect, first byte and full body: the
    socket timeout alone restarts on every byte a slow provider drips), our recorder fed directly, and Locust's
    request event fired once with the final outcome, so that Locust's statistics count the same calls as ours."""
    path, extra_headers, body = rt.factory.build(rng)
    headers = {**CONFIG.headers, **extra_headers} if extra_headers else CONFIG.headers
    if body is not None:
        headers = {**headers, "Content-Type": "application/json"}
    url = client.base_url + path
    recorder = CONFIG.recorder
    if recorder is not None:
        recorder.sent += 1
    start_time = time.time()
    t0 = time.perf_counter()
    content = b""
    refused: str | None = None
    response: Any = None
    timer = gevent.Timeout(CONFIG.plan.timeout_s if CONFIG.plan else None, CallTimeout)
    timer.start()
    try:
        response = client._send_request_safe_mode(rt.method, url, payload=body, headers=headers)
        error = getattr(response, "error", None)
        if error is None or isinstance(error, LocustBadStatusCode):
            try:
                content = read_body(response)
            except BodyRefused as exc:
                refused = str(exc)
            except FAILURE_EXCEPTIONS as exc:  # cut short while reading the body
                error = exc
    except Exception as exc:  # noqa: BLE001 - anything else is still a failed call, counted, never a lost one
        error = _Unexpected(exc)
    finally:
        timer.close()
    end = time.perf_counter()
    latency_ms = (end - t0) * 1000
    service_ms = None
    if planned is not None:
        service_ms, latency_ms = latency_ms, (end - planned) * 1000
        if recorder is not None and t0 - planned >= LATE_SEND_S:
            recorder.sent_late += 1
    status = (response.status_code or 0) if response is not None else 0
    exception: Exception | None = None
    category: str | None = None
    sample = None
    if error is not None and not isinstance(error, LocustBadStatusCode):
        category = "transport"  # refused, reset, timed out, cut short, not HTTP
        exception = TransportFailure(type(root_cause(error)).__name__)
        if recorder is not None and recorder.wants_sample(rt.key, category):
            sample = _sample(rt, path, status, _describe_error(rt, error))
    elif status != rt.status:
        category = "status"
        exception = StatusFailure(f"status {status}, expected {rt.status}")
        if recorder is not None and recorder.wants_sample(rt.key, category):
            sample = _sample(rt, path, status, str(exception))
    elif refused is not None:
        category = "schema"
        exception = SchemaFailure(refused)
        if recorder is not None and recorder.wants_sample(rt.key, category):
            sample = _sample(rt, path, status, refused)
    elif rt.status not in NO_BODY_STATUSES and rt.method != "HEAD":
        problem = rt.verdicts.get(content, _UNSEEN) if VERDICT_CACHE else _UNSEEN
        if problem is _UNSEEN:
            problem = _check_body(rt, content)
            if VERDICT_CACHE and len(content) <= MAX_CACHED_BODY:
                if len(rt.verdicts) >= MAX_VERDICTS:
                    rt.verdicts.clear()
                rt.verdicts[content] = problem
        if problem is not None:
            category = "schema"
            exception = SchemaFailure(problem[0])  # a stable text: Locust keeps one error entry per distinct text
            if recorder is not None and recorder.wants_sample(rt.key, category):
                sample = _sample(rt, path, status, problem[0], problem[1])
    if recorder is not None:
        recorder.record(rt.key, latency_ms=latency_ms, category=category, start_time=start_time, sample=sample,
                        service_ms=service_ms)
        if category == "transport" and _is_connect_error(error):
            recorder.connect_failures += 1
    client.request_event.fire(request_type=rt.method, name=rt.key, response_time=latency_ms,
                              response_length=len(content), exception=exception, context={}, response=response,
                              start_time=start_time, url=url)


def read_body(response: Any) -> bytes:
    """The body, bounded by MAX_BODY (as sent and once decompressed); kept where Locust looks for it."""
    headers = response.headers
    if headers is None:
        return b""
    declared = headers.get("content-length")
    encoding = headers.get("content-encoding")
    length = int(declared) if declared is not None and declared.strip().isdigit() else None
    if length is not None:
        if length > MAX_BODY:
            response.release()  # the rest is never read: the connection is closed, not reused
            raise BodyRefused(f"the body is {length:,} bytes, over the limit of {MAX_BODY:,} (MVPTEST_MAX_BODY_MB)")
        raw = response.read()  # the parser stops at the declared length: at most MAX_BODY bytes
    else:  # chunked, or until the connection closes: read in blocks and stop at the limit
        chunks, size = [], 0
        while True:
            block = response.read(_READ_BLOCK)
            if not block:
                break
            size += len(block)
            if size > MAX_BODY:
                response.release()
                raise BodyRefused(f"the body is over the limit of {MAX_BODY:,} bytes (MVPTEST_MAX_BODY_MB)")
            chunks.append(block)
        raw = b"".join(chunks)
    if encoding is not None and encoding.strip().lower() not in ("identity", ""):
        raw = _decompress(raw, encoding.strip().lower())
    response._cached_content = raw
    return raw


def _decompress(raw: bytes, encoding: str) -> bytes:
    import zlib

    try:
        if encoding in ("gzip", "x-gzip"):
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":  # zlib-wrapped, or raw deflate as some servers send it
            d = zlib.decompressobj(zlib.MAX_WBITS if raw[:1] == b"\x78" else -zlib.MAX_WBITS)
        elif encoding == "br":
            import brotli

            out = brotli.Decompressor().process(raw, output_buffer_limit=MAX_BODY + 1)
            if len(out) > MAX_BODY:
                raise BodyRefused(f"the body decompresses to over {MAX_BODY:,} bytes (MVPTEST_MAX_BODY_MB)")
            return out
        else:
            raise BodyRefused(f"the body is sent with Content-Encoding {encoding!r}, which mvptest cannot decode")
        out = d.decompress(raw, MAX_BODY + 1)
    except (zlib.error, brotli_error()) as exc:
        raise BodyRefused(f"the body is not valid {encoding} ({exc})") from None
    if len(out) > MAX_BODY or d.unconsumed_tail:
        raise BodyRefused(f"the body decompresses to over {MAX_BODY:,} bytes (MVPTEST_MAX_BODY_MB)")
    return out


def brotli_error() -> type[BaseException]:
    try:
        import brotli

        return brotli.error
    except (ImportError, AttributeError):
        return ValueError


def root_cause(error: BaseException) -> BaseException:
    """The error under geventhttpclient's wrapper (RetriesExceeded keeps it in ``.original``)."""
    seen = 0
    while seen < 5:
        inner = getattr(error, "original", None)
        if not isinstance(inner, BaseException):
            return error
        error, seen = inner, seen + 1
    return error


class _Unexpected(Exception):
    """An exception the HTTP client does not expect (e.g. a header Python refuses); its text may quote a header."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(type(exc).__name__)
        self.kind = type(exc).__name__


def _is_connect_error(error: BaseException | None) -> bool:
    """Refused, DNS or TLS: nothing answered at all (a timeout or a reset means something did)."""
    import socket
    import ssl

    seen = 0
    error = root_cause(error) if error is not None else None
    while error is not None and seen < 5:
        if isinstance(error, (ConnectionRefusedError, socket.gaierror, ssl.SSLError)):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def _describe_error(rt: _Runtime, error: BaseException) -> str:
    if isinstance(error, _Unexpected):
        return f"{error.kind} in the HTTP client (details withheld: they may quote a header)"
    from mvptest.masking import mask_free_text
    from mvptest.net.tls import describe

    problem = describe(error, client_cert=CONFIG.plan is not None and CONFIG.plan.tls is not None
                       and CONFIG.plan.tls.has_client_cert)
    if problem is not None:  # certificate verify failed, the server wants a client certificate, ...
        return problem.message
    cause = root_cause(error)
    if isinstance(cause, CallTimeout):
        return f"timeout: {cause} (load.timeout)"
    if isinstance(cause, ClosedBeforeResponse):
        return str(cause)
    return mask_free_text(f"{type(cause).__name__}: {cause or 'no detail'}")


def _check_body(rt: _Runtime, content: bytes) -> tuple[str, list[dict[str, Any]] | None] | None:
    """None when the body is JSON that meets the schema (warnings allowed); else the message and masked fields."""
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        return "the body is not JSON", None
    if rt.validator.is_valid(data):
        return None
    hard = [e for e in rt.validator.errors(data) if e.severity == "error"]
    if not hard:
        return None
    fields = [{"field": e.field, "kind": e.kind, "expected": e.expected, "message": e.message,
               "example": rt.masker.show(e.field, e.value) if e.value is not None else None} for e in hard[:5]]
    return "the body breaks the schema", fields


def _pick(rng: random.Random) -> _Runtime:
    runtimes = CONFIG.runtimes
    if len(runtimes) == 1:
        return runtimes[0]
    return rng.choices(runtimes, weights=CONFIG.weights)[0]


class _OnceUser(FastHttpUser):
    """A FastHttpUser whose every call is sent exactly once (see ``one_attempt``)."""

    abstract = True
    max_retries = 0
    max_redirects = 0

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        one_attempt(self.client)


class PilotUser(_OnceUser):
    """Closed model: each user calls, thinks, calls again."""

    host = "http://127.0.0.1"

    def wait_time(self) -> float:  # type: ignore[override]
        plan = CONFIG.plan
        return plan.think_time_s if plan else 0.0

    def on_start(self) -> None:
        self.rng = random.Random()
        if not CONFIG.runtimes:
            raise StopUser()

    @task
    def one_call(self) -> None:
        call(self.client, _pick(self.rng), self.rng)


class ArrivalUser(_OnceUser):
    """Open model: starts calls at a fixed rate whether or not earlier calls have answered."""

    host = "http://127.0.0.1"
    concurrency = MAX_IN_FLIGHT
    recorder: Any = None  # set by the engine: counts intended and dropped arrivals

    def wait_time(self) -> float:  # type: ignore[override]
        return 0.0

    @task
    def arrivals(self) -> None:
        rate = CONFIG.arrival_rate_per_user
        if rate <= 0 or not CONFIG.runtimes:
            raise StopUser()
        rng = random.Random()
        pool = gevent.pool.Pool(MAX_IN_FLIGHT)
        interval = 1.0 / rate
        t0 = time.perf_counter()
        plan = CONFIG.plan
        # Exactly round(rate x duration) arrivals, each at t0 + k / rate: counted by construction, not by summing
        # 1/rate in floating point (the 300th sum lands on the deadline and falls below it half the time). With
        # workers, the master's stop reaches each a little late; this user's own schedule ends it on time.
        count = _arrival_count(self, plan) if plan else 2**62
        try:
            # Until the runner asks this user to stop (graceful stop sets the state): then no new arrival, and
            # the calls in flight finish within the timeout, so that what the target answered is counted.
            for k in range(count):
                if self._state == LOCUST_STATE_STOPPING:
                    break
                next_at = t0 + k * interval
                now = time.perf_counter()
                if now < next_at:
                    gevent.sleep(next_at - now)
                    if self._state == LOCUST_STATE_STOPPING:
                        break
                elif k % 64 == 0:
                    gevent.sleep(0)  # behind schedule: still let the calls in flight (and the stop) run
                if ArrivalUser.recorder is not None:
                    ArrivalUser.recorder.intended += 1
                if pool.full():
                    if ArrivalUser.recorder is not None:
                        ArrivalUser.recorder.dropped += 1
                    continue
                pool.spawn(call, self.client, _pick(rng), rng, next_at)
            if CONFIG.on_schedule_end is not None:
                CONFIG.on_schedule_end()
            pool.join(timeout=(plan.timeout_s if plan else 10.0) + 1)
            while self._state != LOCUST_STATE_STOPPING:  # the task must not start over: wait for the stop
                gevent.sleep(0.05)
        finally:
            pool.kill(block=False)


def _arrival_count(user: Any, plan: RunPlan) -> int:
    """This arrival user's share of round(rate x duration): the shares add up to it exactly (worker i of n
    schedules round(N(i+1)/n) - round(Ni/n)); a worker whose index is out of range (it rejoined) schedules
    round(its rate x duration)."""
    n = CONFIG.arrival_users
    total = round((plan.rate or 0) * plan.duration_s)
    if n == 1:
        return total
    index = getattr(getattr(user.environment, "runner", None), "worker_index", -1)
    if not isinstance(index, int) or not 0 <= index < n:
        return round(CONFIG.arrival_rate_per_user * plan.duration_s)
    return round(total * (index + 1) / n) - round(total * index / n)
