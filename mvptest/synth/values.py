"""Realistic leaf values: names, addresses, amounts, text, and generators for the standard formats.

Every function takes a ``random.Random`` and draws from fixed, ordered tables: same seed, same value.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

from mvptest import formats
from mvptest.formats import places

_ROADS = ("科技南路", "中关村大街", "世纪大道", "人民路", "解放路", "建设路", "中山路", "文三路", "高新大道", "长江路",
          "和平路", "滨海大道", "金融街", "新华路", "创业路")
_BUILDINGS = ("", "", "", "A座", "3栋", "创新大厦", "科技园B区")
_BRANDS = ("华信", "鼎盛", "恒通", "瑞丰", "锦程", "启明", "宏达", "中科", "天润", "博雅", "新元", "汇智", "盛世",
           "星辰", "云帆", "嘉禾", "泰和", "永安", "腾跃", "海纳", "金桥", "同创", "远景", "安信")
_INDUSTRIES = ("科技", "信息技术", "贸易", "实业", "建设工程", "餐饮管理", "生物医药", "物流", "文化传媒", "电子商务",
               "环保科技", "新能源", "农业发展", "咨询服务", "网络科技", "机械制造")
_COMPANY_FORMS = ("有限公司", "有限公司", "有限责任公司", "股份有限公司")
_SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高",
             "林", "罗", "郑", "梁", "谢", "宋", "唐", "欧阳", "司马")
_GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
          "华", "平", "刚", "桂英", "建华", "志强", "晓东", "海燕", "文", "婷", "浩", "宇", "欣怡", "子涵")
_SCOPE_ITEMS = ("技术开发", "技术咨询", "技术服务", "软件开发", "信息系统集成服务", "数据处理和存储支持服务",
                "货物进出口", "日用百货销售", "企业管理咨询", "市场营销策划", "建筑工程施工", "餐饮服务",
                "医疗器械销售", "道路货物运输", "广告设计、代理")
_WORDS = ("数据", "共享", "服务", "平台", "政务", "信息", "管理", "系统", "接口", "交换", "市场", "监督", "税务",
          "社保", "医保", "登记", "注册", "企业", "单位", "人员", "业务", "办理", "查询", "核验", "统一", "标准",
          "规范", "目录", "资源", "中心")
_ASCII = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_HOST_WORDS = ("api", "data", "gateway", "sjgx", "zwfw", "open")
_DOMAINS = ("example.gov.cn", "gov.cn", "sz.gov.cn", "bj.gov.cn")


def address(rng: random.Random, place: places.Place | None = None) -> str:
    """A street address in ``place`` (a drawn one when None): province, city, county, road, number."""
    place = place or places.draw(rng)
    return f"{place.head}{rng.choice(_ROADS)}{rng.randint(1, 999)}号{rng.choice(_BUILDINGS)}"


def company(rng: random.Random, place: places.Place | None = None, brand: str | None = None) -> str:
    """An enterprise name registered in ``place``'s city (a drawn one when None), with ``brand`` when given."""
    place = place or places.draw(rng)
    brand = brand or rng.choice(_BRANDS)
    industry, form = rng.choice(_INDUSTRIES), rng.choice(_COMPANY_FORMS)
    if rng.random() < 0.5:
        return f"{brand}{industry}（{place.city_short}）{form}"
    return f"{place.city}{brand}{industry}{form}"


def person(rng: random.Random) -> str:
    given = rng.choice(_GIVEN)
    if len(given) == 1 and rng.random() < 0.5:
        given += rng.choice(_GIVEN)[0]
    return rng.choice(_SURNAMES) + given


def scope(rng: random.Random) -> str:
    k = rng.randint(2, 4)
    start = rng.randrange(len(_SCOPE_ITEMS))
    items = [_SCOPE_ITEMS[(start + i * 3) % len(_SCOPE_ITEMS)] for i in range(k)]
    return "；".join(items) + "。"


def phone(rng: random.Random) -> str:
    return formats.REGISTRY["cn-mobile"].generate(rng)  # type: ignore[misc]


def chinese_text(rng: random.Random, n: int) -> str:
    if n <= 0:
        return ""
    parts: list[str] = []
    total = 0
    while total < n:
        w = _WORDS[rng.randrange(len(_WORDS))]
        parts.append(w)
        total += len(w)
    return "".join(parts)[:n]


def ascii_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ASCII) for _ in range(n))


# --------------------------------------------------------------------------- hints from a field's name or title

_COMPANY_NAMES = ("enterprisename", "companyname", "corpname", "entname", "orgname", "organizationname", "organisationname",
                  "taxpayername", "employername", "unitname", "dwmc", "qymc", "nsrmc")
_COMPANY_TITLES = ("企业名称", "单位名称", "纳税人名称", "公司名称", "机构名称", "市场主体名称")
_PERSON_NAMES = ("name", "fullname", "realname", "personname", "xm", "username")
_PERSON_TITLES = ("姓名", "法定代表人", "联系人", "负责人", "法人代表")


