"""What a load run tells while it runs and what it hands back: the run's events and its outcome. No locust."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mvptest.events import Event, Progress, Stage
from mvptest.run.plan import RunPlan
from mvptest.run.recorder import CPU_SATURATED, LAG_SATURATED_MS, Recorder
from mvptest.run.stalls import StallReport

LOST_REASON = "worker {} was lost mid-run; its calls since its last report are uncounted"


@dataclass
class RunOutcome:
    """Everything the engine measured, plain data: the recorder and what the generator says about itself."""

    recorder: Recorder
    started_at: float
    finished_at: float
    interrupted: bool
    base_url: str
    workers: int
    cpu_saturated: bool
    workers_lost: list[str] = field(default_factory=list)
    locust_percentiles: dict[str, dict[str, float]] = field(default_factory=dict)
    locust_requests: int = 0  # Locust's own count, to hold ours against
    # CPU seconds of every load process over its load window (local: this one; distributed: the workers' sum)
    generator_cpu_s: float | None = None
    # per process ("local", each worker's id, "master"): cpu_s, wall_s, fraction (of one core), saturated
    generator_cpu: dict[str, dict[str, Any]] = field(default_factory=dict)
    stalls: StallReport | None = None  # throughput dips and calls queued behind slow ones (mvptest.run.stalls)

    @classmethod
    def nothing_measured(cls, started_at: float, finished_at: float, base_url: str) -> RunOutcome:
        """Interrupted before the load began (while the sandbox or the workers started)."""
        return cls(Recorder(), started_at, finished_at, True, base_url, 0, False)

    def generator_record(self) -> dict[str, Any]:
        """What the generator says about itself, as plain data for summary.json (key "generator", say)."""
        rec = self.recorder
        open_model = rec.planned is not None
        lag = rec.loop_lag
        return {
            "calls": rec.calls(),
            "schedule": rec.schedule(),
            "latency_from": "planned send time" if open_model else "send",
            "service_ms": {k: r.service(ok=False).summary_ms() for k, r in sorted(rec.interfaces.items())}
            if open_model else None,
            "cpu": self.generator_cpu,
            "cpu_saturated": self.cpu_saturated,
            "cpu_busy": rec.cpu_busy,  # a core's CPU_SATURATED wanted, whether or not it showed in the timing
            "timing_lagged": rec.timing_lagged,
            "cpu_saturated_at": CPU_SATURATED,
            "loop_lag_saturated_ms": LAG_SATURATED_MS,
            "locust_cpu_warnings": rec.cpu_warnings,
            "loop_lag_ms": {**lag.summary_ms({"p50": 0.5, "p90": 0.9, "p99": 0.99}), "ticks": lag.count},
            "stalls": self.stalls.to_dict() if self.stalls is not None else None,
        }


def cpu_table(recorder: Recorder) -> dict[str, dict[str, Any]]:
    """Per load process: CPU over its load window, its share of a core, and whether it was busy."""
    fractions, demand = recorder.cpu_fractions(), recorder.cpu_demand()
    table = {}
    for k, (cpu, wall, total, wait) in sorted(recorder.cpu.items()):
        fraction, wanted = fractions[k], demand[k]
        table[k] = {"window_cpu_s": round(cpu, 3), "window_s": round(wall, 3), "cpu_s": round(total, 3),
                    "runqueue_wait_s": None if wait is None else round(wait, 3),
                    "fraction": None if fraction is None else round(fraction, 3),
                    "demand": None if wanted is None else round(wanted, 3),
                    "busy": k != "master" and wanted is not None and wanted >= CPU_SATURATED}
    return table


# --------------------------------------------------------------------------- the engine's events


@dataclass(frozen=True)
class LoadStarted(Stage):
    """The load begins: the plan, where it goes, how many worker processes (0: this process)."""

    plan: RunPlan | None = None
    base_url: str = ""
    workers: int = 0


@dataclass(frozen=True)
class LoadProgress(Progress):
    """About once a second while the load runs: seconds done of the duration, and the live counts."""

    remaining_s: float = 0.0
    recorder: Recorder | None = None
    users: int = 0


@dataclass(frozen=True)
class LoadFinished(Event):
    """The load is over (also when interrupted): what it measured."""

    outcome: RunOutcome


def load_started(plan: RunPlan, base_url: str, workers: int) -> LoadStarted:
    return LoadStarted("load", plan.name, plan=plan, base_url=base_url, workers=workers)


def load_progress(elapsed_s: float, remaining_s: float, recorder: Recorder, users: int) -> LoadProgress:
    return LoadProgress("load", elapsed_s, elapsed_s + remaining_s, "s", remaining_s=remaining_s, recorder=recorder,
                        users=users)
