"""1. REST: authenticated list and details against a bare twisted.web resource and a bare Klein
route returning a constant. Rounds alternate the three servers (one at a time); medians."""

from __future__ import annotations

from bench.common import HOST, median, ratio, start_baseline, start_meetsrv
from bench.loadgen.http import measure
from bench.seed import Seeder


def run(ctx) -> dict:
    p = ctx.params
    door = ctx.profile("rooms")
    folder = ctx.work.new("rest")
    db = f"sqlite:///{folder}/rest.sqlite3"
    s = Seeder(db)
    s.create_schema()
    fx = door.rest_fixture(s)
    s.close()
    headers = door.headers(fx["token"])
    targets = door.rest_targets(fx)
    samples: dict[str, list] = {}
    labels = {"bare_web": "bare twisted.web resource, constant", "bare_klein": "bare Klein route, constant"}

    def bench(key, url, hdrs):
        measure(url, hdrs, 1, p["http_connections"])  # warm-up
        r = measure(url, hdrs, p["rest_seconds"], p["http_connections"])
        ctx.log(f"  {key}: {r['rps']:.0f} req/s p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms"
                f" non-2xx {r.get('non_2xx')}")
        samples.setdefault(key, []).append(r)

    for rnd in range(p["rest_rounds"]):
        ctx.log(f" round {rnd + 1}/{p['rest_rounds']}")
        for module, key in (("bare_web", "bare_web"), ("bare_klein", "bare_klein")):
            with start_baseline(folder, module, key) as proc:
                bench(key, f"http://{HOST}:{proc.port}/v1/info", {})
        with start_meetsrv(folder, db) as proc:
            for key, label, path in targets:
                labels[key] = label
                bench(key, f"http://{HOST}:{proc.port}{path}", headers)

    summary = {}
    for key, rs in samples.items():
        summary[key] = {
            "label": labels[key],
            "rps": median([r["rps"] for r in rs]),
            "p50_ms": median([r["p50_ms"] for r in rs]),
            "p99_ms": median([r["p99_ms"] for r in rs]),
            "non_2xx": sum(r.get("non_2xx") or 0 for r in rs),
            "rounds_rps": [round(r["rps"]) for r in rs],
            "tool": rs[0].get("tool"),
        }
    ratios = {}
    for key, _, _ in targets:
        ratios[f"{key}/bare_klein"] = ratio(summary[key]["rps"], summary["bare_klein"]["rps"])
        ratios[f"{key}/bare_web"] = ratio(summary[key]["rps"], summary["bare_web"]["rps"])
    ratios["bare_klein/bare_web"] = ratio(summary["bare_klein"]["rps"], summary["bare_web"]["rps"])
    return {"connections": p["http_connections"], "seconds": p["rest_seconds"], "rounds": p["rest_rounds"],
            "results": summary, "ratios": ratios}
