"""``mvptest init``: the example pilot and pilots scaffolded from real OpenAPI documents check and run as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.test_openapi import DOCS, VENDORED, describe, mvptest


def run_briefly(scenario: Path, results: Path) -> dict:
    """A 2 s run against the sandbox; its summary. A 2 s run may be too short to decide 99.9 % (exit 1,
    inconclusive), so the exit code is 0 or 1 and the test asserts the counts instead."""
    proc = mvptest("run", scenario, "--duration", "2s", "--results-dir", results, "--run-id", "r", timeout=120)
    assert proc.returncode in (0, 1), describe(proc)
    return json.loads((results / "r" / "summary.json").read_text(encoding="utf-8"))


def assert_every_call_succeeded(summary: dict, expected: set[str]) -> None:
    assert {i["id"] for i in summary["interfaces"]} == expected
    for itf in summary["interfaces"]:
        assert itf["requests"] > 0, itf
        assert itf["successes"] == itf["requests"], itf  # every status and every body as the imported spec says


def test_init_example_writes_the_pilot_that_runs(tmp_path: Path) -> None:
    pilot = tmp_path / "pilot"
    proc = mvptest("init", pilot, "--example")
    assert proc.returncode == 0, describe(proc)
    for part in ("specs/market-supervision/enterprise-registration.yaml", "specs/market-supervision/schemas/enterprise.json",
                 "specs/tax/enterprise-registration.yaml", "specs/samples/tax-enterprise-sample.csv",
                 "scenarios/pilot-enterprise-registration.yaml", "README.md"):
        assert (pilot / part).is_file(), part
    check = mvptest("spec", "check", pilot)
    assert check.returncode == 0, describe(check)
    summary = run_briefly(pilot / "scenarios/pilot-enterprise-registration.yaml", tmp_path / "results")
    assert_every_call_succeeded(summary, {"enterprise-registration"})


@pytest.mark.parametrize("document", sorted(VENDORED))
def test_init_from_openapi_checks_serves_and_runs(document: str, tmp_path: Path) -> None:
    pilot = tmp_path / "pilot"
    proc = mvptest("init", pilot, "--from-openapi", DOCS / document, "--department", "demo")
    assert proc.returncode == 0, describe(proc)
    check = mvptest("spec", "check", pilot)
    assert check.returncode == 0, describe(check)
    interfaces, gets, _ = VENDORED[document]
    assert f"{interfaces} interface(s)" in check.stdout + check.stderr, describe(check)
    (scenario,) = (pilot / "scenarios").glob("*.yaml")
    plan = yaml.safe_load(scenario.read_text(encoding="utf-8"))
    assert plan["target"] == "sandbox" and "headers" not in plan  # nothing to export before a sandbox run
    assert len(plan["interfaces"]) == gets  # every GET operation
    summary = run_briefly(scenario, tmp_path / "results")
    assert_every_call_succeeded(summary, {i["id"].split("/", 1)[1] for i in plan["interfaces"]})


def test_init_from_springfox_writes_requirement_and_headers_to_uncomment(tmp_path: Path) -> None:
    pilot = tmp_path / "pilot"
    proc = mvptest("init", pilot, "--from-openapi", DOCS / "springfox/enterprise-api.json",
                   "--department", "market-supervision")
    assert proc.returncode == 0, describe(proc)
    text = (pilot / "specs/consumer/get-enterprise-using-get.yaml").read_text(encoding="utf-8")
    assert "EDIT" in text
    requirement = yaml.safe_load(text)
    assert requirement["consumes"] == "market-supervision/get-enterprise-using-get"
    assert requirement["schema"]["properties"] == {"code": {"type": "integer", "from": "/code"},
                                                   "msg": {"type": "string", "from": "/msg"},
                                                   "data": {"type": "object", "from": "/data"}}
    scenario = (pilot / "scenarios/pilot-market-supervision.yaml").read_text(encoding="utf-8")
    assert "#     X-Api-Key: ${API_KEY}" in scenario
    assert yaml.safe_load(scenario)["data"] == {"status": {"values": ['["存续"]']}}
    readme = (pilot / "README.md").read_text(encoding="utf-8")
    assert "mvptest run scenarios/pilot-market-supervision.yaml" in readme


def test_init_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine", encoding="utf-8")
    cases = [
        (["init", busy, "--example"], "exists and is not an empty folder"),
        (["init", tmp_path / "a"], "give either --example or --from-openapi FILE"),
        (["init", tmp_path / "b", "--from-openapi", DOCS / "oai/v3.0/uspto.yaml"], "--from-openapi needs --department"),
        (["init", tmp_path / "c", "--example", "--from-openapi", DOCS / "oai/v3.0/uspto.yaml", "--department", "d"],
         "give either --example or --from-openapi FILE"),
    ]
    for args, expected in cases:
        proc = mvptest(*args)
        assert proc.returncode == 2 and expected in proc.stderr and "Traceback" not in proc.stderr, describe(proc)
    assert (busy / "keep.txt").read_text(encoding="utf-8") == "mine"
