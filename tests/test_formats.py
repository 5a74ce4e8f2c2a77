"""Format vectors from reference/cn-gov-formats.md, and property tests against python-stdnum and a plain
reference implementation written here from the weights in that document."""

from __future__ import annotations

import datetime
import random
import re

import pytest
import stdnum.cn.ric
import stdnum.cn.uscc
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mvptest.formats import REGISTRY, cn

# No example database: nothing is written into the project tree.
props = settings(database=None, deadline=None, max_examples=300)

# --------------------------------------------------------------------------- reference implementation
# Deliberately naive: sum(value * weight), written from the reference document, not from cn.py.

A31 = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
A36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_W = [3, 7, 9, 10, 5, 8, 4, 2]
RIC_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
# GB/T 2260 province prefixes; 10 is the national level inside a credit code, 83 the Taiwan residence permit.
PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83"}


def ref_uscc_sum(first17: str) -> int:
    return sum(A31.index(c) * w for c, w in zip(first17, USCC_W))


def ref_uscc_check(first17: str) -> str:
    return A31[(31 - ref_uscc_sum(first17) % 31) % 31]


def ref_org_check(body: str, alphabet: str = A36) -> str:
    c = 11 - sum(alphabet.index(ch) * w for ch, w in zip(body, ORG_W)) % 11
    return {10: "X", 11: "0"}.get(c, str(c))


def ref_uscc_valid(s: str) -> bool:
    if len(s) != 18 or any(c not in A31 for c in s):
        return False
    if not s[2:8].isdigit() or s[2:4] not in PROVINCES | {"10"}:
        return False
    return ref_org_check(s[8:16]) == s[16] and ref_uscc_check(s[:17]) == s[17]


def ref_ric_check(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, RIC_W)) % 11]


def ref_ric_valid(s: str) -> bool:
    if len(s) != 18 or any(c not in "0123456789" for c in s[:17]) or s[17] not in "0123456789X":
        return False
    if ref_ric_check(s[:17]) != s[17] or s[:2] not in PROVINCES:
        return False
    try:
        born = datetime.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return datetime.date(1800, 1, 1) <= born <= datetime.date.today()


def with_ric_check(first17: str) -> str:
    return first17 + ref_ric_check(first17)


def code_of(name: str, value: str) -> str | None:
    failure = REGISTRY[name].explain(value)
    return None if failure is None else failure.code


def test_registry_has_every_contract_format():
    for name in ("cn-uscc", "cn-resident-id", "cn-org-code", "cn-admin-division", "cn-mobile", "cn-postcode", "date-compact"):
        assert name in REGISTRY
        assert REGISTRY[name].generate is not None


# --------------------------------------------------------------------------- unified social credit code

VALID_USCC = ["91110000600037341L", "121200004013590816", "91310115MA1K3BTP2B", "91620105L015101280"]


@pytest.mark.parametrize("code", VALID_USCC)
def test_uscc_valid(code):
    assert cn.check_uscc(code)
    assert REGISTRY["cn-uscc"].check(code)
    assert REGISTRY["cn-uscc"].explain(code) is None
    assert ref_uscc_valid(code)
    assert stdnum.cn.uscc.is_valid(code)


def test_uscc_check_zero_needs_the_outer_mod():
    code = "91620105L015101280"
    assert ref_uscc_sum(code[:17]) == 1023 == 33 * 31
    assert cn.uscc_check_char(code[:17]) == "0"
    assert cn.check_uscc(code)


def test_uscc_blog_code_rejected():
    code = "91310115MA1H8R7C6D"
    assert not cn.check_uscc(code)
    assert not stdnum.cn.uscc.is_valid(code)  # the 18th character fails...
    assert ref_org_check(code[8:16]) != code[16]  # ...and so does the organisation code
    assert code_of("cn-uscc", code) == "org-code-check"


def test_uscc_legacy_fujian_code_is_reported_as_legacy():
    code = "91350100M0001TGQXM"
    assert not cn.check_uscc(code)
    assert ref_org_check(code[8:16]) == code[16]  # the organisation code is fine
    assert ref_uscc_check(code[:17]) != code[17]
    failure = REGISTRY["cn-uscc"].explain(code)
    assert failure is not None and failure.code == "legacy-check-char"
    assert ref_uscc_check(code[:17]) in failure.message  # says which character was expected


@pytest.mark.parametrize("letter", list("IOZSV"))
@pytest.mark.parametrize("position", [1, 9, 12])
def test_uscc_letters_outside_the_31_symbol_alphabet(letter, position):
    base = "91310115MA1K3BTP2B"
    code = base[:position] + letter + base[position + 1 :]
    assert not cn.check_uscc(code)
    assert not stdnum.cn.uscc.is_valid(code)
    failure = REGISTRY["cn-uscc"].explain(code)
    assert failure is not None and failure.code == "charset"
    assert repr(letter) in failure.message


