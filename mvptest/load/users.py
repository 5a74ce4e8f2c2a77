"""Locust users generated from the plan: every response checked for transport, status, JSON and schema."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import gevent
import gevent.pool
import orjson
from locust import FastHttpUser, task
from locust.contrib.fasthttp import LocustBadStatusCode
from locust.exception import StopUser
from locust.user.task import LOCUST_STATE_STOPPING

from mvptest.masking import Masker
from mvptest.run.plan import RequestFactory, RunPlan
from mvptest.validation.compiled import CompiledSchema

MAX_IN_FLIGHT = 2000  # open model: calls in flight per arrival user before arrivals are dropped


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


class _Config:
    """Set once per process from the plan (a worker receives it from the master)."""

    plan: RunPlan | None = None
    runtimes: list[_Runtime] = []
    weights: list[float] = []
    headers: dict[str, str] = {}
    arrival_rate_per_user: float = 0.0


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
    """One call, classified: success, or a failure carrying a masked sample (never a header or secret)."""
    path, extra_headers, body = rt.factory.build(rng)
    headers = {**CONFIG.headers, **extra_headers} if extra_headers else CONFIG.headers
    if body is not None:
        headers = {**headers, "Content-Type": "application/json"}
    with client.request(rt.method, path, headers=headers, data=body, name=rt.key, catch_response=True) as resp:
        error = resp.request_meta.get("exception") or getattr(resp, "error", None)
        status = resp.status_code or 0
        if error is not None and not isinstance(error, LocustBadStatusCode):
            return  # refused, reset, timed out, cut short: left as it is, counted as transport by the listener
        if status != rt.status:
            resp.failure(StatusFailure(_sample(rt, path, status, f"status {status}, expected {rt.status}")))
            return
        try:
            data = orjson.loads(resp.content or b"")
        except orjson.JSONDecodeError:
            resp.failure(SchemaFailure(_sample(rt, path, status, "the body is not JSON")))
            return
        if not rt.validator.is_valid(data):
            errors = rt.validator.errors(data)
            hard = [e for e in errors if e.severity == "error"]
            if hard:
                fields = [{"field": e.field, "kind": e.kind, "expected": e.expected, "message": e.message,
                           "example": rt.masker.show(e.field, e.value) if e.value is not None else None} for e in hard[:5]]
                resp.failure(SchemaFailure(_sample(rt, path, status, "the body breaks the schema", fields)))
                return
        resp.success()


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
        try:
            # Until the runner asks this user to stop (graceful stop sets the state): then no new arrival, and
            # the calls in flight finish within the timeout, so that what the target answered is counted.
            while self._state != LOCUST_STATE_STOPPING:
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
            plan = CONFIG.plan
            pool.join(timeout=(plan.timeout_s if plan else 10.0) + 1)
        finally:
            pool.kill(block=False)
