"""Invalid copies of valid records, made the way real providers drift from their interface spec."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from typing import Any

from mvptest.synth.analysis import canon
from mvptest.synth.nodes import Array, Choice, Enum, Node, Number, Object, String

__all__ = ["KINDS", "drift"]

# Mutation kinds, in a fixed order (the rng shuffles them per call).
KINDS = (
    "date-as-compact",
    "compact-as-date",
    "number-as-string",
    "drop-required",
    "wrong-check-char",
    "outside-enum",
    "over-max-length",
)

_MAX_DEPTH = 16
_MAX_ITEMS = 5

Path = tuple[Any, ...]
Candidate = tuple[str, Path, Any]  # kind, path of the value (or of the object, for drop-required), extra


def _label(path: Path) -> str:
    return "/".join(str(p) for p in path) or "the record"


def _collect(node: Node, value: Any, path: Path, out: list[Candidate], seen: set[tuple[str, Path, str]], depth: int) -> None:
    node = node.target()
    if depth > _MAX_DEPTH:
        return

    def add(kind: str, p: Path, extra: Any = None) -> None:
        key = (kind, p, repr(extra))
        if key not in seen:
            seen.add(key)
            out.append((kind, p, extra))

    if isinstance(node, Choice):
        for variant in node.variants:
            _collect(variant, value, path, out, seen, depth + 1)
        return
    if isinstance(node, Object) and isinstance(value, dict):
        for name in node.required:
            if name in value:
                add("drop-required", path, name)
        for name, child, _ in node.props:
            if name in value:
                _collect(child, value[name], (*path, name), out, seen, depth + 1)
        return
    if isinstance(node, Array) and isinstance(value, list):
        for i, item in enumerate(value[:_MAX_ITEMS]):
            sub = node.prefix[i] if i < len(node.prefix) else node.items
            if sub is not None:
                _collect(sub, item, (*path, i), out, seen, depth + 1)
        return
    if isinstance(value, str) and isinstance(node, String):
        if node.fmt == "date" and len(value) == 10:
            add("date-as-compact", path)
        if node.fmt == "date-compact" and len(value) == 8:
            add("compact-as-date", path)
        if node.fmt in ("cn-uscc", "cn-resident-id") and value:
            add("wrong-check-char", path, node.fmt)
        if node.max_len is not None:
            add("over-max-length", path, node.max_len)
    if isinstance(node, Number) and isinstance(value, (int, float)) and not isinstance(value, bool):
        add("number-as-string", path, node)
    if isinstance(node, Enum):
        add("outside-enum", path, node.options)


def _get(record: Any, path: Path) -> Any:
    for p in path:
        record = record[p]
    return record


def _set(record: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    _get(record, path[:-1])[path[-1]] = value
    return record


def _amount_text(value: float, node: Any) -> str:
    number = repr(int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 1e15 else value)
    if isinstance(value, float) and ("e" in number or "n" in number):
        number = f"{value:.4f}".rstrip("0").rstrip(".")
    unit = (node.unit or "").strip()
    text = (node.description or "") + unit
    if "万" in unit or ("capital" in node.name.lower() and not unit):
        return number + "万元"
    if unit in ("元", "分"):
        return number + unit
    if "元" in text and "capital" in node.name.lower():
        return number + "元"
    return number


def _outside_enum(value: Any, options: list[Any]) -> Any:
    keys = {canon(o) for o in options}
    candidates: list[Any] = []
    if isinstance(value, str):
        if value.isdigit() and value.startswith("0") and len(value) > 1:
            candidates.append(value.lstrip("0") or "0")  # a spreadsheet dropped the leading zero
        candidates += [value + " ", "未知", "其他", "99"]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        numbers = [o for o in options if isinstance(o, (int, float)) and not isinstance(o, bool)]
        candidates += [int(max(numbers)) + 1 if numbers else 99, 99, -1]
    else:
        candidates += ["未知", 99]
    for c in candidates:
        if canon(c) not in keys:
            return c
    return "未知-" + str(len(options))


def _mutate(kind: str, path: Path, extra: Any, record: Any, rng: random.Random) -> tuple[Any, str] | None:
    """Apply one mutation to ``record`` (already a copy); None when it does not apply to this value."""
    label = _label(path)
    if kind == "drop-required":
        obj = _get(record, path)
        if not isinstance(obj, dict) or extra not in obj:
            return None
        del obj[extra]
        return record, f"{_label((*path, extra))} missing (required)"
    value = _get(record, path)
    if kind == "date-as-compact":
        if not (isinstance(value, str) and len(value) == 10):
            return None
        return _set(record, path, value.replace("-", "")), f"{label} as YYYYMMDD"
    if kind == "compact-as-date":
        if not (isinstance(value, str) and len(value) == 8):
            return None
        return _set(record, path, f"{value[:4]}-{value[4:6]}-{value[6:]}"), f"{label} as YYYY-MM-DD"
    if kind == "number-as-string":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        text = _amount_text(value, extra)
        return _set(record, path, text), f"{label} as a string {json.dumps(text, ensure_ascii=False)}"
    if kind == "wrong-check-char":
        if not isinstance(value, str) or not value:
            return None
        if extra == "cn-uscc" and len(value) == 18:
            # Break the organisation-code check (position 17): an error under any spec, whereas a wrong 18th
            # character alone is what a spec may accept as a legacy pilot code (legacy-check-char: warning).
            choices = [c for c in "0123456789X" if c != value[16]]
            bad = value[:16] + choices[rng.randrange(len(choices))] + value[17]
            return _set(record, path, bad), f"{label} with a wrong check character (position 17)"
        choices = [c for c in "0123456789X" if c != value[-1]]
        bad = value[:-1] + choices[rng.randrange(len(choices))]
        return _set(record, path, bad), f"{label} with a wrong check character"
    if kind == "outside-enum":
        bad = _outside_enum(value, extra)
        return _set(record, path, bad), f"{label} outside the enum: {json.dumps(bad, ensure_ascii=False)}"
    if kind == "over-max-length":
        if not isinstance(value, str):
            return None
        limit = int(extra)
        target = limit + rng.randint(1, 5)
        filler = value[-1] if value else "某"
        bad = value + filler * max(0, target - len(value))
        return _set(record, path, bad), f"{label} longer than maxLength {limit} ({len(bad)} characters)"
    return None


def drift(root: Node, record: Any, rng: random.Random, is_valid: Callable[[Any], bool] | None) -> tuple[Any, str]:
    """An invalid deep copy of ``record`` (drawn from the compiled schema ``root``) and a description of the mutation.

    ``is_valid`` is the schema's validator: a mutation the schema still accepts is not kept (None: none is).
    """
    check: Callable[[Any], bool] = is_valid or (lambda _v: False)
    candidates: list[Candidate] = []
    _collect(root, record, (), candidates, set(), 0)
    by_kind: dict[str, list[Candidate]] = {k: [] for k in KINDS}
    for c in candidates:
        by_kind[c[0]].append(c)
    kinds = [k for k in KINDS if by_kind[k]]
    rng.shuffle(kinds)
    for kind in kinds:
        sites = by_kind[kind]
        rng.shuffle(sites)
        for _, path, extra in sites:
            try:
                result = _mutate(kind, path, extra, copy.deepcopy(record), rng)
            except (KeyError, IndexError, TypeError, ValueError):
                continue
            if result is not None and not check(result[0]):
                return result
    # Nothing field-level applies (or every change is still valid): replace the record itself.
    for bad, what in (
        ("not a record", "the record sent as a string"),
        (None, "the record sent as null"),
        ([], "the record sent as an empty array"),
        ({}, "the record sent as an empty object"),
        (0, "the record sent as the number 0"),
    ):
        if not check(bad):
            return bad, what
    return copy.deepcopy(record), "unchanged: the schema accepts every value, so nothing can make it invalid"