@pytest.mark.parametrize("body", ["MA1K3BTP", "MA1H8R7C", "MA0000AB", "MA01A2B3", "L0151012"])
def test_uscc_org_code_check_uses_36_symbol_values(body):
    right, wrong = ref_org_check(body, A36), ref_org_check(body, A31)
    assert right != wrong  # the trap: the 31-symbol values give another check character
    good = "91310115" + body + right
    good += ref_uscc_check(good)
    bad = "91310115" + body + wrong
    bad += ref_uscc_check(bad)  # a consistent 18th character: only the organisation code is wrong
    assert cn.check_uscc(good)
    assert not cn.check_uscc(bad)
    assert code_of("cn-uscc", bad) == "org-code-check"
    assert stdnum.cn.uscc.is_valid(bad)  # stdnum does not look at position 17
    # the same trap on a standalone organisation code
    assert cn.check_org_code(body + right)
    assert not cn.check_org_code(body + wrong)
    assert code_of("cn-org-code", body + wrong) == "check-char"


def test_uscc_digit_e_digits_is_not_excel():
    first17 = "3E100000" + "00000000" + ref_org_check("00000000")
    right = ref_uscc_check(first17)
    wrong = first17 + ("1" if right != "1" else "2")
    assert wrong == "3E1000000000000001"
    assert cn.check_uscc(first17 + right)
    assert code_of("cn-uscc", wrong) == "legacy-check-char"


@pytest.mark.parametrize(
    "code, failure",
    [
        ("9.13101E+17", "excel-number"),
        ("91110000600037341", "length"),
        ("911100006000373", "length"),
        ("91110000600037341LL", "length"),
        ("91310115ma1k3btp2b", "lowercase"),
        ("9131 0115 MA1K 3BTP 2B", "whitespace"),
        ("91990000600037341" + "0", "division"),
    ],
)
def test_uscc_other_failures(code, failure):
    assert not cn.check_uscc(code)
    assert code_of("cn-uscc", code) == failure


# --------------------------------------------------------------------------- organisation code


@pytest.mark.parametrize("code", ["600037341", "L01510128", "MA1K3BTP2", "401359081", "MA000004X"])
def test_org_code_valid(code):
    assert code[8] == ref_org_check(code[:8])
    assert cn.check_org_code(code)
    assert code_of("cn-org-code", code) is None


@pytest.mark.parametrize(
    "code, failure",
    [("60003734-1", "separator"), ("ma1k3btp2", "lowercase"), ("6000373", "length"), ("60003734Y", "charset"), ("600037342", "check-char")],
)
def test_org_code_invalid(code, failure):
    assert not cn.check_org_code(code)
    assert code_of("cn-org-code", code) == failure


# --------------------------------------------------------------------------- resident identity number

VALID_RIC = ["11010519491231002X", "360426199101010071", "44011320141005001X", "810000199408230021"]


@pytest.mark.parametrize("code", VALID_RIC)
def test_resident_id_valid(code):
    assert cn.check_resident_id(code)
    assert code_of("cn-resident-id", code) is None
    assert ref_ric_valid(code)
    assert stdnum.cn.ric.calc_check_digit(code) == code[17]


def test_resident_id_lowercase_x():
    assert not cn.check_resident_id("11010519491231002x")
    assert code_of("cn-resident-id", "11010519491231002x") == "lowercase-x"


def test_resident_id_impossible_birth_date():
    code = with_ric_check("11010519900230001")  # 30 February with a correct check character
    assert not cn.check_resident_id(code)
    assert code_of("cn-resident-id", code) == "birth-date"


def test_resident_id_future_birth_date():
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    code = with_ric_check("110105" + tomorrow.strftime("%Y%m%d") + "001")
    assert not cn.check_resident_id(code)
    assert code_of("cn-resident-id", code) == "birth-date"


def test_resident_id_born_today_is_valid():
    code = with_ric_check("110105" + datetime.date.today().strftime("%Y%m%d") + "001")
    assert cn.check_resident_id(code)


@pytest.mark.parametrize(
    "code, failure",
    [
        ("610104620927690", "legacy-15"),
        ("11010519491231002", "length"),
        ("11010519491231002Y", "charset"),
        ("110105194912310021", "check-char"),
        (with_ric_check("99010519491231002"), "division"),
        (" 11010519491231002X", "whitespace"),
    ],
)
def test_resident_id_invalid(code, failure):
    assert not cn.check_resident_id(code)
    assert code_of("cn-resident-id", code) == failure


