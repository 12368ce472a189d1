"""Workers: one meetsrv process against `--workers 2` (two processes sharing the port with
SO_REUSEPORT, joined by Redis), both on PostgreSQL + Redis, measured in the same run.

For each configuration, in turn (the order alternates round by round, medians of rounds):
- chat: the rooms of the chat scenario (`chat_rooms` of `chat_room_size` members) on the one
  port (the kernel spreads the sockets over the workers), in a closed loop: each room keeps one
  message in flight, sent with a client_id, the next once it is acknowledged (so the load is
  as much as the server takes, without an open loop's growing queue). Messages acknowledged
  per second (the total), each delivered to the other members; ack and delivery p50/p99; and
  messages per CPU-second of every server process (the capacity per CPU-second; the
  supervisor of --workers counts too);
- REST: a detail, `GET /v1/rooms/<id>`, under wrk (closed loop, `http_connections`): requests
  per second (the total) and requests per server CPU-second.

The ratios are 2 processes / 1 process. The machine has few cores, shared with the load
generators, PostgreSQL and Redis: a ratio of totals near 1 says the machine, not meetsrv, is
the limit; the capacity per CPU-second says what a second process costs.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

from bench.common import HOST, PYTHON, ROOT, cpu_seconds, env, median, raise_nofile, ratio, start_meetsrv
from bench.loadgen.http import measure
from bench.scenarios.chat import REDIS_DB
from bench.seed import Seeder, postgres_available, postgres_db, redis_available

CONFIGS = (("1 process", 1), ("2 processes", 2))


def _tree(pid: int) -> list[int]:
    """pid and its descendants (the workers of a --workers supervisor)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


class _Processes:
    """The CPU time of all the processes of one server (a --workers supervisor and its workers)."""

    def __init__(self, proc, pids: list[int]):
        self.proc = proc
        self.pids = pids

    def cpu(self) -> float:
        total = 0.0
        for pid in self.pids:
            try:
                total += cpu_seconds(pid)
            except OSError:
                pass
        return total


def _chat(servers: _Processes, spec: dict) -> dict:
    """The chat load process (bench.loadgen.ws, mode chat_acked), with the servers' CPU time
    over its measured window."""
    proc = subprocess.Popen([PYTHON, "-m", "bench.loadgen.ws"], cwd=ROOT, env=env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, preexec_fn=lambda: raise_nofile())
    proc.stdin.write(json.dumps(spec) + "\n")
    proc.stdin.close()
    cpu0 = cpu1 = result = None
    for line in proc.stdout:
        value = json.loads(line)
        if value.get("event") == "measure_start":
            cpu0 = servers.cpu()
        elif value.get("event") == "measure_end":
            cpu1 = servers.cpu()
        else:
            result = value
    proc.wait(60)
    if result is None or cpu0 is None or cpu1 is None:
        raise RuntimeError("chat load process failed")
    used = cpu1 - cpu0
    acked = result["acked_per_s"] * result["duration_s"]
    result["server_cpu_s"] = round(used, 2)
    result["msgs_per_cpu_s"] = acked / used if used else None
    return result


def _quiet(servers: _Processes, timeout: float = 30.0) -> None:
    """Wait until the servers are idle again (the sockets of the chat load closed and forgotten)."""
    deadline = time.monotonic() + timeout
    last = servers.cpu()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = servers.cpu()
        if now - last < 0.05:
            return
        last = now


def _wait_workers(proc, workers: int, timeout: float = 60.0) -> list[int]:
    """Wait until the supervisor logs that all its workers listen; the pids of the tree."""
    deadline = time.monotonic() + timeout
    wanted = f"with {workers} workers"
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"meetsrv --workers {workers} exited: see {proc.log}")
        try:
            if wanted in proc.log.read_text():
                pids = _tree(proc.pid)
                if len(pids) == workers + 1:
                    return pids
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"meetsrv --workers {workers} not ready after {timeout} s: see {proc.log}")


