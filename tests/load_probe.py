"""``python tests/load_probe.py OUT.json run ARGS...``: ``mvptest run ARGS...`` unchanged, plus what it measured of itself.

The command runs as users run it (the same CLI, engine, Locust, workers, files); the probe only listens to the
engine's events on the way and writes the RunOutcome's fields that summary.json does not carry (yet) into OUT.json:
the generator record, every interface's latency and service histograms, the per-second series. Exits as the
command exits.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mvptest.load import engine

CAPTURED: dict[str, Any] = {}


def listening(run: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    def inner(*args: Any, **kw: Any) -> Iterator[Any]:
        for event in run(*args, **kw):
            if isinstance(event, engine.RunFinished):
                CAPTURED["outcome"] = event.outcome
            yield event

    return inner


def record(outcome: Any) -> dict[str, Any]:
    rec = outcome.recorder
    t0 = int(outcome.started_at)
    return {
        "generator": outcome.generator_record(),
        "cpu_saturated": outcome.cpu_saturated,
        "generator_cpu_s": outcome.generator_cpu_s,
        "started_at": outcome.started_at,
        "finished_at": outcome.finished_at,
        "interfaces": {key: {"latency_all": r.latency_all.summary_ms(), "latency_ok": r.latency_ok.summary_ms(),
                             "service_all": r.service(ok=False).summary_ms(), "service_ok": r.service().summary_ms(),
                             "separate_service": r.service_all is not None,
                             "seconds": {str(k - t0): [s.requests, s.max_us] for k, s in sorted(r.seconds.items())}}
                       for key, r in rec.interfaces.items()},
    }


def main() -> int:
    out, args = Path(sys.argv[1]), sys.argv[2:]
    engine.run_local = listening(engine.run_local)
    engine.run_master = listening(engine.run_master)
    from mvptest.cli import main as cli_main

    try:
        return cli_main(args)
    finally:
        if "outcome" in CAPTURED:
            out.write_text(json.dumps(record(CAPTURED["outcome"]), indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
