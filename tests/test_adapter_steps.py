"""Adapter steps on edge values: dates cut in the consumer's time zone, pick from arrays, code prefixes."""

from __future__ import annotations

import json
import random
import textwrap
from pathlib import Path

import pytest

from mvptest.compat.adapter import Adapter, load_adapter
from mvptest.compat.fields import field_table
from mvptest.errors import ExitCode, SpecError
from mvptest.formats import REGISTRY, custom_checkers
from mvptest.spec.refs import BundledSchema

ROOT = Path(__file__).resolve().parents[1]


def table_of(schema: dict) -> dict:
    uri = "file:///provider.json"
    return field_table(BundledSchema(schema, uri, {uri: schema}))


def one(step: dict, record: dict) -> dict:
    return Adapter([step]).apply(record)


# --------------------------------------------------------------------------- date: cut in the consumer's time zone


@pytest.mark.parametrize("value, tz, expected", [
    ("2024-03-31T23:30:00Z", None, "2024-04-01"),        # 07:30 on 1 April in Beijing
    ("2024-03-31T15:59:59Z", None, "2024-03-31"),        # 23:59:59 in Beijing: still the 31st
    ("2024-03-31T16:00:00Z", None, "2024-04-01"),        # midnight in Beijing
    ("2024-03-31T23:30:00+08:00", None, "2024-03-31"),   # already Beijing time
    ("2024-04-01T07:59:59+08:00", "+00:00", "2024-03-31"),  # the other direction: UTC is still the 31st
    ("2024-04-01T08:00:00+08:00", "+00:00", "2024-04-01"),
    ("2024-03-31T23:30:00Z", "+00:00", "2024-03-31"),
    ("2024-03-31T23:30:00Z", "Z", "2024-03-31"),
    ("2024-03-31T20:00:00-05:00", None, "2024-04-01"),   # 09:00 on 1 April in Beijing
    ("2024-03-31T10:59:59-05:00", None, "2024-03-31"),   # 23:59:59 in Beijing
    ("2024-04-01T01:00:00+08:00", "-05:00", "2024-03-31"),  # a consumer in New York: 12:00 on the 31st
    ("2024-03-31t16:00:00.123456789z", None, "2024-04-01"),  # lower case, nine fraction digits
    ("2024-03-31 16:00:00.5Z", None, "2024-04-01"),      # a space instead of T
    ("2024-03-31T16:00Z", None, "2024-04-01"),           # no seconds
    ("2024-03-31T23:30:00", None, "2024-03-31"),         # no offset: already local in tz
    ("2024-03-31 23:30:00", "+00:00", "2024-03-31"),     # no offset, local in UTC: the text's date
    ("2024-12-31T16:00:00Z", None, "2025-01-01"),        # the year changes too
    ("2024-02-28T16:00:00Z", None, "2024-02-29"),        # a leap day
])
def test_date_time_to_date_is_cut_in_the_consumers_time_zone(value, tz, expected):
    step = {"field": "/paidAt", "from": "date-time", "to": "date", **({"tz": tz} if tz else {})}
    assert one({"date": step}, {"paidAt": value}) == {"paidAt": expected}
    compact = one({"date": {**step, "to": "date-compact"}}, {"paidAt": value})
    assert compact == {"paidAt": expected.replace("-", "")}


@pytest.mark.parametrize("value", ["2024-03-31T24:00:00Z", "2024-02-30T10:00:00Z", "2024-03-31", "yesterday", "",
                                   "2024-03-31T10:00:00+0800x", 20240331, None, True, ["2024-03-31T10:00:00Z"]])
def test_date_values_not_in_the_source_format_are_left_for_the_check(value):
    assert one({"date": {"field": "/d", "from": "date-time", "to": "date"}}, {"d": value}) == {"d": value}


