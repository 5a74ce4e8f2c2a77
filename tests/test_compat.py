"""mvptest compat: static comparison by issue kind, evidence from data, the sandbox and a live server, adapters,
the department matrix, masking in every report, bad adapter files."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest
import yaml

from mvptest.compat.adapter import Adapter, load_adapter
from mvptest.compat.engine import RecordList, check_pair
from mvptest.errors import InputError
from mvptest.spec.check import load_specs

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
PROVIDER = DATA / "compat" / "provider.yaml"
CONSUMER = DATA / "compat" / "consumer.yaml"
MARKET = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"
TAX = ROOT / "specs" / "tax" / "enterprise-registration.yaml"
SOCIAL = ROOT / "specs" / "social-security" / "insured-person.yaml"
MEDICAL = ROOT / "specs" / "medical-insurance" / "insured-person.yaml"


def _pair(provider: Path = PROVIDER, consumer: Path = CONSUMER):
    prov = load_specs([provider])
    cons = load_specs([consumer])
    assert not prov.errors and not cons.errors
    req = cons.requirements[0]
    return prov.interface(req.consumes), req


def _by(result) -> dict[tuple[str, str], object]:
    return {(i.field, i.kind): i for i in result.issues}


GOOD = {
    "code": "123456", "day": "2020-01-02", "amount": 5, "kind": "甲", "label": "标签", "score": 50, "tag": "AB",
    "count": "1", "phone": "13812345678", "oldName": "名称", "since": "2019-03-12",
    "person": {"name": "张三丰", "email": "a@b.cn"}, "items": [{"when": "2020-01-02T03:04:05+08:00"}],
}


def _records() -> list[dict]:
    """20 records: every one shows the predicted errors; a few show the warnings and one an unpredicted drift."""
    out = []
    for i in range(20):
        r = copy.deepcopy(GOOD)
        r["code"] = f"{100000 + i}"
        if i < 3:
            del r["phone"]  # optional at the provider, required by the consumer
        if 3 <= i < 5:
            r["score"] = 500  # beyond the consumer's maximum 100
        if i == 5:
            r["tag"] = "abc"  # breaks the consumer's pattern
        if i == 6:
            r["label"] = "长" * 60  # longer than the consumer's 50
        if 7 <= i < 11:
            del r["person"]["email"]
        if i == 11:
            r["since"] = "20190312"  # declared date, sent date-compact: only the data shows it
        if i == 12:
            r["phone"] = "12345"  # not a mobile number: the provider promised no format
        out.append(r)
    return out


# --------------------------------------------------------------------------- static comparison


def test_static_comparison_reports_every_kind_with_severity_suggestion_and_step():
    itf, req = _pair()
    result = check_pair(itf, req)
    issues = _by(result)
    expected = {
        ("/missing", "missing-field"): "error",
        ("/phone", "optional-field"): "warning",
        ("/name", "optional-field"): "warning",  # from: /oldName, optional at the provider
        ("/person/email", "optional-field"): "warning",  # nested, through $ref
        ("/count", "type-mismatch"): "error",
        ("/day", "format-mismatch"): "error",
        ("/amount", "format-mismatch"): "error",  # 万元 against 元
        ("/items/*/when", "format-mismatch"): "error",  # inside array items
        ("/phone", "format-mismatch"): "warning",  # the provider promises no format
        ("/kind", "enum-mismatch"): "error",
        ("/label", "length-mismatch"): "warning",
        ("/score", "range-mismatch"): "warning",
        ("/tag", "pattern-mismatch"): "warning",
    }
    assert {k: i.severity for k, i in issues.items()} == expected
    assert all(i.suggestion for i in result.issues)
    assert issues[("/day", "format-mismatch")].step == {"date": {"field": "/day", "from": "date", "to": "date-compact"}}
    assert issues[("/amount", "format-mismatch")].aspect == "unit"
    assert issues[("/amount", "format-mismatch")].step == {"scale": {"field": "/amount", "factor": 10000, "unit": "元"}}
    assert issues[("/count", "type-mismatch")].step == {"convert": {"field": "/count", "to": "integer"}}
    # the consumer's code table maps three values; the fourth needs a decision
    assert issues[("/kind", "enum-mismatch")].step == {"map": {"field": "/kind", "values": {"甲": "A", "乙": "B", "丙": "C", "1": None}}}
    assert issues[("/missing", "missing-field")].step is None
    assert result.sources["/name"] == "/oldName"
    assert not result.compatible
    # 14 required value fields (/since is optional); errors on six of them (/amount /count /day /items/*/when /kind
    # /missing) and warnings on six more (/phone /name /person/email /label /score /tag): a field counts as
    # standardised by the schemas only when they agree on it (docs/compat.md), which leaves two
    assert len(result.required_fields) == 14
    assert result.standardization_rate == pytest.approx(2 / 14)


def test_identical_schemas_are_compatible_with_rate_one(tmp_path):
    itf, _ = _pair()
    req_doc = {
        "kind": "requirement", "id": "same", "department": {"id": "cons"}, "consumes": "prov/record",
        "schema": {"$ref": "schemas/record.json"},
    }
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "record.json").write_text((DATA / "compat" / "schemas" / "record.json").read_text("utf-8"), "utf-8")
    (tmp_path / "same.yaml").write_text(yaml.safe_dump(req_doc), "utf-8")
    req = load_specs([tmp_path / "same.yaml"]).requirements[0]
    result = check_pair(itf, req)
    assert result.issues == []
    assert result.compatible and result.standardization_rate == 1.0


def test_pilot_pairs_statically(cli):
    r = cli("compat", MARKET, TAX)
    assert r.exit_code == 1, r
    for text in ("税务局", "市场监督管理局", "/establishedDate", "/registeredCapital", "/status", "62.5 %"):
        assert text in r.stdout
    r = cli("compat", SOCIAL, MEDICAL)
    assert r.exit_code == 1, r
    for text in ("医疗保障局", "/birthDate", "/gender", "/monthlyBase", "/mobile", "optional-field (warning)"):
        assert text in r.stdout


# --------------------------------------------------------------------------- evidence


def test_evidence_counts_every_kind_and_reports_what_only_the_data_shows():
    itf, req = _pair()
    result = check_pair(itf, req, sample=RecordList(_records(), "test records"))
    issues = _by(result)
    assert result.evidence.records == 20 and result.evidence.failing_records == 20
    assert all(i.checked == 20 for i in result.issues)
    counts = {k: i.failing for k, i in issues.items()}
    assert counts[("/day", "format-mismatch")] == 20
    assert counts[("/amount", "format-mismatch")] == 20  # every amount served is in 万元
    assert counts[("/count", "type-mismatch")] == 20
    assert counts[("/kind", "enum-mismatch")] == 20
    assert counts[("/items/*/when", "format-mismatch")] == 20
    assert counts[("/missing", "missing-field")] == 20
    assert counts[("/phone", "optional-field")] == 3
    assert counts[("/person/email", "optional-field")] == 4
    assert counts[("/score", "range-mismatch")] == 2
    assert counts[("/tag", "pattern-mismatch")] == 1
    assert counts[("/label", "length-mismatch")] == 1
    assert counts[("/phone", "format-mismatch")] == 1
    assert counts[("/name", "optional-field")] == 0  # always sent in this data
    # a warning the data confirms becomes an error; one the data does not show stays a warning
    assert issues[("/phone", "optional-field")].severity == "error"
    assert issues[("/score", "range-mismatch")].severity == "error"
    assert issues[("/name", "optional-field")].severity == "warning"
    # the schemas say date, the data sent 20190312 once
    since = issues[("/since", "format-mismatch")]
    assert since.predicted is False and since.failing == 1 and since.severity == "error"
    assert since.step == {"date": {"field": "/since", "from": "date-compact", "to": "date"}}
    assert since.provider_defects == 1  # it breaks the provider's own schema too
    assert since.examples == ["20190312"]
    assert issues[("/day", "format-mismatch")].examples == ["2020-01-02"]


def test_evidence_from_data_files_of_every_kind(cli, tmp_path):
    records = _records()
    (tmp_path / "r.json").write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    (tmp_path / "r.ndjson").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n{broken\n", "utf-8")
    for name in ("r.json", "r.ndjson"):
        out = tmp_path / f"{name}.out.json"
        r = cli("compat", PROVIDER, CONSUMER, "--data", tmp_path / name, "--json-out", out)
        assert r.exit_code == 1, r
        pair = json.loads(out.read_text("utf-8"))["pairs"][0]
        assert pair["evidence"]["records"] == 20
        issues = {(i["field"], i["kind"]): i for i in pair["issues"]}
        assert issues[("/since", "format-mismatch")]["evidence"] == {
            "checked": 20, "failing": 1, "examples": ["20190312"], "breaks_provider_schema": 1,
            # where the defect is, so that the provider can correct it (a JSON array: the record's position)
            "provider_defects_at": ["record 12" if name == "r.json" else "line 12"], "provider_defect_examples": ["20190312"]}
        assert issues[("/since", "format-mismatch")]["predicted_by_schemas"] is False
    assert "unparsable: 1" in r.stdout


def test_pilot_sample_evidence_for_tax(cli, tmp_path):
    """The provider's sample export with its planted defects, seen by the tax bureau."""
    out = tmp_path / "c.json"
    r = cli("compat", MARKET, TAX, "--data", ROOT / "specs" / "samples" / "enterprises.ndjson", "--json-out", out)
    assert r.exit_code == 1, r
    pair = json.loads(out.read_text("utf-8"))["pairs"][0]
    issues = {(i["field"], i["kind"]): i for i in pair["issues"]}
    assert pair["evidence"]["records"] == 150
    assert pair["evidence"]["unusable"] == {"not an object": 1, "unparsable": 1}
    # 4 records send 20041220-style dates: date-compact already, what the tax bureau wants
    assert issues[("/establishedDate", "format-mismatch")]["evidence"]["failing"] == 146
    assert issues[("/registeredCapital", "type-mismatch")]["predicted_by_schemas"] is False  # "500万元" as text


