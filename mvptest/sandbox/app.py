"""The sandbox's logic, apart from HTTP: routing, parameter checks, synthetic responses, faults, server-side stats."""

from __future__ import annotations

import copy
import hashlib
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from mvptest.run.histogram import Histogram
from mvptest.sandbox.faults import FaultConfig
from mvptest.sandbox.search import Search
from mvptest.sandbox.search import detect as detect_search
from mvptest.spec.model import Interface
from mvptest.validation.compiled import CompiledSchema
from mvptest.validation.readers import coerce_text

CONTROL_PREFIX = "/__mvptest/"
CACHE_LIMIT = 100_000


@dataclass
class Reply:
    """What to do with one request: answer (after ``delay_s``), reset the connection, or hang."""

    status: int
    body: bytes
    action: str = "respond"  # respond | reset | hang
    delay_s: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, payload: Any, **kw: Any) -> Reply:
    return Reply(status, orjson.dumps(payload), **kw)


@dataclass
class _Param:
    name: str
    location: str
    required: bool
    schema: Any
    check: Callable[[Any], bool] | None
    compiled: CompiledSchema | None


@dataclass
class Route:
    interface: Interface
    regex: re.Pattern[str]
    params: list[_Param]
    synth: Any  # mvptest.synth.Synthesizer
    echo: tuple[str, ...]  # parameters that name a top-level field of the response
    literal_weight: int
    param_synths: dict[str, Any] = field(default_factory=dict)
    search: Search | None = None  # a search interface: its total and items match what was searched


def _compile_template(path: str) -> tuple[re.Pattern[str], int]:
    out, literal = "", 0
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("}"):
            out += f"(?P<{re.sub(r'[^0-9A-Za-z_]', '_', part[1:-1])}>[^/]+)"
        else:
            out += re.escape(part)
            literal += len(part)
    return re.compile("^" + out.rstrip("/") + "/?$"), literal


@dataclass
class SandboxStats:
    """Server-side truth, so that a client's measurements can be held against it."""

    started_at: float = field(default_factory=time.time)
    requests: int = 0
    outcomes: Counter = field(default_factory=Counter)
    per_interface: dict[str, Counter] = field(default_factory=dict)
    delays: Histogram = field(default_factory=Histogram)  # injected delay of every interface request, µs
    delays_by_interface: dict[str, Histogram] = field(default_factory=dict)

    def count(self, interface: str | None, outcome: str, delay_s: float | None) -> None:
        self.requests += 1
        self.outcomes[outcome] += 1
        if interface is None:
            return
        self.per_interface.setdefault(interface, Counter())[outcome] += 1
        if delay_s is not None:
            us = round(delay_s * 1e6)
            self.delays.record(us)
            self.delays_by_interface.setdefault(interface, Histogram()).record(us)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "started_at": self.started_at,
            "uptime_s": round(time.time() - self.started_at, 3),
            "requests": self.requests,
            "outcomes": dict(sorted(self.outcomes.items())),
            "interfaces": {
                key: {
                    "outcomes": dict(sorted(c.items())),
                    "injected_delay_ms": self.delays_by_interface[key].summary_ms() if key in self.delays_by_interface else None,
                }
                for key, c in sorted(self.per_interface.items())
            },
            "injected_delay_ms": self.delays.summary_ms(),
            "injected_delay_histogram": self.delays.to_dict(),
        }


