"""Adapters: the adjustment that turns what a provider serves into what a consumer requires, step by step.

An adapter file (YAML or JSON, kind: adapter) lists steps applied in order to every provider record:

    copy:      {from: /enterpriseName, to: /taxpayerName}
    rename:    {from: /a, to: /b}
    date:      {field: /establishedDate, from: date, to: date-compact}
    scale:     {field: /registeredCapital, factor: 10000, unit: 元, integer: false}
    map:       {field: /status, values: {存续: "01", 在业: "01"}}
    convert:   {field: /gender, to: integer}
    normalize: {field: /enterpriseName, ops: [trim, fullwidth-parentheses]}
    pick:      {from: /contributions/*/amount, to: /latestContributionAmount, choose: latest, by: period}
    prefix:    {field: /insuredRegion, length: 6}

A date step cuts a date-time in the consumer's time zone (``tz``, default +08:00), never the text.

Each step also says how it changes the provider's schema, so that a comparison can run on the adapted view.
"""

from __future__ import annotations

import copy
import datetime
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mvptest.compat.fields import FieldInfo, _json_type, clone_table
from mvptest.errors import Problem, SpecError
from mvptest.spec import pointer
from mvptest.spec.adapters import DEFAULT_TZ, adapter_problems, parse_tz, pick_split, star_split, step_problems
from mvptest.spec.loader import load_document

__all__ = [
    "DEFAULT_TZ",
    "Adapter",
    "adapter_problems",
    "get_value",
    "load_adapter",
    "parse_tz",
    "pick_split",
    "star_split",
    "step_problems",
]  # the document's checks live in spec/adapters.py


# --------------------------------------------------------------------------- pointers on records (spec/pointer.py)

get_value = pointer.get  # compat/engine.py and compat/view.py read records with it


def _parents(record: Any, tokens: list[str]) -> list[tuple[Any, str]]:
    """Every (container, last key) the pointer reaches; '*' walks every item of a list."""
    return [(n, tokens[-1]) for n in pointer.nodes(record, tokens[:-1]) if isinstance(n, dict)]


def copy_value(record: Any, src: str, dst: str, *, move: bool = False, only_missing: bool = False) -> None:
    """Copy (or move) the value at ``src`` to ``dst`` in place, inside every array item when both go through '*'."""
    split = star_split(src, dst)
    if split is None:
        items, s_rel, d_rel = [record], src, dst
    else:
        prefix, s_rel, d_rel = split
        items = pointer.nodes(record, pointer.split(prefix))
    for item in items:
        if not isinstance(item, dict):
            continue
        found, value = get_value(item, s_rel)
        if not found or (only_missing and get_value(item, d_rel)[0]):
            continue
        pointer.put(item, d_rel, copy.deepcopy(value))
        if move:
            for parent, key in _parents(item, pointer.split(s_rel)):
                parent.pop(key, None)


def _transform(record: Any, at: str, fn: Callable[[Any], Any]) -> None:
    for parent, key in _parents(record, pointer.split(at)):
        if key in parent:
            parent[key] = fn(parent[key])


# --------------------------------------------------------------------------- value functions

_WIDE = str.maketrans({"(": "（", ")": "）"})
_NARROW = str.maketrans({"（": "(", "）": ")"})


_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_RE = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)([Zz]|[+-]\d{2}(?::?\d{2})?)?")


def parse_datetime(value: str, tz: datetime.timezone) -> datetime.datetime | None:
    """An RFC 3339-like date-time (T, t or a space; fractions; Z, z or an offset) as an aware datetime.
    Without an offset the time is taken as local in ``tz``. None when the text is no date-time."""
    m = _DATETIME_RE.fullmatch(value.strip())
    if not m:
        return None
    day, clock, offset = m.groups()
    if "." in clock:  # fromisoformat takes at most 6 fraction digits
        whole, frac = clock.split(".")
        clock = f"{whole}.{frac[:6]}"
    offset = (offset or "").upper().replace("Z", "+00:00")
    if offset and ":" not in offset:
        offset = offset[:3] + ":" + (offset[3:] or "00")
    try:
        dt = datetime.datetime.fromisoformat(f"{day}T{clock}{offset}")
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=tz)


def _real_day(value: str, src: str) -> datetime.date | None:
    try:
        if src == "date" and _DATE_RE.fullmatch(value):
            return datetime.date.fromisoformat(value)
        if src == "date-compact" and re.fullmatch(r"\d{8}", value):
            return datetime.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        pass
    return None