def test_sandbox_evidence_agrees_with_the_schemas(cli, tmp_path):
    out = tmp_path / "s.json"
    r = cli("compat", MARKET, TAX, "--sandbox", "--samples", "60", "--json-out", out)
    assert r.exit_code == 1, r
    pair = json.loads(out.read_text("utf-8"))["pairs"][0]
    assert pair["evidence"]["records"] == 60 and pair["evidence"]["requests"] == 60
    issues = {(i["field"], i["kind"]): i for i in pair["issues"]}
    # the sandbox serves exactly what the provider's schema says: every record shows each predicted issue,
    # and nothing the schemas did not predict
    assert {k: i["evidence"]["failing"] for k, i in issues.items()} == {
        ("/establishedDate", "format-mismatch"): 60, ("/registeredCapital", "format-mismatch"): 60,
        ("/status", "enum-mismatch"): 60}
    assert all(i["predicted_by_schemas"] for i in pair["issues"])


# --------------------------------------------------------------------------- adapters


def test_adapter_steps_change_values_as_documented():
    adapter = Adapter([
        {"rename": {"from": "/oldName", "to": "/name"}},
        {"copy": {"from": "/code", "to": "/codeCopy"}},
        {"date": {"field": "/day", "from": "date", "to": "date-compact"}},
        {"date": {"field": "/items/*/when", "from": "date-time", "to": "date"}},
        {"scale": {"field": "/amount", "factor": 10000, "unit": "元"}},
        {"scale": {"field": "/fen", "factor": 100, "integer": True}},
        {"map": {"field": "/kind", "values": {"甲": "A"}}},
        {"convert": {"field": "/count", "to": "integer"}},
        {"normalize": {"field": "/text", "ops": ["trim", "halfwidth", "fullwidth-parentheses"]}},
        {"normalize": {"field": "/mobile", "ops": ["strip-country-code"]}},
        {"normalize": {"field": "/uscc", "ops": ["remove-spaces", "upper"]}},
    ])
    record = {"oldName": "名", "code": "1", "day": "2020-01-02", "items": [{"when": "2021-02-03T04:05:06Z"}, {"when": "x"}],
              "amount": 12.5, "fen": 8000.5, "kind": "甲", "count": "3", "text": "  ＡＢ(深圳)１ ", "mobile": "+86 138 1234 5678",
              "uscc": " 91350100m0001tgqx m"}
    out = adapter.apply(record)
    assert out == {"name": "名", "code": "1", "codeCopy": "1", "day": "20200102",
                   "items": [{"when": "2021-02-03"}, {"when": "x"}], "amount": 125000.0, "fen": 800050, "kind": "A",
                   "count": 3, "text": "AB（深圳）1", "mobile": "13812345678", "uscc": "91350100M0001TGQXM"}
    assert record["day"] == "2020-01-02"  # the input is not changed