@pytest.mark.parametrize("src, value, tz, expected", [
    ("date", "2024-03-31", None, "2024-03-31T00:00:00+08:00"),
    ("date", "2024-03-31", "-05:00", "2024-03-31T00:00:00-05:00"),
    ("date-compact", "20240331", "Z", "2024-03-31T00:00:00Z"),
    ("date-compact", "20240331", "+00:00", "2024-03-31T00:00:00+00:00"),
    ("date-compact", "20240230", None, "20240230"),  # no such day: unchanged
    ("date", "2024-3-31", None, "2024-3-31"),
])
def test_dates_to_date_time_write_midnight_with_the_stated_offset(src, value, tz, expected):
    step = {"field": "/d", "from": src, "to": "date-time", **({"tz": tz} if tz else {})}
    assert one({"date": step}, {"d": value}) == {"d": expected}
    assert REGISTRY["date-time"].check(expected) == (expected != value)


def test_date_step_reaches_every_array_item_and_leaves_the_input_alone():
    record = {"items": [{"t": "2024-03-31T16:00:00Z"}, {"t": "2024-03-31T15:00:00Z"}, {}, "x"]}
    out = one({"date": {"field": "/items/*/t", "from": "date-time", "to": "date-compact"}}, record)
    assert out == {"items": [{"t": "20240401"}, {"t": "20240331"}, {}, "x"]}
    assert record["items"][0]["t"] == "2024-03-31T16:00:00Z"


# --------------------------------------------------------------------------- pick: one element of an array


CONTRIBUTIONS = [
    {"period": "202401", "amount": 100},
    {"period": "2024-03", "amount": 300},          # the latest month, written another way
    {"period": "20240215", "amount": 200},
    {"amount": 999},                                # no period: cannot be ordered, skipped
    {"period": "unknown", "amount": 888},           # unparsable: skipped
    {"period": None, "amount": 777},
]


def pick(choose, by=None, record=None, **extra):
    args = {"from": "/contributions/*/amount", "to": "/latestContributionAmount", "choose": choose,
            **({"by": by} if by else {}), **extra}
    return one({"pick": args}, record if record is not None else {"contributions": CONTRIBUTIONS})


@pytest.mark.parametrize("choose, by, expected", [
    ("latest", "period", 300), ("earliest", "period", 100), ("latest", "/period", 300),
    ("first", None, 100), ("last", None, 777), (0, None, 100), (2, None, 200), (-1, None, 777), (-6, None, 100),
])
def test_pick_chooses_the_element(choose, by, expected):
    out = pick(choose, by)
    assert out["latestContributionAmount"] == expected
    assert out["contributions"] == CONTRIBUTIONS  # the array stays as it was


@pytest.mark.parametrize("record", [
    {"contributions": []}, {"contributions": None}, {}, {"contributions": "none"}, {"contributions": {"amount": 5}},
    {"contributions": [{"amount": 5}, {"period": "x", "amount": 6}]},       # no item can be ordered
    {"contributions": [{"period": "202401"}, {"period": "202402"}]},         # the latest item lacks the value
    {"contributions": [{"period": "202401", "amount": 1}, {"period": "202402", "amount": None}]},  # never null
])
def test_pick_leaves_the_target_absent_when_there_is_nothing_to_pick(record):
    out = pick("latest", "period", record)
    assert "latestContributionAmount" not in out
    assert out == record


@pytest.mark.parametrize("choose", [6, 7, -7, 100])
def test_pick_index_out_of_range_leaves_the_target_absent(choose):
    assert "latestContributionAmount" not in pick(choose)


def test_pick_orders_date_times_as_instants_across_offsets():
    items = [{"paidAt": "2024-04-01T10:00:00+08:00", "n": "beijing 02:00Z"},
             {"paidAt": "2024-03-31T23:00:00-05:00", "n": "new york 04:00Z"},   # later, though its text is smaller
             {"paidAt": "2024-04-01T03:00:00Z", "n": "utc 03:00Z"},
             {"paidAt": "2024-04-01", "n": "midnight in +08:00: 2024-03-31T16:00Z"},
             {"paidAt": "20240331", "n": "midnight in +08:00: 2024-03-30T16:00Z"}]
    args = {"from": "/payments/*/n", "to": "/n", "by": "paidAt"}
    assert one({"pick": {**args, "choose": "latest"}}, {"payments": items})["n"] == "new york 04:00Z"
    assert one({"pick": {**args, "choose": "earliest"}}, {"payments": items})["n"] == "midnight in +08:00: 2024-03-30T16:00Z"
    # with tz: -12:00 the bare date 2024-04-01 is 12:00Z, the latest: the Beijing payment is the earliest left
    assert one({"pick": {**args, "choose": "earliest", "tz": "-12:00"}}, {"payments": items[:4]})["n"] == "beijing 02:00Z"


