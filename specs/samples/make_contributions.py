#!/usr/bin/env python3
"""Regenerate contributions.ndjson (the social-security bureau's contribution-record export), deterministically.

    python specs/samples/make_contributions.py            # write contributions.ndjson (same seed, same bytes)
    python specs/samples/make_contributions.py --check    # and validate it against the provider's spec
    python specs/samples/make_contributions.py --check --out DIR   # write into DIR instead (tests)

200 records in the provider's format (``social-security/contribution-record``) with a known set of planted
provider defects and of traits that only matter to the tax consumer (``tax/social-insurance-contribution``).
``--check`` validates every record with mvptest's validator under the spec's format options and asserts that
the counts the generator planted are the counts the file shows, and the counts that
tests/data/compat/contribution-differences.yaml states.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPECS = HERE.parent
ROOT = SPECS.parent
sys.path.insert(0, str(ROOT))  # the repository root, so that `import mvptest` works from anywhere
sys.path.insert(0, str(HERE))  # make_samples: the shared reference data and code helpers

from make_samples import (
    DIVISIONS,
    GIVEN,
    INDUSTRIES,
    ROADS,
    SURNAMES,
    TRADE_NAMES,
    make_resident_id,
    make_uscc,
    number,
    place_defects,
    random_date,
    weighted,
)

from mvptest.formats import REGISTRY

SEED = 20240401
N = 200
OUT_NAME = "contributions.ndjson"
PROVIDER_SPEC = SPECS / "social-security" / "contribution-record.yaml"
CONSUMER_SPEC = SPECS / "tax" / "social-insurance-contribution.yaml"
MANIFEST = ROOT / "tests" / "data" / "compat" / "contribution-differences.yaml"

# Planted provider defects: each breaks the provider's own schema (one per record).
RATE = "personalRate 8: a percentage where the schema says a fraction (maximum 1)"
CHECK = "idNumber: wrong check character"
NOT_A_DATE = "birthDate 2023-02-30: not a real date"
PLAN = [(RATE, 5), (CHECK, 4), (NOT_A_DATE, 3)]
# What each defect must produce under the provider's schema: (field, keyword, format failure code).
EXPECTED = {RATE: ("/personalRate", "maximum", ""), CHECK: ("/idNumber", "format", "check-char"),
            NOT_A_DATE: ("/birthDate", "format", "not-a-date")}

# Traits that are valid for the provider (exact counts, by construction).
LOWER_X = 20          # idNumber ends in a lower-case x: a warning under the provider's formats option
FULLWIDTH = 40        # address with full-width digits or letters (１２号, Ａ座)
INTERRUPTED = 3       # paymentStatus 中断缴费: no tax code for it
NO_FIRST_INSURED = 50  # firstInsuredDate absent (optional at the provider, required by the tax bureau)
UNKNOWN_GENDER = 2    # gender 未知
NEXT_DAY = 17         # lastPaymentTime at 16:00:00Z or later: the Beijing date is the next day
# Fixed edge times: three of the 17 (month end, year end, leap day at exactly 16:00:00Z) and one just before.
EDGE_NEXT_DAY = ["2024-02-28T16:00:00Z", "2024-03-31T23:30:00Z", "2023-12-31T23:59:59Z"]
EDGE_SAME_DAY = ["2024-06-30T15:59:59Z"]
LONG_NAME = "阿卜杜热合曼·买买提艾力·艾则孜·热合木吐拉·阿不都克热木·艾合买提江"  # 35 characters with ·
PERSONAL_RATE = 0.08  # the employee's pension contribution: 8 % of the base

BANKS = ["中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "交通银行", "中国邮政储蓄银行", "招商银行"]
MAILBOX = ["zhang", "li", "wang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "xu", "sun", "ma", "zhu", "hu", "guo", "he", "gao", "lin", "luo"]
STATUS = [("正常缴费", 86), ("暂停缴费", 8), ("终止缴费", 6)]  # 中断缴费 only where planted
FULLWIDTH_RE = re.compile(r"[\uff01-\uff5e\u3000]")


def fullwidth(text: str, *, letters_only: bool = False) -> str:
    """ASCII digits and letters as their full-width forms (１２号); ``letters_only`` keeps digits half-width."""
    def conv(c: str) -> str:
        if c.isascii() and c.isalnum() and not (letters_only and c.isdigit()):
            return chr(ord(c) + 0xFEE0)
        return c
    return "".join(conv(c) for c in text)


def employers(rng: random.Random, n: int) -> list[dict[str, str]]:
    """Employers with valid credit codes registered in their division; names 6 to 40 characters."""
    out: list[dict[str, str]] = []
    names: set[str] = set()
    while len(out) < n:
        division, _, city, _ = rng.choice(DIVISIONS)
        industry, _ = rng.choice(INDUSTRIES)
        trade = rng.choice(TRADE_NAMES)
        name = (f"{trade}{industry}（{city}）有限公司" if rng.random() < 0.3
                else f"{city}{trade}{industry}{rng.choice(['有限公司', '有限责任公司', '股份有限公司'])}")
        if name in names:
            continue
        names.add(name)
        out.append({"name": name, "uscc": make_uscc(rng, division, new_style=rng.random() < 0.6)})
    return out


def payment_time(rng: random.Random, next_day: bool) -> str:
    """A UTC time in 2024 ending in Z; ``next_day``: 16:00:00Z to 23:59:59Z (past midnight in Beijing)."""
    day = random_date(rng, datetime.date(2024, 1, 2), datetime.date(2024, 12, 20))
    seconds = rng.randrange(16 * 3600, 24 * 3600) if next_day else rng.randrange(0, 16 * 3600)
    return f"{day.isoformat()}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z"


def beijing_date(utc: str) -> datetime.date:
    t = datetime.datetime.fromisoformat(utc.replace("Z", "+00:00"))
    return (t + datetime.timedelta(hours=8)).date()


def contributions(rng: random.Random, paid: datetime.date, base: float) -> list[dict[str, Any]]:
    """0 to 6 months ending with the Beijing month of the latest payment, shuffled; the base of a period
    before July (the contribution year starts in July) was about 5 % lower, so amounts differ by period."""
    items = []
    year, month = paid.year, paid.month
    for _ in range(rng.randint(0, 6)):
        period_base = base if (year, month) >= (paid.year if paid.month >= 7 else paid.year - 1, 7) else round(base / 1.05, 2)
        items.append({"period": f"{year}{month:02d}", "amount": number(round(period_base * PERSONAL_RATE, 2))})
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    rng.shuffle(items)
    return items


def address(rng: random.Random, prefix: str) -> str:
    tail = rng.choice([
        f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(1, 30)}{rng.randint(1, 4):02d}室",
        f"{rng.choice('ABCD')}座{rng.randint(1, 28)}{rng.randint(1, 20):02d}室",
        "",
    ])
    return f"{prefix}{rng.choice(ROADS)}{rng.randint(1, 400)}号{tail}"


def pick(rng: random.Random, pool: list[int], k: int) -> set[int]:
    return set(rng.sample(pool, k))


def plan_traits(rng: random.Random, defects: dict[int, str]) -> dict[str, Any]:
    """Which records carry which trait. The lower-case x never lands on a defect record (one defect each)."""
    everyone = list(range(N))
    clean = [i for i in everyone if i not in defects]
    next_day = sorted(pick(rng, everyone, NEXT_DAY))
    day = [i for i in everyone if i not in next_day]
    edge_same = rng.sample(day, len(EDGE_SAME_DAY))
    return {
        "lower_x": pick(rng, clean, LOWER_X),
        "fullwidth": pick(rng, everyone, FULLWIDTH),
        "interrupted": pick(rng, everyone, INTERRUPTED),
        "no_first": pick(rng, everyone, NO_FIRST_INSURED),
        "unknown_gender": pick(rng, everyone, UNKNOWN_GENDER),
        "next_day": set(next_day),
        "edge": dict(zip(rng.sample(next_day, len(EDGE_NEXT_DAY)), EDGE_NEXT_DAY)) | dict(zip(edge_same, EDGE_SAME_DAY)),
        "long_name": rng.choice(everyone),
    }


def record(rng: random.Random, i: int, traits: dict[str, Any], defect: str | None, staff: list[dict[str, str]]) -> dict[str, Any]:
    gender = "未知" if i in traits["unknown_gender"] else rng.choice(["男", "女"])
    male = gender == "男" or (gender == "未知" and rng.random() < 0.5)
    birth = random_date(rng, datetime.date(1964, 1, 1), datetime.date(2004, 12, 31))
    ident = make_resident_id(rng, rng.choice(DIVISIONS)[0], birth, male, check_x=i in traits["lower_x"])
    division, prefix, _, _ = rng.choice(DIVISIONS)
    employer = rng.choice(staff)
    base = number(rng.choice([rng.randrange(4500, 30001, 100), round(rng.uniform(4500, 30000), 2)]))
    paid_at = traits["edge"].get(i) or payment_time(rng, i in traits["next_day"])
    paid = beijing_date(paid_at)
    adult = datetime.date(birth.year + 18, birth.month, min(birth.day, 28))
    first = random_date(rng, max(adult, datetime.date(1995, 1, 1)), min(paid, datetime.date(2023, 12, 31)))
    months = (paid.year - first.year) * 12 + paid.month - first.month + 1
    mobile = REGISTRY["cn-mobile"].generate(rng)
    rec: dict[str, Any] = {
        "name": LONG_NAME if i == traits["long_name"] else rng.choice(SURNAMES) + rng.choice(GIVEN),
        "idNumber": ident[:-1] + "x" if i in traits["lower_x"] else ident,
        "gender": gender,
        "birthDate": birth.isoformat(),
        "phone": "+86" + (" " if rng.random() < 0.3 else "") + mobile,
        "contact": f"{rng.choice(MAILBOX)}{rng.randrange(100, 100000)}@{rng.choice(['example.com', 'example.cn', 'example.org'])}",
        "address": address(rng, prefix),
        "insuredRegion": f"{division}{rng.randint(1, 30):03d}{rng.randint(1, 399):03d}",
        "employerName": employer["name"],
        "employerCreditCode": employer["uscc"],
        "paymentStatus": "中断缴费" if i in traits["interrupted"] else weighted(rng, STATUS),
        "contributionBase": base,
        "personalRate": PERSONAL_RATE,
        "firstInsuredDate": first.isoformat(),
        "insuredMonths": max(1, months - rng.randint(0, min(24, months - 1))),
        "lastPaymentTime": paid_at,
        "contributions": contributions(rng, paid, float(base)),
        "bankAccount": {
            "bankName": rng.choice(BANKS) + rng.choice(DIVISIONS)[2] + "分行",
            "accountNo": "6222" + "".join(rng.choice("0123456789") for _ in range(rng.choice([12, 15]))),
        },
    }
    if i in traits["fullwidth"]:
        rec["address"] = fullwidth(rec["address"], letters_only="座" in rec["address"] and rng.random() < 0.5)
    if i in traits["no_first"]:
        del rec["firstInsuredDate"]
    if defect == RATE:
        rec["personalRate"] = 8
    elif defect == CHECK:
        rec["idNumber"] = ident[:17] + rng.choice([c for c in "0123456789X" if c != ident[17]])
    elif defect == NOT_A_DATE:
        rec["birthDate"] = "2023-02-30"
    return rec


def generate() -> tuple[list[dict[str, Any]], list[str | None], dict[str, Any]]:
    rng = random.Random(SEED)
    staff = employers(rng, 40)
    defects = place_defects(rng, N, PLAN)
    traits = plan_traits(rng, defects)
    records = [record(rng, i, traits, defects.get(i), staff) for i in range(N)]
    return records, [defects.get(i) for i in range(N)], traits


def write(records: list[dict[str, Any]], out: Path) -> Path:
    path = out / OUT_NAME
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    path.write_bytes(text.encode("utf-8"))
    return path


# --------------------------------------------------------------------------- checking


def facts(records: list[dict[str, Any]]) -> dict[str, int]:
    """The counts the tax consumer's differences depend on, read from the records themselves."""
    times = [r["lastPaymentTime"] for r in records]
    periods = [[c["period"] for c in r["contributions"]] for r in records]
    return {
        "records": len(records),
        "next_beijing_day": sum(beijing_date(t) != datetime.date.fromisoformat(t[:10]) for t in times),
        "at_16_00_00Z": sum(t.endswith("T16:00:00Z") for t in times),
        "at_15_59_59Z": sum(t.endswith("T15:59:59Z") for t in times),
        "lowercase_x": sum(r["idNumber"].endswith("x") for r in records),
        "phone_with_plus86": sum(r["phone"].startswith("+86") for r in records),
        "phone_with_space": sum(r["phone"].startswith("+86 ") for r in records),
        "fullwidth_address": sum(bool(FULLWIDTH_RE.search(r["address"])) for r in records),
        "status_interrupted": sum(r["paymentStatus"] == "中断缴费" for r in records),
        "without_firstInsuredDate": sum("firstInsuredDate" not in r for r in records),
        "gender_unknown": sum(r["gender"] == "未知" for r in records),
        "empty_contributions": sum(not p for p in periods),
        "contributions_not_in_period_order": sum(p != sorted(p, reverse=True) and p != sorted(p) for p in periods),
        "latest_not_first_item": sum(bool(p) and p[0] != max(p) for p in periods),
        "max_contributions": max(len(p) for p in periods),
        "longest_name": max(len(r["name"]) for r in records),
        "employerName_over_100": sum(len(r["employerName"]) > 100 for r in records),
        "insuredMonths_over_600": sum(r["insuredMonths"] > 600 for r in records),
    }