def test_suggested_adapter_round_trip_makes_both_pilot_pairs_compatible(cli, tmp_path):
    for provider, consumer, steps in ((MARKET, TAX, 4), (SOCIAL, MEDICAL, 4)):
        adapter = tmp_path / f"{consumer.parent.name}.yaml"
        r = cli("compat", provider, consumer, "--suggest-adapter", adapter)
        assert r.exit_code == 1, r
        text = adapter.read_text("utf-8")
        assert text.startswith("# Adapter:")
        loaded = load_adapter(adapter)
        assert len(loaded.steps) == steps
        if consumer == TAX:  # the name the tax bureau reads with from: comes first, so the adapted view is its own
            assert loaded.steps[0] == {"copy": {"from": "/enterpriseName", "to": "/taxpayerName"}}
        r = cli("compat", provider, consumer, "--adapter", adapter)
        assert r.exit_code == 0, r
        # the medical-insurance bureau's mobile number stays a warning (the provider may omit it): 7 of 8 fields
        assert "compatible: 0 errors" in r.stdout
        assert ("100.0 % by the schemas" if consumer == TAX else "87.5 % by the schemas (7 of 8") in r.stdout
        # the adapted records satisfy the consumer: evidence from the sandbox agrees
        r = cli("compat", provider, consumer, "--adapter", adapter, "--sandbox", "--samples", "40")
        if consumer == TAX:
            assert r.exit_code == 0, r
            assert "40 records checked, 0 fail" in r.stdout
        else:
            # the sandbox leaves the optional mobile out of some records: no adapter can invent it
            assert r.exit_code == 1, r
            assert "/mobile" in r.stdout and "optional-field" in r.stdout


