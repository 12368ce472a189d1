"""python -m bench.faults [--only none,kill,redis,postgres] [--set KEY=JSON] [--out DIR] [--keep]

The fault bench (bench/faults/__init__.py): writes report.json, report.md and timeline.png to
bench/results/faults/ (or --out)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.common import BENCH, Workdir, machine, raise_nofile
from bench.faults import FAULTS, PARAMS, report, run


def main(argv=None) -> int:
    from bench.__main__ import Ctx

    ap = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated faults: " + ",".join(FAULTS))
    ap.add_argument("--out", help="result folder (default bench/results/faults)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="override a parameter, e.g. --set rate=300 (see PARAMS in bench/faults/__init__.py)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folders and server logs")
    args = ap.parse_args(argv)
    params = dict(PARAMS)
    for item in args.set:
        k, _, v = item.partition("=")
        params[k] = json.loads(v)
    if args.only:
        params["faults"] = args.only.split(",")
    out = Path(args.out) if args.out else BENCH / "results" / "faults"
    raise_nofile()
    work = Workdir(BENCH / "results")
    ctx = Ctx("faults", params, work)
    data = {"mode": "faults", "params": params, "machine": machine(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "scenarios": {}}
    try:
        data["scenarios"]["faults"] = run(ctx)
    finally:
        data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        data["elapsed_s"] = round(time.monotonic() - ctx.t0, 1)
        data["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
        if "faults" in data["scenarios"]:
            report.write(data, out)
            ctx.log(f"report: {out / 'report.md'}")
        if not args.keep:
            work.cleanup()
    results = data["scenarios"]["faults"].get("results", {})
    failed = any("error" in r for r in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