GENDER_CODES = {"男": 1, "女": 2, "未知": 0}
STATUS_CODES = {"正常缴费": "01", "暂停缴费": "02", "终止缴费": "03"}  # 中断缴费: undecided, passed through


def halfwidth(text: str) -> str:
    return "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else " " if c == "\u3000" else c for c in text)


def ideal_view(r: dict[str, Any]) -> dict[str, Any]:
    """The tax bureau's view after every mechanical step the manifest names, written out independently of
    mvptest's adapter (an oracle for the manifest's failing_after_step counts). Fields no step can bridge are
    passed through as the provider sends them (or left out), so that the consumer's schema shows what remains."""
    latest = max(r["contributions"], key=lambda c: c["period"], default=None)
    view: dict[str, Any] = {
        "XM": r["name"],
        "XB": GENDER_CODES[r["gender"]],
        "idNumber": r["idNumber"].upper(),
        "birthDate": r["birthDate"].replace("-", ""),
        "phone": r["phone"].removeprefix("+86").strip(),
        "contact": r["contact"],
        "address": halfwidth(r["address"]),
        "insuredRegion": r["insuredRegion"][:6],
        "employerName": r["employerName"],
        "payerCreditCode": r["employerCreditCode"],
        "paymentStatus": STATUS_CODES.get(r["paymentStatus"], r["paymentStatus"]),
        "contributionBase": round(r["contributionBase"] * 100),
        "personalRate": r["personalRate"],
        "insuredMonths": r["insuredMonths"],
        "lastPaymentTime": beijing_date(r["lastPaymentTime"]).isoformat(),
        "bankAccount": r["bankAccount"],
    }
    if "firstInsuredDate" in r:
        view["firstInsuredDate"] = r["firstInsuredDate"]
    if latest is not None:
        view["latestContributionAmount"] = latest["amount"]
    return view


