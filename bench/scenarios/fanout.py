"""2a. WebSocket fan-out: one room of N members, one message, time until the last member has it;
against a bare Autobahn broadcast of a prepared frame to as many sockets. The load process holds
both sets of sockets and alternates rounds between the two servers (side by side in time)."""

from __future__ import annotations

from bench.common import median, ratio, run_json, start_baseline, start_meetsrv
from bench.seed import Seeder


def run(ctx) -> dict:
    p = ctx.params
    door = ctx.profile("rooms")
    out = {}
    for n in p["fanout_sizes"]:
        folder = ctx.work.new(f"fanout-{n}")
        db = f"sqlite:///{folder}/fanout.sqlite3"
        s = Seeder(db)
        s.create_schema()
        paths = door.ws_rooms(s, 1, n)[0]
        s.close()
        with start_meetsrv(folder, db) as ms, start_baseline(folder, "bare_autobahn", "bare_autobahn") as ab:
            conns = [[ms.port, path] for path in paths] + [[ab.port, "/room"]
                                                          for _ in range(n)]
            ctx.log(f" {n} members: connecting {2 * n} sockets")
            res = run_json(["bench.loadgen.ws"], {"mode": "fanout", "conns": conns,
                                                  "groups": [[0, n], [n, 2 * n]], "rounds": p["fanout_rounds"],
                                                  "parallel": 50}, timeout=900)
            rss = {"meetsrv_kib": ms.rss_kib(), "bare_autobahn_kib": ab.rss_kib()}
        m, b = res["groups"]
        row = {
            "members": n,
            "connected": res["connected"], "wanted": res["wanted"], "connect_s": res["connect_s"],
            "errors": res["errors"],
            "meetsrv_last_ms": median([r["last_ms"] for r in m]),
            "bare_autobahn_last_ms": median([r["last_ms"] for r in b]),
            "meetsrv_median_member_ms": median([r["median_ms"] for r in m]),
            "bare_autobahn_median_member_ms": median([r["median_ms"] for r in b]),
            "meetsrv_rounds": m, "bare_autobahn_rounds": b, "rss": rss,
        }
        row["ratio"] = ratio(row["meetsrv_last_ms"], row["bare_autobahn_last_ms"])
        ctx.log(f"  meetsrv {row['meetsrv_last_ms']:.1f} ms, bare Autobahn {row['bare_autobahn_last_ms']:.1f} ms,"
                f" ratio {row['ratio']:.2f} (received {[r['received'] for r in m]})")
        out[str(n)] = row
    return out
