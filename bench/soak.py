"""Soak (issue 9): a long distributed run; memory and open file descriptors of every process sampled as it goes.

    python bench/soak.py                          # 10 minutes, 2 workers, then raw Locust (2 processes) for 3
    python bench/soak.py --minutes 2 --reference-minutes 1     # a quick look

The provider is `mvptest sandbox` on loopback serving distinct bodies (a pool of 1,000 credit codes, each its own
synthetic record, 5 ms latency, 0.02 % resets so the failure path is exercised too). Every 10 s the script reads
/proc/PID/status (VmRSS) and counts /proc/PID/fd for each process of the run: the master (`mvptest run`), its
workers and the sandbox. The reference is raw Locust (`locust --headless --processes 2`, a FastHttpUser on the
same URLs) sampled the same way. Flat means: the last minute's RSS within a few MB of the second minute's (the
first minute holds start-up and the histograms filling), and file descriptors constant.
Not part of the test suite (it takes as long as it says).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import free_port, wait_http

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"
INTERVAL_S = 10.0

RAW_LOCUSTFILE = '''
import json, random
from locust import FastHttpUser, task
CODES = json.load(open(%r))
class Raw(FastHttpUser):
    @task
    def get(self):
        self.client.get("/api/v1/enterprises/" + random.choice(CODES), name="raw")
'''


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # the task ended meanwhile
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


def _tree(root: int) -> list[int]:
    seen, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        todo += _children(pid)
    return seen


def _sample(pid: int) -> tuple[float, int] | None:
    """RSS in MB and the number of open file descriptors, or None when the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (OSError, StopIteration):
        return None
    return rss_kb / 1024, fds


def _name(pid: int) -> str:
    try:
        argv = [c.decode(errors="replace") for c in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if c]
    except OSError:
        return "?"
    if "mvptest" in argv:
        sub = argv[argv.index("mvptest") + 1] if len(argv) > argv.index("mvptest") + 1 else ""
        return {"run": "master", "worker": "worker", "sandbox": "sandbox"}.get(sub, sub)
    if any(a.endswith("locust") for a in argv):
        return "locust"
    return os.path.basename(argv[0]) if argv else "?"


def watch(proc: subprocess.Popen[bytes], seconds: float, extra: dict[str, int]) -> dict[str, list[tuple[float, float, int]]]:
    """Samples every INTERVAL_S until ``proc`` ends: label -> [(t, rss_mb, fds)]. ``extra`` names other processes."""
    series: dict[str, list[tuple[float, float, int]]] = {}
    t0 = time.monotonic()
    next_at = t0 + 1
    while proc.poll() is None:
        now = time.monotonic()
        if now >= next_at:
            labels: dict[str, int] = {}
            for pid in _tree(proc.pid):
                if pid == proc.pid and _name(pid) not in ("master", "locust"):
                    continue
                label = _name(pid)
                n = sum(1 for k in labels if k.startswith(label))
                labels[f"{label}{n + 1}" if label in ("worker", "locust") else label] = pid
            labels.update(extra)
            for label, pid in labels.items():
                s = _sample(pid)
                if s is not None:
                    series.setdefault(label, []).append((round(now - t0, 1), round(s[0], 1), s[1]))
            print(f"[{now - t0:6.0f} s] " + "  ".join(f"{k}: {v[-1][1]:.1f} MB {v[-1][2]} fd" for k, v in series.items()
                                                      if v and v[-1][0] == round(now - t0, 1)), flush=True)
            next_at += INTERVAL_S
        time.sleep(0.2)
    return series