def test_adapter_values_from_the_pilot_adapter(tmp_path, cli):
    adapter = tmp_path / "a.yaml"
    cli("compat", MARKET, TAX, "--suggest-adapter", adapter)
    a = load_adapter(adapter)
    out = a.apply({"establishedDate": "2004-12-20", "registeredCapital": 500, "status": "在业", "uscc": "x",
                   "enterpriseName": "甲公司"})
    assert out == {"establishedDate": "20041220", "registeredCapital": 5_000_000, "status": "01", "uscc": "x",
                   "enterpriseName": "甲公司", "taxpayerName": "甲公司"}


@pytest.mark.parametrize("name, message", [
    ("unknown-step.yaml", "unknown-step.yaml:4:5: unknown key 'scael' in steps[1]; did you mean 'scale'?"),
    ("bad-args.yaml", "bad-args.yaml:3:39: error: steps[0].scale.factor: -5 is less than or equal to the minimum of 0"),
    ("not-adapter.yaml", "not-adapter.yaml:1:1: is not an adapter (kind: adapter)"),
    ("malformed.yaml", "malformed.yaml:3: is not valid YAML"),
    ("no-steps.yaml", "no-steps.yaml:1:1: (top level): 'steps' is a required property"),
])
def test_bad_adapter_files_exit_2_with_a_located_message(cli, name, message):
    r = cli("compat", MARKET, TAX, "--adapter", DATA / "adapters" / name)
    assert r.exit_code == 2, r
    assert message in r.stderr
    assert "Traceback" not in r.output
    with pytest.raises(InputError):  # SpecError (every problem) or InputError (not YAML at all)
        load_adapter(DATA / "adapters" / name)


def test_bad_adapter_reports_every_problem(cli):
    r = cli("compat", MARKET, TAX, "--adapter", DATA / "adapters" / "bad-args.yaml")
    assert "does not match '^/'" in r.stderr
    assert "a date step must change the format" in r.stderr


def test_spec_check_knows_adapters(cli, tmp_path):
    adapter = tmp_path / "a.yaml"
    cli("compat", MARKET, TAX, "--suggest-adapter", adapter)
    assert cli("spec", "check", adapter).exit_code == 0
    r = cli("spec", "check", DATA / "adapters" / "unknown-step.yaml")
    assert r.exit_code == 2 and "did you mean 'scale'" in r.output


# --------------------------------------------------------------------------- the matrix


def test_matrix_of_every_pair(cli, tmp_path):
    out = tmp_path / "m.json"
    r = cli("compat", "--all", ROOT / "specs", "--json-out", out)
    assert r.exit_code == 1, r
    data = json.loads(out.read_text("utf-8"))
    assert data["schema_version"] == 1 and data["compatible"] is False
    pairs = {(p["provider"], p["consumer"]): p for p in data["pairs"]}
    contribution = ("social-security/contribution-record", "tax/social-insurance-contribution")
    assert set(pairs) == {("market-supervision/enterprise-registration", "tax/enterprise-registration"),
                          ("social-security/insured-person", "medical-insurance/insured-person"), contribution}
    tax = pairs[("market-supervision/enterprise-registration", "tax/enterprise-registration")]
    assert (tax["compatible_fields"], tax["required_fields"], tax["standardization_rate"]) == (5, 8, 0.625)
    med = pairs[("social-security/insured-person", "medical-insurance/insured-person")]
    # of the 8 required fields: errors on /birthDate /gender, warnings on /mobile (may be omitted) and /idNumber
    # (the provider allows a lower-case x); /monthlyBase is not required
    assert (med["compatible_fields"], med["required_fields"], med["standardization_rate"]) == (4, 8, 0.5)
    assert (pairs[contribution]["compatible_fields"], pairs[contribution]["required_fields"]) == (3, 18)
    assert data["standardization_rate"] == round(12 / 34, 4)
    assert "Department matrix" in r.stdout and "税务局" in r.stdout and "医疗保障局" in r.stdout
    # the suggested adapters, one per pair, make the two pilot pairs compatible; the contribution pair keeps
    # exactly the differences no adapter bridges
    folder = tmp_path / "adapters"
    cli("compat", "--all", ROOT / "specs", "--suggest-adapter", folder, "--json-out", tmp_path / "m0.json")
    files = sorted(folder.iterdir())
    assert len(files) == 3
    args = [x for f in files for x in ("--adapter", f)]
    r = cli("compat", "--all", ROOT / "specs", *args, "--json-out", out)
    assert r.exit_code == 1, r
    data = json.loads(out.read_text("utf-8"))
    after = {(p["provider"], p["consumer"]): p for p in data["pairs"]}
    assert [k for k, p in after.items() if not p["compatible"]] == [contribution]
    assert {i["field"] for i in after[contribution]["issues"] if i["severity"] == "error"} == {
        "/bankAccount", "/contact", "/householdType", "/paymentStatus"}
    # the medical-insurance bureau's mobile number (the provider may omit it) stays a warning: 7 of 8
    assert after[("social-security/insured-person", "medical-insurance/insured-person")]["standardization_rate"] == 0.875


