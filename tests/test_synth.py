"""Synthetic data: valid by construction, deterministic from a seed, consistent, and drift that is always invalid."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mvptest import formats
from mvptest.formats import cn
from mvptest.spec.check import load_specs
from mvptest.spec.refs import BundledSchema
from mvptest.synth import Synthesizer
from mvptest.validation.compiled import CompiledSchema

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
SEEDS = 300


# --------------------------------------------------------------------------- helpers


def _specs():
    specset = load_specs([SPECS])
    assert not specset.errors, specset.errors
    return specset


def _spec_schemas() -> list[tuple[str, BundledSchema]]:
    """Every response, request, parameter and requirement schema under specs/."""
    specset = _specs()
    out: list[tuple[str, BundledSchema]] = []
    for itf in specset.interfaces:
        out.append((f"{itf.key}:response", itf.response_schema))
        if itf.request_schema is not None:
            out.append((f"{itf.key}:request", itf.request_schema))
        for p in itf.parameters:
            if p.schema is not None:
                out.append((f"{itf.key}:param:{p.name}", p.schema))
    for req in specset.requirements:
        out.append((f"{req.key}:requirement", req.schema))
    return out


SPEC_SCHEMAS = _spec_schemas()


def _by_key(key: str) -> BundledSchema:
    return dict(SPEC_SCHEMAS)[key]


def bundled(schema: Any) -> BundledSchema:
    """A hand-written schema as the loader would hand it over (no external files)."""
    uri = "file:///synth-test/schema.json"
    if isinstance(schema, dict):
        schema = {**schema, "$id": uri}
    return BundledSchema(schema, uri, {uri: schema})


def assert_all_valid(b: BundledSchema, seeds: range, label: str) -> list[Any]:
    compiled = CompiledSchema(b, mask=False)
    syn = Synthesizer(b)
    out = []
    for seed in seeds:
        value = syn.generate(random.Random(seed))
        if not compiled.is_valid(value):
            errors = [(e.field, e.kind, e.expected, e.message) for e in compiled.errors(value)]
            pytest.fail(f"{label}, seed {seed}: {json.dumps(value, ensure_ascii=False)} is invalid: {errors}")
        out.append(value)
    return out


def _dump(values: list[Any]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=False)


# --------------------------------------------------------------------------- the spec schemas


def test_spec_schemas_found() -> None:
    keys = [k for k, _ in SPEC_SCHEMAS]
    assert "market-supervision/enterprise-registration:response" in keys
    assert "market-supervision/enterprise-registration:param:uscc" in keys
    assert "tax/enterprise-registration:requirement" in keys
    assert "medical-insurance/insured-person:requirement" in keys


@pytest.mark.parametrize("key", [k for k, _ in SPEC_SCHEMAS])
def test_spec_schema_values_validate(key: str) -> None:
    values = assert_all_valid(_by_key(key), range(SEEDS), key)
    assert len({json.dumps(v, sort_keys=True, ensure_ascii=False) for v in values}) > 1, "all values identical"


def test_same_seed_same_value_different_seeds_differ() -> None:
    for key, b in SPEC_SCHEMAS:
        syn = Synthesizer(b)
        again = Synthesizer(b)
        first = [syn.generate(random.Random(s)) for s in range(40)]
        assert first == [again.generate(random.Random(s)) for s in range(40)], key
        assert first == [syn.generate(random.Random(s)) for s in range(40)], key
        assert len({json.dumps(v, sort_keys=True, ensure_ascii=False) for v in first}) > 20, key
    # one rng drawn from repeatedly gives a deterministic sequence too
    syn = Synthesizer(_by_key("market-supervision/enterprise-registration:response"))
    r1, r2 = random.Random(7), random.Random(7)
    assert [syn.generate(r1) for _ in range(20)] == [syn.generate(r2) for _ in range(20)]


_HASHSEED_SCRIPT = r"""
import hashlib, json, random, sys
from pathlib import Path
from mvptest.spec.check import load_specs
from mvptest.spec.refs import BundledSchema
from mvptest.synth import Synthesizer
specset = load_specs([Path(sys.argv[1])])
schemas = [i.response_schema for i in specset.interfaces] + [r.schema for r in specset.requirements]
uri = "file:///synth-test/schema.json"
extra = {"$id": uri, "type": "object", "required": ["a", "b", "c", "d", "e"], "properties": {
    "a": {"type": "string", "pattern": "^\\W{3}[^a-z0-9]{4}$"}, "b": {"type": "string", "pattern": "^.{5}$"},
    "c": {"type": "array", "uniqueItems": True, "minItems": 3, "items": {"enum": ["x", "y", "z", 1, None]}},
    "d": {"type": "object", "minProperties": 2, "properties": {"p": {"type": "string"}, "q": {"type": "integer"}}},
    "e": {"oneOf": [{"type": "integer", "multipleOf": 3}, {"type": "integer", "multipleOf": 5}]}}}