def text_hint(name: str, title: str, description: str) -> str | None:
    """What kind of text a string field holds, judged from its name and title: company, address, person, ..."""
    n = name.lower().replace("_", "").replace("-", "")
    t = title or ""
    if any(k in n for k in _COMPANY_NAMES) or any(k in t for k in _COMPANY_TITLES):
        return "company"
    if "address" in n or n.endswith("addr") or "地址" in t or "住所" in t:
        return "address"
    if "legalrep" in n or "contactname" in n or "personname" in n or n in _PERSON_NAMES or any(k in t for k in _PERSON_TITLES):
        return "person"
    if "scope" in n or "经营范围" in t:
        return "scope"
    if ("phone" in n or "mobile" in n or n.endswith("tel") or "电话" in t or "手机" in t):
        return "phone"
    if "email" in n or "邮箱" in t:
        return "email"
    if n.endswith("url") or "website" in n or "网址" in t:
        return "url"
    if n.endswith(("code", "id", "no", "number", "num", "dm", "bh")) or "代码" in t or "编号" in t or "编码" in t:
        return "code"
    return None


# Hints whose text names a place: drawn in the record's place when it has one.
PLACE_HINTS: dict[str, Callable[[random.Random, places.Place | None], str]] = {"company": company, "address": address}

TEXT_HINTS: dict[str, Callable[[random.Random], str]] = {
    "company": company,
    "address": address,
    "person": person,
    "scope": scope,
    "phone": phone,
    "email": lambda rng: f"user{rng.randrange(10**6)}@example.gov.cn",
    "url": lambda rng: f"https://{rng.choice(_HOST_WORDS)}.{rng.choice(_DOMAINS)}/",
}


def amount_hint(name: str, title: str, description: str, unit: str) -> tuple[float, float, list[float]] | None:
    """(low, high, round values) for a number field whose name says what it counts, in the field's unit."""
    n = name.lower()
    t = title or ""
    d = description or ""
    u = unit or ""
    if "capital" in n or "资本" in t:
        if "分" in u:
            scale = 1_000_000.0  # 1 万元 = 10^6 分
        elif "万" in u or (not u and ("万" in d or "元" not in d)):
            scale = 1.0
        else:
            scale = 10_000.0  # the field counts 元
        nice = [10, 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000]
        return 10 * scale, 100_000 * scale, [v * scale for v in nice]
    if any(k in n for k in ("amount", "salary", "base", "fee", "income", "price", "wage", "tax")) or any(
        k in t for k in ("金额", "基数", "工资", "费用", "收入", "税额")
    ):
        scale = 100.0 if "分" in u else (0.0001 if "万" in u else 1.0)
        nice = [3000, 4500, 5000, 6000, 8000, 10000, 12000, 15000, 20000]
        return 3000 * scale, 50_000 * scale, [v * scale for v in nice]
    if n == "age" or (n.endswith("age") and "page" not in n):
        return 18, 80, []
    if n in ("page", "pageno", "pagenum", "pagenumber", "current"):
        return 1, 20, []
    if n in ("size", "pagesize", "limit", "per_page", "perpage"):
        return 10, 50, [10, 20, 50]
    if "year" in n or "年度" in t:
        return 2000, 2024, []
    if any(k in n for k in ("count", "total", "num")):
        return 0, 1000, []
    return None


# --------------------------------------------------------------------------- standard formats without a registry generator


def _time(rng: random.Random) -> str:
    return f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}+08:00"


def _duration(rng: random.Random) -> str:
    k = rng.randrange(3)
    if k == 0:
        return f"P{rng.randint(1, 30)}D"
    if k == 1:
        return f"PT{rng.randint(1, 23)}H{rng.randint(1, 59)}M"
    return f"P{rng.randint(1, 5)}Y{rng.randint(1, 11)}M"


def _host(rng: random.Random) -> str:
    return f"{rng.choice(_HOST_WORDS)}{rng.randint(1, 99)}.{rng.choice(_DOMAINS)}"


def _ipv4(rng: random.Random) -> str:
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randint(1, 254)}"


def _ipv6(rng: random.Random) -> str:
    return "2001:db8:" + ":".join(f"{rng.randrange(65536):x}" for _ in range(6))


def _path(rng: random.Random) -> str:
    return f"/api/v1/{rng.choice(('enterprises', 'persons', 'records', 'items'))}/{rng.randint(1, 99999)}"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


STANDARD_GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "time": _time,
    "duration": _duration,
    "hostname": _host,
    "idn-hostname": _host,
    "ipv4": _ipv4,
    "ipv6": _ipv6,
    "uri": lambda rng: "https://" + _host(rng) + _path(rng),
    "iri": lambda rng: "https://" + _host(rng) + _path(rng),
    "uri-reference": _path,
    "iri-reference": _path,
    "uri-template": lambda rng: "https://" + _host(rng) + "/api/v1/items/{id}",
    "uuid": _uuid,
    "email": lambda rng: f"user{rng.randrange(10**6)}@example.gov.cn",
    "idn-email": lambda rng: f"user{rng.randrange(10**6)}@example.gov.cn",
    "json-pointer": lambda rng: "/" + rng.choice(("items", "data", "records")) + f"/{rng.randrange(10)}",
    "relative-json-pointer": lambda rng: f"{rng.randrange(3)}/{rng.choice(('name', 'code', 'value'))}",
    "regex": lambda rng: rng.choice(("^[0-9]{6}$", "^[A-Z]{2}[0-9]{4}$", "^1[3-9][0-9]{9}$", "^[0-9]+$")),
}


def short_email(rng: random.Random) -> str:
    """An e-mail address of 9 to 11 characters, for fields whose maxLength the usual one exceeds."""
    return f"u{rng.randrange(1000)}@gov.cn"


def format_generator(name: str) -> Callable[[random.Random], str] | None:
    """The generator for a format: the registry's own, else a simple one for a standard format."""
    spec = formats.REGISTRY.get(name)
    if spec is not None and spec.generate is not None:
        return spec.generate
    return STANDARD_GENERATORS.get(name)