def date_value(value: Any, src: str, dst: str, tz: str = DEFAULT_TZ) -> Any:
    """One date step on one value: a date-time becomes the date it is in ``tz``; a date becomes midnight in ``tz``.
    A value not in the source format is returned unchanged (the check reports it)."""
    if not isinstance(value, str):
        return value
    zone = parse_tz(tz)
    if src == "date-time":
        dt = parse_datetime(value, zone)
        day = dt.astimezone(zone).date() if dt is not None else None
    else:
        day = _real_day(value, src)
    if day is None:
        return value
    if dst == "date-compact":
        return day.strftime("%Y%m%d")
    if dst == "date":
        return day.isoformat()
    return f"{day.isoformat()}T00:00:00{'Z' if tz in ('Z', 'z') else tz}"


def _scale(value: Any, factor: float, integer: bool, ndigits: int | None) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    out = value * factor
    if integer:
        return round(out)
    if ndigits is not None:
        return round(out, ndigits)
    return round(out, 6) if isinstance(out, float) else out


def convert_value(value: Any, to: str) -> Any:
    try:
        if to == "string":
            if isinstance(value, float) and value.is_integer():
                return str(int(value))
            return value if isinstance(value, str) else str(value)
        if to == "integer" and isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
        if to == "integer" and isinstance(value, float) and value.is_integer():
            return int(value)
        if to == "number" and isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value):
            v = float(value)
            return int(v) if v.is_integer() and "." not in value else v
    except ValueError:
        pass
    return value


def _normalize(value: Any, ops: list[str]) -> Any:
    if not isinstance(value, str):
        return value
    for op in ops:
        if op == "trim":
            value = value.strip()
        elif op == "remove-spaces":
            value = re.sub(r"\s+", "", value)
        elif op == "halfwidth":
            value = "".join(unicodedata.normalize("NFKC", c) if "\uff01" <= c <= "\uff5e" or c == "\u3000" else c for c in value)
        elif op == "fullwidth-parentheses":
            value = value.translate(_WIDE)
        elif op == "halfwidth-parentheses":
            value = value.translate(_NARROW)
        elif op == "upper":
            value = value.upper()
        elif op == "strip-country-code":
            value = re.sub(r"^(\+86|0086|86)(?=1[3-9]\d{9}$)", "", value.replace(" ", "").replace("-", ""))
    return value


def prefix_value(value: Any, length: int) -> Any:
    """The first ``length`` characters of a string; other values and shorter strings unchanged."""
    return value[:length] if isinstance(value, str) and len(value) > length else value


def by_pointer(by: str) -> str:
    """The item key that orders a pick (``period``, ``/period`` or ``payment/paidAt``) as a relative pointer."""
    return by if by.startswith("/") else "/" + by


def order_key(value: Any, tz: datetime.timezone) -> tuple[str, Any] | None:
    """What orders items by one of their values: ("n", number) or ("t", an aware instant) for a date-time, a date,
    a date-compact, a year-month (YYYYMM, YYYY-MM) or a year, midnight in ``tz`` for those without a time.
    None when the value cannot be ordered (the item is skipped)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return ("n", value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    dt = parse_datetime(text, tz)
    if dt is not None:
        return ("t", dt)
    m = (re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
         or re.fullmatch(r"(\d{4})-?(\d{2})()", text) or re.fullmatch(r"(\d{4})()()", text))
    if not m:
        return None
    try:
        day = datetime.date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        return None
    return ("t", datetime.datetime(day.year, day.month, day.day, tzinfo=tz))


def pick_value(record: Any, args: dict[str, Any]) -> tuple[bool, Any]:
    """(found, value): the chosen item's value, or (False, None) when there is none to pick (the target stays absent)."""
    array, rel = pick_split(args["from"])
    found, items = get_value(record, array)
    if not found or not isinstance(items, list) or not items:
        return False, None
    choose = args["choose"]
    if isinstance(choose, int) and not isinstance(choose, bool):
        if not -len(items) <= choose < len(items):
            return False, None
        item = items[choose]
    elif choose == "first":
        item = items[0]
    elif choose == "last":
        item = items[-1]
    else:
        item = _ordered_pick(items, by_pointer(str(args["by"])), parse_tz(str(args.get("tz", DEFAULT_TZ))), choose)
        if item is None:
            return False, None
    found, value = get_value(item, rel)
    if not found or value is None:
        return False, None
    return True, copy.deepcopy(value)


def _ordered_pick(items: list[Any], by: str, tz: datetime.timezone, choose: str) -> Any:
    """The latest (or earliest) item by its ``by`` value; a tie goes to the later (earlier) item in the array."""
    keyed = []
    for item in items:
        found, value = get_value(item, by)
        key = order_key(value, tz) if found else None
        if key is not None:
            keyed.append((key, item))
    kinds = {k[0] for k, _ in keyed}
    kind = "t" if "t" in kinds else "n"  # numbers and dates do not order each other: dates win
    keyed = [(k[1], item) for k, item in keyed if k[0] == kind]
    if not keyed:
        return None
    best = keyed[0]
    for entry in keyed[1:]:
        if (entry[0] >= best[0]) if choose == "latest" else (entry[0] < best[0]):
            best = entry
    return best[1]


