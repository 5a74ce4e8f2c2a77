"""Random documents into the spec, requirement, scenario and adapter loaders: a loaded object or a located error, never a crash."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mvptest.compat.adapter import Adapter, load_adapter
from mvptest.errors import InputError, Problem
from mvptest.spec.check import load_specs

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_KEYS = st.sampled_from(["kind", "id", "department", "interfaces", "path", "method", "response", "schema", "$ref",
                         "properties", "required", "items", "type", "format", "from", "consumes", "specs", "data",
                         "file", "steps", "copy", "to", "field", "parameters", "in", "targets", "$defs", "[/]", "{x}"])
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                     st.text(max_size=12), st.sampled_from(["#", "#/$defs/a", "/x/{a}", "object", "string", "[/]",
                                                            "interface", "requirement", "scenario", "adapter", "/a"]))
TREES = st.recursive(_SCALARS, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                      st.dictionaries(st.one_of(_KEYS, st.text(max_size=6)), kids, max_size=5)),
                     max_leaves=30)
KINDS = st.sampled_from(["interface", "requirement", "scenario", "adapter"])


def _nested(depth: int, as_json: bool) -> str:
    """A value nested ``depth`` deep, as text (json.dumps and yaml.safe_dump would themselves recurse)."""
    if depth % 2:
        return ('{"a": ' if as_json else "{a: ") * depth + "1" + "}" * depth
    return "[" * depth + "1" + "]" * depth


def _write(text: bytes, suffix: str) -> tuple[tempfile.TemporaryDirectory, Path]:
    tmp = tempfile.TemporaryDirectory()
    path = Path(tmp.name) / f"doc{suffix}"
    path.write_bytes(text)
    return tmp, path


def _assert_located(problems: list[Problem], path: Path) -> None:
    for p in problems:
        assert isinstance(p, Problem) and p.where.path and p.message, p


def _check_all(raw: bytes, suffix: str) -> None:
    """load_specs collects problems, never raises; load_adapter returns an Adapter or raises a located InputError."""
    tmp, path = _write(raw, suffix)
    with tmp:
        result = load_specs([path])
        _assert_located(result.problems, path)
        try:
            assert isinstance(load_adapter(path), Adapter)
        except InputError as exc:  # SpecError is an InputError
            assert exc.where is not None and exc.where.path, exc
            _assert_located(getattr(exc, "problems", []), path)


@SETTINGS
@given(tree=TREES, kind=KINDS, as_json=st.booleans())
def test_random_documents_of_each_kind(tree: Any, kind: str, as_json: bool):
    doc = {"kind": kind, **tree} if isinstance(tree, dict) else tree
    text = json.dumps(doc, ensure_ascii=False) if as_json else yaml.safe_dump(doc, allow_unicode=True)
    _check_all(text.encode("utf-8"), ".json" if as_json else ".yaml")


@SETTINGS
@given(schema=TREES, kind=st.sampled_from(["interface", "requirement"]))
def test_random_schemas_inside_valid_shells(schema: Any, kind: str):
    # valid around the schema, so that the schema reaches bundling, cycle analysis, meta-validation and compilation
    if kind == "interface":
        doc: dict[str, Any] = {"kind": "interface", "department": {"id": "p"}, "interfaces": [
            {"id": "x", "method": "GET", "path": "/x", "response": {"schema": schema}}]}
    else:
        doc = {"kind": "requirement", "department": {"id": "c"}, "consumes": "p/x", "schema": schema}
    _check_all(json.dumps(doc).encode("utf-8"), ".json")


@SETTINGS
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".yaml", ".json", ".yml"]))
def test_random_bytes(raw: bytes, suffix: str):
    _check_all(raw, suffix)


@SETTINGS
@given(depth=st.integers(0, 1500), kind=KINDS, as_json=st.booleans())
def test_random_nesting_depth(depth: int, kind: str, as_json: bool):
    key = (lambda k: f'"{k}"') if as_json else str
    text = (f'{{{key("kind")}: "{kind}", {key("schema")}: {_nested(depth, as_json)}, '
            f'{key("steps")}: {_nested(depth // 2, as_json)}}}')
    _check_all(text.encode("utf-8"), ".json" if as_json else ".yaml")
