"""Regression gate between two finished runs: per interface, success rate, latency percentiles and throughput side
by side with the change, judged against the allowed regression. Reads only the runs' summary.json files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvptest.errors import ExitCode, InputError

SCHEMA_VERSION = 1
PERCENTILES = ("p50", "p90", "p95", "p99", "p999", "max", "mean")
GATED = ("p50", "p90", "p95", "p99", "p999")  # max and mean are shown, not gated: one slow call moves them
DEFAULT_MAX_REGRESSION = 10.0  # percent
DEFAULT_MIN_LATENCY_MS = 1.0  # a latency change smaller than this is noise whatever its percentage
DEFAULT_MAX_SUCCESS_DROP = 0.1  # percentage points: the pilot's whole failure budget (99.9 %)
SIGNIFICANCE = 0.05  # a success-rate drop must also be beyond chance


@dataclass(frozen=True)
class RunSummary:
    """The parts of one run's summary.json a comparison reads."""

    path: Path
    run_id: str
    scenario: str
    verdict: str
    interrupted: bool
    incomplete: bool
    load: dict[str, Any]
    interfaces: dict[str, dict[str, Any]]  # interface key -> its summary entry


def load_summary(path: Path) -> RunSummary:
    """A run folder (or its summary.json); a file that is not a run summary is bad input naming the file."""
    file = path / "summary.json" if path.is_dir() else path
    where = str(file)
    if not file.exists():
        hint = "give the run's folder under results/, e.g. results/<run-id>" if not path.is_dir() else \
            "the folder holds no summary.json: is it a finished run's folder?"
        raise InputError("no such run", where=where, hint=hint)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", where=where) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", where=f"{where}:{exc.lineno}") from None
    if not isinstance(data, dict) or "interfaces" not in data or not isinstance(data.get("interfaces"), list):
        raise InputError("is not a run summary (no interfaces list)", where=where,
                         hint="mvptest run writes summary.json into the run's folder")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(f"has schema_version {version!r}; this mvptest reads {SCHEMA_VERSION}", where=where)
    interfaces = {}
    for i, itf in enumerate(data["interfaces"]):
        if not isinstance(itf, dict) or not isinstance(itf.get("requests"), int):
            raise InputError(f"interfaces[{i}] has no request count", where=where)
        interfaces[str(itf.get("key") or itf.get("id"))] = itf
    load = data.get("load")
    return RunSummary(file, str(data.get("run_id", file.parent.name)), str(data.get("scenario", "")),
                      str(data.get("verdict", "")), bool(data.get("interrupted")), bool(data.get("incomplete")),
                      load if isinstance(load, dict) else {}, interfaces)


@dataclass(frozen=True)
class Change:
    """One measure of one interface in both runs."""

    measure: str  # success_rate | latency_p95_ms | ... | throughput_rps
    baseline: float | None
    new: float | None
    regression: bool = False
    reason: str = ""

    @property
    def change_pct(self) -> float | None:
        if self.baseline in (None, 0) or self.new is None:
            return None
        return (self.new - self.baseline) / self.baseline * 100


@dataclass
class InterfaceComparison:
    key: str
    title: str
    changes: list[Change]

    @property
    def regressions(self) -> list[Change]:
        return [c for c in self.changes if c.regression]


@dataclass
class Comparison:
    baseline: RunSummary
    new: RunSummary
    max_regression_pct: float
    min_latency_ms: float
    max_success_drop_pp: float
    interfaces: list[InterfaceComparison] = field(default_factory=list)
    only_baseline: list[str] = field(default_factory=list)
    only_new: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[tuple[str, Change]]:
        return [(i.key, c) for i in self.interfaces for c in i.regressions]

    @property
    def exit_code(self) -> int:
        return ExitCode.CHECK_FAILED if self.regressions else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "baseline": {"run_id": self.baseline.run_id, "path": str(self.baseline.path), "verdict": self.baseline.verdict},
            "new": {"run_id": self.new.run_id, "path": str(self.new.path), "verdict": self.new.verdict},
            "rules": {"max_regression_pct": self.max_regression_pct, "min_latency_change_ms": self.min_latency_ms,
                      "max_success_drop_pp": self.max_success_drop_pp, "significance": SIGNIFICANCE},
            "regression": bool(self.regressions),
            "interfaces": [{"key": i.key, "title": i.title, "changes": [
                {"measure": c.measure, "baseline": c.baseline, "new": c.new,
                 "change_pct": None if c.change_pct is None else round(c.change_pct, 2),
                 "regression": c.regression, "reason": c.reason} for c in i.changes]} for i in self.interfaces],
            "only_in_baseline": self.only_baseline,
            "only_in_new": self.only_new,
            "notes": self.notes,
        }


def _drop_is_significant(s1: int, n1: int, s2: int, n2: int) -> bool:
    """Are the new run's failures more than the baseline's failure rate explains? One-sided exact binomial test:
    the chance of at least this many failures in the new run's calls at the baseline's rate, below 5 %."""
    from mvptest.run.targets import binom_cdf

    if n1 == 0 or n2 == 0:
        return False
    failures = n2 - s2
    if failures == 0:
        return False
    rate = (n1 - s1) / n1
    if rate == 0:
        return True  # the baseline failed no call: any failure is new
    return 1 - binom_cdf(failures - 1, n2, rate) < SIGNIFICANCE