def _value_step(kind: str, args: dict[str, Any]) -> Callable[[Any], Any] | None:
    """What a step on one field (date, scale, map, convert, normalize, prefix) does to each of its values."""
    if kind == "date":
        return lambda v: date_value(v, args["from"], args["to"], args.get("tz", DEFAULT_TZ))
    if kind == "scale":
        return lambda v: _scale(v, float(args["factor"]), bool(args.get("integer")), args.get("round"))
    if kind == "map":
        return lambda v: mapped_value(v, args)
    if kind == "convert":
        return lambda v: convert_value(v, args["to"])
    if kind == "normalize":
        return lambda v: _normalize(v, list(args["ops"]))
    if kind == "prefix":
        return lambda v: prefix_value(v, int(args["length"]))
    return None


# --------------------------------------------------------------------------- the adapter


@dataclass
class Adapter:
    steps: list[dict[str, Any]]
    provider: str = ""
    consumer: str = ""
    source: str = ""

    def apply(self, record: Any) -> Any:
        """A copy of a provider record with every step applied."""
        if not isinstance(record, dict):
            return record
        out = copy.deepcopy(record)
        for step in self.steps:
            (kind, args), = step.items()
            fn = _value_step(kind, args)
            if fn is not None:
                _transform(out, args["field"], fn)
            elif kind in ("copy", "rename"):
                copy_value(out, args["from"], args["to"], move=kind == "rename")
            elif kind == "pick":
                found, value = pick_value(out, args)
                if found:
                    pointer.put(out, args["to"], value)
        return out

    def unknown_fields(self, table: dict[str, FieldInfo]) -> list[str]:
        """Steps that name a field the provider does not serve (a typo does nothing, silently, otherwise)."""
        notes = []
        known = set(table)
        for i, step in enumerate(self.steps, start=1):
            (kind, args), = step.items()
            name = args["from"] if kind in ("copy", "rename", "pick") else args["field"]
            served = name in known
            if kind == "pick" and not served:
                array, rel = pick_split(name)
                served = rel == "" and array in known  # an array of plain values has no entry for its items
            if not served:
                notes.append(f"adapter step {i} ({kind}) names {name}, which the provider does not serve: it changes nothing")
            if kind in ("copy", "rename", "pick"):
                src, dst = args["from"], args["to"]
                known |= {dst + p[len(src):] for p in known if p == src or p.startswith(src + "/")}
                if kind == "pick" and served:
                    known.add(dst)
        return notes

    def apply_fields(self, table: dict[str, FieldInfo]) -> dict[str, FieldInfo]:
        """The provider's field table as the adapter leaves it (renamed fields, new formats, units, codes)."""
        table = clone_table(table)
        for step in self.steps:
            (kind, args), = step.items()
            if kind in ("copy", "rename"):
                src, dst = args["from"], args["to"]
                moved = {p: f for p, f in table.items() if p == src or p.startswith(src + "/")}
                for p, f in moved.items():
                    new = dst + p[len(src):]
                    table[new] = FieldInfo(new, copy.deepcopy(f.schema), f.required, f.parent_required, f.title)
                    if kind == "rename":
                        del table[p]
                continue
            if kind == "pick":
                _pick_fields(table, args)
                continue
            changed = table.get(args["field"])
            if changed is None:
                continue
            s = changed.schema
            if kind == "date":
                if s.get("format") == args["from"] or "format" not in s:
                    s["format"] = args["to"]
            elif kind == "scale":
                if args.get("unit"):
                    s["x-unit"] = args["unit"]
                if args.get("integer"):
                    s["type"] = "integer"
                for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                    if isinstance(s.get(key), (int, float)):
                        s[key] = s[key] * float(args["factor"])
            elif kind == "map":
                if "enum" in s:
                    s["enum"] = _unique([mapped_value(v, args) for v in s["enum"]])
                    types = {_json_type(v) for v in s["enum"]}
                    s["type"] = sorted(types)[0] if len(types) == 1 else sorted(types)
            elif kind == "convert":
                s["type"] = args["to"]
                if "enum" in s:
                    s["enum"] = _unique([convert_value(v, args["to"]) for v in s["enum"]])
            elif kind == "normalize":
                s.setdefault("x-normalized", []).extend(args["ops"])
            elif kind == "prefix":
                _prefix_schema(s, int(args["length"]))
        return table

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "adapter"}
        if self.provider:
            out["provider"] = self.provider
        if self.consumer:
            out["consumer"] = self.consumer
        out["steps"] = self.steps
        return out


# a prefix of this many characters of a code in this format is a code in that one
_PREFIX_FORMATS = {("cn-stats-division", 6): "cn-admin-division", ("cn-resident-id", 6): "cn-admin-division"}


