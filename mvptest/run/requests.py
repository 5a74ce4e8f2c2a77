"""The requests of a run: paths, headers and bodies built from pools or synthesised from the interface's schemas."""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import quote

from mvptest.spec.model import Interface

POOL_SIZE = 1000  # synthetic values per parameter
BODY_POOL_SIZE = 200
SYNTH_BYTES = 32 * 1024 * 1024  # synthetic request bodies held in memory at most (parameter values: an eighth)


def _bounded(make: Any, count: int, max_bytes: int, size: Any) -> list[Any]:
    """Up to ``count`` values from ``make()``, fewer once they hold ``max_bytes`` (at least one): a schema asking
    for 2 MB strings must not cost 200 of them (1.3 GB and 43 s before the load started)."""
    out: list[Any] = []
    total = 0
    while len(out) < count and (not out or total < max_bytes):
        value = make()
        out.append(value)
        total += size(value)
    return out


class RequestFactory:
    """Requests for one interface: parameters from the scenario's data pools or synthetic valid values."""

    def __init__(self, itf: Interface, pools: dict[str, list[Any]], *, seed: int) -> None:
        from mvptest.synth import Synthesizer

        self.itf = itf
        rng = random.Random(f"{seed}|{itf.key}")
        self.values: dict[str, list[str]] = {}
        self.locations: dict[str, str] = {}
        for p in itf.parameters:
            if p.name in pools:
                self.values[p.name] = [str(v) for v in pools[p.name]]
            elif p.schema is not None and (p.required or p.location == "path"):
                syn = Synthesizer(p.schema)
                self.values[p.name] = _bounded(lambda syn=syn: str(syn.generate(rng)), POOL_SIZE, SYNTH_BYTES // 8, len)
            else:
                continue
            self.locations[p.name] = p.location
        self.bodies: list[bytes] = []
        if itf.request_schema is not None and itf.method in ("POST", "PUT", "PATCH"):
            import orjson

            syn = Synthesizer(itf.request_schema)
            self.bodies = _bounded(lambda: orjson.dumps(syn.generate(rng)), BODY_POOL_SIZE, SYNTH_BYTES, len)

    def build(self, rng: random.Random) -> tuple[str, dict[str, str], bytes | None]:
        path = self.itf.path
        query = []
        headers: dict[str, str] = {}
        for name, values in self.values.items():
            value = values[rng.randrange(len(values))]
            loc = self.locations[name]
            if loc == "path":
                path = path.replace("{" + name + "}", quote(value, safe=""))
            elif loc == "query":
                query.append(f"{quote(name)}={quote(value)}")
            else:
                headers[name] = value
        if query:
            path += "?" + "&".join(query)
        body = self.bodies[rng.randrange(len(self.bodies))] if self.bodies else None
        return path, headers, body
