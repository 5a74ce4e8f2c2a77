"""The adjustment loop on the second pair (social-security contribution record -> tax) and on the README's pilot:
every difference found with its kind, the suggested adapter bridges exactly the bridgeable ones, the second round
never crashes, one view whatever mechanism builds it, a rate with a definition, reports both sides can act on."""

from __future__ import annotations

import csv
import datetime
import json
from pathlib import Path

import pytest
import yaml

from mvptest.compat.adapter import Adapter, load_adapter

ROOT = Path(__file__).resolve().parent.parent
PROVIDER = ROOT / "specs" / "social-security" / "contribution-record.yaml"
CONSUMER = ROOT / "specs" / "tax" / "social-insurance-contribution.yaml"
EXPORT = ROOT / "specs" / "samples" / "contributions.ndjson"
MANIFEST = ROOT / "tests" / "data" / "compat" / "contribution-differences.yaml"
MARKET = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"
TAX = ROOT / "specs" / "tax" / "enterprise-registration.yaml"
SOCIAL = ROOT / "specs" / "social-security" / "insured-person.yaml"
MEDICAL = ROOT / "specs" / "medical-insurance" / "insured-person.yaml"


def _manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def _compat(cli, tmp_path: Path, name: str, *args: str | Path) -> tuple[int, dict, str]:
    out = tmp_path / f"{name}.json"
    r = cli("compat", PROVIDER, CONSUMER, *args, "--json-out", out)
    assert r.exit_code in (0, 1), r
    return r.exit_code, json.loads(out.read_text("utf-8"))["pairs"][0], r.stdout


def _issues(pair: dict) -> dict[tuple[str, str], dict]:
    return {(i["field"], i["kind"]): i for i in pair["issues"]}


# --------------------------------------------------------------------------- every difference, with its kind


def test_static_comparison_finds_each_difference_with_its_kind_and_both_fields(cli, tmp_path):
    m = _manifest()
    _, pair, _ = _compat(cli, tmp_path, "static")
    issues = _issues(pair)
    expected = {(d["consumer_field"], d["kind"]) for d in m["differences"] if not d["data_only"]}
    allowed = expected | {(d["consumer_field"], k) for d in m["differences"] for k in d.get("also", [])}
    # the address difference is a warning the schemas leave open; every other one is found from the schemas alone
    assert expected <= set(issues)
    assert set(issues) <= allowed, sorted(set(issues) - allowed)  # no false positive
    for d in m["differences"]:
        issue = issues[(d["consumer_field"], d["kind"])]
        assert issue.get("aspect", "") == d["aspect"], d["consumer_field"]
        assert issue["provider_field"] == (d["provider_field"] or ""), d["consumer_field"]
    for d in m["no_difference"]:
        assert not any(f == d["consumer_field"] for f, _ in issues), d["consumer_field"]
    # 16 differences on 18 required fields; 15 of them on required fields, one on an optional one
    assert len({f for f, _ in issues}) == 16


def test_suggested_adapter_from_data_bridges_every_bridgeable_difference_and_leaves_exactly_the_rest(cli, tmp_path):
    m = _manifest()
    adapter = tmp_path / "round1.yaml"
    code, _first, _ = _compat(cli, tmp_path, "round1", "--data", EXPORT, "--suggest-adapter", adapter)
    assert code == 1
    steps = load_adapter(adapter).steps
    by_field = {}
    for s in steps:
        (kind, args), = s.items()
        by_field.setdefault(args.get("field") or args.get("to"), []).append((kind, args))
    for d in m["differences"]:
        if not d["bridgeable"]:
            continue
        kinds = [k for k, _ in by_field.get(d["consumer_field"], [])]
        assert d["step"] in kinds, (d["consumer_field"], kinds)
        args = next(a for k, a in by_field[d["consumer_field"]] if k == d["step"])
        for key, value in d["args"].items():
            assert args[key] == value, (d["consumer_field"], key, args)
    # the names the requirement reads with from: are copied first, so the adapted view has the consumer's names
    assert steps[:3] == [{"copy": {"from": "/name", "to": "/XM"}}, {"copy": {"from": "/gender", "to": "/XB"}},
                         {"copy": {"from": "/employerCreditCode", "to": "/payerCreditCode"}}]
    text = adapter.read_text("utf-8")
    assert "# DECIDE: /paymentStatus: 中断缴费" in text
    for d in m["differences"]:
        if not d["bridgeable"] and d["failing_after_step"]:
            assert f"#   {d['consumer_field']} {d['kind']}" in text  # listed as needing the departments

    # the second round: the same data through the adapter
    again = tmp_path / "round2.yaml"
    code, second, _ = _compat(cli, tmp_path, "round2", "--data", EXPORT, "--adapter", adapter, "--suggest-adapter", again)
    assert code == 1
    failing = {}
    for i in second["issues"]:
        failing[i["field"]] = max(failing.get(i["field"], 0), i["evidence"]["failing"])
    after = {d["consumer_field"]: d["failing_after_step"] for d in m["differences"] + m["no_difference"]}
    assert {f: n for f, n in failing.items() if n} == {f: n for f, n in after.items() if n}
    # what still fails is the unbridgeable, the undecided code, and the provider's own defects, each said as such
    issues = _issues(second)
    assert issues[("/paymentStatus", "enum-mismatch")]["decide"] == ["中断缴费"]
    for f in ("/birthDate", "/idNumber", "/personalRate"):
        i = next(i for i in second["issues"] if i["field"] == f)
        assert i["evidence"]["breaks_provider_schema"] == i["evidence"]["failing"] > 0, f
    # and the adapter suggested again is the same: nothing more a step can do
    assert load_adapter(again).steps == steps