def _prefix_schema(s: dict[str, Any], n: int) -> None:
    """A string schema as a prefix step of ``n`` characters leaves it: lengths, pattern, enum, format."""
    for key in ("minLength", "maxLength"):
        if isinstance(s.get(key), int) and s[key] > n:
            s[key] = n
    if isinstance(s.get("pattern"), str) and _min_width(s["pattern"]) > n:
        del s["pattern"]  # it asked for more characters than the prefix keeps
    if isinstance(s.get("enum"), list):
        s["enum"] = _unique([prefix_value(v, n) for v in s["enum"]])
    fmt = s.get("format")
    if isinstance(fmt, str) and fmt in {f for f, _ in _PREFIX_FORMATS}:
        if (fmt, n) in _PREFIX_FORMATS:
            s["format"] = _PREFIX_FORMATS[(fmt, n)]
        else:
            del s["format"]  # a 9-digit township prefix of a statistical code is no format we know


def _min_width(pattern: str) -> int:
    """The fewest characters a regular expression can match (0 when Python cannot read it)."""
    import re._parser as parser  # the standard library's own parser: getwidth() is its (min, max) length

    try:
        return int(parser.parse(pattern).getwidth()[0])
    except (re.error, RecursionError, OverflowError):  # ECMA-only syntax Python cannot read: keep the pattern
        return 0


def _pick_fields(table: dict[str, FieldInfo], args: dict[str, Any]) -> None:
    """The target of a pick step gets the item value's schema; it is required only when the array always holds
    the chosen item with the value (minItems and required keys), as the array itself is required."""
    src, dst = args["from"], args["to"]
    array, rel = pick_split(src)
    arr = table.get(array)
    if arr is None:
        return
    item = table.get(src)
    if item is None and rel == "":
        items = arr.schema.get("items")
        item = FieldInfo(src, copy.deepcopy(items) if isinstance(items, dict) and "$ref" not in items else {}, True, True)
    if item is None:
        return
    schema = copy.deepcopy(item.schema)
    types = schema.get("type")
    if isinstance(types, list) and "null" in types:  # a null value is never written: the target stays absent
        types = [t for t in types if t != "null"]
        schema["type"] = types[0] if len(types) == 1 else types
    choose = args["choose"]
    needed = (choose + 1 if choose >= 0 else -choose) if isinstance(choose, int) else 1
    always = (isinstance(arr.schema.get("minItems"), int) and arr.schema["minItems"] >= needed
              and "null" not in arr.types and _required_in_item(table, array, rel)
              and (choose not in ("latest", "earliest") or _required_in_item(table, array, by_pointer(str(args["by"])))))
    inside = [(p, f) for p, f in table.items() if p.startswith(src + "/")]  # the keys of an object item
    for p in [p for p in table if p == dst or p.startswith(dst + "/")]:
        del table[p]
    target = FieldInfo(dst, schema, arr.required if always else False, arr.parent_required, item.title or arr.title)
    table[dst] = target
    for p, f in inside:
        new = dst + p[len(src):]
        table[new] = FieldInfo(new, copy.deepcopy(f.schema), f.required, target.effectively_required and f.parent_required,
                               f.title)


def _required_in_item(table: dict[str, FieldInfo], array: str, rel: str) -> bool:
    """Every key on the way from an array item to ``rel`` is required (and not nullable) in the item's schema."""
    at = array + "/*"
    for token in pointer.split(rel):
        at = pointer.child(at, token)
        f = table.get(at)
        if f is None or not f.required or "null" in f.types:
            return False
    return True


def mapped_value(value: Any, args: dict[str, Any]) -> Any:
    """What a map step makes of one value. A value mapped to null is one whose consumer code is not decided yet
    (DECIDE in a suggested adapter): it is left as it is, so that the check names the value, not a null."""
    values = args["values"]
    key = map_key(value)
    if key in values:
        return value if values[key] is None else values[key]
    return args.get("default", value)


def map_key(value: Any) -> str:
    """The key of a value in a map step: the text itself, JSON for the rest (1, true, null)."""
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _unique(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def load_adapter(path: Path) -> Adapter:
    """Read and check an adapter file; every problem is reported with its line (exit 2)."""
    doc = load_document(path)
    problems = list(doc.problems)
    if not isinstance(doc.data, dict) or doc.data.get("kind") != "adapter":
        problems.append(Problem(doc.locate("/kind" if isinstance(doc.data, dict) and "kind" in doc.data else ""),
                                "is not an adapter (kind: adapter)", "write the file with mvptest compat --suggest-adapter"))
        raise SpecError(problems)
    problems.extend(adapter_problems(doc))
    if problems:
        raise SpecError(problems)
    data = doc.data
    return Adapter(list(data.get("steps") or []), str(data.get("provider", "")), str(data.get("consumer", "")), str(path))
