"""What other fields of a record follow from an identifier or a date, as a real provider's records do.

A credit code names its division (positions 3-8), a resident ID its holder's birth date and gender; a record's
``updatedAt`` comes after its other dates and an ``*End``/``*To`` after its ``*Start``/``*From``. Each rule is a
function ``derive(record, current) -> value`` (None keeps the current value); the synthesizer picks the fields.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from mvptest.formats import cn

__all__ = ["DATE_FORMATS", "ID_NAMES", "USCC_NAMES", "after_birth", "birth_from", "date_order", "division_from",
           "gender_from", "gender_values", "is_birth", "is_gender", "later_than", "prefer"]

Derive = Callable[[dict[str, Any], Any], Any]

DATE_FORMATS = ("date", "date-time", "date-compact")
ID_NAMES = ("idnumber", "idcard", "sfzh", "gmsfhm")  # preferred names of the resident ID a record's person has
USCC_NAMES = ("uscc", "creditcode", "tyshxydm")
_LATEST = re.compile(r"(updat|modif|lastchange|changed)", re.IGNORECASE)
_START = re.compile(r"^(.*?)(start|from|begin)(.*)$", re.IGNORECASE)
_END_WORDS = ("end", "to", "until")


def _rid_birth(rid: Any) -> datetime.date | None:
    if not isinstance(rid, str) or len(rid) != 18 or not cn.is_real_date_compact(rid[6:14]):
        return None
    return datetime.date(int(rid[6:10]), int(rid[10:12]), int(rid[12:14]))


def _as(fmt: str, day: datetime.date, current: str = "") -> str:
    if fmt == "date-compact":
        return day.strftime("%Y%m%d")
    if fmt == "date-time":
        return day.isoformat() + (current[10:] if len(current) > 10 else "T09:00:00+08:00")
    return day.isoformat()


def _day(value: Any) -> datetime.date | None:
    """The calendar day of a date, date-compact or date-time value (its written day: offsets are not converted)."""
    if not isinstance(value, str):
        return None
    digits = value[:10].replace("-", "") if len(value) >= 10 and value[4:5] == "-" else value[:8]
    if len(digits) != 8 or not cn.is_real_date_compact(digits):
        return None
    return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def _between(low: datetime.date, high: datetime.date, current: str) -> datetime.date:
    """A day in [low, high], chosen by the current value's digits (deterministic, no random draw)."""
    span = (high - low).days
    if span <= 0:
        return low
    digits = "".join(c for c in current if c.isdigit()) or "0"
    return low + datetime.timedelta(days=int(digits[-9:]) % (span + 1))


# --------------------------------------------------------------------------- credit code and resident ID


def division_from(uscc_field: str) -> Derive:
    """The division code a credit code was issued in (its positions 3-8)."""

    def derive(record: dict[str, Any], current: Any) -> Any:
        uscc = record.get(uscc_field)
        return uscc[2:8] if isinstance(uscc, str) and len(uscc) == 18 else None

    return derive


def birth_from(id_field: str, fmt: str) -> Derive:
    """The birth date a resident ID encodes, in the field's format."""

    def derive(record: dict[str, Any], current: Any) -> Any:
        birth = _rid_birth(record.get(id_field))
        return None if birth is None else _as(fmt, birth, current if isinstance(current, str) else "")

    return derive


def after_birth(id_field: str, fmt: str) -> Derive:
    """A person's other dates (insured since, employed since, ...) fall after the age of 16, not before the birth."""

    def derive(record: dict[str, Any], current: Any) -> Any:
        birth = _rid_birth(record.get(id_field))
        if birth is None or not isinstance(current, str):
            return None
        earliest = birth.replace(year=birth.year + 16, day=28 if (birth.month, birth.day) == (2, 29) else birth.day)
        today = datetime.date.today()
        if earliest >= today:
            earliest = birth  # a child: any day since the birth
        day = _day(current)
        if day is not None and earliest <= day <= today:
            return None  # already plausible
        if earliest >= today:
            return None
        return _as(fmt, _between(earliest, today - datetime.timedelta(days=1), current), current)

    return derive


def gender_from(id_field: str, male: Any, female: Any) -> Derive:
    """The gender a resident ID encodes (its 17th digit: odd for men), as the field's values write it."""

    def derive(record: dict[str, Any], current: Any) -> Any:
        rid = record.get(id_field)
        if isinstance(rid, str) and len(rid) == 18 and rid[16].isdigit():
            return male if int(rid[16]) % 2 else female
        return None

    return derive


def is_birth(name: str, title: str) -> bool:
    n = name.lower()
    return "birth" in n or n in ("csrq", "dob") or "出生" in title


def is_gender(name: str, title: str) -> bool:
    n = name.lower()
    return "gender" in n or n in ("sex", "xb", "xbdm") or "性别" in title


def gender_values(options: list[Any]) -> tuple[Any, Any] | None:
    """The (male, female) values of a gender enum: GB/T 2261.1 codes, words or letters."""
    for male, female in (("1", "2"), (1, 2), ("男", "女"), ("M", "F"), ("male", "female")):
        m = [o for o in options if o == male and type(o) is type(male)]
        w = [o for o in options if o == female and type(o) is type(female)]
        if m and w:
            return m[0], w[0]
    return None


def prefer(names: list[str], wanted: tuple[str, ...]) -> str:
    """The field among ``names`` a rule reads: the first whose name is a wanted one, else the first."""
    for w in wanted:
        for n in names:
            if n.lower() == w:
                return n
    return names[0]


# --------------------------------------------------------------------------- the order of a record's dates


def later_than(name: str, others: list[str]) -> list[str]:
    """The date fields among ``others`` that ``name`` comes after: every other one for an update time, the matching
    start for an end (validFrom -> validTo, startDate -> endDate, periodStart -> periodEnd)."""
    if _LATEST.search(name):
        return [o for o in others if o != name and not _LATEST.search(o)]
    out = []
    for other in others:
        m = _START.match(other)
        if m is None or other == name:
            continue
        prefix, word, suffix = m.groups()
        for end in _END_WORDS:
            candidate = prefix + (end.capitalize() if word[:1].isupper() else end) + suffix
            if candidate == name:
                out.append(other)
    return out


def date_order(sources: tuple[str, ...], fmt: str) -> Derive:
    """The field moved to a day between the latest of ``sources`` and today when it falls before any of them."""

    def derive(record: dict[str, Any], current: Any) -> Any:
        days = [d for d in (_day(record.get(s)) for s in sources) if d is not None]
        mine = _day(current)
        if not days or mine is None or mine >= max(days):
            return None
        low = max(days)
        high = max(low, datetime.date.today())
        return _as(fmt, _between(low, high, str(current)), str(current))

    return derive
