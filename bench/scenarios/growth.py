"""5. Growth: list, search and history latency with 1,000 .. 1,000,000 rows (seeded in bulk with
SQL). One connection at a time (latency, not throughput); p50 and p99."""

from __future__ import annotations

import time

from bench.common import HOST, ratio, start_meetsrv
from bench.loadgen.http import measure
from bench.seed import Seeder, postgres_available, postgres_db


def _size(ctx, door, db, n, folder, label):
    t0 = time.perf_counter()
    s = Seeder(db)
    s.create_schema()
    fx = door.growth_fixture(s, n)
    s.close()
    seed_s = time.perf_counter() - t0
    rows = {}
    with start_meetsrv(folder, db) as proc:
        for key, text, path in door.growth_targets(fx):
            url = f"http://{HOST}:{proc.port}{path}"
            measure(url, door.headers(fx["token"]), 1, 1)
            r = measure(url, door.headers(fx["token"]), ctx.params["growth_seconds"], 1)
            rows[key] = {"label": text, "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "rps": r["rps"],
                         "non_2xx": r.get("non_2xx")}
            ctx.log(f"  {label} {n:>9,} rows {key}: p50 {r['p50_ms']:.2f} ms p99 {r['p99_ms']:.2f} ms")
    return {"rows": n, "seed_s": round(seed_s, 1), "results": rows}


def run(ctx) -> dict:
    p = ctx.params
    door = ctx.profile("rooms")
    out = {}
    backends = ["sqlite"] + (["postgresql"] if p.get("growth_postgres") and postgres_available() else [])
    for backend in backends:
        sizes = []
        for n in p["growth_sizes"]:
            folder = ctx.work.new(f"growth-{backend}-{n}")
            if backend == "sqlite":
                sizes.append(_size(ctx, door, f"sqlite:///{folder}/growth.sqlite3", n, folder, backend))
            else:
                with postgres_db() as url:
                    sizes.append(_size(ctx, door, url, n, folder, backend))
        first, last = sizes[0], sizes[-1]
        growth = {key: ratio(last["results"][key]["p50_ms"], first["results"][key]["p50_ms"])
                  for key in first["results"]}
        out[backend] = {"sizes": sizes, "growth_p50": growth,
                        "from_rows": first["rows"], "to_rows": last["rows"]}
    return out
