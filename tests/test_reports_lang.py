"""validate, compat, spec check and compare reports in Chinese and English, at 80 and 120 columns, with one
suggestion per cause and the provenance a department can send (issue 13, items 6, 7, 8)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import mvptest

ROOT = Path(__file__).resolve().parents[1]
SPECS = ROOT / "specs"
SAMPLES = SPECS / "samples"
MARKET = SPECS / "market-supervision" / "enterprise-registration.yaml"
TAX = SPECS / "tax" / "enterprise-registration.yaml"
SOCIAL = SPECS / "social-security" / "insured-person.yaml"
MEDICAL = SPECS / "medical-insurance" / "insured-person.yaml"
BOX = "│┃"


def mvptest_cmd(*args: Any, columns: int = 120, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m mvptest ...`` in a subprocess at a terminal width (COLUMNS), in the C locale unless --lang."""
    env = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES")}
    env.update(COLUMNS=str(columns), PYTHONIOENCODING="utf-8", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "mvptest", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=cwd, timeout=120)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def column_text(stdout: str, index: int) -> str:
    """The text of one column of a rich table, its folded lines joined (a cell wrapped, never cut, reads whole)."""
    out = []
    for line in stdout.splitlines():
        if line[:1] in BOX:
            cells = [c.strip() for c in line.replace("┃", "│").split("│")[1:-1]]
            if len(cells) > index:
                out.append(cells[index])
    return "".join(out)


# --------------------------------------------------------------------------- Chinese and English (item 6)


def test_validate_reports_in_chinese_keep_machine_json(tmp_path):
    md, csv_out, js = tmp_path / "r.md", tmp_path / "r.csv", tmp_path / "r.json"
    r = mvptest_cmd("--lang", "zh-CN", "validate", SAMPLES / "tax-enterprise-sample.csv", "--spec", TAX,
                    "--md-out", md, "--csv-out", csv_out, "--json-out", js)
    assert r.returncode == 1, r.stderr
    assert "120 条记录：99 条有效" in r.stdout and "字段" in r.stdout
    text = md.read_text("utf-8")
    assert text.startswith("# 字段格式报告：tax/enterprise-registration")
    assert "Field format report" not in text and "records checked" not in text
    rows = list(csv.reader(io.StringIO(csv_out.read_bytes().decode("utf-8-sig"))))
    assert rows[0][:5] == ["字段", "问题类型", "级别", "期望", "数量"]
    data = json.loads(js.read_text("utf-8"))  # JSON keys are never translated
    assert {"records", "valid", "invalid", "issues", "fields", "provenance"} <= set(data)
    assert (data["records"], data["valid"], data["invalid"]) == (120, 99, 21)
    assert {"field", "kind", "count", "examples", "message"} <= set(data["issues"][0])


def test_compat_markdown_speaks_one_language_at_a_time(tmp_path):
    en, zh = tmp_path / "en.md", tmp_path / "zh.md"
    assert mvptest_cmd("--lang", "en", "compat", MARKET, TAX, "--md-out", en).returncode == 1
    assert mvptest_cmd("compat", MARKET, TAX, "--md-out", zh, "--lang", "zh-CN").returncode == 1
    english, chinese = en.read_text("utf-8"), zh.read_text("utf-8")
    assert english.startswith("# Format-issue report") and "接口字段格式问题报告" not in english
    assert "需求方" not in english and "结论" not in english
    assert chinese.startswith("# 接口字段格式问题报告") and "Format-issue report" not in chinese
    assert "Consumer" not in chinese and "Verdict" not in chinese and "- 结论：**不兼容**" in chinese
    for text in (english, chinese):  # department and field names as the specs give them
        assert "税务局 ← 市场监督管理局" in text and "`/establishedDate` 成立日期" in text


def test_spec_check_summary_in_chinese():
    r = mvptest_cmd("--lang", "zh-CN", "spec", "check", SPECS / "tax")
    assert r.returncode == 0, r.stderr
    assert "2 个文件：0 个接口，2 个需求，0 个场景：通过" in r.stdout


# --------------------------------------------------------------------------- widths and markup (item 7)


LONG = "unifiedSocialCreditCodeOfTheLegalRepresentativesEmployer"


