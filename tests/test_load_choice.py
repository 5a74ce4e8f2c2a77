"""The load a run is judged under: the consumers' declared peak rates by default (issue 10, item 2); no Locust here."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvptest.errors import InputError
from mvptest.run.plan import build_plan

ROOT = Path(__file__).resolve().parents[1]
MARKET = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"
TAX = ROOT / "specs" / "tax" / "enterprise-registration.yaml"
MEDICAL = ROOT / "specs" / "medical-insurance" / "insured-person.yaml"


def scenario(tmp_path: Path, load: str, consumers: list[Path] = (TAX,)) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(
        "kind: scenario\nname: s\n"
        f"specs: [{MARKET}]\n"
        + (f"consumers: [{', '.join(map(str, consumers))}]\n" if consumers else "")
        + "interfaces: [market-supervision/enterprise-registration]\n"
        f"load: {load}\n", encoding="utf-8")
    return path


def test_without_users_or_rate_the_load_is_the_consumers_declared_peak_times_the_headroom(tmp_path: Path) -> None:
    plan = build_plan(scenario(tmp_path, "{duration: 40s}"))
    # the tax bureau declares usage: {mode: realtime, peak_rps: 50}; the default headroom is 2
    assert plan.rate == 100.0
    assert plan.load_basis == "100 calls/s (open model): 2 x the consumers' declared peak (税务局 50/s)"
    assert plan.consumers == [{"requirement": "tax/enterprise-registration", "department": "税务局",
                               "consumes": "market-supervision/enterprise-registration", "mode": "realtime",
                               "peak_rps": 50}]
    assert plan.warnings == []  # 40 s at 100/s is 4,000 calls: enough to show 99.9 %
    assert build_plan(scenario(tmp_path, "{duration: 40s, headroom: 3}")).rate == 150.0


def test_a_run_too_short_to_decide_at_the_declared_rate_is_warned_about_before_it_starts(tmp_path: Path) -> None:
    plan = build_plan(scenario(tmp_path, "{duration: 10s}"))
    assert plan.rate == 100.0
    (warning,) = plan.warnings
    assert "about 1,000 calls in 10 s" in warning and "2,995 calls without a failure (30 s at this rate)" in warning


def test_users_or_a_rate_set_by_the_scenario_or_the_command_line_win(tmp_path: Path) -> None:
    users = build_plan(scenario(tmp_path, "{users: 7, duration: 5s}"))
    assert users.rate is None and users.users == 7
    assert users.load_basis == ("7 users (closed model), as the scenario or the command line sets; the consumers "
                                "declare a peak of 50 calls/s")
    assert build_plan(scenario(tmp_path, "{duration: 40s}"), rate=30).rate == 30
    assert build_plan(scenario(tmp_path, "{duration: 40s}"), users=3).rate is None
    plain = build_plan(scenario(tmp_path, "{duration: 5s}", consumers=[]))
    assert plain.rate is None and plain.users == 10 and plain.load_basis.startswith("10 users (closed model)")


def test_a_consumer_of_another_interface_is_bad_input_naming_the_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        build_plan(scenario(tmp_path, "{duration: 5s}", consumers=[MEDICAL]))
    assert "s.yaml:4" in str(info.value.where) and "does not load" in info.value.message


def test_a_consumer_file_that_is_not_a_requirement_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        build_plan(scenario(tmp_path, "{duration: 5s}", consumers=[MARKET]))
    assert "is not a requirement spec" in info.value.message