# --------------------------------------------------------------------------- masking


def _sensitive_records() -> list[dict]:
    out = []
    for i, r in enumerate(_records()[:5]):
        r["person"]["name"] = f"欧阳{i}娜娜"
        r["phone"] = "1381234567"  # one digit short: a format failure whose example must not show the number
        r["tag"] = "110105194912310029"  # a resident ID number in a field nobody marked sensitive
        out.append(r)
    return out


def test_masking_in_every_report(cli, tmp_path):
    data = tmp_path / "d.ndjson"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in _sensitive_records()), "utf-8")
    outs = {"json": tmp_path / "o.json", "md": tmp_path / "o.md", "csv": tmp_path / "o.csv"}
    r = cli("compat", PROVIDER, CONSUMER, "--data", data, "--json-out", outs["json"], "--md-out", outs["md"],
            "--csv-out", outs["csv"])
    assert r.exit_code == 1, r
    texts = [r.stdout] + [p.read_text("utf-8-sig") for p in outs.values()]
    for text in texts:
        assert "1381234567" not in text
        assert "110105194912310029" not in text
    issues = {(i["field"], i["kind"]): i for i in json.loads(outs["json"].read_text("utf-8"))["pairs"][0]["issues"]}
    assert issues[("/phone", "format-mismatch")]["evidence"]["examples"] == ["138123****7"] or all(
        "*" in e for e in issues[("/phone", "format-mismatch")]["evidence"]["examples"])
    assert all("*" in e for e in issues[("/tag", "pattern-mismatch")]["evidence"]["examples"])
    rows = list(csv.DictReader(outs["csv"].read_text("utf-8-sig").splitlines()))
    assert {row["consumer_department"] for row in rows} == {"使用部门"}
    # --no-mask shows them, on request only
    r = cli("compat", PROVIDER, CONSUMER, "--data", data, "--json-out", outs["json"], "--no-mask")
    assert "110105194912310029" in outs["json"].read_text("utf-8")


def test_markdown_report_is_in_the_consumers_terms(cli, tmp_path):
    md = tmp_path / "r.md"
    cli("compat", SOCIAL, MEDICAL, "--sandbox", "--samples", "30", "--md-out", md)
    text = md.read_text("utf-8")
    assert "医疗保障局 ← 人力资源和社会保障局" in text
    # both sides' fields and titles head each field's table
    assert "### Consumer `/birthDate` 出生日期 ← provider `/birthDate` 出生日期" in text
    assert "### Consumer `/gender` 性别 ← provider `/gender` 性别" in text
    assert "30 of 30 records" in text
    assert "Suggested adapter" in text and "date: {field: /birthDate, from: date, to: date-compact}" in text
    # the sandbox's resident ID numbers and mobiles never appear in the clear
    import re

    assert not re.search(r"(?<![0-9*])[0-9]{17}[0-9X](?![0-9])", text)
    assert not re.search(r"(?<![0-9*])1[3-9][0-9]{9}(?![0-9])", text)


# --------------------------------------------------------------------------- live


@pytest.fixture
def market_sandbox():
    from mvptest.sandbox.app import SandboxApp
    from mvptest.sandbox.server import SandboxThread

    itf = load_specs([MARKET]).interface("enterprise-registration")
    thread = SandboxThread(SandboxApp([itf], seed=7))
    url = thread.start()
    yield url, thread
    thread.stop()


def test_live_sampling_with_params_and_rate(cli, tmp_path, market_sandbox):
    url, thread = market_sandbox
    from mvptest.formats import cn

    codes = []
    for i in range(5):
        body = f"91110000{i:09d}"[:16]
        org = body[8:16] + "0"
        org = org[:8] + cn.org_check_char(org[:8])
        full = body[:8] + org
        codes.append(full + cn.uscc_check_char(full))
    params = tmp_path / "p.csv"
    params.write_text("uscc\n" + "\n".join(codes) + "\n", "utf-8")
    out = tmp_path / "l.json"
    import time

    t0 = time.monotonic()
    r = cli("compat", MARKET, TAX, "--live", url, "--params", params, "--samples", "10", "--rate", "50", "--json-out", out)
    elapsed = time.monotonic() - t0
    assert r.exit_code == 1, r
    pair = json.loads(out.read_text("utf-8"))["pairs"][0]
    assert pair["evidence"]["records"] == 10 and pair["evidence"]["requests"] == 10
    assert elapsed >= 9 / 50  # rate-limited
    stats = thread.server.app.stats.to_dict()  # the server saw exactly the sampled requests, each a known enterprise
    assert stats["interfaces"]["market-supervision/enterprise-registration"]["outcomes"] == {"ok": 10}


