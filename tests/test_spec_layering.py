"""spec/ depends on nothing above it: its modules import only spec/, errors, formats and third-party libraries."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SPEC = Path(__file__).resolve().parents[1] / "mvptest" / "spec"
ALLOWED = ("mvptest.spec", "mvptest.errors", "mvptest.formats", "mvptest.events")  # events: the handler protocol, a leaf


def _allowed(module: str) -> bool:
    return any(module == a or module.startswith(a + ".") for a in ALLOWED)


def _mvptest_imports(path: Path) -> list[tuple[int, str]]:
    """Every mvptest module a file imports, anywhere in it (functions included), with its line."""
    found: list[tuple[int, str]] = []
    package = "mvptest.spec"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "mvptest"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # from . import x, from ..run import y
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            if module.split(".")[0] != "mvptest":
                continue
            if module == "mvptest":  # from mvptest import formats: each name is a module
                found += [(node.lineno, f"mvptest.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, module))
    return found


def test_the_walker_sees_every_form_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import mvptest.run.plan\nfrom mvptest import masking, formats\nfrom ..compat import view\n"
                      "def f():\n    from mvptest.validation.compiled import compile_error\nimport yaml\n", encoding="utf-8")
    assert _mvptest_imports(sample) == [(1, "mvptest.run.plan"), (2, "mvptest.masking"), (2, "mvptest.formats"),
                                        (3, "mvptest.compat"), (5, "mvptest.validation.compiled")]
    assert [m for _, m in _mvptest_imports(sample) if not _allowed(m)] == [
        "mvptest.run.plan", "mvptest.masking", "mvptest.compat", "mvptest.validation.compiled"]


@pytest.mark.parametrize("path", sorted(SPEC.glob("*.py")), ids=lambda p: p.name)
def test_spec_imports_nothing_above_it(path: Path) -> None:
    outside = [f"{path.name}:{line}: imports {module}" for line, module in _mvptest_imports(path) if not _allowed(module)]
    assert not outside, "spec/ may import only spec/, errors, formats and events:\n" + "\n".join(outside)


def test_importing_spec_loads_no_other_mvptest_module() -> None:
    """The same at run time: every spec module imported, then no mvptest module outside spec/, errors, formats,
    and neither locust nor gevent, is loaded."""
    names = [f"mvptest.spec.{p.stem}" for p in sorted(SPEC.glob("*.py")) if p.stem != "__init__"]
    code = ("import importlib, json, sys\n"
            f"for name in {names!r}: importlib.import_module(name)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('mvptest', 'locust', 'gevent'))))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                       cwd=SPEC.parents[1]).stdout)
    assert set(names) <= set(loaded)
    assert [m for m in loaded if m != "mvptest" and not _allowed(m)] == []