def test_pick_ties_and_numbers():
    items = [{"seq": 2, "v": "a"}, {"seq": 10, "v": "b"}, {"seq": 10, "v": "c"}, {"seq": True, "v": "bool"},
             {"seq": 1.5, "v": "d"}]
    args = {"from": "/items/*/v", "to": "/v", "by": "seq"}
    assert one({"pick": {**args, "choose": "latest"}}, {"items": items})["v"] == "c"  # a tie goes to the later item
    assert one({"pick": {**args, "choose": "earliest"}}, {"items": items})["v"] == "d"
    mixed = [{"seq": 99, "v": "number"}, {"seq": "2024-01", "v": "date"}]  # dates and numbers: dates order
    assert one({"pick": {**args, "choose": "latest"}}, {"items": mixed})["v"] == "date"


def test_pick_an_item_itself_into_a_new_nested_object():
    record = {"tags": ["甲", {"k": 1}, "丙"], "person": {"name": "张三"}}
    out = one({"pick": {"from": "/tags/*", "to": "/summary/firstTag", "choose": "first"}}, record)
    assert out["summary"] == {"firstTag": "甲"}
    out = one({"pick": {"from": "/tags/*", "to": "/person/tag", "choose": 1}}, record)
    assert out["person"] == {"name": "张三", "tag": {"k": 1}}
    out["person"]["tag"]["k"] = 2
    assert record["tags"][1] == {"k": 1}  # a copy, not the provider's object


def test_pick_from_a_nested_array_and_relative_by():
    record = {"person": {"history": [{"pay": {"at": "2024-01-31T16:30:00Z"}, "code": "A"},
                                     {"pay": {"at": "2024-01-31T15:30:00Z"}, "code": "B"}]}}
    out = one({"pick": {"from": "/person/history/*/code", "to": "/lastCode", "choose": "latest", "by": "pay/at"}}, record)
    assert out["lastCode"] == "A"


# --------------------------------------------------------------------------- prefix


@pytest.mark.parametrize("value, expected", [
    ("110101001001", "110101"), ("1101010010", "110101"), ("110101", "110101"), ("11010", "11010"), ("", ""),
    (None, None), (110101001001, 110101001001), (True, True), (["110101001001"], ["110101001001"]),
])
def test_prefix_keeps_the_first_characters_of_strings_only(value, expected):
    assert one({"prefix": {"field": "/insuredRegion", "length": 6}}, {"insuredRegion": value}) == {"insuredRegion": expected}


def test_prefix_leaves_an_absent_field_absent():
    assert one({"prefix": {"field": "/insuredRegion", "length": 6}}, {"other": "110101001001"}) == {"other": "110101001001"}


# --------------------------------------------------------------------------- map: undecided codes


def test_map_with_undecided_null_and_object_values_never_hashes_them():
    values = {"正常缴费": "1", "中断缴费": None, "暂停": {"code": "3"}}  # null: DECIDE, written by --suggest-adapter
    step = {"map": {"field": "/status", "values": values}}
    adapter = Adapter([step])
    assert [adapter.apply({"status": s})["status"] for s in ("正常缴费", "中断缴费", "暂停", "其他")] == \
        ["1", "中断缴费", {"code": "3"}, "其他"]  # undecided: left as it is, so the check names the value
    table = table_of({"type": "object", "properties": {"status": {"type": "string", "enum": ["正常缴费", "中断缴费"]}}})
    out = adapter.apply_fields(table)["/status"].schema
    assert out["enum"] == ["1", "中断缴费"] and out["type"] == "string"
    table = table_of({"type": "object", "properties": {"status": {"enum": ["暂停", "正常缴费"]}}})
    assert adapter.apply_fields(table)["/status"].schema["enum"] == [{"code": "3"}, "1"]
    assert adapter.unknown_fields(table) == []


