"""The core sessions of compat, validate and spec check called directly with a Collect handler: every result arrives
as an event, nothing is printed; and compat's --params read like every other data input (GB18030 CSV)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mvptest.compat.session import CompatConfig, CompatReport, LiveSource, check_compat
from mvptest.compat.sources import load_params
from mvptest.errors import ExitCode, InputError
from mvptest.events import Collect, Item, Progress
from mvptest.spec.check import load_specs
from mvptest.spec.session import SpecCheckConfig, check_specs
from mvptest.validation.engine import ReadProgress
from mvptest.validation.session import ValidateConfig, validate_files

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
MARKET = SPECS / "market-supervision" / "enterprise-registration.yaml"
TAX = SPECS / "tax" / "enterprise-registration.yaml"
SAMPLES = SPECS / "samples"


def _items(collect: Collect, kind: str) -> list[object]:
    return [e.value for e in collect.events if isinstance(e, Item) and e.kind == kind]


def test_compat_session_hands_the_pair_results_to_a_collect_handler_and_prints_nothing(capfd):
    collect = Collect()
    report = check_compat(CompatConfig(specs=(MARKET, TAX), sandbox=True, samples=20), collect)
    assert capfd.readouterr() == ("", "")  # no console anywhere: the session only emits events
    assert collect.session is not None and collect.session.command == "compat"
    assert collect.result is report and isinstance(report, CompatReport) and not report.matrix
    pairs = _items(collect, "pair")
    assert pairs == report.pairs and len(pairs) == 1
    pair = pairs[0]
    assert (pair.provider.key, pair.consumer.key) == ("market-supervision/enterprise-registration", "tax/enterprise-registration")
    # the sandbox answers every sampled request with a record: 20 records, a Progress at 0 and every 10 (exact)
    assert pair.evidence is not None and pair.evidence.records == 20 and pair.evidence.requests == 20
    progress = [e.done for e in collect.events if isinstance(e, Progress)]
    assert progress == [0, 10, 20]
    assert {i.field for i in pair.errors} >= {"/establishedDate", "/registeredCapital", "/status"}
    assert report.exit_code == ExitCode.CHECK_FAILED


def test_compat_matrix_session_and_a_failed_session_finish_once():
    collect = Collect()
    report = check_compat(CompatConfig(all_dir=SPECS), collect)
    assert report.matrix and len(_items(collect, "pair")) == len(report.pairs) == 3  # the three pairs under specs/

    finishes: list[object] = []

    class Counting(Collect):
        def finish(self, result: object) -> None:
            finishes.append(result)

    with pytest.raises(InputError, match="no such file"):
        check_compat(CompatConfig(specs=(MARKET, TAX), data=ROOT / "nope.ndjson"), Counting())
    assert finishes == [None]  # told the session failed (a console stops its spinner), nothing to write


def test_validate_session_emits_one_item_per_file_and_finishes_with_the_summary(capfd):
    collect = Collect()
    config = ValidateConfig((SAMPLES / "enterprises.json", SAMPLES / "enterprises.ndjson"), spec=MARKET,
                            interface="enterprise-registration")
    summary = validate_files(config, collect)
    assert capfd.readouterr() == ("", "")
    assert collect.result is summary
    files = _items(collect, "file")
    assert [(f.path.rsplit("/", 1)[-1], f.records, f.invalid) for f in files] == [
        ("enterprises.json", 150, 20), ("enterprises.ndjson", 152, 22)]  # specs/samples/README.md's planted defects
    starts = [e for e in collect.events if isinstance(e, ReadProgress) and e.done == 0]
    assert [e.label for e in starts] == ["enterprises.json", "enterprises.ndjson"]
    assert summary.exit_code == ExitCode.CHECK_FAILED and summary.aggregator.records == 302


def test_spec_check_session_emits_every_problem():
    collect = Collect()
    bad = ROOT / "tests" / "data" / "bad" / "specs" / "duplicate-key.yaml"
    report = check_specs(SpecCheckConfig((bad,)), collect)
    problems = _items(collect, "problem")
    assert problems == report.problems and any("duplicate key 'method'" in p.message for p in problems)
    assert report.exit_code == ExitCode.BAD_INPUT
    assert check_specs(SpecCheckConfig((SPECS,)), Collect()).exit_code == ExitCode.OK


# --------------------------------------------------------------------------- --params, read as data


def _codes(n: int) -> list[str]:
    from mvptest.formats import cn

    codes = []
    for i in range(n):
        org = f"{i:08d}"
        body = "91110000" + org + cn.org_check_char(org)
        codes.append(body + cn.uscc_check_char(body))
    return codes


def test_params_csv_in_gb18030_as_excel_saves_it(tmp_path):
    codes = _codes(5)
    names = ["北京示例科技有限公司", "厦门海沧贸易有限公司", "重庆渝中餐饮有限公司", "武汉光谷软件有限公司",
             "郑州金水物流有限公司"]
    path = tmp_path / "params.csv"
    path.write_bytes(("uscc,企业名称\r\n" + "".join(f"{c},{n}\r\n" for c, n in zip(codes, names))).encode("gb18030"))
    assert load_params(path) == {"uscc": codes, "企业名称": names}


def test_params_json_shapes_and_refusals(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"uscc": ["a", "", "b"]}), "utf-8")
    assert load_params(one) == {"uscc": ["a", "b"]}  # one line: read as NDJSON; an empty value is no value
    one.write_text(json.dumps({"uscc": ["a", "b"], "name": ["甲"]}, ensure_ascii=False, indent=2), "utf-8")
    assert load_params(one) == {"uscc": ["a", "b"], "name": ["甲"]}  # the same object over several lines: JSON
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([{"uscc": "a", "n": 1}, {"uscc": "b"}]), "utf-8")
    assert load_params(rows) == {"uscc": ["a", "b"], "n": [1]}
    scalars = tmp_path / "scalars.json"
    scalars.write_text(json.dumps([1, 2]), "utf-8")
    with pytest.raises(InputError, match="expected a list of objects or an object of lists"):
        load_params(scalars)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("uscc,name\na,b\nc\n", "utf-8")
    with pytest.raises(InputError, match="1 cells where the header has 2") as info:
        load_params(ragged)
    assert str(info.value.where).endswith("ragged.csv:3")
    header_only = tmp_path / "header.csv"
    header_only.write_text("uscc\n", "utf-8")
    with pytest.raises(InputError, match="holds no parameter values"):
        load_params(header_only)


def test_live_sampling_sends_the_values_of_a_gb18030_params_file(tmp_path):
    """The values reach the provider decoded: Chinese text where a credit code belongs is what the sandbox refuses
    (400 naming the parameter), for every request, since the file holds nothing else."""
    from mvptest.sandbox.app import SandboxApp
    from mvptest.sandbox.server import SandboxThread

    path = tmp_path / "params.csv"
    path.write_bytes("uscc\r\n统一社会信用代码缺失\r\n代码待补\r\n".encode("gb18030"))
    itf = load_specs([MARKET]).interface("enterprise-registration")
    assert itf is not None
    thread = SandboxThread(SandboxApp([itf], seed=1))
    url = thread.start()
    try:
        config = CompatConfig(specs=(MARKET, TAX), live=LiveSource(url, rate=100, params=path), samples=6)
        report = check_compat(config, Collect())
    finally:
        thread.stop()
    evidence = report.pairs[0].evidence
    assert evidence is not None and (evidence.requests, evidence.records) == (6, 0)
    assert dict(evidence.unusable) == {"status 400": 6}
    assert report.exit_code == ExitCode.CHECK_FAILED  # no usable record: nothing supports a verdict
