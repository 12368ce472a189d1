"""2b + 4. Sustained chat: 100 rooms of 10 members, each room keeping `window` messages in flight,
sent in turn by its members. Messages per second in and delivered, delivery p50/p99.

Configurations, run in turn and repeated (interleaved) for side-by-side ratios:
  sqlite/local, postgresql/local     -- the chat figures
  sqlite/redis, postgresql/redis     -- the Redis bus against the in-process bus, one process
  postgresql/redis x2                -- two processes joined by Redis (members split between them)
"""

from __future__ import annotations

import contextlib
import subprocess
import uuid

from bench.common import median, ratio, run_json, start_meetsrv
from bench.seed import Seeder, postgres_available, postgres_db, redis_available

REDIS_DB = 13


def _configs(ctx):
    pg, redis = postgres_available(), redis_available()
    out = [("sqlite/local", "sqlite", False, 1)]
    if pg:
        out.append(("postgresql/local", "pg", False, 1))
    if redis:
        out.append(("sqlite/redis", "sqlite", True, 1))
        if pg:
            out.append(("postgresql/redis", "pg", True, 1))
            out.append(("postgresql/redis x2 processes", "pg", True, 2))
    return [c for c in out if c[0] in ctx.params.get("chat_configs", [c[0] for c in out])] or out


def _one(ctx, name, kind, use_redis, procs, pg_url):
    p = ctx.params
    door = ctx.profile("rooms")
    folder = ctx.work.new("chat-" + name.replace("/", "-").replace(" ", ""))
    if kind == "sqlite":
        db = f"sqlite:///{folder}/chat.sqlite3"
    else:
        db = pg_url
    s = Seeder(db)
    s.create_schema()
    if kind == "pg":  # a fresh start on the shared database: drop what an earlier config left
        s.sql("TRUNCATE users, chats, chat_members, messages, credentials RESTART IDENTITY CASCADE")
        s.conn.commit()
    rooms = door.ws_rooms(s, p["chat_rooms"], p["chat_room_size"])
    s.close()
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    redis = f"redis://127.0.0.1:6379/{REDIS_DB}" if use_redis else None
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(start_meetsrv(folder, db, redis, prefix, name=f"meetsrv{i}"))
                   for i in range(procs)]
        conns = [[servers[j % procs].port, path] for room in rooms for j, path in enumerate(room)]
        cpu0 = [sv.cpu() for sv in servers]
        res = run_json(["bench.loadgen.ws"], {"mode": "chat", "conns": conns, "room_size": p["chat_room_size"],
                                              "window": p["chat_window"], "duration": p["chat_seconds"],
                                              "warmup": 1.0, "parallel": 50}, timeout=600)
        res["server_cpu_s"] = [round(sv.cpu() - c, 2) for sv, c in zip(servers, cpu0)]
    if use_redis:
        subprocess.run(f"redis-cli -n {REDIS_DB} --scan --pattern '{prefix}*' | xargs -r redis-cli -n {REDIS_DB} DEL",
                       shell=True, capture_output=True)
    ctx.log(f"  {name}: in {res['in_per_s']:.0f}/s, delivered {res['deliveries_per_s']:.0f} frames/s, "
            f"p50 {res['p50_ms']:.1f} ms p99 {res['p99_ms']:.1f} ms (connected {res['connected']}/{res['wanted']},"
            f" server CPU {res['server_cpu_s']} s)")
    return res


def run(ctx) -> dict:
    p = ctx.params
    configs = _configs(ctx)
    samples: dict[str, list] = {c[0]: [] for c in configs}
    with contextlib.ExitStack() as stack:
        pg_url = stack.enter_context(postgres_db()) if any(c[1] == "pg" for c in configs) else None
        for rnd in range(p["chat_rounds"]):
            ctx.log(f" round {rnd + 1}/{p['chat_rounds']}")
            for name, kind, use_redis, procs in configs:
                samples[name].append(_one(ctx, name, kind, use_redis, procs, pg_url))
    summary = {}
    for name, rs in samples.items():
        summary[name] = {
            "in_per_s": median([r["in_per_s"] for r in rs]),
            "messages_delivered_per_s": median([r["messages_delivered_per_s"] for r in rs]),
            "deliveries_per_s": median([r["deliveries_per_s"] for r in rs]),
            "p50_ms": median([r["p50_ms"] for r in rs]),
            "p99_ms": median([r["p99_ms"] for r in rs]),
            "connected": min(r["connected"] for r in rs), "wanted": rs[0]["wanted"],
            "server_cpu_s": [r["server_cpu_s"] for r in rs],
            "rounds_in_per_s": [round(r["in_per_s"]) for r in rs],
        }
    get = lambda name: summary.get(name, {}).get("in_per_s")  # noqa: E731
    ratios = {
        "sqlite: redis bus / in-process bus": ratio(get("sqlite/redis"), get("sqlite/local")),
        "postgresql: redis bus / in-process bus": ratio(get("postgresql/redis"), get("postgresql/local")),
        "postgresql+redis: 2 processes / 1 process": ratio(get("postgresql/redis x2 processes"),
                                                            get("postgresql/redis")),
        "postgresql/sqlite (in-process bus)": ratio(get("postgresql/local"), get("sqlite/local")),
    }
    return {"rooms": p["chat_rooms"], "room_size": p["chat_room_size"], "window_per_room": p["chat_window"],
            "seconds": p["chat_seconds"], "rounds": p["chat_rounds"], "results": summary, "ratios": ratios}