def test_second_round_reads_the_field_the_adapter_wrote_not_the_requirements_from(cli, tmp_path):
    """The suggested adapter copies /gender to /XB and maps /XB; the requirement says XB from: /gender."""
    adapter = tmp_path / "a.yaml"
    cli("compat", PROVIDER, CONSUMER, "--suggest-adapter", adapter)
    _code, pair, _ = _compat(cli, tmp_path, "r2", "--adapter", adapter, "--data", EXPORT)
    fields = {i["field"] for i in pair["issues"] if i["evidence"]["failing"]}
    assert not fields & {"/XB", "/contributionBase", "/lastPaymentTime", "/insuredRegion", "/latestContributionAmount"}


def test_one_view_whatever_mechanism_builds_it(cli, tmp_path):
    """The same steps on the provider's names (read through from:) or on the consumer's (after copies): the same
    issues, the same counts, the same rates."""
    consumer_names = tmp_path / "consumer-names.yaml"
    cli("compat", PROVIDER, CONSUMER, "--data", EXPORT, "--suggest-adapter", consumer_names)
    steps = load_adapter(consumer_names).steps
    back = {"/XM": "/name", "/XB": "/gender", "/payerCreditCode": "/employerCreditCode"}
    provider_steps = []
    for s in steps:
        (kind, args), = s.items()
        if kind == "copy":
            continue  # from: reads the provider's names
        args = dict(args)
        if args.get("field") in back:
            args["field"] = back[args["field"]]
        provider_steps.append({kind: args})
    provider_names = tmp_path / "provider-names.yaml"
    provider_names.write_text(yaml.safe_dump({"kind": "adapter", "steps": provider_steps}, allow_unicode=True), "utf-8")
    results = []
    for adapter in (consumer_names, provider_names):
        for evidence in ((), ("--data", EXPORT)):
            _, pair, _ = _compat(cli, tmp_path, f"{adapter.stem}{len(evidence)}", "--adapter", adapter, *evidence)
            results.append(pair)
    static_c, data_c, static_p, data_p = results
    for a, b in ((static_c, static_p), (data_c, data_p)):
        assert a["standardization"] == b["standardization"]
        assert {(i["field"], i["kind"], i["severity"], i.get("evidence", {}).get("failing")) for i in a["issues"]} == \
            {(i["field"], i["kind"], i["severity"], i.get("evidence", {}).get("failing")) for i in b["issues"]}
    # the rate has its two readings, by the schemas and by the data (docs/compat.md)
    assert static_c["standardization"]["schemas"] == {"rate": round(10 / 18, 4), "fields": 10}
    assert data_c["standardization"]["data"] == {"rate": round(13 / 18, 4), "fields": 13, "records": 200}


# --------------------------------------------------------------------------- steps that are right


def test_dates_are_beijing_dates_and_the_latest_contribution_is_picked(cli, tmp_path):
    adapter = tmp_path / "a.yaml"
    cli("compat", PROVIDER, CONSUMER, "--suggest-adapter", adapter)
    a = load_adapter(adapter)
    beijing = datetime.timezone(datetime.timedelta(hours=8))
    next_day = 0
    for line in EXPORT.read_text("utf-8").splitlines():
        record = json.loads(line)
        out = a.apply(record)
        when = datetime.datetime.fromisoformat(record["lastPaymentTime"].replace("Z", "+00:00"))
        assert out["lastPaymentTime"] == when.astimezone(beijing).date().isoformat()
        next_day += out["lastPaymentTime"] != record["lastPaymentTime"][:10]
        items = [c for c in record.get("contributions") or [] if "amount" in c]
        if items:
            latest = max(items, key=lambda c: c["period"])
            assert out["latestContributionAmount"] == latest["amount"]
        else:
            assert "latestContributionAmount" not in out  # nothing to pick: absent, so required says so
        assert out["insuredRegion"] == record["insuredRegion"][:6]
    assert next_day == _manifest()["data"]["next_beijing_day"] == 17


