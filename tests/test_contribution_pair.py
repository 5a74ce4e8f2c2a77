"""The second compat pair (social-security contribution record -> tax) and its 200-record export: specs, data, manifest."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PROVIDER = ROOT / "specs" / "social-security" / "contribution-record.yaml"
CONSUMER = ROOT / "specs" / "tax" / "social-insurance-contribution.yaml"
EXPORT = ROOT / "specs" / "samples" / "contributions.ndjson"
GENERATOR = ROOT / "specs" / "samples" / "make_contributions.py"
MANIFEST = ROOT / "tests" / "data" / "compat" / "contribution-differences.yaml"

KINDS = {"missing-field", "optional-field", "type-mismatch", "format-mismatch", "enum-mismatch", "length-mismatch",
         "range-mismatch", "pattern-mismatch"}
STEPS = {"map", "convert", "date", "scale", "pick", "prefix", "normalize", "copy", "none"}


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def generate(out: Path, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, GENERATOR, "--check", "--out", out, *map(str, extra)], cwd=ROOT,
                          capture_output=True, text=True, encoding="utf-8", timeout=60)


def test_generator_rewrites_the_same_bytes_and_its_check_holds(tmp_path: Path) -> None:
    proc = generate(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "check: OK" in proc.stdout
    assert "{'clean': 168, 'warning only': 20, 'invalid': 12}" in proc.stdout
    assert (tmp_path / "contributions.ndjson").read_bytes() == EXPORT.read_bytes()


def test_generator_check_fails_on_a_manifest_that_disagrees(tmp_path: Path) -> None:
    text = MANIFEST.read_text(encoding="utf-8")
    wrong = (text.replace("fullwidth_address: 40", "fullwidth_address: 41")
             .replace("code: check-char, count: 4}", "code: check-char, count: 5}"))
    assert wrong != text
    (tmp_path / "m.yaml").write_text(wrong, encoding="utf-8")
    proc = generate(tmp_path, "--manifest", tmp_path / "m.yaml")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "data.fullwidth_address is 41, the file shows 40" in proc.stdout
    assert "the generator planted 4 on /idNumber" in proc.stdout
    assert "check: 2 problem(s)" in proc.stdout


def test_both_specs_pass_spec_check(cli) -> None:
    r = cli("spec", "check", PROVIDER, CONSUMER)
    assert r.exit_code == 0, r
    assert "1 interface(s), 1 requirement(s)" in r.output


def test_export_shows_exactly_the_planted_provider_defects(cli, tmp_path: Path) -> None:
    out = tmp_path / "v.json"
    r = cli("validate", EXPORT, "--spec", PROVIDER, "--json-out", out)
    assert r.exit_code == 1, r  # 12 planted defects make the export invalid for the provider itself
    got = json.loads(out.read_text(encoding="utf-8"))
    m = manifest()
    planted = sum(d["count"] for d in m["planted_defects"])
    assert (got["records"], got["valid"], got["invalid"]) == (200, 200 - planted, planted) == (200, 188, 12)
    errors = Counter()
    for d in m["planted_defects"]:
        errors[d["field"]] += d["count"]
    assert {f: v["errors"] for f, v in got["fields"].items()} == dict(errors)
    assert {f: v["kinds"] for f, v in got["fields"].items() if f != "/idNumber"} == {
        d["field"]: {d["kind"]: d["count"]} for d in m["planted_defects"] if d["field"] != "/idNumber"}
    warned = m["provider_warnings"][0]
    assert got["fields"][warned["field"]]["warnings"] == warned["count"] == 20


def test_manifest_is_well_formed_and_varied() -> None:
    m = manifest()
    diffs = m["differences"]
    assert len(diffs) >= 15
    assert {d["kind"] for d in diffs} == KINDS  # every kind of CONTRACTS at least once
    for d in diffs:
        assert d["kind"] in KINDS and set(d.get("also", [])) <= KINDS, d
        assert d["aspect"] in ("", "unit", "cardinality", "format-options"), d
        assert d["step"] in STEPS, d
        assert (d["step"] != "none") == d["bridgeable"], d
        assert not d["decide"] or d["step"] == "map", d
    assert {d["aspect"] for d in diffs} == {"", "unit", "cardinality", "format-options"}
    bridgeable = [d["consumer_field"] for d in diffs if d["bridgeable"]]
    assert len(bridgeable) == 10 and len(diffs) - len(bridgeable) == 6
    assert [d["decide"] for d in diffs if d["decide"]] == [["中断缴费"]]


def test_manifest_fields_exist_on_both_sides() -> None:
    provider_schema = json.loads((PROVIDER.parent / "schemas" / "contribution-record.json").read_text(encoding="utf-8"))
    consumer = yaml.safe_load(CONSUMER.read_text(encoding="utf-8"))["schema"]
    m = manifest()
    entries = m["differences"] + m["no_difference"]
    assert sorted(e["consumer_field"][1:] for e in entries) == sorted(consumer["properties"])
    for e in entries:
        pf = e["provider_field"]
        if pf is None:
            assert e["kind"] == "missing-field"
            continue
        node = provider_schema
        for token in pf.split("/")[1:]:
            node = node["items"] if token == "*" else node["properties"][token]
        prop = consumer["properties"][e["consumer_field"][1:]]
        assert prop.get("from", e["consumer_field"]) == pf, e  # the requirement's from: names the same field
