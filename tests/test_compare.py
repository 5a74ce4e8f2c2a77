"""mvptest compare: the regression gate between two runs, on real runs against the sandbox and on summaries a
test derives from a real one (a drop beyond chance and one within it, interfaces in one run only, bad input)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"


def _scenario(tmp_path: Path, name: str, latency: str, error_rate: float = 0.0) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"""kind: scenario
name: {name}
specs: [{SPEC}]
interfaces: [{{id: market-supervision/enterprise-registration}}]
target: sandbox
sandbox: {{seed: 1, latency_ms: "{latency}", error_rate: {error_rate}}}
load: {{users: 8, spawn_rate: 8, duration: 3s, timeout: 5s}}
targets: {{success_rate: 0.5, latency_ms: {{p95: 1000}}}}
""", encoding="utf-8")
    return path


def _run(tmp_path: Path, scenario: Path, run_id: str) -> Path:
    proc = subprocess.run([sys.executable, "-m", "mvptest", "run", str(scenario), "--results-dir", str(tmp_path / "results"),
                           "--run-id", run_id], capture_output=True, text=True, encoding="utf-8", timeout=120, cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    return tmp_path / "results" / run_id


def _compare(tmp_path: Path, *args: str | Path) -> tuple[subprocess.CompletedProcess[str], dict | None]:
    out = tmp_path / "cmp.json"
    out.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-m", "mvptest", "compare", *map(str, args), "--json-out", str(out)],
                          capture_output=True, text=True, encoding="utf-8", timeout=60, env={"NO_COLOR": "1", "COLUMNS": "160",
                                                                                                 "PATH": "/usr/bin:/bin"})
    return proc, json.loads(out.read_text("utf-8")) if out.exists() else None


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("runs")
    fast = _scenario(tmp, "fast", "fixed:2")
    slow = _scenario(tmp, "slow", "fixed:30")
    return {"fast": _run(tmp, fast, "fast"), "slow": _run(tmp, slow, "slow")}


def test_slower_provider_is_a_regression_and_the_same_speed_is_not(runs, tmp_path):
    proc, data = _compare(tmp_path, runs["fast"], runs["slow"])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert data is not None and data["regression"] is True
    changes = {c["measure"]: c for c in data["interfaces"][0]["changes"]}
    p50 = changes["latency_p50_ms"]
    # the sandbox waited 2 ms, then 30 ms, before answering: the p50 grew by about 28 ms
    assert p50["regression"] and 25 <= p50["new"] - p50["baseline"] <= 40, p50
    assert "regression" in proc.stdout and "p50 latency grew" in proc.stdout
    # the other way round the typical latency improved by the same 28 ms: p50 to p95 are no regression (p999 and
    # max are the few slowest calls of a 3 s run on a shared machine: they may go either way)
    proc, data = _compare(tmp_path, runs["slow"], runs["fast"])
    assert proc.returncode in (0, 1) and data is not None, proc.stdout + proc.stderr
    changes = {c["measure"]: c for c in data["interfaces"][0]["changes"]}
    for p in ("p50", "p90", "p95"):
        assert not changes[f"latency_{p}_ms"]["regression"] and changes[f"latency_{p}_ms"]["change_pct"] < 0, changes


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text("utf-8"))


def _write(tmp_path: Path, name: str, data: dict) -> Path:
    path = tmp_path / name / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path.parent


def _with_success(base: dict, requests: int, failures: int) -> dict:
    data = copy.deepcopy(base)
    itf = data["interfaces"][0]
    itf["requests"], itf["successes"] = requests, requests - failures
    itf["success_rate"] = (requests - failures) / requests
    return data


def test_success_rate_drop_counts_only_beyond_chance(runs, tmp_path):
    base = _summary(runs["fast"])
    baseline = _write(tmp_path, "b", _with_success(base, 100_000, 500))  # 99.5 %
    beyond = _write(tmp_path, "n1", _with_success(base, 100_000, 1_000))  # 99.0 %: 0.5 pp lower in 100,000 calls
    # 99.0 % too, but of 200 calls: 2 failures where the baseline's rate expects 1 (a 26 % chance): not evidence
    within = _write(tmp_path, "n2", _with_success(base, 200, 2))
    proc, data = _compare(tmp_path, baseline, beyond)
    assert proc.returncode == 1 and data is not None
    sr = next(c for c in data["interfaces"][0]["changes"] if c["measure"] == "success_rate")
    assert sr["regression"] and "beyond chance" in sr["reason"]
    proc, data = _compare(tmp_path, baseline, within)
    assert data is not None
    sr = next(c for c in data["interfaces"][0]["changes"] if c["measure"] == "success_rate")
    assert not sr["regression"] and "within chance" in sr["reason"]


def test_interfaces_in_one_run_only_are_named_and_none_in_common_cannot_be_compared(runs, tmp_path):
    base = _summary(runs["fast"])
    extra = copy.deepcopy(base)
    extra["interfaces"].append({**copy.deepcopy(base["interfaces"][0]), "key": "tax/other", "id": "other"})
    proc, data = _compare(tmp_path, runs["fast"], _write(tmp_path, "extra", extra))
    assert proc.returncode == 0 and data is not None
    assert data["only_in_new"] == ["tax/other"] and "only in the new run: tax/other" in proc.stdout
    other = copy.deepcopy(base)
    other["interfaces"][0]["key"] = "tax/other"
    proc, data = _compare(tmp_path, runs["fast"], _write(tmp_path, "other", other))
    assert proc.returncode == 2 and "share no interface" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("content, message", [
    ("{not json", "not JSON"),
    ('{"schema_version": 1}', "is not a run summary"),
    ('{"schema_version": 7, "interfaces": []}', "schema_version 7"),
])
def test_a_file_that_is_not_a_run_summary_is_bad_input_naming_it(runs, tmp_path, content, message):
    bad = tmp_path / "bad" / "summary.json"
    bad.parent.mkdir()
    bad.write_text(content, encoding="utf-8")
    proc, _ = _compare(tmp_path, runs["fast"], bad.parent)
    assert proc.returncode == 2
    assert str(bad) in proc.stderr and message in proc.stderr and "Traceback" not in proc.stderr


def test_missing_run_folder(tmp_path):
    proc, _ = _compare(tmp_path, tmp_path / "nope", tmp_path / "nope2")
    assert proc.returncode == 2 and "no such run" in proc.stderr


def test_result_files_are_readable_by_the_ci_jobs_artifact_step(runs):
    """Written as an ordinary file would be (0644 under the usual umask 022), not mkstemp's 0600."""
    import os
    import stat

    umask = os.umask(0o022)
    os.umask(umask)
    for name in ("summary.json", "junit.xml", "report.html"):
        mode = stat.S_IMODE((runs["fast"] / name).stat().st_mode)
        assert mode == 0o666 & ~umask, (name, oct(mode))
