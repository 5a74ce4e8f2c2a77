"""`mvptest validate` end to end, through the CLI, on every input kind.

Expected numbers come from specs/samples/README.md (the planted defects). Where the README and the tool
disagree the tests say who is right and why. Data-file failure modes have one small fixture each under
tests/data/data/.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mvptest.formats import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
SAMPLES = SPECS / "samples"
DATA = Path(__file__).resolve().parent / "data" / "data"

MARKET = SPECS / "market-supervision" / "enterprise-registration.yaml"
MARKET_SCHEMA = SPECS / "market-supervision" / "schemas" / "enterprise.json"
TAX = SPECS / "tax" / "enterprise-registration.yaml"
SOCIAL = SPECS / "social-security" / "insured-person.yaml"
ITF = ("--interface", "enterprise-registration")

LEGACY_FUJIAN_USCC = "91350100M0001TGQXM"
BLOG_USCC = "91310115MA1H8R7C6D"


# --------------------------------------------------------------------------- helpers


def run_json(cli, tmp_path: Path, *args: Any, name: str = "report.json") -> tuple[Any, dict[str, Any]]:
    """Run validate with --json-out into tmp_path; (result, parsed report)."""
    out = tmp_path / name
    result = cli("validate", *args, "--json-out", out)
    assert out.exists(), result
    return result, json.loads(out.read_text(encoding="utf-8"))


def find_issue(report: dict[str, Any], field: str, kind: str, *, code: str | None = None, severity: str = "error") -> dict[str, Any]:
    found = [
        i for i in report["issues"]
        if i["field"] == field and i["kind"] == kind and i["severity"] == severity
        and (code is None or code in i.get("codes", {}))
    ]
    assert len(found) == 1, (field, kind, code, severity, report["issues"])
    return found[0]


def field_summary(report: dict[str, Any]) -> dict[str, tuple[int, int, dict[str, int]]]:
    return {f: (v["errors"], v["warnings"], v["kinds"]) for f, v in report["fields"].items()}


def normalised(report: dict[str, Any]) -> dict[str, Any]:
    """A report without timings, file names and encodings: what two runs on the same records must share."""
    r = copy.deepcopy(report)
    r.pop("seconds")
    r.pop("records_per_second")
    r.pop("provenance", None)  # the data files' names and hashes (issue 13)
    for f in r["files"]:
        f.pop("path")
        f.pop("encoding")
    for issue in r["issues"]:
        issue["locations"] = [loc.rsplit(":", 1)[-1] for loc in issue["locations"]]
    return r


def enterprise(rng: random.Random, i: int) -> dict[str, Any]:
    """A valid enterprise record (provider format), from the format registry's generators."""
    return {
        "enterpriseName": f"示例科技（厦门）有限公司{i}",
        "uscc": REGISTRY["cn-uscc"].generate(rng),
        "registeredAddress": f"福建省厦门市思明区某路{rng.randrange(1, 999)}号",
        "legalRepresentative": rng.choice("张王李赵刘陈") + rng.choice(["伟", "芳", "娜", "敏"]),
        "registeredCapital": round(rng.uniform(10, 50000), 2),
        "currency": "CNY",
        "establishedDate": REGISTRY["date"].generate(rng),
        "status": rng.choice(["存续", "在业", "吊销", "注销", "迁出"]),
        "divisionCode": REGISTRY["cn-admin-division"].generate(rng),
        "updatedAt": REGISTRY["date-time"].generate(rng),
    }


