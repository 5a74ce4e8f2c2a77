"""Data pools of a scenario: real parameter values, inline or from a file read by validate's bounded readers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mvptest.errors import InputError, Location
from mvptest.spec.loader import display_path


def _load_pool(spec: dict[str, Any], base: Path, where: Location, name: str) -> list[Any]:
    """A data pool's values: inline, or read from a CSV, JSON, NDJSON or .xlsx file through validate's bounded readers."""
    if "values" in spec:
        values = list(spec["values"])
    elif "file" in spec:
        values = _pool_from_file((base / str(spec["file"])).resolve(), str(spec.get("column", name)), where, name)
    else:
        raise InputError(f"data pool {name!r} needs 'file' (CSV/JSON of real values) or 'values'", where=where)
    values = [v for v in values if v not in (None, "")]
    if not values:
        raise InputError(f"data pool {name!r} is empty", where=where)
    return values


POOL_MAX_VALUES = 1_000_000


def _pool_from_file(path: Path, column: str, where: Location, name: str) -> list[Any]:
    from mvptest.validation.readers import Unparsable, open_source

    label = display_path(path)
    values: list[Any] = []
    try:
        source = open_source(path, bundled=None)
        try:
            as_json = source.kind == "json" or path.suffix.lower() == ".json"
            if as_json and not source.data.head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
                raise InputError(f"data pool {name!r}: {label} is not a JSON array (it holds one JSON document)", where=where,
                                 hint=f'write an array of values, or of objects with a "{column}" key')
            for line, row in source:
                at = f"{label}:{line}" if line is not None else label
                if isinstance(row, Unparsable):
                    raise InputError(f"data pool {name!r}: {at} is not a value: {row.message}", where=where,
                                     hint="a pool file is CSV with a header, a JSON array, NDJSON or .xlsx")
                if isinstance(row, dict):
                    if column not in row:
                        if source.kind not in ("csv", "xlsx"):
                            raise InputError(f"data pool {name!r}: the object at {at} has no key {column!r}",
                                             where=where, hint="name the key with column: in the pool")
                        headers = getattr(source, "headers", [])
                        if column not in headers:
                            raise InputError(f"data pool {name!r}: no column {column!r} in {label}", where=where,
                                             hint="columns: " + ", ".join(headers))
                        continue  # an empty cell
                    row = row[column]
                values.append(row)
                if len(values) > POOL_MAX_VALUES:
                    raise InputError(f"data pool {name!r}: {label} holds more than {POOL_MAX_VALUES:,} values",
                                     where=where, hint="a pool needs a sample of real values, not the whole export")
        finally:
            source.close()
    except InputError as exc:
        if exc.message.startswith("data pool "):
            raise
        raise InputError(f"data pool {name!r}: {exc}", where=where, hint=exc.hint) from None
    return values