def test_live_refuses_a_non_loopback_host_and_reports_an_unreachable_one(cli):
    r = cli("compat", MARKET, TAX, "--live", "http://10.1.2.3:8080")
    assert r.exit_code == 2 and "--allow-host 10.1.2.3" in r.stderr
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = cli("compat", MARKET, TAX, "--live", f"http://127.0.0.1:{port}", "--rate", "100")
    assert r.exit_code == 3, r
    assert "refuses connections" in r.stderr


def test_usage_errors(cli):
    assert cli("compat", MARKET).exit_code == 2
    assert cli("compat", MARKET, TAX, "--sandbox", "--data", "x.json").exit_code == 2
    r = cli("compat", TAX, MARKET)
    assert r.exit_code == 2 and "holds no interface" in r.stderr
    r = cli("compat", MARKET, TAX, "--data", "nope.ndjson")
    assert r.exit_code == 2 and "nope.ndjson" in r.stderr


def test_sandbox_evidence_second_pair_folds_consequences_into_the_predicted_issue(cli, tmp_path):
    out = tmp_path / "m.json"
    r = cli("compat", SOCIAL, MEDICAL, "--sandbox", "--samples", "80", "--json-out", out)
    assert r.exit_code == 1, r
    pair = json.loads(out.read_text("utf-8"))["pairs"][0]
    issues = {(i["field"], i["kind"]): i for i in pair["issues"]}
    # "2" fails both the integer type and the enum [0, 1, 2, 9]; 8000.5 元 fails the integer type of 分: one issue each
    # and the provider's looser option for the ID's check character (lowercase-x: warning), which the consumer rejects
    assert set(issues) == {("/birthDate", "format-mismatch"), ("/gender", "type-mismatch"),
                           ("/monthlyBase", "format-mismatch"), ("/mobile", "optional-field"), ("/idNumber", "format-mismatch")}
    assert issues[("/idNumber", "format-mismatch")]["aspect"] == "format-options"
    assert all(i["predicted_by_schemas"] for i in pair["issues"])
    assert issues[("/gender", "type-mismatch")]["evidence"]["failing"] == 80
    mobile = issues[("/mobile", "optional-field")]
    assert 0 < mobile["evidence"]["failing"] < 80 and mobile["severity"] == "error"


def test_sandbox_serves_the_adapted_view(cli, tmp_path):
    """mvptest sandbox --adapter: what the consumer will receive once the adjustment is in place."""
    import signal
    import subprocess
    import sys

    import requests

    from mvptest.compat.engine import consumer_view
    from mvptest.validation.compiled import CompiledSchema

    adapter = tmp_path / "tax.yaml"
    cli("compat", MARKET, TAX, "--suggest-adapter", adapter)
    proc = subprocess.Popen([sys.executable, "-m", "mvptest", "sandbox", str(MARKET), "--port", "0", "--adapter", str(adapter)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on "), proc.stderr.read()
        url = line.split()[-1]
        _, req = _pair(MARKET, TAX)
        consumer = CompiledSchema(req.schema, format_options=req.format_options)
        provider = CompiledSchema(load_specs([MARKET]).interface("enterprise-registration").response_schema)
        with requests.Session() as s:
            for code in ("91110000600037341L", "91350100M000100Y43"):
                body = s.get(f"{url}/api/v1/enterprises/{code}", timeout=5).json()
                assert body["uscc"] == code
                assert len(body["establishedDate"]) == 8 and body["status"] in ("01", "02", "03", "04")
                assert consumer.errors(consumer_view(body, {"/taxpayerName": "/enterpriseName"})) == []
                assert not provider.is_valid(body)  # no longer the provider's own format
            # the search interface of the same spec is not adapted
            found = s.get(f"{url}/api/v1/enterprises", params={"name": "科技"}, timeout=5).json()
            assert all(len(e["establishedDate"]) == 10 for e in found["items"])
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
        proc.stderr.close()


def test_sandbox_refuses_an_adapter_for_another_provider(cli, tmp_path):
    adapter = tmp_path / "med.yaml"
    cli("compat", SOCIAL, MEDICAL, "--suggest-adapter", adapter)
    r = cli("sandbox", MARKET, "--port", "0", "--adapter", adapter)
    assert r.exit_code == 2 and "social-security/insured-person" in r.stderr
    r = cli("sandbox", MARKET, "--port", "0", "--adapter", DATA / "adapters" / "unknown-step.yaml")
    assert r.exit_code == 2 and "unknown-step.yaml:4:5" in r.stderr


# --------------------------------------------------------------------------- edge cases found in review


def _write_pair(tmp_path: Path, provider_schema: dict, consumer_schema: dict, *, sensitive: list[str] = ()) -> tuple[Path, Path]:
    prov = {"kind": "interface", "department": {"id": "p", "name": "提供"}, "interfaces": [{
        "id": "x", "method": "GET", "path": "/x/{id}", "parameters": {"id": {"in": "path", "schema": {"type": "string"}}},
        "response": {"status": 200, "schema": provider_schema}, "sensitive": list(sensitive)}]}
    cons = {"kind": "requirement", "id": "x", "department": {"id": "c", "name": "使用"}, "consumes": "p/x",
            "schema": consumer_schema}
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(prov, allow_unicode=True), "utf-8")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cons, allow_unicode=True), "utf-8")
    return tmp_path / "p.yaml", tmp_path / "c.yaml"


