"""An interface as plain data for the workers (the master sends its plan; a worker rebuilds the interface)."""

from __future__ import annotations

from typing import Any

from mvptest.errors import Location
from mvptest.spec.model import Department, Interface, Parameter, Targets
from mvptest.spec.refs import BundledSchema


def _bundled_to_wire(b: BundledSchema | None) -> dict[str, Any] | None:
    return None if b is None else {"schema": b.schema, "root_uri": b.root_uri, "resources": b.resources}


def _bundled_from_wire(d: dict[str, Any] | None) -> BundledSchema | None:
    return None if d is None else BundledSchema(d["schema"], d["root_uri"], dict(d["resources"]))


def interface_to_wire(itf: Interface) -> dict[str, Any]:
    return {
        "department": [itf.department.id, itf.department.name], "id": itf.id, "title": itf.title,
        "version": itf.version, "method": itf.method, "path": itf.path,
        "parameters": [[p.name, p.location, _bundled_to_wire(p.schema), p.required] for p in itf.parameters],
        "response_status": itf.response_status, "response_schema": _bundled_to_wire(itf.response_schema),
        "request_schema": _bundled_to_wire(itf.request_schema), "sensitive": list(itf.sensitive),
        "format_options": itf.format_options,
    }


def interface_from_wire(d: dict[str, Any]) -> Interface:
    return Interface(
        department=Department(*d["department"]), id=d["id"], title=d["title"], version=d["version"],
        method=d["method"], path=d["path"],
        parameters=[Parameter(n, loc, _bundled_from_wire(s), bool(r)) for n, loc, s, r in d["parameters"]],
        response_status=int(d["response_status"]), response_schema=_bundled_from_wire(d["response_schema"]),  # type: ignore[arg-type]
        request_schema=_bundled_from_wire(d["request_schema"]), sensitive=tuple(d["sensitive"]),
        targets=Targets(), format_options=d["format_options"], source=Location("<master>"),
    )