class SandboxApp:
    """Serves every interface of the given specs with synthetic data valid by construction, faults on request."""

    def __init__(self, interfaces: list[Interface], *, seed: int = 0, faults: FaultConfig | None = None,
                 transforms: dict[str, Any] | None = None) -> None:
        """``transforms``: interface key -> a function (e.g. a compat Adapter's ``apply``) that turns each generated
        record into the view served, for ``mvptest sandbox --adapter``."""
        from mvptest.synth import Synthesizer

        self.transforms = transforms or {}

        if not interfaces:
            raise ValueError("no interfaces to serve")
        self.seed = seed
        self.faults = faults or FaultConfig()
        self.rng = random.Random(seed)  # fault draws
        self.stats = SandboxStats()
        self.interfaces = interfaces
        self._cache: dict[tuple[Any, ...], bytes] = {}
        self.routes: list[Route] = []
        for itf in interfaces:
            regex, literal = _compile_template(itf.path)
            params = []
            param_synths = {}
            for p in itf.parameters:
                # the spec's format options decide what a parameter may be: a code the spec downgrades to a
                # warning (a legacy pilot credit code, a lower-case x) is served, as the provider serves it
                compiled = (CompiledSchema(p.schema, format_options=itf.format_options, mask=True)
                            if p.schema is not None else None)
                params.append(_Param(p.name, p.location, p.required, _root(p.schema),
                                     compiled.is_valid if compiled else None, compiled))
                if p.schema is not None:
                    param_synths[p.name] = Synthesizer(p.schema)
            props = _root(itf.response_schema).get("properties", {}) if isinstance(_root(itf.response_schema), dict) else {}
            echo = tuple(p.name for p in itf.parameters if p.location in ("path", "query") and p.name in props)
            self.routes.append(Route(itf, regex, params, Synthesizer(itf.response_schema), echo, literal, param_synths,
                                     detect_search(itf)))
        # Most literal path first: /enterprises/search before /enterprises/{uscc}.
        self.routes.sort(key=lambda r: -r.literal_weight)
        self.validators = {r.interface.key: CompiledSchema(r.interface.response_schema) for r in self.routes}

    # ------------------------------------------------------------------------------------------ requests
    def handle(self, method: str, target: str, body: bytes = b"") -> tuple[Reply, str | None]:
        """The reply to one request, and the interface it was for (None for control and unknown paths)."""
        if not target.startswith("/"):
            target = _origin_form(target)
        path, _, query = target.partition("?")
        if path.startswith(CONTROL_PREFIX):
            return self._control(path, query), None
        path = unquote(path)
        allowed = []
        for route in self.routes:
            m = route.regex.match(path)
            if m is None:
                continue
            if route.interface.method != method and not (method == "HEAD" and route.interface.method == "GET"):
                allowed.append(route.interface.method)
                continue
            return self._serve(route, m.groupdict(), query, body), route.interface.key
        if allowed:
            self.stats.count(None, "method_not_allowed", None)
            return _json(405, {"error": "method-not-allowed", "message": f"{path} answers {', '.join(sorted(set(allowed)))}",
                               "allowed": sorted(set(allowed))}, headers=(("Allow", ", ".join(sorted(set(allowed)))),)), None
        self.stats.count(None, "not_found", None)
        return _json(404, {"error": "not-found", "message": f"no interface serves {method} {path}",
                           "interfaces": [f"{r.interface.method} {r.interface.path}" for r in self.routes]}), None

    def _serve(self, route: Route, path_values: dict[str, str], query: str, body: bytes) -> Reply:
        itf = route.interface
        values: dict[str, Any] = {}
        query_values = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        for p in route.params:
            if p.location == "path":
                raw = path_values.get(re.sub(r"[^0-9A-Za-z_]", "_", p.name))
            elif p.location == "query":
                raw = query_values.get(p.name)
            else:
                continue  # headers are not checked by the sandbox
            if raw is None:
                if p.required:
                    self.stats.count(itf.key, "bad_request", None)
                    return _json(400, {"error": "missing-parameter", "parameter": p.name, "in": p.location,
                                       "message": f"the {p.location} parameter {p.name!r} is required"})
                continue
            value = coerce_text(raw, p.schema)
            if p.check is not None and not p.check(value):
                assert p.compiled is not None
                errors = p.compiled.errors(value)
                hard = [e for e in errors if e.severity == "error"]
                if hard or not errors:
                    first = hard[0] if hard else None
                    self.stats.count(itf.key, "bad_request", None)
                    return _json(400, {
                        "error": "invalid-parameter", "parameter": p.name, "in": p.location,
                        "expected": first.expected if first else "",
                        "message": f"{p.name}: {first.message}" if first else f"{p.name} is not valid",
                    })
            values[p.name] = value
        if itf.request_schema is not None and itf.method in ("POST", "PUT", "PATCH"):
            problem = self._check_body(itf, body)
            if problem is not None:
                self.stats.count(itf.key, "bad_request", None)
                return problem

        outcome = self.faults.draw(self.rng)
        delay = self.faults.latency.sample_ms(self.rng) / 1000 if self.faults.latency.active else 0.0
        self.stats.count(itf.key, outcome, delay)
        if outcome == "reset":
            return Reply(0, b"", action="reset", delay_s=delay)
        if outcome == "timeout":
            return Reply(0, b"", action="hang", delay_s=self.faults.hang_s)
        if outcome == "error":
            status = self.faults.error_status
            return _json(status, {"error": "injected-fault", "message": "a fault injected by the sandbox (--error-rate)"},
                         delay_s=delay)
        if outcome == "invalid":
            record = orjson.loads(self._body(route, values))
            drifted, what = route.synth.drift(record, self.rng)
            return Reply(itf.response_status, orjson.dumps(drifted), delay_s=delay, headers=(("X-Mvptest-Drift", _ascii(what)),))
        return Reply(itf.response_status, self._body(route, values), delay_s=delay)

    def _body(self, route: Route, values: dict[str, Any]) -> bytes:
        """The response for these parameters: the same every time (seeded by them), cached."""
        key = (route.interface.key, tuple(sorted((k, str(v)) for k, v in values.items())))
        body = self._cache.get(key)
        if body is None:
            digest = hashlib.blake2b(repr((self.seed, key)).encode(), digest_size=8).digest()
            rng = random.Random(int.from_bytes(digest, "big"))
            overrides = {name: values[name] for name in route.echo if name in values}
            record = route.synth.generate(rng, overrides=overrides or None)
            if route.search is not None and isinstance(record, dict):
                record = route.search.answer(record, values, self.seed, route.interface.key,
                                             self.validators[route.interface.key].is_valid)
            transform = self.transforms.get(route.interface.key)
            if transform is not None:
                record = transform(record)
            body = orjson.dumps(record)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = body
        return body

    def _check_body(self, itf: Interface, body: bytes) -> Reply | None:
        try:
            data = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            return _json(400, {"error": "invalid-body", "message": "the request body is not JSON"})
        assert itf.request_schema is not None
        compiled = CompiledSchema(itf.request_schema)
        if not compiled.is_valid(data):
            errors = compiled.errors(data)
            return _json(400, {"error": "invalid-body", "message": "the request body does not match the schema",
                               "fields": [{"field": e.field, "kind": e.kind, "expected": e.expected} for e in errors[:10]]})
        return None

    # ------------------------------------------------------------------------------------------ control
    def _control(self, path: str, query: str) -> Reply:
        name = path[len(CONTROL_PREFIX):].strip("/")
        if name == "health":
            return _json(200, {"status": "ok"})
        if name == "stats":
            payload = self.stats.to_dict()
            payload["seed"] = self.seed
            payload["faults"] = self.faults.describe()
            if parse_qsl(query).count(("reset", "1")):
                self.stats = SandboxStats()
            return _json(200, payload)
        if name == "routes":
            return _json(200, {"interfaces": [self.describe_route(r) for r in self.routes]})
        return _json(404, {"error": "not-found", "message": f"no control endpoint {path}",
                           "endpoints": [CONTROL_PREFIX + n for n in ("health", "stats", "routes")]})

    def describe_route(self, route: Route) -> dict[str, Any]:
        return {"id": route.interface.key, "method": route.interface.method, "path": route.interface.path,
                "example": self.example_target(route, random.Random(self.seed))}

    def example_target(self, route: Route, rng: random.Random) -> str:
        """A request target with valid parameters for this route (synthetic), e.g. for a load test."""
        path = route.interface.path
        query = []
        for p in route.params:
            syn = route.param_synths.get(p.name)
            if syn is None:
                continue
            value = syn.generate(rng)
            if p.location == "path":
                path = path.replace("{" + p.name + "}", str(value))
            elif p.location == "query" and p.required:
                query.append(f"{p.name}={value}")
        return path + ("?" + "&".join(query) if query else "")

    def copy_stats(self) -> dict[str, Any]:
        return copy.deepcopy(self.stats.to_dict())


def _root(bundled: Any) -> Any:
    if bundled is None:
        return None
    node, _ = bundled.resolve(bundled.schema)
    return node


def _origin_form(target: str) -> str:
    """``http://host:port/a?b`` -> ``/a?b``: the absolute form a server must accept (RFC 9112 3.2.2)."""
    scheme, sep, rest = target.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return target
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    tail = rest[cut:]
    return tail if tail.startswith("/") else "/" + tail


def _ascii(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode("ascii")[:200]