# --------------------------------------------------------------------------- the adapted field table

PROVIDER = {
    "type": "object",
    "required": ["contributions", "insuredRegion"],
    "properties": {
        "insuredRegion": {"type": "string", "title": "参保地统计区划", "format": "cn-stats-division",
                          "minLength": 12, "maxLength": 12, "pattern": "^[0-9]{12}$"},
        "contributions": {
            "type": "array", "minItems": 1, "title": "缴费记录",
            "items": {"type": "object", "required": ["period", "amount", "payer"],
                      "properties": {"period": {"type": "string", "format": "date-compact"},
                                     "amount": {"type": "number", "minimum": 0, "title": "缴费金额"},
                                     "note": {"type": ["string", "null"]},
                                     "payer": {"type": "object", "required": ["name"],
                                               "properties": {"name": {"type": "string"}}}}}},
        "optionalList": {"type": "array", "minItems": 3, "items": {"type": "object", "required": ["v"],
                                                                   "properties": {"v": {"type": "integer"}}}},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 4}},
    },
}


@pytest.mark.parametrize("args, required, parent_required, schema", [
    # the array always has an item and every item has amount and period: the target is always written
    ({"from": "/contributions/*/amount", "choose": "latest", "by": "period"}, True, True,
     {"type": "number", "minimum": 0, "title": "缴费金额"}),
    ({"from": "/contributions/*/amount", "choose": "first"}, True, True, None),
    ({"from": "/contributions/*/amount", "choose": -1}, True, True, None),
    ({"from": "/contributions/*/amount", "choose": 1}, False, True, None),   # minItems 1 does not promise item 1
    ({"from": "/contributions/*/note", "choose": "first"}, False, True, {"type": "string"}),  # null never written
    ({"from": "/contributions/*/payer/name", "choose": "last"}, True, True, {"type": "string"}),
    ({"from": "/contributions/*/note", "choose": "last"}, False, True, None),  # note is not required in an item
    ({"from": "/optionalList/*/v", "choose": 2}, False, True, {"type": "integer"}),  # the array itself is optional
    ({"from": "/tags/*", "choose": "first"}, False, True, {"type": "string", "maxLength": 4}),  # minItems 0
])
def test_pick_target_gets_the_item_schema_and_is_required_only_when_always_written(args, required, parent_required,
                                                                                  schema):
    adapted = Adapter([{"pick": {**args, "to": "/target"}}]).apply_fields(table_of(PROVIDER))
    f = adapted["/target"]
    assert (f.required, f.parent_required) == (required, parent_required)
    if schema is not None:
        assert f.schema == schema
    assert "/contributions/*/amount" in adapted  # the array is still served


def test_pick_of_an_object_item_carries_its_keys():
    adapted = Adapter([{"pick": {"from": "/contributions/*", "to": "/latest", "choose": "latest", "by": "period"}}]) \
        .apply_fields(table_of(PROVIDER))
    assert adapted["/latest"].types == {"object"} and adapted["/latest"].required
    assert adapted["/latest/amount"].required and adapted["/latest/amount"].parent_required
    assert adapted["/latest/payer/name"].schema == {"type": "string"}


def test_pick_with_by_that_items_may_lack_is_not_required():
    schema = json.loads(json.dumps(PROVIDER))
    schema["properties"]["contributions"]["items"]["required"] = ["amount"]
    adapted = Adapter([{"pick": {"from": "/contributions/*/amount", "to": "/t", "choose": "latest", "by": "period"}}]) \
        .apply_fields(table_of(schema))
    assert adapted["/t"].required is False