def test_sensitive_values_stay_masked_through_renames_objects_and_from(cli, tmp_path):
    p, c = _write_pair(
        tmp_path,
        {"type": "object", "properties": {"legal": {"type": "string"}, "owner": {"type": "object", "properties": {
            "name": {"type": "string"}, "idNumber": {"type": "string"}}}}},
        {"type": "object", "required": ["boss", "owner"], "properties": {
            "boss": {"type": "string", "maxLength": 2}, "owner": {"type": "string"}}},
        sensitive=["/legal", "/owner/name"])
    adapter = tmp_path / "a.yaml"
    adapter.write_text("kind: adapter\nsteps:\n  - rename: {from: /legal, to: /boss}\n", "utf-8")
    data = tmp_path / "d.ndjson"
    data.write_text(json.dumps({"legal": "欧阳娜娜", "owner": {"name": "张三丰", "idNumber": "secretvalue"}},
                               ensure_ascii=False) + "\n", "utf-8")
    out = tmp_path / "o.json"
    r = cli("compat", p, c, "--adapter", adapter, "--data", data, "--json-out", out)
    assert r.exit_code == 1, r
    text = out.read_text("utf-8") + r.stdout
    assert "欧阳娜娜" not in text and "娜娜" not in text and "张三丰" not in text and "三丰" not in text
    issues = {(i["field"], i["kind"]): i for i in json.loads(out.read_text("utf-8"))["pairs"][0]["issues"]}
    assert issues[("/boss", "length-mismatch")]["evidence"]["examples"] == ["欧***"]
    (owner,) = issues[("/owner", "type-mismatch")]["evidence"]["examples"]
    assert json.loads(owner) == {"name": "张**", "idNumber": "secretvalue"}


def test_array_items_renames_and_from_on_objects_reach_the_data(cli, tmp_path):
    p, c = _write_pair(
        tmp_path,
        {"type": "object", "required": ["members", "owner"], "properties": {
            "members": {"type": "array", "items": {"type": "object", "required": ["phone"],
                                                   "properties": {"phone": {"type": "string"}}}},
            "owner": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}},
        {"type": "object", "required": ["members", "boss"], "properties": {
            "members": {"type": "array", "items": {"type": "object", "required": ["mobile"],
                                                   "properties": {"mobile": {"type": "string"}}}},
            "boss": {"type": "object", "from": "/owner", "required": ["name"], "properties": {"name": {"type": "string"}}}}})
    data = tmp_path / "d.ndjson"
    data.write_text(json.dumps({"members": [{"phone": "1"}, {"phone": "2"}], "owner": {"name": "n"}}) + "\n", "utf-8")
    r = cli("compat", p, c)
    assert "/boss/name" not in r.stdout  # read through the parent's from:
    assert "/members/*/mobile" in r.stdout and "missing-field" in r.stdout
    adapter = tmp_path / "a.yaml"
    adapter.write_text("kind: adapter\nsteps:\n  - rename: {from: /members/*/phone, to: /members/*/mobile}\n", "utf-8")
    r = cli("compat", p, c, "--adapter", adapter, "--data", data)
    assert r.exit_code == 0, r
    assert "1 records checked, 0 fail" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: adapter\nsteps:\n  - rename: {from: /members/*/phone, to: /mobiles/*/m}\n", "utf-8")
    r = cli("compat", p, c, "--adapter", bad)
    assert r.exit_code == 2 and "bad.yaml:3:5" in r.stderr and "last '*'" in r.stderr