schemas.append(BundledSchema(extra, uri, {uri: extra}))
h = hashlib.sha256()
for b in schemas:
    syn = Synthesizer(b)
    for seed in range(50):
        v = syn.generate(random.Random(seed))
        h.update(json.dumps(v, ensure_ascii=False, sort_keys=False).encode())
        h.update(json.dumps(syn.drift(v, random.Random(seed)), ensure_ascii=False).encode())
print(h.hexdigest())
"""


def test_output_independent_of_pythonhashseed() -> None:
    digests = set()
    for hashseed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        proc = subprocess.run([sys.executable, "-c", _HASHSEED_SCRIPT, str(SPECS)], env=env, capture_output=True,
                              text=True, cwd=ROOT, timeout=60)
        assert proc.returncode == 0, proc.stderr
        digests.add(proc.stdout.strip())
    assert len(digests) == 1, digests


# --------------------------------------------------------------------------- realism, overrides and consistency


def test_enterprise_values_look_real() -> None:
    syn = Synthesizer(_by_key("market-supervision/enterprise-registration:response"))
    records = [syn.generate(random.Random(s)) for s in range(200)]
    names = [r["enterpriseName"] for r in records]
    assert all(n.endswith("公司") for n in names), names[:5]
    assert any("（" in n and "）" in n for n in names), "no full-width parentheses in company names"
    assert not any("(" in n for n in names)
    assert all(any(p in r["registeredAddress"] for p in ("省", "市")) for r in records)
    assert all(2 <= len(r["legalRepresentative"]) <= 4 for r in records)
    assert all(10 <= r["registeredCapital"] <= 100_000 for r in records)  # 万元
    optional = [r for r in records if "businessScope" in r]
    assert 0.65 < len(optional) / len(records) < 0.95  # optional properties present with probability ~0.8
    for r in records:
        assert formats.REGISTRY["cn-uscc"].check(r["uscc"])


def test_overrides_are_echoed_and_derived_fields_follow() -> None:
    syn = Synthesizer(_by_key("market-supervision/enterprise-registration:response"))
    compiled = CompiledSchema(_by_key("market-supervision/enterprise-registration:response"), mask=False)
    uscc = "91310115MA1K3BTP2B"
    with_division = 0
    for seed in range(100):
        r = syn.generate(random.Random(seed), overrides={"uscc": uscc})
        assert r["uscc"] == uscc
        assert compiled.is_valid(r), compiled.errors(r)
        if "divisionCode" in r:
            with_division += 1
            assert r["divisionCode"] == "310115"
    assert with_division > 50
    # without overrides, the division still follows the generated credit code
    for seed in range(100):
        r = syn.generate(random.Random(seed))
        if "divisionCode" in r:
            assert r["divisionCode"] == r["uscc"][2:8]
    # an override for a property the schema does not list is echoed as well (top level only)
    r = syn.generate(random.Random(1), overrides={"x-trace": "abc"})
    assert r["x-trace"] == "abc"


def test_resident_id_drives_birth_date_and_gender() -> None:
    provider = _by_key("social-security/insured-person:response")
    consumer = _by_key("medical-insurance/insured-person:requirement")
    for b, compact, as_int in ((provider, False, False), (consumer, True, True)):
        syn = Synthesizer(b)
        compiled = CompiledSchema(b, mask=False)
        for seed in range(150):
            r = syn.generate(random.Random(seed))
            rid = r["idNumber"]
            birth = rid[6:14]
            assert r["birthDate"] == (birth if compact else f"{birth[:4]}-{birth[4:6]}-{birth[6:]}")
            expected = 1 if int(rid[16]) % 2 else 2
            assert r["gender"] == (expected if as_int else str(expected))
            assert compiled.is_valid(r)
        # an echoed ID number drives the same fields
        r = syn.generate(random.Random(3), overrides={"idNumber": "11010519491231002X"})
        assert r["idNumber"] == "11010519491231002X"
        assert r["birthDate"] == ("19491231" if compact else "1949-12-31")
        assert r["gender"] == (2 if as_int else "2")
        assert compiled.is_valid(r), compiled.errors(r)


def test_from_keyword_copies_the_source_field() -> None:
    syn = Synthesizer(_by_key("tax/enterprise-registration:requirement"))
    for seed in range(50):
        r = syn.generate(random.Random(seed))
        assert r["taxpayerName"] == r["enterpriseName"]


def test_parameter_values() -> None:
    syn = Synthesizer(_by_key("market-supervision/enterprise-registration:param:uscc"))
    codes = {syn.generate(random.Random(s)) for s in range(100)}
    assert len(codes) == 100 and all(cn.check_uscc(c) for c in codes)


# --------------------------------------------------------------------------- drift

_KIND_MARKERS = {
    "date-as-compact": "as YYYYMMDD",
    "compact-as-date": "as YYYY-MM-DD",
    "number-as-string": "as a string",
    "drop-required": "missing (required)",
    "wrong-check-char": "wrong check character",
    "outside-enum": "outside the enum",
    "over-max-length": "longer than maxLength",
}


def _kind(what: str) -> str:
    for kind, marker in _KIND_MARKERS.items():
        if marker in what:
            return kind
    return "other"


@pytest.mark.parametrize("key", [k for k, _ in SPEC_SCHEMAS])
def test_drift_is_always_invalid(key: str) -> None:
    b = _by_key(key)
    syn = Synthesizer(b)
    compiled = CompiledSchema(b, mask=False)
    kinds: dict[str, int] = {}
    for seed in range(150):
        record = syn.generate(random.Random(seed))
        snapshot = json.dumps(record, ensure_ascii=False)
        bad, what = syn.drift(record, random.Random(seed))
        assert json.dumps(record, ensure_ascii=False) == snapshot, "drift changed the original record"
        assert not compiled.is_valid(bad), f"seed {seed}: {what}: {bad!r} is still valid"
        assert isinstance(what, str) and what
        kinds[_kind(what)] = kinds.get(_kind(what), 0) + 1
    if key.endswith((":response", ":requirement")):
        assert len(kinds) >= 3, kinds


def test_drift_covers_the_provider_mutations() -> None:
    syn = Synthesizer(_by_key("market-supervision/enterprise-registration:response"))
    seen: dict[str, str] = {}
    for seed in range(300):
        record = syn.generate(random.Random(seed))
        _bad, what = syn.drift(record, random.Random(1000 + seed))
        seen.setdefault(_kind(what), what)
    assert {"date-as-compact", "number-as-string", "drop-required", "wrong-check-char", "outside-enum",
            "over-max-length"} <= set(seen), seen
    assert seen["date-as-compact"] == "establishedDate as YYYYMMDD"
    assert "万元" in seen["number-as-string"]
    tax = Synthesizer(_by_key("tax/enterprise-registration:requirement"))
    whats = {tax.drift(tax.generate(random.Random(s)), random.Random(s))[1] for s in range(200)}
    assert "establishedDate as YYYY-MM-DD" in whats


def test_drift_specific_mutations_are_invalid_the_right_way() -> None:
    b = _by_key("market-supervision/enterprise-registration:response")
    syn = Synthesizer(b)
    compiled = CompiledSchema(b, mask=False)
    record = syn.generate(random.Random(5))
    for seed in range(200):
        bad, what = syn.drift(record, random.Random(seed))
        kinds = {e.kind for e in compiled.errors(bad)}
        if _kind(what) == "date-as-compact":
            assert bad["establishedDate"] == record["establishedDate"].replace("-", "") and kinds == {"format"}
        elif _kind(what) == "wrong-check-char":
            assert kinds == {"format"}
        elif _kind(what) == "number-as-string":
            assert isinstance(bad["registeredCapital"], str) and kinds == {"type"}
        elif _kind(what) == "drop-required":
            assert kinds == {"required"}
        elif _kind(what) == "outside-enum":
            assert kinds == {"enum"}
        elif _kind(what) == "over-max-length":
            assert kinds == {"maxLength"}


def test_drift_when_nothing_field_level_applies() -> None:
    syn = Synthesizer(bundled({"type": "object"}))
    bad, what = syn.drift({}, random.Random(1))
    assert not CompiledSchema(bundled({"type": "object"})).is_valid(bad)
    assert "record" in what
    anything = Synthesizer(bundled({}))
    _value, what = anything.drift("x", random.Random(1))
    assert "accepts every value" in what


def test_drift_of_a_record_from_elsewhere() -> None:
    b = _by_key("market-supervision/enterprise-registration:response")
    syn = Synthesizer(b)
    record = {"enterpriseName": "腾讯科技（深圳）有限公司", "uscc": "91440300708461136T", "registeredAddress": "深圳市南山区",
              "legalRepresentative": "马化腾", "registeredCapital": 6500, "establishedDate": "1998-11-11", "status": "存续",
              "extraField": {"nested": [1, 2]}}
    compiled = CompiledSchema(b, mask=False)
    for seed in range(30):
        bad, what = syn.drift(record, random.Random(seed))
        assert not compiled.is_valid(bad), what


# --------------------------------------------------------------------------- every keyword, hand-written schemas

HAND_WRITTEN: dict[str, Any] = {
    "patterns": {
        "type": "object",
        "required": ["year", "code", "han", "mail", "month", "alt", "opt"],
        "properties": {
            "year": {"type": "string", "pattern": "^[0-9]{4}$"},
            "code": {"type": "string", "pattern": r"^[A-Z]{2}-\d{3}$"},
            "han": {"type": "string", "pattern": "^[\u4e00-\u9fa5]{2,4}$"},
            "mail": {"type": "string", "pattern": r"^\w+@\w+\.cn$", "maxLength": 20},
            "month": {"type": "string", "pattern": "^(?:0[1-9]|1[0-2])$"},
            "alt": {"type": "string", "pattern": "^(ab|cd)+x?$", "minLength": 4, "maxLength": 8},
            "opt": {"type": "string", "pattern": "[0-9]"},  # unanchored: search semantics
            "neg": {"type": "string", "pattern": r"^[^<>&\s]{3,6}$"},
            "named": {"type": "string", "pattern": r"^(?<y>\d{4})-(\d{2})-\2$"},
            "han-prop": {"type": "string", "pattern": r"^\p{Han}{2,3}$"},
        },
        "additionalProperties": False,
    },
    "nested-arrays-of-objects": {
        "type": "object",
        "required": ["orders"],
        "properties": {
            "orders": {
                "type": "array", "minItems": 1, "maxItems": 4,
                "items": {
                    "type": "object", "required": ["id", "lines"],
                    "properties": {
                        "id": {"type": "integer", "minimum": 1},
                        "lines": {
                            "type": "array", "minItems": 2,
                            "items": {
                                "type": "object", "required": ["sku", "qty"], "additionalProperties": False,
                                "properties": {
                                    "sku": {"type": "string", "pattern": "^SKU[0-9]{5}$"},
                                    "qty": {"type": "integer", "minimum": 1, "maximum": 99},
                                    "tags": {"type": "array", "items": {"type": "array", "items": {"type": "string", "maxLength": 3}}},
                                },
                            },
                        },
                    },
                },
            }
        },
    },
    "ref-defs-recursive": {
        "$defs": {
            "node": {
                "type": "object", "required": ["value"],
                "properties": {"value": {"$ref": "#/$defs/positive"},
                               "children": {"type": "array", "maxItems": 3, "items": {"$ref": "#/$defs/node"}}},
            },
            "positive": {"type": "integer", "exclusiveMinimum": 0},
        },
        "$ref": "#/$defs/node",
    },
    "ref-with-siblings-and-anchor": {
        "$defs": {"digits": {"type": "string", "pattern": "^[0-9]+$"},
                  "three": {"$anchor": "three", "type": "integer", "minimum": 3, "maximum": 3}},
        "type": "object", "required": ["code", "three"],
        "properties": {"code": {"$ref": "#/$defs/digits", "minLength": 6, "maxLength": 6},
                       "three": {"$ref": "#three"}},
    },
    "allOf": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer", "minimum": 5}, "a": {"maxLength": 3}}, "required": ["b"]},
            {"properties": {"b": {"maximum": 9, "multipleOf": 2}}},
        ]
    },
    "allOf-additional-false": {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
            {"properties": {"b": {"type": "string"}}},
        ]
    },
    "oneOf-discriminated": {
        "oneOf": [
            {"type": "object", "required": ["kind", "idNumber"], "properties": {"kind": {"const": "person"},
                                                                                "idNumber": {"type": "string", "format": "cn-resident-id"}}},
            {"type": "object", "required": ["kind", "uscc"], "properties": {"kind": {"const": "enterprise"},
                                                                            "uscc": {"type": "string", "format": "cn-uscc"}}},
        ]
    },
    "oneOf-overlapping": {
        "type": "integer", "minimum": 0, "maximum": 100,
        "oneOf": [{"multipleOf": 3}, {"multipleOf": 5}],
    },
    "oneOf-objects-overlapping": {
        "type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
    },
    "anyOf": {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-compact"}, {"type": "null"}]},
    "const": {
        "type": "object", "required": ["version", "flag", "obj"],
        "properties": {"version": {"const": "1.0"}, "flag": {"const": True}, "obj": {"const": {"a": [1, 2]}},
                       "n": {"type": "integer", "const": 7}},
    },
    "multipleOf": {
        "type": "object", "required": ["cents", "weeks", "half", "big"],
        "properties": {
            "cents": {"type": "number", "multipleOf": 0.01, "minimum": 0, "maximum": 100},
            "weeks": {"type": "integer", "multipleOf": 7, "minimum": 10, "maximum": 100},
            "half": {"type": "number", "multipleOf": 0.5, "exclusiveMinimum": 0, "exclusiveMaximum": 2},
            "big": {"type": "integer", "multipleOf": 1000},
            "both": {"type": "integer", "multipleOf": 4, "allOf": [{"multipleOf": 6}]},
        },
    },
    "exclusive-bounds": {
        "type": "object", "required": ["unit", "six", "neg", "tiny"],
        "properties": {
            "unit": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "six": {"type": "integer", "exclusiveMinimum": 5, "exclusiveMaximum": 7},
            "neg": {"type": "number", "exclusiveMaximum": -10},
            "tiny": {"type": "number", "exclusiveMinimum": 0.001, "maximum": 0.002},
            "capital": {"type": "number", "exclusiveMinimum": 0, "maximum": 50},
        },
    },
    "types-and-enums": {
        "type": "object", "required": ["maybe", "mixed", "multi", "flag", "nothing", "any"],
        "properties": {
            "maybe": {"type": ["null", "string"], "format": "date"},
            "mixed": {"enum": ["a", 1, None, {"x": 1}, [1, 2]]},
            "multi": {"type": ["integer", "string"], "minimum": 3},
            "flag": {"type": "boolean"},
            "nothing": {"type": "null"},
            "any": {},
            "typed-enum": {"type": "string", "enum": ["01", "02", 3]},
        },
    },
    "strings": {
        "type": "object", "required": ["empty", "long", "short", "exact"],
        "properties": {
            "empty": {"type": "string", "maxLength": 0},
            "long": {"type": "string", "minLength": 50},
            "short": {"type": "string", "minLength": 1, "maxLength": 2},
            "exact": {"type": "string", "minLength": 5, "maxLength": 5},
            "enterpriseName": {"type": "string", "maxLength": 8},
            "address": {"type": "string", "maxLength": 200},
            "contactName": {"type": "string"},
            "orgCode": {"type": "string", "minLength": 3, "maxLength": 10},
            "mobileWithLength": {"type": "string", "format": "cn-mobile", "maxLength": 11},
            "withExamples": {"type": "string", "examples": ["甲", "乙"], "maxLength": 1},
        },
    },
    "arrays": {
        "type": "object", "required": ["unique", "letters", "tuple", "contains", "empty"],
        "properties": {
            "unique": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 5}, "minItems": 3, "uniqueItems": True},
            "letters": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 3, "maxItems": 3, "uniqueItems": True},
            "tuple": {"type": "array", "prefixItems": [{"type": "string", "format": "cn-mobile"}, {"type": "integer"}], "items": False, "minItems": 2},
            "contains": {"type": "array", "items": {"type": "integer"}, "contains": {"const": 42}},
            "empty": {"type": "array", "maxItems": 0},
        },
    },
    "object-counts": {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "string"}},
        "minProperties": 2, "maxProperties": 2, "dependentRequired": {"a": ["b"]},
    },
    "min-properties-extras": {"type": "object", "properties": {"a": {"type": "integer"}}, "minProperties": 3,
                              "additionalProperties": {"type": "string", "format": "uuid"}},
    "pattern-properties": {
        "type": "object", "required": ["x_a"],
        "properties": {"x_a": {"type": "string"}, "y": {"type": "integer"}},
        "patternProperties": {"^x_": {"maxLength": 5}, "^y$": {"minimum": 100}},
        "additionalProperties": False,
    },
    "required-not-in-properties": {"type": "object", "required": ["foo", "bar"], "properties": {"bar": {"type": "integer"}},
                                   "additionalProperties": {"type": "string", "pattern": "^[a-z]{3}$"}},
    "if-then-else": {
        "type": "object", "required": ["type", "id"],
        "properties": {"type": {"enum": ["p", "e"]}, "id": {"type": "string"}},
        "if": {"properties": {"type": {"const": "p"}}},
        "then": {"properties": {"id": {"format": "cn-resident-id"}}},
        "else": {"properties": {"id": {"format": "cn-uscc"}}},
    },
    "not": {"type": "integer", "minimum": 0, "maximum": 10, "not": {"enum": [1, 2, 3]}},
    "standard-formats": {
        "type": "object",
        "required": sorted(formats.STANDARD_FORMATS),
        "properties": {name: {"type": "string", "format": name} for name in sorted(formats.STANDARD_FORMATS)},
    },
    "registry-formats": {
        "type": "object",
        "required": sorted(formats.REGISTRY),
        "properties": {name: {"type": "string", "format": name} for name in sorted(formats.REGISTRY)},
    },
    "consistency-nested": {
        "type": "object",
        "properties": {"people": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["sfzh", "csrq", "xb"],
            "properties": {"sfzh": {"type": "string", "format": "cn-resident-id"},
                           "csrq": {"title": "出生日期", "type": "string", "format": "date-compact"},
                           "xb": {"title": "性别", "enum": ["男", "女"]}}}}},
        "required": ["people"],
    },
    "top-level-array": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/e"},
                        "$defs": {"e": {"type": "object", "required": ["uscc"], "properties": {"uscc": {"type": "string", "format": "cn-uscc"}}}}},
    "true": True,
    "empty": {},
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_schemas_validate(name: str) -> None:
    values = assert_all_valid(bundled(HAND_WRITTEN[name]), range(200), name)
    syn = Synthesizer(bundled(HAND_WRITTEN[name]))
    assert _dump(values[:20]) == _dump([syn.generate(random.Random(s)) for s in range(20)])


def test_hand_written_details() -> None:
    def gen(name: str, seeds: int = 100) -> list[Any]:
        syn = Synthesizer(bundled(HAND_WRITTEN[name]))
        return [syn.generate(random.Random(s)) for s in range(seeds)]

    assert {v % 3 == 0 for v in gen("oneOf-overlapping")} == {True, False}
    assert all(not (v % 3 == 0 and v % 5 == 0) for v in gen("oneOf-overlapping"))
    kinds = {v["kind"] for v in gen("oneOf-discriminated")}
    assert kinds == {"person", "enterprise"}
    assert all(set(v) <= {"a"} for v in gen("allOf-additional-false"))
    depths = []
    for v in gen("ref-defs-recursive", 200):
        d, node = 0, v
        while node.get("children"):
            node, d = node["children"][0], d + 1
        depths.append(d)
    assert max(depths) >= 2 and max(depths) <= 40
    for v in gen("consistency-nested"):
        for p in v["people"]:
            assert p["csrq"] == p["sfzh"][6:14]
            assert p["xb"] == ("男" if int(p["sfzh"][16]) % 2 else "女")
    strings = gen("strings")
    assert all(len(v["long"]) >= 50 for v in strings)
    assert any(v.get("address", "").endswith(("号", "座", "栋", "大厦", "区")) for v in strings)


def test_odd_schemas_never_crash() -> None:
    odd = [
        {"type": "string", "format": "no-such-format"},
        {"type": "string", "pattern": "(unclosed"},
        {"type": "string", "pattern": "^(?=.*[A-Z])(?=.*[0-9]).{8,}$"},
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}, "required": ["a"]},
        {"$ref": "#"},
        {"type": "object", "required": ["next"], "properties": {"next": {"$ref": "#"}}},
        {"type": "integer", "minimum": 10, "maximum": 1},
        {"type": "string", "minLength": 5, "maxLength": 2},
        {"allOf": [{"type": "string"}, {"type": "integer"}]},
        {"enum": []},
        {"type": "array", "items": False, "minItems": 2},
        {"type": "object", "properties": {"a": False}, "required": ["a"]},
        False,
        {"anyOf": [{"not": {}}, {"type": "boolean"}]},
        {"$dynamicRef": "#meta"},
        {"type": "integer", "multipleOf": 0.3},
    ]
    for schema in odd:
        syn = Synthesizer(bundled(schema))
        for seed in range(5):
            value = syn.generate(random.Random(seed))
            json.dumps(value)
            syn.drift(value, random.Random(seed))


def test_cross_file_refs(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "common.json").write_text(json.dumps({
        "$id": "https://example.gov.cn/schemas/common.json",  # replaced by the file URI when bundled
        "$defs": {"code": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{4}$"},
                  "org": {"type": "object", "required": ["uscc", "code"], "properties": {
                      "uscc": {"type": "string", "format": "cn-uscc"}, "code": {"$ref": "#/$defs/code"},
                      "division": {"type": "string", "format": "cn-admin-division"}}}}}), encoding="utf-8")
    (tmp_path / "schemas" / "record.json").write_text(json.dumps({
        "type": "object", "required": ["org", "members"],
        "properties": {"org": {"$ref": "common.json#/$defs/org"},
                       "members": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/member"}}},
        "$defs": {"member": {"type": "object", "required": ["name", "code"],
                             "properties": {"name": {"type": "string"}, "code": {"$ref": "common.json#/$defs/code"}}}}}),
        encoding="utf-8")
    (tmp_path / "spec.yaml").write_text(
        "kind: interface\ndepartment: {id: d}\ninterfaces:\n  - id: i\n    version: '1'\n    method: GET\n"
        "    path: /x\n    response:\n      status: 200\n      schema: {$ref: schemas/record.json}\n", encoding="utf-8")
    specset = load_specs([tmp_path])
    assert not specset.errors, specset.errors
    b = specset.interfaces[0].response_schema
    values = assert_all_valid(b, range(200), "cross-file")
    assert any("division" in v["org"] and v["org"]["division"] == v["org"]["uscc"][2:8] for v in values)


def test_synthesizer_pickles() -> None:
    import pickle

    syn = Synthesizer(_by_key("market-supervision/enterprise-registration:response"))
    clone = pickle.loads(pickle.dumps(syn))
    assert clone.generate(random.Random(9)) == syn.generate(random.Random(9))


# --------------------------------------------------------------------------- speed (printed, not asserted)


def test_generation_time_budget(capsys: pytest.CaptureFixture[str]) -> None:
    lines = []
    for key in ("market-supervision/enterprise-registration:response", "market-supervision/enterprise-search:response",
                "social-security/insured-person:response", "tax/enterprise-registration:requirement"):
        b = _by_key(key)
        t0 = time.perf_counter()
        syn = Synthesizer(b)
        t1 = time.perf_counter()
        rng = random.Random(42)
        n = 5000
        t2 = time.perf_counter()
        for _ in range(n):
            syn.generate(rng)
        t3 = time.perf_counter()
        lines.append(f"{key}: init {1e3 * (t1 - t0):.2f} ms, {1e6 * (t3 - t2) / n:.1f} us per record")
    with capsys.disabled():
        print("\nsynth timing:\n  " + "\n  ".join(lines))


def test_a_persons_other_dates_come_after_the_birth() -> None:
    """insuredSince of an insured person lies between the birth (from the ID number) and today."""
    import datetime

    from mvptest.spec.check import load_specs
    from mvptest.synth import Synthesizer

    root = Path(__file__).resolve().parents[1]
    itf = load_specs([root / "specs" / "social-security" / "insured-person.yaml"]).interfaces[0]
    syn = Synthesizer(itf.response_schema)
    rng = random.Random(7)
    today = datetime.date.today().strftime("%Y%m%d")
    for _ in range(500):
        r = syn.generate(rng)
        since = r["insuredSince"].replace("-", "")
        assert r["idNumber"][6:14] <= since <= today, r


def test_request_bodies_and_parameter_values_are_bounded_in_memory() -> None:
    """A request schema asking for 2 MB strings: the factory keeps about 32 MB of bodies, not 200 of them (1.3 GB)."""
    from mvptest.errors import Location
    from mvptest.run.requests import SYNTH_BYTES, RequestFactory
    from mvptest.spec.model import Department, Interface, Parameter, Targets
    from mvptest.spec.refs import BundledSchema

    big = {"type": "object", "required": ["blob"], "properties": {"blob": {"type": "string", "minLength": 2_000_000,
                                                                           "maxLength": 2_000_000}}}
    itf = Interface(department=Department("d", "d"), id="upload", title="", version="1", method="POST", path="/up/{k}",
                    parameters=[Parameter("k", "path", BundledSchema({"type": "string", "minLength": 600_000,
                                                                      "maxLength": 600_000}, "", {}), True)],
                    response_status=200, response_schema=BundledSchema({}, "", {}),
                    request_schema=BundledSchema(big, "", {}), sensitive=(), targets=Targets(), format_options={},
                    source=Location("<test>"))
    factory = RequestFactory(itf, {}, seed=1)
    sizes = [len(b) for b in factory.bodies]
    assert 1 < len(sizes) < 200 and sum(sizes) - sizes[-1] < SYNTH_BYTES <= sum(sizes)
    values = factory.values["k"]
    assert 1 < len(values) < 1000 and sum(map(len, values)) - len(values[-1]) < SYNTH_BYTES // 8


# --------------------------------------------------------------------------- one place, dates in order, one resolver

RECORDS = 500


def _province_names() -> dict[str, str]:
    """Province code -> name, read straight from the division table's province lines."""
    out = {}
    for line in cn.division_lines():
        if not line.startswith(" "):
            code, _, raw = line.partition(" ")
            out[code] = raw.split('"')[1]
    return out