def after_steps(records: list[dict[str, Any]]) -> tuple[Counter[str], list[str]]:
    """Per consumer field, how many records still fail the consumer's schema after the ideal steps."""
    from mvptest.spec.check import load_specs
    from mvptest.validation.compiled import CompiledSchema

    specs = load_specs([PROVIDER_SPEC, CONSUMER_SPEC])
    req = next(r for r in specs.requirements if r.key == "tax/social-insurance-contribution")
    compiled = CompiledSchema(req.schema, format_options=req.format_options, sensitive=req.sensitive)
    failing: Counter[str] = Counter()
    for r in records:
        for field in {e.field for e in compiled.errors(ideal_view(r)) if e.severity == "error"}:
            failing[field] += 1
    return failing, sorted("/" + name for name in req.schema.top_level_properties())


def validate(records: list[dict[str, Any]], tags: list[str | None], traits: dict[str, Any]) -> tuple[Counter[str], list[str]]:
    """Every record against the provider's schema and format options: what each one must show, exactly."""
    from mvptest.spec.check import load_specs
    from mvptest.validation.compiled import CompiledSchema

    specs = load_specs([PROVIDER_SPEC, CONSUMER_SPEC])
    problems = [f"spec problem: {p}" for p in specs.problems]
    if problems:
        return Counter(), problems
    iface = next(i for i in specs.interfaces if i.key == "social-security/contribution-record")
    compiled = CompiledSchema(iface.response_schema, format_options=iface.format_options, sensitive=iface.sensitive)
    counts: Counter[str] = Counter()
    for i, (rec, tag) in enumerate(zip(records, tags)):
        errors = compiled.errors(rec)
        shown = sorted((e.field, e.kind, e.code, e.severity) for e in errors)
        if tag is not None:
            field, kind, code = EXPECTED[tag]
            want = [(field, kind, code, "error")]
            counts["invalid"] += 1
        elif i in traits["lower_x"]:
            want = [("/idNumber", "format", "lowercase-x", "warning")]
            counts["warning only"] += 1
        else:
            want = []
            counts["clean"] += 1
        if shown != want:
            problems.append(f"record {i} (line {i + 1}, {tag or 'no defect'}): expected {want}, the validator says {shown}")
    return counts, problems


