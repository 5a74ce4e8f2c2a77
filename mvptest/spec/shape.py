"""A document checked against its kind's shape (spec/meta.py): one located problem per unknown key, missing key or bad value."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from mvptest.errors import Problem
from mvptest.spec import meta
from mvptest.spec.loader import Document


def readable(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def suggest(word: object, choices: Iterable[str]) -> str | None:
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return match[0] if match else None


def structure_problems(doc: Document, shape: dict[str, Any]) -> list[Problem]:
    """Check a document against its kind's shape; one problem per unknown key, missing key or bad value."""
    from jsonschema import Draft202012Validator

    problems: list[Problem] = []
    for error in Draft202012Validator(shape).iter_errors(doc.data):
        path = list(error.absolute_path)
        where = doc.locate(path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = error.schema.get("properties", {})
            if not allowed:  # a map with typed values, such as formats: {...}
                problems.append(Problem(where, f"{readable(path)}: {error.message}"))
                continue
            for key in error.instance:
                if key in allowed:
                    continue
                guess = suggest(key, allowed)
                problems.append(
                    Problem(
                        doc.locate([*path, key]),
                        f"unknown key {key!r} in {readable(path)}" + (f"; did you mean {guess!r}?" if guess else ""),
                        "allowed here: " + ", ".join(allowed),
                    )
                )
        elif error.validator == "required":
            problems.append(Problem(where, f"{readable(path)}: {error.message}", "add the key"))
        elif error.validator == "anyOf" and error.schema in (meta.DURATION, meta.DURATION_OR_AUTO):
            auto = " or auto (until the verdict is decided)" if error.schema is meta.DURATION_OR_AUTO else ""
            problems.append(Problem(where, f"{readable(path)}: cannot read {error.instance!r} as a duration",
                                    f"write it as 30s, 2m, 1h30m or 250ms (greater than 0){auto}"))
        else:
            hint = ""
            if path and path[-1] == "success_rate" and isinstance(error.instance, (int, float)) and error.instance > 1:
                hint = f"write the rate as a fraction: {error.instance / 100:g} for {error.instance:g} %"
            elif path and path[-1] == "success_rate":
                hint = "a success rate is a fraction between 0 and 1, such as 0.999"
            elif "latency_ms" in path:
                hint = "latency targets are milliseconds greater than 0"
            problems.append(Problem(where, f"{readable(path)}: {error.message}", hint))
    return problems
