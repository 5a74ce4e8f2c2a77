"""The pilot run as one core session: plan, results folder, sandbox, load, summary, record. No locust at import.

``run_pilot(config, handlers)`` is what ``mvptest run`` calls once. It never prints: it emits events (Note for the
plan's notes and warnings, Stage, the engine's LoadStarted/LoadProgress/LoadFinished, Item per interface, Written
per file) and ends with ``finish(result)``. The run folder is written by a handler (mvptest.report.run_folder), first
among them. Interrupting is the caller's decision: it passes a stop flag (and routes signals to it); a flag set
before the load began still gives a run folder marked interrupted, with nothing measured.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mvptest.errors import ConfigError, ExitCode, MvptestError
from mvptest.events import Event, Handler, Handlers, Item, Note, Session, Stage
from mvptest.masking import public_url
from mvptest.run.outcome import LoadFinished, RunOutcome
from mvptest.run.plan import RunPlan

if TYPE_CHECKING:
    from mvptest.sandbox.config import SandboxConfig


@dataclass(frozen=True)
class RunConfig:
    """Everything ``mvptest run`` was asked, as plain values (None: the scenario's, or the default)."""

    scenario: Path
    target: str | None = None
    duration: str | None = None
    users: int | None = None
    rate: float | None = None
    workers: int | None = None
    results_dir: Path = Path("results")
    run_id: str | None = None
    allow_hosts: tuple[str, ...] = ()
    success_rate: float | None = None
    latency_targets: dict[str, float] | None = None
    confidence: float | None = None
    master: bool = False  # wait for remote workers instead of running the load here or in local workers
    expect_workers: int | None = None
    master_bind_host: str = "127.0.0.1"
    master_port: int = 5557
    wait_workers: float = 60.0
    spec_root: Path | None = None
    ca_bundle: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None


class StopFlag:
    """Set it to end the load in order (what was measured is kept); the engine reads ``requested``."""

    def __init__(self) -> None:
        self.requested = False

    def set(self) -> None:
        self.requested = True


@dataclass
class RunResult:
    """What the run measured and concluded, and where its record went."""

    plan: RunPlan
    outcome: RunOutcome
    summary: dict[str, Any]
    run_dir: Path
    record_dir: Path | None = None  # where the record was written (run_dir, or a fallback under $TMPDIR)
    record_problem: str | None = None  # why it is not in run_dir
    record_error: MvptestError | None = None  # no folder at all took it (exit 4 once every handler finished)
    written: list[Path] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        return self.outcome.interrupted

    @property
    def exit_code(self) -> int:
        """The one mapping from a run to its exit code: 130 interrupted, 0 pass, 1 fail or inconclusive."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        return ExitCode.OK if self.summary["verdict"] == "pass" else ExitCode.CHECK_FAILED


def run_pilot(config: RunConfig, handlers: Handler | None = None, *, stop: StopFlag | None = None) -> RunResult:
    """Plan, probe the results folder (before anything is sent), load, judge, record; see the module's doc."""
    from mvptest.report.run_folder import RunFolder
    from mvptest.run.folder import discard_if_empty, prepare_run_dir
    from mvptest.run.plan import new_run_id

    stop = stop or StopFlag()
    plan = _plan(config)
    run_dir = config.results_dir / (checked_run_id(config.run_id) if config.run_id is not None else new_run_id(plan.name))
    created = prepare_run_dir(run_dir)  # before the sandbox and any load: exit 2, nothing sent
    others = Handlers([handlers] if handlers is not None else [])
    out = Handlers([RunFolder(tell=others.handle), others])
    out.start(Session("run", plan.name))
    for note in plan.notes:
        out.handle(Note(note))
    for warning in plan.warnings:
        out.handle(Note(warning, "warning"))
    try:
        outcome, sandbox_stats = _load(config, plan, out, stop)
    except BaseException as exc:
        out.handle(Stage("stopped", type(exc).__name__))  # a live display ends before the error is shown
        discard_if_empty(created)  # nothing was measured (unreachable, bad input, a bug): no empty run folder left
        raise
    result = RunResult(plan, outcome, _summary(run_dir.name, plan, outcome, sandbox_stats), run_dir)
    for itf in result.summary["interfaces"]:
        out.handle(Item("interface", itf))
    out.finish(result)
    if result.record_error is not None:
        raise result.record_error
    return result


def checked_run_id(run_id: str) -> str:
    if not run_id or run_id in (".", "..", "latest") or any(c in run_id for c in "/\\\0") or run_id != run_id.strip():
        raise ConfigError(f"--run-id {run_id!r}: give a plain folder name (no slash, not . or .., not latest: "
                          "results/latest names the last run)",
                          hint="e.g. --run-id pilot-2024-06-01")
    return run_id


def _plan(config: RunConfig) -> RunPlan:
    from mvptest.run.plan import build_plan

    return build_plan(config.scenario, target=config.target, duration=config.duration, users=config.users,
                      rate=config.rate, workers=config.workers, allow_hosts=config.allow_hosts,
                      success_rate=config.success_rate, latency_targets=config.latency_targets,
                      spec_root=config.spec_root, ca_bundle=config.ca_bundle, client_cert=config.client_cert,
                      client_key=config.client_key, confidence=config.confidence,
                      load_processes=(config.expect_workers or 1) if config.master else None)


def _load(config: RunConfig, plan: RunPlan, out: Handler, stop: StopFlag) -> tuple[RunOutcome, dict[str, Any] | None]:
    """The sandbox (when the target is 'sandbox'), then the load; the outcome and the sandbox's own count."""
    from mvptest.sandbox.server import SandboxProcess

    sandbox = None
    base_url = "sandbox" if plan.uses_sandbox else plan.target.rstrip("/")
    started = time.time()
    try:
        if plan.uses_sandbox:
            sandbox = SandboxProcess(config=_sandbox_config(plan))
            base_url = sandbox.start()
            out.handle(Stage("sandbox", base_url))
        if stop.requested:  # interrupted while the sandbox started: nothing measured, and the folder says so
            return RunOutcome.nothing_measured(started, time.time(), base_url), None
        outcome: RunOutcome | None = None
        for event in _engine_events(config, plan, base_url, stop):
            out.handle(event)
            if isinstance(event, LoadFinished):
                outcome = event.outcome
        assert outcome is not None, "the engine ends every run with LoadFinished"
        return outcome, sandbox.stats() if sandbox is not None else None
    finally:
        if sandbox is not None:
            sandbox.stop()


def _engine_events(config: RunConfig, plan: RunPlan, base_url: str, stop: StopFlag) -> Iterator[Event]:
    from mvptest.load import engine  # the Locust adapter; the command imported mvptest.load first
    from mvptest.run.summary import sequential_decision

    decide = (lambda recorder: sequential_decision(plan, recorder)) if plan.sequential else None
    if config.master:
        return engine.run_master(plan, base_url, workers=config.expect_workers or plan.workers or 1,
                                 bind_host=config.master_bind_host, bind_port=config.master_port, spawn_local=False,
                                 wait_s=config.wait_workers, stop=stop, decide=decide)
    if plan.workers:
        return engine.run_master(plan, base_url, workers=plan.workers, wait_s=config.wait_workers, stop=stop,
                                 decide=decide)
    return engine.run_local(plan, base_url, stop=stop, decide=decide)


def _sandbox_config(plan: RunPlan) -> SandboxConfig:
    from mvptest.sandbox.config import SandboxConfig

    sb = plan.sandbox
    return SandboxConfig(specs=tuple(str(p) for p in plan.spec_paths),
                         interfaces=tuple(ip.interface.key for ip in plan.interfaces), seed=sb.seed,
                         latency_ms=sb.latency_ms, error_rate=sb.error_rate, invalid_rate=sb.invalid_rate,
                         reset_rate=sb.reset_rate, timeout_rate=sb.timeout_rate, hang_s=max(plan.timeout_s * 3, 30))


def _summary(run_id: str, plan: RunPlan, outcome: RunOutcome, sandbox_stats: dict[str, Any] | None) -> dict[str, Any]:
    from mvptest.run.summary import build_summary

    summary = build_summary(run_id=run_id, plan=plan, recorder=outcome.recorder, started_at=outcome.started_at,
                            finished_at=outcome.finished_at, interrupted=outcome.interrupted,
                            target_url=public_url(outcome.base_url), workers=outcome.workers,
                            cpu_saturated=outcome.cpu_saturated, workers_lost=outcome.workers_lost,
                            locust_percentiles=outcome.locust_percentiles, locust_requests=outcome.locust_requests,
                            generator_cpu_s=outcome.generator_cpu_s, generator=outcome.generator_record(),
                            stalls=outcome.stalls)
    if sandbox_stats:
        summary["sandbox_stats"] = sandbox_stats  # the server's own count, to hold the client's against
    compat = _compat(plan)
    if compat is not None:
        summary["compat"] = compat  # the scenario's consumers against the interfaces, for the report
    return summary


def _compat(plan: RunPlan) -> dict[str, Any] | None:
    """The static comparison of each consumer the scenario names with the interface it consumes (no evidence: cheap,
    no traffic), as compat's JSON pairs; None when the scenario names no consumer."""
    if not plan.consumers or not plan.scenario_path:
        return None
    import yaml

    from mvptest.compat.session import CompatConfig, check_compat
    from mvptest.events import BaseHandler

    try:
        data = yaml.safe_load(Path(plan.scenario_path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        return {"static": True, "pairs": [], "error": str(exc)}
    pairs: list[dict[str, Any]] = []
    for rel in data.get("consumers") or []:
        consumer = Path(plan.scenario_path).parent / str(rel)
        for spec in plan.spec_paths:
            try:
                report = check_compat(CompatConfig(specs=(Path(spec), consumer)), BaseHandler())
            except MvptestError:
                continue  # this spec file is not the one the consumer consumes
            pairs.extend(report.to_dict()["pairs"])
            break
    return {"static": True, "pairs": pairs}
