"""Locust users generated from the plan: every response checked for transport, status, JSON and schema."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.pool
import orjson
from locust import FastHttpUser, task
from locust.contrib.fasthttp import FAILURE_EXCEPTIONS, LocustBadStatusCode
from locust.exception import StopUser
from locust.user.task import LOCUST_STATE_STOPPING

from mvptest.masking import Masker
from mvptest.run.plan import RequestFactory, RunPlan
from mvptest.validation.compiled import CompiledSchema

MAX_IN_FLIGHT = 2000  # open model: calls in flight per arrival user before arrivals are dropped
# Validation is a pure function of the body's bytes: a body seen before gets the verdict it got then (a provider
# answers the same parameter with the same bytes). MVPTEST_VERDICT_CACHE=0 parses and validates every body.
VERDICT_CACHE = os.environ.get("MVPTEST_VERDICT_CACHE", "1") != "0"
MAX_VERDICTS = 4096
MAX_CACHED_BODY = 64 * 1024
_UNSEEN = object()


class StatusFailure(Exception):
    """The call completed with another status than the interface's."""


class SchemaFailure(Exception):
    """The call completed with the right status but the body is not JSON or breaks the schema."""


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
    recorder: Any = None  # this process's Recorder, set by the engine


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
    CONFIG.headers = {"Accept": "application/json", **plan.headers}
    CONFIG.arrival_rate_per_user = (plan.rate or 0) / max(1, arrival_users)
    for cls in (PilotUser, ArrivalUser):
        cls.host = base_url
        cls.network_timeout = plan.timeout_s
        cls.connection_timeout = plan.timeout_s


def _sample(rt: _Runtime, url: str, status: int, message: str, fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"url": rt.masker.show("", url), "status": status, "message": message, "at": round(time.time(), 3)}
    if fields:
        out["fields"] = fields
    return out


def call(client: Any, rt: _Runtime, rng: random.Random) -> None:
    """One call, classified and recorded: success, or a failure carrying a masked sample (never a header or secret).

    Lean on purpose (the generator's CPU per call is what a run can afford): one request through Locust's
    FastHttpSession (``_send_request_safe_mode``: Locust's own error handling, no context manager), our recorder fed
    directly, and Locust's request event fired once with the final outcome, so that Locust's statistics count the
    same calls as ours."""
    path, extra_headers, body = rt.factory.build(rng)
    headers = {**CONFIG.headers, **extra_headers} if extra_headers else CONFIG.headers
    if body is not None:
        headers = {**headers, "Content-Type": "application/json"}
    url = client.base_url + path
    start_time = time.time()
    t0 = time.perf_counter()
    content = b""
    response: Any = None
    try:
        response = client._send_request_safe_mode(rt.method, url, payload=body, headers=headers)
        error = getattr(response, "error", None)
        if error is None or isinstance(error, LocustBadStatusCode):
            try:
                content = response.content or b""
            except FAILURE_EXCEPTIONS as exc:  # cut short while reading the body
                error = exc
    except Exception as exc:  # noqa: BLE001 - anything else is still a failed call, counted, never a lost one
        error = _Unexpected(exc)
    latency_ms = (time.perf_counter() - t0) * 1000
    status = (response.status_code or 0) if response is not None else 0
    exception: Exception | None = None
    category: str | None = None
    sample = None
    if error is not None and not isinstance(error, LocustBadStatusCode):
        category, exception = "transport", error  # refused, reset, timed out, cut short
        sample = _sample(rt, path, status, _describe_error(rt, error))
    elif status != rt.status:
        category = "status"
        sample = _sample(rt, path, status, f"status {status}, expected {rt.status}")
        exception = StatusFailure(sample)
    else:
        problem = rt.verdicts.get(content, _UNSEEN) if VERDICT_CACHE else _UNSEEN
        if problem is _UNSEEN:
            problem = _check_body(rt, content)
            if VERDICT_CACHE and len(content) <= MAX_CACHED_BODY:
                if len(rt.verdicts) >= MAX_VERDICTS:
                    rt.verdicts.clear()
                rt.verdicts[content] = problem
        if problem is not None:
            category = "schema"
            sample = _sample(rt, path, status, problem[0], problem[1])
            exception = SchemaFailure(sample)
    recorder = CONFIG.recorder
    if recorder is not None:
        recorder.record(rt.key, latency_ms=latency_ms, category=category, start_time=start_time, sample=sample)
        if category == "transport" and _is_connect_error(error):
            recorder.connect_failures += 1
    client.request_event.fire(request_type=rt.method, name=rt.key, response_time=latency_ms,
                              response_length=len(content), exception=exception, context={}, response=response,
                              start_time=start_time, url=url)


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

    # geventhttpclient's RetriesExceeded keeps the real cause (a timeout, a reset) in .original
    cause = getattr(error, "original", None) or error.__cause__ or error.__context__
    text = f"{type(error).__name__}: {error}"
    if cause is not None:
        text = f"{type(cause).__name__}: {cause or 'no detail'} ({text})"
    return mask_free_text(text)


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


class PilotUser(FastHttpUser):
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


class ArrivalUser(FastHttpUser):
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
        next_at = time.perf_counter()
        plan = CONFIG.plan
        # Arrivals end at this user's own deadline as well: with workers, the master's stop reaches each a few
        # milliseconds late, which would add arrivals beyond rate x duration.
        deadline = next_at + plan.duration_s if plan else float("inf")
        try:
            # Until the runner asks this user to stop (graceful stop sets the state): then no new arrival, and
            # the calls in flight finish within the timeout, so that what the target answered is counted.
            while self._state != LOCUST_STATE_STOPPING and next_at < deadline:
                now = time.perf_counter()
                if now < next_at:
                    gevent.sleep(next_at - now)
                    if self._state == LOCUST_STATE_STOPPING:
                        break
                next_at += interval
                if ArrivalUser.recorder is not None:
                    ArrivalUser.recorder.intended += 1
                if pool.full():
                    if ArrivalUser.recorder is not None:
                        ArrivalUser.recorder.dropped += 1
                    continue
                pool.spawn(call, self.client, _pick(rng), rng)
            pool.join(timeout=(plan.timeout_s if plan else 10.0) + 1)
            while self._state != LOCUST_STATE_STOPPING:  # the task must not start over: wait for the stop
                gevent.sleep(0.05)
        finally:
            pool.kill(block=False)
