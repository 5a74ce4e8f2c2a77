"""Adapters: the adjustment that turns what a provider serves into what a consumer requires, step by step.

An adapter file (YAML or JSON, kind: adapter) lists steps applied in order to every provider record:

    copy:      {from: /enterpriseName, to: /taxpayerName}
    rename:    {from: /a, to: /b}
    date:      {field: /establishedDate, from: date, to: date-compact}
    scale:     {field: /registeredCapital, factor: 10000, unit: 元, integer: false}
    map:       {field: /status, values: {存续: "01", 在业: "01"}}
    convert:   {field: /gender, to: integer}
    normalize: {field: /enterpriseName, ops: [trim, fullwidth-parentheses]}

Each step also says how it changes the provider's schema, so that a comparison can run on the adapted view.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from mvptest.compat.fields import FieldInfo, clone_table
from mvptest.validation.readers import put_value as set_value
from mvptest.errors import SpecError

from mvptest.spec.meta import ADAPTER_DOC  # the file's shape lives with the other kinds


# --------------------------------------------------------------------------- pointers on records


def _tokens(pointer: str) -> list[str]:
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _parents(record: Any, tokens: list[str]) -> list[tuple[Any, str]]:
    """Every (container, last key) the pointer reaches; '*' walks every item of a list."""
    return [(n, tokens[-1]) for n in _nodes(record, tokens[:-1]) if isinstance(n, dict)]


def get_value(record: Any, pointer: str) -> tuple[bool, Any]:
    node = record
    for token in _tokens(pointer):
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False, None
    return True, node


def _nodes(record: Any, tokens: list[str]) -> list[Any]:
    """Every node the tokens reach; '*' walks every item of a list."""
    nodes = [record]
    for token in tokens:
        nxt = []
        for node in nodes:
            if token == "*" and isinstance(node, list):
                nxt.extend(node)
            elif isinstance(node, dict) and token in node:
                nxt.append(node[token])
        nodes = nxt
    return nodes


def star_split(src: str, dst: str) -> tuple[str, str, str] | None:
    """``/a/*/b`` and ``/a/*/c`` -> (``/a/*``, ``/b``, ``/c``): the shared prefix up to the last '*', and the rest.
    None when neither pointer has a '*'; ValueError when the '*' do not sit at the same place."""
    st, dt = _tokens(src), _tokens(dst)
    if "*" not in st and "*" not in dt:
        return None
    last = max(i for i, t in enumerate(st) if t == "*") if "*" in st else -1
    if last < 0 or st[: last + 1] != dt[: last + 1] or "*" in dt[last + 1:] or last + 1 >= min(len(st), len(dt)):
        raise ValueError(f"{src} and {dst} must share the part up to the last '*'")
    prefix = "/" + "/".join(st[: last + 1])
    return prefix, src[len(prefix):], dst[len(prefix):]


def copy_value(record: Any, src: str, dst: str, *, move: bool = False, only_missing: bool = False) -> None:
    """Copy (or move) the value at ``src`` to ``dst`` in place, inside every array item when both go through '*'."""
    split = star_split(src, dst)
    if split is None:
        items, s_rel, d_rel = [record], src, dst
    else:
        prefix, s_rel, d_rel = split
        items = _nodes(record, _tokens(prefix))
    for item in items:
        if not isinstance(item, dict):
            continue
        found, value = get_value(item, s_rel)
        if not found or (only_missing and get_value(item, d_rel)[0]):
            continue
        set_value(item, d_rel, copy.deepcopy(value))
        if move:
            for parent, key in _parents(item, _tokens(s_rel)):
                parent.pop(key, None)


def _transform(record: Any, pointer: str, fn: Callable[[Any], Any]) -> None:
    for parent, key in _parents(record, _tokens(pointer)):
        if key in parent:
            parent[key] = fn(parent[key])


# --------------------------------------------------------------------------- value functions

_WIDE = str.maketrans({"(": "（", ")": "）"})
_NARROW = str.maketrans({"（": "(", "）": ")"})


def _date(value: Any, src: str, dst: str) -> Any:
    if not isinstance(value, str):
        return value
    digits = None
    if src == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        digits = value.replace("-", "")
    elif src == "date-compact" and re.fullmatch(r"\d{8}", value):
        digits = value
    elif src == "date-time" and re.match(r"\d{4}-\d{2}-\d{2}[T ]", value):
        digits = value[:10].replace("-", "")
    if digits is None:
        return value  # not in the source format: left for the check to report
    if dst == "date-compact":
        return digits
    if dst == "date":
        return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}T00:00:00+08:00"


def _scale(value: Any, factor: float, integer: bool, ndigits: int | None) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    out = value * factor
    if integer:
        return int(round(out))
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
            if kind in ("copy", "rename"):
                copy_value(out, args["from"], args["to"], move=kind == "rename")
            elif kind == "date":
                _transform(out, args["field"], lambda v, a=args: _date(v, a["from"], a["to"]))
            elif kind == "scale":
                _transform(out, args["field"], lambda v, a=args: _scale(v, float(a["factor"]), bool(a.get("integer")), a.get("round")))
            elif kind == "map":
                values = args["values"]
                _transform(out, args["field"], lambda v, m=values, a=args: m.get(map_key(v), a.get("default", v))
                           if map_key(v) in m or "default" in a else v)
            elif kind == "convert":
                _transform(out, args["field"], lambda v, a=args: convert_value(v, a["to"]))
            elif kind == "normalize":
                _transform(out, args["field"], lambda v, a=args: _normalize(v, list(a["ops"])))
        return out

    def unknown_fields(self, table: dict[str, FieldInfo]) -> list[str]:
        """Steps that name a field the provider does not serve (a typo does nothing, silently, otherwise)."""
        notes = []
        known = set(table)
        for i, step in enumerate(self.steps, start=1):
            (kind, args), = step.items()
            name = args["from"] if kind in ("copy", "rename") else args["field"]
            if name not in known:
                notes.append(f"adapter step {i} ({kind}) names {name}, which the provider does not serve: it changes nothing")
            if kind in ("copy", "rename"):
                src, dst = args["from"], args["to"]
                known |= {dst + p[len(src):] for p in known if p == src or p.startswith(src + "/")}
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
            f = table.get(args["field"])
            if f is None:
                continue
            s = f.schema
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
                values = args["values"]
                if "enum" in s:
                    s["enum"] = _unique([values.get(map_key(v), args.get("default", v)) if map_key(v) in values or "default" in args
                                         else v for v in s["enum"]])
                    types = {("integer" if isinstance(v, int) and not isinstance(v, bool) else "number" if isinstance(v, float)
                              else "string") for v in s["enum"]}
                    s["type"] = sorted(types)[0] if len(types) == 1 else sorted(types)
            elif kind == "convert":
                s["type"] = args["to"]
                if "enum" in s:
                    s["enum"] = _unique([convert_value(v, args["to"]) for v in s["enum"]])
            elif kind == "normalize":
                s.setdefault("x-normalized", []).extend(args["ops"])
        return table

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "adapter"}
        if self.provider:
            out["provider"] = self.provider
        if self.consumer:
            out["consumer"] = self.consumer
        out["steps"] = self.steps
        return out


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
    from mvptest.errors import Problem
    from mvptest.spec.check import _structure_problems
    from mvptest.spec.loader import load_document

    doc = load_document(path)
    problems = list(doc.problems)
    if not isinstance(doc.data, dict) or doc.data.get("kind") != "adapter":
        problems.append(Problem(doc.locate("/kind" if isinstance(doc.data, dict) and "kind" in doc.data else ""),
                                "is not an adapter (kind: adapter)", "write the file with mvptest compat --suggest-adapter"))
        raise SpecError(problems)
    problems.extend(_structure_problems(doc, ADAPTER_DOC))
    steps = doc.data.get("steps")
    for i, step in enumerate(steps if isinstance(steps, list) else []):  # a wrong shape is reported above
        if isinstance(step, dict) and len(step) == 1:
            (kind, args), = step.items()
            if kind == "date" and isinstance(args, dict) and args.get("from") == args.get("to"):
                problems.append(Problem(doc.locate(f"/steps/{i}/date"), "a date step must change the format (from == to)"))
            if kind in ("copy", "rename") and isinstance(args, dict) and all(isinstance(args.get(k), str) for k in ("from", "to")):
                try:
                    star_split(args["from"], args["to"])
                except ValueError as exc:
                    problems.append(Problem(doc.locate(f"/steps/{i}/{kind}"), str(exc),
                                            "copy inside array items: from: /items/*/a, to: /items/*/b"))
    if problems:
        raise SpecError(problems)
    data = doc.data
    return Adapter(list(data.get("steps") or []), str(data.get("provider", "")), str(data.get("consumer", "")), str(path))
