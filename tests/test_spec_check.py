"""`spec check`: every failure mode has a fixture folder under tests/data/specs/<mode>/.

Each test loads its folder with ``load_specs`` and asserts on the problem's message, its file and its line.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mvptest.errors import InputError, Problem
from mvptest.spec.check import load_specs
from mvptest.spec.loader import load_document

SPECS = Path(__file__).parent / "data" / "specs"


def _same_file(problem: Problem, path: Path) -> bool:
    # Problem paths are shown relative to the working directory; compare them resolved.
    return Path(problem.where.path).resolve() == path.resolve()


def _only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def _problems(*paths: Path, **kwargs) -> list[Problem]:
    return load_specs(list(paths), **kwargs).problems


def _find(problems: list[Problem], text: str) -> Problem:
    matches = [p for p in problems if text in p.message]
    assert len(matches) == 1, f"{text!r} in:\n" + "\n".join(map(str, problems))
    return matches[0]


# --------------------------------------------------------------------------- the valid case


def test_good_folder_loads_without_problems():
    specs = load_specs([SPECS / "good"])
    assert specs.problems == []
    assert len(specs.interfaces) == 1
    assert len(specs.requirements) == 1
    itf, req = specs.interfaces[0], specs.requirements[0]
    assert itf.key == "market-supervision/enterprise-registration"
    assert req.consumes == itf.key
    assert itf.sensitive == ("/legalRepresentative",)
    assert itf.targets.success_rate == 0.999
    assert itf.targets.latency_ms == {"p95": 100.0}
    # the $ref to schemas/enterprise.json (a subfolder) is bundled, including its internal #/$defs ref
    fields = dict(itf.response_schema.fields())
    assert fields["/uscc"] == {"type": "string", "format": "cn-uscc"}
    assert fields["/address/postcode"] == {"type": "string", "format": "cn-postcode"}
    assert [p.name for p in itf.parameters] == ["uscc"]
    # the schema file beside the spec is not mistaken for a spec
    assert all(p.suffix == ".yaml" for p in specs.files)


def test_good_single_file_loads_without_problems():
    specs = load_specs([SPECS / "good" / "market-supervision" / "enterprise-registration.yaml"])
    assert specs.problems == []
    assert len(specs.interfaces) == 1


def test_missing_path_is_a_problem():
    p = _only(_problems(SPECS / "does-not-exist"))
    assert "no such file" in p.message
    assert p.where.path.endswith("does-not-exist")


# --------------------------------------------------------------------------- unreadable files


def test_bad_yaml():
    path = SPECS / "bad-yaml" / "spec.yaml"
    p = _only(_problems(path))
    assert "not valid YAML" in p.message
    assert "mapping values are not allowed" in p.message
    assert _same_file(p, path)
    assert p.where.line == 7
    assert p.severity == "error"
    assert "spec.yaml:7" in str(p)


def test_bad_yaml_unclosed_bracket_names_the_line_where_it_opens():
    path = SPECS / "bad-yaml" / "unclosed.yaml"
    p = _only(_problems(path))
    assert "not valid YAML" in p.message
    assert _same_file(p, path)
    assert p.where.line == 7 or "line 7" in p.message


def test_bad_yaml_folder_reports_both_files():
    problems = _problems(SPECS / "bad-yaml")
    assert len(problems) == 2
    assert {Path(p.where.path).name for p in problems} == {"spec.yaml", "unclosed.yaml"}
    assert all("not valid YAML" in p.message for p in problems)


def test_bad_json():
    path = SPECS / "bad-json" / "spec.json"
    p = _only(_problems(SPECS / "bad-json"))
    assert "not valid JSON" in p.message
    assert "Expecting ',' delimiter" in p.message
    assert _same_file(p, path)
    assert p.where.line == 8  # where the parser expected the comma missing after line 7
    assert p.where.column == 7


def test_not_utf8():
    path = SPECS / "not-utf8" / "spec.yaml"
    assert path.read_bytes().decode("gbk")  # the fixture is GBK text
    p = _only(_problems(SPECS / "not-utf8"))
    assert "not UTF-8" in p.message
    assert "UTF-8" in p.hint
    assert _same_file(p, path)
    assert p.where.line == 4  # the first non-UTF-8 byte: the GBK department name


# --------------------------------------------------------------------------- document structure


def test_unknown_key_did_you_mean():
    path = SPECS / "unknown-key" / "spec.yaml"
    specs = load_specs([SPECS / "unknown-key"])
    p = _only(specs.problems)
    assert "unknown key 'sensetive'" in p.message
    assert "did you mean 'sensitive'" in p.message
    assert "sensitive" in p.hint
    assert _same_file(p, path)
    assert p.where.line == 9
    assert p.where.column == 5
    assert specs.interfaces == []


def test_missing_kind():
    path = SPECS / "missing-kind" / "spec.yaml"
    p = _only(_problems(SPECS / "missing-kind"))
    assert "no top-level 'kind'" in p.message
    assert "'knd'" in p.message
    assert "kind: interface" in p.hint
    assert _same_file(p, path)
    assert p.where.line == 1


def test_unknown_kind():
    path = SPECS / "unknown-kind" / "spec.yaml"
    p = _only(_problems(SPECS / "unknown-kind"))
    assert "unknown kind 'interfase'" in p.message
    assert "did you mean 'interface'" in p.message
    assert _same_file(p, path)
    assert p.where.line == 2  # the kind key, after a comment line


def test_duplicate_yaml_key():
    path = SPECS / "duplicate-yaml-key" / "spec.yaml"
    p = _only(_problems(SPECS / "duplicate-yaml-key"))
    assert "duplicate key 'method'" in p.message
    assert "first at line 5" in p.message
    assert _same_file(p, path)
    assert p.where.line == 7


def test_targets_out_of_range():
    path = SPECS / "targets-out-of-range" / "spec.yaml"
    problems = _problems(SPECS / "targets-out-of-range")
    assert len(problems) == 2
    rate = _find(problems, "success_rate")
    assert "99.9" in rate.message
    assert "0.999" in rate.hint
    assert _same_file(rate, path)
    assert rate.where.line == 10
    p95 = _find(problems, "p95")
    assert "-5" in p95.message
    assert "greater than 0" in p95.hint
    assert _same_file(p95, path)
    assert p95.where.line == 12


def test_path_param_not_in_path():
    # the declared path parameter uscc is missing from the template, and the template's {id} is undeclared
    path = SPECS / "path-param-not-in-path" / "spec.yaml"
    problems = _problems(SPECS / "path-param-not-in-path")
    assert len(problems) == 2, "\n".join(map(str, problems))
    p = _find(problems, "path parameter 'uscc'")
    assert "/api/v1/enterprises/{id}" in p.message
    assert "{uscc}" in p.hint
    assert _same_file(p, path)
    assert p.where.line == 8
    undeclared = _find(problems, "names {id}, which is not a declared parameter")
    assert (undeclared.where.line, "in: path" in undeclared.hint) == (6, True)


# --------------------------------------------------------------------------- schemas and $ref


def test_invalid_json_schema_is_located():
    path = SPECS / "invalid-json-schema" / "spec.yaml"
    problems = _problems(SPECS / "invalid-json-schema")
    assert len(problems) == 2
    assert all("not a valid JSON Schema" in p.message and _same_file(p, path) for p in problems)
    strng = _find(problems, "'strng'")
    assert strng.where.line == 12
    negative = _find(problems, "-1 is less than the minimum of 0")
    assert negative.where.line == 15


def test_unresolved_ref():
    path = SPECS / "unresolved-ref" / "spec.yaml"
    p = _only(_problems(SPECS / "unresolved-ref"))
    assert "$ref 'schemas/missing.json' does not resolve" in p.message
    assert "missing.json" in p.message
    assert _same_file(p, path)
    assert p.where.line == 9


def test_ref_outside_tree():
    path = SPECS / "ref-outside-tree" / "spec.yaml"
    p = _only(_problems(SPECS / "ref-outside-tree"))
    assert "'../../x.json'" in p.message
    assert "leaves the spec tree" in p.message
    assert _same_file(p, path)
    assert p.where.line == 9


def test_spec_root_widens_the_tree():
    folder = SPECS / "spec-root"
    p = _only(_problems(folder))
    assert "leaves the spec tree" in p.message
    assert p.where.line == 9
    specs = load_specs([folder], spec_root=folder)
    assert specs.problems == []
    assert len(specs.interfaces) == 1


def test_remote_ref_is_never_fetched():
    path = SPECS / "remote-ref" / "spec.yaml"
    p = _only(_problems(SPECS / "remote-ref"))
    assert "https://example.gov.cn/schemas/enterprise.json" in p.message
    assert "never fetches" in p.message
    assert _same_file(p, path)
    assert p.where.line == 9


def test_bad_ref_fragment():
    path = SPECS / "bad-ref-fragment" / "spec.yaml"
    p = _only(_problems(SPECS / "bad-ref-fragment"))
    assert "does not resolve" in p.message
    assert "/$defs/adress" in p.message
    assert _same_file(p, path)
    assert p.where.line == 9


def test_unknown_format_did_you_mean_in_spec_and_in_referenced_file():
    spec = SPECS / "unknown-format" / "spec.yaml"
    schema = SPECS / "unknown-format" / "schemas" / "enterprise.json"
    problems = _problems(SPECS / "unknown-format")
    assert len(problems) == 2
    inline = _find(problems, "'cn-usc'")
    assert "did you mean 'cn-uscc'" in inline.message
    assert _same_file(inline, spec)
    assert inline.where.line == 12
    referenced = _find(problems, "'date-compat'")
    assert "did you mean 'date-compact'" in referenced.message
    assert _same_file(referenced, schema)  # located in the schema file, not in the spec naming it
    assert referenced.where.line == 5


# --------------------------------------------------------------------------- across files


def test_duplicate_interface_id_across_two_files_and_within_one():
    folder = SPECS / "duplicate-interface-id"
    problems = _problems(folder)
    assert len(problems) == 2
    across = _find(problems, "'duplicate-interface-id/enterprise-registration'")
    assert "duplicate interface id" in across.message
    assert _same_file(across, folder / "b.yaml")
    assert across.where.line == 9
    assert "a.yaml:4" in across.message  # names where the first one is
    within = _find(problems, "'duplicate-in-one-file/licence'")
    assert _same_file(within, folder / "c.yaml")
    assert within.where.line == 9
    assert "c.yaml:4" in within.message


def test_duplicate_interface_id_within_one_file_alone():
    path = SPECS / "duplicate-interface-id" / "c.yaml"
    p = _only(_problems(path))
    assert "duplicate interface id 'duplicate-in-one-file/licence'" in p.message
    assert p.where.line == 9


def test_requirement_unknown_interface():
    path = SPECS / "requirement-unknown-interface" / "consumer.yaml"
    specs = load_specs([SPECS / "requirement-unknown-interface"])
    p = _only(specs.problems)
    assert "'requirement-unknown-interface/enterprise-registraton'" in p.message
    assert "no interface spec provides" in p.message
    assert "did you mean 'requirement-unknown-interface/enterprise-registration'" in p.message
    assert _same_file(p, path)
    assert p.where.line == 4  # the consumes key
    assert len(specs.requirements) == 1  # still loaded: the problem is about the link


def test_scenario_missing_spec():
    path = SPECS / "scenario-missing-spec" / "scenario.yaml"
    specs = load_specs([SPECS / "scenario-missing-spec"])
    p = _only(specs.problems)
    assert "'specs/enterprise-registraton.yaml' does not exist" in p.message
    assert _same_file(p, path)
    assert p.where.line == 5
    assert len(specs.scenarios) == 1


def test_scenario_unknown_interface_is_located():
    path = SPECS / "scenario-unknown-interface" / "scenario.yaml"
    p = _only(_problems(SPECS / "scenario-unknown-interface"))
    assert "'enterprise-registraton'" in p.message
    assert _same_file(p, path)
    assert p.where.line == 6


# --------------------------------------------------------------------------- every problem, not the first


def test_many_problems_are_all_reported():
    folder = SPECS / "many-problems"
    problems = _problems(folder)
    broken, garbled, requirement = (folder / n for n in ("broken.yaml", "garbled.yaml", "requirement.yaml"))
    expected = [
        (broken, 7, "duplicate key 'path'"),
        (broken, 12, "unknown format 'cn-usc'"),
        (broken, 13, "unknown key 'sensetive'"),
        (broken, 14, "success_rate"),
        (garbled, None, "not valid YAML"),
        (requirement, 3, "'many-problems/nothing-here'"),
    ]
    assert len(problems) == len(expected), "\n".join(map(str, problems))
    for path, line, text in expected:
        p = _find(problems, text)
        assert _same_file(p, path), p
        if line is not None:
            assert p.where.line == line, p
    # sorted by file, then line
    keys = [(p.where.path, p.where.line or 0) for p in problems]
    assert keys == sorted(keys)


# --------------------------------------------------------------------------- malformed input must not crash


def test_recursive_yaml_alias_is_a_problem_not_a_crash(tmp_path):
    # Stored as .in so that other fixtures' requirement discovery (which scans sibling folders) never reads it.
    shutil.copy(SPECS / "recursive-alias" / "spec.yaml.in", tmp_path / "spec.yaml")
    problems = _problems(tmp_path)
    assert any(p.where.line == 3 for p in problems)


def test_alias_bomb_does_not_expand():
    path = SPECS / "alias-bomb" / "spec.yaml"
    try:
        doc = load_document(path)
    except InputError:
        return  # refusing aliases outright is fine too
    assert len(doc.positions) < 1000


def test_unhashable_kind_is_a_problem():
    path = SPECS / "unhashable-kind" / "spec.yaml"
    p = _only(_problems(path))
    assert "kind" in p.message
    assert p.where.line == 1


def test_numeric_unknown_key_is_a_problem():
    path = SPECS / "non-string-key" / "top-level.yaml"
    p = _only(_problems(path))
    assert "2023" in p.message
    assert p.where.line == 3


def test_numeric_property_name_in_schema_does_not_crash():
    path = SPECS / "non-string-key" / "spec.yaml"
    _problems(path)  # a problem (JSON property names are strings) or acceptance; never a crash


def test_yaml_schema_beside_specs_is_not_a_spec():
    specs = load_specs([SPECS / "yaml-schema-ref"])
    assert specs.problems == []
    assert len(specs.interfaces) == 1


def test_ref_to_a_file_with_a_chinese_name():
    specs = load_specs([SPECS / "unicode-ref-path"])
    assert specs.problems == []
    assert len(specs.interfaces) == 1


def test_from_must_be_a_json_pointer():
    path = SPECS / "bad-from" / "consumer.yaml"
    problems = [p for p in _problems(path) if "from:" in p.message]
    assert [(p.where.line, p.message) for p in problems] == [
        (9, "from: 'enterpriseName' is not a JSON Pointer to a provider field"),
        (10, "from: 5 is not a JSON Pointer to a provider field"),
    ]


def test_scenario_sandbox_latency_and_pool_files_are_checked():
    path = SPECS / "scenario-bad-sandbox-and-pool" / "pilot.yaml"
    problems = _problems(path)
    assert [(p.where.line, p.message.split(":")[0]) for p in problems] == [(7, "sandbox.latency_ms"), (9, "data pool 'uscc'")]
    assert "cannot read latency 'bogus'" in problems[0].message and "nope.csv" in problems[1].message


# --------------------------------------------------------------------------- lint that catches what the run gets wrong


def _interface(tmp_path: Path, schema: dict, *, extra: dict | None = None) -> Path:
    import json

    doc = {"kind": "interface", "department": {"id": "lint"},
           "interfaces": [{"id": "x", "method": "GET", "path": "/x", "response": {"schema": schema}, **(extra or {})}]}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def test_recursive_schemas_with_a_way_out_are_not_cycles(tmp_path):
    # an optional child, an array that may be empty, a nullable required parent, an anyOf with a leaf: all finite
    schema = {
        "$defs": {
            "tree": {"type": "object", "properties": {"child": {"$ref": "#/$defs/tree"}}},
            "list": {"type": "object", "required": ["items"],
                     "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/list"}}}},
            "nullable": {"type": ["object", "null"], "required": ["parent"],
                         "properties": {"parent": {"$ref": "#/$defs/nullable"}}},
            "either": {"anyOf": [{"type": "string"},
                                 {"type": "object", "required": ["e"], "properties": {"e": {"$ref": "#/$defs/either"}}}]},
        },
        "type": "object",
        "properties": {k: {"$ref": f"#/$defs/{k}"} for k in ("tree", "list", "nullable", "either")},
    }
    specs = load_specs([_interface(tmp_path, schema)])
    assert specs.problems == []
    assert len(specs.interfaces) == 1


def test_required_cycle_and_ref_loop_are_located(tmp_path):
    schema = {
        "$defs": {
            "node": {"type": "object", "required": ["parent"], "properties": {"parent": {"$ref": "#/$defs/node"}}},
            "chain": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/chain"}},
            "loop": {"$ref": "#/$defs/loop"},
        },
        "type": "object",
        "properties": {"n": {"$ref": "#/$defs/node"}, "c": {"$ref": "#/$defs/chain"}, "l": {"$ref": "#/$defs/loop"}},
    }
    path = _interface(tmp_path, schema)
    problems = _problems(path)
    assert len(problems) == 3, "\n".join(map(str, problems))
    lines = path.read_text(encoding="utf-8").splitlines()
    node = _find(problems, "#/$defs/node/properties/parent")
    assert "required at every level" in node.message and '"$ref": "#/$defs/node"' in lines[node.where.line - 1]
    chain = _find(problems, "#/$defs/chain/items")
    assert "required at every level" in chain.message and "minItems: 0" in chain.hint
    loop = _find(problems, "$ref cycle on one value")
    assert '"$ref": "#/$defs/loop"' in lines[loop.where.line - 1]
    assert load_specs([path]).interfaces == []  # the run never gets it


def test_template_parameters_must_be_declared_in_path(tmp_path):
    path = _interface(tmp_path, {"type": "object"}, extra={
        "path": "/x/{uscc}/{other}", "parameters": {"uscc": {"in": "path", "schema": {"type": "string"}}}})
    p = _only(_problems(path))
    assert "names {other}, which is not a declared parameter" in p.message
    assert p.where.line is not None and '"path"' in path.read_text(encoding="utf-8").splitlines()[p.where.line - 1]


def test_schema_nested_too_deep_is_a_problem_not_a_recursion_error(tmp_path):
    schema: dict = {"type": "string"}
    for _ in range(60):  # 120 JSON levels: past the schema limit, within the file limit
        schema = {"type": "object", "properties": {"a": schema}}
    p = _only(_problems(_interface(tmp_path, schema)))
    assert "nested more than 100 levels" in p.message and p.where.line is not None


def test_finding_providers_never_opens_unrelated_files(tmp_path):
    """Checking one requirement reads only files that look like specs: a 50 MB export and pipes beside it cost nothing."""
    import os
    import subprocess
    import sys
    import time

    specs = tmp_path / "specs"
    shutil.copytree(SPECS / "good", specs)
    exports = specs / "exports"
    exports.mkdir()
    with open(exports / "enterprises.json", "wb") as f:  # valid JSON: expensive if anything parses it
        f.write(b"[" + b'{"uscc": "91110000600037341L", "name": "x"},\n' * 1_150_000 + b"{}]")
    assert (exports / "enterprises.json").stat().st_size > 50_000_000
    (specs / "samples").mkdir()
    for fifo in (exports / "pipe.json", exports / "pipe.yaml", specs / "samples" / "export.json"):
        os.mkfifo(fifo)  # opening one blocks until a writer comes: the check would hang, and time out below
    env = {k: v for k, v in os.environ.items() if k != "MVPTEST_DEBUG"} | {"NO_COLOR": "1"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "mvptest", "spec", "check", "specs/tax/enterprise-registration.yaml"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 requirement(s)" in proc.stdout
    # Generous bound: the check takes about 1 s with interpreter start; parsing the export took over 20 s before.
    # 5 s leaves room for a second core busy with other tests.
    assert elapsed < 5, f"{elapsed:.1f} s"


# --------------------------------------------------------------------------- from: pointers walk the provider's schema


def test_deep_from_pointers_through_refs_and_arrays_are_not_flagged():
    # file $ref, $defs $ref, items, prefixItems, *, allOf, anyOf with null, oneOf, additionalProperties schema, open map
    specs = load_specs([SPECS / "from-deep"])
    assert specs.problems == []
    assert len(specs.interfaces) == 1 and len(specs.requirements) == 1


def _from_problems(tmp_path: Path, pointer: str) -> list[Problem]:
    folder = tmp_path / "specs"
    shutil.copytree(SPECS / "from-deep", folder)
    consumer = folder / "consumer.yaml"
    consumer.write_text(
        "kind: requirement\ndepartment: {id: deep-consumer}\nconsumes: deep-provider/registration\n"
        f"schema:\n  type: object\n  properties:\n    field: {{type: string, from: '{pointer}'}}\n", encoding="utf-8")
    problems = _problems(consumer)
    assert all(_same_file(p, consumer) and p.where.line == 7 for p in problems), "\n".join(map(str, problems))
    return problems


_UNIT = "deep-provider/registration's response"


@pytest.mark.parametrize("pointer, message", [
    ("/note/deeper", f"from: /note/deeper names no field of {_UNIT} (/note is a string or null, which has no fields)"),
    ("/status/code", "(/status is a string or null, which has no fields)"),  # anyOf of scalars
    ("/owner/name/first", "(/owner/name is a string, which has no fields)"),
    ("/shareholders/1/name/x", "(/shareholders/1/name is a string, which has no fields)"),
    ("/address/city/x", "(/address/city is a string, which has no fields)"),  # through anyOf, $ref and allOf
    ("/contact/phone/x", "(/contact/phone is a string, which has no fields)"),  # through oneOf
    ("/range/0/x", "(/range/0 is a string, which has no fields)"),  # prefixItems
    ("/shareholders/name", "(/shareholders is an array: step into its items with /shareholders/* or /shareholders/0)"),
    ("/owner/0", "(/owner is an object, not an array)"),
    ("/owner/nickname", f"from: /owner/nickname names no field of {_UNIT}; did you mean /owner/name?"),  # closed
    ("/address/street", f"from: /address/street names no field of {_UNIT}"),  # neither allOf branch declares it
    ("/contact/email", f"from: /contact/email names no field of {_UNIT}"),  # no oneOf branch declares it
    ("/range/2", f"from: /range/2 names no field of {_UNIT}"),  # items: false after two prefixItems
    ("/extra/key/other", f"from: /extra/key/other names no field of {_UNIT}"),  # additionalProperties' fields
    ("/5", f"from: /5 names no field of {_UNIT} (the response is an object, not an array)"),
])
def test_from_pointer_that_the_provider_cannot_hold_is_flagged_once(tmp_path, pointer, message):
    p = _only(_from_problems(tmp_path, pointer))
    assert message in p.message and p.message.startswith(f"from: {pointer} names no field")
    assert p.hint.startswith("fields it serves: /owner, /owner/name")


@pytest.mark.parametrize("pointer", [
    "/owner", "/shareholders", "/shareholders/*", "/range/1", "/extra/key", "/extra/key/value", "/tags/a/b/c",
    "/owner/name/", "/address",
    "/dynamic/name/deeper",  # a $dynamicRef is not followed statically: never judged, never flagged
])
def test_from_pointer_the_provider_can_hold_or_that_cannot_be_judged_is_not_flagged(tmp_path, pointer):
    assert _from_problems(tmp_path, pointer) == []


def test_from_into_a_scalar_is_flagged_where_nope_was(tmp_path):
    # the tester's case: the provider serves a: {type: string}; /a/deeper was accepted, /nope was flagged
    import json

    provider = tmp_path / "provider.json"
    provider.write_text(json.dumps({"kind": "interface", "department": {"id": "p"}, "interfaces": [
        {"id": "x", "method": "GET", "path": "/x",
         "response": {"schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}]}), encoding="utf-8")
    consumer = tmp_path / "consumer.yaml"
    consumer.write_text("kind: requirement\ndepartment: {id: c}\nconsumes: p/x\nschema:\n  type: object\n"
                        "  properties:\n    c: {type: string, from: /a/deeper}\n    d: {type: string, from: /nope}\n",
                        encoding="utf-8")
    problems = _problems(provider, consumer)
    assert [(p.where.line, p.message) for p in problems] == [
        (7, "from: /a/deeper names no field of p/x's response (/a is a string, which has no fields)"),
        (8, "from: /nope names no field of p/x's response"),
    ]


@pytest.mark.parametrize("kind, text, line", [
    ("requirement", "kind: requirement\ndepartment: {id: c}\nconsumes: p/x\nschema: [1, 2]\n", 4),
    ("interface", ("kind: interface\ndepartment: {id: p}\ninterfaces:\n  - id: x\n    method: GET\n    path: /x\n"
                   "    parameters:\n      q: {in: query, schema: 5}\n    response: {schema: [1, 2]}\n"), 8),
])
def test_a_schema_that_is_not_a_mapping_is_reported_once(tmp_path, kind, text, line):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text, encoding="utf-8")
    problems = _problems(path)
    # one problem per schema: the kind's shape says it; the JSON Schema lint does not say it again
    assert all("is not of type 'object', 'boolean'" in p.message for p in problems), "\n".join(map(str, problems))
    assert [p.where.line for p in problems] == ([line] if kind == "requirement" else [line, line + 1])
