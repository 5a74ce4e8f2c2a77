"""Benchmarks of `mvptest run` (issue 4): throughput against raw Locust, latency accuracy, scaling with workers.

    python bench/run_bench.py throughput     # nginx (Debian) serving a static JSON body; generator on core 0
    python bench/run_bench.py distinct       # nginx serving 20,000 distinct bodies, one per credit code, drawn at random
    python bench/run_bench.py accuracy       # the sandbox with known injected delays
    python bench/run_bench.py scaling        # 1 versus 2 workers against nginx
    python bench/run_bench.py all

Every figure and its reference come from the same run of this script.
"""

from __future__ import annotations

import argparse
import json
import os
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
SPEC = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"
BODY = {
    "enterpriseName": "示例科技（北京）有限公司", "uscc": "91110000600037341L", "registeredAddress": "北京市东城区示例路1号",
    "registeredCapital": 500.0, "currency": "CNY", "establishedDate": "2019-03-12", "legalRepresentative": "张三",
    "status": "存续", "businessScope": "软件开发；信息技术咨询服务", "enterpriseType": "1100", "divisionCode": "110101",
}
RAW_LOCUSTFILE = '''
from locust import FastHttpUser, task
class Raw(FastHttpUser):
    @task
    def get(self):
        self.client.get("/api/v1/enterprises/91110000600037341L", name="raw")
'''
JSONSCHEMA_LOCUSTFILE = f'''
import json
from locust import FastHttpUser, task
from jsonschema import Draft202012Validator, FormatChecker
from mvptest.formats import REGISTRY
from mvptest.spec.check import load_specs
itf = load_specs([__import__("pathlib").Path({str(SPEC)!r})]).interface("enterprise-registration")
schema, _ = itf.response_schema.resolve(itf.response_schema.schema)
fc = FormatChecker()
for n, f in REGISTRY.items():
    fc.checks(n)(f.check)
V = Draft202012Validator(schema, format_checker=fc)
class JS(FastHttpUser):
    @task
    def get(self):
        with self.client.get("/api/v1/enterprises/91110000600037341L", name="js", catch_response=True) as r:
            if V.is_valid(json.loads(r.content)):
                r.success()
            else:
                r.failure("invalid")
'''