def test_prefix_turns_a_statistical_code_into_a_county_code_in_the_schema():
    adapted = Adapter([{"prefix": {"field": "/insuredRegion", "length": 6}}]).apply_fields(table_of(PROVIDER))
    assert adapted["/insuredRegion"].schema == {"type": "string", "title": "参保地统计区划", "format": "cn-admin-division",
                                                "minLength": 6, "maxLength": 6}
    nine = Adapter([{"prefix": {"field": "/insuredRegion", "length": 9}}]).apply_fields(table_of(PROVIDER))
    assert nine["/insuredRegion"].schema == {"type": "string", "title": "参保地统计区划", "minLength": 9, "maxLength": 9}
    kept = table_of({"type": "object", "properties": {"c": {"type": "string", "pattern": "^[0-9]+$", "maxLength": 4,
                                                            "enum": ["1101010", "110102", "1101"]}}})
    out = Adapter([{"prefix": {"field": "/c", "length": 6}}]).apply_fields(kept)["/c"].schema
    assert out == {"type": "string", "pattern": "^[0-9]+$", "maxLength": 4, "enum": ["110101", "110102", "1101"]}


def test_unknown_fields_knows_pick_targets_and_names_prefix_typos():
    adapter = Adapter([
        {"pick": {"from": "/contributions/*/amount", "to": "/latestAmount", "choose": "first"}},
        {"convert": {"field": "/latestAmount", "to": "string"}},
        {"pick": {"from": "/tags/*", "to": "/firstTag", "choose": "first"}},
        {"prefix": {"field": "/firstTag", "length": 2}},
        {"prefix": {"field": "/insuredRegoin", "length": 6}},
        {"pick": {"from": "/contribution/*/amount", "to": "/x", "choose": "first"}},
        {"normalize": {"field": "/x", "ops": ["trim"]}},
    ])
    notes = adapter.unknown_fields(table_of(PROVIDER))
    assert [n.split(" names ")[1].split(",")[0] for n in notes] == ["/insuredRegoin", "/contribution/*/amount", "/x"]
    assert notes[0].startswith("adapter step 5 (prefix)")


# --------------------------------------------------------------------------- the statistical division code format


def test_stats_division_format_codes():
    fmt = REGISTRY["cn-stats-division"]
    assert "cn-stats-division" in custom_checkers()
    rng = random.Random(7)
    for _ in range(200):
        code = fmt.generate(rng)
        assert fmt.check(code) and fmt.explain(code) is None and REGISTRY["cn-admin-division"].check(code[:6])
    cases = {"110101001001": None, "110101": "length", "11010100100": "length", "1101010010011": "length",
             "1101010010a1": "syntax", "１１０１０１００１００１": "syntax", " 110101001001": "syntax",
             "990101001001": "division", "110199001001": "division"}
    assert {v: (f.code if (f := fmt.explain(v)) else None) for v in cases} == cases
    assert {v: fmt.check(v) for v in cases} == {v: c is None for v, c in cases.items()}


def test_stats_division_is_asserted_by_validate(tmp_path, cli):
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"type": "object", "properties": {"r": {"type": "string", "format": "cn-stats-division"}}}))
    data = tmp_path / "d.ndjson"
    data.write_text("\n".join(json.dumps({"r": v}) for v in ("110101001001", "110101", "990101001001", "440305007002")))
    out = tmp_path / "o.json"
    r = cli("validate", data, "--schema", schema, "--json-out", out)
    assert r.exit_code == 1, r
    result = json.loads(out.read_text("utf-8"))
    assert (result["records"], result["valid"], result["invalid"]) == (4, 2, 2)
    assert result["fields"]["/r"]["errors"] == 2


# --------------------------------------------------------------------------- adapter files


ALL_STEPS = """\
kind: adapter
provider: social-security/contribution-record
consumer: tax/social-insurance-contribution
steps:
- date: {field: /paidAt, from: date-time, to: date-compact}
- date: {field: /paidAtUtc, from: date-time, to: date, tz: "+00:00"}
- date: {field: /birthDate, from: date, to: date-time, tz: Z}
- pick: {from: /contributions/*/amount, to: /latestContributionAmount, choose: latest, by: period}
- pick: {from: /contributions/*/period, to: /summary/firstPeriod, choose: earliest, by: /period}
- pick: {from: /contributions/*, to: /secondToLast, choose: -2}
- prefix: {field: /insuredRegion, length: 6}
- map: {field: /status, values: {正常缴费: '1', 中断缴费: null}}
"""


