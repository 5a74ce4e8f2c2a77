"""Benchmark: the sandbox versus Prism's mock of the same interface, with wrk, each server pinned to one core.

    python bench/sandbox_bench.py             # installs wrk (Debian) and @stoplight/prism-cli (npm) when missing

wrk runs with one thread on core 0; each server runs alone on core 1. Also measured in the same run: the
rate one Locust FastHttpUser process generates against the sandbox (the load the sandbox must absorb
without being the bottleneck), when locust is installed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from _common import free_port, wait_http

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
SPEC = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"
USCC = "91110000600037341L"
PATH = f"/api/v1/enterprises/{USCC}"


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    print("installing wrk (Debian package) ...", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def ensure_prism() -> Path:
    prism = DATA / "prism" / "node_modules" / ".bin" / "prism"
    if not prism.exists():
        (DATA / "prism").mkdir(parents=True, exist_ok=True)
        print("installing @stoplight/prism-cli (npm) ...", file=sys.stderr)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "@stoplight/prism-cli"], cwd=DATA / "prism", check=True)
    return prism


def openapi_document() -> dict[str, Any]:
    """The same interface as an OpenAPI 3.1 document for Prism: schemas inlined, our CN formats as patterns."""
    from mvptest.spec.check import load_specs

    itf = load_specs([SPEC]).interface("enterprise-registration")
    assert itf is not None
    bundled = itf.response_schema

    def inline(node: Any, base: str | None, depth: int = 0) -> Any:
        if isinstance(node, dict):
            if "$ref" in node and depth < 20:
                target, tbase = bundled.resolve(node, base)
                return inline(target, tbase, depth + 1)
            out = {k: inline(v, base, depth) for k, v in node.items() if k not in ("$id", "$defs", "$schema", "x-unit")}
            if out.get("format") == "cn-uscc":
                out.pop("format")
                out["pattern"] = "^[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}$"
            elif isinstance(out.get("format"), str) and out["format"].startswith("cn-"):
                out.pop("format")
            return out
        if isinstance(node, list):
            return [inline(v, base, depth) for v in node]
        return node

    schema = inline(bundled.schema, None)
    schema["example"] = {
        "enterpriseName": "示例科技（北京）有限公司", "uscc": USCC, "registeredAddress": "北京市东城区示例路1号",
        "registeredCapital": 500.0, "currency": "CNY", "establishedDate": "2019-03-12", "legalRepresentative": "张三",
        "status": "存续", "businessScope": "软件开发", "enterpriseType": "1100", "divisionCode": "110101",
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "enterprise registration (market supervision)", "version": "1.0"},
        "paths": {"/api/v1/enterprises/{uscc}": {"get": {
            "operationId": "enterprise-registration",
            "parameters": [{"name": "uscc", "in": "path", "required": True, "schema": {
                "type": "string", "pattern": "^[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}$"}}],
            "responses": {"200": {"description": "the enterprise", "content": {"application/json": {"schema": schema}}}},
        }}},
    }


def run_wrk(wrk: str, url: str, seconds: int, connections: int, script: Path | None = None) -> dict[str, float]:
    cmd = ["taskset", "-c", "0", wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    lat = re.search(r"Latency\s+([0-9.]+)(us|ms|s)", out)
    mean_ms = float(lat.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[lat.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "mean_ms": mean_ms, "non2xx": float(errors.group(1)) if errors else 0.0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def start_pinned(cmd: list[str], cpu: int, **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["taskset", "-c", str(cpu), *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


LOCUSTFILE = f'''
from locust import FastHttpUser, task
class U(FastHttpUser):
    @task
    def get(self):
        self.client.get("{PATH}")
'''


def locust_rate(url: str, seconds: int) -> float | None:
    """Requests/s that one Locust FastHttpUser process generates against the sandbox (raw, no checks), on core 0."""
    try:
        import locust  # noqa: F401
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        lf = Path(tmp) / "locustfile.py"
        lf.write_text(LOCUSTFILE)
        csv_prefix = Path(tmp) / "stats"
        subprocess.run(["taskset", "-c", "0", sys.executable, "-m", "locust", "-f", str(lf), "--headless", "-u", "10", "-r", "10",
                        "-t", f"{seconds}s", "-H", url, "--csv", str(csv_prefix), "--only-summary"],
                       capture_output=True, text=True, check=False)
        rows = (csv_prefix.parent / "stats_stats.csv").read_text().splitlines()
        header = rows[0].split(",")
        agg = next(r for r in rows if ",Aggregated," in r).split(",")
        return float(agg[header.index("Requests/s")])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    args = ap.parse_args()
    DATA.mkdir(exist_ok=True)
    wrk = ensure_wrk()
    prism = ensure_prism()
    results: list[tuple[str, dict[str, float]]] = []

    port = free_port()
    sandbox = start_pinned([sys.executable, "-m", "mvptest", "sandbox", str(SPEC), "--interface", "enterprise-registration",
                            "--port", str(port)], 1)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + PATH)
        run_wrk(wrk, url + PATH, 2, args.connections)  # warm-up
        results.append(("mvptest sandbox, one URL", run_wrk(wrk, url + PATH, args.seconds, args.connections)))
        script = DATA / "many-usccs.lua"
        import random

        from mvptest.formats import REGISTRY

        rng = random.Random(1)
        codes = [REGISTRY["cn-uscc"].generate(rng) for _ in range(10_000)]
        script.write_text("local codes = {" + ",".join(f'"{c}"' for c in codes) + "}\n"
                          "request = function()\n"
                          "  return wrk.format(nil, '/api/v1/enterprises/' .. codes[math.random(#codes)])\nend\n")
        results.append(("mvptest sandbox, 10,000 different codes",
                        run_wrk(wrk, url + PATH, args.seconds, args.connections, script)))
        locust_rps = locust_rate(url, args.seconds)
        stats = json.loads(urllib.request.urlopen(url + "/__mvptest/stats").read())
    finally:
        stop(sandbox)

    with tempfile.TemporaryDirectory() as tmp:
        doc = Path(tmp) / "openapi.json"
        doc.write_text(json.dumps(openapi_document(), ensure_ascii=False))
        pport = free_port()
        prism_proc = start_pinned([str(prism), "mock", str(doc), "-p", str(pport), "-h", "127.0.0.1"], 1)
        try:
            purl = f"http://127.0.0.1:{pport}"
            wait_http(purl + PATH, timeout=120)
            run_wrk(wrk, purl + PATH, 2, args.connections)
            results.append(("Prism mock (static examples)", run_wrk(wrk, purl + PATH, args.seconds, args.connections)))
        finally:
            stop(prism_proc)

    prism_rps = results[-1][1]["rps"]
    print(f"wrk -t1 -c{args.connections} -d{args.seconds}s on core 0; each server alone on core 1")
    print(f"{'server':42} {'req/s':>9} {'mean ms':>8} {'vs Prism':>9} {'non-2xx':>8}")
    for name, r in results:
        print(f"{name:42} {r['rps']:>9,.0f} {r['mean_ms']:>8.2f} {r['rps'] / prism_rps:>8.1f}x {r['non2xx']:>8.0f}")
    if locust_rps:
        print(f"one Locust FastHttpUser process (10 users, core 0) against the sandbox: {locust_rps:,.0f} req/s; "
              f"sandbox capacity / Locust rate = {results[0][1]['rps'] / locust_rps:.1f}x")
    print(f"sandbox server-side count: {stats['requests']:,} requests, outcomes {stats['outcomes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