def test_array_the_consumer_wants_as_one_value_is_named_with_data_too(cli, tmp_path):
    _, pair, _ = _compat(cli, tmp_path, "d", "--data", EXPORT)
    issue = _issues(pair)[("/latestContributionAmount", "type-mismatch")]
    assert issue["aspect"] == "cardinality" and issue["predicted_by_schemas"]
    assert issue["evidence"]["failing"] == 200  # a list in every record (22 of them empty)
    assert issue["adapter_step"]["pick"] == {"from": "/contributions/*/amount", "to": "/latestContributionAmount",
                                             "choose": "latest", "by": "period"}
    assert not any(i["kind"] == "missing-field" and i["field"] == "/latestContributionAmount" for i in pair["issues"])


def test_causes_the_data_shows_keep_their_step(cli, tmp_path):
    _, pair, _ = _compat(cli, tmp_path, "d", "--data", EXPORT)
    issues = _issues(pair)
    phone = issues[("/phone", "format-mismatch")]
    assert phone["severity"] == "error" and phone["adapter_step"] == {"normalize": {"field": "/phone", "ops": ["strip-country-code"]}}
    assert phone["data_shows"] == "a +86 country prefix in 200 of 200 records"
    address = issues[("/address", "pattern-mismatch")]
    assert address["adapter_step"] == {"normalize": {"field": "/address", "ops": ["halfwidth"]}}
    assert address["evidence"]["failing"] == 40 and "full-width" in address["data_shows"]
    ident = issues[("/idNumber", "format-mismatch")]
    assert ident["aspect"] == "format-options" and ident["evidence"]["failing"] == 24
    assert ident["evidence"]["breaks_provider_schema"] == 4  # wrong check characters; the 20 lower-case x are allowed there


def test_provider_pattern_that_makes_every_value_fail_is_an_error_statically(cli, tmp_path):
    _, pair, _ = _compat(cli, tmp_path, "s")
    phone = _issues(pair)[("/phone", "format-mismatch")]
    assert phone["severity"] == "error"
    assert phone["adapter_step"] == {"normalize": {"field": "/phone", "ops": ["strip-country-code"]}}
    assert "every value the provider's pattern allows fails cn-mobile" in phone["message"]


# --------------------------------------------------------------------------- the README pilot's second round


@pytest.mark.parametrize("provider, consumer", [(MARKET, TAX), (SOCIAL, MEDICAL), (PROVIDER, CONSUMER)])
def test_second_round_with_every_report_never_crashes(cli, tmp_path, provider, consumer):
    first = tmp_path / "a.yaml"
    r = cli("compat", provider, consumer, "--suggest-adapter", first)
    assert r.exit_code == 1, r
    # a partial adapter that keeps its map (and its DECIDE nulls) on a pair still incompatible
    steps = [s for s in load_adapter(first).steps if "date" not in s]
    partial = tmp_path / "partial.yaml"
    partial.write_text(yaml.safe_dump({"kind": "adapter", "steps": steps}, allow_unicode=True), "utf-8")
    for adapter in (first, partial):
        for evidence in ((), ("--sandbox", "--samples", "20")):
            out = tmp_path / "out"
            r = cli("compat", provider, consumer, "--adapter", adapter, *evidence, "--suggest-adapter", out.with_suffix(".yaml"),
                    "--md-out", out.with_suffix(".md"), "--csv-out", out.with_suffix(".csv"), "--json-out", out.with_suffix(".json"))
            assert r.exit_code in (0, 1), r
            assert "internal error" not in r.output
            again = load_adapter(out.with_suffix(".yaml")).steps
            assert again[: len(steps)] == (steps if adapter == partial else load_adapter(first).steps)[: len(steps)]
            rows = list(csv.DictReader(out.with_suffix(".csv").read_text("utf-8-sig").splitlines()))
            assert all(row["provider_field"] is not None for row in rows)
    # the partial adapter's second round suggests the step it lacked, once
    r = cli("compat", provider, consumer, "--adapter", partial, "--suggest-adapter", tmp_path / "b.yaml")
    assert sum("date" in s for s in load_adapter(tmp_path / "b.yaml").steps) == sum("date" in s for s in load_adapter(first).steps)


# --------------------------------------------------------------------------- the report both sides act on


