"""duration: auto: the run stops at the first look where the verdict is decided (issue 10, item 2).

Each look decides at 1 - (1 - c)/looks (Bonferroni), so stopping early keeps the run's error rates at most 1 - c;
the runs are real subprocesses against the built-in sandbox with known faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_run import ROOT, describe, mvptest, the_run_dir

from mvptest.run import targets as T
from mvptest.run.plan import build_plan

MARKET = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"


def scenario(tmp_path: Path, *, error_rate: float = 0.0, load: str = "duration: auto, max_duration: 40s, check_every: 2s") -> Path:
    path = tmp_path / "auto.yaml"
    path.write_text(
        "kind: scenario\nname: auto\n"
        f"specs: [{MARKET}]\n"
        "interfaces: [market-supervision/enterprise-registration]\n"
        f"sandbox: {{seed: 1, latency_ms: '2', error_rate: {error_rate}}}\n"
        f"load: {{users: 8, {load}, timeout: 5s}}\n"
        "targets: {success_rate: 0.999, latency_ms: {p95: 100}}\n", encoding="utf-8")
    return path


def test_the_plan_states_the_looks_and_the_confidence_of_each(tmp_path: Path) -> None:
    plan = build_plan(scenario(tmp_path))
    assert plan.duration_s == 40.0
    assert plan.sequential["looks"] == 20 and plan.sequential["overall_confidence"] == 0.95
    assert plan.confidence == pytest.approx(1 - 0.05 / 20) == plan.sequential["per_look_confidence"]
    assert build_plan(scenario(tmp_path, load="duration: 30s")).sequential is None
    assert build_plan(scenario(tmp_path, load="duration: 30s"), duration="auto").duration_s == 600.0  # 10m maximum


@pytest.mark.parametrize(("error_rate", "decided"), [(0.0, "pass"), (0.05, "fail")])
def test_a_run_stops_once_its_verdict_is_decided(tmp_path: Path, error_rate: float, decided: str) -> None:
    proc = mvptest("run", scenario(tmp_path, error_rate=error_rate), "--results-dir", tmp_path / "r", timeout=90)
    assert proc.returncode == (0 if decided == "pass" else 1), describe(proc)
    s = json.loads((the_run_dir(tmp_path / "r") / "summary.json").read_text(encoding="utf-8"))
    seq = s["sequential"]
    assert s["verdict"] == seq["decided"] == decided
    # stopped at a look, well before the 40 s maximum (a few thousand calls decide either way at ~2 ms a call)
    assert seq["stopped_at_s"] < 40 and s["duration_s"] < 40 and seq["stopped_at_s"] % 2 == pytest.approx(0, abs=1.01)
    assert s["confidence"] == pytest.approx(1 - 0.05 / 20)
    itf = s["interfaces"][0]
    if decided == "pass":
        # no failure: a pass needs the calls that put the per-look lower bound at the target
        assert itf["failures"] == {"transport": 0, "status": 0, "schema": 0}
        assert itf["requests"] >= T.requests_needed(0.999, s["confidence"])
    else:
        assert itf["failures"]["status"] > 0 and "decided" in proc.stderr + proc.stdout