def test_500_enterprise_records_agree_on_their_place() -> None:
    """Name, address, division code and credit code of each record name one division (GB/T 2260)."""
    from mvptest.formats.places import places

    table = {p.code: p for p in places()}
    provinces = _province_names()
    syn = Synthesizer(_by_key("market-supervision/enterprise-registration:response"))
    with_division = 0
    for seed in range(RECORDS):
        r = syn.generate(random.Random(seed))
        division = r["uscc"][2:8]
        place = table[division]  # a county with a current name
        assert cn.check_admin_division(division)
        assert place.province == provinces[division[:2]], r
        assert r["registeredAddress"].startswith(place.province), r
        assert place.city in r["registeredAddress"] and place.county in r["registeredAddress"], r
        assert place.city_short in r["enterpriseName"], r
        if "divisionCode" in r:
            with_division += 1
            assert r["divisionCode"] == division, r
    assert with_division > RECORDS // 2  # optional with probability 0.8


def test_500_enterprise_records_keep_their_dates_in_order() -> None:
    syn = Synthesizer(_by_key("market-supervision/enterprise-registration:response"))
    both = 0
    for seed in range(RECORDS):
        r = syn.generate(random.Random(seed))
        if "updatedAt" in r:
            both += 1
            assert r["updatedAt"][:10] >= r["establishedDate"], r
    assert both > RECORDS // 2
    schema = {"type": "object", "required": ["validFrom", "validTo", "startDate", "endDate", "periodStart", "periodEnd"],
              "properties": {"validFrom": {"type": "string", "format": "date"},
                             "validTo": {"type": "string", "format": "date"},
                             "startDate": {"type": "string", "format": "date-compact"},
                             "endDate": {"type": "string", "format": "date-compact"},
                             "periodStart": {"type": "string", "format": "date-time"},
                             "periodEnd": {"type": "string", "format": "date-time"}}}
    for r in assert_all_valid(bundled(schema), range(300), "date pairs"):
        assert r["validFrom"] <= r["validTo"] and r["startDate"] <= r["endDate"], r
        assert r["periodStart"][:10] <= r["periodEnd"][:10], r