def _one(ctx, folder, db, procs: int, rooms, room_path: str, headers: dict) -> dict:
    p = ctx.params
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    redis = f"redis://127.0.0.1:6379/{REDIS_DB}"
    extra = ("--workers", str(procs)) if procs > 1 else ()
    name = "1 process" if procs == 1 else f"{procs} processes"
    try:
        with start_meetsrv(folder, db, redis, prefix, name=f"workers{procs}", extra_args=extra) as server:
            pids = _wait_workers(server, procs) if procs > 1 else [server.pid]
            servers = _Processes(server, pids)
            conns = [[server.port, path] for room in rooms for path in room]
            chat = _chat(servers, {"mode": "chat_acked", "conns": conns, "room_size": p["chat_room_size"],
                                   "duration": p["chat_seconds"], "warmup": 1.5, "parallel": 50})
            _quiet(servers)
            url = f"http://{HOST}:{server.port}{room_path}"
            measure(url, headers, 1, p["http_connections"])  # warm-up
            cpu0 = servers.cpu()
            rest = measure(url, headers, p["rest_seconds"], p["http_connections"])
            rest_cpu = servers.cpu() - cpu0
            rest["server_cpu_s"] = round(rest_cpu, 2)
            rest["requests_per_cpu_s"] = (rest["requests"] / rest_cpu) if rest.get("requests") and rest_cpu else None
    finally:
        subprocess.run(f"redis-cli -n {REDIS_DB} --scan --pattern '{prefix}*' | xargs -r redis-cli -n {REDIS_DB} DEL",
                       shell=True, capture_output=True)
    ctx.log(f"  {name}: chat {chat['acked_per_s']:.0f} msgs/s ({chat['deliveries_per_s']:.0f} deliveries/s, "
            f"{chat['error_frames']} error frames, {chat['undelivered_after_1s']} undelivered), ack p99 {_ms(chat['ack_p99_ms'])}, delivery p99 "
            f"{_ms(chat['p99_ms'])}, {chat['msgs_per_cpu_s'] or 0:.0f} msgs per CPU-s (server CPU "
            f"{chat['server_cpu_s']} s, load generator {chat['client_cpu_s']:.1f} s); REST {rest['rps'] or 0:.0f} "
            f"req/s, {rest['requests_per_cpu_s'] or 0:.0f} req per CPU-s, p99 {_ms(rest['p99_ms'])}")
    return {"chat": chat, "rest": rest}


def run(ctx) -> dict:
    if not (postgres_available() and redis_available()):
        return {"skipped": "needs PostgreSQL and Redis"}
    p = ctx.params
    door = ctx.profile("rooms")
    folder = ctx.work.new("workers")
    samples: dict[str, list] = {name: [] for name, _ in CONFIGS}
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(postgres_db())
        s = Seeder(db)
        s.create_schema()
        rooms = door.ws_rooms(s, p["chat_rooms"], p["chat_room_size"])
        fx = door.rest_fixture(s)
        s.close()
        _, label, room_path, _ = next(t for t in door.rest_targets(fx) if t[0] == "detail_room")
        headers = door.headers(fx["token"])
        for rnd in range(p["workers_rounds"]):
            ctx.log(f" round {rnd + 1}/{p['workers_rounds']}")
            for name, procs in (CONFIGS if rnd % 2 == 0 else CONFIGS[::-1]):
                samples[name].append(_one(ctx, folder, db, procs, rooms, room_path, headers))
    results = {}
    for name, rs in samples.items():
        chats, rests = [r["chat"] for r in rs], [r["rest"] for r in rs]
        results[name] = {
            "chat_msgs_per_s": median([c["acked_per_s"] for c in chats]),
            "chat_deliveries_per_s": median([c["deliveries_per_s"] for c in chats]),
            "chat_ack_p50_ms": median([c["ack_p50_ms"] for c in chats]),
            "chat_ack_p99_ms": median([c["ack_p99_ms"] for c in chats]),
            "chat_p50_ms": median([c["p50_ms"] for c in chats]),
            "chat_p99_ms": median([c["p99_ms"] for c in chats]),
            "chat_msgs_per_cpu_s": median([c["msgs_per_cpu_s"] for c in chats]),
            "chat_error_frames": sum(c["error_frames"] for c in chats),
            "chat_undelivered": sum(c["undelivered_after_1s"] for c in chats),
            "chat_connected": min(c["connected"] for c in chats), "chat_wanted": chats[0]["wanted"],
            "chat_server_cpu_s": [c["server_cpu_s"] for c in chats],
            "chat_client_cpu_s": [round(c["client_cpu_s"], 1) for c in chats],
            "rest_rps": median([r["rps"] for r in rests]),
            "rest_p99_ms": median([r["p99_ms"] for r in rests]),
            "rest_requests_per_cpu_s": median([r["requests_per_cpu_s"] for r in rests]),
            "rest_non_2xx": sum(r.get("non_2xx") or 0 for r in rests),
            "rest_server_cpu_s": [r["server_cpu_s"] for r in rests],
            "rounds_chat_msgs_per_s": [round(c["acked_per_s"]) for c in chats],
            "rounds_rest_rps": [round(r["rps"]) for r in rests],
        }
    one, two = results["1 process"], results["2 processes"]

    def r21(key):
        return ratio(two[key], one[key])

    ratios = {
        "chat: messages per second (total)": r21("chat_msgs_per_s"),
        "chat: messages per server CPU-second": r21("chat_msgs_per_cpu_s"),
        "chat: p99 delivery latency": r21("chat_p99_ms"),
        "REST detail: requests per second (total)": r21("rest_rps"),
        "REST detail: requests per server CPU-second": r21("rest_requests_per_cpu_s"),
        "REST detail: p99 latency": r21("rest_p99_ms"),
    }
    return {"rooms": p["chat_rooms"], "room_size": p["chat_room_size"], "chat_seconds": p["chat_seconds"], "rest_path": label, "rest_seconds": p["rest_seconds"],
            "http_connections": p["http_connections"], "rounds": p["workers_rounds"], "cores": _cores(),
            "results": results, "ratios": ratios}


def _ms(value) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