def write_ndjson(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def all_outputs(cli, tmp_path: Path, *args: Any, tag: str) -> tuple[Any, dict[str, str]]:
    """Run validate writing every report; the text of stdout, stderr and each file."""
    paths = {"json": tmp_path / f"{tag}.json", "md": tmp_path / f"{tag}.md", "csv": tmp_path / f"{tag}.csv"}
    result = cli("validate", *args, "--json-out", paths["json"], "--md-out", paths["md"], "--csv-out", paths["csv"])
    texts = {"stdout": result.stdout, "stderr": result.stderr}
    texts.update({k: p.read_bytes().decode("utf-8-sig") for k, p in paths.items()})
    return result, texts


# --------------------------------------------------------------------------- every input kind, sample numbers

# The provider's planted defects (README): 20 invalid records, 1 valid with a warning, 129 clean.
ENTERPRISE_FIELDS = {
    "/uscc": (7, 1, {"format": 8}),  # 3 mistyped + 2 blog (org-code-check), 2 lower case; 1 legacy warning
    "/establishedDate": (4, 0, {"format": 4}),
    "/registeredAddress": (3, 0, {"required": 3}),
    "/registeredCapital": (3, 0, {"type": 3}),
    "/status": (3, 0, {"enum": 3}),
}


def test_json_array_sample(cli, tmp_path):
    result, report = run_json(cli, tmp_path, SAMPLES / "enterprises.json", "--spec", MARKET, *ITF)
    assert result.exit_code == 1, result
    assert (report["records"], report["valid"], report["invalid"], report["with_warnings"]) == (150, 130, 20, 1)
    assert report["schema"] == "market-supervision/enterprise-registration"
    assert [(f["kind"], f["records"], f["invalid"]) for f in report["files"]] == [("json", 150, 20)]
    assert field_summary(report) == ENTERPRISE_FIELDS

    org = find_issue(report, "/uscc", "format", code="org-code-check")
    assert org["count"] == 5 and org["codes"] == {"org-code-check": 5} and org["expected"] == "cn-uscc"
    assert BLOG_USCC in org["examples"]
    lower = find_issue(report, "/uscc", "format", code="lowercase")
    assert lower["count"] == 2 and all(e != e.upper() for e in lower["examples"])
    legacy = find_issue(report, "/uscc", "format", code="legacy-check-char", severity="warning")
    assert legacy["count"] == 1 and legacy["examples"] == [LEGACY_FUJIAN_USCC]
    dates = find_issue(report, "/establishedDate", "format")
    assert dates["expected"] == "date" and all(re.fullmatch(r"[0-9]{8}", e) for e in dates["examples"])
    capital = find_issue(report, "/registeredCapital", "type")
    assert set(capital["examples"]) == {"100万元", "9339.2296万元人民币", "300万元"}
    status = find_issue(report, "/status", "enum")
    assert set(status["examples"]) == {"正常", "开业", "在营（开业）企业"}
    # locations are file:index (1-based element of the array)
    assert all(re.fullmatch(r".*enterprises\.json:[0-9]+", loc) for loc in status["locations"])
    assert "150 records: 130 valid, 20 invalid, 1 valid with warnings" in result.stdout


def test_ndjson_sample_counts_the_two_broken_lines_as_parse(cli, tmp_path):
    result, report = run_json(cli, tmp_path, SAMPLES / "enterprises.ndjson", "--spec", MARKET, *ITF)
    assert result.exit_code == 1, result
    # 152 lines: the 150 records plus a `null` line and a record cut off mid-line
    assert (report["records"], report["valid"], report["invalid"], report["with_warnings"]) == (152, 130, 22, 1)
    assert report["files"][0]["kind"] == "ndjson"
    assert field_summary(report) == {**ENTERPRISE_FIELDS, "": (2, 0, {"parse": 2})}
    parse = find_issue(report, "", "parse")
    assert parse["count"] == 2 and parse["expected"] == "a JSON object"
    assert parse["locations"][0].endswith("enterprises.ndjson:62")  # the `null` line
    # the record lines keep their line numbers (the truncated line 119 is between defects)
    status = find_issue(report, "/status", "enum")
    assert [loc.rsplit(":", 1)[1] for loc in status["locations"]] == ["5", "51", "145"]


def test_ndjson_parse_errors_fixture(cli, tmp_path):
    # line 1 valid, 2 `null`, 3 blank (skipped), 4 truncated, 5 an array, 6 valid
    result, report = run_json(cli, tmp_path, DATA / "parse-errors.ndjson", "--spec", MARKET, *ITF)
    assert result.exit_code == 1, result
    assert (report["records"], report["valid"], report["invalid"]) == (5, 2, 3)
    assert field_summary(report) == {"": (3, 0, {"parse": 3})}


def test_parse_example_of_a_null_line_is_json_text(cli, tmp_path):
    _result, report = run_json(cli, tmp_path, DATA / "parse-errors.ndjson", "--spec", MARKET, *ITF)
    parse = find_issue(report, "", "parse")
    assert "null" in parse["examples"] and "None" not in parse["examples"]


# The tax bureau's CSV (README): 21 invalid rows, 1 valid with a warning, 98 clean.
TAX_FIELDS = {
    "/establishedDate": (7, 0, {"format": 7}),  # 4 YYYY-MM-DD + 2 Excel 1994/3/15 (syntax) + 1 20190230 (not-a-date)
    "/status": (4, 0, {"enum": 4}),
    "/registeredCapital": (3, 0, {"type": 3}),
    "/uscc": (5, 1, {"format": 6}),
    "/registeredAddress": (2, 0, {"required": 2}),
}


def check_tax_report(report: dict[str, Any]) -> None:
    assert (report["records"], report["valid"], report["invalid"], report["with_warnings"]) == (120, 99, 21, 1)
    assert report["schema"] == "tax/enterprise-registration"
    assert field_summary(report) == TAX_FIELDS
    assert find_issue(report, "/establishedDate", "format", code="syntax")["count"] == 6
    assert find_issue(report, "/establishedDate", "format", code="not-a-date")["examples"] == ["20190230"]
    assert find_issue(report, "/uscc", "format", code="org-code-check")["count"] == 3
    assert find_issue(report, "/uscc", "format", code="lowercase")["examples"] == ["91210102415276922p"]
    # README says code `length` for 9.13301E+17; the tool's more specific `excel-number` (explain_uscc tests
    # scientific notation before the length, with a fix in the hint) is right: the README is stale there.
    excel = find_issue(report, "/uscc", "format", code="excel-number")
    assert excel["examples"] == ["9.13301E+17"] and "text" in excel["suggestion"]
    assert find_issue(report, "/uscc", "format", severity="warning")["examples"] == [LEGACY_FUJIAN_USCC]
    status = find_issue(report, "/status", "enum")
    assert set(status["examples"]) >= {"1", "在业", "迁出"} and "leading zero" in status["suggestion"]
    capital = find_issue(report, "/registeredCapital", "type")
    assert set(capital["examples"]) == {"500万元", "500万元人民币", "100万"}
    # the header is line 1: rows are numbered as the file's lines
    assert all(re.fullmatch(r".*\.csv:[0-9]+", loc) and int(loc.rsplit(":", 1)[1]) >= 2 for loc in status["locations"])


def test_csv_gb18030_sample(cli, tmp_path):
    result, report = run_json(cli, tmp_path, SAMPLES / "tax-enterprise-sample.csv", "--spec", TAX)
    assert result.exit_code == 1, result
    assert [(f["kind"], f["encoding"]) for f in report["files"]] == [("csv", "gb18030")]
    check_tax_report(report)
    assert "csv (gb18030), 120 records, 21 invalid" in result.stdout


def test_csv_utf8_bom_sample_gives_the_same_numbers_as_gb18030(cli, tmp_path):
    result, bom = run_json(cli, tmp_path, SAMPLES / "tax-enterprise-sample-utf8-bom.csv", "--spec", TAX, name="bom.json")
    assert result.exit_code == 1, result
    assert bom["files"][0]["encoding"] == "utf-8-sig"
    check_tax_report(bom)
    _, gb = run_json(cli, tmp_path, SAMPLES / "tax-enterprise-sample.csv", "--spec", TAX, name="gb.json")
    assert normalised(bom) == normalised(gb)


def test_csv_explicit_encoding_gb18030(cli, tmp_path):
    result, report = run_json(cli, tmp_path, SAMPLES / "tax-enterprise-sample.csv", "--spec", TAX, "--encoding", "gb18030")
    assert result.exit_code == 1, result
    assert report["files"][0]["encoding"] == "gb18030"
    check_tax_report(report)
    # a small clean GB18030 file: Chinese names decode, every row valid
    result, report = run_json(cli, tmp_path, DATA / "gb18030-rows.csv", "--spec", TAX, "--encoding", "gb18030", name="small.json")
    assert result.exit_code == 0, result
    assert (report["records"], report["valid"], report["invalid"], report["issues"]) == (2, 2, 0, [])


def test_csv_with_bom_and_explicit_utf8_encoding(cli, tmp_path):
    result, report = run_json(cli, tmp_path, SAMPLES / "tax-enterprise-sample-utf8-bom.csv", "--spec", TAX, "--encoding", "utf-8")
    assert result.exit_code == 1, result
    check_tax_report(report)


def test_several_data_files_in_one_run(cli, tmp_path):
    result, report = run_json(cli, tmp_path, SAMPLES / "enterprises.json", SAMPLES / "enterprises.ndjson", "--spec", MARKET, *ITF)
    assert result.exit_code == 1, result
    assert [(Path(f["path"]).name, f["kind"], f["records"], f["invalid"]) for f in report["files"]] == [
        ("enterprises.json", "json", 150, 20), ("enterprises.ndjson", "ndjson", 152, 22)]
    assert (report["records"], report["valid"], report["invalid"], report["with_warnings"]) == (302, 260, 42, 2)
    assert report["fields"]["/uscc"] == {"errors": 14, "warnings": 2, "kinds": {"format": 16}}


def test_csv_row_with_a_wrong_number_of_cells_is_parse_invalid_not_bad_input(cli, tmp_path):
    # CsvSource yields Unparsable for such a row (the file goes on); the engine counts it invalid under "".
    # ragged-row.csv: header, valid row, a row with 7 cells, a row with 9 cells, valid row.
    result, report = run_json(cli, tmp_path, DATA / "ragged-row.csv", "--spec", TAX)
    assert result.exit_code == 1, result
    assert (report["records"], report["valid"], report["invalid"]) == (4, 2, 2)
    assert field_summary(report) == {"": (2, 0, {"parse": 2})}
    parse = find_issue(report, "", "parse")
    assert "cells where the header has 8" in parse["message"]
    name = parse["locations"][0].rsplit(":", 1)[0]
    assert parse["locations"] == [f"{name}:3", f"{name}:4"]  # no value to show: every place, up to --max-examples


# The insured persons (README): 12 invalid, 2 valid with warnings (lower-case x), 86 clean.
PERSON_FIELDS = {
    "/employerUscc": (2, 0, {"required": 2}),
    "/gender": (2, 0, {"enum": 2}),
    "/idNumber": (5, 2, {"format": 7}),
    "/mobile": (2, 0, {"format": 2}),
    "/address/postcode": (1, 0, {"format": 1}),
    "/birthDate": (1, 0, {"format": 1}),
}


def test_xlsx_sample(cli, tmp_path):
    result, report = run_json(cli, tmp_path, SAMPLES / "insured-persons.xlsx", "--spec", SOCIAL)
    assert result.exit_code == 1, result
    assert (report["records"], report["valid"], report["invalid"], report["with_warnings"]) == (100, 88, 12, 2)
    assert [(f["kind"], f["encoding"]) for f in report["files"]] == [("xlsx", "sheet 参保人员")]
    assert field_summary(report) == PERSON_FIELDS
    for code, count in (("legacy-15", 2), ("check-char", 2), ("birth-date", 1)):
        assert find_issue(report, "/idNumber", "format", code=code)["count"] == count
    assert find_issue(report, "/idNumber", "format", code="lowercase-x", severity="warning")["count"] == 2
    assert find_issue(report, "/mobile", "format", code="country-prefix")["count"] == 2
    # the flattened column address/postcode is the nested field /address/postcode, kept as text
    assert find_issue(report, "/address/postcode", "format", code="leading-zero")["examples"] == ["10020"]
    assert find_issue(report, "/birthDate", "format")["examples"] == ["1990-02-30"]
    # the workbook holds the same rows as the UTF-8 CSV: same report
    _, from_csv = run_json(cli, tmp_path, SAMPLES / "insured-persons.csv", "--spec", SOCIAL, name="csv.json")
    xlsx, csv_ = normalised(report), normalised(from_csv)
    xlsx["files"][0].pop("kind")
    csv_["files"][0].pop("kind")
    assert xlsx == csv_


def test_xlsx_sheet_by_name(cli, tmp_path):
    result, report = run_json(cli, tmp_path, SAMPLES / "insured-persons.xlsx", "--spec", SOCIAL, "--sheet", "参保人员")
    assert result.exit_code == 1, result
    assert (report["records"], report["invalid"]) == (100, 12)


def test_xlsx_missing_sheet_is_bad_input_listing_the_sheets(cli):
    result = cli("validate", SAMPLES / "insured-persons.xlsx", "--spec", SOCIAL, "--sheet", "Sheet9")
    assert result.exit_code == 2, result
    assert "insured-persons.xlsx" in result.stderr and "'Sheet9'" in result.stderr
    assert "sheets: 参保人员" in result.stderr
    assert "Traceback" not in result.output


def test_single_pretty_printed_object_is_one_record(cli, tmp_path):
    rec = enterprise(random.Random(1), 0)
    path = tmp_path / "one.json"
    path.write_text(json.dumps(rec, ensure_ascii=False, indent=2), encoding="utf-8")
    result, report = run_json(cli, tmp_path, path, "--spec", MARKET, *ITF)
    assert result.exit_code == 0, result
    assert (report["records"], report["valid"], report["files"][0]["kind"]) == (1, 1, "json")


# --------------------------------------------------------------------------- the report files


def test_json_out_shape(cli, tmp_path):
    _, report = run_json(cli, tmp_path, SAMPLES / "enterprises.ndjson", "--spec", MARKET, *ITF)
    assert report["schema_version"] == 1 and type(report["schema_version"]) is int
    assert report["records"] == report["valid"] + report["invalid"]
    assert report["records"] == sum(f["records"] for f in report["files"])
    assert report["invalid"] == sum(f["invalid"] for f in report["files"])
    assert report["masked"] is True
    issue_totals: Counter = Counter()
    for issue in report["issues"]:
        assert {"field", "kind", "expected", "count", "examples", "message", "severity"} <= issue.keys()
        assert isinstance(issue["count"], int) and issue["count"] > 0
        assert isinstance(issue["message"], str) and issue["message"]
        assert isinstance(issue["examples"], list) and len(issue["examples"]) <= 3  # --max-examples 3
        assert all(isinstance(e, str) for e in issue["examples"])
        issue_totals[(issue["field"], issue["kind"], issue["severity"])] += issue["count"]
    for pointer, entry in report["fields"].items():
        assert pointer == "" or pointer.startswith("/")  # JSON Pointers
        assert entry["errors"] + entry["warnings"] == sum(entry["kinds"].values())
        for kind, n in entry["kinds"].items():
            assert issue_totals[(pointer, kind, "error")] + issue_totals[(pointer, kind, "warning")] == n
    # every issue's field is a key of fields
    assert {i["field"] for i in report["issues"]} == set(report["fields"])


def test_max_examples_is_honoured(cli, tmp_path):
    _, report = run_json(cli, tmp_path, SAMPLES / "enterprises.json", "--spec", MARKET, *ITF, "--max-examples", "1")
    assert max(len(i["examples"]) for i in report["issues"]) == 1
    assert find_issue(report, "/uscc", "format", code="org-code-check")["count"] == 5  # counts are not capped


def test_md_and_csv_out(cli, tmp_path):
    md, csv_out, js = tmp_path / "r.md", tmp_path / "r.csv", tmp_path / "r.json"
    result = cli("validate", SAMPLES / "enterprises.json", "--spec", MARKET, *ITF,
                 "--json-out", js, "--md-out", md, "--csv-out", csv_out)
    assert result.exit_code == 1, result
    for p in (js, md, csv_out):
        assert f"wrote {p}" in result.stderr.replace("\n", "")
    report = json.loads(js.read_text(encoding="utf-8"))

    text = md.read_text(encoding="utf-8")
    assert text.startswith("# Field format report: market-supervision/enterprise-registration")
    assert "**130 valid**" in text and "**20 invalid**" in text
    for pointer in report["fields"]:
        assert f"`{pointer}`" in text
    assert "万元" in text and "date-compact" in text  # the suggestions travel to the department

    raw = csv_out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["field", "kind", "severity", "expected", "count", "examples", "locations", "message", "suggestion",
                       "generated_at", "mvptest_version", "specs", "data_files", "adapters"]  # issue 13: provenance
    body = rows[1:]
    assert len(body) == len(report["issues"])
    assert {r[0] for r in body} == set(report["fields"])
    assert [(r[0], r[1], r[2], int(r[4])) for r in body] == [
        (i["field"], i["kind"], i["severity"], i["count"]) for i in report["issues"]
    ]


# --------------------------------------------------------------------------- exit codes


def test_all_valid_file_exits_0(cli, tmp_path):
    rng = random.Random(20240312)
    path = write_ndjson(tmp_path / "clean.ndjson", [enterprise(rng, i) for i in range(50)])
    result, report = run_json(cli, tmp_path, path, "--spec", MARKET, *ITF)
    assert result.exit_code == 0, result
    assert (report["records"], report["valid"], report["invalid"], report["issues"], report["fields"]) == (50, 50, 0, [], {})
    assert "all valid" in result.stdout


def test_one_invalid_record_exits_1(cli, tmp_path):
    rng = random.Random(7)
    recs = [enterprise(rng, i) for i in range(5)]
    recs[2]["status"] = "正常"
    result, report = run_json(cli, tmp_path, write_ndjson(tmp_path / "one-bad.ndjson", recs), "--spec", MARKET, *ITF)
    assert result.exit_code == 1, result
    assert (report["valid"], report["invalid"]) == (4, 1)
    assert find_issue(report, "/status", "enum")["locations"][0].endswith("one-bad.ndjson:3")


def _bad_input_cases():
    enterprises = SAMPLES / "enterprises.json"
    gb_rows = DATA / "gb18030-rows.csv"
    return [
        pytest.param(["/nonexistent/nope.json", "--spec", MARKET, *ITF], ["nope.json", "no such file"], id="missing-data-file"),
        pytest.param([DATA, "--spec", MARKET, *ITF], ["is a directory"], id="data-is-a-directory"),
        pytest.param([enterprises, "--spec", DATA / "malformed-spec.yaml"], ["malformed-spec.yaml:3", "YAML"], id="malformed-spec"),
        pytest.param([enterprises, "--spec", "/nonexistent/spec.yaml"], ["spec.yaml"], id="missing-spec"),
        pytest.param([enterprises, "--spec", MARKET, "--schema", MARKET_SCHEMA], ["exactly one of --spec or --schema"], id="spec-and-schema"),
        pytest.param([enterprises], ["exactly one of --spec or --schema"], id="neither-spec-nor-schema"),
        pytest.param([enterprises, "--schema", MARKET_SCHEMA, *ITF], ["--interface needs --spec"], id="interface-without-spec"),
        pytest.param([enterprises, "--spec", MARKET, "--interface", "nope"],
                     ["enterprise-registration.yaml", "no interface 'nope'", "enterprise-registration, enterprise-search"],
                     id="unknown-interface"),
        pytest.param([enterprises, "--spec", MARKET],
                     ["enterprise-registration.yaml", "holds 2 interfaces", "--interface", "enterprise-registration, enterprise-search"],
                     id="several-interfaces-none-chosen"),
        pytest.param(
            [gb_rows, "--spec", TAX, "--encoding", "utf-8"], ["gb18030-rows.csv", "utf-8", "--encoding"],
            id="csv-not-decodable-with-named-encoding",
        ),
        pytest.param([DATA / "undecodable.csv", "--spec", TAX], ["undecodable.csv", "neither UTF-8 nor GB18030", "--encoding"],
                     id="csv-neither-utf8-nor-gb18030"),
        pytest.param([gb_rows, "--spec", TAX, "--encoding", "klingon"], ["unknown encoding 'klingon'"], id="unknown-encoding"),
        pytest.param([DATA / "old-excel.xls", "--spec", TAX], ["old-excel.xls", ".xls", ".xlsx or CSV"], id="xls"),
        pytest.param([DATA / "corrupt.xlsx", "--spec", TAX], ["corrupt.xlsx", "not a readable .xlsx"], id="corrupt-xlsx"),
        pytest.param([DATA / "truncated-array.json", "--spec", MARKET, *ITF], ["truncated-array.json", "not valid JSON"],
                     id="truncated-json-array"),
        pytest.param([enterprises, "--spec", MARKET, *ITF, "--jobs", "-1"], ["--jobs"], id="bad-option-value"),
    ]


@pytest.mark.parametrize("args, expected", _bad_input_cases())
def test_bad_input_exits_2_with_one_message_and_no_traceback(cli, tmp_path, args, expected):
    out = tmp_path / "report.json"
    result = cli("validate", *args, "--json-out", out)
    assert result.exit_code == 2, result
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    for text in expected:
        assert text in result.stderr, (text, result)
    assert not out.exists()  # no report for a run that did not happen


def test_valid_records_before_a_truncated_array_are_not_reported_as_a_result(cli, tmp_path):
    # The error names the file and how far it got; the run does not pretend to have a result.
    result = cli("validate", DATA / "truncated-array.json", "--spec", MARKET, *ITF)
    assert result.exit_code == 2, result
    assert "after element 1" in result.stderr
    assert "records:" not in result.stdout


# --------------------------------------------------------------------------- masking

SECRET_NAME = "欧阳锋锋"


def test_sensitive_field_is_masked_everywhere_unless_no_mask(cli, tmp_path):
    rng = random.Random(11)
    recs = [enterprise(rng, i) for i in range(3)]
    recs[1]["legalRepresentative"] = [SECRET_NAME]  # /legalRepresentative is sensitive in the spec, and invalid here
    data = write_ndjson(tmp_path / "sensitive.ndjson", recs)
    result, texts = all_outputs(cli, tmp_path, data, "--spec", MARKET, *ITF, tag="masked")
    assert result.exit_code == 1, result
    report = json.loads(texts["json"])
    issue = find_issue(report, "/legalRepresentative", "type")
    assert issue["examples"] and "*" in issue["examples"][0]
    for where, text in texts.items():
        assert SECRET_NAME not in text, where
        assert SECRET_NAME[1:] not in text, where

    result, texts = all_outputs(cli, tmp_path, data, "--spec", MARKET, *ITF, "--no-mask", tag="plain")
    assert result.exit_code == 1, result
    assert json.loads(texts["json"])["masked"] is False
    for where in ("stdout", "json", "md", "csv"):
        assert SECRET_NAME in texts[where], where


def _id_schema(tmp_path: Path) -> Path:
    # a bare schema: idNo is personal by its format only; nothing names it sensitive
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["idNo"],
        "properties": {"idNo": {"type": "string", "format": "cn-resident-id"}, "note": {"type": "string"}},
    }
    path = tmp_path / "person.schema.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    return path