def test_a_persons_codes_name_one_place() -> None:
    """The contribution record: the person's ID, the insured region, the employer's credit code and the address."""
    from mvptest.formats.places import places

    table = {p.code: p for p in places()}
    syn = Synthesizer(_by_key("social-security/contribution-record:response"))
    for seed in range(200):
        r = syn.generate(random.Random(seed))
        division = r["idNumber"][:6]
        assert r["insuredRegion"][:6] == division and r["employerCreditCode"][2:8] == division, r
        assert r["address"].startswith(table[division].head), r
        assert table[division].city_short in r["employerName"], r
    # an echoed credit code decides the place of the rest
    reg = Synthesizer(_by_key("market-supervision/enterprise-registration:response"))
    r = reg.generate(random.Random(1), overrides={"uscc": "91310115MA1K3BTP2B"})
    assert r["registeredAddress"].startswith("上海市浦东新区") and "上海" in r["enterpriseName"], r


def test_fields_and_field_table_walk_the_same_fields() -> None:
    from mvptest.compat.fields import field_table

    for key, b in SPEC_SCHEMAS:
        assert [p for p, _ in b.fields()] == list(field_table(b)), key


def test_one_resolver_follows_anchors_and_embedded_ids(tmp_path: Path) -> None:
    """$anchor and an embedded $id: spec check accepts them, and synthesis, masking and the field table see through."""
    from mvptest.compat.fields import field_table

    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "r.json").write_text(json.dumps({
        "type": "object", "required": ["three", "code", "person"],
        "properties": {"three": {"$ref": "#three"}, "code": {"$ref": "https://example.gov.cn/x.json#/$defs/c"},
                       "person": {"$ref": "https://example.gov.cn/x.json#person"}},
        "$defs": {"t": {"$anchor": "three", "type": "integer", "const": 3},
                  "x": {"$id": "https://example.gov.cn/x.json",
                        "$defs": {"c": {"type": "string", "pattern": "^[0-9]{3}$"},
                                  "p": {"$anchor": "person", "type": "object", "required": ["sfzh"],
                                        "properties": {"sfzh": {"$ref": "#/$defs/id"}}},
                                  "id": {"type": "string", "format": "cn-resident-id"}}}}}), encoding="utf-8")
    (tmp_path / "spec.yaml").write_text(
        "kind: interface\ndepartment: {id: d}\ninterfaces:\n  - id: i\n    version: '1'\n    method: GET\n"
        "    path: /x\n    response:\n      status: 200\n      schema: {$ref: schemas/r.json}\n", encoding="utf-8")
    specset = load_specs([tmp_path])
    assert not specset.errors, specset.errors
    b = specset.interfaces[0].response_schema
    values = assert_all_valid(b, range(100), "anchors")
    assert all(v["three"] == 3 and cn.check_resident_id(v["person"]["sfzh"]) for v in values)
    assert dict(b.fields())["/person/sfzh"] == {"type": "string", "format": "cn-resident-id"}
    assert field_table(b)["/code"].schema["pattern"] == "^[0-9]{3}$"
    assert CompiledSchema(b).masker.is_sensitive("/person/sfzh")  # a personal format, masked through the anchor
    # a $ref that names no anchor, and an embedded $id with no such pointer, are reported where they are written
    text = (tmp_path / "schemas" / "r.json").read_text(encoding="utf-8")
    (tmp_path / "schemas" / "r.json").write_text(text.replace('"#three"', '"#four"').replace("#/$defs/c", "#/$defs/d"),
                                                 encoding="utf-8")
    messages = [p.message for p in load_specs([tmp_path]).errors]
    assert any("'#four' does not resolve: no 'four'" in m for m in messages), messages
    assert any("x.json#/$defs/d' does not resolve" in m for m in messages), messages


