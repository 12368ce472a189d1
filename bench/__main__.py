"""python -m bench [--quick] [--only rest,fanout,chat,conns,workers,growth,faults] [--out DIR]

Runs the scenarios one after another (never two loads at once) and writes report.json,
report.md and PNG plots to bench/results/<quick|full>/ (or --out)."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

from bench import report
from bench.common import BENCH, Workdir, machine, raise_nofile
from bench.doors import PROFILES
from bench.scenarios import OPT_IN, SCENARIOS

PARAMS = {
    "quick": {
        "rest_rounds": 2, "rest_seconds": 3, "http_connections": 16,
        "fanout_sizes": [1000], "fanout_rounds": 5,
        "chat_rooms": 100, "chat_room_size": 10, "chat_rate": 500, "chat_seconds": 4, "chat_rounds": 1,
        "idle_connections": 3000,
        "workers_rounds": 2,
        "growth_sizes": [1000, 100_000], "growth_seconds": 2, "growth_postgres": False,
    },
    "full": {
        "rest_rounds": 3, "rest_seconds": 8, "http_connections": 16,
        "fanout_sizes": [1000, 5000], "fanout_rounds": 7,
        "chat_rooms": 100, "chat_room_size": 10, "chat_rate": 500, "chat_seconds": 10, "chat_rounds": 2,
        "idle_connections": 15000,
        "workers_rounds": 3,
        "growth_sizes": [1000, 100_000, 1_000_000], "growth_seconds": 3, "growth_postgres": False,
    },
}


class Ctx:
    def __init__(self, mode: str, params: dict, work: Workdir):
        self.mode = mode
        self.params = params
        self.work = work
        self.t0 = time.monotonic()

    def log(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", flush=True)

    def profile(self, name: str):
        return PROFILES[name]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a short run (~2 min) with smaller sizes")
    ap.add_argument("--only", help="comma-separated scenarios: " + ",".join(SCENARIOS))
    ap.add_argument("--out", help="result folder (default bench/results/<quick|full>)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="override a parameter, e.g. --set idle_connections=5000")
    ap.add_argument("--keep", action="store_true", help="keep the scratch databases and logs")
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full"
    params = dict(PARAMS[mode])
    for item in args.set:
        k, _, v = item.partition("=")
        params[k] = json.loads(v)
    names = args.only.split(",") if args.only else [n for n in SCENARIOS if n not in OPT_IN]
    out = Path(args.out) if args.out else BENCH / "results" / mode
    out.mkdir(parents=True, exist_ok=True)
    raise_nofile()
    work = Workdir(BENCH / "results")
    ctx = Ctx(mode, params, work)
    data = {"mode": mode, "params": params, "machine": machine(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "scenarios": {}}
    failed = False
    try:
        for name in names:
            ctx.log(f"== {name}")
            t = time.monotonic()
            try:
                data["scenarios"][name] = SCENARIOS[name](ctx)
            except Exception as e:  # one failed scenario should not lose the others
                failed = True
                traceback.print_exc()
                data["scenarios"][name] = {"error": f"{type(e).__name__}: {e}"}
            data["scenarios"][name]["elapsed_s"] = round(time.monotonic() - t, 1)
            report.write(data, out)  # after each scenario: a partial report survives an interruption
    finally:
        data["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        data["elapsed_s"] = round(time.monotonic() - ctx.t0, 1)
        data["machine"]["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
        report.write(data, out)
        if not args.keep:
            work.cleanup()
    ctx.log(f"report: {out / 'report.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