def test_resident_id_values_are_masked_everywhere_unless_no_mask(cli, tmp_path):
    rng = random.Random(5)
    good = REGISTRY["cn-resident-id"].generate(rng)
    wrong_check = good[:17] + next(c for c in "0123456789X" if c != good[17])
    legacy15 = good[:6] + good[8:17]
    lower_x = None
    while lower_x is None:
        candidate = REGISTRY["cn-resident-id"].generate(rng)
        if candidate.endswith("X"):
            lower_x = candidate[:-1] + "x"
    bad_charset = good[:10] + "AB" + good[12:]  # does not even look like an ID number
    planted = [wrong_check, legacy15, lower_x, bad_charset]
    data = write_ndjson(tmp_path / "ids.ndjson", [{"idNo": v, "note": "x"} for v in [good, *planted]])
    schema = _id_schema(tmp_path)

    result, texts = all_outputs(cli, tmp_path, data, "--schema", schema, tag="masked")
    assert result.exit_code == 1, result
    report = json.loads(texts["json"])
    assert (report["records"], report["invalid"]) == (5, 4)  # lower-case x is an error without format options
    assert sum(len(i["examples"]) for i in report["issues"]) == 4
    for where, text in texts.items():
        for value in planted:
            assert value not in text, (where, value)
            assert value[3:-3] not in text, (where, value)

    result, texts = all_outputs(cli, tmp_path, data, "--schema", schema, "--no-mask", tag="plain")
    for where in ("stdout", "json", "md", "csv"):
        for value in planted:
            assert value in texts[where], (where, value)