def test_upgrade_ric15():
    assert cn.upgrade_ric15("610104620927690") == "610104196209276908"
    assert cn.check_resident_id(cn.upgrade_ric15("610104620927690"))


# --------------------------------------------------------------------------- division codes, mobiles, postcodes, dates


@pytest.mark.parametrize(
    "code",
    [
        "110000",  # Beijing
        "110101",  # 东城区
        "110103",  # 崇文区, retired 2010: ID numbers keep it for life
        "110104",  # 宣武区, retired 2010
        "110110",  # 燕山区, retired 1986
        "440113",  # 番禺区
        "810000",  # Hong Kong
    ],
)
def test_admin_division_valid_including_historical(code):
    assert cn.check_admin_division(code)
    assert code_of("cn-admin-division", code) is None


@pytest.mark.parametrize(
    "code, failure",
    [("990101", "unknown-province"), ("000000", "unknown-province"), ("11010", "syntax"), ("11010a", "syntax"), ("110199", "unlisted")],
)
def test_admin_division_invalid(code, failure):
    assert not cn.check_admin_division(code)
    assert code_of("cn-admin-division", code) == failure


@pytest.mark.parametrize("number", ["13800138000", "16612345678", "19912345678", "19198765432", "14712345678", "17012345678"])
def test_mobile_valid_including_16x_19x(number):
    assert cn.check_mobile(number)
    assert code_of("cn-mobile", number) is None


@pytest.mark.parametrize(
    "number, failure",
    [
        ("+8613800138000", "country-prefix"),
        ("8613800138000", "country-prefix"),
        ("+86 138 0013 8000", "country-prefix"),
        ("138-0013-8000", "separator"),
        ("12345678901", "syntax"),
        ("1380013800", "syntax"),
    ],
)
def test_mobile_invalid(number, failure):
    assert not cn.check_mobile(number)
    assert code_of("cn-mobile", number) == failure


@pytest.mark.parametrize("code", ["010000", "100000", "518000", "014000"])
def test_postcode_valid_including_leading_zero(code):
    assert cn.check_postcode(code)
    assert code_of("cn-postcode", code) is None


@pytest.mark.parametrize("code, failure", [("10000", "leading-zero"), ("1000000", "syntax"), ("01000A", "syntax")])
def test_postcode_invalid(code, failure):
    assert not cn.check_postcode(code)
    assert code_of("cn-postcode", code) == failure


@pytest.mark.parametrize("value", ["20240229", "20000229", "19491231", "20240101"])
def test_date_compact_valid(value):
    assert cn.check_date_compact(value)
    assert code_of("date-compact", value) is None


@pytest.mark.parametrize(
    "value, failure",
    [("20230229", "not-a-date"), ("19000229", "not-a-date"), ("20241301", "not-a-date"), ("20240431", "not-a-date"), ("2024-02-29", "syntax"), ("2024022", "syntax")],
)
def test_date_compact_invalid(value, failure):
    assert not cn.check_date_compact(value)
    assert code_of("date-compact", value) == failure


# --------------------------------------------------------------------------- properties

seeds = st.integers(min_value=0, max_value=2**64 - 1)


@props
@given(seed=seeds)
def test_generated_uscc_passes_every_check(seed):
    code = REGISTRY["cn-uscc"].generate(random.Random(seed))
    assert cn.check_uscc(code)
    assert ref_uscc_valid(code)
    assert stdnum.cn.uscc.is_valid(code)


@props
@given(seed=seeds, position=st.integers(min_value=0, max_value=17), char=st.sampled_from(A36))
def test_mutated_uscc_agrees_with_reference_and_stdnum(seed, position, char):
    code = REGISTRY["cn-uscc"].generate(random.Random(seed))
    mutated = code[:position] + char + code[position + 1 :]
    fast = cn.check_uscc(mutated)
    assert fast == ref_uscc_valid(mutated)
    assert (REGISTRY["cn-uscc"].explain(mutated) is None) == fast
    std = stdnum.cn.uscc.is_valid(mutated)
    if fast:
        assert std
    # stdnum checks neither position 17 nor the division prefix; with those holding, both agree
    if ref_org_check(mutated[8:16]) == mutated[16] and mutated[2:4] in PROVINCES | {"10"}:
        assert fast == std
    if mutated != code:
        assert not fast  # 31 is prime and no weight is 0 mod 31: every single substitution is caught


@props
@given(first17=st.text(alphabet=A31, min_size=17, max_size=17))
def test_uscc_check_char_agrees(first17):
    expected = ref_uscc_check(first17)
    assert cn.uscc_check_char(first17) == expected
    assert stdnum.cn.uscc.calc_check_digit(first17) == expected


