"""The malformed-input corpus (tests/data/bad/cases.yaml): every case exits 2 with one located message, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "data" / "bad"
CASES: list[dict[str, Any]] = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))["cases"]
# run and sandbox import locust or listen: they run in subprocesses; the rest in-process (fast, same code path)
SUBPROCESS = {"run", "sandbox"}
ENV = {"NO_COLOR": "1", "COLUMNS": "200", "MVPTEST_DEBUG": None}


def _id(case: dict[str, Any]) -> str:
    return f"{case['command'][0]}:{case['file']}"


def _argv(case: dict[str, Any], tmp: Path) -> list[str]:
    file = str((BAD / case["file"]).relative_to(ROOT))
    return [a.replace("{file}", file).replace("{tmp}", str(tmp)) for a in case["command"]]


def _in_process(argv: list[str], env: dict[str, str | None]) -> tuple[int, str]:
    from mvptest.cli import main

    with CliRunner().isolation(env=env) as (_out, err, _mixed):
        code = main(argv)
        sys.stderr.flush()
    return int(code), err.getvalue().decode("utf-8", "replace")


def _subprocess(argv: list[str], env: dict[str, str | None]) -> tuple[int, str]:
    full = {k: v for k, v in os.environ.items() if k != "MVPTEST_DEBUG"}
    full.update({k: v for k, v in env.items() if v is not None})
    # A case that were not refused would load or serve: the timeout turns that into a failure, not a hang.
    proc = subprocess.run([sys.executable, "-m", "mvptest", *argv], cwd=ROOT, env=full, capture_output=True,
                          text=True, encoding="utf-8", timeout=60)
    return proc.returncode, proc.stderr


def test_the_corpus_is_large_and_every_file_is_a_case():
    files = {c["file"] for c in CASES}
    assert len(files) >= 45
    for kind in ("specs", "requirements", "scenarios", "adapters"):
        assert any(f.startswith(kind + "/") for f in files), kind
    assert all((BAD / f).is_file() for f in files)
    helpers = {"requirements/provider.yaml"}  # a valid provider the requirement cases consume
    on_disk = {str(p.relative_to(BAD)) for kind in ("specs", "requirements", "scenarios", "adapters")
               for p in (BAD / kind).glob("*.*")}
    assert on_disk - helpers == files


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_bad_input_is_refused_with_one_located_message(case: dict[str, Any], tmp_path: Path, monkeypatch):
    monkeypatch.chdir(ROOT)  # messages name files relative to the working directory
    argv = _argv(case, tmp_path)
    env = {**ENV, **case.get("env", {})}
    code, stderr = (_subprocess if argv[0] in SUBPROCESS else _in_process)(argv, env)
    shown = f"exit {code}\n--- stderr\n{stderr}"
    assert code == case["exit"], shown
    assert "Traceback" not in stderr, shown
    assert "internal error" not in stderr, shown
    assert case["message"] in stderr, shown
    where = str((BAD / case.get("where", case["file"])).relative_to(ROOT))
    assert where in stderr, shown
    if "line" in case:
        assert f"{where}:{case['line']}" in stderr, shown
    if argv[0] == "run":  # refused before any load: no run folder, let alone a summary
        assert not list(tmp_path.rglob("summary.json")), shown