class Nginx:
    """nginx on loopback, one worker pinned to a core, answering every enterprise path with one static JSON body."""

    def __init__(self, cpu: str = "1", workers: int = 1, root: Path | None = None, probe: str = "x") -> None:
        self.cpu = cpu
        self.workers = workers
        self.root = root  # serve the files under root (root/api/v1/enterprises/CODE) instead of one static body
        self.probe = probe  # the path tail that answers 200 once nginx is up
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mvptest-nginx-"))
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            print("installing nginx-light (Debian) ...", file=sys.stderr)
            subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], check=True)
        body = json.dumps(BODY, ensure_ascii=False).replace("'", "\\'")
        # one static body, or the files under root (opened per request from the page cache: an open_file_cache of
        # 20,000 descriptors would pass the worker's file limit)
        serve = f"root {self.root};" if self.root is not None else f"return 200 '{body}';"
        conf = self.dir / "nginx.conf"
        conf.write_text(f"""
daemon off; worker_processes {self.workers}; pid {self.dir}/nginx.pid; error_log {self.dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off; keepalive_requests 1000000; client_body_temp_path {self.dir};
  proxy_temp_path {self.dir}; fastcgi_temp_path {self.dir}; uwsgi_temp_path {self.dir}; scgi_temp_path {self.dir};
  server {{
    listen 127.0.0.1:{self.port};
    location /api/v1/enterprises/ {{ default_type "application/json; charset=utf-8"; {serve} }}
  }}
}}
""", encoding="utf-8")
        self.proc = subprocess.Popen(["taskset", "-c", self.cpu, nginx, "-c", str(conf), "-p", str(self.dir)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{self.port}"
        try:
            wait_http(url + "/api/v1/enterprises/" + self.probe)
        except BaseException:
            self.__exit__()  # no nginx left behind when it never answered
            raise
        return url

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


# Appended to the reference locustfiles: the CPU time of the Locust process while the test ran (test_start to
# test_stop), as mvptest records its own (generator_cpu_s), so that both costs per call come from the load window only.
CPU_PROBE = """
import os, time, json
from locust import events
_cpu = {}
@events.test_start.add_listener
def _start(**kw):
    _cpu["t0"] = time.process_time()
@events.test_stop.add_listener
def _stop(**kw):
    open(os.environ["BENCH_CPU_FILE"], "w").write(json.dumps(time.process_time() - _cpu.get("t0", 0.0)))
"""


def locust_run(locustfile: str, url: str, users: int, seconds: int, cpu: str = "0",
               failures_allowed: bool = True) -> tuple[float, int, float]:
    """(requests/s, requests, CPU seconds in the load window) of a plain Locust run."""
    with tempfile.TemporaryDirectory() as tmp:
        lf = Path(tmp) / "locustfile.py"
        lf.write_text(locustfile + CPU_PROBE)
        prefix = Path(tmp) / "s"
        cpu_file = Path(tmp) / "cpu.json"
        subprocess.run(["taskset", "-c", cpu, sys.executable, "-m", "locust", "-f", str(lf), "--headless", "-u", str(users),
                        "-r", str(users), "-t", f"{seconds}s", "-H", url, "--csv", str(prefix), "--only-summary"],
                       capture_output=True, text=True, check=False, cwd=ROOT, env={**os.environ, "BENCH_CPU_FILE": str(cpu_file)})
        rows = (Path(tmp) / "s_stats.csv").read_text().splitlines()
        header = rows[0].split(",")
        agg = next(r for r in rows if ",Aggregated," in r).split(",")
        failures = int(agg[header.index("Failure Count")])
        if failures and not failures_allowed:
            raise SystemExit(f"raw Locust counted {failures:,} failures: the reference must not fail")
        return float(agg[header.index("Requests/s")]), int(agg[header.index("Request Count")]), json.loads(cpu_file.read_text())


def locust_rps(locustfile: str, url: str, users: int, seconds: int, cpu: str = "0") -> float:
    return locust_run(locustfile, url, users, seconds, cpu)[0]


def scenario_file(tmp: Path, *, target: str, users: int, seconds: int, sandbox: dict[str, Any] | None = None,
                  data: dict[str, Any] | None = None) -> Path:
    lines = [
        "kind: scenario", "name: bench", f"specs: [{SPEC}]", "interfaces: [market-supervision/enterprise-registration]",
        f"target: {target}", f"load: {{users: {users}, spawn_rate: {users}, duration: {seconds}s, timeout: 10s}}",
    ]
    if sandbox:
        lines.append("sandbox: " + json.dumps(sandbox))
    if data:
        lines.append("data: " + json.dumps(data))
    path = tmp / "bench.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def mvptest_run(scenario: Path, results: Path, *args: str, cpu: str | None = "0",
                env: dict[str, str] | None = None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "mvptest", "run", str(scenario), "--results-dir", str(results), *args]
    if cpu is not None:
        cmd = ["taskset", "-c", cpu, *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "COLUMNS": "160", **(env or {})})
    if proc.returncode not in (0, 1):
        raise SystemExit(f"mvptest run exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    summaries = sorted(results.glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(summaries[-1].read_text(encoding="utf-8"))


def throughput(seconds: int, users: int, rounds: int = 3) -> None:
    """Raw Locust and mvptest alternate, `rounds` times each, so that drift of the machine hits both alike; the
    medians are compared, as req/s and as CPU per call in the load window (steadier on a shared machine: a neighbour
    takes wall time, not the CPU time a call costs). mvptest runs twice a round: as shipped (a body seen before
    gets its earlier verdict) and with MVPTEST_VERDICT_CACHE=0 (every body parsed and validated).
    python-jsonschema inside Locust runs once, for scale."""
    import statistics

    rows: dict[str, list[tuple[float, float]]] = {"raw": [], "ours": [], "uncached": []}
    with Nginx(cpu="1") as url, tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        scenario = scenario_file(tmpdir, target=url, users=users, seconds=seconds)
        js_rps, js_n, js_cpu = locust_run(JSONSCHEMA_LOCUSTFILE, url, users, seconds)
        for i in range(rounds):
            rps, n, cpu = locust_run(RAW_LOCUSTFILE, url, users, seconds)
            rows["raw"].append((rps, cpu / n * 1e6))
            for key, env in (("ours", None), ("uncached", {"MVPTEST_VERDICT_CACHE": "0"})):
                summary = mvptest_run(scenario, tmpdir / f"results{i}-{key}", env=env)
                itf = summary["interfaces"][0]
                assert itf["successes"] == itf["requests"], itf["failures"]
                rows[key].append((summary["achieved_rps"], summary["generator_cpu_us_per_request"]))
    raw_rps = statistics.median(r for r, _ in rows["raw"])
    raw_us = statistics.median(u for _, u in rows["raw"])
    print(f"throughput: nginx static JSON on core 1, generator on core 0, {users} users, {seconds} s each, "
          f"{rounds} alternating rounds (medians)")
    print(f"{'generator':60} {'req/s':>8} {'vs raw':>7} {'CPU us/call':>12} {'capacity vs raw':>16}")
    print(f"{'raw Locust FastHttpUser, no validation (reference)':60} {raw_rps:>8,.0f} {1:>6.2f}x {raw_us:>12.1f} {1:>15.2f}x")
    js_us = js_cpu / js_n * 1e6
    print(f"{'Locust FastHttpUser + python-jsonschema (once)':60} {js_rps:>8,.0f} {js_rps / raw_rps:>6.2f}x {js_us:>12.1f} "
          f"{raw_us / js_us:>15.2f}x")
    for key, label in (("ours", "mvptest run, every response checked (default)"),
                       ("uncached", "mvptest run, every body parsed and validated (cache off)")):
        rps = statistics.median(r for r, _ in rows[key])
        us = statistics.median(u for _, u in rows[key])
        print(f"{label:60} {rps:>8,.0f} {rps / raw_rps:>6.2f}x {us:>12.1f} {raw_us / us:>15.2f}x")
    for key, measured in rows.items():
        print(f"  {key:9} rounds: " + "; ".join(f"{r:,.0f} req/s {u:.1f} us" for r, u in measured))


DISTINCT_LOCUSTFILE = '''
import json, random
from locust import FastHttpUser, task
CODES = json.load(open({codes!r}, encoding="utf-8"))
class RawDistinct(FastHttpUser):
    @task
    def get(self):
        self.client.get("/api/v1/enterprises/" + random.choice(CODES), name="raw").json()
'''


def distinct_bodies(root: Path, n: int, seed: int = 20261201) -> list[str]:
    """n enterprises, one file each under root/api/v1/enterprises/<credit code>: distinct codes from the cn-uscc
    format's generator, the rest of each record from mvptest's synthesizer for the spec's response schema (so each
    body differs in more than its code), every one checked valid by mvptest's compiled schema before it is served."""
    import random

    sys.path.insert(0, str(ROOT))
    from mvptest.formats import REGISTRY
    from mvptest.spec.check import load_specs
    from mvptest.synth import Synthesizer
    from mvptest.validation.compiled import CompiledSchema

    itf = load_specs([SPEC]).interface("enterprise-registration")
    generate = REGISTRY["cn-uscc"].generate
    assert itf is not None and generate is not None
    syn = Synthesizer(itf.response_schema)
    check = CompiledSchema(itf.response_schema, format_options=itf.format_options)
    rng = random.Random(seed)
    codes: dict[str, None] = {}
    while len(codes) < n:
        codes[generate(rng)] = None
    folder = root / "api" / "v1" / "enterprises"
    folder.mkdir(parents=True)
    for code in codes:
        record = syn.generate(rng, overrides={"uscc": code})
        if not check.is_valid(record):
            raise SystemExit(f"the synthesizer made an invalid record for {code}: {check.errors(record)[:3]}")
        (folder / code).write_bytes(json.dumps(record, ensure_ascii=False).encode("utf-8"))
    return list(codes)


def distinct(seconds: int, users: int, rounds: int = 3, n: int = 20_000) -> None:
    """nginx serves n distinct bodies, one per credit code; both generators draw the code at random for each call.
    Raw Locust FastHttpUser GETs the URL and parses the body (``response.json()``, Locust's documented way);
    mvptest runs the scenario with the codes as its data pool, checking transport, status, JSON and schema of
    every body. Alternating rounds, as in throughput(); the medians and the spread are printed."""
    import statistics

    rows: dict[str, list[tuple[float, float]]] = {"raw": [], "ours": [], "uncached": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        tmpdir.chmod(0o755)  # nginx's worker (user nobody when started as root) must read the files
        codes = distinct_bodies(tmpdir / "www", n)
        sizes = [f.stat().st_size for f in (tmpdir / "www" / "api" / "v1" / "enterprises").iterdir()]
        (tmpdir / "codes.json").write_text(json.dumps(codes), encoding="utf-8")
        (tmpdir / "codes.csv").write_text("uscc\n" + "\n".join(codes) + "\n", encoding="utf-8")
        locustfile = DISTINCT_LOCUSTFILE.format(codes=str(tmpdir / "codes.json"))
        with Nginx(cpu="1", root=tmpdir / "www", probe=codes[0]) as url:
            scenario = scenario_file(tmpdir, target=url, users=users, seconds=seconds,
                                     data={"uscc": {"file": str(tmpdir / "codes.csv")}})
            for i in range(rounds):
                rps, count, cpu = locust_run(locustfile, url, users, seconds, failures_allowed=False)
                rows["raw"].append((rps, cpu / count * 1e6))
                for key, env in (("ours", None), ("uncached", {"MVPTEST_VERDICT_CACHE": "0"})):
                    summary = mvptest_run(scenario, tmpdir / f"results{i}-{key}", env=env)
                    itf = summary["interfaces"][0]
                    assert itf["successes"] == itf["requests"], itf["failures"]
                    rows[key].append((summary["achieved_rps"], summary["generator_cpu_us_per_request"]))
    print(f"distinct: nginx on core 1 serving {n:,} distinct JSON bodies ({min(sizes)}-{max(sizes)} bytes, mean "
          f"{statistics.mean(sizes):.0f}), one per credit code drawn at random; generator on core 0, {users} users, "
          f"{seconds} s each, {rounds} alternating rounds (median, min-max)")
    raw_rps = statistics.median(r for r, _ in rows["raw"])
    raw_us = statistics.median(u for _, u in rows["raw"])
    print(f"{'generator':58} {'req/s':>8} {'min-max':>14} {'vs raw':>7} {'CPU us/call':>12} {'min-max':>12} {'capacity':>9}")
    for key, label in (("raw", "raw Locust FastHttpUser + response.json() (reference)"),
                       ("ours", "mvptest run, every response checked (default)"),
                       ("uncached", "mvptest run, verdict cache off (MVPTEST_VERDICT_CACHE=0)")):
        rates = [r for r, _ in rows[key]]
        costs = [u for _, u in rows[key]]
        print(f"{label:58} {statistics.median(rates):>8,.0f} {min(rates):>6,.0f}-{max(rates):<7,.0f} "
              f"{statistics.median(rates) / raw_rps:>6.2f}x {statistics.median(costs):>12.1f} "
              f"{min(costs):>5.1f}-{max(costs):<6.1f} {raw_us / statistics.median(costs):>8.2f}x")
    for key, measured in rows.items():
        print(f"  {key:9} rounds: " + "; ".join(f"{r:,.0f} req/s {u:.1f} us" for r, u in measured))
    print("  per-round ratio (mvptest default / raw, req/s): "
          + ", ".join(f"{o[0] / r[0]:.2f}x" for o, r in zip(rows["ours"], rows["raw"])))


def _histogram(run_dir: Path) -> Any:
    from mvptest.run.histogram import Histogram

    data = json.loads(next(run_dir.glob("*/histograms.json")).read_text(encoding="utf-8"))
    (itf,) = data["interfaces"].values()
    return Histogram.from_dict(itf["successful_calls"])


def _draws(hist: Any, k: int, rng: Any) -> list[float]:
    """k values drawn from a histogram (bucket midpoints, microseconds)."""
    from mvptest.run.histogram import bucket_bounds

    values, weights = [], []
    for index, n in hist.counts.items():
        lo, hi = bucket_bounds(index)
        values.append((lo + hi) / 2)
        weights.append(n)
    return rng.choices(values, weights, k=k)


def expected_percentiles(injected: Any, floor: Any, k: int = 400_000) -> dict[str, float]:
    """Percentiles (ms) of injected delay + loopback floor, two independent variables: the distribution of their sum
    (Monte Carlo over both measured histograms), not the sum of their percentiles."""
    import random

    rng = random.Random(1)
    total = sorted(a + b for a, b in zip(_draws(injected, k, rng), _draws(floor, k, rng)))
    return {p: total[min(k - 1, int(q * k))] / 1000 for p, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))}