def verdict(series: dict[str, list[tuple[float, float, int]]]) -> list[str]:
    rows = []
    for label, points in series.items():
        if len(points) < 4:
            continue
        end = points[-1][0]
        second_minute = [p for p in points if 60 <= p[0] < 120] or points[1:2]
        last_minute = [p for p in points if p[0] >= end - 60]
        a = sum(p[1] for p in second_minute) / len(second_minute)
        b = sum(p[1] for p in last_minute) / len(last_minute)
        span_min = (last_minute[-1][0] - second_minute[0][0]) / 60
        slope = f"{(b - a) / span_min:+.2f}" if span_min >= 1 else "-"
        fds = sorted({p[2] for p in points[1:]})
        rows.append(f"| {label} | {points[1][1]:.1f} | {a:.1f} | {b:.1f} | {max(p[1] for p in points):.1f} | "
                    f"{slope} | {fds[0]}-{fds[-1]} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--reference-minutes", type=float, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--users", type=int, default=20)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mvptest-soak-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen([sys.executable, "-m", "mvptest", "sandbox", str(SPEC), "--port", str(port), "--seed", "7",
                                "--latency-ms", "5", "--reset-rate", "0.0002"], cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_http(url + "/__mvptest/stats")
        codes = _codes(tmp)
        scenario = tmp / "soak.yaml"
        scenario.write_text(
            "kind: scenario\nname: soak\n"
            f"specs: [{json.dumps(str(SPEC))}]\n"
            "interfaces: [market-supervision/enterprise-registration]\n"
            f"target: {url}\n"
            f"data: {{uscc: {{file: {json.dumps(str(codes))}}}}}\n"
            f"load: {{users: {args.users}, spawn_rate: {args.users}, duration: {int(args.minutes * 60)}s, timeout: 5s}}\n",
            encoding="utf-8")
        print(f"mvptest run, {args.workers} workers, {args.minutes:g} min against {url}", flush=True)
        run = subprocess.Popen([sys.executable, "-m", "mvptest", "run", str(scenario), "--workers", str(args.workers),
                                "--results-dir", str(tmp / "results")], cwd=tmp, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
        ours = watch(run, args.minutes * 60, {"sandbox": sandbox.pid})
        found = sorted((tmp / "results").glob("*/summary.json"))
        if not found:
            raise SystemExit(f"mvptest run exited {run.returncode} without a summary.json")
        summary = json.loads(found[0].read_text())
        ref: dict[str, list[tuple[float, float, int]]] = {}
        if args.reference_minutes > 0:
            lf = tmp / "raw_locustfile.py"
            lf.write_text(RAW_LOCUSTFILE % str(tmp / "codes.json"))
            print(f"raw Locust, --processes {args.workers}, {args.reference_minutes:g} min", flush=True)
            raw = subprocess.Popen([sys.executable, "-m", "locust", "-f", str(lf), "--headless", "-u", str(args.users),
                                    "-r", str(args.users), "-t", f"{int(args.reference_minutes * 60)}s", "-H", url,
                                    "--processes", str(args.workers), "--only-summary"], cwd=tmp,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ref = watch(raw, args.reference_minutes * 60, {})
    finally:
        sandbox.terminate()
        sandbox.wait()
    print()
    print(f"mvptest: exit {run.returncode}, {summary['requests']:,} requests, verdict {summary['verdict']}, "
          f"workers lost: {summary.get('workers_lost', [])}")
    header = ("| process | RSS at 10 s (MB) | 2nd minute (MB) | last minute (MB) | max (MB) | MB/min after the 1st minute "
              "| open fds |\n|---|---:|---:|---:|---:|---:|---:|")
    print(header)
    print("\n".join(verdict(ours)))
    if ref:
        print("\nreference: raw Locust")
        print(header)
        print("\n".join(verdict(ref)))
    (tmp / "series.json").write_text(json.dumps({"mvptest": ours, "locust": ref}))
    print(f"\nseries: {tmp / 'series.json'}")


def _codes(tmp: Path) -> Path:
    """1,000 distinct valid credit codes (the sandbox serves each its own record)."""
    sys.path.insert(0, str(ROOT))
    import random

    from mvptest.spec.check import load_specs
    from mvptest.synth import Synthesizer

    itf = load_specs([SPEC]).interface("enterprise-registration")
    param = next(p for p in itf.parameters if p.name == "uscc")
    syn = Synthesizer(param.schema)
    rng = random.Random(20261201)
    codes = sorted({str(syn.generate(rng)) for _ in range(1000)})
    (tmp / "codes.json").write_text(json.dumps(codes))
    path = tmp / "codes.csv"
    path.write_text("uscc\n" + "\n".join(codes) + "\n")
    return path


if __name__ == "__main__":
    main()