def test_report_names_both_sides_decisions_and_no_advice_it_has_followed(cli, tmp_path):
    md = tmp_path / "r.md"
    cli("compat", PROVIDER, CONSUMER, "--data", EXPORT, "--md-out", md)
    text = md.read_text("utf-8")
    assert "### Consumer `/XB` 性别 ← provider `/gender` 性别" in text
    assert "### Consumer `/latestContributionAmount`" in text and "`/contributions/*/amount`" in text
    assert "**DECIDE**: /paymentStatus: 中断缴费" in text
    assert "--sandbox" not in text and "check real data" not in text  # the report is built from data already
    assert "by the schemas" in text and "by the data" in text
    # the 35-character minority name keeps only its family-name character
    name = next(json.loads(line)["name"] for line in EXPORT.read_text("utf-8").splitlines() if "·" in line)
    assert len(name) == 35 and name not in text and name[1:6] not in text


def test_matrix_counts_the_second_pair(cli, tmp_path):
    out = tmp_path / "m.json"
    r = cli("compat", "--all", ROOT / "specs", "--json-out", out)
    assert r.exit_code == 1, r
    pairs = {(p["provider"], p["consumer"]): p for p in json.loads(out.read_text("utf-8"))["pairs"]}
    pair = pairs[("social-security/contribution-record", "tax/social-insurance-contribution")]
    assert (pair["compatible_fields"], pair["required_fields"]) == (3, 18)


def test_adapter_check_by_spec_check_names_the_line(cli, tmp_path):
    bad = tmp_path / "a.yaml"
    bad.write_text("kind: adapter\nsteps:\n  - pick: {from: /a/b, to: /c, choose: last}\n", "utf-8")
    r = cli("spec", "check", bad)
    assert r.exit_code == 2, r
    assert "a.yaml:3" in r.output and "*" in r.output
    assert Adapter([]).apply({"x": 1}) == {"x": 1}


def test_provider_defects_are_named_by_line_with_their_values(cli, tmp_path):
    adapter = tmp_path / "a.yaml"
    _, pair, _ = _compat(cli, tmp_path, "d", "--data", EXPORT, "--suggest-adapter", adapter)
    birth = _issues(pair)[("/birthDate", "format-mismatch")]["evidence"]
    lines = [int(at.split()[1]) for at in birth["provider_defects_at"]]
    records = EXPORT.read_text("utf-8").splitlines()
    assert len(lines) == 3 and all(json.loads(records[n - 1])["birthDate"] == "2023-02-30" for n in lines)
    assert birth["provider_defect_examples"] == ["2023-02-30"]
    text = adapter.read_text("utf-8")
    # every issue with defects is listed in the adapter's header, with its lines, in round one already
    for f in ("/birthDate", "/idNumber", "/personalRate"):
        assert any(line.startswith(f"#   {f} ") and "line " in line for line in text.splitlines()), f


def test_no_report_built_from_data_advises_checking_data(cli, tmp_path):
    adapter = tmp_path / "a.yaml"
    cli("compat", PROVIDER, CONSUMER, "--data", EXPORT, "--suggest-adapter", adapter)
    md, again = tmp_path / "r.md", tmp_path / "b.yaml"
    cli("compat", PROVIDER, CONSUMER, "--data", EXPORT, "--adapter", adapter, "--md-out", md, "--suggest-adapter", again)
    for text in (md.read_text("utf-8"), again.read_text("utf-8")):
        assert "real data" not in text and "--sandbox" not in text
    # without evidence the advice is there: it is what a department does next
    static = tmp_path / "s.md"
    cli("compat", PROVIDER, CONSUMER, "--adapter", adapter, "--md-out", static)
    assert "real data" in static.read_text("utf-8")


@pytest.mark.parametrize("steps, message", [
    ("- map: {field: /sex, values: {男: [1], 女: 2}}", "is not of type 'string', 'number', 'boolean', 'null'"),
    ("- pick: {from: /items/*/x/*/y, to: /y, choose: last}", "exactly one array"),
    ("- date: {field: /d, from: date-time, to: date, tz: +8}", "tz was read as the number 8"),
])
def test_bad_adapter_gives_one_message_per_problem_in_both_commands(cli, tmp_path, steps, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"kind: adapter\nsteps:\n{steps}\n", "utf-8")
    check = cli("spec", "check", bad)
    run = cli("compat", MARKET, TAX, "--adapter", bad)
    assert check.exit_code == run.exit_code == 2
    for r in (check, run):
        assert "Traceback" not in r.output
        hits = [line for line in r.output.splitlines() if "bad.yaml:3:" in line]
        assert len(hits) == 1 and message in hits[0], r.output


def test_console_at_80_columns_lists_the_issues(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "mvptest", "compat", str(PROVIDER), str(CONSUMER), "--data", str(EXPORT)],
                          capture_output=True, text=True, encoding="utf-8", env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert not any(c in proc.stdout for c in "┃│┏")  # no table squeezed into 80 columns
    assert "/XB 性别 ← /gender 性别  enum-mismatch error" in proc.stdout
    assert "  fix: " in proc.stdout