def _success(base: dict[str, Any], new: dict[str, Any], max_drop_pp: float) -> Change:
    b_rate, n_rate = base.get("success_rate"), new.get("success_rate")
    if not isinstance(b_rate, (int, float)) or not isinstance(n_rate, (int, float)):
        return Change("success_rate", b_rate, n_rate)
    drop_pp = (b_rate - n_rate) * 100
    significant = _drop_is_significant(int(base.get("successes", 0)), int(base["requests"]),
                                       int(new.get("successes", 0)), int(new["requests"]))
    regression = drop_pp > max_drop_pp and significant
    reason = ""
    if regression:
        reason = (f"the success rate fell by {drop_pp:.2f} percentage points ({b_rate * 100:.2f} % to {n_rate * 100:.2f} %), "
                  f"more than the {max_drop_pp:g} allowed, and beyond chance")
    elif drop_pp > max_drop_pp:
        reason = f"fell by {drop_pp:.2f} percentage points, within chance for these call counts"
    return Change("success_rate", b_rate, n_rate, regression, reason)


def _latency(key: str, base: dict[str, Any], new: dict[str, Any], max_pct: float, min_ms: float) -> Change:
    b = (base.get("latency_ms") or {}).get(key)
    n = (new.get("latency_ms") or {}).get(key)
    name = f"latency_{key}_ms"
    if not isinstance(b, (int, float)) or not isinstance(n, (int, float)):
        return Change(name, b, n)
    grew = n - b
    regression = key in GATED and b > 0 and grew / b * 100 > max_pct and grew >= min_ms
    reason = (f"{key} latency grew {grew / b * 100:.1f} % ({b:g} ms to {n:g} ms), more than the {max_pct:g} % allowed"
              if regression else "")
    return Change(name, float(b), float(n), regression, reason)


def _throughput(base: dict[str, Any], new: dict[str, Any], max_pct: float, open_model: bool) -> Change:
    b, n = base.get("throughput_rps"), new.get("throughput_rps")
    if not isinstance(b, (int, float)) or not isinstance(n, (int, float)):
        return Change("throughput_rps", b, n)
    fell = (b - n) / b * 100 if b else 0.0
    # with an open model the plan sets the rate: a lower achieved rate means the provider or the generator lagged
    regression = fell > max_pct
    reason = (f"throughput fell {fell:.1f} % ({b:g} to {n:g} calls/s), more than the {max_pct:g} % allowed"
              + (" (an open-model rate: calls were dropped or the generator lagged)" if open_model else "")
              if regression else "")
    return Change("throughput_rps", float(b), float(n), regression, reason)


def compare_runs(baseline: Path, new: Path, *, max_regression_pct: float = DEFAULT_MAX_REGRESSION,
                 min_latency_ms: float = DEFAULT_MIN_LATENCY_MS,
                 max_success_drop_pp: float = DEFAULT_MAX_SUCCESS_DROP) -> Comparison:
    """Compare two runs; InputError (exit 2) when they cannot be compared, with the reason."""
    base, cur = load_summary(baseline), load_summary(new)
    result = Comparison(base, cur, max_regression_pct, min_latency_ms, max_success_drop_pp)
    common = [k for k in base.interfaces if k in cur.interfaces]
    result.only_baseline = [k for k in base.interfaces if k not in cur.interfaces]
    result.only_new = [k for k in cur.interfaces if k not in base.interfaces]
    if not common:
        raise InputError("the two runs share no interface: there is nothing to compare", where=str(cur.path),
                         hint=f"baseline: {', '.join(base.interfaces) or 'none'}; new: {', '.join(cur.interfaces) or 'none'}")
    for run, label in ((base, "baseline"), (cur, "new")):
        empty = [k for k in common if run.interfaces[k]["requests"] == 0]
        if empty:
            raise InputError(f"the {label} run made no call to {', '.join(empty)}: it cannot be compared", where=str(run.path))
        if run.interrupted or run.incomplete:
            result.notes.append(f"the {label} run was {'interrupted' if run.interrupted else 'incomplete'}: "
                                "its figures cover part of the planned load")
    if base.scenario != cur.scenario:
        result.notes.append(f"different scenarios ({base.scenario} and {cur.scenario}): compared interface by interface")
    if (base.load.get("model"), base.load.get("users"), base.load.get("rate")) != \
            (cur.load.get("model"), cur.load.get("users"), cur.load.get("rate")):
        result.notes.append("the runs applied different loads: throughput and latency differ for that reason too")
    open_model = cur.load.get("model") == "open"
    for key in common:
        b, n = base.interfaces[key], cur.interfaces[key]
        changes = [_success(b, n, max_success_drop_pp)]
        changes += [_latency(p, b, n, max_regression_pct, min_latency_ms) for p in PERCENTILES]
        changes.append(_throughput(b, n, max_regression_pct, open_model))
        result.interfaces.append(InterfaceComparison(key, str(n.get("title") or b.get("title") or ""), changes))
    return result
