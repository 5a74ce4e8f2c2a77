"""`mvptest report RUN_DIR`: every report of a finished run re-rendered from its files (earlier versions' too),
results/latest, JUnit names unique across interfaces, and the run console at 80 and 120 columns."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from rich.console import Console
from test_run import DATA, PILOT, describe, mvptest, run_env

from mvptest.report.junit import render_junit
from mvptest.report.run_console import RunConsole

XSD = xmlschema.XMLSchema(str(DATA / "junit-10.xsd"))
LONG = "market-supervision/enterprise-registration-history-with-branches"  # 63 characters, no space in it

# summary.json as CONTRACTS.md's first version shows it: no key, no outcome, no interval, no conditions
OLD_SUMMARY = {
    "schema_version": 1, "run_id": "old-1", "scenario": "pilot", "started_at": "2024-06-01T10:00:00+08:00",
    "finished_at": "2024-06-01T10:00:30+08:00", "interrupted": False, "verdict": "pass",
    "target": "http://127.0.0.1:8000", "workers": 1,
    "interfaces": [{"id": "enterprise-registration", "requests": 30000, "successes": 29990,
                    "failures": {"transport": 0, "status": 4, "schema": 6}, "success_rate": 0.99967,
                    "latency_ms": {"p50": 3.1, "p90": 5.0, "p95": 6.2, "p99": 11.8, "p999": 40.2, "max": 95.0,
                                   "mean": 3.6},
                    "targets": [{"name": "success_rate", "threshold": 0.999, "measured": 0.99967, "met": True},
                                {"name": "latency_p95_ms", "threshold": 100, "measured": 6.2, "met": True}]}]}


@pytest.fixture(scope="module")
def pilot_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("report-cmd") / "results"
    proc = mvptest("run", PILOT, "--duration", "2s", "--users", "2", "--success-rate", "0.9", "--results-dir", results,
                   "--run-id", "first", timeout=90)
    assert proc.returncode == 0, describe(proc)
    return results / "first"


def test_results_latest_points_at_the_last_run(pilot_run: Path) -> None:
    latest = pilot_run.parent / "latest"
    assert latest.is_symlink() and os.readlink(latest) == "first"  # relative: the folder can be moved or uploaded
    assert (latest / "junit.xml").read_bytes() == (pilot_run / "junit.xml").read_bytes()
    proc = mvptest("run", PILOT, "--duration", "1s", "--users", "1", "--success-rate", "0.9", "--results-dir",
                   pilot_run.parent, "--run-id", "second", timeout=90)
    assert proc.returncode == 0, describe(proc)
    assert os.readlink(latest) == "second" and json.loads((latest / "summary.json").read_text("utf-8"))["run_id"] == \
        "second"
    assert sorted(p.name for p in pilot_run.parent.iterdir()) == ["first", "latest", "second"]  # nothing left over
    refused = mvptest("run", PILOT, "--duration", "1s", "--results-dir", pilot_run.parent, "--run-id", "latest")
    assert refused.returncode == 2 and "not latest" in refused.stderr, describe(refused)


def test_report_rerenders_a_finished_run(pilot_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "copy"
    shutil.copytree(pilot_run, run_dir)
    (run_dir / "report.html").unlink()
    (run_dir / "junit.xml").unlink()
    proc = mvptest("report", run_dir, env=run_env(COLUMNS="120"))
    assert proc.returncode == 0, describe(proc)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    original = (pilot_run / "report.html").read_text(encoding="utf-8")
    assert page == original  # the same files give the same page
    XSD.validate(str(run_dir / "junit.xml"))
    assert (run_dir / "junit.xml").read_bytes() == (pilot_run / "junit.xml").read_bytes()
    assert "verdict: PASS" in proc.stdout and "market-supervision/enterprise-registration" in proc.stdout
    other = tmp_path / "elsewhere" / "page.html"
    proc = mvptest("report", run_dir, "--html", other)
    assert proc.returncode == 0 and other.read_text(encoding="utf-8") == original, describe(proc)


def test_report_renders_an_earlier_versions_summary_and_says_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "summary.json").write_text(json.dumps(OLD_SUMMARY), encoding="utf-8")
    proc = mvptest("report", tmp_path / "old")
    assert proc.returncode == 0, describe(proc)
    assert "Traceback" not in proc.stderr and "no conditions" in proc.stderr
    page = (tmp_path / "old" / "report.html").read_text(encoding="utf-8")
    assert "99.967 %" in page and "6.200 ms" in page and "enterprise-registration" in page
    assert "no per-second series (timeseries.csv)" in page and "no latency histograms (histograms.json)" in page
    assert 'data-chart="percentiles"' in page  # drawn from the summary's percentiles
    XSD.validate(str(tmp_path / "old" / "junit.xml"))
    assert "verdict: PASS" in proc.stdout


@pytest.mark.parametrize("make", ["missing", "empty", "file", "not-json", "not-a-summary"])
def test_a_folder_that_is_not_a_run_is_bad_input_naming_it(tmp_path: Path, make: str) -> None:
    target = tmp_path / "x"
    if make == "empty":
        target.mkdir()
    elif make == "file":
        target.write_text("hello\n", encoding="utf-8")
    elif make in ("not-json", "not-a-summary"):
        target.mkdir()
        (target / "summary.json").write_text("{" if make == "not-json" else '{"schema_version": 1}',
                                             encoding="utf-8")
    proc = mvptest("report", target)
    assert proc.returncode == 2, describe(proc)
    assert str(target) in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2  # one message (and its hint)
    assert not (target / "report.html").exists() if target.is_dir() else True


def two_interfaces() -> dict[str, Any]:
    def itf(key: str, rate: float, p95: float) -> dict[str, Any]:
        return {"id": key.split("/")[1], "key": key, "title": "企业注册信息查询", "requests": 12345678,
                "successes": round(12345678 * rate), "failures": {"transport": 1234, "status": 0, "schema": 0},
                "success_rate": rate, "latency_ms_successful": {"p95": p95},
                "targets": [{"name": "success_rate", "threshold": 0.999, "measured": rate, "met": rate >= 0.999,
                             "outcome": "pass" if rate >= 0.9995 else "fail", "requests": 12345678,
                             "interval": {"low": rate - 0.00012, "high": rate + 0.00011}},
                            {"name": "latency_p95_ms", "threshold": 100.0, "measured": p95, "met": False,
                             "outcome": "inconclusive", "interval": {"low": p95 - 3.25, "high": 104.125},
                             "reason": "[bold]p95[/] may exceed ^[a-z0-9][0-9]+$"}]}
    return {"schema_version": 1, "run_id": "r", "scenario": "pilot [x]", "started_at": "2024-06-01T10:00:00+08:00",
            "duration_s": 30.0, "requests": 24691356, "achieved_rps": 823045.2, "verdict": "fail",
            "verdict_reason": "x", "confidence": 0.95, "calls": {"planned": None, "sent": 24691356,
                                                                 "completed": 24691356, "dropped": 0},
            "interfaces": [itf(LONG, 0.99983, 98.765), itf(LONG.replace("history", "changes"), 0.99912, 99.5)]}


def test_junit_case_names_are_unique_across_interfaces(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_bytes(render_junit(two_interfaces()))
    XSD.validate(str(path))
    cases = XSD.to_dict(str(path))["testsuite"][0]["testcase"]
    names = [c["@name"] for c in cases]
    assert len(names) == 4 == len(set(names))
    assert names[0] == f"{LONG}: success rate >= 99.9 %" and names[1] == f"{LONG}: latency p95 <= 100 ms"


@pytest.mark.parametrize("width", [80, 120])
def test_the_run_console_wraps_and_never_cuts_a_name_or_a_number(width: int) -> None:
    buf = io.StringIO()
    console = Console(file=buf, width=width, no_color=True, highlight=False, force_terminal=False)
    RunConsole(out=console, err=console).final(two_interfaces(), "/tmp/results/r")
    text = buf.getvalue()
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines if not line.startswith(("mvptest run", "verdict:"))), text
    for whole in (LONG, LONG.replace("history", "changes"), "99.983 %", "99.912 %", "99.971 %", "12,345,678",
                  "98.765 ms", "104.125 ms", ">= 99.9 %", "<= 100 ms", "transport 1,234", "24,691,356",
                  "^[a-z0-9][0-9]+$", "[bold]p95[/]", "pilot [x]"):
        assert any(whole in line for line in lines), (whole, text)  # on one line, as written (markup not eaten)
    assert "…" not in text and "..." not in text.replace(" .. ", " ")
    assert re.search(r"verdict: FAIL +results: /tmp/results/r", text)


def test_chinese_report_has_chinese_headings_and_keeps_names(pilot_run: Path, tmp_path: Path) -> None:
    """Needs the run's messages in the catalogue (/work/notes/po-run.po merged and compiled)."""
    out = tmp_path / "zh.html"
    proc = mvptest("--lang", "zh-CN", "report", pilot_run, "--html", out)
    assert proc.returncode == 0, describe(proc)
    page = out.read_text(encoding="utf-8")
    assert page.startswith('<!doctype html><html lang="zh-CN">')
    for heading in ("目标", "失败", "运行条件", "请求统计"):
        assert heading in page, heading
    assert "market-supervision/enterprise-registration" in page and "企业注册信息查询" in page
    assert "结论" in proc.stdout and "通过" in proc.stdout
