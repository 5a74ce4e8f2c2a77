#!/usr/bin/env python3
"""Regenerate the sample data files in this folder, deterministically (same seed, same bytes).

    python specs/samples/make_samples.py           # write the files
    python specs/samples/make_samples.py --check   # write them, then validate every record against the specs

Valid codes come from mvptest's own format helpers, so the samples are valid exactly where the validator
says so. Each file carries a known set of planted defects; README.md lists them, and ``--check`` verifies
that every clean record validates and every planted defect is caught (warnings where the spec says so).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import random
import re
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPECS = HERE.parent
sys.path.insert(0, str(SPECS.parent))  # the repository root, so that `import mvptest` works from anywhere

from mvptest.formats import REGISTRY, cn

SEED = 20240312

# --------------------------------------------------------------------------- reference data

# (GB/T 2260 code, address prefix, short city name, postcode): current codes, checked against the table.
DIVISIONS = [
    ("110105", "北京市朝阳区", "北京", "100020"),
    ("110108", "北京市海淀区", "北京", "100080"),
    ("120101", "天津市和平区", "天津", "300041"),
    ("150102", "内蒙古自治区呼和浩特市新城区", "呼和浩特", "010050"),
    ("150105", "内蒙古自治区呼和浩特市赛罕区", "呼和浩特", "010020"),
    ("210102", "辽宁省沈阳市和平区", "沈阳", "110001"),
    ("230103", "黑龙江省哈尔滨市南岗区", "哈尔滨", "150001"),
    ("310104", "上海市徐汇区", "上海", "200030"),
    ("310115", "上海市浦东新区", "上海", "200120"),
    ("320508", "江苏省苏州市姑苏区", "苏州", "215008"),
    ("330106", "浙江省杭州市西湖区", "杭州", "310012"),
    ("350102", "福建省福州市鼓楼区", "福州", "350001"),
    ("350203", "福建省厦门市思明区", "厦门", "361001"),
    ("360103", "江西省南昌市西湖区", "南昌", "330009"),
    ("370102", "山东省济南市历下区", "济南", "250011"),
    ("410105", "河南省郑州市金水区", "郑州", "450003"),
    ("420106", "湖北省武汉市武昌区", "武汉", "430061"),
    ("440106", "广东省广州市天河区", "广州", "510630"),
    ("440305", "广东省深圳市南山区", "深圳", "518052"),
    ("500103", "重庆市渝中区", "重庆", "400010"),
    ("510107", "四川省成都市武侯区", "成都", "610041"),
    ("610113", "陕西省西安市雁塔区", "西安", "710061"),
    ("620105", "甘肃省兰州市安宁区", "兰州", "730070"),
]
TRADE_NAMES = ["华信", "恒通", "瑞丰", "博远", "天衡", "启明", "汇达", "新源", "鼎盛", "海纳", "锦程", "宏图", "云帆", "众联", "德润", "安泰", "远景", "星辰", "蓝海", "和瑞", "广誉", "嘉禾", "润泽", "卓越", "明德", "信达", "百川", "鸿运", "正阳", "青松", "晨光", "同舟", "泰和", "万象", "聚能", "智恒", "长风", "金穗", "思源", "致远"]
INDUSTRIES = [
    ("科技", "技术开发、技术咨询、技术服务；软件开发；计算机系统集成。"),
    ("信息技术", "信息系统集成服务；数据处理和存储支持服务；软件开发。"),
    ("网络科技", "互联网信息服务；网络技术服务；广告设计、代理。"),
    ("贸易", "货物进出口；技术进出口；日用百货、五金产品批发。"),
    ("商贸", "日用百货、服装鞋帽、家用电器零售。"),
    ("建设工程", "建设工程施工；市政设施管理；园林绿化工程施工。"),
    ("物流", "普通货物仓储服务；国内货物运输代理；装卸搬运。"),
    ("餐饮管理", "餐饮服务；餐饮管理；食品销售。"),
    ("文化传媒", "组织文化艺术交流活动；广告制作；会议及展览服务。"),
    ("医疗器械", "第二类医疗器械销售；医疗器械技术咨询。"),
    ("新材料", "新材料技术研发；高性能纤维及复合材料销售。"),
    ("电子", "电子元器件制造；电子产品销售。"),
    ("生物科技", "生物技术研发；检验检测服务。"),
    ("环保科技", "环境保护专用设备销售；固体废物治理。"),
    ("咨询", "企业管理咨询；财务咨询；市场调查。"),
]
# 4-digit SAIC enterprise type codes, weighted towards limited-liability companies.
DOMESTIC_TYPES = ["1110", "1120", "1130", "1151", "1152", "1190", "1190", "1211", "1212"]
FOREIGN_TYPES = ["5110", "5130", "6110", "6150"]
ROADS = ["中山路", "人民路", "解放路", "建设路", "科技园路", "高新大道", "和平街", "长江路", "黄河路", "创业路", "学府路", "文化路", "滨江大道", "新华路"]
SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "文", "华", "建国", "志强", "晓东", "雪梅", "海燕", "子涵", "浩然", "思远"]
STATUS_WEIGHTS = [("存续", 60), ("在业", 20), ("注销", 8), ("吊销", 7), ("迁出", 5)]
TAX_STATUS = {"存续": "01", "在业": "01", "吊销": "02", "注销": "03", "迁出": "04"}
INSURANCE_STATUS_WEIGHTS = [("参保缴费", 80), ("暂停缴费", 12), ("终止参保", 8)]

BLOG_USCC = "91310115MA1H8R7C6D"  # copied from a blog post: both check characters fail
LEGACY_FUJIAN_USCC = "91350100M0001TGQXM"  # early Fujian pilot code: only the 18th character fails

# --------------------------------------------------------------------------- small helpers


def weighted(rng: random.Random, pairs: list[tuple[str, int]]) -> str:
    return rng.choices([p for p, _ in pairs], weights=[w for _, w in pairs])[0]


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def random_date(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return datetime.date.fromordinal(rng.randint(start.toordinal(), end.toordinal()))


def make_uscc(rng: random.Random, division: str, *, new_style: bool, digits_only: bool = False) -> str:
    """A valid enterprise credit code (91...) registered in ``division``."""
    while True:
        if digits_only or not new_style:
            body = "".join(rng.choice("0123456789") for _ in range(8))
        else:  # codes issued since 2015 carry an MA... organisation code
            body = "MA" + "".join(rng.choice(cn.USCC_ALPHABET) for _ in range(6))
        first17 = "91" + division + body + cn.org_check_char(body)
        code = first17 + cn.uscc_check_char(first17)
        if not digits_only or code.isdigit():
            assert REGISTRY["cn-uscc"].check(code), code
            return code


def mistype_org_check(rng: random.Random, code: str) -> str:
    """Change the 17th character (the organisation code's check character): both checks then fail."""
    wrong = rng.choice([c for c in "0123456789X" if c != code[16]])
    return code[:16] + wrong + code[17:]


def make_resident_id(rng: random.Random, division: str, birth: datetime.date, male: bool, check_x: bool = False) -> str:
    """A valid 18-digit ID; ``check_x`` keeps drawing sequence numbers until the check character is X."""
    while True:
        seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
        first17 = division + birth.strftime("%Y%m%d") + f"{seq:03d}"
        ident = first17 + cn.ric_check_char(first17)
        if not check_x or ident.endswith("X"):
            assert REGISTRY["cn-resident-id"].check(ident), ident
            return ident


def place_defects(rng: random.Random, n: int, plan: list[tuple[str, int]], *, keep: set[int] = frozenset()) -> dict[int, str]:
    """Spread the planned defects over distinct record indices (never those in ``keep``)."""
    kinds = [kind for kind, count in plan for _ in range(count)]
    indices = rng.sample([i for i in range(n) if i not in keep], len(kinds))
    return dict(zip(sorted(indices), rng.sample(kinds, len(kinds))))


def number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


# --------------------------------------------------------------------------- enterprises (market supervision)


def enterprise_pool(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """Clean enterprise records in the provider's format; the first is 腾讯科技（深圳）有限公司."""
    pool: list[dict[str, Any]] = []
    names: set[str] = set()
    today = datetime.date(2024, 3, 12)
    while len(pool) < n:
        division, prefix, city, _ = rng.choice(DIVISIONS)
        industry, scope = rng.choice(INDUSTRIES)
        trade = rng.choice(TRADE_NAMES)
        foreign = rng.random() < 0.1
        if not pool:
            division, prefix, city = "440305", "广东省深圳市南山区", "深圳"
            name, industry, scope, foreign = "腾讯科技（深圳）有限公司", "科技", INDUSTRIES[0][1], False
        elif rng.random() < 0.35:
            name = f"{trade}{industry}（{city}）有限公司"
        else:
            name = f"{city}{trade}{industry}{rng.choice(['有限公司', '有限公司', '有限责任公司', '股份有限公司'])}"
        if name in names:
            continue
        names.add(name)
        established = random_date(rng, datetime.date(1993, 1, 1), datetime.date(2023, 12, 31))
        capital = rng.choice([10, 30, 50, 100, 100, 200, 300, 500, 500, 1000, 2000, 5000, 10000])
        if rng.random() < 0.2:
            capital = round(rng.uniform(5, 20000), 4)
        updated = random_date(rng, max(established, datetime.date(2020, 1, 1)), today)
        record: dict[str, Any] = {
            "enterpriseName": name,
            "uscc": make_uscc(rng, division, new_style=established.year >= 2016),
            "registeredAddress": f"{prefix}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
            + (f"{rng.randint(1, 30)}栋{rng.randint(1, 28)}{rng.randint(1, 20):02d}室" if rng.random() < 0.6 else ""),
            "legalRepresentative": person_name(rng),
            "registeredCapital": number(capital),
            "currency": rng.choice(["USD", "HKD", "EUR"]) if foreign else "CNY",
            "establishedDate": established.isoformat(),
            "status": weighted(rng, STATUS_WEIGHTS),
            "businessScope": scope,
            "enterpriseType": rng.choice(FOREIGN_TYPES if foreign else DOMESTIC_TYPES),
            "divisionCode": division,
            "updatedAt": f"{updated.isoformat()}T{rng.randrange(8, 20):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}+08:00",
        }
        if rng.random() < 0.15:
            del record["businessScope"]
        pool.append(record)
    return pool


ENTERPRISE_PLAN = [
    ("establishedDate as YYYYMMDD (date-compact) instead of YYYY-MM-DD", 4),
    ("registeredCapital as text such as \"500万元\"", 3),
    ("registeredAddress missing", 3),
    ("uscc: mistyped check character (position 17; both checks fail)", 3),
    ("uscc: the code copied from a blog post, 91310115MA1H8R7C6D", 2),
    ("uscc: legacy Fujian pilot code 91350100M0001TGQXM (warning only)", 1),
    ("status outside the enum (正常, 开业, 在营（开业）企业)", 3),
    ("uscc in lower case", 2),
]
WARNING_ONLY = {"uscc: legacy Fujian pilot code 91350100M0001TGQXM (warning only)",
                "idNumber: lower-case x check character (warning only)"}


def enterprise_defect(rng: random.Random, record: dict[str, Any], kind: str, nth: int) -> dict[str, Any]:
    r = dict(record)
    if kind.startswith("establishedDate"):
        r["establishedDate"] = r["establishedDate"].replace("-", "")
    elif kind.startswith("registeredCapital"):
        r["registeredCapital"] = f"{r['registeredCapital']}" + ["万元", "万元人民币", "万元"][nth % 3]
    elif kind.startswith("registeredAddress"):
        del r["registeredAddress"]
    elif kind.startswith("uscc: mistyped"):
        r["uscc"] = mistype_org_check(rng, r["uscc"])
    elif kind.startswith("uscc: the code copied"):
        r["uscc"], r["divisionCode"] = BLOG_USCC, "310115"
        r["registeredAddress"] = f"上海市浦东新区{rng.choice(ROADS)}{rng.randint(1, 999)}号"
    elif kind.startswith("uscc: legacy"):
        r["uscc"], r["divisionCode"] = LEGACY_FUJIAN_USCC, "350100"
        r["enterpriseName"] = "福州闽兴贸易有限公司"
        r["registeredAddress"] = f"福建省福州市鼓楼区{rng.choice(ROADS)}{rng.randint(1, 300)}号"
    elif kind.startswith("status"):
        r["status"] = ["正常", "开业", "在营（开业）企业"][nth % 3]
    elif kind.startswith("uscc in lower case"):
        assert any(c.isalpha() for c in r["uscc"])
        r["uscc"] = r["uscc"].lower()
    else:
        raise AssertionError(kind)
    return r


def enterprises(pool: list[dict[str, Any]], rng: random.Random) -> tuple[list[Any], list[str | None]]:
    records = [dict(r) for r in pool]
    tags: list[str | None] = [None] * len(records)
    seen: Counter[str] = Counter()
    eligible_lower = {i for i, r in enumerate(records) if not any(c.isalpha() for c in r["uscc"])}
    defects = place_defects(rng, len(records), ENTERPRISE_PLAN, keep={0})
    for i, kind in defects.items():
        if kind.startswith("uscc in lower case") and i in eligible_lower:  # an all-digit code has no case
            records[i]["uscc"] = make_uscc(rng, records[i]["divisionCode"], new_style=True)
        records[i] = enterprise_defect(rng, records[i], kind, seen[kind])
        tags[i] = kind
        seen[kind] += 1
    return records, tags


def write_enterprises(records: list[Any], tags: list[str | None], rng: random.Random) -> list[str | None]:
    (HERE / "enterprises.json").write_text(json.dumps(records, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    lines = [json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records]
    line_tags = list(tags)
    # Two lines only NDJSON can have: a value that is not an object, and a line cut off mid-record.
    truncated = json.dumps(records[0] | {"enterpriseName": "智恒信息技术（杭州）有限公司"}, ensure_ascii=False, separators=(",", ":"))
    at_null, at_cut = 61, 118
    lines.insert(at_null, "null")
    line_tags.insert(at_null, "NDJSON only: a line that is JSON but not an object (null)")
    lines.insert(at_cut, truncated[: len(truncated) // 2])
    line_tags.insert(at_cut, "NDJSON only: a truncated JSON line")
    (HERE / "enterprises.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return line_tags


# --------------------------------------------------------------------------- the tax bureau's CSV export

TAX_COLUMNS = [
    "uscc", "taxpayerName", "enterpriseName", "registeredAddress", "legalRepresentative",
    "registeredCapital", "establishedDate", "status",
]
TAX_PLAN = [
    ("establishedDate as YYYY-MM-DD (the provider's format) instead of YYYYMMDD", 4),
    ("establishedDate as 2019/3/12 (re-formatted by Excel)", 2),
    ("establishedDate not a real date (20190230)", 1),
    ("registeredCapital as text such as \"500万元\"", 3),
    ("uscc: mistyped check character (position 17; both checks fail)", 2),
    ("uscc: the code copied from a blog post, 91310115MA1H8R7C6D", 1),
    ("uscc: legacy Fujian pilot code 91350100M0001TGQXM (warning only)", 1),
    ("uscc turned into a number by Excel (9.13101E+17)", 1),
    ("uscc in lower case", 1),
    ("status \"1\": Excel dropped the leading zero of 01", 2),
    ("status as the provider's text (存续) instead of the tax code", 2),
    ("registeredAddress missing (empty cell)", 2),
]


def tax_row(record: dict[str, Any]) -> dict[str, str]:
    yuan = round(record["registeredCapital"] * 10000, 2)
    return {
        "uscc": record["uscc"],
        "taxpayerName": record["enterpriseName"],
        "enterpriseName": record["enterpriseName"],
        "registeredAddress": record["registeredAddress"],
        "legalRepresentative": record["legalRepresentative"],
        "registeredCapital": f"{yuan:.0f}" if float(yuan).is_integer() else f"{yuan:.2f}",
        "establishedDate": record["establishedDate"].replace("-", ""),
        "status": TAX_STATUS[record["status"]],
    }


def tax_rows(pool: list[dict[str, Any]], rng: random.Random, n: int) -> tuple[list[dict[str, str]], list[str | None]]:
    rows = [tax_row(r) for r in pool[:n]]
    tags: list[str | None] = [None] * n
    defects = place_defects(rng, n, TAX_PLAN, keep={0})
    seen: Counter[str] = Counter()
    for i, kind in defects.items():
        row, src = rows[i], pool[i]
        if kind.startswith("establishedDate as YYYY-MM-DD"):
            row["establishedDate"] = src["establishedDate"]
        elif kind.startswith("establishedDate as 2019/3/12"):
            d = datetime.date.fromisoformat(src["establishedDate"])
            row["establishedDate"] = f"{d.year}/{d.month}/{d.day}"
        elif kind.startswith("establishedDate not a real"):
            row["establishedDate"] = ["20190230", "20210431"][seen[kind] % 2]
        elif kind.startswith("registeredCapital"):
            row["registeredCapital"] = f"{src['registeredCapital']}" + ["万元", "万元人民币", "万"][seen[kind] % 3]
        elif kind.startswith("uscc: mistyped"):
            row["uscc"] = mistype_org_check(rng, row["uscc"])
        elif kind.startswith("uscc: the code copied"):
            row["uscc"] = BLOG_USCC
            row["registeredAddress"] = f"上海市浦东新区{rng.choice(ROADS)}{rng.randint(1, 999)}号"
        elif kind.startswith("uscc: legacy"):
            row["uscc"] = LEGACY_FUJIAN_USCC
            row["taxpayerName"] = row["enterpriseName"] = "福州闽兴贸易有限公司"
            row["registeredAddress"] = f"福建省福州市鼓楼区{rng.choice(ROADS)}{rng.randint(1, 300)}号"
        elif kind.startswith("uscc turned into a number"):
            code = make_uscc(rng, pool[i]["divisionCode"], new_style=False, digits_only=True)
            mantissa = f"{int(code) / 10 ** 17:.5f}".rstrip("0").rstrip(".")
            row["uscc"] = f"{mantissa}E+17"
        elif kind.startswith("uscc in lower case"):
            if not any(c.isalpha() for c in row["uscc"]):
                row["uscc"] = make_uscc(rng, pool[i]["divisionCode"], new_style=True)
            row["uscc"] = row["uscc"].lower()
        elif kind.startswith("status \"1\""):
            row["status"] = row["status"].lstrip("0")
        elif kind.startswith("status as the provider"):
            row["status"] = src["status"]
        elif kind.startswith("registeredAddress missing"):
            row["registeredAddress"] = ""
        else:
            raise AssertionError(kind)
        tags[i] = kind
        seen[kind] += 1
    return rows, tags


def csv_text(columns: list[str], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def write_tax(rows: list[dict[str, str]]) -> None:
    text = csv_text(TAX_COLUMNS, rows)
    (HERE / "tax-enterprise-sample.csv").write_bytes(text.encode("gb18030"))
    (HERE / "tax-enterprise-sample-utf8-bom.csv").write_bytes(text.encode("utf-8-sig"))


# --------------------------------------------------------------------------- insured persons (social security)

PERSON_COLUMNS = [
    "name", "idNumber", "gender", "birthDate", "mobile", "employerUscc", "insuranceStatus", "insuredSince",
    "monthlyBase", "address/divisionCode", "address/detail", "address/postcode",
]
PERSON_PLAN = [
    ("idNumber: lower-case x check character (warning only)", 2),
    ("idNumber: 15-digit legacy number", 2),
    ("idNumber: birth date 19900230 inside the ID (and birthDate 1990-02-30)", 1),
    ("idNumber: wrong check digit", 2),
    ("mobile with a +86 prefix", 2),
    ("gender as text (男/女) instead of the GB/T 2261.1 code", 2),
    ("employerUscc missing", 2),
    ("address/postcode lost its leading zero (010020 -> 10020)", 1),
]


def insured_persons(pool: list[dict[str, Any]], rng: random.Random, n: int) -> tuple[list[dict[str, Any]], list[str | None]]:
    employers = [r["uscc"] for r in pool if r["status"] in ("存续", "在业")]
    defects = place_defects(rng, n, PERSON_PLAN)
    inner_mongolia = [d for d in DIVISIONS if d[0].startswith("15")]
    records: list[dict[str, Any]] = []
    tags: list[str | None] = [None] * n
    seen: Counter[str] = Counter()
    for i in range(n):
        kind = defects.get(i)
        male = rng.random() < 0.5
        birth = random_date(rng, datetime.date(1960, 1, 1), datetime.date(2004, 12, 31))
        born_in = rng.choice(DIVISIONS)[0]
        division, prefix, _, postcode = rng.choice(inner_mongolia if kind and "postcode" in kind else DIVISIONS)
        if kind and kind.startswith("idNumber: 15-digit"):
            birth = random_date(rng, datetime.date(1955, 1, 1), datetime.date(1980, 12, 31))
        ident = make_resident_id(rng, born_in, birth, male, check_x=bool(kind and "lower-case x" in kind))
        adult = datetime.date(birth.year + 18, birth.month, min(birth.day, 28))
        since = random_date(rng, max(adult, datetime.date(1995, 1, 1)), datetime.date(2024, 2, 29))
        record: dict[str, Any] = {
            "name": person_name(rng),
            "idNumber": ident,
            "gender": "1" if male else "2",
            "birthDate": birth.isoformat(),
            "mobile": REGISTRY["cn-mobile"].generate(rng),
            "employerUscc": rng.choice(employers),
            "insuranceStatus": weighted(rng, INSURANCE_STATUS_WEIGHTS),
            "insuredSince": since.isoformat(),
            "monthlyBase": number(rng.choice([rng.randrange(4500, 30001, 100), round(rng.uniform(4500, 30000), 2)])),
            "address": {
                "divisionCode": division,
                "detail": f"{prefix}{rng.choice(ROADS)}{rng.randint(1, 400)}号{rng.randint(1, 20)}栋{rng.randint(1, 6)}单元{rng.randint(1, 30)}{rng.randint(1, 4):02d}室",
                "postcode": postcode,
            },
        }
        if rng.random() < 0.08:
            del record["mobile"]  # optional at the provider; the medical-insurance bureau requires it
        if kind is None:
            pass
        elif "lower-case x" in kind:
            record["idNumber"] = ident[:-1] + "x"
        elif kind.startswith("idNumber: 15-digit"):
            record["idNumber"] = ident[:6] + ident[8:17]
        elif "19900230" in kind:
            first17 = born_in + "19900230" + f"{rng.randrange(500) * 2 + (1 if male else 0):03d}"
            record["idNumber"] = first17 + cn.ric_check_char(first17)
            record["birthDate"] = "1990-02-30"
        elif kind.startswith("idNumber: wrong check"):
            record["idNumber"] = ident[:17] + rng.choice([c for c in "0123456789X" if c != ident[17]])
        elif kind.startswith("mobile"):
            record["mobile"] = "+86" + REGISTRY["cn-mobile"].generate(rng)
        elif kind.startswith("gender"):
            record["gender"] = "男" if male else "女"
        elif kind.startswith("employerUscc"):
            del record["employerUscc"]
        elif "postcode" in kind:
            record["address"]["postcode"] = record["address"]["postcode"].lstrip("0")
        else:
            raise AssertionError(kind)
        if kind:
            seen[kind] += 1
        tags[i] = kind
        records.append(record)
    return records, tags


def flat_person(record: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in record.items() if k != "address"}
    for k, v in record.get("address", {}).items():
        row[f"address/{k}"] = v
    return row


def write_persons(records: list[dict[str, Any]]) -> None:
    rows = [flat_person(r) for r in records]
    (HERE / "insured-persons.csv").write_bytes(csv_text(PERSON_COLUMNS, rows).encode("utf-8"))

    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "参保人员"
    ws.append(PERSON_COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([row.get(c) for c in PERSON_COLUMNS])
    # Codes are text cells (an ID or a postcode as a number loses digits); monthlyBase is a number.
    for col_cells in ws.iter_cols(min_row=2):
        for cell in col_cells:
            if isinstance(cell.value, str):
                cell.number_format = "@"
    for letter, width in zip("ABCDEFGHIJKL", [10, 22, 8, 12, 15, 22, 10, 12, 12, 12, 48, 10]):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    fixed = datetime.datetime(2024, 3, 12, 9, 0, 0)
    wb.properties.created = wb.properties.modified = fixed
    wb.properties.creator = wb.properties.lastModifiedBy = "mvptest make_samples.py"
    buf = io.BytesIO()
    wb.save(buf)
    # openpyxl stamps the zip entries and dcterms:modified with the current time: rewrite both with a
    # fixed one, so that the same seed gives the same bytes.
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-03-12T09:00:00Z", data)
            entry = zipfile.ZipInfo(info.filename, date_time=(2024, 3, 12, 9, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)
    (HERE / "insured-persons.xlsx").write_bytes(out.getvalue())


# --------------------------------------------------------------------------- checking


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    """A CSV cell as the schema's type: numbers become numbers when they parse; text stays text."""
    if schema.get("type") in ("number", "integer"):
        try:
            return number(float(value))
        except ValueError:
            return value
    return value


def read_csv(path: Path, encoding: str, schema: dict[str, Any]) -> list[dict[str, Any]]:
    props = schema.get("properties", {})
    out = []
    with path.open(encoding=encoding, newline="") as fh:
        for row in csv.DictReader(fh):
            record: dict[str, Any] = {}
            for key, value in row.items():
                if value == "":
                    continue
                head, _, tail = key.partition("/")
                if tail:
                    sub = props.get(head, {}).get("properties", {}).get(tail, {})
                    record.setdefault(head, {})[tail] = _coerce(value, sub)
                else:
                    record[key] = _coerce(value, props.get(key, {}))
            out.append(record)
    return out


def check() -> int:
    import jsonschema_rs
    from openpyxl import load_workbook

    from mvptest.formats import custom_checkers
    from mvptest.spec.check import load_specs

    specs = load_specs([SPECS])
    if specs.problems:
        for p in specs.problems:
            print("spec problem:", p)
        return 1
    by_key = {i.key: i for i in specs.interfaces} | {r.key: r for r in specs.requirements}

    def validator(key: str) -> tuple[Any, Any, dict[str, dict[str, str]]]:
        item = by_key[key]
        bundled = item.response_schema if hasattr(item, "response_schema") else item.schema
        v = jsonschema_rs.Draft202012Validator(bundled.schema, formats=custom_checkers(), validate_formats=True)
        return v, {"properties": bundled.top_level_properties()}, item.format_options

    failures = 0

    def run(label: str, key: str, records: list[Any], tags: list[str | None]) -> None:
        nonlocal failures
        v, _, options = validator(key)
        assert len(records) == len(tags), (label, len(records), len(tags))
        counts: Counter[str] = Counter()
        for i, (record, tag) in enumerate(zip(records, tags)):
            errors = list(v.iter_errors(record)) if not isinstance(record, str) else ["parse"]
            severities = []
            for e in errors:
                if isinstance(e, str):
                    severities.append("error")
                    continue
                details = e.kind.as_dict()
                fmt = REGISTRY.get(str(details.get("format"))) if e.kind.name == "format" else None
                code = fmt.explain(e.instance).code if fmt else ""
                severities.append(fmt.severity(code, options.get(fmt.name)) if fmt else "error")
            if tag is None and errors:
                failures += 1
                print(f"{label}[{i}]: clean record fails: {[getattr(e, 'message', e) for e in errors]}")
            elif tag is not None and not errors:
                failures += 1
                print(f"{label}[{i}]: planted defect not caught: {tag}")
            elif tag in WARNING_ONLY and set(severities) != {"warning"}:
                failures += 1
                print(f"{label}[{i}]: expected warnings only, got {severities}")
            elif tag is not None and tag not in WARNING_ONLY and "error" not in severities:
                failures += 1
                print(f"{label}[{i}]: expected an error, got {severities}")
            counts["clean" if tag is None else ("warning" if tag in WARNING_ONLY else "invalid")] += 1
        print(f"{label}: {len(records)} records, {dict(counts)}")

    ent_tags = STATE["enterprise_tags"]
    run("enterprises.json", "market-supervision/enterprise-registration",
        json.loads((HERE / "enterprises.json").read_text(encoding="utf-8")), ent_tags)
    nd: list[Any] = []
    for line in (HERE / "enterprises.ndjson").read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(line)
            nd.append(value if isinstance(value, dict) else "not an object")
        except json.JSONDecodeError:
            nd.append("not JSON")
    run("enterprises.ndjson", "market-supervision/enterprise-registration", nd, STATE["ndjson_tags"])
    # The search interface wraps the same records: a page of clean ones must validate.
    sv, _, _ = validator("market-supervision/enterprise-search")
    page = [r for r, t in zip(json.loads((HERE / "enterprises.json").read_text(encoding="utf-8")), ent_tags) if t is None][:20]
    if not sv.is_valid({"total": len(page), "items": page}):
        failures += 1
        print("enterprise-search: a page of clean records fails")

    _, tax_schema, _ = validator("tax/enterprise-registration")
    for name, enc in (("tax-enterprise-sample.csv", "gb18030"), ("tax-enterprise-sample-utf8-bom.csv", "utf-8-sig")):
        raw = (HERE / name).read_bytes()
        assert raw.count(b"\r\n") == raw.count(b"\n"), f"{name}: not CRLF throughout"
        run(name, "tax/enterprise-registration", read_csv(HERE / name, enc, tax_schema), STATE["tax_tags"])

    _, person_schema, _ = validator("social-security/insured-person")
    csv_people = read_csv(HERE / "insured-persons.csv", "utf-8", person_schema)
    run("insured-persons.csv", "social-security/insured-person", csv_people, STATE["person_tags"])
    wb = load_workbook(HERE / "insured-persons.xlsx", read_only=True)
    ws = wb["参保人员"]
    assert wb.sheetnames[0] == "参保人员"
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    xlsx_people = []
    for values in rows[1:]:
        rec: dict[str, Any] = {}
        for key, value in zip(header, values):
            if value is None or value == "":
                continue
            head, _, tail = key.partition("/")
            if tail:
                rec.setdefault(head, {})[tail] = value
            else:
                rec[key] = value
        xlsx_people.append(rec)
    if xlsx_people != csv_people:
        failures += 1
        print("insured-persons.xlsx: records differ from insured-persons.csv")
    run("insured-persons.xlsx", "social-security/insured-person", xlsx_people, STATE["person_tags"])
    print("check:", "OK" if not failures else f"{failures} problem(s)")
    return 1 if failures else 0


# --------------------------------------------------------------------------- main

STATE: dict[str, Any] = {}


def summary(label: str, tags: list[str | None], plan: list[tuple[str, int]]) -> None:
    counts = Counter(t for t in tags if t)
    order = [kind for kind, _ in plan]
    print(f"{label}: {len(tags)} records/lines, {sum(counts.values())} with a planted defect")
    for kind in sorted(counts, key=lambda k: order.index(k) if k in order else len(order)):
        print(f"  {counts[kind]} x {kind}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="validate every written record against the specs")
    args = parser.parse_args()

    pool = enterprise_pool(random.Random(SEED), 150)
    records, ent_tags = enterprises(pool, random.Random(SEED + 1))
    nd_tags = write_enterprises(records, ent_tags, random.Random(SEED + 2))
    rows, tax_tags = tax_rows(pool, random.Random(SEED + 3), 120)
    write_tax(rows)
    people, person_tags = insured_persons(pool, random.Random(SEED + 4), 100)
    write_persons(people)
    STATE.update(enterprise_tags=ent_tags, ndjson_tags=nd_tags, tax_tags=tax_tags, person_tags=person_tags)

    summary("enterprises.json", ent_tags, ENTERPRISE_PLAN)
    summary("enterprises.ndjson", nd_tags, ENTERPRISE_PLAN)
    summary("tax-enterprise-sample.csv / -utf8-bom.csv", tax_tags, TAX_PLAN)
    summary("insured-persons.csv / .xlsx", person_tags, PERSON_PLAN)
    return check() if args.check else 0


if __name__ == "__main__":
    sys.exit(main())
