"""Locust users generated from the plan: every response checked for transport, status, JSON and schema."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.pool
import gevent.ssl
import orjson
from locust import FastHttpUser, task
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, LocustBadStatusCode
from locust.exception import StopUser
from locust.user.task import LOCUST_STATE_STOPPING

from mvptest.load.body import BodyRefused, read_body
from mvptest.load.client import ClosedBeforeResponse, one_attempt, send
from mvptest.masking import SECRETS, Masker
from mvptest.run.plan import RunPlan
from mvptest.run.recorder import LATE_SEND_S
from mvptest.run.requests import RequestFactory
from mvptest.validation.compiled import CompiledSchema

# Open model: calls in flight per arrival user before arrivals are dropped (MVPTEST_MAX_IN_FLIGHT changes it).
MAX_IN_FLIGHT = max(1, int(os.environ.get("MVPTEST_MAX_IN_FLIGHT", "2000")))
# Validation is a pure function of the body's bytes: a body seen before gets the verdict it got then (a provider
# answers the same parameter with the same bytes). MVPTEST_VERDICT_CACHE=0 parses and validates every body.
VERDICT_CACHE = os.environ.get("MVPTEST_VERDICT_CACHE", "1") != "0"
MAX_VERDICTS = 4096
MAX_CACHED_BODY = 64 * 1024
NO_BODY_STATUSES = frozenset((204, 205, 304))  # HTTP says these carry no body: an empty one is what the spec asks
_UNSEEN: Any = object()
Verdict = tuple[str, list[dict[str, Any]] | None] | None  # None: the body is valid


class StatusFailure(Exception):
    """The call completed with another status than the interface's."""


class SchemaFailure(Exception):
    """The call completed with the right status but the body is not JSON or breaks the schema."""


class TransportFailure(Exception):
    """The call did not complete: refused, reset, cut short, timed out, not HTTP."""


class CallTimeout(TimeoutError):
    """The whole call (connect, first byte, full body) took longer than the scenario's timeout.

    A TimeoutError (an OSError) on purpose: geventhttpclient releases a socket on OSError wherever the timer
    fires, so that a timed-out connection is closed, never handed to the next call with bytes still coming."""

    def __init__(self, *args: Any) -> None:
        plan = CONFIG.plan
        super().__init__(*(args or (f"no complete response within {plan.timeout_s if plan else 0:g} s",)))


@dataclass
class _Runtime:
    key: str
    method: str
    status: int
    factory: RequestFactory
    validator: CompiledSchema
    masker: Masker
    verdicts: dict[bytes, Verdict] = field(default_factory=dict)  # body -> None (valid) or (message, fields)


class _Config:
    """Set once per process from the plan (a worker receives it from the master)."""

    plan: RunPlan | None = None
    runtimes: list[_Runtime] = []
    weights: list[float] = []
    headers: dict[str, str] = {}
    arrival_rate_per_user: float = 0.0
    arrival_users: int = 1
    recorder: Any = None  # this process's Recorder, set by the engine
    on_schedule_end: Any = None  # set by the engine: called when an arrival schedule has sent its last call


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

    Lean on purpose (the generator's CPU per call is what a run can afford): one request straight on the session's
    HTTP client (``client.send``: the bytes FastHttpSession would send, with Locust's error types, without its
    per-call URL parsing, retry loop and empty cookie jar), sent once (``one_attempt``), bounded as a whole by the
    scenario's timeout (connect, first byte and full body: the socket timeout alone restarts on every byte a slow
    provider drips), our recorder fed directly, and Locust's request event fired once with the final outcome, so
    that Locust's statistics count the same calls as ours."""
    path, extra_headers, body = rt.factory.build(rng)
    shared = not extra_headers and body is None
    headers = CONFIG.headers if shared else {**CONFIG.headers, **(extra_headers or {})}
    if body is not None:
        headers["Content-Type"] = "application/json"
    url = client.base_url + path
    recorder = CONFIG.recorder
    if recorder is not None:
        recorder.sent += 1
    start_time = time.time()
    t0 = time.perf_counter()
    response, content, error, refused = _exchange(client, rt.method, url, body, headers, shared)
    end = time.perf_counter()
    latency_ms = (end - t0) * 1000
    service_ms = None
    if planned is not None:
        service_ms, latency_ms = latency_ms, (end - planned) * 1000
        if recorder is not None and t0 - planned >= LATE_SEND_S:
            recorder.sent_late += 1
    status = (response.status_code or 0) if response is not None else 0
    category, exception, sample = _classify(rt, path, status, error, refused, content, recorder)
    if recorder is not None:
        recorder.record(rt.key, latency_ms=latency_ms, category=category, start_time=start_time, sample=sample,
                        service_ms=service_ms)
        if category == "transport" and _is_connect_error(error):
            recorder.connect_failures += 1
    client.request_event.fire(request_type=rt.method, name=rt.key, response_time=latency_ms,
                              response_length=len(content), exception=exception, context={}, response=response,
                              start_time=start_time, url=url)