def manifest_problems(manifest: Path, found: dict[str, int], tags: list[str | None], failing: Counter[str], fields: list[str]) -> list[str]:
    """The manifest must be the generator's: planted defects, data counts, and per consumer field the records
    that still fail after the ideal steps; every consumer field is listed once (a difference or none)."""
    import yaml

    if not manifest.exists():
        return [f"{manifest}: missing"]
    doc = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    problems = []
    entries = [*doc.get("differences", []), *doc.get("no_difference", [])]
    listed_fields = Counter(e["consumer_field"] for e in entries)
    problems += [f"manifest: {f} listed {n} times" for f, n in listed_fields.items() if n > 1]
    problems += [f"manifest: consumer field {f} not listed" for f in fields if f not in listed_fields]
    problems += [f"manifest: {f} is no field of the consumer" for f in listed_fields if f not in fields]
    for e in entries:
        if e.get("failing_after_step") != failing.get(e["consumer_field"], 0):
            problems.append(f"manifest: {e['consumer_field']} failing_after_step is {e.get('failing_after_step')}, "
                            f"the ideal steps leave {failing.get(e['consumer_field'], 0)}")
    planted = Counter(t for t in tags if t)
    listed = {d["defect"]: d for d in doc.get("planted_defects", [])}
    for defect, count in planted.items():
        field, kind, code = EXPECTED[defect]
        entry = listed.get(defect)
        if entry is None:
            problems.append(f"manifest: planted defect {defect!r} not listed")
        elif (entry.get("count"), entry.get("field"), entry.get("kind"), entry.get("code", "")) != (count, field, kind, code):
            problems.append(f"manifest: {defect!r} says {entry}, the generator planted {count} on {field} ({kind} {code})")
    problems += [f"manifest: lists {d!r}, which the generator does not plant" for d in listed if d not in planted]
    warned = [(w.get("field"), w.get("kind"), w.get("code"), w.get("count")) for w in doc.get("provider_warnings", [])]
    if warned != [("/idNumber", "format", "lowercase-x", found["lowercase_x"])]:
        problems.append(f"manifest: provider_warnings {warned}; the file has {found['lowercase_x']} lower-case x")
    for key, value in (doc.get("data") or {}).items():
        if found.get(key) != value:
            problems.append(f"manifest: data.{key} is {value}, the file shows {found.get(key)}")
    problems += [f"manifest: data.{k} missing (the file shows {v})" for k, v in found.items() if k not in (doc.get("data") or {})]
    return problems


