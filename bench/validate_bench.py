"""Benchmark: `mvptest validate` end to end versus python-jsonschema iter_errors over the same NDJSON file.

    python bench/validate_bench.py                 # 1,000,000 generated records, ~3 % defects
    python bench/validate_bench.py -n 200000       # quicker

Prints records/s for each, the ratio, and mvptest's peak memory on a small and the large file (flat memory).
Both are timed in this run, on this machine. mvptest runs as a subprocess, start-up included, once with
--jobs 1 (one core, the like-for-like figure) and once with --jobs 2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = ROOT / "specs" / "market-supervision" / "enterprise-registration.yaml"
DATA = HERE / ".data"


def ensure_data(n: int, seed: int = 20261123) -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"enterprises-{n}.ndjson"
    if not path.exists():
        print(f"generating {n:,} records -> {path} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(HERE / "gen_enterprises.py"), str(path), "-n", str(n), "--seed", str(seed)],
                       check=True)
    return path


def run_mvptest(path: Path, jobs: int) -> tuple[float, int, dict]:
    """Wall seconds, peak RSS (KiB, the largest process) and the JSON report of one end-to-end run."""
    out = DATA / f"report-{path.stem}-j{jobs}.json"
    cmd = [sys.executable, "-m", "mvptest", "validate", str(path), "--spec", str(SPEC),
           "--interface", "enterprise-registration", "--jobs", str(jobs), "--json-out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"mvptest exited {code}: {' '.join(cmd)}")
    return seconds, int(usage.ru_maxrss), json.loads(out.read_text(encoding="utf-8"))


def run_reference(path: Path, limit: int | None) -> tuple[float, int, int]:
    """python-jsonschema, Draft 2020-12, formats asserted with mvptest's checkers, iter_errors on every record."""
    from jsonschema import Draft202012Validator, FormatChecker

    from mvptest.formats import REGISTRY
    from mvptest.spec.check import load_specs

    itf = load_specs([SPEC]).interface("enterprise-registration")
    assert itf is not None
    checker = FormatChecker()
    for name, fmt in REGISTRY.items():
        checker.checks(name)(fmt.check)
    # The reference gets its fastest fair set-up: the response schema's own file (flat, local $defs only),
    # not our compound document, whose cross-resource $ref costs python-jsonschema half its speed.
    schema, _ = itf.response_schema.resolve(itf.response_schema.schema)
    validator = Draft202012Validator(schema, format_checker=checker)
    n = invalid = 0
    t0 = time.perf_counter()
    with path.open("rb") as f:
        for line in f:
            record = json.loads(line)
            errors = list(validator.iter_errors(record))
            n += 1
            invalid += bool(errors)
            if limit and n >= limit:
                break
    return time.perf_counter() - t0, n, invalid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=1_000_000, help="records in the large file")
    ap.add_argument("--reference-limit", type=int, default=0,
                    help="stop python-jsonschema after this many records (0: the whole file); its rate is what counts")
    args = ap.parse_args()

    small = ensure_data(100_000)
    large = ensure_data(args.n)
    print(f"file: {large.name}, {large.stat().st_size / 1e6:.0f} MB, {args.n:,} records; cores: {os.cpu_count()}")

    s1, rss1, rep1 = run_mvptest(large, 1)
    s2, rss2, rep2 = run_mvptest(large, 2)
    _, rss_small, _ = run_mvptest(small, 1)
    ref_s, ref_n, ref_invalid = run_reference(large, args.reference_limit or None)

    ours1 = rep1["records"] / s1
    ours2 = rep2["records"] / s2
    ref = ref_n / ref_s
    assert rep1["invalid"] == rep2["invalid"], "parallel and serial runs disagree"
    rows = [
        ("python-jsonschema iter_errors (reference)", ref_n, ref_s, ref, 1.0, None),
        ("mvptest validate --jobs 1 (end to end)", rep1["records"], s1, ours1, ours1 / ref, rss1),
        ("mvptest validate --jobs 2 (end to end)", rep2["records"], s2, ours2, ours2 / ref, rss2),
    ]
    print(f"{'tool':44} {'records':>10} {'seconds':>8} {'records/s':>10} {'ratio':>7} {'peak RSS':>9}")
    for name, n, secs, rate, ratio, rss in rows:
        mem = f"{rss / 1024:.0f} MB" if rss else "-"
        print(f"{name:44} {n:>10,} {secs:>8.2f} {rate:>10,.0f} {ratio:>6.1f}x {mem:>9}")
    print(f"invalid records: mvptest {rep1['invalid']:,} of {rep1['records']:,}; "
          f"reference {ref_invalid:,} of {ref_n:,} (mvptest counts legacy-check-char as a warning, as the spec says)")
    print(f"memory: peak RSS {rss_small / 1024:.0f} MB on 100,000 records, {rss1 / 1024:.0f} MB on {rep1['records']:,} "
          "(--jobs 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