@props
@given(body=st.text(alphabet=A36, min_size=8, max_size=8))
def test_org_check_char_agrees(body):
    assert cn.org_check_char(body) == ref_org_check(body)
    assert cn.check_org_code(body + ref_org_check(body))


@props
@given(
    division=st.sampled_from(sorted(PROVINCES - {"71", "81", "82", "83"} | {"10"})),
    rest=st.text(alphabet="0123456789", min_size=4, max_size=4),
    head=st.text(alphabet=A31, min_size=2, max_size=2),
    body=st.text(alphabet=A31, min_size=8, max_size=8),
)
def test_constructed_uscc_with_letters_agrees(division, rest, head, body):
    first17 = head + division + rest + body + ref_org_check(body)
    code = first17 + ref_uscc_check(first17)
    assert cn.check_uscc(code)
    assert REGISTRY["cn-uscc"].explain(code) is None
    if head.isdigit():  # stdnum wants digits in positions 1-2, though GB 32100 allows N, Y, ... there
        assert stdnum.cn.uscc.is_valid(code)
    wrong = first17 + A31[(A31.index(code[17]) + 1) % 31]
    assert not cn.check_uscc(wrong)
    if not re.fullmatch(r"[0-9]E[0-9]{16}", wrong):  # that shape: see test_uscc_digit_e_digits_is_not_excel
        assert code_of("cn-uscc", wrong) == "legacy-check-char"


@props
@given(seed=seeds)
def test_generated_resident_id_passes_every_check(seed):
    code = REGISTRY["cn-resident-id"].generate(random.Random(seed))
    assert cn.check_resident_id(code)
    assert ref_ric_valid(code)
    # stdnum also checks the county against the birth year; its checksum and date must agree
    assert stdnum.cn.ric.calc_check_digit(code) == code[17]
    assert stdnum.cn.ric.get_birth_date(code).strftime("%Y%m%d") == code[6:14]


@props
@given(seed=seeds, position=st.integers(min_value=0, max_value=17), char=st.sampled_from("0123456789X"))
def test_mutated_resident_id_agrees_with_reference_and_stdnum(seed, position, char):
    code = REGISTRY["cn-resident-id"].generate(random.Random(seed))
    mutated = code[:position] + char + code[position + 1 :]
    fast = cn.check_resident_id(mutated)
    assert fast == ref_ric_valid(mutated)
    assert (REGISTRY["cn-resident-id"].explain(mutated) is None) == fast
    if stdnum.cn.ric.is_valid(mutated) and mutated[6:14] <= datetime.date.today().strftime("%Y%m%d"):
        assert fast
    if mutated != code:
        assert not fast  # MOD 11-2 catches every single substitution


@props
@given(first17=st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_ric_check_char_agrees(first17):
    expected = ref_ric_check(first17)
    assert cn.ric_check_char(first17) == expected
    assert stdnum.cn.ric.calc_check_digit(first17 + "0") == expected


@props
@given(seed=seeds)
def test_upgrade_ric15_round_trips(seed):
    code = REGISTRY["cn-resident-id"].generate(random.Random(seed))
    assume(code[6:8] == "19")
    legacy = code[:6] + code[8:17]
    assert code_of("cn-resident-id", legacy) == "legacy-15"
    assert cn.upgrade_ric15(legacy) == code


@props
@given(day=st.dates(min_value=datetime.date(1, 1, 1), max_value=datetime.date(9999, 12, 31)))
def test_date_compact_accepts_every_real_date(day):
    assert cn.check_date_compact(f"{day.year:04d}{day.month:02d}{day.day:02d}")


@props
@given(value=st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_date_compact_agrees_with_datetime(value):
    try:
        datetime.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        real = True
    except ValueError:
        real = False
    assert cn.check_date_compact(value) == real
    assert (code_of("date-compact", value) is None) == real


@pytest.mark.parametrize("name", sorted(REGISTRY))
@props
@given(seed=seeds)
def test_every_generator_passes_its_own_check(name, seed):
    fmt = REGISTRY[name]
    assert fmt.generate is not None
    value = fmt.generate(random.Random(seed))
    assert isinstance(value, str)
    assert fmt.check(value), value


@pytest.mark.parametrize("name", sorted(REGISTRY))
@props
@given(seed=seeds)
def test_explain_finds_nothing_in_generated_values(name, seed):
    fmt = REGISTRY[name]
    value = fmt.generate(random.Random(seed))
    assert fmt.explain(value) is None, value


def test_legacy_check_char_severity_can_be_lowered_to_a_warning():
    fmt = REGISTRY["cn-uscc"]
    assert fmt.severity("legacy-check-char") == "error"
    assert fmt.severity("legacy-check-char", {"legacy-check-char": "warning"}) == "warning"
    assert fmt.severity("org-code-check", {"legacy-check-char": "warning"}) == "error"
