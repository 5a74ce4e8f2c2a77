"""Places of the GB/T 2260 division table with their current names: one drawn place makes a record's codes,
address and enterprise name agree."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache

from mvptest.formats import cn

__all__ = ["Place", "draw", "place_of", "places"]

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})  # 北京, 天津, 上海, 重庆: the province is the city
_NAME = re.compile(r'="(.*)"$')
_PERIOD = re.compile(r"^\[(\d*)-(\d*)\]")
_GROUPS = ("市辖区", "市区", "县", "郊区", "矿区")  # groupings and catch-alls, not places an address names


@dataclass(frozen=True)
class Place:
    """A county-level division: its 6-digit code and the names of its province, city and county."""

    code: str
    province: str
    city: str  # the province again for a municipality
    county: str

    @property
    def city_short(self) -> str:
        """The city as an enterprise name writes it: 重庆 in 华信科技（重庆）有限公司."""
        return self.city[:-1] if self.city.endswith("市") and len(self.city) > 2 else self.city

    @property
    def head(self) -> str:
        """How an address starts: province, city (once for a municipality), county."""
        return (self.province if self.city == self.province else self.province + self.city) + self.county


def _current(raw: str) -> str | None:
    """The name a division has today, or None when it was retired ("[1983-2005]东山区")."""
    m = _NAME.search(raw)
    if m is None:
        return None
    last = m.group(1).split(",")[-1]
    period = _PERIOD.match(last)
    if period is not None:
        if period.group(2):
            return None
        last = last[period.end():]
    return last or None


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """Every code with a current name (province lines as XX0000)."""
    out: dict[str, str] = {}
    province = ""
    for line in cn.division_lines():
        code, _, raw = line.strip().partition(" ")
        if not line.startswith(" "):
            province = code
            code += "0000"
        else:
            code = province + code
        name = _current(raw)
        if name is not None:
            out.setdefault(code, name)
    return out


@lru_cache(maxsize=1)
def places() -> tuple[Place, ...]:
    """The county-level places whose province and city carry current names, sorted by code (a seed picks the same)."""
    names = _names()
    out = []
    for code, county in sorted(names.items()):
        if code.endswith("00") or county in _GROUPS or "行政区划" in county:
            continue
        province = names.get(code[:2] + "0000")
        city = province if code[:2] in MUNICIPALITIES else names.get(code[:4] + "00")
        if province and city and city.endswith("市") and cn.check_admin_division(code):
            out.append(Place(code, province, city, county))
    return tuple(out)


def draw(rng: random.Random) -> Place:
    table = places()
    return table[rng.randrange(len(table))]


@lru_cache(maxsize=4096)
def place_of(code: str) -> Place | None:
    """The place of a division code: the county itself, else the first of its city, else of its province."""
    table = places()
    for prefix in (code, code[:4], code[:2]):
        if len(prefix) < 2:
            break
        for place in table:
            if place.code.startswith(prefix):
                return place
    return None