def test_xlsx_sample_never_shows_an_id_number_or_mobile_unmasked(cli, tmp_path):
    # every ID number and mobile of the sample (valid or not), read from the CSV twin of the workbook
    with (SAMPLES / "insured-persons.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    secrets = {r["idNumber"] for r in rows} | {r["mobile"] for r in rows if r["mobile"]} | {r["name"] for r in rows}
    result, texts = all_outputs(cli, tmp_path, SAMPLES / "insured-persons.xlsx", "--spec", SOCIAL, tag="x")
    assert result.exit_code == 1, result
    for where, text in texts.items():
        leaked = sorted(s for s in secrets if s in text and len(s) > 2)
        assert not leaked, (where, leaked)
    result, texts = all_outputs(cli, tmp_path, SAMPLES / "insured-persons.xlsx", "--spec", SOCIAL, "--no-mask", tag="y")
    assert any(r["idNumber"] in texts["json"] for r in rows)


def test_resident_id_inside_a_non_object_record_is_masked(cli, tmp_path):
    secret = REGISTRY["cn-resident-id"].generate(random.Random(3))
    data = write_ndjson(tmp_path / "arr.ndjson", [[secret], secret])
    result, texts = all_outputs(cli, tmp_path, data, "--schema", _id_schema(tmp_path), tag="m")
    assert result.exit_code == 1, result
    for where, text in texts.items():
        assert secret not in text, where


# --------------------------------------------------------------------------- warnings and suggestions


def _legacy_record() -> dict[str, Any]:
    rec = enterprise(random.Random(9), 0)
    rec["uscc"], rec["divisionCode"] = LEGACY_FUJIAN_USCC, "350100"
    return rec


def test_legacy_credit_code_is_a_warning_under_the_spec(cli, tmp_path):
    data = write_ndjson(tmp_path / "legacy.ndjson", [_legacy_record()])
    result, report = run_json(cli, tmp_path, data, "--spec", MARKET, *ITF)
    assert result.exit_code == 0, result  # warnings allowed
    assert (report["records"], report["valid"], report["invalid"], report["with_warnings"]) == (1, 1, 0, 1)
    issue = find_issue(report, "/uscc", "format", code="legacy-check-char", severity="warning")
    assert issue["examples"] == [LEGACY_FUJIAN_USCC]
    assert report["fields"]["/uscc"] == {"errors": 0, "warnings": 1, "kinds": {"format": 1}}
    assert "(warning)" in result.stdout and "1 valid with warnings" in result.stdout


def test_legacy_credit_code_is_an_error_under_a_bare_schema(cli, tmp_path):
    data = write_ndjson(tmp_path / "legacy.ndjson", [_legacy_record()])
    result, report = run_json(cli, tmp_path, data, "--schema", MARKET_SCHEMA)
    assert result.exit_code == 1, result
    assert (report["valid"], report["invalid"], report["with_warnings"]) == (0, 1, 0)
    issue = find_issue(report, "/uscc", "format", code="legacy-check-char")
    assert issue["severity"] == "error"


def test_suggestions_for_a_compact_date_and_an_amount_in_wan(cli, tmp_path):
    rng = random.Random(3)
    a, b = enterprise(rng, 0), enterprise(rng, 1)
    a["establishedDate"] = "20190312"
    b["registeredCapital"] = "500万元"
    data = write_ndjson(tmp_path / "suggest.ndjson", [a, b])
    result, report = run_json(cli, tmp_path, data, "--spec", MARKET, *ITF)
    assert result.exit_code == 1, result
    date = find_issue(report, "/establishedDate", "format")
    assert date["expected"] == "date" and date["examples"] == ["20190312"]
    assert "date-compact" in date["suggestion"]
    capital = find_issue(report, "/registeredCapital", "type")
    assert capital["expected"] == "number" and capital["examples"] == ["500万元"]
    assert "万元" in capital["suggestion"]
    assert "date-compact" in result.stdout


# --------------------------------------------------------------------------- parallel NDJSON


def _mixed_ndjson(path: Path, n: int) -> Path:
    """n lines of enterprise records with defects, warnings, blank and broken lines spread through the file."""
    rng = random.Random(20261123)
    lines = []
    for i in range(n):
        rec = enterprise(rng, i)
        k = i % 23
        if k == 3:
            rec["establishedDate"] = rec["establishedDate"].replace("-", "")
        elif k == 7:
            rec["registeredCapital"] = f"{rng.randrange(1, 999)}万元"
        elif k == 11:
            del rec["registeredAddress"]
        elif k == 13:
            rec["uscc"] = LEGACY_FUJIAN_USCC
        elif k == 17:
            rec["status"] = rng.choice(["正常", "开业"])
        elif k == 19:
            rec["uscc"] = rec["uscc"].lower()
        line = json.dumps(rec, ensure_ascii=False)
        if i % 97 == 5:
            line = "null"
        elif i % 131 == 9:
            line = line[:40]
        elif i % 151 == 2:
            lines.append("")
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_parallel_and_serial_runs_report_the_same(cli, tmp_path, monkeypatch):
    from mvptest.validation import engine

    data = _mixed_ndjson(tmp_path / "big.ndjson", 2000)
    monkeypatch.setattr(engine, "PARALLEL_MIN_BYTES", 1024)
    calls = []
    real = engine._ndjson_parallel

    def spy(*args, **kwargs):
        calls.append(args[5])  # jobs
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_ndjson_parallel", spy)
    r2, par = run_json(cli, tmp_path, data, "--spec", MARKET, *ITF, "--jobs", "2", name="par.json")
    assert calls == [2], "the parallel path did not run"
    r1, ser = run_json(cli, tmp_path, data, "--spec", MARKET, *ITF, "--jobs", "1", name="ser.json")
    assert calls == [2]
    assert r1.exit_code == r2.exit_code == 1
    for rep in (par, ser):
        rep.pop("seconds")
        rep.pop("records_per_second")
    assert par == ser  # counts, fields, issues, examples and their file:line locations
    blank = sum(1 for i in range(2000) if i % 151 == 2 and not (i % 97 == 5 or i % 131 == 9))
    assert ser["records"] == 2000 and blank > 0
    assert ser["fields"][""]["kinds"]["parse"] == sum(1 for i in range(2000) if i % 97 == 5 or i % 131 == 9)
    # line numbers are absolute in both: the first broken line is record i=5 (`null`), after one blank line (i=2)
    parse = find_issue(ser, "", "parse")
    assert parse["locations"][0].endswith("big.ndjson:7")


# --------------------------------------------------------------------------- cross-check with python-jsonschema


def _pointer(parts) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def test_validity_matches_python_jsonschema_on_the_enterprise_sample():
    from jsonschema import Draft202012Validator, FormatChecker

    from mvptest.validation.engine import choose_schema

    compiled = choose_schema(spec=MARKET, interface="enterprise-registration", schema=None).compiled
    checker = FormatChecker()  # jsonschema's own date, email, ... stay the reference; ours are added
    for name, fmt in REGISTRY.items():
        if name not in checker.checkers:
            checker.checks(name)(lambda v, f=fmt: not isinstance(v, str) or f.check(v))
    schema = compiled.bundled.schema
    Draft202012Validator.check_schema(schema)
    reference = Draft202012Validator(schema, format_checker=checker)

    records = json.loads((SAMPLES / "enterprises.json").read_text(encoding="utf-8"))
    tally: Counter = Counter()
    for index, rec in enumerate(records):
        theirs = sorted(reference.iter_errors(rec), key=lambda e: list(e.absolute_path))
        raw_valid = compiled.is_valid(rec)
        assert raw_valid == (not theirs), (index, [e.message for e in theirs])
        if raw_valid:
            tally["clean"] += 1
            continue
        ours = compiled.errors(rec)
        severities = {e.severity for e in ours}
        if "error" not in severities:  # warnings only: mvptest accepts the record, the reference does not
            tally["warning-only"] += 1
            assert [e.code for e in ours] == ["legacy-check-char"] and rec["uscc"] == LEGACY_FUJIAN_USCC
            continue
        tally["invalid"] += 1
        their_fields = set()
        for e in theirs:
            path = _pointer(e.absolute_path)
            if e.validator == "required":
                path += "/" + re.match(r"'(.+)' is a required property", e.message).group(1)
            their_fields.add((path, e.validator))
        our_fields = {(e.field, e.kind) for e in ours}
        assert our_fields == their_fields, index
    assert tally == {"clean": 129, "invalid": 20, "warning-only": 1}
