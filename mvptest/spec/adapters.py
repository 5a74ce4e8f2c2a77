"""The checks of an adapter document (kind: adapter) that its shape cannot say, and the pointer and offset rules
its steps obey; spec check and compat --adapter both run them, so both say the same."""

from __future__ import annotations

import datetime
import re
from functools import lru_cache
from typing import Any

from mvptest.errors import Problem
from mvptest.spec.loader import Document
from mvptest.spec.meta import ADAPTER_DOC
from mvptest.spec.pointer import join, split
from mvptest.spec.shape import structure_problems

DEFAULT_TZ = "+08:00"


@lru_cache(maxsize=64)
def parse_tz(text: str) -> datetime.timezone:
    """``+08:00``, ``-05:00`` or ``Z`` as a fixed offset; ValueError past +-14:00 or with minutes over 59."""
    if text in ("Z", "z"):
        return datetime.timezone.utc
    m = re.fullmatch(r"([+-])(\d{2}):(\d{2})", text)
    if not m or int(m.group(3)) > 59 or int(m.group(2)) * 60 + int(m.group(3)) > 14 * 60:
        raise ValueError(f"{text!r} is not a UTC offset from -14:00 to +14:00 (write +08:00, -05:00 or Z)")
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    return datetime.timezone(datetime.timedelta(minutes=-minutes if m.group(1) == "-" else minutes))


def star_split(src: str, dst: str) -> tuple[str, str, str] | None:
    """``/a/*/b`` and ``/a/*/c`` -> (``/a/*``, ``/b``, ``/c``): the shared prefix up to the last '*', and the rest.
    None when neither pointer has a '*'; ValueError when the '*' do not sit at the same place."""
    st, dt = split(src), split(dst)
    if "*" not in st and "*" not in dt:
        return None
    last = max(i for i, t in enumerate(st) if t == "*") if "*" in st else -1
    if last < 0 or st[: last + 1] != dt[: last + 1] or "*" in dt[last + 1:] or last + 1 >= min(len(st), len(dt)):
        raise ValueError(f"{src} and {dst} must share the part up to the last '*'")
    prefix = join(st[: last + 1])
    return prefix, src[len(prefix):], dst[len(prefix):]


def pick_split(src: str) -> tuple[str, str]:
    """``/contributions/*/amount`` -> (``/contributions``, ``/amount``): the array and the path inside an item.
    ValueError unless the pointer goes through exactly one '*'."""
    tokens = split(src)
    stars = tokens.count("*")
    if stars != 1:
        raise ValueError(f"from must go through exactly one array ('*'), {src} has {stars}")
    i = tokens.index("*")
    array = join(tokens[:i])
    return array, src[len(array) + 2:]


def adapter_problems(doc: Document) -> list[Problem]:
    """Every problem of an adapter document, once: what its steps' own checks say, and the shape's findings where
    those checks say nothing (one message per place; compat --adapter and spec check say the same)."""
    steps = step_problems(doc)
    said = {(p.where.line, p.where.column) for p in steps}
    said_steps = {p.message.split(":", 1)[0] for p in steps}
    shape = [p for p in structure_problems(doc, ADAPTER_DOC) if (p.where.line, p.where.column) not in said
             and not any(p.message.startswith(f"{s}") for s in said_steps if s.startswith("steps["))]
    return shape + steps


def step_problems(doc: Document) -> list[Problem]:
    """What the shape of an adapter cannot say about its steps, each located at its line (spec check may call it too)."""
    problems = []
    steps = doc.data.get("steps") if isinstance(doc.data, dict) else None
    for i, step in enumerate(steps if isinstance(steps, list) else []):  # a wrong shape is reported by the shape
        if not (isinstance(step, dict) and len(step) == 1):
            continue
        (kind, args), = step.items()
        if not isinstance(args, dict):
            continue
        if kind == "date" and args.get("from") == args.get("to"):
            problems.append(Problem(doc.locate(f"/steps/{i}/date"), "a date step must change the format (from == to)"))
        tz = args.get("tz")
        if isinstance(tz, (int, float)) and not isinstance(tz, bool):
            # YAML 1.1 reads an unquoted +10:00 as 600 (base 60) and +8 as 8: which offset was meant is a guess
            meant = (f"+{tz // 60:02d}:{tz % 60:02d}" if isinstance(tz, int) and abs(tz) >= 60 else "+08:00")
            problems.append(Problem(doc.locate(f"/steps/{i}/{kind}/tz"),
                                    f"tz was read as the number {tz:g}, not as an offset",
                                    f"write the offset in quotes with hours and minutes, e.g. tz: '{meant}' (Beijing: '+08:00')"))
        if isinstance(tz, str):
            try:
                parse_tz(args["tz"])
            except ValueError as exc:
                problems.append(Problem(doc.locate(f"/steps/{i}/{kind}/tz"), str(exc)))
        if kind == "pick":
            problems.extend(_pick_problems(doc, f"/steps/{i}/pick", args))
        if kind in ("copy", "rename") and all(isinstance(args.get(k), str) for k in ("from", "to")):
            try:
                star_split(args["from"], args["to"])
            except ValueError as exc:
                problems.append(Problem(doc.locate(f"/steps/{i}/{kind}"), str(exc),
                                        "copy inside array items: from: /items/*/a, to: /items/*/b"))
    return problems


def _pick_problems(doc: Document, where: str, args: dict[str, Any]) -> list[Problem]:
    """What the shape cannot say about a pick step: one '*' in from, none in to, by exactly when it orders."""
    out = []
    example = "for example pick: {from: /contributions/*/amount, to: /latestContributionAmount, choose: latest, by: period}"
    if isinstance(args.get("from"), str):
        try:
            pick_split(args["from"])
        except ValueError as exc:
            out.append(Problem(doc.locate(f"{where}/from"), str(exc), example))
    if isinstance(args.get("to"), str) and "*" in split(args["to"]):
        out.append(Problem(doc.locate(f"{where}/to"), f"to names one value and cannot go through an array ('*'): {args['to']}",
                           example))
    choose, by = args.get("choose"), args.get("by")
    if choose in ("latest", "earliest") and by is None:
        out.append(Problem(doc.locate(where), f"choose: {choose} needs by: the item key whose value orders the items",
                           example))
    if by is not None and (choose in ("first", "last") or (isinstance(choose, int) and not isinstance(choose, bool))):
        out.append(Problem(doc.locate(f"{where}/by"), f"by orders items only for choose: latest or earliest, not {choose}",
                           "drop by, or choose latest or earliest"))
    if isinstance(by, str) and "*" in by:
        out.append(Problem(doc.locate(f"{where}/by"), f"by names a key inside one item and cannot hold '*': {by}", example))
    return out
