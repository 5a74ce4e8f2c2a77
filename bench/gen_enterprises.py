"""Generate N enterprise records as NDJSON, about 3 % with realistic defects (deterministic from a seed)."""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from mvptest.formats import REGISTRY

STATUSES = ["存续", "在业", "吊销", "注销", "迁出"]
DEFECTS = ("date-compact", "capital-text", "missing-address", "bad-check", "bad-status")


def record(rng: random.Random, i: int) -> dict:
    uscc = REGISTRY["cn-uscc"].generate(rng)
    return {
        "enterpriseName": f"示例科技（{rng.choice(['北京', '上海', '深圳', '厦门'])}）有限公司{i}",
        "uscc": uscc,
        "registeredAddress": f"某市某区某路{rng.randrange(1, 999)}号",
        "registeredCapital": round(rng.uniform(10, 50000), 4),
        "currency": "CNY",
        "establishedDate": REGISTRY["date"].generate(rng),
        "legalRepresentative": rng.choice("张王李赵刘陈杨黄") + rng.choice(["伟", "芳", "娜", "敏", "静", "强"]),
        "status": rng.choice(STATUSES),
        "businessScope": "软件开发；信息技术咨询服务",
        "enterpriseType": rng.choice(["1100", "1110", "1200", "2100"]),
        "divisionCode": uscc[2:8],
    }


def defect(rng: random.Random, rec: dict) -> None:
    kind = rng.choice(DEFECTS)
    if kind == "date-compact":
        rec["establishedDate"] = rec["establishedDate"].replace("-", "")
    elif kind == "capital-text":
        rec["registeredCapital"] = f"{rec['registeredCapital']:.0f}万元"
    elif kind == "missing-address":
        del rec["registeredAddress"]
    elif kind == "bad-check":
        last = rec["uscc"][-1]
        rec["uscc"] = rec["uscc"][:-1] + ("0" if last != "0" else "1")
    else:
        rec["status"] = "正常"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--defect-rate", type=float, default=0.03)
    ap.add_argument("--seed", type=int, default=20261123)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with args.out.open("w", encoding="utf-8") as f:
        for i in range(args.n):
            rec = record(rng, i)
            if rng.random() < args.defect_rate:
                defect(rng, rec)
            f.write(json.dumps(rec, ensure_ascii=False))
            f.write("\n")
    print(f"wrote {args.n} records to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