def _sandbox_run(tmpdir: Path, latency: str, users: int, seconds: int, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A run against `mvptest sandbox` (alone on core 1; the generator on core 0); the run's summary and the
    sandbox's full stats, with the histogram of the delays it injected."""
    from mvptest.sandbox.server import SandboxProcess

    sandbox = SandboxProcess(SPEC, args=["--seed", "1", "--latency-ms", latency, "--interface", "enterprise-registration"], cpu=1)
    url = sandbox.start()
    try:
        summary = mvptest_run(scenario_file(tmpdir, target=url, users=users, seconds=seconds), tmpdir / name)
        with urllib.request.urlopen(url + "/__mvptest/stats", timeout=10) as resp:
            stats = json.loads(resp.read())
    finally:
        sandbox.stop()
    return summary, stats


def accuracy(seconds: int, users: int) -> None:
    from mvptest.run.histogram import Histogram

    cases = [("20+2%@150", "fixed 20 ms, 2 % at 150 ms"), ("p50=20,p99=80", "lognormal through p50=20, p99=80")]
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        floor_s, _ = _sandbox_run(tmpdir, "0", users, seconds, "r0")
        floor = floor_s["interfaces"][0]["latency_ms"]
        floor_hist = _histogram(tmpdir / "r0")
        print(f"accuracy: mvptest sandbox on core 1 with injected delays, generator on core 0, {users} users, {seconds} s "
              f"per case; loopback floor (no delay): p50 {floor['p50']:.3f}, p95 {floor['p95']:.3f}, p99 {floor['p99']:.3f} ms")
        print("expected = percentile of (injected delay + floor), both measured in this run: the server's histogram of "
              "the delays it injected, and the floor run's histogram")
        for latency, label in cases:
            s, stats = _sandbox_run(tmpdir, latency, users, seconds, f"r-{latency}")
            itf = s["interfaces"][0]
            truth = Histogram.from_dict(stats["injected_delay_histogram"])
            injected = truth.summary_ms()
            expect = expected_percentiles(truth, floor_hist)
            ours = itf["latency_ms"]
            loc = itf.get("locust_percentiles_ms", {})
            print(f"\n{label} (--latency-ms {latency}), {itf['requests']:,} calls:")
            print(f"{'pct':5} {'injected':>9} {'expected':>9} {'mvptest':>9} {'error':>8} {'Locust':>8} {'error':>8}")
            for p in ("p50", "p95", "p99"):
                lp = loc.get(p)
                lp_error = (lp - expect[p]) if lp is not None else float("nan")
                print(f"{p:5} {injected[p]:>9.3f} {expect[p]:>9.3f} {ours[p]:>9.3f} {ours[p] - expect[p]:>+8.3f} "
                      f"{lp if lp is not None else float('nan'):>8.1f} {lp_error:>+8.3f}")


def scaling(seconds: int, users: int) -> None:
    with Nginx(cpu="0-1", workers=2) as url, tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        scenario = scenario_file(tmpdir, target=url, users=users, seconds=seconds)
        rows = []
        for workers in (0, 1, 2):
            s = mvptest_run(scenario, tmpdir / f"w{workers}", "--workers", str(workers), cpu=None)
            rows.append((workers, s["achieved_rps"], s["requests"], s["generator_cpu_saturated"]))
    print(f"scaling: nginx (2 workers) and the generator share the 2 cores; {users} users, {seconds} s")
    print(f"{'workers':>8} {'req/s':>9} {'requests':>10} {'vs 1 worker':>12} {'CPU saturated':>14}")
    base = rows[1][1]
    for workers, rps, n, cpu in rows:
        label = "in-process" if workers == 0 else str(workers)
        print(f"{label:>8} {rps:>9,.0f} {n:>10,} {rps / base:>11.2f}x {cpu!s:>14}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["throughput", "distinct", "accuracy", "scaling", "all"])
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of raw Locust and mvptest (throughput)")
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--bodies", type=int, default=20_000, help="distinct bodies nginx serves (distinct)")
    args = ap.parse_args()
    if args.what in ("throughput", "all"):
        throughput(args.seconds, args.users, args.rounds)
    if args.what in ("distinct", "all"):
        distinct(args.seconds, args.users, args.rounds, args.bodies)
    if args.what in ("accuracy", "all"):
        accuracy(args.seconds, args.users)
    if args.what in ("scaling", "all"):
        scaling(args.seconds, args.users)
    return 0


if __name__ == "__main__":
    sys.exit(main())
