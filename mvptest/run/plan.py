"""From a scenario (plus command-line overrides) to a run plan: interfaces, load, target, data, targets. No locust."""

from __future__ import annotations

import datetime
import math
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mvptest.errors import ConfigError, InputError, Location, SpecError
from mvptest.net import host_allowed
from mvptest.run.pools import _load_pool
from mvptest.run.wire import interface_from_wire, interface_to_wire
from mvptest.spec.durations import parse_duration
from mvptest.spec.env import substitute_env
from mvptest.spec.loader import display_path
from mvptest.spec.model import Interface, Targets


@dataclass
class InterfacePlan:
    interface: Interface
    weight: float
    targets: Targets


@dataclass
class SandboxOptions:
    seed: int = 0
    latency_ms: str = "0"
    error_rate: float = 0.0
    invalid_rate: float = 0.0
    reset_rate: float = 0.0
    timeout_rate: float = 0.0


@dataclass
class RunPlan:
    name: str
    scenario_path: str
    spec_paths: list[str]
    target: str  # "sandbox" or a base URL
    interfaces: list[InterfacePlan]
    users: int = 10
    spawn_rate: float = 10.0
    rate: float | None = None  # requests/s (open model) instead of users
    duration_s: float = 30.0
    think_time_s: float = 0.0
    timeout_s: float = 10.0
    workers: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    pools: dict[str, list[Any]] = field(default_factory=dict)
    sandbox: SandboxOptions = field(default_factory=SandboxOptions)
    allowed_hosts: list[str] = field(default_factory=list)
    seed: int = 0
    warnings: list[str] = field(default_factory=list)  # said before the load starts; not sent to workers
    tls: Any = None  # mvptest.net.tls.TlsConfig: PEM contents (workers need no files); never written to results
    confidence: float = 0.95  # of every bound the verdict uses (targets: {confidence: ...} or --confidence)
    sequential: dict[str, Any] | None = None  # duration: auto: looks, check_every_s, overall and per-look confidence
    consumers: list[dict[str, Any]] = field(default_factory=list)  # the scenario's consumers and their declared usage
    load_basis: str = ""  # how the load was chosen, in one sentence (the verdict says what it was judged under)
    notes: list[str] = field(default_factory=list)  # said before the load starts, as information

    @property
    def planned_calls(self) -> int | None:
        """Open model: the calls the schedule plans, round(rate x duration); None in the closed model."""
        return round(self.rate * self.duration_s) if self.rate else None

    @property
    def uses_sandbox(self) -> bool:
        return self.target == "sandbox"

    def to_wire(self) -> dict[str, Any]:
        """Everything a worker process needs, as plain data (it has no spec files of its own)."""
        return {
            "name": self.name, "target": self.target, "users": self.users, "spawn_rate": self.spawn_rate,
            "rate": self.rate, "duration_s": self.duration_s, "think_time_s": self.think_time_s,
            "timeout_s": self.timeout_s, "headers": self.headers, "pools": self.pools, "seed": self.seed,
            "interfaces": [{"interface": interface_to_wire(p.interface), "weight": p.weight} for p in self.interfaces],
            "tls": self.tls.to_wire() if self.tls is not None else None, "confidence": self.confidence,
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> RunPlan:
        from mvptest.net.tls import TlsConfig

        return cls(
            name=data["name"], scenario_path="", spec_paths=[], target=data["target"],
            interfaces=[InterfacePlan(interface_from_wire(i["interface"]), float(i["weight"]), Targets())
                        for i in data["interfaces"]],
            users=int(data["users"]), spawn_rate=float(data["spawn_rate"]), rate=data["rate"],
            duration_s=float(data["duration_s"]), think_time_s=float(data["think_time_s"]),
            timeout_s=float(data["timeout_s"]), headers=dict(data["headers"]), pools=dict(data["pools"]),
            seed=int(data["seed"]), tls=TlsConfig.from_wire(data.get("tls")),
            confidence=float(data.get("confidence", 0.95)),
        )


def build_plan(scenario_path: Path, *, target: str | None = None, duration: str | None = None, users: int | None = None,
               rate: float | None = None, workers: int | None = None, allow_hosts: tuple[str, ...] = (),
               success_rate: float | None = None, latency_targets: dict[str, float] | None = None,
               spec_root: Path | None = None, ca_bundle: Path | None = None, client_cert: Path | None = None,
               client_key: Path | None = None, load_processes: int | None = None,
               confidence: float | None = None) -> RunPlan:
    """Load the scenario and its specs, apply command-line overrides, check everything a run will need.

    ``load_processes``: how many processes generate the load (remote workers of ``--master``); default the
    plan's local workers, or this process."""
    from mvptest.spec.check import load_specs

    loaded = load_specs([scenario_path], spec_root=spec_root)
    if loaded.errors:
        raise SpecError(loaded.errors)
    if not loaded.scenarios:
        raise InputError("is not a scenario (kind: scenario)", where=display_path(scenario_path))
    scenario = loaded.scenarios[0]
    data = scenario.data
    doc = scenario.document
    specs = load_specs(scenario.spec_paths, spec_root=spec_root)
    if specs.errors:
        raise SpecError(specs.errors)
    plans = _interface_plans(data, doc, specs, success_rate, latency_targets)

    load = data.get("load") or {}

    def located(key: str, value: Any, from_cli: bool = False) -> float:
        """A duration; when the scenario's is wrong, the message names the file and line."""
        try:
            return parse_duration(value, what=key)
        except ConfigError as exc:
            if from_cli:
                raise
            raise InputError(exc.message, where=doc.locate(f"/load/{key}"), hint=exc.hint) from None

    plan = RunPlan(
        name=data["name"], scenario_path=display_path(scenario_path), spec_paths=[display_path(p) for p in scenario.spec_paths],
        target=target or data.get("target", "sandbox"), interfaces=plans,
        users=int(users if users is not None else load.get("users", 10)),
        spawn_rate=float(load.get("spawn_rate", max(1, load.get("users", 10)))),
        rate=rate if rate is not None else load.get("rate"),
        duration_s=_duration_or_max(located, duration, load),
        think_time_s=located("think_time", load["think_time"]) if load.get("think_time") else 0.0,
        timeout_s=located("timeout", load.get("timeout", "10s")),
        workers=int(workers if workers is not None else load.get("workers", 0)),
        allowed_hosts=list(data.get("allowed_hosts", [])) + list(allow_hosts),
        seed=int((data.get("sandbox") or {}).get("seed", 0)),
        confidence=float(confidence if confidence is not None else (data.get("targets") or {}).get("confidence", 0.95)),
    )
    if users is not None and rate is None:
        plan.rate = None  # --users on the command line means the closed model
    if plan.rate is not None and plan.rate <= 0:
        raise ConfigError("--rate must be positive")
    if "spawn_rate" not in load:
        plan.spawn_rate = float(max(1, plan.users))  # all users at once, also when --users changed their number
    if _is_auto(duration if duration is not None else load.get("duration")):
        _sequential(plan, located("check_every", load.get("check_every", "5s")))
    plan.consumers = _consumers(data, doc, scenario_path, plans, spec_root)
    _choose_load(plan, load, from_cli=users is not None or rate is not None)
    _check_load_size(plan, max(1, load_processes if load_processes is not None else plan.workers),
                     where=doc.locate("/load/rate" if plan.rate else "/load/users"),
                     from_cli=(rate if plan.rate else users) is not None)
    _check_target(plan, scenario_path)
    plan.sandbox = _sandbox_options(plan, data, doc)
    _headers_and_pools(plan, data, doc, scenario_path)
    from mvptest.net.tls import plan_tls

    plan.tls = plan_tls(data.get("tls"), base=scenario_path.parent, locate=doc.locate, ca_bundle=ca_bundle,
                        client_cert=client_cert, client_key=client_key)
    return plan


def _interface_plans(data: dict[str, Any], doc: Any, specs: Any, success_rate: float | None,
                     latency_targets: dict[str, float] | None) -> list[InterfacePlan]:
    """The scenario's interfaces (all of its specs' by default), each with its weight and merged targets."""
    wanted = data.get("interfaces") or [i.key for i in specs.interfaces]
    plans: list[InterfacePlan] = []
    for j, item in enumerate(wanted):
        ident = item["id"] if isinstance(item, dict) else item
        itf = specs.interface(ident)
        if itf is None:
            raise InputError(f"interfaces[{j}]: {ident!r} is in none of the scenario's specs",
                             where=doc.locate(f"/interfaces/{j}"))
        weight = float(item.get("weight", 1)) if isinstance(item, dict) else 1.0
        targets = Targets.merged(
            {"success_rate": itf.targets.success_rate, "latency_ms": itf.targets.latency_ms},
            data.get("targets"),
            {"success_rate": success_rate} if success_rate is not None else None,
            {"latency_ms": latency_targets} if latency_targets else None,
        )
        plans.append(InterfacePlan(itf, weight, targets))
    if not plans:
        raise InputError("names no interface to load", where=doc.locate())
    return plans


def _sequential(plan: RunPlan, every: float) -> None:
    """duration: auto: look at the verdict every ``every`` seconds up to the duration, each look at a stricter level."""
    looks = max(1, math.ceil(plan.duration_s / every))
    # Bonferroni over the looks: each look decides at 1 - (1 - c)/K, so stopping at the first decided look keeps
    # the chance of a wrong pass (or fail) over the whole run at most 1 - c.
    plan.sequential = {"looks": looks, "check_every_s": every, "max_duration_s": plan.duration_s,
                       "overall_confidence": plan.confidence,
                       "per_look_confidence": 1 - (1 - plan.confidence) / looks}
    plan.confidence = plan.sequential["per_look_confidence"]


def _check_target(plan: RunPlan, scenario_path: Path) -> None:
    """A base URL with a valid port, on loopback or an allowed host (the network policy)."""
    if plan.target == "sandbox":
        return
    if not re.match(r"^https?://[^/]+", plan.target):
        raise ConfigError(f"target {plan.target!r} is not a base URL", hint="write it as http://host:port or 'sandbox'")
    try:
        _ = urlsplit(plan.target).port  # raises on a port out of range or not a number
    except ValueError:
        shown = re.sub(r"//[^/@]*@", "//", plan.target).split("?", 1)[0]  # never a user, password or query
        raise ConfigError(f"target {shown!r}: the port is not a number from 1 to 65535",
                         hint="write it as http://host:port, e.g. http://127.0.0.1:8080") from None
    if not host_allowed(plan.target, plan.allowed_hosts):
        host = urlsplit(plan.target).hostname
        raise ConfigError(
            f"refusing to send load to {host}: it is not loopback and not in the scenario's allowed_hosts",
            hint=f"add it to allowed_hosts in {display_path(scenario_path)} or pass --allow-host {host}",
        )


def _sandbox_options(plan: RunPlan, data: dict[str, Any], doc: Any) -> SandboxOptions:
    """The scenario's sandbox: section (seed, latency, fault rates), its latency checked where it is written."""
    sb = data.get("sandbox") or {}
    if plan.uses_sandbox and "latency_ms" in sb:
        from mvptest.sandbox.faults import LatencyModel

        try:
            LatencyModel.parse(sb["latency_ms"])
        except ConfigError as exc:
            raise InputError(f"sandbox.latency_ms: {exc.message}", where=doc.locate("/sandbox/latency_ms"),
                             hint=exc.hint) from None
    return SandboxOptions(
        seed=int(sb.get("seed", 0)), latency_ms=str(sb.get("latency_ms", "0")), error_rate=float(sb.get("error_rate", 0)),
        invalid_rate=float(sb.get("invalid_rate", 0)), reset_rate=float(sb.get("reset_rate", 0)),
        timeout_rate=float(sb.get("timeout_rate", 0)),
    )


def _headers_and_pools(plan: RunPlan, data: dict[str, Any], doc: Any, scenario_path: Path) -> None:
    """Headers with ${ENV} substituted, and the data pools, read relative to the scenario."""
    for name, value in (data.get("headers") or {}).items():
        plan.headers[name] = substitute_env(str(value), where=doc.locate(f"/headers/{name}"), name=name)
    for name, spec in (data.get("data") or {}).items():
        if not isinstance(spec, dict):
            raise InputError(f"data pool {name!r} must be a mapping with 'file' or 'values'", where=doc.locate(f"/data/{name}"))
        plan.pools[name] = _load_pool(spec, scenario_path.parent, doc.locate(f"/data/{name}"), name)
    plan.warnings.extend(_pool_warnings(plan))


def _is_auto(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() == "auto"


def _duration_or_max(located: Any, cli: str | None, load: dict[str, Any]) -> float:
    """The run's duration; with ``duration: auto`` (or --duration auto) its maximum, max_duration (10m)."""
    value = cli if cli is not None else load.get("duration", "30s")
    if _is_auto(value):
        return located("max_duration", load.get("max_duration", "10m"))
    return located("duration", value, from_cli=cli is not None)


DEFAULT_HEADROOM = 2.0  # the default load: the consumers' summed declared peak times this


def _consumers(data: dict[str, Any], doc: Any, scenario_path: Path, plans: list[InterfacePlan],
               spec_root: Path | None) -> list[dict[str, Any]]:
    """The scenario's consumers (requirement specs) with the usage each declares, checked against its interfaces."""
    from mvptest.spec.check import load_specs

    keys = {ip.interface.key for ip in plans}
    out = []
    for i, rel in enumerate(data.get("consumers") or []):
        where = doc.locate(f"/consumers/{i}")
        loaded = load_specs([scenario_path.parent / rel], spec_root=spec_root)
        if loaded.errors:
            raise SpecError(loaded.errors)
        if len(loaded.requirements) != 1:
            raise InputError(f"consumers[{i}]: {rel!r} is not a requirement spec (kind: requirement)", where=where)
        req = loaded.requirements[0]
        if req.consumes not in keys:
            raise InputError(f"consumers[{i}]: {req.department.name or req.department.id} consumes {req.consumes!r}, "
                             "which this scenario does not load", where=where,
                             hint="interfaces here: " + ", ".join(sorted(keys)))
        usage = req.usage or {}
        out.append({"requirement": req.key, "department": req.department.name or req.department.id,
                    "consumes": req.consumes, "mode": usage.get("mode"), "peak_rps": usage.get("peak_rps")})
    return out


def _choose_load(plan: RunPlan, load: dict[str, Any], *, from_cli: bool) -> None:
    """The load a run is judged under: the scenario's users or rate when it sets them (or the command line);
    else the consumers' declared peak rates summed, times the headroom, as an open model."""
    declared = [c for c in plan.consumers if isinstance(c.get("peak_rps"), (int, float)) and c["peak_rps"] > 0]
    if not from_cli and "users" not in load and "rate" not in load and declared:
        headroom = float(load.get("headroom", DEFAULT_HEADROOM))
        peak = sum(float(c["peak_rps"]) for c in declared)
        plan.rate = peak * headroom
        parts = ", ".join(f"{c['department']} {float(c['peak_rps']):g}/s" for c in declared)
        plan.load_basis = (f"{plan.rate:g} calls/s (open model): {headroom:g} x the consumers' declared peak "
                           f"({parts})")
    elif plan.rate:
        plan.load_basis = f"{plan.rate:g} calls/s (open model), as the scenario or the command line sets"
    else:
        plan.load_basis = f"{plan.users:,} users (closed model), as the scenario or the command line sets"
        if declared:
            peak = sum(float(c["peak_rps"]) for c in declared)
            plan.load_basis += f"; the consumers declare a peak of {peak:g} calls/s"
    if not plan.rate:
        plan.notes.append(f"load: {plan.load_basis}")
    if plan.rate:
        from mvptest.run.targets import requests_needed

        rates = [ip.targets.success_rate for ip in plan.interfaces if ip.targets.success_rate]
        needed = max((requests_needed(r, plan.confidence) or 0 for r in rates), default=0)
        if needed:
            plan.notes.append(f"load: {plan.load_basis}; showing {max(rates):.2%} takes at least {needed:,} calls "
                              f"without a failure, {needed / plan.rate:,.0f} s at this rate")
        if needed and plan.rate * plan.duration_s < needed:
            plan.warnings.append(
                f"at {plan.rate:g} calls/s the run makes about {plan.rate * plan.duration_s:,.0f} calls in "
                f"{plan.duration_s:g} s; showing {max(rates):.2%} takes at least {needed:,} calls without a failure "
                f"({needed / plan.rate:,.0f} s at this rate): run at least that long, or the verdict cannot pass")


MAX_USERS_PER_PROCESS = 10_000  # greenlets with a connection each: past this one process only thrashes
MAX_RATE_PER_PROCESS = 100_000.0  # calls started per second; one process sends about 7,000 at most


def _check_load_size(plan: RunPlan, processes: int, *, where: Location, from_cli: bool) -> None:
    """A load no generator can start is bad input up front (5,000,000 users once took 24 GB before any call)."""
    if plan.rate:
        if plan.rate > MAX_RATE_PER_PROCESS * processes:
            message = (f"a rate of {plan.rate:,.0f} calls/s is more than {processes} load process(es) can start "
                       f"(at most {MAX_RATE_PER_PROCESS:,.0f}/s each)")
            hint = "spread it over workers (--workers N, or mvptest worker on more machines)"
        else:
            return
    elif plan.users > MAX_USERS_PER_PROCESS * processes:
        message = (f"{plan.users:,} users is more than {processes} load process(es) can run "
                   f"(at most {MAX_USERS_PER_PROCESS:,} each)")
        hint = "spread them over workers (--workers N, or mvptest worker on more machines), or use --rate"
    else:
        spawn_s = plan.users / plan.spawn_rate if plan.spawn_rate > 0 else 0.0
        if spawn_s > plan.duration_s:
            plan.warnings.append(
                f"at spawn_rate {plan.spawn_rate:g}/s the {plan.users:,} users are all running only after "
                f"{spawn_s:,.0f} s, longer than the run ({plan.duration_s:g} s): it is judged on a partial load")
        return
    if from_cli:
        raise ConfigError(message, hint=hint)
    raise InputError(message, where=where, hint=hint)


def _pool_warnings(plan: RunPlan) -> list[str]:
    """Pool values that break the parameter's own schema: each such call will be answered 400, not measured."""
    from mvptest.validation.compiled import CompiledSchema
    from mvptest.validation.readers import coerce_text

    out = []
    seen: set[tuple[str, str]] = set()
    for ip in plan.interfaces:
        itf = ip.interface
        for p in itf.parameters:
            if p.name not in plan.pools or p.schema is None or (itf.key, p.name) in seen:
                continue
            seen.add((itf.key, p.name))
            compiled = CompiledSchema(p.schema, format_options=itf.format_options)
            root = p.schema.resolve(p.schema.schema)[0]
            values = plan.pools[p.name]
            bad = [v for v in values if not compiled.is_valid(coerce_text(str(v), root))]
            if bad:
                shown = ", ".join(compiled.masker.show("", v) for v in bad[:3])
                out.append(f"data pool {p.name!r}: {len(bad):,} of {len(values):,} values break the parameter's schema "
                           f"for {itf.key} (e.g. {shown}); the provider should answer those calls 400, which count as failures")
    return out


def new_run_id(name: str) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "run"
    return f"{stamp}-{slug}-{random.randrange(16**4):04x}"