def _exchange(client: Any, method: str, url: str, body: bytes | None, headers: dict[str, str],
              shared: bool) -> tuple[Any, bytes, BaseException | None, str | None]:
    """Send and read, under the whole-call timer: (response or None, body, error or None, why the body was refused)."""
    content = b""
    refused: str | None = None
    response: Any = None
    # A new timer for every call: a gevent Timeout started again after a cancel keeps its first deadline (measured:
    # the second start fires at once), so reusing one would time out calls that never were slow.
    timer = gevent.Timeout(CONFIG.plan.timeout_s if CONFIG.plan else None, CallTimeout)
    timer.start()
    try:
        response = send(client, method, url, payload=body, headers=headers, shared=shared)
        error = getattr(response, "error", None)
        if error is None or isinstance(error, LocustBadStatusCode):
            try:
                content = read_body(response)
            except BodyRefused as exc:
                refused = str(exc)
            except FAILURE_EXCEPTIONS as exc:  # cut short while reading the body
                error = exc
    except Exception as exc:  # anything else is still a failed call, counted, never a lost one
        error = _Unexpected(exc)
    finally:
        timer.close()
    return response, content, error, refused


def _classify(rt: _Runtime, path: str, status: int, error: BaseException | None, refused: str | None, content: bytes,
              recorder: Any) -> tuple[str | None, Exception | None, dict[str, Any] | None]:
    """(failure category or None for a success, the exception Locust records, a masked sample or None)."""
    if error is not None and not isinstance(error, LocustBadStatusCode):
        transport = TransportFailure(type(root_cause(error)).__name__)  # refused, reset, timed out, cut short, not HTTP
        wanted = recorder is not None and recorder.wants_sample(rt.key, "transport")
        return "transport", transport, _sample(rt, path, status, _describe_error(rt, error, status)) if wanted else None
    if status != rt.status:
        bad = StatusFailure(f"status {status}, expected {rt.status}")
        return "status", bad, _maybe_sample(rt, recorder, "status", path, status, str(bad))
    if refused is not None:
        return "schema", SchemaFailure(refused), _maybe_sample(rt, recorder, "schema", path, status, refused)
    if rt.status in NO_BODY_STATUSES or rt.method == "HEAD":
        return None, None, None
    seen = rt.verdicts.get(content, _UNSEEN) if VERDICT_CACHE else _UNSEEN
    if seen is _UNSEEN:
        problem = _check_body(rt, content)
        if VERDICT_CACHE and len(content) <= MAX_CACHED_BODY:
            if len(rt.verdicts) >= MAX_VERDICTS:
                rt.verdicts.clear()
            rt.verdicts[content] = problem
    else:
        problem = seen
    if problem is None:
        return None, None, None
    # a stable text: Locust keeps one error entry per distinct text
    return "schema", SchemaFailure(problem[0]), _maybe_sample(rt, recorder, "schema", path, status, *problem)


def _maybe_sample(rt: _Runtime, recorder: Any, category: str, path: str, status: int, message: str,
                  fields: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    if recorder is None or not recorder.wants_sample(rt.key, category):
        return None
    return _sample(rt, path, status, message, fields)


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


# How a transport failure reads in a report: what happened, in words, not the client's exception text
_PLAIN = {"ConnectionResetError": "connection reset by the provider", "ConnectionRefusedError": "connection refused",
          "BrokenPipeError": "connection closed by the provider while the request was sent",
          "ConnectionAbortedError": "connection aborted", "gaierror": "host name not found",
          "HTTPParseError": "the response is not valid HTTP", "ParserError": "the response is not valid HTTP",
          "IncompleteRead": "the response ended before its body was complete"}


def _describe_error(rt: _Runtime, error: BaseException, status: int = 0) -> str:
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
    name = type(cause).__name__
    plain = _PLAIN.get(name)
    if plain is not None and name in ("ConnectionRefusedError", "gaierror"):
        return plain + " (the request was never sent)"
    if plain is not None:
        return plain + (f" while the body was read (status {status} had arrived)" if status else " before any response")
    return mask_free_text(f"{type(cause).__name__}: {cause or 'no detail'}")


def _check_body(rt: _Runtime, content: bytes) -> Verdict:
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

    def wait_time(self) -> float:
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

    def wait_time(self) -> float:
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