def check(path: Path, records: list[dict[str, Any]], tags: list[str | None], traits: dict[str, Any], manifest: Path) -> int:
    read = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    problems = [] if read == records else [f"{path}: the file does not hold the generated records"]
    counts, found_problems = validate(read, tags, traits)
    problems += found_problems
    found = facts(read)
    expected = {"records": N, "next_beijing_day": NEXT_DAY, "lowercase_x": LOWER_X, "phone_with_plus86": N,
                "fullwidth_address": FULLWIDTH, "status_interrupted": INTERRUPTED,
                "without_firstInsuredDate": NO_FIRST_INSURED, "gender_unknown": UNKNOWN_GENDER, "longest_name": 35,
                "employerName_over_100": 0, "insuredMonths_over_600": 0}
    problems += [f"{k}: planned {v}, the file shows {found[k]}" for k, v in expected.items() if found[k] != v]
    problems += [f"{k}: none in the file" for k in ("at_16_00_00Z", "at_15_59_59Z", "empty_contributions",
                                                    "contributions_not_in_period_order") if not found[k]]
    if found["max_contributions"] != 6:
        problems.append(f"contributions: at most {found['max_contributions']} items, planned up to 6")
    failing, fields = after_steps(read)
    problems += manifest_problems(manifest, found, tags, failing, fields)
    print(f"{path.name}: {len(read)} records under social-security/contribution-record: {dict(counts)}")
    print("  data: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    print("  still failing the tax bureau's schema after the ideal steps: "
          + ", ".join(f"{f} {n}" for f, n in sorted(failing.items())))
    for p in problems:
        print("  problem:", p)
    print("check:", "OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="validate the written records and the manifest")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write contributions.ndjson into")
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help="the differences manifest --check compares")
    args = parser.parse_args()
    records, tags, traits = generate()
    path = write(records, args.out)
    planted = Counter(t for t in tags if t)
    print(f"{path}: {len(records)} records, {sum(planted.values())} with a planted provider defect")
    for defect, count in planted.most_common():
        print(f"  {count} x {defect}")
    return check(path, records, tags, traits, args.manifest) if args.check else 0


if __name__ == "__main__":
    sys.exit(main())
