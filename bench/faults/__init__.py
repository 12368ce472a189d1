"""The fault bench: two meetsrv processes (twistd) on PostgreSQL + Redis under chat load, and one
fault at a time in the middle of it.

    python -m bench.faults [--only none,kill,redis,postgres] [--set KEY=JSON] [--keep]
    python -m bench --only faults          (the same runs, in the benchmark's report)

Each run is its own world, about 45 s: a fresh database, a private `redis-server` on a port of
its own (never the shared 6379), a TCP proxy (bench/faults/proxy.py) in front of the machine's
PostgreSQL (which is never stopped), processes A and B, and the clients of bench/faults/clients.py
(`rooms` rooms of `room_size` members, half of each room on A and half on B, `rate` messages a
second in all, client_id and acks, resume with ?after=). After `warmup` seconds the fault lasts
`outage` seconds, then `recovery` seconds of steady chat, then the clients stop and drain:

- none: no fault (the control run: any figure above 0 here is the bench's own);
- kill: `kill -9` of A; its clients reconnect to B with ?after= and send their unacknowledged
  message again; A is started again on its port when the outage ends;
- redis: `kill -9` of the private redis-server, started again (empty) on its port afterwards;
  the sockets stay connected;
- postgres: the proxy drops every database connection and refuses new ones, then relays again.

During the outage `revoked` signed-in users (not chat members) log out, through B for `kill`
and through A otherwise, trying again until the logout is answered 2xx; their sessions were
used on both processes before (cached). Afterwards each process is asked with each session:
one that is still accepted is a revoked session still honoured.

Figures per run, each with target 0: lost (acknowledged, never delivered to a member of the
room), duplicated, reordered, revoked sessions honoured, echoed (an own message sent back to the
socket that posted it: the rooms door does not echo), acknowledged but not in the database. And
latencies, counts and a per-second timeline of acks and frames.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from bench.common import HOST, PYTHON, ROOT, env, free_port, raise_nofile, start_meetsrv, wait_port
from bench.seed import Seeder, postgres_available, postgres_db

FAULTS = ["none", "kill", "redis", "postgres"]
PARAMS = {
    "faults": FAULTS,
    "rooms": 5, "room_size": 8, "rate": 150,
    "warmup": 6.0, "outage": 10.0, "recovery": 12.0, "drain": 20.0, "settle": 3.0,
    "revoked": 5,
}


# -- the pieces --------------------------------------------------------------------------------
class RedisServer:
    """A private redis-server on its own port, no persistence: killed, it comes back empty."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.popen = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.folder / f"redis-{self.port}-{self.starts}.log", "w")
        self.popen = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no",
             "--daemonize", "no"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_port(self.port, 10, self.popen)

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"


