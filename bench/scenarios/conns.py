"""3. Connections: how many idle WebSocket connections one process holds, and resident memory
per connection (VmRSS before/after), for meetsrv and for a bare Autobahn server."""

from __future__ import annotations

import json
import subprocess
import time

from bench.common import PYTHON, ROOT, env, raise_nofile, start_baseline, start_meetsrv
from bench.seed import Seeder


def _hold(conns, timeout=900):
    """Start an idle load process; returns (process, its 'connected' report)."""
    proc = subprocess.Popen([PYTHON, "-m", "bench.loadgen.ws"], cwd=ROOT, env=env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, preexec_fn=lambda: raise_nofile())
    proc.stdin.write(json.dumps({"mode": "idle", "conns": conns, "parallel": 100}) + "\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError("idle load process died")
    return proc, json.loads(line)


def _release(proc):
    proc.stdin.write("\n")
    proc.stdin.flush()
    out = proc.stdout.read()
    proc.wait(60)
    return json.loads(out.strip().splitlines()[-1])


def _measure(ctx, server, warm, conns):
    # warm up (imports, first handshakes, pools), then measure from a quiet state
    p, _ = _hold(warm)
    _release(p)
    time.sleep(1.0)
    before = server.rss_kib()
    cpu = server.cpu()
    p, info = _hold(conns)
    cpu = server.cpu() - cpu
    time.sleep(2.0)
    after = server.rss_kib()
    end = _release(p)
    n = info["connected"]
    row = {"wanted": len(conns), "connected": n, "connect_s": info["connect_s"], "errors": info["errors"],
           "alive_at_end": end.get("alive_at_end"), "rss_before_kib": before, "rss_after_kib": after,
           "kib_per_connection": (after - before) / n if n else None,
           # the server's CPU time while the sockets connected (their handshakes)
           "cpu_ms_per_connection": cpu * 1000 / n if n else None}
    ctx.log(f"  {server.name}: {n}/{len(conns)} connected in {info['connect_s']:.1f} s, "
            f"{row['kib_per_connection']:.1f} KiB each (RSS {before} -> {after} KiB), "
            f"server CPU {row['cpu_ms_per_connection']:.2f} ms each, alive at end {row['alive_at_end']}")
    return row


def run(ctx) -> dict:
    p = ctx.params
    door = ctx.profile("rooms")
    n = p["idle_connections"]
    size = 10
    folder = ctx.work.new("conns")
    db = f"sqlite:///{folder}/conns.sqlite3"
    s = Seeder(db)
    s.create_schema()
    rooms = door.ws_rooms(s, (n + 100) // size + 1, size)
    s.close()
    paths = [path for room in rooms for path in room]
    out = {}
    with start_meetsrv(folder, db) as ms:
        out["meetsrv"] = _measure(ctx, ms, [[ms.port, x] for x in paths[-100:]], [[ms.port, x] for x in paths[:n]])
    with start_baseline(folder, "bare_autobahn", "bare_autobahn") as ab:
        out["bare_autobahn"] = _measure(ctx, ab, [[ab.port, "/warm"]] * 100,
                                        [[ab.port, f"/room/{i // size}"] for i in range(n)])
    m, b = out["meetsrv"]["kib_per_connection"], out["bare_autobahn"]["kib_per_connection"]
    out["ratio_memory"] = (m / b) if m and b else None
    return out
