"""1. REST: each door's authenticated details and the lists against a bare twisted.web resource
and a bare Klein route returning a constant. One meetsrv serves every door (each door's data
seeded in one database, bench/doors/*.py); rounds alternate the three servers (one at a time,
every target of every door in each meetsrv round); medians of rounds.

Besides requests per second, each server's CPU time (/proc, all its threads) over the measured
seconds, per request: its inverse is what one core serves. The machine is shared, so a round's
req/s moves with what else runs; CPU per request moves much less."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

from bench.common import HOST, median, ratio, start_baseline, start_meetsrv
from bench.loadgen.http import measure
from bench.seed import Seeder

DOORS = ("rooms", "directory", "social", "phone", "campus")


def wait_ready(port: int, timeout: float = 30.0) -> None:
    """Until /healthz/ready answers 200 (a door answers 503 while the server is starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"meetsrv on {port} not ready after {timeout}s")
        time.sleep(0.1)


def run(ctx) -> dict:
    p = ctx.params
    folder = ctx.work.new("rest")
    db = f"sqlite:///{folder}/rest.sqlite3"
    s = Seeder(db)
    s.create_schema()
    # (key, label, path, kind, headers) of every door's targets; key = "<door>.<target>"
    targets = []
    for name in DOORS:
        door = ctx.profile(name)
        fx = door.rest_fixture(s)
        headers = door.headers(fx["token"])
        for key, label, path, kind in door.rest_targets(fx):
            targets.append((f"{name}.{key}", f"{name}: {label}", path, kind, headers))
    s.close()
    samples: dict[str, list] = {}
    labels = {"bare_web": "bare twisted.web resource, constant", "bare_klein": "bare Klein route, constant"}
    kinds = {}

    def bench(key, url, hdrs, proc):
        measure(url, hdrs, 1, p["http_connections"])  # warm-up
        cpu = proc.cpu()
        r = measure(url, hdrs, p["rest_seconds"], p["http_connections"])
        cpu = proc.cpu() - cpu
        r["cpu_us_per_req"] = cpu * 1e6 / r["requests"] if r.get("requests") else None
        ctx.log(f"  {key}: {r['rps']:.0f} req/s p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms"
                f" non-2xx {r.get('non_2xx')} server CPU {r['cpu_us_per_req'] or 0:.0f} us/request")
        samples.setdefault(key, []).append(r)

    for rnd in range(p["rest_rounds"]):
        ctx.log(f" round {rnd + 1}/{p['rest_rounds']}")
        for module, key in (("bare_web", "bare_web"), ("bare_klein", "bare_klein")):
            with start_baseline(folder, module, key) as proc:
                bench(key, f"http://{HOST}:{proc.port}/v1/info", {}, proc)
        with start_meetsrv(folder, db) as proc:
            wait_ready(proc.port)
            for key, label, path, kind, headers in targets:
                labels[key], kinds[key] = label, kind
                bench(key, f"http://{HOST}:{proc.port}{path}", headers, proc)

    summary = {}
    for key, rs in samples.items():
        summary[key] = {
            "label": labels[key],
            "kind": kinds.get(key, "baseline"),
            "rps": median([r["rps"] for r in rs]),
            "p50_ms": median([r["p50_ms"] for r in rs]),
            "p99_ms": median([r["p99_ms"] for r in rs]),
            "non_2xx": sum(r.get("non_2xx") or 0 for r in rs),
            "cpu_us_per_req": median([r["cpu_us_per_req"] for r in rs if r.get("cpu_us_per_req")]),
            "rounds_rps": [round(r["rps"]) for r in rs],
            "tool": rs[0].get("tool"),
        }
    ratios = {}
    for key, *_ in targets:
        ratios[f"{key}/bare_klein"] = ratio(summary[key]["rps"], summary["bare_klein"]["rps"])
        ratios[f"{key}/bare_web"] = ratio(summary[key]["rps"], summary["bare_web"]["rps"])
        # requests per server CPU-second against bare Klein's
        ratios[f"{key}/bare_klein cpu"] = ratio(summary["bare_klein"]["cpu_us_per_req"], summary[key]["cpu_us_per_req"])
    ratios["bare_klein/bare_web"] = ratio(summary["bare_klein"]["rps"], summary["bare_web"]["rps"])
    return {"connections": p["http_connections"], "seconds": p["rest_seconds"], "rounds": p["rest_rounds"],
            "results": summary, "ratios": ratios}