class TcpProxy:
    """bench/faults/proxy.py in its own process, driven through its stdin."""

    def __init__(self, target_port: int):
        self.popen = subprocess.Popen([PYTHON, "-m", "bench.faults.proxy", str(target_port)], cwd=ROOT, env=env(),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = json.loads(self.popen.stdout.readline())["port"]

    def command(self, what: str) -> dict:
        self.popen.stdin.write(what + "\n")
        self.popen.stdin.flush()
        return json.loads(self.popen.stdout.readline())

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(BrokenPipeError):
                self.popen.stdin.write("quit\n")
                self.popen.stdin.flush()
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()


class Clients:
    """bench/faults/clients.py in its own process: a JSON spec in, ticks and the result out."""

    def __init__(self, spec: dict):
        self.popen = subprocess.Popen([PYTHON, "-m", "bench.faults.clients"], cwd=ROOT, env=env(),
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                      preexec_fn=lambda: raise_nofile())
        self.ticks: list[dict] = []
        self.result = None
        self.connected = threading.Event()
        self.popen.stdin.write(json.dumps(spec) + "\n")
        self.popen.stdin.flush()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            value = json.loads(line)
            event = value.get("event")
            if event == "connected":
                self.connected.set()
            elif event == "tick":
                self.ticks.append(value)
            else:
                self.result = value

    def stop(self, timeout: float) -> dict:
        self.popen.stdin.write("stop\n")
        self.popen.stdin.close()  # its stdin reader ends too
        self.popen.wait(timeout)
        self.reader.join(5)
        if self.result is None:
            raise RuntimeError("the chat clients gave no result")
        return self.result

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()


def request(port: int, method: str, path: str, token: str, timeout: float = 5.0) -> int:
    """The status of one rooms-door request with a session (0: no answer)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=b"" if method == "POST" else None,
                     headers={"X-Session-Id": token, "Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


class Logouts(threading.Thread):
    """Log out each session through one process, trying again (a client would) until the logout
    is answered 2xx or `deadline` passes; each attempt may hang on an outage, up to 30 s."""

    def __init__(self, port: int, tokens: list[str], deadline: float):
        super().__init__(daemon=True)
        self.port, self.tokens, self.deadline = port, tokens, deadline
        self.done: dict[str, float] = {}  # token -> seconds the logout took, from the first try
        self.attempts: dict[str, list[int]] = {t: [] for t in tokens}

    def run(self) -> None:
        for token in self.tokens:
            started = time.monotonic()
            while time.monotonic() < self.deadline:
                status = request(self.port, "POST", "/v1/logout/", token, timeout=30.0)
                self.attempts[token].append(status)
                if 200 <= status < 300:
                    self.done[token] = round(time.monotonic() - started, 2)
                    break
                time.sleep(0.5)


# -- one run -----------------------------------------------------------------------------------
def _seed(url: str, p: dict) -> tuple[list[dict], list[str]]:
    s = Seeder(url)
    s.create_schema()
    ids = s.users(p["rooms"] * p["room_size"])
    groups = [ids[i * p["room_size"]:(i + 1) * p["room_size"]] for i in range(p["rooms"])]
    room_ids = s.rooms(groups)
    tokens = s.sessions(ids, "rooms")
    leaving = s.users(p["revoked"])
    leaving_tokens = s.sessions(leaving, "rooms")
    s.close()
    members = [{"user": u, "token": tokens[u], "room": rid, "home": j % 2}
               for rid, group in zip(room_ids, groups) for j, u in enumerate(group)]
    return members, [leaving_tokens[u] for u in leaving]


def _via(url: str, port: int) -> str:
    u = urlparse(url)
    netloc = (u.username + "@" if u.username else "") + f"{HOST}:{port}"
    return urlunparse(u._replace(netloc=netloc))


def _stored(url: str) -> tuple[int, set[int]]:
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM messages")
            ids = {r[0] for r in cur.fetchall()}
    finally:
        conn.close()
    return len(ids), ids


def run_fault(ctx, p: dict, fault: str) -> dict:
    folder = ctx.work.new(f"faults-{fault}")
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(postgres_db())
        members, leaving = _seed(db, p)
        redis = RedisServer(folder)
        redis.start()
        stack.callback(redis.kill)
        proxy = TcpProxy(5432)
        stack.callback(proxy.stop)
        db_via_proxy = _via(db, proxy.port)
        prefix = f"faults:{uuid.uuid4().hex[:8]}:"
        procs = {}
        procs["A"] = start_meetsrv(folder, db_via_proxy, redis.url, prefix, name="A")
        procs["B"] = start_meetsrv(folder, db_via_proxy, redis.url, prefix, name="B")
        stack.callback(lambda: [proc.stop() for proc in procs.values()])
        ports = [procs["A"].port, procs["B"].port]
        clients = Clients({"ports": ports, "members": members, "rate": p["rate"], "drain": p["drain"],
                           "settle": p["settle"]})
        stack.callback(clients.kill)
        if not clients.connected.wait(60):
            raise RuntimeError("the chat clients did not connect")
        t0 = time.monotonic()
        ctx.log(f"  {fault}: {len(members)} members in {p['rooms']} rooms on A :{ports[0]} and B :{ports[1]}, "
                f"{p['rate']} msg/s; Redis :{redis.port}, PostgreSQL through :{proxy.port}")
        # the leaving sessions are used on both processes first: each caches them
        for token in leaving:
            for port in ports:
                status = request(port, "GET", "/v1/info/", token)
                if status != 200:
                    raise RuntimeError(f"a session to revoke was refused before the fault ({status})")
        time.sleep(max(0.0, p["warmup"] - (time.monotonic() - t0)))

        through, other = ("B", "A") if fault == "kill" else ("A", "B")
        events = {"fault_start_s": round(time.monotonic() - t0, 1)}
        if fault == "kill":
            os.kill(procs["A"].pid, signal.SIGKILL)
            procs["A"].popen.wait()
        elif fault == "redis":
            redis.kill()
        elif fault == "postgres":
            proxy.command("cut")
        logouts = Logouts(procs[through].port, leaving, time.monotonic() + p["outage"] + 40)
        time.sleep(0.5)  # the fault has been noticed
        logouts.start()
        time.sleep(max(0.0, p["outage"] - 0.5))
        if fault == "kill":
            procs["A"] = start_meetsrv(folder, db_via_proxy, redis.url, prefix, name="A-again", port=ports[0])
        elif fault == "redis":
            redis.start()
        elif fault == "postgres":
            proxy.command("restore")
        events["fault_end_s"] = round(time.monotonic() - t0, 1)
        ctx.log(f"  {fault}: outage from {events['fault_start_s']} s to {events['fault_end_s']} s")
        time.sleep(p["recovery"])
        events["stop_s"] = round(time.monotonic() - t0, 1)
        result = clients.stop(p["drain"] + p["settle"] + 30)
        logouts.join(max(0.0, logouts.deadline - time.monotonic()) + 1)
        # afterwards: is any revoked session still accepted, by the other process or this one?
        honoured = {name: 0 for name in procs}
        for token in logouts.done:
            for name, proc in procs.items():
                if request(proc.port, "GET", "/v1/info/", token) == 200:
                    honoured[name] += 1
        stored_count, stored = _stored(db)
        acked = result.pop("acked_ids")
        result.update({
            "fault": fault,
            "events": events,
            "revoked": {
                "sessions": len(leaving), "logged_out": len(logouts.done), "through": through,
                "logout_seconds": list(logouts.done.values()),
                "attempts": [len(a) for a in logouts.attempts.values()],
                # the answers the logouts got, tries again included (0: none in 30 s)
                "statuses": {str(c): sum(a.count(c) for a in logouts.attempts.values())
                             for c in sorted({c for a in logouts.attempts.values() for c in a})},
                "honoured_by": honoured, "honoured_by_other": honoured[other],
            },
            "revoked_honoured": sum(honoured.values()),
            "stored": stored_count,
            "acked_not_stored": len(set(acked) - stored),
            "stored_not_acked": len(stored - set(acked)),
            "timeline": _timeline(clients.ticks),
        })
        for name, proc in procs.items():
            if proc.popen.poll() is not None and not (fault == "kill" and name == "A"):
                result.setdefault("process_exits", {})[name] = proc.popen.returncode
    ctx.log(f"  {fault}: sent {result['sent']} acked {result['acked']} (unacked {result['unacked_at_end']}), "
            f"frames {result['frames_received']}/{result['deliveries_expected']}; lost {result['lost']}, "
            f"duplicated {result['duplicated']}, reordered {result['reordered']}, echoed {result['echoed']}, revoked honoured "
            f"{result['revoked_honoured']} (logged out {len(logouts.done)}/{len(leaving)}); "
            f"reconnects {result['reconnects']}, ack max {result['ack_max_ms']} ms")
    return result


def _timeline(ticks: list[dict]) -> list[list]:
    """[second, acks in it, frames in it, sockets connected] from the cumulative ticks."""
    out, last = [], {"acks": 0, "frames": 0}
    for t in ticks:
        out.append([round(t["t"]), t["acks"] - last["acks"], t["frames"] - last["frames"], t["connected"]])
        last = t
    return out


def run(ctx) -> dict:
    """The `faults` scenario: each fault in turn."""
    if not postgres_available():
        return {"skipped": "PostgreSQL is not reachable at 127.0.0.1:5432"}
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode != 0:
        return {"skipped": "no redis-server on PATH (a private one is started per run)"}
    p = {**PARAMS, **ctx.params}
    results = {}
    for fault in p["faults"]:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: one of {', '.join(FAULTS)}")
        try:
            results[fault] = run_fault(ctx, p, fault)
        except Exception as e:  # one failed run should not lose the others
            import traceback

            traceback.print_exc()
            results[fault] = {"error": f"{type(e).__name__}: {e}"}
    keys = ("rooms", "room_size", "rate", "warmup", "outage", "recovery", "drain", "settle", "revoked")
    return {"params": {k: p[k] for k in keys}, "results": results}