def test_an_adapter_file_with_every_new_step_loads_and_applies(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(ALL_STEPS, encoding="utf-8")
    adapter = load_adapter(path)
    assert len(adapter.steps) == 8
    record = {"paidAt": "2024-03-31T23:30:00Z", "paidAtUtc": "2024-03-31T23:30:00Z", "birthDate": "1990-05-06",
              "contributions": [{"period": "20240301", "amount": 800.5}, {"period": "20240101", "amount": 700},
                                {"period": "20240201", "amount": 750}],
              "insuredRegion": "440305007002", "status": "中断缴费"}
    out = adapter.apply(record)
    assert out == {**record, "paidAt": "20240401", "paidAtUtc": "2024-03-31", "birthDate": "1990-05-06T00:00:00Z",
                   "latestContributionAmount": 800.5, "summary": {"firstPeriod": "20240101"},
                   "secondToLast": {"period": "20240101", "amount": 700}, "insuredRegion": "440305", "status": "中断缴费"}
    assert REGISTRY["cn-admin-division"].check(out["insuredRegion"])


@pytest.mark.parametrize("step, line, message", [
    ("pick: {from: /contributions/amount, to: /t, choose: first}", 5, "exactly one array ('*'), /contributions/amount has 0"),
    ("pick: {from: /a/*/b/*/c, to: /t, choose: first}", 5, "/a/*/b/*/c has 2"),
    ("pick: {from: /a/*/b, to: /t/*/c, choose: first}", 5, "cannot go through an array"),
    ("pick: {from: /a/*/b, to: /t, choose: latest}", 5, "choose: latest needs by"),
    ("pick: {from: /a/*/b, to: /t, choose: earliest}", 5, "choose: earliest needs by"),
    ("pick: {from: /a/*/b, to: /t, choose: first, by: period}", 5, "by orders items only for choose: latest or earliest"),
    ("pick: {from: /a/*/b, to: /t, choose: newest}", 5, "steps[0].pick.choose"),
    ("pick: {from: /a/*/b, to: /t}", 5, "'choose' is a required property"),
    ("date: {field: /d, from: date-time, to: date, tz: '+8'}", 5, "not a UTC offset"),  # one message, the clearer
    ("date: {field: /d, from: date-time, to: date, tz: '+15:00'}", 5, "not a UTC offset from -14:00 to +14:00"),
    ("date: {field: /d, from: date-time, to: date, tz: '+08:75'}", 5, "not a UTC offset"),
    ("date: {field: /d, from: date-time, to: date, tz: Asia/Shanghai}", 5, "not a UTC offset"),
    ("date: {field: /d, from: date-time, to: date, tz: +10:00}", 5, "tz was read as the number 600"),
    ("prefix: {field: /r, length: 0}", 5, "less than the minimum of 1"),
    ("prefix: {field: /r}", 5, "'length' is a required property"),
])
def test_bad_new_steps_are_refused_with_the_files_line(tmp_path, step, line, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"kind: adapter\nprovider: p/i\nconsumer: c/i\nsteps:\n- {step}\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_adapter(path)
    err = info.value
    assert err.exit_code == ExitCode.BAD_INPUT
    assert any(message in p.message for p in err.problems), [p.message for p in err.problems]
    hit = next(p for p in err.problems if message in p.message)
    assert hit.where.path.endswith("bad.yaml") and hit.where.line == line


def test_a_bad_pick_exits_2_naming_the_file_and_line(tmp_path, cli):
    path = tmp_path / "a.yaml"
    path.write_text(textwrap.dedent("""\
        kind: adapter
        steps:
        - prefix: {field: /insuredRegion, length: 6}
        - pick: {from: /contributions/amount, to: /t, choose: latest}
        """), encoding="utf-8")
    r = cli("compat", ROOT / "specs/social-security/insured-person.yaml", ROOT / "specs/medical-insurance/insured-person.yaml",
            "--adapter", path)
    assert r.exit_code == 2, r
    lines = r.stderr.splitlines()
    assert len(lines) == 3 and lines[2] == "mvptest: 2 problem(s); nothing was run."
    assert lines[0].startswith(f"{path}:4:10: error: from must go through exactly one array ('*')")
    assert lines[1].startswith(f"{path}:4:3: error: choose: latest needs by")
    assert "Traceback" not in r.output