@pytest.fixture()
def awkward(tmp_path: Path) -> tuple[Path, Path]:
    """A schema with a field name longer than any column, a pattern rich would read as markup, and values that
    look like markup."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
              "required": [LONG], "properties": {LONG: {"type": "string", "pattern": "^[a-z0-9][0-9]+$"},
                                                 "note": {"type": "integer"}}}
    (tmp_path / "s.json").write_text(json.dumps(schema), "utf-8")
    records = [{LONG: "[bold]x[/bold]", "note": "[red]y[/]"}, {LONG: "a12"}, {LONG: "B1"}]
    (tmp_path / "d.ndjson").write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    return tmp_path / "s.json", tmp_path / "d.ndjson"


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_validate_at_80_columns_wraps_and_prints_markup_as_written(awkward, lang):
    schema, data = awkward
    r = mvptest_cmd("--lang", lang, "validate", data, "--schema", schema, columns=80)
    assert r.returncode == 1, r.stderr
    assert all(len(line) <= 80 for line in r.stdout.splitlines())
    joined = r.stdout.replace("\n", "")  # what folding split across lines reads whole again
    assert "/" + LONG in joined and "^[a-z0-9][0-9]+$" in joined
    assert "[bold]x[/bold]" in joined and "[red]y[/]" in joined
    assert "…" not in r.stdout and "..." not in r.stdout


def test_validate_at_120_columns_folds_cells_instead_of_cutting(awkward):
    schema, data = awkward
    r = mvptest_cmd("validate", data, "--schema", schema, columns=120)
    assert r.returncode == 1, r.stderr
    assert all(len(line) <= 120 for line in r.stdout.splitlines())
    assert "…" not in r.stdout
    assert "/" + LONG in column_text(r.stdout, 0)
    assert "^[a-z0-9][0-9]+$" in column_text(r.stdout, 2)
    assert "[bold]x[/bold]" in column_text(r.stdout, 4)


@pytest.mark.parametrize("columns", [80, 120])
def test_compat_tables_wrap_names_and_codes(columns):
    r = mvptest_cmd("--lang", "zh-CN", "compat", SOCIAL, MEDICAL, "--data", SAMPLES / "insured-persons.csv",
                    columns=columns)
    assert r.returncode == 1, r.stderr
    assert all(len(line) <= columns for line in r.stdout.splitlines())
    assert "…" not in r.stdout
    text = r.stdout.replace("\n", "") if columns < 120 else column_text(r.stdout, 0)
    assert "/employerUscc参保单位统一社会信用代码" in text.replace(" ", "")
    assert "医疗保障局 ← 人力资源和社会保障局" in r.stdout


# --------------------------------------------------------------------------- one suggestion per cause (item 8)


def _issue(report: dict[str, Any], field: str, kind: str) -> dict[str, Any]:
    return next(i for i in report["pairs"][0]["issues"] if i["field"] == field and i["kind"] == kind)


def test_compat_gives_each_cause_its_own_suggestion_and_examples(tmp_path):
    out = tmp_path / "c.json"
    mvptest_cmd("compat", SOCIAL, MEDICAL, "--data", SAMPLES / "insured-persons.csv", "--json-out", out)
    gender = _issue(json.loads(out.read_text("utf-8")), "/gender", "type-mismatch")
    causes = gender["evidence"]["causes"]
    convert = next(c for c in causes if "convert" in c["suggestion"])
    other = [c for c in causes if c is not convert]
    assert convert["count"] == 98 and "女" not in convert["examples"]  # README: 2 records carry 女
    assert [c["examples"] for c in other] == [["女"]] and other[0]["count"] == 2
    assert "convert" not in other[0]["suggestion"]

    mvptest_cmd("compat", MARKET, TAX, "--data", SAMPLES / "enterprises.json", "--json-out", out)
    uscc = _issue(json.loads(out.read_text("utf-8")), "/uscc", "format-mismatch")
    by_code = {c.get("code"): c for c in uscc["evidence"]["causes"]}
    # README: 3 + 2 org-code-check failures, 2 lower-case codes, 1 legacy Fujian code (its 18th character)
    assert {k: c["count"] for k, c in by_code.items()} == {"org-code-check": 5, "lowercase": 2, "legacy-check-char": 1}
    assert "upper-case" in by_code["lowercase"]["suggestion"]
    assert all(e != e.upper() for e in by_code["lowercase"]["examples"])
    assert "upper-case" not in by_code["org-code-check"]["suggestion"]
    assert all(e == e.upper() for e in by_code["org-code-check"]["examples"])


def test_compat_console_shows_a_line_per_cause():
    r = mvptest_cmd("compat", SOCIAL, MEDICAL, "--data", SAMPLES / "insured-persons.csv", columns=80)
    lines = r.stdout.replace("\n  ", "\n\0").replace("\n", " ").split("\0")
    convert = [x for x in lines if "convert the value to integer" in x]
    assert len(convert) == 1 and "女" not in convert[0] and "98 of 100" in convert[0]
    assert any("女" in x and "2 of 100" in x for x in lines)


def test_validate_keeps_the_examples_a_suggestion_explains(tmp_path):
    js = tmp_path / "v.json"
    mvptest_cmd("validate", SAMPLES / "tax-enterprise-sample.csv", "--spec", TAX, "--json-out", js)
    status = next(i for i in json.loads(js.read_text("utf-8"))["issues"] if i["field"] == "/status")
    assert status["count"] == 4
    (zero,) = status["suggestions"]  # README: 2 × "1" (a lost leading zero) and 2 provider texts (no suggestion)
    assert zero["count"] == 2 and zero["examples"] == ["1"] and "leading zero" in zero["suggestion"]
    assert "(2 of 4, e.g. 1)" in status["suggestion"]


# --------------------------------------------------------------------------- what a report rests on (item 8)


def test_validate_files_carry_date_version_and_hashes(tmp_path):
    data = SAMPLES / "tax-enterprise-sample.csv"
    js, md, csv_out = tmp_path / "v.json", tmp_path / "v.md", tmp_path / "v.csv"
    mvptest_cmd("validate", data, "--spec", TAX, "--json-out", js, "--md-out", md, "--csv-out", csv_out)
    prov = json.loads(js.read_text("utf-8"))["provenance"]
    assert prov["mvptest_version"] == mvptest.__version__ and prov["generated_at"][:2] == "20"
    (spec,) = prov["specs"]
    assert (spec["id"], spec["kind"], spec["sha256"]) == ("tax/enterprise-registration", "requirement", sha256(TAX))
    assert prov["data"] == [{"file": "specs/samples/tax-enterprise-sample.csv", "sha256": sha256(data)}]
    text = md.read_text("utf-8")
    assert sha256(TAX) in text and sha256(data) in text and f"mvptest {mvptest.__version__}" in text
    rows = list(csv.DictReader(io.StringIO(csv_out.read_bytes().decode("utf-8-sig"))))
    assert all(sha256(data) in row["data_files"] and sha256(TAX) in row["specs"] for row in rows)


def test_compat_files_name_specs_with_versions_and_the_adapter(tmp_path):
    adapter, js, md = tmp_path / "a.yaml", tmp_path / "c.json", tmp_path / "c.md"
    mvptest_cmd("compat", MARKET, TAX, "--suggest-adapter", adapter)
    mvptest_cmd("--lang", "zh-CN", "compat", MARKET, TAX, "--adapter", adapter, "--json-out", js, "--md-out", md)
    prov = json.loads(js.read_text("utf-8"))["provenance"]
    specs = {s["id"]: s for s in prov["specs"]}
    provider = specs["market-supervision/enterprise-registration"]
    assert provider["version"] == "1.0" and provider["sha256"] == sha256(MARKET)
    schema = SPECS / "market-supervision" / "schemas" / "enterprise.json"
    assert {"file": "specs/market-supervision/schemas/enterprise.json", "sha256": sha256(schema)} in provider["schemas"]
    assert specs["tax/enterprise-registration"]["sha256"] == sha256(TAX)
    assert [a["sha256"] for a in prov["adapters"]] == [sha256(adapter)]
    text = md.read_text("utf-8")
    assert "已应用适配器" in text and sha256(adapter) in text and "版本 1.0" in text