def test_nullable_and_null_enums_are_read_as_json(tmp_path):
    p, c = _write_pair(
        tmp_path,
        {"type": "object", "properties": {
            "day": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
            "flag": {"enum": [1, 2, None]}}},
        {"type": "object", "required": ["day", "flag"], "properties": {
            "day": {"type": "string", "format": "date-compact"}, "flag": {"enum": [1, 2]}}})
    itf, req = _pair(p, c)
    issues = _by(check_pair(itf, req))
    assert issues[("/day", "format-mismatch")].step == {"date": {"field": "/day", "from": "date", "to": "date-compact"}}
    assert issues[("/day", "type-mismatch")].severity == "warning"  # may send null
    flag = issues[("/flag", "enum-mismatch")]
    assert "null" in flag.provider and "None" not in flag.provider
    assert flag.step == {"map": {"field": "/flag", "values": {"null": None}}}
    adapter = Adapter([{"map": {"field": "/flag", "values": {"null": 9}}}])
    assert adapter.apply({"flag": None}) == {"flag": 9}


def test_no_usable_record_is_never_compatible(cli, tmp_path):
    empty = tmp_path / "empty.ndjson"
    empty.write_text("", "utf-8")
    adapter = tmp_path / "a.yaml"
    cli("compat", MARKET, TAX, "--suggest-adapter", adapter)
    assert cli("compat", MARKET, TAX, "--adapter", adapter).exit_code == 0
    r = cli("compat", MARKET, TAX, "--adapter", adapter, "--data", empty)
    assert r.exit_code == 1, r
    assert "no usable record" in r.stdout


def test_live_reports_never_show_credentials_and_count_what_gave_no_record(cli, tmp_path):
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b"[1, 2]" if "91110000600037341L" in self.path else b"<html>oops</html>"
            self.send_response(200 if b"[" in body else 500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        params = tmp_path / "p.json"
        params.write_text(json.dumps({"uscc": ["91110000600037341L", "91350100M000100Y43"]}), "utf-8")
        out, md = tmp_path / "o.json", tmp_path / "o.md"
        url = f"http://admin:S3cretPw@127.0.0.1:{server.server_port}/?access_token=TOK123"
        r = cli("compat", MARKET, TAX, "--live", url, "--params", params, "--samples", "6", "--rate", "100",
                "--json-out", out, "--md-out", md)
    finally:
        server.shutdown()
        server.server_close()
    assert r.exit_code == 1, r
    for text in (r.output, out.read_text("utf-8"), md.read_text("utf-8")):
        assert "S3cretPw" not in text and "TOK123" not in text and "admin" not in text
    ev = json.loads(out.read_text("utf-8"))["pairs"][0]["evidence"]
    assert ev["records"] == 0 and ev["requests"] == 6
    assert sum(ev["unusable"].values()) == 6 and set(ev["unusable"]) <= {"not an object", "status 500"}
    assert ev["source"] == f"live: http://127.0.0.1:{server.server_port}/?... (6 requests at most 100/s)"


def test_requirement_outside_the_provider_tree_and_mismatched_files(cli, tmp_path):
    own = tmp_path / "tax.yaml"
    own.write_text(TAX.read_text("utf-8"), "utf-8")
    r = cli("compat", MARKET, own)
    assert r.exit_code == 1 and "/establishedDate" in r.stdout, r
    r = cli("compat", SOCIAL, TAX)
    assert "consumes market-supervision/enterprise-registration; comparing it with social-security/insured-person" in r.stderr
    med = tmp_path / "med.yaml"
    cli("compat", SOCIAL, MEDICAL, "--suggest-adapter", med)
    r = cli("compat", MARKET, TAX, "--adapter", med)
    assert r.exit_code == 2 and "is an adapter for provider social-security/insured-person" in r.stderr
    r = cli("compat", MARKET, TAX, "--suggest-adapter", tmp_path)
    assert r.exit_code == 2 and "Is a directory" in r.stderr
    typo = tmp_path / "typo.yaml"
    typo.write_text("kind: adapter\nsteps:\n  - date: {field: /establishedDat, from: date, to: date-compact}\n", "utf-8")
    r = cli("compat", MARKET, TAX, "--adapter", typo)
    assert "adapter step 1 (date) names /establishedDat, which the provider does not serve" in r.stdout


def test_csv_cells_are_not_formulas(cli, tmp_path):
    p, c = _write_pair(tmp_path, {"type": "object", "properties": {"v": {"type": "string"}}},
                       {"type": "object", "properties": {"v": {"type": "string", "pattern": "^[a-z]+$"}}})
    data = tmp_path / "d.ndjson"
    data.write_text(json.dumps({"v": "=HYPERLINK(\"http://x\")"}) + "\n", "utf-8")
    out = tmp_path / "o.csv"
    cli("compat", p, c, "--data", data, "--csv-out", out)
    rows = list(csv.DictReader(out.read_text("utf-8-sig").splitlines()))
    assert rows and all(not str(v).startswith("=") for row in rows for v in row.values())


def test_matrix_is_always_written_as_json(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = cli("compat", "--all", ROOT / "specs")
    assert r.exit_code == 1, r
    data = json.loads((tmp_path / "results" / "compat-matrix.json").read_text("utf-8"))
    assert len(data["pairs"]) == 3 and "wrote results/compat-matrix.json" in r.stderr