def test_a_cycle_through_an_anchor_is_reported(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(
        "kind: interface\ndepartment: {id: d}\ninterfaces:\n  - id: i\n    version: '1'\n    method: GET\n"
        "    path: /x\n    response:\n      status: 200\n      schema:\n        $ref: '#loop'\n"
        "        $defs: {l: {$anchor: loop, allOf: [{$ref: '#loop'}]}}\n", encoding="utf-8")
    messages = [p.message for p in load_specs([tmp_path]).errors]
    assert any("$ref cycle on one value" in m for m in messages), messages


def test_a_search_finds_what_was_searched_and_its_total_counts_the_pages() -> None:
    """The sandbox's search interface over real HTTP (127.0.0.1, port 0): the items of all pages add up to the
    total, every item's name contains the text, the same request gives the same bytes, every body is valid."""
    from urllib.parse import quote

    import requests

    from mvptest.sandbox.app import SandboxApp
    from mvptest.sandbox.server import SandboxThread

    itfs = {i.key: i for i in _specs().interfaces if i.department.id == "market-supervision"}
    search = itfs["market-supervision/enterprise-search"]
    compiled = CompiledSchema(search.response_schema, format_options=search.format_options)
    thread = SandboxThread(SandboxApp(list(itfs.values()), seed=3), host="127.0.0.1", port=0)
    thread.start()
    totals = []
    try:
        with requests.Session() as s:
            for text in ("科技", "华信", "腾讯控股", "x" * 101):
                seen: set[str] = set()
                page, total = 1, None
                while True:
                    url = f"{thread.url}/api/v1/enterprises?name={quote(text)}&page={page}"
                    resp = s.get(url, timeout=5)
                    assert resp.status_code == 200 and s.get(url, timeout=5).content == resp.content
                    body = resp.json()
                    assert compiled.errors(body) == [], body
                    total = body["total"] if total is None else total
                    assert body["total"] == total  # every page states the same total
                    assert all(text in e["enterpriseName"] for e in body["items"]), body
                    seen.update(e["uscc"] for e in body["items"])
                    if not body["items"]:
                        break
                    assert len(body["items"]) == 10 or len(seen) == total  # full pages, then the rest
                    page += 1
                assert len(seen) == total, (text, total, len(seen))
                totals.append(total)
    finally:
        thread.stop()
    assert totals[-1] == 0  # longer than any enterprise name may be (maxLength 100): nothing is found
    assert any(t > 10 for t in totals[:-1])  # at least one search spans several pages
